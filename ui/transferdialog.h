#pragma once

#include "transfer/exporter.h"
#include "transfer/importer.h"

#include <QDialog>
#include <QTimer>

#include <atomic>
#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QThread;

namespace kvdesk {

class KvServer;

// Import or export from the window, on a thread of its own: a file, a progress bar, cancel, and
// a summary at the end; an import can first be tried as a dry run that lists what would change.
// Imports go through the server's writer, like every other write.
class TransferDialog final : public QDialog
{
    Q_OBJECT

public:
    enum class Mode { Import, Export };

    TransferDialog(Mode mode, KvServer &server, const QString &prefix, QWidget *parent = nullptr);
    ~TransferDialog() override;

    bool isRunning() const { return m_thread != nullptr; }

Q_SIGNALS:
    void finishedWithSummary(const QString &summary);

private:
    struct Shared
    {
        std::atomic_bool cancel{false};
        std::atomic<qint64> progress{0};
        qint64 total = 0;
        ImportReport importReport;
        ExportReport exportReport;
        QString error;
    };

    void start(bool dryRun);
    void finished(bool dryRun);
    void browse();
    void setRunning(bool running);

    Mode m_mode;
    KvServer &m_server;
    QLineEdit *m_file;
    QLineEdit *m_prefix = nullptr;
    QComboBox *m_format = nullptr;
    QComboBox *m_conflict = nullptr;
    QProgressBar *m_progress;
    QLabel *m_summary;
    QListWidget *m_preview = nullptr;
    QPushButton *m_dryRun = nullptr;
    QPushButton *m_start;
    QPushButton *m_cancel;
    QPushButton *m_close;
    QThread *m_thread = nullptr;
    std::shared_ptr<Shared> m_shared;
    QTimer m_poll;
};

} // namespace kvdesk
