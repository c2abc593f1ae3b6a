#include "valueeditor.h"

#include "displayformat.h"
#include "jsonhighlighter.h"
#include "jsontext.h"
#include "keymodel.h"
#include "store/clock.h"
#include "util/jsonscanner.h"

#include <QDateTime>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace kvdesk {

ValueEditor::ValueEditor(const Clock &clock, QWidget *parent) : QWidget(parent), m_clock(clock)
{
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("valueTitle"));
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont bold = m_title->font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() * 1.15);
    m_title->setFont(bold);
    m_details = new QLabel(this);
    m_details->setObjectName(QStringLiteral("valueDetails"));
    m_banner = new QLabel(this);
    m_banner->setObjectName(QStringLiteral("valueBanner"));
    m_banner->setWordWrap(true);
    m_banner->setStyleSheet(QStringLiteral("QLabel { background: #fff4ce; color: #5c4400; padding: 6px; "
                                           "border: 1px solid #e0c060; border-radius: 3px; }"));
    m_banner->hide();
    m_edit = new QPlainTextEdit(this);
    m_edit->setObjectName(QStringLiteral("valueEdit"));
    m_edit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_edit->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_edit->setTabChangesFocus(false);
    new JsonHighlighter(m_edit->document());
    m_validation = new QLabel(this);
    m_validation->setObjectName(QStringLiteral("validationLabel"));
    m_save = new QPushButton(QIcon(QStringLiteral(":/icons/save.svg")), tr("&Save"), this);
    m_save->setObjectName(QStringLiteral("saveButton"));
    m_save->setToolTip(tr("Save the value (Ctrl+S)"));
    m_revert = new QPushButton(QIcon(QStringLiteral(":/icons/revert.svg")), tr("Re&vert"), this);
    m_revert->setObjectName(QStringLiteral("revertButton"));

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_validation, 1);
    buttons->addWidget(m_revert);
    buttons->addWidget(m_save);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_title);
    layout->addWidget(m_details);
    layout->addWidget(m_banner);
    layout->addWidget(m_edit, 1);
    layout->addLayout(buttons);

    QObject::connect(m_edit, &QPlainTextEdit::textChanged, this, &ValueEditor::validate);
    QObject::connect(m_save, &QPushButton::clicked, this, &ValueEditor::saveRequested);
    QObject::connect(m_revert, &QPushButton::clicked, this, &ValueEditor::revert);
    clear();
}

void ValueEditor::clear()
{
    m_hasKey = false;
    m_key.clear();
    m_value.reset();
    m_originalText.clear();
    m_banner->hide();
    m_edit->setPlainText(QString());
    m_edit->setPlaceholderText(tr("Select a key to see its value."));
    m_edit->setReadOnly(true);
    updateHeader();
    validate();
}

void ValueEditor::showValue(const QByteArray &key, const std::optional<StoredValue> &value)
{
    m_hasKey = true;
    m_key = key;
    m_value = value;
    m_banner->hide();
    m_edit->setReadOnly(false);
    m_edit->setPlaceholderText(value ? QString()
                                     : tr("This key does not exist (any more). Type a value and "
                                          "save to create it."));
    m_originalText = value ? QString::fromUtf8(JsonText::pretty(value->json)) : QString();
    m_edit->setPlainText(m_originalText);
    updateHeader();
    validate();
}

void ValueEditor::noteExternalChange(const std::optional<StoredValue> &value)
{
    if (!m_hasKey)
        return;
    if (value && m_value && value->etag == m_value->etag)
        return;
    if (!isModified()) {
        showValue(m_key, value);
        showBanner(value ? tr("This value was just changed elsewhere; showing the new value.")
                         : tr("This key was just deleted or expired elsewhere."));
        return;
    }
    showBanner(value
                   ? tr("This key was changed elsewhere since you opened it. Saving will ask which "
                        "version to keep.")
                   : tr("This key was deleted elsewhere since you opened it. Saving will create it again."));
}

void ValueEditor::showBanner(const QString &text)
{
    m_banner->setText(text);
    m_banner->show();
}

void ValueEditor::markSaved(const QString &text, const QByteArray &json, const QByteArray &etag,
                            std::optional<qint64> expiresAtMs)
{
    StoredValue v;
    v.json = json;
    v.etag = etag;
    v.expiresAtMs = expiresAtMs;
    v.updatedAtMs = m_clock.nowMs();
    m_value = v;
    m_originalText = text;
    m_banner->hide();
    updateHeader();
    validate();
}

void ValueEditor::revert()
{
    m_edit->setPlainText(m_originalText);
    m_banner->hide();
}

bool ValueEditor::isModified() const
{
    return m_hasKey && m_edit->toPlainText() != m_originalText;
}

QByteArray ValueEditor::editedJson() const
{
    return JsonText::compact(m_edit->toPlainText().toUtf8());
}

QString ValueEditor::editedText() const
{
    return m_edit->toPlainText();
}

void ValueEditor::setEditedText(const QString &text)
{
    m_edit->setPlainText(text);
}

void ValueEditor::validate()
{
    const QByteArray text = m_edit->toPlainText().toUtf8();
    JsonScanner::Error error;
    m_valid = !m_hasKey || JsonScanner::validate(text, &error);
    if (!m_hasKey) {
        m_validation->clear();
    } else if (m_valid) {
        m_validation->setText(
            tr("Valid JSON: %1, %2")
                .arg(JsonText::typeName(text), DisplayFormat::formatSize(JsonText::compact(text).size())));
        m_validation->setStyleSheet(QString());
    } else {
        m_validation->setText(
            tr("Line %1, column %2: %3").arg(error.line).arg(error.column).arg(error.message));
        m_validation->setStyleSheet(QStringLiteral("color: #b00020;"));
    }
    const bool modified = isModified();
    m_save->setEnabled(m_hasKey && m_valid && (modified || !m_value));
    m_revert->setEnabled(modified);
    const int state = int(modified) | int(m_valid) << 1 | int(m_hasKey) << 2 | int(m_value.has_value()) << 3;
    if (state != m_lastState) {
        m_lastState = state;
        Q_EMIT stateChanged();
    }
}

void ValueEditor::refreshTtl()
{
    if (m_value && m_value->expiresAtMs)
        updateHeader();
}

void ValueEditor::updateHeader()
{
    if (!m_hasKey) {
        m_title->setText(tr("No key selected"));
        m_details->clear();
        return;
    }
    m_title->setText(QString::fromUtf8(m_key));
    if (!m_value) {
        m_details->setText(tr("New key (not saved yet)"));
        return;
    }
    const QString ttl =
        m_value->expiresAtMs
            ? tr("expires in %1").arg(DisplayFormat::formatTtl(*m_value->expiresAtMs - m_clock.nowMs()))
            : tr("never expires");
    m_details->setText(tr("%1 · %2 · %3 · updated %4")
                           .arg(JsonText::typeName(m_value->json),
                                DisplayFormat::formatSize(m_value->json.size()), ttl,
                                QLocale().toString(QDateTime::fromMSecsSinceEpoch(m_value->updatedAtMs),
                                                   QLocale::ShortFormat)));
}

} // namespace kvdesk
