#include "keyactions.h"

#include "conflictdialog.h"
#include "displayformat.h"
#include "http/percentcodec.h"
#include "jsontext.h"
#include "keymodel.h"
#include "kvserver.h"
#include "newkeydialog.h"
#include "serverpanel.h"
#include "store/clock.h"
#include "store/store.h"
#include "storeservice.h"
#include "valueeditor.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QMessageBox>
#include <QPushButton>
#include <QTreeView>

namespace kvdesk {

namespace {

WriteRequest putRequest(const QByteArray &key, const QByteArray &json, std::optional<qint64> expiresAtMs,
                        Precondition condition)
{
    return WriteRequest{WriteRequest::Kind::Put, key, json, expiresAtMs, std::move(condition)};
}

WriteRequest removeRequest(const QByteArray &key, Precondition condition)
{
    return WriteRequest{WriteRequest::Kind::Remove, key, {}, std::nullopt, std::move(condition)};
}

Precondition ifMatch(const QByteArray &etag)
{
    return {Precondition::Kind::IfMatch, {etag}};
}

const Precondition ifAbsent{Precondition::Kind::IfNoneMatchAny, {}};

QString quoted(const QByteArray &key)
{
    return QStringLiteral("“%1”").arg(QString::fromUtf8(key));
}

} // namespace

KeyActions::KeyActions(StoreService &service, KeyModel &model, QTreeView &tree, ValueEditor &editor,
                       ServerPanel &panel, QWidget *window)
    : QObject(window), m_service(service), m_model(model), m_tree(tree), m_editor(editor), m_panel(panel),
      m_window(window)
{
    newKey =
        make(QStringLiteral("actionNewKey"), tr("&New Key..."), QStringLiteral("new"), QKeySequence::New);
    save = make(QStringLiteral("actionSave"), tr("&Save Value"), QStringLiteral("save"), QKeySequence::Save);
    revert = make(QStringLiteral("actionRevert"), tr("Re&vert Value"), QStringLiteral("revert"),
                  QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    remove = make(QStringLiteral("actionDelete"), tr("&Delete..."), QStringLiteral("delete"),
                  QKeySequence::Delete);
    setTtl = make(QStringLiteral("actionSetTtl"), tr("Set &TTL..."), QStringLiteral("ttl"),
                  QKeySequence(Qt::CTRL | Qt::Key_T));
    clearTtl = make(QStringLiteral("actionClearTtl"), tr("C&lear TTL"), QString(),
                    QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    expireNow = make(QStringLiteral("actionExpireNow"), tr("E&xpire Now"), QString(),
                     QKeySequence(Qt::CTRL | Qt::Key_E));
    rename = make(QStringLiteral("actionRename"), tr("&Rename..."), QStringLiteral("rename"),
                  QKeySequence(Qt::Key_F2));
    duplicate = make(QStringLiteral("actionDuplicate"), tr("D&uplicate..."), QStringLiteral("duplicate"),
                     QKeySequence(Qt::CTRL | Qt::Key_D));
    copyKey = make(QStringLiteral("actionCopyKey"), tr("Copy &Key"), QStringLiteral("copy"),
                   QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    copyValue = make(QStringLiteral("actionCopyValue"), tr("Copy V&alue"), QString(),
                     QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_C));
    copyCurl = make(QStringLiteral("actionCopyCurl"), tr("Copy as &curl"), QStringLiteral("terminal"),
                    QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K));
    undo = make(QStringLiteral("actionUndo"), tr("&Undo"), QStringLiteral("undo"),
                QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_Z));
    refresh = make(QStringLiteral("actionRefresh"), tr("Re&fresh"), QStringLiteral("refresh"),
                   QKeySequence::Refresh);
    // Delete would take the key from the text editor: it acts on keys only while the browser has focus.
    m_tree.addAction(remove);
    remove->setShortcutContext(Qt::WidgetWithChildrenShortcut);

    QObject::connect(newKey, &QAction::triggered, this, &KeyActions::doNewKey);
    QObject::connect(save, &QAction::triggered, this, &KeyActions::doSave);
    QObject::connect(revert, &QAction::triggered, &m_editor, &ValueEditor::revert);
    QObject::connect(remove, &QAction::triggered, this, &KeyActions::doRemove);
    QObject::connect(setTtl, &QAction::triggered, this, &KeyActions::askTtl);
    QObject::connect(clearTtl, &QAction::triggered, this,
                     [this] { rewriteTtl(selectedTargets(), std::nullopt, false); });
    QObject::connect(expireNow, &QAction::triggered, this,
                     [this] { rewriteTtl(selectedTargets(), 0, true); });
    QObject::connect(rename, &QAction::triggered, this, [this] { doRename(false); });
    QObject::connect(duplicate, &QAction::triggered, this, [this] { doRename(true); });
    QObject::connect(copyKey, &QAction::triggered, this, &KeyActions::doCopyKey);
    QObject::connect(copyValue, &QAction::triggered, this, &KeyActions::doCopyValue);
    QObject::connect(copyCurl, &QAction::triggered, this, &KeyActions::doCopyCurl);
    QObject::connect(undo, &QAction::triggered, this, &KeyActions::doUndo);
    QObject::connect(refresh, &QAction::triggered, &m_model, &KeyModel::reload);
    QObject::connect(&m_editor, &ValueEditor::saveRequested, this, &KeyActions::doSave);
    QObject::connect(&m_editor, &ValueEditor::stateChanged, this, &KeyActions::updateEnabled);
    updateEnabled();
}

QAction *KeyActions::make(const QString &name, const QString &text, const QString &icon,
                          const QKeySequence &shortcut)
{
    auto *action = new QAction(text, this);
    action->setObjectName(name);
    action->setShortcut(shortcut);
    if (!icon.isEmpty())
        action->setIcon(QIcon(QStringLiteral(":/icons/%1.svg").arg(icon)));
    return action;
}

void KeyActions::updateEnabled()
{
    const QList<Target> targets = selectedTargets();
    const bool any = !targets.isEmpty();
    const bool oneKey = targets.size() == 1 && !targets.first().folder;
    save->setEnabled(m_editor.hasKey() && m_editor.isValid() &&
                     (m_editor.isModified() || !m_editor.exists()));
    revert->setEnabled(m_editor.isModified());
    for (QAction *a : {remove, setTtl, clearTtl, expireNow})
        a->setEnabled(any);
    rename->setEnabled(targets.size() == 1);
    duplicate->setEnabled(targets.size() == 1);
    copyKey->setEnabled(any);
    copyValue->setEnabled(oneKey);
    copyCurl->setEnabled(oneKey);
    undo->setEnabled(!m_undo.isEmpty());
    undo->setText(m_undo.isEmpty() ? tr("&Undo") : tr("&Undo %1").arg(m_undo.last().description));
}

QList<KeyActions::Target> KeyActions::selectedTargets() const
{
    QList<Target> targets;
    if (!m_tree.selectionModel())
        return targets;
    QModelIndexList rows = m_tree.selectionModel()->selectedRows(KeyModel::NameColumn);
    if (rows.isEmpty() && m_tree.currentIndex().isValid())
        rows << m_tree.currentIndex().siblingAtColumn(KeyModel::NameColumn);
    for (const QModelIndex &i : rows)
        targets.append({KeyModel::keyOf(i), i.data(KeyModel::IsFolderRole).toBool()});
    return targets;
}

void KeyActions::fail(const QString &message)
{
    Q_EMIT statusMessage(message);
    auto *box = new QMessageBox(QMessageBox::Warning, tr("KV Desk"), message, QMessageBox::Ok, m_window);
    box->setObjectName(QStringLiteral("errorMessage"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void KeyActions::collect(const QList<Target> &targets, std::function<void(const Collected &)> then)
{
    m_service.read<Collected>(
        this,
        [targets](StoreBrowser &b) {
            Collected c;
            for (const Target &t : targets) {
                if (t.folder) {
                    const qint64 n = b.count(t.key, {});
                    c.total += n;
                    if (c.total <= maxKeysPerAction)
                        c.entries << b.entries(t.key, int(n) + 1);
                } else if (const auto v = b.value(t.key)) {
                    ++c.total;
                    c.entries.append({t.key, v->json, v->expiresAtMs, v->etag});
                }
            }
            return c;
        },
        [this, then = std::move(then)](const Collected &c, const QString &error) {
            if (!error.isEmpty())
                fail(tr("Cannot read the keys: %1").arg(error));
            else if (c.total > maxKeysPerAction)
                fail(tr("That is %1 keys; the window changes at most %2 at once. Narrow the selection.")
                         .arg(c.total)
                         .arg(maxKeysPerAction));
            else if (c.entries.isEmpty())
                fail(tr("Those keys do not exist any more."));
            else
                then(c);
        });
}

void KeyActions::apply(std::vector<WriteRequest> requests, const QString &success, const QString &conflict,
                       const QString &undoText, MakeUndo makeUndo, std::function<void(bool)> after)
{
    m_service.write(this, std::move(requests),
                    [=, this](bool applied, const std::vector<WriteResult> &results) {
                        if (applied) {
                            Q_EMIT statusMessage(success);
                            if (makeUndo) {
                                m_undo.append({undoText, makeUndo(results)});
                                if (m_undo.size() > 20)
                                    m_undo.removeFirst();
                            }
                        } else {
                            QString error;
                            for (const WriteResult &r : results) {
                                if (!r.error.isEmpty()) {
                                    error = tr("The database refused the change: %1").arg(r.error);
                                    break;
                                }
                            }
                            fail(error.isEmpty() ? conflict : error);
                        }
                        updateEnabled();
                        if (after)
                            after(applied);
                    });
}

void KeyActions::doNewKey()
{
    QString prefix;
    const QList<Target> targets = selectedTargets();
    if (targets.size() == 1 && targets.first().folder)
        prefix = QString::fromUtf8(targets.first().key);
    auto *dialog = new NewKeyDialog(prefix, m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QByteArray key = dialog->key();
        const QByteArray json = dialog->json();
        const auto ttl = dialog->ttlSeconds();
        const std::optional<qint64> expires =
            ttl ? std::optional<qint64>(m_service.server().store().clock().nowMs() + *ttl * 1000)
                : std::nullopt;
        apply({putRequest(key, json, expires, ifAbsent)}, tr("Created %1").arg(quoted(key)),
              tr("A key named %1 exists already.").arg(quoted(key)), tr("create %1").arg(quoted(key)),
              [key](const std::vector<WriteResult> &r) {
                  return std::vector<WriteRequest>{removeRequest(key, ifMatch(r[0].etag))};
              });
    });
    dialog->open();
}

void KeyActions::doSave()
{
    if (!m_editor.hasKey())
        return;
    if (!m_editor.isValid()) {
        fail(tr("The value is not valid JSON; fix it before saving."));
        return;
    }
    const auto &loaded = m_editor.loadedValue();
    saveWith(loaded ? ifMatch(loaded->etag) : ifAbsent);
}

void KeyActions::saveWith(const Precondition &condition)
{
    const QByteArray key = m_editor.key();
    const QByteArray json = m_editor.editedJson();
    const QString text = m_editor.editedText();
    const std::optional<StoredValue> before = m_editor.loadedValue();
    const std::optional<qint64> expires = before ? before->expiresAtMs : std::nullopt;
    m_service.write(this, {putRequest(key, json, expires, condition)},
                    [=, this](bool applied, const std::vector<WriteResult> &results) {
                        if (m_editor.key() != key)
                            return;
                        if (!applied && !results[0].error.isEmpty()) {
                            fail(tr("Cannot save %1: %2").arg(quoted(key), results[0].error));
                            return;
                        }
                        if (!applied) {
                            showConflict();
                            return;
                        }
                        const QByteArray etag = results[0].etag;
                        m_editor.markSaved(text, json, etag, expires);
                        m_undo.append(
                            {tr("edit of %1").arg(quoted(key)),
                             {before ? putRequest(key, before->json, before->expiresAtMs, ifMatch(etag))
                                     : removeRequest(key, ifMatch(etag))}});
                        Q_EMIT statusMessage(tr("Saved %1").arg(quoted(key)));
                        updateEnabled();
                    });
}

void KeyActions::showConflict()
{
    const QByteArray key = m_editor.key();
    m_service.read<std::optional<StoredValue>>(
        this, [key](StoreBrowser &b) { return b.value(key); },
        [this, key](const std::optional<StoredValue> &theirs, const QString &error) {
            if (!error.isEmpty() || m_editor.key() != key) {
                if (!error.isEmpty())
                    fail(error);
                return;
            }
            auto *dialog = new ConflictDialog(
                QString::fromUtf8(key), m_editor.editedText(),
                theirs ? QString::fromUtf8(JsonText::pretty(theirs->json)) : QString(), !theirs, m_window);
            dialog->setAttribute(Qt::WA_DeleteOnClose);
            QObject::connect(dialog, &QDialog::finished, this, [this, key, theirs](int choice) {
                if (m_editor.key() != key)
                    return;
                if (choice == ConflictDialog::KeepMine) {
                    saveWith(theirs ? ifMatch(theirs->etag) : ifAbsent);
                } else if (choice == ConflictDialog::TakeTheirs) {
                    m_editor.showValue(key, theirs);
                    Q_EMIT statusMessage(tr("Took the stored version of %1").arg(quoted(key)));
                }
            });
            dialog->open();
        });
}

void KeyActions::doRemove()
{
    const QList<Target> targets = selectedTargets();
    if (targets.isEmpty())
        return;
    collect(targets, [this, targets](const Collected &c) {
        QString text = targets.size() == 1 && !targets.first().folder
                           ? tr("Delete the key %1?").arg(quoted(targets.first().key))
                           : tr("Delete %1?").arg(DisplayFormat::formatKeyCount(c.total));
        QStringList folders;
        for (const Target &t : targets) {
            if (t.folder)
                folders << quoted(t.key);
        }
        if (!folders.isEmpty())
            text += QLatin1Char('\n') +
                    tr("This includes everything in %1.").arg(folders.join(QStringLiteral(", ")));
        auto *box =
            new QMessageBox(QMessageBox::Question, tr("Delete"), text, QMessageBox::NoButton, m_window);
        box->setObjectName(QStringLiteral("confirmDelete"));
        box->setInformativeText(tr("You can undo this with Edit > Undo."));
        QPushButton *yes = box->addButton(tr("Delete"), QMessageBox::DestructiveRole);
        yes->setObjectName(QStringLiteral("confirmDeleteButton"));
        box->addButton(QMessageBox::Cancel);
        box->setAttribute(Qt::WA_DeleteOnClose);
        QObject::connect(box, &QMessageBox::buttonClicked, this, [this, c, yes](QAbstractButton *button) {
            if (button != yes)
                return;
            std::vector<WriteRequest> requests;
            std::vector<WriteRequest> restore;
            for (const StoredEntry &e : c.entries) {
                requests.push_back(removeRequest(e.key, {}));
                restore.push_back(putRequest(e.key, e.json, e.expiresAtMs, ifAbsent));
            }
            const QString what = c.entries.size() == 1 ? quoted(c.entries.first().key)
                                                       : DisplayFormat::formatKeyCount(c.entries.size());
            apply(std::move(requests), tr("Deleted %1").arg(what),
                  tr("The keys changed meanwhile; nothing was deleted."), tr("delete of %1").arg(what),
                  [restore](const std::vector<WriteResult> &) { return restore; });
        });
        box->open();
    });
}

void KeyActions::askTtl()
{
    const QList<Target> targets = selectedTargets();
    if (targets.isEmpty())
        return;
    auto *dialog = new QInputDialog(m_window);
    dialog->setObjectName(QStringLiteral("ttlDialog"));
    dialog->setWindowTitle(tr("Set TTL"));
    dialog->setLabelText(tr("Expire after how many seconds?"));
    dialog->setInputMode(QInputDialog::IntInput);
    dialog->setIntRange(1, 10 * 365 * 86400);
    dialog->setIntValue(3600);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &QInputDialog::intValueSelected, this,
                     [this, targets](int seconds) { rewriteTtl(targets, qint64(seconds) * 1000, false); });
    dialog->open();
}

void KeyActions::rewriteTtl(const QList<Target> &targets, std::optional<qint64> ttlMs, bool expiring)
{
    if (targets.isEmpty())
        return;
    collect(targets, [this, ttlMs, expiring](const Collected &c) {
        const qint64 now = m_service.server().store().clock().nowMs();
        const std::optional<qint64> expires = ttlMs ? std::optional<qint64>(now + *ttlMs) : std::nullopt;
        std::vector<WriteRequest> requests;
        for (const StoredEntry &e : c.entries)
            requests.push_back(putRequest(e.key, e.json, expires, ifMatch(e.etag)));
        const QString what = c.entries.size() == 1 ? quoted(c.entries.first().key)
                                                   : DisplayFormat::formatKeyCount(c.entries.size());
        const QString done = expiring ? tr("Expired %1").arg(what)
                             : ttlMs  ? tr("%1 now expires in %2").arg(what, DisplayFormat::formatTtl(*ttlMs))
                                      : tr("%1 never expires now").arg(what);
        const QList<StoredEntry> entries = c.entries;
        apply(std::move(requests), done, tr("The keys changed meanwhile; nothing was changed. Try again."),
              expiring ? tr("expiry of %1").arg(what) : tr("TTL change of %1").arg(what),
              [entries, expiring](const std::vector<WriteResult> &results) {
                  std::vector<WriteRequest> restore;
                  for (qsizetype i = 0; i < entries.size(); ++i)
                      restore.push_back(putRequest(entries[i].key, entries[i].json, entries[i].expiresAtMs,
                                                   expiring ? ifAbsent : ifMatch(results[size_t(i)].etag)));
                  return restore;
              });
    });
}

void KeyActions::doRename(bool keepOriginal)
{
    const QList<Target> targets = selectedTargets();
    if (targets.size() != 1)
        return;
    const Target target = targets.first();
    auto *dialog = new QInputDialog(m_window);
    dialog->setObjectName(keepOriginal ? QStringLiteral("duplicateDialog") : QStringLiteral("renameDialog"));
    dialog->setWindowTitle(keepOriginal ? tr("Duplicate") : tr("Rename"));
    dialog->setLabelText(target.folder ? tr("New name of the folder %1:").arg(quoted(target.key))
                                       : tr("New name of the key %1:").arg(quoted(target.key)));
    QString suggestion = QString::fromUtf8(target.key);
    if (keepOriginal)
        suggestion = target.folder ? QString(suggestion.chopped(1) + tr("-copy") + QLatin1Char('/'))
                                   : QString(suggestion + tr("-copy"));
    dialog->setTextValue(suggestion);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(
        dialog, &QInputDialog::textValueSelected, this, [this, target, keepOriginal](const QString &text) {
            QByteArray to = text.toUtf8();
            if (target.folder && !to.endsWith('/'))
                to += '/';
            if (to.isEmpty() || to == target.key)
                return;
            collect({target}, [this, target, to, keepOriginal](const Collected &c) {
                std::vector<WriteRequest> requests;
                QList<QByteArray> created;
                for (const StoredEntry &e : c.entries) {
                    const QByteArray copy = target.folder ? to + e.key.mid(target.key.size()) : to;
                    if (copy.size() > 512) {
                        fail(tr("%1 would be longer than 512 bytes.").arg(quoted(copy)));
                        return;
                    }
                    requests.push_back(putRequest(copy, e.json, e.expiresAtMs, ifAbsent));
                    created << copy;
                    if (!keepOriginal)
                        requests.push_back(removeRequest(e.key, ifMatch(e.etag)));
                }
                const QList<StoredEntry> entries = c.entries;
                apply(std::move(requests),
                      keepOriginal ? tr("Duplicated %1 as %2").arg(quoted(target.key), quoted(to))
                                   : tr("Renamed %1 to %2").arg(quoted(target.key), quoted(to)),
                      tr("%1 exists already, or the keys changed meanwhile; nothing was changed.")
                          .arg(quoted(to)),
                      keepOriginal ? tr("duplicate of %1").arg(quoted(target.key))
                                   : tr("rename of %1").arg(quoted(target.key)),
                      [entries, created, keepOriginal](const std::vector<WriteResult> &results) {
                          std::vector<WriteRequest> restore;
                          const int step = keepOriginal ? 1 : 2;
                          for (qsizetype i = 0; i < created.size(); ++i) {
                              restore.push_back(
                                  removeRequest(created[i], ifMatch(results[size_t(i * step)].etag)));
                              if (!keepOriginal)
                                  restore.push_back(putRequest(entries[i].key, entries[i].json,
                                                               entries[i].expiresAtMs, ifAbsent));
                          }
                          return restore;
                      });
            });
        });
    dialog->open();
}

void KeyActions::doCopyKey()
{
    QStringList keys;
    for (const Target &t : selectedTargets())
        keys << QString::fromUtf8(t.key);
    if (keys.isEmpty())
        return;
    QApplication::clipboard()->setText(keys.join(QLatin1Char('\n')));
    Q_EMIT statusMessage(keys.size() == 1 ? tr("Copied the key name")
                                          : tr("Copied %1 key names").arg(keys.size()));
}

void KeyActions::doCopyValue()
{
    const QList<Target> targets = selectedTargets();
    if (targets.size() != 1 || targets.first().folder)
        return;
    const QByteArray key = targets.first().key;
    m_service.read<std::optional<StoredValue>>(
        this, [key](StoreBrowser &b) { return b.value(key); },
        [this, key](const std::optional<StoredValue> &v, const QString &error) {
            if (!error.isEmpty() || !v) {
                fail(error.isEmpty() ? tr("%1 does not exist any more.").arg(quoted(key)) : error);
                return;
            }
            QApplication::clipboard()->setText(QString::fromUtf8(v->json));
            Q_EMIT statusMessage(tr("Copied the value of %1").arg(quoted(key)));
        });
}

QString KeyActions::curlFor(const QByteArray &key) const
{
    KvServer &server = m_service.server();
    const EndpointPaths &paths = server.config().endpoints;
    const QString url =
        server.url() + EndpointPaths::join(paths.basePath, paths.kv.value_or(QStringLiteral("/v1/kv"))) +
        QLatin1Char('/') + QString::fromLatin1(PercentCodec::encodePath(QString::fromUtf8(key)));
    const QString auth = m_panel.curlAuthOptions();
    return QStringLiteral("curl %1'%2'").arg(auth.isEmpty() ? QString() : auth + QLatin1Char(' '), url);
}

void KeyActions::doCopyCurl()
{
    const QList<Target> targets = selectedTargets();
    if (targets.size() != 1 || targets.first().folder)
        return;
    if (!m_service.server().isRunning()) {
        fail(tr("The server is not listening; start it in the server panel first."));
        return;
    }
    QApplication::clipboard()->setText(curlFor(targets.first().key));
    Q_EMIT statusMessage(tr("Copied a curl command that reads %1").arg(quoted(targets.first().key)));
}

void KeyActions::doUndo()
{
    if (m_undo.isEmpty())
        return;
    const UndoEntry entry = m_undo.takeLast();
    updateEnabled();
    apply(entry.restore, tr("Undid the %1").arg(entry.description),
          tr("Cannot undo the %1: the keys changed since.").arg(entry.description), {}, {});
}

} // namespace kvdesk
