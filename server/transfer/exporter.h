#pragma once

#include "records.h"

#include <QIODevice>

#include <atomic>
#include <functional>

namespace kvdesk {

class StoreConnection;

struct ExportReport
{
    qint64 keys = 0;
    qint64 bytes = 0;
    bool cancelled = false;
    QString error; // set when writing or reading failed
};

// Writes the live keys below a prefix in one of the dump formats, a page at a time (memory stays
// flat whatever the store's size): pulled piece by piece (an HTTP answer as the client reads) or
// written to a device. Expirations are whole Unix seconds, rounded up.
class Exporter final
{
public:
    Exporter(StoreConnection &connection, DumpFormat format, QByteArray prefix);

    // The next piece of the dump (the opening, a page of keys, the closing), or empty at the end.
    // Throws StoreError.
    QByteArray next();
    qint64 keys() const { return m_keys; }

    // The whole dump to output; progress(keys so far) after each page; cancel is checked between pages.
    ExportReport run(QIODevice &output, const std::function<void(qint64)> &progress = {},
                     const std::atomic_bool *cancel = nullptr);

    // One record as its format writes it (the separators are the exporter's).
    static QByteArray encode(DumpFormat format, const QByteArray &key, const QByteArray &json,
                             std::optional<qint64> expiresAtMs);

private:
    static constexpr int pageSize = 1000;

    StoreConnection &m_connection;
    DumpFormat m_format;
    QByteArray m_prefix;
    QByteArray m_cursor; // the last key written
    qint64 m_keys = 0;
    bool m_opened = false;
    bool m_done = false;
};

} // namespace kvdesk
