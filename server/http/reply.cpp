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

namespace {

void appendNumber(QByteArray &out, qint64 n)
{
    char digits[24];
    int at = sizeof digits;
    const bool negative = n < 0;
    quint64 u = negative ? 0 - quint64(n) : quint64(n);
    do {
        digits[--at] = char('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative)
        digits[--at] = '-';
    out.append(digits + at, qsizetype(sizeof digits) - at);
}

void appendHead(const Reply &reply, QByteArray &out, bool keepAlive, int minorVersion)
{
    out += "HTTP/1.1 ";
    appendNumber(out, reply.status);
    out += ' ';
    out += reasonPhrase(reply.status);
    out += "\r\n";
    if (reply.hasBody()) {
        if (!reply.contentType.isEmpty()) {
            out += "Content-Type: ";
            out += reply.contentType;
            out += "\r\n";
        }
        if (!reply.stream) {
            out += "Content-Length: ";
            appendNumber(out, reply.body.size());
            out += "\r\n";
        } else if (minorVersion > 0) {
            out += "Transfer-Encoding: chunked\r\n";
        }
    }
    for (const auto &h : reply.headers) {
        out += h.first;
        out += ": ";
        out += h.second;
        out += "\r\n";
    }
    if (!keepAlive || reply.close)
        out += "Connection: close\r\n";
    else if (minorVersion == 0)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
}

qsizetype headSizeHint(const Reply &reply)
{
    qsizetype size = 160 + reply.contentType.size();
    for (const auto &h : reply.headers)
        size += h.first.size() + h.second.size() + 4;
    return size;
}

} // namespace

QByteArray Reply::serializeHead(bool keepAlive, int minorVersion) const
{
    QByteArray out;
    out.reserve(headSizeHint(*this));
    appendHead(*this, out, keepAlive, minorVersion);
    return out;
}

QByteArray Reply::serialize(bool withBody, bool keepAlive, int minorVersion) const
{
    // One allocation for the whole answer.
    const bool sendBody = withBody && hasBody();
    QByteArray out;
    out.reserve(headSizeHint(*this) + (sendBody ? body.size() : 0));
    appendHead(*this, out, keepAlive, minorVersion);
    if (sendBody)
        out += body;
    return out;
}

Reply envelopeReply(int status, QByteArrayView dataJson)
{
    Reply reply;
    reply.status = status;
    reply.body.reserve(48 + dataJson.size());
    reply.body += "{\"status\":";
    appendNumber(reply.body, status);
    reply.body += ",\"success\":true,\"data\":";
    reply.body += dataJson;
    reply.body += '}';
    return reply;
}

} // namespace kvdesk
