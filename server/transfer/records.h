#pragma once

#include <QByteArray>
#include <QString>

#include <optional>

namespace kvdesk {

// The dump formats of import and export.
enum class DumpFormat {
    Ndjson,   // one {"key","value","expiration"} per line; value is the JSON value itself
    Wrangler, // [{"key","value","expiration"}] as `wrangler kv bulk put` reads it; value is a string
    Object,   // {"key": value, ...} like the admin API's objects; no TTLs
};

// One key of a dump.
struct DumpRecord
{
    QByteArray key;  // UTF-8
    QByteArray json; // the value's JSON text
    std::optional<qint64> expiresAtMs;
    qint64 line = 0; // where it began in the input (1-based), for reports
};

} // namespace kvdesk
