#include "connectionguard.h"

#include "accesslog.h"
#include "apierror.h"

#include <QAbstractHttpServer>
#include <QDateTime>
#include <QLoggingCategory>
#include <QTcpSocket>

#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcGuard, "kvdesk.http.guard")

namespace kvdesk {

namespace {

qint64 nowMs()
{
    return steadyNowNs() / 1000000;
}

constexpr qint64 lingerMs = 2000;

} // namespace

ConnectionGuard::ConnectionGuard(Options options, AccessLog *accessLog, QObject *parent)
    : QTcpServer(parent), m_options(std::move(options)), m_accessLog(accessLog)
{
    if (!m_options.openConnections)
        m_options.openConnections = std::make_shared<std::atomic<int>>(0);
    const int shortest = std::min(m_options.requestTimeoutMs, m_options.idleTimeoutMs);
    m_timeoutTimer.setInterval(std::clamp(shortest / 4, 10, 1000));
    QObject::connect(&m_timeoutTimer, &QTimer::timeout, this, &ConnectionGuard::checkTimeouts);
    m_timeoutTimer.start();
}

ConnectionGuard::~ConnectionGuard()
{
    // Sockets are children of this guard; forget them before they go.
    for (auto &[socket, connection] : m_connections) {
        QObject::disconnect(socket, nullptr, this, nullptr);
        m_options.openConnections->fetch_sub(1);
    }
    m_connections.clear();
}

void ConnectionGuard::attach(QAbstractHttpServer *server)
{
    m_server = server;
    server->bind(this);
    // Connected after bind(): runs once QHttpServer has connected its own readyRead handler, so
    // the slot connected here runs after QHttpServer's on every readyRead.
    QObject::connect(this, &QTcpServer::newConnection, this, [this] {
        for (const auto &socket : std::as_const(m_justAccepted)) {
            if (socket)
                QObject::connect(socket, &QIODevice::readyRead, this,
                                 [this, s = socket.data()] { afterServer(s); });
        }
        m_justAccepted.clear();
    });
}

void ConnectionGuard::incomingConnection(qintptr socketDescriptor)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        qCWarning(lcGuard) << "cannot adopt a connection:" << socket->errorString();
        ::close(int(socketDescriptor));
        delete socket;
        return;
    }
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    if (m_options.openConnections->load() >= m_options.maxConnections) {
        Reply reply = ApiError(503, tr("Too many open connections")).toReply();
        reply.header("Retry-After", "1");
        socket->write(reply.serialize(true, false, 1));
        QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
        socket->disconnectFromHost();
        qCWarning(lcGuard) << "refused a connection: the cap of" << m_options.maxConnections << "is reached";
        return;
    }
    m_options.openConnections->fetch_add(1);
    auto connection = std::make_unique<GuardedConnection>(m_options.limits);
    connection->lastActivityMs = nowMs();
    connection->lastWriteProgressMs = connection->lastActivityMs;
    connection->client = socket->peerAddress().toString();
    GuardedConnection *raw = connection.get();
    m_connections.emplace(socket, std::move(connection));

    // The connection lives as long as its socket, which alone emits readyRead.
    QObject::connect(socket, &QIODevice::readyRead, this, [this, socket, raw] { readBeforeServer(socket, raw); });
    QObject::connect(socket, &QIODevice::bytesWritten, this, [raw] { raw->lastWriteProgressMs = nowMs(); });
    QObject::connect(socket, &QObject::destroyed, this, &ConnectionGuard::forget);
    m_justAccepted.append(socket);
    addPendingConnection(socket);
}

void ConnectionGuard::forget(QObject *socket)
{
    if (m_connections.erase(socket) > 0)
        m_options.openConnections->fetch_sub(1);
}

GuardedConnection *ConnectionGuard::connectionFor(QTcpSocket *socket) const
{
    const auto it = m_connections.find(socket);
    return it == m_connections.end() ? nullptr : it->second.get();
}

