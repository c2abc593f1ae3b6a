#include "testdatabase.h"

#include "store/postgresoptions.h"

#include <QCoreApplication>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

#include <atomic>

namespace kvdesk::test::TestDatabase {

bool isPostgres()
{
    return qEnvironmentVariableIsSet("KVDESK_TEST_POSTGRES_URL_FILE");
}

QString postgresUrl()
{
    QFile file(qEnvironmentVariable("KVDESK_TEST_POSTGRES_URL_FILE"));
    if (!file.open(QIODevice::ReadOnly))
        qFatal("KVDESK_TEST_POSTGRES_URL_FILE: cannot read %s", qPrintable(file.fileName()));
    return QString::fromUtf8(file.readAll().trimmed());
}

QString fresh(const QString &sqlitePath, const QString &nameSuffix)
{
    if (!isPostgres())
        return sqlitePath;
    static std::atomic<int> serial{0};
    const QString schema =
        QStringLiteral("kvt_%1_%2").arg(QCoreApplication::applicationPid()).arg(++serial) + nameSuffix;
    const QString url = postgresUrl();
    QString error;
    const auto options = PostgresOptions::fromUrl(url, &error);
    const QString connection = QStringLiteral("testdatabase-") + schema;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connection);
        db.setHostName(options->host);
        db.setPort(options->port);
        db.setDatabaseName(options->database);
        db.setUserName(options->user);
        db.setPassword(options->password);
        if (!db.open())
            qFatal("cannot connect to the test PostgreSQL: %s", qPrintable(db.lastError().text()));
        QSqlQuery q(db);
        if (!q.exec(QStringLiteral("CREATE SCHEMA ") + schema))
            qFatal("cannot create a schema: %s", qPrintable(q.lastError().text()));
    }
    QSqlDatabase::removeDatabase(connection);
    // libpq's options: every session of this URL works in the new schema.
    return url + QStringLiteral("?options=-csearch_path%3D") + schema;
}

} // namespace kvdesk::test::TestDatabase
