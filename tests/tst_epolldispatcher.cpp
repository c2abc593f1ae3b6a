// kvdesk's epoll event dispatcher (the server threads'), as the main thread's dispatcher of this
// test: everything here, QTest's own waits included, runs on it. Each behaviour is Qt's contract
// for an event dispatcher, as its UNIX dispatcher keeps it.
#include "util/epolldispatcher.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <memory>
#include <optional>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace kvdesk;
using namespace Qt::StringLiterals;

namespace {

// A connected pair of UNIX stream sockets, closed on destruction.
struct SocketPair
{
    int fds[2] = {-1, -1};
    SocketPair() { ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds); }
    ~SocketPair()
    {
        for (int fd : fds) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    void send(const char *bytes = "x") const
    {
        QCOMPARE(::write(fds[1], bytes, strlen(bytes)), ssize_t(strlen(bytes)));
    }
    void drain() const
    {
        char buffer[256];
        while (::read(fds[0], buffer, sizeof buffer) > 0) {
        }
    }
};

// A descriptor closed while its notifier is still registered (the kernel then drops it from the
// epoll set), and a new pair of sockets that took its number, the lowest free one; nullopt if the
// number went elsewhere.
struct ReusedNumber
{
    int number;
    std::unique_ptr<QSocketNotifier> stale;
    std::unique_ptr<SocketPair> next;
};

std::optional<ReusedNumber> reuseANumber()
{
    SocketPair closing;
    ReusedNumber reused{closing.fds[0], nullptr, nullptr};
    reused.stale = std::make_unique<QSocketNotifier>(reused.number, QSocketNotifier::Read);
    ::close(reused.number); // as careless code might, before its notifier goes
    closing.fds[0] = -1;
    reused.next = std::make_unique<SocketPair>();
    if (reused.next->fds[0] != reused.number)
        return std::nullopt;
    return reused;
}

// Counts its timer events, and can run a nested event loop in the first.
class TimerTarget : public QObject
{
public:
    std::atomic<int> fired{0};
    int depth = 0;
    int deepest = 0;
    int nestFor = 0; // ms of nested event loop in the first event
    std::atomic<QThread *> firedOn{nullptr};

protected:
    void timerEvent(QTimerEvent *) override
    {
        ++fired;
        firedOn = QThread::currentThread();
        deepest = std::max(deepest, ++depth);
        if (fired == 1 && nestFor > 0) {
            QEventLoop nested;
            QTimer::singleShot(nestFor, &nested, &QEventLoop::quit);
            nested.exec();
        }
        --depth;
    }
};

// A thread running its event loop on an EpollEventDispatcher.
class EpollThread : public QThread
{
public:
    EpollThread() { setEventDispatcher(new EpollEventDispatcher); }
    ~EpollThread() override
    {
        quit();
        wait();
    }
};

} // namespace

class TestEpollDispatcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void isTheMainThreadsDispatcher()
    {
        auto *dispatcher = qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
        QVERIFY(dispatcher);
        QVERIFY(dispatcher->isValid());
    }

    // Events posted from other threads wake a loop that waits with nothing else to do (no timer,
    // no socket), each one delivered once and in order.
    void postedEventsFromOtherThreadsWakeTheLoop()
    {
        QEventLoop loop;
        QObject receiver;
        std::vector<int> received;
        static constexpr int count = 2000;
        std::thread poster([&] {
            for (int i = 0; i < count; ++i) {
                QMetaObject::invokeMethod(
                    &receiver,
                    [&received, &loop, i] {
                        received.push_back(i);
                        if (i == count - 1)
                            loop.quit();
                    },
                    Qt::QueuedConnection);
                if (i % 100 == 0) // let the loop fall asleep now and then
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
        QElapsedTimer elapsed;
        elapsed.start();
        QTimer failSafe;
        failSafe.setSingleShot(true);
        connect(&failSafe, &QTimer::timeout, &loop, &QEventLoop::quit);
        failSafe.start(10000);
        loop.exec();
        poster.join();
        QCOMPARE(int(received.size()), count);
        for (int i = 0; i < count; ++i)
            QCOMPARE(received[size_t(i)], i);
        QVERIFY2(elapsed.elapsed() < 5000, qPrintable(QString::number(elapsed.elapsed())));
    }

    // awake() as each turn begins, aboutToBlock() only before the loop may sleep: never while
    // events posted are still waiting to be sent.
    void awakeAndAboutToBlockFrameEachWait()
    {
        auto *dispatcher = QAbstractEventDispatcher::instance();
        QStringList order;
        const auto awake = connect(
            dispatcher, &QAbstractEventDispatcher::awake, this, [&order] { order << u"awake"_s; },
            Qt::DirectConnection);
        const auto block = connect(
            dispatcher, &QAbstractEventDispatcher::aboutToBlock, this, [&order] { order << u"block"_s; },
            Qt::DirectConnection);
        QObject receiver;
        bool ran = false;
        QMetaObject::invokeMethod(
            &receiver, [&] { ran = true; }, Qt::QueuedConnection);
        // Not allowed to wait: posted events are sent, no aboutToBlock().
        QVERIFY(dispatcher->processEvents(QEventLoop::AllEvents) || ran);
        QVERIFY(ran);
        QCOMPARE(order, QStringList{u"awake"_s});
        order.clear();
        // Allowed to wait: aboutToBlock() before the wait, which a timer ends.
        QTimer timer;
        timer.setSingleShot(true);
        timer.start(20);
        QElapsedTimer elapsed;
        elapsed.start();
        while (timer.isActive())
            dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
        QVERIFY(elapsed.elapsed() >= 19);
        QVERIFY(order.size() >= 2);
        QCOMPARE(order.first(), u"awake"_s);
        QCOMPARE(order[1], u"block"_s);
        // A wake-up pending (an event posted by this thread itself) means no aboutToBlock().
        order.clear();
        ran = false;
        QMetaObject::invokeMethod(
            &receiver, [&] { ran = true; }, Qt::QueuedConnection);
        QMetaObject::invokeMethod(
            &receiver,
            [&] {
                QMetaObject::invokeMethod(
                    &receiver, [] {}, Qt::QueuedConnection);
            },
            Qt::QueuedConnection);
        dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
        QVERIFY(ran);
        QVERIFY2(!order.contains(u"block"_s), qPrintable(order.join(u' ')));
        disconnect(awake);
        disconnect(block);
        QCoreApplication::processEvents();
    }

    void singleShotTimersFireOnceAndNotEarly()
    {
        for (const auto type : {Qt::PreciseTimer, Qt::CoarseTimer}) {
            QElapsedTimer elapsed;
            elapsed.start();
            qint64 firedAfter = -1;
            int fired = 0;
            QTimer::singleShot(30, type, this, [&] {
                firedAfter = elapsed.elapsed();
                ++fired;
            });
            QTRY_COMPARE_WITH_TIMEOUT(fired, 1, 5000);
            QVERIFY2(firedAfter >= 29, qPrintable(QString::number(firedAfter)));
            QTest::qWait(60);
            QCOMPARE(fired, 1);
        }
    }

    void repeatingTimersKeepTheirPace()
    {
        QTimer timer;
        timer.setTimerType(Qt::PreciseTimer);
        int fired = 0;
        connect(&timer, &QTimer::timeout, this, [&fired] { ++fired; });
        timer.start(10);
        QElapsedTimer elapsed;
        elapsed.start();
        QTest::qWait(305);
        timer.stop();
        const qint64 ms = elapsed.elapsed();
        // Never more often than its interval; on a busy machine, possibly less often.
        QVERIFY2(fired <= ms / 10 + 1, qPrintable(u"%1 in %2 ms"_s.arg(fired).arg(ms)));
        QVERIFY2(fired >= 10, qPrintable(u"%1 in %2 ms"_s.arg(fired).arg(ms)));
        const int stopped = fired;
        QTest::qWait(50);
        QCOMPARE(fired, stopped);
    }

    void remainingTimeAndRegisteredTimers()
    {
        auto *dispatcher = QAbstractEventDispatcher::instance();
        QObject owner;
        const int id = owner.startTimer(500);
        const int veryCoarse = owner.startTimer(1200, Qt::VeryCoarseTimer);
        QVERIFY(id > 0);
        const int left = dispatcher->remainingTime(id);
        QVERIFY2(left > 400 && left <= 500, qPrintable(QString::number(left)));
        const auto timers = dispatcher->registeredTimers(&owner);
        QCOMPARE(timers.size(), 2);
        QCOMPARE(timers[0].timerId, id);
        QCOMPARE(timers[0].interval, 500);
        QCOMPARE(timers[0].timerType, Qt::CoarseTimer);
        QCOMPARE(timers[1].interval, 1000); // to the second
        QCOMPARE(dispatcher->remainingTime(-5), -1);
        owner.killTimer(id);
        QCOMPARE(dispatcher->remainingTime(id), -1);
        QCOMPARE(dispatcher->registeredTimers(&owner).size(), 1);
        QVERIFY(dispatcher->unregisterTimers(&owner));
        QVERIFY(dispatcher->registeredTimers(&owner).isEmpty());
        QVERIFY(!dispatcher->unregisterTimers(&owner));
        Q_UNUSED(veryCoarse);
    }

    // A zero-interval timer runs at every turn, and neither starves the sockets nor is starved.
    void zeroIntervalTimersRunEveryTurn()
    {
        SocketPair pair;
        QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
        int reads = 0;
        connect(&notifier, &QSocketNotifier::activated, this, [&] {
            pair.drain();
            ++reads;
        });
        QTimer idle;
        int turns = 0;
        connect(&idle, &QTimer::timeout, this, [&] {
            if (++turns % 10 == 0)
                pair.send();
        });
        idle.start(0);
        QTRY_VERIFY_WITH_TIMEOUT(reads >= 20, 5000);
        QVERIFY(turns >= 200);
    }

    // Two timers due together: what the first one's handler does to the second holds.
    void aTimerStoppedByAnotherDueAtOnceDoesNotFire()
    {
        QTimer first, second;
        for (QTimer *timer : {&first, &second}) {
            timer->setSingleShot(true);
            timer->setTimerType(Qt::PreciseTimer);
        }
        int firstFired = 0, secondFired = 0;
        connect(&first, &QTimer::timeout, this, [&] {
            ++firstFired;
            second.stop();
        });
        connect(&second, &QTimer::timeout, this, [&] {
            ++secondFired;
            first.stop();
        });
        first.start(20);
        second.start(20);
        QThread::msleep(40); // both are due before the loop looks
        QTest::qWait(60);
        QCOMPARE(firstFired + secondFired, 1);
    }

    // A handler that runs a nested event loop is not entered again meanwhile (as with Qt's).
    void aTimerIsNotReenteredFromANestedLoop()
    {
        TimerTarget target;
        target.nestFor = 80;
        const int id = target.startTimer(5, Qt::PreciseTimer);
        QTRY_VERIFY_WITH_TIMEOUT(target.fired >= 3, 5000);
        target.killTimer(id);
        QCOMPARE(target.deepest, 1);
    }

    // Timers go with their object to another thread (Qt moves them through registeredTimers()),
    // and fire there.
    void timersMoveWithTheirObject()
    {
        EpollThread thread;
        thread.start();
        auto *target = new TimerTarget;
        target->startTimer(5);
        target->moveToThread(&thread);
        QTRY_VERIFY_WITH_TIMEOUT(target->fired >= 3, 5000);
        QCOMPARE(target->firedOn.load(), &thread);
        QVERIFY(qobject_cast<EpollEventDispatcher *>(thread.eventDispatcher()));
        target->deleteLater(); // on its thread, before the thread ends
    }

    // Level-triggered, as with poll(): a notifier whose data is left unread is activated again at
    // the next turn; disabled, it is not; enabled again, it is.
    void readNotifiersAreLevelTriggered()
    {
        SocketPair pair;
        QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
        int activations = 0;
        connect(&notifier, &QSocketNotifier::activated, this, [&] { ++activations; });
        QCoreApplication::processEvents();
        QCOMPARE(activations, 0);
        pair.send(); // readable at once: a UNIX socket's write is delivered as it returns
        QCoreApplication::processEvents();
        QCOMPARE(activations, 1);
        QCoreApplication::processEvents();
        QCOMPARE(activations, 2);
        notifier.setEnabled(false);
        QTest::qWait(20);
        QCOMPARE(activations, 2);
        notifier.setEnabled(true);
        QCoreApplication::processEvents();
        QCOMPARE(activations, 3);
        pair.drain();
        QTest::qWait(20);
        QCOMPARE(activations, 3);
    }

    // A read and a write notifier on one descriptor are watched and dropped independently; a
    // peer's hang-up wakes the read notifier.
    void readAndWriteNotifiersShareADescriptor()
    {
        SocketPair pair;
        QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
        QSocketNotifier writer(pair.fds[0], QSocketNotifier::Write);
        int reads = 0, writes = 0;
        connect(&reader, &QSocketNotifier::activated, this, [&] { ++reads; });
        connect(&writer, &QSocketNotifier::activated, this, [&] { ++writes; });
        QCoreApplication::processEvents();
        QCOMPARE(writes, 1); // writable at once
        QCOMPARE(reads, 0);
        writer.setEnabled(false);
        QCoreApplication::processEvents();
        QCOMPARE(writes, 1);
        ::close(pair.fds[1]);
        pair.fds[1] = -1;
        QTRY_VERIFY_WITH_TIMEOUT(reads >= 1, 5000);
        QCOMPARE(writes, 1);
    }

    // Notifiers ready in the same turn: one deleted by another's handler is not activated (under
    // the sanitizers, activating it would be a use after free).
    void aNotifierDeletedByAnotherIsNotActivated()
    {
        SocketPair a, b;
        auto *first = new QSocketNotifier(a.fds[0], QSocketNotifier::Read);
        auto *second = new QSocketNotifier(b.fds[0], QSocketNotifier::Read);
        QPointer<QSocketNotifier> pointers[2] = {first, second};
        int activations = 0;
        for (int i = 0; i < 2; ++i) {
            connect(pointers[i], &QSocketNotifier::activated, this, [&, i] {
                ++activations;
                delete pointers[1 - i].data();
            });
        }
        a.send();
        b.send();
        QCoreApplication::processEvents();
        QCOMPARE(activations, 1);
        QCoreApplication::processEvents();
        QCOMPARE(activations, 2); // the survivor, again: its data is still unread
        delete pointers[0].data();
        delete pointers[1].data();
    }

    // A handler that runs a nested event loop: the loop it interrupted carries on with what was
    // ready when it woke, each notifier activated once.
    void aNestedLoopInAHandlerLeavesTheOuterTurnWhole()
    {
        auto *dispatcher = QAbstractEventDispatcher::instance();
        SocketPair a, b, c, d;
        QSocketNotifier na(a.fds[0], QSocketNotifier::Read), nb(b.fds[0], QSocketNotifier::Read),
            nc(c.fds[0], QSocketNotifier::Read), nd(d.fds[0], QSocketNotifier::Read);
        int counts[4] = {};
        const SocketPair *pairs[4] = {&a, &b, &c, &d};
        QSocketNotifier *notifiers[4] = {&na, &nb, &nc, &nd};
        for (int i = 0; i < 4; ++i) {
            connect(notifiers[i], &QSocketNotifier::activated, this, [&, i] {
                pairs[i]->drain();
                ++counts[i];
                if (i == 0 && counts[0] == 1) { // a's handler: c and d become ready, and a nested turn
                    c.send();
                    d.send();
                    dispatcher->processEvents(QEventLoop::AllEvents);
                }
            });
        }
        a.send(); // ready before b: first in epoll's list
        b.send();
        dispatcher->processEvents(QEventLoop::AllEvents);
        QCOMPARE(counts[0], 1);
        QCOMPARE(counts[1], 1); // the outer turn's second, whatever the nested turn saw
        QCOMPARE(counts[2], 1);
        QCOMPARE(counts[3], 1);
    }

    // A notifier on a socket that took the number of a closed one whose notifier is still
    // registered: watched anew, whether of another type than the stale one...
    void aDescriptorNumberReusedIsWatchedAnew()
    {
        auto reused = reuseANumber();
        if (!reused)
            QSKIP("the descriptor's number was not reused");
        QSocketNotifier writer(reused->number, QSocketNotifier::Write);
        int writable = 0;
        connect(&writer, &QSocketNotifier::activated, this, [&] { ++writable; });
        QCoreApplication::processEvents();
        QCOMPARE(writable, 1);
        reused->stale.reset();
        QCoreApplication::processEvents();
        QCOMPARE(writable, 2);
    }

    // ...or of the same type, taking the stale one's place.
    void aDescriptorNumberReusedUnderAStaleNotifierIsWatchedAnew()
    {
        auto reused = reuseANumber();
        if (!reused)
            QSKIP("the descriptor's number was not reused");
        QSocketNotifier reader(reused->number, QSocketNotifier::Read);
        int reads = 0;
        connect(&reader, &QSocketNotifier::activated, this, [&] {
            reused->next->drain();
            ++reads;
        });
        reused->stale.reset(); // not the one registered any more: changes nothing
        reused->next->send();
        QCoreApplication::processEvents();
        QCOMPARE(reads, 1);
    }

    // processEvents(ExcludeSocketNotifiers) leaves ready sockets for a later turn, and does not
    // spin on them while it waits.
    void excludedSocketsWaitForALaterTurn()
    {
        auto *dispatcher = QAbstractEventDispatcher::instance();
        SocketPair pair;
        QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
        int activations = 0;
        connect(&notifier, &QSocketNotifier::activated, this, [&] { ++activations; });
        pair.send();
        QTimer timer;
        timer.setSingleShot(true);
        timer.start(30);
        int turns = 0;
        while (timer.isActive() && turns < 1000) {
            dispatcher->processEvents(QEventLoop::ExcludeSocketNotifiers | QEventLoop::WaitForMoreEvents);
            ++turns;
        }
        QCOMPARE(activations, 0);
        QVERIFY2(turns < 10, qPrintable(QString::number(turns)));
        dispatcher->processEvents(QEventLoop::AllEvents);
        QCOMPARE(activations, 1);
    }

    // quit() from another thread ends a loop that sleeps with no timer due soon.
    void quitFromAnotherThreadEndsTheLoopAtOnce()
    {
        EpollThread thread;
        thread.start();
        auto context = std::make_unique<QObject>();
        context->moveToThread(&thread);
        std::atomic<bool> running{false};
        QMetaObject::invokeMethod(
            context.get(), [&running] { running = true; }, Qt::QueuedConnection);
        QTRY_VERIFY_WITH_TIMEOUT(running.load(), 5000);
        QThread::msleep(20); // asleep by now
        QElapsedTimer elapsed;
        elapsed.start();
        thread.quit();
        QVERIFY(thread.wait(5000));
        QVERIFY2(elapsed.elapsed() < 1000, qPrintable(QString::number(elapsed.elapsed())));
    }
};

int main(int argc, char **argv)
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestEpollDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolldispatcher.moc"
