#pragma once

#include "httpclient.h"

#include "config/config.h"
#include "kvserver.h"
#include "store/clock.h"

#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace kvdesk::test {

// A real KvServer on an ephemeral loopback port, with a database in a temporary folder, an API key,
// and a clock the test can move forward.
class TestServer final
{
public:
    static constexpr const char *apiKey = "test-api-key";

    explicit TestServer(const std::function<void(Config &)> &tweak = {});
    ~TestServer();

    KvServer &server() { return *m_server; }
    Clock &clock() { return m_clock; }
    quint16 port() const { return m_server->port(); }
    QString dataDir() const { return m_dir.path(); }
    Config &config() { return m_config; }

    HttpClient client() { return HttpClient(port()); }
    static QByteArray bearer() { return QByteArray("Bearer ") + apiKey; }
    static QList<QPair<QByteArray, QByteArray>> auth() { return {{"Authorization", bearer()}}; }

    // Stops and starts again on the same database (a new port).
    void restart();

private:
    QTemporaryDir m_dir;
    Clock m_clock;
    Config m_config;
    std::unique_ptr<KvServer> m_server;
};

} // namespace kvdesk::test
