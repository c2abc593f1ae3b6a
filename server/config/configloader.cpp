#include "configloader.h"

#include "store/postgresoptions.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <QThread>
#include <QUrl>

#include <cmath>
#include <cstdio>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::ConfigLoader)
};

// Reads one JSON object of the config file, refusing keys it does not know (a typo must not be
// ignored silently).
class Section
{
public:
    Section(const QJsonObject &object, QString path, QString file)
        : m_object(object), m_path(std::move(path)), m_file(std::move(file))
    {}

    void allow(const QStringList &keys) const
    {
        for (auto it = m_object.begin(); it != m_object.end(); ++it) {
            if (!keys.contains(it.key()))
                throw ConfigError(I18n::tr("config file %1: unknown key \"%2\"").arg(m_file, name(it.key())));
        }
    }

    bool has(const QString &key) const { return m_object.contains(key); }
    bool isFalse(const QString &key) const { return m_object.value(key) == QJsonValue(false); }

    std::optional<Section> section(const QString &key) const
    {
        if (!m_object.contains(key))
            return std::nullopt;
        if (!m_object.value(key).isObject())
            throw ConfigError(I18n::tr("config file %1: %2 must be an object").arg(m_file, name(key)));
        return Section(m_object.value(key).toObject(), name(key), m_file);
    }

    std::optional<QString> string(const QString &key) const
    {
        if (!m_object.contains(key))
            return std::nullopt;
        if (!m_object.value(key).isString() || m_object.value(key).toString().isEmpty())
            throw ConfigError(
                I18n::tr("config file %1: %2 must be a non-empty string").arg(m_file, name(key)));
        return m_object.value(key).toString();
    }

    // A string, or false.
    std::optional<QString> endpoint(const QString &key) const
    {
        if (isFalse(key))
            return u"false"_s;
        return string(key);
    }

    std::optional<double> number(const QString &key, double min, double max) const
    {
        if (!m_object.contains(key))
            return std::nullopt;
        const QJsonValue v = m_object.value(key);
        if (!v.isDouble() || v.toDouble() < min || v.toDouble() > max)
            throw ConfigError(I18n::tr("config file %1: %2 must be a number from %3 to %4")
                                  .arg(m_file, name(key))
                                  .arg(min)
                                  .arg(max));
        return v.toDouble();
    }

    std::optional<bool> boolean(const QString &key) const
    {
        if (!m_object.contains(key))
            return std::nullopt;
        if (!m_object.value(key).isBool())
            throw ConfigError(I18n::tr("config file %1: %2 must be true or false").arg(m_file, name(key)));
        return m_object.value(key).toBool();
    }

    QString name(const QString &key) const { return m_path.isEmpty() ? key : m_path + u'.' + key; }

private:
    QJsonObject m_object;
    QString m_path;
    QString m_file;
};

