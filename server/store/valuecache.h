#pragma once

#include "storeconnection.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace kvdesk {

// The in-memory read cache of hot values: bounded in bytes; when full, a value whose count of
// reads the clock hand has worn down to nothing is evicted (GCLOCK, a cheap approximation of
// least recently and frequently used: each read raises the count up to 3, each pass lowers it).
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

    static constexpr int shardCount = 16;

    // A value as the cache copies it in: a StoredValue's, or the columns of a row being read.
    struct ValueView
    {
        ValueView(QByteArrayView jsonText, qint64 updatedAt, std::optional<qint64> expiresAt,
                  QByteArrayView quotedEtag)
            : json(jsonText), updatedAtMs(updatedAt), expiresAtMs(expiresAt), etag(quotedEtag)
        {}
        ValueView(const StoredValue &v) : ValueView(v.json, v.updatedAtMs, v.expiresAtMs, v.etag) {}
        QByteArrayView json;
        qint64 updatedAtMs;
        std::optional<qint64> expiresAtMs;
        QByteArrayView etag;
    };

    bool enabled() const { return m_maxBytes > 0; }
    qint64 maxBytes() const { return m_maxBytes; }
    std::optional<StoredValue> get(QByteArrayView key, qint64 nowMs)
    {
        return enabled() ? get(key, hashOf(key), nowMs) : std::nullopt;
    }
    // get() of each key, its lookups overlapped: every key's slot is asked for from memory, then
    // every entry found there, then each value is copied. Apart, a hit over a table far larger
    // than the processor's caches waits for two misses one after the other (slot, then entry).
    std::vector<std::optional<StoredValue>> getAll(const std::vector<QByteArrayView> &keys, qint64 nowMs);
    // Taken before reading the database on a miss.
    quint64 ticket(QByteArrayView key);
    void insert(QByteArrayView key, const StoredValue &value, quint64 ticket);
    // Whether what a miss read is worth keeping: when it fits in the room the cache has left (it
    // pushes nothing out), or else when the key missed once already, lately. A cache with room
    // fills from the first reads; once full, a key read once (a scan, random reads over far more
    // keys than fit) costs nothing and pushes out nothing, and a key read again is kept from its
    // second read on.
    bool admit(QByteArrayView key, const StoredValue &value);
    // Warming up from the database (CacheWarmer): every shard's ticket, taken before a batch of
    // rows is read, and each row offered with them. A row is kept only while it fits in the room
    // its shard has left (it pushes nothing out), only if no write reached its shard since the
    // tickets were taken, and never over a value the cache holds (which is as recent). It is kept
    // as not read yet: when room is needed, it goes before what reads kept. Like insert, it
    // leaves out a value larger than a quarter of a shard.
    using Tickets = std::array<quint64, shardCount>;
    Tickets tickets();
    enum class Fill { Kept, Full, Stale, Held, TooLarge };
    Fill fill(QByteArrayView key, const ValueView &value, const Tickets &tickets)
    {
        return fill(key, hashOf(key), value, tickets);
    }
    // A read's rows, copied into one buffer (a statement's columns last only until its next row),
    // to be offered together once the read is over.
    class FillBatch
    {
    public:
        void clear();
        void add(QByteArrayView key, const ValueView &value);
        qsizetype size() const { return qsizetype(m_rows.size()); }

    private:
        friend class ValueCache;
        struct Row
        {
            qsizetype key, keySize, json, jsonSize, etag, etagSize;
            qint64 updatedAtMs;
            std::optional<qint64> expiresAtMs;
        };
        std::vector<Row> m_rows;
        QByteArray m_bytes;
        std::vector<size_t> m_hashes; // fill()'s
    };
    struct FillCounts
    {
        qint64 kept = 0;
        qint64 full = 0;
    };
    // Offers every row of batch as fill() does. Each key's slot in the table is asked for from
    // memory a few rows ahead of its lookup, so that its cache miss overlaps the rows before it.
    FillCounts fill(FillBatch &batch, const Tickets &tickets);
    // After a write to key has committed.
    void invalidate(QByteArrayView key);
    // Whether key is cached now (a writer then keeps the value it writes, for committed()).
    bool holds(QByteArrayView key);
    // After a write of value to key has committed: a cached key takes the new value, so reads
    // after a write still hit; a key not cached is not added (keys come from reads and warming).
    // Like invalidate, it voids the tickets of readers that missed before.
    void committed(QByteArrayView key, const StoredValue &value);

    qint64 bytes() const;
    qint64 count() const;

