#include "databasedialog.h"

#include "credentials/secretstore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QUrl>
#include <QUrlQuery>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace kvdesk {

DatabaseDialog::DatabaseDialog(SecretStore *secrets, QWidget *parent) : QDialog(parent), m_secrets(secrets)
{
    setObjectName(u"databaseDialog"_s);
    setWindowTitle(tr("Open PostgreSQL Database"));
    m_host = new QLineEdit(u"localhost"_s, this);
    m_host->setObjectName(u"databaseHost"_s);
    m_port = new QSpinBox(this);
    m_port->setObjectName(u"databasePort"_s);
    m_port->setRange(1, 65535);
    m_port->setValue(5432);
    m_database = new QLineEdit(u"kvdesk"_s, this);
    m_database->setObjectName(u"databaseName"_s);
    m_user = new QLineEdit(u"kvdesk"_s, this);
    m_user->setObjectName(u"databaseUser"_s);
    m_password = new QLineEdit(this);
    m_password->setObjectName(u"databasePassword"_s);
    m_password->setEchoMode(QLineEdit::Password);
    m_ssl = new QComboBox(this);
    m_ssl->setObjectName(u"databaseSsl"_s);
    m_ssl->addItem(tr("Prefer (encrypted when the server offers it)"), u"prefer"_s);
    m_ssl->addItem(tr("Require"), u"require"_s);
    m_ssl->addItem(tr("Disable"), u"disable"_s);
    m_keep = new QCheckBox(tr("Keep the password in the OS keychain"), this);
    m_keep->setObjectName(u"databaseKeepPassword"_s);
    m_keep->setChecked(m_secrets != nullptr);
    m_keep->setEnabled(m_secrets != nullptr);
    m_error = new QLabel(this);
    m_error->setObjectName(u"databaseError"_s);
    m_error->setWordWrap(true);

    auto *form = new QFormLayout;
    form->addRow(tr("&Host:"), m_host);
    form->addRow(tr("&Port:"), m_port);
    form->addRow(tr("&Database:"), m_database);
    form->addRow(tr("&User:"), m_user);
    form->addRow(tr("Pass&word:"), m_password);
    form->addRow(tr("&Encryption:"), m_ssl);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_open = buttons->button(QDialogButtonBox::Ok);
    m_open->setText(tr("&Open"));
    m_open->setObjectName(u"databaseOpen"_s);
    auto *layout = new QVBoxLayout(this);
    auto *note =
        new QLabel(tr("KV Desk reopens on this database; several KV Desk servers can share it."), this);
    note->setWordWrap(true);
    layout->addWidget(note);
    layout->addLayout(form);
    layout->addWidget(m_keep);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    for (QLineEdit *edit : {m_host, m_database, m_user})
        QObject::connect(edit, &QLineEdit::textChanged, this, &DatabaseDialog::validate);
    QObject::connect(buttons, &QDialogButtonBox::accepted, this, &DatabaseDialog::submit);
    QObject::connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    validate();
}

PostgresOptions DatabaseDialog::options() const
{
    PostgresOptions o;
    o.host = m_host->text().trimmed();
    o.port = m_port->value();
    o.database = m_database->text().trimmed();
    o.user = m_user->text().trimmed();
    o.password = m_password->text();
    o.connectOptions = u"sslmode="_s + m_ssl->currentData().toString();
    return o;
}

void DatabaseDialog::validate()
{
    QString problem;
    if (m_host->text().trimmed().isEmpty())
        problem = tr("Name the server's host.");
    else if (m_database->text().trimmed().isEmpty() || m_database->text().contains(u'/'))
        problem = tr("Name the database.");
    else if (m_user->text().trimmed().isEmpty())
        problem = tr("Name the user.");
    m_error->setText(problem);
    m_open->setEnabled(problem.isEmpty());
}

void DatabaseDialog::submit()
{
    const PostgresOptions o = options();
    QUrl url(o.displayUrl());
    url.setQuery(QUrlQuery{{u"sslmode"_s, m_ssl->currentData().toString()}});
    const QString database = PostgresOptions::withPassword(url.toString(), o.password);
    if (!m_keep->isChecked() || !m_secrets || o.password.isEmpty()) {
        Q_EMIT openRequested(database);
        accept();
        return;
    }
    m_open->setEnabled(false);
    m_error->setText(tr("Saving the password to the keychain..."));
    m_secrets->write(o.keychainKey(), o.password.toUtf8(), this,
                     [this, database](const SecretResult &result) {
                         if (!result.ok()) {
                             m_error->setText(result.message + u' ' +
                                              tr("Open again to use the password without keeping it."));
                             m_keep->setChecked(false);
                             m_open->setEnabled(true);
                             return;
                         }
                         Q_EMIT openRequested(database);
                         accept();
                     });
}

} // namespace kvdesk
