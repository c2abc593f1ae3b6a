#include "valuecache.h"

#include <QRandomGenerator>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace kvdesk {

namespace {

// A shard's table grows (doubles) once three quarters of its slots are used.
bool crowded(size_t used, size_t slots)
{
    return 4 * used >= 3 * slots;
}

// A key's first slot in its shard's table: from the hash's bits above those that chose the shard.
size_t home(size_t hash, size_t mask)
{
    return (hash / ValueCache::shardCount) & mask;
}

} // namespace

ValueCache::ValueCache(qint64 maxBytes)
    : m_hashSecret(QRandomGenerator::system()->generate64()), m_maxBytes(maxBytes),
      m_maxShardBytes(maxBytes / shardCount)
{}

size_t ValueCache::hashOf(QByteArrayView key) const
{
    // MurmurHash3's finalizer: every bit of the secret and of Qt's hash reaches every bit.
    quint64 h = quint64(qHash(key, 0)) ^ m_hashSecret;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return size_t(h);
}

ValueCache::~ValueCache()
{
    for (Shard &shard : m_shards) {
        if (!shard.slots)
            continue;
        for (size_t i = 0; i <= shard.mask; ++i)
            std::free(shard.slots[i].entry);
    }
}

qint64 ValueCache::costOf(QByteArrayView key, const ValueView &value)
{
    // The allocation, what the allocator adds to it, and a share of the slots (used or not).
    return qint64(sizeof(Entry)) + key.size() + value.json.size() + value.etag.size() + 16 +
           qint64(2 * sizeof(Slot));
}

ValueCache::Entry *ValueCache::makeEntry(size_t hash, QByteArrayView key, const ValueView &value, qint64 cost)
{
    auto *e = static_cast<Entry *>(
        std::malloc(sizeof(Entry) + size_t(key.size() + value.etag.size() + value.json.size())));
    if (!e)
        return nullptr;
    e->hash = hash;
    e->updatedAtMs = value.updatedAtMs;
    e->hasExpiry = value.expiresAtMs.has_value();
    e->expiresAtMs = value.expiresAtMs.value_or(0);
    e->cost = cost;
    e->keySize = quint32(key.size());
    e->etagSize = quint32(value.etag.size());
    e->jsonSize = quint32(value.json.size());
    e->uses = 0;
    memcpy(e->key(), key.data(), size_t(key.size()));
    memcpy(e->etag(), value.etag.data(), size_t(value.etag.size()));
    memcpy(e->json(), value.json.data(), size_t(value.json.size()));
    return e;
}

bool ValueCache::holdsKey(const Slot &slot, size_t hash, QByteArrayView key)
{
    return slot.hash == hash && slot.entry->keySize == quint32(key.size()) &&
           memcmp(slot.entry->key(), key.data(), size_t(key.size())) == 0;
}

qsizetype ValueCache::find(const Shard &shard, size_t hash, QByteArrayView key)
{
    if (!shard.slots)
        return -1;
    for (size_t i = home(hash, shard.mask);; i = (i + 1) & shard.mask) {
        const Slot &slot = shard.slots[i];
        if (!slot.entry)
            return -1;
        if (slot.hash == hash) {
            // The entry's later lines (its ETag and value) are read next: asked for now, their
            // misses overlap the one of its first line rather than following it.
            const char *bytes = reinterpret_cast<const char *>(slot.entry);
            __builtin_prefetch(bytes + 64);
            __builtin_prefetch(bytes + 128);
            __builtin_prefetch(bytes + 192);
        }
        if (holdsKey(slot, hash, key))
            return qsizetype(i);
    }
}

void ValueCache::makeRoom(Shard &shard)
{
    if (!shard.slots || crowded(shard.used + 1, shard.mask + 1)) {
        const size_t count = shard.slots ? 2 * (shard.mask + 1) : 64;
        std::unique_ptr<Slot[]> old = std::move(shard.slots);
        const size_t oldCount = old ? shard.mask + 1 : 0;
        shard.slots = std::make_unique<Slot[]>(count);
        shard.mask = count - 1;
        shard.maskHint.store(shard.mask, std::memory_order_relaxed);
        shard.slotsHint.store(shard.slots.get(), std::memory_order_relaxed);
        shard.hand &= shard.mask;
        for (size_t i = 0; i < oldCount; ++i) {
            if (!old[i].entry)
                continue;
            size_t j = home(old[i].hash, shard.mask);
            while (shard.slots[j].entry)
                j = (j + 1) & shard.mask;
            shard.slots[j] = old[i];
        }
    }
}

