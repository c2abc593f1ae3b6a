#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace kvdesk {

// Layout of JSON text that keeps every token exactly as written (big numbers, key order, escapes),
// unlike a round trip through QJsonDocument.
namespace JsonText {

// The text indented by `indent` spaces per level; input must be valid JSON.
QByteArray pretty(QByteArrayView json, int indent = 2);
// The text without whitespace outside strings; input must be valid JSON.
QByteArray compact(QByteArrayView json);
// "object", "array", "string", "number", "boolean" or "null" (translated), from the first token.
QString typeName(QByteArrayView json);

} // namespace JsonText

} // namespace kvdesk
