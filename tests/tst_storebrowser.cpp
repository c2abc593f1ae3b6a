// The store's admin side: browsing pages grouped by '/', counts, metadata of changed keys,
// all-or-none groups of writes, and the change signal the desktop window listens to.
#include "store/clock.h"
#include "store/store.h"
#include "store/storebrowser.h"
#include "store/storeconnection.h"
#include "store/writebatcher.h"
#include "testdatabase.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>

using namespace kvdesk;
using namespace Qt::StringLiterals;

namespace {

QList<QByteArray> keysOf(const BrowsePage &page)
{
    QList<QByteArray> keys;
    for (const auto &e : page.entries)
        keys << e.key;
    return keys;
}

} // namespace

class TestStoreBrowser : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;
    int m_serial = 0;

    std::unique_ptr<Store> newStore()
    {
        auto store = std::make_unique<Store>(StoreOptions::forDatabase(kvdesk::test::TestDatabase::fresh(
                                                 m_dir.filePath(u"s%1.sqlite"_s.arg(++m_serial)))),
                                             m_clock);
        store->open();
        return store;
    }

    static void put(StoreConnection &c, const QByteArray &key, const QByteArray &json = "1",
                    std::optional<qint64> expiresAtMs = std::nullopt)
    {
        c.put(key, json, expiresAtMs);
    }

