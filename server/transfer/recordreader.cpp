#include "recordreader.h"

#include "http/percentcodec.h"
#include "util/jsonscanner.h"
#include "util/jsontext.h"

#include <QCoreApplication>

#include <cmath>

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::RecordReader)
};

constexpr qsizetype chunkBytes = 1 << 20;
constexpr qsizetype maxRecordBytes = 64 << 20;

bool isSpace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A key as the API accepts it.
QString keyProblem(const QByteArray &key)
{
    if (key.isEmpty())
        return I18n::tr("the key is empty");
    if (key.size() > 512)
        return I18n::tr("the key is longer than 512 bytes");
    if (!PercentCodec::isValidUtf8(key))
        return I18n::tr("the key is not valid UTF-8");
    return {};
}

} // namespace

RecordReader::RecordReader(QIODevice &input, qint64 now) : m_input(input), m_now(now) {}

void RecordReader::compact()
{
    if (m_pos > chunkBytes) {
        m_consumedBefore += m_pos;
        m_buffer.remove(0, m_pos);
        m_pos = 0;
    }
}

bool RecordReader::fill()
{
    if (m_eof)
        return false;
    const QByteArray more = m_input.read(chunkBytes);
    if (more.isEmpty() && (m_input.atEnd() || !m_input.waitForReadyRead(30000))) {
        m_eof = true;
        return false;
    }
    m_buffer += more;
    return true;
}

int RecordReader::peek()
{
    while (m_pos >= m_buffer.size()) {
        if (!fill())
            return -1;
    }
    return static_cast<unsigned char>(m_buffer[m_pos]);
}

void RecordReader::skipSpace()
{
    for (int c = peek(); isSpace(c); c = peek()) {
        if (c == '\n')
            ++m_line;
        ++m_pos;
    }
}

std::optional<QByteArray> RecordReader::takeValue(QString *error)
{
    // Finds where the value that starts here ends (strings and nesting followed, not validated).
    const qsizetype start = m_pos;
    int depth = 0;
    bool inString = false;
    qsizetype i = m_pos;
    for (;;) {
        if (i >= m_buffer.size() && !fill()) {
            if (depth == 0 && !inString && i > start)
                break;
            *error = I18n::tr("the input ends inside a value");
            return std::nullopt;
        }
        if (i - start > maxRecordBytes) {
            *error = I18n::tr("a value is larger than 64 MiB");
            return std::nullopt;
        }
        const char c = m_buffer[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
            else if (c == '\n')
                ++m_line;
            ++i;
            if (!inString && depth == 0)
                break;
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break; // a scalar ended by its container
            if (--depth == 0) {
                ++i;
                break;
            }
        } else if (depth == 0 && (c == ',' || c == ':' || isSpace(c))) {
            break;
        } else if (c == '\n') {
            ++m_line;
        }
        ++i;
    }
    m_pos = i;
    return m_buffer.mid(start, i - start);
}

RecordReader::Status RecordReader::detect(QString *error)
{
    m_detected = true;
    if (peek() == 0xEF) // a UTF-8 byte order mark
        m_pos += 3;
    skipSpace();
    const int c = peek();
    if (c == -1) {
        m_done = true;
        return Status::End;
    }
    if (c == '[') {
        m_format = DumpFormat::Wrangler;
        ++m_pos;
        return Status::Record;
    }
    if (c != '{') {
        *error = I18n::tr("the input is neither NDJSON, a JSON array nor a JSON object");
        m_done = true;
        return Status::Broken;
    }
    // NDJSON when the first line alone is an object with a string "key" and a "value".
    qsizetype end = m_buffer.indexOf('\n', m_pos);
    while (end < 0 && m_buffer.size() - m_pos < maxRecordBytes && fill())
        end = m_buffer.indexOf('\n', m_pos);
    const QByteArrayView firstLine =
        QByteArrayView(m_buffer).sliced(m_pos, (end < 0 ? m_buffer.size() : end) - m_pos);
    const auto members = JsonScanner::objectMembers(firstLine);
    bool hasKey = false;
    bool hasValue = false;
    if (members) {
        for (const auto &m : *members) {
            hasKey = hasKey || (m.name == QLatin1String("key") && m.value.startsWith('"'));
            hasValue = hasValue || m.name == QLatin1String("value");
        }
    }
    if (hasKey && hasValue) {
        m_format = DumpFormat::Ndjson;
    } else {
        m_format = DumpFormat::Object;
        ++m_pos;
    }
    return Status::Record;
}

