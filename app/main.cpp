// kvdesk: parses the command line and runs the desktop window with its embedded server, or the
// server alone (--no-gui, or when there is no display).
#include "auth/authsettings.h"
#include "commands/credentialscommand.h"
#include "commands/transfercommand.h"
#include "config/configloader.h"
#include "credentials/credentialvault.h"
#include "credentials/keychainstore.h"
#include "http/accesslog.h"
#include "kvserver.h"
#include "mainwindow.h"
#include "serverpanel.h"
#include "store/clock.h"
#include "util/signalwatcher.h"

#include <QApplication>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QMessageBox>
#include <QProcessEnvironment>

#include <cstdio>
#include <malloc.h>
#include <memory>

using namespace Qt::StringLiterals;

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("main", text);
}

void printBanner(const kvdesk::KvServer &server, const QStringList &fromKeychain)
{
    const kvdesk::Config &c = server.config();
    const QString url = server.url();
    const QString kv =
        url + kvdesk::EndpointPaths::join(c.endpoints.basePath, c.endpoints.kv.value_or(u"/v1/kv"_s));
    QString text = tr("KV Desk %1 listening on %2\n").arg(QStringLiteral(KVDESK_VERSION), url);
    text += tr("Database: %1\n").arg(c.databasePath);
    const kvdesk::AuthSettings &auth = c.auth;
    if (!auth.anyEnabled()) {
        text += tr("No credentials are configured, so every kv and admin request is answered 401.\n"
                   "Set one, for example:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui\n");
    }
    if (auth.apiKeyEnabled() && fromKeychain.contains(u"api key"_s))
        text += tr("Authenticate with the API key kept in the OS keychain (`kvdesk credentials show` prints "
                   "it):\n  curl -H \"Authorization: Bearer <key>\" %1/hello\n")
                    .arg(kv);
    else if (auth.apiKeyEnabled())
        text +=
            tr("Authenticate with the API key from %1:\n  curl -H \"Authorization: Bearer $%1\" %2/hello\n")
                .arg(c.authEnv.apiKey.value_or(u"KV_API_KEY"_s), kv);
    if (auth.basicEnabled() && fromKeychain.contains(u"basic"_s))
        text += tr("Authenticate with the Basic credentials kept in the OS keychain (user \"%1\").\n")
                    .arg(auth.username);
    else if (auth.basicEnabled())
        text += tr("Authenticate with Basic credentials from %1 and %2:\n  curl -u \"$%1:$%2\" %3/hello\n")
                    .arg(c.authEnv.username.value_or(QString()), c.authEnv.password.value_or(QString()), kv);
    if (auth.jwtSecretEnabled() && fromKeychain.contains(u"jwt"_s))
        text += tr("Authenticate with a JWT signed with the secret kept in the OS keychain.\n");
    else if (auth.jwtSecretEnabled())
        text += tr("Authenticate with a JWT signed with %1 (HS256/384/512), sent as \"Authorization: Bearer "
                   "<jwt>\".\n")
                    .arg(c.authEnv.secret);
    if (auth.jwksEnabled())
        text += tr("Authenticate with a JWT signed by a key of the JWKS at %1, sent as \"Authorization: "
                   "Bearer <jwt>\".\n")
                    .arg(auth.jwksUrl);
    fputs(qPrintable(text), stdout);
    fflush(stdout);
}

// Commands that run and exit instead of serving.
int runCommand(const QString &command, const QStringList &arguments)
{
    kvdesk::KeychainStore keychain;
    if (command == "credentials"_L1)
        return kvdesk::runCredentialsCommand(arguments, keychain, stdout, stderr);
    return kvdesk::runTransferCommand(arguments, stdout, stderr);
}

bool isCommand(int argc, char *argv[])
{
    if (argc < 2)
        return false;
    const QByteArrayView first(argv[1]);
    return first == "credentials" || first == "export" || first == "import";
}

// The window needs a display; without one (a server, a container, CI) kvdesk runs headless.
bool wantsWindow(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArrayView arg(argv[i]);
        if (arg == "--no-gui" || arg == "--help" || arg == "-h" || arg == "--version" || arg == "-v")
            return false;
    }
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
           qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
}

} // namespace

