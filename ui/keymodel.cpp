#include "keymodel.h"

#include "displayformat.h"
#include "store/clock.h"
#include "storeservice.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QIcon>
#include <QLocale>

#include <algorithm>

namespace kvdesk {

struct KeyModel::Node
{
    Node *parent = nullptr;
    BrowseEntry entry; // the root: an empty folder key
    std::vector<std::unique_ptr<Node>> children;
    QByteArray cursor;     // the store's cursor after the last page loaded
    bool complete = false; // every child is loaded
    bool fetching = false;
    bool fetched = false; // a first page was asked for
};

// What the reading thread found out about a changed key.
struct KeyModel::Lookup
{
    QByteArray key;
    std::optional<BrowseEntry> entry; // present, and matching the filter
    QList<QByteArray> emptyFolders;   // ancestors below which nothing matching is left
};

KeyModel::KeyModel(StoreService &service, const Clock &clock, QObject *parent)
    : QAbstractItemModel(parent), m_service(service), m_clock(clock), m_root(std::make_unique<Node>())
{
    m_root->entry.folder = true;
    m_changeTimer.setSingleShot(true);
    m_changeTimer.setInterval(changeDelayMs);
    QObject::connect(&m_changeTimer, &QTimer::timeout, this, &KeyModel::processChanges);
    m_countTimer.setSingleShot(true);
    m_countTimer.setInterval(minCountDelayMs);
    QObject::connect(&m_countTimer, &QTimer::timeout, this, &KeyModel::refreshCounts);
    m_expiryTimer.setInterval(250);
    QObject::connect(&m_expiryTimer, &QTimer::timeout, this, &KeyModel::sweepExpired);
    m_expiryTimer.start();
}

KeyModel::~KeyModel() = default;

void KeyModel::setGrouped(bool grouped)
{
    if (grouped == m_grouped)
        return;
    m_grouped = grouped;
    reload();
}

void KeyModel::setFilter(const BrowseFilter &filter)
{
    if (filter == m_filter)
        return;
    m_filter = filter;
    reload();
}

void KeyModel::reload()
{
    beginResetModel();
    m_root = std::make_unique<Node>();
    m_root->entry.folder = true;
    m_expiries.clear();
    m_changed.clear();
    ++m_generation;
    m_pendingFetches = 0;
    endResetModel();
    fetchMore({});
    refreshCounts();
}

void KeyModel::setPending(int delta)
{
    const bool before = isLoading();
    m_pendingFetches += delta;
    if (before != isLoading())
        Q_EMIT loadingChanged(isLoading());
}

KeyModel::Node *KeyModel::nodeFor(const QModelIndex &index) const
{
    return index.isValid() ? static_cast<Node *>(index.internalPointer()) : m_root.get();
}

int KeyModel::rowOf(const Node *node) const
{
    const auto &siblings = node->parent->children;
    const auto it = std::lower_bound(siblings.begin(), siblings.end(), node->entry.key,
                                     [](const auto &n, const QByteArray &k) { return n->entry.key < k; });
    if (it != siblings.end() && it->get() == node)
        return int(it - siblings.begin());
    // Rows just appended and not yet merged in (insertRows), should a view ask meanwhile.
    return int(
        std::find_if(siblings.begin(), siblings.end(), [node](const auto &n) { return n.get() == node; }) -
        siblings.begin());
}

QModelIndex KeyModel::indexFor(const Node *node, int column) const
{
    if (!node || node == m_root.get())
        return {};
    return createIndex(rowOf(node), column, const_cast<Node *>(node));
}

KeyModel::Node *KeyModel::findChild(Node *node, const QByteArray &key, int *row) const
{
    auto &c = node->children;
    const auto it = std::lower_bound(c.begin(), c.end(), key,
                                     [](const auto &n, const QByteArray &k) { return n->entry.key < k; });
    if (row)
        *row = int(it - c.begin());
    return it != c.end() && (*it)->entry.key == key ? it->get() : nullptr;
}

KeyModel::Node *KeyModel::findFolder(const QByteArray &folder) const
{
    Node *node = m_root.get();
    if (folder.isEmpty() || !m_grouped)
        return folder.isEmpty() ? node : nullptr;
    qsizetype from = 0;
    for (;;) {
        const qsizetype slash = folder.indexOf('/', from);
        if (slash < 0)
            return nullptr;
        node = findChild(node, folder.left(slash + 1), nullptr);
        if (!node)
            return nullptr;
        if (slash + 1 == folder.size())
            return node;
        from = slash + 1;
    }
}

QModelIndex KeyModel::indexForKey(const QByteArray &key) const
{
    QByteArray folder;
    if (m_grouped && !key.endsWith('/')) {
        const qsizetype slash = key.lastIndexOf('/');
        folder = slash >= 0 ? key.left(slash + 1) : QByteArray();
    } else if (m_grouped) {
        const qsizetype slash = key.lastIndexOf('/', key.size() - 2);
        folder = slash >= 0 ? key.left(slash + 1) : QByteArray();
    }
    Node *parent = findFolder(folder);
    Node *node = parent ? findChild(parent, key, nullptr) : nullptr;
    return node ? indexFor(node) : QModelIndex();
}

QModelIndex KeyModel::index(int row, int column, const QModelIndex &parent) const
{
    Node *node = nodeFor(parent);
    if (row < 0 || column < 0 || column >= ColumnCount || row >= int(node->children.size()))
        return {};
    return createIndex(row, column, node->children[size_t(row)].get());
}

QModelIndex KeyModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    return indexFor(nodeFor(child)->parent);
}

