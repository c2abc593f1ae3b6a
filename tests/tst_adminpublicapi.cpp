#include "testdatabase.h"
#include "testserver.h"

#include "store/postgresoptions.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace kvdesk;
using namespace kvdesk::test;

class TestAdminPublicApi : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void infoShowsTheEffectiveConfigurationWithoutSecrets()
    {
        TestServer server([](Config &c) {
            c.auth.apiKey = u"SECRET-API-KEY"_s;
            c.auth.username = u"admin-user"_s;
            c.auth.password = u"SECRET-PASSWORD"_s;
            c.auth.jwtSecret = u"SECRET-JWT"_s;
            c.auth.jwtIssuer = u"issuer"_s;
            c.authEnv.apiKey = u"MY_API_KEY"_s;
            c.endpoints.basePath = u"/base"_s;
        });
        HttpClient client(server.port());
        const HttpResponse r =
            client.request("GET", "/base/v1/admin/info", {}, {{"Authorization", "Bearer SECRET-API-KEY"}});
        QCOMPARE(r.status, 200);
        for (const char *secret : {"SECRET-API-KEY", "SECRET-PASSWORD", "SECRET-JWT"})
            QVERIFY2(!r.body.contains(secret), secret);
        const QJsonObject data = r.json().value(u"data").toObject();
        const QJsonObject auth = data.value(u"auth").toObject();
        QCOMPARE(auth.value(u"apiKey").toObject().value(u"env").toObject().value(u"apiKey").toString(),
                 u"MY_API_KEY"_s);
        QCOMPARE(auth.value(u"apiKey").toObject().value(u"enabled").toBool(), true);
        QCOMPARE(auth.value(u"basic").toObject().value(u"enabled").toBool(), true);
        QCOMPARE(auth.value(u"basic").toObject().value(u"env").toObject().value(u"password").toString(),
                 u"KV_PASSWORD"_s);
        QCOMPARE(auth.value(u"jwt").toObject().value(u"enabled").toBool(), true);
        QCOMPARE(data.value(u"basePath").toString(), u"/base"_s);
        QCOMPARE(data.value(u"endpoints").toObject().value(u"v1").toObject().value(u"kv").toString(),
                 u"/v1/kv"_s);
        QCOMPARE(data.value(u"endpoints").toObject().value(u"v1").toObject().value(u"admin").toString(),
                 u"/v1/admin"_s);
        QCOMPARE(data.value(u"endpoints").toObject().value(u"public").toString(), u"/"_s);
        QCOMPARE(data.value(u"env").toObject().value(u"database").toString(), u"KV_DB"_s);
        QCOMPARE(data.value(u"version").toString(), QStringLiteral(KVDESK_VERSION));
        const QJsonObject storage = data.value(u"storage").toObject();
        if (TestDatabase::isPostgres()) {
            QCOMPARE(storage.value(u"driver").toString(), u"postgres"_s);
            // The URL without its password.
            const QString location = storage.value(u"location").toString();
            QVERIFY2(location.startsWith(u"postgres://kvdesk@127.0.0.1:"_s), qPrintable(location));
            QString error;
            const QString password = PostgresOptions::fromUrl(TestDatabase::postgresUrl(), &error)->password;
            QVERIFY(!password.isEmpty());
            QVERIFY(!QString::fromUtf8(r.body).contains(password));
        } else {
            QCOMPARE(storage.value(u"driver").toString(), u"sqlite"_s);
            QVERIFY(storage.value(u"location").toString().endsWith(u"kv.sqlite"_s));
        }
    }

    void adminRoutes()
    {
        TestServer server;
        HttpClient client(server.port());
        QCOMPARE(client.request("POST", "/v1/admin/info", {}, TestServer::auth()).status, 405);
        QCOMPARE(client.request("GET", "/v1/admin/migrate", {}, TestServer::auth()).header("allow"),
                 QByteArray("POST"));
        QCOMPARE(client.request("GET", "/v1/admin/nothing", {}, TestServer::auth()).status, 404);
        QCOMPARE(client.request("GET", "/v1/admin/info").status, 401);
    }

    void migrateIsEmptyWhenUpToDate()
    {
        TestServer server;
        HttpClient client(server.port());
        const HttpResponse r = client.request("POST", "/v1/admin/migrate", {}, TestServer::auth());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(u"data").toArray(), QJsonArray());
    }

    void migrateRunsPendingMigrations()
    {
        TestServer server([](Config &c) { c.autoMigrate = false; });
        HttpClient client(server.port());
        const HttpResponse before = client.request("GET", "/v1/kv/a", {}, TestServer::auth());
        QCOMPARE(before.status, 503);
        QVERIFY(before.json().value(u"error").toString().contains(u"migrat"_s));
        const HttpResponse r = client.request("POST", "/v1/admin/migrate", {}, TestServer::auth());
        QCOMPARE(r.status, 200);
        const QJsonArray data = r.json().value(u"data").toArray();
        QCOMPARE(data.size(), TestDatabase::isPostgres() ? 4 : 3); // PostgreSQL: the wider columns
        QCOMPARE(data[0].toObject(),
                 (QJsonObject{{u"migrationName"_s, u"1688823193041_add_initial_tables_and_indexes"_s},
                              {u"direction"_s, u"Up"_s},
                              {u"status"_s, u"Success"_s}}));
        QCOMPARE(client.request("PUT", "/v1/kv/a", R"({"value":1})", TestServer::auth()).status, 200);
        QCOMPARE(client.request("POST", "/v1/admin/migrate", {}, TestServer::auth())
                     .json()
                     .value(u"data")
                     .toArray()
                     .size(),
                 0);
    }

    void healthNeedsNoCredentials()
    {
        TestServer server;
        HttpClient client(server.port());
        const HttpResponse r = client.request("GET", "/health");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray(R"({"status":200,"success":true,"data":"OK"})"));
        QCOMPARE(client.request("POST", "/health").status, 405);
    }

    void openApiReflectsTheConfiguredPaths()
    {
        TestServer server([](Config &c) {
            c.endpoints.basePath = u"/api"_s;
            c.endpoints.kv = u"/custom-kv"_s;
            c.endpoints.admin.reset();
        });
        HttpClient client(server.port());
        const HttpResponse r = client.request("GET", "/api/open-api.json");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("access-control-allow-origin"), QByteArray("*"));
        QCOMPARE(r.header("access-control-allow-methods"), QByteArray("GET, OPTIONS"));
        QCOMPARE(r.header("access-control-allow-private-network"), QByteArray("true"));
        const QJsonObject doc = QJsonDocument::fromJson(r.body).object();
        QVERIFY(doc.value(u"openapi").toString().startsWith(u"3."_s));
        QVERIFY(!doc.contains(u"status"_s)); // not an envelope
        QCOMPARE(doc.value(u"servers").toArray()[0].toObject().value(u"url").toString(),
                 u"http://127.0.0.1"_s);
        const QJsonObject paths = doc.value(u"paths").toObject();
        QVERIFY(paths.contains(u"/api/custom-kv/{key}"_s));
        QVERIFY(paths.contains(u"/api/custom-kv"_s));
        QVERIFY(paths.contains(u"/api/health"_s));
        QVERIFY(paths.contains(u"/api/open-api.json"_s));
        QVERIFY(!paths.contains(u"/api/v1/admin/info"_s));
        const QJsonObject key = paths.value(u"/api/custom-kv/{key}"_s).toObject();
        QVERIFY(key.contains(u"get"_s) && key.contains(u"put"_s) && key.contains(u"delete"_s));
        QVERIFY(key.value(u"put"_s).toObject().contains(u"requestBody"_s));
        QVERIFY(key.value(u"put"_s).toObject().value(u"responses"_s).toObject().contains(u"412"_s));
        QVERIFY(doc.value(u"components")
                    .toObject()
                    .value(u"securitySchemes")
                    .toObject()
                    .contains(u"bearerAuth"_s));

        const HttpResponse withHost = client.request("GET", "/api/open-api.json", {}, {});
        QVERIFY(!withHost.body.isEmpty());
        const HttpResponse options = client.request("OPTIONS", "/api/open-api.json");
        QCOMPARE(options.status, 200);
        QCOMPARE(options.header("access-control-allow-methods"), QByteArray("GET, OPTIONS"));
        QVERIFY(options.body.isEmpty());
    }

    void openApiServerUrlFollowsTheHostHeader()
    {
        TestServer server;
        HttpClient client(server.port());
        client.sendRaw("GET /open-api.json HTTP/1.1\r\nHost: kv.example:9000\r\n\r\n");
        const auto r = client.readResponse();
        QVERIFY(r);
        QCOMPARE(QJsonDocument::fromJson(r->body)
                     .object()
                     .value(u"servers")
                     .toArray()[0]
                     .toObject()
                     .value(u"url")
                     .toString(),
                 u"http://kv.example:9000"_s);
        const QJsonObject paths = QJsonDocument::fromJson(r->body).object().value(u"paths").toObject();
        QVERIFY(paths.contains(u"/v1/admin/info"_s) && paths.contains(u"/v1/admin/migrate"_s) &&
                paths.contains(u"/v1/kv/{key}"_s));
    }
};

QTEST_GUILESS_MAIN(TestAdminPublicApi)
#include "tst_adminpublicapi.moc"
