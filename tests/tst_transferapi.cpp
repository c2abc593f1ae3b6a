// GET {admin}/export (streamed, chunked) and POST {admin}/import over a real socket.
#include "testserver.h"

#include "store/store.h"
#include "store/storeconnection.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace kvdesk;
using namespace kvdesk::test;

class TestTransferApi : public QObject
{
    Q_OBJECT

private:
    static HttpResponse call(TestServer &server, const QByteArray &method, const QByteArray &target,
                             const QByteArray &body = {})
    {
        HttpClient client(server.port());
        return client.request(method, target, body, TestServer::auth());
    }
    static void fill(TestServer &server, int count)
    {
        auto c = server.server().store().connect();
        c->begin();
        for (int i = 0; i < count; ++i)
            c->put(QByteArray("k/" + QByteArray::number(100000 + i)),
                   QByteArray("{\"n\":" + QByteArray::number(i) + "}"), std::nullopt);
        c->put(u"ü/ключ"_s.toUtf8(), "\"x\"", server.clock().nowMs() + 3'600'000);
        c->commit();
    }

private Q_SLOTS:
    void exportStreamsEveryKeyAsNdjson()
    {
        TestServer server;
        fill(server, 2500);
        HttpClient client(server.port());
        const HttpResponse r = client.request("GET", "/v1/admin/export", {}, TestServer::auth());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("transfer-encoding"), "chunked");
        QVERIFY(r.header("content-type").startsWith("application/x-ndjson"));
        const QList<QByteArray> lines = r.body.trimmed().split('\n');
        QCOMPARE(lines.size(), 2501);
        for (const QByteArray &line : lines)
            QVERIFY2(QJsonDocument::fromJson(line).isObject(), line.constData());
        const QJsonObject last = QJsonDocument::fromJson(lines.last()).object();
        QCOMPARE(last.value(u"key").toString(), u"ü/ключ"_s);
        QVERIFY(last.value(u"expiration").toInteger() > QDateTime::currentSecsSinceEpoch());
        // The connection goes on after a streamed answer.
        QCOMPARE(client.request("GET", "/v1/kv/k/100007", {}, TestServer::auth()).status, 200);
    }

    void exportTakesAPrefixAndOtherFormats()
    {
        TestServer server;
        fill(server, 10);
        HttpResponse r = call(server, "GET", "/v1/admin/export?prefix=%C3%BC%2F");
        QCOMPARE(r.body.count('\n'), 1);
        r = call(server, "GET", "/v1/admin/export?format=wrangler");
        QCOMPARE(r.status, 200);
        const QJsonArray array = QJsonDocument::fromJson(r.body).array();
        QCOMPARE(array.size(), 11);
        QCOMPARE(array.first().toObject().value(u"value").toString(), u"{\"n\":0}"_s);
        r = call(server, "GET", "/v1/admin/export?format=json&prefix=k/");
        QCOMPARE(QJsonDocument::fromJson(r.body).object().size(), 10);
        QCOMPARE(call(server, "GET", "/v1/admin/export?format=xml").status, 400);
        QCOMPARE(call(server, "GET", "/v1/admin/export?limit=3").status, 400);
        r = call(server, "HEAD", "/v1/admin/export");
        QCOMPARE(r.status, 200);
        QVERIFY(r.body.isEmpty());
        HttpClient anonymous(server.port());
        QCOMPARE(anonymous.request("GET", "/v1/admin/export").status, 401);
    }

    void pipelinedRequestsAfterAnExportAreAnsweredInOrder()
    {
        TestServer server;
        fill(server, 3000);
        HttpClient client(server.port());
        const QByteArray auth = "Authorization: " + TestServer::bearer() + "\r\n";
        client.sendRaw("GET /v1/admin/export HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
                       "GET /v1/kv/k/100001 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
        const auto first = client.readResponse(10000);
        QVERIFY(first);
        QCOMPARE(first->body.count('\n'), 3001);
        const auto second = client.readResponse(10000);
        QVERIFY(second);
        QCOMPARE(second->json().value(u"data").toObject().value(u"n").toInt(), 1);
    }

    void anHttp10ClientGetsTheExportUntilTheConnectionCloses()
    {
        TestServer server;
        fill(server, 1200);
        HttpClient client(server.port());
        client.sendRaw("GET /v1/admin/export HTTP/1.0\r\nAuthorization: " + TestServer::bearer() +
                       "\r\n\r\n");
        QVERIFY(client.waitForClose(10000));
        const QByteArray all = client.pending();
        QVERIFY(all.startsWith("HTTP/1.1 200"));
        QVERIFY(!all.contains("Transfer-Encoding"));
        QCOMPARE(all.mid(all.indexOf("\r\n\r\n") + 4).count('\n'), 1201);
    }

    void importRoundTripsAnExportIntoAnotherServer()
    {
        TestServer from;
        fill(from, 1500);
        const QByteArray dump = call(from, "GET", "/v1/admin/export").body;
        TestServer to;
        HttpResponse r = call(to, "POST", "/v1/admin/import?dry_run=true", dump);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(u"data").toObject().value(u"created").toInt(), 1501);
        QCOMPARE(call(to, "GET", "/v1/kv/k/100000").status, 404); // a dry run writes nothing
        r = call(to, "POST", "/v1/admin/import", dump);
        QCOMPARE(r.status, 200);
        const QJsonObject data = r.json().value(u"data").toObject();
        QCOMPARE(data.value(u"created").toInt(), 1501);
        QCOMPARE(data.value(u"invalid").toInt(), 0);
        QCOMPARE(call(to, "GET", "/v1/kv/k/101499").json().value(u"data").toObject().value(u"n").toInt(),
                 1499);
        const HttpResponse unicode = call(to, "GET", "/v1/kv/%C3%BC%2F%D0%BA%D0%BB%D1%8E%D1%87");
        QCOMPARE(unicode.status, 200);
        QVERIFY(unicode.hasHeader("expires"));
        QCOMPARE(call(to, "GET", "/v1/admin/export").body, dump);
        // Again, skipping what exists: nothing changes.
        r = call(to, "POST", "/v1/admin/import?on_conflict=skip", dump);
        QCOMPARE(r.json().value(u"data").toObject().value(u"unchanged").toInt(), 1501);
    }

    void importReportsBadRecordsAndBrokenInput()
    {
        TestServer server;
        HttpResponse r = call(server, "POST", "/v1/admin/import",
                              "{\"key\":\"a\",\"value\":1}\n{\"key\":\"b\"}\n{\"key\":\"c\",\"value\":3}\n");
        QCOMPARE(r.status, 200);
        const QJsonObject data = r.json().value(u"data").toObject();
        QCOMPARE(data.value(u"created").toInt(), 2);
        QCOMPARE(data.value(u"invalid").toInt(), 1);
        QCOMPARE(data.value(u"firstInvalid").toObject().value(u"line").toInt(), 2);
        r = call(server, "POST", "/v1/admin/import", "[{\"key\":\"d\",\"value\":\"1\"},");
        QCOMPARE(r.status, 400);
        QVERIFY(r.json().value(u"error").toString().contains(u"line 1"_s));
        // What came before the break is written, and counted.
        QCOMPARE(r.json().value(u"data").toObject().value(u"created").toInt(), 1);
        QCOMPARE(call(server, "POST", "/v1/admin/import?dry_run=maybe", "{}").status, 400);
        QCOMPARE(call(server, "POST", "/v1/admin/import?on_conflict=merge", "{}").status, 400);
        r = call(server, "GET", "/v1/admin/import");
        QCOMPARE(r.status, 405);
        QCOMPARE(r.header("allow"), "POST");
        QCOMPARE(call(server, "GET", "/v1/kv/a").status, 200);
        QCOMPARE(call(server, "GET", "/v1/kv/d").status, 200);
        QCOMPARE(call(server, "GET", "/v1/kv/b").status, 404);
    }

    void theOpenApiDocumentDescribesBoth()
    {
        TestServer server;
        HttpClient client(server.port());
        const QJsonObject paths = client.request("GET", "/open-api.json").json().value(u"paths").toObject();
        QVERIFY(paths.contains(u"/v1/admin/export"_s));
        QVERIFY(paths.value(u"/v1/admin/import"_s).toObject().contains(u"post"_s));
    }
};

QTEST_GUILESS_MAIN(TestTransferApi)
#include "tst_transferapi.moc"
