#pragma once

#include "storeerror.h"

#include <QByteArray>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

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

// One thread's connection to the store: the operations of the API on one database session.
// Created by Store::connect() and used and destroyed on that thread only. Every method throws
// StoreError when the database fails (kind Unavailable when it cannot be reached). The backends:
// SqliteConnection (the embedded default) and PostgresConnection.
class StoreConnection
{
public:
    virtual ~StoreConnection();
    StoreConnection(const StoreConnection &) = delete;
    StoreConnection &operator=(const StoreConnection &) = delete;

    // Keys are UTF-8. The value of key, unless absent or expired.
    virtual std::optional<StoredValue> get(QByteArrayView key) = 0;
    // What get() says of each key, in as few statements as the backend can: readsPerStatement()
    // keys in one where each statement costs a round trip to a server (> 1), each alone elsewhere.
    virtual int readsPerStatement() const { return 1; }
    // Whether the HTTP layer gathers the reads of an event loop turn for one getAll().
    virtual bool gathersReads() const { return readsPerStatement() > 1; }
    virtual std::vector<std::optional<StoredValue>> getAll(const std::vector<QByteArrayView> &keys);
    // Writes key (replacing its value and TTL); expiresAtMs empty means it never expires. The
    // condition is checked in the same statement as the write (no read-then-write).
    virtual PutResult put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                          const Precondition &condition = {}) = 0;
    virtual WriteOutcome remove(QByteArrayView key, const Precondition &condition = {}) = 0;
    // Unconditional puts and removes of distinct keys, in a transaction: what put() or remove()
    // does for each (their order does not matter: no two name the same key). A backend whose
    // statements each cost a round trip (writesPerStatement() > 1) writes them in a few statements;
    // a failure then fails them all, as it dooms its transaction anyway. A remove's result is
    // Written with no ETag, as remove()'s is without a condition.
    struct PlainWrite
    {
        bool remove = false;
        QByteArrayView key;
        QByteArrayView json; // a put's
        std::optional<qint64> expiresAtMs;
    };
    virtual int writesPerStatement() const { return 1; }
    virtual std::vector<PutResult> writeAll(const std::vector<PlainWrite> &writes);
    // First thing in a transaction that writes these keys, on a database that other processes
    // write too (PostgreSQL shared by several nodes): locks them until the transaction ends, in an
    // order that every process follows, so that two transactions that write some of the same keys
    // wait for one another rather than deadlock (which PostgreSQL finds only after a second, and
    // then fails one of them). Nothing where one writer owns the database (SQLite).
    virtual void lockKeys(const std::vector<QByteArrayView> & /*keys*/) {}
    // Live keys that start with prefix and sort after `after` (empty: from the first), in byte order.
    virtual KeyPage list(const QString &prefix, const QString &after, int limit) = 0;
    // Deletes up to batch expired rows; returns how many it deleted.
    virtual int sweepExpired(int batch) = 0;
    virtual qint64 countLiveKeys() = 0;

    // Explicit transactions, for writing several changes at once.
    virtual void begin() = 0;
    virtual void commit() = 0;
    virtual void rollback() = 0;
    // A savepoint inside the open transaction, to apply several changes all or none.
    virtual void savepoint() = 0;
    virtual void releaseSavepoint() = 0;
    virtual void rollbackToSavepoint() = 0;
    // Whether a failed transaction may succeed when applied again (a deadlock between writers of
    // several processes); the writer retries those.
    virtual bool mayRetry(const StoreError &) const { return false; }
    // Housekeeping of the database's log (SQLite's WAL); nothing elsewhere.
    virtual void checkpoint() {}
    virtual void setAutoCheckpoint(bool) {}
    // For the writer, between transactions: keeps the log from growing without end (the
    // background checkpoints alone cannot start it anew while writes keep coming). idle: no
    // write is waiting, and none came for a while.
    virtual void maintainLog(bool /*idle*/) {}
    // Whether maintainLog(true) has work to do once the writes pause.
    virtual bool logWantsIdleMaintenance() const { return false; }
    // Fills the store's read cache from the database (at start-up, see CacheWarmer): live keys,
    // the most recently created first, in short reads, until the cache is full, every key was
    // offered, or stopRequested() says so. Returns how many values it kept. Nothing on backends
    // without a read cache.
    virtual qint64 warmCache(const std::function<bool()> & /*stopRequested*/) { return 0; }
    // Ends a long-lived read snapshot, if the backend keeps one (SQLite does between commits).
    virtual void releaseSnapshot() {}

    virtual QSqlDatabase &database() = 0;
    // SQLite's handle of this connection, for store/ classes with statements of their own;
    // nullptr on other backends.
    virtual sqlite3 *nativeHandle() const { return nullptr; }
    const Store &store() const { return m_store; }

    static QByteArray etagFor(std::optional<qint64> version, qint64 updatedAtMs);
    // The same ETag written into buffer, without allocating; a view of it.
    using EtagBuffer = std::array<char, 24>;
    static QByteArrayView etagFor(std::optional<qint64> version, qint64 updatedAtMs, EtagBuffer &buffer);

protected:
    explicit StoreConnection(const Store &store) : m_store(store) {}

    // A write's version: random rather than a counter, so unique across processes sharing the
    // database, and never reused after a delete and re-create.
    static qint64 newVersion();
    // A quoted ETag back to what identifies a row's write: its version, or for rows written by
    // the original (no version) its updated_at.
    struct ParsedEtag
    {
        bool legacy = false;
        qint64 number = 0;
    };
    static std::optional<ParsedEtag> parseEtag(const QByteArray &etag);

    // The statement a write's precondition runs, checked by the database with the write itself.
    enum class Guard {
        None,    // no condition (a remove: of whatever is there)
        Absent,  // If-None-Match: * (absent or expired)
        Live,    // If-Match: * (a live key)
        Version, // If-Match with an ETag of this project's: number is the version
        Legacy,  // If-Match with an ETag of a row of the original: number is its updated_at
    };
    // Runs write(guard, number) for condition: once, or for If-Match once per ETag until one
    // writes. Whether a statement changed a row. Both backends' puts and removes go through here.
    template<typename Write> static bool applyGuarded(const Precondition &condition, Write write)
    {
        switch (condition.kind) {
        case Precondition::Kind::None:
            return write(Guard::None, qint64(0));
        case Precondition::Kind::IfNoneMatchAny:
            return write(Guard::Absent, qint64(0));
        case Precondition::Kind::IfMatchAny:
            return write(Guard::Live, qint64(0));
        case Precondition::Kind::IfMatch:
            for (const QByteArray &etag : condition.etags) {
                const auto parsed = parseEtag(etag);
                if (parsed && write(parsed->legacy ? Guard::Legacy : Guard::Version, parsed->number))
                    return true;
            }
            return false;
        }
        return false;
    }
    // A remove's outcome: without an If-Match it succeeds whether or not a row was there.
    static WriteOutcome removeOutcome(const Precondition &condition, bool changed)
    {
        const bool conditional =
            condition.kind == Precondition::Kind::IfMatch || condition.kind == Precondition::Kind::IfMatchAny;
        return changed || !conditional ? WriteOutcome::Written : WriteOutcome::PreconditionFailed;
    }

    // A name for a QSqlDatabase connection, unique in the process.
    static QString newConnectionName();

    const Store &m_store;
};

} // namespace kvdesk
