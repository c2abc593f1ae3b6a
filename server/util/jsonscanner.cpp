#include "jsonscanner.h"

#include <QCoreApplication>
#include <QSysInfo>

#include <bit>
#include <cstring>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::JsonScanner)
};

class Reader
{
public:
    explicit Reader(QByteArrayView text)
        : m_p(text.data()), m_begin(text.data()), m_end(text.data() + text.size())
    {}

    bool failed() const { return m_failed; }
    JsonScanner::Error error() const { return m_error; }
    const char *position() const { return m_p; }

    void fail(const char *message)
    {
        if (m_failed)
            return;
        m_failed = true;
        m_error.message = I18n::tr(message);
        int line = 1;
        const char *lineStart = m_begin;
        for (const char *c = m_begin; c < m_p && c < m_end; ++c) {
            if (*c == '\n') {
                ++line;
                lineStart = c + 1;
            }
        }
        m_error.line = line;
        m_error.column = int(m_p - lineStart) + 1;
    }

    void skipWhitespace()
    {
        // JSON's four whitespace bytes are all at most ' ': a byte above it starts a token.
        while (m_p < m_end && static_cast<unsigned char>(*m_p) <= ' ' &&
               (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }

    bool atEnd() const { return m_p >= m_end; }
    char peek() const { return m_p < m_end ? *m_p : '\0'; }

    bool value(int depth)
    {
        if (depth > JsonScanner::maxDepth) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "nested too deeply"));
            return false;
        }
        skipWhitespace();
        if (atEnd()) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unexpected end of input"));
            return false;
        }
        switch (*m_p) {
        case '{':
            return object(depth, nullptr);
        case '[':
            return array(depth);
        case '"':
            return string(nullptr);
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            if (*m_p == '-' || (*m_p >= '0' && *m_p <= '9'))
                return number();
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unexpected character"));
            return false;
        }
    }

    bool object(int depth, QList<JsonScanner::Member> *members)
    {
        ++m_p; // {
        skipWhitespace();
        if (peek() == '}') {
            ++m_p;
            return true;
        }
        for (;;) {
            skipWhitespace();
            if (peek() != '"') {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "expected a member name in double quotes"));
                return false;
            }
            QString name;
            if (!string(members ? &name : nullptr))
                return false;
            skipWhitespace();
            if (peek() != ':') {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "expected ':' after a member name"));
                return false;
            }
            ++m_p;
            skipWhitespace();
            const char *start = m_p;
            if (!value(depth + 1))
                return false;
            if (members)
                members->append({name, QByteArrayView(start, m_p - start)});
            skipWhitespace();
            if (peek() == ',') {
                ++m_p;
                continue;
            }
            if (peek() == '}') {
                ++m_p;
                return true;
            }
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "expected ',' or '}' in an object"));
            return false;
        }
    }

    bool array(int depth)
    {
        ++m_p; // [
        skipWhitespace();
        if (peek() == ']') {
            ++m_p;
            return true;
        }
        for (;;) {
            if (!value(depth + 1))
                return false;
            skipWhitespace();
            if (peek() == ',') {
                ++m_p;
                continue;
            }
            if (peek() == ']') {
                ++m_p;
                return true;
            }
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "expected ',' or ']' in an array"));
            return false;
        }
    }

    bool literal(const char *word)
    {
        const qsizetype n = qsizetype(strlen(word));
        if (m_end - m_p < n || memcmp(m_p, word, size_t(n)) != 0) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unexpected character"));
            return false;
        }
        m_p += n;
        return true;
    }

    bool digits()
    {
        if (atEnd() || *m_p < '0' || *m_p > '9') {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "malformed number"));
            return false;
        }
        while (!atEnd() && *m_p >= '0' && *m_p <= '9')
            ++m_p;
        return true;
    }

    bool number()
    {
        if (*m_p == '-')
            ++m_p;
        if (peek() == '0') {
            ++m_p;
            if (peek() >= '0' && peek() <= '9') {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "malformed number"));
                return false;
            }
        } else if (!digits()) {
            return false;
        }
        if (peek() == '.') {
            ++m_p;
            if (!digits())
                return false;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_p;
            if (peek() == '+' || peek() == '-')
                ++m_p;
            if (!digits())
                return false;
        }
        return true;
    }

    static int hexValue(char c)
    {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }

    // Validates one UTF-8 sequence starting at m_p (a byte >= 0x80) and steps over it.
    bool utf8Sequence(QString *out)
    {
        const auto *u = reinterpret_cast<const unsigned char *>(m_p);
        const qsizetype left = m_end - m_p;
        char32_t cp = 0;
        int len = 0;
        if (u[0] >= 0xC2 && u[0] <= 0xDF) {
            len = 2;
            cp = u[0] & 0x1F;
        } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
            len = 3;
            cp = u[0] & 0x0F;
        } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
            len = 4;
            cp = u[0] & 0x07;
        } else {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid UTF-8"));
            return false;
        }
        if (left < len) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid UTF-8"));
            return false;
        }
        for (int i = 1; i < len; ++i) {
            if ((u[i] & 0xC0) != 0x80) {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid UTF-8"));
                return false;
            }
            cp = (cp << 6) | (u[i] & 0x3F);
        }
        const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
        if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid UTF-8"));
            return false;
        }
        if (out)
            out->append(QString::fromUcs4(&cp, 1));
        m_p += len;
        return true;
    }

    // Steps over bytes that need no attention in a string (printable ASCII other than '"' and
    // backslash), eight at a time, up to the first that does (on a big-endian machine, up to the
    // word that holds it). The lowest byte flagged in a word always needs attention: a borrow only
    // flags bytes above (after) the one it starts at.
    void skipPlain()
    {
        constexpr quint64 ones = 0x0101010101010101ULL;
        constexpr quint64 highs = 0x8080808080808080ULL;
        while (m_end - m_p >= 8) {
            quint64 w;
            memcpy(&w, m_p, 8);
            const quint64 quote = w ^ (ones * '"');
            const quint64 slash = w ^ (ones * '\\');
            const quint64 special =
                (((quote - ones) & ~quote) | ((slash - ones) & ~slash) | (w - ones * 0x20) | w) & highs;
            if (special) {
                if constexpr (QSysInfo::ByteOrder == QSysInfo::LittleEndian)
                    m_p += std::countr_zero(special) / 8;
                return;
            }
            m_p += 8;
        }
        while (m_p < m_end && *m_p != '"' && *m_p != '\\' && static_cast<unsigned char>(*m_p) >= 0x20 &&
               static_cast<unsigned char>(*m_p) < 0x80)
            ++m_p;
    }

    bool string(QString *out)
    {
        ++m_p; // "
        if (out) {
            // A name without escapes or non-ASCII bytes (the usual case) is made in one go.
            const char *start = m_p;
            skipPlain();
            *out = QString::fromLatin1(start, m_p - start);
            if (m_p < m_end && *m_p == '"') {
                ++m_p;
                return true;
            }
        }
        for (;;) {
            if (!out)
                skipPlain();
            if (atEnd()) {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unterminated string"));
                return false;
            }
            const auto c = static_cast<unsigned char>(*m_p);
            if (c == '"') {
                ++m_p;
                return true;
            }
            if (c < 0x20) {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "control character in a string"));
                return false;
            }
            if (c == '\\') {
                if (!escape(out))
                    return false;
                continue;
            }
            if (c >= 0x80) {
                if (!utf8Sequence(out))
                    return false;
                continue;
            }
            if (out)
                out->append(QLatin1Char(char(c)));
            ++m_p;
        }
    }

    bool escape(QString *out)
    {
        ++m_p; // backslash
        if (atEnd()) {
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unterminated string"));
            return false;
        }
        const char e = *m_p++;
        char16_t decoded = 0;
        switch (e) {
        case '"':
            decoded = u'"';
            break;
        case '\\':
            decoded = u'\\';
            break;
        case '/':
            decoded = u'/';
            break;
        case 'b':
            decoded = u'\b';
            break;
        case 'f':
            decoded = u'\f';
            break;
        case 'n':
            decoded = u'\n';
            break;
        case 'r':
            decoded = u'\r';
            break;
        case 't':
            decoded = u'\t';
            break;
        case 'u': {
            if (m_end - m_p < 4) {
                fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid \\u escape"));
                return false;
            }
            int v = 0;
            for (int i = 0; i < 4; ++i) {
                const int h = hexValue(m_p[i]);
                if (h < 0) {
                    fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid \\u escape"));
                    return false;
                }
                v = v * 16 + h;
            }
            m_p += 4;
            decoded = char16_t(v);
            break;
        }
        default:
            --m_p;
            fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "invalid escape in a string"));
            return false;
        }
        if (out)
            out->append(QChar(decoded));
        return true;
    }

