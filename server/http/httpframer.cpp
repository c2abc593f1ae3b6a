#include "httpframer.h"

#include <algorithm>
#include <array>
#include <utility>

namespace kvdesk {

namespace {

// Byte classes, looked up once per byte: a header block is mostly plain text.
enum ByteClass : unsigned char {
    Token = 1,      // may appear in a method or a field name
    PlainInHead = 2 // needs no check of its own in the header block (not CR, LF or a control)
};

constexpr std::array<unsigned char, 256> byteClasses()
{
    std::array<unsigned char, 256> classes{};
    for (int c = 0; c < 256; ++c) {
        unsigned char k = 0;
        if ((c >= 0x20 && c != 0x7F) || c == '\t')
            k |= PlainInHead;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            k |= Token;
        for (char t : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'})
            k |= c == t ? Token : 0;
        classes[size_t(c)] = k;
    }
    return classes;
}

constexpr std::array<unsigned char, 256> classes = byteClasses();

bool isTokenChar(char c)
{
    return classes[static_cast<unsigned char>(c)] & Token;
}

bool isPlainInHead(char c)
{
    return classes[static_cast<unsigned char>(c)] & PlainInHead;
}

bool hasToken(QByteArrayView list, QByteArrayView token)
{
    while (!list.isEmpty()) {
        const qsizetype comma = list.indexOf(',');
        const QByteArrayView part = comma < 0 ? list : list.first(comma);
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
        list = comma < 0 ? QByteArrayView() : list.sliced(comma + 1);
    }
    return false;
}

// The methods HTTP defines (RFC 9110, 9.3; PATCH, RFC 5789); anything else is 501. Shared, never copied.
QByteArray knownMethod(QByteArrayView name)
{
    static const QByteArray methods[] = {"GET",     "HEAD",  "PUT",   "POST",   "DELETE",
                                         "OPTIONS", "PATCH", "TRACE", "CONNECT"};
    for (const QByteArray &m : methods) {
        if (m == name)
            return m;
    }
    return {};
}

bool equalsLowerCase(QByteArrayView text, QByteArrayView lowerCase)
{
    if (text.size() != lowerCase.size())
        return false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
        if (c != lowerCase[i])
            return false;
    }
    return true;
}

} // namespace

QByteArrayView RequestHead::header(QByteArrayView lowerCaseName) const
{
    for (const Field &f : fields) {
        if (equalsLowerCase(QByteArrayView(block).sliced(f.nameAt, f.nameSize), lowerCaseName))
            return QByteArrayView(block).sliced(f.valueAt, f.valueSize);
    }
    return {};
}

void HttpFramer::fail(QList<Event> &events, int status, const char *message)
{
    m_state = State::Failed;
    Event e{Event::Type::Violation, {}, {status, QByteArray(message)}, {}};
    events.append(std::move(e));
}

std::optional<HttpFramer::Violation> HttpFramer::parseHead(RequestHead *head) const
{
    // The block holds the request line and header fields, each ending in CRLF, without the final
    // CRLF. Read in place: only the method and target are copied out.
    const QByteArrayView all(head->block);
    qsizetype lineEnd = all.indexOf('\n');
    const QByteArrayView requestLine = all.first(lineEnd - 1);
    const qsizetype space1 = requestLine.indexOf(' ');
    const qsizetype space2 = space1 < 0 ? -1 : requestLine.indexOf(' ', space1 + 1);
    if (space1 <= 0 || space2 < 0 || space2 == space1 + 1 || requestLine.indexOf(' ', space2 + 1) >= 0)
        return Violation{400, "Malformed request line"};
    const QByteArrayView method = requestLine.first(space1);
    const QByteArrayView target = requestLine.sliced(space1 + 1, space2 - space1 - 1);
    const QByteArrayView version = requestLine.sliced(space2 + 1);
    for (char c : method) {
        if (!isTokenChar(c))
            return Violation{400, "Malformed request method"};
    }
    head->method = knownMethod(method);
    if (head->method.isEmpty())
        return Violation{501, "Method not implemented"};
    if (!target.startsWith('/'))
        return Violation{400, "The request target must be an absolute path"};
    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F)
            return Violation{400, "The request target contains a character that must be percent-encoded"};
    }
    if (version == "HTTP/1.1")
        head->minorVersion = 1;
    else if (version == "HTTP/1.0")
        head->minorVersion = 0;
    else if (version.startsWith("HTTP/"))
        return Violation{505, "HTTP version not supported"};
    else
        return Violation{400, "Malformed request line"};
    head->target = target.toByteArray();

    bool haveLength = false;
    bool transferEncoding = false;
    bool chunked = false;
    bool connectionClose = false;
    bool connectionKeepAlive = false;
    QByteArrayView expect;
    for (qsizetype at = lineEnd + 1; at < all.size(); at = lineEnd + 1) {
        lineEnd = all.indexOf('\n', at);
        const QByteArrayView line = all.sliced(at, lineEnd - 1 - at);
        if (head->fields.size() == m_limits.maxHeaderCount)
            return Violation{431, "Too many header fields"};
        if (line.isEmpty() || line.front() == ' ' || line.front() == '\t')
            return Violation{400, "Malformed header field"};
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return Violation{400, "Malformed header field"};
        for (qsizetype j = 0; j < colon; ++j) {
            if (!isTokenChar(line[j]))
                return Violation{400, "Malformed header field name"};
        }
        const QByteArrayView name = line.first(colon);
        const QByteArrayView untrimmed = line.sliced(colon + 1);
        const QByteArrayView value = untrimmed.trimmed();
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7F)
                return Violation{400, "Malformed header field value"};
        }
        if (equalsLowerCase(name, "content-length")) {
            bool ok = !value.isEmpty() && value.size() <= 18;
            for (char c : value)
                ok = ok && c >= '0' && c <= '9';
            const qint64 length = ok ? value.toLongLong(&ok) : -1;
            if (!ok || length < 0)
                return Violation{400, "Malformed Content-Length"};
            if (haveLength && length != head->contentLength)
                return Violation{400, "Conflicting Content-Length fields"};
            haveLength = true;
            head->contentLength = length;
        } else if (equalsLowerCase(name, "transfer-encoding")) {
            // Only "chunked", once, is served; any other coding (or a list) is refused below.
            chunked = !transferEncoding && value.compare("chunked", Qt::CaseInsensitive) == 0;
            transferEncoding = true;
        } else if (equalsLowerCase(name, "connection")) {
            connectionClose = connectionClose || hasToken(value, "close");
            connectionKeepAlive = connectionKeepAlive || hasToken(value, "keep-alive");
        } else if (equalsLowerCase(name, "expect")) {
            expect = value;
        }
        head->fields.append(
            {int(at), int(colon), value.isEmpty() ? 0 : int(value.data() - all.data()), int(value.size())});
    }
    if (transferEncoding) {
        if (haveLength)
            return Violation{400, "Both Content-Length and Transfer-Encoding are present"};
        if (!chunked)
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
    head->keepAlive = head->minorVersion == 1 ? !connectionClose : connectionKeepAlive;
    if (head->contentLength > m_limits.maxBodyBytes)
        return Violation{413, "The request body is too large"};
    return std::nullopt;
}

