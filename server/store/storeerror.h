#pragma once

#include <QString>

#include <stdexcept>

namespace kvdesk {

// Thrown by the store when the database fails; the HTTP layer turns it into a 500 or 503.
class StoreError final : public std::runtime_error
{
public:
    // Unavailable: the database cannot be reached now (a server restarting, a network cut); the
    // request may succeed later, and nothing of it was written.
    enum class Kind { Failure, SchemaOutdated, InUse, Unavailable };

    explicit StoreError(const QString &message, Kind kind = Kind::Failure, const QString &code = {})
        : std::runtime_error(message.toStdString()), m_message(message), m_kind(kind), m_code(code)
    {}
    QString message() const { return m_message; }
    Kind kind() const { return m_kind; }
    // The database's own error code, when it gave one (PostgreSQL's SQLSTATE).
    QString code() const { return m_code; }
    // Worth answering 503 (try again later) rather than 500.
    bool isTemporary() const { return m_kind == Kind::SchemaOutdated || m_kind == Kind::Unavailable; }

private:
    QString m_message;
    Kind m_kind;
    QString m_code;
};

} // namespace kvdesk
