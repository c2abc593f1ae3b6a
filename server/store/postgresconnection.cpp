#include "postgresconnection.h"

#include "clock.h"
#include "store.h"
#include "storeerror.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QHash>
#include <QLoggingCategory>
#include <QSqlQuery>
#include <QtEndian>
#include <QVariant>

#include <algorithm>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

namespace {

struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::Store)
};

constexpr qint64 reconnectIntervalMs = 1000;

#define PG_LIVE R"(("expires_at" IS NULL OR "expires_at" > ?))"
#define PG_SET R"("value" = ?, "updated_at" = ?, "expires_at" = ?, "version" = ?)"
#define PG_UPSERT                                                                                            \
    R"(INSERT INTO "wt_kv_key_values" AS t ("value", "updated_at", "expires_at", "version", "name") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("name") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at", "expires_at" = excluded."expires_at", "version" = excluded."version")"

// The advisory lock that every node's writing transactions take (lockKeys): "kvdesk" in ASCII.
#define PG_WRITES "118156234683243"

// Never a null QString: Qt binds that as NULL.
QVariant text(QByteArrayView utf8)
{
    return utf8.isEmpty() ? u""_s : QString::fromUtf8(utf8);
}

QVariant optionalInteger(std::optional<qint64> v)
{
    return v ? QVariant(*v) : QVariant(QMetaType::fromType<qint64>());
}

std::optional<qint64> optionalColumn(const QSqlQuery &q, int column)
{
    const QVariant v = q.value(column);
    if (v.isNull())
        return std::nullopt;
    return v.toLongLong();
}

// SQLSTATE classes of a lost or refused session: connection exceptions (08), the server shutting
// down or restarting (57P01-57P03), too many connections (53300).
bool meansUnavailable(const QSqlError &error)
{
    const QString code = error.nativeErrorCode();
    return error.type() == QSqlError::ConnectionError || code.startsWith("08"_L1) ||
           code.startsWith("57P"_L1) || code == "53300"_L1 ||
           (code.isEmpty() && error.type() != QSqlError::NoError);
}

} // namespace

struct PostgresConnection::Statements
{
    explicit Statements(QSqlDatabase &db)
        : get(db), upsert(db), insertIfAbsent(db), updateIfVersion(db), updateIfLegacy(db), updateIfLive(db),
          remove(db), removeIfVersion(db), removeIfLegacy(db), removeIfLive(db), list(db), listAll(db),
          sweep(db), count(db), lockKeys(db), lockAllKeys(db), notify(db)
    {
        prepare(
            get,
            R"(SELECT "value", "updated_at", "expires_at", "version" FROM "wt_kv_key_values" WHERE "name" = ? AND )" PG_LIVE);
        prepare(upsert, PG_UPSERT);
        prepare(insertIfAbsent, PG_UPSERT R"( WHERE t."expires_at" IS NOT NULL AND t."expires_at" <= ?)");
        prepare(updateIfVersion, R"(UPDATE "wt_kv_key_values" SET )" PG_SET
                                 R"( WHERE "name" = ? AND "version" = ? AND )" PG_LIVE);
        prepare(updateIfLegacy,
                R"(UPDATE "wt_kv_key_values" SET )" PG_SET
                R"( WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )" PG_LIVE);
        prepare(updateIfLive, R"(UPDATE "wt_kv_key_values" SET )" PG_SET R"( WHERE "name" = ? AND )" PG_LIVE);
        prepare(remove, R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ?)");
        prepare(removeIfVersion,
                R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" = ? AND )" PG_LIVE);
        prepare(
            removeIfLegacy,
            R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )" PG_LIVE);
        prepare(removeIfLive, R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND )" PG_LIVE);
        // Byte order (COLLATE "C", with an index of its own), bounded by the prefix's end so that
        // the index range stops where the prefix does.
        prepare(
            list,
            R"(SELECT "name", "expires_at" FROM "wt_kv_key_values" WHERE "name" COLLATE "C" >= ? AND "name" COLLATE "C" < ? AND "name" COLLATE "C" > ? AND )" PG_LIVE
            R"( ORDER BY "name" COLLATE "C" LIMIT ?)");
        prepare(
            listAll,
            R"(SELECT "name", "expires_at" FROM "wt_kv_key_values" WHERE "name" COLLATE "C" > ? AND )" PG_LIVE
            R"( ORDER BY "name" COLLATE "C" LIMIT ?)");
        // Several nodes sweep at once: each skips the rows another holds, and a row written again
        // meanwhile (no longer expired) is kept by the outer condition.
        prepare(
            sweep,
            R"(DELETE FROM "wt_kv_key_values" WHERE "name" IN (SELECT "name" FROM "wt_kv_key_values" WHERE "expires_at" <= ? LIMIT ? FOR UPDATE SKIP LOCKED) AND "expires_at" <= ?)");
        prepare(count, R"(SELECT count(*) FROM "wt_kv_key_values" WHERE )" PG_LIVE);
        // Transaction-level advisory locks (lockKeys): the nodes' writes share the lock PG_WRITES,
        // then take one per key in the order of the array; a large transaction takes PG_WRITES
        // alone. The branches of a UNION ALL run in order.
        prepare(lockKeys, "SELECT pg_advisory_xact_lock_shared(" PG_WRITES
                          ") UNION ALL SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k");
        prepare(lockAllKeys, "SELECT pg_advisory_xact_lock(" PG_WRITES ")");
        prepare(notify, "SELECT pg_notify(?, ?)");
    }

