// Helpers of the benchmark: preloading a database with keys, counting them, timing a server's
// start, timing the read cache's lookups alone, and holding idle connections open.
#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/valuecache.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QThread>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

// preload DB COUNT VALUE_BYTES [PREFIX] (DB: a file, or a postgres:// URL): keys PREFIX0..PREFIX<COUNT-1>
// (PREFIX alone for one key), values a JSON string.
int preload(const QString &path, int count, int valueBytes, const QString &prefix)
{
    kvdesk::Clock clock;
    kvdesk::Store store(kvdesk::StoreOptions::forDatabase(path), clock);
    store.open();
    auto connection = store.connect();
    QSqlDatabase &db = connection->database();
    const QString value = QLatin1Char('"') + QString(valueBytes - 2, QLatin1Char('v')) + QLatin1Char('"');
    const qint64 now = clock.nowMs();
    const int batch = 10000;
    for (int start = 0; start < count; start += batch) {
        db.transaction();
        QSqlQuery q(db);
        q.prepare(
            store.isPostgres()
                ? QStringLiteral(
                      "INSERT INTO wt_kv_key_values (name, value, updated_at, version) VALUES (?, ?, "
                      "?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
                : QStringLiteral("INSERT OR REPLACE INTO wt_kv_key_values (name, value, updated_at, version) "
                                 "VALUES (?, ?, ?, ?)"));
        QVariantList names, values, times, versions;
        for (int i = start; i < std::min(count, start + batch); ++i) {
            names << (count == 1 ? prefix : QString(prefix + QString::number(i)));
            values << value;
            times << now;
            versions << qint64(i + 1);
        }
        q.addBindValue(names);
        q.addBindValue(values);
        q.addBindValue(times);
        q.addBindValue(versions);
        if (!q.execBatch()) {
            fprintf(stderr, "preload: %s\n", qPrintable(q.lastError().text()));
            return 1;
        }
        db.commit();
    }
    return 0;
}

// count DB: the number of keys stored.
int count(const QString &path)
{
    kvdesk::Clock clock;
    kvdesk::Store store(kvdesk::StoreOptions::forDatabase(path), clock);
    store.open();
    auto connection = store.connect();
    printf("%lld\n", static_cast<long long>(connection->countLiveKeys()));
    return 0;
}

// startup BINARY ARGS...: milliseconds from starting the process to its first answered request.
int startup(const QStringList &command, quint16 port)
{
    QElapsedTimer timer;
    QProcess process;
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    timer.start();
    process.start(command.first(), command.mid(1));
    for (;;) {
        QTcpSocket socket;
        socket.connectToHost(QStringLiteral("127.0.0.1"), port);
        if (socket.waitForConnected(50)) {
            socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            if (socket.waitForReadyRead(1000) && socket.readAll().startsWith("HTTP/1.1 200")) {
                printf("%.1f\n", double(timer.nsecsElapsed()) / 1e6);
                process.terminate();
                process.waitForFinished();
                return 0;
            }
        }
        if (timer.elapsed() > 10000 || process.state() == QProcess::NotRunning) {
            fprintf(stderr, "startup: no answer\n");
            return 1;
        }
        QThread::usleep(200);
    }
}

// cachelookups COUNT [GROUP]: nanoseconds per hit of the read cache holding COUNT values of 100
// bytes (keys k0..k<COUNT-1>, filled as the warming fills it), keys drawn at random and written into
// a buffer as a request's path is. Each lookup waits for the one before (as a server thread looked
// keys up one request at a time), so that what memory latency costs shows whole; with GROUP, GROUP
// keys at a time in one getAll (as a server thread looks up the reads of an event loop turn), each
// group waiting for the one before.
int cacheLookups(int count, int group)
{
    kvdesk::ValueCache cache(qint64(512) << 20);
    const QByteArray json = '"' + QByteArray(98, 'v') + '"';
    const QByteArray etag = "\"1-2\"";
    const kvdesk::ValueCache::Tickets tickets = cache.tickets();
    char key[16];
    for (int i = count - 1; i >= 0; --i) {
        const int size = snprintf(key, sizeof key, "k%d", i);
        cache.fill(QByteArrayView(key, size), {json, 1, std::nullopt, etag}, tickets);
    }
    std::mt19937 random(12345);
    const int lookups = 2000000 / group * group;
    std::vector<std::array<char, 16>> keys(static_cast<size_t>(group));
    std::vector<QByteArrayView> views(static_cast<size_t>(group));
    double best = 0;
    for (int round = 0; round < 3; ++round) {
        size_t previous = 0;
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < lookups; i += group) {
            // previous is 0, but only the answers say so: the next keys wait for them.
            for (int k = 0; k < group; ++k) {
                const size_t drawn = (random() + previous) % size_t(count);
                views[k] = QByteArrayView(keys[k].data(), snprintf(keys[k].data(), 16, "k%zu", drawn));
            }
            std::vector<std::optional<kvdesk::StoredValue>> hits;
            if (group == 1)
                hits.push_back(cache.get(views[0], 0));
            else
                hits = cache.getAll(views, 0);
            previous = 0;
            for (int k = 0; k < group; ++k) {
                const std::optional<kvdesk::StoredValue> &hit = hits[k];
                if (!hit) {
                    fprintf(stderr, "cachelookups: %s missed\n", views[k].toByteArray().constData());
                    return 1;
                }
                previous += size_t(hit->json.size()) - size_t(json.size()) + size_t(hit->json.back() != '"');
            }
        }
        const double ns =
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
            lookups;
        best = round == 0 ? ns : std::min(best, ns);
    }
    printf("%.0f\n", best);
    return 0;
}

// idle PORT COUNT: opens COUNT connections to 127.0.0.1:PORT that send nothing (as the pooled
// connections of clients between requests), prints "COUNT open" once they are, and holds them
// until SIGTERM; then prints how many the server still held open.
int idle(quint16 port, int count)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, nullptr);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
            perror("idle: connect");
            return 1;
        }
        fds.push_back(fd);
        if (i % 25 == 24) // within the listening socket's backlog, as the server accepts them
            QThread::msleep(5);
    }
    printf("%d open\n", count);
    fflush(stdout);
    int signal = 0;
    sigwait(&term, &signal);
    int open = 0;
    for (int fd : fds) {
        pollfd readable = {fd, POLLIN, 0};
        open += ::poll(&readable, 1, 0) == 0; // neither closed nor answered by the server
        ::close(fd);
    }
    printf("%d of %d still open\n", open, count);
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() >= 5 && args[1] == QLatin1String("preload"))
        return preload(args[2], args[3].toInt(), args[4].toInt(), args.value(5, QStringLiteral("k")));
    if (args.size() >= 3 && args[1] == QLatin1String("count"))
        return count(args[2]);
    if (args.size() >= 3 && args[1] == QLatin1String("cachelookups"))
        return cacheLookups(args[2].toInt(), std::max(1, args.value(3, QStringLiteral("1")).toInt()));
    if (args.size() >= 4 && args[1] == QLatin1String("idle"))
        return idle(quint16(args[2].toUInt()), args[3].toInt());
    if (args.size() >= 4 && args[1] == QLatin1String("startup"))
        return startup(args.mid(3), quint16(args[2].toUInt()));
    fprintf(stderr,
            "usage: benchtool preload DB COUNT VALUE_BYTES [PREFIX] | count DB | cachelookups COUNT [GROUP] "
            "| startup PORT BINARY ARGS... | idle PORT COUNT\n");
    return 2;
}
