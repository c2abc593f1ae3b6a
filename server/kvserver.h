#pragma once

#include "config/config.h"

#include <QObject>
#include <QThread>

#include <memory>
#include <vector>

namespace kvdesk {

class AccessLog;
class Authenticator;
class CacheWarmer;
class Clock;
class ServerWorker;
class Store;
class Sweeper;
class WriteBatcher;

// The whole server: the store, the authenticator, the request log and the worker threads that
// serve HTTP. The desktop window and the headless entry point both drive one of these.
class KvServer final : public QObject
{
    Q_OBJECT

public:
    KvServer(Config config, Clock &clock, QObject *parent = nullptr);
    ~KvServer() override;

    // Opens the store (once) and starts its writer and sweeper, and the warming of its read cache
    // (CacheWarmer), without listening: the desktop
    // window browses and edits the store whether or not HTTP is served. Throws std::runtime_error.
    void openStore();
    // Opens the store when needed and starts listening. Throws std::runtime_error with a one-line reason.
    void start();
    // Stops accepting, lets requests in flight finish (up to graceMs); the store stays open.
    void stopListening(int graceMs = 5000);
    // stopListening(), then applies the writes still queued and stops the writer and sweeper.
    void stop(int graceMs = 5000);
    bool isRunning() const { return !m_workers.empty(); }
    // Where the next start() listens (a running listener is not moved: restart it).
    void setListenAddress(const QString &host, quint16 port);

    quint16 port() const { return m_port; }
    QString url() const;
    const Config &config() const { return m_config; }
    Store &store() { return *m_store; }
    Authenticator &authenticator() { return *m_authenticator; }
    AccessLog &accessLog() { return *m_accessLog; }
    // The group-commit writer, while the store is open (openStore() or start()).
    WriteBatcher *writer() { return m_writer.get(); }
    // How many times the server threads let their cores go before waiting (YieldAdvice), while listening.
    quint64 yieldsBeforeWaiting() const;
    // The class of the server threads' event dispatcher (EpollEventDispatcher unless
    // KVDESK_EVENT_DISPATCHER=qt), while listening; empty otherwise.
    QString eventDispatcherName() const;

Q_SIGNALS:
    void runningChanged(bool running);

private:
    std::vector<int> openListeningSockets();

    Config m_config;
    Clock &m_clock;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<Authenticator> m_authenticator;
    std::unique_ptr<AccessLog> m_accessLog;
    std::unique_ptr<Sweeper> m_sweeper;
    // The Sweeper's: its checkpoints keep a thread busy for tenths of a second under a write load,
    // which would freeze the desktop window's event loop (and this thread's) meanwhile.
    QThread m_upkeepThread;
    std::unique_ptr<WriteBatcher> m_writer;
    std::unique_ptr<CacheWarmer> m_warmer;
    std::vector<std::unique_ptr<ServerWorker>> m_workers;
    quint16 m_port = 0;
    bool m_stopping = false;
    bool m_storeOpen = false;
};

} // namespace kvdesk