void applyConfigFile(const QString &file, Config *config)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        throw ConfigError(I18n::tr("cannot read the config file %1: %2").arg(file, f.errorString()));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        throw ConfigError(I18n::tr("config file %1 is not valid JSON: %2 (at byte %3)")
                              .arg(file, error.errorString())
                              .arg(error.offset));
    if (!doc.isObject())
        throw ConfigError(I18n::tr("config file %1 must hold a JSON object").arg(file));

    const Section root(doc.object(), QString(), file);
    root.allow({u"auth"_s, u"basePath"_s, u"endpoints"_s, u"env"_s, u"server"_s});

    if (const auto auth = root.section(u"auth"_s)) {
        auth->allow({u"apiKey"_s, u"basic"_s, u"jwt"_s});
        AuthEnvNames &names = config->authEnv;
        if (auth->isFalse(u"apiKey"_s)) {
            names.apiKey.reset();
        } else if (const auto apiKey = auth->section(u"apiKey"_s)) {
            apiKey->allow({u"env"_s});
            if (const auto env = apiKey->section(u"env"_s)) {
                env->allow({u"apiKey"_s});
                names.apiKey = env->string(u"apiKey"_s).value_or(*names.apiKey);
            }
        }
        if (auth->isFalse(u"basic"_s)) {
            names.basic = false;
        } else if (const auto basic = auth->section(u"basic"_s)) {
            basic->allow({u"env"_s});
            if (const auto env = basic->section(u"env"_s)) {
                env->allow({u"username"_s, u"password"_s});
                names.username = env->string(u"username"_s).value_or(*names.username);
                names.password = env->string(u"password"_s).value_or(*names.password);
            }
        }
        if (auth->isFalse(u"jwt"_s)) {
            names.jwt = false;
        } else if (const auto jwt = auth->section(u"jwt"_s)) {
            jwt->allow({u"env"_s});
            if (const auto env = jwt->section(u"env"_s)) {
                env->allow({u"jwksUrl"_s, u"secret"_s, u"issuer"_s, u"audience"_s});
                names.jwksUrl = env->string(u"jwksUrl"_s).value_or(names.jwksUrl);
                names.secret = env->string(u"secret"_s).value_or(names.secret);
                names.issuer = env->string(u"issuer"_s).value_or(names.issuer);
                names.audience = env->string(u"audience"_s).value_or(names.audience);
            }
        }
    }
    if (const auto base = root.string(u"basePath"_s)) {
        const auto path = ConfigLoader::endpointFrom(*base, root.name(u"basePath"_s));
        if (!path)
            throw ConfigError(I18n::tr("config file %1: basePath cannot be switched off").arg(file));
        config->endpoints.basePath = *path;
    }
    if (const auto endpoints = root.section(u"endpoints"_s)) {
        endpoints->allow({u"v1"_s, u"public"_s});
        if (const auto v1 = endpoints->section(u"v1"_s)) {
            v1->allow({u"admin"_s, u"kv"_s});
            if (const auto admin = v1->endpoint(u"admin"_s))
                config->endpoints.admin = ConfigLoader::endpointFrom(*admin, v1->name(u"admin"_s));
            if (const auto kv = v1->endpoint(u"kv"_s))
                config->endpoints.kv = ConfigLoader::endpointFrom(*kv, v1->name(u"kv"_s));
        }
        if (const auto pub = endpoints->endpoint(u"public"_s))
            config->endpoints.publicPrefix = ConfigLoader::endpointFrom(*pub, endpoints->name(u"public"_s));
    }
    if (const auto env = root.section(u"env"_s)) {
        env->allow({u"database"_s});
        config->databaseEnv = env->string(u"database"_s).value_or(config->databaseEnv);
    }
    if (const auto server = root.section(u"server"_s)) {
        server->allow({u"host"_s, u"port"_s, u"database"_s, u"threads"_s, u"requestTimeout"_s,
                       u"idleTimeout"_s, u"maxConnections"_s, u"sweepInterval"_s, u"autoMigrate"_s,
                       u"cacheSize"_s});
        config->host = server->string(u"host"_s).value_or(config->host);
        if (const auto port = server->number(u"port"_s, 0, 65535))
            config->port = quint16(*port);
        if (const auto db = server->string(u"database"_s))
            config->databasePath = ConfigLoader::databasePathFrom(*db);
        if (const auto threads = server->number(u"threads"_s, 1, 256))
            config->threads = int(*threads);
        if (const auto t = server->number(u"requestTimeout"_s, 0.01, 3600))
            config->requestTimeoutMs = int(std::lround(*t * 1000));
        if (const auto t = server->number(u"idleTimeout"_s, 0.01, 3600))
            config->idleTimeoutMs = int(std::lround(*t * 1000));
        if (const auto n = server->number(u"maxConnections"_s, 1, 1000000))
            config->maxConnections = int(*n);
        if (const auto t = server->number(u"sweepInterval"_s, 0.01, 86400))
            config->sweepIntervalMs = int(std::lround(*t * 1000));
        config->autoMigrate = server->boolean(u"autoMigrate"_s).value_or(config->autoMigrate);
        if (const auto mib = server->number(u"cacheSize"_s, 0, 1024 * 1024))
            config->cacheBytes = qint64(*mib * 1024 * 1024);
    }
}

