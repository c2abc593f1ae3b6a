#pragma once

#include "credentials/secretstore.h"

#include <QHash>
#include <QPointer>
#include <QTimer>

namespace kvdesk::test {

// An in-memory keychain for unit tests: answers after delayMs, or fails with failWith.
class FakeSecretStore final : public SecretStore
{
public:
    QHash<QString, QByteArray> entries;
    SecretResult::Error failWith = SecretResult::Error::None;
    int delayMs = 0;
    int jobs = 0;

    void read(const QString &key, QObject *context, Done done) override
    {
        answer(context, std::move(done), [this, key] {
            if (!entries.contains(key))
                return SecretResult{SecretResult::Error::NotFound, QStringLiteral("not found"), {}};
            return SecretResult{SecretResult::Error::None, {}, entries.value(key)};
        });
    }
    void write(const QString &key, const QByteArray &data, QObject *context, Done done) override
    {
        answer(context, std::move(done), [this, key, data] {
            entries.insert(key, data);
            return SecretResult{};
        });
    }
    void remove(const QString &key, QObject *context, Done done) override
    {
        answer(context, std::move(done), [this, key] {
            return entries.remove(key)
                       ? SecretResult{}
                       : SecretResult{SecretResult::Error::NotFound, QStringLiteral("not found"), {}};
        });
    }

private:
    template<typename Work> void answer(QObject *context, Done done, Work work)
    {
        ++jobs;
        QPointer<QObject> guard(context);
        QTimer::singleShot(delayMs, this, [this, guard, done = std::move(done), work]() {
            if (!guard)
                return;
            if (failWith != SecretResult::Error::None)
                done(SecretResult{failWith, QStringLiteral("The fake keychain is unavailable."), {}});
            else
                done(work());
        });
    }
};

} // namespace kvdesk::test
