#pragma once

#include <QAbstractEventDispatcher>

#include <atomic>
#include <sys/epoll.h>
#include <unordered_map>
#include <vector>

namespace kvdesk {

// An event dispatcher for the server threads, on Linux's epoll. Qt 6.4's UNIX dispatcher builds
// a poll() set of every socket notifier at each turn of the loop, and the kernel looks at every
// one of those sockets at each call, and registers the thread on each of them when it sleeps: a
// server thread holding 30 connections paid that at every turn. Here a socket is registered once,
// while its notifiers are enabled, and a turn costs what is ready.
//
// It does what Qt's UNIX dispatcher does, in the same order: awake(), the posted events, then,
// when it may wait, aboutToBlock() before it sleeps; then the sockets that are ready, then the
// timers that are due. Notifiers are level-triggered, as with poll(). Timers keep Qt's contract
// (QTimerEvent to their object, ids from QAbstractEventDispatcher); a coarse timer fires on the
// millisecond, a very coarse one on the second.
class EpollEventDispatcher final : public QAbstractEventDispatcher
{
    Q_OBJECT

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    // False when the kernel refused the epoll instance or the eventfd (then use Qt's dispatcher).
    bool isValid() const { return m_epollFd >= 0 && m_wakeFd >= 0; }

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType, QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

private:
    static constexpr int maxEventsPerTurn = 64; // more wait for the next turn (level-triggered)
    struct Watched
    {
        QSocketNotifier *notifiers[3] = {}; // by QSocketNotifier::Type: Read, Write, Exception
        quint32 events = 0;                 // what epoll watches the descriptor for
    };
    struct Timer
    {
        int id;
        qint64 intervalMs;
        Qt::TimerType type;
        QObject *object;
        qint64 deadlineNs; // steady clock
        bool firing = false;
    };

    void updateWatch(int fd, Watched &watched);
    void markPending(const epoll_event &ready, size_t leftOver);
    int activatePending();
    int activateTimers();
    // Milliseconds until the next timer is due (0 if one is), or -1 with no timer.
    int timeToNextTimer(qint64 nowNs) const;
    void drainWakeUps();
    Timer *findTimer(int timerId);

    int m_epollFd = -1;
    int m_wakeFd = -1;
    std::atomic<bool> m_wokenUp{false}; // a write to m_wakeFd is pending
    std::atomic<bool> m_interrupted{false};
    std::unordered_map<int, Watched> m_watched;
    std::vector<Timer> m_timers;
    std::vector<epoll_event> m_pending; // ready descriptors not yet activated, from m_pendingHead on
    size_t m_pendingHead = 0;
};

} // namespace kvdesk
