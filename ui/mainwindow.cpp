#include "mainwindow.h"

#include "credentials/credentialvault.h"
#include "databasedialog.h"
#include "keyactions.h"
#include "keymodel.h"
#include "kvserver.h"
#include "serverpanel.h"
#include "store/store.h"
#include "storeservice.h"
#include "transferdialog.h"
#include "valueeditor.h"

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

// The icons are compiled into this static library; its users need not know.
static void initResources()
{
    Q_INIT_RESOURCE(kvdesk);
}

namespace kvdesk {

MainWindow::MainWindow(KvServer &server, const Clock &clock, CredentialVault *vault, QWidget *parent)
    : QMainWindow(parent), m_server(server), m_clock(clock), m_vault(vault),
      m_service(new StoreService(server, this)), m_model(new KeyModel(*m_service, clock, this))
{
    initResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("KV Desk"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/kvdesk.svg")));

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("filterEdit"));
    m_filter->setPlaceholderText(tr("Filter keys (Ctrl+F)"));
    m_filter->setClearButtonEnabled(true);
    m_filterMode = new QComboBox(this);
    m_filterMode->setObjectName(QStringLiteral("filterMode"));
    m_filterMode->addItem(tr("Contains"));
    m_filterMode->addItem(tr("Starts with"));
    m_tree = new QTreeView(this);
    m_tree->setObjectName(QStringLiteral("keyTree"));
    m_tree->setModel(m_model);
    m_tree->setUniformRowHeights(true);
    m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_tree->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_tree->setAlternatingRowColors(true);
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(KeyModel::NameColumn, QHeaderView::Stretch);
    m_tree->setColumnWidth(KeyModel::SizeColumn, 80);
    m_tree->setColumnWidth(KeyModel::TtlColumn, 110);
    m_tree->setColumnWidth(KeyModel::UpdatedColumn, 150);
    auto *browser = new QWidget(this);
    auto *filterRow = new QHBoxLayout;
    filterRow->addWidget(m_filter, 1);
    filterRow->addWidget(m_filterMode);
    auto *browserLayout = new QVBoxLayout(browser);
    browserLayout->setContentsMargins(6, 6, 0, 6);
    browserLayout->addLayout(filterRow);
    browserLayout->addWidget(m_tree, 1);

    m_editor = new ValueEditor(clock, this);
    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(browser);
    m_splitter->addWidget(m_editor);
    m_splitter->setStretchFactor(0, 3);
    m_splitter->setStretchFactor(1, 2);
    setCentralWidget(m_splitter);

    m_panel = new ServerPanel(server, vault, this);
    m_dock = new QDockWidget(tr("Server"), this);
    m_dock->setObjectName(QStringLiteral("serverDock"));
    m_dock->setWidget(m_panel);
    addDockWidget(Qt::BottomDockWidgetArea, m_dock);

    m_actions = new KeyActions(*m_service, *m_model, *m_tree, *m_editor, *m_panel, this);
    m_counts = new QLabel(this);
    m_counts->setObjectName(QStringLiteral("countStatus"));
    m_busy = new QLabel(tr("Loading..."), this);
    m_busy->setObjectName(QStringLiteral("busyStatus"));
    m_busy->hide();
    statusBar()->addPermanentWidget(m_busy);
    statusBar()->addPermanentWidget(m_counts);
    buildMenus();

    m_filterTimer.setSingleShot(true);
    m_filterTimer.setInterval(200);
    QObject::connect(&m_filterTimer, &QTimer::timeout, this, &MainWindow::applyFilter);
    QObject::connect(m_filter, &QLineEdit::textChanged, this, [this] { m_filterTimer.start(); });
    QObject::connect(m_filterMode, &QComboBox::currentIndexChanged, this, &MainWindow::applyFilter);
    QObject::connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this,
                     [this](const QModelIndex &current) { currentChanged(current); });
    QObject::connect(m_tree->selectionModel(), &QItemSelectionModel::selectionChanged, m_actions,
                     &KeyActions::updateEnabled);
    QObject::connect(m_tree->verticalScrollBar(), &QScrollBar::valueChanged, this, &MainWindow::fetchVisible);
    QObject::connect(m_model, &QAbstractItemModel::rowsInserted, this, &MainWindow::fetchVisible,
                     Qt::QueuedConnection);
    // A folder opened again, or a taller window, can bring the end of what is loaded into view.
    QObject::connect(m_tree, &QTreeView::expanded, this, &MainWindow::fetchVisible, Qt::QueuedConnection);
    QObject::connect(m_tree->verticalScrollBar(), &QScrollBar::rangeChanged, this, &MainWindow::fetchVisible,
                     Qt::QueuedConnection);
    QObject::connect(m_model, &KeyModel::countsChanged, this, &MainWindow::updateCounts);
    QObject::connect(m_model, &KeyModel::loadingChanged, m_busy, &QLabel::setVisible);
    QObject::connect(m_model, &KeyModel::errorOccurred, this,
                     [this](const QString &e) { showStatus(tr("Cannot read the store: %1").arg(e)); });
    QObject::connect(m_model, &KeyModel::keysRefreshed, this, &MainWindow::keysRefreshed);
    QObject::connect(&server.store(), &Store::keysChanged, m_model, &KeyModel::noteChanged);
    QObject::connect(&server.store(), &Store::manyKeysChanged, m_model, &KeyModel::reload);
    server.store().watchOtherWriters(); // other nodes on a shared PostgreSQL database
    QObject::connect(m_actions, &KeyActions::statusMessage, this, &MainWindow::showStatus);
    QObject::connect(m_panel, &ServerPanel::statusMessage, this, &MainWindow::showStatus);

