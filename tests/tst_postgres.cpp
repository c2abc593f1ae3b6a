// PostgreSQL as the store of several nodes: a database made by the original, two kvdesk
// processes on one database (reads after writes, compare-and-set races, writes of the same keys at
// once, sweeps), an import beside them, the server restarting under a write load, and the password
// kept out of every message.
#include "httpclient.h"
#include "testdatabase.h"

#include "store/clock.h"
#include "store/postgresconnection.h"
#include "store/postgresoptions.h"
#include "store/store.h"
#include "store/storeconnection.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <thread>

using namespace Qt::StringLiterals;
using namespace kvdesk;
using namespace kvdesk::test;

namespace {

const QList<QPair<QByteArray, QByteArray>> auth = {{"Authorization", "Bearer node-key"}};

// kvdesk --no-gui on a database, as a separate process: one node.
class Node
{
public:
    explicit Node(const QString &database)
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"KV_API_KEY"_s, u"node-key"_s);
        env.insert(u"QT_MESSAGE_PATTERN"_s, u"%{time process} %{category}: %{message}"_s);
        process.setProcessEnvironment(env);
        process.start(QStringLiteral(KVDESK_BINARY), {u"--no-gui"_s, u"--no-keychain"_s, u"--port"_s, u"0"_s,
                                                      u"--sweep-interval"_s, u"0.2"_s, u"--db"_s, database});
        const QRegularExpression listening(u"listening on http://127\\.0\\.0\\.1:(\\d+)"_s);
        for (int i = 0; i < 100 && !port; ++i) {
            process.waitForReadyRead(100);
            output += process.readAllStandardOutput();
            if (const auto m = listening.match(QString::fromUtf8(output)); m.hasMatch())
                port = quint16(m.captured(1).toUInt());
            if (process.state() == QProcess::NotRunning)
                break;
        }
    }
    ~Node()
    {
        process.terminate();
        if (!process.waitForFinished(5000))
            process.kill();
    }
    QByteArray log()
    {
        QTest::qWait(200); // the process's pipes are read by the event loop
        output += process.readAllStandardOutput();
        errors += process.readAllStandardError();
        return output + errors;
    }

    QProcess process;
    quint16 port = 0;
    QByteArray output;
    QByteArray errors;
};

QString password()
{
    QString error;
    return PostgresOptions::fromUrl(TestDatabase::postgresUrl(), &error)->password;
}

// Runs body on n threads at once (each with its own sockets) and waits for all.
void concurrently(int n, const std::function<void(int)> &body)
{
    std::atomic<int> ready{0};
    QList<QThread *> threads;
    for (int i = 0; i < n; ++i) {
        threads << QThread::create([&, i] {
            ready.fetch_add(1);
            while (ready.load() < n)
                QThread::yieldCurrentThread();
            body(i);
        });
        threads.last()->start();
    }
    for (QThread *t : threads) {
        t->wait();
        delete t;
    }
}

} // namespace

class TestPostgres : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    Clock m_clock;

