#pragma once

#include "config.h"

#include <QProcessEnvironment>
#include <QStringList>

#include <stdexcept>

namespace kvdesk {

// A configuration that cannot be used; what() is one line naming the problem.
class ConfigError final : public std::runtime_error
{
public:
    explicit ConfigError(const QString &message)
        : std::runtime_error(message.toStdString()), m_message(message)
    {}
    QString message() const { return m_message; }

private:
    QString m_message;
};

// Builds the effective configuration from, highest first: command-line flags, environment
// variables, the JSON config file, built-in defaults.
class ConfigLoader final
{
public:
    enum class Outcome { Run, ShowedHelp, ShowedVersion };

    // Parses arguments (argv, program name first). Throws ConfigError. Prints help or the version
    // itself and says so in the outcome.
    static Outcome load(const QStringList &arguments, const QProcessEnvironment &environment, Config *config);

    static QString defaultDatabasePath();
    // A --db / KV_DB value as an SQLite file path. Throws ConfigError.
    static QString databasePathFrom(const QString &value);
    // A prefix flag or config value: a path starting with "/", or "false" to switch the group off.
    static std::optional<QString> endpointFrom(const QString &value, const QString &what);
};

} // namespace kvdesk
