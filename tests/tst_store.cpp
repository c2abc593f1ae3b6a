#include "testdatabase.h"

#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/storeerror.h"
#include "store/sweeper.h"

#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <limits>

using namespace kvdesk;
using kvdesk::test::TestDatabase::isPostgres;
namespace TestDatabase = kvdesk::test::TestDatabase;

namespace {

QStringList column(const QString &path, const QString &sql)
{
    QStringList values;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("inspect"));
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        q.exec(sql);
        while (q.next())
            values << q.value(0).toString();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("inspect"));
    return values;
}

} // namespace

class TestStore : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<StoreConnection> m_db;
    QString m_path;

    // A query through a connection of the store's own backend.
    QStringList storeColumn(const QString &sql)
    {
        auto connection = m_store->connect();
        QSqlQuery q(connection->database());
        q.exec(sql);
        QStringList values;
        while (q.next())
            values << q.value(0).toString();
        return values;
    }

private Q_SLOTS:
    void init()
    {
        static int n = 0;
        m_path = m_dir.filePath(QStringLiteral("s%1.sqlite").arg(++n));
        m_store = std::make_unique<Store>(StoreOptions::forDatabase(TestDatabase::fresh(m_path)), m_clock);
        m_store->open();
        m_db = m_store->connect();
    }
    void cleanup()
    {
        m_db.reset();
        m_store.reset();
    }

    void putThenGetReturnsTheSameJsonText()
    {
        const QByteArray json = R"({"n": 12345678901234567890, "s": "é"})";
        const PutResult r = m_db->put(QByteArrayView("a/b"), json, std::nullopt);
        QCOMPARE(r.outcome, WriteOutcome::Written);
        const auto v = m_db->get(QByteArrayView("a/b"));
        QVERIFY(v);
        QCOMPARE(v->json, json);
        QCOMPARE(v->etag, r.etag);
        QVERIFY(!v->expiresAtMs);
        QVERIFY(!m_db->get(QByteArrayView("missing")));
    }

    // getAll reads what get reads, key by key: values, ETags, expiries; absent, expired and repeated
    // keys; more keys than one statement takes, and keys that SQL would quote.
    void getAllReadsWhatGetReads()
    {
        const qint64 now = m_clock.nowMs();
        m_db->begin();
        for (int i = 0; i < 250; i += 2)
            m_db->put(QByteArray("k" + QByteArray::number(i)), QByteArray("[" + QByteArray::number(i) + "]"),
                      std::nullopt);
        m_db->commit();
        m_db->put(QByteArrayView("gone"), "1", now - 1);
        m_db->put(QByteArrayView("ttl"), "true", now + 60'000);
        const QByteArray odd = "quote\"comma,brace{}back\\slash?$1 %_ \xc3\xa9t\xc3\xa9";
        m_db->put(odd, R"({"odd": 1})", std::nullopt);
        std::vector<QByteArray> keys;
        for (int i = 0; i < 250; ++i) // every other one absent
            keys.push_back("k" + QByteArray::number(i));
        for (const QByteArray &key :
             {QByteArray("gone"), QByteArray("ttl"), odd, QByteArray("k2"), QByteArray("absent"), odd})
            keys.push_back(key);
        const auto values = m_db->getAll(std::vector<QByteArrayView>(keys.begin(), keys.end()));
        QCOMPARE(values.size(), keys.size());
        for (size_t i = 0; i < keys.size(); ++i) {
            const auto alone = m_db->get(keys[i]);
            QCOMPARE(values[i].has_value(), alone.has_value());
            if (!alone)
                continue;
            QCOMPARE(values[i]->json, alone->json);
            QCOMPARE(values[i]->etag, alone->etag);
            QCOMPARE(values[i]->updatedAtMs, alone->updatedAtMs);
            QCOMPARE(values[i]->expiresAtMs, alone->expiresAtMs);
        }
        QCOMPARE(values[0]->json, QByteArray("[0]"));
        QCOMPARE(values[248]->json, QByteArray("[248]"));
        QVERIFY(!values[1] && !values[249]);
        QVERIFY(!values[250]); // expired
        QCOMPARE(values[251]->expiresAtMs, now + 60'000);
        QCOMPARE(values[252]->json, QByteArray(R"({"odd": 1})"));
        QVERIFY(values[253] && !values[254] && values[255]);
        QVERIFY(m_db->getAll({}).empty());
        // Again, now that the reads above have filled the read cache (SQLite): the same answers.
        const auto again = m_db->getAll(std::vector<QByteArrayView>(keys.begin(), keys.end()));
        QCOMPARE(again.size(), keys.size());
        for (size_t i = 0; i < keys.size(); ++i) {
            QCOMPARE(again[i].has_value(), values[i].has_value());
            if (values[i]) {
                QCOMPARE(again[i]->json, values[i]->json);
                QCOMPARE(again[i]->etag, values[i]->etag);
                QCOMPARE(again[i]->expiresAtMs, values[i]->expiresAtMs);
            }
        }
    }

    void everyWriteChangesTheEtag()
    {
        const QByteArray first = m_db->put(QByteArrayView("k"), "1", std::nullopt).etag;
        const QByteArray second = m_db->put(QByteArrayView("k"), "1", std::nullopt).etag;
        QVERIFY(first != second);
        m_db->remove(QByteArrayView("k"));
        const QByteArray third = m_db->put(QByteArrayView("k"), "1", std::nullopt).etag;
        QVERIFY(third != first && third != second);
    }

    void expiredKeysVanishAtOnceAndAreSweptLater()
    {
        m_db->put(QByteArrayView("ttl"), "true", m_clock.nowMs() + 10000);
        m_db->put(QByteArrayView("forever"), "true", std::nullopt);
        QVERIFY(m_db->get(QByteArrayView("ttl")));
        QCOMPARE(m_db->list({}, {}, 10).keys.size(), 2);
        m_clock.advance(10001);
        QVERIFY(!m_db->get(QByteArrayView("ttl")));
        QCOMPARE(m_db->list({}, {}, 10).keys.size(), 1);
        QCOMPARE(m_db->countLiveKeys(), 1);
        QCOMPARE(storeColumn(QStringLiteral("select count(*) from wt_kv_key_values")).value(0),
                 QStringLiteral("2"));
        Sweeper sweeper(*m_store, 60000);
        QCOMPARE(sweeper.sweepNow(), 1);
        QCOMPARE(storeColumn(QStringLiteral("select name from wt_kv_key_values")),
                 QStringList{QStringLiteral("forever")});
    }

    void sweeperRemovesManyInBatches()
    {
        for (int i = 0; i < 1200; ++i)
            m_db->put(QStringLiteral("k%1").arg(i).toUtf8(), "1", m_clock.nowMs() + 1000);
        m_clock.advance(2000);
        Sweeper sweeper(*m_store, 60000);
        QCOMPARE(sweeper.sweepNow(), 1200);
    }

    void rewritingReplacesTheTtl()
    {
        m_db->put(QByteArrayView("k"), "1", m_clock.nowMs() + 1000);
        m_db->put(QByteArrayView("k"), "2", std::nullopt);
        m_clock.advance(5000);
        QCOMPARE(m_db->get(QByteArrayView("k"))->json, QByteArray("2"));
    }

    void ifMatchWritesOnlyTheSameVersion()
    {
        const QByteArray etag = m_db->put(QByteArrayView("k"), "1", std::nullopt).etag;
        Precondition stale{Precondition::Kind::IfMatch, {"\"nope\""}};
        QCOMPARE(m_db->put(QByteArrayView("k"), "2", std::nullopt, stale).outcome,
                 WriteOutcome::PreconditionFailed);
        Precondition current{Precondition::Kind::IfMatch, {"\"x\"", etag}};
        const PutResult r = m_db->put(QByteArrayView("k"), "3", std::nullopt, current);
        QCOMPARE(r.outcome, WriteOutcome::Written);
        QCOMPARE(m_db->get(QByteArrayView("k"))->json, QByteArray("3"));
        // The old ETag no longer matches, for a write or a delete.
        QCOMPARE(m_db->put(QByteArrayView("k"), "4", std::nullopt, current).outcome,
                 WriteOutcome::PreconditionFailed);
        QCOMPARE(m_db->remove(QByteArrayView("k"), current), WriteOutcome::PreconditionFailed);
        QCOMPARE(m_db->remove(QByteArrayView("k"), {Precondition::Kind::IfMatch, {r.etag}}),
                 WriteOutcome::Written);
        QVERIFY(!m_db->get(QByteArrayView("k")));
    }

    void etagsAreSpelledOneWay()
    {
        // "v" and the version in base 36 (rows written here), "u" and updated_at (rows of the
        // original), quoted: the same whether written into a buffer or allocated.
        for (const qint64 n :
             {qint64(0), qint64(1), qint64(35), qint64(36), qint64(-7), qint64(1764000000000),
              std::numeric_limits<qint64>::max(), std::numeric_limits<qint64>::min()}) {
            StoreConnection::EtagBuffer buffer;
            const QByteArray version = "\"v" + QByteArray::number(n, 36) + '"';
            const QByteArray legacy = "\"u" + QByteArray::number(n) + '"';
            QCOMPARE(StoreConnection::etagFor(n, 5), version);
            QCOMPARE(StoreConnection::etagFor(n, 5, buffer).toByteArray(), version);
            QCOMPARE(StoreConnection::etagFor(std::nullopt, n), legacy);
            QCOMPARE(StoreConnection::etagFor(std::nullopt, n, buffer).toByteArray(), legacy);
        }
    }

    void everyEtagWorksForIfMatch()
    {
        // Versions are random; whatever their spelling, the ETag of a write must match it.
        QByteArray etag = m_db->put("k", "0", std::nullopt).etag;
        for (int i = 1; i <= 300; ++i) {
            const PutResult r =
                m_db->put("k", QByteArray::number(i), std::nullopt, {Precondition::Kind::IfMatch, {etag}});
            QCOMPARE(r.outcome, WriteOutcome::Written);
            QCOMPARE(m_db->get("k")->etag, r.etag);
            etag = r.etag;
        }
    }

    void ifMatchAnyNeedsALiveKey()
    {
        const Precondition any{Precondition::Kind::IfMatchAny, {"*"}};
        QCOMPARE(m_db->put(QByteArrayView("k"), "1", std::nullopt, any).outcome,
                 WriteOutcome::PreconditionFailed);
        m_db->put(QByteArrayView("k"), "1", m_clock.nowMs() + 1000);
        QCOMPARE(m_db->put(QByteArrayView("k"), "2", std::nullopt, any).outcome, WriteOutcome::Written);
    }

    void ifNoneMatchCreatesOnlyWhenAbsentOrExpired()
    {
        const Precondition absent{Precondition::Kind::IfNoneMatchAny, {}};
        QCOMPARE(m_db->put(QByteArrayView("k"), "1", m_clock.nowMs() + 1000, absent).outcome,
                 WriteOutcome::Written);
        QCOMPARE(m_db->put(QByteArrayView("k"), "2", std::nullopt, absent).outcome,
                 WriteOutcome::PreconditionFailed);
        QCOMPARE(m_db->get(QByteArrayView("k"))->json, QByteArray("1"));
        m_clock.advance(1001);
        QCOMPARE(m_db->put(QByteArrayView("k"), "3", std::nullopt, absent).outcome, WriteOutcome::Written);
        QCOMPARE(m_db->get(QByteArrayView("k"))->json, QByteArray("3"));
    }

    void listsInByteOrderWithPrefixAndPages()
    {
        const QStringList keys = {QStringLiteral("b"), QStringLiteral("a/2"), QStringLiteral("a/10"),
                                  QStringLiteral("B"), QStringLiteral("é"),   QStringLiteral("a/1"),
                                  QStringLiteral("ab")};
        for (const auto &k : keys)
            m_db->put(k.toUtf8(), "1", std::nullopt);
        QStringList all;
        for (const auto &k : m_db->list({}, {}, 100).keys)
            all << k.name;
        QCOMPARE(all, (QStringList{QStringLiteral("B"), QStringLiteral("a/1"), QStringLiteral("a/10"),
                                   QStringLiteral("a/2"), QStringLiteral("ab"), QStringLiteral("b"),
                                   QStringLiteral("é")}));
        const KeyPage first = m_db->list(QStringLiteral("a/"), {}, 2);
        QCOMPARE(first.keys.size(), 2);
        QVERIFY(!first.complete);
        const KeyPage second = m_db->list(QStringLiteral("a/"), first.keys.last().name, 2);
        QCOMPARE(second.keys.size(), 1);
        QCOMPARE(second.keys[0].name, QStringLiteral("a/2"));
        QVERIFY(second.complete);
        QCOMPARE(m_db->list(QStringLiteral("é"), {}, 10).keys.size(), 1);
        QCOMPARE(m_db->list(QStringLiteral("zz"), {}, 10).keys.size(), 0);
    }

    void freshDatabaseHasTheOriginalSchema()
    {
        if (TestDatabase::isPostgres())
            QSKIP("SQLite files; tst_postgres checks the same on PostgreSQL");
        QCOMPARE(column(m_path, QStringLiteral("select name from wt_kv_migrations")),
                 QStringList{QStringLiteral("1688823193041_add_initial_tables_and_indexes")});
        QCOMPARE(column(m_path, QStringLiteral("select name from kvdesk_migrations order by name")),
                 (QStringList{QStringLiteral("kvdesk_0001_add_expires_at"),
                              QStringLiteral("kvdesk_0002_add_version")}));
        QCOMPARE(column(m_path,
                        QStringLiteral(
                            "select name from pragma_index_list('wt_kv_key_values') where \"unique\" = 1")),
                 QStringList{QStringLiteral("wt_kv_key_values_name_idx")});
        QCOMPARE(column(m_path, QStringLiteral("pragma journal_mode")), QStringList{QStringLiteral("wal")});
    }

    void opensADatabaseWrittenByTheOriginal()
    {
        if (TestDatabase::isPostgres())
            QSKIP("SQLite files; tst_postgres checks the same on PostgreSQL");
        const QString path = m_dir.filePath(QStringLiteral("original.sqlite"));
        TestDatabase::writeOriginalSqlite(path);
        Store store(StoreOptions{path, true}, m_clock);
        store.open();
        auto db = store.connect();
        const auto site = db->get(QByteArrayView("config/site"));
        QVERIFY(site);
        QCOMPARE(site->json, QByteArray(R"({"title":"Hello","tags":["a","b"]})"));
        QCOMPARE(site->etag, QByteArray("\"u1700000000000\""));
        QCOMPARE(db->get(QByteArrayView("greeting"))->json, QByteArray("\"héllo\""));
        QCOMPARE(db->list({}, {}, 10).keys.size(), 3);
        // An ETag of a row the original wrote works for a conditional write.
        QCOMPARE(db->put(QByteArrayView("counter"), "43", std::nullopt,
                         {Precondition::Kind::IfMatch, {"\"u1700000000001\""}})
                     .outcome,
                 WriteOutcome::Written);
        db.reset();
        // The original still finds only its own migration in its table, and its columns as they were.
        QCOMPARE(column(path, QStringLiteral("select name from wt_kv_migrations")),
                 QStringList{QStringLiteral("1688823193041_add_initial_tables_and_indexes")});
        QCOMPARE(column(path, QStringLiteral("select value from wt_kv_key_values where name = 'counter'")),
                 QStringList{QStringLiteral("43")});
        QCOMPARE(column(path, QStringLiteral("select \"notnull\" from pragma_table_info('wt_kv_key_values') "
                                             "where name in ('name','value','updated_at')")),
                 (QStringList{QStringLiteral("1"), QStringLiteral("1"), QStringLiteral("1")}));
    }

    void outdatedSchemaIsReportedUntilMigrated()
    {
        if (TestDatabase::isPostgres())
            QSKIP("SQLite files; tst_postgres checks the same on PostgreSQL");
        const QString path = m_dir.filePath(QStringLiteral("outdated.sqlite"));
        TestDatabase::writeOriginalSqlite(path);
        Store store(StoreOptions{path, false}, m_clock);
        store.open();
        QVERIFY(!store.schemaReady());
        auto db = store.connect();
        try {
            db->get(QByteArrayView("counter"));
            QFAIL("a read on an outdated schema must fail");
        } catch (const StoreError &e) {
            QCOMPARE(e.kind(), StoreError::Kind::SchemaOutdated);
        }
        QString error;
        const auto results = store.migrate(&error);
        QVERIFY(error.isEmpty());
        QCOMPARE(results.size(), 2);
        QVERIFY(results[0].success && results[1].success);
        QVERIFY(store.schemaReady());
        QCOMPARE(db->get(QByteArrayView("counter"))->json, QByteArray("42"));
        QCOMPARE(store.migrate(&error).size(), 0);
    }

    void writesFromSeveralThreadsAllLand()
    {
        QList<QThread *> threads;
        for (int t = 0; t < 4; ++t) {
            threads << QThread::create([this, t] {
                auto db = m_store->connect();
                for (int i = 0; i < 100; ++i)
                    db->put(QStringLiteral("t%1/%2").arg(t).arg(i).toUtf8(), "1", std::nullopt);
            });
            threads.last()->start();
        }
        for (auto *thread : threads) {
            thread->wait();
            delete thread;
        }
        QCOMPARE(m_db->countLiveKeys(), 400);
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
