#include "postgresoptions.h"

#include <QCoreApplication>
#include <QUrl>
#include <QUrlQuery>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::Store)
};

} // namespace

bool PostgresOptions::isPostgresUrl(const QString &value)
{
    return value.startsWith("postgres://"_L1) || value.startsWith("postgresql://"_L1);
}

std::optional<PostgresOptions> PostgresOptions::fromUrl(const QString &url, QString *error)
{
    const QUrl parsed(url, QUrl::StrictMode);
    PostgresOptions o;
    if (!parsed.isValid() || !isPostgresUrl(url)) {
        // QUrl's message would quote the URL, password included.
        *error = I18n::tr("the PostgreSQL URL is not valid (postgres://user:password@host:port/database)");
        return std::nullopt;
    }
    o.database = parsed.path().mid(1);
    if (o.database.isEmpty() || o.database.contains(u'/')) {
        *error =
            I18n::tr("the PostgreSQL URL names no database (postgres://user:password@host:port/database)");
        return std::nullopt;
    }
    if (!parsed.host().isEmpty())
        o.host = parsed.host();
    o.port = parsed.port(5432);
    o.user = parsed.userName();
    o.password = parsed.password();
    QStringList options;
    bool timeout = false;
    for (const auto &[key, value] : QUrlQuery(parsed).queryItems(QUrl::FullyDecoded)) {
        if (key.isEmpty() || key.contains(u'=') || key.contains(u';') || value.contains(u';')) {
            *error = I18n::tr("the PostgreSQL URL has an unusable option \"%1\"").arg(key);
            return std::nullopt;
        }
        timeout = timeout || key == "connect_timeout"_L1;
        options << key + u'=' + value;
    }
    // Fail fast when the server is away: requests answer 503 rather than waiting for TCP.
    if (!timeout)
        options << u"connect_timeout=2"_s; // libpq's shortest
    o.connectOptions = options.join(u';');
    return o;
}

QString PostgresOptions::withPassword(const QString &url, const QString &password)
{
    QUrl u(url);
    u.setPassword(password, QUrl::DecodedMode);
    return u.toString(QUrl::FullyEncoded); // a password may hold anything: keep the URL parseable
}

QString PostgresOptions::displayUrl() const
{
    QUrl url;
    url.setScheme(u"postgres"_s);
    url.setUserName(user);
    url.setHost(host);
    url.setPort(port);
    url.setPath(u'/' + database);
    return url.toString();
}

} // namespace kvdesk
