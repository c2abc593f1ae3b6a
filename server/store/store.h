#pragma once

#include "migrations.h"
#include "postgresoptions.h"

#include <QLockFile>
#include <QMutex>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

class QTimer;

namespace kvdesk {

class Clock;
class StoreConnection;
class ValueCache;

struct StoreOptions
{
    QString sqlitePath;                    // the database file; created when missing
    bool autoMigrate = true;               // apply pending migrations when the store opens
    qint64 cacheBytes = 256 * 1024 * 1024; // the read cache's bound; 0 switches it off
    // Only to read (an export beside a running server): no lock file, no migrations, no cache.
    bool readOnly = false;
    // Set: the database is this PostgreSQL database (sqlitePath unused). Several kvdesk processes
    // may share it, so there is no lock file and no read cache.
    std::optional<PostgresOptions> postgres = std::nullopt;

    // Options for a database named as --db takes it (a file path, or a postgres:// URL that
    // ConfigLoader::databasePathFrom accepted).
    static StoreOptions forDatabase(const QString &database);
};

// The key/value store: one database (an SQLite file, or PostgreSQL) shared by every thread of the
// process. Each thread that reads or writes opens its own StoreConnection (a QSqlDatabase belongs
// to the thread that opened it).
class Store final : public QObject
{
    Q_OBJECT

public:
    Store(StoreOptions options, const Clock &clock, QObject *parent = nullptr);
    ~Store() override;

    // Creates the database when missing, switches it to WAL and, with autoMigrate, applies the
    // pending migrations. Takes the database's lock file: one kvdesk process serves an SQLite
    // database at a time (the read cache relies on it). On PostgreSQL, nodes starting together
    // migrate one after the other (an advisory lock). Throws StoreError.
    void open();

    // A new connection for the calling thread, which must also destroy it.
    std::unique_ptr<StoreConnection> connect() const;

    // Applies pending migrations (POST /admin/migrate). Safe to call from any thread.
    QList<MigrationResult> migrate(QString *errorMessage);
    bool schemaReady() const { return m_schemaReady.load(std::memory_order_acquire); }

    bool isPostgres() const { return m_options.postgres.has_value(); }
    QString driverName() const
    {
        return isPostgres() ? QStringLiteral("postgres") : QStringLiteral("sqlite");
    }
    // The file, or the PostgreSQL URL without its password.
    QString location() const
    {
        return isPostgres() ? m_options.postgres->displayUrl() : m_options.sqlitePath;
    }
    bool isReadOnly() const { return m_options.readOnly; }
    qint64 sizeOnDiskBytes() const;
    const Clock &clock() const { return m_clock; }
    ValueCache &cache() const { return *m_cache; }
    // Commits made through this store so far (on SQLite, kvdesk is its database's only writer). A
    // reader whose snapshot is at least this recent has seen every acknowledged write.
    quint64 commits() const { return m_commits.load(std::memory_order_acquire); }
    void noteCommit() const { m_commits.fetch_add(1, std::memory_order_acq_rel); }
    // What the last background checkpoint of SQLite's log reported: the frames the log held, and
    // how many of them were then copied into the database, in which generation of the log (one
    // more each time the writer starts it anew). The writer reads it to start the log anew while
    // doing so is cheap (see SqliteConnection::maintainLog); a report about an earlier generation
    // says nothing about the log it writes now.
    struct LogCheckpoint
    {
        quint64 generation = 0;
        int logFrames = 0;
        int copiedFrames = 0;
    };
    quint64 logGeneration() const { return m_logGeneration.load(std::memory_order_acquire); }
    void noteLogRestart() const { m_logGeneration.fetch_add(1, std::memory_order_acq_rel); }
    void noteCheckpoint(LogCheckpoint report) const
    {
        QMutexLocker lock(&m_checkpointMutex);
        m_lastCheckpoint = report;
    }
    LogCheckpoint lastCheckpoint() const
    {
        QMutexLocker lock(&m_checkpointMutex);
        return m_lastCheckpoint;
    }
    // Called by a connection after it committed changes to keys (on that connection's thread).
    void announce(const QList<QByteArray> &keys) const { Q_EMIT keysChanged(keys); }
    // On PostgreSQL, other nodes write too: from now on keysChanged also reports their commits
    // (LISTEN/NOTIFY on a connection of the calling thread, which needs an event loop). Nothing
    // on SQLite, which one process owns.
    void watchOtherWriters();
    // This process's name in the notifications it sends.
    QByteArray nodeId() const { return m_nodeId; }

Q_SIGNALS:
    // Keys written or removed by a commit, emitted on the committing thread: connect with a
    // queued connection. Rows of expired keys removed by the sweeper are not announced (those
    // keys were already invisible).
    void keysChanged(const QList<QByteArray> &keys) const;
    // Another node changed more keys than a notification names: look everything up again.
    void manyKeysChanged() const;
    // The writer wants the log (SQLite's WAL) started anew, which waits until no connection
    // holds a snapshot in it: each connection that keeps one lets go of it (queued connection).
    void snapshotsReleaseRequested() const;

private:
    void openPostgres();
    bool listen();
    void migrateOnOpen(QSqlDatabase &db);

    StoreOptions m_options;
    const Clock &m_clock;
    std::atomic_bool m_schemaReady{false};
    mutable std::atomic<quint64> m_commits{0};
    mutable std::atomic<quint64> m_logGeneration{0};
    mutable QMutex m_checkpointMutex;
    mutable LogCheckpoint m_lastCheckpoint; // with m_checkpointMutex
    QMutex m_migrateMutex;
    std::unique_ptr<ValueCache> m_cache;
    std::unique_ptr<QLockFile> m_lock;
    QByteArray m_nodeId;
    std::unique_ptr<StoreConnection> m_listener; // watchOtherWriters' connection
    QString m_keysChannel;                       // what it listens to
    QTimer *m_listenerCheck = nullptr;
};

} // namespace kvdesk
