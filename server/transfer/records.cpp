#include "records.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace kvdesk::DumpJson {

QByteArray quote(QByteArrayView utf8)
{
    static const char hex[] = "0123456789abcdef";
    QByteArray out;
    out.reserve(utf8.size() + 2);
    out += '"';
    for (char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out += hex[u >> 4];
                out += hex[u & 15];
            }
        } else {
            out += c;
        }
    }
    out += '"';
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

} // namespace kvdesk::DumpJson
