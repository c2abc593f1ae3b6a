#pragma once

#include "reply.h"
#include "request.h"

#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>

class QTcpSocket;

namespace kvdesk {

class AccessLog;
class ConnectionGuard;
class Router;
struct GuardedConnection;

// Serves the requests its guard frames: hands each to the router and writes every answer by
// hand, in pipelined order, never to a client that has left; a request waits while more than
// ConnectionGuard::maxUnsentBytes of earlier answers are still to be sent. Owns the guard.
class KvHttpServer final : public QObject
{
    Q_OBJECT

public:
    KvHttpServer(ConnectionGuard &guard, Router &router, AccessLog *accessLog, QObject *parent = nullptr);

private:
    void accept(QTcpSocket *socket, GuardedConnection *connection, Request &&request);
    struct Answering
    {
        QByteArray method;
        QByteArray path;
        QString client;
        qint64 startedNs = 0;
        bool head = false;
        bool keepAlive = true;
        int minorVersion = 1;
    };

    void process(QTcpSocket *socket, GuardedConnection *connection, Request &&request);
    void finish(const QPointer<QTcpSocket> &socket, const Answering &answering, const Reply &reply);
    // Writes a streamed body as the client takes it, then carries on as after any answer.
    void pump(const QPointer<QTcpSocket> &socket, std::shared_ptr<std::function<QByteArray()>> stream,
              bool chunked, bool keepAlive);
    void answered(QTcpSocket *socket, GuardedConnection *connection, bool keepAlive);
    // The next waiting request, once the client has taken most of the answers sent before it.
    void processNext(QTcpSocket *socket, GuardedConnection *connection);
    void awaitDrain(QTcpSocket *socket, GuardedConnection *connection);

    ConnectionGuard &m_guard;
    Router &m_router;
    AccessLog *m_accessLog;
};

} // namespace kvdesk
