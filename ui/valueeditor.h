#pragma once

#include "store/storeconnection.h"

#include <QWidget>

#include <optional>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace kvdesk {

class Clock;

// The selected key's value: pretty-printed, highlighted and validated as the user types, with
// its type, size, TTL and last update. Remembers the ETag it was loaded with, so that saving can
// refuse to overwrite a change made meanwhile; tells the user when the key changes underneath.
class ValueEditor final : public QWidget
{
    Q_OBJECT

public:
    explicit ValueEditor(const Clock &clock, QWidget *parent = nullptr);

    // Shows key's value as stored (value empty: the key does not exist, or no key is selected).
    void showValue(const QByteArray &key, const std::optional<StoredValue> &value);
    void clear();
    // The key changed in the store: reload when unmodified, else say so and keep the user's text.
    void noteExternalChange(const std::optional<StoredValue> &value);
    // text (what the editor showed when the save began) was saved as json with this ETag.
    void markSaved(const QString &text, const QByteArray &json, const QByteArray &etag,
                   std::optional<qint64> expiresAtMs);
    void revert();

    QByteArray key() const { return m_key; }
    bool hasKey() const { return m_hasKey; }
    bool exists() const { return m_value.has_value(); }
    const std::optional<StoredValue> &loadedValue() const { return m_value; }
    bool isModified() const;
    bool isValid() const { return m_valid; }
    // The edited text, compacted; only meaningful when isValid().
    QByteArray editedJson() const;
    QString editedText() const;
    void setEditedText(const QString &text);

    void refreshTtl();

Q_SIGNALS:
    void saveRequested();
    // Whether it is modified, valid, or shows a key changed.
    void stateChanged();

private:
    void validate();
    void updateHeader();
    void showBanner(const QString &text);

    const Clock &m_clock;
    QByteArray m_key;
    bool m_hasKey = false;
    std::optional<StoredValue> m_value;
    QString m_originalText;
    bool m_valid = true;
    int m_lastState = -1;
    QLabel *m_title;
    QLabel *m_details;
    QLabel *m_banner;
    QPlainTextEdit *m_edit;
    QLabel *m_validation;
    QPushButton *m_save;
    QPushButton *m_revert;
};

} // namespace kvdesk