void ValueCache::place(Shard &shard, Entry *entry)
{
    size_t i = home(entry->hash, shard.mask);
    while (shard.slots[i].entry)
        i = (i + 1) & shard.mask;
    shard.slots[i] = {entry->hash, entry};
    ++shard.used;
    shard.bytes += entry->cost;
}

void ValueCache::eraseAt(Shard &shard, size_t index)
{
    Entry *entry = shard.slots[index].entry;
    shard.bytes -= entry->cost;
    --shard.used;
    std::free(entry);
    // Backward-shift deletion: the entries after it in its run move up when the emptied slot
    // lies on their probe path, so that every lookup still finds its key before an empty slot.
    size_t hole = index;
    for (size_t j = (index + 1) & shard.mask; shard.slots[j].entry; j = (j + 1) & shard.mask) {
        const size_t first = home(shard.slots[j].hash, shard.mask);
        const bool homeAfterHole = hole <= j ? (hole < first && first <= j) : (hole < first || first <= j);
        if (homeAfterHole)
            continue;
        shard.slots[hole] = shard.slots[j];
        hole = j;
    }
    shard.slots[hole] = Slot{};
}

void ValueCache::evictOne(Shard &shard, const Entry *keep)
{
    // maxUses + 1 turns of the hand at most: each turn lowers every count it passes.
    for (size_t steps = 0; steps <= (maxUses + 1) * (shard.mask + 1); ++steps) {
        const size_t i = shard.hand;
        shard.hand = (shard.hand + 1) & shard.mask;
        Entry *entry = shard.slots[i].entry;
        if (!entry || entry == keep)
            continue;
        if (entry->uses > 0) {
            --entry->uses;
            continue;
        }
        eraseAt(shard, i);
        shard.hand = i; // an entry may have moved into the slot
        return;
    }
}

std::optional<StoredValue> ValueCache::get(QByteArrayView key, size_t hash, qint64 nowMs)
{
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    const qsizetype index = find(shard, hash, key);
    if (index < 0)
        return std::nullopt;
    Entry *entry = shard.slots[index].entry;
    if (entry->hasExpiry && entry->expiresAtMs <= nowMs) {
        eraseAt(shard, size_t(index));
        return std::nullopt;
    }
    entry->uses = std::min<quint8>(entry->uses + 1, maxUses);
    return StoredValue{QByteArray(entry->json(), entry->jsonSize), entry->updatedAtMs,
                       entry->hasExpiry ? std::optional<qint64>(entry->expiresAtMs) : std::nullopt,
                       QByteArray(entry->etag(), entry->etagSize)};
}

std::vector<std::optional<StoredValue>> ValueCache::getAll(const std::vector<QByteArrayView> &keys,
                                                           qint64 nowMs)
{
    std::vector<std::optional<StoredValue>> values(keys.size());
    if (!enabled())
        return values;
    // In groups small enough that what is asked for stays in the processor's first caches.
    constexpr size_t group = 16;
    std::array<size_t, group> hashes;
    for (size_t first = 0; first < keys.size(); first += group) {
        const size_t n = std::min(group, keys.size() - first);
        for (size_t i = 0; i < n; ++i) {
            hashes[i] = hashOf(keys[first + i]);
            prefetch(hashes[i]);
        }
        if (n > 1) {
            for (size_t i = 0; i < n; ++i)
                prefetchEntry(hashes[i]);
        }
        for (size_t i = 0; i < n; ++i)
            values[first + i] = get(keys[first + i], hashes[i], nowMs);
    }
    return values;
}

