#pragma once

#include <QStringList>

#include <cstdio>

namespace kvdesk {

class SecretStore;

// `kvdesk credentials show|set|rotate|clear`: the server's credentials in the OS keychain, from a
// terminal. Returns the exit status: 0, 1 when the keychain fails, 2 for a usage error.
int runCredentialsCommand(const QStringList &arguments, SecretStore &store, FILE *out, FILE *err);

} // namespace kvdesk
