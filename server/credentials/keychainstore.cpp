#include "keychainstore.h"

#include <QFileInfo>
#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

#include <qt6keychain/keychain.h>

#include <memory>

Q_LOGGING_CATEGORY(lcCredentials, "kvdesk.credentials", QtInfoMsg)

namespace kvdesk {

namespace {

SecretResult resultOf(QKeychain::Job *job)
{
    SecretResult r;
    const QString detail = job->errorString();
    switch (job->error()) {
    case QKeychain::NoError:
        return r;
    case QKeychain::EntryNotFound:
        r.error = SecretResult::Error::NotFound;
        r.message = QObject::tr("The keychain holds no KV Desk credentials.");
        return r;
    case QKeychain::NoBackendAvailable:
    case QKeychain::NotImplemented:
        r.error = SecretResult::Error::NoKeychain;
        r.message = QObject::tr("No keychain is available on this system (%1).").arg(detail);
        return r;
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        r.error = SecretResult::Error::Denied;
        r.message = QObject::tr("The keychain refused access (%1). Is it locked?").arg(detail);
        return r;
    default:
        // libsecret without a session bus or a Secret Service says so only in words.
        if (detail.contains(QLatin1String("D-Bus")) ||
            detail.contains(QLatin1String("org.freedesktop.secrets"))) {
            r.error = SecretResult::Error::NoKeychain;
            r.message = QObject::tr("No keychain is available (no Secret Service: %1).").arg(detail);
            return r;
        }
        r.error = SecretResult::Error::Failed;
        r.message = QObject::tr("The keychain failed: %1").arg(detail);
        return r;
    }
}

// Runs a job and calls done once: with its result, or with Timeout when it takes too long (the
// job is then left to finish on its own and its result dropped).
void run(QKeychain::Job *job, int timeoutMs, QObject *context, SecretStore::Done done)
{
    struct State
    {
        bool finished = false;
        QPointer<QObject> context;
        SecretStore::Done done;
    };
    auto state = std::make_shared<State>(State{false, context, std::move(done)});
    auto finish = [state](const SecretResult &r) {
        if (state->finished)
            return;
        state->finished = true;
        if (state->context)
            state->done(r);
    };
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    QObject::connect(job, &QKeychain::Job::finished, job, [finish](QKeychain::Job *j) {
        SecretResult r = resultOf(j);
        if (r.ok()) {
            if (auto *read = qobject_cast<QKeychain::ReadPasswordJob *>(j))
                r.data = read->binaryData();
        }
        finish(r);
    });
    // Not the job's own timer: a job that never finishes may never be deleted either.
    QTimer::singleShot(timeoutMs, job->parent(), [finish, timeoutMs] {
        qCWarning(lcCredentials) << "a keychain job took longer than" << timeoutMs << "ms";
        finish(
            SecretResult{SecretResult::Error::Timeout,
                         QObject::tr("The keychain did not answer within %1 s (is it locked, waiting for a "
                                     "password prompt?).")
                             .arg(timeoutMs / 1000.0),
                         {}});
    });
    job->start();
}

} // namespace

bool KeychainStore::mayBeAvailable()
{
    if (qEnvironmentVariableIsSet("DBUS_SESSION_BUS_ADDRESS") || qEnvironmentVariableIsSet("DISPLAY"))
        return true;
    const QString runtime = qEnvironmentVariable("XDG_RUNTIME_DIR");
    return !runtime.isEmpty() && QFileInfo::exists(runtime + QStringLiteral("/bus"));
}

KeychainStore::KeychainStore(int timeoutMs, QObject *parent) : SecretStore(parent), m_timeoutMs(timeoutMs) {}

void KeychainStore::read(const QString &key, QObject *context, Done done)
{
    auto *job = new QKeychain::ReadPasswordJob(QString::fromLatin1(service), this);
    job->setKey(key);
    run(job, m_timeoutMs, context, std::move(done));
}

void KeychainStore::write(const QString &key, const QByteArray &data, QObject *context, Done done)
{
    auto *job = new QKeychain::WritePasswordJob(QString::fromLatin1(service), this);
    job->setKey(key);
    job->setBinaryData(data);
    run(job, m_timeoutMs, context, std::move(done));
}

void KeychainStore::remove(const QString &key, QObject *context, Done done)
{
    auto *job = new QKeychain::DeletePasswordJob(QString::fromLatin1(service), this);
    job->setKey(key);
    run(job, m_timeoutMs, context, std::move(done));
}

} // namespace kvdesk
