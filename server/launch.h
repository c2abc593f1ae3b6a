#pragma once

#include "config/config.h"

#include <QStringList>

#include <memory>
#include <optional>

namespace kvdesk {

class CredentialVault;
class KeychainStore;
class KvServer;
class SecretStore;
class SignalWatcher;

// Start-up steps shared by the headless server (app/main.cpp) and the window (the kvdesk-gui
// module): the configuration, the credentials kept in the keychain, and the banner.
namespace Launch {

// Sets up the application once it exists: names, message pattern, the user's language (--lang or
// the locale), and Qt's own event dispatcher
// for the server threads started from now on (the main thread keeps GLib's, which QtKeychain's
// libsecret needs).
void prepareApplication();
// Parses the command line and the environment into config. nullopt: go on; else the exit status
// (help or version printed: 0; a bad flag or config: 2, with one line on stderr).
std::optional<int> loadConfig(Config *config);

struct Credentials
{
    std::unique_ptr<KeychainStore> keychain;
    std::unique_ptr<CredentialVault> vault; // none when no keychain can be reached or is wanted
    QStringList fromKeychain;               // the strategies taken from it
    Credentials();
    ~Credentials();
    Credentials(Credentials &&) noexcept;
};
// Fills what flags, environment and config file left unset from the OS keychain: the server's
// credentials, and the password of a PostgreSQL --db URL that names none.
Credentials readCredentials(Config &config);
// The password of config's PostgreSQL database from secrets, when its URL names none.
void fillDatabasePassword(Config &config, SecretStore &secrets);

// On SIGTERM or SIGINT: stop accepting, let requests in flight finish, close, and quit.
void stopOnTermination(SignalWatcher &signals, KvServer &server);

// "KV Desk ... listening on URL" and how to authenticate, on stdout.
void printBanner(KvServer &server, const QStringList &fromKeychain);

} // namespace Launch

} // namespace kvdesk
