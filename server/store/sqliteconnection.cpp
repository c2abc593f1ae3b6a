#include "sqliteconnection.h"

#include "clock.h"
#include "store.h"
#include "storeerror.h"
#include "valuecache.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include "sqlitestatement.h"
#include "sqlitewalvfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <thread>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

using sqlite::Bound;
using sqlite::optionalColumn;
using sqlite::textColumn;
using sqlite::textView;

namespace {

// How long a statement waits for a lock another connection holds.
constexpr int busyTimeoutMs = 10000;

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::Store)
};

#define KV_LIVE R"(("expires_at" IS NULL OR "expires_at" > ?))"
#define KV_SET R"("value" = ?, "updated_at" = ?, "expires_at" = ?, "version" = ?)"
#define KV_UPSERT                                                                                            \
    R"(INSERT INTO "wt_kv_key_values" ("value", "updated_at", "expires_at", "version", "name") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("name") DO UPDATE SET "value" = excluded."value", "updated_at" = excluded."updated_at", "expires_at" = excluded."expires_at", "version" = excluded."version")"

} // namespace

struct SqliteConnection::Statements
{
    explicit Statements(sqlite3 *db) : m_db(db)
    {
        get = prepare(
            R"(SELECT "value", "updated_at", "expires_at", "version" FROM "wt_kv_key_values" WHERE "name" = ? AND )" KV_LIVE);
        upsert = prepare(KV_UPSERT);
        insertIfAbsent = prepare(
            KV_UPSERT
            R"( WHERE "wt_kv_key_values"."expires_at" IS NOT NULL AND "wt_kv_key_values"."expires_at" <= ?)");
        updateIfVersion = prepare(R"(UPDATE "wt_kv_key_values" SET )" KV_SET
                                  R"( WHERE "name" = ? AND "version" = ? AND )" KV_LIVE);
        updateIfLegacy =
            prepare(R"(UPDATE "wt_kv_key_values" SET )" KV_SET
                    R"( WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )" KV_LIVE);
        updateIfLive =
            prepare(R"(UPDATE "wt_kv_key_values" SET )" KV_SET R"( WHERE "name" = ? AND )" KV_LIVE);
        remove = prepare(R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ?)");
        removeIfVersion =
            prepare(R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" = ? AND )" KV_LIVE);
        removeIfLegacy = prepare(
            R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND "version" IS NULL AND "updated_at" = ? AND )" KV_LIVE);
        removeIfLive = prepare(R"(DELETE FROM "wt_kv_key_values" WHERE "name" = ? AND )" KV_LIVE);
        // Every valid UTF-8 string that starts with the prefix sorts below prefix || 0xFF.
        list = prepare(
            R"(SELECT "name", "expires_at" FROM "wt_kv_key_values" WHERE "name" >= ?1 AND "name" < (?1 || CAST(x'FF' AS TEXT)) AND "name" > ?2 AND ("expires_at" IS NULL OR "expires_at" > ?3) ORDER BY "name" LIMIT ?4)");
        sweep = prepare(
            R"(DELETE FROM "wt_kv_key_values" WHERE rowid IN (SELECT rowid FROM "wt_kv_key_values" WHERE "expires_at" IS NOT NULL AND "expires_at" <= ? LIMIT ?))");
        count = prepare(R"(SELECT count(*) FROM "wt_kv_key_values" WHERE )" KV_LIVE);
        warm = prepare(
            R"(SELECT rowid, "name", "value", "updated_at", "expires_at", "version" FROM "wt_kv_key_values" WHERE rowid < ? AND )" KV_LIVE
            R"( ORDER BY rowid DESC LIMIT ?)");
        begin = prepare("BEGIN IMMEDIATE");
        beginRead = prepare("BEGIN");
        commit = prepare("COMMIT");
        rollback = prepare("ROLLBACK");
    }
    ~Statements()
    {
        for (sqlite3_stmt *s : m_all)
            sqlite3_finalize(s);
    }

    sqlite3_stmt *prepare(const char *sql)
    {
        sqlite3_stmt *stmt = nullptr;
        if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
            throw StoreError(
                I18n::tr("Cannot prepare a statement: %1").arg(QString::fromUtf8(sqlite3_errmsg(m_db))));
        m_all.append(stmt);
        return stmt;
    }

