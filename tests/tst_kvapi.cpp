#include "testdatabase.h"
#include "testserver.h"

#include "http/accesslog.h"
#include "store/store.h"
#include "store/storeconnection.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTest>
#include <QThread>
#include <QTimeZone>

using namespace Qt::StringLiterals;

using namespace kvdesk;
using namespace kvdesk::test;

namespace {

QByteArray putBody(const QByteArray &valueJson, const QByteArray &extra = {})
{
    return "{\"value\":" + valueJson + extra + "}";
}

} // namespace

class TestKvApi : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<TestServer> m_server;

    HttpResponse call(const QByteArray &method, const QByteArray &target, const QByteArray &body = {},
                      QList<QPair<QByteArray, QByteArray>> headers = {})
    {
        HttpClient client(m_server->port());
        headers.prepend({"Authorization", TestServer::bearer()});
        return client.request(method, target, body, headers);
    }

    void verifyValidationError(const HttpResponse &r, const QString &location, const QJsonArray &path)
    {
        QCOMPARE(r.status, 400);
        const QJsonObject o = r.json();
        QCOMPARE(o.value(u"status").toInt(), 400);
        QCOMPARE(o.value(u"success").toBool(), false);
        QVERIFY(o.value(u"data").isNull());
        QVERIFY(!o.value(u"error").toString().isEmpty());
        const QJsonObject first = o.value(u"errors").toArray().first().toObject();
        QCOMPARE(first.value(u"location").toString(), location);
        if (!path.isEmpty())
            QCOMPARE(first.value(u"path").toArray(), path);
        QVERIFY(!first.value(u"message").toString().isEmpty());
    }

