#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>

#include <functional>

namespace kvdesk {

// An HTTP answer before it is written to a socket.
struct Reply
{
    int status = 200;
    QByteArray body;
    QByteArray contentType = jsonContentType();
    QList<QPair<QByteArray, QByteArray>> headers;
    bool close = false; // close the connection once this answer is written
    // A body produced piece by piece (sent chunked): each call returns the next piece, empty at
    // the end. Instead of body.
    std::function<QByteArray()> stream;

    Reply &header(QByteArray name, QByteArray value)
    {
        headers.append({std::move(name), std::move(value)});
        return *this;
    }

    // The whole answer as bytes; without the body for HEAD (Content-Length still says its size).
    QByteArray serialize(bool withBody, bool keepAlive, int minorVersion) const;
    // The status line and headers only (for a stream: chunked, or for HTTP/1.0 until the close).
    QByteArray serializeHead(bool keepAlive, int minorVersion) const;
    bool hasBody() const { return !(status == 204 || status == 304 || (status >= 100 && status < 200)); }

    // Shared, not allocated for each answer.
    static QByteArray jsonContentType()
    {
        static const QByteArray type = QByteArrayLiteral("application/json; charset=utf-8");
        return type;
    }
};

// The success envelope: {"status": s, "success": true, "data": <dataJson>}.
Reply envelopeReply(int status, QByteArrayView dataJson);

} // namespace kvdesk
