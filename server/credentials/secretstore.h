#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>

#include <functional>

namespace kvdesk {

// What a keychain job ended with.
struct SecretResult
{
    enum class Error { None, NotFound, NoKeychain, Denied, Timeout, Failed };
    Error error = Error::None;
    QString message; // in plain words, for the user
    QByteArray data; // what a read found

    bool ok() const { return error == Error::None; }
};

// The OS keychain behind the project's own small interface: asynchronous jobs that always end,
// with an error or within a timeout. KeychainStore is the real one (QtKeychain); tests use a fake.
class SecretStore : public QObject
{
    Q_OBJECT

public:
    using Done = std::function<void(const SecretResult &)>;

    using QObject::QObject;

    // done runs on this object's thread, once, and only while context lives.
    virtual void read(const QString &key, QObject *context, Done done) = 0;
    virtual void write(const QString &key, const QByteArray &data, QObject *context, Done done) = 0;
    virtual void remove(const QString &key, QObject *context, Done done) = 0;

    // The same, waiting in a local event loop (the command line, start-up before the window).
    SecretResult readNow(const QString &key);
    SecretResult writeNow(const QString &key, const QByteArray &data);
    SecretResult removeNow(const QString &key);
};

} // namespace kvdesk
