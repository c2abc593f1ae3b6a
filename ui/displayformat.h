#pragma once

#include <QString>

// How the window writes sizes, counts and times to live.
namespace kvdesk::DisplayFormat {

QString formatSize(qint64 bytes);
// "1 key", "1,234 keys".
QString formatKeyCount(qint64 count);
// "42 s", "3 min 05 s", "2 h 07 min", "3 d 4 h", or "expired".
QString formatTtl(qint64 remainingMs);

} // namespace kvdesk::DisplayFormat