    void prepare(QSqlQuery &q, const char *sql)
    {
        q.setForwardOnly(true);
        if (!q.prepare(QString::fromUtf8(sql)))
            failure = q.lastError();
    }

    QSqlQuery get, upsert, insertIfAbsent, updateIfVersion, updateIfLegacy, updateIfLive;
    QSqlQuery remove, removeIfVersion, removeIfLegacy, removeIfLive, list, listAll, sweep, count;
    QSqlQuery lockKeys, lockAllKeys, notify;
    QSqlError failure;
    // writeAll's upserts of n rows and deletes of n keys, prepared as first needed: [n - 1].
    std::vector<std::unique_ptr<QSqlQuery>> upsertRows, removeKeys;
    // getAll's reads of n keys, likewise.
    std::vector<std::unique_ptr<QSqlQuery>> getRows;
};

PostgresConnection::PostgresConnection(const Store &store, const PostgresOptions &options)
    : StoreConnection(store), m_options(options), m_connectionName(newConnectionName())
{
    m_db = QSqlDatabase::addDatabase(u"QPSQL"_s, m_connectionName);
    if (!m_db.isValid()) {
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
        throw StoreError(I18n::tr("The PostgreSQL driver of Qt is not installed (package libqt6sql6-psql)"));
    }
    m_db.setHostName(options.host);
    m_db.setPort(options.port);
    m_db.setDatabaseName(options.database);
    m_db.setUserName(options.user);
    m_db.setPassword(options.password);
    m_db.setConnectOptions(options.connectOptions);
    m_lastAttempt.start();
    if (!m_db.open()) {
        const QSqlError error = m_db.lastError();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
        throw StoreError(I18n::tr("Cannot connect to the database %1: %2")
                             .arg(options.displayUrl(), error.databaseText().trimmed()),
                         StoreError::Kind::Unavailable);
    }
}

