#pragma once

#include "reply.h"
#include "request.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace kvdesk {

class Clock;
class ReplyChannel;
class StoreConnection;
struct StoredValue;
class WriteBatcher;
struct WriteRequest;
struct WriteResult;

// The kv endpoints: get, put, delete and list keys, with TTLs and ETag preconditions. Reads are
// gathered where the store asks for it (StoreConnection::gathersReads): the reads that a turn of
// this thread's event loop brought are looked up together once it is over, in one getAll() (for
// PostgreSQL, statements of many keys; for SQLite, the read cache's lookups overlapped). The turn's
// end is signalled by the owner (endTurn()) or, failing that, a posted event through channel.
// Otherwise reads are answered at once from this thread's connection. Writes go through the
// group-commit writer, which makes each answer once its write has committed; the answer is sent on
// this thread (through channel).
class KvController final
{
public:
    using Done = std::function<void(Reply)>;

    KvController(StoreConnection &store, WriteBatcher &writer, std::shared_ptr<ReplyChannel> channel,
                 const Clock &clock, qint64 maxValueBytes);

    // rest: the raw path after the kv prefix ("", "/" or "/<percent-encoded key>"). Calls done now
    // or later; throws ApiError for bad requests.
    void handle(const Request &request, QByteArrayView rest, const Done &done);

    // Where reads are gathered, the owner may promise to call endTurn() as each turn of this
    // thread's event loop begins and before it waits (QAbstractEventDispatcher's awake and
    // aboutToBlock): the reads gathered meanwhile are then answered there, without an event posted
    // for them. Reads that answering lets through (pipelined after them) are answered too.
    void setTurnsEndedByOwner(bool on) { m_turnsEndedByOwner = on; }
    bool hasGatheredReads() const { return !m_pendingReads.empty(); }
    void endTurn()
    {
        while (!m_pendingReads.empty())
            readPending();
    }

private:
    struct PendingRead
    {
        QByteArray key;
        QByteArray ifNoneMatch;
        Done done;
    };
    Reply get(const Request &request, const QByteArray &key);
    static Reply valueReply(QByteArrayView ifNoneMatch, const std::optional<StoredValue> &value);
    void readLater(const Request &request, const QByteArray &key, const Done &done);
    void readPending();
    void put(const Request &request, const QByteArray &key, const Done &done);
    void remove(const Request &request, const QByteArray &key, const Done &done);
    // onWritten makes the answer to a write that succeeded; it runs on the writer thread.
    void write(WriteRequest &&request, std::function<Reply(const WriteResult &)> onWritten, const Done &done);
    Reply list(const Request &request);

    StoreConnection &m_store;
    WriteBatcher &m_writer;
    std::shared_ptr<ReplyChannel> m_channel;
    const Clock &m_clock;
    qint64 m_maxValueBytes;
    std::vector<PendingRead> m_pendingReads;
    bool m_turnsEndedByOwner = false;
};

} // namespace kvdesk
