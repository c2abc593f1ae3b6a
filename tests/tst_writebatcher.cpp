#include "testdatabase.h"

#include "store/clock.h"
#include "store/sqliteconnection.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/sweeper.h"
#include "store/writebatcher.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QScopeGuard>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

using namespace kvdesk;

namespace {

// Counts the events that reach an object.
class EventCounter : public QObject
{
public:
    std::atomic<int> events{0};

protected:
    bool event(QEvent *e) override
    {
        ++events;
        return QObject::event(e);
    }
};

// A store whose log the tests watch, with a reader that lets go of its snapshot when the writer
// asks, as the server's threads do.
struct LoggedStore
{
    explicit LoggedStore(const QString &file) : path(file)
    {
        QObject::connect(&store, &Store::snapshotsReleaseRequested, &store, [this] { reader->releaseSnapshot(); });
    }
    qint64 logBytes() const { return QFileInfo(path + QStringLiteral("-wal")).size(); }

    QString path;
    Clock clock;
    Store store{StoreOptions::forDatabase(path), clock};
    std::unique_ptr<StoreConnection> reader = (store.open(), store.connect());
    WriteBatcher writer{store};
};

// Writes that never pause: groups of 100 values of 4 KB (about a 4 KiB frame each), or of
// valueBytes, with keys prefix0, prefix1, ..., each group sent from the writer's thread once the
// one before it in its chain is done, after a pause of pauseMs there. The writer never waits long
// for work, so the writes never pause (whatever the test's thread does meanwhile), and no pause
// of theirs starts the log anew.
struct SteadyWrites
{
    static constexpr int groupSize = 100;

    SteadyWrites(WriteBatcher &w, QByteArray keyPrefix, int pause, int valueBytes = 4000)
        : writer(w), prefix(keyPrefix), pauseMs(pause), value('"' + QByteArray(valueBytes, 'v') + '"')
    {}
    // A test that failed half-way leaves its chains running: they end before this goes.
    ~SteadyWrites()
    {
        stopping = true;
        for (int waited = 0; groupsDone.load() < groupsSent.load() && waited < 20000; ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // One more chain of groups.
    void startChain()
    {
        const int group = groupsSent++;
        std::vector<WriteRequest> requests;
        for (int i = 0; i < groupSize; ++i)
            requests.push_back({WriteRequest::Kind::Put, prefix + QByteArray::number(group * groupSize + i),
                                value, std::nullopt, {}});
        writer.submitGroup(std::move(requests),
                           [this](bool, const std::vector<WriteResult> &) {
                               std::this_thread::sleep_for(std::chrono::milliseconds(pauseMs));
                               if (!stopping)
                                   startChain();
                               // Last, so that once every group sent is done no call touches this.
                               ++groupsDone;
                           },
                           WriteBatcher::Group::EachOnItsOwn);
    }
    // Ends every chain, and waits for the groups sent to be written.
    void stop()
    {
        stopping = true;
        QTRY_COMPARE_WITH_TIMEOUT(groupsDone.load(), groupsSent.load(), 20000);
    }
    int valuesWritten() const { return groupsDone.load() * groupSize; }
    int valuesSent() const { return groupsSent.load() * groupSize; }

    WriteBatcher &writer;
    const QByteArray prefix;
    const int pauseMs;
    const QByteArray value;
    std::atomic<bool> stopping{false};
    std::atomic<int> groupsSent{0};
    std::atomic<int> groupsDone{0};
};

} // namespace

class TestWriteBatcher : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;

