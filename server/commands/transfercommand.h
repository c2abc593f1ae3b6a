#pragma once

#include <QStringList>

#include <cstdio>

namespace kvdesk {

// `kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FILE]` and
// `kvdesk import [--dry-run] [--on-conflict skip|overwrite] FILE` on the database that --db or
// KV_DB names, streaming. arguments start with the command's name. Returns the exit status:
// 0, 1 when the database or a file fails (or an import met bad records), 2 for a usage error.
int runTransferCommand(const QStringList &arguments, FILE *out, FILE *err);

} // namespace kvdesk
