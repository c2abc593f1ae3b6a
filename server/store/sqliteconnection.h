#pragma once

#include "storeconnection.h"

#include <chrono>

namespace kvdesk {

// A connection to the embedded SQLite database. QSqlDatabase opens it; the statements on the
// request path run through SQLite's C API on the driver's handle, which spares a UTF-16 round
// trip of every key and value. Reads share one read transaction until a commit happens anywhere
// in the store (no locking system calls per read).
class SqliteConnection final : public StoreConnection
{
public:
    SqliteConnection(const Store &store, const QString &path);
    ~SqliteConnection() override;

    std::optional<StoredValue> get(QByteArrayView key) override;
    // With the read cache on, the reads of an event loop turn are gathered (see KvController):
    // the cache's lookups of a batch overlap.
    bool gathersReads() const override;
    std::vector<std::optional<StoredValue>> getAll(const std::vector<QByteArrayView> &keys) override;
    PutResult put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                  const Precondition &condition = {}) override;
    WriteOutcome remove(QByteArrayView key, const Precondition &condition = {}) override;
    KeyPage list(const QString &prefix, const QString &after, int limit) override;
    int sweepExpired(int batch) override;
    qint64 countLiveKeys() override;
    void begin() override;
    void commit() override;
    void rollback() override;
    void savepoint() override;
    void releaseSavepoint() override;
    void rollbackToSavepoint() override;
    // A PASSIVE WAL checkpoint, then a sync of the database file (while the log is long and
    // frames keep coming, more passes, and more rounds of passes and a sync, each shorter); how far
    // it copied and synced is reported to the Store, for the writer's maintainLog().
    void checkpoint() override;
    // Whether a commit that grows the WAL past 1000 pages checkpoints it (SQLite's default).
    void setAutoCheckpoint(bool on) override;
    void maintainLog(bool idle) override;
    bool logWantsIdleMaintenance() const override;
    // Ending the shared read transaction now and then lets the WAL be reset; the owner calls this.
    qint64 warmCache(const std::function<bool()> &stopRequested) override;
    void releaseSnapshot() override;
    // Syncs of the database file that checkpoints made after copying frames, in this process.
    static quint64 checkpointSyncs();
    // For tests: each such sync takes this much longer per frame it covers, as on a slow disk.
    static void setSyncDelayPerFrameForTesting(std::chrono::microseconds delay);
    QSqlDatabase &database() override { return m_db; }
    sqlite3 *nativeHandle() const override { return m_handle; }

private:
    // get() from the database, past the cache.
    std::optional<StoredValue> read(QByteArrayView key, qint64 now);
    struct Statements;
    Statements &statements();
    // A change to a key, published to the cache and announced when its transaction commits.
    struct Written
    {
        QByteArray key;
        std::optional<StoredValue> value; // what the key now holds, if the cache should keep it
    };
    void written(QByteArrayView key, std::optional<StoredValue> value);
    void publish(const Written &w);
    void freshSnapshot();
    void exec(const char *sql);
    // fdatasync of the database file, outside of any lock of SQLite's (after a checkpoint).
    void syncDatabaseFile();

    QString m_connectionName;
    QSqlDatabase m_db;
    sqlite3 *m_handle = nullptr;
    std::unique_ptr<Statements> m_statements;
    QList<Written> m_uncommitted;       // written in the open transaction
    qsizetype m_savepointMark = -1;     // m_uncommitted's size at the savepoint
    bool m_reading = false;             // a read transaction is open
    int m_logFrames = 0;                // frames in the WAL after the last commit (writer only)
    qint64 m_nextRestartMs = 0;         // steady clock: no attempt to start the log anew before
    int m_restartFailures = 0;          // attempts in a row that found a reader in the way
    qint64 m_nextCaughtUpRestartMs = 0; // steady clock: no restart under unpausing writes before
    quint64 m_snapshotCommits = 0;      // Store::commits() when it began
};

} // namespace kvdesk
