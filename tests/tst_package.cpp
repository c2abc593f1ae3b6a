// The Debian package: built with CPack from this build, checked by lintian, unpacked into a
// temporary root with dpkg -x, and its files used as installed: the server answers, the window's
// module is found, the desktop entry and metainfo validate, the man page covers every flag.
#include "httpclient.h"

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace kvdesk::test;

namespace {

struct Run
{
    int status = -1;
    QString out;
    QString err;
};

Run run(const QString &program, const QStringList &args, const QString &dir = {},
        const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment(), int timeoutMs = 300000)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs))
        p.kill();
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

const QString appId = u"io.kvdesk.kvdesk"_s;

} // namespace

class TestPackage : public QObject
{
    Q_OBJECT

    QTemporaryDir m_work;
    QString m_deb;
    QString m_root;

    QString installed(const QString &path) const { return m_root + path; }

    // The installed kvdesk (from the unpacked package) on a free port; its port, or 0.
    quint16 startInstalled(QProcess &server, const QProcessEnvironment &env, const QStringList &mode)
    {
        server.setProcessEnvironment(env);
        server.start(installed(u"/usr/bin/kvdesk"_s),
                     mode + QStringList{u"--no-keychain"_s, u"--port"_s, u"0"_s, u"--db"_s,
                                        m_work.filePath(u"data/kv.sqlite"_s)});
        QString out;
        const QRegularExpression listening(u"listening on http://127\\.0\\.0\\.1:(\\d+)"_s);
        for (int i = 0; i < 150; ++i) {
            server.waitForReadyRead(100);
            out += QString::fromUtf8(server.readAllStandardOutput());
            const auto m = listening.match(out);
            if (m.hasMatch())
                return quint16(m.captured(1).toUInt());
            if (server.state() == QProcess::NotRunning)
                break;
        }
        qWarning().noquote() << out << server.readAllStandardError();
        return 0;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
        // CPack installs this build into its staging folder and packs it (binaries stripped).
        const Run cpack =
            run(QStringLiteral(KVDESK_CPACK), {u"-G"_s, u"DEB"_s, u"-B"_s, m_work.filePath(u"deb"_s)},
                QStringLiteral(KVDESK_BUILD_DIR));
        QVERIFY2(cpack.status == 0, qPrintable(cpack.out + cpack.err));
        const QStringList debs = QDir(m_work.filePath(u"deb"_s)).entryList({u"kvdesk_*.deb"_s});
        QCOMPARE(debs.size(), 1);
        m_deb = m_work.filePath(u"deb/"_s + debs.first());
        QCOMPARE(debs.first(), u"kvdesk_" KVDESK_VERSION "_amd64.deb"_s);
        m_root = m_work.filePath(u"root"_s);
        const Run unpack = run(u"dpkg-deb"_s, {u"-x"_s, m_deb, m_root});
        QVERIFY2(unpack.status == 0, qPrintable(unpack.err));
        QVERIFY(QDir().mkpath(m_work.filePath(u"data"_s)));
    }

    void lintianReportsNoErrors()
    {
        const Run lintian = run(u"lintian"_s, {u"--fail-on"_s, u"error,warning"_s, m_deb});
        QVERIFY2(lintian.status == 0, qPrintable(lintian.out + lintian.err));
        QVERIFY2(!lintian.out.contains(u"E: "_s), qPrintable(lintian.out));
    }

