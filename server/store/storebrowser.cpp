#include "storebrowser.h"

#include "clock.h"
#include "postgresbrowser.h"
#include "sqlitestatement.h"
#include "store.h"
#include "storeerror.h"

#include <QCoreApplication>

#include <array>

namespace kvdesk {

using sqlite::Bound;
using sqlite::optionalColumn;
using sqlite::textColumn;

namespace {

// ?1 the folder (every key below it sorts before folder || 0xFF), ?2 the cursor, ?3 now.
#define KV_NAMED R"("name" >= ?1 AND "name" < (?1 || CAST(x'FF' AS TEXT)) AND "name" > ?2)"
#define KV_BELOW KV_NAMED R"( AND ("expires_at" IS NULL OR "expires_at" > ?3))"

QByteArray likePattern(const QString &text)
{
    QByteArray pattern = "%";
    for (char c : text.toUtf8()) {
        if (c == '%' || c == '_' || c == '\\')
            pattern += '\\';
        pattern += c;
    }
    return pattern + '%';
}

} // namespace

bool BrowseFilter::matches(QByteArrayView key) const
{
    if (text.isEmpty())
        return true;
    const QByteArray needle = text.toUtf8();
    if (mode == Mode::Prefix)
        return key.startsWith(needle);
    return key.toByteArray().toLower().contains(needle.toLower());
}

struct StoreBrowser::Statements
{
    explicit Statements(sqlite3 *handle) : db(handle) {}
    ~Statements()
    {
        for (sqlite3_stmt *s : all)
            sqlite3_finalize(s);
    }
    sqlite3_stmt *prepare(const QByteArray &sql)
    {
        sqlite3_stmt *stmt = nullptr;
        if (sqlite3_prepare_v3(db, sql.constData(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                               nullptr) != SQLITE_OK)
            throw StoreError(QCoreApplication::translate("kvdesk::Store", "Cannot prepare a statement: %1")
                                 .arg(QString::fromUtf8(sqlite3_errmsg(db))));
        all.append(stmt);
        return stmt;
    }

    sqlite3 *db;
    QList<sqlite3_stmt *> all;
    // By filter mode: none, substring, prefix.
    std::array<sqlite3_stmt *, 3> page{};
    std::array<sqlite3_stmt *, 3> count{};
    sqlite3_stmt *describe = nullptr;
    sqlite3_stmt *entries = nullptr;
};

StoreBrowser::StoreBrowser(StoreConnection &connection)
    : m_connection(connection), m_statements(std::make_unique<Statements>(connection.nativeHandle())),
      m_postgres(connection.nativeHandle() ? nullptr : std::make_unique<PostgresBrowser>(connection))
{}

StoreBrowser::~StoreBrowser() = default;

static int modeIndex(const BrowseFilter &filter)
{
    if (filter.isEmpty())
        return 0;
    return filter.mode == BrowseFilter::Mode::Substring ? 1 : 2;
}

static QByteArray filterClause(int index)
{
    switch (index) {
    case 1:
        return R"( AND "name" LIKE ?4 ESCAPE '\')";
    case 2:
        return R"( AND "name" >= ?4 AND "name" < (?4 || CAST(x'FF' AS TEXT)))";
    default:
        return " AND ?4 IS NULL";
    }
}

static void bindFilter(Bound &q, const BrowseFilter &filter, QByteArray *storage)
{
    if (filter.isEmpty()) {
        sqlite3_bind_null(q.stmt(), 4);
        q.skip();
        return;
    }
    *storage = filter.mode == BrowseFilter::Mode::Substring ? likePattern(filter.text) : filter.text.toUtf8();
    q.text(*storage);
}

sqlite3_stmt *StoreBrowser::pageStatement(const BrowseFilter &filter)
{
    const int i = modeIndex(filter);
    if (!m_statements->page[i])
        m_statements->page[i] = m_statements->prepare(
            R"(SELECT "name", length(CAST("value" AS BLOB)), "expires_at", "updated_at" FROM "wt_kv_key_values" WHERE )" KV_BELOW +
            filterClause(i) + R"( ORDER BY "name" LIMIT ?5)");
    return m_statements->page[i];
}

static void ensureReady(StoreConnection &connection)
{
    if (!connection.store().schemaReady())
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "The database schema is out of date"),
                         StoreError::Kind::SchemaOutdated);
    // Every query here reads the latest commit: no read transaction stays open.
    connection.releaseSnapshot();
}

static BrowseEntry rowEntry(sqlite3_stmt *stmt)
{
    BrowseEntry e;
    e.key = textColumn(stmt, 0);
    e.sizeBytes = sqlite3_column_int64(stmt, 1);
    e.expiresAtMs = optionalColumn(stmt, 2);
    e.updatedAtMs = sqlite3_column_int64(stmt, 3);
    return e;
}