    sqlite3_stmt *get, *upsert, *insertIfAbsent, *updateIfVersion, *updateIfLegacy, *updateIfLive;
    sqlite3_stmt *remove, *removeIfVersion, *removeIfLegacy, *removeIfLive, *list, *sweep, *count, *warm;
    sqlite3_stmt *begin, *beginRead, *commit, *rollback;

private:
    sqlite3 *m_db;
    QList<sqlite3_stmt *> m_all;
};

SqliteConnection::SqliteConnection(const Store &store, const QString &path)
    : StoreConnection(store), m_connectionName(newConnectionName())
{
    // SQLite counts every allocation under one process-wide mutex, which every thread's
    // connection takes about ten times per PUT; nothing here reads those counts. Only possible
    // before SQLite initializes, so the first connection does it (later calls are refused).
    static std::once_flag configured;
    std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    // Each transaction's log frames reach the kernel in one write (the writer's cost per PUT).
    sqlite::installWalWriteGathering();
    m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
    m_db.setDatabaseName(path);
    m_db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=%1"_s.arg(busyTimeoutMs));
    const QVariant handle = m_db.open() ? m_db.driver()->handle() : QVariant();
    if (handle.isValid() && qstrcmp(handle.typeName(), "sqlite3*") == 0)
        m_handle = *static_cast<sqlite3 *const *>(handle.constData());
    if (!m_handle) {
        const QString error = m_db.lastError().text();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
        throw StoreError(I18n::tr("Cannot open the database %1: %2").arg(path, error));
    }
    // In WAL mode, NORMAL makes each commit reach the operating system before it returns: a
    // commit survives a crash of this process (not a power cut, which FULL would also cover).
    sqlite3_exec(m_handle, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    // Reads of the database file through a memory map rather than a system call per page; not
    // for a one-pass reader (an export), whose resident memory would grow with the file.
    if (!store.isReadOnly())
        sqlite3_exec(m_handle, "PRAGMA mmap_size=268435456", nullptr, nullptr, nullptr);
}

SqliteConnection::~SqliteConnection()
{
    releaseSnapshot();
    m_statements.reset();
    m_db.close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

SqliteConnection::Statements &SqliteConnection::statements()
{
    if (!m_statements) {
        if (!m_store.schemaReady())
            throw StoreError(
                I18n::tr(
                    "The database schema is out of date; run the pending migrations (POST {admin}/migrate)"),
                StoreError::Kind::SchemaOutdated);
        m_statements = std::make_unique<Statements>(m_handle);
    }
    return *m_statements;
}

void SqliteConnection::releaseSnapshot()
{
    if (!m_reading)
        return;
    m_reading = false;
    if (m_statements)
        Bound(m_statements->commit).step();
}

void SqliteConnection::freshSnapshot()
{
    Statements &s = statements();
    const quint64 commits = m_store.commits();
    if (m_reading && commits == m_snapshotCommits)
        return;
    releaseSnapshot();
    // The snapshot is taken by the first read after BEGIN, so it holds every commit counted so far.
    Bound(s.beginRead).step();
    m_reading = true;
    m_snapshotCommits = commits;
}

void SqliteConnection::begin()
{
    releaseSnapshot();
    Bound(statements().begin).step();
}

void SqliteConnection::commit()
{
    Bound(statements().commit).step();
    m_store.noteCommit();
    if (m_uncommitted.isEmpty())
        return;
    QList<QByteArray> keys;
    keys.reserve(m_uncommitted.size());
    for (Written &w : m_uncommitted) {
        publish(w);
        keys.append(std::move(w.key));
    }
    m_uncommitted.clear();
    m_store.announce(keys);
}

void SqliteConnection::savepoint()
{
    exec("SAVEPOINT kvdesk_group");
    m_savepointMark = m_uncommitted.size();
}

void SqliteConnection::releaseSavepoint()
{
    exec("RELEASE kvdesk_group");
}

void SqliteConnection::rollbackToSavepoint()
{
    exec("ROLLBACK TO kvdesk_group");
    exec("RELEASE kvdesk_group");
    // The keys written since the savepoint stay listed, but their values are void: the cache
    // only forgets them (harmless) at the commit.
    for (qsizetype i = std::max<qsizetype>(m_savepointMark, 0); i < m_uncommitted.size(); ++i)
        m_uncommitted[i].value.reset();
}

void SqliteConnection::exec(const char *sql)
{
    if (sqlite3_exec(m_handle, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        throw StoreError(I18n::tr("Database error: %1").arg(QString::fromUtf8(sqlite3_errmsg(m_handle))));
}

void SqliteConnection::rollback()
{
    Bound(statements().rollback).step();
    m_uncommitted.clear();
}

void SqliteConnection::setAutoCheckpoint(bool on)
{
    sqlite3_wal_autocheckpoint(m_handle, on ? 1000 : 0);
    if (!on) {
        // The writer counts the log's frames after each commit, for maintainLog().
        sqlite3_wal_hook(
            m_handle,
            [](void *self, sqlite3 *, const char *, int frames) {
                static_cast<SqliteConnection *>(self)->m_logFrames = frames;
                return SQLITE_OK;
            },
            this);
    }
}

namespace {

// Starting the log anew waits for its last frames to be copied and synced: done when the writes
// pause, past 4 MiB. While they never pause: past 64 MiB when the background checkpoint has just
// copied all but 4 MiB of it (a short wait, as that checkpoint synced what it copied), taking at
// most about 3% of the time (after a restart that took d, none for 30 d); and in any case past
// 4 GiB. A log let grow to gigabytes costs more than those waits: on the development machine the
// writer's CPU per PUT tripled once the file passed some 1.5 GB (the kernel adding pages to it).
constexpr int idleRestartFrames = 1024;
constexpr int caughtUpRestartFrames = 16384;
constexpr int caughtUpRemainderFrames = 1024;
constexpr int caughtUpPauseFactor = 30;
constexpr int busyRestartFrames = 1048576;

std::atomic<quint64> g_checkpointSyncs{0};
std::atomic<qint64> g_syncDelayPerFrameUs{0};

qint64 steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

bool SqliteConnection::logWantsIdleMaintenance() const
{
    return m_logFrames >= idleRestartFrames;
}

void SqliteConnection::maintainLog(bool idle)
{
    // The Sweeper copies the log into the database in the background, but while commits keep
    // coming the log is never all copied at once, so SQLite never starts it anew: it would grow
    // by every write. Here the writer, between two transactions, finishes the copy itself and
    // waits briefly for readers to leave their snapshots in the log (they are asked to); the
    // next transaction then writes the log from its start again.
    constexpr int waitMs = 20;
    const bool caughtUp = !idle && m_logFrames < busyRestartFrames;
    if (caughtUp) {
        // Writes keep coming: only while the background checkpoint has copied nearly all of the
        // log (what it reported is about this log if it saw no more frames than it now holds).
        if (m_logFrames < caughtUpRestartFrames)
            return;
        const Store::LogCheckpoint last = m_store.lastCheckpoint();
        if (last.generation != m_store.logGeneration() || last.logFrames > m_logFrames ||
            m_logFrames - last.copiedFrames > caughtUpRemainderFrames)
            return;
    } else if (m_logFrames < (idle ? idleRestartFrames : busyRestartFrames)) {
        return;
    }
    const qint64 now = steadyMs();
    if (now < m_nextRestartMs || (caughtUp && now < m_nextCaughtUpRestartMs))
        return;
    releaseSnapshot();
    Q_EMIT m_store.snapshotsReleaseRequested();
    // While it waits, readers are asked again: one that took a new snapshot while the last
    // frames were being copied holds it in the log, and would otherwise keep it until a commit.
    sqlite3_busy_handler(
        m_handle,
        [](void *self, int attempts) {
            if (attempts >= waitMs)
                return 0;
            Q_EMIT static_cast<SqliteConnection *>(self)->m_store.snapshotsReleaseRequested();
            sqlite3_sleep(1);
            return 1;
        },
        this);
    int logFrames = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(m_handle, nullptr, SQLITE_CHECKPOINT_RESTART, &logFrames, &copied);
    sqlite3_busy_timeout(m_handle, busyTimeoutMs);
    if (rc == SQLITE_OK) {
        const qint64 tookMs = steadyMs() - now;
        qCDebug(lcStore) << "the log of" << logFrames << "frames starts anew after" << tookMs << "ms";
        m_store.noteLogRestart();
        if (caughtUp)
            m_nextCaughtUpRestartMs = now + tookMs + caughtUpPauseFactor * tookMs;
        m_logFrames = 0;
        m_restartFailures = 0;
    } else {
        // A reader stayed (a long export, say) or the Sweeper was checkpointing: try again later,
        // later each time, so that a reader that stays long costs the writer little.
        qCDebug(lcStore) << "the log of" << logFrames << "frames could not start anew:" << rc;
        m_nextRestartMs = now + (qint64(200) << std::min(m_restartFailures++, 6));
    }
}

void SqliteConnection::checkpoint()
{
    releaseSnapshot();
    // When the log is long enough for the writer to want it started anew, what came in while a
    // pass copied is copied by another pass, and what came in while the copied pages were synced
    // by another round of passes and a sync, shorter each time, so that the report says how far
    // the log was copied and synced a moment ago: the writer then finds little left to copy and
    // sync when it restarts the log (between two transactions, while writes wait). Reported after
    // one long sync only, the log would have moved on by more than the writer accepts to copy
    // (under the benchmark's PUTs, once the database had grown for a few seconds), and the writer
    // would never restart it: it grew by every write.
    constexpr int maxRounds = 6;
    constexpr int maxPassesPerRound = 4;
    const quint64 generation = m_store.logGeneration();
    // What was copied, and synced, before this call: the report before it, of the same log, says.
    const Store::LogCheckpoint previous = m_store.lastCheckpoint();
    int synced = previous.generation == generation ? previous.copiedFrames : 0;
    int logFrames = 0;
    int checkpointed = 0;
    int rc = SQLITE_OK;
    for (int round = 0; round < maxRounds && rc == SQLITE_OK; ++round) {
        for (int pass = 0, before = logFrames; pass < maxPassesPerRound; ++pass) {
            rc = sqlite3_wal_checkpoint_v2(m_handle, nullptr, SQLITE_CHECKPOINT_PASSIVE, &logFrames,
                                           &checkpointed);
            if (rc != SQLITE_OK || logFrames < caughtUpRestartFrames ||
                logFrames - before <= caughtUpRemainderFrames / 2)
                break;
            before = logFrames;
        }
        if (rc != SQLITE_OK || checkpointed <= synced)
            break;
        const int copied = checkpointed - synced;
        syncDatabaseFile();
        if (const qint64 delayUs = g_syncDelayPerFrameUs.load(std::memory_order_relaxed))
            std::this_thread::sleep_for(std::chrono::microseconds(delayUs * copied));
        synced = checkpointed;
        // A short sync: little came in meanwhile.
        if (logFrames < caughtUpRestartFrames || copied <= caughtUpRemainderFrames / 2)
            break;
    }
    if (rc == SQLITE_OK)
        m_store.noteCheckpoint({generation, logFrames, checkpointed});
    else if (rc != SQLITE_BUSY)
        throw StoreError(I18n::tr("Database error: %1").arg(QString::fromUtf8(sqlite3_errmsg(m_handle))));
}

void SqliteConnection::syncDatabaseFile()
{
    // Under writes that never pause, SQLite's background checkpoints left the pages they copied
    // unsynced (a trace of 4 s of the benchmark's PUTs showed no fdatasync of the database file
    // but the writer's): the writer's restart of the log then synced them all while writes
    // waited, 6-25 ms, longer as the database grew. Synced here, on the checkpoint's thread and
    // with no lock of SQLite's held, that sync finds little left to write.
    sqlite3_file *file = nullptr;
    if (sqlite3_file_control(m_handle, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
        !file->pMethods)
        return;
    if (const int rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL); rc != SQLITE_OK)
        qCWarning(lcStore) << "syncing the database file after a checkpoint failed:" << rc;
    else
        g_checkpointSyncs.fetch_add(1, std::memory_order_relaxed);
}

quint64 SqliteConnection::checkpointSyncs()
{
    return g_checkpointSyncs.load(std::memory_order_relaxed);
}

void SqliteConnection::setSyncDelayPerFrameForTesting(std::chrono::microseconds delay)
{
    g_syncDelayPerFrameUs.store(delay.count(), std::memory_order_relaxed);
}

void SqliteConnection::written(QByteArrayView key, std::optional<StoredValue> value)
{
    // Inside a transaction the cache learns of the change when it commits; before that, readers
    // still see the old value in the database too.
    Written w{key.toByteArray(), std::move(value)};
    if (sqlite3_get_autocommit(m_handle)) {
        m_store.noteCommit();
        publish(w);
        m_store.announce({w.key});
    } else
        m_uncommitted.append(std::move(w));
}

void SqliteConnection::publish(const Written &w)
{
    if (w.value)
        m_store.cache().committed(w.key, *w.value);
    else
        m_store.cache().invalidate(w.key);
}

std::optional<StoredValue> SqliteConnection::get(QByteArrayView key)
{
    const qint64 now = m_store.clock().nowMs();
    if (auto hit = m_store.cache().get(key, now))
        return hit;
    return read(key, now);
}

bool SqliteConnection::gathersReads() const
{
    return m_store.cache().enabled();
}

std::vector<std::optional<StoredValue>> SqliteConnection::getAll(const std::vector<QByteArrayView> &keys)
{
    const qint64 now = m_store.clock().nowMs();
    std::vector<std::optional<StoredValue>> values = m_store.cache().getAll(keys, now);
    for (size_t i = 0; i < keys.size(); ++i) {
        if (!values[i])
            values[i] = read(keys[i], now);
    }
    return values;
}

std::optional<StoredValue> SqliteConnection::read(QByteArrayView key, qint64 now)
{
    Statements &s = statements();
    ValueCache &cache = m_store.cache();
    const quint64 ticket = cache.ticket(key);
    freshSnapshot();
    Bound q(s.get);
    q.text(key).integer(now);
    if (!q.step())
        return std::nullopt;
    StoredValue v;
    v.json = textColumn(q.stmt(), 0);
    v.updatedAtMs = sqlite3_column_int64(q.stmt(), 1);
    v.expiresAtMs = optionalColumn(q.stmt(), 2);
    v.etag = etagFor(optionalColumn(q.stmt(), 3), v.updatedAtMs);
    if (cache.admit(key, v))
        cache.insert(key, v, ticket);
    return v;
}

PutResult SqliteConnection::put(QByteArrayView key, QByteArrayView json, std::optional<qint64> expiresAtMs,
                                const Precondition &condition)
{
    Statements &s = statements();
    if (m_reading)
        releaseSnapshot();
    const qint64 now = m_store.clock().nowMs();
    const qint64 version = newVersion();
    const bool written = applyGuarded(condition, [&](Guard guard, qint64 number) {
        // IfNoneMatchAny's statement takes now for its expiry check, the others number then now.
        sqlite3_stmt *stmt = guard == Guard::None      ? s.upsert
                             : guard == Guard::Absent  ? s.insertIfAbsent
                             : guard == Guard::Live    ? s.updateIfLive
                             : guard == Guard::Version ? s.updateIfVersion
                                                       : s.updateIfLegacy;
        Bound q(stmt);
        q.text(json).integer(now).optional(expiresAtMs).integer(version).text(key);
        if (guard == Guard::Version || guard == Guard::Legacy)
            q.integer(number);
        if (guard != Guard::None)
            q.integer(now);
        q.step();
        return sqlite3_changes(m_handle) > 0;
    });
    if (!written)
        return {WriteOutcome::PreconditionFailed, {}};
    QByteArray etag = etagFor(version, now);
    // A key the cache holds takes the value written, so that reads after the write still hit.
    std::optional<StoredValue> value;
    if (m_store.cache().holds(key))
        value = StoredValue{json.toByteArray(), now, expiresAtMs, etag};
    this->written(key, std::move(value));
    return {WriteOutcome::Written, std::move(etag)};
}

WriteOutcome SqliteConnection::remove(QByteArrayView key, const Precondition &condition)
{
    Statements &s = statements();
    if (m_reading)
        releaseSnapshot();
    const qint64 now = m_store.clock().nowMs();
    const bool changed = applyGuarded(condition, [&](Guard guard, qint64 number) {
        sqlite3_stmt *stmt = guard == Guard::Live      ? s.removeIfLive
                             : guard == Guard::Version ? s.removeIfVersion
                             : guard == Guard::Legacy
                                 ? s.removeIfLegacy
                                 : s.remove; // None, and Absent (refused by the HTTP layer)
        Bound q(stmt);
        q.text(key);
        if (guard == Guard::Version || guard == Guard::Legacy)
            q.integer(number);
        if (guard == Guard::Live || guard == Guard::Version || guard == Guard::Legacy)
            q.integer(now);
        q.step();
        return sqlite3_changes(m_handle) > 0;
    });
    if (changed)
        written(key, std::nullopt);
    return removeOutcome(condition, changed);
}

KeyPage SqliteConnection::list(const QString &prefix, const QString &after, int limit)
{
    const QByteArray from = prefix.toUtf8();
    const QByteArray last = after.toUtf8();
    freshSnapshot();
    Bound q(statements().list);
    q.text(from).text(last).integer(m_store.clock().nowMs()).integer(limit + 1);
    KeyPage page;
    while (q.step()) {
        if (page.keys.size() == limit) {
            page.complete = false;
            break;
        }
        page.keys.append({QString::fromUtf8(textColumn(q.stmt(), 0)), optionalColumn(q.stmt(), 1)});
    }
    return page;
}

int SqliteConnection::sweepExpired(int batch)
{
    Statements &s = statements();
    releaseSnapshot();
    Bound q(s.sweep);
    q.integer(m_store.clock().nowMs()).integer(batch);
    q.step();
    m_store.noteCommit();
    return sqlite3_changes(m_handle);
}

qint64 SqliteConnection::warmCache(const std::function<bool()> &stopRequested)
{
    ValueCache &cache = m_store.cache();
    if (!cache.enabled())
        return 0;
    Statements &s = statements();
    releaseSnapshot();
    // Rows by rowid, newest first (an upsert keeps a key's rowid: the most recently created keys
    // first), a few hundred per read: each read is its own short snapshot, so the writer never
    // waits for this one to start the log anew, and few writes land while it runs (a write to a
    // key's shard meanwhile voids what was read in that shard).
    constexpr int rowsPerRead = 256;
    qint64 after = std::numeric_limits<qint64>::max();
    qint64 kept = 0;
    ValueCache::FillBatch batch;
    while (!stopRequested()) {
        // Taken before the read's snapshot: a write that this snapshot misses changes them.
        const ValueCache::Tickets tickets = cache.tickets();
        batch.clear();
        {
            Bound q(s.warm);
            q.integer(after).integer(m_store.clock().nowMs()).integer(rowsPerRead);
            while (q.step()) {
                sqlite3_stmt *row = q.stmt();
                after = sqlite3_column_int64(row, 0);
                const qint64 updatedAtMs = sqlite3_column_int64(row, 3);
                EtagBuffer etag;
                batch.add(textView(row, 1), {textView(row, 2), updatedAtMs, optionalColumn(row, 4),
                                             etagFor(optionalColumn(row, 5), updatedAtMs, etag)});
            }
        }
        const ValueCache::FillCounts counts = cache.fill(batch, tickets);
        kept += counts.kept;
        // The last rows, or the cache is full (its shards fill alike: most of a batch found no room).
        if (batch.size() < rowsPerRead || counts.full > rowsPerRead / 2)
            break;
    }
    return kept;
}

qint64 SqliteConnection::countLiveKeys()
{
    freshSnapshot();
    Bound q(statements().count);
    q.integer(m_store.clock().nowMs());
    return q.step() ? sqlite3_column_int64(q.stmt(), 0) : 0;
}

} // namespace kvdesk