private:
    const char *m_p;
    const char *m_begin;
    const char *m_end;
    bool m_failed = false;
    JsonScanner::Error m_error;
};

bool finish(Reader &reader, JsonScanner::Error *error)
{
    if (!reader.failed()) {
        reader.skipWhitespace();
        if (!reader.atEnd())
            reader.fail(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "unexpected text after the JSON value"));
    }
    if (reader.failed() && error)
        *error = reader.error();
    return !reader.failed();
}

} // namespace

QString JsonScanner::Error::describe() const
{
    return QCoreApplication::translate("kvdesk::JsonScanner", "%1 at line %2, column %3")
        .arg(message)
        .arg(line)
        .arg(column);
}

bool JsonScanner::validate(QByteArrayView text, Error *error)
{
    Reader reader(text);
    reader.value(0);
    return finish(reader, error);
}

std::optional<QList<JsonScanner::Member>> JsonScanner::objectMembers(QByteArrayView text, Error *error)
{
    Reader reader(text);
    reader.skipWhitespace();
    if (reader.peek() != '{') {
        if (reader.value(0) && finish(reader, nullptr)) {
            if (error)
                *error = {I18n::tr(QT_TRANSLATE_NOOP("kvdesk::JsonScanner", "expected a JSON object")), 1, 1};
            return std::nullopt;
        }
        finish(reader, error);
        return std::nullopt;
    }
    QList<Member> members;
    reader.object(0, &members);
    if (!finish(reader, error))
        return std::nullopt;
    return members;
}

} // namespace kvdesk
