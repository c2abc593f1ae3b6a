#pragma once

#include "auth/authsettings.h"
#include "config/config.h"
#include "secretstore.h"

#include <QObject>
#include <QStringList>

#include <optional>

namespace kvdesk {

// The server's credentials kept in the keychain, as one entry ("server-credentials": a small
// JSON object), so that a read or a write is one keychain job and all or nothing.
class CredentialVault final : public QObject
{
    Q_OBJECT

public:
    static constexpr const char *entryName = "server-credentials";

    explicit CredentialVault(SecretStore &store, QObject *parent = nullptr);

    SecretStore &secrets() { return m_store; }

    // A missing entry is not an error here: empty settings and ok.
    using Loaded = std::function<void(const AuthSettings &settings, const SecretResult &result)>;
    void load(QObject *context, Loaded done);
    void save(const AuthSettings &settings, QObject *context, SecretStore::Done done);
    void clear(QObject *context, SecretStore::Done done);

    std::pair<AuthSettings, SecretResult> loadNow();
    SecretResult saveNow(const AuthSettings &settings);
    SecretResult clearNow();

    static QByteArray serialize(const AuthSettings &settings);
    static std::optional<AuthSettings> parse(const QByteArray &data);
    // 32 random bytes, URL-safe base64 without padding.
    static QString generateApiKey();
    // Fills the settings that flags, the environment and the config file left unset (and did not
    // switch off) from the stored ones; returns the names of the strategies taken from the keychain.
    static QStringList merge(AuthSettings &effective, const AuthSettings &stored,
                             const AuthEnvNames &switches);

private:
    static void finishLoad(const SecretResult &result, const Loaded &done);

    SecretStore &m_store;
};

} // namespace kvdesk
