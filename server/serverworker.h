#pragma once

#include <QThread>

#include <atomic>
#include <future>
#include <memory>

namespace kvdesk {

class AccessLog;
class ConnectionGuard;
class Authenticator;
class Store;
class WriteBatcher;
struct Config;

// One server thread: its own HTTP server and connection guard, on a listening socket
// shared with the other workers (SO_REUSEPORT), with its own store connection.
class ServerWorker final : public QThread
{
    Q_OBJECT

public:
    ServerWorker(int listenFd, const Config &config, Store &store, WriteBatcher &writer,
                 Authenticator &authenticator, AccessLog &accessLog,
                 std::shared_ptr<std::atomic<int>> openConnections, QObject *parent = nullptr);
    ~ServerWorker() override;

    // Stops accepting, lets the requests in flight finish (up to graceMs), closes the connections
    // and ends the thread.
    void requestStop(int graceMs);

    // Blocks until the worker serves (empty) or failed to start (the reason).
    QString waitUntilStarted();

    // How many times the thread let its core go before it waited for requests (YieldAdvice).
    quint64 yieldsBeforeWaiting() const { return m_yields.load(std::memory_order_relaxed); }
    // The class of the thread's event dispatcher, once started (see the constructor).
    const char *eventDispatcherName() const { return m_dispatcherName; }

protected:
    void run() override;

private:
    int m_listenFd;
    const Config &m_config;
    Store &m_store;
    WriteBatcher &m_writer;
    Authenticator &m_authenticator;
    AccessLog &m_accessLog;
    std::shared_ptr<std::atomic<int>> m_openConnections;
    std::promise<QString> m_started;
    std::atomic<QObject *> m_context{nullptr}; // lives in the worker thread while it serves
    std::atomic<ConnectionGuard *> m_guard{nullptr};
    std::atomic<quint64> m_yields{0};
    const char *m_dispatcherName = ""; // written before m_started is set
};

} // namespace kvdesk