int KeyModel::rowCount(const QModelIndex &parent) const
{
    if (parent.column() > 0)
        return 0;
    return int(nodeFor(parent)->children.size());
}

int KeyModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

bool KeyModel::hasChildren(const QModelIndex &parent) const
{
    const Node *node = nodeFor(parent);
    return node->entry.folder && (!node->complete || !node->children.empty());
}

bool KeyModel::canFetchMore(const QModelIndex &parent) const
{
    // Only a folder's first page: QTreeView asks for more of the top level and of every open
    // folder each time it lays out its rows, which each page that arrives makes it do, so it would
    // load every key of the store in the background, page after page. Later pages are for
    // hasMoreToLoad's callers (the window, as the last rows loaded come into view).
    const Node *node = nodeFor(parent);
    return hasMoreToLoad(parent) && !node->fetched;
}

bool KeyModel::hasMoreToLoad(const QModelIndex &parent) const
{
    const Node *node = nodeFor(parent);
    return node->entry.folder && !node->complete && !node->fetching;
}

void KeyModel::fetchMore(const QModelIndex &parent)
{
    Node *node = nodeFor(parent);
    if (!node->entry.folder || node->complete || node->fetching)
        return;
    node->fetching = true;
    node->fetched = true;
    setPending(+1);
    const QByteArray folder = node->entry.key;
    const QByteArray cursor = node->cursor;
    const BrowseFilter filter = m_filter;
    const bool grouped = m_grouped;
    const quint64 generation = m_generation;
    m_service.read<BrowsePage>(
        this, [=](StoreBrowser &b) { return b.children(folder, cursor, filter, pageSize, grouped); },
        [this, folder, generation](const BrowsePage &page, const QString &error) {
            if (generation != m_generation)
                return;
            setPending(-1);
            Node *target = findFolder(folder);
            if (!target)
                return;
            target->fetching = false;
            if (!error.isEmpty()) {
                Q_EMIT errorOccurred(error);
                return;
            }
            if (!page.entries.isEmpty()) {
                const int first = int(target->children.size());
                beginInsertRows(indexFor(target), first, first + int(page.entries.size()) - 1);
                for (const BrowseEntry &e : page.entries) {
                    auto child = std::make_unique<Node>();
                    child->parent = target;
                    child->entry = e;
                    trackExpiry(e);
                    target->children.push_back(std::move(child));
                }
                endInsertRows();
            }
            target->cursor = page.cursor;
            target->complete = page.complete;
            if (page.complete && page.entries.isEmpty()) {
                // Tell views the expander is gone.
                const QModelIndex i = indexFor(target);
                if (i.isValid())
                    Q_EMIT dataChanged(i, i);
            }
        });
}