RecordReader::Status RecordReader::fromMembers(QByteArrayView object, DumpRecord *record, QString *error)
{
    JsonScanner::Error jsonError;
    const auto members = JsonScanner::objectMembers(object, &jsonError);
    if (!members) {
        *error = I18n::tr("not a JSON object: %1").arg(jsonError.message);
        return Status::Invalid;
    }
    std::optional<QByteArray> key;
    std::optional<QByteArrayView> value;
    std::optional<double> expiration;
    std::optional<double> ttl;
    bool base64 = false;
    for (const auto &m : *members) {
        if (m.name == QLatin1String("key"))
            key = JsonText::unquote(m.value);
        else if (m.name == QLatin1String("value"))
            value = m.value;
        else if (m.name == QLatin1String("expiration") || m.name == QLatin1String("expiration_ttl")) {
            bool ok = false;
            const double n = m.value.toByteArray().toDouble(&ok);
            if (!ok || !std::isfinite(n) || n <= 0) {
                *error = I18n::tr("\"%1\" must be a positive number of seconds").arg(m.name);
                return Status::Invalid;
            }
            (m.name == QLatin1String("expiration") ? expiration : ttl) = n;
        } else if (m.name == QLatin1String("base64")) {
            base64 = m.value == "true";
        }
    }
    if (!key) {
        *error = I18n::tr("\"key\" is missing or not a string");
        return Status::Invalid;
    }
    if (!value) {
        *error = I18n::tr("\"value\" is missing");
        return Status::Invalid;
    }
    record->key = *key;
    if (m_format == DumpFormat::Wrangler) {
        // Wrangler's values are strings: JSON text is stored as that JSON, any other text as a
        // JSON string.
        auto text = JsonText::unquote(*value);
        if (!text) {
            *error = I18n::tr("\"value\" must be a string in this format");
            return Status::Invalid;
        }
        if (base64)
            text = QByteArray::fromBase64(*text);
        record->json = JsonScanner::validate(*text) ? text->trimmed() : JsonText::quote(*text);
    } else {
        record->json = value->toByteArray();
    }
    if (expiration)
        record->expiresAtMs = qint64(*expiration * 1000);
    else if (ttl)
        record->expiresAtMs = m_now + qint64(*ttl * 1000);
    return Status::Record;
}

RecordReader::Status RecordReader::next(DumpRecord *record, QString *error, qint64 *line)
{
    *record = DumpRecord{};
    error->clear();
    if (m_done)
        return Status::End;
    if (!m_detected) {
        const Status s = detect(error);
        if (s != Status::Record)
            return s;
    }
    compact();
    Status status = Status::Record;
    if (m_format == DumpFormat::Ndjson) {
        skipSpace();
        *line = m_line;
        if (peek() == -1) {
            m_done = true;
            return Status::End;
        }
        qsizetype end = m_buffer.indexOf('\n', m_pos);
        while (end < 0 && fill())
            end = m_buffer.indexOf('\n', m_pos);
        if (end < 0)
            end = m_buffer.size();
        if (end - m_pos > maxRecordBytes) {
            *error = I18n::tr("a line is longer than 64 MiB");
            m_done = true;
            return Status::Broken;
        }
        const QByteArray text = m_buffer.mid(m_pos, end - m_pos);
        m_pos = end;
        status = fromMembers(text, record, error);
    } else {
        skipSpace();
        const int close = m_format == DumpFormat::Wrangler ? ']' : '}';
        if (peek() == close) {
            ++m_pos;
            skipSpace();
            m_done = true;
            if (peek() != -1) {
                *error = I18n::tr("unexpected text after the end of the dump");
                return Status::Broken;
            }
            return Status::End;
        }
        if (!m_firstElement) {
            if (peek() != ',') {
                *line = m_line;
                *error = I18n::tr("expected ',' or '%1'").arg(QChar(close));
                m_done = true;
                return Status::Broken;
            }
            ++m_pos;
            skipSpace();
        }
        m_firstElement = false;
        *line = m_line;
        if (m_format == DumpFormat::Wrangler) {
            const auto element = takeValue(error);
            if (!element) {
                m_done = true;
                return Status::Broken;
            }
            status = fromMembers(*element, record, error);
        } else {
            const auto name = peek() == '"' ? takeValue(error) : std::nullopt;
            const auto key = name ? JsonText::unquote(*name) : std::nullopt;
            skipSpace();
            if (!key || peek() != ':') {
                if (error->isEmpty())
                    *error = I18n::tr("expected a member name and ':'");
                m_done = true;
                return Status::Broken;
            }
            ++m_pos;
            skipSpace();
            const auto value = takeValue(error);
            if (!value) {
                m_done = true;
                return Status::Broken;
            }
            record->key = *key;
            record->json = *value;
        }
    }
    record->line = *line;
    if (status != Status::Record)
        return status;
    JsonScanner::Error jsonError;
    if (const QString problem = keyProblem(record->key); !problem.isEmpty()) {
        *error = problem;
        return Status::Invalid;
    }
    if (!JsonScanner::validate(record->json, &jsonError)) {
        *error = I18n::tr("the value is not valid JSON: %1").arg(jsonError.message);
        return Status::Invalid;
    }
    if (record->json.trimmed() == "null") {
        *error = I18n::tr("the value is null (delete the key instead)");
        return Status::Invalid;
    }
    return Status::Record;
}

} // namespace kvdesk
