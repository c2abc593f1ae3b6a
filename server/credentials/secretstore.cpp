#include "secretstore.h"

#include <QEventLoop>

#include <optional>

namespace kvdesk {

namespace {

template<typename Start> SecretResult wait(Start start)
{
    QEventLoop loop;
    std::optional<SecretResult> result;
    start(&loop, [&](const SecretResult &r) {
        result = r;
        loop.quit();
    });
    if (!result)
        loop.exec();
    return *result;
}

} // namespace

SecretResult SecretStore::readNow(const QString &key)
{
    return wait([&](QObject *context, Done done) { read(key, context, std::move(done)); });
}

SecretResult SecretStore::writeNow(const QString &key, const QByteArray &data)
{
    return wait([&](QObject *context, Done done) { write(key, data, context, std::move(done)); });
}

SecretResult SecretStore::removeNow(const QString &key)
{
    return wait([&](QObject *context, Done done) { remove(key, context, std::move(done)); });
}

} // namespace kvdesk