void KeyModel::trackExpiry(const BrowseEntry &entry)
{
    if (entry.expiresAtMs)
        m_expiries.emplace(*entry.expiresAtMs, entry.key);
}

QVariant KeyModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const Node *node = nodeFor(index);
    const BrowseEntry &e = node->entry;
    switch (role) {
    case KeyRole:
        return e.key;
    case IsFolderRole:
        return e.folder;
    case ExpiresAtRole:
        return e.expiresAtMs ? QVariant(*e.expiresAtMs) : QVariant();
    case Qt::ToolTipRole:
        return QString::fromUtf8(e.key);
    case Qt::DecorationRole:
        if (index.column() == NameColumn)
            return QIcon(e.folder ? QStringLiteral(":/icons/folder.svg") : QStringLiteral(":/icons/key.svg"));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == SizeColumn || index.column() == TtlColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::DisplayRole:
        break;
    default:
        return {};
    }
    switch (index.column()) {
    case NameColumn: {
        const QByteArray name = m_grouped ? e.key.mid(node->parent->entry.key.size()) : e.key;
        return name.isEmpty() ? QString::fromUtf8(e.key) : QString::fromUtf8(name);
    }
    case SizeColumn:
        return e.folder ? QString() : DisplayFormat::formatSize(e.sizeBytes);
    case TtlColumn:
        return e.expiresAtMs ? DisplayFormat::formatTtl(*e.expiresAtMs - m_clock.nowMs()) : QString();
    case UpdatedColumn:
        return e.folder ? QString()
                        : QDateTime::fromMSecsSinceEpoch(e.updatedAtMs)
                              .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    default:
        return {};
    }
}

QVariant KeyModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Key");
    case SizeColumn:
        return tr("Size");
    case TtlColumn:
        return tr("Expires in");
    case UpdatedColumn:
        return tr("Updated");
    default:
        return {};
    }
}

Qt::ItemFlags KeyModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (!nodeFor(index)->entry.folder)
        f |= Qt::ItemNeverHasChildren;
    return f;
}

// ---- live updates ----

void KeyModel::noteChanged(const QList<QByteArray> &keys)
{
    // While no page is on its way, a key beyond everything loaded is not looked up: in a store
    // larger than what is shown, most keys written lie beyond it. A page asked for before the
    // change was committed could still bring the key's old state, so while one is, every key is.
    const bool skipUnseen = m_pendingFetches == 0;
    qsizetype skipped = 0;
    for (const QByteArray &k : keys) {
        if (skipUnseen && !mayChangeRows(k))
            ++skipped;
        else
            m_changed.insert(k);
    }
    m_keysSkipped += skipped;
    if (skipped < keys.size() && !m_changeTimer.isActive() && !m_changesInFlight)
        m_changeTimer.start(changeDelayMs);
    // The counts change all the same; counted at most every 300 ms.
    if (skipped > 0 && !m_countTimer.isActive())
        m_countTimer.start();
}

KeyModel::Node *KeyModel::deepestLoaded(const QByteArray &key, QByteArray *missingFolder) const
{
    Node *node = m_root.get();
    missingFolder->clear();
    if (!m_grouped)
        return node;
    for (qsizetype slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) {
        QByteArray folder = key.left(slash + 1);
        if (folder == key)
            break;
        Node *child = findChild(node, folder, nullptr);
        if (!child) {
            *missingFolder = std::move(folder);
            break;
        }
        node = child;
    }
    return node;
}

