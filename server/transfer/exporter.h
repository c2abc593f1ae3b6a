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

// Writes the live keys below a prefix to a device in one of the dump formats, a page at a time
// (memory stays flat whatever the store's size). Expirations are whole Unix seconds, rounded up.
class Exporter final
{
public:
    Exporter(StoreConnection &connection, DumpFormat format);

    // progress(keys so far) after each page; cancel is checked between pages.
    ExportReport run(QIODevice &output, const QByteArray &prefix,
                     const std::function<void(qint64)> &progress = {},
                     const std::atomic_bool *cancel = nullptr);

    // One record as its format writes it (the separators are the exporter's).
    static QByteArray encode(DumpFormat format, const QByteArray &key, const QByteArray &json,
                             std::optional<qint64> expiresAtMs);
    // The text before the first record, between two, and after the last.
    static QByteArray opening(DumpFormat format);
    static QByteArray separator(DumpFormat format);
    static QByteArray closing(DumpFormat format);

private:
    StoreConnection &m_connection;
    DumpFormat m_format;
};

} // namespace kvdesk
