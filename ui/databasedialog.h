#pragma once

#include "store/postgresoptions.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace kvdesk {

class SecretStore;

// File > Open PostgreSQL Database: where the database is and who connects, the password kept in
// the OS keychain (under "postgres:" and the URL without the password, where kvdesk looks for it
// when --db names a PostgreSQL database without one). On Open it emits the database's full URL;
// the window reopens on it.
class DatabaseDialog final : public QDialog
{
    Q_OBJECT

public:
    // secrets: the keychain, or nullptr when none is in use (the password is then not kept).
    DatabaseDialog(SecretStore *secrets, QWidget *parent = nullptr);

    PostgresOptions options() const;

Q_SIGNALS:
    void openRequested(const QString &database);

private:
    void validate();
    void submit();

    SecretStore *m_secrets;
    QLineEdit *m_host, *m_database, *m_user, *m_password;
    QSpinBox *m_port;
    QComboBox *m_ssl;
    QCheckBox *m_keep;
    QLabel *m_error;
    QPushButton *m_open;
};

} // namespace kvdesk
