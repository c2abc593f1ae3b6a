#pragma once

#include <QTimer>
#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QTableView;

namespace kvdesk {

class CredentialVault;
class KvServer;
struct AuthSettings;
class RateChart;
class RequestLogModel;

// The embedded server at a glance: its URL, state, listening address (applied by restarting the
// listener), how to authenticate, the store's size and location, the live request log and a
// chart of the request rate.
class ServerPanel final : public QWidget
{
    Q_OBJECT

public:
    // vault: where credentials are kept (none: they apply to this session only).
    ServerPanel(KvServer &server, CredentialVault *vault, QWidget *parent = nullptr);

    RequestLogModel &logModel() { return *m_log; }
    RateChart &chart() { return *m_chart; }
    void setKeyCount(qint64 count);
    // Starts the listener, or stops it.
    void toggleRunning();
    void copyUrl();
    void showError(const QString &message);
    // With no credential at all: generates an API key, applies it and keeps it in the keychain
    // (or, without a keychain, for this session only, saying so). Returns whether it did.
    bool ensureCredentials();
    // The credentials dialog; saving keeps them in the keychain and applies them at once.
    void editCredentials();
    void copyApiKey();
    // How a client authenticates with the current credentials, as curl options (empty: none needed).
    QString curlAuthOptions() const;

Q_SIGNALS:
    void statusMessage(const QString &message);

private:
    void updateState();
    void updateDatabase();
    void applyListenAddress();
    void startListening();
    void keepCredentials(const AuthSettings &settings, const QString &doneMessage);
    void applyCredentials(const AuthSettings &settings);

    KvServer &m_server;
    RequestLogModel *m_log;
    QSortFilterProxyModel *m_logFilter;
    RateChart *m_chart;
    QLineEdit *m_url;
    QLabel *m_state;
    QPushButton *m_startStop;
    QLineEdit *m_host;
    QSpinBox *m_port;
    QLabel *m_keys;
    QLabel *m_database;
    QLabel *m_auth;
    QLabel *m_error;
    QLabel *m_keychain;
    CredentialVault *m_vault;
    QTableView *m_logView;
    QTimer m_databaseTimer;
};

} // namespace kvdesk
