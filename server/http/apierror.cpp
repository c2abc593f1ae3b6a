#include "apierror.h"

#include "store/storeerror.h"
#include "util/jsontext.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::ApiError)
};

// The original's X-Workertown-Hint: one human sentence for the statuses it hints on.
QByteArray hintFor(int status)
{
    switch (status) {
    case 401:
        return "Send valid credentials in the Authorization header: an API key or a JWT as a Bearer "
               "token, or Basic credentials.";
    case 403:
        return "These credentials are not allowed to do this.";
    case 404:
        return "Check the path: nothing is served here, or the key does not exist.";
    case 500:
        return "Something went wrong on the server; its log says what.";
    default:
        return {};
    }
}

} // namespace

ApiError ApiError::validation(const QString &location, const QJsonArray &path, const QString &message)
{
    ApiError error(400, I18n::tr("Bad Request"));
    error.m_errors.append({location, path, message});
    return error;
}

ApiError ApiError::notFound()
{
    return ApiError(404, I18n::tr("Not found"));
}

ApiError ApiError::unauthorized()
{
    return ApiError(401, I18n::tr("Unauthorized"));
}

ApiError ApiError::methodNotAllowed(const QByteArray &allow)
{
    return ApiError(405, I18n::tr("Method not allowed")).header("Allow", allow);
}

ApiError ApiError::internal()
{
    return ApiError(500, I18n::tr("Internal server error"));
}

ApiError ApiError::storeFailure(const StoreError &error)
{
    return storeFailure(error.isTemporary(), error.message());
}

ApiError ApiError::storeFailure(bool temporary, const QString &message)
{
    return temporary ? ApiError(503, message) : internal();
}

Reply ApiError::toReply() const
{
    // Written byte by byte, as QJsonDocument would (members by name): a 401 is as frequent as
    // a client with a wrong key makes it.
    QByteArray body;
    body.reserve(80 + m_message.size());
    body += R"({"data":null,"error":)";
    JsonText::appendQuoted(body, m_message.toUtf8());
    if (!m_errors.isEmpty()) {
        QJsonArray errors;
        for (const auto &e : m_errors)
            errors.append(
                QJsonObject{{u"location"_s, e.location}, {u"path"_s, e.path}, {u"message"_s, e.message}});
        body += R"(,"errors":)";
        body += QJsonDocument(errors).toJson(QJsonDocument::Compact);
    }
    body += R"(,"status":)";
    body += QByteArray::number(m_status);
    body += R"(,"success":false})";
    Reply reply;
    reply.status = m_status;
    reply.body = std::move(body);
    reply.headers = m_headers;
    const QByteArray hint = hintFor(m_status);
    if (!hint.isEmpty())
        reply.header("X-Workertown-Hint", hint);
    return reply;
}

} // namespace kvdesk
