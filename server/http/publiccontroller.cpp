#include "publiccontroller.h"

#include "apierror.h"
#include "openapi.h"

#include "../config/config.h"

using namespace Qt::StringLiterals;

namespace kvdesk {

PublicController::PublicController(const EndpointPaths &paths) : m_paths(paths) {}

bool PublicController::serves(QByteArrayView rest)
{
    return rest == "/health" || rest == "/open-api.json";
}

Reply PublicController::handle(const Request &request, QByteArrayView rest)
{
    const QByteArray &method = request.head.method;
    if (rest == "/health") {
        if (method != "GET" && method != "HEAD")
            throw ApiError::methodNotAllowed("GET, HEAD");
        return envelopeReply(200, "\"OK\"");
    }
    if (method != "GET" && method != "HEAD" && method != "OPTIONS")
        throw ApiError::methodNotAllowed("GET, HEAD, OPTIONS");
    Reply reply;
    if (method == "OPTIONS") {
        reply.contentType.clear();
    } else {
        QByteArray host = request.header("host").toByteArray();
        bool plain = !host.isEmpty();
        for (char c : host)
            plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == ':' || c == '[' || c == ']');
        const QString serverUrl = u"http://"_s + (plain ? QString::fromLatin1(host) : u"127.0.0.1"_s);
        reply.body = OpenApi::document(m_paths, serverUrl);
    }
    reply.header("access-control-allow-origin", "*");
    reply.header("access-control-allow-methods", "GET, OPTIONS");
    reply.header("access-control-allow-private-network", "true");
    return reply;
}

} // namespace kvdesk
