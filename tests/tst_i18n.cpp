// Translations: the command line and the window follow the user's language (--lang, or the
// locale), Qt's own strings too, while the HTTP API keeps speaking English.
#include "guihelpers.h"
#include "httpclient.h"
#include "testserver.h"

#include "i18n/translations.h"
#include "mainwindow.h"

#include <QDialogButtonBox>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QTranslator>

using namespace Qt::StringLiterals;
using namespace kvdesk;
using namespace kvdesk::test;

namespace {

// kvdesk with the language settings of a user's session: `locale` as LANG (LC_ALL and
// LANGUAGE, which win over it, removed).
QProcessEnvironment sessionIn(const QString &locale)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const auto &name : {u"LC_ALL"_s, u"LC_MESSAGES"_s, u"LANGUAGE"_s, u"KV_API_KEY"_s, u"KV_DB"_s})
        env.remove(name);
    env.insert(u"LANG"_s, locale);
    return env;
}

struct Run
{
    int status = -1;
    QString out;
    QString err;
};

Run run(const QStringList &args, const QString &locale = u"C.UTF-8"_s)
{
    QProcess p;
    p.setProcessEnvironment(sessionIn(locale));
    p.start(QStringLiteral(KVDESK_BINARY), args);
    p.waitForFinished(10000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

} // namespace

class TestI18n : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(u"kvdesk-tests"_s);
        QCoreApplication::setApplicationName(u"tst_i18n"_s);
    }

    void langFlagChoosesTheLanguageOfTheHelp()
    {
        const Run german = run({u"--lang"_s, u"de"_s, u"--help"_s});
        QCOMPARE(german.status, 0);
        QVERIFY2(german.out.contains(u"Nur den Server ausführen, ohne Fenster."_s), qPrintable(german.out));
        QVERIFY(german.out.contains(u"Umgebung:"_s));
        QVERIFY(german.out.contains(u"Optionen:"_s)); // Qt's own strings (its command-line parser)
        const Run french = run({u"--lang=fr"_s, u"--help"_s}, u"de_DE.UTF-8"_s); // the flag wins
        QVERIFY(french.out.contains(u"Lancer seulement le serveur, sans fenêtre."_s));
        const Run english = run({u"--lang"_s, u"en"_s, u"--help"_s}, u"de_DE.UTF-8"_s);
        QVERIFY(english.out.contains(u"Run only the server, without a window."_s));
        QVERIFY(english.out.contains(u"--lang <code>"_s));
    }

    void theLocaleChoosesTheLanguageOfErrors()
    {
        const Run spanish = run({u"--no-gui"_s, u"--port"_s, u"x"_s}, u"es_ES.UTF-8"_s);
        QCOMPARE(spanish.status, 2);
        QCOMPARE(spanish.err.trimmed(), u"kvdesk: --port debe ser un número entero de 0 a 65535, no «x»"_s);
        const Run german = run({u"--no-gui"_s, u"--bogus"_s}, u"de_DE.UTF-8"_s);
        QCOMPARE(german.status, 2);
        QVERIFY2(german.err.contains(u"Unbekannte Option"_s), qPrintable(german.err)); // Qt's parser
        // A language without a translation stays English.
        QCOMPARE(run({u"--no-gui"_s, u"--port"_s, u"x"_s}, u"ja_JP.UTF-8"_s).err.trimmed(),
                 u"kvdesk: --port must be a whole number from 0 to 65535, not \"x\""_s);
    }

    void theApiSpeaksEnglishWhateverTheServersLanguage()
    {
        QTemporaryDir dir;
        QProcess server;
        QProcessEnvironment env = sessionIn(u"de_DE.UTF-8"_s);
        env.insert(u"KV_API_KEY"_s, u"i18n-test-key"_s);
        server.setProcessEnvironment(env);
        server.start(QStringLiteral(KVDESK_BINARY), {u"--no-gui"_s, u"--no-keychain"_s, u"--port"_s, u"0"_s,
                                                     u"--db"_s, dir.filePath(u"kv.sqlite"_s)});
        QString banner;
        const QRegularExpression listening(u"lauscht auf http://127\\.0\\.0\\.1:(\\d+)"_s);
        QRegularExpressionMatch m;
        for (int i = 0; i < 100 && !m.hasMatch(); ++i) {
            server.waitForReadyRead(100);
            banner += QString::fromUtf8(server.readAllStandardOutput());
            m = listening.match(banner);
        }
        QVERIFY2(m.hasMatch(), qPrintable(banner)); // the banner is German
        HttpClient client(quint16(m.captured(1).toUInt()));
        const auto denied = client.request("GET", "/v1/kv/a");
        QCOMPARE(denied.status, 401);
        QVERIFY2(denied.body.contains("\"error\":\"Unauthorized\""), denied.body.constData());
        const auto bad =
            client.request("PUT", "/v1/kv/a", "{\"value\":", {{"Authorization", "Bearer i18n-test-key"}});
        QCOMPARE(bad.status, 400);
        QVERIFY2(bad.body.contains("The body is not a JSON object: unexpected end of input at line 1"),
                 bad.body.constData());
        server.terminate();
        QVERIFY(server.waitForFinished(5000));
        QVERIFY(QString::fromUtf8(server.readAllStandardOutput()).contains(u"Wird beendet..."_s));
    }

    void everyLanguageIsBuiltIn()
    {
        for (const auto &[code, newKey] : {std::pair{u"de"_s, u"&Neuer Schlüssel..."_s},
                                           {u"fr"_s, u"&Nouvelle clé..."_s},
                                           {u"es"_s, u"&Nueva clave..."_s}}) {
            QTranslator translator;
            QVERIFY2(translator.load(u":/i18n/kvdesk_"_s + code), qPrintable(code));
            QCOMPARE(translator.language(), code);
            QCOMPARE(translator.translate("kvdesk::KeyActions", "&New Key..."), newKey);
        }
    }

    // Last: the translation installed here stays for the rest of the process.
    void theWindowInGerman()
    {
        QCOMPARE(Translations::install(u"de"_s), u"de"_s);
        TestServer server;
        MainWindow window(server.server(), server.clock());
        window.show();
        const QList<std::pair<const char *, QString>> actions = {
            {"actionNewKey", u"&Neuer Schlüssel..."_s},
            {"actionSave", u"Wert &speichern"_s},
            {"actionDelete", u"&Löschen..."_s},
            {"actionSetTtl", u"&TTL setzen..."_s},
            {"actionRename", u"&Umbenennen..."_s},
            {"actionDuplicate", u"&Duplizieren..."_s},
            {"actionImport", u"Schlüssel &importieren..."_s},
            {"actionExport", u"Schlüssel &exportieren..."_s},
            {"actionCredentials", u"&Zugangsdaten..."_s},
            {"actionQuit", u"&Beenden"_s},
            {"actionAbout", u"&Über KV Desk"_s}};
        for (const auto &[name, german] : actions) {
            QAction *a = action(window, name);
            QVERIFY2(a, name);
            QCOMPARE(a->text(), german);
        }
        QStringList menus;
        for (QAction *menu : window.menuBar()->actions())
            menus << menu->text();
        QCOMPARE(menus,
                 QStringList({u"&Datei"_s, u"&Bearbeiten"_s, u"&Ansicht"_s, u"&Server"_s, u"&Hilfe"_s}));
        // A dialog: its own labels, and Qt's standard buttons from Qt's German translation.
        action(window, "actionNewKey")->trigger();
        auto *dialog = waitForChild<QDialog>(window, u"newKeyDialog"_s);
        QVERIFY(dialog);
        QCOMPARE(dialog->windowTitle(), u"Neuer Schlüssel"_s);
        auto *buttons = dialog->findChild<QDialogButtonBox *>();
        QCOMPARE(buttons->button(QDialogButtonBox::Ok)->text(), u"Anlegen"_s);
        QCOMPARE(buttons->button(QDialogButtonBox::Cancel)->text().remove(u'&'), u"Abbrechen"_s);
        dialog->reject();
        // The About box: the version from CMake's project() and the license, in German.
        QString about;
        QTimer::singleShot(0, this, [&about] {
            for (QWidget *w : QApplication::topLevelWidgets()) {
                if (auto *box = qobject_cast<QMessageBox *>(w); box && box->isVisible()) {
                    about = box->text();
                    box->accept();
                }
            }
        });
        action(window, "actionAbout")->trigger();
        QVERIFY2(about.contains(u"KV Desk " KVDESK_VERSION ""_s), qPrintable(about));
        QVERIFY2(about.contains(u"MIT-Lizenz"_s), qPrintable(about));
    }
};

QTEST_MAIN(TestI18n)
#include "tst_i18n.moc"
