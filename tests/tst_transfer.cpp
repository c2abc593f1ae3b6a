// Import and export: every dump format both ways (TTLs, unicode keys), recognition of the format,
// bad input reported by line and never stored, dry runs, conflicts, and the command line.
#include "testserver.h"

#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "transfer/exporter.h"
#include "transfer/importer.h"

#include <QBuffer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace kvdesk;
using namespace Qt::StringLiterals;

namespace {

QByteArray exportAll(StoreConnection &c, DumpFormat format, const QByteArray &prefix = {})
{
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    const ExportReport r = Exporter(c, format, prefix).run(out);
    Q_ASSERT(r.error.isEmpty());
    return out.data();
}

ImportReport importText(StoreConnection &c, const QByteArray &text, qint64 now, ImportOptions options = {})
{
    QBuffer in;
    in.setData(text);
    in.open(QIODevice::ReadOnly);
    ConnectionSink sink(c);
    return Importer(sink, options, now).run(in);
}

} // namespace

class TestTransfer : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;
    int m_serial = 0;

    std::unique_ptr<Store> newStore()
    {
        auto s =
            std::make_unique<Store>(StoreOptions{m_dir.filePath(u"t%1.sqlite"_s.arg(++m_serial))}, m_clock);
        s->open();
        return s;
    }

    void fill(StoreConnection &c)
    {
        c.put("plain", "{\"a\":[1,2,{\"b\":null}],\"big\":123456789012345678901234567890}", std::nullopt);
        c.put("ttl/soon", "\"text with \\\"quotes\\\" and \\\\ and \\n\"", m_clock.nowMs() + 3'600'000);
        c.put(u"unicode/ключ/🔑"_s.toUtf8(), "\"é\"", std::nullopt);
        c.put("number", "-1.5e3", std::nullopt);
        c.put("ctl\tkey", "true", std::nullopt);
    }

