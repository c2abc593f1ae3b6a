#include "newkeydialog.h"

#include "jsonhighlighter.h"
#include "jsontext.h"
#include "util/jsonscanner.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace kvdesk {

NewKeyDialog::NewKeyDialog(const QString &prefix, QWidget *parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("newKeyDialog"));
    setWindowTitle(tr("New Key"));
    m_key = new QLineEdit(prefix, this);
    m_key->setObjectName(QStringLiteral("newKeyName"));
    m_key->setPlaceholderText(tr("for example users/42"));
    m_value = new QPlainTextEdit(this);
    m_value->setObjectName(QStringLiteral("newKeyValue"));
    m_value->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_value->setPlaceholderText(tr("Any JSON value, for example {\"name\": \"Ada\"}"));
    new JsonHighlighter(m_value->document());
    m_ttl = new QSpinBox(this);
    m_ttl->setObjectName(QStringLiteral("newKeyTtl"));
    m_ttl->setRange(0, 10 * 365 * 86400);
    m_ttl->setSpecialValueText(tr("never expires"));
    m_ttl->setSuffix(tr(" s"));
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("newKeyError"));
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Create"));
    m_buttons->button(QDialogButtonBox::Ok)->setObjectName(QStringLiteral("newKeyCreate"));

    auto *form = new QFormLayout;
    form->addRow(tr("&Key:"), m_key);
    form->addRow(tr("&Value:"), m_value);
    form->addRow(tr("&Expires after:"), m_ttl);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_buttons);
    resize(520, 360);

    QObject::connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    QObject::connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    QObject::connect(m_key, &QLineEdit::textChanged, this, &NewKeyDialog::validate);
    QObject::connect(m_value, &QPlainTextEdit::textChanged, this, &NewKeyDialog::validate);
    validate();
}

QByteArray NewKeyDialog::key() const
{
    return m_key->text().toUtf8();
}

QByteArray NewKeyDialog::json() const
{
    return JsonText::compact(m_value->toPlainText().toUtf8());
}

std::optional<qint64> NewKeyDialog::ttlSeconds() const
{
    return m_ttl->value() > 0 ? std::optional<qint64>(m_ttl->value()) : std::nullopt;
}

void NewKeyDialog::validate()
{
    QString problem;
    const QByteArray key = m_key->text().toUtf8();
    JsonScanner::Error error;
    if (key.isEmpty())
        problem = tr("Type a key.");
    else if (key.size() > 512)
        problem = tr("A key is at most 512 bytes long (this one is %1).").arg(key.size());
    else if (m_value->toPlainText().trimmed().isEmpty())
        problem = tr("Type a JSON value.");
    else if (!JsonScanner::validate(m_value->toPlainText().toUtf8(), &error))
        problem = tr("Line %1, column %2: %3").arg(error.line).arg(error.column).arg(error.message);
    m_error->setText(problem);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(problem.isEmpty());
}

} // namespace kvdesk
