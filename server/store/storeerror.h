#pragma once

#include <QString>

#include <stdexcept>

namespace kvdesk {

// Thrown by the store when the database fails; the HTTP layer turns it into a 500 or 503.
class StoreError final : public std::runtime_error
{
public:
    enum class Kind { Failure, SchemaOutdated, InUse };

    explicit StoreError(const QString &message, Kind kind = Kind::Failure)
        : std::runtime_error(message.toStdString()), m_message(message), m_kind(kind)
    {}
    QString message() const { return m_message; }
    Kind kind() const { return m_kind; }

private:
    QString m_message;
    Kind m_kind;
};

} // namespace kvdesk
