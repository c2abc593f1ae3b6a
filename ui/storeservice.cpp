#include "storeservice.h"

#include "kvserver.h"
#include "store/store.h"

#include <QCoreApplication>

namespace kvdesk {

StoreService::StoreService(KvServer &server, QObject *parent)
    : QObject(parent), m_server(server), m_replies(std::make_shared<ReplyChannel>(this))
{
    m_thread.setObjectName(QStringLiteral("kvdesk-browser"));
    m_threadContext = new QObject;
    m_threadContext->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_threadContext, &QObject::deleteLater);
    m_thread.start();
}

StoreService::~StoreService()
{
    m_replies->close();
    // The connection belongs to the reading thread: close it there, before the thread ends (a
    // quit() would leave calls still queued undone).
    QMetaObject::invokeMethod(
        m_threadContext,
        [this] {
            m_browser.reset();
            m_connection.reset();
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

void StoreService::post(std::function<void()> call)
{
    QMetaObject::invokeMethod(m_threadContext, std::move(call), Qt::QueuedConnection);
}

void StoreService::deliver(QPointer<QObject> context, std::function<void()> call)
{
    m_replies->post([context, call = std::move(call)] {
        if (context)
            call();
    });
}

StoreBrowser &StoreService::browser()
{
    if (!m_browser) {
        m_connection = m_server.store().connect();
        m_browser = std::make_unique<StoreBrowser>(*m_connection);
        // The writer may want the log started anew: no snapshot of the window's may stand in the way.
        connect(&m_server.store(), &Store::snapshotsReleaseRequested, this, [this] {
            if (m_connection)
                m_connection->releaseSnapshot();
        });
    }
    return *m_browser;
}

void StoreService::write(QObject *context, std::vector<WriteRequest> requests,
                         std::function<void(bool applied, const std::vector<WriteResult> &results)> done)
{
    WriteBatcher *writer = m_server.writer();
    if (!writer) {
        const WriteResult failed{WriteOutcome::PreconditionFailed, {}, tr("The store is closed."), false};
        done(false, std::vector<WriteResult>(requests.size(), failed));
        return;
    }
    QPointer<QObject> guard(context);
    std::weak_ptr<ReplyChannel> channel = m_replies;
    writer->submitGroup(std::move(requests), [channel, guard, done = std::move(done)](
                                                 bool applied, const std::vector<WriteResult> &results) {
        if (auto replies = channel.lock()) {
            replies->post([guard, done, applied, results] {
                if (guard)
                    done(applied, results);
            });
        }
    });
}

} // namespace kvdesk
