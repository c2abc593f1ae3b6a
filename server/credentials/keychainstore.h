#pragma once

#include "secretstore.h"

namespace kvdesk {

// The OS keychain through QtKeychain (the Secret Service on Linux), under the service "kvdesk",
// never with QtKeychain's insecure plain-text fallback. QtKeychain jobs have no timeout of their
// own (a locked keyring may wait on a prompt forever): each job here ends after timeoutMs.
class KeychainStore final : public SecretStore
{
    Q_OBJECT

public:
    static constexpr const char *service = "kvdesk";

    explicit KeychainStore(int timeoutMs = 5000, QObject *parent = nullptr);

    // Whether a Secret Service could be reached at all: a session bus is named, or the usual
    // per-user bus socket exists, or a display could start one. Without, asking is pointless.
    static bool mayBeAvailable();

    void read(const QString &key, QObject *context, Done done) override;
    void write(const QString &key, const QByteArray &data, QObject *context, Done done) override;
    void remove(const QString &key, QObject *context, Done done) override;

private:
    int m_timeoutMs;
};

} // namespace kvdesk