    // Applies count writes of 4 KiB values as one group, and waits for them.
    static void writeMany(WriteBatcher &writer, const QByteArray &prefix, int count)
    {
        std::vector<WriteRequest> requests;
        const QByteArray value = '"' + QByteArray(4000, 'v') + '"';
        for (int i = 0; i < count; ++i)
            requests.push_back({WriteRequest::Kind::Put, prefix + QByteArray::number(i), value, std::nullopt, {}});
        std::atomic<bool> done{false};
        writer.submitGroup(std::move(requests), [&](bool, const std::vector<WriteResult> &) { done = true; },
                           WriteBatcher::Group::EachOnItsOwn);
        QTRY_VERIFY_WITH_TIMEOUT(done.load(), 20000);
    }

private Q_SLOTS:
    void theLogStartsAnewWhenTheWritesPause()
    {
        if (kvdesk::test::TestDatabase::isPostgres())
            QSKIP("SQLite's log; PostgreSQL keeps its own");
        LoggedStore s(m_dir.filePath(QStringLiteral("log.sqlite")));
        auto &reader = s.reader;
        auto &writer = s.writer;
        const auto logBytes = [&s] { return s.logBytes(); };

        writeMany(writer, "a", 3000); // about 12 MiB of log
        QVERIFY(reader->get("a1"));   // a reader keeps a snapshot in the log...
        const qint64 first = logBytes();
        QVERIFY2(first > 8 * 1024 * 1024, QByteArray::number(first).constData());
        // ...and lets go of it when the writer asks, once the writes have paused.
        QTest::qWait(600);
        writeMany(writer, "b", 3000);
        // The second batch of writes reused the log from its start instead of growing it.
        const QByteArray sizes = QByteArray::number(first) + " then " + QByteArray::number(logBytes());
        QVERIFY2(logBytes() < first + first / 4, sizes.constData());
        QCOMPARE(reader->get("a2999")->json.size(), 4002);
        QCOMPARE(reader->get("b2999")->json.size(), 4002);
    }

    void theLogStartsAnewUnderWritesThatNeverPause()
    {
        if (kvdesk::test::TestDatabase::isPostgres())
            QSKIP("SQLite's log; PostgreSQL keeps its own");
        LoggedStore s(m_dir.filePath(QStringLiteral("steady.sqlite")));
        auto &reader = s.reader;
        auto &writer = s.writer;
        const auto logBytes = [&s] { return s.logBytes(); };
        Sweeper sweeper(s.store, 60000);

        // Two chains of groups (SteadyWrites), so two groups in flight at all times. At about
        // 30 MB/s, a steady load the checkpoints keep up with (at the writer's full speed they
        // cannot, and the log only starts anew past 4 GiB). Until 200 MiB of frames, or until the
        // log file stopped growing by them.
        constexpr qint64 mib = 1024 * 1024;
        SteadyWrites writes(writer, "s", 10);
        const auto written = [&] { return qint64(writes.valuesWritten()) * 4096; };
        writeMany(writer, "seed", 1);
        writes.startChain();
        writes.startChain();
        QElapsedTimer clock;
        clock.start();
        qint64 checkpoints = 0;
        while (written() < 200 * mib && !(written() > 96 * mib && logBytes() < written() - 32 * mib)) {
            // A reader in the log too, as the server's threads are (keys not read before: the
            // cache does not answer them, the database does, from a snapshot of the log).
            if (const int done = writes.valuesWritten())
                QVERIFY(reader->get(QByteArray("s" + QByteArray::number(done - 1))));
            QTest::qWait(5);
            // The sweeper's background checkpoint, every 100 ms here (its own timer's two seconds are
            // too long for 200 MiB).
            if (clock.elapsed() / 100 > checkpoints) {
                ++checkpoints;
                sweeper.checkpointNow();
            }
            QVERIFY2(clock.elapsed() < 120000, "the writes took too long");
        }
        writes.stop();
        const QByteArray sizes = QByteArray::number(written() / mib) + " MiB written, the log file " +
                                 QByteArray::number(logBytes() / mib) + " MiB";
        // The writer started the log anew while the writes went on, so later frames reused it.
        QVERIFY2(logBytes() < written() - 32 * mib, sizes.constData());
        const QByteArray last = "s" + QByteArray::number(writes.valuesSent() - 1);
        QCOMPARE(reader->get(last)->json.size(), 4002);
        QCOMPARE(reader->countLiveKeys(), writes.valuesSent() + 1);
    }

