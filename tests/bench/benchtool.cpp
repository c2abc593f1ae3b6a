// Helpers of the benchmark: preloading a database with keys, counting them, and timing a server's
// start.
#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QThread>

#include <cstdio>

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

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() >= 5 && args[1] == QLatin1String("preload"))
        return preload(args[2], args[3].toInt(), args[4].toInt(), args.value(5, QStringLiteral("k")));
    if (args.size() >= 3 && args[1] == QLatin1String("count"))
        return count(args[2]);
    if (args.size() >= 4 && args[1] == QLatin1String("startup"))
        return startup(args.mid(3), quint16(args[2].toUInt()));
    fprintf(
        stderr,
        "usage: benchtool preload DB COUNT VALUE_BYTES [PREFIX] | count DB | startup PORT BINARY ARGS...\n");
    return 2;
}
