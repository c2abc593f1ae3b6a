#pragma once

#include "store/storebrowser.h"

#include <QAbstractItemModel>
#include <QTimer>

#include <map>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace kvdesk {

class Clock;
class StoreService;

// The keys of the store as a tree of folders (split at '/') or as a flat list, loaded lazily a
// page at a time on the store's reading thread, so that a million keys cost only what is shown.
// Kept live: keys announced by the store's commits are looked up again and their rows inserted,
// updated or removed; keys whose TTL runs out are removed on their own.
class KeyModel final : public QAbstractItemModel
{
    Q_OBJECT

public:
    enum Column { NameColumn, SizeColumn, TtlColumn, UpdatedColumn, ColumnCount };
    enum Role { KeyRole = Qt::UserRole + 1, IsFolderRole, ExpiresAtRole };
    static constexpr int pageSize = 500;

    KeyModel(StoreService &service, const Clock &clock, QObject *parent = nullptr);
    ~KeyModel() override;

    void setGrouped(bool grouped);
    bool isGrouped() const { return m_grouped; }
    void setFilter(const BrowseFilter &filter);
    const BrowseFilter &filter() const { return m_filter; }
    // Drops everything loaded and starts again from the first page.
    void reload();

    // The row of key (a key, or a folder ending with '/') if it is loaded.
    QModelIndex indexForKey(const QByteArray &key) const;
    static QByteArray keyOf(const QModelIndex &index) { return index.data(KeyRole).toByteArray(); }

    qint64 shownCount() const { return m_shownCount; }
    qint64 totalCount() const { return m_totalCount; }
    bool isLoading() const { return m_pendingFetches > 0 || m_changesInFlight; }

    // Keys whose rows must be checked against the store (the store's change signal ends here).
    void noteChanged(const QList<QByteArray> &keys);
    // Changed keys looked up in the store so far, and those left alone (beyond what is loaded).
    qint64 keysLookedUp() const { return m_keysLookedUp; }
    qint64 keysSkipped() const { return m_keysSkipped; }
    // Counts made so far, the time the store took for them, and how long changes now wait for the
    // next one.
    qint64 countsMade() const { return m_countsMade; }
    qint64 countingMs() const { return m_countingMs; }
    int countDelayMs() const { return m_countTimer.interval(); }

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    bool hasChildren(const QModelIndex &parent = {}) const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    // Whether parent has rows not loaded yet (and none on their way); fetchMore loads the next page.
    bool hasMoreToLoad(const QModelIndex &parent) const;
    void fetchMore(const QModelIndex &parent) override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;

Q_SIGNALS:
    void countsChanged(qint64 shown, qint64 total);
    void loadingChanged(bool loading);
    void errorOccurred(const QString &message);
    // Rows were inserted or updated for these keys after a change (the editor listens).
    void keysRefreshed(const QList<QByteArray> &presentKeys, const QList<QByteArray> &removedKeys);

private:
    struct Node;
    struct Lookup;
    // From this many rows of one folder on, a change applies them together (insertRows).
    static constexpr size_t bulkRows = 8;
    // Changed keys are looked up this long after the first change, at most this many at a time.
    static constexpr int changeDelayMs = 150;
    static constexpr qsizetype changeChunk = 10000;
    // While keys change, the counts are made again at most every 300 ms, and the store spends at
    // most a twentieth of its time on them: counting a million keys takes SQLite 70 ms here, and
    // PostgreSQL scans the whole table for it, on three processes.
    static constexpr int minCountDelayMs = 300;
    static constexpr int maxCountDelayMs = 60000;
    static constexpr int countShare = 20;

    Node *nodeFor(const QModelIndex &index) const;
    QModelIndex indexFor(const Node *node, int column = 0) const;
    int rowOf(const Node *node) const;
    Node *findFolder(const QByteArray &folder) const;
    Node *findChild(Node *node, const QByteArray &key, int *row) const;
    bool covers(const Node *node, const QByteArray &key) const;
    // The deepest folder loaded on key's path (the root in a flat list), and the first folder
    // below it that is not (none when that folder holds key's own row).
    Node *deepestLoaded(const QByteArray &key, QByteArray *missingFolder) const;
    // Whether a change of key can insert, update or remove a row, as far as what is loaded shows.
    bool mayChangeRows(const QByteArray &key) const;
    void insertRow(Node *parent, BrowseEntry entry);
    void removeRow(Node *parent, int row);
    // Many rows of one folder at once: appended, or moved to its end, then its rows put in order
    // by one layout change, rather than a row at a time, each shifting every row after it.
    void insertRows(Node *parent, std::vector<BrowseEntry> entries);
    void removeRows(Node *parent, std::vector<Node *> rows);
    // Reorders parent's rows in one layout change; after it, its rows before tailFrom are in
    // order, and so are those from there on.
    template<typename Reorder> void reorderChildren(Node *parent, size_t tailFrom, Reorder reorder);
    void applyLookups(const std::vector<Lookup> &lookups);
    // Updates the row of entry, or notes the row (or new folder) to insert for it in inserts.
    void applyPresent(const BrowseEntry &entry, std::map<Node *, std::map<QByteArray, BrowseEntry>> &inserts);
    void applyAbsent(const QByteArray &key, const QList<QByteArray> &emptyFolders,
                     std::map<Node *, std::vector<Node *>> &removals);
    void processChanges();
    void refreshCounts();
    void sweepExpired();
    void setPending(int delta);
    void trackExpiry(const BrowseEntry &entry);

    StoreService &m_service;
    const Clock &m_clock;
    std::unique_ptr<Node> m_root;
    bool m_grouped = true;
    BrowseFilter m_filter;
    quint64 m_generation = 0;
    int m_pendingFetches = 0;
    bool m_changesInFlight = false;
    qint64 m_shownCount = -1;
    qint64 m_totalCount = -1;
    // Not a QSet: Qt 6.4's QHash can take seconds to erase a chunk of its entries. Under a burst of
    // new keys with the window open, taking 10,000 out of ~14,000 kept the window's thread for 4 s;
    // a loop of that pattern alone (12,000 keys in, 10,000 out, 30 rounds) took up to 43 s for
    // one round, against under a millisecond with std::unordered_set.
    struct KeyHash
    {
        size_t operator()(const QByteArray &k) const noexcept
        {
            return std::hash<std::string_view>{}(std::string_view(k.constData(), size_t(k.size())));
        }
    };
    std::unordered_set<QByteArray, KeyHash> m_changed;
    std::multimap<qint64, QByteArray> m_expiries; // loaded keys with a TTL, by expiry
    QTimer m_changeTimer;
    QTimer m_countTimer;
    QTimer m_expiryTimer;
    bool m_countsInFlight = false;
    qint64 m_keysLookedUp = 0;
    qint64 m_keysSkipped = 0;
    qint64 m_countsMade = 0;
    qint64 m_countingMs = 0;
};

} // namespace kvdesk