PostgresConnection::~PostgresConnection()
{
    m_statements.reset();
    m_db.close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

QSqlDatabase &PostgresConnection::database()
{
    ensureOpen();
    return m_db;
}

void PostgresConnection::ensureOpen()
{
    if (!m_broken && !m_db.isOpen()) {
        m_broken = true; // lost since the last statement, as Qt's driver tells
        m_lastAttempt.invalidate();
    }
    if (!m_broken)
        return;
    if (m_lastAttempt.isValid() && m_lastAttempt.elapsed() < reconnectIntervalMs) {
        m_retryable = false;
        throw StoreError(
            I18n::tr("The database %1 cannot be reached; try again shortly").arg(m_options.displayUrl()),
            StoreError::Kind::Unavailable);
    }
    m_statements.reset();
    m_db.close();
    const bool opened = m_db.open();
    // Counted from the attempt's end: while the server accepts connections without answering
    // them (shutting down), each attempt lasts connect_timeout, and requests in between fail at once.
    m_lastAttempt.start();
    if (!opened) {
        m_retryable = false;
        throw StoreError(I18n::tr("Cannot connect to the database %1: %2")
                             .arg(m_options.displayUrl(), m_db.lastError().databaseText().trimmed()),
                         StoreError::Kind::Unavailable);
    }
    m_broken = false;
    qCInfo(lcStore).noquote() << "connected to" << m_options.displayUrl() << "again";
}

void PostgresConnection::fail(const QSqlError &error)
{
    // Qt's driver reports a lost session as "not open" (PQstatus is bad), and then refuses
    // statements without an error of its own.
    const bool unavailable = meansUnavailable(error) || !m_db.isOpen();
    // Only what the server said: never the connection's parameters (the password).
    QString detail =
        error.databaseText().trimmed().isEmpty() ? error.driverText() : error.databaseText().trimmed();
    if (detail.isEmpty())
        detail = I18n::tr("the connection is closed");
    StoreError e(
        unavailable ? I18n::tr("The database %1 cannot be reached: %2").arg(m_options.displayUrl(), detail)
                    : I18n::tr("Database error: %1").arg(detail),
        unavailable ? StoreError::Kind::Unavailable : StoreError::Kind::Failure, error.nativeErrorCode());
    m_retryable = unavailable && !m_broken && !m_committing;
    if (unavailable) {
        if (!m_broken)
            qCWarning(lcStore).noquote() << e.message();
        m_broken = true;
        m_lastAttempt.invalidate(); // the first attempt to connect again is at once
    }
    if (m_inTransaction && !m_transactionError)
        m_transactionError = e;
    throw e;
}

bool PostgresConnection::mayRetry(const StoreError &error) const
{
    // A deadlock between nodes' transactions, or a serialization failure: nothing was written.
    // Or the session was found lost before the COMMIT was sent: nothing was written either.
    return error.code() == "40P01"_L1 || error.code() == "40001"_L1 ||
           (error.kind() == StoreError::Kind::Unavailable && m_retryable);
}

template<typename F> auto PostgresConnection::retrying(F work) -> decltype(work())
{
    try {
        return work();
    } catch (const StoreError &e) {
        if (m_inTransaction || !m_retryable)
            throw;
        m_retryable = false;
        return work();
    }
}

PostgresConnection::Statements &PostgresConnection::statements()
{
    ensureOpen();
    if (!m_statements) {
        if (!m_store.schemaReady())
            throw StoreError(
                I18n::tr(
                    "The database schema is out of date; run the pending migrations (POST {admin}/migrate)"),
                StoreError::Kind::SchemaOutdated);
        auto statements = std::make_unique<Statements>(m_db);
        if (statements->failure.type() != QSqlError::NoError)
            fail(statements->failure);
        m_statements = std::move(statements);
    }
    return *m_statements;
}

bool PostgresConnection::run(QSqlQuery &query)
{
    if (!query.exec())
        fail(query.lastError());
    return true;
}

void PostgresConnection::execOrFail(const QString &sql)
{
    ensureOpen();
    QSqlQuery q(m_db);
    if (!q.exec(sql))
        fail(q.lastError());
}

void PostgresConnection::begin()
{
    statements();
    m_retryable = false;
    m_transactionError.reset();
    m_uncommittedKeys.clear();
    if (!m_db.transaction())
        fail(m_db.lastError());
    m_inTransaction = true;
}

void PostgresConnection::commit()
{
    if (m_transactionError) {
        // PostgreSQL refuses every statement after a failure until the transaction ends: the
        // whole transaction is lost, for the reason of its first failure.
        const StoreError error = *m_transactionError;
        rollback();
        throw error;
    }
    // Other nodes' windows learn of the change when it commits (NOTIFY is transactional).
    if (!m_uncommittedKeys.isEmpty())
        notifyOthers(m_uncommittedKeys);
    m_inTransaction = false;
    m_committing = true;
    const bool committed = m_db.commit();
    m_committing = false;
    if (!committed) {
        m_uncommittedKeys.clear();
        fail(m_db.lastError());
    }
    m_store.noteCommit();
    if (!m_uncommittedKeys.isEmpty())
        m_store.announce(m_uncommittedKeys);
    m_uncommittedKeys.clear();
}

void PostgresConnection::rollback()
{
    m_inTransaction = false;
    m_transactionError.reset();
    m_uncommittedKeys.clear();
    if (!m_broken && !m_db.rollback())
        fail(m_db.lastError());
}

void PostgresConnection::savepoint()
{
    execOrFail(u"SAVEPOINT kvdesk_group"_s);
}

void PostgresConnection::releaseSavepoint()
{
    execOrFail(u"RELEASE SAVEPOINT kvdesk_group"_s);
}

void PostgresConnection::rollbackToSavepoint()
{
    execOrFail(u"ROLLBACK TO SAVEPOINT kvdesk_group"_s);
    execOrFail(u"RELEASE SAVEPOINT kvdesk_group"_s);
    // Statements that failed before the savepoint's rollback no longer doom the transaction.
    m_transactionError.reset();
}

void PostgresConnection::written(QByteArrayView key)
{
    if (m_inTransaction) {
        m_uncommittedKeys.append(key.toByteArray());
        return;
    }
    m_store.noteCommit();
    m_store.announce({key.toByteArray()});
    try {
        notifyOthers({key.toByteArray()});
    } catch (const StoreError &e) {
        // The write stands; other nodes' windows miss this one change.
        qCWarning(lcStore).noquote() << "cannot notify other nodes:" << e.message();
    }
}

void PostgresConnection::notifyOthers(const QList<QByteArray> &keys)
{
    // "<node>\n<key>\n<key>...": a listener skips its own node's. Past PostgreSQL's 8000-byte
    // payload, no keys: the listener looks everything up again.
    QByteArray payload = m_store.nodeId();
    for (const QByteArray &key : keys) {
        if (payload.size() + key.size() + 1 > 7900) {
            payload = m_store.nodeId() + "\n*";
            break;
        }
        payload += '\n' + key;
    }
    // Prepared once: Qt prepares a statement in a round trip to the server, and frees it in another.
    QSqlQuery &q = statements().notify;
    q.bindValue(0, keysChannel());
    q.bindValue(1, QString::fromUtf8(payload));
    run(q);
    q.finish();
}

QString PostgresConnection::keysChannel()
{
    if (m_keysChannel.isEmpty()) {
        ensureOpen();
        QSqlQuery q(m_db);
        if (!q.exec(u"SELECT current_schema()"_s) || !q.next())
            fail(q.lastError());
        const QByteArray schema = q.value(0).toString().toUtf8();
        QByteArray channel = "kvdesk_keys_" + schema;
        // A channel's name has at most 63 bytes, and Qt's LISTEN takes a '.' in it for a schema's:
        // a schema whose name is long or more than [a-z0-9_] is told apart by its name's hash.
        const bool plain = std::all_of(schema.begin(), schema.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        });
        if (!plain || channel.size() > 63)
            channel = "kvdesk_keys_" +
                      QCryptographicHash::hash(schema, QCryptographicHash::Sha256).toHex().left(40);
        m_keysChannel = QString::fromUtf8(channel);
    }
    return m_keysChannel;
}

