#include "credentialvault.h"

#include "auth/crypto.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace kvdesk {

namespace {

struct Field
{
    const char *name;
    QString AuthSettings::*member;
};

const Field fields[] = {
    {"apiKey", &AuthSettings::apiKey},           {"username", &AuthSettings::username},
    {"password", &AuthSettings::password},       {"jwtSecret", &AuthSettings::jwtSecret},
    {"jwksUrl", &AuthSettings::jwksUrl},         {"jwtIssuer", &AuthSettings::jwtIssuer},
    {"jwtAudience", &AuthSettings::jwtAudience},
};

} // namespace

CredentialVault::CredentialVault(SecretStore &store, QObject *parent) : QObject(parent), m_store(store) {}

QByteArray CredentialVault::serialize(const AuthSettings &settings)
{
    QJsonObject o;
    for (const Field &f : fields) {
        if (!(settings.*f.member).isEmpty())
            o.insert(QLatin1String(f.name), settings.*f.member);
    }
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

std::optional<AuthSettings> CredentialVault::parse(const QByteArray &data)
{
    const QJsonDocument doc = QJsonDocument::fromJson(data);
    if (!doc.isObject())
        return std::nullopt;
    AuthSettings s;
    for (const Field &f : fields)
        s.*f.member = doc.object().value(QLatin1String(f.name)).toString();
    return s;
}

QString CredentialVault::generateApiKey()
{
    return QString::fromLatin1(crypto::base64UrlEncode(crypto::randomBytes(32)));
}

void CredentialVault::finishLoad(const SecretResult &result, const Loaded &done)
{
    if (result.error == SecretResult::Error::NotFound) {
        done(AuthSettings{}, SecretResult{});
        return;
    }
    if (!result.ok()) {
        done(AuthSettings{}, result);
        return;
    }
    const auto parsed = parse(result.data);
    if (!parsed) {
        done(AuthSettings{},
             SecretResult{SecretResult::Error::Failed,
                          tr("The credentials in the keychain are unreadable; save new ones."),
                          {}});
        return;
    }
    done(*parsed, result);
}

void CredentialVault::load(QObject *context, Loaded done)
{
    m_store.read(QString::fromLatin1(entryName), context,
                 [done = std::move(done)](const SecretResult &r) { finishLoad(r, done); });
}

void CredentialVault::save(const AuthSettings &settings, QObject *context, SecretStore::Done done)
{
    m_store.write(QString::fromLatin1(entryName), serialize(settings), context, std::move(done));
}

void CredentialVault::clear(QObject *context, SecretStore::Done done)
{
    m_store.remove(QString::fromLatin1(entryName), context, [done = std::move(done)](const SecretResult &r) {
        done(r.error == SecretResult::Error::NotFound ? SecretResult{} : r);
    });
}

std::pair<AuthSettings, SecretResult> CredentialVault::loadNow()
{
    std::pair<AuthSettings, SecretResult> out;
    finishLoad(m_store.readNow(QString::fromLatin1(entryName)),
               [&](const AuthSettings &s, const SecretResult &r) {
                   out = {s, r};
               });
    return out;
}

SecretResult CredentialVault::saveNow(const AuthSettings &settings)
{
    return m_store.writeNow(QString::fromLatin1(entryName), serialize(settings));
}

SecretResult CredentialVault::clearNow()
{
    const SecretResult r = m_store.removeNow(QString::fromLatin1(entryName));
    return r.error == SecretResult::Error::NotFound ? SecretResult{} : r;
}

QStringList CredentialVault::merge(AuthSettings &effective, const AuthSettings &stored,
                                   const AuthEnvNames &switches)
{
    QStringList taken;
    if (!effective.apiKeyEnabled() && switches.apiKey && stored.apiKeyEnabled()) {
        effective.apiKey = stored.apiKey;
        taken << QStringLiteral("api key");
    }
    if (!effective.basicEnabled() && switches.basic && switches.username && switches.password &&
        stored.basicEnabled()) {
        effective.username = stored.username;
        effective.password = stored.password;
        taken << QStringLiteral("basic");
    }
    if (!effective.jwtEnabled() && switches.jwt && stored.jwtEnabled()) {
        effective.jwtSecret = stored.jwtSecret;
        effective.jwksUrl = stored.jwksUrl;
        effective.jwtIssuer = stored.jwtIssuer;
        effective.jwtAudience = stored.jwtAudience;
        taken << QStringLiteral("jwt");
    }
    return taken;
}

} // namespace kvdesk
