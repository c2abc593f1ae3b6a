// The VFS that gathers a transaction's log writes (store/sqlitewalvfs): whatever SQLite does to
// its log (spills of a large transaction, frames written again, rollbacks, the log started
// anew, a write that fails), every commit that returned is in the files when it returns. The
// checks read with SQLite's plain VFS from another connection, and open a copy of the files
// without the shared index: the state a crash of the process leaves, recovered from the log.
// Its first case checks how the store starts SQLite (without allocation counts).
// KVDESK_TEST_PLAIN_VFS=1 puts the writer on SQLite's plain VFS: every check but the counts of
// writes and writebacks holds there too.
#include "store/clock.h"
#include "store/sqlitewalvfs.h"
#include "store/store.h"
#include "store/writebatcher.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <csignal>
#include <future>
#include <map>
#include <sys/resource.h>

using namespace kvdesk;
using namespace Qt::StringLiterals;

namespace {

class Db
{
public:
    Db(const QString &path, const char *vfs)
    {
        const int rc = sqlite3_open_v2(path.toUtf8().constData(), &m_db,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
        if (rc != SQLITE_OK)
            qFatal("cannot open %s: %s", qPrintable(path), sqlite3_errstr(rc));
        sqlite3_busy_timeout(m_db, 5000);
    }
    ~Db() { sqlite3_close(m_db); }
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    int exec(const char *sql) { return sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr); }
    void must(const char *sql)
    {
        if (exec(sql) != SQLITE_OK)
            qFatal("%s: %s", sql, sqlite3_errmsg(m_db));
    }
    int put(int key, const QByteArray &value)
    {
        sqlite3_stmt *s = nullptr;
        sqlite3_prepare_v2(m_db,
                           "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                           -1, &s, nullptr);
        sqlite3_bind_int(s, 1, key);
        sqlite3_bind_blob(s, 2, value.constData(), int(value.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(s);
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    std::map<int, QByteArray> contents()
    {
        std::map<int, QByteArray> rows;
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(m_db, "SELECT k, v FROM kv", -1, &s, nullptr) != SQLITE_OK)
            return rows;
        while (sqlite3_step(s) == SQLITE_ROW) {
            rows[sqlite3_column_int(s, 0)] =
                QByteArray(static_cast<const char *>(sqlite3_column_blob(s, 1)), sqlite3_column_bytes(s, 1));
        }
        sqlite3_finalize(s);
        return rows;
    }
    QByteArray integrity()
    {
        sqlite3_stmt *s = nullptr;
        sqlite3_prepare_v2(m_db, "PRAGMA integrity_check", -1, &s, nullptr);
        QByteArray result = sqlite3_step(s) == SQLITE_ROW
                                ? QByteArray(reinterpret_cast<const char *>(sqlite3_column_text(s, 0)))
                                : QByteArray(sqlite3_errmsg(m_db));
        sqlite3_finalize(s);
        return result;
    }
    sqlite3 *handle() const { return m_db; }

private:
    sqlite3 *m_db = nullptr;
};

QByteArray valueFor(int key, int round, int size)
{
    QByteArray v(size, char('a' + (key + round) % 26));
    v.prepend(QByteArray::number(key) + '/' + QByteArray::number(round) + ':');
    return v;
}

} // namespace

class TestSqliteWal : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_path;
    std::unique_ptr<Db> m_writer;
    std::map<int, QByteArray> m_expected;
    int m_copies = 0;
    int m_databases = 0;

    // What a crash of the process now would leave: the database and its log as the kernel has
    // them, without the shared index, opened (and so recovered from the log) elsewhere.
    std::map<int, QByteArray> afterACrash()
    {
        const QString dir = m_dir.filePath(u"copy%1"_s.arg(++m_copies));
        QDir().mkpath(dir);
        const QString copy = dir + u"/kv.sqlite"_s;
        if (!QFile::copy(m_path, copy) || !QFile::copy(m_path + u"-wal"_s, copy + u"-wal"_s))
            qFatal("cannot copy the database");
        Db recovered(copy, "unix");
        const QByteArray integrity = recovered.integrity();
        if (integrity != "ok")
            qWarning() << "integrity of the recovered copy:" << integrity;
        return integrity == "ok" ? recovered.contents() : std::map<int, QByteArray>{};
    }

    // One key written in a transaction of its own, through the gathering writer.
    void writeOne(int key, const QByteArray &value)
    {
        m_writer->must("BEGIN IMMEDIATE");
        m_expected[key] = value;
        QCOMPARE(m_writer->put(key, value), SQLITE_OK);
        QVERIFY(commit(*m_writer));
    }

    // What was committed, seen by another connection and after a crash.
    bool committedEverywhere(Db &reader)
    {
        return reader.contents() == m_expected && afterACrash() == m_expected;
    }

    bool commit(Db &db)
    {
        const int rc = db.exec("COMMIT");
        if (rc != SQLITE_OK)
            qWarning() << "commit:" << sqlite3_errmsg(db.handle()) << sqlite3_extended_errcode(db.handle());
        return rc == SQLITE_OK;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void init()
    {
        if (qstrcmp(QTest::currentTestFunction(), "theStoreStartsSqliteWithoutAllocationCounts") == 0
            || qstrcmp(QTest::currentTestFunction(), "theServersWriterGoesThroughIt") == 0)
            return;
        sqlite::installWalWriteGathering();
        m_path = m_dir.filePath(u"kv%1.sqlite"_s.arg(++m_databases));
        m_writer = std::make_unique<Db>(m_path, qEnvironmentVariableIsSet("KVDESK_TEST_PLAIN_VFS") ? "unix"
                                                                                                   : nullptr);
        m_writer->must("PRAGMA journal_mode=WAL");
        m_writer->must("PRAGMA synchronous=NORMAL");
        m_writer->must("PRAGMA wal_autocheckpoint=0");
        m_writer->must("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        m_expected.clear();
    }

    void cleanup() { m_writer.reset(); }

    void theStoreStartsSqliteWithoutAllocationCounts()
    {
        // First of all, before anything else in this process starts SQLite: the store's first
        // connection turns off SQLite's count of its allocations, which takes one lock shared by
        // every thread on each allocation and free.
        Clock clock;
        Store store(StoreOptions{m_dir.filePath(u"counts.sqlite"_s)}, clock);
        store.open();
        const auto connection = store.connect();
        connection->put("key", R"({"a":1})", std::nullopt, {});
        QCOMPARE(connection->get("key")->json, R"({"a":1})");
        sqlite3_int64 allocations = -1;
        sqlite3_int64 most = -1;
        QCOMPARE(sqlite3_status64(SQLITE_STATUS_MALLOC_COUNT, &allocations, &most, 0), SQLITE_OK);
        QCOMPARE(allocations, 0);
        QCOMPARE(sqlite3_memory_used(), 0);
    }

    void theServersWriterGoesThroughIt()
    {
        // The store installs the VFS (the case above opened the process's first store), and its
        // connections, which Qt's SQLite driver opens, go through it.
        Clock clock;
        Store store(StoreOptions{m_dir.filePath(u"store.sqlite"_s)}, clock);
        store.open();
        QCOMPARE(QByteArray(sqlite3_vfs_find(nullptr)->zName), "kvdesk-gathered-log");
        WriteBatcher writer(store);
        std::vector<WriteRequest> puts;
        for (int i = 0; i < 100; ++i)
            puts.push_back({WriteRequest::Kind::Put,
                            "key" + QByteArray::number(i),
                            '"' + QByteArray(1000, 'v') + '"',
                            std::nullopt,
                            {}});
        const auto before = sqlite::walWriteCounts();
        std::promise<bool> applied;
        writer.submitGroup(std::move(puts),
                           [&](bool ok, const std::vector<WriteResult> &) { applied.set_value(ok); });
        QVERIFY(applied.get_future().get());
        const auto after = sqlite::walWriteCounts();
        const quint64 requested = after.requested - before.requested;
        const quint64 made = after.made - before.made;
        QVERIFY2(requested >= 50 && made <= 3,
                 qPrintable(u"%1 writes asked for, %2 made"_s.arg(requested).arg(made)));
        QCOMPARE(store.connect()->get("key99")->json, '"' + QByteArray(1000, 'v') + '"');
    }

    void everyCommitIsInTheFilesWhenItReturns_data()
    {
        QTest::addColumn<QByteArray>("synchronous");
        QTest::newRow("NORMAL (the server's)") << QByteArray("PRAGMA synchronous=NORMAL");
        QTest::newRow("FULL (commits synced)") << QByteArray("PRAGMA synchronous=FULL");
    }

    void everyCommitIsInTheFilesWhenItReturns()
    {
        QFETCH(QByteArray, synchronous);
        m_writer->must(synchronous.constData());
        Db reader(m_path, "unix");
        auto *random = QRandomGenerator::global();
        for (int round = 0; round < 120; ++round) {
            m_writer->must("BEGIN IMMEDIATE");
            const int rows = 1 + int(random->bounded(60));
            for (int i = 0; i < rows; ++i) {
                const int key = int(random->bounded(2000));
                const QByteArray value = valueFor(key, round, 50 + int(random->bounded(3000)));
                QCOMPARE(m_writer->put(key, value), SQLITE_OK);
                m_expected[key] = value;
            }
            QVERIFY(commit(*m_writer));
            QVERIFY2(reader.contents() == m_expected, qPrintable(u"round %1"_s.arg(round)));
            if (round % 30 == 29)
                QVERIFY2(afterACrash() == m_expected, qPrintable(u"round %1"_s.arg(round)));
        }
        QCOMPARE(reader.integrity(), "ok");
    }

    void aTransactionsFramesReachTheKernelInOneWrite()
    {
        m_writer->must("BEGIN IMMEDIATE");
        QCOMPARE(m_writer->put(0, "warm"), SQLITE_OK);
        QVERIFY(commit(*m_writer));
        const auto before = sqlite::walWriteCounts();
        m_writer->must("BEGIN IMMEDIATE");
        for (int key = 1; key <= 100; ++key) {
            m_expected[key] = valueFor(key, 0, 1000);
            QCOMPARE(m_writer->put(key, m_expected[key]), SQLITE_OK);
        }
        QVERIFY(commit(*m_writer));
        const auto after = sqlite::walWriteCounts();
        // 100 KB of rows: some 30 frames of 4 KiB, two writes asked for each, and made in as
        // few as the inner VFS takes (at most 120 KiB at a time).
        const quint64 requested = after.requested - before.requested;
        const quint64 made = after.made - before.made;
        QVERIFY2(requested >= 50 && made <= 2,
                 qPrintable(u"%1 writes asked for, %2 made"_s.arg(requested).arg(made)));
        m_expected[0] = "warm";
        QVERIFY(afterACrash() == m_expected);
    }

    void theLogIsWrittenBackAsItGrows()
    {
        // 4 MiB of log in transactions of about 100 KB: the kernel is asked, without waiting, to
        // start writing it to disk every MiB.
        const auto before = sqlite::walWriteCounts();
        for (int t = 0; t < 40; ++t) {
            m_writer->must("BEGIN IMMEDIATE");
            for (int i = 0; i < 25; ++i) {
                const int key = t * 25 + i;
                m_expected[key] = valueFor(key, t, 3500);
                QCOMPARE(m_writer->put(key, m_expected[key]), SQLITE_OK);
            }
            QVERIFY(commit(*m_writer));
        }
        const quint64 started = sqlite::walWriteCounts().writebacksStarted - before.writebacksStarted;
        QVERIFY2(started >= 3 && started <= 5, qPrintable(QString::number(started)));
        QVERIFY(afterACrash() == m_expected);
    }

    void spilledAndRewrittenFramesSurvive()
    {
        // A page cache of a few pages: a large transaction writes frames before it commits,
        // and writes some of the same pages again (SQLite then rewrites the checksums of the
        // frames after them at commit).
        m_writer->must("PRAGMA cache_size=8");
        m_writer->must("BEGIN IMMEDIATE");
        for (int key = 0; key < 600; ++key) {
            m_expected[key] = valueFor(key, 1, 1500);
            QCOMPARE(m_writer->put(key, m_expected[key]), SQLITE_OK);
        }
        for (int key = 0; key < 600; key += 3) {
            m_expected[key] = valueFor(key, 2, 700);
            QCOMPARE(m_writer->put(key, m_expected[key]), SQLITE_OK);
        }
        QVERIFY(commit(*m_writer));
        Db reader(m_path, "unix");
        QVERIFY(committedEverywhere(reader));

        // A large transaction that spills and then rolls back leaves nothing behind.
        m_writer->must("BEGIN IMMEDIATE");
        for (int key = 1000; key < 1600; ++key)
            QCOMPARE(m_writer->put(key, valueFor(key, 3, 1500)), SQLITE_OK);
        m_writer->must("ROLLBACK");
        writeOne(7, "after the rollback");
        QVERIFY(committedEverywhere(reader));
    }

    void theLogStartedAnewKeepsEveryCommit()
    {
        Db reader(m_path, "unix");
        for (int round = 0; round < 6; ++round) {
            for (int t = 0; t < 5; ++t) {
                m_writer->must("BEGIN IMMEDIATE");
                for (int key = 0; key < 40; ++key) {
                    m_expected[key * 7 + t] = valueFor(key, round * 10 + t, 400);
                    QCOMPARE(m_writer->put(key * 7 + t, m_expected[key * 7 + t]), SQLITE_OK);
                }
                QVERIFY(commit(*m_writer));
            }
            // Copied into the database and started anew: the next commit writes from its start.
            QCOMPARE(sqlite3_wal_checkpoint_v2(m_writer->handle(), nullptr, SQLITE_CHECKPOINT_RESTART,
                                               nullptr, nullptr),
                     SQLITE_OK);
            writeOne(round, "restarted");
            QVERIFY(committedEverywhere(reader));
        }
    }

    void aWriteThatFailsFailsTheCommitAndLosesNothing()
    {
        m_writer->must("BEGIN IMMEDIATE");
        for (int key = 0; key < 50; ++key) {
            m_expected[key] = valueFor(key, 0, 200);
            QCOMPARE(m_writer->put(key, m_expected[key]), SQLITE_OK);
        }
        QVERIFY(commit(*m_writer));
        const qint64 logSize = QFileInfo(m_path + u"-wal"_s).size();
        QVERIFY(logSize > 0);

        // The log may not grow: its next transaction's gathered write fails (EFBIG), as on a
        // full disk.
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit saved{};
        getrlimit(RLIMIT_FSIZE, &saved);
        rlimit limited = saved;
        limited.rlim_cur = rlim_t(logSize);
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &limited), 0);
        m_writer->must("BEGIN IMMEDIATE");
        for (int key = 0; key < 300; ++key)
            QCOMPARE(m_writer->put(key, valueFor(key, 1, 2000)), SQLITE_OK);
        const int rc = m_writer->exec("COMMIT");
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &saved), 0);
        QVERIFY2(rc != SQLITE_OK, "the commit succeeded though its log could not be written");
        if (!sqlite3_get_autocommit(m_writer->handle()))
            m_writer->must("ROLLBACK");

        Db reader(m_path, "unix");
        QVERIFY(committedEverywhere(reader));

        // And the next transaction commits as usual.
        writeOne(1, "after the failure");
        QVERIFY(committedEverywhere(reader));
    }
};

QTEST_GUILESS_MAIN(TestSqliteWal)
#include "tst_sqlitewal.moc"