private:
    static constexpr quint8 maxUses = 3;

    // Keyed with a secret of this cache, so that no client can choose keys that pile up in one
    // probe run: Qt's unseeded hash (SipHash or, for at most 8 bytes, a bijective mix) with the
    // secret mixed into it. Qt's seeded one would do, but costs some 170 ns for a key of fewer
    // than 16 bytes that was just written on this machine's Qt 6.4 (against about 10).
    size_t hashOf(QByteArrayView key) const;
    std::optional<StoredValue> get(QByteArrayView key, size_t hash, qint64 nowMs);
    Fill fill(QByteArrayView key, size_t hash, const ValueView &value, const Tickets &tickets);
    void prefetch(size_t hash) const;
    // Asks for the entry that holds hash, if any, from memory: its slot is read (under its shard's
    // lock), the entry is not.
    void prefetchEntry(size_t hash);

    // A value and its key in one allocation: the key, the ETag and the JSON follow the header.
    struct Entry
    {
        size_t hash;
        qint64 updatedAtMs;
        qint64 expiresAtMs; // when hasExpiry
        qint64 cost;
        quint32 keySize;
        quint32 jsonSize;
        quint32 etagSize;
        bool hasExpiry;
        quint8 uses; // 0 to maxUses: raised by each read, lowered by each pass of the clock hand

        char *key() { return reinterpret_cast<char *>(this + 1); }
        const char *key() const { return reinterpret_cast<const char *>(this + 1); }
        char *etag() { return key() + keySize; }
        char *json() { return etag() + etagSize; }
    };
    // Open addressing, linear probing: a slot holds its entry's hash, so that probing past other
    // keys reads no entry. A lookup of a key the cache holds reads one slot and one entry.
    struct Slot
    {
        size_t hash = 0;
        Entry *entry = nullptr;
    };
    struct Shard
    {
        QMutex mutex;
        std::unique_ptr<Slot[]> slots;
        size_t mask = 0; // slot count - 1 (a power of two), once there are slots
        // The same two, for prefetch() without the lock (a stale table is only a wasted hint).
        std::atomic<const Slot *> slotsHint{nullptr};
        std::atomic<size_t> maskHint{0};
        size_t used = 0;
        size_t hand = 0; // the clock's: eviction looks there next
        qint64 bytes = 0;
        quint64 writes = 0;
        // Keys that missed lately, two bits each (a Bloom filter: a key may find its bits set by
        // others); cleared once a quarter of the bits are set.
        std::array<quint64, 256> missed{};
        int missedCount = 0;
    };

    Shard &shardFor(size_t hash) { return m_shards[hash % shardCount]; }
    static qint64 costOf(QByteArrayView key, const ValueView &value);
    static Entry *makeEntry(size_t hash, QByteArrayView key, const ValueView &value, qint64 cost);
    static bool holdsKey(const Slot &slot, size_t hash, QByteArrayView key);
    // The slot holding key, or -1.
    static qsizetype find(const Shard &shard, size_t hash, QByteArrayView key);
    // Doubles the table when it is crowded: then one more entry has room.
    static void makeRoom(Shard &shard);
    // At the first free slot of its probe run (makeRoom first).
    static void place(Shard &shard, Entry *entry);
    static void eraseAt(Shard &shard, size_t index);
    // Evicts the first entry the clock hand finds with no uses left, never keep; the hand lowers the
    // uses of each entry it passes. So an entry read more often than the others outlasts them even
    // when every entry was read lately (a bare reference bit would then evict whichever entry the
    // hand meets first): those just kept by a read start at 1, and go first.
    static void evictOne(Shard &shard, const Entry *keep);

    const quint64 m_hashSecret;
    const qint64 m_maxBytes;
    const qint64 m_maxShardBytes;
    std::array<Shard, shardCount> m_shards;
};

} // namespace kvdesk
