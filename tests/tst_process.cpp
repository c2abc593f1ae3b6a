#include "httpclient.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <functional>
#include <optional>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace kvdesk::test;

namespace {

const QList<QPair<QByteArray, QByteArray>> auth = {{"Authorization", "Bearer process-key"}};

// kvdesk --no-gui as a child process on a free port.
class Child
{
public:
    enum class Display { None, Offscreen };

    explicit Child(const QString &dir, const QStringList &extra = {}, bool withKey = true,
                   std::optional<Display> display = std::nullopt, const QString &loggingRules = {},
                   const std::function<void()> &inChild = {})
    {
        if (inChild)
            process.setChildProcessModifier(inChild);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (display) {
            // No --no-gui: the display decides between the window and the headless server.
            for (const auto &name : {u"DISPLAY"_s, u"WAYLAND_DISPLAY"_s, u"QT_QPA_PLATFORM"_s})
                env.remove(name);
            if (*display == Display::Offscreen)
                env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
        }
        env.remove(u"KV_API_KEY"_s);
        env.remove(u"KV_DB"_s);
        if (withKey)
            env.insert(u"KV_API_KEY"_s, u"process-key"_s);
        env.insert(u"HOME"_s, dir);
        env.remove(u"QT_LOGGING_RULES"_s);
        if (!loggingRules.isEmpty())
            env.insert(u"QT_LOGGING_RULES"_s, loggingRules);
        process.setProcessEnvironment(env);
        const QStringList mode = display ? QStringList() : QStringList{u"--no-gui"_s};
        process.start(QStringLiteral(KVDESK_BINARY),
                      mode + QStringList{u"--port"_s, u"0"_s, u"--db"_s, dir + u"/kv.sqlite"_s} + extra);
    }
    ~Child()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished();
        }
    }

    // The port from the banner, or 0.
    quint16 waitForPort()
    {
        const QRegularExpression re(u"listening on http://127\\.0\\.0\\.1:(\\d+)"_s);
        for (int i = 0; i < 100; ++i) {
            output += process.readAllStandardOutput();
            const auto m = re.match(QString::fromUtf8(output));
            if (m.hasMatch())
                return quint16(m.captured(1).toUInt());
            if (!process.waitForReadyRead(100) && process.state() == QProcess::NotRunning)
                break;
        }
        return 0;
    }

    QProcess process;
    QByteArray output;
};

// PUTs /v1/kv/<prefix><i> for each i below count, with the body body(i); whether all got 200.
bool putNumbered(HttpClient &client, const QByteArray &prefix, int count,
                 const std::function<QByteArray(int)> &body)
{
    for (int i = 0; i < count; ++i) {
        if (client.request("PUT", "/v1/kv/" + prefix + QByteArray::number(i), body(i), auth).status != 200)
            return false;
    }
    return true;
}

int runToEnd(const QStringList &args, QByteArray *out, QByteArray *err)
{
    QProcess p;
    p.start(QStringLiteral(KVDESK_BINARY), args);
    p.waitForFinished(10000);
    *out = p.readAllStandardOutput();
    *err = p.readAllStandardError();
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

} // namespace

