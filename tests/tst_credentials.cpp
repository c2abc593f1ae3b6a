// The credentials layer with a fake keychain: the vault's entry, the precedence of flags and
// the environment over the keychain, API key generation, and `kvdesk credentials`.
#include "fakesecretstore.h"

#include "commands/credentialscommand.h"
#include "credentials/credentialvault.h"
#include "launch.h"
#include "store/postgresoptions.h"

#include <QElapsedTimer>
#include <QLocalServer>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QTest>

using namespace kvdesk;
using namespace kvdesk::test;
using namespace Qt::StringLiterals;

namespace {

struct Outcome
{
    int status = 0;
    QByteArray out;
    QByteArray err;
};

Outcome runCommand(FakeSecretStore &store, const QStringList &args)
{
    QTemporaryFile out;
    QTemporaryFile err;
    out.open();
    err.open();
    FILE *o = fdopen(dup(out.handle()), "w");
    FILE *e = fdopen(dup(err.handle()), "w");
    Outcome r;
    r.status = runCredentialsCommand(QStringList{u"credentials"_s} + args, store, o, e);
    fclose(o);
    fclose(e);
    out.seek(0);
    err.seek(0);
    r.out = out.readAll();
    r.err = err.readAll();
    return r;
}

} // namespace

class TestCredentials : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void theVaultKeepsEverySettingInOneEntry()
    {
        FakeSecretStore store;
        CredentialVault vault(store);
        AuthSettings s;
        s.apiKey = u"k"_s;
        s.username = u"u"_s;
        s.password = u"p:ä"_s;
        s.jwksUrl = u"https://example.com/jwks"_s;
        s.jwtAudience = u"aud"_s;
        QVERIFY(vault.saveNow(s).ok());
        QCOMPARE(store.entries.size(), 1);
        QVERIFY(store.entries.contains(u"server-credentials"_s));
        const auto [loaded, result] = vault.loadNow();
        QVERIFY(result.ok());
        QCOMPARE(loaded.password, s.password);
        QCOMPARE(loaded.jwksUrl, s.jwksUrl);
        QCOMPARE(loaded.jwtAudience, s.jwtAudience);
        QVERIFY(loaded.jwtSecret.isEmpty());
        QVERIFY(vault.clearNow().ok());
        QVERIFY(vault.clearNow().ok()); // nothing to clear is fine
        const auto [empty, none] = vault.loadNow();
        QVERIFY(none.ok());
        QVERIFY(!empty.anyEnabled());
    }

    void aBrokenEntryOrKeychainIsAnErrorInWords()
    {
        FakeSecretStore store;
        store.entries.insert(u"server-credentials"_s, "not json");
        CredentialVault vault(store);
        auto [s, r] = vault.loadNow();
        QCOMPARE(r.error, SecretResult::Error::Failed);
        QVERIFY(r.message.contains(u"unreadable"_s));
        store.failWith = SecretResult::Error::Timeout;
        std::tie(s, r) = vault.loadNow();
        QCOMPARE(r.error, SecretResult::Error::Timeout);
    }

    void generatedApiKeysAre32RandomBytesInUrlSafeBase64()
    {
        const QString a = CredentialVault::generateApiKey();
        const QString b = CredentialVault::generateApiKey();
        QCOMPARE(a.size(), 43);
        QVERIFY(a != b);
        QVERIFY(QRegularExpression(u"^[A-Za-z0-9_-]{43}$"_s).match(a).hasMatch());
        QCOMPARE(QByteArray::fromBase64(a.toLatin1(), QByteArray::Base64UrlEncoding).size(), 32);
    }

    void aPostgresPasswordComesFromTheKeychain()
    {
        FakeSecretStore store;
        store.entries.insert(u"postgres:postgres://kv@db.example:6543/kv"_s, "s3cret pass");
        Config config;
        config.databasePath = u"postgres://kv@db.example:6543/kv?sslmode=require"_s;
        Launch::fillDatabasePassword(config, store);
        QString error;
        const auto filled = PostgresOptions::fromUrl(config.databasePath, &error);
        QVERIFY2(filled, qPrintable(error));
        QCOMPARE(filled->password, u"s3cret pass"_s);
        QCOMPARE(filled->connectOptions, u"sslmode=require;connect_timeout=2"_s);
        // A URL that names its password keeps it; another database finds nothing; a file is a file.
        config.databasePath = u"postgres://kv:given@db.example:6543/kv"_s;
        Launch::fillDatabasePassword(config, store);
        QCOMPARE(PostgresOptions::fromUrl(config.databasePath, &error)->password, u"given"_s);
        config.databasePath = u"postgres://kv@db.example:6543/other"_s;
        Launch::fillDatabasePassword(config, store);
        QCOMPARE(config.databasePath, u"postgres://kv@db.example:6543/other"_s);
        config.databasePath = u"/tmp/kv.sqlite"_s;
        Launch::fillDatabasePassword(config, store);
        QCOMPARE(config.databasePath, u"/tmp/kv.sqlite"_s);
    }

    void flagsAndTheEnvironmentWinOverTheKeychain()
    {
        AuthSettings stored;
        stored.apiKey = u"from-keychain"_s;
        stored.username = u"ku"_s;
        stored.password = u"kp"_s;
        stored.jwtSecret = u"ks"_s;
        AuthSettings effective;
        effective.apiKey = u"from-env"_s;
        AuthEnvNames switches;
        const QStringList taken = CredentialVault::merge(effective, stored, switches);
        QCOMPARE(effective.apiKey, u"from-env"_s);
        QCOMPARE(effective.username, u"ku"_s);
        QCOMPARE(effective.jwtSecret, u"ks"_s);
        QCOMPARE(taken, (QStringList{u"basic"_s, u"jwt"_s}));
        // A strategy switched off by the config file stays off.
        AuthSettings none;
        AuthEnvNames off;
        off.apiKey.reset();
        off.basic = false;
        off.jwt = false;
        QVERIFY(CredentialVault::merge(none, stored, off).isEmpty());
        QVERIFY(!none.anyEnabled());
    }

    void theCommandShowsSetsRotatesAndClears()
    {
        FakeSecretStore store;
        Outcome r = runCommand(store, {u"show"_s});
        QCOMPARE(r.status, 0);
        QCOMPARE(r.out, "Strategies on: none\n");
        r = runCommand(store, {u"set"_s, u"--username"_s, u"ada"_s, u"--password"_s, u"pw"_s});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.contains("basic (user \"ada\")"), r.out.constData());
        r = runCommand(store, {u"rotate"_s});
        QCOMPARE(r.status, 0);
        const QString key = QString::fromUtf8(r.out).section(u": "_s, -1).trimmed();
        QCOMPARE(key.size(), 43);
        r = runCommand(store, {u"show"_s});
        QVERIFY(r.out.contains("api key, basic"));
        QVERIFY(r.out.contains(QByteArray(QByteArray("API key: ") + key.toUtf8())));
        r = runCommand(store, {u"set"_s, u"--api-key"_s, QString()});
        QVERIFY(!runCommand(store, {u"show"_s}).out.contains("API key"));
        r = runCommand(store, {u"clear"_s});
        QCOMPARE(r.status, 0);
        QVERIFY(store.entries.isEmpty());
    }

    void theCommandRefusesBadUsageAndReportsAFailingKeychain()
    {
        FakeSecretStore store;
        QCOMPARE(runCommand(store, {}).status, 2);
        QCOMPARE(runCommand(store, {u"dance"_s}).status, 2);
        QCOMPARE(runCommand(store, {u"set"_s, u"--username"_s, u"only"_s}).status, 2);
        QCOMPARE(runCommand(store, {u"show"_s, u"--bogus"_s}).status, 2);
        store.failWith = SecretResult::Error::NoKeychain;
        const Outcome r = runCommand(store, {u"rotate"_s});
        QCOMPARE(r.status, 1);
        QVERIFY(r.err.contains("unavailable"));
    }

    void aKeychainThatNeverAnswersTimesOut()
    {
        // A session bus that accepts connections and never says a word.
        QTemporaryDir dir;
        QLocalServer silent;
        QVERIFY(silent.listen(dir.filePath(u"bus"_s)));
        QList<QLocalSocket *> held;
        QObject::connect(&silent, &QLocalServer::newConnection, this, [&] {
            while (silent.hasPendingConnections())
                held << silent.nextPendingConnection();
        });
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"DBUS_SESSION_BUS_ADDRESS"_s, u"unix:path="_s + dir.filePath(u"bus"_s));
        env.remove(u"DISPLAY"_s);
        env.insert(u"HOME"_s, dir.path());
        p.setProcessEnvironment(env);
        QElapsedTimer t;
        t.start();
        p.start(QStringLiteral(KVDESK_BINARY), {u"credentials"_s, u"show"_s});
        while (p.state() != QProcess::NotRunning && t.elapsed() < 15000)
            QTest::qWait(50);
        QCOMPARE(p.state(), QProcess::NotRunning);
        QCOMPARE(p.exitCode(), 1);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("did not answer") || err.contains("keychain"), err.constData());
        qInfo("the keychain job ended after %lld ms", t.elapsed());
        QVERIFY(t.elapsed() < 8000);
    }
};

QTEST_GUILESS_MAIN(TestCredentials)
#include "tst_credentials.moc"
