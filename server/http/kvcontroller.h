#pragma once

#include "reply.h"
#include "request.h"

namespace kvdesk {

class Clock;
class StoreConnection;

// The kv endpoints: get, put, delete and list keys, with TTLs and ETag preconditions.
class KvController final
{
public:
    KvController(StoreConnection &store, const Clock &clock, qint64 maxValueBytes);

    // rest: the raw path after the kv prefix ("", "/" or "/<percent-encoded key>"). Throws ApiError.
    Reply handle(const Request &request, QByteArrayView rest);

private:
    Reply get(const Request &request, const QByteArray &key);
    Reply put(const Request &request, const QByteArray &key);
    Reply remove(const Request &request, const QByteArray &key);
    Reply list(const Request &request);

    StoreConnection &m_store;
    const Clock &m_clock;
    qint64 m_maxValueBytes;
};

} // namespace kvdesk