    void controlFieldsNameWhatKvdeskNeeds()
    {
        const Run fields = run(u"dpkg-deb"_s, {u"-f"_s, m_deb, u"Package"_s, u"Version"_s, u"Depends"_s,
                                               u"Recommends"_s, u"Description"_s});
        QCOMPARE(fields.status, 0);
        QVERIFY(fields.out.contains(u"Version: " KVDESK_VERSION ""_s));
        // From the binaries (dpkg-shlibdeps) and what Qt loads at run time.
        for (const auto &dep :
             {u"libqt6core6"_s, u"libqt6network6"_s, u"libqt6keychain1"_s, u"libssl3"_s, u"libsqlite3-0"_s,
              u"libqt6sql6-sqlite"_s, u"qt6-qpa-plugins"_s, u"adduser"_s})
            QVERIFY2(fields.out.contains(dep), qPrintable(dep));
#ifdef KVDESK_BINARY_USES_JEMALLOC
        QVERIFY2(fields.out.contains(u"libjemalloc2"_s), qPrintable(fields.out));
#endif
        QVERIFY(fields.out.contains(u"Recommends: qt6-translations-l10n"_s));
        const Run scripts = run(u"dpkg-deb"_s, {u"-I"_s, m_deb});
        for (const auto &part : {u"postinst"_s, u"prerm"_s, u"postrm"_s, u"conffiles"_s})
            QVERIFY2(scripts.out.contains(part), qPrintable(part));
    }