    // Countdowns move every second; only what is on screen is repainted.
    m_tick.setInterval(1000);
    QObject::connect(&m_tick, &QTimer::timeout, this, [this] {
        m_tree->viewport()->update();
        m_editor->refreshTtl();
    });
    m_tick.start();

    resize(1200, 720);
    restoreSettings();
    m_model->reload();
    updateCounts();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus()
{
    KeyActions &a = *m_actions;
    QAction *quit = new QAction(tr("&Quit"), this);
    quit->setObjectName(QStringLiteral("actionQuit"));
    quit->setShortcut(QKeySequence::Quit);
    QObject::connect(quit, &QAction::triggered, this, &QWidget::close);
    QAction *find = new QAction(tr("&Find Keys"), this);
    find->setObjectName(QStringLiteral("actionFind"));
    find->setShortcut(QKeySequence::Find);
    QObject::connect(find, &QAction::triggered, this, [this] {
        m_filter->setFocus();
        m_filter->selectAll();
    });
    m_flat = new QAction(tr("&Flat List"), this);
    m_flat->setObjectName(QStringLiteral("actionFlatList"));
    m_flat->setCheckable(true);
    m_flat->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    QObject::connect(m_flat, &QAction::toggled, this, [this](bool flat) {
        m_model->setGrouped(!flat);
        m_tree->setRootIsDecorated(!flat);
    });
    QAction *startStop = new QAction(tr("&Start or Stop the Server"), this);
    startStop->setObjectName(QStringLiteral("actionStartStop"));
    startStop->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    QObject::connect(startStop, &QAction::triggered, m_panel, &ServerPanel::toggleRunning);
    QAction *copyUrl = new QAction(QIcon(QStringLiteral(":/icons/copy.svg")), tr("Copy Server &URL"), this);
    copyUrl->setObjectName(QStringLiteral("actionCopyUrl"));
    copyUrl->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U));
    QObject::connect(copyUrl, &QAction::triggered, m_panel, &ServerPanel::copyUrl);
    QAction *credentials = new QAction(tr("&Credentials..."), this);
    credentials->setObjectName(QStringLiteral("actionCredentials"));
    credentials->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A));
    QObject::connect(credentials, &QAction::triggered, m_panel, &ServerPanel::editCredentials);
    QAction *copyApiKey = new QAction(tr("Copy the API &Key"), this);
    copyApiKey->setObjectName(QStringLiteral("actionCopyApiKey"));
    copyApiKey->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Y));
    QObject::connect(copyApiKey, &QAction::triggered, m_panel, &ServerPanel::copyApiKey);
    QAction *exportKeys = new QAction(tr("&Export Keys..."), this);
    exportKeys->setObjectName(QStringLiteral("actionExport"));
    exportKeys->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    QObject::connect(exportKeys, &QAction::triggered, this, [this] { openTransfer(false); });
    QAction *importKeys = new QAction(tr("&Import Keys..."), this);
    importKeys->setObjectName(QStringLiteral("actionImport"));
    importKeys->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I));
    QObject::connect(importKeys, &QAction::triggered, this, [this] { openTransfer(true); });
    QAction *openDatabase = new QAction(tr("Open &PostgreSQL Database..."), this);
    openDatabase->setObjectName(QStringLiteral("actionOpenPostgres"));
    QObject::connect(openDatabase, &QAction::triggered, this, &MainWindow::openDatabase);
    QAction *about = new QAction(tr("&About KV Desk"), this);
    about->setObjectName(QStringLiteral("actionAbout"));
    QObject::connect(about, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About KV Desk"),
                           tr("<b>KV Desk %1</b><br>A JSON key/value server and desktop admin app."
                              "<p>Free software under the MIT License. Built with Qt %2.</p>")
                               .arg(QStringLiteral(KVDESK_VERSION), QString::fromLatin1(qVersion())));
    });

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(a.newKey);
    file->addAction(a.save);
    file->addAction(a.revert);
    file->addSeparator();
    file->addAction(importKeys);
    file->addAction(exportKeys);
    file->addSeparator();
    file->addAction(openDatabase);
    file->addSeparator();
    file->addAction(quit);
    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(a.undo);
    edit->addSeparator();
    for (QAction *action : {a.rename, a.duplicate, a.remove})
        edit->addAction(action);
    edit->addSeparator();
    for (QAction *action : {a.setTtl, a.clearTtl, a.expireNow})
        edit->addAction(action);
    edit->addSeparator();
    for (QAction *action : {a.copyKey, a.copyValue, a.copyCurl})
        edit->addAction(action);
    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(find);
    view->addAction(m_flat);
    view->addAction(a.refresh);
    view->addSeparator();
    QAction *dockToggle = m_dock->toggleViewAction();
    dockToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_J));
    view->addAction(dockToggle);
    QMenu *serverMenu = menuBar()->addMenu(tr("&Server"));
    serverMenu->addAction(startStop);
    serverMenu->addAction(copyUrl);
    serverMenu->addAction(copyApiKey);
    serverMenu->addAction(credentials);
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(about);

    QToolBar *toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("mainToolBar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    for (QAction *action : {a.newKey, a.save, a.remove, a.setTtl, a.undo, a.refresh, a.copyCurl})
        toolbar->addAction(action);

    for (QAction *action : {a.copyKey, a.copyValue, a.copyCurl, a.rename, a.duplicate, a.setTtl, a.clearTtl,
                            a.expireNow, a.newKey})
        m_tree->addAction(action);
    // Every action answers its shortcut wherever the focus is in the window.
    for (QAction *action :
         {quit, find, m_flat, startStop, copyUrl, a.newKey, a.save, a.revert, a.undo, a.rename, a.duplicate,
          a.setTtl, a.clearTtl, a.expireNow, a.copyKey, a.copyValue, a.copyCurl, a.refresh})
        addAction(action);
}