int main(int argc, char *argv[])
{
    // Large values (up to 25 MiB) pass through several buffers per request. By default glibc
    // maps each large buffer afresh and unmaps it when freed, so every request pays a page fault
    // per 4 KiB; keeping freed memory for reuse makes big values several times faster.
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    qSetMessagePattern(u"%{if-category}%{category}: %{endif}%{message}"_s);
    if (isCommand(argc, argv)) {
        QCoreApplication app(argc, argv);
        QLoggingCategory::setFilterRules(u"kvdesk.*.info=false"_s);
        QCoreApplication::setApplicationName(u"kvdesk"_s);
        QCoreApplication::setApplicationVersion(QStringLiteral(KVDESK_VERSION));
        const QStringList arguments = QCoreApplication::arguments().mid(1);
        return runCommand(arguments.first(), arguments);
    }
    const bool gui = wantsWindow(argc, argv);
    std::unique_ptr<QCoreApplication> application =
        gui ? std::make_unique<QApplication>(argc, argv) : std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication &app = *application;
    // The server threads use Qt's own event dispatcher: GLib's wakes itself through an eventfd
    // whenever a socket notifier is switched on or off, which Qt does for every answer written
    // (measured: 30-40% more requests per second without it). Each thread picks its dispatcher
    // when it starts, so the main thread keeps GLib's, which QtKeychain's libsecret needs.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication::setApplicationName(u"kvdesk"_s);
    QCoreApplication::setOrganizationName(u"kvdesk"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(KVDESK_VERSION));

    kvdesk::Config config;
    try {
        const auto outcome = kvdesk::ConfigLoader::load(QCoreApplication::arguments(),
                                                        QProcessEnvironment::systemEnvironment(), &config);
        if (outcome != kvdesk::ConfigLoader::Outcome::Run)
            return 0;
    } catch (const kvdesk::ConfigError &e) {
        fprintf(stderr, "kvdesk: %s\n", qPrintable(e.message()));
        return 2;
    }

    // Flags, the environment and the config file win over the keychain; it fills what they left.
    std::unique_ptr<kvdesk::KeychainStore> keychain;
    std::unique_ptr<kvdesk::CredentialVault> vault;
    QStringList fromKeychain;
    if (config.useKeychain && kvdesk::KeychainStore::mayBeAvailable()) {
        keychain = std::make_unique<kvdesk::KeychainStore>();
        vault = std::make_unique<kvdesk::CredentialVault>(*keychain);
        const auto [stored, result] = vault->loadNow();
        if (result.ok())
            fromKeychain = kvdesk::CredentialVault::merge(config.auth, stored, config.authEnv);
        else if (result.error != kvdesk::SecretResult::Error::NoKeychain || !config.auth.anyEnabled())
            fprintf(stderr, "kvdesk: %s\n", qPrintable(result.message));
    }

    kvdesk::Clock clock;
    kvdesk::KvServer server(config, clock);
    if (!gui)
        server.accessLog().setOutput(stdout);
    // Before anything is announced: a SIGTERM right after the banner must find the handler.
    kvdesk::SignalWatcher signals;
    QObject::connect(&signals, &kvdesk::SignalWatcher::terminationRequested, &app, [&server](int) {
        fputs(qPrintable(tr("Shutting down...\n")), stdout);
        fflush(stdout);
        server.stop();
        QCoreApplication::quit();
    });
    if (!gui) {
        try {
            server.start();
        } catch (const std::exception &e) {
            fprintf(stderr, "kvdesk: %s\n", e.what());
            return 1;
        }
        printBanner(server, fromKeychain);
        return app.exec();
    }

    try {
        server.openStore();
    } catch (const std::exception &e) {
        fprintf(stderr, "kvdesk: %s\n", e.what());
        QMessageBox::critical(nullptr, tr("KV Desk"),
                              tr("Cannot open the database: %1").arg(QString::fromUtf8(e.what())));
        return 1;
    }
    kvdesk::MainWindow window(server, clock, vault.get());
    // First launch with no credential anywhere: a new API key, kept in the keychain.
    if (window.serverPanel().ensureCredentials())
        fromKeychain << u"api key"_s;
    try {
        server.start();
        printBanner(server, fromKeychain);
    } catch (const std::exception &e) {
        // The window still browses and edits the store; the panel says why nothing listens.
        window.serverPanel().showError(tr("The server cannot start: %1").arg(QString::fromUtf8(e.what())));
    }
    window.show();
    return app.exec();
}
