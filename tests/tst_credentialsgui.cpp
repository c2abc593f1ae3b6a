// Credentials from the window: first launch, the dialog (rotate: the old key stops working over
// HTTP at once), and a missing keychain (told in words, the key still works for the session).
#include "fakesecretstore.h"
#include "guihelpers.h"
#include "testserver.h"

#include "auth/authenticator.h"
#include "credentials/credentialvault.h"
#include "mainwindow.h"
#include "serverpanel.h"

#include <QCheckBox>
#include <QClipboard>
#include <QLabel>
#include <QLineEdit>
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
};

QTEST_MAIN(TestCredentialsGui)
#include "tst_credentialsgui.moc"