void MainWindow::openTransfer(bool importing)
{
    // Export what is selected: a folder's keys, by default.
    QString prefix;
    const QModelIndex current = m_tree->currentIndex();
    if (!importing && current.isValid() && current.data(KeyModel::IsFolderRole).toBool())
        prefix = QString::fromUtf8(KeyModel::keyOf(current));
    auto *dialog = new TransferDialog(importing ? TransferDialog::Mode::Import : TransferDialog::Mode::Export,
                                      m_server, prefix, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &TransferDialog::finishedWithSummary, this, &MainWindow::showStatus);
    dialog->open();
}

void MainWindow::openDatabase()
{
    auto *dialog = new DatabaseDialog(m_vault ? &m_vault->secrets() : nullptr, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &DatabaseDialog::openRequested, this, &MainWindow::reopenRequested);
    dialog->open();
}

void MainWindow::showStatus(const QString &message)
{
    statusBar()->showMessage(message, 8000);
}

void MainWindow::applyFilter()
{
    BrowseFilter filter;
    filter.text = m_filter->text();
    filter.mode =
        m_filterMode->currentIndex() == 1 ? BrowseFilter::Mode::Prefix : BrowseFilter::Mode::Substring;
    m_model->setFilter(filter);
    // A filter shows where its matches are.
    if (!filter.isEmpty() && m_model->isGrouped())
        m_tree->expandToDepth(0);
}

