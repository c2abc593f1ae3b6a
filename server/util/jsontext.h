#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <optional>

// JSON string literals, written from and read back to UTF-8 bytes.
namespace kvdesk::JsonText {

// A JSON string literal for utf8 (quotes included), escaped as QJsonDocument escapes.
QByteArray quote(QByteArrayView utf8);
// The same, appended to out.
void appendQuoted(QByteArray &out, QByteArrayView utf8);
// The text of a JSON string literal; nullopt when it is not one.
std::optional<QByteArray> unquote(QByteArrayView literal);

} // namespace kvdesk::JsonText
