#include "kvserver.h"

#include "auth/authenticator.h"
#include "http/accesslog.h"
#include "serverworker.h"
#include "store/cachewarmer.h"
#include "store/clock.h"
#include "store/store.h"
#include "store/storeerror.h"
#include "store/sweeper.h"
#include "store/writebatcher.h"

#include <QCoreApplication>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QThread>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcHttp)

namespace kvdesk {

namespace {

socklen_t fillAddress(const QHostAddress &address, quint16 port, sockaddr_storage *storage)
{
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *a = reinterpret_cast<sockaddr_in6 *>(storage);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        const Q_IPV6ADDR ip = address.toIPv6Address();
        memcpy(&a->sin6_addr, &ip, sizeof ip);
        return sizeof *a;
    }
    auto *a = reinterpret_cast<sockaddr_in *>(storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(address.toIPv4Address());
    return sizeof *a;
}

StoreOptions storeOptions(const Config &config)
{
    StoreOptions options = StoreOptions::forDatabase(config.databasePath);
    options.autoMigrate = config.autoMigrate;
    options.cacheBytes = config.cacheBytes;
    return options;
}

// Descriptors the server holds besides its connections: the databases' files, each thread's
// event descriptors, the listening sockets, the keychain's bus, translations.
constexpr int reservedDescriptors = 128;

// Each connection holds a descriptor, and the soft limit is often 1,024, below the default cap of
// connections plus the server's own files. Out of descriptors, accept() fails, and clients wait in
// the backlog until a connection closes (the guard tries again every 100 ms). So the soft limit is
// raised as far as the hard one allows, and the cap of connections lowered to what the limit
// leaves, so that the guard refuses further clients (503) before that.
int connectionsTheDescriptorsAllow(int maxConnections)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return maxConnections;
    const rlim_t wanted = rlim_t(maxConnections) + reservedDescriptors;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
        const rlim_t raised = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
        if (raised > limit.rlim_cur) {
            rlimit asked = limit;
            asked.rlim_cur = raised;
            if (setrlimit(RLIMIT_NOFILE, &asked) == 0)
                limit = asked;
        }
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted)
        return maxConnections;
    const int allowed = std::max(1, int(limit.rlim_cur) - reservedDescriptors);
    qCWarning(lcHttp).noquote() << "the limit of open files is" << limit.rlim_cur << "(ulimit -n): at most"
                                << allowed << "connections at once instead of" << maxConnections;
    return allowed;
}

} // namespace

KvServer::KvServer(Config config, Clock &clock, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_clock(clock),
      m_store(std::make_unique<Store>(storeOptions(m_config), clock)),
      m_authenticator(std::make_unique<Authenticator>(clock)), m_accessLog(std::make_unique<AccessLog>()),
      m_sweeper(std::make_unique<Sweeper>(*m_store, m_config.sweepIntervalMs))
{
    m_authenticator->setSettings(m_config.auth);
    m_upkeepThread.setObjectName(u"kvdesk-upkeep"_s);
    m_sweeper->moveToThread(&m_upkeepThread);
    m_upkeepThread.start();
}

KvServer::~KvServer()
{
    stop(0);
    // Its connection belongs to its thread: closed there, before the thread ends; the Sweeper
    // itself comes back to be destroyed here.
    QMetaObject::invokeMethod(
        m_sweeper.get(),
        [sweeper = m_sweeper.get(), here = QThread::currentThread()] {
            sweeper->close();
            sweeper->moveToThread(here);
        },
        Qt::BlockingQueuedConnection);
    m_upkeepThread.quit();
    m_upkeepThread.wait();
}

QString KvServer::url() const
{
    const QHostAddress address(m_config.host == "localhost"_L1 ? u"127.0.0.1"_s : m_config.host);
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? u'[' + address.toString() + u']'
                             : address.toString();
    return u"http://%1:%2"_s.arg(host).arg(m_port);
}

quint64 KvServer::yieldsBeforeWaiting() const
{
    quint64 yields = 0;
    for (const auto &worker : m_workers)
        yields += worker->yieldsBeforeWaiting();
    return yields;
}

QString KvServer::eventDispatcherName() const
{
    return m_workers.empty() ? QString() : QString::fromLatin1(m_workers.front()->eventDispatcherName());
}

std::vector<int> KvServer::openListeningSockets()
{
    const QHostAddress address(m_config.host == "localhost"_L1 ? u"127.0.0.1"_s : m_config.host);
    // An unparsable host would otherwise become 0.0.0.0: every interface.
    if (address.isNull())
        throw std::runtime_error(
            tr("cannot listen on \"%1\": not an IP address").arg(m_config.host).toStdString());
    const bool v6 = address.protocol() == QAbstractSocket::IPv6Protocol;
    std::vector<int> fds;
    quint16 port = m_config.port;
    // SO_REUSEPORT would let a second process share a port in use; a plain bind first makes sure
    // nobody holds it (and picks the free port when 0 was asked for).
    {
        const int probe = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_storage storage{};
        socklen_t length = fillAddress(address, port, &storage);
        const int one = 1;
        if (v6)
            setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (probe < 0 || ::bind(probe, reinterpret_cast<sockaddr *>(&storage), length) != 0) {
            const QString reason = QString::fromLocal8Bit(strerror(errno));
            if (probe >= 0)
                ::close(probe);
            throw std::runtime_error(
                tr("cannot listen on %1 port %2: %3").arg(m_config.host).arg(port).arg(reason).toStdString());
        }
        getsockname(probe, reinterpret_cast<sockaddr *>(&storage), &length);
        port = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port
                        : reinterpret_cast<sockaddr_in *>(&storage)->sin_port);
        ::close(probe);
    }
    for (int i = 0; i < m_config.threads; ++i) {
        const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const int one = 1;
        sockaddr_storage storage{};
        const socklen_t length = fillAddress(address, port, &storage);
        if (v6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
            ::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0 || ::listen(fd, 1024) != 0) {
            const QString reason = QString::fromLocal8Bit(strerror(errno));
            if (fd >= 0)
                ::close(fd);
            for (int open : fds)
                ::close(open);
            throw std::runtime_error(
                tr("cannot listen on %1 port %2: %3").arg(m_config.host).arg(port).arg(reason).toStdString());
        }
        fds.push_back(fd);
    }
    m_port = port;
    return fds;
}

