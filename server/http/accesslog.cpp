#include "accesslog.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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
        // Room for as many as came this time, so that recording does not grow the list step by step.
        m_pending.reserve(std::min<qsizetype>(batch.size(), 65536));
    }
    if (batch.isEmpty())
        return;
    if (m_output) {
        QByteArray text;
        text.reserve(batch.size() * 48);
        for (const auto &e : batch) {
            appendFormatted(text, e);
            text += '\n';
        }
        fwrite(text.constData(), 1, size_t(text.size()), m_output);
        fflush(m_output);
    }
    Q_EMIT recorded(batch);
}

QByteArray AccessLog::format(const AccessLogEntry &entry)
{
    QByteArray line;
    appendFormatted(line, entry);
    return line;
}

void AccessLog::appendFormatted(QByteArray &out, const AccessLogEntry &entry)
{
    char numbers[48];
    const int n = snprintf(numbers, sizeof numbers, " %d %lldms", entry.status,
                           static_cast<long long>(std::ceil(entry.elapsedMs)));
    out += entry.method;
    out += ' ';
    out += entry.path;
    out.append(numbers, qsizetype(n));
}

} // namespace kvdesk
