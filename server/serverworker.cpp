#include "serverworker.h"

#include "i18n/translations.h"

#include "auth/authenticator.h"
#include "config/config.h"
#include "http/accesslog.h"
#include "http/admincontroller.h"
#include "http/connectionguard.h"
#include "http/kvcontroller.h"
#include "http/kvhttpserver.h"
#include "http/publiccontroller.h"
#include "http/router.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/storeerror.h"
#include "store/writebatcher.h"
#include "util/epolldispatcher.h"

#include <QAbstractEventDispatcher>
#include <QElapsedTimer>
#include <QTimer>

#include <unistd.h>

namespace kvdesk {

ServerWorker::ServerWorker(int listenFd, const Config &config, Store &store, WriteBatcher &writer,
                           Authenticator &authenticator, AccessLog &accessLog,
                           std::shared_ptr<std::atomic<int>> openConnections, QObject *parent)
    : QThread(parent), m_listenFd(listenFd), m_config(config), m_store(store), m_writer(writer),
      m_authenticator(authenticator), m_accessLog(accessLog), m_openConnections(std::move(openConnections))
{
    // epoll rather than Qt's poll() of every connection at each turn (see EpollEventDispatcher);
    // KVDESK_EVENT_DISPATCHER=qt keeps Qt's (for comparison, or should epoll misbehave).
    if (qgetenv("KVDESK_EVENT_DISPATCHER") == "qt")
        return;
    auto dispatcher = std::make_unique<EpollEventDispatcher>();
    if (dispatcher->isValid())
        setEventDispatcher(dispatcher.release());
}

ServerWorker::~ServerWorker()
{
    if (isRunning()) {
        requestStop(0);
        wait();
    }
}

QString ServerWorker::waitUntilStarted()
{
    return m_started.get_future().get();
}

void ServerWorker::run()
{
    Translations::keepThisThreadInEnglish(); // what the API sends does not follow the desktop's language
    std::unique_ptr<StoreConnection> connection;
    try {
        connection = m_store.connect();
    } catch (const StoreError &e) {
        ::close(m_listenFd);
        m_started.set_value(e.message());
        return;
    }
    QObject context;
    // Write results come back to this thread through the channel, which is closed before the
    // objects they would touch are gone.
    auto channel = std::make_shared<ReplyChannel>(&context);
    struct CloseOnExit
    {
        std::shared_ptr<ReplyChannel> channel;
        ~CloseOnExit() { channel->close(); }
    } closeOnExit{channel};
    KvController kv(*connection, m_writer, channel, m_store.clock(), m_config.maxValueBytes);
    AdminController admin(m_config, m_store, *connection, m_authenticator);
    PublicController publicController(m_config.endpoints);
    Router router(m_config.endpoints, m_authenticator, kv, admin, publicController);

    ConnectionGuard::Options options;
    // The body holds the value plus the envelope around it ({"value": ..., "ttl": ...}).
    options.limits.maxBodyBytes = m_config.maxValueBytes + 64 * 1024;
    options.requestTimeoutMs = m_config.requestTimeoutMs;
    options.idleTimeoutMs = m_config.idleTimeoutMs;
    options.maxConnections = m_config.maxConnections;
    options.openConnections = m_openConnections;
    auto *guard = new ConnectionGuard(options, &m_accessLog);
    if (!guard->setSocketDescriptor(m_listenFd)) {
        const QString error = guard->errorString();
        delete guard;
        ::close(m_listenFd);
        m_started.set_value(error.isEmpty() ? QStringLiteral("cannot listen") : error);
        return;
    }
    // The server becomes the guard's parent.
    KvHttpServer server(*guard, router, &m_accessLog);
    // Reads share a snapshot until something commits; letting go of it now and then allows the
    // WAL to be reset even when no write comes.
    QTimer snapshotRelease;
    QObject::connect(&snapshotRelease, &QTimer::timeout, &context,
                     [&connection] { connection->releaseSnapshot(); });
    snapshotRelease.start(100);
    // And at once when the writer wants to start the log anew.
    QObject::connect(&m_store, &Store::snapshotsReleaseRequested, &context,
                     [&connection] { connection->releaseSnapshot(); });
    // The reads of a turn of the event loop are answered as the next one begins, or before the
    // thread waits (see KvController): kvdesk's epoll dispatcher and Qt's UNIX one signal both at
    // every turn.
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
    m_dispatcherName = dispatcher->metaObject()->className();
    if (qobject_cast<EpollEventDispatcher *>(dispatcher) || dispatcher->inherits("QEventDispatcherUNIX")) {
        kv.setTurnsEndedByOwner(true);
        const auto endTurn = [&kv, &server] {
            if (kv.hasGatheredReads())
                server.answerGathered([&kv] { kv.endTurn(); });
        };
        QObject::connect(dispatcher, &QAbstractEventDispatcher::awake, &server, endTurn,
                         Qt::DirectConnection);
        QObject::connect(dispatcher, &QAbstractEventDispatcher::aboutToBlock, &server, endTurn,
                         Qt::DirectConnection);
    }
    // Before the thread sleeps, the clients it just answered may run first (see YieldAdvice).
    // Connected after endTurn above (Qt calls slots in the order they were connected), so that the
    // advice counts the reads answered there.
    QObject::connect(
        dispatcher, &QAbstractEventDispatcher::aboutToBlock, &server,
        [this, &server] {
            if (!server.shouldYieldBeforeWaiting())
                return;
            QThread::yieldCurrentThread();
            m_yields.fetch_add(1, std::memory_order_relaxed);
        },
        Qt::DirectConnection);
    m_guard = guard;
    m_context = &context;
    m_started.set_value(QString());
    exec();
    m_context = nullptr;
    m_guard = nullptr;
}

void ServerWorker::requestStop(int graceMs)
{
    QObject *context = m_context.load();
    if (!context) {
        quit();
        return;
    }
    QMetaObject::invokeMethod(context, [this, graceMs] {
        ConnectionGuard *guard = m_guard.load();
        guard->stopAccepting();
        auto *poll = new QTimer(m_context.load());
        auto elapsed = std::make_shared<QElapsedTimer>();
        elapsed->start();
        auto check = [this, guard, poll, elapsed, graceMs] {
            if (guard->busyConnections() > 0 && elapsed->elapsed() < graceMs)
                return;
            poll->stop();
            guard->closeIdleConnections();
            quit();
        };
        QObject::connect(poll, &QTimer::timeout, poll, check);
        poll->start(10);
        check();
    });
}

} // namespace kvdesk