private Q_SLOTS:
    void init() { m_server = std::make_unique<TestServer>(); }
    void cleanup() { m_server.reset(); }

    void putThenGetRoundTripsEveryJsonType_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::newRow("string") << QByteArray(R"("hello wörld")");
        QTest::newRow("number") << QByteArray("-12.5e3");
        QTest::newRow("big integer keeps its digits") << QByteArray("12345678901234567890123");
        QTest::newRow("boolean") << QByteArray("false");
        QTest::newRow("object") << QByteArray(R"({"a":{"b":[1,2,{"c":null}]}})");
        QTest::newRow("array") << QByteArray(R"([1,"two",true])");
        QTest::newRow("empty string") << QByteArray(R"("")");
    }
    void putThenGetRoundTripsEveryJsonType()
    {
        QFETCH(QByteArray, value);
        const HttpResponse put = call("PUT", "/v1/kv/k", putBody(value));
        QCOMPARE(put.status, 200);
        QCOMPARE(put.header("content-type"), QByteArray("application/json; charset=utf-8"));
        QCOMPARE(put.body, R"({"status":200,"success":true,"data":)" + value + "}");
        const HttpResponse get = call("GET", "/v1/kv/k");
        QCOMPARE(get.status, 200);
        QCOMPARE(get.body, R"({"status":200,"success":true,"data":)" + value + "}");
        QCOMPARE(QJsonDocument::fromJson(get.body).object().value(u"status").toInt(), 200);
    }

    void missingKeyIs404WithNullData()
    {
        const HttpResponse r = call("GET", "/v1/kv/nope");
        QCOMPARE(r.status, 404);
        QCOMPARE(r.json(),
                 (QJsonObject{{u"status"_s, 404}, {u"success"_s, true}, {u"data"_s, QJsonValue::Null}}));
    }

    void deleteAnswersTrueEvenForAbsentKeys()
    {
        call("PUT", "/v1/kv/gone", putBody("1"));
        for (int i = 0; i < 2; ++i) {
            const HttpResponse r = call("DELETE", "/v1/kv/gone");
            QCOMPARE(r.status, 200);
            QCOMPARE(r.json().value(u"data").toBool(), true);
        }
        QCOMPARE(call("GET", "/v1/kv/gone").status, 404);
    }

    void keysMayHoldSlashesEscapesAndUnicode_data()
    {
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<QString>("key");
        QTest::newRow("namespaced") << QByteArray("users/42/profile") << QStringLiteral("users/42/profile");
        QTest::newRow("encoded slash") << QByteArray("a%2Fb") << QStringLiteral("a/b");
        QTest::newRow("space and plus") << QByteArray("a%20b+c") << QStringLiteral("a b+c");
        QTest::newRow("unicode") << QByteArray("%E2%9C%93/caf%C3%A9") << QStringLiteral("✓/café");
        QTest::newRow("percent") << QByteArray("100%25") << QStringLiteral("100%");
    }
    void keysMayHoldSlashesEscapesAndUnicode()
    {
        QFETCH(QByteArray, path);
        QFETCH(QString, key);
        QCOMPARE(call("PUT", "/v1/kv/" + path, putBody("7")).status, 200);
        QCOMPARE(call("GET", "/v1/kv/" + path + "?ignored=query").json().value(u"data").toInt(), 7);
        const QJsonArray keys =
            call("GET", "/v1/kv").json().value(u"data").toObject().value(u"keys").toArray();
        QCOMPARE(keys.size(), 1);
        QCOMPARE(keys[0].toObject().value(u"name").toString(), key);
    }

    void badKeysAre400_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("path");
        QTest::newRow("bad escape") << QByteArray("GET") << QByteArray("/v1/kv/a%zzb");
        QTest::newRow("truncated escape") << QByteArray("GET") << QByteArray("/v1/kv/a%4");
        QTest::newRow("not utf8") << QByteArray("PUT") << QByteArray("/v1/kv/a%FFb");
        QTest::newRow("overlong utf8") << QByteArray("PUT") << QByteArray("/v1/kv/%C0%AF");
        QTest::newRow("too long") << QByteArray("PUT") << "/v1/kv/" + QByteArray(513, 'k');
        QTest::newRow("too long in bytes")
            << QByteArray("GET") << "/v1/kv/" + QByteArray("%C3%A9").repeated(257);
        QTest::newRow("empty put") << QByteArray("PUT") << QByteArray("/v1/kv/");
        QTest::newRow("empty delete") << QByteArray("DELETE") << QByteArray("/v1/kv/");
        QTest::newRow("no key put") << QByteArray("PUT") << QByteArray("/v1/kv");
    }
    void badKeysAre400()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, path);
        verifyValidationError(call(method, path, putBody("1")), u"path"_s, {});
    }

    void keyOf512BytesIsAccepted()
    {
        const QByteArray key = "/v1/kv/" + QByteArray("%C3%A9").repeated(256);
        QCOMPARE(call("PUT", key, putBody("1")).status, 200);
        QCOMPARE(call("GET", key).status, 200);
    }

    void badBodiesAre400_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("location");
        QTest::addColumn<QJsonArray>("path");
        QTest::newRow("empty") << QByteArray() << u"body"_s << QJsonArray();
        QTest::newRow("not json") << QByteArray("value=1") << u"body"_s << QJsonArray();
        QTest::newRow("broken json") << QByteArray(R"({"value": )") << u"body"_s << QJsonArray();
        QTest::newRow("array") << QByteArray("[1]") << u"body"_s << QJsonArray();
        QTest::newRow("bare value") << QByteArray("42") << u"body"_s << QJsonArray();
        QTest::newRow("no value") << QByteArray(R"({"ttl": 5})") << u"body"_s << QJsonArray{u"value"_s};
        QTest::newRow("null value") << QByteArray(R"({"value": null})") << u"body"_s
                                    << QJsonArray{u"value"_s};
        QTest::newRow("ttl zero") << putBody("1", R"(,"ttl":0)") << u"body"_s << QJsonArray{u"ttl"_s};
        QTest::newRow("ttl negative") << putBody("1", R"(,"ttl":-5)") << u"body"_s << QJsonArray{u"ttl"_s};
        QTest::newRow("ttl fraction") << putBody("1", R"(,"ttl":1.5)") << u"body"_s << QJsonArray{u"ttl"_s};
        QTest::newRow("ttl string") << putBody("1", R"(,"ttl":"60")") << u"body"_s << QJsonArray{u"ttl"_s};
        QTest::newRow("ttl bool") << putBody("1", R"(,"ttl":true)") << u"body"_s << QJsonArray{u"ttl"_s};
        QTest::newRow("ttl object") << putBody("1", R"(,"ttl":{})") << u"body"_s << QJsonArray{u"ttl"_s};
    }
    void badBodiesAre400()
    {
        QFETCH(QByteArray, body);
        QFETCH(QString, location);
        QFETCH(QJsonArray, path);
        verifyValidationError(call("PUT", "/v1/kv/k", body), location, path);
        QCOMPARE(call("GET", "/v1/kv/k").status, 404); // nothing was written
    }

    void ttlExpiresTheKeyEverywhereAtOnce()
    {
        const HttpResponse put = call("PUT", "/v1/kv/session", putBody(R"("s")", R"(,"ttl":60)"));
        QCOMPARE(put.status, 200);
        QVERIFY(put.hasHeader("expires"));
        const HttpResponse get = call("GET", "/v1/kv/session");
        QCOMPARE(get.status, 200);
        QDateTime expires = QLocale::c().toDateTime(QString::fromLatin1(get.header("expires")),
                                                    u"ddd, dd MMM yyyy hh:mm:ss 'GMT'"_s);
        expires.setTimeZone(QTimeZone::utc());
        QVERIFY(expires.isValid());
        QVERIFY(qAbs(expires.toMSecsSinceEpoch() - (m_server->clock().nowMs() + 60000)) < 2000);
        const QJsonObject listed =
            call("GET", "/v1/kv").json().value(u"data").toObject().value(u"keys").toArray()[0].toObject();
        QVERIFY(qAbs(qint64(listed.value(u"expiration").toDouble()) -
                     (m_server->clock().nowMs() / 1000 + 60)) <= 2);

        m_server->clock().advance(59000);
        QCOMPARE(call("GET", "/v1/kv/session").status, 200);
        m_server->clock().advance(1500);
        QCOMPARE(call("GET", "/v1/kv/session").status, 404);
        QCOMPARE(call("GET", "/v1/kv").json().value(u"data").toObject().value(u"keys").toArray().size(), 0);
    }

    void theSweeperRemovesExpiredRowsOnItsOwn()
    {
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) { c.sweepIntervalMs = 50; });
        QCOMPARE(call("PUT", "/v1/kv/short", putBody("1", R"(,"ttl":1)")).status, 200);
        QCOMPARE(call("PUT", "/v1/kv/long", putBody("1")).status, 200);
        // Rows, expired or not, through a connection of the server's own backend.
        auto rows = [this] {
            auto connection = m_server->server().store().connect();
            QSqlQuery q(u"SELECT count(*) FROM wt_kv_key_values"_s, connection->database());
            const int n = q.next() ? q.value(0).toInt() : -1;
            q.finish();
            return n;
        };
        QCOMPARE(rows(), 2);
        m_server->clock().advance(2000);
        QTRY_COMPARE(rows(), 1);
    }

    void upkeepGoesOnWhileTheServersThreadIsBusy()
    {
        // The desktop window's thread owns the server: sweeps and checkpoints of the log run on
        // a thread of their own, not on its event loop. Here that thread never returns to its
        // event loop while the rows expire and the log fills.
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) { c.sweepIntervalMs = 50; });
        QCOMPARE(call("PUT", "/v1/kv/short", putBody("1", R"(,"ttl":1)")).status, 200);
        for (int i = 0; i < 20; ++i)
            QCOMPARE(call("PUT", "/v1/kv/long" + QByteArray::number(i), putBody("1")).status, 200);
        auto connection = m_server->server().store().connect();
        auto rows = [&] {
            QSqlQuery q(u"SELECT count(*) FROM wt_kv_key_values"_s, connection->database());
            const int n = q.next() ? q.value(0).toInt() : -1;
            q.finish();
            return n;
        };
        QCOMPARE(rows(), 21);
        const Store &store = m_server->server().store();
        const bool sqlite = !kvdesk::test::TestDatabase::isPostgres();
        m_server->clock().advance(2000);
        QElapsedTimer waited;
        waited.start();
        // No QTRY here: it would turn this thread's event loop.
        while ((rows() != 20 || (sqlite && store.lastCheckpoint().copiedFrames == 0)) &&
               waited.elapsed() < 10000)
            QThread::msleep(20);
        QCOMPARE(rows(), 20);
        if (sqlite)
            QVERIFY(store.lastCheckpoint().copiedFrames > 0); // the log was copied meanwhile
    }

    void nullTtlNeverExpiresAndRewriteReplacesTtl()
    {
        QCOMPARE(call("PUT", "/v1/kv/k", putBody("1", R"(,"ttl":5)")).status, 200);
        const HttpResponse again = call("PUT", "/v1/kv/k", putBody("2", R"(,"ttl":null)"));
        QCOMPARE(again.status, 200);
        QVERIFY(!again.hasHeader("expires"));
        m_server->clock().advance(3600 * 1000);
        QCOMPARE(call("GET", "/v1/kv/k").json().value(u"data").toInt(), 2);
        QVERIFY(call("GET", "/v1/kv")
                    .json()
                    .value(u"data")
                    .toObject()
                    .value(u"keys")
                    .toArray()[0]
                    .toObject()
                    .value(u"expiration")
                    .isNull());
    }

    void listsInByteOrderWithPrefixAndCursor()
    {
        for (const char *k : {"b", "a/2", "a/1", "A", "a/3", "c"})
            QCOMPARE(call("PUT", "/v1/kv/" + QByteArray(k), putBody("1")).status, 200);
        QJsonObject data = call("GET", "/v1/kv").json().value(u"data").toObject();
        QStringList names;
        for (const auto &k : data.value(u"keys").toArray())
            names << k.toObject().value(u"name").toString();
        QCOMPARE(names, (QStringList{u"A"_s, u"a/1"_s, u"a/2"_s, u"a/3"_s, u"b"_s, u"c"_s}));
        QCOMPARE(data.value(u"list_complete").toBool(), true);
        QVERIFY(data.value(u"cursor").isNull());
        QCOMPARE(call("GET", "/v1/kv/").json().value(u"data").toObject(), data);

        data = call("GET", "/v1/kv?prefix=a%2F&limit=2").json().value(u"data").toObject();
        QCOMPARE(data.value(u"keys").toArray().size(), 2);
        QCOMPARE(data.value(u"list_complete").toBool(), false);
        const QString cursor = data.value(u"cursor").toString();
        QVERIFY(!cursor.isEmpty());
        data = call("GET", "/v1/kv?prefix=a/&limit=2&cursor=" + cursor.toLatin1())
                   .json()
                   .value(u"data")
                   .toObject();
        QCOMPARE(data.value(u"keys").toArray().size(), 1);
        QCOMPARE(data.value(u"keys").toArray()[0].toObject().value(u"name").toString(), u"a/3"_s);
        QCOMPARE(data.value(u"list_complete").toBool(), true);
        QVERIFY(data.value(u"cursor").isNull());
    }

    void listPagesThroughMoreThanOnePageOfAThousand()
    {
        auto *conn = m_server->server().store().connect().release();
        for (int i = 0; i < 1500; ++i)
            conn->put(u"k%1"_s.arg(i, 5, 10, QLatin1Char('0')).toUtf8(), "1", std::nullopt);
        delete conn;
        QJsonObject data = call("GET", "/v1/kv").json().value(u"data").toObject();
        QCOMPARE(data.value(u"keys").toArray().size(), 1000);
        QCOMPARE(data.value(u"list_complete").toBool(), false);
        data = call("GET", "/v1/kv?cursor=" + data.value(u"cursor").toString().toLatin1())
                   .json()
                   .value(u"data")
                   .toObject();
        QCOMPARE(data.value(u"keys").toArray().size(), 500);
        QCOMPARE(data.value(u"list_complete").toBool(), true);
    }

    void badListQueriesAre400_data()
    {
        QTest::addColumn<QByteArray>("query");
        QTest::addColumn<QString>("field");
        QTest::newRow("limit zero") << QByteArray("limit=0") << u"limit"_s;
        QTest::newRow("limit too big") << QByteArray("limit=1001") << u"limit"_s;
        QTest::newRow("limit text") << QByteArray("limit=ten") << u"limit"_s;
        QTest::newRow("bad cursor") << QByteArray("cursor=!!!") << u"cursor"_s;
        QTest::newRow("bad escape") << QByteArray("prefix=%zz") << QString();
    }
    void badListQueriesAre400()
    {
        QFETCH(QByteArray, query);
        QFETCH(QString, field);
        verifyValidationError(call("GET", "/v1/kv?" + query), u"query"_s,
                              field.isEmpty() ? QJsonArray() : QJsonArray{field});
    }

    void etagChangesOnEveryWriteAndGuardsWrites()
    {
        const QByteArray first = call("PUT", "/v1/kv/doc", putBody("1")).header("etag");
        QVERIFY(first.startsWith('"') && first.endsWith('"'));
        QCOMPARE(call("GET", "/v1/kv/doc").header("etag"), first);
        const HttpResponse second = call("PUT", "/v1/kv/doc", putBody("2"), {{"If-Match", first}});
        QCOMPARE(second.status, 200);
        const QByteArray etag2 = second.header("etag");
        QVERIFY(etag2 != first);

        const HttpResponse stale = call("PUT", "/v1/kv/doc", putBody("3"), {{"If-Match", first}});
        QCOMPARE(stale.status, 412);
        QCOMPARE(stale.json().value(u"success").toBool(), false);
        QCOMPARE(call("GET", "/v1/kv/doc").json().value(u"data").toInt(), 2);

        QCOMPARE(call("DELETE", "/v1/kv/doc", {}, {{"If-Match", first}}).status, 412);
        QCOMPARE(call("GET", "/v1/kv/doc").status, 200);
        QCOMPARE(call("GET", "/v1/kv/doc", {}, {{"If-None-Match", etag2}}).status, 304);
        QCOMPARE(call("DELETE", "/v1/kv/doc", {}, {{"If-Match", etag2}}).status, 200);
        QCOMPARE(call("GET", "/v1/kv/doc").status, 404);
        QCOMPARE(call("PUT", "/v1/kv/doc", putBody("4"), {{"If-Match", "*"}}).status, 412);
    }

    void ifNoneMatchStarCreatesOnlyOnce()
    {
        QCOMPARE(call("PUT", "/v1/kv/once", putBody("1"), {{"If-None-Match", "*"}}).status, 200);
        QCOMPARE(call("PUT", "/v1/kv/once", putBody("2"), {{"If-None-Match", "*"}}).status, 412);
        QCOMPARE(call("GET", "/v1/kv/once").json().value(u"data").toInt(), 1);
    }

    void otherMethodsAre405WithAllow_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<QByteArray>("allow");
        QTest::newRow("post key") << QByteArray("POST") << QByteArray("/v1/kv/a")
                                  << QByteArray("GET, HEAD, PUT, DELETE");
        QTest::newRow("patch key") << QByteArray("PATCH") << QByteArray("/v1/kv/a")
                                   << QByteArray("GET, HEAD, PUT, DELETE");
        QTest::newRow("post list") << QByteArray("POST") << QByteArray("/v1/kv") << QByteArray("GET, HEAD");
        QTest::newRow("options key") << QByteArray("OPTIONS") << QByteArray("/v1/kv/a")
                                     << QByteArray("GET, HEAD, PUT, DELETE");
    }
    void otherMethodsAre405WithAllow()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, path);
        QFETCH(QByteArray, allow);
        const HttpResponse r = call(method, path);
        QCOMPARE(r.status, 405);
        QCOMPARE(r.header("allow"), allow);
        QCOMPARE(r.json().value(u"status").toInt(), 405);
    }

    void headAnswersHeadersOnly()
    {
        call("PUT", "/v1/kv/h", putBody(R"("abc")"));
        const HttpResponse r = call("HEAD", "/v1/kv/h");
        QCOMPARE(r.status, 200);
        QVERIFY(r.body.isEmpty());
        QCOMPARE(r.header("content-length").toInt(), call("GET", "/v1/kv/h").body.size());
    }

    void unknownPathsAre404Envelopes()
    {
        for (const char *path : {"/", "/v2/kv/a", "/v1/kvx", "/nothing/here"}) {
            const HttpResponse r = call("GET", path);
            QCOMPARE(r.status, 404);
            QCOMPARE(r.json().value(u"error").toString(), u"Not found"_s);
            QCOMPARE(r.json().value(u"success").toBool(), false);
            QVERIFY(!r.header("x-workertown-hint").isEmpty());
        }
    }

    void valuesUpToTheLimitAreStoredAndLargerAre413()
    {
        const qint64 limit = 25 * 1024 * 1024;
        const QByteArray atLimit = '"' + QByteArray(limit - 2, 'x') + '"';
        const HttpResponse ok = call("PUT", "/v1/kv/big", putBody(atLimit));
        QCOMPARE(ok.status, 200);
        QCOMPARE(call("GET", "/v1/kv/big").body.size(), qsizetype(atLimit.size() + 37));
        const QByteArray over = '"' + QByteArray(limit - 1, 'x') + '"';
        const HttpResponse tooBig = call("PUT", "/v1/kv/big2", putBody(over));
        QCOMPARE(tooBig.status, 413);
        QCOMPARE(tooBig.json().value(u"status").toInt(), 413);
        QCOMPARE(call("GET", "/v1/kv/big2").status, 404);
    }

    void eachRequestWritesOneAccessLogLine()
    {
        QSignalSpy spy(&m_server->server().accessLog(), &AccessLog::recorded);
        call("PUT", "/v1/kv/logged?x=secret", putBody("1"));
        QTRY_VERIFY(!spy.isEmpty());
        const auto entries = spy.first().first().value<QList<AccessLogEntry>>();
        QCOMPARE(entries.size(), 1);
        const QByteArray line = AccessLog::format(entries.first());
        QVERIFY2(QRegularExpression(u"^PUT /v1/kv/logged 200 \\d+ms$"_s)
                     .match(QString::fromLatin1(line))
                     .hasMatch(),
                 line.constData());
        QCOMPARE(entries.first().client, u"127.0.0.1"_s);
    }

    void dataSurvivesARestart()
    {
        call("PUT", "/v1/kv/persist", putBody(R"({"x":1})", R"(,"ttl":3600)"));
        m_server->restart();
        const HttpResponse r = call("GET", "/v1/kv/persist");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(u"data").toObject().value(u"x").toInt(), 1);
        QVERIFY(r.hasHeader("expires"));
    }

    void customBasePathAndPrefixes()
    {
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) {
            c.endpoints.basePath = u"/api"_s;
            c.endpoints.kv = u"/custom-kv"_s;
            c.endpoints.publicPrefix = u"/pub"_s;
        });
        QCOMPARE(call("PUT", "/api/custom-kv/a", putBody("1")).status, 200);
        QCOMPARE(call("GET", "/api/custom-kv/a").status, 200);
        QCOMPARE(call("GET", "/custom-kv/a").status, 404);
        QCOMPARE(call("GET", "/v1/kv/a").status, 404);
        QCOMPARE(call("GET", "/api/v1/kv/a").status, 404);
        QCOMPARE(call("GET", "/api/v1/admin/info").status, 200);
        QCOMPARE(call("GET", "/api/pub/health").status, 200);
        QCOMPARE(call("GET", "/health").status, 404);
    }

    void disabledGroupsAre404()
    {
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) {
            c.endpoints.kv.reset();
            c.endpoints.publicPrefix.reset();
        });
        QCOMPARE(call("GET", "/v1/kv/a").status, 404);
        QCOMPARE(call("GET", "/health").status, 404);
        QCOMPARE(call("GET", "/v1/admin/info").status, 200);
    }

    // Reads that reach a thread together (on PostgreSQL looked up in one statement) are each
    // answered with their own key's value, status and headers, in each connection's order.
    void readsArrivingTogetherAreEachAnsweredForTheirOwnKey()
    {
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) { c.threads = 1; });
        QByteArray etag5;
        for (int i = 0; i < 30; ++i) {
            const HttpResponse r =
                call("PUT", "/v1/kv/r" + QByteArray::number(i), putBody(QByteArray::number(i)));
            QCOMPARE(r.status, 200);
            if (i == 5)
                etag5 = r.header("etag");
        }
        QCOMPARE(call("PUT", "/v1/kv/brief", putBody("1", R"(,"ttl":1)")).status, 200);
        QTest::qWait(1100); // "brief" has expired
        const QByteArray auth = "Authorization: " + TestServer::bearer() + "\r\n";
        const auto get = [&](const QByteArray &key, const QByteArray &extra = {}) -> QByteArray {
            return "GET /v1/kv/" + key + " HTTP/1.1\r\nHost: t\r\n" + auth + extra + "\r\n";
        };
        std::vector<std::unique_ptr<HttpClient>> clients;
        for (int i = 0; i < 40; ++i)
            clients.push_back(std::make_unique<HttpClient>(m_server->port()));
        for (int i = 0; i < 40; ++i) {
            const QByteArray key = (i < 30 ? "r" : "absent") + QByteArray::number(i < 30 ? 29 - i : i);
            clients[size_t(i)]->sendRaw(get(key));
        }
        // One connection pipelines: a 304, an expired key, a value, a HEAD.
        HttpClient pipelined(m_server->port());
        pipelined.sendRaw(get("r5", "If-None-Match: " + etag5 + "\r\n") + get("brief") + get("r7") +
                          "HEAD /v1/kv/r8 HTTP/1.1\r\nHost: t\r\n" + auth + "\r\n");
        for (int i = 0; i < 40; ++i) {
            const std::optional<HttpResponse> r = clients[size_t(i)]->readResponse();
            QVERIFY(r);
            if (i < 30) {
                QCOMPARE(r->status, 200);
                QCOMPARE(r->json().value(u"data").toInt(), 29 - i);
                QVERIFY(r->hasHeader("etag") && r->hasHeader("last-modified"));
            } else {
                QCOMPARE(r->status, 404);
                QCOMPARE(r->json().value(u"data"), QJsonValue(QJsonValue::Null));
            }
        }
        const std::optional<HttpResponse> notModified = pipelined.readResponse();
        QVERIFY(notModified);
        QCOMPARE(notModified->status, 304);
        QCOMPARE(notModified->header("etag"), etag5);
        const std::optional<HttpResponse> expired = pipelined.readResponse();
        QVERIFY(expired);
        QCOMPARE(expired->status, 404);
        const std::optional<HttpResponse> value = pipelined.readResponse();
        QVERIFY(value);
        QCOMPARE(value->status, 200);
        QCOMPARE(value->json().value(u"data").toInt(), 7);
        const std::optional<HttpResponse> head = pipelined.readResponse(5000, true);
        QVERIFY(head);
        QCOMPARE(head->status, 200);
        QVERIFY(head->body.isEmpty() && head->hasHeader("etag"));
    }

    void severalThreadsServeTheSameStore()
    {
        m_server.reset();
        m_server = std::make_unique<TestServer>([](Config &c) { c.threads = 3; });
        std::vector<std::unique_ptr<HttpClient>> clients;
        for (int i = 0; i < 6; ++i)
            clients.push_back(std::make_unique<HttpClient>(m_server->port()));
        for (int i = 0; i < 60; ++i) {
            HttpClient *c = clients[i % clients.size()].get();
            QCOMPARE(c->request("PUT", "/v1/kv/t" + QByteArray::number(i), putBody(QByteArray::number(i)),
                                TestServer::auth())
                         .status,
                     200);
        }
        for (int i = 0; i < 60; ++i) {
            HttpClient *c = clients[(i + 1) % clients.size()].get();
            QCOMPARE(c->request("GET", "/v1/kv/t" + QByteArray::number(i), {}, TestServer::auth())
                         .json()
                         .value(u"data")
                         .toInt(),
                     i);
        }
    }
};

QTEST_GUILESS_MAIN(TestKvApi)
#include "tst_kvapi.moc"
