#pragma once

#include <QString>

#include <optional>

namespace kvdesk {

// Where a PostgreSQL database is: postgres://user:password@host:port/database?option=value, the
// URL form of libpq (postgresql:// too). Query options are libpq's connection options
// (sslmode, connect_timeout, options, application_name, ...).
struct PostgresOptions
{
    QString host = QStringLiteral("localhost");
    int port = 5432;
    QString database;
    QString user;
    QString password;
    QString connectOptions; // for QSqlDatabase::setConnectOptions: "key=value;key=value"

    static bool isPostgresUrl(const QString &value);
    // nullopt, with *error set (never containing the password), when the URL is not usable.
    static std::optional<PostgresOptions> fromUrl(const QString &url, QString *error);
    // The URL without its password: what logs, /admin/info and the window show.
    QString displayUrl() const;
    // The name the OS keychain keeps this database's password under ("postgres:" and the URL
    // without password or options): kvdesk looks there when --db names no password.
    QString keychainKey() const { return QStringLiteral("postgres:") + displayUrl(); }
    // url with its password set.
    static QString withPassword(const QString &url, const QString &password);
};

} // namespace kvdesk
