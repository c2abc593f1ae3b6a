#include "kvhttpserver.h"

#include "accesslog.h"
#include "connectionguard.h"
#include "router.h"

#include <QDateTime>
#include <QTcpSocket>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace kvdesk {

namespace {

// Sends an answer: straight to the kernel when nothing is queued before it (the usual case: no
// copy into the socket's buffer, no write notifier switched on and off), and whatever the kernel
// did not take through the socket, which sends it as the client reads. The sockets are plain TCP
// (the guard makes them), so writing to the descriptor is what QTcpSocket would do.
void send(QTcpSocket *socket, GuardedConnection *connection, QByteArrayView head, QByteArrayView body)
{
    qint64 sent = 0;
    if (socket->bytesToWrite() == 0 && socket->state() == QAbstractSocket::ConnectedState) {
        iovec parts[2] = {{const_cast<char *>(head.data()), size_t(head.size())},
                          {const_cast<char *>(body.data()), size_t(body.size())}};
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = body.isEmpty() ? 1 : 2;
        ssize_t n = 0;
        do {
            n = ::sendmsg(int(socket->socketDescriptor()), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n > 0) {
            sent = n;
            connection->lastWriteProgressMs = steadyNowNs() / 1000000;
        }
        // On an error the socket is given everything: it meets the error and reports it as usual.
    }
    if (sent == head.size() + body.size())
        return;
    if (sent < head.size()) {
        socket->write(head.data() + sent, head.size() - sent);
        socket->write(body.data(), body.size());
    } else {
        const qint64 offset = sent - head.size();
        socket->write(body.data() + offset, body.size() - offset);
    }
    socket->flush();
}

} // namespace

KvHttpServer::KvHttpServer(ConnectionGuard &guard, Router &router, AccessLog *accessLog, QObject *parent)
    : QObject(parent), m_guard(guard), m_router(router), m_accessLog(accessLog)
{
    guard.setParent(this);
    guard.setRequestHandler([this](QTcpSocket *socket, GuardedConnection *connection, Request &&request) {
        accept(socket, connection, std::move(request));
    });
}

void KvHttpServer::accept(QTcpSocket *socket, GuardedConnection *connection, Request &&request)
{
    if (connection->closing)
        return;
    if (connection->busy || !connection->waiting.empty()) {
        connection->waiting.push_back(std::move(request));
        return;
    }
    if (socket->bytesToWrite() > ConnectionGuard::maxUnsentBytes) {
        connection->waiting.push_back(std::move(request));
        awaitDrain(socket, connection);
        return;
    }
    process(socket, connection, std::move(request));
}

void KvHttpServer::awaitDrain(QTcpSocket *socket, GuardedConnection *connection)
{
    if (connection->awaitingDrain)
        return;
    connection->awaitingDrain = true;
    QObject::connect(socket, &QTcpSocket::bytesWritten, this, [this, socket] {
        GuardedConnection *conn = m_guard.connectionFor(socket);
        if (!conn || socket->bytesToWrite() > ConnectionGuard::maxUnsentBytes / 2)
            return;
        QObject::disconnect(socket, &QTcpSocket::bytesWritten, this, nullptr);
        conn->awaitingDrain = false;
        if (!conn->closing && !conn->busy && !conn->waiting.empty())
            processNext(socket, conn);
    });
}

void KvHttpServer::processNext(QTcpSocket *socket, GuardedConnection *connection)
{
    if (socket->bytesToWrite() > ConnectionGuard::maxUnsentBytes) {
        awaitDrain(socket, connection);
        return;
    }
    Request next = std::move(connection->waiting.front());
    connection->waiting.pop_front();
    process(socket, connection, std::move(next));
}

void KvHttpServer::process(QTcpSocket *socket, GuardedConnection *connection, Request &&request)
{
    connection->busy = true;
    request.authMemo = &connection->authMemo;
    Answering answering{request.head.method,      request.path(),   request.client,
                        request.startedNs,        request.isHead(), request.head.keepAlive,
                        request.head.minorVersion};
    const quint64 answersBefore = m_answers;
    ++m_handling;
    m_router.handle(std::move(request), this,
                    [this, socket = QPointer<QTcpSocket>(socket), answering](Reply reply) {
                        finish(socket, answering, reply);
                    });
    --m_handling;
    // Nothing answered meanwhile (this request, or the ones it let through after it): it waits.
    if (m_answers == answersBefore)
        m_yieldAdvice.deferred();
}

void KvHttpServer::finish(const QPointer<QTcpSocket> &socket, const Answering &answering, const Reply &reply)
{
    ++m_answers;
    if (m_gathered)
        m_yieldAdvice.answeredGathered();
    else if (m_handling > 0)
        m_yieldAdvice.answeredAtOnce();
    else
        m_yieldAdvice.answeredLater();
    if (m_accessLog) {
        AccessLogEntry entry;
        entry.timeMs = QDateTime::currentMSecsSinceEpoch();
        entry.client = answering.client;
        entry.method = answering.method;
        entry.path = answering.path;
        entry.status = reply.status;
        entry.elapsedMs = double(steadyNowNs() - answering.startedNs) / 1e6;
        m_accessLog->record(std::move(entry));
    }
    if (!socket)
        return; // the client left before its answer was ready
    GuardedConnection *connection = m_guard.connectionFor(socket);
    if (!connection || connection->closing)
        return;
    bool keepAlive = answering.keepAlive && !reply.close;
    if (reply.stream && !answering.head && reply.hasBody()) {
        // HTTP/1.0 has no chunks: the body ends with the connection.
        const bool chunked = answering.minorVersion > 0;
        keepAlive = keepAlive && chunked;
        socket->write(reply.serializeHead(keepAlive, answering.minorVersion));
        pump(socket, std::make_shared<std::function<QByteArray()>>(reply.stream), chunked, keepAlive);
        return;
    }
    connection->busy = false;
    if (reply.body.size() < 16 * 1024 || answering.head) {
        send(socket, connection, reply.serialize(!answering.head, keepAlive, answering.minorVersion), {});
    } else {
        // A large body is not copied once more.
        send(socket, connection, reply.serializeHead(keepAlive, answering.minorVersion), reply.body);
    }
    answered(socket, connection, keepAlive);
}

void KvHttpServer::answered(QTcpSocket *socket, GuardedConnection *connection, bool keepAlive)
{
    connection->lastActivityMs = steadyNowNs() / 1000000;
    if (!keepAlive) {
        m_guard.closeAfterWrite(socket);
        return;
    }
    m_guard.answered(socket);
    if (!connection->closing && !connection->waiting.empty())
        processNext(socket, connection);
}

void KvHttpServer::pump(const QPointer<QTcpSocket> &socket,
                        std::shared_ptr<std::function<QByteArray()>> stream, bool chunked, bool keepAlive)
{
    constexpr qint64 highWater = 1 << 20;
    if (!socket)
        return; // the client left: the rest is never produced
    GuardedConnection *connection = m_guard.connectionFor(socket);
    if (!connection || connection->closing)
        return;
    connection->lastActivityMs = steadyNowNs() / 1000000;
    while (socket->bytesToWrite() < highWater) {
        const QByteArray piece = (*stream)();
        if (piece.isEmpty()) {
            QObject::disconnect(socket, &QTcpSocket::bytesWritten, this, nullptr);
            if (chunked)
                socket->write("0\r\n\r\n");
            socket->flush();
            connection->busy = false;
            answered(socket, connection, keepAlive);
            return;
        }
        if (chunked)
            socket->write(QByteArray::number(piece.size(), 16) + "\r\n" + piece + "\r\n");
        else
            socket->write(piece);
    }
    socket->flush();
    // More when the client has taken some of it.
    QObject::disconnect(socket, &QTcpSocket::bytesWritten, this, nullptr);
    QObject::connect(socket, &QTcpSocket::bytesWritten, this, [this, socket, stream, chunked, keepAlive] {
        if (socket && socket->bytesToWrite() < highWater / 2)
            pump(socket, stream, chunked, keepAlive);
    });
}

} // namespace kvdesk
