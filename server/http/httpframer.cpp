#include "httpframer.h"

namespace kvdesk {

namespace {

bool isTokenChar(char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool hasToken(QByteArrayView list, QByteArrayView token)
{
    for (auto part : QByteArray(list.data(), list.size()).split(',')) {
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

const QList<QByteArray> &knownMethods()
{
    // What QHttpServerRequest can name; anything else is not served.
    static const QList<QByteArray> methods = {"GET",     "HEAD",  "PUT",   "POST",   "DELETE",
                                              "OPTIONS", "PATCH", "TRACE", "CONNECT"};
    return methods;
}

} // namespace

QByteArray RequestHead::header(QByteArrayView lowerCaseName) const
{
    for (const auto &h : headers) {
        if (h.first == lowerCaseName)
            return h.second;
    }
    return {};
}

void HttpFramer::fail(QList<Event> &events, int status, const char *message)
{
    m_state = State::Failed;
    Event e{Event::Type::Violation, {}, {status, QByteArray(message)}};
    events.append(std::move(e));
}

std::optional<HttpFramer::Violation> HttpFramer::parseHead(RequestHead *head) const
{
    // m_line holds the request line and header fields, each ending in CRLF, without the final CRLF.
    const QList<QByteArray> lines = m_line.split('\n');
    // split() leaves one empty element after the last "\r\n".
    const QByteArray requestLine = lines.first().chopped(1);
    const QList<QByteArray> parts = requestLine.split(' ');
    if (parts.size() != 3 || parts[0].isEmpty() || parts[1].isEmpty())
        return Violation{400, "Malformed request line"};
    for (char c : parts[0]) {
        if (!isTokenChar(c))
            return Violation{400, "Malformed request method"};
    }
    if (!knownMethods().contains(parts[0]))
        return Violation{501, "Method not implemented"};
    if (!parts[1].startsWith('/'))
        return Violation{400, "The request target must be an absolute path"};
    for (char c : parts[1]) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F)
            return Violation{400, "The request target contains a character that must be percent-encoded"};
    }
    if (parts[2] == "HTTP/1.1")
        head->minorVersion = 1;
    else if (parts[2] == "HTTP/1.0")
        head->minorVersion = 0;
    else if (parts[2].startsWith("HTTP/"))
        return Violation{505, "HTTP version not supported"};
    else
        return Violation{400, "Malformed request line"};
    head->method = parts[0];
    head->target = parts[1];

    bool haveLength = false;
    QByteArray transferEncoding;
    QByteArray connection;
    QByteArray expect;
    const qsizetype fieldCount = lines.size() - 2;
    if (fieldCount > m_limits.maxHeaderCount)
        return Violation{431, "Too many header fields"};
    for (qsizetype i = 1; i < lines.size() - 1; ++i) {
        const QByteArray line = lines[i].chopped(1);
        if (line.isEmpty() || line.front() == ' ' || line.front() == '\t')
            return Violation{400, "Malformed header field"};
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return Violation{400, "Malformed header field"};
        for (qsizetype j = 0; j < colon; ++j) {
            if (!isTokenChar(line[j]))
                return Violation{400, "Malformed header field name"};
        }
        QByteArray name = line.left(colon).toLower();
        QByteArray value = line.mid(colon + 1).trimmed();
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7F)
                return Violation{400, "Malformed header field value"};
        }
        if (name == "content-length") {
            bool ok = !value.isEmpty();
            for (char c : value)
                ok = ok && c >= '0' && c <= '9';
            const qint64 length = ok && value.size() <= 18 ? value.toLongLong(&ok) : -1;
            if (!ok || length < 0)
                return Violation{400, "Malformed Content-Length"};
            if (haveLength && length != head->contentLength)
                return Violation{400, "Conflicting Content-Length fields"};
            haveLength = true;
            head->contentLength = length;
        } else if (name == "transfer-encoding") {
            if (!transferEncoding.isEmpty())
                transferEncoding += ',';
            transferEncoding += value;
        } else if (name == "connection") {
            connection += ',' + value;
        } else if (name == "expect") {
            expect = value;
        }
        head->headers.append({std::move(name), std::move(value)});
    }
    if (!transferEncoding.isEmpty()) {
        if (haveLength)
            return Violation{400, "Both Content-Length and Transfer-Encoding are present"};
        if (transferEncoding.trimmed().compare("chunked", Qt::CaseInsensitive) != 0)
            return Violation{501, "Transfer-Encoding other than chunked is not implemented"};
        if (head->minorVersion == 0)
            return Violation{400, "Transfer-Encoding in an HTTP/1.0 request"};
        head->chunked = true;
    }
    if (!expect.isEmpty()) {
        if (expect.compare("100-continue", Qt::CaseInsensitive) != 0)
            return Violation{417, "Only Expect: 100-continue is supported"};
        head->expectContinue = true;
    }
    head->keepAlive =
        head->minorVersion == 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
    if (head->contentLength > m_limits.maxBodyBytes)
        return Violation{413, "The request body is too large"};
    return std::nullopt;
}

