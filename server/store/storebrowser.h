#pragma once

#include "storeconnection.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace kvdesk {

class PostgresBrowser;

// Which keys a browser shows: those containing a text (case-insensitive for ASCII), or those
// starting with it (case-sensitive, like the API's prefix).
struct BrowseFilter
{
    enum class Mode { Substring, Prefix };
    Mode mode = Mode::Substring;
    QString text;

    bool isEmpty() const { return text.isEmpty(); }
    bool matches(QByteArrayView key) const;
    friend bool operator==(const BrowseFilter &, const BrowseFilter &) = default;
};

// A row of a browser: a key, or a folder (every key below `key`, which ends with '/').
struct BrowseEntry
{
    QByteArray key; // UTF-8
    bool folder = false;
    qint64 sizeBytes = 0; // of the value's JSON text; 0 for folders
    std::optional<qint64> expiresAtMs;
    qint64 updatedAtMs = 0;
};

struct BrowsePage
{
    QList<BrowseEntry> entries;
    QByteArray cursor;     // to ask for the next page
    bool complete = false; // nothing after the last entry
};

// A key with its value, for copying keys around (duplicate, undo of a delete).
struct StoredEntry
{
    QByteArray key;
    QByteArray json;
    std::optional<qint64> expiresAtMs;
    QByteArray etag; // of the version read, for a compare-and-set
};

// Read-only queries for an admin browser over a million keys: pages of a folder's children
// (grouped by '/' with an index skip-scan, so a folder of a million keys costs one page),
// counts, and the metadata of keys named by a change. Every query reads the latest commit. On
// PostgreSQL, PostgresBrowser answers the same queries.
// Used on one thread, like its connection.
class StoreBrowser final
{
public:
    explicit StoreBrowser(StoreConnection &connection);
    ~StoreBrowser();
    StoreBrowser(const StoreBrowser &) = delete;
    StoreBrowser &operator=(const StoreBrowser &) = delete;

    // Entries right below folder ("" for the root, else ending with '/') in byte order, after
    // cursor (empty: from the first). With grouped, keys below a '/' are shown as their folder;
    // without, every key below folder is listed (a flat list).
    BrowsePage children(QByteArrayView folder, QByteArrayView cursor, const BrowseFilter &filter, int limit,
                        bool grouped);
    // Live keys below folder that match filter.
    qint64 count(QByteArrayView folder, const BrowseFilter &filter);
    // The live key's metadata, or nothing when it is absent or expired.
    std::optional<BrowseEntry> describe(QByteArrayView key);
    // describe() of each key, in the same order; on PostgreSQL a few queries in all rather than a
    // round trip for each key.
    std::vector<std::optional<BrowseEntry>> describe(const QList<QByteArray> &keys);
    // Whether a live key below folder matches filter.
    bool hasKeysBelow(QByteArrayView folder, const BrowseFilter &filter);
    // Up to limit live keys below folder with their values, in byte order, after cursor (a key).
    QList<StoredEntry> entries(QByteArrayView folder, int limit, QByteArrayView after = {});
    // The live key's value (as StoreConnection::get, without keeping a read transaction open).
    std::optional<StoredValue> value(QByteArrayView key);

private:
    struct Statements;
    sqlite3_stmt *pageStatement(const BrowseFilter &filter);

    StoreConnection &m_connection;
    std::unique_ptr<Statements> m_statements;
    std::unique_ptr<PostgresBrowser> m_postgres; // the queries on PostgreSQL
};

} // namespace kvdesk