BrowsePage StoreBrowser::children(QByteArrayView folder, QByteArrayView cursor, const BrowseFilter &filter,
                                  int limit, bool grouped)
{
    ensureReady(m_connection);
    if (m_postgres)
        return m_postgres->children(folder, cursor, filter, limit, grouped);
    BrowsePage page;
    QByteArray from = cursor.toByteArray();
    QByteArray filterStorage;
    const qint64 now = m_connection.store().clock().nowMs();
    while (page.entries.size() < limit) {
        // SQLite reads bound text while it steps: `from` changes meanwhile, its copy does not.
        const QByteArray after = from;
        Bound q(pageStatement(filter));
        q.text(folder).text(after).integer(now);
        bindFilter(q, filter, &filterStorage);
        q.integer(limit - page.entries.size());
        bool restarted = false;
        bool any = false;
        while (q.step()) {
            any = true;
            BrowseEntry e = rowEntry(q.stmt());
            const qsizetype slash = grouped ? e.key.indexOf('/', folder.size()) : -1;
            if (slash >= 0) {
                // A folder: listed once, then the scan jumps over everything below it.
                BrowseEntry f;
                f.key = e.key.left(slash + 1);
                f.folder = true;
                from = f.key + '\xFF';
                page.entries.append(std::move(f));
                restarted = true;
                break;
            }
            from = e.key;
            page.entries.append(std::move(e));
        }
        if (!any || (!restarted && page.entries.size() < limit)) {
            page.complete = true;
            break;
        }
    }
    page.cursor = from;
    return page;
}

qint64 StoreBrowser::count(QByteArrayView folder, const BrowseFilter &filter)
{
    ensureReady(m_connection);
    if (m_postgres)
        return m_postgres->count(folder, filter);
    const int i = modeIndex(filter);
    if (!m_statements->count[i])
        // The keys named, counted from the name's index alone, less those expired (not swept yet)
        // among them, found through the index of expiries: a count of the live ones straight away
        // would read every row for its expiry, in the order of the names (0.47 s against 0.02 for
        // 296,098 keys written in random order, with the SQLite shell).
        m_statements->count[i] = m_statements->prepare(
            R"(SELECT (SELECT count(*) FROM "wt_kv_key_values" WHERE )" KV_NAMED + filterClause(i) +
            R"() - (SELECT count(*) FROM "wt_kv_key_values" INDEXED BY "kvdesk_key_values_expires_at_idx" )"
            R"(WHERE "expires_at" IS NOT NULL AND "expires_at" <= ?3 AND )" KV_NAMED +
            filterClause(i) + ")");
    Bound q(m_statements->count[i]);
    QByteArray filterStorage;
    q.text(folder).text("").integer(m_connection.store().clock().nowMs());
    bindFilter(q, filter, &filterStorage);
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
}

std::optional<BrowseEntry> StoreBrowser::describe(QByteArrayView key)
{
    ensureReady(m_connection);
    if (m_postgres)
        return m_postgres->describe(key);
    if (!m_statements->describe)
        m_statements->describe = m_statements->prepare(
            R"(SELECT "name", length(CAST("value" AS BLOB)), "expires_at", "updated_at" FROM "wt_kv_key_values" WHERE "name" = ?1 AND ("expires_at" IS NULL OR "expires_at" > ?2))");
    Bound q(m_statements->describe);
    q.text(key).integer(m_connection.store().clock().nowMs());
    if (!q.step())
        return std::nullopt;
    return rowEntry(q.stmt());
}

std::vector<std::optional<BrowseEntry>> StoreBrowser::describe(const QList<QByteArray> &keys)
{
    ensureReady(m_connection);
    if (m_postgres)
        return m_postgres->describe(keys);
    // In this process, one key at a time costs a lookup of the index each, and nothing more.
    std::vector<std::optional<BrowseEntry>> entries;
    entries.reserve(size_t(keys.size()));
    for (const QByteArray &key : keys)
        entries.push_back(describe(QByteArrayView(key)));
    return entries;
}

bool StoreBrowser::hasKeysBelow(QByteArrayView folder, const BrowseFilter &filter)
{
    return !children(folder, {}, filter, 1, false).entries.isEmpty();
}

QList<StoredEntry> StoreBrowser::entries(QByteArrayView folder, int limit, QByteArrayView after)
{
    ensureReady(m_connection);
    if (m_postgres)
        return m_postgres->entries(folder, limit, after);
    if (!m_statements->entries)
        m_statements->entries = m_statements->prepare(
            R"(SELECT "name", "value", "expires_at", "version", "updated_at" FROM "wt_kv_key_values" WHERE )" KV_BELOW
            R"( ORDER BY "name" LIMIT ?4)");
    Bound q(m_statements->entries);
    q.text(folder).text(after).integer(m_connection.store().clock().nowMs()).integer(limit);
    QList<StoredEntry> result;
    while (q.step())
        result.append(
            {textColumn(q.stmt(), 0), textColumn(q.stmt(), 1), optionalColumn(q.stmt(), 2),
             StoreConnection::etagFor(optionalColumn(q.stmt(), 3), sqlite3_column_int64(q.stmt(), 4))});
    return result;
}

std::optional<StoredValue> StoreBrowser::value(QByteArrayView key)
{
    ensureReady(m_connection);
    auto v = m_connection.get(key);
    m_connection.releaseSnapshot();
    return v;
}

} // namespace kvdesk
