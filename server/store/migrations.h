#pragma once

#include <QList>
#include <QSqlDatabase>
#include <QString>

namespace kvdesk {

struct MigrationResult
{
    QString name;
    bool success = false;
};

// The schema's history. The original's first migration is recorded in `wt_kv_migrations` (as the
// original's Kysely migrator expects); this project's own migrations are recorded in
// `kvdesk_migrations`, because the original refuses to start on a migration table that names
// migrations it does not know.
class Migrations final
{
public:
    static const QString originalInitialMigration;

    // Names of the migrations not yet applied to db.
    static QStringList pending(QSqlDatabase &db);
    // Applies every pending migration, each in its own transaction, stopping at the first failure.
    // errorMessage is set when one failed (its result is the last one, with success false).
    static QList<MigrationResult> runPending(QSqlDatabase &db, QString *errorMessage);
};

} // namespace kvdesk
