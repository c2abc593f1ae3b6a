// Credentials from the window: first launch, the dialog (rotate: the old key stops working over
// HTTP at once), and a missing keychain (told in words, the key still works for the session).
#include "fakesecretstore.h"
#include "guihelpers.h"
#include "testserver.h"

#include "auth/authenticator.h"
#include "credentials/credentialvault.h"
#include "mainwindow.h"
#include "serverpanel.h"
#include "store/postgresoptions.h"

#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>

using namespace kvdesk;
using namespace kvdesk::test;

class TestCredentialsGui : public QObject
{
    Q_OBJECT

private:
    static int status(TestServer &server, const QString &key)
    {
        HttpClient client(server.port());
        return client.request("GET", "/v1/kv/x", {}, {{"Authorization", "Bearer " + key.toUtf8()}}).status;
    }
    static AuthSettings stored(FakeSecretStore &store)
    {
        return CredentialVault::parse(store.entries.value(QStringLiteral("server-credentials")))
            .value_or(AuthSettings{});
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvdesk-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_credentialsgui"));
    }

    void firstLaunchGeneratesAnApiKeyAndKeepsIt()
    {
        TestServer server([](Config &c) { c.auth = AuthSettings{}; });
        FakeSecretStore store;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        QVERIFY(window.serverPanel().ensureCredentials());
        const QString key = server.server().authenticator().settings().apiKey;
        QCOMPARE(key.size(), 43);
        QCOMPARE(status(server, key), 404); // works at once
        QTRY_COMPARE(stored(store).apiKey, key);
        QVERIFY(!window.serverPanel().ensureCredentials()); // only when there is none
        QVERIFY(clickButton(window, "copyApiKeyButton"));
        QCOMPARE(QApplication::clipboard()->text(), key);
        QVERIFY(window.findChild<QLabel *>(QStringLiteral("authLabel"))->text().contains(key.left(4)));
    }

