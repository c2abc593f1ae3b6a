#include "storeconnection.h"

#include <QRandomGenerator>

#include <atomic>

using namespace Qt::StringLiterals;

namespace kvdesk {

StoreConnection::~StoreConnection() = default;

std::vector<std::optional<StoredValue>> StoreConnection::getAll(const std::vector<QByteArrayView> &keys)
{
    std::vector<std::optional<StoredValue>> values;
    values.reserve(keys.size());
    for (const QByteArrayView key : keys)
        values.push_back(get(key));
    return values;
}

std::vector<PutResult> StoreConnection::writeAll(const std::vector<PlainWrite> &writes)
{
    std::vector<PutResult> results;
    results.reserve(writes.size());
    for (const PlainWrite &w : writes)
        results.push_back(w.remove ? PutResult{remove(w.key), {}} : put(w.key, w.json, w.expiresAtMs));
    return results;
}

QString StoreConnection::newConnectionName()
{
    static std::atomic<quint64> serial{0};
    return u"kvdesk-%1"_s.arg(serial.fetch_add(1));
}

qint64 StoreConnection::newVersion()
{
    qint64 v = 0;
    while (v == 0)
        v = qint64(QRandomGenerator::global()->generate64() >> 1);
    return v;
}

QByteArray StoreConnection::etagFor(std::optional<qint64> version, qint64 updatedAtMs)
{
    EtagBuffer buffer;
    return etagFor(version, updatedAtMs, buffer).toByteArray();
}

QByteArrayView StoreConnection::etagFor(std::optional<qint64> version, qint64 updatedAtMs, EtagBuffer &buffer)
{
    // "v<version in base 36>" for rows written here, "u<updated_at>" for rows of the original
    // (what parseEtag reads back), quoted; at most 1 + 1 + 1 + 19 + 1 characters.
    const int base = version ? 36 : 10;
    const qint64 n = version ? *version : updatedAtMs;
    quint64 magnitude = n < 0 ? quint64(0) - quint64(n) : quint64(n);
    char *end = buffer.data() + buffer.size();
    char *p = end;
    *--p = '"';
    do {
        const int digit = int(magnitude % quint64(base));
        *--p = char(digit < 10 ? '0' + digit : 'a' + digit - 10);
        magnitude /= quint64(base);
    } while (magnitude);
    if (n < 0)
        *--p = '-';
    *--p = version ? 'v' : 'u';
    *--p = '"';
    return QByteArrayView(p, end - p);
}

std::optional<StoreConnection::ParsedEtag> StoreConnection::parseEtag(const QByteArray &etag)
{
    // "v<version in base 36>" for rows written here, "u<updated_at>" for rows of the original.
    if (etag.size() < 4 || !etag.startsWith('"') || !etag.endsWith('"'))
        return std::nullopt;
    const QByteArray inner = etag.mid(1, etag.size() - 2);
    ParsedEtag parsed;
    bool ok = false;
    if (inner.startsWith('u')) {
        parsed.legacy = true;
        parsed.number = inner.mid(1).toLongLong(&ok);
    } else if (inner.startsWith('v')) {
        parsed.number = inner.mid(1).toLongLong(&ok, 36);
    }
    if (!ok)
        return std::nullopt;
    return parsed;
}

} // namespace kvdesk
