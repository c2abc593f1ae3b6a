#include "connectionguard.h"

#include "accesslog.h"
#include "apierror.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpSocket>

#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcGuard, "kvdesk.http.guard", QtInfoMsg)

namespace kvdesk {

namespace {

qint64 nowMs()
{
    return steadyNowNs() / 1000000;
}

constexpr qint64 lingerMs = 2000;
// A socket reads no more from the kernel while it holds this much that the guard has not read,
// and the guard frames this much at a time, so a connection that pauses holds at most one slice
// of requests beyond the limit. (With 64 KiB, 1 MiB bodies took 10-30% more CPU to read.)
constexpr qint64 socketBufferBytes = 256 * 1024;
constexpr qint64 sliceBytes = 16 * 1024;
constexpr int acceptRetryMs = 100;

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
    // Out of descriptors (or memory), accept() fails and QTcpServer stops accepting for good:
    // clients would wait in the backlog forever. Try again a little later, when connections
    // refused or closed meanwhile have given theirs back.
    QObject::connect(this, &QTcpServer::acceptError, this, [this](QAbstractSocket::SocketError) {
        qCWarning(lcGuard).noquote() << "cannot accept a connection:" << errorString() << "(trying again in"
                                     << acceptRetryMs << "ms)";
        QTimer::singleShot(acceptRetryMs, this, [this] {
            if (isListening())
                resumeAccepting();
        });
    });
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

void ConnectionGuard::incomingConnection(qintptr socketDescriptor)
{
    // Counted and checked in one step: the server threads share the count, and two of them
    // checking it at once would both let a connection in past the cap.
    if (m_options.openConnections->fetch_add(1) >= m_options.maxConnections) {
        m_options.openConnections->fetch_sub(1);
        refuse(int(socketDescriptor));
        return;
    }
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        qCWarning(lcGuard) << "cannot adopt a connection:" << socket->errorString();
        ::close(int(socketDescriptor));
        delete socket;
        m_options.openConnections->fetch_sub(1);
        return;
    }
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    socket->setReadBufferSize(socketBufferBytes);
    auto connection = std::make_unique<GuardedConnection>(m_options.limits);
    connection->lastActivityMs = nowMs();
    connection->lastWriteProgressMs = connection->lastActivityMs;
    connection->client = socket->peerAddress().toString();
    GuardedConnection *raw = connection.get();
    m_connections.emplace(socket, std::move(connection));

