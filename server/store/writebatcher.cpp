#include "writebatcher.h"

#include "store.h"
#include "storeerror.h"

#include <QLoggingCategory>

#include <algorithm>

#include <pthread.h>

Q_DECLARE_LOGGING_CATEGORY(lcStore)

namespace kvdesk {

namespace {

thread_local ReplyChannel::Batch *openBatch = nullptr;

} // namespace

ReplyChannel::Batch::Batch() : m_outer(openBatch)
{
    openBatch = this;
}

ReplyChannel::Batch::~Batch()
{
    openBatch = m_outer;
    for (const auto &channel : m_channels) {
        QMutexLocker sending(&channel->m_sendMutex);
        bool wake = false;
        {
            QMutexLocker lock(&channel->m_mutex);
            channel->m_held = false;
            wake = channel->takeSchedule();
        }
        if (wake)
            channel->send();
    }
}

void ReplyChannel::post(std::function<void()> call)
{
    QMutexLocker sending(&m_sendMutex);
    {
        QMutexLocker lock(&m_mutex);
        if (!m_target)
            return;
        m_pending.push_back(std::move(call));
        if (openBatch) {
            if (!m_held) {
                m_held = true;
                openBatch->m_channels.push_back(shared_from_this());
            }
            return;
        }
        if (!takeSchedule())
            return;
    }
    send();
}

bool ReplyChannel::takeSchedule()
{
    if (m_scheduled || m_pending.empty() || !m_target)
        return false;
    m_scheduled = true;
    return true;
}

void ReplyChannel::send()
{
    // m_target stays while m_sendMutex is held: close() takes it first.
    QMetaObject::invokeMethod(
        m_target, [self = shared_from_this()] { self->runPending(); }, Qt::QueuedConnection);
}

void ReplyChannel::runPending()
{
    std::vector<std::function<void()>> calls;
    {
        QMutexLocker lock(&m_mutex);
        calls.swap(m_pending);
        m_scheduled = false;
    }
    for (auto &call : calls)
        call();
}

void ReplyChannel::close()
{
    QMutexLocker sending(&m_sendMutex);
    QMutexLocker lock(&m_mutex);
    m_target = nullptr;
    m_pending.clear();
}

WriteBatcher::WriteBatcher(Store &store) : m_store(store), m_thread([this] { run(); }) {}

WriteBatcher::~WriteBatcher()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    m_thread.join();
}

void WriteBatcher::submit(WriteRequest request, std::function<void(const WriteResult &)> done)
{
    enqueue(Pending{std::move(request), std::move(done), {}, {}, {}, false, Group::AllOrNone});
}

void WriteBatcher::submitGroup(std::vector<WriteRequest> requests, GroupDone done, Group kind)
{
    enqueue(Pending{{}, {}, std::move(requests), std::move(done), {}, false, kind});
}

void WriteBatcher::enqueue(Pending pending)
{
    bool wasEmpty = false;
    {
        std::lock_guard lock(m_mutex);
        wasEmpty = m_queue.empty();
        m_queue.push_back(std::move(pending));
    }
    // With writes already queued the writer has been woken, or is busy and looks again when done.
    if (wasEmpty)
        m_wake.notify_one();
}

void WriteBatcher::run()
{
    pthread_setname_np(pthread_self(), "kvdesk-write"); // as top -H and perf show it
    std::unique_ptr<StoreConnection> connection;
    QString openError;
    try {
        connection = m_store.connect();
        // A checkpoint's fsync would stall every write of its batch; the Sweeper checkpoints
        // in the background instead.
        connection->setAutoCheckpoint(false);
    } catch (const StoreError &e) {
        openError = e.message();
    }
    for (;;) {
        std::deque<Pending> batch;
        {
            std::unique_lock lock(m_mutex);
            const auto ready = [this] { return m_stopping || !m_queue.empty(); };
            if (connection && connection->logWantsIdleMaintenance()) {
                // The writes paused for a while: the time to start the log anew.
                if (!m_wake.wait_for(lock, std::chrono::milliseconds(100), ready)) {
                    lock.unlock();
                    maintainLog(*connection, true);
                    continue;
                }
            } else {
                m_wake.wait(lock, ready);
            }
            if (m_queue.empty())
                return; // stopping, and everything queued was applied
            while (!m_queue.empty() && batch.size() < size_t(maxBatch)) {
                batch.push_back(std::move(m_queue.front()));
                m_queue.pop_front();
            }
        }
        if (!connection) {
            // The database was away when the writer started: try again for this batch.
            try {
                connection = m_store.connect();
                connection->setAutoCheckpoint(false);
            } catch (const StoreError &e) {
                openError = e.message();
            }
        }
        if (!connection) {
            const WriteResult failed{WriteOutcome::PreconditionFailed, {}, openError, true};
            for (auto &p : batch) {
                if (p.groupDone)
                    p.groupDone(false, std::vector<WriteResult>(p.group.size(), failed));
                else
                    p.done(failed);
            }
            continue;
        }
        apply(*connection, batch);
        maintainLog(*connection, false);
    }
}

void WriteBatcher::maintainLog(StoreConnection &connection, bool idle)
{
    try {
        connection.maintainLog(idle);
    } catch (const StoreError &e) {
        qCWarning(lcStore).noquote() << "keeping the log short failed:" << e.message();
    }
}

