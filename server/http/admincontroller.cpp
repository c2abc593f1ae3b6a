#include "admincontroller.h"

#include "apierror.h"

#include "../auth/authenticator.h"
#include "../config/config.h"
#include "../store/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

QJsonValue endpointValue(const std::optional<QString> &prefix)
{
    return prefix ? QJsonValue(*prefix) : QJsonValue(false);
}

} // namespace

AdminController::AdminController(const Config &config, Store &store, const Authenticator &authenticator)
    : m_config(config), m_store(store), m_authenticator(authenticator)
{}

Reply AdminController::handle(const Request &request, QByteArrayView rest)
{
    const QByteArray &method = request.head.method;
    if (rest == "/info") {
        if (method != "GET" && method != "HEAD")
            throw ApiError::methodNotAllowed("GET, HEAD");
        return envelopeReply(200, infoJson());
    }
    if (rest == "/migrate") {
        if (method != "POST")
            throw ApiError::methodNotAllowed("POST");
        return migrate();
    }
    throw ApiError::notFound();
}

QByteArray AdminController::infoJson() const
{
    const AuthEnvNames &names = m_config.authEnv;
    const AuthSettings auth = m_authenticator.settings();
    QJsonObject apiKey{{u"enabled"_s, auth.apiKeyEnabled()}};
    if (names.apiKey)
        apiKey.insert(u"env"_s, QJsonObject{{u"apiKey"_s, *names.apiKey}});
    QJsonObject basic{{u"enabled"_s, auth.basicEnabled()}};
    if (names.basic)
        basic.insert(u"env"_s,
                     QJsonObject{{u"username"_s, *names.username}, {u"password"_s, *names.password}});
    QJsonObject jwt{{u"enabled"_s, auth.jwtEnabled()},
                    {u"secret"_s, auth.jwtSecretEnabled()},
                    {u"jwks"_s, auth.jwksEnabled()}};
    if (names.jwt) {
        jwt.insert(u"env"_s, QJsonObject{{u"jwksUrl"_s, names.jwksUrl},
                                         {u"secret"_s, names.secret},
                                         {u"issuer"_s, names.issuer},
                                         {u"audience"_s, names.audience}});
    }
    // The issuer and audience are not secrets; the JWKS URL may carry a token in its query.
    if (!auth.jwtIssuer.isEmpty())
        jwt.insert(u"issuer"_s, auth.jwtIssuer);
    if (!auth.jwtAudience.isEmpty())
        jwt.insert(u"audience"_s, auth.jwtAudience);

    const QJsonObject info{
        {u"auth"_s, QJsonObject{{u"apiKey"_s, apiKey}, {u"basic"_s, basic}, {u"jwt"_s, jwt}}},
        {u"basePath"_s, m_config.endpoints.basePath},
        {u"endpoints"_s,
         QJsonObject{{u"v1"_s, QJsonObject{{u"admin"_s, endpointValue(m_config.endpoints.admin)},
                                           {u"kv"_s, endpointValue(m_config.endpoints.kv)}}},
                     {u"public"_s, endpointValue(m_config.endpoints.publicPrefix)}}},
        {u"env"_s, QJsonObject{{u"database"_s, m_config.databaseEnv}}},
        {u"version"_s, QStringLiteral(KVDESK_VERSION)},
        {u"storage"_s, QJsonObject{{u"driver"_s, m_store.driverName()}, {u"location"_s, m_store.location()}}},
    };
    return QJsonDocument(info).toJson(QJsonDocument::Compact);
}

Reply AdminController::migrate()
{
    QString error;
    const QList<MigrationResult> results = m_store.migrate(&error);
    QJsonArray data;
    for (const auto &r : results) {
        data.append(QJsonObject{{u"migrationName"_s, r.name},
                                {u"direction"_s, u"Up"_s},
                                {u"status"_s, r.success ? u"Success"_s : u"Error"_s}});
    }
    if (!error.isEmpty()) {
        QJsonObject body{{u"status"_s, 500}, {u"success"_s, false}, {u"data"_s, data}, {u"error"_s, error}};
        Reply reply = ApiError::internal().toReply();
        reply.body = QJsonDocument(body).toJson(QJsonDocument::Compact);
        return reply;
    }
    return envelopeReply(200, QJsonDocument(data).toJson(QJsonDocument::Compact));
}

} // namespace kvdesk
