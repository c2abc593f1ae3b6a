#include "jsontext.h"

#include <QCoreApplication>

namespace kvdesk::JsonText {

namespace {

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Calls emit(token) for every token outside strings and for each whole string.
template<typename Emit> void tokens(QByteArrayView json, Emit emit)
{
    for (qsizetype i = 0; i < json.size();) {
        const char c = json[i];
        if (isSpace(c)) {
            ++i;
        } else if (c == '"') {
            qsizetype j = i + 1;
            while (j < json.size() && json[j] != '"')
                j += json[j] == '\\' ? 2 : 1;
            emit(json.sliced(i, std::min(j + 1, json.size()) - i));
            i = j + 1;
        } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
            emit(json.sliced(i, 1));
            ++i;
        } else {
            qsizetype j = i;
            while (j < json.size() && !isSpace(json[j]) && QByteArrayView("{}[],:\"").indexOf(json[j]) < 0)
                ++j;
            emit(json.sliced(i, j - i));
            i = j;
        }
    }
}

} // namespace

QByteArray pretty(QByteArrayView json, int indent)
{
    QByteArray out;
    out.reserve(json.size() * 2);
    int depth = 0;
    bool justOpened = false;
    auto newline = [&] {
        out += '\n';
        out += QByteArray(depth * indent, ' ');
    };
    tokens(json, [&](QByteArrayView t) {
        const char c = t.front();
        if (t.size() == 1 && (c == '}' || c == ']')) {
            --depth;
            if (!justOpened)
                newline();
            out += c;
            justOpened = false;
            return;
        }
        if (justOpened)
            newline();
        justOpened = false;
        if (t.size() == 1 && (c == '{' || c == '[')) {
            out += c;
            ++depth;
            justOpened = true;
        } else if (t.size() == 1 && c == ',') {
            out += ',';
            newline();
        } else if (t.size() == 1 && c == ':') {
            out += ": ";
        } else {
            out += t;
        }
    });
    return out;
}

QByteArray compact(QByteArrayView json)
{
    QByteArray out;
    out.reserve(json.size());
    tokens(json, [&](QByteArrayView t) { out += t; });
    return out;
}

QString typeName(QByteArrayView json)
{
    const char *type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "number");
    for (char c : json) {
        if (isSpace(c))
            continue;
        if (c == '{')
            type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "object");
        else if (c == '[')
            type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "array");
        else if (c == '"')
            type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "string");
        else if (c == 't' || c == 'f')
            type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "boolean");
        else if (c == 'n')
            type = QT_TRANSLATE_NOOP("kvdesk::JsonText", "null");
        break;
    }
    return QCoreApplication::translate("kvdesk::JsonText", type);
}

} // namespace kvdesk::JsonText
