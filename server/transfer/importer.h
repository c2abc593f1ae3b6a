#pragma once

#include "recordreader.h"
#include "store/storeconnection.h"

#include <QIODevice>

#include <atomic>
#include <functional>

namespace kvdesk {

class WriteBatcher;

struct ImportOptions
{
    enum class OnConflict { Skip, Overwrite };
    OnConflict onConflict = OnConflict::Overwrite;
    bool dryRun = false; // report what would change, write nothing
    int batchSize = 1000;
};

struct ImportChange
{
    enum class Kind { Create, Overwrite, Unchanged, Skip };
    QByteArray key;
    Kind kind = Kind::Create;
};

struct ImportReport
{
    qint64 records = 0;     // valid records read
    qint64 created = 0;     // written (or, in a dry run, that would be) where no key was
    qint64 overwritten = 0; // written over a different value
    qint64 unchanged = 0;   // the same value and expiry were stored already
    qint64 skipped = 0;     // existing keys left alone (on conflict: skip)
    qint64 expired = 0;     // records whose expiration has passed
    qint64 invalid = 0;     // bad records, skipped
    qint64 firstBadLine = 0;
    QString firstBadMessage;
    QString error; // the input's structure broke, or the database failed: the import stopped there
    bool cancelled = false;
    DumpFormat format = DumpFormat::Ndjson;
    QList<ImportChange> preview; // the first changes, in input order (up to 1000)

    bool ok() const { return error.isEmpty() && !cancelled; }
    QString summary() const;
};

// Where an import writes: a batch at a time, each in one transaction; returns the error, if any.
class ImportSink
{
public:
    virtual ~ImportSink() = default;
    virtual std::optional<StoredValue> current(const QByteArray &key) = 0;
    // Writes the records (those flagged ifAbsent only where no live key is); written[i] says which were.
    virtual QString apply(const QList<DumpRecord> &records, const QList<bool> &ifAbsent,
                          QList<bool> *written) = 0;
};

// Straight to a connection (the command line, with the database to itself).
class ConnectionSink final : public ImportSink
{
public:
    explicit ConnectionSink(StoreConnection &connection) : m_connection(connection) {}
    std::optional<StoredValue> current(const QByteArray &key) override;
    QString apply(const QList<DumpRecord> &records, const QList<bool> &ifAbsent,
                  QList<bool> *written) override;

private:
    StoreConnection &m_connection;
};

// Through a running server's group-commit writer (HTTP and the window), waiting for each batch;
// reads through its own connection. Used on a thread other than the writer's.
class WriterSink final : public ImportSink
{
public:
    WriterSink(WriteBatcher &writer, StoreConnection &reader) : m_writer(writer), m_reader(reader) {}
    std::optional<StoredValue> current(const QByteArray &key) override;
    QString apply(const QList<DumpRecord> &records, const QList<bool> &ifAbsent,
                  QList<bool> *written) override;

private:
    WriteBatcher &m_writer;
    StoreConnection &m_reader;
};

// Reads a dump as a stream and writes it in batches. Bad records are counted and skipped (the
// first one reported with its line); what was stored before is never touched by them.
class Importer final
{
public:
    Importer(ImportSink &sink, ImportOptions options, qint64 now);

    // progress(bytes read) after each batch; cancel is checked between batches.
    ImportReport run(QIODevice &input, const std::function<void(qint64)> &progress = {},
                     const std::atomic_bool *cancel = nullptr);

private:
    QString flush(QList<DumpRecord> &batch, QList<ImportChange::Kind> &kinds, ImportReport &report);

    ImportSink &m_sink;
    ImportOptions m_options;
    qint64 m_now;
};

} // namespace kvdesk
