#pragma once

#include "store/storebrowser.h"
#include "store/writebatcher.h"

#include <QObject>
#include <QPointer>
#include <QThread>

#include <functional>
#include <memory>

namespace kvdesk {

class KvServer;

// The window's way to the store, off the GUI thread: reads run on a thread of their own (its own
// connection and StoreBrowser), writes go through the server's group-commit writer like the
// HTTP API's. Every answer comes back on the GUI thread, and only while its context object lives.
class StoreService final : public QObject
{
    Q_OBJECT

public:
    explicit StoreService(KvServer &server, QObject *parent = nullptr);
    ~StoreService() override;

    KvServer &server() { return m_server; }

    // Runs work(browser) on the reading thread, then done(result, error) on the GUI thread.
    template<typename T>
    void read(QObject *context, std::function<T(StoreBrowser &)> work,
              std::function<void(const T &result, const QString &error)> done);

    // Writes all or none through the server's writer; done runs on the GUI thread.
    void write(QObject *context, std::vector<WriteRequest> requests,
               std::function<void(bool applied, const std::vector<WriteResult> &results)> done);

private:
    void post(std::function<void()> call); // to the reading thread
    void deliver(QPointer<QObject> context, std::function<void()> call);
    StoreBrowser &browser(); // on the reading thread

    KvServer &m_server;
    QThread m_thread;
    QObject *m_threadContext = nullptr; // lives in m_thread
    std::unique_ptr<StoreConnection> m_connection;
    std::unique_ptr<StoreBrowser> m_browser;
    std::shared_ptr<ReplyChannel> m_replies;
};

template<typename T>
void StoreService::read(QObject *context, std::function<T(StoreBrowser &)> work,
                        std::function<void(const T &result, const QString &error)> done)
{
    QPointer<QObject> guard(context);
    post([this, guard, work = std::move(work), done = std::move(done)]() mutable {
        T result{};
        QString error;
        try {
            result = work(browser());
        } catch (const std::exception &e) {
            error = QString::fromUtf8(e.what());
        }
        deliver(guard,
                [done = std::move(done), result = std::move(result), error]() { done(result, error); });
    });
}

} // namespace kvdesk
