#include "testserver.h"

#include "testdatabase.h"

#include <QTest>

namespace kvdesk::test {

TestServer::TestServer(const std::function<void(Config &)> &tweak)
{
    m_config.host = QStringLiteral("127.0.0.1");
    m_config.port = 0;
    m_config.threads = 1;
    m_config.databasePath = TestDatabase::fresh(m_dir.filePath(QStringLiteral("kv.sqlite")));
    m_config.auth.apiKey = QString::fromLatin1(apiKey);
    if (tweak)
        tweak(m_config);
    // The server threads run kvdesk's epoll dispatcher (ServerWorker). Where a test asks for Qt's
    // (KVDESK_EVENT_DISPATCHER=qt), it is Qt's UNIX one, as kvdesk sets for itself at start-up
    // (launch.cpp), unless the test asks for GLib's (QT_NO_GLIB set empty).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    m_server = std::make_unique<KvServer>(m_config, m_clock);
    m_server->start();
}

TestServer::~TestServer()
{
    m_server->stop(1000);
}

void TestServer::restart()
{
    m_server->stop(1000);
    m_server.reset(); // releases the database's lock
    m_server = std::make_unique<KvServer>(m_config, m_clock);
    m_server->start();
}

} // namespace kvdesk::test