    void theLogStartsAnewOnAReportOfItsOwnCheckpointOnly()
    {
        if (kvdesk::test::TestDatabase::isPostgres())
            QSKIP("SQLite's log; PostgreSQL keeps its own");
        LoggedStore s(m_dir.filePath(QStringLiteral("reports.sqlite")));
        Sweeper sweeper(s.store, 3600 * 1000); // checkpoints only when asked here
        SteadyWrites writes(s.writer, "r", 3);
        const auto framesWritten = [&] { return writes.valuesWritten(); };
        const quint64 generation = s.store.logGeneration();
        const quint64 syncs = SqliteConnection::checkpointSyncs();
        writes.startChain();
        // Past the 16,384 frames under which the writer never starts the log anew while writes go on.
        QTRY_VERIFY_WITH_TIMEOUT(framesWritten() > 20000, 60000);
        QCOMPARE(s.store.logGeneration(), generation); // no checkpoint has reported on it yet
        // Checkpoints copy nearly all of it, and sync what they copied into the database file; on
        // such a report the writer starts the log anew.
        QElapsedTimer clock;
        clock.start();
        while (s.store.logGeneration() == generation) {
            sweeper.checkpointNow();
            QTest::qWait(20);
            QVERIFY2(clock.elapsed() < 60000, "the log never started anew");
        }
        QCOMPARE(s.store.logGeneration(), generation + 1);
        QVERIFY(SqliteConnection::checkpointSyncs() > syncs);
        // The last report is about the log before: however far the new one grows past the frames
        // that report counted, it starts nothing (before reports had a generation, it did, and had
        // to copy the whole log while writes waited).
        const Store::LogCheckpoint last = s.store.lastCheckpoint();
        QCOMPARE(last.generation, generation);
        const int restartedAt = framesWritten();
        QTRY_VERIFY_WITH_TIMEOUT(framesWritten() > restartedAt + 2 * last.logFrames, 120000);
        QCOMPARE(s.store.logGeneration(), generation + 1);
        writes.stop();
        QCOMPARE(s.reader->countLiveKeys(), writes.valuesSent());
    }

    void theLogStartsAnewWhenSyncingTheDatabaseIsSlow()
    {
        if (kvdesk::test::TestDatabase::isPostgres())
            QSKIP("SQLite's log; PostgreSQL keeps its own");
        LoggedStore s(m_dir.filePath(QStringLiteral("slowsync.sqlite")));
        Sweeper sweeper(s.store, 3600 * 1000); // checkpoints only when asked here
        // A slow disk: a checkpoint's sync takes 2 µs more per frame it covers, so the writes
        // add a thousand frames or more to the log while the sync of half a second's frames lasts
        // (on the development machine). Reported after that sync, the checkpoint would be that far
        // behind the log, and the writer would never start it anew (it copies at most 1,024 frames
        // itself while writes wait).
        SqliteConnection::setSyncDelayPerFrameForTesting(std::chrono::microseconds(2));
        const auto fastAgain = qScopeGuard([] { SqliteConnection::setSyncDelayPerFrameForTesting({}); });
        // A chain of groups of small values without pauses: the writer always has a group to
        // write next, so the log never waits, copied to its end, for a transaction that would
        // start it anew by itself (as SQLite does when it can).
        SteadyWrites writes(s.writer, "d", 0, 100);
        const quint64 generation = s.store.logGeneration();
        writes.startChain();
        // A checkpoint every half second, as the Sweeper's every two seconds under a steady load.
        QElapsedTimer clock;
        clock.start();
        while (s.store.logGeneration() < generation + 2) {
            QTest::qWait(500);
            const quint64 reported = s.store.logGeneration();
            sweeper.checkpointNow();
            const Store::LogCheckpoint last = s.store.lastCheckpoint();
            if (last.generation == reported && last.logFrames >= 16384) {
                // What came in while it synced was copied and synced too, in shorter syncs, so the
                // report is close enough to the log's end for the writer to start it anew.
                QTRY_VERIFY_WITH_TIMEOUT(s.store.logGeneration() > reported, 10000);
            }
            QVERIFY2(clock.elapsed() < 120000, "the log did not start anew twice");
        }
        writes.stop();
        QCOMPARE(s.reader->countLiveKeys(), writes.valuesSent());
    }

