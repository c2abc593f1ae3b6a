#include "sweeper.h"

#include "store.h"
#include "storeconnection.h"
#include "storeerror.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

Sweeper::Sweeper(Store &store, int intervalMs, QObject *parent)
    : QObject(parent), m_store(store), m_timer(new QTimer(this)), m_checkpointTimer(new QTimer(this))
{
    m_timer->setInterval(intervalMs);
    QObject::connect(m_timer, &QTimer::timeout, this, &Sweeper::sweepNow);
    m_checkpointTimer->setInterval(checkpointIntervalMs);
    QObject::connect(m_checkpointTimer, &QTimer::timeout, this, &Sweeper::checkpointNow);
}

Sweeper::~Sweeper() = default;

void Sweeper::start()
{
    m_timer->start();
    m_checkpointTimer->start();
}

void Sweeper::stop()
{
    m_timer->stop();
    m_checkpointTimer->stop();
}

void Sweeper::close()
{
    stop();
    m_connection.reset();
}

void Sweeper::checkpointNow()
{
    try {
        if (!m_connection)
            m_connection = m_store.connect();
        m_connection->checkpoint();
    } catch (const StoreError &e) {
        qCWarning(lcStore).noquote() << "checkpointing the WAL failed:" << e.message();
    }
}

int Sweeper::sweepNow()
{
    constexpr int batch = 500;
    int total = 0;
    try {
        if (!m_store.schemaReady())
            return 0;
        if (!m_connection)
            m_connection = m_store.connect();
        int removed = 0;
        do {
            removed = m_connection->sweepExpired(batch);
            total += removed;
        } while (removed == batch);
    } catch (const StoreError &e) {
        qCWarning(lcStore).noquote() << "sweeping expired keys failed:" << e.message();
    }
    if (total > 0)
        qCDebug(lcStore) << "swept" << total << "expired keys";
    return total;
}

} // namespace kvdesk
