#include "migrations.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QSqlError>
#include <QSqlQuery>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcMigrations, "kvdesk.store.migrations", QtInfoMsg)

namespace kvdesk {

const QString Migrations::originalInitialMigration = u"1688823193041_add_initial_tables_and_indexes"_s;

namespace {

struct Migration
{
    QString name;
    QString table;        // the table that records it
    QStringList sqlite;   // its statements on SQLite (none: it does not apply there)
    QStringList postgres; // and on PostgreSQL

    const QStringList &statements(bool pg) const { return pg ? postgres : sqlite; }
};

const QList<Migration> &allMigrations()
{
    static const QList<Migration> migrations = {
        {Migrations::originalInitialMigration,
         u"wt_kv_migrations"_s,
         // The original's DDL, statement for statement.
         {uR"(CREATE TABLE IF NOT EXISTS "wt_kv_key_values" ("name" text NOT NULL, "value" text NOT NULL, "updated_at" integer NOT NULL))"_s,
          uR"(CREATE UNIQUE INDEX IF NOT EXISTS "wt_kv_key_values_name_idx" ON "wt_kv_key_values" ("name"))"_s},
         {uR"(CREATE TABLE IF NOT EXISTS "wt_kv_key_values" ("name" varchar(255) NOT NULL, "value" varchar(255) NOT NULL, "updated_at" bigint NOT NULL))"_s,
          uR"(CREATE UNIQUE INDEX IF NOT EXISTS "wt_kv_key_values_name_idx" ON "wt_kv_key_values" ("name"))"_s}},
        {u"kvdesk_0001_add_expires_at"_s,
         u"kvdesk_migrations"_s,
         {uR"(ALTER TABLE "wt_kv_key_values" ADD COLUMN "expires_at" integer)"_s,
          uR"(CREATE INDEX IF NOT EXISTS "kvdesk_key_values_expires_at_idx" ON "wt_kv_key_values" ("expires_at") WHERE "expires_at" IS NOT NULL)"_s},
         {uR"(ALTER TABLE "wt_kv_key_values" ADD COLUMN IF NOT EXISTS "expires_at" bigint)"_s,
          uR"(CREATE INDEX IF NOT EXISTS "kvdesk_key_values_expires_at_idx" ON "wt_kv_key_values" ("expires_at") WHERE "expires_at" IS NOT NULL)"_s}},
        {u"kvdesk_0002_add_version"_s,
         u"kvdesk_migrations"_s,
         {uR"(ALTER TABLE "wt_kv_key_values" ADD COLUMN "version" integer)"_s},
         {uR"(ALTER TABLE "wt_kv_key_values" ADD COLUMN IF NOT EXISTS "version" bigint)"_s}},
        // The original declared names and values varchar(255) on PostgreSQL: keys may be 512 bytes
        // and values 25 MiB. text stays readable by the original. Lists sort in byte order, which
        // the index in the "C" collation serves whatever the database's collation.
        {u"kvdesk_0003_postgres_text_columns"_s,
         u"kvdesk_migrations"_s,
         {},
         {uR"(ALTER TABLE "wt_kv_key_values" ALTER COLUMN "name" TYPE text, ALTER COLUMN "value" TYPE text, ALTER COLUMN "updated_at" TYPE bigint)"_s,
          uR"(CREATE INDEX IF NOT EXISTS "kvdesk_key_values_name_c_idx" ON "wt_kv_key_values" ("name" COLLATE "C"))"_s}},
    };
    return migrations;
}

bool isPostgres(const QSqlDatabase &db)
{
    return db.driverName() == "QPSQL"_L1;
}

void ensureHistoryTables(QSqlDatabase &db)
{
    // Same columns as Kysely's migration table, so the original reads ours.
    for (const auto &table : {u"wt_kv_migrations"_s, u"kvdesk_migrations"_s}) {
        QSqlQuery q(db);
        if (!q.exec(
                uR"(CREATE TABLE IF NOT EXISTS "%1" ("name" varchar(255) NOT NULL PRIMARY KEY, "timestamp" varchar(255) NOT NULL))"_s
                    .arg(table)))
            qCWarning(lcMigrations) << "cannot create" << table << q.lastError().text();
    }
}

QSet<QString> appliedNames(QSqlDatabase &db)
{
    QSet<QString> names;
    for (const auto &table : {u"wt_kv_migrations"_s, u"kvdesk_migrations"_s}) {
        QSqlQuery q(db);
        if (q.exec(uR"(SELECT "name" FROM "%1")"_s.arg(table))) {
            while (q.next())
                names.insert(q.value(0).toString());
        }
    }
    return names;
}

} // namespace

QStringList Migrations::pending(QSqlDatabase &db)
{
    const auto applied = appliedNames(db);
    QStringList names;
    for (const auto &m : allMigrations()) {
        if (!applied.contains(m.name) && !m.statements(isPostgres(db)).isEmpty())
            names << m.name;
    }
    return names;
}

QList<MigrationResult> Migrations::runPending(QSqlDatabase &db, QString *errorMessage)
{
    ensureHistoryTables(db);
    const auto applied = appliedNames(db);
    QList<MigrationResult> results;
    for (const auto &m : allMigrations()) {
        if (applied.contains(m.name) || m.statements(isPostgres(db)).isEmpty())
            continue;
        auto fail = [&](const QSqlError &error) {
            db.rollback();
            results.append({m.name, false});
            *errorMessage = u"Migration %1 failed: %2"_s.arg(m.name, error.text());
            qCCritical(lcMigrations).noquote() << *errorMessage;
            return results;
        };
        if (!db.transaction())
            return fail(db.lastError());
        for (const auto &statement : m.statements(isPostgres(db))) {
            QSqlQuery q(db);
            if (!q.exec(statement))
                return fail(q.lastError());
        }
        QSqlQuery record(db);
        record.prepare(uR"(INSERT INTO "%1" ("name", "timestamp") VALUES (?, ?))"_s.arg(m.table));
        record.addBindValue(m.name);
        record.addBindValue(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs));
        if (!record.exec())
            return fail(record.lastError());
        if (!db.commit())
            return fail(db.lastError());
        qCInfo(lcMigrations).noquote() << "applied migration" << m.name;
        results.append({m.name, true});
    }
    return results;
}

} // namespace kvdesk
