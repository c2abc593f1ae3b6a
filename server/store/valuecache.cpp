#include "valuecache.h"

namespace kvdesk {

ValueCache::ValueCache(qint64 maxBytes) : m_maxBytes(maxBytes), m_maxShardBytes(maxBytes / shardCount) {}

ValueCache::~ValueCache()
{
    for (Shard &shard : m_shards) {
        for (Node *node : std::as_const(shard.nodes))
            delete node;
    }
}

ValueCache::Shard &ValueCache::shardFor(QByteArrayView key)
{
    return m_shards[qHash(key) % shardCount];
}

qint64 ValueCache::costOf(QByteArrayView key, const StoredValue &value)
{
    return key.size() + value.json.size() + value.etag.size() + qint64(sizeof(Node)) + 64;
}

void ValueCache::unlink(Shard &shard, Node *node)
{
    (node->prev ? node->prev->next : shard.head) = node->next;
    (node->next ? node->next->prev : shard.tail) = node->prev;
    node->prev = node->next = nullptr;
}

void ValueCache::pushFront(Shard &shard, Node *node)
{
    node->next = shard.head;
    node->prev = nullptr;
    if (shard.head)
        shard.head->prev = node;
    shard.head = node;
    if (!shard.tail)
        shard.tail = node;
}

void ValueCache::erase(Shard &shard, Node *node)
{
    unlink(shard, node);
    shard.nodes.remove(node->key);
    shard.bytes -= node->cost;
    delete node;
}

std::optional<StoredValue> ValueCache::get(QByteArrayView key, qint64 nowMs)
{
    if (!enabled())
        return std::nullopt;
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    // A lookup key over the caller's bytes: nothing is copied.
    const auto it = shard.nodes.constFind(QByteArray::fromRawData(key.data(), key.size()));
    if (it == shard.nodes.constEnd())
        return std::nullopt;
    Node *node = *it;
    if (node->value.expiresAtMs && *node->value.expiresAtMs <= nowMs) {
        erase(shard, node);
        return std::nullopt;
    }
    unlink(shard, node);
    pushFront(shard, node);
    return node->value;
}

quint64 ValueCache::ticket(QByteArrayView key)
{
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    return shard.writes;
}

bool ValueCache::admit(QByteArrayView key, const StoredValue &value)
{
    if (!enabled())
        return false;
    const qint64 cost = costOf(key, value);
    const size_t hash = qHash(key);
    Shard &shard = m_shards[hash % shardCount];
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
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    if (shard.writes != ticket)
        return; // a write came in meanwhile: what was read may be old
    const QByteArray k = key.toByteArray();
    if (Node *old = shard.nodes.value(k))
        erase(shard, old);
    auto *node = new Node{k, value, cost};
    shard.nodes.insert(k, node);
    pushFront(shard, node);
    shard.bytes += cost;
    while (shard.bytes > m_maxShardBytes && shard.tail)
        erase(shard, shard.tail);
}

void ValueCache::invalidate(QByteArrayView key)
{
    if (!enabled())
        return;
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    ++shard.writes;
    if (Node *node = shard.nodes.value(QByteArray::fromRawData(key.data(), key.size())))
        erase(shard, node);
}

bool ValueCache::holds(QByteArrayView key)
{
    if (!enabled())
        return false;
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    return shard.nodes.contains(QByteArray::fromRawData(key.data(), key.size()));
}

void ValueCache::committed(QByteArrayView key, const StoredValue &value)
{
    if (!enabled())
        return;
    const qint64 cost = costOf(key, value);
    Shard &shard = shardFor(key);
    QMutexLocker lock(&shard.mutex);
    ++shard.writes;
    Node *node = shard.nodes.value(QByteArray::fromRawData(key.data(), key.size()));
    if (!node)
        return;
    if (cost > m_maxShardBytes / 4) {
        erase(shard, node);
        return;
    }
    node->value = value;
    shard.bytes += cost - node->cost;
    node->cost = cost;
    unlink(shard, node);
    pushFront(shard, node);
    while (shard.bytes > m_maxShardBytes && shard.tail != node)
        erase(shard, shard.tail);
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
        total += shard.nodes.size();
    }
    return total;
}

} // namespace kvdesk
