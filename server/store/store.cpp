#include "store.h"

#include "postgresconnection.h"
#include "sqliteconnection.h"
#include "storeerror.h"
#include "valuecache.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QTimer>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcStore, "kvdesk.store", QtInfoMsg)

namespace kvdesk {

StoreOptions StoreOptions::forDatabase(const QString &database)
{
    StoreOptions options;
    if (PostgresOptions::isPostgresUrl(database)) {
        QString error;
        options.postgres = PostgresOptions::fromUrl(database, &error);
        if (!options.postgres)
            throw StoreError(error);
    } else {
        options.sqlitePath = database;
    }
    return options;
}

Store::Store(StoreOptions options, const Clock &clock, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_clock(clock),
      // Other nodes write a shared PostgreSQL database behind this process's back: no cache.
      m_cache(std::make_unique<ValueCache>(m_options.postgres ? 0 : m_options.cacheBytes)),
      m_nodeId(QByteArray::number(QRandomGenerator::global()->generate64(), 36))
{}

Store::~Store() = default;

void Store::watchOtherWriters()
{
    if (!m_options.postgres)
        return;
    if (!m_listenerCheck) {
        // A session lost (the server restarted) hears nothing more: checked every few seconds,
        // connected again, and everything looked up again for what was missed meanwhile.
        m_listenerCheck = new QTimer(this);
        m_listenerCheck->setInterval(5000);
        QObject::connect(m_listenerCheck, &QTimer::timeout, this, [this] {
            if (m_listener) {
                try {
                    QSqlDatabase &db = m_listener->database(); // connects a lost session again
                    QSqlQuery ping(db);
                    if (ping.exec(u"SELECT 1"_s) &&
                        db.driver()->subscribedToNotifications().contains(m_keysChannel))
                        return;
                } catch (const StoreError &) {
                }
                m_listener.reset();
            }
            if (listen())
                Q_EMIT manyKeysChanged();
        });
        m_listenerCheck->start();
    }
    listen();
}

bool Store::listen()
{
    try {
        m_listener = connect();
        // Only PostgreSQL stores watch other writers.
        m_keysChannel = static_cast<PostgresConnection &>(*m_listener).keysChannel();
        QSqlDriver *driver = m_listener->database().driver();
        QObject::connect(driver, &QSqlDriver::notification, this,
                         [this](const QString &, QSqlDriver::NotificationSource, const QVariant &payload) {
                             const QList<QByteArray> lines = payload.toString().toUtf8().split('\n');
                             if (lines.isEmpty() || lines.first() == m_nodeId)
                                 return; // announced here already
                             if (lines.size() == 2 && lines[1] == "*")
                                 Q_EMIT manyKeysChanged();
                             else
                                 Q_EMIT keysChanged(lines.mid(1));
                         });
        if (driver->subscribeToNotification(m_keysChannel))
            return true;
        qCWarning(lcStore).noquote() << "cannot follow other nodes' writes:" << driver->lastError().text();
    } catch (const StoreError &e) {
        qCWarning(lcStore).noquote() << "cannot follow other nodes' writes:" << e.message();
    }
    m_listener.reset();
    return false;
}

void Store::open()
{
    if (m_options.postgres) {
        openPostgres();
        return;
    }
    const QFileInfo info(m_options.sqlitePath);
    if (m_options.readOnly) {
        if (!info.exists())
            throw StoreError(tr("The database %1 does not exist").arg(m_options.sqlitePath));
        auto connection = connect();
        const QStringList pending = Migrations::pending(connection->database());
        if (!pending.isEmpty())
            throw StoreError(tr("The database %1 needs migrations (%2); start kvdesk on it once first")
                                 .arg(m_options.sqlitePath, pending.join(u", "_s)));
        m_schemaReady.store(true, std::memory_order_release);
        return;
    }
    if (!QDir().mkpath(info.absolutePath()))
        throw StoreError(tr("Cannot create the folder %1").arg(info.absolutePath()));
    m_lock = std::make_unique<QLockFile>(m_options.sqlitePath + ".kvdesk-lock"_L1);
    m_lock->setStaleLockTime(0); // stale only when its process is gone
    if (!m_lock->tryLock(0)) {
        qint64 pid = 0;
        QString host, app;
        m_lock->getLockInfo(&pid, &host, &app);
        m_lock.reset();
        throw StoreError(tr("The database %1 is in use by another kvdesk process (pid %2)")
                             .arg(m_options.sqlitePath)
                             .arg(pid),
                         StoreError::Kind::InUse);
    }

    auto connection = connect();
    QSqlDatabase &db = connection->database();
    QSqlQuery q(db);
    if (!q.exec(u"PRAGMA journal_mode=WAL"_s) || !q.next() || q.value(0).toString() != "wal"_L1)
        throw StoreError(
            tr("Cannot switch %1 to WAL mode: %2").arg(m_options.sqlitePath, q.lastError().text()));
    q.finish();

    migrateOnOpen(db);
    qCInfo(lcStore).noquote() << "opened" << m_options.sqlitePath;
}

void Store::migrateOnOpen(QSqlDatabase &db)
{
    QMutexLocker lock(&m_migrateMutex);
    QStringList pending = Migrations::pending(db);
    if (!pending.isEmpty() && m_options.autoMigrate) {
        QString error;
        Migrations::runPending(db, &error);
        if (!error.isEmpty())
            throw StoreError(error);
        pending.clear();
    }
    if (!pending.isEmpty()) {
        qCWarning(lcStore).noquote() << "the database needs migrations" << pending.join(u", "_s)
                                     << "- run POST {admin}/migrate";
    }
    m_schemaReady.store(pending.isEmpty(), std::memory_order_release);
}

void Store::openPostgres()
{
    auto connection = connect();
    QSqlDatabase &db = connection->database();
    if (m_options.readOnly) {
        const QStringList pending = Migrations::pending(db);
        if (!pending.isEmpty())
            throw StoreError(tr("The database %1 needs migrations (%2); start kvdesk on it once first")
                                 .arg(location(), pending.join(u", "_s)));
        m_schemaReady.store(true, std::memory_order_release);
        return;
    }
    // Nodes starting at once: one migrates while the others wait, then find nothing pending.
    QSqlQuery lock(db);
    if (!lock.exec(u"SELECT pg_advisory_lock(7274006)"_s))
        throw StoreError(tr("Database error: %1").arg(lock.lastError().databaseText()),
                         StoreError::Kind::Unavailable);
    try {
        migrateOnOpen(db);
    } catch (...) {
        lock.exec(u"SELECT pg_advisory_unlock(7274006)"_s);
        throw;
    }
    lock.exec(u"SELECT pg_advisory_unlock(7274006)"_s);
    qCInfo(lcStore).noquote() << "opened" << location();
}

std::unique_ptr<StoreConnection> Store::connect() const
{
    if (m_options.postgres)
        return std::make_unique<PostgresConnection>(*this, *m_options.postgres);
    return std::make_unique<SqliteConnection>(*this, m_options.sqlitePath);
}

QList<MigrationResult> Store::migrate(QString *errorMessage)
{
    QMutexLocker lock(&m_migrateMutex);
    auto connection = connect();
    auto results = Migrations::runPending(connection->database(), errorMessage);
    noteCommit();
    if (errorMessage->isEmpty())
        m_schemaReady.store(true, std::memory_order_release);
    return results;
}

qint64 Store::sizeOnDiskBytes() const
{
    if (m_options.postgres)
        return 0; // the server's business
    qint64 total = 0;
    for (const auto &suffix : {""_L1, "-wal"_L1, "-shm"_L1})
        total += QFileInfo(m_options.sqlitePath + suffix).size();
    return total;
}

} // namespace kvdesk