class TestProcess : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void versionAndHelp()
    {
        QByteArray out, err;
        QCOMPARE(runToEnd({u"--version"_s}, &out, &err), 0);
        QCOMPARE(out.trimmed(), QByteArray("kvdesk " KVDESK_VERSION));
        QCOMPARE(runToEnd({u"--help"_s}, &out, &err), 0);
        for (const char *flag : {"--no-gui", "--host", "--port", "--db", "--config", "--base-path",
                                 "--kv-endpoint", "--admin-endpoint", "--public-endpoint", "KV_API_KEY"})
            QVERIFY2(out.contains(flag), flag);
    }

    void badFlagsAndConfigsExitWithStatus2()
    {
        QTemporaryDir dir;
        QFile bad(dir.filePath(u"bad.json"_s));
        bad.open(QIODevice::WriteOnly);
        bad.write(R"({"endpoints": {"v1": {"kv": 5}}})");
        bad.close();
        const QList<QStringList> cases = {{u"--nope"_s},
                                          {u"--port"_s, u"x"_s},
                                          {u"--config"_s, dir.filePath(u"missing.json"_s)},
                                          {u"--config"_s, bad.fileName()}};
        for (const auto &args : cases) {
            QByteArray out, err;
            QCOMPARE(runToEnd(QStringList{u"--no-gui"_s} + args, &out, &err), 2);
            QCOMPARE(err.count('\n'), 1);
            QVERIFY(err.startsWith("kvdesk: "));
        }
    }

    void portInUseIsAClearError()
    {
        QTemporaryDir dir;
        Child first(dir.path());
        const quint16 port = first.waitForPort();
        QVERIFY(port);
        QByteArray out, err;
        QCOMPARE(runToEnd({u"--no-gui"_s, u"--port"_s, QString::number(port), u"--db"_s,
                           dir.filePath(u"other.sqlite"_s)},
                          &out, &err),
                 1);
        QVERIFY2(err.contains("cannot listen"), err.constData());
    }

    void bannerSaysHowToAuthenticateAndLogsRequests()
    {
        QTemporaryDir dir;
        Child child(dir.path());
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        QVERIFY(child.output.contains("Authorization: Bearer $KV_API_KEY"));
        QVERIFY(!child.output.contains("process-key"));
        HttpClient client(port);
        QCOMPARE(client.request("PUT", "/v1/kv/x", R"({"value":1})", auth).status, 200);
        QTRY_VERIFY((child.output += child.process.readAllStandardOutput()).contains("PUT /v1/kv/x 200 "));
    }

    void withADisplayTheWindowOpensAndServesTheSameApi()
    {
        QTemporaryDir dir;
        Child child(dir.path(), {}, true, Child::Display::Offscreen);
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        HttpClient client(port);
        QCOMPARE(client.request("PUT", "/v1/kv/x", R"({"value":1})", auth).status, 200);
        QCOMPARE(client.request("GET", "/v1/kv/x", {}, auth).status, 200);
        // The request log goes to the window, not to the terminal.
        QTest::qWait(300);
        child.output += child.process.readAllStandardOutput();
        QVERIFY(!child.output.contains("PUT /v1/kv/x"));
        child.process.terminate();
        QVERIFY(child.process.waitForFinished(10000));
        QCOMPARE(child.process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(child.process.exitCode(), 0);
    }

    void theWindowMakesAnApiKeyOnItsFirstLaunch()
    {
        QTemporaryDir dir;
        Child child(dir.path(), {}, false, Child::Display::Offscreen);
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        QTRY_VERIFY((child.output += child.process.readAllStandardOutput())
                        .contains("made for you at this first launch"));
        HttpClient client(port);
        QCOMPARE(client.request("GET", "/v1/kv/x").status, 401);
    }

    void withoutADisplayItRunsHeadless()
    {
        QTemporaryDir dir;
        Child child(dir.path(), {}, true, Child::Display::None);
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        HttpClient client(port);
        QCOMPARE(client.request("GET", "/v1/kv/x", {}, auth).status, 404);
        QTRY_VERIFY((child.output += child.process.readAllStandardOutput()).contains("GET /v1/kv/x 404 "));
    }

    void withoutCredentialsItWarnsLoudlyAndAnswers401()
    {
        QTemporaryDir dir;
        Child child(dir.path(), {}, false);
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        QByteArray err;
        QTRY_VERIFY((err += child.process.readAllStandardError()).contains("NO CREDENTIALS ARE CONFIGURED"));
        HttpClient client(port);
        QCOMPARE(client.request("GET", "/v1/kv/x").status, 401);
        QCOMPARE(client.request("GET", "/health").status, 200);
    }

    void acknowledgedWritesSurviveKillDashNine()
    {
        QTemporaryDir dir;
        {
            Child child(dir.path());
            const quint16 port = child.waitForPort();
            QVERIFY(port);
            HttpClient client(port);
            QVERIFY(putNumbered(client, "d", 300, [](int i) -> QByteArray {
                return "{\"value\":{\"n\":" + QByteArray::number(i) + "}}";
            }));
            QCOMPARE(client.request("DELETE", "/v1/kv/d7", {}, auth).status, 200);
            ::kill(pid_t(child.process.processId()), SIGKILL);
            QVERIFY(child.process.waitForFinished());
            QCOMPARE(child.process.exitStatus(), QProcess::CrashExit);
        }
        Child again(dir.path());
        const quint16 port = again.waitForPort();
        QVERIFY(port);
        HttpClient client(port);
        for (int i = 0; i < 300; ++i) {
            const HttpResponse r = client.request("GET", "/v1/kv/d" + QByteArray::number(i), {}, auth);
            QCOMPARE(r.status, i == 7 ? 404 : 200);
            if (i != 7)
                QCOMPARE(r.json().value(u"data").toObject().value(u"n").toInt(), i);
        }
    }

    void aRestartedServerWarmsItsReadCacheFromTheDatabase()
    {
        QTemporaryDir dir;
        {
            Child child(dir.path());
            const quint16 port = child.waitForPort();
            QVERIFY(port);
            HttpClient client(port);
            QVERIFY(putNumbered(client, "w", 300, [](int i) -> QByteArray {
                return "{\"value\":" + QByteArray::number(i) + "}";
            }));
            child.process.terminate();
            QVERIFY(child.process.waitForFinished(10000));
        }
        // The values are in memory before anyone reads them (the log says how many), and the
        // reads they serve are those of the database.
        Child again(dir.path(), {u"--cache-size"_s, u"1"_s});
        const quint16 port = again.waitForPort();
        QVERIFY(port);
        QByteArray err;
        for (int i = 0; i < 100 && !err.contains("read cache warmed"); ++i) {
            again.process.waitForReadyRead(100);
            err += again.process.readAllStandardError();
        }
        QVERIFY2(err.contains("kvdesk.store: read cache warmed: 300 values"), err.constData());
        HttpClient client(port);
        for (int i = 0; i < 300; ++i) {
            const HttpResponse r = client.request("GET", "/v1/kv/w" + QByteArray::number(i), {}, auth);
            QCOMPARE(r.status, 200);
            QCOMPARE(r.json().value(u"data").toInt(), i);
        }
        // Switched off, there is nothing to warm.
        again.process.terminate();
        QVERIFY(again.process.waitForFinished(10000));
        Child off(dir.path(), {u"--cache-size"_s, u"0"_s});
        QVERIFY(off.waitForPort());
        off.process.terminate();
        QVERIFY(off.process.waitForFinished(10000));
        QVERIFY(!off.process.readAllStandardError().contains("read cache warmed"));
    }

    // An operator's top -H or perf tells the server's threads apart: one per --threads, and the writer.
    void itsThreadsAreNamedForWhatTheyDo()
    {
        QTemporaryDir dir;
        Child child(dir.path(), {u"--threads"_s, u"3"_s});
        QVERIFY(child.waitForPort());
        const QString tasks = u"/proc/%1/task"_s.arg(child.process.processId());
        QStringList names;
        for (const QString &task : QDir(tasks).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            QFile comm(tasks + u'/' + task + u"/comm"_s);
            if (comm.open(QIODevice::ReadOnly))
                names.append(QString::fromUtf8(comm.readAll().trimmed()));
        }
        for (const QString &name :
             {u"kvdesk-http-0"_s, u"kvdesk-http-1"_s, u"kvdesk-http-2"_s, u"kvdesk-write"_s})
            QVERIFY2(names.contains(name), qPrintable(names.join(u", ")));
        QVERIFY(!names.contains(u"kvdesk-http-3"_s));
    }

    // Each connection holds a descriptor, and the soft limit of open files is often below the cap of
    // connections (1,024 by default). kvdesk raises it as far as the hard limit allows; where even
    // that is too low, it lowers the cap, so that past it clients are refused (503) rather than
    // left unaccepted in the backlog, unanswered, while the server fails to accept at every turn.
    void everyClientIsAnsweredWhateverTheLimitOfOpenFiles_data()
    {
        QTest::addColumn<int>("soft");
        QTest::addColumn<int>("hard");
        QTest::addColumn<int>("answered"); // 404 (the key is missing): the others get 503
        QTest::newRow("soft 256, hard 4096: raised") << 256 << 4096 << 300;
        QTest::newRow("soft and hard 192: the cap lowered") << 192 << 192 << 64;
    }

    void everyClientIsAnsweredWhateverTheLimitOfOpenFiles()
    {
        QFETCH(int, soft);
        QFETCH(int, hard);
        QFETCH(int, answered);
        QTemporaryDir dir;
        Child child(dir.path(), {}, true, std::nullopt, {}, [soft, hard] {
            const rlimit limit{rlim_t(soft), rlim_t(hard)};
            setrlimit(RLIMIT_NOFILE, &limit);
        });
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        QFile limits(u"/proc/%1/limits"_s.arg(child.process.processId()));
        QVERIFY(limits.open(QIODevice::ReadOnly));
        QByteArray line;
        for (const QByteArray &l : limits.readAll().split('\n')) {
            if (l.startsWith("Max open files"))
                line = l;
        }
        const QList<QByteArray> fields = line.simplified().split(' ');
        QVERIFY2(fields.size() >= 5, line.constData());
        QCOMPARE(fields[4].toInt(), hard);
        QCOMPARE(fields[3].toInt(), std::min(hard, 1024 + 128));

        // 300 clients at once, each sending a GET and keeping its connection open.
        constexpr int clients = 300;
        struct Closer
        {
            std::vector<int> fds;
            ~Closer()
            {
                for (int fd : fds)
                    ::close(fd);
            }
        } closer;
        std::vector<int> &fds = closer.fds;
        const QByteArray request =
            "GET /v1/kv/missing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer process-key\r\n\r\n";
        for (int i = 0; i < clients; ++i) {
            const int fd = connectLoopback(port);
            QVERIFY(fd >= 0);
            fds.push_back(fd);
            QCOMPARE(::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL),
                     ssize_t(request.size()));
        }
        const QDeadlineTimer deadline(20000);
        int found = 0, refused = 0;
        for (int fd : fds) {
            const QByteArray head = readHead(fd, deadline);
            found += head.startsWith("HTTP/1.1 404");
            refused += head.startsWith("HTTP/1.1 503");
        }
        for (int fd : fds) // only now: a connection closed would leave its place to another
            ::close(fd);
        fds.clear();
        QVERIFY2(found == answered && refused == clients - answered,
                 qPrintable(u"%1 answered, %2 refused"_s.arg(found).arg(refused)));
        if (answered < clients) {
            child.process.terminate();
            QVERIFY(child.process.waitForFinished(10000));
            const QByteArray err = child.process.readAllStandardError();
            QVERIFY2(err.contains("at most 64 connections at once instead of 1024"), err.constData());
        }
    }

    // Its memory comes from jemalloc, which serves the server threads' hand-offs faster than
    // glibc's allocator (see Performance in the README), unless the build was told not to.
    void itAllocatesWithJemalloc()
    {
#ifndef KVDESK_BINARY_USES_JEMALLOC
        QSKIP("built without jemalloc (-DKVDESK_JEMALLOC=OFF, or a sanitizer build)");
#else
        // jemalloc reads MALLOC_CONF, and with stats_print prints its statistics at exit: only
        // if it is the malloc that the process called.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"MALLOC_CONF"_s, u"stats_print:true"_s);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(KVDESK_BINARY), {u"--version"_s});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("Begin jemalloc statistics"), err.left(500).constData());
#endif
    }

    void debugLinesAppearOnlyWhenAskedFor()
    {
        // Why a request was refused is a debug line of its category: quiet by default, on
        // standard error with QT_LOGGING_RULES, as the README says.
        for (const bool asked : {false, true}) {
            QTemporaryDir dir;
            Child child(dir.path(), {}, true, std::nullopt, asked ? u"kvdesk.*.debug=true"_s : QString());
            const quint16 port = child.waitForPort();
            QVERIFY(port);
            HttpClient client(port);
            client.sendRaw("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n");
            const auto r = client.readResponse();
            QVERIFY(r);
            QCOMPARE(r->status, 400);
            child.process.terminate();
            QVERIFY(child.process.waitForFinished(10000));
            const QByteArray err = child.process.readAllStandardError();
            QCOMPARE(err.contains("kvdesk.http.guard: rejected a request: 400"), asked);
            QVERIFY(err.contains("kvdesk.store: opened")); // information is there either way
        }
    }

    void sigtermShutsDownGracefully()
    {
        QTemporaryDir dir;
        Child child(dir.path());
        const quint16 port = child.waitForPort();
        QVERIFY(port);
        HttpClient idle(port);
        QCOMPARE(idle.request("GET", "/health").status, 200);
        child.process.terminate();
        QVERIFY(child.process.waitForFinished(10000));
        QCOMPARE(child.process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(child.process.exitCode(), 0);
        QVERIFY(idle.waitForClose(2000));
        // The database was closed cleanly: it opens again with its data.
        Child again(dir.path());
        QVERIFY(again.waitForPort());
    }
};

QTEST_GUILESS_MAIN(TestProcess)
#include "tst_process.moc"