    void rotatingInTheDialogRetiresTheOldKeyAtOnce()
    {
        TestServer server;
        FakeSecretStore store;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        const QString old = QString::fromLatin1(TestServer::apiKey);
        QCOMPARE(status(server, old), 404);
        window.findChild<QAction *>(QStringLiteral("actionCredentials"))->trigger();
        auto *dialog = waitForChild<QDialog>(window, QStringLiteral("credentialsDialog"));
        QVERIFY(dialog);
        auto *keyEdit = dialog->findChild<QLineEdit *>(QStringLiteral("apiKeyEdit"));
        QCOMPARE(keyEdit->text(), old);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("generateApiKeyButton")),
                          Qt::LeftButton);
        const QString fresh = keyEdit->text();
        QVERIFY(fresh != old && fresh.size() == 43);
        // Basic on as well.
        dialog->findChild<QCheckBox *>(QStringLiteral("basicOn"))->setChecked(true);
        auto *save = dialog->findChild<QAbstractButton *>(QStringLiteral("saveCredentialsButton"));
        QVERIFY(!save->isEnabled()); // Basic needs a pair
        QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("usernameEdit")),
                         QStringLiteral("ada"));
        QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("passwordEdit")),
                         QStringLiteral("secret"));
        QVERIFY(save->isEnabled());
        QTest::mouseClick(save, Qt::LeftButton);
        QCOMPARE(status(server, old), 401);
        QCOMPARE(status(server, fresh), 404);
        HttpClient basic(server.port());
        QCOMPARE(basic
                     .request("GET", "/v1/kv/x", {},
                              {{"Authorization", "Basic " + QByteArray("ada:secret").toBase64()}})
                     .status,
                 404);
        QTRY_COMPARE(stored(store).apiKey, fresh);
        QCOMPARE(stored(store).username, QStringLiteral("ada"));
    }

    void withoutAKeychainTheKeyWorksForTheSessionAndTheUserIsTold()
    {
        TestServer server([](Config &c) { c.auth = AuthSettings{}; });
        FakeSecretStore store;
        store.failWith = SecretResult::Error::NoKeychain;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        QVERIFY(window.serverPanel().ensureCredentials());
        const QString key = server.server().authenticator().settings().apiKey;
        QCOMPARE(status(server, key), 404);
        auto *note = window.findChild<QLabel *>(QStringLiteral("keychainStatus"));
        QTRY_VERIFY(note->text().contains(QStringLiteral("session only")));
        QVERIFY(note->isVisible());
        QVERIFY(note->text().contains(QStringLiteral("unavailable")));
    }

    void aSlowKeychainNeverBlocksTheWindow()
    {
        TestServer server([](Config &c) { c.auth = AuthSettings{}; });
        FakeSecretStore store;
        store.delayMs = 1500;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        QElapsedTimer t;
        t.start();
        QVERIFY(window.serverPanel().ensureCredentials());
        QVERIFY(t.elapsed() < 500);
        QVERIFY(window.findChild<QLabel *>(QStringLiteral("keychainStatus"))
                    ->text()
                    .contains(QStringLiteral("Saving")));
        QTRY_VERIFY_WITH_TIMEOUT(!stored(store).apiKey.isEmpty(), 5000);
    }

    void openingAPostgresDatabaseKeepsItsPasswordAndReopens()
    {
        TestServer server;
        FakeSecretStore store;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        QSignalSpy reopen(&window, &MainWindow::reopenRequested);
        window.findChild<QAction *>(QStringLiteral("actionOpenPostgres"))->trigger();
        auto *dialog = waitForChild<QDialog>(window, QStringLiteral("databaseDialog"));
        QVERIFY(dialog);
        auto edit = [dialog](const char *name) {
            return dialog->findChild<QLineEdit *>(QString::fromLatin1(name));
        };
        auto *open = dialog->findChild<QAbstractButton *>(QStringLiteral("databaseOpen"));
        edit("databaseName")->clear();
        QVERIFY(!open->isEnabled()); // a database is needed
        QTest::keyClicks(edit("databaseName"), QStringLiteral("kv"));
        QVERIFY(open->isEnabled());
        edit("databaseHost")->setText(QStringLiteral("db.example"));
        dialog->findChild<QSpinBox *>(QStringLiteral("databasePort"))->setValue(6543);
        edit("databaseUser")->setText(QStringLiteral("kv"));
        QTest::keyClicks(edit("databasePassword"), QStringLiteral("s3cret pass"));
        dialog->findChild<QComboBox *>(QStringLiteral("databaseSsl"))->setCurrentIndex(1); // require
        QVERIFY(dialog->findChild<QCheckBox *>(QStringLiteral("databaseKeepPassword"))->isChecked());
        QTest::mouseClick(open, Qt::LeftButton);
        QTRY_COMPARE(reopen.size(), 1);
        const QString database = reopen.first().first().toString();
        QString error;
        const auto options = PostgresOptions::fromUrl(database, &error);
        QVERIFY2(options, qPrintable(error));
        QCOMPARE(options->host, QStringLiteral("db.example"));
        QCOMPARE(options->port, 6543);
        QCOMPARE(options->database, QStringLiteral("kv"));
        QCOMPARE(options->password, QStringLiteral("s3cret pass"));
        QVERIFY(options->connectOptions.startsWith(QStringLiteral("sslmode=require")));
        // Kept where kvdesk --db postgres://kv@db.example:6543/kv looks for it.
        QCOMPARE(store.entries.value(QStringLiteral("postgres:postgres://kv@db.example:6543/kv")),
                 QByteArray("s3cret pass"));
    }

    void aKeychainThatRefusesThePasswordKeepsTheDialogOpen()
    {
        TestServer server;
        FakeSecretStore store;
        store.failWith = SecretResult::Error::Denied;
        CredentialVault vault(store);
        MainWindow window(server.server(), server.clock(), &vault);
        window.show();
        QSignalSpy reopen(&window, &MainWindow::reopenRequested);
        window.findChild<QAction *>(QStringLiteral("actionOpenPostgres"))->trigger();
        auto *dialog = waitForChild<QDialog>(window, QStringLiteral("databaseDialog"));
        QVERIFY(dialog);
        QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("databasePassword")),
                         QStringLiteral("pw"));
        auto *open = dialog->findChild<QAbstractButton *>(QStringLiteral("databaseOpen"));
        QTest::mouseClick(open, Qt::LeftButton);
        QTRY_VERIFY(!dialog->findChild<QLabel *>(QStringLiteral("databaseError"))->text().isEmpty() &&
                    open->isEnabled());
        QCOMPARE(reopen.size(), 0);
        QVERIFY(!dialog->findChild<QCheckBox *>(QStringLiteral("databaseKeepPassword"))->isChecked());
        QTest::mouseClick(open, Qt::LeftButton); // then opens without keeping it
        QTRY_COMPARE(reopen.size(), 1);
        QVERIFY(store.entries.isEmpty());
    }
};

QTEST_MAIN(TestCredentialsGui)
#include "tst_credentialsgui.moc"
