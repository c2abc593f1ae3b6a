#include "admincontroller.h"

#include "apierror.h"

#include "../auth/authenticator.h"
#include "../config/config.h"
#include "../store/clock.h"
#include "../store/store.h"
#include "../store/storeerror.h"
#include "../transfer/exporter.h"
#include "../transfer/importer.h"
#include "percentcodec.h"

#include <QBuffer>
#include <QLoggingCategory>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcHttp)

namespace kvdesk {

namespace {

QJsonValue endpointValue(const std::optional<QString> &prefix)
{
    return prefix ? QJsonValue(*prefix) : QJsonValue(false);
}

} // namespace

AdminController::AdminController(const Config &config, Store &store, StoreConnection &connection,
                                 const Authenticator &authenticator)
    : m_config(config), m_store(store), m_connection(connection), m_authenticator(authenticator)
{}

Reply AdminController::handle(const Request &request, QByteArrayView rest)
{
    const QByteArray &method = request.head.method;
    if (rest == "/info") {
        if (method != "GET" && method != "HEAD")
            throw ApiError::methodNotAllowed("GET, HEAD");
        return envelopeReply(200, infoJson());
    }
    if (rest == "/export") {
        if (method != "GET" && method != "HEAD")
            throw ApiError::methodNotAllowed("GET, HEAD");
        return exportKeys(request);
    }
    if (rest == "/import") {
        if (method != "POST")
            throw ApiError::methodNotAllowed("POST");
        return importKeys(request);
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

namespace {

QHash<QString, QString> queryOf(const Request &request, const QStringList &allowed)
{
    QString error;
    const auto pairs = PercentCodec::decodeQuery(request.query(), &error);
    if (!pairs)
        throw ApiError::validation(u"query"_s, {}, error);
    QHash<QString, QString> query;
    for (const auto &[name, value] : *pairs) {
        if (!allowed.contains(name))
            throw ApiError::validation(
                u"query"_s, {name}, u"Unknown parameter; expected one of: %1"_s.arg(allowed.join(u", "_s)));
        query.insert(name, value);
    }
    return query;
}

} // namespace

Reply AdminController::exportKeys(const Request &request)
{
    const auto query = queryOf(request, {u"prefix"_s, u"format"_s});
    const QString format = query.value(u"format"_s, u"ndjson"_s);
    DumpFormat dumpFormat = DumpFormat::Ndjson;
    QByteArray contentType = "application/x-ndjson; charset=utf-8";
    if (format == "wrangler"_L1 || format == "json"_L1) {
        dumpFormat = format == "json"_L1 ? DumpFormat::Object : DumpFormat::Wrangler;
        contentType = "application/json; charset=utf-8";
    } else if (format != "ndjson"_L1) {
        throw ApiError::validation(u"query"_s, {u"format"_s}, u"Expected ndjson, wrangler or json"_s);
    }
    if (!m_store.schemaReady())
        throw ApiError(503, u"The database schema is out of date; run the pending migrations"_s);
    Reply reply;
    reply.contentType = contentType;
    reply.header("Content-Disposition", format == "ndjson"_L1 ? "attachment; filename=\"kvdesk.ndjson\""
                                                              : "attachment; filename=\"kvdesk.json\"");
    // Produced a page at a time on this thread, as the client reads: memory stays flat.
    auto exporter = std::make_shared<Exporter>(m_connection, dumpFormat, query.value(u"prefix"_s).toUtf8());
    reply.stream = [exporter]() -> QByteArray {
        try {
            return exporter->next(); // empty only at the end
        } catch (const StoreError &e) {
            // Too late for an error status: the answer ends short, and the log says why.
            qCWarning(lcHttp).noquote() << "an export failed:" << e.message();
            return {};
        }
    };
    return reply;
}

Reply AdminController::importKeys(const Request &request)
{
    const auto query = queryOf(request, {u"dry_run"_s, u"on_conflict"_s});
    ImportOptions options;
    const QString dry = query.value(u"dry_run"_s, u"false"_s);
    if (dry != "true"_L1 && dry != "false"_L1)
        throw ApiError::validation(u"query"_s, {u"dry_run"_s}, u"Expected true or false"_s);
    options.dryRun = dry == "true"_L1;
    const QString conflict = query.value(u"on_conflict"_s, u"overwrite"_s);
    if (conflict == "skip"_L1)
        options.onConflict = ImportOptions::OnConflict::Skip;
    else if (conflict != "overwrite"_L1)
        throw ApiError::validation(u"query"_s, {u"on_conflict"_s}, u"Expected skip or overwrite"_s);
    if (!m_store.schemaReady())
        throw ApiError(503, u"The database schema is out of date; run the pending migrations"_s);
    QBuffer body;
    body.setData(request.body);
    body.open(QIODevice::ReadOnly);
    ConnectionSink sink(m_connection);
    const ImportReport report = Importer(sink, options, m_store.clock().nowMs()).run(body);
    QJsonObject data{{u"dryRun"_s, options.dryRun},      {u"records"_s, report.records + report.invalid},
                     {u"created"_s, report.created},     {u"overwritten"_s, report.overwritten},
                     {u"unchanged"_s, report.unchanged}, {u"skipped"_s, report.skipped},
                     {u"expired"_s, report.expired},     {u"invalid"_s, report.invalid}};
    if (report.firstBadLine > 0)
        data.insert(u"firstInvalid"_s,
                    QJsonObject{{u"line"_s, report.firstBadLine}, {u"message"_s, report.firstBadMessage}});
    if (!report.error.isEmpty()) {
        // The batches before the break are written; the answer says where it stopped.
        QJsonObject failure{
            {u"status"_s, 400}, {u"success"_s, false}, {u"data"_s, data}, {u"error"_s, report.error}};
        Reply reply;
        reply.status = 400;
        reply.body = QJsonDocument(failure).toJson(QJsonDocument::Compact);
        return reply;
    }
    return envelopeReply(200, QJsonDocument(data).toJson(QJsonDocument::Compact));
}

} // namespace kvdesk
