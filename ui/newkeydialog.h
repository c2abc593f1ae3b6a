#pragma once

#include <QDialog>

#include <optional>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace kvdesk {

// Asks for a new key: its name, a JSON value (validated as typed) and an optional TTL.
class NewKeyDialog final : public QDialog
{
    Q_OBJECT

public:
    explicit NewKeyDialog(const QString &prefix, QWidget *parent = nullptr);

    QByteArray key() const;
    QByteArray json() const;
    std::optional<qint64> ttlSeconds() const;

private:
    void validate();

    QLineEdit *m_key;
    QPlainTextEdit *m_value;
    QSpinBox *m_ttl;
    QLabel *m_error;
    QDialogButtonBox *m_buttons;
};

} // namespace kvdesk