    void concurrentWritesShareOneTransactionAndReportAfterCommit()
    {
        Store store(StoreOptions::forDatabase(
                        kvdesk::test::TestDatabase::fresh(m_dir.filePath(QStringLiteral("a.sqlite")))),
                    m_clock);
        store.open();
        auto observer = store.connect(); // another connection: sees only committed data

        // Hold the write lock so that the writer's first transaction waits while writes queue up.
        QSqlDatabase blocker =
            QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("blocker"));
        blocker.setDatabaseName(m_dir.filePath(QStringLiteral("a.sqlite")));
        QVERIFY(blocker.open());
        QSqlQuery(QStringLiteral("BEGIN IMMEDIATE"), blocker);

        WriteBatcher writer(store);
        constexpr int count = 200;
        std::atomic<int> done{0};
        std::atomic<int> visibleAtDone{0};
        writer.submit({WriteRequest::Kind::Put, "first", "0", std::nullopt, {}},
                      [&](const WriteResult &) { ++done; });
        QTest::qWait(100); // the writer now waits for the lock with "first"
        for (int i = 0; i < count; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            writer.submit({WriteRequest::Kind::Put, key, QByteArray::number(i), std::nullopt, {}},
                          [&, key](const WriteResult &r) {
                              // Reported only once committed: another connection already reads it.
                              auto reader = store.connect();
                              if (r.error.isEmpty() && r.outcome == WriteOutcome::Written && reader->get(key))
                                  ++visibleAtDone;
                              ++done;
                          });
        }
        QSqlQuery(QStringLiteral("ROLLBACK"), blocker);
        blocker.close();
        QTRY_COMPARE_WITH_TIMEOUT(done.load(), count + 1, 20000);
        QCOMPARE(visibleAtDone.load(), count);
        QCOMPARE(writer.writes(), quint64(count + 1));
        // "first" alone, then everything that queued behind it in one or two transactions.
        QVERIFY2(writer.transactions() <= 3, qPrintable(QString::number(writer.transactions())));
        QCOMPARE(observer->countLiveKeys(), count + 1);
        blocker = QSqlDatabase();
        QSqlDatabase::removeDatabase(QStringLiteral("blocker"));
    }

    void preconditionsAreDecidedPerWriteInsideTheBatch()
    {
        Store store(StoreOptions::forDatabase(
                        kvdesk::test::TestDatabase::fresh(m_dir.filePath(QStringLiteral("b.sqlite")))),
                    m_clock);
        store.open();
        WriteBatcher writer(store);
        std::atomic<int> written{0};
        std::atomic<int> refused{0};
        auto count = [&](const WriteResult &r) {
            (r.outcome == WriteOutcome::Written ? written : refused)++;
        };
        const Precondition createOnly{Precondition::Kind::IfNoneMatchAny, {}};
        for (int i = 0; i < 10; ++i)
            writer.submit({WriteRequest::Kind::Put, "once", QByteArray::number(i), std::nullopt, createOnly},
                          count);
        QTRY_COMPARE(written.load() + refused.load(), 10);
        QCOMPARE(written.load(), 1); // exactly one creation wins
        QCOMPARE(refused.load(), 9);
    }