double secondsFlag(const QString &value, const QString &flag)
{
    bool ok = false;
    const double seconds = value.toDouble(&ok);
    if (!ok || !std::isfinite(seconds) || seconds < 0.01 || seconds > 86400)
        throw ConfigError(
            I18n::tr("--%1 must be a number of seconds from 0.01 to 86400, not \"%2\"").arg(flag, value));
    return seconds;
}

int integerFlag(const QString &value, const QString &flag, int min, int max)
{
    bool ok = false;
    const int n = value.toInt(&ok);
    if (!ok || n < min || n > max)
        throw ConfigError(I18n::tr("--%1 must be a whole number from %2 to %3, not \"%4\"")
                              .arg(flag)
                              .arg(min)
                              .arg(max)
                              .arg(value));
    return n;
}

} // namespace

QString EndpointPaths::join(const QString &basePath, const QString &prefix)
{
    QString joined = (basePath == "/"_L1 ? QString() : basePath) + (prefix == "/"_L1 ? QString() : prefix);
    return joined;
}

QString ConfigLoader::defaultDatabasePath()
{
    QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (dir.isEmpty())
        dir = QDir::homePath() + "/.local/share/kvdesk"_L1;
    return dir + "/kv.sqlite"_L1;
}

QString ConfigLoader::databasePathFrom(const QString &value)
{
    if (PostgresOptions::isPostgresUrl(value)) {
        QString error;
        if (!PostgresOptions::fromUrl(value, &error))
            throw ConfigError(error);
        return value; // kept whole: the store connects with it (and never shows the password)
    }
    QString path = value;
    if (value.startsWith("sqlite://"_L1)) {
        path = value.mid(9);
        if (path.isEmpty())
            throw ConfigError(I18n::tr("the database URL %1 names no file").arg(value));
        path = QUrl::fromPercentEncoding(path.toUtf8());
    } else if (value.contains("://"_L1)) {
        throw ConfigError(
            I18n::tr("unsupported database URL %1 (use a file path or sqlite:///path)").arg(value));
    }
    if (path == ":memory:"_L1 || path.isEmpty())
        throw ConfigError(
            I18n::tr("the database must be a file (an in-memory database cannot be shared between threads)"));
    return QDir::cleanPath(QDir::current().absoluteFilePath(path));
}

std::optional<QString> ConfigLoader::endpointFrom(const QString &value, const QString &what)
{
    if (value == "false"_L1)
        return std::nullopt;
    if (!value.startsWith(u'/') || value.contains(u'?') || value.contains(u'#') || value.contains(u' ') ||
        value.contains(u'%') || value.contains("//"_L1))
        throw ConfigError(
            I18n::tr("%1 must be a path starting with \"/\" (or false), not \"%2\"").arg(what, value));
    QString path = value;
    while (path.size() > 1 && path.endsWith(u'/'))
        path.chop(1);
    return path;
}

