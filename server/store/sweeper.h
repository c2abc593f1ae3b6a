#pragma once

#include <QObject>
#include <QTimer>

#include <memory>

namespace kvdesk {

class Store;
class StoreConnection;

// Removes the rows of expired keys now and then (they are already invisible to every reader),
// in small batches so that writers never wait long.
class Sweeper final : public QObject
{
    Q_OBJECT

public:
    Sweeper(Store &store, int intervalMs, QObject *parent = nullptr);
    ~Sweeper() override;

    void start();
    // Removes every expired row now; returns how many.
    int sweepNow();

private:
    Store &m_store;
    std::unique_ptr<StoreConnection> m_connection;
    QTimer m_timer;
};

} // namespace kvdesk