    void installedServerAnswers()
    {
        QCOMPARE(run(installed(u"/usr/bin/kvdesk"_s), {u"--version"_s}).out.trimmed(),
                 u"kvdesk " KVDESK_VERSION ""_s);
        // The translations are inside the binary.
        QVERIFY(run(installed(u"/usr/bin/kvdesk"_s), {u"--lang"_s, u"fr"_s, u"--help"_s})
                    .out.contains(u"Lancer seulement le serveur, sans fenêtre."_s));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"KV_API_KEY"_s, u"package-test-key"_s);
        QProcess server;
        const quint16 port = startInstalled(server, env, {u"--no-gui"_s});
        QVERIFY(port);
        HttpClient client(port);
        const auto health = client.request("GET", "/health");
        QCOMPARE(health.status, 200);
        const QList<QPair<QByteArray, QByteArray>> auth = {{"Authorization", "Bearer package-test-key"}};
        QCOMPARE(client.request("PUT", "/v1/kv/packaged", "{\"value\":{\"ok\":true}}", auth).status, 200);
        const auto read = client.request("GET", "/v1/kv/packaged", {}, auth);
        QCOMPARE(read.status, 200);
        QVERIFY(read.body.contains("\"ok\":true"));
        server.terminate();
        QVERIFY(server.waitForFinished(10000));
        QCOMPARE(server.exitCode(), 0);
    }

    void installedBinaryFindsItsWindow()
    {
        QVERIFY(QFile::exists(installed(u"/usr/lib/kvdesk/libkvdesk-gui.so"_s)));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
        env.insert(u"KV_API_KEY"_s, u"package-test-key"_s);
        env.insert(u"HOME"_s, m_work.filePath(u"home"_s));
        QProcess window;
        QVERIFY(startInstalled(window, env, {}));
        window.terminate();
        QVERIFY(window.waitForFinished(10000));
        const QString err = QString::fromUtf8(window.readAllStandardError());
        QVERIFY2(!err.contains(u"cannot open the window"_s), qPrintable(err));
    }

    void desktopEntryAndMetainfoValidate()
    {
        const QString desktop = installed(u"/usr/share/applications/"_s + appId + u".desktop"_s);
        const Run entry = run(u"desktop-file-validate"_s, {desktop});
        QVERIFY2(entry.status == 0 && entry.out.isEmpty(), qPrintable(entry.out + entry.err));
        QFile file(desktop);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray text = file.readAll();
        QVERIFY(text.contains("\nExec=kvdesk\n"));
        QVERIFY(text.contains(QByteArray("\nIcon=" + appId.toUtf8() + "\n")));
        QVERIFY(text.contains("GenericName[de]="));
        for (const QString &icon :
             QStringList{u"scalable/apps/"_s + appId + u".svg"_s, u"48x48/apps/"_s + appId + u".png"_s,
                         u"256x256/apps/"_s + appId + u".png"_s})
            QVERIFY2(QFile::exists(installed(u"/usr/share/icons/hicolor/"_s + icon)), qPrintable(icon));
        const Run metainfo =
            run(u"appstreamcli"_s, {u"validate"_s, u"--no-net"_s, u"--pedantic"_s,
                                    installed(u"/usr/share/metainfo/"_s + appId + u".metainfo.xml"_s)});
        QVERIFY2(metainfo.status == 0, qPrintable(metainfo.out + metainfo.err));
        QVERIFY2(!metainfo.out.contains(u"W:"_s) && !metainfo.out.contains(u"E:"_s),
                 qPrintable(metainfo.out));
    }

    void manPageCoversEveryFlag()
    {
        const QString page = installed(u"/usr/share/man/man1/kvdesk.1.gz"_s);
        const Run source = run(u"gzip"_s, {u"-dc"_s, page});
        QCOMPARE(source.status, 0);
        const QString roff = QString(source.out).replace(u"\\-"_s, u"-"_s);
        const Run help = run(installed(u"/usr/bin/kvdesk"_s), {u"--help"_s});
        const QRegularExpression flag(u"(?:^|\\s)(--[a-z][a-z-]+)"_s);
        QStringList flags;
        for (auto it = flag.globalMatch(help.out); it.hasNext();)
            flags << it.next().captured(1);
        QVERIFY(flags.size() >= 18);
        for (const QString &f : std::as_const(flags))
            QVERIFY2(roff.contains(f), qPrintable(f + u" is not in the man page"_s));
        for (const auto &word : {u"KV_API_KEY"_s, u"KV_DB"_s, u"KV_JWKS_URL"_s, u"FILES"_s, u"EXAMPLES"_s,
                                 u"/etc/default/kvdesk"_s, u"credentials rotate"_s, u"kvdesk export"_s})
            QVERIFY2(roff.contains(word), qPrintable(word));
        QVERIFY(roff.contains(u"\"kvdesk " KVDESK_VERSION "\""_s));
        // It renders without a warning from groff.
        const Run man = run(u"man"_s, {u"--warnings"_s, u"-E"_s, u"UTF-8"_s, u"-l"_s, page});
        QCOMPARE(man.status, 0);
        QVERIFY2(man.err.isEmpty(), qPrintable(man.err));
        QVERIFY(man.out.contains(u"--sweep-interval"_s));
    }

    void systemServiceIsSandboxedWithItsOwnUser()
    {
        QFile unit(installed(u"/lib/systemd/system/kvdesk.service"_s));
        QVERIFY(unit.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(unit.readAll());
        for (const auto &line :
             {u"User=kvdesk"_s, u"StateDirectory=kvdesk"_s, u"EnvironmentFile=-/etc/default/kvdesk"_s,
              u"ExecStart=/usr/bin/kvdesk --no-gui --no-keychain $KVDESK_OPTS"_s, u"Restart=on-failure"_s,
              u"ProtectSystem=strict"_s, u"NoNewPrivileges=true"_s, u"ProtectHome=true"_s,
              u"WantedBy=multi-user.target"_s})
            QVERIFY2(text.contains(u'\n' + line + u'\n'), qPrintable(line));
        // The settings file is private: it holds the credentials.
        const QFileInfo defaults(installed(u"/etc/default/kvdesk"_s));
        QCOMPARE(defaults.permissions() & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());
        // The maintainer scripts are valid shell.
        const Run control = run(u"dpkg-deb"_s, {u"-e"_s, m_deb, m_work.filePath(u"control"_s)});
        QCOMPARE(control.status, 0);
        for (const auto &script : {u"postinst"_s, u"prerm"_s, u"postrm"_s})
            QCOMPARE(run(u"sh"_s, {u"-n"_s, m_work.filePath(u"control/"_s + script)}).status, 0);
    }
};

QTEST_GUILESS_MAIN(TestPackage)
#include "tst_package.moc"