bool HttpFramer::readHead(const char *&p, const char *end, QList<Event> &events)
{
    // The block is checked byte by byte but copied in one piece.
    const char *const start = p;
    const qsizetype before = m_line.size();
    bool complete = false;
    while (p < end) {
        if (m_previous != '\r') {
            // A run of plain bytes: nothing to check but the size.
            const char *q = p;
            while (q < end && isPlainInHead(*q))
                ++q;
            if (q != p) {
                if (before + (q - start) > m_limits.maxHeaderBytes)
                    return fail(events, 431, "The request header block is too large"), false;
                m_previous = q[-1];
                m_lastFour = static_cast<unsigned char>(q[-1]);
                p = q;
                continue;
            }
        }
        const char c = *p++;
        if (c == '\n' && m_previous != '\r')
            return fail(events, 400, "Bare LF in the request"), false;
        if (m_previous == '\r' && c != '\n')
            return fail(events, 400, "Bare CR in the request"), false;
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7F)
            return fail(events, 400, "Control character in the request"), false;
        m_previous = c;
        if (before + (p - start) > m_limits.maxHeaderBytes)
            return fail(events, 431, "The request header block is too large"), false;
        m_lastFour = (m_lastFour << 8) | static_cast<unsigned char>(c);
        if (m_lastFour == 0x0D0A0D0Au) {
            complete = true;
            break;
        }
    }
    m_line.append(start, p - start);
    if (!complete)
        return true;
    m_line.chop(2);
    RequestHead head;
    head.block = std::move(m_line);
    m_line = QByteArray();
    m_lastFour = 0;
    m_previous = 0;
    if (auto violation = parseHead(&head)) {
        m_state = State::Failed;
        events.append({Event::Type::Violation, {}, *violation, {}});
        return false;
    }
    m_bodyTotal = 0;
    const bool chunked = head.chunked;
    m_remaining = head.contentLength;
    m_body = QByteArray();
    // Room for a usual body at once; a large one grows as it arrives, so that a length only
    // announced (by many clients at once) commits no memory.
    if (m_remaining > 0)
        m_body.reserve(std::min<qint64>(m_remaining, 64 * 1024));
    events.append({Event::Type::Head, std::move(head), {}, {}});
    if (chunked) {
        m_state = State::ChunkSize;
    } else if (m_remaining > 0) {
        m_state = State::Body;
    } else {
        m_state = State::Idle;
        events.append({Event::Type::Complete, {}, {}, {}});
    }
    return true;
}

