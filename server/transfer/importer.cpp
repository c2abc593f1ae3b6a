#include "importer.h"

#include "store/storeerror.h"
#include "store/writebatcher.h"

#include <QCoreApplication>

#include <future>

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::Importer)
};

} // namespace

QString ImportReport::summary() const
{
    QString text =
        I18n::tr("%1 records: %2 created, %3 overwritten, %4 unchanged, %5 skipped, %6 expired, %7 invalid")
            .arg(records + invalid)
            .arg(created)
            .arg(overwritten)
            .arg(unchanged)
            .arg(skipped)
            .arg(expired)
            .arg(invalid);
    if (firstBadLine > 0)
        text += I18n::tr("; first bad record at line %1: %2").arg(firstBadLine).arg(firstBadMessage);
    if (!error.isEmpty())
        text += I18n::tr("; stopped: %1").arg(error);
    if (cancelled)
        text += I18n::tr("; cancelled");
    return text;
}

std::optional<StoredValue> ConnectionSink::current(const QByteArray &key)
{
    return m_connection.get(key);
}

QString ConnectionSink::apply(const QList<DumpRecord> &records, const QList<bool> &ifAbsent,
                              QList<bool> *written)
{
    try {
        m_connection.begin();
        std::vector<QByteArrayView> keys;
        keys.reserve(size_t(records.size()));
        for (const DumpRecord &record : records)
            keys.push_back(record.key);
        m_connection.lockKeys(keys);
        for (qsizetype i = 0; i < records.size(); ++i) {
            const Precondition condition{
                ifAbsent[i] ? Precondition::Kind::IfNoneMatchAny : Precondition::Kind::None, {}};
            const auto r =
                m_connection.put(records[i].key, records[i].json, records[i].expiresAtMs, condition);
            written->append(r.outcome == WriteOutcome::Written);
        }
        m_connection.commit();
        return {};
    } catch (const StoreError &e) {
        try {
            m_connection.rollback();
        } catch (const StoreError &) {
        }
        written->clear();
        return e.message();
    }
}

std::optional<StoredValue> WriterSink::current(const QByteArray &key)
{
    auto v = m_reader.get(key);
    m_reader.releaseSnapshot();
    return v;
}

QString WriterSink::apply(const QList<DumpRecord> &records, const QList<bool> &ifAbsent, QList<bool> *written)
{
    std::vector<WriteRequest> requests;
    requests.reserve(size_t(records.size()));
    for (qsizetype i = 0; i < records.size(); ++i)
        requests.push_back(
            {WriteRequest::Kind::Put,
             records[i].key,
             records[i].json,
             records[i].expiresAtMs,
             {ifAbsent[i] ? Precondition::Kind::IfNoneMatchAny : Precondition::Kind::None, {}}});
    std::promise<std::pair<QString, QList<bool>>> promise;
    auto future = promise.get_future();
    m_writer.submitGroup(
        std::move(requests),
        [&promise](bool, const std::vector<WriteResult> &results) {
            QString error;
            QList<bool> flags;
            for (const WriteResult &r : results) {
                if (!r.error.isEmpty())
                    error = r.error;
                flags.append(r.error.isEmpty() && r.outcome == WriteOutcome::Written);
            }
            promise.set_value({error, flags});
        },
        WriteBatcher::Group::EachOnItsOwn);
    auto [error, flags] = future.get();
    *written = error.isEmpty() ? flags : QList<bool>();
    return error;
}

Importer::Importer(ImportSink &sink, ImportOptions options, qint64 now)
    : m_sink(sink), m_options(options), m_now(now)
{}

QString Importer::flush(QList<DumpRecord> &batch, QList<ImportChange::Kind> &kinds, ImportReport &report)
{
    QList<DumpRecord> toWrite;
    QList<bool> ifAbsent;
    QList<ImportChange::Kind> writeKinds;
    for (qsizetype i = 0; i < batch.size(); ++i) {
        const ImportChange::Kind kind = kinds[i];
        if (report.preview.size() < 1000)
            report.preview.append({batch[i].key, kind});
        if (kind == ImportChange::Kind::Unchanged) {
            ++report.unchanged;
        } else if (kind == ImportChange::Kind::Skip) {
            ++report.skipped;
        } else if (m_options.dryRun) {
            ++(kind == ImportChange::Kind::Create ? report.created : report.overwritten);
        } else {
            toWrite.append(batch[i]);
            ifAbsent.append(m_options.onConflict == ImportOptions::OnConflict::Skip);
            writeKinds.append(kind);
        }
    }
    batch.clear();
    kinds.clear();
    if (toWrite.isEmpty())
        return {};
    QList<bool> written;
    const QString error = m_sink.apply(toWrite, ifAbsent, &written);
    if (!error.isEmpty())
        return error;
    for (qsizetype i = 0; i < toWrite.size(); ++i) {
        if (!written[i])
            ++report.skipped; // created meanwhile, and on conflict: skip
        else
            ++(writeKinds[i] == ImportChange::Kind::Create ? report.created : report.overwritten);
    }
    return {};
}

ImportReport Importer::run(QIODevice &input, const std::function<void(qint64)> &progress,
                           const std::atomic_bool *cancel)
{
    ImportReport report;
    RecordReader reader(input, m_now);
    QList<DumpRecord> batch;
    QList<ImportChange::Kind> kinds;
    QSet<QByteArray> inBatch;
    try {
        for (;;) {
            DumpRecord record;
            QString problem;
            qint64 line = 0;
            const RecordReader::Status status = reader.next(&record, &problem, &line);
            report.format = reader.format();
            if (status == RecordReader::Status::End)
                break;
            if (status == RecordReader::Status::Broken) {
                report.error = I18n::tr("line %1: %2").arg(line).arg(problem);
                break;
            }
            if (status == RecordReader::Status::Invalid) {
                ++report.invalid;
                if (report.firstBadLine == 0) {
                    report.firstBadLine = line;
                    report.firstBadMessage = problem;
                }
                continue;
            }
            ++report.records;
            if (record.expiresAtMs && *record.expiresAtMs <= m_now) {
                ++report.expired;
                continue;
            }
            // A key twice in one batch: the earlier one is written first.
            if (inBatch.contains(record.key)) {
                if (const QString error = flush(batch, kinds, report); !error.isEmpty()) {
                    report.error = error;
                    return report;
                }
                inBatch.clear();
            }
            const auto existing = m_sink.current(record.key);
            ImportChange::Kind kind = ImportChange::Kind::Create;
            if (existing && existing->json == record.json && existing->expiresAtMs == record.expiresAtMs)
                kind = ImportChange::Kind::Unchanged;
            else if (existing)
                kind = m_options.onConflict == ImportOptions::OnConflict::Skip
                           ? ImportChange::Kind::Skip
                           : ImportChange::Kind::Overwrite;
            inBatch.insert(record.key);
            batch.append(std::move(record));
            kinds.append(kind);
            if (batch.size() >= m_options.batchSize) {
                if (const QString error = flush(batch, kinds, report); !error.isEmpty()) {
                    report.error = error;
                    return report;
                }
                inBatch.clear();
                if (progress)
                    progress(reader.bytesRead());
                if (cancel && cancel->load()) {
                    report.cancelled = true;
                    return report;
                }
            }
        }
        if (const QString error = flush(batch, kinds, report); !error.isEmpty())
            report.error = error;
    } catch (const StoreError &e) {
        report.error = e.message();
    }
    if (progress)
        progress(reader.bytesRead());
    return report;
}

} // namespace kvdesk
