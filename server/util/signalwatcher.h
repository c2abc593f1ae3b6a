#pragma once

#include <QObject>

class QSocketNotifier;

namespace kvdesk {

// Turns SIGTERM and SIGINT into a Qt signal delivered on the event loop (self-pipe trick).
class SignalWatcher final : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    void terminationRequested(int signalNumber);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace kvdesk