WriteResult WriteBatcher::applyOne(StoreConnection &connection, const WriteRequest &w)
{
    try {
        if (w.kind == WriteRequest::Kind::Put) {
            const PutResult put = connection.put(w.key, w.json, w.expiresAtMs, w.condition);
            return WriteResult{put.outcome, put.etag, {}, false};
        }
        return WriteResult{connection.remove(w.key, w.condition), {}, {}, false};
    } catch (const StoreError &e) {
        // This statement failed alone; the others in the transaction stand.
        return WriteResult{WriteOutcome::PreconditionFailed, {}, e.message(), e.isTemporary()};
    }
}

void WriteBatcher::applyGroup(StoreConnection &connection, Pending &p)
{
    std::vector<WriteResult> results;
    results.reserve(p.group.size());
    if (p.groupKind == Group::EachOnItsOwn) {
        for (const WriteRequest &w : p.group)
            results.push_back(applyOne(connection, w));
        p.groupResults = std::move(results);
        p.groupApplied = true;
        return;
    }
    connection.savepoint();
    bool applied = true;
    for (const WriteRequest &w : p.group) {
        results.push_back(applyOne(connection, w));
        if (results.back().outcome != WriteOutcome::Written || !results.back().error.isEmpty()) {
            applied = false;
            break;
        }
    }
    if (applied) {
        connection.releaseSavepoint();
    } else {
        connection.rollbackToSavepoint();
        results.resize(p.group.size(), WriteResult{WriteOutcome::PreconditionFailed, {}, {}, false});
    }
    p.groupResults = std::move(results);
    p.groupApplied = applied;
}

size_t WriteBatcher::plainWrites(const StoreConnection &connection, const std::deque<Pending> &batch,
                                 size_t from)
{
    const int most = connection.writesPerStatement();
    if (most <= 1)
        return 0;
    // Puts and removes without a condition, of keys distinct among them: what a few statements
    // can write together, in any order.
    std::vector<QByteArrayView> keys;
    size_t i = from;
    for (; i < batch.size() && keys.size() < size_t(most); ++i) {
        const Pending &p = batch[i];
        if (p.groupDone || p.request.condition.kind != Precondition::Kind::None ||
            std::find(keys.begin(), keys.end(), QByteArrayView(p.request.key)) != keys.end())
            break;
        keys.push_back(p.request.key);
    }
    return i - from;
}

void WriteBatcher::applyWrites(StoreConnection &connection, const std::deque<Pending> &batch, size_t from,
                               size_t count, std::vector<WriteResult> &results)
{
    std::vector<StoreConnection::PlainWrite> writes;
    writes.reserve(count);
    for (size_t i = from; i < from + count; ++i) {
        const WriteRequest &w = batch[i].request;
        writes.push_back({w.kind == WriteRequest::Kind::Remove, w.key, w.json, w.expiresAtMs});
    }
    try {
        const std::vector<PutResult> written = connection.writeAll(writes);
        for (size_t i = 0; i < count; ++i)
            results[from + i] = WriteResult{written[i].outcome, written[i].etag, {}, false};
    } catch (const StoreError &e) {
        for (size_t i = from; i < from + count; ++i)
            results[i] = WriteResult{WriteOutcome::PreconditionFailed, {}, e.message(), e.isTemporary()};
    }
}

void WriteBatcher::apply(StoreConnection &connection, std::deque<Pending> &batch)
{
    std::vector<WriteResult> results(batch.size());
    std::vector<QByteArrayView> keys;
    keys.reserve(batch.size());
    for (const Pending &p : batch) {
        if (p.groupDone) {
            for (const WriteRequest &w : p.group)
                keys.push_back(w.key);
        } else {
            keys.push_back(p.request.key);
        }
    }
    // A transaction that lost a deadlock against another program's is applied again: nothing of
    // it was written. Other kvdesk nodes' transactions lock the keys they write first, as this one
    // does, and do not deadlock with it.
    for (int attempt = 1;; ++attempt) {
        try {
            connection.begin();
            connection.lockKeys(keys);
            for (size_t i = 0; i < batch.size();) {
                if (batch[i].groupDone) {
                    applyGroup(connection, batch[i]);
                    ++i;
                } else if (const size_t plain = plainWrites(connection, batch, i); plain > 1) {
                    applyWrites(connection, batch, i, plain, results);
                    i += plain;
                } else {
                    results[i] = applyOne(connection, batch[i].request);
                    ++i;
                }
            }
            connection.commit();
            m_transactions.fetch_add(1);
            m_writes.fetch_add(batch.size());
            break;
        } catch (const StoreError &e) {
            try {
                connection.rollback();
            } catch (const StoreError &) {
            }
            if (attempt < 5 && connection.mayRetry(e)) {
                qCInfo(lcStore).noquote() << "applying a batch again:" << e.message();
                continue;
            }
            qCWarning(lcStore).noquote() << "a batch of" << batch.size() << "writes failed:" << e.message();
            const WriteResult failed{WriteOutcome::PreconditionFailed, {}, e.message(), e.isTemporary()};
            for (auto &p : batch) {
                p.groupResults.assign(p.group.size(), failed);
                p.groupApplied = false;
            }
            std::fill(results.begin(), results.end(), failed);
            break;
        }
    }
    // Each thread that waits for some of these results is woken once, for all of them.
    ReplyChannel::Batch replies;
    for (size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].groupDone)
            batch[i].groupDone(batch[i].groupApplied, batch[i].groupResults);
        else
            batch[i].done(results[i]);
    }
}

} // namespace kvdesk
