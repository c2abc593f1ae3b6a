#pragma once

#include "storeconnection.h"

#include <QMutex>
#include <QObject>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kvdesk {

class Store;

struct WriteRequest
{
    enum class Kind { Put, Remove };
    Kind kind = Kind::Put;
    QByteArray key;
    QByteArray json;
    std::optional<qint64> expiresAtMs;
    Precondition condition;
};

struct WriteResult
{
    WriteOutcome outcome = WriteOutcome::Written;
    QByteArray etag;
    QString error;          // set when the database failed; nothing was written
    bool temporary = false; // the failure may pass (schema outdated, database unreachable): 503
};

// Where the writer delivers results for one thread: posts to an object of that thread while it
// lives, and drops them once close() was called (the thread is ending). Calls travel together,
// as one event, while the thread has not run the earlier ones yet, and while a Batch is open on
// the posting thread. Made with make_shared.
class ReplyChannel final : public std::enable_shared_from_this<ReplyChannel>
{
public:
    explicit ReplyChannel(QObject *target) : m_target(target) {}
    void post(std::function<void()> call);
    void close();

    // While one is open on a thread, what that thread posts to any channel is held, and each
    // channel sends what it holds as one event when the batch closes: the writer wakes each
    // thread once per transaction instead of once per write.
    class Batch
    {
    public:
        Batch();
        ~Batch();
        Batch(const Batch &) = delete;
        Batch &operator=(const Batch &) = delete;

    private:
        friend class ReplyChannel;
        std::vector<std::shared_ptr<ReplyChannel>> m_channels;
        Batch *m_outer;
    };

private:
    // Whether an event must go out to run what is pending; with m_mutex held.
    bool takeSchedule();
    void send(); // posts that event; with m_sendMutex held
    void runPending();

    // Held while an event goes out (waking the target's thread), so that close() waits for it;
    // m_mutex is not, or the woken thread would find it taken and sleep again. Taken first.
    QMutex m_sendMutex;
    QMutex m_mutex;
    QObject *m_target;
    std::vector<std::function<void()>> m_pending; // posted, not run yet
    bool m_scheduled = false;                     // an event to run them is on its way
    bool m_held = false;                          // listed by the posting thread's open Batch
};

// Group commit: one writer thread applies every write queued since its last transaction in a
// single transaction, and reports each result only after that transaction has committed, so
// concurrent writers share one commit and a result means the change is durable. Its connection
// does not checkpoint the WAL: whoever runs it must (KvServer's Sweeper does, every two seconds).
class WriteBatcher final
{
public:
    explicit WriteBatcher(Store &store);
    ~WriteBatcher(); // applies what is queued, then stops

    // Thread-safe. done runs on the writer thread.
    void submit(WriteRequest request, std::function<void(const WriteResult &)> done);
    // Applies requests all or none (a rename, a folder's delete, an undo): when one of them fails
    // its condition, none is written and applied is false. Thread-safe; done runs on the writer thread.
    // With EachOnItsOwn, each request succeeds or fails its condition alone (an import's batch),
    // still in one transaction, and applied is true.
    enum class Group { AllOrNone, EachOnItsOwn };
    using GroupDone = std::function<void(bool applied, const std::vector<WriteResult> &results)>;
    void submitGroup(std::vector<WriteRequest> requests, GroupDone done, Group kind = Group::AllOrNone);

    static constexpr int maxBatch = 1024;
    // Transactions committed, and writes applied, so far.
    quint64 transactions() const { return m_transactions.load(); }
    quint64 writes() const { return m_writes.load(); }

private:
    struct Pending
    {
        WriteRequest request;
        std::function<void(const WriteResult &)> done;
        std::vector<WriteRequest> group; // with groupDone, instead of request and done
        GroupDone groupDone;
        std::vector<WriteResult> groupResults; // filled by applyGroup, reported after the commit
        bool groupApplied = false;
        Group groupKind = Group::AllOrNone;
    };
    void run();
    static void maintainLog(StoreConnection &connection, bool idle);
    void apply(StoreConnection &connection, std::deque<Pending> &batch);
    static WriteResult applyOne(StoreConnection &connection, const WriteRequest &w);
    static void applyGroup(StoreConnection &connection, Pending &p);
    // How many requests from batch[from] on are puts and removes without a condition, of distinct
    // keys, that the connection writes together (StoreConnection::writeAll); 0 when it writes each
    // on its own.
    static size_t plainWrites(const StoreConnection &connection, const std::deque<Pending> &batch,
                              size_t from);
    static void applyWrites(StoreConnection &connection, const std::deque<Pending> &batch, size_t from,
                            size_t count, std::vector<WriteResult> &results);
    void enqueue(Pending pending);

    Store &m_store;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Pending> m_queue;
    bool m_stopping = false;
    std::atomic<quint64> m_transactions{0};
    std::atomic<quint64> m_writes{0};
    std::thread m_thread;
};

} // namespace kvdesk
