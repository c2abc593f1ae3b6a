#include "epolldispatcher.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimerEvent>

#include <cerrno>
#include <chrono>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace kvdesk {

Q_LOGGING_CATEGORY(lcDispatcher, "kvdesk.http.dispatcher", QtInfoMsg)

namespace {

qint64 steadyNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

constexpr qint64 nsPerMs = 1'000'000;

// The readiness that wakes each kind of notifier; as with Qt's UNIX dispatcher, a hang-up or an
// error wakes every notifier of the descriptor.
constexpr quint32 wakesNotifier[3] = {EPOLLIN | EPOLLHUP | EPOLLERR, EPOLLOUT | EPOLLHUP | EPOLLERR,
                                      EPOLLPRI | EPOLLHUP | EPOLLERR};
constexpr quint32 watchedFor[3] = {EPOLLIN, EPOLLOUT, EPOLLPRI};

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent) : QAbstractEventDispatcher(parent)
{
    m_epollFd = ::epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_epollFd < 0 || m_wakeFd < 0) {
        qCWarning(lcDispatcher) << "cannot create an epoll instance:" << qt_error_string(errno);
        return;
    }
    struct epoll_event event = {};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    if (::epoll_ctl(m_epollFd, EPOLL_CTL_ADD, m_wakeFd, &event) != 0) {
        qCWarning(lcDispatcher) << "cannot watch the wake-up descriptor:" << qt_error_string(errno);
        ::close(m_wakeFd);
        m_wakeFd = -1;
    }
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    if (m_wakeFd >= 0)
        ::close(m_wakeFd);
    if (m_epollFd >= 0)
        ::close(m_epollFd);
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_interrupted.store(false, std::memory_order_relaxed);
    Q_EMIT awake();
    QCoreApplication::sendPostedEvents();

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    const bool includeSockets = !(flags & QEventLoop::ExcludeSocketNotifiers);
    // A pending wake-up means events were posted since the ones just sent.
    const bool canWait = (flags & QEventLoop::WaitForMoreEvents) &&
                         !m_interrupted.load(std::memory_order_relaxed) &&
                         !m_wokenUp.load(std::memory_order_acquire);
    if (canWait)
        Q_EMIT aboutToBlock();
    if (m_interrupted.load(std::memory_order_relaxed))
        return false;

    int timeoutMs = 0;
    if (canWait)
        timeoutMs = includeTimers ? timeToNextTimer(steadyNowNs()) : -1;

    int handled = 0;
    if (includeSockets) {
        epoll_event events[maxEventsPerTurn];
        const int ready = ::epoll_wait(m_epollFd, events, maxEventsPerTurn, timeoutMs);
        if (ready < 0 && errno != EINTR)
            qCWarning(lcDispatcher) << "epoll_wait:" << qt_error_string(errno);
        const size_t leftOver = m_pending.size(); // epoll names each descriptor once
        for (int i = 0; i < ready; ++i) {
            if (events[i].data.fd == m_wakeFd) {
                drainWakeUps();
                ++handled;
            } else {
                markPending(events[i], leftOver);
            }
        }
        handled += activatePending();
    } else {
        // Only the wake-up descriptor: the sockets' readiness stays for a later turn.
        struct pollfd wake = {m_wakeFd, POLLIN, 0};
        if (::poll(&wake, 1, timeoutMs) > 0) {
            drainWakeUps();
            ++handled;
        }
    }
    if (includeTimers)
        handled += activateTimers();
    return handled > 0;
}

void EpollEventDispatcher::markPending(const epoll_event &ready, size_t leftOver)
{
    // What the turn that a handler interrupted with a nested loop left: one entry a descriptor.
    for (size_t i = m_pendingHead; i < leftOver; ++i) {
        if (m_pending[i].data.fd == ready.data.fd) {
            m_pending[i].events |= ready.events;
            return;
        }
    }
    m_pending.push_back(ready);
}

int EpollEventDispatcher::activatePending()
{
    // As Qt's UNIX dispatcher does, one queue for every level of nested loops: a handler's nested
    // loop activates what its turn left too, and each notifier once.
    int activated = 0;
    while (m_pendingHead < m_pending.size()) {
        const epoll_event ready = m_pending[m_pendingHead++];
        if (m_pendingHead == m_pending.size()) {
            m_pending.clear();
            m_pendingHead = 0;
        }
        const int fd = ready.data.fd;
        for (int type = 0; type < 3; ++type) {
            if (!(ready.events & wakesNotifier[type]))
                continue;
            // Looked up again each time: what the last notifier ran may have dropped this one.
            const auto it = m_watched.find(fd);
            if (it == m_watched.end())
                break;
            QSocketNotifier *notifier = it->second.notifiers[type];
            if (!notifier)
                continue;
            QEvent event(QEvent::SockAct);
            QCoreApplication::sendEvent(notifier, &event);
            ++activated;
        }
    }
    return activated;
}

void EpollEventDispatcher::drainWakeUps()
{
    quint64 count = 0;
    [[maybe_unused]] const auto n = ::read(m_wakeFd, &count, sizeof count);
    // After the read: a wakeUp() in between finds the flag still set and writes nothing, but the
    // events it announces are sent at the start of the next turn, before any wait.
    m_wokenUp.store(false, std::memory_order_release);
}