    // Writes that queue up behind a transaction go in the next one together; on PostgreSQL the
    // puts and removes among them without a condition, of distinct keys, in a few statements
    // (writeAll). Whatever the mix, each reads as if applied one by one, in order, and only keys
    // that changed are announced.
    void aBatchOfMixedWritesReadsAsIfAppliedInOrder()
    {
        Store store(StoreOptions::forDatabase(
                        kvdesk::test::TestDatabase::fresh(m_dir.filePath(QStringLiteral("mix.sqlite")))),
                    m_clock);
        store.open();
        auto setup = store.connect();
        setup->begin();
        for (const QByteArray key : {"gone", "kept", "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"})
            setup->put(key, "0", std::nullopt);
        setup->commit();
        std::mutex announcedMutex;
        QSet<QByteArray> announced;
        QObject::connect(
            &store, &Store::keysChanged, &store,
            [&](const QList<QByteArray> &keys) {
                std::lock_guard lock(announcedMutex);
                for (const QByteArray &key : keys)
                    announced.insert(key);
            },
            Qt::DirectConnection);
        // A transaction that writes "first" holds the writer's first transaction back (SQLite's
        // write lock, PostgreSQL's lock of the row) while the rest queue up behind it.
        auto blocker = store.connect();
        blocker->begin();
        blocker->put("first", "\"blocker\"", std::nullopt);

        WriteBatcher writer(store);
        std::vector<WriteResult> results(300);
        std::atomic<int> done{0};
        const auto submit = [&](int index, WriteRequest request) {
            writer.submit(std::move(request), [&, index](const WriteResult &r) {
                results[size_t(index)] = r;
                ++done;
            });
        };
        const auto put = [](const QByteArray &key, const QByteArray &json,
                            std::optional<qint64> expiresAtMs = {}, Precondition condition = {}) {
            return WriteRequest{WriteRequest::Kind::Put, key, json, expiresAtMs, std::move(condition)};
        };
        const auto remove = [](const QByteArray &key) {
            return WriteRequest{WriteRequest::Kind::Remove, key, {}, std::nullopt, {}};
        };
        submit(0, put("first", "0"));
        QTest::qWait(200); // the writer now waits with "first"
        const qint64 ttl = m_clock.nowMs() + 3'600'000;
        int n = 1;
        for (int i = 0; i < 250; ++i) { // more than one statement's worth, removes among them
            const QByteArray key = "k" + QByteArray::number(i);
            submit(n++,
                   put(key, QByteArray::number(i), i % 50 == 0 ? std::optional<qint64>(ttl) : std::nullopt));
            if (i % 40 == 0)
                submit(n++, remove("r" + QByteArray::number(i / 40)));
        }
        submit(n++, remove("absent"));
        submit(n++, remove("r7"));
        submit(n++, remove("r7"));           // the same key again: after the first
        submit(n++, put("k7", "\"again\"")); // the later put wins
        submit(n++, remove("gone"));
        const int refused = n;
        submit(n++, put("kept", "1", std::nullopt, {Precondition::Kind::IfNoneMatchAny, {}}));
        submit(n++, put("new", "1", std::nullopt, {Precondition::Kind::IfNoneMatchAny, {}}));
        submit(n++, put("k8", "[8]"));
        const int lastK8 = n;
        submit(n++, put("k8", "[88]"));
        submit(n++, put("gone", "\"back\""));
        const int total = n;
        QTest::qWait(100);
        blocker->rollback();
        QTRY_COMPARE_WITH_TIMEOUT(done.load(), total, 20000);
        QVERIFY2(writer.transactions() <= 4, qPrintable(QString::number(writer.transactions())));

        QSet<QByteArray> etags;
        int withoutEtag = 0;
        for (int i = 0; i < total; ++i) {
            const WriteResult &r = results[size_t(i)];
            QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
            QCOMPARE(r.outcome, i == refused ? WriteOutcome::PreconditionFailed : WriteOutcome::Written);
            if (r.etag.isEmpty())
                ++withoutEtag;
            else
                etags.insert(r.etag);
        }
        QCOMPARE(withoutEtag, 7 + 4 + 1); // removes (r0..r6, absent, r7 twice, gone), the refused put
        QCOMPARE(etags.size(), total - withoutEtag); // every put that wrote has its own ETag

        auto reader = store.connect();
        for (int i = 0; i < 250; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            const auto v = reader->get(key);
            QVERIFY(v);
            const QByteArray expected = i == 7 ? "\"again\"" : i == 8 ? "[88]" : QByteArray::number(i);
            QCOMPARE(v->json, expected);
            QCOMPARE(v->expiresAtMs, i % 50 == 0 ? std::optional<qint64>(ttl) : std::nullopt);
        }
        for (int i = 0; i < 8; ++i) {
            const QByteArray key = "r" + QByteArray::number(i);
            QVERIFY(!reader->get(key));
        }
        QCOMPARE(reader->get("k8")->etag, results[size_t(lastK8)].etag);
        QCOMPARE(reader->get("first")->json, "0");
        QCOMPARE(reader->get("kept")->json, "0");
        QCOMPARE(reader->get("new")->json, "1");
        QCOMPARE(reader->get("gone")->json, "\"back\"");
        QCOMPARE(reader->countLiveKeys(), 250 + 4);
        std::lock_guard lock(announcedMutex);
        QVERIFY(announced.contains("r0") && announced.contains("r7") && announced.contains("gone"));
        QVERIFY(!announced.contains("absent")); // nothing changed there
        QVERIFY(!announced.contains("kept"));   // refused
    }

