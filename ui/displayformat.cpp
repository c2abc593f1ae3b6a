#include "displayformat.h"

#include <QCoreApplication>
#include <QLocale>

namespace kvdesk::DisplayFormat {

QString formatSize(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

QString formatKeyCount(qint64 count)
{
    return count == 1 ? QCoreApplication::translate("kvdesk::DisplayFormat", "1 key")
                      : QCoreApplication::translate("kvdesk::DisplayFormat", "%1 keys")
                            .arg(QLocale().toString(count));
}

QString formatTtl(qint64 remainingMs)
{
    if (remainingMs <= 0)
        return QCoreApplication::translate("kvdesk::DisplayFormat", "expired");
    const qint64 s = (remainingMs + 999) / 1000;
    if (s < 60)
        return QCoreApplication::translate("kvdesk::DisplayFormat", "%1 s").arg(s);
    if (s < 3600)
        return QCoreApplication::translate("kvdesk::DisplayFormat", "%1 min %2 s")
            .arg(s / 60)
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    if (s < 86400)
        return QCoreApplication::translate("kvdesk::DisplayFormat", "%1 h %2 min")
            .arg(s / 3600)
            .arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    return QCoreApplication::translate("kvdesk::DisplayFormat", "%1 d %2 h")
        .arg(s / 86400)
        .arg((s % 86400) / 3600);
}

} // namespace kvdesk::DisplayFormat