void EpollEventDispatcher::wakeUp()
{
    if (m_wokenUp.exchange(true, std::memory_order_acq_rel))
        return;
    const quint64 one = 1;
    [[maybe_unused]] const auto n = ::write(m_wakeFd, &one, sizeof one);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.store(true, std::memory_order_relaxed);
    wakeUp();
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    Watched &watched = m_watched[fd];
    if (watched.notifiers[type] && watched.notifiers[type] != notifier) {
        // Two at once, or the first one's descriptor closed before it went and its number given
        // to a new socket, which the epoll set then no longer holds: registered again either way.
        qCWarning(lcDispatcher) << "a second socket notifier of the same type for descriptor" << fd;
        watched.events = 0;
    }
    watched.notifiers[type] = notifier;
    updateWatch(fd, watched);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const auto it = m_watched.find(fd);
    if (it == m_watched.end())
        return;
    Watched &watched = it->second;
    const int type = int(notifier->type());
    if (watched.notifiers[type] != notifier)
        return;
    watched.notifiers[type] = nullptr;
    updateWatch(fd, watched);
    if (watched.events == 0)
        m_watched.erase(it);
}

void EpollEventDispatcher::updateWatch(int fd, Watched &watched)
{
    quint32 wanted = 0;
    for (int type = 0; type < 3; ++type) {
        if (watched.notifiers[type])
            wanted |= watchedFor[type];
    }
    if (wanted == watched.events)
        return;
    struct epoll_event event = {};
    event.events = wanted;
    event.data.fd = fd;
    int result = 0;
    if (wanted == 0) {
        // The descriptor may be closed already, which removed it from the epoll set.
        ::epoll_ctl(m_epollFd, EPOLL_CTL_DEL, fd, &event);
    } else if (watched.events == 0) {
        result = ::epoll_ctl(m_epollFd, EPOLL_CTL_ADD, fd, &event);
        if (result != 0 && errno == EEXIST)
            result = ::epoll_ctl(m_epollFd, EPOLL_CTL_MOD, fd, &event);
    } else {
        result = ::epoll_ctl(m_epollFd, EPOLL_CTL_MOD, fd, &event);
        if (result != 0 && errno == ENOENT) // closed and opened again under the same number
            result = ::epoll_ctl(m_epollFd, EPOLL_CTL_ADD, fd, &event);
    }
    if (result != 0) {
        qCWarning(lcDispatcher) << "cannot watch descriptor" << fd << qt_error_string(errno);
        wanted = 0;
    }
    watched.events = wanted;
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    if (timerType == Qt::VeryCoarseTimer && interval > 0) // to the second, as Qt's dispatchers do
        interval = std::max<qint64>(1000, (interval + 500) / 1000 * 1000);
    m_timers.push_back({timerId, interval, timerType, object, steadyNowNs() + interval * nsPerMs});
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
        if (it->id == timerId) {
            m_timers.erase(it);
            return true;
        }
    }
    return false;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    return std::erase_if(m_timers, [object](const Timer &timer) { return timer.object == object; }) > 0;
}

QList<QAbstractEventDispatcher::TimerInfo> EpollEventDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> timers;
    for (const Timer &timer : m_timers) {
        if (timer.object == object)
            timers.append(TimerInfo(timer.id, int(timer.intervalMs), timer.type));
    }
    return timers;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const Timer *timer = findTimer(timerId);
    if (!timer)
        return -1;
    const qint64 left = timer->deadlineNs - steadyNowNs();
    return left <= 0 ? 0 : int((left + nsPerMs - 1) / nsPerMs);
}

EpollEventDispatcher::Timer *EpollEventDispatcher::findTimer(int timerId)
{
    for (Timer &timer : m_timers) {
        if (timer.id == timerId)
            return &timer;
    }
    return nullptr;
}

int EpollEventDispatcher::timeToNextTimer(qint64 nowNs) const
{
    qint64 next = -1;
    for (const Timer &timer : m_timers) {
        if (timer.firing) // its handler runs a nested loop: not again until it returns
            continue;
        const qint64 left = std::max<qint64>(0, timer.deadlineNs - nowNs);
        if (next < 0 || left < next)
            next = left;
    }
    if (next < 0)
        return -1;
    // Rounded up, so that the wait does not end just before the timer is due.
    return int(std::min<qint64>((next + nsPerMs - 1) / nsPerMs, std::numeric_limits<int>::max()));
}

int EpollEventDispatcher::activateTimers()
{
    if (m_timers.empty())
        return 0;
    const qint64 now = steadyNowNs();
    QVarLengthArray<int, 16> due;
    for (const Timer &timer : m_timers) {
        if (!timer.firing && timer.deadlineNs <= now)
            due.append(timer.id);
    }
    int activated = 0;
    for (const int id : due) {
        // Looked up again: an earlier timer's handler may have stopped or restarted this one.
        Timer *timer = findTimer(id);
        if (!timer || timer->firing || timer->deadlineNs > now)
            continue;
        const qint64 interval = timer->intervalMs * nsPerMs;
        if (timer->type == Qt::PreciseTimer) {
            timer->deadlineNs += interval; // keeps its phase, unless it fell behind
            if (timer->deadlineNs < now)
                timer->deadlineNs = now + interval;
        } else {
            timer->deadlineNs = now + interval;
        }
        timer->firing = true;
        QObject *object = timer->object;
        QTimerEvent event(id);
        QCoreApplication::sendEvent(object, &event);
        ++activated;
        if ((timer = findTimer(id)))
            timer->firing = false;
    }
    return activated;
}

} // namespace kvdesk