    void aChannelRunsWhatABatchPostedInOneEventOnItsThread()
    {
        EventCounter target;
        auto channel = std::make_shared<ReplyChannel>(&target);
        constexpr int count = 100;
        int ran = 0;
        bool onTargetThread = true;
        std::thread writer([&] {
            ReplyChannel::Batch batch;
            for (int i = 0; i < count; ++i)
                channel->post([&, i] {
                    onTargetThread = onTargetThread && QThread::currentThread() == target.thread();
                    QCOMPARE(ran, i); // in the order posted
                    ++ran;
                });
        });
        writer.join();
        QCOMPARE(ran, 0); // nothing runs before the target's thread turns to its events
        QTRY_COMPARE(ran, count);
        QVERIFY(onTargetThread);
        QCOMPARE(target.events.load(), 1);

        // Outside a batch, calls posted while the thread has not run the earlier ones travel
        // with them.
        channel->post([&] { ++ran; });
        channel->post([&] { ++ran; });
        QTRY_COMPARE(ran, count + 2);
        QCOMPARE(target.events.load(), 2);
    }

    void aChannelClosedWhileAnotherThreadPostsDropsTheRestSafely()
    {
        // A server thread ends (closing its channel, then destroying its objects) while the writer
        // keeps posting to it, in batches and alone. Under the sanitizers, any use of the gone
        // object shows.
        for (int round = 0; round < 20; ++round) {
            std::shared_ptr<ReplyChannel> channel;
            std::atomic<int> ranAfterClose{0};
            std::atomic<bool> closed{false};
            std::atomic<bool> stopPosting{false};
            QThread server;
            auto *target = new QObject;
            target->moveToThread(&server);
            channel = std::make_shared<ReplyChannel>(target);
            std::thread writer([&] {
                for (int i = 0; !stopPosting.load(); ++i) {
                    auto call = [&] {
                        if (closed.load())
                            ++ranAfterClose;
                    };
                    if (i % 2) {
                        ReplyChannel::Batch batch;
                        channel->post(call);
                        channel->post(call);
                    } else {
                        channel->post(call);
                    }
                }
            });
            server.start();
            QTest::qWait(5 + round % 5);
            // What the server thread does on its way out: close, then destroy what calls touch.
            QMetaObject::invokeMethod(target, [&, target] {
                channel->close();
                closed = true;
                delete target;
                QThread::currentThread()->quit();
            });
            QVERIFY(server.wait(10000));
            QTest::qWait(2); // the writer goes on posting to the closed channel
            stopPosting = true;
            writer.join();
            QCOMPARE(ranAfterClose.load(), 0);
        }
    }

    void queuedWritesAreAppliedBeforeItStops()
    {
        Store store(StoreOptions::forDatabase(
                        kvdesk::test::TestDatabase::fresh(m_dir.filePath(QStringLiteral("c.sqlite")))),
                    m_clock);
        store.open();
        std::atomic<int> done{0};
        {
            WriteBatcher writer(store);
            for (int i = 0; i < 500; ++i)
                writer.submit({WriteRequest::Kind::Put, "k" + QByteArray::number(i), "1", std::nullopt, {}},
                              [&](const WriteResult &) { ++done; });
        }
        QCOMPARE(done.load(), 500);
        QCOMPARE(store.connect()->countLiveKeys(), 500);
    }
};

QTEST_GUILESS_MAIN(TestWriteBatcher)
#include "tst_writebatcher.moc"