std::optional<StoredValue> PostgresConnection::get(QByteArrayView key)
{
    return retrying([&]() -> std::optional<StoredValue> {
        QSqlQuery &q = statements().get;
        q.bindValue(0, text(key));
        q.bindValue(1, m_store.clock().nowMs());
        run(q);
        if (!q.next()) {
            q.finish();
            return std::nullopt;
        }
        StoredValue v = storedValue(q, 0);
        q.finish();
        return v;
    });
}

StoredValue PostgresConnection::storedValue(const QSqlQuery &q, int first)
{
    StoredValue v;
    v.json = q.value(first).toString().toUtf8();
    v.updatedAtMs = q.value(first + 1).toLongLong();
    v.expiresAtMs = optionalColumn(q, first + 2);
    v.etag = etagFor(optionalColumn(q, first + 3), v.updatedAtMs);
    return v;
}

std::vector<std::optional<StoredValue>> PostgresConnection::getAll(const std::vector<QByteArrayView> &keys)
{
    return retrying([&] {
        Statements &s = statements();
        std::vector<std::optional<StoredValue>> values(keys.size());
        const qint64 now = m_store.clock().nowMs();
        QHash<QByteArray, StoredValue> found;
        for (size_t from = 0; from < keys.size(); from += maxReadsPerStatement) {
            const size_t n = std::min(keys.size() - from, size_t(maxReadsPerStatement));
            QSqlQuery &q = prepared(
                s.getRows, n,
                uR"(SELECT "name", "value", "updated_at", "expires_at", "version" FROM "wt_kv_key_values" WHERE "name" IN ()"_s,
                u"?"_s, uR"() AND )"_s PG_LIVE);
            for (size_t i = 0; i < n; ++i)
                q.bindValue(int(i), text(keys[from + i]));
            q.bindValue(int(n), now);
            run(q);
            found.clear();
            while (q.next())
                found.insert(q.value(0).toString().toUtf8(), storedValue(q, 1));
            q.finish();
            for (size_t i = from; i < from + n; ++i) {
                const auto it = found.constFind(keys[i].toByteArray());
                if (it != found.cend())
                    values[i] = *it;
            }
        }
        return values;
    });
}

