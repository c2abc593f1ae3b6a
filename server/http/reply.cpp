#include "reply.h"

#include <QVarLengthArray>

#include <cstring>

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

// A number's decimal digits, kept in the object.
struct Digits
{
    explicit Digits(qint64 n)
    {
        const bool negative = n < 0;
        quint64 u = negative ? 0 - quint64(n) : quint64(n);
        do {
            text[--at] = char('0' + u % 10);
            u /= 10;
        } while (u);
        if (negative)
            text[--at] = '-';
    }
    QByteArrayView view() const { return QByteArrayView(text + at, qsizetype(sizeof text) - at); }

    char text[24];
    int at = sizeof text;
};

// Lists the pieces of an answer, then copies them in one pass into one allocation.
class Pieces
{
public:
    void add(QByteArrayView piece)
    {
        m_pieces.append(piece);
        m_size += piece.size();
    }
    qsizetype size() const { return m_size; }
    void appendTo(QByteArray &out) const
    {
        qsizetype at = out.size();
        out.resize(at + m_size);
        char *data = out.data();
        for (const QByteArrayView &piece : m_pieces) {
            if (!piece.isEmpty())
                memcpy(data + at, piece.data(), size_t(piece.size()));
            at += piece.size();
        }
    }

private:
    QVarLengthArray<QByteArrayView, 48> m_pieces;
    qsizetype m_size = 0;
};

// What the head of an answer is made of; the views point into reply and the digits.
void headPieces(const Reply &reply, Pieces &out, const Digits &status, const Digits &length, bool keepAlive,
                int minorVersion)
{
    out.add("HTTP/1.1 ");
    out.add(status.view());
    out.add(" ");
    out.add(reasonPhrase(reply.status));
    out.add("\r\n");
    if (reply.hasBody()) {
        if (!reply.contentType.isEmpty()) {
            out.add("Content-Type: ");
            out.add(reply.contentType);
            out.add("\r\n");
        }
        if (!reply.stream) {
            out.add("Content-Length: ");
            out.add(length.view());
            out.add("\r\n");
        } else if (minorVersion > 0) {
            out.add("Transfer-Encoding: chunked\r\n");
        }
    }
    for (const auto &h : reply.headers) {
        out.add(h.first);
        out.add(": ");
        out.add(h.second);
        out.add("\r\n");
    }
    if (!keepAlive || reply.close)
        out.add("Connection: close\r\n");
    else if (minorVersion == 0)
        out.add("Connection: keep-alive\r\n");
    out.add("\r\n");
}

QByteArray serialized(const Reply &reply, bool withBody, bool keepAlive, int minorVersion)
{
    const Digits status(reply.status);
    const Digits length(reply.body.size());
    Pieces pieces;
    headPieces(reply, pieces, status, length, keepAlive, minorVersion);
    if (withBody)
        pieces.add(reply.body);
    QByteArray out;
    out.reserve(pieces.size());
    pieces.appendTo(out);
    return out;
}

} // namespace

QByteArray Reply::serializeHead(bool keepAlive, int minorVersion) const
{
    return serialized(*this, false, keepAlive, minorVersion);
}

QByteArray Reply::serialize(bool withBody, bool keepAlive, int minorVersion) const
{
    // One allocation for the whole answer.
    return serialized(*this, withBody && hasBody(), keepAlive, minorVersion);
}

Reply envelopeReply(int status, QByteArrayView dataJson)
{
    Reply reply;
    reply.status = status;
    reply.body.reserve(48 + dataJson.size());
    reply.body += "{\"status\":";
    reply.body += Digits(status).view();
    reply.body += ",\"success\":true,\"data\":";
    reply.body += dataJson;
    reply.body += '}';
    return reply;
}

} // namespace kvdesk
