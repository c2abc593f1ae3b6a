// The entry point of the kvdesk-gui module that kvdesk loads when it opens its window: the same
// server as headless, plus the window, in one process.
#include "credentials/credentialvault.h"
#include "kvserver.h"
#include "launch.h"
#include "mainwindow.h"
#include "serverpanel.h"
#include "store/clock.h"
#include "util/signalwatcher.h"

#include <QApplication>
#include <QMessageBox>
#include <QProcess>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(main)
};

} // namespace

extern "C" Q_DECL_EXPORT int kvdesk_gui_main(int argc, char **argv)
{
    QApplication app(argc, argv);
    kvdesk::Launch::prepareApplication();
    // The desktop entry's name: how Wayland compositors find the window's icon and entry.
    QGuiApplication::setDesktopFileName(QStringLiteral("io.kvdesk.kvdesk"));
    kvdesk::Config config;
    if (const auto status = kvdesk::Launch::loadConfig(&config))
        return *status;
    kvdesk::Launch::Credentials credentials = kvdesk::Launch::readCredentials(config);

    kvdesk::Clock clock;
    kvdesk::KvServer server(config, clock);
    kvdesk::SignalWatcher signals;
    kvdesk::Launch::stopOnTermination(signals, server);
    try {
        server.openStore();
    } catch (const std::exception &e) {
        fprintf(stderr, "kvdesk: %s\n", e.what());
        QMessageBox::critical(nullptr, I18n::tr("KV Desk"),
                              I18n::tr("Cannot open the database: %1").arg(QString::fromUtf8(e.what())));
        return 1;
    }
    kvdesk::MainWindow window(server, clock, credentials.vault.get());
    // First launch with no credential anywhere: a new API key, kept in the keychain.
    if (window.serverPanel().ensureCredentials())
        credentials.fromKeychain << QStringLiteral("generated");
    try {
        server.start();
        kvdesk::Launch::printBanner(server, credentials.fromKeychain);
    } catch (const std::exception &e) {
        // The window still browses and edits the store; the panel says why nothing listens.
        window.serverPanel().showError(
            I18n::tr("The server cannot start: %1").arg(QString::fromUtf8(e.what())));
    }
    // File > Open PostgreSQL Database: this process ends (freeing its port), and kvdesk starts
    // again with the same flags on that database, its password in the environment, not argv.
    QString reopenOn;
    QObject::connect(&window, &kvdesk::MainWindow::reopenRequested, &app,
                     [&reopenOn](const QString &database) {
                         reopenOn = database;
                         QCoreApplication::quit();
                     });
    window.show();
    const int status = app.exec();
    if (!reopenOn.isEmpty()) {
        server.stop();
        QStringList arguments = QCoreApplication::arguments().mid(1);
        for (qsizetype i = 0; i < arguments.size();) {
            if (arguments[i] == "--db"_L1)
                arguments.remove(i, std::min<qsizetype>(2, arguments.size() - i));
            else if (arguments[i].startsWith("--db="_L1))
                arguments.remove(i);
            else
                ++i;
        }
        QProcess next;
        next.setProgram(QCoreApplication::applicationFilePath());
        next.setArguments(arguments);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(config.databaseEnv, reopenOn);
        next.setProcessEnvironment(env);
        if (!next.startDetached())
            fprintf(stderr, "kvdesk: cannot start again: %s\n", qPrintable(next.errorString()));
    }
    return status;
}
