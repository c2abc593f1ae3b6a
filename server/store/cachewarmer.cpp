#include "cachewarmer.h"

#include "store.h"
#include "storeconnection.h"
#include "storeerror.h"
#include "valuecache.h"

#include <QElapsedTimer>
#include <QLoggingCategory>

#include <pthread.h>

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

CacheWarmer::CacheWarmer(const Store &store) : m_store(store)
{
    if (store.cache().enabled())
        m_thread = std::thread([this] { run(); });
}

CacheWarmer::~CacheWarmer()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop.store(true, std::memory_order_relaxed);
    }
    m_stopped.notify_all();
    wait();
}

qint64 CacheWarmer::wait()
{
    if (m_thread.joinable())
        m_thread.join();
    return m_kept;
}

void CacheWarmer::run()
{
    pthread_setname_np(pthread_self(), "kvdesk-warm");
    {
        // Migrations pending: nothing can be read until POST {admin}/migrate has run them.
        std::unique_lock lock(m_mutex);
        while (!m_store.schemaReady() && !m_stop.load(std::memory_order_relaxed))
            m_stopped.wait_for(lock, std::chrono::milliseconds(100));
        if (m_stop.load(std::memory_order_relaxed))
            return;
    }
    QElapsedTimer timer;
    timer.start();
    try {
        const auto connection = m_store.connect();
        m_kept = connection->warmCache([this] { return m_stop.load(std::memory_order_relaxed); });
        qCInfo(lcStore).noquote() << "read cache warmed:" << m_kept << "values,"
                                  << m_store.cache().bytes() / (1024 * 1024) << "MiB of"
                                  << m_store.cache().maxBytes() / (1024 * 1024) << "in" << timer.elapsed()
                                  << "ms";
    } catch (const StoreError &e) {
        // Only a head start lost: reads fill the cache as they go.
        qCWarning(lcStore).noquote() << "cannot warm the read cache:" << e.message();
    }
}

} // namespace kvdesk
