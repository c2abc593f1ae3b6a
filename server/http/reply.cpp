#include "reply.h"

namespace kvdesk {

namespace {

QByteArrayView reasonPhrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

} // namespace

QByteArray Reply::serializeHead(bool keepAlive, int minorVersion) const
{
    QByteArray out;
    out.reserve(160);
    out += "HTTP/1.1 ";
    out += QByteArray::number(status);
    out += ' ';
    out += reasonPhrase(status);
    out += "\r\n";
    if (hasBody()) {
        if (!contentType.isEmpty()) {
            out += "Content-Type: ";
            out += contentType;
            out += "\r\n";
        }
        if (!stream) {
            out += "Content-Length: ";
            out += QByteArray::number(body.size());
            out += "\r\n";
        } else if (minorVersion > 0) {
            out += "Transfer-Encoding: chunked\r\n";
        }
    }
    for (const auto &h : headers) {
        out += h.first;
        out += ": ";
        out += h.second;
        out += "\r\n";
    }
    if (!keepAlive || close)
        out += "Connection: close\r\n";
    else if (minorVersion == 0)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    return out;
}

QByteArray Reply::serialize(bool withBody, bool keepAlive, int minorVersion) const
{
    QByteArray out = serializeHead(keepAlive, minorVersion);
    if (withBody && hasBody())
        out += body;
    return out;
}

Reply envelopeReply(int status, QByteArrayView dataJson)
{
    Reply reply;
    reply.status = status;
    const QByteArray code = QByteArray::number(status);
    reply.body.reserve(40 + dataJson.size());
    reply.body += "{\"status\":";
    reply.body += code;
    reply.body += ",\"success\":true,\"data\":";
    reply.body += dataJson;
    reply.body += '}';
    return reply;
}

} // namespace kvdesk
