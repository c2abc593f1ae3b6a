// kvdesk: the command line. Runs a command (credentials, export, import), the desktop window
// (the kvdesk-gui module, loaded only then, so the headless server never maps Qt Widgets), or
// the server alone (--no-gui, or when there is no display).
#include "commands/credentialscommand.h"
#include "commands/transfercommand.h"
#include "credentials/credentialvault.h"
#include "credentials/keychainstore.h"
#include "http/accesslog.h"
#include "kvserver.h"
#include "launch.h"
#include "store/clock.h"
#include "util/signalwatcher.h"

#include <QCoreApplication>
#include <QLoggingCategory>

#include <cstdio>
#include <dlfcn.h>
#include <malloc.h>
#include <string>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

// Commands that run and exit instead of serving.
int runCommand(const QString &command, const QStringList &arguments)
{
    kvdesk::KeychainStore keychain;
    if (command == "credentials"_L1)
        return kvdesk::runCredentialsCommand(arguments, keychain, stdout, stderr);
    return kvdesk::runTransferCommand(arguments, stdout, stderr);
}

bool isCommand(int argc, char *argv[])
{
    if (argc < 2)
        return false;
    const QByteArrayView first(argv[1]);
    return first == "credentials" || first == "export" || first == "import";
}

// The window needs a display; without one (a server, a container, CI) kvdesk runs headless.
bool wantsWindow(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArrayView arg(argv[i]);
        if (arg == "--no-gui" || arg == "--help" || arg == "-h" || arg == "--version" || arg == "-v")
            return false;
    }
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
           qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
}

using GuiMain = int (*)(int, char **);

// The window's module: beside the binary (a build), or in ../lib/kvdesk (an installation).
GuiMain loadWindow(std::string *error)
{
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const std::string dir =
        n > 0 ? std::string(self, size_t(n)).substr(0, std::string(self, size_t(n)).rfind('/'))
              : std::string(".");
    for (const std::string &path : {dir + "/libkvdesk-gui.so", dir + "/../lib/kvdesk/libkvdesk-gui.so"}) {
        if (access(path.c_str(), F_OK) != 0)
            continue;
        void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            *error = dlerror();
            return nullptr;
        }
        if (auto entry = reinterpret_cast<GuiMain>(dlsym(handle, "kvdesk_gui_main")))
            return entry;
        *error = path + ": no kvdesk_gui_main";
        return nullptr;
    }
    *error = "libkvdesk-gui.so is not installed next to kvdesk or in ../lib/kvdesk";
    return nullptr;
}

int runHeadless(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    kvdesk::Launch::prepareApplication();
    kvdesk::Config config;
    if (const auto status = kvdesk::Launch::loadConfig(&config))
        return *status;
    const kvdesk::Launch::Credentials credentials = kvdesk::Launch::readCredentials(config);

    kvdesk::Clock clock;
    kvdesk::KvServer server(config, clock);
    server.accessLog().setOutput(stdout);
    // Before anything is announced: a SIGTERM right after the banner must find the handler.
    kvdesk::SignalWatcher signals;
    kvdesk::Launch::stopOnTermination(signals, server);
    try {
        server.start();
    } catch (const std::exception &e) {
        fprintf(stderr, "kvdesk: %s\n", e.what());
        return 1;
    }
    kvdesk::Launch::printBanner(server, credentials.fromKeychain);
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
#ifndef KVDESK_JEMALLOC
    // Large values (up to 25 MiB) pass through several buffers per request. By default glibc
    // maps each large buffer afresh and unmaps it when freed, so every request pays a page fault
    // per 4 KiB; keeping freed memory for reuse makes big values several times faster. (jemalloc,
    // which the build links unless told not to, keeps freed memory for reuse by itself.)
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
    if (isCommand(argc, argv)) {
        QCoreApplication app(argc, argv);
        QLoggingCategory::setFilterRules(u"kvdesk.*.info=false"_s);
        kvdesk::Launch::prepareApplication();
        const QStringList arguments = QCoreApplication::arguments().mid(1);
        return runCommand(arguments.first(), arguments);
    }
    if (wantsWindow(argc, argv)) {
        std::string error;
        if (const GuiMain window = loadWindow(&error))
            return window(argc, argv);
        fprintf(stderr, "kvdesk: cannot open the window (%s); running the headless server\n", error.c_str());
    }
    return runHeadless(argc, argv);
}
