#include "credentialsdialog.h"

#include "credentials/credentialvault.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace kvdesk {

CredentialsDialog::CredentialsDialog(const AuthSettings &current, const QString &note, QWidget *parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("credentialsDialog"));
    setWindowTitle(tr("Server Credentials"));
    auto line = [this](const QString &name, const QString &text, bool secret = false) {
        auto *edit = new QLineEdit(text, this);
        edit->setObjectName(name);
        if (secret)
            edit->setEchoMode(QLineEdit::PasswordEchoOnEdit);
        QObject::connect(edit, &QLineEdit::textChanged, this, &CredentialsDialog::validate);
        return edit;
    };
    auto check = [this](const QString &name, const QString &text, bool on) {
        auto *box = new QCheckBox(text, this);
        box->setObjectName(name);
        box->setChecked(on);
        QObject::connect(box, &QCheckBox::toggled, this, &CredentialsDialog::validate);
        return box;
    };

    m_apiKeyOn = check(QStringLiteral("apiKeyOn"), tr("API key (\"Authorization: Bearer <key>\")"),
                       current.apiKeyEnabled());
    m_apiKey = line(QStringLiteral("apiKeyEdit"), current.apiKey);
    auto *generate = new QPushButton(current.apiKeyEnabled() ? tr("&Rotate") : tr("&Generate"), this);
    generate->setObjectName(QStringLiteral("generateApiKeyButton"));
    generate->setToolTip(tr("A new random key (32 bytes); the old one stops working once you save"));
    auto *copy = new QPushButton(QIcon(QStringLiteral(":/icons/copy.svg")), tr("Copy"), this);
    copy->setObjectName(QStringLiteral("copyApiKeyButton"));
    auto *keyRow = new QHBoxLayout;
    keyRow->addWidget(m_apiKey, 1);
    keyRow->addWidget(generate);
    keyRow->addWidget(copy);

    m_basicOn =
        check(QStringLiteral("basicOn"), tr("Basic (user name and password)"), current.basicEnabled());
    m_username = line(QStringLiteral("usernameEdit"), current.username);
    m_password = line(QStringLiteral("passwordEdit"), current.password, true);
    m_jwtOn = check(QStringLiteral("jwtOn"), tr("JWT (HMAC secret, or public keys from a JWKS)"),
                    current.jwtEnabled());
    m_secret = line(QStringLiteral("jwtSecretEdit"), current.jwtSecret, true);
    m_jwks = line(QStringLiteral("jwksUrlEdit"), current.jwksUrl);
    m_jwks->setPlaceholderText(QStringLiteral("https://example.com/.well-known/jwks.json"));
    m_issuer = line(QStringLiteral("jwtIssuerEdit"), current.jwtIssuer);
    m_audience = line(QStringLiteral("jwtAudienceEdit"), current.jwtAudience);

    auto *form = new QFormLayout;
    form->addRow(m_apiKeyOn);
    form->addRow(tr("Key:"), keyRow);
    form->addRow(m_basicOn);
    form->addRow(tr("User name:"), m_username);
    form->addRow(tr("Password:"), m_password);
    form->addRow(m_jwtOn);
    form->addRow(tr("Secret:"), m_secret);
    form->addRow(tr("JWKS URL:"), m_jwks);
    form->addRow(tr("Issuer (iss):"), m_issuer);
    form->addRow(tr("Audience (aud):"), m_audience);

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("credentialsError"));
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    m_save = buttons->button(QDialogButtonBox::Save);
    m_save->setObjectName(QStringLiteral("saveCredentialsButton"));
    auto *layout = new QVBoxLayout(this);
    if (!note.isEmpty()) {
        auto *noteLabel = new QLabel(note, this);
        noteLabel->setWordWrap(true);
        layout->addWidget(noteLabel);
    }
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    resize(560, 0);

    QObject::connect(generate, &QPushButton::clicked, this, [this] {
        m_apiKey->setText(CredentialVault::generateApiKey());
        m_apiKeyOn->setChecked(true);
    });
    QObject::connect(copy, &QPushButton::clicked, this,
                     [this] { QApplication::clipboard()->setText(m_apiKey->text()); });
    QObject::connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    validate();
}

AuthSettings CredentialsDialog::settings() const
{
    AuthSettings s;
    if (m_apiKeyOn->isChecked())
        s.apiKey = m_apiKey->text().trimmed();
    if (m_basicOn->isChecked()) {
        s.username = m_username->text();
        s.password = m_password->text();
    }
    if (m_jwtOn->isChecked()) {
        s.jwtSecret = m_secret->text();
        s.jwksUrl = m_jwks->text().trimmed();
        s.jwtIssuer = m_issuer->text().trimmed();
        s.jwtAudience = m_audience->text().trimmed();
    }
    return s;
}

void CredentialsDialog::validate()
{
    for (QWidget *w : {static_cast<QWidget *>(m_apiKey)})
        w->setEnabled(m_apiKeyOn->isChecked());
    for (QWidget *w : {m_username, m_password})
        w->setEnabled(m_basicOn->isChecked());
    for (QWidget *w : {m_secret, m_jwks, m_issuer, m_audience})
        w->setEnabled(m_jwtOn->isChecked());
    QString problem;
    if (m_apiKeyOn->isChecked() && m_apiKey->text().trimmed().size() < 16)
        problem = tr("An API key needs at least 16 characters (Generate makes a strong one).");
    else if (m_basicOn->isChecked() && (m_username->text().isEmpty() || m_password->text().isEmpty()))
        problem = tr("Basic needs both a user name and a password.");
    else if (m_basicOn->isChecked() && m_username->text().contains(QLatin1Char(':')))
        problem = tr("A Basic user name cannot contain ':'.");
    else if (m_jwtOn->isChecked() && m_secret->text().isEmpty() && m_jwks->text().trimmed().isEmpty())
        problem = tr("JWT needs a secret or a JWKS URL.");
    else if (m_jwtOn->isChecked() && !m_jwks->text().trimmed().isEmpty()) {
        const QUrl url(m_jwks->text().trimmed(), QUrl::StrictMode);
        if (!url.isValid() ||
            (url.scheme() != QLatin1String("https") && url.scheme() != QLatin1String("http")))
            problem = tr("The JWKS URL must be an http(s) URL.");
    }
    if (problem.isEmpty() && !settings().anyEnabled())
        problem = tr("With every strategy off, every kv and admin request is refused (401).");
    m_error->setText(problem);
    // Everything off is allowed (a warning), anything else wrong is not.
    m_save->setEnabled(problem.isEmpty() || !settings().anyEnabled());
}

} // namespace kvdesk
