#pragma once

#include "authsettings.h"

#include <QMutex>
#include <QObject>

#include <atomic>
#include <functional>
#include <memory>

namespace kvdesk {

class Clock;
class JwksCache;

// What one connection last presented and was let in with. The same header again on that
// connection is let in without hashing it, until the settings change. Only API keys and Basic
// credentials are remembered: a JWT can expire.
struct AuthMemo
{
    QByteArray authorization;
    quint64 generation = 0;
};

// Decides whether a request's Authorization header passes one of the enabled strategies (API key,
// Basic, JWT with a secret or a JWKS). Lives on the main thread; check() is thread-safe, and the
// settings can be replaced while the server runs.
class Authenticator final : public QObject
{
    Q_OBJECT

public:
    enum class Verdict { Allowed, Denied, NeedsKeys };

    Authenticator(const Clock &clock, QObject *parent = nullptr);
    ~Authenticator() override;

    void setSettings(const AuthSettings &settings);
    AuthSettings settings() const;

    Verdict check(QByteArrayView authorization, AuthMemo *memo = nullptr) const;
    // For NeedsKeys: fetches the JWKS again and calls done(allowed) on context's thread.
    void checkAfterRefresh(const QByteArray &authorization, QObject *context, std::function<void(bool)> done);
    // The WWW-Authenticate value of a 401.
    QByteArray challenge() const;

private:
    struct State
    {
        AuthSettings settings;
        // SHA-256 of the API key and the Basic pair, computed once; compared in constant time.
        QByteArray apiKeyDigest;
        QByteArray usernameDigest;
        QByteArray passwordDigest;
        std::shared_ptr<JwksCache> jwks;
    };
    std::shared_ptr<const State> state() const;
    // The state this thread saw last (refreshed after a change); valid until this thread's next call.
    const std::shared_ptr<const State> &currentState() const;
    Verdict checkJwt(const State &state, QByteArrayView token, bool allowRefresh) const;

    const Clock &m_clock;
    mutable QMutex m_mutex;
    std::shared_ptr<const State> m_state;
    std::atomic<quint64> m_generation{0}; // bumped by setSettings(); readers keep a copy per thread
};

} // namespace kvdesk
