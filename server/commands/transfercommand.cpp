#include "transfercommand.h"

#include "config/configloader.h"
#include "store/clock.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "store/storeerror.h"
#include "transfer/exporter.h"
#include "transfer/importer.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QProcessEnvironment>

namespace kvdesk {

namespace {

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::TransferCommand)
};

void print(FILE *stream, const QString &text)
{
    fputs(qPrintable(text), stream);
    fflush(stream);
}

} // namespace

int runTransferCommand(const QStringList &arguments, FILE *out, FILE *err)
{
    const QString command = arguments.first();
    const bool exporting = command == QLatin1String("export");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        exporting
            ? I18n::tr(
                  "Writes the keys (all, or those under a prefix) to FILE, or to standard output.\n"
                  "Formats: ndjson (one {\"key\",\"value\",\"expiration\"} per line, the default), wrangler "
                  "(the JSON array `wrangler kv bulk put` reads; values as strings), json ({\"key\": value}, "
                  "without TTLs).")
            : I18n::tr(
                  "Reads keys from FILE (\"-\": standard input): NDJSON, a wrangler bulk array or a JSON "
                  "object, recognised from the content. One transaction per 1,000 keys; bad records are "
                  "reported and skipped. Stop the server on that database first, or use POST "
                  "{admin}/import."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption db(QStringLiteral("db"),
                                I18n::tr("The database (default: KV_DB, then the default path)."),
                                I18n::tr("path"));
    const QCommandLineOption prefix(QStringLiteral("prefix"), I18n::tr("Only keys that start with this."),
                                    I18n::tr("prefix"));
    const QCommandLineOption format(QStringLiteral("format"), I18n::tr("ndjson, wrangler or json."),
                                    I18n::tr("format"), QStringLiteral("ndjson"));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"),
                                    I18n::tr("Report what would change; write nothing."));
    const QCommandLineOption onConflict(
        QStringLiteral("on-conflict"),
        I18n::tr("What to do with keys that exist: overwrite (default) or skip."), I18n::tr("policy"),
        QStringLiteral("overwrite"));
    parser.addOption(db);
    if (exporting) {
        parser.addOption(prefix);
        parser.addOption(format);
        parser.addPositionalArgument(QStringLiteral("FILE"),
                                     I18n::tr("Where to write (default: standard output)."));
    } else {
        parser.addOption(dryRun);
        parser.addOption(onConflict);
        parser.addPositionalArgument(QStringLiteral("FILE"), I18n::tr("The dump to read."));
    }
    if (!parser.parse(arguments)) {
        print(err, QStringLiteral("kvdesk %1: %2\n").arg(command, parser.errorText()));
        return 2;
    }
    if (parser.isSet(help)) {
        print(out, parser.helpText());
        return 0;
    }
    const QStringList files = parser.positionalArguments();
    if (files.size() > 1 || (!exporting && files.isEmpty())) {
        print(err, exporting ? I18n::tr("kvdesk export: at most one FILE\n")
                             : I18n::tr("kvdesk import: name one FILE\n"));
        return 2;
    }

    QString path;
    try {
        const QString dbValue = parser.isSet(db)
                                    ? parser.value(db)
                                    : QProcessEnvironment::systemEnvironment().value(QStringLiteral("KV_DB"));
        path =
            dbValue.isEmpty() ? ConfigLoader::defaultDatabasePath() : ConfigLoader::databasePathFrom(dbValue);
    } catch (const ConfigError &e) {
        print(err, QStringLiteral("kvdesk %1: %2\n").arg(command, e.message()));
        return 2;
    }

    Clock clock;
    if (exporting) {
        DumpFormat dumpFormat = DumpFormat::Ndjson;
        const QString f = parser.value(format);
        if (f == QLatin1String("wrangler"))
            dumpFormat = DumpFormat::Wrangler;
        else if (f == QLatin1String("json"))
            dumpFormat = DumpFormat::Object;
        else if (f != QLatin1String("ndjson")) {
            print(err, I18n::tr("kvdesk export: --format is ndjson, wrangler or json, not \"%1\"\n").arg(f));
            return 2;
        }
        QFile output;
        const bool ok = files.isEmpty() || files.first() == QLatin1String("-")
                            ? output.open(stdout, QIODevice::WriteOnly)
                            : (output.setFileName(files.first()),
                               output.open(QIODevice::WriteOnly | QIODevice::Truncate));
        if (!ok) {
            print(err,
                  I18n::tr("kvdesk export: cannot write %1: %2\n").arg(files.value(0), output.errorString()));
            return 1;
        }
        try {
            StoreOptions options = StoreOptions::forDatabase(path);
            options.autoMigrate = false;
            options.cacheBytes = 0;
            options.readOnly = true;
            Store store(options, clock);
            store.open();
            auto connection = store.connect();
            Exporter exporter(*connection, dumpFormat, parser.value(prefix).toUtf8());
            const ExportReport report = exporter.run(output);
            output.close();
            if (!report.error.isEmpty()) {
                print(err, I18n::tr("kvdesk export: %1\n").arg(report.error));
                return 1;
            }
            print(err, I18n::tr("Exported %1 keys (%2 bytes).\n").arg(report.keys).arg(report.bytes));
            return 0;
        } catch (const StoreError &e) {
            print(err, I18n::tr("kvdesk export: %1\n").arg(e.message()));
            return 1;
        }
    }

    ImportOptions options;
    options.dryRun = parser.isSet(dryRun);
    const QString policy = parser.value(onConflict);
    if (policy == QLatin1String("skip"))
        options.onConflict = ImportOptions::OnConflict::Skip;
    else if (policy != QLatin1String("overwrite")) {
        print(err, I18n::tr("kvdesk import: --on-conflict is skip or overwrite, not \"%1\"\n").arg(policy));
        return 2;
    }
    QFile input;
    const bool ok = files.first() == QLatin1String("-")
                        ? input.open(stdin, QIODevice::ReadOnly)
                        : (input.setFileName(files.first()), input.open(QIODevice::ReadOnly));
    if (!ok) {
        print(err, I18n::tr("kvdesk import: cannot read %1: %2\n").arg(files.first(), input.errorString()));
        return 1;
    }
    try {
        StoreOptions storeOptions = StoreOptions::forDatabase(path);
        storeOptions.cacheBytes = 0;
        Store store(storeOptions, clock);
        store.open();
        auto connection = store.connect();
        ConnectionSink sink(*connection);
        Importer importer(sink, options, clock.nowMs());
        const ImportReport report = importer.run(input);
        print(out, (options.dryRun ? I18n::tr("Dry run (nothing written): %1\n") : I18n::tr("Imported: %1\n"))
                       .arg(report.summary()));
        if (options.dryRun) {
            for (const ImportChange &c : report.preview) {
                const char *kind = c.kind == ImportChange::Kind::Create      ? "create"
                                   : c.kind == ImportChange::Kind::Overwrite ? "overwrite"
                                   : c.kind == ImportChange::Kind::Skip      ? "skip"
                                                                             : "unchanged";
                print(out, QStringLiteral("  %1 %2\n").arg(QLatin1String(kind), QString::fromUtf8(c.key)));
            }
        }
        return report.ok() && report.invalid == 0 ? 0 : 1;
    } catch (const StoreError &e) {
        print(err, I18n::tr("kvdesk import: %1\n").arg(e.message()));
        if (e.kind() == StoreError::Kind::InUse)
            print(err,
                  I18n::tr(
                      "Stop that server first, or import through it: POST {admin}/import, or File > Import "
                      "Keys in its window.\n"));
        return 1;
    }
}

} // namespace kvdesk
