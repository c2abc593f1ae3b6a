#include "transferdialog.h"

#include "kvserver.h"
#include "store/clock.h"
#include "store/store.h"
#include "store/storebrowser.h"
#include "store/storeerror.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QThread>
#include <QVBoxLayout>

namespace kvdesk {

TransferDialog::TransferDialog(Mode mode, KvServer &server, const QString &prefix, QWidget *parent)
    : QDialog(parent), m_mode(mode), m_server(server)
{
    const bool importing = mode == Mode::Import;
    setObjectName(importing ? QStringLiteral("importDialog") : QStringLiteral("exportDialog"));
    setWindowTitle(importing ? tr("Import Keys") : tr("Export Keys"));
    m_file = new QLineEdit(this);
    m_file->setObjectName(QStringLiteral("transferFile"));
    auto *browseButton = new QPushButton(tr("Browse..."), this);
    auto *fileRow = new QHBoxLayout;
    fileRow->addWidget(m_file, 1);
    fileRow->addWidget(browseButton);
    auto *form = new QFormLayout;
    form->addRow(tr("&File:"), fileRow);
    if (importing) {
        m_conflict = new QComboBox(this);
        m_conflict->setObjectName(QStringLiteral("onConflict"));
        m_conflict->addItem(tr("Overwrite existing keys"));
        m_conflict->addItem(tr("Keep existing keys (skip)"));
        form->addRow(tr("Existing keys:"), m_conflict);
        form->addRow(
            new QLabel(tr("NDJSON, a wrangler bulk array or a {\"key\": value} object, recognised from "
                          "the content."),
                       this));
    } else {
        m_prefix = new QLineEdit(prefix, this);
        m_prefix->setObjectName(QStringLiteral("exportPrefix"));
        m_prefix->setPlaceholderText(tr("every key"));
        m_format = new QComboBox(this);
        m_format->setObjectName(QStringLiteral("exportFormat"));
        m_format->addItem(tr("NDJSON (one key per line, with TTLs)"));
        m_format->addItem(tr("wrangler kv bulk put (JSON array, values as strings)"));
        m_format->addItem(tr("JSON object {\"key\": value} (no TTLs)"));
        form->addRow(tr("Keys starting with:"), m_prefix);
        form->addRow(tr("F&ormat:"), m_format);
    }
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("transferProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("transferSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *buttons = new QDialogButtonBox(this);
    if (importing) {
        m_preview = new QListWidget(this);
        m_preview->setObjectName(QStringLiteral("importPreview"));
        m_preview->hide();
        m_dryRun = buttons->addButton(tr("&Dry Run"), QDialogButtonBox::ActionRole);
        m_dryRun->setObjectName(QStringLiteral("dryRunButton"));
    }
    m_start = buttons->addButton(importing ? tr("&Import") : tr("&Export"), QDialogButtonBox::AcceptRole);
    m_start->setObjectName(QStringLiteral("startTransferButton"));
    m_cancel = buttons->addButton(QDialogButtonBox::Cancel);
    m_cancel->setObjectName(QStringLiteral("cancelTransferButton"));
    m_close = buttons->addButton(QDialogButtonBox::Close);
    m_close->setObjectName(QStringLiteral("closeTransferButton"));

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_progress);
    layout->addWidget(m_summary);
    if (m_preview)
        layout->addWidget(m_preview, 1);
    layout->addWidget(buttons);
    resize(600, importing ? 420 : 0);

    QObject::connect(browseButton, &QPushButton::clicked, this, &TransferDialog::browse);
    QObject::connect(m_start, &QPushButton::clicked, this, [this] { start(false); });
    if (m_dryRun)
        QObject::connect(m_dryRun, &QPushButton::clicked, this, [this] { start(true); });
    QObject::connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_shared)
            m_shared->cancel = true;
    });
    QObject::connect(m_close, &QPushButton::clicked, this, &QDialog::close);
    m_poll.setInterval(100);
    QObject::connect(&m_poll, &QTimer::timeout, this, [this] {
        if (!m_shared)
            return;
        const qint64 total = std::max<qint64>(1, m_shared->total);
        m_progress->setValue(int(std::min<qint64>(1000, m_shared->progress * 1000 / total)));
    });
    setRunning(false);
}

TransferDialog::~TransferDialog()
{
    if (m_thread) {
        m_shared->cancel = true;
        m_thread->wait();
    }
}

void TransferDialog::browse()
{
    const QString path =
        m_mode == Mode::Import
            ? QFileDialog::getOpenFileName(this, tr("Import Keys"), QString(),
                                           tr("Dumps (*.ndjson *.json *.jsonl);;All files (*)"))
            : QFileDialog::getSaveFileName(this, tr("Export Keys"), QStringLiteral("kvdesk.ndjson"),
                                           tr("Dumps (*.ndjson *.json);;All files (*)"));
    if (!path.isEmpty())
        m_file->setText(path);
}

