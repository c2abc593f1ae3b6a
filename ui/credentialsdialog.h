#pragma once

#include "auth/authsettings.h"

#include <QDialog>

class QCheckBox;
class QLabel;
class QLineEdit;

namespace kvdesk {

// The server's credentials: which strategies are on, the API key (generate or rotate, copy),
// the Basic pair, the JWT secret or JWKS URL with issuer and audience. The caller saves them
// to the keychain and applies them to the running server.
class CredentialsDialog final : public QDialog
{
    Q_OBJECT

public:
    CredentialsDialog(const AuthSettings &current, const QString &note, QWidget *parent = nullptr);

    AuthSettings settings() const;

private:
    void validate();

    QCheckBox *m_apiKeyOn, *m_basicOn, *m_jwtOn;
    QLineEdit *m_apiKey, *m_username, *m_password, *m_secret, *m_jwks, *m_issuer, *m_audience;
    QLabel *m_error;
    QPushButton *m_save;
};

} // namespace kvdesk