private Q_SLOTS:
    void roundTripsEveryFormat_data()
    {
        QTest::addColumn<int>("format");
        QTest::addColumn<bool>("keepsTtl");
        QTest::newRow("ndjson") << int(DumpFormat::Ndjson) << true;
        QTest::newRow("wrangler") << int(DumpFormat::Wrangler) << true;
        QTest::newRow("json object") << int(DumpFormat::Object) << false;
    }
    void roundTripsEveryFormat()
    {
        QFETCH(int, format);
        QFETCH(bool, keepsTtl);
        auto from = newStore();
        auto a = from->connect();
        fill(*a);
        const QByteArray dump = exportAll(*a, DumpFormat(format));
        auto to = newStore();
        auto b = to->connect();
        const ImportReport r = importText(*b, dump, m_clock.nowMs());
        QVERIFY2(r.ok(), qPrintable(r.summary()));
        QCOMPARE(int(r.format), format);
        QCOMPARE(r.created, 5);
        QCOMPARE(r.invalid, 0);
        for (const QByteArray &key :
             {QByteArray("plain"), QByteArray("ttl/soon"), u"unicode/ключ/🔑"_s.toUtf8(), QByteArray("number"),
              QByteArray("ctl\tkey")}) {
            const auto original = a->get(key);
            const auto copy = b->get(key);
            QVERIFY2(copy, key.constData());
            QCOMPARE(copy->json, original->json);
            if (keepsTtl && original->expiresAtMs) // whole seconds, rounded up
                QVERIFY(*copy->expiresAtMs >= *original->expiresAtMs &&
                        *copy->expiresAtMs < *original->expiresAtMs + 1000);
            else
                QVERIFY(!copy->expiresAtMs);
        }
        // Importing the same dump again changes nothing.
        const ImportReport again = importText(*b, dump, m_clock.nowMs());
        QCOMPARE(again.unchanged, 5);
        QCOMPARE(again.created + again.overwritten, 0);
    }

    void exportsAPrefixOnlyAndNothingExpired()
    {
        auto s = newStore();
        auto c = s->connect();
        fill(*c);
        c->put("ttl/gone", "1", m_clock.nowMs() - 1);
        const QByteArray dump = exportAll(*c, DumpFormat::Ndjson, "ttl/");
        QCOMPARE(dump.count('\n'), 1);
        QVERIFY(dump.startsWith("{\"key\":\"ttl/soon\",\"value\":"));
        QVERIFY(dump.contains("\"expiration\":"));
        QCOMPARE(exportAll(*c, DumpFormat::Wrangler, "none/"), "[\n\n]\n");
        QCOMPARE(exportAll(*c, DumpFormat::Ndjson, "none/"), "");
    }

    void wranglerValuesAreStringsOfJsonOrPlainText()
    {
        auto s = newStore();
        auto c = s->connect();
        const qint64 now = m_clock.nowMs();
        const ImportReport r =
            importText(*c,
                       "[\n"
                       "  {\"key\": \"json\", \"value\": \"{\\\"a\\\": 1}\"},\n"
                       "  {\"key\": \"text\", \"value\": \"hello world\", \"expiration_ttl\": 60},\n"
                       "  {\"key\": \"b64\", \"value\": \"eyJ4Ijp0cnVlfQ==\", \"base64\": true, "
                       "\"metadata\": {\"ignored\": 1}},\n"
                       "  {\"key\": \"num\", \"value\": \"42\", \"expiration\": 4102444800}\n"
                       "]",
                       now);
        QVERIFY2(r.ok(), qPrintable(r.summary()));
        QCOMPARE(r.created, 4);
        QCOMPARE(c->get("json")->json, "{\"a\": 1}");
        QCOMPARE(c->get("text")->json, "\"hello world\"");
        QVERIFY(qAbs(*c->get("text")->expiresAtMs - (now + 60'000)) < 1000);
        QCOMPARE(c->get("b64")->json, "{\"x\":true}");
        QCOMPARE(c->get("num")->json, "42");
        QCOMPARE(*c->get("num")->expiresAtMs, 4102444800'000LL);
    }

    void recognisesTheFormatFromTheContent_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("format");
        QTest::addColumn<int>("created");
        QTest::newRow("ndjson with CRLF and a BOM")
            << QByteArray("\xEF\xBB\xBF{\"key\":\"a\",\"value\":1}\r\n{\"key\":\"b\",\"value\":2}\r\n")
            << int(DumpFormat::Ndjson) << 2;
        QTest::newRow("object of keys") << QByteArray("{\"a\": 1,\n \"b\": {\"key\": \"x\", \"value\": 2}}")
                                        << int(DumpFormat::Object) << 2;
        QTest::newRow("object named like a record, on several lines")
            << QByteArray("{\n\"key\": \"k\",\n\"value\": 1\n}") << int(DumpFormat::Object) << 2;
        QTest::newRow("wrangler array")
            << QByteArray(" [ {\"key\":\"a\",\"value\":\"1\"} ] ") << int(DumpFormat::Wrangler) << 1;
        QTest::newRow("empty input") << QByteArray("  \n") << int(DumpFormat::Ndjson) << 0;
    }
    void recognisesTheFormatFromTheContent()
    {
        QFETCH(QByteArray, text);
        QFETCH(int, format);
        QFETCH(int, created);
        auto s = newStore();
        auto c = s->connect();
        const ImportReport r = importText(*c, text, m_clock.nowMs());
        QVERIFY2(r.ok(), qPrintable(r.summary()));
        QCOMPARE(int(r.format), format);
        QCOMPARE(r.created, created);
    }

    void badRecordsAreReportedByLineAndNeverStored_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("invalid");
        QTest::addColumn<int>("firstBadLine");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json")
            << QByteArray("{\"key\":\"a\",\"value\":1}\nnot json\n{\"key\":\"b\",\"value\":2}\n") << 1 << 2
            << u"not a JSON object"_s;
        QTest::newRow("null value") << QByteArray(
                                           "{\"key\":\"a\",\"value\":1}\n{\"key\":\"n\",\"value\":null}\n")
                                    << 1 << 2 << u"null"_s;
        QTest::newRow("missing key") << QByteArray("{\"key\":\"a\",\"value\":1}\n\n{\"value\":1}\n") << 1 << 3
                                     << u"\"key\""_s;
        QTest::newRow("key too long")
            << QByteArray("{\"key\":\"" + QByteArray(513, 'k') + "\",\"value\":1}\n") << 1 << 1 << u"512"_s;
        QTest::newRow("bad expiration") << QByteArray("{\"key\":\"a\",\"value\":1,\"expiration\":\"soon\"}\n")
                                        << 1 << 1 << u"expiration"_s;
        QTest::newRow("wrangler value not a string")
            << QByteArray("[\n{\"key\":\"a\",\"value\":\"1\"},\n{\"key\":\"b\",\"value\":2}\n]") << 1 << 3
            << u"string"_s;
        QTest::newRow("bad value in an object")
            << QByteArray("{\"a\": 1,\n\"b\": [1,,2],\n\"c\": 3}") << 1 << 2 << u"not valid JSON"_s;
    }
    void badRecordsAreReportedByLineAndNeverStored()
    {
        QFETCH(QByteArray, text);
        QFETCH(int, invalid);
        QFETCH(int, firstBadLine);
        QFETCH(QString, message);
        auto s = newStore();
        auto c = s->connect();
        c->put("untouched", "0", std::nullopt);
        const ImportReport r = importText(*c, text, m_clock.nowMs());
        QVERIFY2(r.error.isEmpty(), qPrintable(r.summary()));
        QCOMPARE(r.invalid, invalid);
        QCOMPARE(r.firstBadLine, firstBadLine);
        QVERIFY2(r.firstBadMessage.contains(message), qPrintable(r.firstBadMessage));
        QCOMPARE(c->get("untouched")->json, "0");
        QCOMPARE(c->countLiveKeys(), 1 + r.created);
    }

    void aBrokenStructureStopsWithItsLine_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("truncated array")
            << QByteArray("[{\"key\":\"a\",\"value\":\"1\"},\n{\"key\":\"b\",") << u"line 2"_s;
        QTest::newRow("missing comma")
            << QByteArray("[{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\",\"value\":\"2\"}]")
            << u"line 2: expected ','"_s;
        QTest::newRow("text after the end") << QByteArray("{\"a\":1} trailing") << u"after the end"_s;
        QTest::newRow("not a dump") << QByteArray("hello") << u"neither"_s;
    }
    void aBrokenStructureStopsWithItsLine()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        auto s = newStore();
        auto c = s->connect();
        const ImportReport r = importText(*c, text, m_clock.nowMs());
        QVERIFY(!r.ok());
        QVERIFY2(r.error.contains(message), qPrintable(r.error));
    }

    void dryRunWritesNothingAndSaysWhatWouldChange()
    {
        auto s = newStore();
        auto c = s->connect();
        c->put("same", "1", std::nullopt);
        c->put("diff", "1", std::nullopt);
        ImportOptions options;
        options.dryRun = true;
        const ImportReport r = importText(
            *c,
            "{\"key\":\"same\",\"value\":1}\n{\"key\":\"diff\",\"value\":2}\n{\"key\":\"new\",\"value\":3}\n",
            m_clock.nowMs(), options);
        QCOMPARE(r.unchanged, 1);
        QCOMPARE(r.overwritten, 1);
        QCOMPARE(r.created, 1);
        QCOMPARE(r.preview.size(), 3);
        QCOMPARE(r.preview[1].kind, ImportChange::Kind::Overwrite);
        QCOMPARE(r.preview[2].key, "new");
        QCOMPARE(c->get("diff")->json, "1");
        QVERIFY(!c->get("new"));
    }

    void onConflictSkipLeavesExistingKeys()
    {
        auto s = newStore();
        auto c = s->connect();
        c->put("old", "1", std::nullopt);
        ImportOptions options;
        options.onConflict = ImportOptions::OnConflict::Skip;
        const ImportReport r = importText(*c,
                                          "{\"key\":\"old\",\"value\":2}\n{\"key\":\"new\",\"value\":3}\n{"
                                          "\"key\":\"gone\",\"value\":3,\"expiration\":1}\n",
                                          m_clock.nowMs(), options);
        QCOMPARE(r.skipped, 1);
        QCOMPARE(r.created, 1);
        QCOMPARE(r.expired, 1);
        QCOMPARE(c->get("old")->json, "1");
        QVERIFY(!c->get("gone"));
    }

    void theLastOfTwoRecordsOfAKeyWins()
    {
        auto s = newStore();
        auto c = s->connect();
        const ImportReport r =
            importText(*c, "{\"key\":\"k\",\"value\":1}\n{\"key\":\"k\",\"value\":2}\n", m_clock.nowMs());
        QVERIFY(r.ok());
        QCOMPARE(c->get("k")->json, "2");
    }

    void theCommandLineExportsBesideARunningServerButDoesNotImportIntoIt()
    {
        test::TestServer server;
        {
            auto c = server.server().store().connect();
            fill(*c);
        }
        const QString db = server.config().databasePath;
        QProcess exporter;
        exporter.start(QStringLiteral(KVDESK_BINARY), {u"export"_s, u"--db"_s, db});
        QVERIFY(exporter.waitForFinished(30000));
        QCOMPARE(exporter.exitCode(), 0);
        QCOMPARE(exporter.readAllStandardOutput().count('\n'), 5);
        // An import needs the database to itself: refused, with the way to do it named.
        QTemporaryDir dir;
        QFile dump(dir.filePath(u"d.ndjson"_s));
        QVERIFY(dump.open(QIODevice::WriteOnly));
        dump.write("{\"key\":\"x\",\"value\":1}\n");
        dump.close();
        QProcess importer;
        importer.start(QStringLiteral(KVDESK_BINARY), {u"import"_s, u"--db"_s, db, dump.fileName()});
        QVERIFY(importer.waitForFinished(30000));
        QCOMPARE(importer.exitCode(), 1);
        const QByteArray err = importer.readAllStandardError();
        QVERIFY(err.contains("in use by another kvdesk process"));
        QVERIFY(err.contains("POST {admin}/import"));
        auto c = server.server().store().connect();
        QVERIFY(!c->get("x"));
    }

    void commandLineExportAndImport()
    {
        const QString db = m_dir.filePath(u"cli.sqlite"_s);
        {
            Store s(StoreOptions{db}, m_clock);
            s.open();
            auto c = s.connect();
            fill(*c);
        }
        auto run = [](const QStringList &args, QByteArray *out = nullptr, QByteArray *err = nullptr) {
            QProcess p;
            p.start(QStringLiteral(KVDESK_BINARY), args);
            p.waitForFinished(30000);
            if (out)
                *out = p.readAllStandardOutput();
            if (err)
                *err = p.readAllStandardError();
            return p.exitCode();
        };
        const QString dump = m_dir.filePath(u"dump.json"_s);
        QByteArray out;
        QByteArray err;
        QCOMPARE(run({u"export"_s, u"--db"_s, db, u"--format"_s, u"wrangler"_s, dump}, &out, &err), 0);
        QVERIFY2(err.contains("Exported 5 keys"), err.constData());
        QCOMPARE(run({u"export"_s, u"--db"_s, db, u"--prefix"_s, u"unicode/"_s}, &out), 0);
        QCOMPARE(out.count('\n'), 1);
        const QString copy = m_dir.filePath(u"copy.sqlite"_s);
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, u"--dry-run"_s, dump}, &out), 0);
        QVERIFY2(out.contains("5 created") && out.contains("create plain"), out.constData());
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, dump}, &out), 0);
        QVERIFY2(out.contains("5 created"), out.constData());
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, u"--on-conflict"_s, u"skip"_s, dump}, &out), 0);
        QVERIFY2(out.contains("5 unchanged"), out.constData());
        // Bad lines: exit status 1, and the line named.
        QFile bad(m_dir.filePath(u"bad.ndjson"_s));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"key\":\"ok\",\"value\":1}\n{\"key\":\"x\",\"value\":\n");
        bad.close();
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, bad.fileName()}, &out), 1);
        QVERIFY2(out.contains("line 2"), out.constData());
        // Usage errors: 2.
        QCOMPARE(run({u"export"_s, u"--db"_s, db, u"--format"_s, u"xml"_s}, nullptr, &err), 2);
        QCOMPARE(run({u"import"_s, u"--db"_s, copy}, nullptr, &err), 2);
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, u"--on-conflict"_s, u"maybe"_s, dump}, nullptr, &err), 2);
        QCOMPARE(run({u"import"_s, u"--db"_s, copy, m_dir.filePath(u"missing"_s)}, nullptr, &err), 1);
    }
};

QTEST_GUILESS_MAIN(TestTransfer)
#include "tst_transfer.moc"
