#pragma once

#include "postgresoptions.h"
#include "storeconnection.h"

#include <QElapsedTimer>
#include <QSqlError>

#include <vector>

class QSqlQuery;

namespace kvdesk {

// A connection to a PostgreSQL database (Qt's QPSQL driver), shared with other kvdesk nodes:
// every read goes to the database (no snapshot, no cache), conditional writes are single
// statements that PostgreSQL checks under the row's lock, sweeps skip rows other nodes hold.
// When the server goes away the connection fails fast with StoreError::Unavailable and connects
// again by itself (at most once a second) when asked to work.
class PostgresConnection final : public StoreConnection
{
public:
    PostgresConnection(const Store &store, const PostgresOptions &options);
    ~PostgresConnection() override;

    std::optional<StoredValue> get(QByteArrayView key) override;
    int readsPerStatement() const override { return maxReadsPerStatement; }
    std::vector<std::optional<StoredValue>> getAll(const std::vector<QByteArrayView> &keys) override;
    PutResult put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                  const Precondition &condition = {}) override;
    WriteOutcome remove(QByteArrayView key, const Precondition &condition = {}) override;
    int writesPerStatement() const override { return maxWritesPerStatement; }
    std::vector<PutResult> writeAll(const std::vector<PlainWrite> &writes) override;
    void lockKeys(const std::vector<QByteArrayView> &keys) override;
    // A transaction of more keys than this locks every other node's writes out instead (one
    // lock), rather than take a lock per key from PostgreSQL's table of locks, which is shared
    // and bounded (max_locks_per_transaction for each connection).
    static constexpr int maxKeyLocks = 1024;
    KeyPage list(const QString &prefix, const QString &after, int limit) override;
    int sweepExpired(int batch) override;
    qint64 countLiveKeys() override;
    void begin() override;
    void commit() override;
    void rollback() override;
    void savepoint() override;
    void releaseSavepoint() override;
    void rollbackToSavepoint() override;
    bool mayRetry(const StoreError &error) const override;
    QSqlDatabase &database() override;

    // The channel on which the nodes of this connection's schema announce their commits
    // ("kvdesk_keys_<schema>"): deployments in other schemas of the database do not hear them.
    QString keysChannel();

    // The smallest string above every string that starts with prefix, in byte order; empty when
    // there is none (an empty prefix).
    static QString prefixEnd(const QString &prefix);

private:
    // A statement of head, n times item (comma-separated), then tail, prepared once per n.
    QSqlQuery &prepared(std::vector<std::unique_ptr<QSqlQuery>> &cache, size_t n, const QString &head,
                        const QString &item, const QString &tail);
    // Rows of one INSERT in writeAll (five parameters each), or keys of one DELETE.
    static constexpr int maxWritesPerStatement = 100;
    // Keys of one SELECT in getAll.
    static constexpr int maxReadsPerStatement = 100;
    // The value, updated_at, expires_at and version columns of a row, from column first on.
    static StoredValue storedValue(const QSqlQuery &q, int first);
    struct Statements;
    Statements &statements();
    void ensureOpen();
    [[noreturn]] void fail(const QSqlError &error);
    void execOrFail(const QString &sql);
    bool run(QSqlQuery &query);
    // Runs a read (outside a transaction) again once when it found the session lost.
    template<typename F> auto retrying(F work) -> decltype(work());
    void written(QByteArrayView key);
    void notifyOthers(const QList<QByteArray> &keys);

    PostgresOptions m_options;
    QString m_connectionName;
    QSqlDatabase m_db;
    std::unique_ptr<Statements> m_statements;
    bool m_broken = false;       // the session is lost; connect again before the next statement
    QElapsedTimer m_lastAttempt; // of connecting, to fail fast while the server is away
    // The last failure found a session lost since its last statement (the server restarted):
    // the work may be done again at once on a new session, unless a COMMIT was on its way.
    bool m_retryable = false;
    bool m_committing = false;
    bool m_inTransaction = false;
    std::optional<StoreError> m_transactionError; // the first failure in the open transaction
    QList<QByteArray> m_uncommittedKeys;
    QString m_keysChannel; // keysChannel(), once asked
};

} // namespace kvdesk
