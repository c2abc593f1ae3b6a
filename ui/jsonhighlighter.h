#pragma once

#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace kvdesk {

// Colours JSON text: member names, strings, numbers, literals and punctuation. JSON strings
// never span lines, so each line is coloured on its own.
class JsonHighlighter final : public QSyntaxHighlighter
{
    Q_OBJECT

public:
    explicit JsonHighlighter(QTextDocument *document);

protected:
    void highlightBlock(const QString &text) override;

private:
    QTextCharFormat m_name, m_string, m_number, m_literal, m_punctuation;
};

} // namespace kvdesk
