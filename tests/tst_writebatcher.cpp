#include "testdatabase.h"

#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/writebatcher.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>

using namespace kvdesk;

class TestWriteBatcher : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;

private Q_SLOTS:
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
