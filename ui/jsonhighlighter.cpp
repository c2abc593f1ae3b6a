#include "jsonhighlighter.h"

namespace kvdesk {

JsonHighlighter::JsonHighlighter(QTextDocument *document) : QSyntaxHighlighter(document)
{
    m_name.setForeground(QColor(0x1f, 0x5f, 0xa8));
    m_name.setFontWeight(QFont::DemiBold);
    m_string.setForeground(QColor(0x2e, 0x7d, 0x32));
    m_number.setForeground(QColor(0xb2, 0x4a, 0x00));
    m_literal.setForeground(QColor(0x8e, 0x24, 0xaa));
    m_punctuation.setForeground(QColor(0x60, 0x60, 0x60));
}

void JsonHighlighter::highlightBlock(const QString &text)
{
    const qsizetype n = text.size();
    for (qsizetype i = 0; i < n;) {
        const QChar c = text[i];
        if (c == u'"') {
            qsizetype j = i + 1;
            while (j < n && text[j] != u'"')
                j += text[j] == u'\\' ? 2 : 1;
            j = std::min(j + 1, n);
            qsizetype k = j;
            while (k < n && text[k].isSpace())
                ++k;
            const bool isName = k < n && text[k] == u':';
            setFormat(int(i), int(j - i), isName ? m_name : m_string);
            i = j;
        } else if (c == u'-' || c.isDigit()) {
            qsizetype j = i + 1;
            while (j < n && (text[j].isDigit() || QStringView(u".eE+-").contains(text[j])))
                ++j;
            setFormat(int(i), int(j - i), m_number);
            i = j;
        } else if (c.isLetter()) {
            qsizetype j = i + 1;
            while (j < n && text[j].isLetter())
                ++j;
            setFormat(int(i), int(j - i), m_literal);
            i = j;
        } else {
            if (QStringView(u"{}[],:").contains(c))
                setFormat(int(i), 1, m_punctuation);
            ++i;
        }
    }
}

} // namespace kvdesk
