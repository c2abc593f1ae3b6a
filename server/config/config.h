#pragma once

#include "../auth/authsettings.h"

#include <QString>

#include <optional>

namespace kvdesk {

// Where each endpoint group is served; an empty optional switches the group off.
struct EndpointPaths
{
    QString basePath = QStringLiteral("/");
    std::optional<QString> kv = QStringLiteral("/v1/kv");
    std::optional<QString> admin = QStringLiteral("/v1/admin");
    std::optional<QString> publicPrefix = QStringLiteral("/");

    // basePath + prefix, without a trailing slash ("" for the root).
    static QString join(const QString &basePath, const QString &prefix);
};

// The names of the environment variables that hold the credentials (the config file may rename
// them, or switch a strategy off with false).
struct AuthEnvNames
{
    std::optional<QString> apiKey = QStringLiteral("KV_API_KEY");
    std::optional<QString> username = QStringLiteral("KV_USERNAME");
    std::optional<QString> password = QStringLiteral("KV_PASSWORD");
    bool basic = true;
    bool jwt = true;
    QString jwksUrl = QStringLiteral("KV_JWKS_URL");
    QString secret = QStringLiteral("KV_JWT_SECRET");
    QString issuer = QStringLiteral("KV_JWT_ISSUER");
    QString audience = QStringLiteral("KV_JWT_AUDIENCE");
};

// The effective configuration of one run.
struct Config
{
    bool noGui = false;
    bool useKeychain = true; // read the credentials kept in the OS keychain (--no-keychain: not)
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 8787;
    int threads = 0;                               // 0: one per core
    QString databasePath;                          // the SQLite file, or a postgres:// URL
    QString databaseEnv = QStringLiteral("KV_DB"); // env.database
    EndpointPaths endpoints;
    AuthEnvNames authEnv;
    AuthSettings auth;
    int requestTimeoutMs = 30000;
    int idleTimeoutMs = 30000;
    int maxConnections = 1024;
    int sweepIntervalMs = 60000;
    bool autoMigrate = true;
    qint64 maxValueBytes = 25 * 1024 * 1024;
    qint64 cacheBytes = 256 * 1024 * 1024;
    QString configFile;
};

} // namespace kvdesk
