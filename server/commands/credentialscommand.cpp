#include "credentialscommand.h"

#include "credentials/credentialvault.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::CredentialsCommand)
};

void print(FILE *stream, const QString &text)
{
    fputs(qPrintable(text), stream);
    fflush(stream);
}

QString describe(const AuthSettings &s)
{
    QStringList on;
    if (s.apiKeyEnabled())
        on << I18n::tr("api key");
    if (s.basicEnabled())
        on << I18n::tr("basic (user \"%1\")").arg(s.username);
    if (s.jwtSecretEnabled())
        on << I18n::tr("jwt (HMAC secret)");
    if (s.jwksEnabled())
        on << I18n::tr("jwt (JWKS %1)").arg(s.jwksUrl);
    if (!s.jwtIssuer.isEmpty())
        on << I18n::tr("jwt issuer \"%1\"").arg(s.jwtIssuer);
    if (!s.jwtAudience.isEmpty())
        on << I18n::tr("jwt audience \"%1\"").arg(s.jwtAudience);
    return on.isEmpty() ? I18n::tr("Strategies on: none\n")
                        : I18n::tr("Strategies on: %1\n").arg(on.join(QStringLiteral(", ")));
}

} // namespace

int runCredentialsCommand(const QStringList &arguments, SecretStore &store, FILE *out, FILE *err)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(I18n::tr(
        "The server's credentials, kept in the OS keychain (service \"kvdesk\"). Environment variables "
        "and flags of the server win over them.\n\n"
        "  show     list the strategies that are on, and print the API key\n"
        "  set      set the given credentials (an empty value switches one off; \"-\" reads it from "
        "standard input)\n"
        "  rotate   generate a new API key, keep it and print it\n"
        "  clear    remove every credential"));
    parser.addPositionalArgument(QStringLiteral("action"), I18n::tr("show, set, rotate or clear"));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption apiKey(QStringLiteral("api-key"), I18n::tr("API key."), I18n::tr("key"));
    const QCommandLineOption username(QStringLiteral("username"), I18n::tr("Basic user name."),
                                      I18n::tr("name"));
    const QCommandLineOption password(QStringLiteral("password"), I18n::tr("Basic password."),
                                      I18n::tr("password"));
    const QCommandLineOption secret(QStringLiteral("jwt-secret"), I18n::tr("HMAC secret of JWTs."),
                                    I18n::tr("secret"));
    const QCommandLineOption jwks(QStringLiteral("jwks-url"), I18n::tr("URL of a JWKS."), I18n::tr("url"));
    const QCommandLineOption issuer(QStringLiteral("jwt-issuer"), I18n::tr("Required iss of JWTs."),
                                    I18n::tr("issuer"));
    const QCommandLineOption audience(QStringLiteral("jwt-audience"), I18n::tr("Required aud of JWTs."),
                                      I18n::tr("audience"));
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
        print(err, I18n::tr("kvdesk credentials: say show, set, rotate or clear (see --help)\n"));
        return 2;
    }
    const QString action = positional.first();
    CredentialVault vault(store);
    auto failed = [&](const SecretResult &r) {
        print(err, I18n::tr("kvdesk credentials: %1\n").arg(r.message));
        return 1;
    };

    if (action == QLatin1String("clear")) {
        const SecretResult r = vault.clearNow();
        if (!r.ok())
            return failed(r);
        print(out, I18n::tr("Removed the credentials from the keychain.\n"));
        return 0;
    }
    auto [settings, loaded] = vault.loadNow();
    if (!loaded.ok())
        return failed(loaded);
    if (action == QLatin1String("show")) {
        print(out, describe(settings));
        if (settings.apiKeyEnabled())
            print(out, I18n::tr("API key: %1\n").arg(settings.apiKey));
        return 0;
    }
    if (action == QLatin1String("rotate")) {
        settings.apiKey = CredentialVault::generateApiKey();
        const SecretResult r = vault.saveNow(settings);
        if (!r.ok())
            return failed(r);
        print(out, I18n::tr("New API key (the old one stops working when the server reads it again): %1\n")
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
            print(err, I18n::tr("kvdesk credentials: Basic needs both a user name and a password\n"));
            return 2;
        }
        const SecretResult r = vault.saveNow(settings);
        if (!r.ok())
            return failed(r);
        print(out, describe(settings));
        return 0;
    }
    print(err,
          I18n::tr("kvdesk credentials: unknown action \"%1\" (show, set, rotate or clear)\n").arg(action));
    return 2;
}

} // namespace kvdesk
