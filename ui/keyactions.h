#pragma once

#include "store/storebrowser.h"
#include "store/writebatcher.h"

#include <QList>
#include <QObject>

#include <functional>
#include <vector>

class QAction;
class QTreeView;
class QWidget;

namespace kvdesk {

class KeyModel;
class ServerPanel;
class StoreService;
class ValueEditor;

// Everything the user does to keys, as actions with shortcuts for the menus, the toolbar and the
// key browser's context menu: create, save, delete, TTLs, rename, duplicate, copy, and undo of
// the last changes. Every change is a compare-and-set through the server's writer, so that
// nothing written meanwhile over HTTP is overwritten silently.
class KeyActions final : public QObject
{
    Q_OBJECT

public:
    KeyActions(StoreService &service, KeyModel &model, QTreeView &tree, ValueEditor &editor,
               ServerPanel &panel, QWidget *window);

    QAction *newKey, *save, *revert, *remove, *setTtl, *clearTtl, *expireNow, *rename, *duplicate;
    QAction *copyKey, *copyValue, *copyCurl, *undo, *refresh;

    static constexpr int maxKeysPerAction = 200000;

    void updateEnabled();
    qsizetype undoDepth() const { return m_undo.size(); }
    // The curl command that reads key from the running server.
    QString curlFor(const QByteArray &key) const;

Q_SIGNALS:
    void statusMessage(const QString &message);

private:
    struct Target
    {
        QByteArray key;
        bool folder = false;
    };
    struct Collected
    {
        QList<StoredEntry> entries;
        qint64 total = 0;
    };
    struct UndoEntry
    {
        QString description;
        std::vector<WriteRequest> restore;
    };
    using MakeUndo = std::function<std::vector<WriteRequest>(const std::vector<WriteResult> &)>;

    QList<Target> selectedTargets() const;
    void collect(const QList<Target> &targets, std::function<void(const Collected &)> then);
    void apply(std::vector<WriteRequest> requests, const QString &success, const QString &conflict,
               const QString &undoText, MakeUndo makeUndo, std::function<void(bool)> after = {});
    void fail(const QString &message);
    QAction *make(const QString &name, const QString &text, const QString &icon,
                  const QKeySequence &shortcut);

    void doNewKey();
    void doSave();
    void saveWith(const Precondition &condition);
    void showConflict();
    void doRemove();
    void askTtl();
    void rewriteTtl(const QList<Target> &targets, std::optional<qint64> ttlMs, bool expireNow);
    void doRename(bool keepOriginal);
    void doCopyKey();
    void doCopyValue();
    void doCopyCurl();
    void doUndo();

    StoreService &m_service;
    KeyModel &m_model;
    QTreeView &m_tree;
    ValueEditor &m_editor;
    ServerPanel &m_panel;
    QWidget *m_window;
    QList<UndoEntry> m_undo;
};

} // namespace kvdesk
