#include "authenticator.h"

#include "crypto.h"
#include "jwkscache.h"
#include "jwt.h"

#include "../store/clock.h"

#include <QLoggingCategory>
#include <QUrl>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcAuth, "kvdesk.auth", QtInfoMsg)

namespace kvdesk {

namespace {

// Generations are unique across authenticators, so that one created where another was destroyed
// is never mistaken for it by a thread's copy.
std::atomic<quint64> nextGeneration{1};

bool startsWithScheme(QByteArrayView header, QByteArrayView scheme)
{
    return header.size() > scheme.size() && header.at(scheme.size()) == ' ' &&
           QByteArrayView(header.data(), scheme.size()).compare(scheme, Qt::CaseInsensitive) == 0;
}

QByteArrayView credentialsOf(QByteArrayView header, QByteArrayView scheme)
{
    return header.sliced(scheme.size()).trimmed();
}

} // namespace

Authenticator::Authenticator(const Clock &clock, QObject *parent)
    : QObject(parent), m_clock(clock), m_state(std::make_shared<State>())
{
    m_generation.store(nextGeneration.fetch_add(1));
}

Authenticator::~Authenticator() = default;

void Authenticator::setSettings(const AuthSettings &settings)
{
    auto next = std::make_shared<State>();
    next->settings = settings;
    if (settings.apiKeyEnabled())
        next->apiKeyDigest = crypto::sha256(settings.apiKey.toUtf8());
    if (settings.basicEnabled()) {
        next->usernameDigest = crypto::sha256(settings.username.toUtf8());
        next->passwordDigest = crypto::sha256(settings.password.toUtf8());
    }
    const auto current = state();
    if (settings.jwksEnabled()) {
        if (current->jwks && current->jwks->url() == QUrl(settings.jwksUrl)) {
            next->jwks = current->jwks;
        } else {
            // Deleted on this (its own) thread once the last reader lets go of it.
            next->jwks = std::shared_ptr<JwksCache>(new JwksCache(QUrl(settings.jwksUrl), m_clock),
                                                    [](JwksCache *c) { c->deleteLater(); });
            next->jwks->moveToThread(thread());
            next->jwks->refresh();
        }
    }
    QMutexLocker lock(&m_mutex);
    m_state = std::move(next);
    m_generation.store(nextGeneration.fetch_add(1), std::memory_order_release);
}

AuthSettings Authenticator::settings() const
{
    return state()->settings;
}

std::shared_ptr<const Authenticator::State> Authenticator::state() const
{
    return currentState();
}

const std::shared_ptr<const Authenticator::State> &Authenticator::currentState() const
{
    // Each thread keeps the settings it saw last and takes the lock only after a change.
    struct Seen
    {
        const Authenticator *owner = nullptr;
        quint64 generation = 0;
        std::shared_ptr<const State> state;
    };
    thread_local Seen seen;
    const quint64 generation = m_generation.load(std::memory_order_acquire);
    if (seen.generation != generation || seen.owner != this || !seen.state) {
        QMutexLocker lock(&m_mutex);
        seen = Seen{this, m_generation.load(std::memory_order_relaxed), m_state};
    }
    return seen.state;
}

Authenticator::Verdict Authenticator::check(QByteArrayView authorization, AuthMemo *memo) const
{
    // Read before the state: a change in between makes the memo stale rather than wrong.
    const quint64 generation = m_generation.load(std::memory_order_acquire);
    if (memo && memo->generation == generation && !authorization.isEmpty() &&
        crypto::constantTimeSameSize(memo->authorization, authorization))
        return Verdict::Allowed;
    const auto remember = [&] {
        if (memo)
            *memo = AuthMemo{authorization.toByteArray(), generation};
        return Verdict::Allowed;
    };
    const State *s = currentState().get();
    const AuthSettings &settings = s->settings;
    if (startsWithScheme(authorization, "Bearer")) {
        const QByteArrayView token = credentialsOf(authorization, "Bearer");
        if (settings.apiKeyEnabled() && crypto::digestEquals(token, s->apiKeyDigest))
            return remember();
        if (settings.jwtEnabled() && token.count('.') == 2)
            return checkJwt(*s, token, true);
        return Verdict::Denied;
    }
    if (startsWithScheme(authorization, "Basic") && settings.basicEnabled()) {
        const auto result = QByteArray::fromBase64Encoding(
            credentialsOf(authorization, "Basic").toByteArray(), QByteArray::AbortOnBase64DecodingErrors);
        if (!result)
            return Verdict::Denied;
        const QByteArray *decoded = &result.decoded;
        const qsizetype colon = decoded->indexOf(':');
        if (colon < 0)
            return Verdict::Denied;
        // Both halves are always compared, so the time says nothing about which one was wrong.
        const bool user = crypto::digestEquals(decoded->left(colon), s->usernameDigest);
        const bool password = crypto::digestEquals(decoded->mid(colon + 1), s->passwordDigest);
        return user && password ? remember() : Verdict::Denied;
    }
    return Verdict::Denied;
}

Authenticator::Verdict Authenticator::checkJwt(const State &s, QByteArrayView token, bool allowRefresh) const
{
    QString why;
    const auto jwt = Jwt::parse(token, &why);
    if (!jwt) {
        qCDebug(lcAuth).noquote() << "JWT refused:" << why;
        return Verdict::Denied;
    }
    bool signatureOk = false;
    if (jwt->isHmac()) {
        // An HMAC token is checked against the configured secret only, never against a JWKS key.
        signatureOk = s.settings.jwtSecretEnabled() && jwt->verifyHmac(s.settings.jwtSecret.toUtf8());
    } else if (jwt->isAsymmetric() && s.jwks) {
        const QList<Jwk> keys = s.jwks->keysFor(jwt->kid);
        if (keys.isEmpty())
            return allowRefresh && s.jwks->mayRefresh() ? Verdict::NeedsKeys : Verdict::Denied;
        for (const auto &key : keys)
            signatureOk = signatureOk || jwt->verifyWith(key);
    } else {
        qCDebug(lcAuth).noquote() << "JWT refused: algorithm" << jwt->alg << "not allowed";
        return Verdict::Denied;
    }
    if (!signatureOk) {
        qCDebug(lcAuth) << "JWT refused: bad signature";
        return Verdict::Denied;
    }
    if (!jwt->claimsValid(m_clock.nowMs() / 1000, s.settings.jwtIssuer, s.settings.jwtAudience, &why)) {
        qCDebug(lcAuth).noquote() << "JWT refused:" << why;
        return Verdict::Denied;
    }
    return Verdict::Allowed;
}

void Authenticator::checkAfterRefresh(const QByteArray &authorization, QObject *context,
                                      std::function<void(bool)> done)
{
    const auto s = state();
    if (!s->jwks) {
        done(false);
        return;
    }
    s->jwks->refreshThen(context, [this, s, authorization, done = std::move(done)] {
        const QByteArrayView token = credentialsOf(authorization, "Bearer");
        done(checkJwt(*s, token, false) == Verdict::Allowed);
    });
}

QByteArray Authenticator::challenge() const
{
    const auto s = state();
    QByteArrayList challenges;
    if (s->settings.apiKeyEnabled() || s->settings.jwtEnabled() || !s->settings.anyEnabled())
        challenges << "Bearer realm=\"kvdesk\"";
    if (s->settings.basicEnabled())
        challenges << "Basic realm=\"kvdesk\", charset=\"UTF-8\"";
    return challenges.join(", ");
}

} // namespace kvdesk
