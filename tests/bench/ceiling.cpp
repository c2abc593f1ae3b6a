// The benchmark's ceiling: QHttpServer answering every request with a fixed small JSON from
// memory, on one thread or on N threads (one QHttpServer per thread on its own SO_REUSEPORT socket).
#include <QAbstractHttpServer>
#include <QCoreApplication>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QTcpServer>
#include <QThread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace {

class FixedServer final : public QAbstractHttpServer
{
protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        static const QByteArray body = R"({"status":200,"success":true,"data":"hello world"})";
        makeResponder(request, socket).write(body, "application/json; charset=utf-8");
        return true;
    }
    void missingHandler(const QHttpServerRequest &, QTcpSocket *) override {}
};

int listenSocket(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 1024) != 0) {
        perror("ceiling: listen");
        exit(1);
    }
    return fd;
}

class Worker final : public QThread
{
public:
    explicit Worker(int fd) : m_fd(fd) {}

protected:
    void run() override
    {
        auto *tcp = new QTcpServer;
        tcp->setSocketDescriptor(m_fd);
        FixedServer server;
        server.bind(tcp);
        exec();
    }

private:
    int m_fd;
};

} // namespace

int main(int argc, char *argv[])
{
    qputenv("QT_NO_GLIB", "1"); // the event dispatcher kvdesk uses, so that ratios compare like with like
    QCoreApplication app(argc, argv);
    if (argc < 3) {
        fprintf(stderr, "usage: ceiling PORT THREADS\n");
        return 2;
    }
    const auto port = quint16(atoi(argv[1]));
    const int threads = atoi(argv[2]);
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<Worker>(listenSocket(port)));
        workers.back()->start();
    }
    printf("ceiling listening on 127.0.0.1:%u with %d threads\n", port, threads);
    fflush(stdout);
    return app.exec();
}