PutResult PostgresConnection::put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                                  const Precondition &condition)
{
    Statements &s = statements();
    const qint64 now = m_store.clock().nowMs();
    const qint64 version = newVersion();
    const QVariant name = text(key);
    const QVariant value = text(json);
    const bool written = applyGuarded(condition, [&](Guard guard, qint64 number) {
        QSqlQuery &q = guard == Guard::None      ? s.upsert
                       : guard == Guard::Absent  ? s.insertIfAbsent
                       : guard == Guard::Live    ? s.updateIfLive
                       : guard == Guard::Version ? s.updateIfVersion
                                                 : s.updateIfLegacy;
        int i = 0;
        q.bindValue(i++, value);
        q.bindValue(i++, now);
        q.bindValue(i++, optionalInteger(expiresAtMs));
        q.bindValue(i++, version);
        q.bindValue(i++, name);
        if (guard == Guard::Version || guard == Guard::Legacy)
            q.bindValue(i++, number);
        if (guard != Guard::None)
            q.bindValue(i++, now);
        run(q);
        const bool changed = q.numRowsAffected() > 0;
        q.finish();
        return changed;
    });
    if (!written)
        return {WriteOutcome::PreconditionFailed, {}};
    this->written(key);
    return {WriteOutcome::Written, etagFor(version, now)};
}

QSqlQuery &PostgresConnection::prepared(std::vector<std::unique_ptr<QSqlQuery>> &cache, size_t n,
                                        const QString &head, const QString &item, const QString &tail)
{
    if (cache.size() < n)
        cache.resize(n);
    std::unique_ptr<QSqlQuery> &query = cache[n - 1];
    if (!query) {
        QString sql = head;
        for (size_t i = 0; i < n; ++i) {
            if (i > 0)
                sql += u", "_s;
            sql += item;
        }
        sql += tail;
        auto q = std::make_unique<QSqlQuery>(m_db);
        q->setForwardOnly(true);
        if (!q->prepare(sql))
            fail(q->lastError());
        query = std::move(q);
    }
    return *query;
}

std::vector<PutResult> PostgresConnection::writeAll(const std::vector<PlainWrite> &writes)
{
    // A statement for up to maxWritesPerStatement puts, and one for as many removes, rather than
    // a round trip to the server for each (the keys are distinct: one statement cannot upsert a
    // row twice).
    Statements &s = statements();
    std::vector<PutResult> results(writes.size());
    std::vector<size_t> puts, removes;
    for (size_t i = 0; i < writes.size(); ++i)
        (writes[i].remove ? removes : puts).push_back(i);
    for (size_t from = 0; from < puts.size(); from += maxWritesPerStatement) {
        const size_t rows = std::min(puts.size() - from, size_t(maxWritesPerStatement));
        QSqlQuery &q = prepared(
            s.upsertRows, rows,
            uR"(INSERT INTO "wt_kv_key_values" AS t ("value", "updated_at", "expires_at", "version", "name") VALUES )"_s,
            u"(?, ?, ?, ?, ?)"_s,
            uR"( ON CONFLICT ("name") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at", "expires_at" = excluded."expires_at", "version" = excluded."version")"_s);
        const qint64 now = m_store.clock().nowMs();
        int param = 0;
        for (size_t i = from; i < from + rows; ++i) {
            const PlainWrite &w = writes[puts[i]];
            const qint64 version = newVersion();
            q.bindValue(param++, text(w.json));
            q.bindValue(param++, now);
            q.bindValue(param++, optionalInteger(w.expiresAtMs));
            q.bindValue(param++, version);
            q.bindValue(param++, text(w.key));
            results[puts[i]] = {WriteOutcome::Written, etagFor(version, now)};
        }
        run(q);
        q.finish();
        for (size_t i = from; i < from + rows; ++i)
            written(writes[puts[i]].key);
    }
    for (size_t from = 0; from < removes.size(); from += maxWritesPerStatement) {
        const size_t keys = std::min(removes.size() - from, size_t(maxWritesPerStatement));
        QSqlQuery &q = prepared(s.removeKeys, keys, uR"(DELETE FROM "wt_kv_key_values" WHERE "name" IN ()"_s,
                                u"?"_s, uR"() RETURNING "name")"_s);
        for (size_t i = from; i < from + keys; ++i)
            q.bindValue(int(i - from), text(writes[removes[i]].key));
        run(q);
        // Only the keys that were there changed (as remove() announces them).
        while (q.next())
            written(q.value(0).toString().toUtf8());
        q.finish();
    }
    return results;
}

