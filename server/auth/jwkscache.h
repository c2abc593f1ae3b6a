#pragma once

#include "jwt.h"

#include <QList>
#include <QMutex>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QUrl>

#include <functional>

namespace kvdesk {

class Clock;

// The keys of a JWKS URL, fetched with QNetworkAccessManager on this object's thread, kept in
// memory and fetched again when a token names a key id it does not know (at most once per
// refresh interval). Readable from any thread.
class JwksCache final : public QObject
{
    Q_OBJECT

public:
    JwksCache(QUrl url, const Clock &clock, QObject *parent = nullptr);

    static constexpr qint64 minRefreshIntervalMs = 60 * 1000;

    // Keys that may have signed a token with this kid (every key when kid is empty).
    QList<Jwk> keysFor(const QByteArray &kid) const;
    // Whether a fetch for an unknown kid is allowed now.
    bool mayRefresh() const;
    // Fetches the set again (unless one is running or the interval forbids it) and then calls done
    // on context's thread. Thread-safe.
    void refreshThen(QObject *context, std::function<void()> done);
    void refresh();
    QUrl url() const { return m_url; }

Q_SIGNALS:
    void refreshed(bool ok);

private:
    void startFetch();
    void finishFetch(QNetworkReply *reply);

    const QUrl m_url;
    const Clock &m_clock;
    QNetworkAccessManager *m_network = nullptr;
    mutable QMutex m_mutex;
    QList<Jwk> m_keys;
    qint64 m_lastFetchMs = -minRefreshIntervalMs - 1;
    bool m_fetching = false;
    QList<QPair<QPointer<QObject>, std::function<void()>>> m_waiters;
};

} // namespace kvdesk