    // The connection lives as long as its socket, which alone emits readyRead.
    QObject::connect(socket, &QIODevice::readyRead, this, [this, socket, raw] { readRequests(socket, raw); });
    QObject::connect(socket, &QIODevice::bytesWritten, this, [raw] { raw->lastWriteProgressMs = nowMs(); });
    QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
    QObject::connect(socket, &QObject::destroyed, this, &ConnectionGuard::forget);
}

void ConnectionGuard::refuse(int fd)
{
    // Answered and closed at once: QTcpServer accepts every connection waiting in one go, and a
    // flood of them past the cap would otherwise hold a descriptor each until the loop's next turn,
    // enough to run out of them. What the client sent with its connection is read first, since
    // closing on unread bytes resets the connection, and the client might then miss the answer.
    char discarded[4096];
    for (int read = 0; read < 16 && ::recv(fd, discarded, sizeof discarded, MSG_DONTWAIT) > 0; ++read) {
    }
    Reply reply = ApiError(503, tr("Too many open connections")).toReply();
    reply.header("Retry-After", "1");
    const QByteArray answer = reply.serialize(true, false, 1);
    [[maybe_unused]] const auto sent =
        ::send(fd, answer.constData(), size_t(answer.size()), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    qCWarning(lcGuard) << "refused a connection: the cap of" << m_options.maxConnections << "is reached";
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

void ConnectionGuard::readRequests(QTcpSocket *socket, GuardedConnection *conn)
{
    if (conn->closing) {
        // Lingering after an error answer, or closing: what the client still sends is dropped.
        socket->skip(socket->bytesAvailable());
        return;
    }
    if (conn->framer.failed()) {
        // A violation waits behind earlier answers; nothing after it is read.
        socket->skip(socket->bytesAvailable());
        return;
    }
    if (conn->paused)
        return; // the socket keeps what arrives, up to its buffer's size, until resume()
    qint64 available = socket->bytesAvailable();
    if (available <= 0)
        return;
    const qint64 now = nowMs();
    conn->lastActivityMs = now;
    if (conn->requestStartedMs < 0)
        conn->requestStartedMs = now;
    while (available > 0) {
        // Read into a buffer kept for the next time; the framer copies what it keeps.
        m_received.resize(std::min(available, sliceBytes));
        const qint64 received = socket->read(m_received.data(), m_received.size());
        if (received <= 0)
            break;
        frame(socket, conn, QByteArrayView(m_received.constData(), received));
        if (conn->closing)
            return;
        if (conn->framer.failed()) {
            socket->skip(socket->bytesAvailable());
            break;
        }
        if (conn->waiting.size() >= size_t(maxWaitingRequests)) {
            conn->paused = true;
            qCDebug(lcGuard) << "paused reading from" << conn->client << "until its answers catch up";
            break;
        }
        available = socket->bytesAvailable();
    }
    if (!conn->framer.inRequest())
        conn->requestStartedMs = -1;
}

void ConnectionGuard::frame(QTcpSocket *socket, GuardedConnection *conn, QByteArrayView bytes)
{
    // Taken out of the member while the requests are handed over: answering one may write, and
    // must find the list free should anything read again meanwhile.
    QList<HttpFramer::Event> events = std::exchange(m_events, {});
    events.clear();
    conn->framer.feed(bytes, events);
    bool sendContinue = false;
    for (auto &event : events) {
        if (conn->closing)
            break; // an answer closed the connection: nothing after it is served
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
        case HttpFramer::Event::Type::Complete: {
            sendContinue = false;
            if (!conn->reading)
                break;
            Request request = std::move(*conn->reading);
            conn->reading.reset();
            request.body = std::move(event.body);
            if (m_handler)
                m_handler(socket, conn, std::move(request));
            break;
        }
        case HttpFramer::Event::Type::Violation:
            if (!conn->busy && conn->waiting.empty()) {
                reject(socket, conn->reading ? &*conn->reading : nullptr, event.violation.status,
                       event.violation.message);
                break;
            }
            // Earlier requests on this connection are answered first.
            conn->deferredViolation = event.violation;
            break;
        }
    }
    events.clear();
    m_events = std::move(events);
    if (sendContinue && !conn->closing)
        socket->write("HTTP/1.1 100 Continue\r\n\r\n");
}

void ConnectionGuard::resume(QTcpSocket *socket)
{
    GuardedConnection *conn = connectionFor(socket);
    if (!conn || !conn->paused || conn->waiting.size() > size_t(maxWaitingRequests / 2))
        return;
    conn->paused = false;
    readRequests(socket, conn);
    if (conn->paused || conn->closing)
        return;
    // The socket stopped reading from the kernel when its buffer was full; it starts again when
    // its buffer's size is set with room in it.
    socket->setReadBufferSize(0);
    socket->setReadBufferSize(socketBufferBytes);
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
    socket->skip(socket->bytesAvailable());
}

void ConnectionGuard::closeAfterWrite(QTcpSocket *socket)
{
    if (GuardedConnection *conn = connectionFor(socket))
        conn->closing = true;
    socket->disconnectFromHost();
}

void ConnectionGuard::answered(QTcpSocket *socket)
{
    GuardedConnection *conn = connectionFor(socket);
    if (!conn)
        return;
    if (conn->paused && conn->waiting.size() <= size_t(maxWaitingRequests / 2)) {
        // Read on from the event loop, not from inside this answer.
        QMetaObject::invokeMethod(
            this,
            [this, socket = QPointer<QTcpSocket>(socket)] {
                if (socket)
                    resume(socket);
            },
            Qt::QueuedConnection);
    }
    if (!conn->deferredViolation || conn->busy || !conn->waiting.empty())
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
        if (conn->busy || !conn->waiting.empty())
            ++busy;
    }
    return busy;
}

void ConnectionGuard::closeIdleConnections()
{
    for (const auto &[object, conn] : m_connections) {
        auto *socket = static_cast<QTcpSocket *>(object);
        if (!conn->busy && conn->waiting.empty())
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
        if (conn->busy || !conn->waiting.empty())
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
