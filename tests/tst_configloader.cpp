#include "config/configloader.h"
#include "store/postgresoptions.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace kvdesk;

namespace {

QProcessEnvironment env(const QList<QPair<QString, QString>> &vars)
{
    QProcessEnvironment e;
    for (const auto &[k, v] : vars)
        e.insert(k, v);
    return e;
}

Config load(const QStringList &args, const QProcessEnvironment &environment = {})
{
    Config config;
    ConfigLoader::load(QStringList{QStringLiteral("kvdesk")} + args, environment, &config);
    return config;
}

QString loadError(const QStringList &args, const QProcessEnvironment &environment = {})
{
    try {
        load(args, environment);
    } catch (const ConfigError &e) {
        return e.message();
    }
    return {};
}

} // namespace

class TestConfigLoader : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString writeConfig(const QByteArray &json)
    {
        static int n = 0;
        const QString path = m_dir.filePath(QStringLiteral("c%1.json").arg(++n));
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(json);
        return path;
    }

private Q_SLOTS:
    void defaults()
    {
        const Config c = load({});
        QCOMPARE(c.host, QStringLiteral("127.0.0.1"));
        QCOMPARE(c.port, quint16(8787));
        QVERIFY(c.databasePath.endsWith(QStringLiteral("/kv.sqlite")));
        QCOMPARE(*c.endpoints.kv, QStringLiteral("/v1/kv"));
        QCOMPARE(*c.endpoints.admin, QStringLiteral("/v1/admin"));
        QCOMPARE(*c.endpoints.publicPrefix, QStringLiteral("/"));
        QVERIFY(!c.auth.anyEnabled());
        QVERIFY(!c.noGui);
        QCOMPARE(c.threads, std::max(1, QThread::idealThreadCount()));
        QCOMPARE(c.cacheBytes, 256 * 1024 * 1024);
    }

    void flagsWinOverEnvironmentOverConfigFile()
    {
        const QString file = writeConfig(
            R"({"server": {"port": 9000, "database": "/tmp/from-file.sqlite"}, "basePath": "/file"})");
        Config c = load({QStringLiteral("--config"), file});
        QCOMPARE(c.port, quint16(9000));
        QCOMPARE(c.databasePath, QStringLiteral("/tmp/from-file.sqlite"));
        QCOMPARE(c.endpoints.basePath, QStringLiteral("/file"));
        c = load({QStringLiteral("--config"), file},
                 env({{QStringLiteral("KV_DB"), QStringLiteral("/tmp/from-env.sqlite")}}));
        QCOMPARE(c.databasePath, QStringLiteral("/tmp/from-env.sqlite"));
        c = load({QStringLiteral("--config"), file, QStringLiteral("--db"),
                  QStringLiteral("sqlite:///tmp/from-flag.sqlite"), QStringLiteral("--port"),
                  QStringLiteral("9001"), QStringLiteral("--base-path"), QStringLiteral("/flag/")},
                 env({{QStringLiteral("KV_DB"), QStringLiteral("/tmp/from-env.sqlite")}}));
        QCOMPARE(c.databasePath, QStringLiteral("/tmp/from-flag.sqlite"));
        QCOMPARE(c.port, quint16(9001));
        QCOMPARE(c.endpoints.basePath, QStringLiteral("/flag"));
    }

    void credentialsComeFromTheEnvironment()
    {
        const Config c = load({}, env({{QStringLiteral("KV_API_KEY"), QStringLiteral("k")},
                                       {QStringLiteral("KV_USERNAME"), QStringLiteral("u")},
                                       {QStringLiteral("KV_PASSWORD"), QStringLiteral("p")},
                                       {QStringLiteral("KV_JWT_SECRET"), QStringLiteral("s")},
                                       {QStringLiteral("KV_JWT_ISSUER"), QStringLiteral("iss")},
                                       {QStringLiteral("KV_JWT_AUDIENCE"), QStringLiteral("aud")}}));
        QCOMPARE(c.auth.apiKey, QStringLiteral("k"));
        QVERIFY(c.auth.basicEnabled());
        QVERIFY(c.auth.jwtSecretEnabled());
        QCOMPARE(c.auth.jwtIssuer, QStringLiteral("iss"));
        QCOMPARE(c.auth.jwtAudience, QStringLiteral("aud"));
    }

    void configFileRenamesEnvironmentVariables()
    {
        const QString file = writeConfig(R"({
            "auth": {"apiKey": {"env": {"apiKey": "MY_KEY"}},
                     "basic": {"env": {"username": "MY_USER", "password": "MY_PASS"}},
                     "jwt": {"env": {"secret": "MY_SECRET", "jwksUrl": "MY_JWKS", "issuer": "MY_ISS", "audience": "MY_AUD"}}},
            "env": {"database": "MY_DB"}})");
        const Config c = load({QStringLiteral("--config"), file},
                              env({{QStringLiteral("KV_API_KEY"), QStringLiteral("ignored")},
                                   {QStringLiteral("MY_KEY"), QStringLiteral("k")},
                                   {QStringLiteral("MY_USER"), QStringLiteral("u")},
                                   {QStringLiteral("MY_PASS"), QStringLiteral("p")},
                                   {QStringLiteral("MY_SECRET"), QStringLiteral("s")},
                                   {QStringLiteral("MY_ISS"), QStringLiteral("i")},
                                   {QStringLiteral("MY_DB"), QStringLiteral("/tmp/my.sqlite")}}));
        QCOMPARE(c.auth.apiKey, QStringLiteral("k"));
        QCOMPARE(c.auth.username, QStringLiteral("u"));
        QCOMPARE(c.auth.password, QStringLiteral("p"));
        QCOMPARE(c.auth.jwtSecret, QStringLiteral("s"));
        QCOMPARE(c.auth.jwtIssuer, QStringLiteral("i"));
        QCOMPARE(c.databasePath, QStringLiteral("/tmp/my.sqlite"));
        QCOMPARE(c.databaseEnv, QStringLiteral("MY_DB"));
    }

    void configFileSwitchesStrategiesAndGroupsOff()
    {
        const QString file = writeConfig(
            R"({"auth": {"basic": false}, "endpoints": {"v1": {"admin": false}, "public": "/pub"}})");
        const Config c = load({QStringLiteral("--config"), file},
                              env({{QStringLiteral("KV_USERNAME"), QStringLiteral("u")},
                                   {QStringLiteral("KV_PASSWORD"), QStringLiteral("p")}}));
        QVERIFY(!c.auth.basicEnabled());
        QVERIFY(!c.endpoints.admin);
        QCOMPARE(*c.endpoints.publicPrefix, QStringLiteral("/pub"));
        QCOMPARE(*c.endpoints.kv, QStringLiteral("/v1/kv"));
    }

    void endpointFlags()
    {
        const Config c = load({QStringLiteral("--kv-endpoint"), QStringLiteral("/custom-kv"),
                               QStringLiteral("--admin-endpoint"), QStringLiteral("false"),
                               QStringLiteral("--public-endpoint"), QStringLiteral("/p/")});
        QCOMPARE(*c.endpoints.kv, QStringLiteral("/custom-kv"));
        QVERIFY(!c.endpoints.admin);
        QCOMPARE(*c.endpoints.publicPrefix, QStringLiteral("/p"));
        QCOMPARE(EndpointPaths::join(QStringLiteral("/api"), QStringLiteral("/v1/kv")),
                 QStringLiteral("/api/v1/kv"));
        QCOMPARE(EndpointPaths::join(QStringLiteral("/"), QStringLiteral("/")), QString());
    }

    void badInputIsOneClearLine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("unknown flag") << QStringList{QStringLiteral("--bogus")} << QStringLiteral("bogus");
        QTest::newRow("port not a number")
            << QStringList{QStringLiteral("--port"), QStringLiteral("http")} << QStringLiteral("--port");
        QTest::newRow("port too big")
            << QStringList{QStringLiteral("--port"), QStringLiteral("70000")} << QStringLiteral("--port");
        QTest::newRow("bad host") << QStringList{QStringLiteral("--host"), QStringLiteral("not a host")}
                                  << QStringLiteral("--host");
        QTest::newRow("relative prefix") << QStringList{QStringLiteral("--kv-endpoint"), QStringLiteral("kv")}
                                         << QStringLiteral("--kv-endpoint");
        QTest::newRow("missing config")
            << QStringList{QStringLiteral("--config"), QStringLiteral("/nonexistent.json")}
            << QStringLiteral("/nonexistent.json");
        // Never the password in the message.
        QTest::newRow("postgres without database")
            << QStringList{QStringLiteral("--db"), QStringLiteral("postgres://u:secret@h")}
            << QStringLiteral("names no database");
        QTest::newRow("postgres bad port")
            << QStringList{QStringLiteral("--db"), QStringLiteral("postgres://u:secret@h:99999/db")}
            << QStringLiteral("not valid");
        QTest::newRow("memory") << QStringList{QStringLiteral("--db"), QStringLiteral(":memory:")}
                                << QStringLiteral("file");
        QTest::newRow("stray argument") << QStringList{QStringLiteral("extra")} << QStringLiteral("extra");
        QTest::newRow("bad timeout") << QStringList{QStringLiteral("--request-timeout"), QStringLiteral("-1")}
                                     << QStringLiteral("request-timeout");
    }
    void badInputIsOneClearLine()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        const QString error = loadError(args);
        QVERIFY2(error.contains(mentions), qPrintable(error));
        QVERIFY(!error.contains(u'\n'));
        QVERIFY(!error.contains(QStringLiteral("secret")));
    }

    void postgresUrlIsKeptWhole()
    {
        Config config;
        const auto outcome = ConfigLoader::load(
            {QStringLiteral("kvdesk"), QStringLiteral("--db"),
             QStringLiteral("postgresql://kv:s%40cret@db.example:6543/kv?sslmode=require")},
            QProcessEnvironment(), &config);
        QCOMPARE(outcome, ConfigLoader::Outcome::Run);
        QString error;
        const auto pg = PostgresOptions::fromUrl(config.databasePath, &error);
        QVERIFY2(pg, qPrintable(error));
        QCOMPARE(pg->host, QStringLiteral("db.example"));
        QCOMPARE(pg->port, 6543);
        QCOMPARE(pg->database, QStringLiteral("kv"));
        QCOMPARE(pg->user, QStringLiteral("kv"));
        QCOMPARE(pg->password, QStringLiteral("s@cret"));
        QCOMPARE(pg->connectOptions, QStringLiteral("sslmode=require;connect_timeout=2"));
        QCOMPARE(pg->displayUrl(), QStringLiteral("postgres://kv@db.example:6543/kv"));
    }

    void badConfigFiles_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not json") << QByteArray("{nope") << QStringLiteral("not valid JSON");
        QTest::newRow("not an object") << QByteArray("[]") << QStringLiteral("object");
        QTest::newRow("unknown key") << QByteArray(R"({"basepath": "/x"})") << QStringLiteral("basepath");
        QTest::newRow("unknown nested key") << QByteArray(R"({"auth": {"apiKey": {"env": {"key": "X"}}}})")
                                            << QStringLiteral("auth.apiKey.env.key");
        QTest::newRow("wrong type") << QByteArray(R"({"basePath": 3})") << QStringLiteral("basePath");
        QTest::newRow("bad prefix") << QByteArray(R"({"endpoints": {"v1": {"kv": "kv"}}})")
                                    << QStringLiteral("endpoints.v1.kv");
        QTest::newRow("bad port") << QByteArray(R"({"server": {"port": 99999}})")
                                  << QStringLiteral("server.port");
    }
    void badConfigFiles()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        const QString error = loadError({QStringLiteral("--config"), writeConfig(json)});
        QVERIFY2(error.contains(mentions), qPrintable(error));
    }

    void badJwksUrlIsRefused()
    {
        const QString error =
            loadError({}, env({{QStringLiteral("KV_JWKS_URL"), QStringLiteral("ftp://x/jwks")}}));
        QVERIFY(error.contains(QStringLiteral("KV_JWKS_URL")));
    }
};

QTEST_GUILESS_MAIN(TestConfigLoader)
#include "tst_configloader.moc"
