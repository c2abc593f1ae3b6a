#pragma once

#include "reply.h"

#include <QJsonArray>
#include <QString>

namespace kvdesk {

class StoreError;

// One entry of a validation error's `errors` array.
struct FieldError
{
    QString location; // "body", "query" or "path"
    QJsonArray path;  // field names and indexes
    QString message;
};

// Every error that reaches HTTP: a status and a short message, plus field errors for a 400. How it
// becomes an answer (envelope, hint header) is decided here and nowhere else.
class ApiError final
{
public:
    ApiError(int status, QString message) : m_status(status), m_message(std::move(message)) {}

    static ApiError validation(const QString &location, const QJsonArray &path, const QString &message);
    static ApiError notFound();
    static ApiError unauthorized();
    static ApiError methodNotAllowed(const QByteArray &allow);
    static ApiError internal();
    // The database failed: 503 with its message when that may pass (unreachable, schema outdated),
    // a bare 500 otherwise (its message is for the log).
    static ApiError storeFailure(const StoreError &error);
    // The same, from what the writer thread reported of it.
    static ApiError storeFailure(bool temporary, const QString &message);

    ApiError &header(QByteArray name, QByteArray value)
    {
        m_headers.append({std::move(name), std::move(value)});
        return *this;
    }

    int status() const { return m_status; }
    QString message() const { return m_message; }
    const QList<FieldError> &errors() const { return m_errors; }
    Reply toReply() const;

private:
    int m_status;
    QString m_message;
    QList<FieldError> m_errors;
    QList<QPair<QByteArray, QByteArray>> m_headers;
};

} // namespace kvdesk