private Q_SLOTS:
    void groupsKeysIntoFoldersBySlash()
    {
        auto store = newStore();
        auto c = store->connect();
        for (const char *k : {"a", "b/1", "b/2", "b/c/3", "c/x", "d"})
            put(*c, k, R"("value")");
        StoreBrowser browser(*c);
        const BrowsePage root = browser.children("", {}, {}, 100, true);
        QCOMPARE(keysOf(root), (QList<QByteArray>{"a", "b/", "c/", "d"}));
        QVERIFY(root.complete);
        QVERIFY(root.entries[1].folder);
        QCOMPARE(root.entries[0].sizeBytes, 7);
        QCOMPARE(keysOf(browser.children("b/", {}, {}, 100, true)),
                 (QList<QByteArray>{"b/1", "b/2", "b/c/"}));
        QCOMPARE(keysOf(browser.children("", {}, {}, 100, false)),
                 (QList<QByteArray>{"a", "b/1", "b/2", "b/c/3", "c/x", "d"}));
    }

    void pagesResumeAfterTheirCursorAcrossFolders()
    {
        auto store = newStore();
        auto c = store->connect();
        c->begin();
        for (int i = 0; i < 50; ++i)
            put(*c, "f" + QByteArray::number(i) + "/x");
        for (int i = 0; i < 50; ++i)
            put(*c, "k" + QByteArray::number(1000 + i));
        c->commit();
        StoreBrowser browser(*c);
        QList<QByteArray> all;
        QByteArray cursor;
        int pages = 0;
        for (;;) {
            const BrowsePage page = browser.children("", cursor, {}, 7, true);
            all << keysOf(page);
            cursor = page.cursor;
            ++pages;
            if (page.complete)
                break;
            QCOMPARE(page.entries.size(), 7);
        }
        QCOMPARE(all.size(), 100);
        QCOMPARE(all.first(), "f0/");
        QCOMPARE(all.last(), "k1049");
        QCOMPARE(QSet<QByteArray>(all.begin(), all.end()).size(), 100);
        QVERIFY(pages >= 15);
    }

    void filtersBySubstringIgnoringAsciiCaseOrByPrefix()
    {
        auto store = newStore();
        auto c = store->connect();
        for (const char *k : {"users/Alice", "users/bob", "orders/alice-1", "100%_done"})
            put(*c, k);
        StoreBrowser browser(*c);
        const BrowseFilter alice{BrowseFilter::Mode::Substring, u"ALICE"_s};
        QCOMPARE(keysOf(browser.children("", {}, alice, 100, false)),
                 (QList<QByteArray>{"orders/alice-1", "users/Alice"}));
        QCOMPARE(keysOf(browser.children("", {}, alice, 100, true)),
                 (QList<QByteArray>{"orders/", "users/"}));
        QCOMPARE(browser.count("", alice), 2);
        QCOMPARE(browser.count("users/", alice), 1);
        // LIKE's wildcards are taken literally.
        QCOMPARE(keysOf(browser.children("", {}, {BrowseFilter::Mode::Substring, u"%_"_s}, 100, false)),
                 (QList<QByteArray>{"100%_done"}));
        QCOMPARE(browser.count("", {BrowseFilter::Mode::Substring, u"_d"_s}), 1);
        const BrowseFilter prefix{BrowseFilter::Mode::Prefix, u"users/b"_s};
        QCOMPARE(keysOf(browser.children("", {}, prefix, 100, false)), (QList<QByteArray>{"users/bob"}));
        QCOMPARE(browser.count("", prefix), 1);
        QVERIFY(alice.matches("x/alice"));
        QVERIFY(!prefix.matches("users/Bob"));
    }

    void expiredKeysAreNeverListedCountedOrDescribed()
    {
        auto store = newStore();
        auto c = store->connect();
        const qint64 now = m_clock.nowMs();
        put(*c, "live", "1", now + 60'000);
        put(*c, "gone/x", "1", now - 1);
        StoreBrowser browser(*c);
        QCOMPARE(keysOf(browser.children("", {}, {}, 10, true)), (QList<QByteArray>{"live"}));
        QCOMPARE(browser.count("", {}), 1);
        QVERIFY(!browser.describe("gone/x"));
        QCOMPARE(browser.describe("live")->expiresAtMs, now + 60'000);
        QVERIFY(!browser.hasKeysBelow("gone/", {}));
        QVERIFY(browser.hasKeysBelow("", {}));

        // Counted below a folder and through each filter, with keys that expire as they are
        // written, later, or never, beside the ones expired already (not swept yet).
        put(*c, "gone/now", "1", m_clock.nowMs());
        put(*c, "gone/later", "1", now + 60'000);
        put(*c, "gone/never");
        put(*c, "other/x", "1", now - 5);
        QCOMPARE(browser.count("", {}), 3);
        QCOMPARE(browser.count("gone/", {}), 2);
        QCOMPARE(browser.count("other/", {}), 0);
        QCOMPARE(browser.count("", {BrowseFilter::Mode::Prefix, u"gone/"_s}), 2);
        QCOMPARE(browser.count("", {BrowseFilter::Mode::Substring, u"O"_s}), 2);
        QCOMPARE(browser.count("gone/", {BrowseFilter::Mode::Substring, u"never"_s}), 1);
        QCOMPARE(browser.count("", {BrowseFilter::Mode::Substring, u"x"_s}), 0);
    }

    // Many keys described at once (the key list's lookups after changes): each as describe()
    // alone sees it, in the order asked, across more keys than one query takes on PostgreSQL.
    void describesManyKeysAtOnce()
    {
        auto store = newStore();
        auto c = store->connect();
        const qint64 now = m_clock.nowMs();
        c->begin();
        for (int i = 0; i < 1200; i += 2) {
            const QByteArray key = "k" + QByteArray::number(i);
            const QByteArray json = "[" + QByteArray::number(i) + "]";
            c->put(key, json, std::nullopt);
        }
        c->commit();
        put(*c, "gone", "1", now - 1);
        put(*c, "ttl", "true", now + 60'000);
        const QByteArray odd = "quote\"comma,brace{}back\\slash?$1 %_ \xc3\xa9t\xc3\xa9";
        put(*c, odd, "{}");
        QList<QByteArray> keys;
        for (int i = 0; i < 1200; ++i) // every other one absent
            keys.append("k" + QByteArray::number(i));
        keys << "gone"
             << "ttl" << odd << "k2"
             << "absent" << odd;
        StoreBrowser browser(*c);
        const std::vector<std::optional<BrowseEntry>> entries = browser.describe(keys);
        QCOMPARE(entries.size(), size_t(keys.size()));
        for (qsizetype i = 0; i < keys.size(); ++i) {
            const std::optional<BrowseEntry> alone = browser.describe(QByteArrayView(keys[i]));
            const std::optional<BrowseEntry> &together = entries[size_t(i)];
            QCOMPARE(together.has_value(), alone.has_value());
            if (!alone)
                continue;
            QCOMPARE(together->key, keys[i]);
            QCOMPARE(together->sizeBytes, alone->sizeBytes);
            QCOMPARE(together->expiresAtMs, alone->expiresAtMs);
            QCOMPARE(together->updatedAtMs, alone->updatedAtMs);
        }
        QVERIFY(entries[0] && entries[1198]);
        QVERIFY(!entries[1] && !entries[1199]);
        QCOMPARE(entries[600]->sizeBytes, 5); // [600]
        QVERIFY(!entries[1200]);              // expired
        QCOMPARE(entries[1201]->expiresAtMs, now + 60'000);
        QCOMPARE(entries[1202]->key, odd);
        QVERIFY(entries[1203] && !entries[1204] && entries[1205]);
        QVERIFY(browser.describe(QList<QByteArray>{}).empty());
    }

    void readsTheLatestCommitOfAnotherConnection()
    {
        auto store = newStore();
        auto reader = store->connect();
        StoreBrowser browser(*reader);
        QVERIFY(reader->get("k") == std::nullopt); // the reader now holds a read snapshot
        auto writer = store->connect();
        put(*writer, "k", R"({"a":1})");
        const auto described = browser.describe("k");
        QVERIFY(described);
        QCOMPARE(described->sizeBytes, 7);
        const QList<StoredEntry> entries = browser.entries("", 10);
        QCOMPARE(entries.size(), 1);
        QCOMPARE(entries[0].json, R"({"a":1})");
    }

    void groupsApplyAllOrNone()
    {
        auto store = newStore();
        {
            auto c = store->connect();
            put(*c, "old", "1");
        }
        WriteBatcher writer(*store);
        std::atomic<int> state{0};
        // A rename whose target exists: nothing happens.
        {
            auto c = store->connect();
            put(*c, "taken", "2");
        }
        std::vector<WriteRequest> rename = {
            {WriteRequest::Kind::Put, "taken", "1", std::nullopt, {Precondition::Kind::IfNoneMatchAny, {}}},
            {WriteRequest::Kind::Remove, "old", {}, std::nullopt, {}}};
        writer.submitGroup(rename, [&](bool applied, const std::vector<WriteResult> &results) {
            state =
                applied
                    ? 1
                    : (results.size() == 2 && results[0].outcome == WriteOutcome::PreconditionFailed ? 2 : 3);
        });
        QTRY_VERIFY(state.load() != 0);
        QCOMPARE(state.load(), 2);
        auto c = store->connect();
        QVERIFY(c->get("old"));
        QCOMPARE(c->get("taken")->json, "2");

        state = 0;
        rename[0].key = "new";
        writer.submitGroup(rename,
                           [&](bool applied, const std::vector<WriteResult> &) { state = applied ? 1 : 2; });
        QTRY_VERIFY(state.load() != 0);
        QCOMPARE(state.load(), 1);
        QVERIFY(!c->get("old"));
        QCOMPARE(c->get("new")->json, "1");
    }

    void commitsAnnounceTheKeysTheyChanged()
    {
        auto store = newStore();
        qRegisterMetaType<QList<QByteArray>>();
        QSignalSpy spy(store.get(), &Store::keysChanged);
        {
            WriteBatcher writer(*store);
            std::atomic<int> done{0};
            writer.submit({WriteRequest::Kind::Put, "a", "1", std::nullopt, {}},
                          [&](const WriteResult &) { ++done; });
            writer.submit({WriteRequest::Kind::Remove, "b", {}, std::nullopt, {}},
                          [&](const WriteResult &) { ++done; });
            QTRY_COMPARE(done.load(), 2);
        }
        QTRY_VERIFY(!spy.isEmpty());
        QSet<QByteArray> announced;
        for (const auto &args : spy)
            for (const QByteArray &k : args.at(0).value<QList<QByteArray>>())
                announced.insert(k);
        QVERIFY(announced.contains("a"));
        // A remove of an absent key changes nothing and is not announced.
        QVERIFY(!announced.contains("b"));
    }
};

QTEST_GUILESS_MAIN(TestStoreBrowser)
#include "tst_storebrowser.moc"