void ConnectionGuard::readBeforeServer(QTcpSocket *socket, GuardedConnection *conn)
{
    if (conn->closing) {
        if (conn->lingerUntilMs >= 0) {
            // Lingering after an error answer: what the client still sends is read and dropped.
            if (socket->isTransactionStarted())
                socket->commitTransaction();
            socket->skip(socket->bytesAvailable());
        }
        return;
    }
    const qint64 available = socket->bytesAvailable();
    const qint64 fresh = available - conn->unreadAfterServer;
    conn->unreadAfterServer = available;
    if (fresh <= 0)
        return;
    const qint64 now = nowMs();
    conn->lastActivityMs = now;
    if (conn->requestStartedMs < 0)
        conn->requestStartedMs = now;

    // Only the bytes not framed yet are looked at, copied into a buffer kept for the next time.
    m_peeked.resize(available);
    socket->peek(m_peeked.data(), available);
    QList<HttpFramer::Event> &events = m_events;
    events.clear();
    conn->framer.feed(QByteArrayView(m_peeked).sliced(available - fresh), events);
    if (m_peeked.capacity() > 64 * 1024)
        m_peeked = QByteArray(); // a large body's bytes are not kept
    bool sendContinue = false;
    for (auto &event : events) {
        switch (event.type) {
        case HttpFramer::Event::Type::Head: {
            Request request;
            request.head = std::move(event.head);
            request.client = conn->client;
            request.startedNs = steadyNowNs();
            sendContinue =
                request.head.expectContinue && (request.head.chunked || request.head.contentLength > 0);
            conn->reading = std::move(request);
            break;
        }
        case HttpFramer::Event::Type::Complete:
            if (conn->reading)
                conn->framed.push_back(std::move(*conn->reading));
            conn->reading.reset();
            sendContinue = false;
            break;
        case HttpFramer::Event::Type::Violation:
            if (conn->framed.empty() && !conn->busy && conn->waiting.empty()) {
                reject(socket, conn->reading ? &*conn->reading : nullptr, event.violation.status,
                       event.violation.message);
                return;
            }
            // Earlier requests on this connection are answered first.
            conn->deferredViolation = event.violation;
            if (conn->framed.empty())
                QObject::disconnect(socket, &QIODevice::readyRead, m_server, nullptr);
            break;
        }
    }
    if (sendContinue)
        socket->write("HTTP/1.1 100 Continue\r\n\r\n");
    if (!conn->framer.inRequest())
        conn->requestStartedMs = -1;
}

void ConnectionGuard::afterServer(QTcpSocket *socket)
{
    if (GuardedConnection *conn = connectionFor(socket))
        conn->unreadAfterServer = socket->bytesAvailable();
}

void ConnectionGuard::reject(QTcpSocket *socket, const Request *request, int status,
                             const QByteArray &message)
{
    GuardedConnection *conn = connectionFor(socket);
    if (conn) {
        if (conn->closing)
            return;
        conn->closing = true;
    }
    QObject::disconnect(socket, &QIODevice::readyRead, m_server, nullptr);
    Reply reply = ApiError(status, QString::fromLatin1(message)).toReply();
    socket->write(reply.serialize(!(request && request->isHead()), false, 1));
    if (m_accessLog) {
        AccessLogEntry entry;
        entry.timeMs = QDateTime::currentMSecsSinceEpoch();
        entry.client = socket->peerAddress().toString();
        entry.method = request ? request->head.method : QByteArray("-");
        entry.path = request ? request->path() : QByteArray("-");
        entry.status = status;
        entry.elapsedMs = request ? double(steadyNowNs() - request->startedNs) / 1e6 : 0.0;
        m_accessLog->record(std::move(entry));
    }
    qCDebug(lcGuard) << "rejected a request:" << status << message;
    if (conn)
        lingeringClose(socket, conn);
    else
        socket->disconnectFromHost();
}

