#pragma once

#include <QByteArray>
#include <QList>
#include <QVarLengthArray>

#include <optional>

namespace kvdesk {

// What the framer read from a request's header block.
struct RequestHead
{
    QByteArray method;
    QByteArray target; // the request-target exactly as sent
    int minorVersion = 1;
    qint64 contentLength = 0;
    bool chunked = false;
    bool expectContinue = false;
    bool keepAlive = true;

    // The value of the first field of that name (matched without regard to case), trimmed;
    // empty when there is none. Valid while this head lives.
    QByteArrayView header(QByteArrayView lowerCaseName) const;

    // The header block as received, and where each field's name and value are in it: the fields
    // are not copied one by one.
    struct Field
    {
        int nameAt = 0;
        int nameSize = 0;
        int valueAt = 0;
        int valueSize = 0;
    };
    QByteArray block;
    QVarLengthArray<Field, 16> fields;
};

// A strict, incremental reader of HTTP/1.x requests: the connection guard feeds it every byte a
// client sends and gets back each request's head and then its body (chunks decoded). Anything
// ambiguous (bare LF, both Content-Length and chunked, oversized headers...) is refused rather
// than guessed at.
class HttpFramer final
{
public:
    struct Limits
    {
        int maxHeaderBytes = 64 * 1024;
        int maxHeaderCount = 100;
        qint64 maxBodyBytes = 26 * 1024 * 1024;
    };

    struct Violation
    {
        int status = 400;
        QByteArray message;
    };

    struct Event
    {
        enum class Type { Head, Complete, Violation };
        Type type;
        RequestHead head;    // Head
        Violation violation; // Violation
        QByteArray body;     // Complete: the body, chunks decoded, trailers dropped
    };

    explicit HttpFramer(Limits limits) : m_limits(limits) {}

    // Reads the next bytes of the stream and returns what they completed. After a violation the
    // framer reads nothing more.
    QList<Event> feed(QByteArrayView data);
    // The same, appending to events (a list the caller keeps, so that it is not allocated anew).
    void feed(QByteArrayView data, QList<Event> &events);

    // A request has started (its first byte arrived) and has not been read completely.
    bool inRequest() const { return m_state != State::Idle || !m_line.isEmpty(); }
    bool failed() const { return m_state == State::Failed; }

private:
    enum class State { Idle, Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailer, Failed };

    std::optional<Violation> parseHead(RequestHead *head) const;
    bool readHead(const char *&p, const char *end, QList<Event> &events);
    void fail(QList<Event> &events, int status, const char *message);

    Limits m_limits;
    State m_state = State::Idle;
    QByteArray m_line;      // the header block, or the current chunk-size / trailer line
    QByteArray m_body;      // the body read so far
    qint64 m_remaining = 0; // body or chunk bytes still to come
    qint64 m_bodyTotal = 0;
    int m_trailerBytes = 0;
    char m_previous = 0;
    quint32 m_lastFour = 0; // the head's last four bytes, to see its blank line arrive
};

} // namespace kvdesk