void ValueCache::prefetchEntry(size_t hash)
{
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    if (!shard.slots)
        return;
    for (size_t i = home(hash, shard.mask);; i = (i + 1) & shard.mask) {
        const Slot &slot = shard.slots[i];
        if (!slot.entry)
            return;
        if (slot.hash == hash) {
            const char *bytes = reinterpret_cast<const char *>(slot.entry);
            __builtin_prefetch(bytes);
            __builtin_prefetch(bytes + 64);
            __builtin_prefetch(bytes + 128);
            __builtin_prefetch(bytes + 192);
            return;
        }
    }
}

quint64 ValueCache::ticket(QByteArrayView key)
{
    Shard &shard = shardFor(hashOf(key));
    QMutexLocker lock(&shard.mutex);
    return shard.writes;
}

bool ValueCache::admit(QByteArrayView key, const StoredValue &value)
{
    if (!enabled())
        return false;
    const qint64 cost = costOf(key, value);
    const size_t hash = hashOf(key);
    Shard &shard = shardFor(hash);
    constexpr size_t bits = 256 * 64;
    const size_t bit1 = (hash / shardCount) % bits;
    const size_t bit2 = (hash / shardCount / bits) % bits;
    const auto isSet = [&shard](size_t bit) { return shard.missed[bit / 64] & (quint64(1) << (bit % 64)); };
    QMutexLocker lock(&shard.mutex);
    if (shard.bytes + cost <= m_maxShardBytes)
        return true;
    if (isSet(bit1) && isSet(bit2))
        return true;
    if (shard.missedCount > int(bits / 4)) {
        shard.missed.fill(0);
        shard.missedCount = 0;
    }
    for (const size_t bit : {bit1, bit2}) {
        if (!isSet(bit)) {
            shard.missed[bit / 64] |= quint64(1) << (bit % 64);
            ++shard.missedCount;
        }
    }
    return false;
}

void ValueCache::insert(QByteArrayView key, const StoredValue &value, quint64 ticket)
{
    if (!enabled())
        return;
    const qint64 cost = costOf(key, value);
    if (cost > m_maxShardBytes / 4)
        return; // one huge value would flush everything else
    const size_t hash = hashOf(key);
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    if (shard.writes != ticket)
        return; // a write came in meanwhile: what was read may be old
    if (const qsizetype old = find(shard, hash, key); old >= 0)
        eraseAt(shard, size_t(old));
    Entry *entry = makeEntry(hash, key, value, cost);
    if (!entry)
        return;
    entry->uses = 1; // just read
    makeRoom(shard);
    place(shard, entry);
    while (shard.bytes > m_maxShardBytes && shard.used > 1)
        evictOne(shard, entry);
}

ValueCache::Tickets ValueCache::tickets()
{
    Tickets tickets{};
    for (int i = 0; i < shardCount; ++i) {
        QMutexLocker lock(&m_shards[i].mutex);
        tickets[i] = m_shards[i].writes;
    }
    return tickets;
}

void ValueCache::FillBatch::clear()
{
    m_rows.clear();
    m_bytes.resize(0);
}

void ValueCache::FillBatch::add(QByteArrayView key, const ValueView &value)
{
    const auto append = [this](QByteArrayView bytes) {
        const qsizetype at = m_bytes.size();
        m_bytes.append(bytes);
        return at;
    };
    const qsizetype keyAt = append(key);
    const qsizetype jsonAt = append(value.json);
    const qsizetype etagAt = append(value.etag);
    m_rows.push_back({keyAt, key.size(), jsonAt, value.json.size(), etagAt, value.etag.size(),
                      value.updatedAtMs, value.expiresAtMs});
}

