// A million keys out and back in through `kvdesk export` and `kvdesk import`, with the peak
// memory of each process measured: streaming keeps it flat whatever the dump's size.
#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"

#include <QFile>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace kvdesk;
using namespace Qt::StringLiterals;

namespace {

constexpr int million = 1000000;

// Runs kvdesk to its end, sampling its peak resident memory (VmHWM) meanwhile; in KiB.
qint64 runMeasured(const QStringList &args, int *status, QByteArray *output)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QStringLiteral(KVDESK_BINARY), args);
    p.waitForStarted();
    const QString statusFile = u"/proc/%1/status"_s.arg(p.processId());
    qint64 peak = 0;
    while (!p.waitForFinished(20)) {
        QFile f(statusFile);
        if (f.open(QIODevice::ReadOnly)) {
            for (const QByteArray &line : f.readAll().split('\n')) {
                if (line.startsWith("VmHWM:"))
                    peak = std::max(peak, line.mid(6).trimmed().split(' ').first().toLongLong());
            }
        }
        if (p.state() == QProcess::NotRunning)
            break;
    }
    *status = p.exitCode();
    *output = p.readAll();
    return peak;
}

} // namespace

class TestTransferScale : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Clock m_clock;

private Q_SLOTS:
    void aMillionKeysOutAndBackInWithFlatMemory()
    {
        const QString source = m_dir.filePath(u"source.sqlite"_s);
        {
            Store store(StoreOptions{source}, m_clock);
            store.open();
        }
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"fill"_s);
            db.setDatabaseName(source);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY2(q.exec(uR"(WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < %1)
                INSERT INTO "wt_kv_key_values" ("name", "value", "updated_at", "expires_at", "version")
                SELECT printf('key/%07d', x), '{"n":' || x || ',"text":"0123456789abcdef0123456789abcdef"}', 0,
                       CASE WHEN x % 100 = 0 THEN 4102444800000 END, x + 1 FROM n)"_s.arg(million - 1)),
                     qPrintable(q.lastError().text()));
            db.close();
        }
        QSqlDatabase::removeDatabase(u"fill"_s);

        const QString dump = m_dir.filePath(u"dump.ndjson"_s);
        int status = -1;
        QByteArray output;
        const qint64 exportPeak = runMeasured({u"export"_s, u"--db"_s, source, dump}, &status, &output);
        QVERIFY2(status == 0, output.constData());
        const qint64 dumpMiB = QFileInfo(dump).size() >> 20;
        qInfo("export: %lld MiB of NDJSON, peak memory %lld MiB", dumpMiB, exportPeak >> 10);
        QVERIFY2(output.contains("Exported 1000000 keys"), output.constData());

        const QString target = m_dir.filePath(u"target.sqlite"_s);
        const qint64 importPeak = runMeasured({u"import"_s, u"--db"_s, target, dump}, &status, &output);
        QVERIFY2(status == 0, output.constData());
        qInfo("import: peak memory %lld MiB", importPeak >> 10);
        QVERIFY2(output.contains("1000000 records: 1000000 created"), output.constData());

        // Memory stays well below the size of the dump (not measurable under AddressSanitizer).
        QVERIFY(dumpMiB > 60);
#ifndef KVDESK_SANITIZE
        QVERIFY2(exportPeak >> 10 < 48, qPrintable(QString::number(exportPeak >> 10)));
        QVERIFY2(importPeak >> 10 < 64, qPrintable(QString::number(importPeak >> 10)));
#endif

        Store copy(StoreOptions{target}, m_clock);
        copy.open();
        auto c = copy.connect();
        QCOMPARE(c->countLiveKeys(), million);
        QCOMPARE(c->get("key/0999999")->json, R"({"n":999999,"text":"0123456789abcdef0123456789abcdef"})");
        QCOMPARE(*c->get("key/0000100")->expiresAtMs, 4102444800000LL);
    }
};

QTEST_GUILESS_MAIN(TestTransferScale)
#include "tst_transferscale.moc"