void TransferDialog::setRunning(bool running)
{
    m_start->setEnabled(!running);
    if (m_dryRun)
        m_dryRun->setEnabled(!running);
    m_cancel->setEnabled(running);
    m_close->setEnabled(!running);
    m_file->setEnabled(!running);
}

void TransferDialog::start(bool dryRun)
{
    const QString path = m_file->text().trimmed();
    if (path.isEmpty()) {
        m_summary->setText(tr("Choose a file first."));
        return;
    }
    auto shared = std::make_shared<Shared>();
    m_shared = shared;
    KvServer &server = m_server;
    if (m_mode == Mode::Import) {
        if (!server.writer()) {
            m_summary->setText(tr("The store is closed."));
            return;
        }
        shared->total = QFileInfo(path).size();
        ImportOptions options;
        options.dryRun = dryRun;
        options.onConflict = m_conflict->currentIndex() == 1 ? ImportOptions::OnConflict::Skip
                                                             : ImportOptions::OnConflict::Overwrite;
        m_thread = QThread::create([shared, path, options, &server] {
            QFile input(path);
            if (!input.open(QIODevice::ReadOnly)) {
                shared->error = tr("Cannot read %1: %2").arg(path, input.errorString());
                return;
            }
            try {
                auto reader = server.store().connect();
                WriterSink sink(*server.writer(), *reader);
                Importer importer(sink, options, server.store().clock().nowMs());
                shared->importReport = importer.run(
                    input, [shared](qint64 bytes) { shared->progress = bytes; }, &shared->cancel);
            } catch (const StoreError &e) {
                shared->error = e.message();
            }
        });
    } else {
        const QByteArray prefix = m_prefix->text().toUtf8();
        const DumpFormat format = m_format->currentIndex() == 1   ? DumpFormat::Wrangler
                                  : m_format->currentIndex() == 2 ? DumpFormat::Object
                                                                  : DumpFormat::Ndjson;
        m_thread = QThread::create([shared, path, prefix, format, &server] {
            QFile output(path);
            if (!output.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
                shared->error = tr("Cannot write %1: %2").arg(path, output.errorString());
                return;
            }
            try {
                auto connection = server.store().connect();
                shared->total = StoreBrowser(*connection).count(prefix, {});
                shared->exportReport =
                    Exporter(*connection, format, prefix)
                        .run(
                            output, [shared](qint64 keys) { shared->progress = keys; }, &shared->cancel);
            } catch (const StoreError &e) {
                shared->error = e.message();
            }
        });
    }
    m_thread->setObjectName(QStringLiteral("kvdesk-transfer"));
    QObject::connect(m_thread, &QThread::finished, this, [this, dryRun] { finished(dryRun); });
    m_summary->setText(dryRun                   ? tr("Trying...")
                       : m_mode == Mode::Import ? tr("Importing...")
                                                : tr("Exporting..."));
    if (m_preview)
        m_preview->clear();
    m_progress->setValue(0);
    setRunning(true);
    m_poll.start();
    m_thread->start();
}

void TransferDialog::finished(bool dryRun)
{
    m_poll.stop();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    setRunning(false);
    const Shared &s = *m_shared;
    QString summary;
    if (!s.error.isEmpty()) {
        summary = tr("Failed: %1").arg(s.error);
    } else if (m_mode == Mode::Export) {
        const ExportReport &r = s.exportReport;
        summary = !r.error.isEmpty() ? tr("Failed after %1 keys: %2").arg(r.keys).arg(r.error)
                  : r.cancelled
                      ? tr("Cancelled after %1 keys; the file is incomplete.").arg(r.keys)
                      : tr("Exported %1 keys (%2 bytes) to %3.").arg(r.keys).arg(r.bytes).arg(m_file->text());
        if (r.error.isEmpty() && !r.cancelled)
            m_progress->setValue(1000);
    } else {
        const ImportReport &r = s.importReport;
        summary = (dryRun ? tr("Dry run, nothing was written: %1") : tr("Imported: %1")).arg(r.summary());
        if (r.ok())
            m_progress->setValue(1000);
        if (dryRun && m_preview) {
            const QStringList kinds = {tr("create"), tr("overwrite"), tr("unchanged"), tr("skip")};
            for (const ImportChange &c : r.preview) {
                if (c.kind != ImportChange::Kind::Unchanged)
                    m_preview->addItem(
                        QStringLiteral("%1  %2").arg(kinds[int(c.kind)], QString::fromUtf8(c.key)));
            }
            m_preview->setVisible(true);
        }
    }
    m_summary->setText(summary);
    Q_EMIT finishedWithSummary(summary);
}

} // namespace kvdesk
