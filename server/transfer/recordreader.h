#pragma once

#include "records.h"

#include <QIODevice>

namespace kvdesk {

// Reads the records of a dump as a stream, whatever its size: NDJSON a line at a time, the
// wrangler array an element at a time, the JSON object a member at a time. The format is
// recognised from the content. A bad record is reported with its line and skipped; a broken
// structure ends the reading.
class RecordReader final
{
public:
    enum class Status { Record, Invalid, End, Broken };

    RecordReader(QIODevice &input, qint64 now);

    // The next record, or why there is none.
    Status next(DumpRecord *record, QString *error, qint64 *line);
    DumpFormat format() const { return m_format; }
    qint64 bytesRead() const { return m_consumedBefore + m_pos; }

private:
    bool fill();
    int peek();
    void skipSpace();
    std::optional<QByteArray> takeValue(QString *error);
    Status detect(QString *error);
    Status fromMembers(QByteArrayView object, DumpRecord *record, QString *error);
    void compact();

    QIODevice &m_input;
    qint64 m_now;
    QByteArray m_buffer;
    qsizetype m_pos = 0;
    qint64 m_consumedBefore = 0;
    qint64 m_line = 1;
    bool m_eof = false;
    bool m_detected = false;
    bool m_done = false;
    bool m_firstElement = true;
    DumpFormat m_format = DumpFormat::Ndjson;
};

} // namespace kvdesk
