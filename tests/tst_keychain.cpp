// Against a real Secret Service (gnome-keyring in a private D-Bus session, see
// run-with-keyring.sh): the keychain wrapper, `kvdesk credentials`, and the headless server
// reading the keychain under the environment's credentials.
#include "httpclient.h"

#include "credentials/keychainstore.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace kvdesk;
using namespace kvdesk::test;
using namespace Qt::StringLiterals;

namespace {

QByteArray run(const QStringList &args, int *status = nullptr)
{
    QProcess p;
    p.start(QStringLiteral(KVDESK_BINARY), args);
    p.waitForFinished(20000);
    if (status)
        *status = p.exitCode();
    return p.readAllStandardOutput() + p.readAllStandardError();
}

// kvdesk --no-gui on a free port; the port, or 0.
class Server
{
public:
    Server(const QString &db, const QString &envKey = {})
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(u"KV_API_KEY"_s);
        if (!envKey.isEmpty())
            env.insert(u"KV_API_KEY"_s, envKey);
        m_process.setProcessEnvironment(env);
        m_process.start(QStringLiteral(KVDESK_BINARY), {u"--no-gui"_s, u"--port"_s, u"0"_s, u"--db"_s, db});
        const QRegularExpression re(u"listening on http://127\\.0\\.0\\.1:(\\d+)"_s);
        for (int i = 0; i < 100 && port == 0; ++i) {
            m_process.waitForReadyRead(100);
            output += m_process.readAllStandardOutput();
            const auto m = re.match(QString::fromUtf8(output));
            if (m.hasMatch())
                port = quint16(m.captured(1).toUInt());
        }
    }
    ~Server()
    {
        m_process.terminate();
        m_process.waitForFinished(10000);
    }
    int status(const QString &key)
    {
        HttpClient c(port);
        return c.request("GET", "/v1/kv/x", {}, {{"Authorization", "Bearer " + key.toUtf8()}}).status;
    }

    quint16 port = 0;
    QByteArray output;

private:
    QProcess m_process;
};

} // namespace

class TestKeychain : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(qEnvironmentVariableIsSet("DBUS_SESSION_BUS_ADDRESS"), "run me through run-with-keyring.sh");
    }

    void writeReadAndRemoveAnEntry()
    {
        KeychainStore store;
        QVERIFY(store.writeNow(u"tst-entry"_s, "s3cret\0bytes").ok());
        const SecretResult read = store.readNow(u"tst-entry"_s);
        QVERIFY2(read.ok(), qPrintable(read.message));
        QCOMPARE(read.data, QByteArray("s3cret\0bytes"));
        QVERIFY(store.removeNow(u"tst-entry"_s).ok());
        QCOMPARE(store.readNow(u"tst-entry"_s).error, SecretResult::Error::NotFound);
    }

    void rotatedKeysReplaceTheOldOneForTheHeadlessServer()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath(u"kv.sqlite"_s);
        int status = 0;
        run({u"credentials"_s, u"set"_s, u"--api-key"_s, u"first-key-0123456789"_s}, &status);
        QCOMPARE(status, 0);
        {
            Server server(db);
            QVERIFY(server.port);
            QVERIFY2(server.output.contains("kept in the OS keychain"), server.output.constData());
            QCOMPARE(server.status(u"first-key-0123456789"_s), 404);
            QCOMPARE(server.status(u"wrong"_s), 401);
        }
        const QByteArray rotated = run({u"credentials"_s, u"rotate"_s}, &status);
        QCOMPARE(status, 0);
        const QString fresh = QString::fromUtf8(rotated).section(u": "_s, -1).trimmed();
        QCOMPARE(fresh.size(), 43);
        QVERIFY(run({u"credentials"_s, u"show"_s}).contains(fresh.toUtf8()));
        {
            Server server(db);
            QVERIFY(server.port);
            QCOMPARE(server.status(u"first-key-0123456789"_s), 401);
            QCOMPARE(server.status(fresh), 404);
        }
        // The environment wins over the keychain.
        {
            Server server(db, u"from-the-environment"_s);
            QVERIFY(server.port);
            QCOMPARE(server.status(u"from-the-environment"_s), 404);
            QCOMPARE(server.status(fresh), 401);
        }
        run({u"credentials"_s, u"clear"_s}, &status);
        QCOMPARE(status, 0);
        QVERIFY(run({u"credentials"_s, u"show"_s}).contains("Strategies on: none"));
    }
};

QTEST_GUILESS_MAIN(TestKeychain)
#include "tst_keychain.moc"
