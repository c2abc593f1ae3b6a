#include "launch.h"

#include "auth/authenticator.h"
#include "config/configloader.h"
#include "credentials/credentialvault.h"
#include "credentials/keychainstore.h"
#include "i18n/translations.h"
#include "kvserver.h"
#include "store/postgresoptions.h"
#include "store/store.h"
#include "util/signalwatcher.h"

#include <QCoreApplication>
#include <QProcessEnvironment>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace kvdesk::Launch {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(main)
};

} // namespace

Credentials::Credentials() = default;
Credentials::~Credentials() = default;
Credentials::Credentials(Credentials &&) noexcept = default;

void prepareApplication()
{
    qSetMessagePattern(u"%{if-category}%{category}: %{endif}%{message}"_s);
    QCoreApplication::setApplicationName(u"kvdesk"_s);
    QCoreApplication::setOrganizationName(u"kvdesk"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(KVDESK_VERSION));
    Translations::install(Translations::requestedLanguage(QCoreApplication::arguments()));
    // Threads other than the main one use Qt's own event dispatcher: GLib's wakes itself through an
    // eventfd whenever a socket notifier is switched on or off, which Qt does for every answer
    // written (measured: 30-40% more requests per second without it). The server threads run
    // kvdesk's epoll dispatcher (ServerWorker), or with KVDESK_EVENT_DISPATCHER=qt this one. Each
    // thread picks its dispatcher when it starts, so the main thread keeps GLib's, which
    // QtKeychain's libsecret needs.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
}

std::optional<int> loadConfig(Config *config)
{
    try {
        const auto outcome = ConfigLoader::load(QCoreApplication::arguments(),
                                                QProcessEnvironment::systemEnvironment(), config);
        if (outcome != ConfigLoader::Outcome::Run)
            return 0;
    } catch (const ConfigError &e) {
        fprintf(stderr, "kvdesk: %s\n", qPrintable(e.message()));
        return 2;
    }
    return std::nullopt;
}

Credentials readCredentials(Config &config)
{
    Credentials c;
    if (!config.useKeychain || !KeychainStore::mayBeAvailable())
        return c;
    c.keychain = std::make_unique<KeychainStore>();
    fillDatabasePassword(config, *c.keychain);
    c.vault = std::make_unique<CredentialVault>(*c.keychain);
    const auto [stored, result] = c.vault->loadNow();
    if (result.ok())
        c.fromKeychain = CredentialVault::merge(config.auth, stored, config.authEnv);
    else if (result.error != SecretResult::Error::NoKeychain || !config.auth.anyEnabled())
        fprintf(stderr, "kvdesk: %s\n", qPrintable(result.message));
    return c;
}

void fillDatabasePassword(Config &config, SecretStore &secrets)
{
    if (!PostgresOptions::isPostgresUrl(config.databasePath))
        return;
    QString error;
    const auto options = PostgresOptions::fromUrl(config.databasePath, &error);
    if (!options || !options->password.isEmpty())
        return;
    const SecretResult found = secrets.readNow(options->keychainKey());
    if (found.ok())
        config.databasePath =
            PostgresOptions::withPassword(config.databasePath, QString::fromUtf8(found.data));
}

void stopOnTermination(SignalWatcher &signals, KvServer &server)
{
    QObject::connect(&signals, &SignalWatcher::terminationRequested, &server, [&server](int) {
        fputs(qPrintable(I18n::tr("Shutting down...\n")), stdout);
        fflush(stdout);
        server.stop();
        QCoreApplication::quit();
    });
}

void printBanner(KvServer &server, const QStringList &fromKeychain)
{
    const Config &c = server.config();
    const QString url = server.url();
    const QString kv = url + EndpointPaths::join(c.endpoints.basePath, c.endpoints.kv.value_or(u"/v1/kv"_s));
    QString text = I18n::tr("KV Desk %1 listening on %2\n").arg(QStringLiteral(KVDESK_VERSION), url);
    text += I18n::tr("Database: %1\n").arg(server.store().location()); // never a password
    const AuthSettings auth = server.authenticator().settings();       // the window may have made a key
    if (!auth.anyEnabled()) {
        text += I18n::tr("No credentials are configured, so every kv and admin request is answered 401.\n"
                         "Set one, for example:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui\n");
    }
    if (auth.apiKeyEnabled() && fromKeychain.contains(u"generated"_s))
        text +=
            I18n::tr(
                "Authenticate with the API key made for you at this first launch: the window's server panel "
                "copies it (Server > Copy the API Key, Ctrl+Shift+Y):\n  curl -H \"Authorization: Bearer "
                "<key>\" "
                "%1/hello\n")
                .arg(kv);
    else if (auth.apiKeyEnabled() && fromKeychain.contains(u"api key"_s))
        text += I18n::tr(
                    "Authenticate with the API key kept in the OS keychain (`kvdesk credentials show` prints "
                    "it):\n  curl -H \"Authorization: Bearer <key>\" %1/hello\n")
                    .arg(kv);
    else if (auth.apiKeyEnabled())
        text +=
            I18n::tr(
                "Authenticate with the API key from %1:\n  curl -H \"Authorization: Bearer $%1\" %2/hello\n")
                .arg(c.authEnv.apiKey.value_or(u"KV_API_KEY"_s), kv);
    if (auth.basicEnabled() && fromKeychain.contains(u"basic"_s))
        text += I18n::tr("Authenticate with the Basic credentials kept in the OS keychain (user \"%1\").\n")
                    .arg(auth.username);
    else if (auth.basicEnabled())
        text +=
            I18n::tr("Authenticate with Basic credentials from %1 and %2:\n  curl -u \"$%1:$%2\" %3/hello\n")
                .arg(c.authEnv.username.value_or(QString()), c.authEnv.password.value_or(QString()), kv);
    if (auth.jwtSecretEnabled() && fromKeychain.contains(u"jwt"_s))
        text += I18n::tr("Authenticate with a JWT signed with the secret kept in the OS keychain.\n");
    else if (auth.jwtSecretEnabled())
        text += I18n::tr(
                    "Authenticate with a JWT signed with %1 (HS256/384/512), sent as \"Authorization: Bearer "
                    "<jwt>\".\n")
                    .arg(c.authEnv.secret);
    if (auth.jwksEnabled())
        text +=
            I18n::tr("Authenticate with a JWT signed by a key of the JWKS at %1, sent as \"Authorization: "
                     "Bearer <jwt>\".\n")
                .arg(auth.jwksUrl);
    fputs(qPrintable(text), stdout);
    fflush(stdout);
}

} // namespace kvdesk::Launch
