#include "credentialscommand.h"

#include "credentials/credentialvault.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

namespace kvdesk {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("kvdesk::CredentialsCommand", text);
}

void print(FILE *stream, const QString &text)
{
    fputs(qPrintable(text), stream);
    fflush(stream);
}

QString describe(const AuthSettings &s)
{
    QStringList on;
    if (s.apiKeyEnabled())
        on << tr("api key");
    if (s.basicEnabled())
        on << tr("basic (user \"%1\")").arg(s.username);
    if (s.jwtSecretEnabled())
        on << tr("jwt (HMAC secret)");
    if (s.jwksEnabled())
        on << tr("jwt (JWKS %1)").arg(s.jwksUrl);
    if (!s.jwtIssuer.isEmpty())
        on << tr("jwt issuer \"%1\"").arg(s.jwtIssuer);
    if (!s.jwtAudience.isEmpty())
        on << tr("jwt audience \"%1\"").arg(s.jwtAudience);
    return on.isEmpty() ? tr("Strategies on: none\n")
                        : tr("Strategies on: %1\n").arg(on.join(QStringLiteral(", ")));
}

} // namespace

int runCredentialsCommand(const QStringList &arguments, SecretStore &store, FILE *out, FILE *err)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        tr("The server's credentials, kept in the OS keychain (service \"kvdesk\"). Environment variables "
           "and flags of the server win over them.\n\n"
           "  show     list the strategies that are on, and print the API key\n"
           "  set      set the given credentials (an empty value switches one off; \"-\" reads it from "
           "standard input)\n"
           "  rotate   generate a new API key, keep it and print it\n"
           "  clear    remove every credential"));
    parser.addPositionalArgument(QStringLiteral("action"), tr("show, set, rotate or clear"));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption apiKey(QStringLiteral("api-key"), tr("API key."), tr("key"));
    const QCommandLineOption username(QStringLiteral("username"), tr("Basic user name."), tr("name"));
    const QCommandLineOption password(QStringLiteral("password"), tr("Basic password."), tr("password"));
    const QCommandLineOption secret(QStringLiteral("jwt-secret"), tr("HMAC secret of JWTs."), tr("secret"));
    const QCommandLineOption jwks(QStringLiteral("jwks-url"), tr("URL of a JWKS."), tr("url"));
    const QCommandLineOption issuer(QStringLiteral("jwt-issuer"), tr("Required iss of JWTs."), tr("issuer"));
    const QCommandLineOption audience(QStringLiteral("jwt-audience"), tr("Required aud of JWTs."),
                                      tr("audience"));
    for (const auto &o : {apiKey, username, password, secret, jwks, issuer, audience})
        parser.addOption(o);
    if (!parser.parse(arguments)) { // "credentials" stands for the program name
        print(err, QStringLiteral("kvdesk credentials: %1\n").arg(parser.errorText()));
        return 2;
    }
    if (parser.isSet(help)) {
        print(out, parser.helpText());
        return 0;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        print(err, tr("kvdesk credentials: say show, set, rotate or clear (see --help)\n"));
        return 2;
    }
    const QString action = positional.first();
    CredentialVault vault(store);
    auto failed = [&](const SecretResult &r) {
        print(err, tr("kvdesk credentials: %1\n").arg(r.message));
        return 1;
    };

    if (action == QLatin1String("clear")) {
        const SecretResult r = vault.clearNow();
        if (!r.ok())
            return failed(r);
        print(out, tr("Removed the credentials from the keychain.\n"));
        return 0;
    }
    auto [settings, loaded] = vault.loadNow();
    if (!loaded.ok())
        return failed(loaded);
    if (action == QLatin1String("show")) {
        print(out, describe(settings));
        if (settings.apiKeyEnabled())
            print(out, tr("API key: %1\n").arg(settings.apiKey));
        return 0;
    }
    if (action == QLatin1String("rotate")) {
        settings.apiKey = CredentialVault::generateApiKey();
        const SecretResult r = vault.saveNow(settings);
        if (!r.ok())
            return failed(r);
        print(out, tr("New API key (the old one stops working when the server reads it again): %1\n")
                       .arg(settings.apiKey));
        return 0;
    }
    if (action == QLatin1String("set")) {
        QTextStream in(stdin);
        auto value = [&](const QCommandLineOption &o, QString *target) {
            if (!parser.isSet(o))
                return;
            const QString v = parser.value(o);
            *target = v == QLatin1String("-") ? in.readLine() : v;
        };
        value(apiKey, &settings.apiKey);
        value(username, &settings.username);
        value(password, &settings.password);
        value(secret, &settings.jwtSecret);
        value(jwks, &settings.jwksUrl);
        value(issuer, &settings.jwtIssuer);
        value(audience, &settings.jwtAudience);
        if (settings.username.isEmpty() != settings.password.isEmpty()) {
            print(err, tr("kvdesk credentials: Basic needs both a user name and a password\n"));
            return 2;
        }
        const SecretResult r = vault.saveNow(settings);
        if (!r.ok())
            return failed(r);
        print(out, describe(settings));
        return 0;
    }
    print(err, tr("kvdesk credentials: unknown action \"%1\" (show, set, rotate or clear)\n").arg(action));
    return 2;
}

} // namespace kvdesk
