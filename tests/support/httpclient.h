#pragma once

#include <QByteArray>
#include <QDeadlineTimer>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QTcpSocket>

#include <optional>

namespace kvdesk::test {

struct HttpResponse
{
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers; // names in lower case
    QByteArray body;

    QByteArray header(const QByteArray &lowerCaseName) const;
    bool hasHeader(const QByteArray &lowerCaseName) const;
    QJsonObject json() const;
};

// A blocking HTTP/1.1 client over a real socket that keeps the caller's event loop running while
// it waits (the JWKS test server and the cache live on the test's thread). Raw bytes can be sent
// to test what a well-behaved client never sends.
class HttpClient final
{
public:
    explicit HttpClient(quint16 port, const QString &host = QStringLiteral("127.0.0.1"));

    bool isConnected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    QTcpSocket &socket() { return m_socket; }

    HttpResponse request(const QByteArray &method, const QByteArray &target, const QByteArray &body = {},
                         const QList<QPair<QByteArray, QByteArray>> &headers = {});
    void sendRaw(const QByteArray &bytes);
    // The next response (after any 100 Continue unless keepInterim); nullopt on timeout or close.
    std::optional<HttpResponse> readResponse(int timeoutMs = 5000, bool headRequest = false,
                                             bool keepInterim = false);
    // Waits until the server closes the connection.
    bool waitForClose(int timeoutMs = 5000);
    // Everything received and not yet parsed.
    QByteArray pending() const { return m_buffer; }

private:
    bool waitForData(int timeoutMs);

    QTcpSocket m_socket;
    QByteArray m_buffer;
};

// For tests that need hundreds of connections, or a descriptor's own fate, without an event loop:
// a blocking socket connected to 127.0.0.1:port (-1 on failure), and what it received until a
// whole response head arrived, the peer closed or the deadline passed.
int connectLoopback(quint16 port);
QByteArray readHead(int fd, const QDeadlineTimer &deadline);

} // namespace kvdesk::test
