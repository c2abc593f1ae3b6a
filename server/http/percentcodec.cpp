#include "percentcodec.h"

#include <QCoreApplication>

#include <cstring>

namespace kvdesk {

namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::PercentCodec)
};

} // namespace

std::optional<QByteArray> PercentCodec::decode(QByteArrayView raw, bool plusAsSpace, QString *error)
{
    const auto has = [raw](char c) {
        return !raw.isEmpty() && std::memchr(raw.data(), c, size_t(raw.size()));
    };
    if (!has('%') && !(plusAsSpace && has('+')))
        return raw.toByteArray(); // most keys: nothing to decode
    QByteArray out(raw.size(), Qt::Uninitialized);
    char *o = out.data();
    for (qsizetype i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size()) {
                *error = I18n::tr("incomplete percent-escape at the end");
                return std::nullopt;
            }
            const int h = hexValue(raw[i + 1]);
            const int l = hexValue(raw[i + 2]);
            if (h < 0 || l < 0) {
                *error = I18n::tr("invalid percent-escape \"%1\"").arg(QString::fromLatin1(raw.sliced(i, 3)));
                return std::nullopt;
            }
            *o++ = char(h * 16 + l);
            i += 2;
        } else if (c == '+' && plusAsSpace) {
            *o++ = ' ';
        } else {
            *o++ = c;
        }
    }
    out.truncate(o - out.constData());
    return out;
}

bool PercentCodec::isValidUtf8(QByteArrayView bytes)
{
    const auto *u = reinterpret_cast<const unsigned char *>(bytes.data());
    const qsizetype n = bytes.size();
    qsizetype i = 0;
    while (i < n) {
        const unsigned char c = u[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int len = 0;
        char32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (int k = 1; k < len; ++k) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

std::optional<QList<QPair<QString, QString>>> PercentCodec::decodeQuery(QByteArrayView raw, QString *error)
{
    QList<QPair<QString, QString>> pairs;
    if (raw.isEmpty())
        return pairs;
    for (const QByteArray &part : QByteArray(raw.data(), raw.size()).split('&')) {
        if (part.isEmpty())
            continue;
        const qsizetype eq = part.indexOf('=');
        const auto name = decode(eq < 0 ? part : part.left(eq), true, error);
        const auto value = decode(eq < 0 ? QByteArray() : part.mid(eq + 1), true, error);
        if (!name || !value)
            return std::nullopt;
        if (!isValidUtf8(*name) || !isValidUtf8(*value)) {
            *error = I18n::tr("the query string is not valid UTF-8");
            return std::nullopt;
        }
        pairs.append({QString::fromUtf8(*name), QString::fromUtf8(*value)});
    }
    return pairs;
}

QByteArray PercentCodec::encodePath(const QString &key)
{
    return key.toUtf8().toPercentEncoding("/");
}

} // namespace kvdesk
