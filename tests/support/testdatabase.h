#pragma once

#include <QString>

namespace kvdesk::test {

// The database a test runs on: an SQLite file by default; with KVDESK_TEST_POSTGRES_URL_FILE set
// (ctest's *_postgres runs, against the private server of tests/postgres-server.sh), a fresh
// schema of that PostgreSQL database for each call, so that every test starts empty.
namespace TestDatabase {

bool isPostgres();
// The PostgreSQL server's URL (with its password), or empty.
QString postgresUrl();
// sqlitePath itself, or the URL of a new, empty PostgreSQL schema (its name ends in nameSuffix).
QString fresh(const QString &sqlitePath, const QString &nameSuffix = {});
// Writes at path an SQLite database as @workertown/kv leaves it (tests/fixtures/original-sqlite.sql):
// its schema, its migrations table and three keys; kvdesk's own migrations pending. A failure
// fails the calling test (QTest::currentTestFailed()).
void writeOriginalSqlite(const QString &path);

} // namespace TestDatabase

} // namespace kvdesk::test
