#include "kvhttpserver.h"

#include "accesslog.h"
#include "connectionguard.h"
#include "router.h"

#include <QDateTime>
#include <QHttpServerRequest>
#include <QTcpSocket>

namespace kvdesk {

KvHttpServer::KvHttpServer(ConnectionGuard &guard, Router &router, AccessLog *accessLog, QObject *parent)
    : QAbstractHttpServer(parent), m_guard(guard), m_router(router), m_accessLog(accessLog)
{
    guard.attach(this);
}

bool KvHttpServer::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    GuardedConnection *connection = m_guard.connectionFor(socket);
    if (!connection || connection->closing)
        return true;
    if (connection->framed.empty()) {
        // QHttpServer saw a request where the guard did not: never guess, close.
        m_guard.reject(socket, nullptr, 400, "Malformed request");
        return true;
    }
    Request next = std::move(connection->framed.front());
    connection->framed.pop_front();
    next.body = request.body();
    if (connection->framed.empty() && connection->deferredViolation)
        QObject::disconnect(socket, &QIODevice::readyRead, this, nullptr);
    if (connection->busy) {
        connection->waiting.push_back(std::move(next));
        return true;
    }
    process(socket, connection, std::move(next));
    return true;
}

void KvHttpServer::missingHandler(const QHttpServerRequest &, QTcpSocket *)
{
    // handleRequest() answers every request.
}

void KvHttpServer::process(QTcpSocket *socket, GuardedConnection *connection, Request &&request)
{
    connection->busy = true;
    Answering answering{request.head.method,      request.path(),   request.client,
                        request.startedNs,        request.isHead(), request.head.keepAlive,
                        request.head.minorVersion};
    m_router.handle(std::move(request), this,
                    [this, socket = QPointer<QTcpSocket>(socket), answering](Reply reply) {
                        finish(socket, answering, reply);
                    });
}

void KvHttpServer::finish(const QPointer<QTcpSocket> &socket, const Answering &answering, const Reply &reply)
{
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
    connection->busy = false;
    const bool keepAlive = answering.keepAlive && !reply.close;
    if (reply.body.size() < 16 * 1024 || answering.head) {
        socket->write(reply.serialize(!answering.head, keepAlive, answering.minorVersion));
    } else {
        socket->write(
            reply.serializeHead(keepAlive, answering.minorVersion)); // a large body is not copied once more
        socket->write(reply.body);
    }
    socket->flush(); // now, rather than on the next turn of the event loop

    connection->lastActivityMs = steadyNowNs() / 1000000;
    if (!keepAlive) {
        m_guard.closeAfterWrite(socket);
        return;
    }
    m_guard.answered(socket);
    if (!connection->closing && !connection->waiting.empty()) {
        Request next = std::move(connection->waiting.front());
        connection->waiting.pop_front();
        process(socket, connection, std::move(next));
    }
}

} // namespace kvdesk
