#include "exporter.h"

#include "store/storebrowser.h"
#include "store/storeerror.h"
#include "util/jsontext.h"

#include <QCoreApplication>

namespace kvdesk {

Exporter::Exporter(StoreConnection &connection, DumpFormat format, QByteArray prefix)
    : m_connection(connection), m_format(format), m_prefix(std::move(prefix))
{}

QByteArray Exporter::encode(DumpFormat format, const QByteArray &key, const QByteArray &json,
                            std::optional<qint64> expiresAtMs)
{
    const QByteArray expiration =
        expiresAtMs ? ",\"expiration\":" + QByteArray::number((*expiresAtMs + 999) / 1000) : QByteArray();
    switch (format) {
    case DumpFormat::Ndjson:
        return "{\"key\":" + JsonText::quote(key) + ",\"value\":" + json + expiration + "}";
    case DumpFormat::Wrangler:
        return "{\"key\":" + JsonText::quote(key) + ",\"value\":" + JsonText::quote(json) + expiration + "}";
    case DumpFormat::Object:
        return JsonText::quote(key) + ":" + json;
    }
    return {};
}

static QByteArray opening(DumpFormat format)
{
    return format == DumpFormat::Wrangler ? "[\n" : format == DumpFormat::Object ? "{\n" : "";
}

static QByteArray separator(DumpFormat format)
{
    return format == DumpFormat::Ndjson ? "\n" : ",\n";
}

static QByteArray closing(DumpFormat format)
{
    return format == DumpFormat::Wrangler ? "\n]\n" : format == DumpFormat::Object ? "\n}\n" : "\n";
}

QByteArray Exporter::next()
{
    if (m_done)
        return {};
    QByteArray out;
    if (!m_opened) {
        m_opened = true;
        out += opening(m_format);
    }
    // A browser per page: no statement outlives the call (an HTTP answer may outlive its thread's
    // connection).
    const QList<StoredEntry> page = StoreBrowser(m_connection).entries(m_prefix, pageSize, m_cursor);
    for (const StoredEntry &e : page) {
        if (m_keys++ > 0)
            out += separator(m_format);
        out += encode(m_format, e.key, e.json, e.expiresAtMs);
    }
    if (page.size() < pageSize) {
        m_done = true;
        if (m_format != DumpFormat::Ndjson || m_keys > 0)
            out += closing(m_format);
    } else {
        m_cursor = page.last().key;
    }
    return out;
}

ExportReport Exporter::run(QIODevice &output, const std::function<void(qint64)> &progress,
                           const std::atomic_bool *cancel)
{
    ExportReport report;
    try {
        for (QByteArray piece = next(); !piece.isEmpty(); piece = next()) {
            if (output.write(piece) != piece.size()) {
                report.error = QCoreApplication::translate("kvdesk::Exporter", "cannot write: %1")
                                   .arg(output.errorString());
                break;
            }
            report.bytes += piece.size();
            report.keys = m_keys;
            if (progress)
                progress(m_keys);
            if (cancel && cancel->load() && !m_done) {
                report.cancelled = true;
                break;
            }
        }
    } catch (const StoreError &e) {
        report.error = e.message();
    }
    report.keys = m_keys;
    return report;
}

} // namespace kvdesk
