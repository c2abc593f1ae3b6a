#include "cachewarmer.h"

#include "store.h"
#include "storeconnection.h"
#include "storeerror.h"
#include "valuecache.h"

#include <QElapsedTimer>
#include <QLoggingCategory>

#include <pthread.h>

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

CacheWarmer::CacheWarmer(const Store &store) : m_store(store)
{
    if (store.cache().enabled() && store.schemaReady())
        m_thread = std::thread([this] { run(); });
}

CacheWarmer::~CacheWarmer()
{
    m_stop.store(true, std::memory_order_relaxed);
    wait();
}

qint64 CacheWarmer::wait()
{
    if (m_thread.joinable())
        m_thread.join();
    return m_kept;
}

void CacheWarmer::run()
{
    pthread_setname_np(pthread_self(), "kvdesk-warm");
    QElapsedTimer timer;
    timer.start();
    try {
        const auto connection = m_store.connect();
        m_kept = connection->warmCache([this] { return m_stop.load(std::memory_order_relaxed); });
        qCInfo(lcStore).noquote() << "read cache warmed:" << m_kept << "values,"
                                  << m_store.cache().bytes() / (1024 * 1024) << "MiB of"
                                  << m_store.cache().maxBytes() / (1024 * 1024) << "in" << timer.elapsed()
                                  << "ms";
    } catch (const StoreError &e) {
        // Only a head start lost: reads fill the cache as they go.
        qCWarning(lcStore).noquote() << "cannot warm the read cache:" << e.message();
    }
}

} // namespace kvdesk