private Q_SLOTS:
    void initTestCase()
    {
        if (!TestDatabase::isPostgres())
            QSKIP("runs against the private PostgreSQL of ctest (KVDESK_TEST_POSTGRES_URL_FILE)");
    }

    void opensADatabaseMadeByTheOriginal()
    {
        const QString url = TestDatabase::fresh({});
        {
            // The original's schema on PostgreSQL, with its data.
            Store plain(StoreOptions::forDatabase(url), m_clock);
            auto connection = plain.connect();
            QSqlQuery q(connection->database());
            for (
                const char *sql :
                {R"(CREATE TABLE "wt_kv_migrations" ("name" varchar(255) NOT NULL PRIMARY KEY, "timestamp" varchar(255) NOT NULL))",
                 R"(INSERT INTO "wt_kv_migrations" VALUES ('1688823193041_add_initial_tables_and_indexes', '2023-07-08T13:33:13.041Z'))",
                 R"(CREATE TABLE "wt_kv_key_values" ("name" varchar(255) NOT NULL, "value" varchar(255) NOT NULL, "updated_at" bigint NOT NULL))",
                 R"(CREATE UNIQUE INDEX "wt_kv_key_values_name_idx" ON "wt_kv_key_values" ("name"))",
                 R"(INSERT INTO "wt_kv_key_values" VALUES ('config/site', '{"title":"Hello"}', 1700000000000), ('counter', '42', 1700000000001))"})
                QVERIFY2(q.exec(QString::fromUtf8(sql)), qPrintable(q.lastError().text()));
        }
        Store store(StoreOptions::forDatabase(url), m_clock);
        store.open();
        QVERIFY(store.schemaReady());
        auto db = store.connect();
        QCOMPARE(db->get(QByteArrayView("config/site"))->json, QByteArray(R"({"title":"Hello"})"));
        QCOMPARE(db->get(QByteArrayView("config/site"))->etag, QByteArray("\"u1700000000000\""));
        // The original's ETag works for a compare-and-set; values longer than varchar(255) fit now.
        const QByteArray big = '"' + QByteArray(100000, 'x') + '"';
        QCOMPARE(db->put(QByteArrayView("counter"), big, std::nullopt,
                         {Precondition::Kind::IfMatch, {"\"u1700000000001\""}})
                     .outcome,
                 WriteOutcome::Written);
        QCOMPARE(db->get(QByteArrayView("counter"))->json, big);
        const QByteArray longKey(500, 'k');
        QCOMPARE(db->put(longKey, "1", std::nullopt).outcome, WriteOutcome::Written);
        // The original still finds only its own migration, and its columns (now text) not null.
        QSqlQuery q(db->database());
        QVERIFY(q.exec(u"SELECT name FROM wt_kv_migrations"_s) && q.next());
        QCOMPARE(q.value(0).toString(), u"1688823193041_add_initial_tables_and_indexes"_s);
        QVERIFY(!q.next());
        QVERIFY(
            q.exec(u"SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE "
                   "table_schema = current_schema() AND table_name = 'wt_kv_key_values' AND column_name IN "
                   "('name', 'value', 'updated_at') ORDER BY column_name"_s));
        QStringList columns;
        while (q.next())
            columns << q.value(0).toString() + u' ' + q.value(1).toString() + u' ' + q.value(2).toString();
        QCOMPARE(columns, (QStringList{u"name text NO"_s, u"updated_at bigint NO"_s, u"value text NO"_s}));
    }

    void twoNodesServeOneDatabase()
    {
        const QString url = TestDatabase::fresh({});
        Node a(url);
        Node b(url);
        QVERIFY(a.port && b.port);
        HttpClient ca(a.port);
        HttpClient cb(b.port);
        for (int i = 0; i < 20; ++i) {
            const QByteArray key = "/v1/kv/shared/" + QByteArray::number(i);
            const QByteArray body = "{\"value\":" + QByteArray::number(i) + "}";
            QCOMPARE((i % 2 ? ca : cb).request("PUT", key, body, auth).status, 200);
            // Read at once on the other node: never a stale or missing value.
            const HttpResponse read = (i % 2 ? cb : ca).request("GET", key, {}, auth);
            QCOMPARE(read.status, 200);
            QCOMPARE(read.json().value(u"data").toInt(), i);
        }
        // A value both nodes have read, changed on each in turn: never the old one (no node
        // keeps a cache that another node's write could leave stale).
        for (int round = 0; round < 5; ++round) {
            HttpClient &writer = round % 2 ? ca : cb;
            const QByteArray value = "\"round " + QByteArray::number(round) + "\"";
            QCOMPARE(writer.request("PUT", "/v1/kv/shared/0", "{\"value\":" + value + "}", auth).status, 200);
            for (HttpClient *reader : {&ca, &cb})
                QCOMPARE(reader->request("GET", "/v1/kv/shared/0", {}, auth).json().value(u"data").toString(),
                         QString::fromUtf8(value.mid(1, value.size() - 2)));
        }
        QCOMPARE(cb.request("DELETE", "/v1/kv/shared/1", {}, auth).status, 200);
        QCOMPARE(ca.request("GET", "/v1/kv/shared/1", {}, auth).status, 404);
        QCOMPARE(cb.request("GET", "/v1/kv?prefix=shared/", {}, auth)
                     .json()
                     .value(u"data")
                     .toObject()
                     .value(u"keys")
                     .toArray()
                     .size(),
                 19);
        // An expired key is gone on every node, whoever wrote it.
        QCOMPARE(ca.request("PUT", "/v1/kv/short", "{\"value\":1,\"ttl\":1}", auth).status, 200);
        QCOMPARE(cb.request("GET", "/v1/kv/short", {}, auth).status, 200);
        QTest::qWait(1100);
        QCOMPARE(cb.request("GET", "/v1/kv/short", {}, auth).status, 404);
        QCOMPARE(ca.request("GET", "/v1/kv/short", {}, auth).status, 404);
        QVERIFY(!a.log().contains(password().toUtf8()));
    }

    void compareAndSetHoldsAcrossNodes()
    {
        const QString url = TestDatabase::fresh({});
        Node a(url);
        Node b(url);
        QVERIFY(a.port && b.port);
        const QList<quint16> ports = {a.port, b.port};
        for (int round = 0; round < 5; ++round) {
            const QByteArray key = "/v1/kv/cas/" + QByteArray::number(round);
            const QByteArray etag =
                HttpClient(a.port).request("PUT", key, "{\"value\":0}", auth).header("etag");
            QVERIFY(!etag.isEmpty());
            std::atomic<int> won{0}, refused{0}, other{0};
            concurrently(8, [&](int i) {
                HttpClient client(ports[i % 2]);
                QList<QPair<QByteArray, QByteArray>> headers = auth;
                headers.append(qMakePair(QByteArray("If-Match"), etag));
                const int status =
                    client.request("PUT", key, "{\"value\":" + QByteArray::number(i + 1) + "}", headers)
                        .status;
                (status == 200 ? won : status == 412 ? refused : other).fetch_add(1);
            });
            QCOMPARE(won.load(), 1);
            QCOMPARE(refused.load(), 7);
            QCOMPARE(other.load(), 0);
            // Create-if-absent: one creator.
            const QByteArray fresh = "/v1/kv/created/" + QByteArray::number(round);
            won = 0;
            refused = 0;
            concurrently(8, [&](int i) {
                HttpClient client(ports[i % 2]);
                QList<QPair<QByteArray, QByteArray>> headers = auth;
                headers.append(qMakePair(QByteArray("If-None-Match"), QByteArray("*")));
                const int status = client.request("PUT", fresh, "{\"value\":1}", headers).status;
                (status == 200 ? won : status == 412 ? refused : other).fetch_add(1);
            });
            QCOMPARE(won.load(), 1);
            QCOMPARE(refused.load(), 7);
        }
    }

    // What a writing transaction locks first (lockKeys): another that names one of its keys waits
    // until it ends, one that names none goes on; past maxKeyLocks keys, every other writer waits.
    void writersOfTheSameKeysWaitForOneAnother()
    {
        Store store(StoreOptions::forDatabase(TestDatabase::fresh({})), m_clock);
        store.open();
        // Locks keys in a transaction of its own, on a thread of its own, and ends it.
        struct Attempt
        {
            Attempt(Store &store, std::vector<QByteArray> keys)
                : thread([&store, keys = std::move(keys), this] {
                      auto connection = store.connect();
                      connection->begin();
                      connection->lockKeys(std::vector<QByteArrayView>(keys.begin(), keys.end()));
                      locked = true;
                      connection->rollback();
                  })
            {}
            ~Attempt() { thread.join(); }
            std::atomic<bool> locked{false};
            std::thread thread;
        };
        auto holder = store.connect();
        holder->begin();
        holder->lockKeys({"a", "b", "c"});
        {
            Attempt other(store, {"d", "e"});
            QTRY_VERIFY_WITH_TIMEOUT(other.locked.load(), 5000);
        }
        {
            Attempt sharing(store, {"z", "b"});
            QTest::qWait(300);
            QVERIFY(!sharing.locked.load());
            holder->commit();
            QTRY_VERIFY_WITH_TIMEOUT(sharing.locked.load(), 5000);
        }
        std::vector<QByteArray> many;
        for (int i = 0; i <= PostgresConnection::maxKeyLocks; ++i)
            many.push_back("many/" + QByteArray::number(i));
        holder->begin();
        holder->lockKeys(std::vector<QByteArrayView>(many.begin(), many.end()));
        {
            Attempt other(store, {"d", "e"});
            QTest::qWait(300);
            QVERIFY(!other.locked.load());
            holder->commit();
            QTRY_VERIFY_WITH_TIMEOUT(other.locked.load(), 5000);
        }
    }

    // Two nodes' transactions that write some of the same keys, in different orders, wait for one
    // another: neither deadlocks (which PostgreSQL detects only after a second, failing one of
    // them, that kvdesk then applied again).
    void nodesWritingTheSameKeysAtOnceDoNotDeadlock()
    {
        const QString url = TestDatabase::fresh({});
        Node a(url);
        Node b(url);
        QVERIFY(a.port && b.port);
        constexpr int threadsPerNode = 12;
        constexpr int keys = 16;
        std::atomic<int> written{0};
        std::atomic<int> failed{0};
        std::atomic<qint64> slowestMs{0};
        QElapsedTimer elapsed;
        elapsed.start();
        concurrently(2 * threadsPerNode, [&](int i) {
            HttpClient client(i < threadsPerNode ? a.port : b.port);
            for (int n = 0; elapsed.elapsed() < 2000; ++n) {
                const QByteArray key = "/v1/kv/shared/" + QByteArray::number((i * 7 + n * 5) % keys);
                QElapsedTimer timer;
                timer.start();
                const int status = client
                                       .request("PUT", key,
                                                "{\"value\":{\"thread\":" + QByteArray::number(i) +
                                                    ",\"n\":" + QByteArray::number(n) + "}}",
                                                auth)
                                       .status;
                (status == 200 ? written : failed).fetch_add(1);
                slowestMs = std::max(slowestMs.load(), timer.elapsed());
            }
        });
        qInfo() << written.load() << "writes in 2 s, the slowest in" << slowestMs.load() << "ms";
        QCOMPARE(failed.load(), 0);
        QVERIFY(written.load() > 100);
        for (Node *node : {&a, &b}) {
            const QByteArray log = node->log();
            QVERIFY2(!log.contains("deadlock") && !log.contains("applying a batch again"), log.constData());
        }
        // Each key holds one of the values written to it, whichever node reads it.
        for (int k = 0; k < keys; ++k) {
            const QByteArray key = "/v1/kv/shared/" + QByteArray::number(k);
            const QJsonObject fromA = HttpClient(a.port).request("GET", key, {}, auth).json();
            QCOMPARE(HttpClient(b.port).request("GET", key, {}, auth).json(), fromA);
            const QJsonObject value = fromA.value(u"data").toObject();
            QVERIFY2(value.contains(u"thread") && value.contains(u"n"), key.constData());
        }
    }

    void aWindowHearsOfOtherNodesWrites()
    {
        const QString url = TestDatabase::fresh({});
        Store other(StoreOptions::forDatabase(url), m_clock);
        other.open();
        Store mine(StoreOptions::forDatabase(url), m_clock);
        mine.open();
        mine.watchOtherWriters(); // what the window does
        QSignalSpy changed(&mine, &Store::keysChanged);
        QSignalSpy many(&mine, &Store::manyKeysChanged);
        auto theirs = other.connect();
        theirs->begin();
        theirs->put(QByteArrayView("a/1"), "1", std::nullopt);
        theirs->remove(QByteArrayView("a/2"));
        QTest::qWait(200);
        QCOMPARE(changed.size(), 0); // not before the commit
        theirs->commit();
        QTRY_COMPARE(changed.size(), 1);
        // (Removing an absent key changed nothing.)
        QCOMPARE(changed.first().first().value<QList<QByteArray>>(), (QList<QByteArray>{"a/1"}));
        // Its own writes are announced once, by the connection that made them.
        auto own = mine.connect();
        own->put(QByteArrayView("b"), "1", std::nullopt);
        QTest::qWait(300);
        QCOMPARE(changed.size(), 2);
        // Too many keys for a notification: look everything up again.
        theirs->begin();
        for (int i = 0; i < 1000; ++i)
            theirs->put(u"bulk/%1"_s.arg(i).toUtf8(), "1", std::nullopt);
        theirs->commit();
        QTRY_COMPARE(many.size(), 1);
    }

    void aWindowHearsOnlyItsOwnSchemasWrites()
    {
        // Two deployments in one database, each in a schema of its own (one with a name too long
        // to follow "kvdesk_keys_" in a channel's 63 bytes), each with a window and another node.
        const QString names[] = {TestDatabase::fresh({}),
                                 TestDatabase::fresh({}, u"_"_s + QString(50, u'n'))};
        for (int mine = 0; mine < 2; ++mine) {
            const QString &here = names[mine];
            const QString &elsewhere = names[1 - mine];
            Store window(StoreOptions::forDatabase(here), m_clock);
            window.open();
            window.watchOtherWriters();
            QSignalSpy changed(&window, &Store::keysChanged);
            QSignalSpy many(&window, &Store::manyKeysChanged);
            Store otherDeployment(StoreOptions::forDatabase(elsewhere), m_clock);
            otherDeployment.open();
            otherDeployment.connect()->put(QByteArrayView("theirs"), "1", std::nullopt);
            Store sameDeployment(StoreOptions::forDatabase(here), m_clock);
            sameDeployment.open();
            sameDeployment.connect()->put(QByteArrayView("ours"), "1", std::nullopt);
            // Notifications arrive in commit order: once the second is heard, the first was not.
            QTRY_COMPARE(changed.size(), 1);
            QCOMPARE(changed.first().first().value<QList<QByteArray>>(), (QList<QByteArray>{"ours"}));
            QTest::qWait(200);
            QCOMPARE(changed.size(), 1);
            QCOMPARE(many.size(), 0);
        }
    }

    void sweepersOfSeveralNodesTogether()
    {
        const QString url = TestDatabase::fresh({});
        Store one(StoreOptions::forDatabase(url), m_clock);
        one.open();
        Store two(StoreOptions::forDatabase(url), m_clock);
        two.open();
        {
            auto db = one.connect();
            db->begin();
            for (int i = 0; i < 3000; ++i)
                db->put(u"old/%1"_s.arg(i).toUtf8(), "1", m_clock.nowMs() + 1000);
            db->put(QByteArrayView("kept"), "1", std::nullopt);
            db->commit();
        }
        m_clock.advance(2000);
        std::atomic<int> removed{0};
        std::atomic<int> failures{0};
        concurrently(4, [&](int i) {
            auto db = (i % 2 ? one : two).connect();
            try {
                int n = 0;
                do {
                    n = db->sweepExpired(200);
                    removed.fetch_add(n);
                } while (n > 0);
            } catch (const StoreError &) {
                failures.fetch_add(1);
            }
        });
        QCOMPARE(failures.load(), 0);
        QCOMPARE(removed.load(), 3000); // each row once
        auto db = one.connect();
        QSqlQuery q(u"SELECT count(*) FROM wt_kv_key_values"_s, db->database());
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toInt(), 1);
    }

    // It restarts the server that every test uses (ctest runs one test program at a time).
    void serverRestartUnderAWriteLoadLosesNothingAcknowledged()
    {
        const QString url = TestDatabase::fresh({});
        Node node(url);
        QVERIFY(node.port);
        std::atomic<bool> stop{false};
        std::atomic<int> unavailable{0};
        std::atomic<int> unexpected{0};
        std::atomic<qint64> slowestFailureMs{0};
        QList<int> acknowledged[2];
        concurrently(3, [&](int i) {
            if (i == 2) {
                // The database restarts in the middle of the load.
                QThread::msleep(700);
                QProcess::execute(qEnvironmentVariable("KVDESK_POSTGRES_SERVER"),
                                  {u"restart"_s, qEnvironmentVariable("KVDESK_TEST_POSTGRES_DIR")});
                QThread::msleep(1500);
                stop = true;
                return;
            }
            for (int n = 0; !stop; ++n) {
                QElapsedTimer timer;
                timer.start();
                const QByteArray key = "/v1/kv/load/" + QByteArray::number(i) + "/" + QByteArray::number(n);
                const HttpResponse r =
                    HttpClient(node.port).request("PUT", key, "{\"value\":" + QByteArray::number(n) + "}", auth);
                const int status = r.status;
                if (status == 200) {
                    acknowledged[i].append(n);
                } else {
                    (status == 503 ? unavailable : unexpected).fetch_add(1);
                    if (status != 503)
                        qWarning() << "unexpected status" << status << "after" << timer.elapsed()
                                   << "ms:" << r.body;
                    slowestFailureMs = std::max(slowestFailureMs.load(), timer.elapsed());
                    QThread::msleep(20);
                }
            }
        });
        qInfo() << "acknowledged" << acknowledged[0].size() + acknowledged[1].size() << "writes;"
                << unavailable.load() << "answered 503, the slowest in" << slowestFailureMs.load() << "ms";
        QVERIFY(acknowledged[0].size() > 10 && acknowledged[1].size() > 10);
        if (unexpected.load() != 0) {
            for (const QByteArray &line : node.log().split('\n'))
                if (line.contains("kvdesk.store") || line.contains("failed"))
                    qWarning().noquote() << "node:" << line;
        }
        QCOMPARE(unexpected.load(), 0); // 200 or 503, nothing else
        QVERIFY(unavailable.load() > 0);                          // the restart was seen
        QVERIFY(slowestFailureMs.load() < 4000);                  // failing fast, not hanging
        // Recovered by itself, and every acknowledged write is there.
        HttpClient client(node.port);
        QTRY_COMPARE_WITH_TIMEOUT(client.request("PUT", "/v1/kv/after", "{\"value\":1}", auth).status, 200,
                                  10000);
        for (int i = 0; i < 2; ++i) {
            for (int n : std::as_const(acknowledged[i])) {
                const QByteArray key = "/v1/kv/load/" + QByteArray::number(i) + "/" + QByteArray::number(n);
                const HttpResponse r = client.request("GET", key, {}, auth);
                QCOMPARE(r.status, 200);
                QCOMPARE(r.json().value(u"data").toInt(), n);
            }
        }
        const QByteArray log = node.log();
        QVERIFY2(log.contains("cannot be reached"), log.constData());
        QVERIFY(!log.contains(password().toUtf8()));
    }

    void importAndExportOnTheCommandLine()
    {
        const QString url = TestDatabase::fresh({});
        QTemporaryDir dir;
        QFile dump(dir.filePath(u"in.ndjson"_s));
        QVERIFY(dump.open(QIODevice::WriteOnly));
        dump.write("{\"key\":\"users/ada\",\"value\":{\"name\":\"Ada\"}}\n"
                   "{\"key\":\"users/bob\",\"value\":[1,2],\"expiration\":4102444800}\n"
                   "{\"key\":\"other\",\"value\":true}\n");
        dump.close();
        auto kvdesk = [](const QStringList &args) {
            QProcess p;
            p.start(QStringLiteral(KVDESK_BINARY), args);
            p.waitForFinished(30000);
            return std::pair{p.exitCode(), QByteArray(p.readAllStandardOutput() + p.readAllStandardError())};
        };
        // Beside a running node: PostgreSQL has no single owner to stop first.
        Node node(url);
        QVERIFY(node.port);
        const auto imported = kvdesk({u"import"_s, u"--db"_s, url, dump.fileName()});
        QVERIFY2(imported.first == 0, imported.second.constData());
        QCOMPARE(HttpClient(node.port)
                     .request("GET", "/v1/kv/users/ada", {}, auth)
                     .json()
                     .value(u"data")
                     .toObject(),
                 (QJsonObject{{u"name"_s, u"Ada"_s}}));
        const auto exported = kvdesk({u"export"_s, u"--db"_s, url, u"--prefix"_s, u"users/"_s});
        QCOMPARE(exported.first, 0);
        QVERIFY2(
            exported.second.startsWith("{\"key\":\"users/ada\",\"value\":{\"name\":\"Ada\"}}\n"
                                       "{\"key\":\"users/bob\",\"value\":[1,2],\"expiration\":4102444800}\n"),
            exported.second.constData());
        QVERIFY(!exported.second.contains("other"));
        QVERIFY(!exported.second.contains(password().toUtf8()));
    }

    // kvdesk import writes batches of a thousand keys in a transaction each, on a database that
    // nodes write at the same time: their transactions and its own wait for one another on the
    // keys they share, and none deadlocks. Five imports in a row, while clients write the same keys.
    void anImportBesideWritingNodesDoesNotDeadlock()
    {
        const QString url = TestDatabase::fresh({});
        constexpr int records = 2000;
        QTemporaryDir dir;
        QFile dump(dir.filePath(u"in.ndjson"_s));
        QVERIFY(dump.open(QIODevice::WriteOnly));
        for (int i = 0; i < records; ++i)
            dump.write("{\"key\":\"import/" + QByteArray::number(i) + "\",\"value\":\"imported\"}\n");
        dump.close();
        Node node(url);
        QVERIFY(node.port);
        std::atomic<bool> importing{true};
        std::atomic<int> failed{0};
        QByteArray importOutput;
        int importExit = -1;
        concurrently(9, [&](int i) {
            if (i == 8) {
                for (int round = 0; round < 5 && importExit <= 0; ++round) {
                    QProcess p;
                    p.start(QStringLiteral(KVDESK_BINARY), {u"import"_s, u"--db"_s, url, dump.fileName()});
                    p.waitForFinished(60000);
                    importExit = p.exitCode();
                    importOutput = p.readAllStandardOutput() + p.readAllStandardError();
                }
                importing = false;
                return;
            }
            HttpClient client(node.port);
            for (int n = 0; importing; ++n) {
                const QByteArray key = "/v1/kv/import/" + QByteArray::number((i * 997 + n * 131) % records);
                if (client.request("PUT", key, "{\"value\":\"written\"}", auth).status != 200)
                    failed.fetch_add(1);
            }
        });
        QVERIFY2(importExit == 0, importOutput.constData());
        QCOMPARE(failed.load(), 0);
        const QByteArray log = node.log();
        QVERIFY2(!log.contains("deadlock") && !log.contains("applying a batch again"), log.constData());
        QVERIFY(!importOutput.contains("deadlock"));
        Store store(StoreOptions::forDatabase(url), m_clock);
        store.open();
        QCOMPARE(store.connect()->countLiveKeys(), qint64(records)); // every record, imported or written
    }

    void theWindowListensAgainAfterARestart()
    {
        const QString url = TestDatabase::fresh({});
        Store other(StoreOptions::forDatabase(url), m_clock);
        other.open();
        Store mine(StoreOptions::forDatabase(url), m_clock);
        mine.open();
        mine.watchOtherWriters();
        QSignalSpy changed(&mine, &Store::keysChanged);
        QSignalSpy many(&mine, &Store::manyKeysChanged);
        QCOMPARE(QProcess::execute(qEnvironmentVariable("KVDESK_POSTGRES_SERVER"),
                                   {u"restart"_s, qEnvironmentVariable("KVDESK_TEST_POSTGRES_DIR")}),
                 0);
        // Connected again within its check's interval, and told to look everything up again.
        QTRY_COMPARE_WITH_TIMEOUT(many.size(), 1, 15000);
        auto theirs = other.connect();
        bool written = false;
        for (int attempt = 0; attempt < 50 && !written; ++attempt) {
            try {
                theirs->put(QByteArrayView("after-restart"), "1", std::nullopt);
                written = true;
            } catch (const StoreError &) {
                QTest::qWait(100); // its own session is found lost first
            }
        }
        QVERIFY(written);
        QTRY_COMPARE(changed.size(), 1);
        QCOMPARE(changed.first().first().value<QList<QByteArray>>(), QList<QByteArray>{"after-restart"});
    }

    void wrongPasswordIsAClearErrorWithoutThePassword()
    {
        QString error;
        auto options = *PostgresOptions::fromUrl(TestDatabase::postgresUrl(), &error);
        const QString wrong = u"wrong-Pa55word"_s;
        const QString url = u"postgres://%1:%2@%3:%4/%5"_s.arg(options.user, wrong, options.host)
                                .arg(options.port)
                                .arg(options.database);
        QProcess p;
        p.start(QStringLiteral(KVDESK_BINARY),
                {u"--no-gui"_s, u"--no-keychain"_s, u"--port"_s, u"0"_s, u"--db"_s, url});
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitCode(), 1);
        const QString all = QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
        QVERIFY2(all.contains(u"password authentication failed"_s), qPrintable(all));
        QVERIFY2(all.contains(u"postgres://kvdesk@127.0.0.1"_s), qPrintable(all));
        QVERIFY(!all.contains(wrong));
    }
};

QTEST_GUILESS_MAIN(TestPostgres)
#include "tst_postgres.moc"