void PostgresConnection::lockKeys(const std::vector<QByteArrayView> &keys)
{
    // A transaction of one key waits for no more than that key's row: it cannot deadlock.
    if (std::all_of(keys.begin(), keys.end(), [&](QByteArrayView key) { return key == keys.front(); }))
        return;
    Statements &s = statements();
    if (keys.size() > size_t(maxKeyLocks)) {
        run(s.lockAllKeys);
        s.lockAllKeys.finish();
        return;
    }
    // A key's lock is named by 64 bits of its SHA-256, the same in every process (Qt's qHash is
    // seeded per process). Keys that share those bits share a lock, which only makes their
    // writers wait for one another.
    std::vector<qint64> ids;
    ids.reserve(keys.size());
    for (const QByteArrayView key : keys)
        ids.push_back(
            qFromBigEndian<qint64>(QCryptographicHash::hash(key, QCryptographicHash::Sha256).constData()));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    QString array = u"{"_s;
    for (const qint64 id : ids) {
        if (array.size() > 1)
            array += u',';
        array += QString::number(id);
    }
    array += u'}';
    s.lockKeys.bindValue(0, array);
    run(s.lockKeys);
    s.lockKeys.finish();
}

WriteOutcome PostgresConnection::remove(QByteArrayView key, const Precondition &condition)
{
    Statements &s = statements();
    const qint64 now = m_store.clock().nowMs();
    const bool changed = applyGuarded(condition, [&](Guard guard, qint64 number) {
        QSqlQuery &q = guard == Guard::Live      ? s.removeIfLive
                       : guard == Guard::Version ? s.removeIfVersion
                       : guard == Guard::Legacy  ? s.removeIfLegacy
                                                 : s.remove; // None, and Absent (refused by the HTTP layer)
        int i = 0;
        q.bindValue(i++, text(key));
        if (guard == Guard::Version || guard == Guard::Legacy)
            q.bindValue(i++, number);
        if (guard == Guard::Live || guard == Guard::Version || guard == Guard::Legacy)
            q.bindValue(i++, now);
        run(q);
        const bool removed = q.numRowsAffected() > 0;
        q.finish();
        return removed;
    });
    if (changed)
        written(key);
    return removeOutcome(condition, changed);
}

QString PostgresConnection::prefixEnd(const QString &prefix)
{
    // UTF-8's byte order is code point order: the prefix with its last code point incremented
    // sorts above everything that starts with the prefix (a last code point that cannot be
    // incremented is dropped, and the one before incremented).
    QList<uint> points = prefix.toUcs4();
    while (!points.isEmpty()) {
        uint last = points.takeLast() + 1;
        if (last >= 0xD800 && last <= 0xDFFF)
            last = 0xE000;
        if (last <= 0x10FFFF) {
            points.append(last);
            return QString::fromUcs4(reinterpret_cast<const char32_t *>(points.constData()), points.size());
        }
    }
    return {};
}

KeyPage PostgresConnection::list(const QString &prefix, const QString &after, int limit)
{
    return retrying([&] {
        Statements &s = statements();
        const QString end = prefixEnd(prefix);
        QSqlQuery &q = end.isEmpty() ? s.listAll : s.list;
        int i = 0;
        if (!end.isEmpty()) {
            q.bindValue(i++, prefix);
            q.bindValue(i++, end);
        }
        q.bindValue(i++, after.isNull() ? u""_s : after); // a null QString would bind NULL
        q.bindValue(i++, m_store.clock().nowMs());
        q.bindValue(i++, limit + 1);
        run(q);
        KeyPage page;
        while (q.next()) {
            if (page.keys.size() == limit) {
                page.complete = false;
                break;
            }
            page.keys.append({q.value(0).toString(), optionalColumn(q, 1)});
        }
        q.finish();
        return page;
    });
}

int PostgresConnection::sweepExpired(int batch)
{
    return retrying([&] {
        QSqlQuery &q = statements().sweep;
        const qint64 now = m_store.clock().nowMs();
        q.bindValue(0, now);
        q.bindValue(1, batch);
        q.bindValue(2, now);
        run(q);
        const int removed = q.numRowsAffected();
        q.finish();
        return removed;
    });
}

qint64 PostgresConnection::countLiveKeys()
{
    return retrying([&] {
        QSqlQuery &q = statements().count;
        q.bindValue(0, m_store.clock().nowMs());
        run(q);
        const qint64 n = q.next() ? q.value(0).toLongLong() : 0;
        q.finish();
        return n;
    });
}

} // namespace kvdesk
