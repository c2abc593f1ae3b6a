#pragma once

#include "storebrowser.h"

namespace kvdesk {

// StoreBrowser's queries on PostgreSQL: the same pages, counts and rows, in byte order
// (COLLATE "C"), with a folder listed once and the scan resumed past everything below it.
class PostgresBrowser final
{
public:
    explicit PostgresBrowser(StoreConnection &connection) : m_connection(connection) {}

    BrowsePage children(QByteArrayView folder, QByteArrayView cursor, const BrowseFilter &filter, int limit,
                        bool grouped);
    qint64 count(QByteArrayView folder, const BrowseFilter &filter);
    std::optional<BrowseEntry> describe(QByteArrayView key);
    std::vector<std::optional<BrowseEntry>> describe(const QList<QByteArray> &keys);
    QList<StoredEntry> entries(QByteArrayView folder, int limit, QByteArrayView after);

private:
    StoreConnection &m_connection;
};

} // namespace kvdesk
