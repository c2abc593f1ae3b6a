#include "jwkscache.h"

#include "../store/clock.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QNetworkReply>
#include <QNetworkRequest>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcJwks, "kvdesk.auth.jwks", QtInfoMsg)

namespace kvdesk {

JwksCache::JwksCache(QUrl url, const Clock &clock, QObject *parent)
    : QObject(parent), m_url(std::move(url)), m_clock(clock), m_network(new QNetworkAccessManager(this))
{
    m_network->setTransferTimeout(10000);
}

QList<Jwk> JwksCache::keysFor(const QByteArray &kid) const
{
    QMutexLocker lock(&m_mutex);
    if (kid.isEmpty())
        return m_keys;
    QList<Jwk> matching;
    for (const auto &k : m_keys) {
        if (k.kid == kid)
            matching.append(k);
    }
    return matching;
}

bool JwksCache::mayRefresh() const
{
    QMutexLocker lock(&m_mutex);
    return m_fetching || m_clock.nowMs() - m_lastFetchMs >= minRefreshIntervalMs;
}

void JwksCache::refresh()
{
    refreshThen(nullptr, {});
}

void JwksCache::refreshThen(QObject *context, std::function<void()> done)
{
    QMetaObject::invokeMethod(
        this, [this, ctx = QPointer<QObject>(context), done = std::move(done)]() mutable {
            bool allowed = false;
            {
                QMutexLocker lock(&m_mutex);
                allowed = m_fetching || m_clock.nowMs() - m_lastFetchMs >= minRefreshIntervalMs;
                if (allowed && done)
                    m_waiters.append({ctx, std::move(done)});
            }
            if (!allowed) {
                if (done && ctx)
                    QMetaObject::invokeMethod(ctx, std::move(done));
                return;
            }
            startFetch();
        });
}

void JwksCache::startFetch()
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_fetching)
            return;
        m_fetching = true;
        m_lastFetchMs = m_clock.nowMs();
    }
    QNetworkRequest request(m_url);
    request.setRawHeader("Accept", "application/json");
    QNetworkReply *reply = m_network->get(request);
    QObject::connect(reply, &QNetworkReply::finished, this, [this, reply] { finishFetch(reply); });
}

void JwksCache::finishFetch(QNetworkReply *reply)
{
    reply->deleteLater();
    QList<Jwk> keys;
    bool ok = false;
    if (reply->error() != QNetworkReply::NoError) {
        qCWarning(lcJwks).noquote() << "cannot fetch the JWKS from" << m_url.toString() << ":"
                                    << reply->errorString();
    } else {
        const QJsonDocument doc = QJsonDocument::fromJson(reply->readAll());
        const QJsonArray list = doc.object().value("keys"_L1).toArray();
        if (!doc.isObject() || !doc.object().value("keys"_L1).isArray()) {
            qCWarning(lcJwks).noquote() << "the JWKS at" << m_url.toString() << "has no \"keys\" array";
        } else {
            ok = true;
            for (const auto &entry : list) {
                QString why;
                if (auto jwk = Jwk::fromJson(entry.toObject(), &why))
                    keys.append(*jwk);
                else
                    qCInfo(lcJwks).noquote() << "skipped a JWKS key:" << why;
            }
            qCInfo(lcJwks) << "loaded" << keys.size() << "keys from the JWKS";
        }
    }
    QList<QPair<QPointer<QObject>, std::function<void()>>> waiters;
    {
        QMutexLocker lock(&m_mutex);
        if (ok)
            m_keys = keys;
        m_fetching = false;
        waiters.swap(m_waiters);
    }
    for (auto &[context, done] : waiters) {
        if (context)
            QMetaObject::invokeMethod(context, std::move(done));
    }
    Q_EMIT refreshed(ok);
}

} // namespace kvdesk
