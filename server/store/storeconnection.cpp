#include "storeconnection.h"

#include "clock.h"
#include "store.h"
#include "storeerror.h"

#include <QCoreApplication>
#include <QRandomGenerator>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <atomic>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

std::atomic<quint64> connectionSerial{0};

const auto liveClause = uR"(("expires_at" IS NULL OR "expires_at" > ?))"_s;

QVariant nullable(std::optional<qint64> v)
{
    return v ? QVariant(*v) : QVariant(QMetaType::fromType<qint64>());
}

std::optional<qint64> optionalInt(const QVariant &v)
{
    if (v.isNull())
        return std::nullopt;
    return v.toLongLong();
}

qint64 newVersion()
{
    // Random rather than a counter: unique across processes sharing the database, never reused
    // after a delete and re-create.
    qint64 v = 0;
    while (v == 0)
        v = qint64(QRandomGenerator::global()->generate64() >> 1);
    return v;
}

// A quoted ETag back to what identifies a row's write: its version, or for rows written by the
// original (no version) its updated_at.
struct ParsedEtag
{
    bool legacy = false;
    qint64 number = 0;
};

std::optional<ParsedEtag> parseEtag(const QByteArray &etag)
{
    if (etag.size() < 3 || !etag.startsWith('"') || !etag.endsWith('"'))
        return std::nullopt;
    QByteArray inner = etag.mid(1, etag.size() - 2);
    ParsedEtag parsed;
    bool ok = false;
    if (inner.startsWith('u')) {
        parsed.legacy = true;
        parsed.number = inner.mid(1).toLongLong(&ok);
    } else {
        parsed.number = inner.toLongLong(&ok, 36);
    }
    if (!ok)
        return std::nullopt;
    return parsed;
}

} // namespace

struct StoreConnection::Statements
{
    explicit Statements(QSqlDatabase &db)
        : get(db), upsert(db), insertIfAbsent(db), updateIfVersion(db), updateIfLegacy(db), updateIfLive(db),
          remove(db), removeIfVersion(db), removeIfLegacy(db), removeIfLive(db), list(db), sweep(db), count(db)
    {
        const QString cols = uR"("value" = ?, "updated_at" = ?, "expires_at" = ?, "version" = ?)"_s;
        const QString upsertSql =
            uR"(INSERT INTO "wt_kv_key_values" ("value", "updated_at", "expires_at", "version", "name") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("name") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at", "expires_at" = excluded."expires_at", "version" = excluded."version")"_s;
        prepare(get, uR"(SELECT "value", "updated_at", "expires_at", "version" FROM "wt_kv_key_values" WHERE "name" = ? AND )"_s + liveClause);
        prepare(upsert, upsertSql);
        prepare(insertIfAbsent, upsertSql + uR"( WHERE "wt_kv_key_values"."expires_at" IS NOT NULL AND "wt_kv_key_values"."expires_at" <= ?)"_s);
        prepare(updateIfVersion, uR"(UPDATE "wt_kv_key_values" SET )"_s + cols + uR"( WHERE "name" = ? AND "version" = ? AND )"_s + liveClause);
        prepare(updateIfLegacy, uR"(UPDATE "wt_kv_key_values" SET )"_s + cols + uR"( WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )"_s + liveClause);
        prepare(updateIfLive, uR"(UPDATE "wt_kv_key_values" SET )"_s + cols + uR"( WHERE "name" = ? AND )"_s + liveClause);
        prepare(remove, uR"(DELETE FROM "wt_kv_key_values" WHERE "name" = ?)"_s);
        prepare(removeIfVersion, uR"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" = ? AND )"_s + liveClause);
        prepare(removeIfLegacy, uR"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )"_s + liveClause);
        prepare(removeIfLive, uR"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND )"_s + liveClause);
        // Every valid UTF-8 string that starts with the prefix sorts below prefix || 0xFF.
        prepare(list, uR"(SELECT "name", "expires_at" FROM "wt_kv_key_values" WHERE "name" >= ? AND "name" < (? || CAST(x'FF' AS TEXT)) AND "name" > ? AND )"_s + liveClause + uR"( ORDER BY "name" LIMIT ?)"_s);
        prepare(sweep, uR"(DELETE FROM "wt_kv_key_values" WHERE rowid IN (SELECT rowid FROM "wt_kv_key_values" WHERE "expires_at" IS NOT NULL AND "expires_at" <= ? LIMIT ?))"_s);
        prepare(count, uR"(SELECT count(*) FROM "wt_kv_key_values" WHERE )"_s + liveClause);
    }

    static void prepare(QSqlQuery &q, const QString &sql)
    {
        if (!q.prepare(sql))
            throw StoreError(QCoreApplication::translate("kvdesk::Store", "Cannot prepare a statement: %1")
                                 .arg(q.lastError().text()));
    }

    QSqlQuery get, upsert, insertIfAbsent, updateIfVersion, updateIfLegacy, updateIfLive;
    QSqlQuery remove, removeIfVersion, removeIfLegacy, removeIfLive, list, sweep, count;
};

namespace {

void exec(QSqlQuery &q)
{
    if (!q.exec()) {
        const QString error = q.lastError().text();
        q.finish();
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "Database error: %1").arg(error));
    }
}

template<typename... Args>
void bindAll(QSqlQuery &q, const Args &...args)
{
    int i = 0;
    (q.bindValue(i++, QVariant(args)), ...);
}

} // namespace

