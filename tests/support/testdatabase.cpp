#include "testdatabase.h"

#include "store/postgresoptions.h"

#include <QCoreApplication>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>

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

void writeOriginalSqlite(const QString &path)
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("fixture"));
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QFile file(QStringLiteral(KVDESK_FIXTURES "/original-sqlite.sql"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(file.readAll());
        for (QString statement : text.split(u';')) {
            QStringList lines;
            for (const QString &line : statement.split(u'\n')) {
                if (!line.trimmed().startsWith(QStringLiteral("--")))
                    lines << line;
            }
            statement = lines.join(u'\n').trimmed();
            if (statement.isEmpty())
                continue;
            QSqlQuery q(db);
            QVERIFY2(q.exec(statement), qPrintable(statement));
        }
    }
    QSqlDatabase::removeDatabase(QStringLiteral("fixture"));
}

} // namespace kvdesk::test::TestDatabase