bool KeyModel::mayChangeRows(const QByteArray &key) const
{
    QByteArray missing;
    Node *node = deepestLoaded(key, &missing);
    // A folder that shows none of its rows may have lost its last key (and goes, with the
    // folders above it that it leaves empty).
    const bool mayEmpty = node != m_root.get() && node->children.empty();
    if (!missing.isEmpty())
        return covers(node, missing) || mayEmpty;
    return findChild(node, key, nullptr) || covers(node, key) || mayEmpty;
}

void KeyModel::sweepExpired()
{
    const qint64 now = m_clock.nowMs();
    QList<QByteArray> due;
    while (!m_expiries.empty() && m_expiries.begin()->first <= now) {
        due.append(m_expiries.begin()->second);
        m_expiries.erase(m_expiries.begin());
    }
    if (!due.isEmpty())
        noteChanged(due);
}

bool KeyModel::covers(const Node *node, const QByteArray &key) const
{
    return node->complete || (node->fetched && !node->cursor.isEmpty() && key <= node->cursor);
}

void KeyModel::processChanges()
{
    if (m_changed.empty() || m_changesInFlight)
        return;
    QList<QByteArray> keys;
    keys.reserve(qsizetype(std::min(m_changed.size(), size_t(changeChunk))));
    m_keysLookedUp += qint64(std::min(m_changed.size(), size_t(changeChunk)));
    for (auto it = m_changed.begin(); it != m_changed.end() && keys.size() < changeChunk;) {
        keys.append(*it);
        it = m_changed.erase(it);
    }
    const BrowseFilter filter = m_filter;
    const bool grouped = m_grouped;
    const quint64 generation = m_generation;
    m_changesInFlight = true;
    m_service.read<std::vector<Lookup>>(
        this,
        [=](StoreBrowser &b) {
            std::vector<Lookup> lookups;
            lookups.reserve(size_t(keys.size()));
            // Described together: on PostgreSQL a few queries rather than one for each key.
            QList<QByteArray> matching;
            std::vector<bool> matches;
            matches.reserve(size_t(keys.size()));
            for (const QByteArray &key : keys) {
                matches.push_back(filter.matches(key));
                if (matches.back())
                    matching.append(key);
            }
            const std::vector<std::optional<BrowseEntry>> entries = b.describe(matching);
            size_t next = 0;
            for (qsizetype i = 0; i < keys.size(); ++i) {
                const QByteArray &key = keys[i];
                Lookup l{key, std::nullopt, {}};
                if (matches[size_t(i)])
                    l.entry = entries[next++];
                if (!l.entry && grouped) {
                    // Deepest first: a folder is removed when nothing matching is left below it.
                    for (qsizetype slash = key.lastIndexOf('/'); slash >= 0;
                         slash = slash > 0 ? key.lastIndexOf('/', slash - 1) : -1) {
                        const QByteArray folder = key.left(slash + 1);
                        if (folder == key || b.hasKeysBelow(folder, filter))
                            break;
                        l.emptyFolders.append(folder);
                    }
                }
                lookups.push_back(std::move(l));
            }
            return lookups;
        },
        [this, generation](const std::vector<Lookup> &lookups, const QString &error) {
            m_changesInFlight = false;
            if (generation == m_generation) {
                if (!error.isEmpty())
                    Q_EMIT errorOccurred(error);
                else
                    applyLookups(lookups);
            }
            // A backlog of a whole chunk or more (a burst of writes) is looked up straight away;
            // less waits for the changes that follow it.
            if (m_changed.size() >= size_t(changeChunk))
                m_changeTimer.start(0);
            else if (!m_changed.empty())
                m_changeTimer.start(changeDelayMs);
            // Not pushed back by a stream of changes: counted at most every 300 ms.
            if (!m_countTimer.isActive())
                m_countTimer.start();
        });
}

