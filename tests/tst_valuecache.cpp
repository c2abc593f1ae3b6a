#include "store/cachewarmer.h"
#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/storeerror.h"
#include "store/valuecache.h"
#include "store/writebatcher.h"
#include "testdatabase.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <future>
#include <map>

using namespace kvdesk;

namespace {

StoredValue value(const QByteArray &json, std::optional<qint64> expiresAtMs = std::nullopt)
{
    return StoredValue{json, 1, expiresAtMs, "\"e\""};
}

// A store on a new database, opened, with a reading connection and its writer.
struct StoreWithWriter
{
    explicit StoreWithWriter(qint64 cacheBytes = StoreOptions().cacheBytes)
        : store(
              StoreOptions{.sqlitePath = dir.filePath(QStringLiteral("kv.sqlite")), .cacheBytes = cacheBytes},
              clock)
    {}

    QTemporaryDir dir;
    Clock clock;
    Store store;
    std::unique_ptr<StoreConnection> db = (store.open(), store.connect());
    WriteBatcher writer{store};

    // Applies requests as one group; whether all of them were written.
    bool write(std::vector<WriteRequest> requests)
    {
        std::promise<bool> applied;
        writer.submitGroup(std::move(requests),
                           [&](bool ok, const std::vector<WriteResult> &) { applied.set_value(ok); });
        return applied.get_future().get();
    }
};

} // namespace

