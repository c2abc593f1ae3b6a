#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace kvdesk {

// Percent-decoding done by the project itself: QUrl's tolerant mode mis-decodes a path with one
// bad escape, and a key must be decoded exactly once, as UTF-8.
class PercentCodec final
{
public:
    // Decodes %XX escapes (and '+' as a space when plusAsSpace); nullopt with error on a bad escape.
    static std::optional<QByteArray> decode(QByteArrayView raw, bool plusAsSpace, QString *error);
    // Strict UTF-8: no overlong forms, surrogates or code points above U+10FFFF.
    static bool isValidUtf8(QByteArrayView bytes);
    // The pairs of an application/x-www-form-urlencoded query; nullopt with error when malformed.
    static std::optional<QList<QPair<QString, QString>>> decodeQuery(QByteArrayView raw, QString *error);
    // Percent-encodes a key for use in a URL path ('/' kept).
    static QByteArray encodePath(const QString &key);
};

} // namespace kvdesk
