#include "httpclient.h"

#include <QDeadlineTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QTimer>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kvdesk::test {

QByteArray HttpResponse::header(const QByteArray &lowerCaseName) const
{
    for (const auto &h : headers) {
        if (h.first == lowerCaseName)
            return h.second;
    }
    return {};
}

bool HttpResponse::hasHeader(const QByteArray &lowerCaseName) const
{
    for (const auto &h : headers) {
        if (h.first == lowerCaseName)
            return true;
    }
    return false;
}

QJsonObject HttpResponse::json() const
{
    return QJsonDocument::fromJson(body).object();
}

HttpClient::HttpClient(quint16 port, const QString &host)
{
    m_socket.connectToHost(host, port);
    QEventLoop loop;
    QObject::connect(&m_socket, &QAbstractSocket::connected, &loop, &QEventLoop::quit);
    QObject::connect(&m_socket, &QAbstractSocket::errorOccurred, &loop, &QEventLoop::quit);
    QTimer::singleShot(5000, &loop, &QEventLoop::quit);
    if (m_socket.state() != QAbstractSocket::ConnectedState)
        loop.exec();
}

void HttpClient::sendRaw(const QByteArray &bytes)
{
    m_socket.write(bytes);
    m_socket.flush();
}

HttpResponse HttpClient::request(const QByteArray &method, const QByteArray &target, const QByteArray &body,
                                 const QList<QPair<QByteArray, QByteArray>> &headers)
{
    QByteArray raw = method + ' ' + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool haveLength = false;
    for (const auto &h : headers) {
        raw += h.first + ": " + h.second + "\r\n";
        haveLength = haveLength || h.first.compare("content-length", Qt::CaseInsensitive) == 0 ||
                     h.first.compare("transfer-encoding", Qt::CaseInsensitive) == 0;
    }
    if (!haveLength && (!body.isEmpty() || method == "PUT" || method == "POST"))
        raw += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    raw += "\r\n" + body;
    sendRaw(raw);
    return readResponse(10000, method == "HEAD").value_or(HttpResponse{});
}

bool HttpClient::waitForData(int timeoutMs)
{
    if (m_socket.bytesAvailable() > 0)
        return true;
    if (m_socket.state() != QAbstractSocket::ConnectedState)
        return false;
    QEventLoop loop;
    QObject::connect(&m_socket, &QIODevice::readyRead, &loop, &QEventLoop::quit);
    QObject::connect(&m_socket, &QAbstractSocket::disconnected, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    return m_socket.bytesAvailable() > 0;
}

std::optional<HttpResponse> HttpClient::readResponse(int timeoutMs, bool headRequest, bool keepInterim)
{
    const QDeadlineTimer deadline(timeoutMs);
    for (;;) {
        m_buffer += m_socket.readAll();
        const qsizetype headerEnd = m_buffer.indexOf("\r\n\r\n");
        if (headerEnd >= 0) {
            HttpResponse response;
            const QList<QByteArray> lines = m_buffer.left(headerEnd).split('\n');
            const QList<QByteArray> statusParts = lines.first().trimmed().split(' ');
            response.status = statusParts.value(1).toInt();
            qint64 length = 0;
            bool chunked = false;
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const QByteArray line = lines[i].trimmed();
                const qsizetype colon = line.indexOf(':');
                if (colon <= 0)
                    continue;
                const QByteArray name = line.left(colon).trimmed().toLower();
                const QByteArray value = line.mid(colon + 1).trimmed();
                response.headers.append({name, value});
                if (name == "content-length")
                    length = value.toLongLong();
                if (name == "transfer-encoding" && value.toLower() == "chunked")
                    chunked = true;
            }
            const bool bodyless = headRequest || response.status == 304 || response.status == 204 ||
                                  (response.status >= 100 && response.status < 200);
            if (bodyless)
                length = 0;
            if (chunked && !bodyless) {
                // Chunks, each "<hex size>\r\n<bytes>\r\n", until a chunk of size 0.
                qsizetype at = headerEnd + 4;
                QByteArray body;
                bool complete = false;
                for (;;) {
                    const qsizetype lineEnd = m_buffer.indexOf("\r\n", at);
                    if (lineEnd < 0)
                        break;
                    bool ok = false;
                    const qsizetype size = m_buffer.mid(at, lineEnd - at).toLongLong(&ok, 16);
                    if (!ok)
                        return std::nullopt;
                    if (m_buffer.size() < lineEnd + 2 + size + 2)
                        break;
                    if (size == 0) {
                        at = lineEnd + 4;
                        complete = true;
                        break;
                    }
                    body += m_buffer.mid(lineEnd + 2, size);
                    at = lineEnd + 2 + size + 2;
                }
                if (complete) {
                    response.body = body;
                    m_buffer.remove(0, at);
                    return response;
                }
            } else if (m_buffer.size() >= headerEnd + 4 + length) {
                response.body = m_buffer.mid(headerEnd + 4, length);
                m_buffer.remove(0, headerEnd + 4 + length);
                if (response.status == 100 && !keepInterim)
                    continue;
                return response;
            }
        }
        if (deadline.hasExpired())
            return std::nullopt;
        if (!waitForData(int(std::max<qint64>(1, deadline.remainingTime()))) &&
            m_socket.bytesAvailable() == 0 && m_socket.state() != QAbstractSocket::ConnectedState)
            return std::nullopt;
    }
}

bool HttpClient::waitForClose(int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (m_socket.state() != QAbstractSocket::UnconnectedState && !deadline.hasExpired()) {
        QEventLoop loop;
        QObject::connect(&m_socket, &QAbstractSocket::disconnected, &loop, &QEventLoop::quit);
        QObject::connect(&m_socket, &QIODevice::readyRead, &loop, &QEventLoop::quit);
        QTimer::singleShot(int(std::max<qint64>(1, deadline.remainingTime())), &loop, &QEventLoop::quit);
        loop.exec();
        m_buffer += m_socket.readAll();
    }
    return m_socket.state() == QAbstractSocket::UnconnectedState;
}

int connectLoopback(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

QByteArray readHead(int fd, const QDeadlineTimer &deadline)
{
    QByteArray head;
    while (!head.contains("\r\n\r\n") && !deadline.hasExpired()) {
        pollfd readable{fd, POLLIN, 0};
        if (::poll(&readable, 1, int(std::min<qint64>(100, deadline.remainingTime()))) <= 0)
            continue;
        char buffer[1024];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        head.append(buffer, n);
    }
    return head;
}

} // namespace kvdesk::test