void KeyModel::applyLookups(const std::vector<Lookup> &lookups)
{
    QList<QByteArray> present;
    QList<QByteArray> removed;
    // Removals first (they may take folders away), then rows are inserted below what stays.
    std::map<Node *, std::vector<Node *>> removals;
    for (const Lookup &l : lookups) {
        if (!l.entry) {
            applyAbsent(l.key, l.emptyFolders, removals);
            removed.append(l.key);
        }
    }
    // Deepest first, so that no folder goes before the rows taken from below it.
    std::vector<std::pair<int, Node *>> byDepth;
    for (const auto &[parent, rows] : removals) {
        int depth = 0;
        for (const Node *n = parent; n->parent; n = n->parent)
            ++depth;
        byDepth.emplace_back(depth, parent);
    }
    std::sort(byDepth.begin(), byDepth.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    for (const auto &[depth, parent] : byDepth)
        removeRows(parent, std::move(removals[parent]));

    std::map<Node *, std::map<QByteArray, BrowseEntry>> inserts;
    for (const Lookup &l : lookups) {
        if (l.entry) {
            applyPresent(*l.entry, inserts);
            present.append(l.key);
        }
    }
    for (auto &[parent, entries] : inserts) {
        std::vector<BrowseEntry> sorted;
        sorted.reserve(entries.size());
        for (auto &[key, entry] : entries)
            sorted.push_back(std::move(entry));
        insertRows(parent, std::move(sorted));
    }
    Q_EMIT keysRefreshed(present, removed);
}

void KeyModel::insertRow(Node *parent, BrowseEntry entry)
{
    int row = 0;
    findChild(parent, entry.key, &row);
    beginInsertRows(indexFor(parent), row, row);
    auto node = std::make_unique<Node>();
    node->parent = parent;
    node->entry = std::move(entry);
    trackExpiry(node->entry);
    parent->children.insert(parent->children.begin() + row, std::move(node));
    endInsertRows();
}

void KeyModel::removeRow(Node *parent, int row)
{
    beginRemoveRows(indexFor(parent), row, row);
    parent->children.erase(parent->children.begin() + row);
    endRemoveRows();
}

template<typename Reorder> void KeyModel::reorderChildren(Node *parent, size_t tailFrom, Reorder reorder)
{
    QList<QPersistentModelIndex> parents;
    if (parent != m_root.get())
        parents.append(indexFor(parent));
    Q_EMIT layoutAboutToBeChanged(parents, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    reorder(parent->children);
    // Each index that views keep (the current row, the selection, open folders) of a row of
    // parent's moves with its row: found again by key in one of the two runs, each in order.
    const auto &children = parent->children;
    const auto rowIn = [&children](const Node *n, size_t from, size_t to) {
        const auto it = std::lower_bound(children.begin() + qsizetype(from), children.begin() + qsizetype(to),
                                         n->entry.key,
                                         [](const auto &c, const QByteArray &k) { return c->entry.key < k; });
        return it != children.begin() + qsizetype(to) && it->get() == n ? int(it - children.begin()) : -1;
    };
    QModelIndexList from;
    QModelIndexList to;
    for (const QModelIndex &i : before) {
        const Node *n = nodeFor(i);
        if (!i.isValid() || n->parent != parent)
            continue;
        int row = rowIn(n, 0, std::min(tailFrom, children.size()));
        if (row < 0)
            row = rowIn(n, std::min(tailFrom, children.size()), children.size());
        from.append(i);
        to.append(createIndex(row, i.column(), const_cast<Node *>(n)));
    }
    changePersistentIndexList(from, to);
    Q_EMIT layoutChanged(parents, QAbstractItemModel::VerticalSortHint);
}

void KeyModel::insertRows(Node *parent, std::vector<BrowseEntry> entries)
{
    if (entries.size() < bulkRows) {
        for (BrowseEntry &e : entries)
            insertRow(parent, std::move(e));
        return;
    }
    // entries are in order; appended after the rows there, then merged with them.
    const size_t first = parent->children.size();
    beginInsertRows(indexFor(parent), int(first), int(first + entries.size()) - 1);
    parent->children.reserve(first + entries.size());
    for (BrowseEntry &e : entries) {
        auto node = std::make_unique<Node>();
        node->parent = parent;
        node->entry = std::move(e);
        trackExpiry(node->entry);
        parent->children.push_back(std::move(node));
    }
    endInsertRows();
    reorderChildren(parent, parent->children.size(), [first](std::vector<std::unique_ptr<Node>> &children) {
        std::inplace_merge(children.begin(), children.begin() + qsizetype(first), children.end(),
                           [](const auto &a, const auto &b) { return a->entry.key < b->entry.key; });
    });
}

void KeyModel::removeRows(Node *parent, std::vector<Node *> rows)
{
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    if (rows.size() < bulkRows) {
        for (Node *n : rows)
            removeRow(parent, rowOf(n));
        return;
    }
    // Moved to the end (the others keep their order), then taken away together.
    reorderChildren(parent, parent->children.size() - rows.size(),
                    [&rows](std::vector<std::unique_ptr<Node>> &children) {
                        std::stable_partition(children.begin(), children.end(), [&rows](const auto &n) {
                            return !std::binary_search(rows.begin(), rows.end(), n.get());
                        });
                    });
    const size_t first = parent->children.size() - rows.size();
    beginRemoveRows(indexFor(parent), int(first), int(parent->children.size()) - 1);
    parent->children.erase(parent->children.begin() + qsizetype(first), parent->children.end());
    endRemoveRows();
}

void KeyModel::applyPresent(const BrowseEntry &entry,
                            std::map<Node *, std::map<QByteArray, BrowseEntry>> &inserts)
{
    // Down the folders that are loaded; a new folder is inserted (closed) and ends the walk.
    QByteArray missing;
    Node *node = deepestLoaded(entry.key, &missing);
    if (!missing.isEmpty()) {
        if (covers(node, missing)) {
            BrowseEntry f;
            f.key = missing;
            f.folder = true;
            inserts[node].try_emplace(missing, std::move(f));
        }
        return;
    }
    int row = 0;
    if (Node *existing = findChild(node, entry.key, &row)) {
        existing->entry = entry;
        trackExpiry(entry);
        Q_EMIT dataChanged(createIndex(row, 0, existing), createIndex(row, ColumnCount - 1, existing));
    } else if (covers(node, entry.key)) {
        inserts[node].insert_or_assign(entry.key, entry);
    }
}

void KeyModel::applyAbsent(const QByteArray &key, const QList<QByteArray> &emptyFolders,
                           std::map<Node *, std::vector<Node *>> &removals)
{
    const QModelIndex index = indexForKey(key);
    if (index.isValid() && !nodeFor(index)->entry.folder)
        removals[nodeFor(index)->parent].push_back(nodeFor(index));
    for (const QByteArray &folder : emptyFolders) {
        Node *f = findFolder(folder);
        if (f && f->parent)
            removals[f->parent].push_back(f);
    }
}

void KeyModel::refreshCounts()
{
    if (m_countsInFlight) {
        m_countTimer.start();
        return;
    }
    m_countsInFlight = true;
    const BrowseFilter filter = m_filter;
    const quint64 generation = m_generation;
    struct Counts
    {
        qint64 shown = 0;
        qint64 total = 0;
        qint64 tookMs = 0;
    };
    m_service.read<Counts>(
        this,
        [filter](StoreBrowser &b) {
            QElapsedTimer took;
            took.start();
            const qint64 total = b.count({}, {});
            const qint64 shown = filter.isEmpty() ? total : b.count({}, filter);
            return Counts{shown, total, took.elapsed()};
        },
        [this, generation](const Counts &counts, const QString &error) {
            m_countsInFlight = false;
            if (!error.isEmpty()) {
                Q_EMIT errorOccurred(error);
                return;
            }
            ++m_countsMade;
            m_countingMs += counts.tookMs;
            m_countTimer.setInterval(
                int(std::clamp<qint64>(counts.tookMs * countShare, minCountDelayMs, maxCountDelayMs)));
            if (generation != m_generation) {
                refreshCounts();
                return;
            }
            m_shownCount = counts.shown;
            m_totalCount = counts.total;
            Q_EMIT countsChanged(m_shownCount, m_totalCount);
        });
}

} // namespace kvdesk
