#include "exporter.h"

#include "store/storebrowser.h"
#include "store/storeerror.h"

#include <QCoreApplication>

namespace kvdesk {

Exporter::Exporter(StoreConnection &connection, DumpFormat format)
    : m_connection(connection), m_format(format)
{}

QByteArray Exporter::encode(DumpFormat format, const QByteArray &key, const QByteArray &json,
                            std::optional<qint64> expiresAtMs)
{
    const QByteArray expiration =
        expiresAtMs ? ",\"expiration\":" + QByteArray::number((*expiresAtMs + 999) / 1000) : QByteArray();
    switch (format) {
    case DumpFormat::Ndjson:
        return "{\"key\":" + DumpJson::quote(key) + ",\"value\":" + json + expiration + "}";
    case DumpFormat::Wrangler:
        return "{\"key\":" + DumpJson::quote(key) + ",\"value\":" + DumpJson::quote(json) + expiration + "}";
    case DumpFormat::Object:
        return DumpJson::quote(key) + ":" + json;
    }
    return {};
}

QByteArray Exporter::opening(DumpFormat format)
{
    return format == DumpFormat::Wrangler ? "[\n" : format == DumpFormat::Object ? "{\n" : "";
}

QByteArray Exporter::separator(DumpFormat format)
{
    return format == DumpFormat::Ndjson ? "\n" : ",\n";
}

QByteArray Exporter::closing(DumpFormat format)
{
    return format == DumpFormat::Wrangler ? "\n]\n" : format == DumpFormat::Object ? "\n}\n" : "\n";
}

ExportReport Exporter::run(QIODevice &output, const QByteArray &prefix,
                           const std::function<void(qint64)> &progress, const std::atomic_bool *cancel)
{
    ExportReport report;
    StoreBrowser browser(m_connection);
    auto write = [&](const QByteArray &bytes) {
        if (output.write(bytes) != bytes.size()) {
            report.error =
                QCoreApplication::translate("kvdesk::Exporter", "cannot write: %1").arg(output.errorString());
            return false;
        }
        report.bytes += bytes.size();
        return true;
    };
    try {
        if (!write(opening(m_format)))
            return report;
        QByteArray cursor;
        for (;;) {
            if (cancel && cancel->load()) {
                report.cancelled = true;
                return report;
            }
            const QList<StoredEntry> page = browser.entries(prefix, 1000, cursor);
            QByteArray chunk;
            for (const StoredEntry &e : page) {
                if (report.keys > 0 || !chunk.isEmpty())
                    chunk += separator(m_format);
                chunk += encode(m_format, e.key, e.json, e.expiresAtMs);
            }
            if (!chunk.isEmpty() && !write(chunk))
                return report;
            report.keys += page.size();
            if (progress)
                progress(report.keys);
            if (page.size() < 1000)
                break;
            cursor = page.last().key;
        }
        if (m_format != DumpFormat::Ndjson || report.keys > 0)
            write(closing(m_format));
    } catch (const StoreError &e) {
        report.error = e.message();
    }
    return report;
}

} // namespace kvdesk