ValueCache::FillCounts ValueCache::fill(FillBatch &batch, const Tickets &tickets)
{
    constexpr size_t ahead = 8;
    const char *bytes = batch.m_bytes.constData();
    const auto keyOf = [bytes](const FillBatch::Row &r) { return QByteArrayView(bytes + r.key, r.keySize); };
    batch.m_hashes.clear();
    for (const FillBatch::Row &r : batch.m_rows)
        batch.m_hashes.push_back(hashOf(keyOf(r)));
    const size_t rows = batch.m_rows.size();
    for (size_t i = 0; i < std::min(ahead, rows); ++i)
        prefetch(batch.m_hashes[i]);
    FillCounts counts;
    for (size_t i = 0; i < rows; ++i) {
        if (i + ahead < rows)
            prefetch(batch.m_hashes[i + ahead]);
        const FillBatch::Row &r = batch.m_rows[i];
        const ValueView value(QByteArrayView(bytes + r.json, r.jsonSize), r.updatedAtMs, r.expiresAtMs,
                              QByteArrayView(bytes + r.etag, r.etagSize));
        const Fill outcome = fill(keyOf(r), batch.m_hashes[i], value, tickets);
        counts.kept += outcome == Fill::Kept ? 1 : 0;
        counts.full += outcome == Fill::Full ? 1 : 0;
    }
    return counts;
}

void ValueCache::prefetch(size_t hash) const
{
    const Shard &shard = m_shards[hash % shardCount];
    // A prefetch never faults, even at an address freed meanwhile.
    if (const Slot *slots = shard.slotsHint.load(std::memory_order_relaxed))
        __builtin_prefetch(slots + home(hash, shard.maskHint.load(std::memory_order_relaxed)));
}

ValueCache::Fill ValueCache::fill(QByteArrayView key, size_t hash, const ValueView &value,
                                  const Tickets &tickets)
{
    if (!enabled())
        return Fill::Full;
    const qint64 cost = costOf(key, value);
    if (cost > m_maxShardBytes / 4)
        return Fill::TooLarge;
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    if (shard.bytes + cost > m_maxShardBytes)
        return Fill::Full;
    if (shard.writes != tickets[hash % shardCount])
        return Fill::Stale;
    // One probe: the key's slot, or the free one where it goes.
    makeRoom(shard);
    size_t i = home(hash, shard.mask);
    for (; shard.slots[i].entry; i = (i + 1) & shard.mask) {
        if (holdsKey(shard.slots[i], hash, key))
            return Fill::Held;
    }
    Entry *entry = makeEntry(hash, key, value, cost);
    if (!entry)
        return Fill::Full;
    // No uses: what reads keep goes before it.
    shard.slots[i] = {hash, entry};
    ++shard.used;
    shard.bytes += cost;
    return Fill::Kept;
}

void ValueCache::invalidate(QByteArrayView key)
{
    if (!enabled())
        return;
    const size_t hash = hashOf(key);
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    ++shard.writes;
    if (const qsizetype index = find(shard, hash, key); index >= 0)
        eraseAt(shard, size_t(index));
}

bool ValueCache::holds(QByteArrayView key)
{
    if (!enabled())
        return false;
    const size_t hash = hashOf(key);
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    return find(shard, hash, key) >= 0;
}

void ValueCache::committed(QByteArrayView key, const StoredValue &value)
{
    if (!enabled())
        return;
    const qint64 cost = costOf(key, value);
    const size_t hash = hashOf(key);
    Shard &shard = shardFor(hash);
    QMutexLocker lock(&shard.mutex);
    ++shard.writes;
    const qsizetype index = find(shard, hash, key);
    if (index < 0)
        return;
    Entry *entry = cost > m_maxShardBytes / 4 ? nullptr : makeEntry(hash, key, value, cost);
    if (!entry) {
        eraseAt(shard, size_t(index));
        return;
    }
    Slot &slot = shard.slots[index];
    shard.bytes += cost - slot.entry->cost;
    entry->uses = std::max<quint8>(slot.entry->uses, 1);
    std::free(slot.entry);
    slot.entry = entry;
    while (shard.bytes > m_maxShardBytes && shard.used > 1)
        evictOne(shard, entry);
}

qint64 ValueCache::bytes() const
{
    qint64 total = 0;
    for (const Shard &shard : m_shards) {
        QMutexLocker lock(const_cast<QMutex *>(&shard.mutex));
        total += shard.bytes;
    }
    return total;
}

qint64 ValueCache::count() const
{
    qint64 total = 0;
    for (const Shard &shard : m_shards) {
        QMutexLocker lock(const_cast<QMutex *>(&shard.mutex));
        total += qint64(shard.used);
    }
    return total;
}

} // namespace kvdesk