void MainWindow::updateCounts()
{
    const qint64 shown = m_model->shownCount();
    const qint64 total = m_model->totalCount();
    const QLocale locale;
    if (total < 0)
        m_counts->setText(tr("Counting keys..."));
    else if (m_model->filter().isEmpty())
        m_counts->setText(tr("%1 keys").arg(locale.toString(total)));
    else
        m_counts->setText(tr("%1 of %2 keys match").arg(locale.toString(shown), locale.toString(total)));
    m_panel->setKeyCount(total);
}

void MainWindow::currentChanged(const QModelIndex &current)
{
    const QByteArray key = KeyModel::keyOf(current);
    m_actions->updateEnabled();
    if (m_editor->hasKey() && m_editor->isModified() && key != m_editor->key()) {
        showStatus(tr("Save (Ctrl+S) or revert your changes to “%1” before opening another key.")
                       .arg(QString::fromUtf8(m_editor->key())));
        return;
    }
    if (!current.isValid() || current.data(KeyModel::IsFolderRole).toBool()) {
        if (!m_editor->isModified())
            m_editor->clear();
        return;
    }
    if (key != m_editor->key() || !m_editor->hasKey())
        loadEditor(key);
}

void MainWindow::loadEditor(const QByteArray &key)
{
    m_service->read<std::optional<StoredValue>>(
        this, [key](StoreBrowser &b) { return b.value(key); },
        [this, key](const std::optional<StoredValue> &value, const QString &error) {
            if (!error.isEmpty()) {
                showStatus(tr("Cannot read “%1”: %2").arg(QString::fromUtf8(key), error));
                return;
            }
            if (KeyModel::keyOf(m_tree->currentIndex()) != key || m_editor->isModified())
                return;
            m_editor->showValue(key, value);
            m_actions->updateEnabled();
        });
}

void MainWindow::keysRefreshed(const QList<QByteArray> &present, const QList<QByteArray> &removed)
{
    if (!m_editor->hasKey())
        return;
    const QByteArray key = m_editor->key();
    if (!present.contains(key) && !removed.contains(key))
        return;
    m_service->read<std::optional<StoredValue>>(
        this, [key](StoreBrowser &b) { return b.value(key); },
        [this, key](const std::optional<StoredValue> &value, const QString &error) {
            if (error.isEmpty() && m_editor->key() == key)
                m_editor->noteExternalChange(value);
        });
}

void MainWindow::fetchVisible()
{
    // The next page of the top level, or of a folder, is loaded once one of its last loaded rows
    // (or of a folder among them, open below) is in view: the model lets QTreeView ask for first
    // pages only, or it would load every key in the background.
    const int height = m_tree->viewport()->height();
    QModelIndex row = m_tree->indexAt(QPoint(4, 1));
    for (int shown = 0; row.isValid() && shown < 1000; ++shown, row = m_tree->indexBelow(row)) {
        if (m_tree->visualRect(row).top() >= height)
            break;
        for (QModelIndex child = row; child.isValid(); child = child.parent()) {
            const QModelIndex parent = child.parent();
            if (child.row() >= m_model->rowCount(parent) - 20 && m_model->hasMoreToLoad(parent))
                m_model->fetchMore(parent);
        }
    }
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    m_splitter->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray());
    m_tree->header()->restoreState(settings.value(QStringLiteral("window/keyColumns")).toByteArray());
    m_flat->setChecked(settings.value(QStringLiteral("browser/flat"), false).toBool());
    m_filterMode->setCurrentIndex(settings.value(QStringLiteral("browser/filterMode"), 0).toInt());
}

void MainWindow::saveSettings()
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("window/keyColumns"), m_tree->header()->saveState());
    settings.setValue(QStringLiteral("browser/flat"), m_flat->isChecked());
    settings.setValue(QStringLiteral("browser/filterMode"), m_filterMode->currentIndex());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_editor->isModified()) {
        const auto answer =
            QMessageBox::question(this, tr("Unsaved changes"),
                                  tr("The value of “%1” has unsaved changes. Discard them?")
                                      .arg(QString::fromUtf8(m_editor->key())),
                                  QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Discard) {
            event->ignore();
            return;
        }
    }
    saveSettings();
    event->accept();
}

} // namespace kvdesk
