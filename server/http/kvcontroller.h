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
// answered at once from this thread's connection, or, where a statement costs a round trip to a
// server (PostgreSQL), gathered: the reads that this thread's event loop turn brought are looked up
// together once it is over (a posted event through channel), in statements of many keys. Writes
// go through the group-commit writer, which makes each answer once its write has committed; the
// answer is sent on this thread (through channel).
class KvController final
{
public:
    using Done = std::function<void(Reply)>;

    KvController(StoreConnection &store, WriteBatcher &writer, std::shared_ptr<ReplyChannel> channel,
                 const Clock &clock, qint64 maxValueBytes);

    // rest: the raw path after the kv prefix ("", "/" or "/<percent-encoded key>"). Calls done now
    // or later; throws ApiError for bad requests.
    void handle(const Request &request, QByteArrayView rest, const Done &done);

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
};

} // namespace kvdesk
