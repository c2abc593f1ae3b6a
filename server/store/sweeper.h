#pragma once

#include <QObject>
#include <QTimer>

#include <memory>

namespace kvdesk {

class Store;
class StoreConnection;

// Background upkeep of the database: removes the rows of expired keys now and then (they are
// already invisible to every reader), in small batches so that writers never wait long, and
// checkpoints the WAL every two seconds, so that a commit never pays for a checkpoint's fsync.
// It works on the thread it lives in (its timers are its children, so moveToThread() takes them
// along); KvServer gives it a thread of its own, as a checkpoint under a write load keeps a thread
// busy for tenths of a second and syncs files.
class Sweeper final : public QObject
{
    Q_OBJECT

public:
    Sweeper(Store &store, int intervalMs, QObject *parent = nullptr);
    ~Sweeper() override;

    // Between two background checkpoints of the WAL. Each one copies every page that changed
    // since the last, then syncs the database file, taking a core for tens of milliseconds under
    // a write load; the longer the interval, the more changes of the same pages each copy covers,
    // and the log grows longer in between (at most 690-760 MB in 30 s of the benchmark's
    // durable PUTs at 2 s, against 360-550 MB at 1 s). See Storage in the README for what it changes.
    static constexpr int checkpointIntervalMs = 2000;

    void start();
    void stop();
    // stop(), and closes its database connection; on its thread, before that thread ends.
    void close();
    // Removes every expired row now; returns how many.
    int sweepNow();
    // Copies committed WAL frames into the database (PASSIVE: never blocks readers or writers).
    void checkpointNow();

private:
    Store &m_store;
    std::unique_ptr<StoreConnection> m_connection;
    QTimer *m_timer;
    QTimer *m_checkpointTimer;
};

} // namespace kvdesk