void KvServer::setListenAddress(const QString &host, quint16 port)
{
    m_config.host = host;
    m_config.port = port;
}

void KvServer::openStore()
{
    if (m_writer)
        return;
    if (!m_storeOpen) {
        try {
            m_store->open();
        } catch (const StoreError &e) {
            throw std::runtime_error(e.message().toStdString());
        }
        m_storeOpen = true;
    }
    m_writer = std::make_unique<WriteBatcher>(*m_store);
    QMetaObject::invokeMethod(
        m_sweeper.get(),
        [sweeper = m_sweeper.get()] {
            sweeper->sweepNow();
            sweeper->start();
        },
        Qt::QueuedConnection);
    m_warmer = std::make_unique<CacheWarmer>(*m_store);
}

void KvServer::start()
{
    if (isRunning())
        return;
    openStore();
    if (!m_authenticator->settings().anyEnabled()) {
        qCWarning(lcHttp).noquote()
            << "NO CREDENTIALS ARE CONFIGURED: every kv and admin request will be answered 401. Set "
               "KV_API_KEY "
               "(or KV_USERNAME and KV_PASSWORD, KV_JWT_SECRET, KV_JWKS_URL) and restart.";
    }
    m_config.maxConnections = connectionsTheDescriptorsAllow(m_config.maxConnections);
    const std::vector<int> fds = openListeningSockets();
    auto openConnections = std::make_shared<std::atomic<int>>(0);
    QString failure;
    for (int fd : fds) {
        auto worker = std::make_unique<ServerWorker>(fd, m_config, *m_store, *m_writer, *m_authenticator,
                                                     *m_accessLog, openConnections);
        worker->setObjectName(u"kvdesk-http-%1"_s.arg(m_workers.size()));
        worker->start();
        const QString error = worker->waitUntilStarted();
        m_workers.push_back(std::move(worker));
        if (!error.isEmpty()) {
            failure = error;
            break;
        }
    }
    if (!failure.isEmpty()) {
        stopListening(0);
        throw std::runtime_error(tr("cannot start the server: %1").arg(failure).toStdString());
    }
    qCInfo(lcHttp).noquote() << "listening on" << url() << "with" << m_workers.size() << "threads"
                             << "(event dispatcher:" << eventDispatcherName() + u')';
    Q_EMIT runningChanged(true);
}

void KvServer::stop(int graceMs)
{
    stopListening(graceMs);
    if (m_stopping)
        return;
    m_warmer.reset();
    m_writer.reset(); // applies what is still queued
    // Waits for a sweep or checkpoint under way.
    QMetaObject::invokeMethod(m_sweeper.get(), &Sweeper::stop, Qt::BlockingQueuedConnection);
}

void KvServer::stopListening(int graceMs)
{
    if (m_workers.empty() || m_stopping)
        return;
    m_stopping = true;
    for (auto &worker : m_workers)
        worker->requestStop(graceMs);
    for (auto &worker : m_workers) {
        // A request in flight may need this thread to finish (a JWKS fetch runs here): keep its
        // event loop turning while the workers drain.
        while (!worker->wait(10)) {
            if (QThread::currentThread() == thread())
                QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        }
    }
    m_workers.clear();
    m_stopping = false;
    m_accessLog->flush();
    qCInfo(lcHttp) << "stopped";
    Q_EMIT runningChanged(false);
}

} // namespace kvdesk
