#pragma once

#include <QByteArrayView>
#include <QList>
#include <QString>

#include <optional>

namespace kvdesk {

// A strict RFC 8259 reader that validates JSON text and reports where the members of a top-level
// object are, as spans of the original bytes, without building a tree. Values keep their exact
// text (big integers and all), and a stored value can be spliced into an answer unparsed.
class JsonScanner final
{
public:
    struct Error
    {
        QString message;
        int line = 1;
        int column = 1;
        QString describe() const;
    };

    struct Member
    {
        QString name;
        QByteArrayView value; // the member's value, exactly as written
    };

    static constexpr int maxDepth = 512;

    // Whether text is one JSON value (surrounding whitespace allowed).
    static bool validate(QByteArrayView text, Error *error = nullptr);
    // The members of a top-level object, in order; nullopt with error set when text is not
    // valid JSON or not an object.
    static std::optional<QList<Member>> objectMembers(QByteArrayView text, Error *error = nullptr);
};

} // namespace kvdesk
