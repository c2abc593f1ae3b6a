#include "accesslog.h"

#include <cmath>

namespace kvdesk {

AccessLog::AccessLog(QObject *parent) : QObject(parent)
{
    qRegisterMetaType<QList<kvdesk::AccessLogEntry>>();
    m_timer.setInterval(50);
    QObject::connect(&m_timer, &QTimer::timeout, this, &AccessLog::flush);
    m_timer.start();
}

void AccessLog::record(AccessLogEntry entry)
{
    QMutexLocker lock(&m_mutex);
    m_pending.append(std::move(entry));
}

void AccessLog::flush()
{
    QList<AccessLogEntry> batch;
    {
        QMutexLocker lock(&m_mutex);
        batch.swap(m_pending);
    }
    if (batch.isEmpty())
        return;
    if (m_output) {
        QByteArray text;
        for (const auto &e : batch) {
            text += format(e);
            text += '\n';
        }
        fwrite(text.constData(), 1, size_t(text.size()), m_output);
        fflush(m_output);
    }
    Q_EMIT recorded(batch);
}

QByteArray AccessLog::format(const AccessLogEntry &entry)
{
    return entry.method + ' ' + entry.path + ' ' + QByteArray::number(entry.status) + ' ' +
           QByteArray::number(qint64(std::ceil(entry.elapsedMs))) + "ms";
}

} // namespace kvdesk