QList<HttpFramer::Event> HttpFramer::feed(QByteArrayView data)
{
    QList<Event> events;
    const char *p = data.data();
    const char *const end = p + data.size();
    while (p < end && m_state != State::Failed) {
        switch (m_state) {
        case State::Idle:
            // Empty lines before a request line are allowed (RFC 9112, 2.2).
            if (m_line.isEmpty() && (*p == '\r' || *p == '\n')) {
                if (*p == '\n' && m_previous != '\r')
                    return fail(events, 400, "Bare LF in the request"), events;
                m_previous = *p++;
                continue;
            }
            m_state = State::Head;
            m_previous = 0;
            [[fallthrough]];
        case State::Head:
        case State::ChunkSize:
        case State::Trailer: {
            // Accumulate one line (or, for the head, the whole block) up to the limit.
            const char c = *p++;
            if (c == '\n' && m_previous != '\r')
                return fail(events, 400, "Bare LF in the request"), events;
            if (m_previous == '\r' && c != '\n')
                return fail(events, 400, "Bare CR in the request"), events;
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7F)
                return fail(events, 400, "Control character in the request"), events;
            m_previous = c;
            m_line += c;
            if (m_state == State::Head) {
                if (m_line.size() > m_limits.maxHeaderBytes)
                    return fail(events, 431, "The request header block is too large"), events;
                if (c != '\n' || !m_line.endsWith("\r\n\r\n"))
                    continue;
                if (m_line.size() == 2)
                    continue;
                m_line.chop(2);
                RequestHead head;
                if (auto violation = parseHead(&head)) {
                    m_state = State::Failed;
                    events.append({Event::Type::Violation, {}, *violation});
                    return events;
                }
                m_line.clear();
                m_bodyTotal = 0;
                const bool chunked = head.chunked;
                m_remaining = head.contentLength;
                events.append({Event::Type::Head, std::move(head), {}});
                if (chunked) {
                    m_state = State::ChunkSize;
                } else if (m_remaining > 0) {
                    m_state = State::Body;
                } else {
                    m_state = State::Idle;
                    events.append({Event::Type::Complete, {}, {}});
                }
                m_previous = 0;
                continue;
            }
            if (m_line.size() > 1024 && m_state == State::ChunkSize)
                return fail(events, 400, "Malformed chunk size"), events;
            if (m_state == State::Trailer && ++m_trailerBytes > m_limits.maxHeaderBytes)
                return fail(events, 431, "The request trailer is too large"), events;
            if (c != '\n')
                continue;
            const QByteArray line = m_line.chopped(2);
            m_line.clear();
            m_previous = 0;
            if (m_state == State::Trailer) {
                if (line.isEmpty()) {
                    m_state = State::Idle;
                    events.append({Event::Type::Complete, {}, {}});
                }
                continue;
            }
            const QByteArray sizeField = line.split(';').first().trimmed();
            bool ok = !sizeField.isEmpty() && sizeField.size() <= 15;
            for (char h : sizeField)
                ok = ok && std::isxdigit(static_cast<unsigned char>(h));
            const qint64 size = ok ? sizeField.toLongLong(&ok, 16) : -1;
            if (!ok || size < 0)
                return fail(events, 400, "Malformed chunk size"), events;
            m_bodyTotal += size;
            if (m_bodyTotal > m_limits.maxBodyBytes)
                return fail(events, 413, "The request body is too large"), events;
            if (size == 0) {
                m_state = State::Trailer;
                m_trailerBytes = 0;
            } else {
                m_remaining = size;
                m_state = State::ChunkData;
            }
            continue;
        }
        case State::Body:
        case State::ChunkData: {
            const qint64 take = std::min<qint64>(m_remaining, end - p);
            p += take;
            m_remaining -= take;
            if (m_remaining > 0)
                continue;
            if (m_state == State::Body) {
                m_state = State::Idle;
                m_previous = 0;
                events.append({Event::Type::Complete, {}, {}});
            } else {
                m_state = State::ChunkDataEnd;
                m_line.clear();
            }
            continue;
        }
        case State::ChunkDataEnd:
            m_line += *p++;
            if (m_line.size() == 2) {
                if (m_line != "\r\n")
                    return fail(events, 400, "Malformed chunk"), events;
                m_line.clear();
                m_previous = 0;
                m_state = State::ChunkSize;
            }
            continue;
        case State::Failed:
            break;
        }
    }
    return events;
}

} // namespace kvdesk
