#include "jsontext.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace kvdesk::JsonText {

void appendQuoted(QByteArray &out, QByteArrayView utf8)
{
    // The escapes QJsonDocument writes: the short ones where JSON has them, \u00XX for the other
    // control characters, and UTF-8 as it is.
    static const char hex[] = "0123456789abcdef";
    out.reserve(out.size() + utf8.size() + 2);
    out += '"';
    for (char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && c != '"' && c != '\\') {
            out += c;
            continue;
        }
        out += '\\';
        switch (c) {
        case '"':
        case '\\':
            out += c;
            break;
        case '\b':
            out += 'b';
            break;
        case '\f':
            out += 'f';
            break;
        case '\n':
            out += 'n';
            break;
        case '\r':
            out += 'r';
            break;
        case '\t':
            out += 't';
            break;
        default:
            out += "u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    out += '"';
}

QByteArray quote(QByteArrayView utf8)
{
    QByteArray out;
    appendQuoted(out, utf8);
    return out;
}

std::optional<QByteArray> unquote(QByteArrayView literal)
{
    if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"')
        return std::nullopt;
    if (!literal.contains('\\'))
        return literal.sliced(1, literal.size() - 2).toByteArray();
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson("[" + literal.toByteArray() + "]", &error);
    if (error.error != QJsonParseError::NoError || !doc.array().at(0).isString())
        return std::nullopt;
    return doc.array().at(0).toString().toUtf8();
}

} // namespace kvdesk::JsonText
