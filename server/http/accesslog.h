#pragma once

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QTimer>

#include <cstdio>

namespace kvdesk {

struct AccessLogEntry
{
    qint64 timeMs = 0; // when the answer was sent, ms since the epoch
    QString client;
    QByteArray method;
    QByteArray path; // without the query string, which may carry secrets
    int status = 0;
    double elapsedMs = 0;
};

// The user-visible request log: one line per request, `METHOD PATH STATUS ELAPSEDms` (the
// original's format). Workers record from their threads; entries are delivered in batches on the
// log's own thread (every 50 ms, so that recording never wakes that thread), printed to standard
// output in headless mode and emitted for the window.
class AccessLog final : public QObject
{
    Q_OBJECT

public:
    explicit AccessLog(QObject *parent = nullptr);

    void setOutput(FILE *stream) { m_output = stream; }
    // Thread-safe.
    void record(AccessLogEntry entry);
    // Delivers what is pending now (also done by itself, soon after each record()).
    void flush();

    static QByteArray format(const AccessLogEntry &entry);
    static void appendFormatted(QByteArray &out, const AccessLogEntry &entry);

Q_SIGNALS:
    void recorded(const QList<kvdesk::AccessLogEntry> &entries);

private:
    QMutex m_mutex;
    QList<AccessLogEntry> m_pending;
    FILE *m_output = nullptr;
    QTimer m_timer;
};

} // namespace kvdesk

Q_DECLARE_METATYPE(kvdesk::AccessLogEntry)