class TestValueCache : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void hitsAfterInsertAndMissesAfterInvalidate()
    {
        ValueCache cache(1024 * 1024);
        QVERIFY(!cache.get("k", 0));
        cache.insert("k", value("1"), cache.ticket("k"));
        QCOMPARE(cache.get("k", 0)->json, QByteArray("1"));
        cache.invalidate("k");
        QVERIFY(!cache.get("k", 0));
    }

    void aReadThatRacedAWriteIsNotInserted()
    {
        ValueCache cache(1024 * 1024);
        const quint64 ticket = cache.ticket("k"); // a reader starts reading the old value...
        cache.invalidate("k");                    // ...a write commits meanwhile...
        cache.insert("k", value("old"), ticket);  // ...so what the reader read must not be kept
        QVERIFY(!cache.get("k", 0));
        cache.insert("k", value("new"), cache.ticket("k"));
        QCOMPARE(cache.get("k", 0)->json, QByteArray("new"));
    }

    void aCommittedWriteUpdatesACachedKeyAndAddsNoOther()
    {
        ValueCache cache(1024 * 1024);
        cache.insert("k", value("old"), cache.ticket("k"));
        const quint64 ticket = cache.ticket("k"); // a reader that missed before the write...
        QVERIFY(cache.holds("k"));
        cache.committed("k", value("new"));
        QCOMPARE(cache.get("k", 0)->json, QByteArray("new"));
        cache.insert("k", value("old"), ticket); // ...keeps nothing of what it read
        QCOMPARE(cache.get("k", 0)->json, QByteArray("new"));
        QVERIFY(!cache.holds("other"));
        cache.committed("other", value("1"));
        QVERIFY(!cache.get("other", 0));
        QCOMPARE(cache.count(), 1);
        // A value written too large to keep leaves nothing behind.
        cache.committed("k", value(QByteArray(300 * 1024, 'x')));
        QVERIFY(!cache.get("k", 0));
    }

    void expiredEntriesAreNeverServed()
    {
        ValueCache cache(1024 * 1024);
        cache.insert("k", value("1", 1000), cache.ticket("k"));
        QVERIFY(cache.get("k", 999));
        QVERIFY(!cache.get("k", 1000));
        QCOMPARE(cache.count(), 0);
    }

    // getAll answers what get answers key by key: hits, absent and expired keys (dropped as get
    // drops them), repeated keys, in more keys than one group of overlapped lookups.
    void getAllAnswersWhatGetAnswers()
    {
        // Every other key of k0..k99, every tenth with an expiry; two caches alike, one to be read
        // one key at a time.
        const auto fill = [](ValueCache &c) {
            for (int i = 0; i < 100; i += 2) {
                const QByteArray key = "k" + QByteArray::number(i);
                const std::optional<qint64> expiry =
                    i % 10 == 0 ? std::optional<qint64>(500 + i) : std::nullopt;
                c.insert(key, value("[" + QByteArray::number(i) + "]", expiry), c.ticket(key));
            }
        };
        ValueCache cache(1024 * 1024);
        ValueCache twin(1024 * 1024);
        fill(cache);
        fill(twin);
        const qint64 now = 545; // of the ten with an expiry, k0..k40 have expired, k50..k90 not
        std::vector<QByteArray> keys;
        for (int i = 0; i < 100; ++i)
            keys.push_back("k" + QByteArray::number(i));
        keys.push_back("k2");
        keys.push_back("absent");
        keys.push_back("k20");
        const std::vector<QByteArrayView> views(keys.begin(), keys.end());
        const auto values = cache.getAll(views, now);
        QCOMPARE(values.size(), keys.size());
        for (size_t i = 0; i < keys.size(); ++i) {
            const auto alone = twin.get(keys[i], now);
            QCOMPARE(values[i].has_value(), alone.has_value());
            if (!alone)
                continue;
            QCOMPARE(values[i]->json, alone->json);
            QCOMPARE(values[i]->etag, alone->etag);
            QCOMPARE(values[i]->updatedAtMs, alone->updatedAtMs);
            QCOMPARE(values[i]->expiresAtMs, alone->expiresAtMs);
        }
        QCOMPARE(values[2]->json, QByteArray("[2]"));
        QVERIFY(!values[3] && !values[0] && !values[40]);
        QCOMPARE(values[50]->expiresAtMs, 550);
        QVERIFY(values[100] && !values[101] && !values[102]);
        QCOMPARE(cache.count(), twin.count()); // the expired ones dropped alike
        QCOMPARE(cache.count(), 45);
        QVERIFY(cache.getAll({}, now).empty());
        QCOMPARE(cache.getAll({"k2"}, now).front()->json, QByteArray("[2]"));

        ValueCache off(0);
        const auto none = off.getAll(views, now);
        QCOMPARE(none.size(), keys.size());
        QVERIFY(std::none_of(none.begin(), none.end(), [](const auto &v) { return v.has_value(); }));
    }

    void staysWithinItsBoundEvictingTheLeastRecentlyUsed()
    {
        ValueCache cache(16 * 64 * 1024); // 64 KiB per shard
        const QByteArray big(1000, 'x');
        cache.insert("hot", value(big), cache.ticket("hot"));
        for (int i = 0; i < 5000; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            cache.insert(key, value(big), cache.ticket(key));
            QVERIFY(cache.get("hot", 0)); // used all the time: never evicted
        }
        QVERIFY(cache.bytes() <= 16 * 64 * 1024);
        QVERIFY(cache.count() < 5000);
        QVERIFY(!cache.get("k0", 0));

        // Even when every value it holds was read lately, new ones go first, and the hot key stays.
        QList<QByteArray> held;
        for (int i = 0; i < 5000; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            if (cache.get(key, 0))
                held.append(key);
        }
        QVERIFY(held.size() > 500);
        for (int i = 0; i < 5000; ++i) {
            const QByteArray key = "new" + QByteArray::number(i);
            cache.insert(key, value(big), cache.ticket(key));
            QVERIFY(cache.get("hot", 0));
        }
        int stayed = 0;
        for (const QByteArray &key : std::as_const(held))
            stayed += cache.holds(key) ? 1 : 0;
        QVERIFY(cache.bytes() <= 16 * 64 * 1024);
        QVERIFY2(stayed < held.size(), QByteArray::number(stayed).constData());
    }

    // The table under many inserts, updates and removals (removals move later entries of a probe
    // run up): every key is found with its last value, and no removed key is found.
    void agreesWithAPlainMapThroughManyChanges()
    {
        ValueCache cache(1024 * 1024 * 1024); // nothing evicted
        std::map<QByteArray, QByteArray> model;
        QRandomGenerator random(7);
        for (int step = 0; step < 200000; ++step) {
            const QByteArray key = "k" + QByteArray::number(random.bounded(5000));
            const QByteArray json = QByteArray::number(step);
            switch (random.bounded(4)) {
            case 0: // a read that missed keeps what it read
                cache.insert(key, value(json), cache.ticket(key));
                model[key] = json;
                break;
            case 1: // a write: a held key takes the new value, another stays out
                cache.committed(key, value(json));
                if (model.count(key))
                    model[key] = json;
                break;
            case 2:
                cache.invalidate(key);
                model.erase(key);
                break;
            case 3: {
                const auto hit = cache.get(key, 0);
                QCOMPARE(bool(hit), model.count(key) == 1);
                if (hit)
                    QCOMPARE(hit->json, model[key]);
                break;
            }
            }
        }
        QCOMPARE(cache.count(), qint64(model.size()));
        for (int i = 0; i < 5000; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            const auto hit = cache.get(key, 0);
            QCOMPARE(bool(hit), model.count(key) == 1);
            if (hit) {
                QCOMPARE(hit->json, model[key]);
                QCOMPARE(hit->etag, QByteArray("\"e\""));
            }
        }
    }

    // Evicting while it changes: what it serves is always the key's last value, within its bound.
    void evictsWithinItsBoundAndNeverServesAWrongValue()
    {
        constexpr qint64 bound = 16 * 16 * 1024; // 16 KiB per shard: a few hundred small values
        ValueCache cache(bound);
        std::map<QByteArray, QByteArray> model; // what the database holds
        QRandomGenerator random(11);
        int hits = 0;
        for (int step = 0; step < 200000; ++step) {
            const QByteArray key = "k" + QByteArray::number(random.bounded(4000));
            const QByteArray json = QByteArray::number(step) + QByteArray(random.bounded(100), 'x');
            switch (random.bounded(4)) {
            case 0:
                if (model.count(key))
                    cache.insert(key, value(model[key]), cache.ticket(key));
                break;
            case 1:
                cache.committed(key, value(json));
                model[key] = json;
                break;
            case 2:
                cache.invalidate(key);
                model.erase(key);
                break;
            case 3:
                if (const auto hit = cache.get(key, 0)) {
                    QVERIFY(model.count(key));
                    QCOMPARE(hit->json, model[key]);
                    ++hits;
                }
                break;
            }
            QVERIFY(cache.bytes() <= bound);
        }
        QVERIFY2(hits > 1000, QByteArray::number(hits).constData());
        QVERIFY(cache.count() > 100);
    }

    void keepsWhatFitsFromItsFirstRead()
    {
        constexpr qint64 bound = 16 * 64 * 1024; // 64 KiB per shard
        ValueCache cache(bound);
        const StoredValue v = value(QByteArray(1000, 'x'));
        // While there is room, what a miss read is kept, and keeping it pushes nothing out.
        // Once a shard is full, a key read for the first time may still find both its bits in
        // the filter of missed keys set by others (a false positive): it is kept, and pushes one out.
        QList<QByteArray> kept;
        QList<QByteArray> left;
        int replacing = 0;
        for (int i = 0; i < 2000; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            const quint64 ticket = cache.ticket(key);
            if (!cache.admit(key, v)) {
                left.append(key);
                continue;
            }
            const qint64 before = cache.count();
            cache.insert(key, v, ticket);
            if (left.isEmpty()) {
                QCOMPARE(cache.count(), before + 1);
            } else {
                QVERIFY(cache.count() == before + 1 || cache.count() == before);
                replacing += cache.count() == before ? 1 : 0;
            }
            kept.append(key);
        }
        // 2000 values of 1000 bytes do not fit in 1 MiB: it filled up, then kept (almost) no first read.
        QVERIFY2(kept.size() - replacing > 700 && left.size() > 900,
                 QByteArray::number(kept.size()).constData());
        QVERIFY2(replacing < left.size() / 20, QByteArray::number(replacing).constData());
        QVERIFY(cache.bytes() <= bound);
        int served = 0;
        for (const QByteArray &key : std::as_const(kept))
            served += cache.get(key, 0) ? 1 : 0;
        QCOMPARE(served, kept.size() - replacing);
        // Full, a key is kept from its second miss on.
        int refusedFirst = 0;
        for (int i = 0; i < 100; ++i) {
            const QByteArray key = "other" + QByteArray::number(i);
            refusedFirst += cache.admit(key, v) ? 0 : 1;
            QVERIFY(cache.admit(key, v));
        }
        QVERIFY2(refusedFirst >= 95, QByteArray::number(refusedFirst).constData());
        for (const QByteArray &key : std::as_const(left))
            QVERIFY(cache.admit(key, v) || cache.admit(key, v));
        // Switched off, nothing is.
        QVERIFY(!ValueCache(0).admit("k", v));
    }

    void aFullCacheKeepsAKeyFromItsSecondMissOn()
    {
        ValueCache cache(16 * 64 * 1024);
        const StoredValue v = value(QByteArray(1000, 'x'));
        for (int i = 0; i < 2000; ++i) {
            const QByteArray key = "fill" + QByteArray::number(i);
            cache.insert(key, v, cache.ticket(key));
        }
        QList<QByteArray> keys;
        for (int i = 0; i < 100; ++i)
            keys.append("k" + QByteArray::number(i));
        int refusedFirst = 0;
        for (const QByteArray &key : std::as_const(keys)) {
            refusedFirst += cache.admit(key, v) ? 0 : 1;
            QVERIFY(cache.admit(key, v));
            QVERIFY(cache.admit(key, v));
        }
        QVERIFY2(refusedFirst >= 95, QByteArray::number(refusedFirst).constData());

        // A scan of many keys read once each keeps (almost) nothing and forgets, in time, what it
        // saw: the keys that missed before it are refused again, but for the few whose bits the
        // scan's last keys happen to have set (at most a quarter of the bits are set at a time).
        int admitted = 0;
        for (int i = 0; i < 200000; ++i)
            admitted += cache.admit(QByteArray("scan" + QByteArray::number(i)), v) ? 1 : 0;
        QVERIFY2(admitted < 200000 / 4, QByteArray::number(admitted).constData());
        int refusedAgain = 0;
        for (const QByteArray &key : std::as_const(keys))
            refusedAgain += cache.admit(key, v) ? 0 : 1;
        QVERIFY2(refusedAgain >= 80, QByteArray::number(refusedAgain).constData());
    }

    void readsThroughTheStoreFillTheCacheThenKeepHotKeysOnly()
    {
        StoreWithWriter s(16 * 8 * 1024); // 8 KiB per shard: a few hundred small values
        Store &store = s.store;
        auto &db = s.db;
        std::vector<WriteRequest> puts;
        for (int i = 0; i < 2000; ++i)
            puts.push_back({WriteRequest::Kind::Put, "key" + QByteArray::number(i), "1", std::nullopt, {}});
        QVERIFY(s.write(std::move(puts)));
        QCOMPARE(store.cache().count(), 0); // writes add nothing

        // The first reads fill it, until it is full; the reads after that keep nothing.
        qint64 countAfter100 = 0;
        for (int i = 0; i < 2000; ++i) {
            QVERIFY(db->get(QByteArray("key" + QByteArray::number(i))));
            if (i == 99)
                countAfter100 = store.cache().count();
        }
        QCOMPARE(countAfter100, 100);
        const qint64 full = store.cache().count();
        QVERIFY2(full > 200 && full < 2000, QByteArray::number(full).constData());
        QVERIFY(store.cache().bytes() <= 16 * 8 * 1024);
        QVERIFY(store.cache().holds("key0"));
        QVERIFY(!store.cache().holds("key1999"));

        // A key read again is kept (in the place of the least recently used).
        QVERIFY(db->get("key1999"));
        QVERIFY(store.cache().holds("key1999"));
        QVERIFY(store.cache().count() <= full);
        QVERIFY(db->get("key1999"));
        QVERIFY(store.cache().holds("key1999"));
    }

    void aWriteKeepsItsHotKeyCachedWithTheNewValue()
    {
        StoreWithWriter s;
        Store &store = s.store;
        auto &db = s.db;
        Clock &clock = s.clock;
        WriteBatcher &writer = s.writer;
        auto write = [&s](std::vector<WriteRequest> requests) { return s.write(std::move(requests)); };
        QVERIFY(write({{WriteRequest::Kind::Put, "hot", "1", std::nullopt, {}},
                       {WriteRequest::Kind::Put, "cold", "1", std::nullopt, {}}}));
        QVERIFY(db->get("hot"));
        QCOMPARE(db->get("hot")->json, QByteArray("1")); // read twice: kept
        QVERIFY(store.cache().holds("hot"));

        // The write's value, etag and expiry are what the cache holds once it has committed, so
        // the next read is a hit; the key never cached stays out.
        const qint64 expires = clock.nowMs() + 3600 * 1000;
        std::promise<WriteResult> put;
        writer.submit({WriteRequest::Kind::Put, "hot", "{\"v\":2}", expires, {}},
                      [&](const WriteResult &r) { put.set_value(r); });
        const WriteResult written = put.get_future().get();
        const auto cached = store.cache().get("hot", clock.nowMs());
        QVERIFY(cached);
        QCOMPARE(cached->json, QByteArray("{\"v\":2}"));
        QCOMPARE(cached->etag, written.etag);
        QCOMPARE(cached->expiresAtMs, std::optional<qint64>(expires));
        const auto read = db->get("hot");
        QCOMPARE(read->json, cached->json);
        QCOMPARE(read->updatedAtMs, cached->updatedAtMs);
        QVERIFY(write({{WriteRequest::Kind::Put, "cold", "2", std::nullopt, {}}}));
        QVERIFY(!store.cache().holds("cold"));
        QCOMPARE(db->get("cold")->json, QByteArray("2"));

        // A group that fails as a whole leaves the cached key with its committed value (or
        // none), never with what the group wrote before it failed.
        Precondition never{Precondition::Kind::IfMatch, {"\"no-such-etag\""}};
        QVERIFY(!write({{WriteRequest::Kind::Put, "hot", "3", std::nullopt, {}},
                        {WriteRequest::Kind::Put, "cold", "3", std::nullopt, never}}));
        const auto afterFailure = store.cache().get("hot", clock.nowMs());
        QVERIFY(!afterFailure || afterFailure->json == "{\"v\":2}");
        QCOMPARE(db->get("hot")->json, QByteArray("{\"v\":2}"));

        // A delete drops the key.
        QVERIFY(write({{WriteRequest::Kind::Remove, "hot", {}, std::nullopt, {}}}));
        QVERIFY(!store.cache().holds("hot"));
        QVERIFY(!db->get("hot"));
    }

    void warmingWaitsForPendingMigrations()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("kv.sqlite"));
        kvdesk::test::TestDatabase::writeOriginalSqlite(path); // kvdesk's migrations pending
        if (QTest::currentTestFailed())
            return;
        Clock clock;
        Store store(StoreOptions{.sqlitePath = path, .autoMigrate = false}, clock);
        store.open();
        QVERIFY(!store.schemaReady());
        {
            // Stopped while it waits: at once.
            QElapsedTimer timer;
            timer.start();
            {
                CacheWarmer idle(store);
            }
            QVERIFY(timer.elapsed() < 1000);
        }
        CacheWarmer warmer(store);
        QThread::msleep(150);
        QCOMPARE(store.cache().count(), 0);
        QString error;
        store.migrate(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(warmer.wait(), 3); // the original's three keys
        QCOMPARE(store.cache().get("counter", clock.nowMs())->json, QByteArray("42"));
    }

    void warmingKeepsOnlyWhatFitsAndIsCurrent()
    {
        constexpr qint64 bound = 16 * 16 * 1024; // 16 KiB per shard
        ValueCache cache(bound);
        cache.insert("read", value("r"), cache.ticket("read"));
        ValueCache::Tickets tickets = cache.tickets();
        QCOMPARE(cache.fill("a", value("1"), tickets), ValueCache::Fill::Kept);
        QCOMPARE(cache.get("a", 0)->json, QByteArray("1"));
        // Never over a value the cache holds (a read or a write put it there, as recent).
        QCOMPARE(cache.fill("read", value("old"), tickets), ValueCache::Fill::Held);
        QCOMPARE(cache.get("read", 0)->json, QByteArray("r"));
        // A write to the key's shard since the tickets were taken voids what was read.
        cache.committed("b", value("2"));
        QCOMPARE(cache.fill("b", value("old"), tickets), ValueCache::Fill::Stale);
        QVERIFY(!cache.holds("b"));
        tickets = cache.tickets();
        QCOMPARE(cache.fill("b", value("2"), tickets), ValueCache::Fill::Kept);
        // A value larger than a quarter of a shard would leave little room for others.
        QCOMPARE(cache.fill("huge", value(QByteArray(5000, 'x')), tickets), ValueCache::Fill::TooLarge);
        QVERIFY(!cache.holds("huge"));

        // It fills up and pushes nothing out: once a shard is full, its keys find no room.
        int kept = 0;
        int full = 0;
        for (int i = 0; i < 2000; ++i) {
            const QByteArray key = "w" + QByteArray::number(i);
            switch (cache.fill(key, value(QByteArray(100, 'x')), tickets)) {
            case ValueCache::Fill::Kept:
                ++kept;
                break;
            case ValueCache::Fill::Full:
                ++full;
                break;
            default:
                QFAIL("neither kept nor full");
            }
        }
        QVERIFY2(kept > 500 && full > 0, QByteArray::number(kept).constData());
        QVERIFY(cache.bytes() <= bound);
        QVERIFY(cache.holds("read") && cache.holds("a") && cache.holds("b"));
        QCOMPARE(cache.count(), kept + 3);

        // What warming kept goes first when reads need room: the keys read keep their places.
        for (int i = 0; i < 300; ++i) {
            const QByteArray key = "n" + QByteArray::number(i);
            cache.insert(key, value(QByteArray(100, 'y')), cache.ticket(key));
            QVERIFY(cache.get("read", 0));
        }
        for (int i = 0; i < 300; ++i)
            QVERIFY(cache.holds(QByteArray("n" + QByteArray::number(i))));
        QVERIFY(cache.count() < kept + 3 + 300);
        QVERIFY(cache.bytes() <= bound);
    }

    void aServerStartedOnItsDatabaseWarmsTheCacheWithLiveKeysNewestFirst()
    {
        QTemporaryDir dir;
        Clock clock;
        const QString path = dir.filePath(QStringLiteral("kv.sqlite"));
        {
            Store store(StoreOptions{.sqlitePath = path, .cacheBytes = 0}, clock);
            store.open();
            auto db = store.connect();
            db->begin();
            for (int i = 0; i < 3000; ++i) {
                // Every tenth key expired a second ago.
                const auto expires = i % 10 == 0 ? std::optional<qint64>(clock.nowMs() - 1000) : std::nullopt;
                db->put(QByteArray("key" + QByteArray::number(i)),
                        QByteArray("{\"n\":" + QByteArray::number(i) + "}"), expires);
            }
            db->commit();
        }
        {
            Store store(StoreOptions{.sqlitePath = path}, clock);
            store.open();
            QCOMPARE(CacheWarmer(store).wait(), 2700);
            QCOMPARE(store.cache().count(), 2700);
            for (int i = 0; i < 3000; ++i) {
                const QByteArray key = "key" + QByteArray::number(i);
                const auto cached = store.cache().get(key, clock.nowMs());
                QCOMPARE(bool(cached), i % 10 != 0);
                if (cached) {
                    const auto read = store.connect()->get(key); // a hit: compare with the row itself
                    QCOMPARE(cached->json, "{\"n\":" + QByteArray::number(i) + "}");
                    QCOMPARE(cached->etag, read->etag);
                }
            }
        }
        // A cache too small for all of them takes the most recently created first and stops
        // once full, pushing nothing out.
        Store store(StoreOptions{.sqlitePath = path, .cacheBytes = 16 * 8 * 1024}, clock);
        store.open();
        const qint64 kept = CacheWarmer(store).wait();
        QVERIFY2(kept > 100 && kept < 2700, QByteArray::number(kept).constData());
        QCOMPARE(store.cache().count(), kept);
        QVERIFY(store.cache().holds("key2999"));
        QVERIFY(!store.cache().holds("key1"));
    }

    // A race: several rounds, with other writes, to give it several chances to go wrong.
    void warmingWhileWritesGoOnNeverKeepsAnOldValue_data()
    {
        QTest::addColumn<quint32>("seed");
        for (quint32 seed = 1; seed <= 4; ++seed)
            QTest::addRow("round %u", seed) << seed;
    }
    void warmingWhileWritesGoOnNeverKeepsAnOldValue()
    {
        QFETCH(quint32, seed);
        StoreWithWriter s(256 * 1024 * 1024);
        constexpr int keys = 20000;
        std::vector<WriteRequest> puts;
        for (int i = 0; i < keys; ++i)
            puts.push_back({WriteRequest::Kind::Put, "key" + QByteArray::number(i), "0", std::nullopt, {}});
        QVERIFY(s.write(std::move(puts)));
        // Writes, one at a time as the writer takes them, while the cache warms: most of them to
        // 100 keys created one after the other (so read by the warming in one go, while they
        // are being written), the others anywhere.
        std::atomic<bool> warmed{false};
        std::atomic<int> writes{0};
        QThread *writer = QThread::create([&] {
            QRandomGenerator random(seed);
            for (int round = 1; !warmed || round <= 200; ++round) {
                const int k = random.bounded(10) ? 10000 + random.bounded(100) : random.bounded(keys);
                const bool remove = round % 7 == 0;
                QVERIFY(s.write({{remove ? WriteRequest::Kind::Remove : WriteRequest::Kind::Put,
                                  "key" + QByteArray::number(k),
                                  QByteArray::number(round),
                                  std::nullopt,
                                  {}}}));
                ++writes;
            }
        });
        writer->start();
        while (writes < 50)
            QThread::msleep(1);
        const qint64 kept = CacheWarmer(s.store).wait();
        warmed = true;
        writer->wait();
        delete writer;
        QVERIFY2(kept > keys / 2, QByteArray::number(kept).constData());
        // Every value the cache holds is the one in the database (read by a connection of its own).
        QSqlDatabase check = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check"));
        check.setDatabaseName(s.dir.filePath(QStringLiteral("kv.sqlite")));
        QVERIFY(check.open());
        {
            QSqlQuery q(check);
            QVERIFY(q.prepare(QStringLiteral(R"(SELECT "value" FROM "wt_kv_key_values" WHERE "name" = ?)")));
            int compared = 0;
            for (int i = 0; i < keys; ++i) {
                const QByteArray key = "key" + QByteArray::number(i);
                const auto cached = s.store.cache().get(key, s.clock.nowMs());
                if (!cached)
                    continue;
                q.bindValue(0, QString::fromUtf8(key));
                QVERIFY(q.exec());
                QVERIFY2(q.next(), key.constData()); // not a removed key
                QCOMPARE(cached->json, q.value(0).toByteArray());
                ++compared;
            }
            QVERIFY(compared >= kept / 2);
        }
        check.close();
        check = QSqlDatabase();
        QSqlDatabase::removeDatabase(QStringLiteral("check"));
        QVERIFY(writes >= 200);
    }

    void switchedOffItKeepsNothing()
    {
        ValueCache cache(0);
        cache.insert("k", value("1"), cache.ticket("k"));
        QVERIFY(!cache.get("k", 0));
    }

    void oneProcessServesADatabaseAtATime()
    {
        QTemporaryDir dir;
        Clock clock;
        const QString path = dir.filePath(QStringLiteral("kv.sqlite"));
        auto first = std::make_unique<Store>(StoreOptions{path}, clock);
        first->open();
        Store second(StoreOptions{path}, clock);
        try {
            second.open();
            QFAIL("a second store on the same database must be refused");
        } catch (const StoreError &e) {
            QVERIFY2(e.message().contains(QStringLiteral("in use")), qPrintable(e.message()));
        }
        first.reset();
        Store third(StoreOptions{path}, clock);
        third.open();
    }

    void readsNeverSeeAValueOlderThanAnAcknowledgedWrite_data()
    {
        QTest::addColumn<qint64>("cacheBytes");
        QTest::newRow("cache and shared read snapshots") << qint64(1024 * 1024);
        QTest::newRow("shared read snapshots alone") << qint64(0);
    }
    void readsNeverSeeAValueOlderThanAnAcknowledgedWrite()
    {
        QFETCH(qint64, cacheBytes);
        // Writers bump a counter per key and publish what they acknowledged; readers on other
        // threads must never read less than what was acknowledged before their read began.
        QTemporaryDir dir;
        Clock clock;
        Store store(StoreOptions{dir.filePath(QStringLiteral("kv.sqlite")), true, cacheBytes}, clock);
        store.open();
        constexpr int keys = 8;
        std::array<std::atomic<int>, keys> acknowledged{};
        std::atomic<bool> stop{false};
        std::atomic<int> violations{0};
        std::atomic<int> reads{0};
        QThread *writer = QThread::create([&] {
            auto db = store.connect();
            for (int round = 1; round <= 300; ++round) {
                for (int k = 0; k < keys; ++k) {
                    db->put(QByteArray("key" + QByteArray::number(k)), QByteArray::number(round),
                            std::nullopt);
                    acknowledged[k].store(round);
                }
            }
            stop = true;
        });
        QList<QThread *> readers;
        for (int r = 0; r < 3; ++r) {
            readers << QThread::create([&] {
                auto db = store.connect();
                while (!stop) {
                    for (int k = 0; k < keys; ++k) {
                        const int floor = acknowledged[k].load();
                        const auto v = db->get(QByteArray("key" + QByteArray::number(k)));
                        if (floor > 0 && (!v || v->json.toInt() < floor))
                            ++violations;
                        ++reads;
                    }
                }
            });
        }
        writer->start();
        for (auto *t : readers)
            t->start();
        writer->wait();
        for (auto *t : readers) {
            t->wait();
            delete t;
        }
        delete writer;
        QVERIFY(reads > 1000);
        QCOMPARE(violations.load(), 0);
        // Once the writes are over, reads of each key fill the cache when it is on, and only then
        // (a key is kept from its second miss on).
        auto db = store.connect();
        for (int round = 0; round < 2; ++round) {
            for (int k = 0; k < keys; ++k)
                QCOMPARE(db->get(QByteArray("key" + QByteArray::number(k)))->json.toInt(), 300);
        }
        QCOMPARE(store.cache().count(), cacheBytes > 0 ? qint64(keys) : qint64(0));
    }
};

QTEST_GUILESS_MAIN(TestValueCache)
#include "tst_valuecache.moc"