ConfigLoader::Outcome ConfigLoader::load(const QStringList &arguments, const QProcessEnvironment &env,
                                         Config *config)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        I18n::tr("KV Desk: a JSON key/value store with a REST API compatible with @workertown/kv."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption noGui(u"no-gui"_s, I18n::tr("Run only the server, without a window."));
    const QCommandLineOption noKeychain(
        u"no-keychain"_s,
        I18n::tr("Do not read credentials from the OS keychain (environment and config file only)."));
    // Read before the parser runs (its messages are translated too): see Launch::prepareApplication.
    const QCommandLineOption lang(u"lang"_s,
                                  I18n::tr("Language of the window and the messages, such as de, fr or es "
                                           "(default: the system's)."),
                                  I18n::tr("code"));
    const QCommandLineOption host(u"host"_s, I18n::tr("Address to listen on (default 127.0.0.1)."),
                                  I18n::tr("address"));
    const QCommandLineOption port(
        u"port"_s, I18n::tr("Port to listen on (default 8787; 0 picks a free one)."), I18n::tr("port"));
    const QCommandLineOption db(
        u"db"_s,
        I18n::tr("The database: an SQLite file path, sqlite:///path, or "
                 "postgres://user:password@host:port/database (default: kv.sqlite in the "
                 "application-data folder). Overrides KV_DB."),
        I18n::tr("path-or-url"));
    const QCommandLineOption configFile(
        u"config"_s, I18n::tr("A JSON config file shaped like the original's options object."),
        I18n::tr("file"));
    const QCommandLineOption basePath(u"base-path"_s, I18n::tr("Base path of every endpoint (default /)."),
                                      I18n::tr("path"));
    const QCommandLineOption kv(
        u"kv-endpoint"_s, I18n::tr("Prefix of the kv endpoints (default /v1/kv; false switches them off)."),
        I18n::tr("path"));
    const QCommandLineOption admin(
        u"admin-endpoint"_s,
        I18n::tr("Prefix of the admin endpoints (default /v1/admin; false switches them off)."),
        I18n::tr("path"));
    const QCommandLineOption pub(
        u"public-endpoint"_s,
        I18n::tr("Prefix of the public endpoints (default /; false switches them off)."), I18n::tr("path"));
    const QCommandLineOption threads(
        u"threads"_s, I18n::tr("Number of server threads (default: one per core)."), I18n::tr("n"));
    const QCommandLineOption timeout(
        u"request-timeout"_s,
        I18n::tr("Seconds a client has to send a whole request, and that an idle connection "
                 "stays open (default 30)."),
        I18n::tr("seconds"));
    const QCommandLineOption maxConnections(
        u"max-connections"_s, I18n::tr("Most open connections at once (default 1024)."), I18n::tr("n"));
    const QCommandLineOption cacheSize(
        u"cache-size"_s,
        I18n::tr("Bound of the in-memory read cache in MiB (default 256; 0 switches it off)."),
        I18n::tr("mib"));
    const QCommandLineOption sweep(u"sweep-interval"_s,
                                   I18n::tr("Seconds between removals of expired keys' rows (default 60)."),
                                   I18n::tr("seconds"));
    for (const auto &o : {noGui, noKeychain, lang, host, port, db, configFile, basePath, kv, admin, pub,
                          threads, timeout, maxConnections, sweep, cacheSize})
        parser.addOption(o);

    if (!parser.parse(arguments))
        throw ConfigError(parser.errorText());
    if (parser.isSet(help)) {
        fputs(qPrintable(parser.helpText()), stdout);
        fputs(qPrintable(I18n::tr(
                  "\nEnvironment:\n"
                  "  KV_DB                         The database (as --db).\n"
                  "  KV_API_KEY                    API key, sent as \"Authorization: Bearer <key>\".\n"
                  "  KV_USERNAME, KV_PASSWORD      Basic authentication.\n"
                  "  KV_JWT_SECRET                 HMAC secret of JWTs (HS256/384/512).\n"
                  "  KV_JWKS_URL                   JWKS of JWT public keys (RS256/384/512, ES256/384).\n"
                  "  KV_JWT_ISSUER, KV_JWT_AUDIENCE  Required iss and aud of JWTs.\n"
                  "The config file may rename these variables. They win over the credentials kept in\n"
                  "the OS keychain (see: kvdesk credentials --help).\n"
                  "\nCommands:\n"
                  "  kvdesk credentials show|set|rotate|clear   The credentials kept in the OS keychain.\n"
                  "  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FILE]\n"
                  "  kvdesk import [--dry-run] [--on-conflict skip|overwrite] FILE\n")),
              stdout);
        return Outcome::ShowedHelp;
    }
    if (parser.isSet(version)) {
        fprintf(stdout, "kvdesk %s\n", KVDESK_VERSION);
        return Outcome::ShowedVersion;
    }
    if (!parser.positionalArguments().isEmpty())
        throw ConfigError(I18n::tr("unexpected argument \"%1\"").arg(parser.positionalArguments().first()));

    // Lowest first: the config file, then the environment, then the flags.
    if (parser.isSet(configFile)) {
        config->configFile = parser.value(configFile);
        applyConfigFile(config->configFile, config);
    }

    const QString dbFromEnv = env.value(config->databaseEnv);
    if (!dbFromEnv.isEmpty())
        config->databasePath = databasePathFrom(dbFromEnv);
    AuthSettings &auth = config->auth;
    const AuthEnvNames &names = config->authEnv;
    if (names.apiKey)
        auth.apiKey = env.value(*names.apiKey);
    if (names.basic) {
        auth.username = env.value(*names.username);
        auth.password = env.value(*names.password);
    }
    if (names.jwt) {
        auth.jwtSecret = env.value(names.secret);
        auth.jwksUrl = env.value(names.jwksUrl);
        auth.jwtIssuer = env.value(names.issuer);
        auth.jwtAudience = env.value(names.audience);
        if (!auth.jwksUrl.isEmpty()) {
            const QUrl url(auth.jwksUrl, QUrl::StrictMode);
            if (!url.isValid() || (url.scheme() != "https"_L1 && url.scheme() != "http"_L1))
                throw ConfigError(
                    I18n::tr("%1 must be an http(s) URL, not \"%2\"").arg(names.jwksUrl, auth.jwksUrl));
        }
    }

    config->noGui = parser.isSet(noGui);
    config->useKeychain = !parser.isSet(noKeychain);
    if (parser.isSet(host))
        config->host = parser.value(host);
    if (parser.isSet(port))
        config->port = quint16(integerFlag(parser.value(port), u"port"_s, 0, 65535));
    if (parser.isSet(db))
        config->databasePath = databasePathFrom(parser.value(db));
    if (parser.isSet(basePath)) {
        const auto path = endpointFrom(parser.value(basePath), u"--base-path"_s);
        if (!path)
            throw ConfigError(I18n::tr("--base-path cannot be switched off"));
        config->endpoints.basePath = *path;
    }
    if (parser.isSet(kv))
        config->endpoints.kv = endpointFrom(parser.value(kv), u"--kv-endpoint"_s);
    if (parser.isSet(admin))
        config->endpoints.admin = endpointFrom(parser.value(admin), u"--admin-endpoint"_s);
    if (parser.isSet(pub))
        config->endpoints.publicPrefix = endpointFrom(parser.value(pub), u"--public-endpoint"_s);
    if (parser.isSet(threads))
        config->threads = integerFlag(parser.value(threads), u"threads"_s, 1, 256);
    if (parser.isSet(timeout)) {
        config->requestTimeoutMs =
            int(std::lround(secondsFlag(parser.value(timeout), u"request-timeout"_s) * 1000));
        config->idleTimeoutMs = config->requestTimeoutMs;
    }
    if (parser.isSet(maxConnections))
        config->maxConnections = integerFlag(parser.value(maxConnections), u"max-connections"_s, 1, 1000000);
    if (parser.isSet(cacheSize))
        config->cacheBytes =
            qint64(integerFlag(parser.value(cacheSize), u"cache-size"_s, 0, 1024 * 1024)) * 1024 * 1024;
    if (parser.isSet(sweep))
        config->sweepIntervalMs =
            int(std::lround(secondsFlag(parser.value(sweep), u"sweep-interval"_s) * 1000));

    if (config->databasePath.isEmpty())
        config->databasePath = defaultDatabasePath();
    if (config->threads <= 0)
        config->threads = std::max(1, QThread::idealThreadCount());
    if (QHostAddress(config->host).isNull() && config->host != "localhost"_L1)
        throw ConfigError(I18n::tr("--host must be an IP address, not \"%1\"").arg(config->host));
    return Outcome::Run;
}

} // namespace kvdesk
