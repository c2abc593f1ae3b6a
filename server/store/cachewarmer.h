#pragma once

#include <QtGlobal>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kvdesk {

class Store;

// Fills the store's read cache from the database in the background once the store has opened,
// so that a server started on a database it already holds serves reads from memory from the
// start, not only once each key was read. It offers the most recently created keys first and stops once
// the cache is full (it never pushes out what reads kept), once every key was offered, or when
// destroyed. Reads and writes go on meanwhile: a value is kept only if no write reached its key's
// shard of the cache while it was being read (ValueCache::fill), so the cache never serves a
// stale value because of it. On a database with migrations pending ("autoMigrate": false), it
// starts once they have run. Nothing on a store without a read cache (PostgreSQL, --cache-size 0).
class CacheWarmer final
{
public:
    explicit CacheWarmer(const Store &store);
    ~CacheWarmer(); // stops the scan and waits for it
    CacheWarmer(const CacheWarmer &) = delete;
    CacheWarmer &operator=(const CacheWarmer &) = delete;

    // Waits for the scan to end (after the migrations, when some are pending); how many values
    // it kept.
    qint64 wait();

private:
    void run();

    const Store &m_store;
    std::mutex m_mutex;
    std::condition_variable m_stopped;
    std::atomic_bool m_stop{false};
    qint64 m_kept = 0;
    std::thread m_thread;
};

} // namespace kvdesk