void ConnectionGuard::lingeringClose(QTcpSocket *socket, GuardedConnection *conn)
{
    // Closing at once while the client is still sending would make the kernel reset the
    // connection, and the client could lose the answer. Instead: send it, shut down the write
    // side, drop whatever still arrives, and close when the client does (or after a while).
    conn->lingerUntilMs = nowMs() + std::min<qint64>(lingerMs, m_options.requestTimeoutMs);
    auto shutdownWrite = [socket] {
        if (socket->bytesToWrite() == 0 && socket->state() == QAbstractSocket::ConnectedState)
            ::shutdown(int(socket->socketDescriptor()), SHUT_WR);
    };
    QObject::connect(socket, &QIODevice::bytesWritten, socket, shutdownWrite);
    socket->flush();
    shutdownWrite();
    if (socket->isTransactionStarted())
        socket->commitTransaction();
    socket->skip(socket->bytesAvailable());
}

void ConnectionGuard::closeAfterWrite(QTcpSocket *socket)
{
    if (GuardedConnection *conn = connectionFor(socket))
        conn->closing = true;
    QObject::disconnect(socket, &QIODevice::readyRead, m_server, nullptr);
    socket->disconnectFromHost();
}

void ConnectionGuard::answered(QTcpSocket *socket)
{
    GuardedConnection *conn = connectionFor(socket);
    if (!conn || !conn->deferredViolation || !conn->framed.empty() || conn->busy || !conn->waiting.empty())
        return;
    const auto violation = *conn->deferredViolation;
    conn->deferredViolation.reset();
    reject(socket, conn->reading ? &*conn->reading : nullptr, violation.status, violation.message);
}

void ConnectionGuard::stopAccepting()
{
    close();
}

int ConnectionGuard::busyConnections() const
{
    int busy = 0;
    for (const auto &[socket, conn] : m_connections) {
        if (conn->busy || !conn->waiting.empty() || !conn->framed.empty())
            ++busy;
    }
    return busy;
}

void ConnectionGuard::closeIdleConnections()
{
    for (const auto &[object, conn] : m_connections) {
        auto *socket = static_cast<QTcpSocket *>(object);
        if (!conn->busy && conn->waiting.empty() && conn->framed.empty())
            closeAfterWrite(socket);
    }
}

void ConnectionGuard::checkTimeouts()
{
    const qint64 now = nowMs();
    QList<QTcpSocket *> expired, idle, stalled;
    for (const auto &[object, conn] : m_connections) {
        auto *socket = static_cast<QTcpSocket *>(object);
        if (socket->state() == QAbstractSocket::UnconnectedState) {
            socket->deleteLater();
            continue;
        }
        if (socket->bytesToWrite() > 0 && now - conn->lastWriteProgressMs > m_options.requestTimeoutMs) {
            stalled.append(socket); // the client stopped reading its answers
            continue;
        }
        if (conn->closing) {
            const qint64 deadline = conn->lingerUntilMs >= 0
                                        ? conn->lingerUntilMs
                                        : conn->lastActivityMs + m_options.requestTimeoutMs;
            if (now > deadline)
                stalled.append(socket);
            continue;
        }
        if (conn->busy || !conn->waiting.empty() || !conn->framed.empty())
            continue;
        if (conn->requestStartedMs >= 0 && now - conn->requestStartedMs > m_options.requestTimeoutMs)
            expired.append(socket);
        else if (conn->requestStartedMs < 0 && now - conn->lastActivityMs > m_options.idleTimeoutMs)
            idle.append(socket);
    }
    for (auto *socket : std::as_const(expired)) {
        GuardedConnection *conn = connectionFor(socket);
        reject(socket, conn && conn->reading ? &*conn->reading : nullptr, 408,
               "The request did not arrive in time");
    }
    for (auto *socket : std::as_const(idle))
        closeAfterWrite(socket);
    for (auto *socket : std::as_const(stalled))
        socket->abort();
}

} // namespace kvdesk
