#pragma once

#include <QMainWindow>
#include <QTimer>

class QComboBox;
class QDockWidget;
class QLabel;
class QLineEdit;
class QSplitter;
class QTreeView;

namespace kvdesk {

class Clock;
class CredentialVault;
class KeyActions;
class KeyModel;
class KvServer;
class ServerPanel;
class StoreService;
class ValueEditor;

// The desktop window: the key browser and the value editor side by side, the server panel
// docked below, every action in the menus with its shortcut. A second client of the store that
// the HTTP server uses, told of every change by the store's signal.
class MainWindow final : public QMainWindow
{
    Q_OBJECT

public:
    // vault: where the server's credentials are kept (none: edits apply to this session only).
    MainWindow(KvServer &server, const Clock &clock, CredentialVault *vault = nullptr,
               QWidget *parent = nullptr);
    ~MainWindow() override;

    KeyModel &keyModel() { return *m_model; }
    KeyActions &actions() { return *m_actions; }
    ValueEditor &editor() { return *m_editor; }
    QTreeView &tree() { return *m_tree; }
    ServerPanel &serverPanel() { return *m_panel; }

Q_SIGNALS:
    // File > Open PostgreSQL Database chose a database (its URL, with the password): kvdesk
    // starts again on it (guimain.cpp).
    void reopenRequested(const QString &database);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
    void currentChanged(const QModelIndex &current);
    void loadEditor(const QByteArray &key);
    void keysRefreshed(const QList<QByteArray> &present, const QList<QByteArray> &removed);
    void applyFilter();
    void updateCounts();
    void fetchVisible();
    void restoreSettings();
    void saveSettings();
    void showStatus(const QString &message);
    void openTransfer(bool importing);
    void openDatabase();

    KvServer &m_server;
    const Clock &m_clock;
    CredentialVault *m_vault;
    StoreService *m_service;
    KeyModel *m_model;
    QTreeView *m_tree;
    QLineEdit *m_filter;
    QComboBox *m_filterMode;
    QAction *m_flat;
    ValueEditor *m_editor;
    ServerPanel *m_panel;
    QDockWidget *m_dock;
    QSplitter *m_splitter;
    KeyActions *m_actions;
    QLabel *m_counts;
    QLabel *m_busy;
    QTimer m_filterTimer;
    QTimer m_tick;
};

} // namespace kvdesk
