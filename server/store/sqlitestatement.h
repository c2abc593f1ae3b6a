#pragma once

#include "storeerror.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QCoreApplication>
#include <QString>

#include <sqlite3.h>

#include <optional>

// Helpers for statements run through SQLite's C API (store/ internal).
namespace kvdesk::sqlite {

// Binds values to a statement in order, and resets it when it goes out of scope.
class Bound
{
public:
    Bound(sqlite3_stmt *stmt) : m_stmt(stmt) {}
    ~Bound() { sqlite3_reset(m_stmt); }
    Bound(const Bound &) = delete;
    Bound &operator=(const Bound &) = delete;

    Bound &text(QByteArrayView v)
    {
        sqlite3_bind_text(m_stmt, ++m_index, v.data() ? v.data() : "", int(v.size()), SQLITE_STATIC);
        return *this;
    }
    Bound &integer(qint64 v)
    {
        sqlite3_bind_int64(m_stmt, ++m_index, v);
        return *this;
    }
    Bound &optional(std::optional<qint64> v)
    {
        if (v)
            sqlite3_bind_int64(m_stmt, ++m_index, *v);
        else
            sqlite3_bind_null(m_stmt, ++m_index);
        return *this;
    }
    // Leaves the next parameter as bound by hand.
    Bound &skip()
    {
        ++m_index;
        return *this;
    }
    // SQLITE_ROW (true) or SQLITE_DONE (false); throws on an error.
    bool step()
    {
        const int rc = sqlite3_step(m_stmt);
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        throw StoreError(QCoreApplication::translate("kvdesk::Store", "Database error: %1")
                             .arg(QString::fromUtf8(sqlite3_errmsg(sqlite3_db_handle(m_stmt)))));
    }
    sqlite3_stmt *stmt() const { return m_stmt; }

private:
    sqlite3_stmt *m_stmt;
    int m_index = 0;
};

inline std::optional<qint64> optionalColumn(sqlite3_stmt *stmt, int column)
{
    if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
        return std::nullopt;
    return sqlite3_column_int64(stmt, column);
}

// A text column's bytes, valid until the statement moves on.
inline QByteArrayView textView(sqlite3_stmt *stmt, int column)
{
    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(stmt, column));
    return QByteArrayView(text, sqlite3_column_bytes(stmt, column));
}

inline QByteArray textColumn(sqlite3_stmt *stmt, int column)
{
    return textView(stmt, column).toByteArray();
}

} // namespace kvdesk::sqlite
