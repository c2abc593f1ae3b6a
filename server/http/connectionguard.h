#pragma once

#include "httpframer.h"
#include "request.h"

#include "../auth/authenticator.h"

#include <QTcpServer>
#include <QTimer>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

class QTcpSocket;

namespace kvdesk {

class AccessLog;

// The guard's and the server's shared view of one client connection.
struct GuardedConnection
{
    explicit GuardedConnection(HttpFramer::Limits limits) : framer(limits) {}

    HttpFramer framer;
    std::optional<Request> reading;                         // head framed, body still arriving
    std::optional<HttpFramer::Violation> deferredViolation; // answered after the requests before it
    qint64 lastActivityMs = 0;                              // steady clock
    qint64 requestStartedMs = -1;                           // first byte of the request being read, or -1
    qint64 lastWriteProgressMs = 0;
    QString client; // the peer's address
    AuthMemo authMemo;

    // Server side: a request whose answer is being prepared asynchronously holds the connection;
    // later pipelined requests wait so that answers leave in order.
    bool busy = false;
    std::deque<Request> waiting;
    // Answers the client has not taken yet hold the requests after them in waiting; the server
    // carries on when the socket has sent enough of them.
    bool awaitingDrain = false;
    // Enough requests wait: nothing more is read (the kernel's buffers fill, and TCP makes the
    // client wait) until the answers catch up.
    bool paused = false;
    bool closing = false;
    qint64 lingerUntilMs = -1; // after an error answer: input is discarded until then
};

// The listening socket and its connections. It reads what a client sends, frames the requests
// strictly (HttpFramer) and hands each complete one to the server, enforcing on the way body and
// header limits, timeouts for slow or idle clients, a cap on open connections and 100-continue.
// A client that sends requests faster than it takes their answers is read no further until it
// catches up, so that it holds a bounded amount of the server's memory.
class ConnectionGuard final : public QTcpServer
{
    Q_OBJECT

public:
    struct Options
    {
        HttpFramer::Limits limits;
        int requestTimeoutMs = 30000; // a request must arrive completely within this
        int idleTimeoutMs = 30000;    // an idle keep-alive connection is closed after this
        int maxConnections = 1024;    // across every guard sharing openConnections
        std::shared_ptr<std::atomic<int>> openConnections;
    };

    ConnectionGuard(Options options, AccessLog *accessLog, QObject *parent = nullptr);
    ~ConnectionGuard() override;

    // Receives each complete request of a connection, in the order they arrive.
    using RequestHandler = std::function<void(QTcpSocket *, GuardedConnection *, Request &&)>;
    void setRequestHandler(RequestHandler handler) { m_handler = std::move(handler); }

    GuardedConnection *connectionFor(QTcpSocket *socket) const;
    // Answers with an error envelope and closes the connection; nothing more is read from it.
    void reject(QTcpSocket *socket, const Request *request, int status, const QByteArray &message);
    // Closes the connection once everything written has been sent.
    void closeAfterWrite(QTcpSocket *socket);
    // Called by the server after each answer: answers a violation deferred behind it, and reads
    // on when reading had paused.
    void answered(QTcpSocket *socket);

    // Past these a connection's requests are held back (see GuardedConnection).
    static constexpr int maxWaitingRequests = 64;
    static constexpr qint64 maxUnsentBytes = 1 << 20;

    void stopAccepting();
    int busyConnections() const;
    void closeIdleConnections();
    int connectionCount() const { return int(m_connections.size()); }

protected:
    void incomingConnection(qintptr socketDescriptor) override;

private:
    void readRequests(QTcpSocket *socket, GuardedConnection *conn);
    void frame(QTcpSocket *socket, GuardedConnection *conn, QByteArrayView bytes);
    void resume(QTcpSocket *socket);
    void checkTimeouts();
    // Past the cap: a 503 on the accepted descriptor, which is closed at once.
    void refuse(int fd);
    void forget(QObject *socket);
    void lingeringClose(QTcpSocket *socket, GuardedConnection *conn);

    Options m_options;
    AccessLog *m_accessLog;
    RequestHandler m_handler;
    std::unordered_map<QObject *, std::unique_ptr<GuardedConnection>> m_connections;
    QTimer m_timeoutTimer;
    // Kept between reads so that the usual small request allocates nothing.
    QByteArray m_received;
    QList<HttpFramer::Event> m_events;
};

} // namespace kvdesk
