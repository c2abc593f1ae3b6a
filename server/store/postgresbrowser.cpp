#include "postgresbrowser.h"

#include "clock.h"
#include "postgresconnection.h"
#include "store.h"
#include "storeerror.h"

#include <QCoreApplication>
#include <QHash>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

// Never a null QString: Qt binds that as NULL.
QString text(QByteArrayView utf8)
{
    return utf8.isEmpty() ? u""_s : QString::fromUtf8(utf8);
}

std::optional<qint64> optionalValue(const QVariant &v)
{
    return v.isNull() ? std::nullopt : std::optional<qint64>(v.toLongLong());
}

QString likePattern(const QString &needle)
{
    QString pattern = u"%"_s;
    for (QChar c : needle) {
        if (c == u'%' || c == u'_' || c == u'\\')
            pattern += u'\\';
        pattern += c;
    }
    return pattern + u'%';
}

// The rows below `folder` from `from` on (inclusive or not), that match filter, in byte order.
// Columns: name, value's size in bytes, expires_at, updated_at (plus value and version when
// withValues).
QSqlQuery rowsBelow(StoreConnection &connection, QByteArrayView folder, const QString &from, bool inclusive,
                    const BrowseFilter &filter, int limit, bool withValues)
{
    const QString prefix = text(folder);
    const QString end = PostgresConnection::prefixEnd(prefix);
    QString sql = withValues ? uR"(SELECT "name", "value", "expires_at", "version", "updated_at")"_s
                             : uR"(SELECT "name", octet_length("value"), "expires_at", "updated_at")"_s;
    sql +=
        uR"( FROM "wt_kv_key_values" WHERE "name" COLLATE "C" >= ? AND ("expires_at" IS NULL OR "expires_at" > ?))"_s;
    sql += inclusive ? uR"( AND "name" COLLATE "C" >= ?)"_s : uR"( AND "name" COLLATE "C" > ?)"_s;
    if (!end.isEmpty())
        sql += uR"( AND "name" COLLATE "C" < ?)"_s;
    if (!filter.isEmpty())
        sql += filter.mode == BrowseFilter::Mode::Substring ? uR"( AND "name" ILIKE ? ESCAPE '\')"_s
                                                            : uR"( AND starts_with("name", ?))"_s;
    sql += uR"( ORDER BY "name" COLLATE "C" LIMIT ?)"_s;
    QSqlQuery q(connection.database());
    q.setForwardOnly(true);
    q.prepare(sql);
    q.addBindValue(prefix);
    q.addBindValue(connection.store().clock().nowMs());
    q.addBindValue(from.isNull() ? u""_s : from);
    if (!end.isEmpty())
        q.addBindValue(end);
    if (!filter.isEmpty())
        q.addBindValue(filter.mode == BrowseFilter::Mode::Substring ? likePattern(filter.text) : filter.text);
    q.addBindValue(limit);
    if (!q.exec())
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "Database error: %1")
                             .arg(q.lastError().databaseText()),
                         StoreError::Kind::Unavailable);
    return q;
}

} // namespace

