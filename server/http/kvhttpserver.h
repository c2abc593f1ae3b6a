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

// Whether a server thread should let its core go to another runnable thread before it waits for
// more requests. It should when, since it was last asked, it answered requests at once (reads,
// errors) and none waits for the writer: the clients it answered were just woken, often on this
// core, and when they run first their next requests are there when the thread looks, instead of
// each waking it again (on a machine shared with its clients, p99 of hot-key GETs at 64
// connections 6-7 ms -> 2 ms; see the README). It should not while a write is in flight or was
// just answered: the writer would take the core and commit each write alone.
class YieldAdvice
{
public:
    void answeredAtOnce() { m_answeredAtOnce = true; }
    void deferred() { ++m_deferred; }
    // Gathered reads, answered as the event loop's next turn begins (KvController::endTurn).
    void answeredGathered()
    {
        m_answeredAtOnce = true;
        if (m_deferred > 0)
            --m_deferred;
    }
    void answeredLater()
    {
        m_answeredLater = true;
        if (m_deferred > 0)
            --m_deferred;
    }
    // The advice for now; what was answered before is forgotten.
    bool take()
    {
        const bool yield = m_answeredAtOnce && !m_answeredLater && m_deferred == 0;
        m_answeredAtOnce = m_answeredLater = false;
        return yield;
    }

private:
    int m_deferred = 0; // requests whose answers come later (writes)
    bool m_answeredAtOnce = false;
    bool m_answeredLater = false;
};

// Serves the requests its guard frames: hands each to the router and writes every answer by
// hand, in pipelined order, never to a client that has left; a request waits while more than
// ConnectionGuard::maxUnsentBytes of earlier answers are still to be sent. Owns the guard.
class KvHttpServer final : public QObject
{
    Q_OBJECT

public:
    KvHttpServer(ConnectionGuard &guard, Router &router, AccessLog *accessLog, QObject *parent = nullptr);

    // Asked by the thread's event loop before it waits for events.
    bool shouldYieldBeforeWaiting() { return m_yieldAdvice.take(); }
    // Runs answer, which answers requests this server deferred to the end of an event loop turn.
    template<typename F> void answerGathered(F &&answer)
    {
        m_gathered = true;
        answer();
        m_gathered = false;
    }

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
    YieldAdvice m_yieldAdvice;
    quint64 m_answers = 0; // finished so far
    int m_handling = 0;    // router calls under way (answers within them are answered at once)
    bool m_gathered = false; // within answerGathered()
};

} // namespace kvdesk