QList<HttpFramer::Event> HttpFramer::feed(QByteArrayView data)
{
    QList<Event> events;
    feed(data, events);
    return events;
}

void HttpFramer::feed(QByteArrayView data, QList<Event> &events)
{
    const char *p = data.data();
    const char *const end = p + data.size();
    while (p < end && m_state != State::Failed) {
        switch (m_state) {
        case State::Idle:
            // Empty lines before a request line are allowed (RFC 9112, 2.2).
            if (m_line.isEmpty() && (*p == '\r' || *p == '\n')) {
                if (*p == '\n' && m_previous != '\r')
                    return fail(events, 400, "Bare LF in the request");
                m_previous = *p++;
                continue;
            }
            m_state = State::Head;
            m_previous = 0;
            m_lastFour = 0;
            [[fallthrough]];
        case State::Head:
            if (!readHead(p, end, events))
                return;
            continue;
        case State::ChunkSize:
        case State::Trailer: {
            // Accumulate one line.
            const char c = *p++;
            if (c == '\n' && m_previous != '\r')
                return fail(events, 400, "Bare LF in the request");
            if (m_previous == '\r' && c != '\n')
                return fail(events, 400, "Bare CR in the request");
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7F)
                return fail(events, 400, "Control character in the request");
            m_previous = c;
            m_line += c;
            if (m_line.size() > 1024 && m_state == State::ChunkSize)
                return fail(events, 400, "Malformed chunk size");
            if (m_state == State::Trailer && ++m_trailerBytes > m_limits.maxHeaderBytes)
                return fail(events, 431, "The request trailer is too large");
            if (c != '\n')
                continue;
            const QByteArray line = m_line.chopped(2);
            m_line.clear();
            m_previous = 0;
            if (m_state == State::Trailer) {
                if (line.isEmpty()) {
                    m_state = State::Idle;
                    events.append({Event::Type::Complete, {}, {}, std::exchange(m_body, {})});
                }
                continue;
            }
            const QByteArray sizeField = line.split(';').first().trimmed();
            bool ok = !sizeField.isEmpty() && sizeField.size() <= 15;
            for (char h : sizeField)
                ok = ok && std::isxdigit(static_cast<unsigned char>(h));
            const qint64 size = ok ? sizeField.toLongLong(&ok, 16) : -1;
            if (!ok || size < 0)
                return fail(events, 400, "Malformed chunk size");
            m_bodyTotal += size;
            if (m_bodyTotal > m_limits.maxBodyBytes)
                return fail(events, 413, "The request body is too large");
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
            m_body.append(p, take);
            p += take;
            m_remaining -= take;
            if (m_remaining > 0)
                continue;
            if (m_state == State::Body) {
                m_state = State::Idle;
                m_previous = 0;
                events.append({Event::Type::Complete, {}, {}, std::exchange(m_body, {})});
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
                    return fail(events, 400, "Malformed chunk");
                m_line.clear();
                m_previous = 0;
                m_state = State::ChunkSize;
            }
            continue;
        case State::Failed:
            break;
        }
    }
}

} // namespace kvdesk