BrowsePage PostgresBrowser::children(QByteArrayView folder, QByteArrayView cursor, const BrowseFilter &filter,
                                     int limit, bool grouped)
{
    BrowsePage page;
    // The cursor is the last key listed, or a folder followed by 0xFF (past everything below it),
    // as StoreBrowser's on SQLite.
    QByteArray from = cursor.toByteArray();
    while (page.entries.size() < limit) {
        const bool pastFolder = from.endsWith('\xFF');
        const QString start = pastFolder ? PostgresConnection::prefixEnd(text(from.chopped(1))) : text(from);
        if (pastFolder && start.isEmpty()) {
            page.complete = true;
            break;
        }
        QSqlQuery q = rowsBelow(m_connection, folder, start, pastFolder, filter,
                                int(limit - page.entries.size()), false);
        bool restarted = false;
        bool any = false;
        while (q.next()) {
            any = true;
            BrowseEntry e;
            e.key = q.value(0).toString().toUtf8();
            e.sizeBytes = q.value(1).toLongLong();
            e.expiresAtMs = optionalValue(q.value(2));
            e.updatedAtMs = q.value(3).toLongLong();
            const qsizetype slash = grouped ? e.key.indexOf('/', folder.size()) : -1;
            if (slash >= 0) {
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

qint64 PostgresBrowser::count(QByteArrayView folder, const BrowseFilter &filter)
{
    const QString prefix = text(folder);
    const QString end = PostgresConnection::prefixEnd(prefix);
    QString sql =
        uR"(SELECT count(*) FROM "wt_kv_key_values" WHERE "name" COLLATE "C" >= ? AND ("expires_at" IS NULL OR "expires_at" > ?))"_s;
    if (!end.isEmpty())
        sql += uR"( AND "name" COLLATE "C" < ?)"_s;
    if (!filter.isEmpty())
        sql += filter.mode == BrowseFilter::Mode::Substring ? uR"( AND "name" ILIKE ? ESCAPE '\')"_s
                                                            : uR"( AND starts_with("name", ?))"_s;
    QSqlQuery q(m_connection.database());
    q.prepare(sql);
    q.addBindValue(prefix);
    q.addBindValue(m_connection.store().clock().nowMs());
    if (!end.isEmpty())
        q.addBindValue(end);
    if (!filter.isEmpty())
        q.addBindValue(filter.mode == BrowseFilter::Mode::Substring ? likePattern(filter.text) : filter.text);
    if (!q.exec())
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "Database error: %1")
                             .arg(q.lastError().databaseText()),
                         StoreError::Kind::Unavailable);
    return q.next() ? q.value(0).toLongLong() : 0;
}

std::optional<BrowseEntry> PostgresBrowser::describe(QByteArrayView key)
{
    return describe(QList<QByteArray>{key.toByteArray()}).front();
}

std::vector<std::optional<BrowseEntry>> PostgresBrowser::describe(const QList<QByteArray> &keys)
{
    // Hundreds of keys per query rather than a round trip for each: 10,000 keys of a store of
    // 1,000,000 took 2.3-2.4 s one at a time here, 0.18 s in one query.
    constexpr qsizetype keysPerQuery = 500;
    std::vector<std::optional<BrowseEntry>> result(size_t(keys.size()));
    const qint64 now = m_connection.store().clock().nowMs();
    for (qsizetype from = 0; from < keys.size(); from += keysPerQuery) {
        const qsizetype count = std::min(keysPerQuery, keys.size() - from);
        QString sql =
            uR"(SELECT "name", octet_length("value"), "expires_at", "updated_at" FROM "wt_kv_key_values" WHERE ("expires_at" IS NULL OR "expires_at" > ?) AND "name" IN (?)"_s;
        for (qsizetype i = 1; i < count; ++i)
            sql += u", ?"_s;
        sql += u')';
        QSqlQuery q(m_connection.database());
        q.prepare(sql);
        q.addBindValue(now);
        for (qsizetype i = from; i < from + count; ++i)
            q.addBindValue(text(keys[i]));
        if (!q.exec())
            throw StoreError(QCoreApplication::translate("kvdesk::Store", "Database error: %1")
                                 .arg(q.lastError().databaseText()),
                             StoreError::Kind::Unavailable);
        QHash<QByteArray, BrowseEntry> found;
        while (q.next()) {
            BrowseEntry e;
            e.key = q.value(0).toString().toUtf8();
            e.sizeBytes = q.value(1).toLongLong();
            e.expiresAtMs = optionalValue(q.value(2));
            e.updatedAtMs = q.value(3).toLongLong();
            found.insert(e.key, e);
        }
        for (qsizetype i = from; i < from + count; ++i) {
            const auto it = found.constFind(keys[i]);
            if (it != found.constEnd())
                result[size_t(i)] = *it;
        }
    }
    return result;
}

QList<StoredEntry> PostgresBrowser::entries(QByteArrayView folder, int limit, QByteArrayView after)
{
    QSqlQuery q = rowsBelow(m_connection, folder, text(after), false, {}, limit, true);
    QList<StoredEntry> result;
    while (q.next())
        result.append({q.value(0).toString().toUtf8(), q.value(1).toString().toUtf8(),
                       optionalValue(q.value(2)),
                       StoreConnection::etagFor(optionalValue(q.value(3)), q.value(4).toLongLong())});
    return result;
}

} // namespace kvdesk
