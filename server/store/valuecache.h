#pragma once

#include "storeconnection.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>

#include <array>
#include <memory>
#include <optional>

namespace kvdesk {

// The in-memory read cache of hot values: bounded in bytes, least recently used evicted first.
// It never serves a stale value: a writer invalidates a key once its change has committed, and
// a reader that missed may insert what it read only if no write reached the key's shard since
// it took its ticket, before reading the database. Expired entries are never served.
// It is correct only while this process is the database's only writer (Store makes sure of that
// between kvdesk processes with a lock file).
class ValueCache final
{
public:
    explicit ValueCache(qint64 maxBytes);
    ~ValueCache();
    ValueCache(const ValueCache &) = delete;
    ValueCache &operator=(const ValueCache &) = delete;

    bool enabled() const { return m_maxBytes > 0; }
    std::optional<StoredValue> get(QByteArrayView key, qint64 nowMs);
    // Taken before reading the database on a miss.
    quint64 ticket(QByteArrayView key);
    void insert(QByteArrayView key, const StoredValue &value, quint64 ticket);
    // Whether what a miss read is worth keeping: when it fits in the room the cache has left (it
    // pushes nothing out), or else when the key missed once already, lately. A cache with room
    // fills from the first reads; once full, a key read once (a scan, random reads over far more
    // keys than fit) costs nothing and pushes out nothing, and a key read again is kept from its
    // second read on.
    bool admit(QByteArrayView key, const StoredValue &value);
    // After a write to key has committed.
    void invalidate(QByteArrayView key);
    // Whether key is cached now (a writer then keeps the value it writes, for committed()).
    bool holds(QByteArrayView key);
    // After a write of value to key has committed: a cached key takes the new value, so reads
    // after a write still hit; a key not cached is not added (keys are kept from their reads).
    // Like invalidate, it voids the tickets of readers that missed before.
    void committed(QByteArrayView key, const StoredValue &value);

    qint64 bytes() const;
    qint64 count() const;

private:
    struct Node
    {
        QByteArray key;
        StoredValue value;
        qint64 cost = 0;
        Node *prev = nullptr;
        Node *next = nullptr;
    };
    struct Shard
    {
        QMutex mutex;
        QHash<QByteArray, Node *> nodes;
        Node *head = nullptr; // most recently used
        Node *tail = nullptr;
        qint64 bytes = 0;
        quint64 writes = 0;
        // Keys that missed lately, two bits each (a Bloom filter: a key may find its bits set by
        // others); cleared once a quarter of the bits are set.
        std::array<quint64, 256> missed{};
        int missedCount = 0;
    };
    static constexpr int shardCount = 16;

    Shard &shardFor(QByteArrayView key);
    static qint64 costOf(QByteArrayView key, const StoredValue &value);
    static void unlink(Shard &shard, Node *node);
    static void pushFront(Shard &shard, Node *node);
    static void erase(Shard &shard, Node *node);

    const qint64 m_maxBytes;
    const qint64 m_maxShardBytes;
    std::array<Shard, shardCount> m_shards;
};

} // namespace kvdesk
