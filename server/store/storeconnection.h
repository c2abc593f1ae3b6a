#pragma once

#include <QByteArray>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <memory>
#include <optional>

struct sqlite3;
struct sqlite3_stmt;

namespace kvdesk {

class Store;

struct StoredValue
{
    QByteArray json; // the value's JSON text, as written
    qint64 updatedAtMs = 0;
    std::optional<qint64> expiresAtMs;
    QByteArray etag; // quoted, as sent in the ETag header
};

struct KeyInfo
{
    QString name;
    std::optional<qint64> expiresAtMs;
};

struct KeyPage
{
    QList<KeyInfo> keys;
    bool complete = true; // no key after the last one listed
};

// A write's condition: If-Match (a list of ETags, or any existing key) or If-None-Match: *.
struct Precondition
{
    enum class Kind { None, IfMatch, IfMatchAny, IfNoneMatchAny };
    Kind kind = Kind::None;
    QList<QByteArray> etags; // for IfMatch, quoted
};

enum class WriteOutcome { Written, PreconditionFailed };

struct PutResult
{
    WriteOutcome outcome = WriteOutcome::Written;
    QByteArray etag;
};

// One thread's connection to the store, with its prepared statements. Created by Store::connect()
// and used and destroyed on that thread only. Every method throws StoreError when the database fails.
// QSqlDatabase opens it; the statements on the request path run through SQLite's C API on the
// driver's handle, which spares a UTF-16 round trip of every key and value.
class StoreConnection final
{
public:
    StoreConnection(const Store &store, const QString &path);
    ~StoreConnection();
    StoreConnection(const StoreConnection &) = delete;
    StoreConnection &operator=(const StoreConnection &) = delete;

    // Keys are UTF-8. The value of key, unless absent or expired.
    std::optional<StoredValue> get(QByteArrayView key);
    // Writes key (replacing its value and TTL); expiresAtMs empty means it never expires.
    PutResult put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                  const Precondition &condition = {});
    WriteOutcome remove(QByteArrayView key, const Precondition &condition = {});
    // Live keys that start with prefix and sort after `after` (empty: from the first), in byte order.
    KeyPage list(const QString &prefix, const QString &after, int limit);
    // Deletes up to batch expired rows; returns how many it deleted.
    int sweepExpired(int batch);
    qint64 countLiveKeys();

    // Explicit transactions, for writing several changes at once.
    void begin();
    void commit();
    void rollback();
    // A savepoint inside the open transaction, to apply several changes all or none.
    void savepoint();
    void releaseSavepoint();
    void rollbackToSavepoint();
    // A PASSIVE WAL checkpoint.
    void checkpoint();
    // Whether a commit that grows the WAL past 1000 pages checkpoints it (SQLite's default).
    void setAutoCheckpoint(bool on);
    // Reads share one read transaction until a commit happens anywhere in the store (no locking
    // system calls per read). Ending it now and then lets the WAL be reset; the owner calls this.
    void releaseSnapshot();

    QSqlDatabase &database() { return m_db; }
    // SQLite's handle of this connection, for store/ classes with statements of their own.
    sqlite3 *nativeHandle() const { return m_handle; }
    const Store &store() const { return m_store; }

    static QByteArray etagFor(std::optional<qint64> version, qint64 updatedAtMs);

private:
    struct Statements;
    Statements &statements();
    void written(QByteArrayView key);
    void freshSnapshot();
    void exec(const char *sql);

    const Store &m_store;
    QString m_connectionName;
    QSqlDatabase m_db;
    sqlite3 *m_handle = nullptr;
    std::unique_ptr<Statements> m_statements;
    QList<QByteArray> m_uncommittedKeys; // written in the open transaction
    bool m_reading = false;              // a read transaction is open
    quint64 m_snapshotCommits = 0;       // Store::commits() when it began
};

} // namespace kvdesk