StoreConnection::StoreConnection(const Store &store, const QString &path)
    : m_store(store), m_connectionName(u"kvdesk-%1"_s.arg(connectionSerial.fetch_add(1)))
{
    m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
    m_db.setDatabaseName(path);
    m_db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=10000"_s);
    if (!m_db.open()) {
        const QString error = m_db.lastError().text();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "Cannot open the database %1: %2")
                             .arg(path, error));
    }
    // In WAL mode, NORMAL makes each commit reach the operating system before it returns: a
    // commit survives a crash of this process (not a power cut, which FULL would also cover).
    QSqlQuery pragma(m_db);
    pragma.exec(u"PRAGMA synchronous=NORMAL"_s);
}

StoreConnection::~StoreConnection()
{
    m_statements.reset();
    m_db.close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

StoreConnection::Statements &StoreConnection::statements()
{
    if (!m_statements) {
        if (!m_store.schemaReady())
            throw StoreError(QCoreApplication::translate("kvdesk::Store",
                                                         "The database schema is out of date; run the pending "
                                                         "migrations (POST {admin}/migrate)"),
                             StoreError::Kind::SchemaOutdated);
        m_statements = std::make_unique<Statements>(m_db);
    }
    return *m_statements;
}

QByteArray StoreConnection::etagFor(std::optional<qint64> version, qint64 updatedAtMs)
{
    if (version)
        return '"' + QByteArray::number(*version, 36) + '"';
    return "\"u" + QByteArray::number(updatedAtMs) + '"';
}

std::optional<StoredValue> StoreConnection::get(const QString &key)
{
    QSqlQuery &q = statements().get;
    bindAll(q, key, m_store.clock().nowMs());
    exec(q);
    if (!q.next()) {
        q.finish();
        return std::nullopt;
    }
    StoredValue v;
    v.json = q.value(0).toString().toUtf8();
    v.updatedAtMs = q.value(1).toLongLong();
    v.expiresAtMs = optionalInt(q.value(2));
    v.etag = etagFor(optionalInt(q.value(3)), v.updatedAtMs);
    q.finish();
    return v;
}

PutResult StoreConnection::put(const QString &key, const QByteArray &json, std::optional<qint64> expiresAtMs,
                               const Precondition &condition)
{
    Statements &s = statements();
    const qint64 now = m_store.clock().nowMs();
    const qint64 version = newVersion();
    const QString text = QString::fromUtf8(json);
    const QVariant expires = nullable(expiresAtMs);
    auto run = [&](QSqlQuery &q, auto... extra) {
        bindAll(q, text, now, expires, version, key, extra...);
        exec(q);
        const bool changed = q.numRowsAffected() > 0;
        q.finish();
        return changed;
    };

    bool written = false;
    switch (condition.kind) {
    case Precondition::Kind::None:
        written = run(s.upsert);
        break;
    case Precondition::Kind::IfNoneMatchAny:
        written = run(s.insertIfAbsent, now);
        break;
    case Precondition::Kind::IfMatchAny:
        written = run(s.updateIfLive, now);
        break;
    case Precondition::Kind::IfMatch:
        for (const QByteArray &etag : condition.etags) {
            const auto parsed = parseEtag(etag);
            if (!parsed)
                continue;
            written = run(parsed->legacy ? s.updateIfLegacy : s.updateIfVersion, parsed->number, now);
            if (written)
                break;
        }
        break;
    }
    if (!written)
        return {WriteOutcome::PreconditionFailed, {}};
    return {WriteOutcome::Written, etagFor(version, now)};
}

WriteOutcome StoreConnection::remove(const QString &key, const Precondition &condition)
{
    Statements &s = statements();
    const qint64 now = m_store.clock().nowMs();
    auto run = [&](QSqlQuery &q, auto... extra) {
        bindAll(q, key, extra...);
        exec(q);
        const bool changed = q.numRowsAffected() > 0;
        q.finish();
        return changed;
    };
    switch (condition.kind) {
    case Precondition::Kind::None:
    case Precondition::Kind::IfNoneMatchAny: // meaningless for a delete: ignored
        run(s.remove);
        return WriteOutcome::Written;
    case Precondition::Kind::IfMatchAny:
        return run(s.removeIfLive, now) ? WriteOutcome::Written : WriteOutcome::PreconditionFailed;
    case Precondition::Kind::IfMatch:
        for (const QByteArray &etag : condition.etags) {
            const auto parsed = parseEtag(etag);
            if (parsed && run(parsed->legacy ? s.removeIfLegacy : s.removeIfVersion, parsed->number, now))
                return WriteOutcome::Written;
        }
        return WriteOutcome::PreconditionFailed;
    }
    return WriteOutcome::PreconditionFailed;
}

KeyPage StoreConnection::list(const QString &prefix, const QString &after, int limit)
{
    QSqlQuery &q = statements().list;
    // A null QString would bind as SQL NULL, and nothing compares true against NULL.
    const QString from = prefix.isNull() ? u""_s : prefix;
    const QString last = after.isNull() ? u""_s : after;
    bindAll(q, from, from, last, m_store.clock().nowMs(), limit + 1);
    exec(q);
    KeyPage page;
    while (q.next()) {
        if (page.keys.size() == limit) {
            page.complete = false;
            break;
        }
        page.keys.append({q.value(0).toString(), optionalInt(q.value(1))});
    }
    q.finish();
    return page;
}

int StoreConnection::sweepExpired(int batch)
{
    QSqlQuery &q = statements().sweep;
    bindAll(q, m_store.clock().nowMs(), batch);
    exec(q);
    const int removed = q.numRowsAffected();
    q.finish();
    return removed;
}

qint64 StoreConnection::countLiveKeys()
{
    QSqlQuery &q = statements().count;
    bindAll(q, m_store.clock().nowMs());
    exec(q);
    const qint64 n = q.next() ? q.value(0).toLongLong() : 0;
    q.finish();
    return n;
}

} // namespace kvdesk
