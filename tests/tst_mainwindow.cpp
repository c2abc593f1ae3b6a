// The desktop window, driven by object name on the offscreen platform, against a real server
// (its HTTP API on a loopback port and its SQLite store).
#include "guihelpers.h"
#include "testserver.h"

#include "keyactions.h"
#include "mainwindow.h"
#include "ratechart.h"
#include "requestlogmodel.h"
#include "serverpanel.h"
#include "store/store.h"
#include "store/storeconnection.h"
#include "valueeditor.h"

#include <QClipboard>
#include <QDateTime>
#include <QDir>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollBar>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>

using namespace kvdesk;
using namespace kvdesk::test;
using namespace Qt::StringLiterals;

class TestMainWindow : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<TestServer> m_server;
    std::unique_ptr<MainWindow> m_window;

    HttpResponse call(const QByteArray &method, const QByteArray &target, const QByteArray &body = {})
    {
        HttpClient client(m_server->port());
        return client.request(method, target, body, TestServer::auth());
    }
    void putOverHttp(const QByteArray &key, const QByteArray &valueJson)
    {
        QCOMPARE(call("PUT", "/v1/kv/" + key, "{\"value\":" + valueJson + "}").status, 200);
    }
    std::optional<StoredValue> stored(const QByteArray &key)
    {
        auto c = m_server->server().store().connect();
        return c->get(key);
    }
    QPlainTextEdit *valueEdit() { return m_window->findChild<QPlainTextEdit *>(QStringLiteral("valueEdit")); }
    void typeValue(const QString &text)
    {
        QPlainTextEdit *edit = valueEdit();
        edit->setFocus();
        edit->selectAll();
        QTest::keyClick(edit, Qt::Key_Delete);
        QTest::keyClicks(edit, text);
    }
    bool waitForGone(const QByteArray &key)
    {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 5000) {
            if (!m_window->keyModel().indexForKey(key).isValid())
                return true;
            QTest::qWait(10);
        }
        return false;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("kvdesk-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
    }

    void init()
    {
        m_server = std::make_unique<TestServer>();
        m_window = std::make_unique<MainWindow>(m_server->server(), m_server->clock());
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }

    void cleanup()
    {
        m_window.reset();
        m_server.reset();
    }

    void createKeyWithTheNewKeyDialog()
    {
        m_window->actions().newKey->trigger();
        auto *dialog = waitForChild<QDialog>(*m_window, QStringLiteral("newKeyDialog"));
        QVERIFY(dialog);
        auto *create = dialog->findChild<QAbstractButton *>(QStringLiteral("newKeyCreate"));
        QVERIFY(!create->isEnabled()); // nothing typed yet
        QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("newKeyName")),
                         QStringLiteral("users/ada"));
        QTest::keyClicks(dialog->findChild<QPlainTextEdit *>(QStringLiteral("newKeyValue")),
                         QStringLiteral("{\"name\": \"Ada\""));
        QVERIFY(!create->isEnabled());
        QVERIFY(dialog->findChild<QLabel *>(QStringLiteral("newKeyError"))
                    ->text()
                    .contains(QStringLiteral("Line 1")));
        QTest::keyClicks(dialog->findChild<QPlainTextEdit *>(QStringLiteral("newKeyValue")),
                         QStringLiteral("}"));
        QVERIFY(create->isEnabled());
        QTest::mouseClick(create, Qt::LeftButton);
        QTRY_VERIFY(stored("users/ada").has_value());
        QCOMPARE(stored("users/ada")->json, R"({"name":"Ada"})");
        QVERIFY(waitForKey(*m_window, "users/ada").isValid());
        QTRY_VERIFY(m_window->statusBar()->currentMessage().contains(QStringLiteral("Created")));
        // Over HTTP too, at once.
        QCOMPARE(call("GET", "/v1/kv/users/ada").status, 200);
    }

    void editAndSaveWithCtrlS()
    {
        putOverHttp("config", R"({"retries":3,"big":12345678901234567890})");
        QVERIFY(selectKey(*m_window, "config"));
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("\"retries\": 3")));
        // Pretty-printed without rounding big numbers.
        QVERIFY(valueEdit()->toPlainText().contains(QStringLiteral("12345678901234567890")));
        typeValue(QStringLiteral("{\"retries\": 5"));
        auto *validation = m_window->findChild<QLabel *>(QStringLiteral("validationLabel"));
        QVERIFY(validation->text().contains(QStringLiteral("Line 1, column")));
        QVERIFY(!m_window->actions().save->isEnabled());
        QTest::keyClicks(valueEdit(), QStringLiteral("}"));
        QVERIFY(validation->text().startsWith(QStringLiteral("Valid JSON")));
        QTest::keyClick(valueEdit(), Qt::Key_S, Qt::ControlModifier);
        QTRY_COMPARE(stored("config")->json, R"({"retries":5})");
        QCOMPARE(call("GET", "/v1/kv/config").json().value(u"data").toObject().value(u"retries").toInt(), 5);
        QTRY_VERIFY(!m_window->editor().isModified());
    }

    void revertRestoresTheStoredText()
    {
        putOverHttp("r", "[1,2]");
        QVERIFY(selectKey(*m_window, "r"));
        QTRY_VERIFY(!valueEdit()->toPlainText().isEmpty());
        const QString original = valueEdit()->toPlainText();
        typeValue(QStringLiteral("[3]"));
        QVERIFY(m_window->editor().isModified());
        QVERIFY(clickButton(*m_window, "revertButton"));
        QCOMPARE(valueEdit()->toPlainText(), original);
    }

    void savingOverAChangeMadeOverHttpAsksWhichToKeep()
    {
        putOverHttp("doc", R"({"v":1})");
        QVERIFY(selectKey(*m_window, "doc"));
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("\"v\": 1")));
        typeValue(QStringLiteral("{\"v\": \"mine\"}"));
        putOverHttp("doc", R"({"v":"theirs"})");
        // The open editor notices, and keeps the user's text.
        auto *banner = m_window->findChild<QLabel *>(QStringLiteral("valueBanner"));
        QTRY_VERIFY(banner->isVisible());
        QVERIFY(valueEdit()->toPlainText().contains(QStringLiteral("mine")));
        m_window->actions().save->trigger();
        auto *dialog = waitForChild<QDialog>(*m_window, QStringLiteral("conflictDialog"));
        QVERIFY(dialog);
        QVERIFY(dialog->findChild<QPlainTextEdit *>(QStringLiteral("conflictTheirs"))
                    ->toPlainText()
                    .contains(QStringLiteral("theirs")));
        QVERIFY(dialog->findChild<QPlainTextEdit *>(QStringLiteral("conflictMine"))
                    ->toPlainText()
                    .contains(QStringLiteral("mine")));
        QCOMPARE(stored("doc")->json, R"({"v":"theirs"})"); // nothing overwritten yet
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("keepMineButton")),
                          Qt::LeftButton);
        QTRY_COMPARE(stored("doc")->json, R"({"v":"mine"})");

        // Taking theirs instead: the editor shows the stored value and nothing is written.
        typeValue(QStringLiteral("{\"v\": \"second\"}"));
        putOverHttp("doc", R"({"v":"third"})");
        m_window->actions().save->trigger();
        dialog = waitForChild<QDialog>(*m_window, QStringLiteral("conflictDialog"));
        QVERIFY(dialog);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("takeTheirsButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("third")));
        QCOMPARE(stored("doc")->json, R"({"v":"third"})");
        QVERIFY(!m_window->editor().isModified());
    }

    void anUnmodifiedEditorFollowsChangesMadeOverHttp()
    {
        putOverHttp("live", "1");
        QVERIFY(selectKey(*m_window, "live"));
        QTRY_COMPARE(valueEdit()->toPlainText(), QStringLiteral("1"));
        putOverHttp("live", "2");
        QTRY_COMPARE_WITH_TIMEOUT(valueEdit()->toPlainText(), QStringLiteral("2"), 1000);
    }

    void setTtlThenTheKeyVanishesOnItsOwn()
    {
        putOverHttp("session", R"("abc")");
        QVERIFY(selectKey(*m_window, "session"));
        m_window->actions().setTtl->trigger();
        auto *dialog = waitForChild<QInputDialog>(*m_window, QStringLiteral("ttlDialog"));
        QVERIFY(dialog);
        dialog->setIntValue(30);
        dialog->accept();
        QTRY_VERIFY(stored("session") && stored("session")->expiresAtMs.has_value());
        const QModelIndex row = waitForKey(*m_window, "session");
        QTRY_VERIFY(!row.siblingAtColumn(KeyModel::TtlColumn).data().toString().isEmpty());
        QCOMPARE(stored("session")->json, R"("abc")");
        m_server->clock().advance(31'000);
        QVERIFY(waitForGone("session"));
        QCOMPARE(call("GET", "/v1/kv/session").status, 404);
    }

    void expireNowAndClearTtl()
    {
        putOverHttp("a", "1");
        putOverHttp("b", "2");
        QVERIFY(selectKey(*m_window, "a"));
        m_window->actions().expireNow->trigger();
        QVERIFY(waitForGone("a"));
        QCOMPARE(call("GET", "/v1/kv/a").status, 404);
        QCOMPARE(call("PUT", "/v1/kv/b", R"({"value":2,"ttl":600})").status, 200);
        QVERIFY(selectKey(*m_window, "b"));
        QTRY_VERIFY(stored("b")->expiresAtMs.has_value());
        m_window->actions().clearTtl->trigger();
        QTRY_VERIFY(!stored("b")->expiresAtMs.has_value());
        QCOMPARE(stored("b")->json, "2");
    }

    void deleteOneKeyThenAFolderThenUndo()
    {
        for (const char *k : {"solo", "team/a", "team/b", "team/sub/c"})
            putOverHttp(k, "true");
        QVERIFY(selectKey(*m_window, "solo"));
        QTest::keyClick(&m_window->tree(), Qt::Key_Delete);
        auto *box = waitForChild<QMessageBox>(*m_window, QStringLiteral("confirmDelete"));
        QVERIFY(box);
        QVERIFY(box->text().contains(QStringLiteral("solo")));
        QTest::mouseClick(box->findChild<QAbstractButton *>(QStringLiteral("confirmDeleteButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(!stored("solo"));
        QVERIFY(waitForGone("solo"));

        QVERIFY(selectKey(*m_window, "team/"));
        m_window->actions().remove->trigger();
        box = waitForChild<QMessageBox>(*m_window, QStringLiteral("confirmDelete"));
        QVERIFY(box);
        QVERIFY2(box->text().contains(QStringLiteral("3 keys")), qPrintable(box->text()));
        QTest::mouseClick(box->findChild<QAbstractButton *>(QStringLiteral("confirmDeleteButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(!stored("team/a") && !stored("team/b") && !stored("team/sub/c"));
        QVERIFY(waitForGone("team/"));

        // Undo brings the folder back, then the single key.
        QTRY_VERIFY(m_window->actions().undo->isEnabled());
        m_window->actions().undo->trigger();
        QTRY_VERIFY(stored("team/a") && stored("team/b") && stored("team/sub/c"));
        QVERIFY(waitForKey(*m_window, "team/sub/c").isValid());
        m_window->actions().undo->trigger();
        QTRY_VERIFY(stored("solo").has_value());
        QCOMPARE(stored("solo")->json, "true");
    }

    void deleteSeveralSelectedKeysAtOnce()
    {
        for (const char *k : {"x1", "x2", "x3"})
            putOverHttp(k, "0");
        QVERIFY(selectKey(*m_window, "x1"));
        const QModelIndex x3 = waitForKey(*m_window, "x3");
        m_window->tree().selectionModel()->select(x3,
                                                  QItemSelectionModel::Select | QItemSelectionModel::Rows);
        m_window->actions().remove->trigger();
        auto *box = waitForChild<QMessageBox>(*m_window, QStringLiteral("confirmDelete"));
        QVERIFY(box);
        QCOMPARE(box->text(), QStringLiteral("Delete 2 keys?"));
        QTest::mouseClick(box->findChild<QAbstractButton *>(QStringLiteral("confirmDeleteButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(!stored("x1") && !stored("x3"));
        QVERIFY(stored("x2"));
    }

    void aSaveFromAnotherWindowIsAConflictToo()
    {
        putOverHttp("shared", "1");
        MainWindow other(m_server->server(), m_server->clock());
        other.show();
        QVERIFY(selectKey(*m_window, "shared"));
        QVERIFY(selectKey(other, "shared"));
        auto *otherEdit = other.findChild<QPlainTextEdit *>(QStringLiteral("valueEdit"));
        QTRY_COMPARE(valueEdit()->toPlainText(), QStringLiteral("1"));
        QTRY_COMPARE(otherEdit->toPlainText(), QStringLiteral("1"));
        typeValue(QStringLiteral("2"));
        otherEdit->selectAll();
        QTest::keyClicks(otherEdit, QStringLiteral("3"));
        other.actions().save->trigger();
        QTRY_COMPARE(stored("shared")->json, "3");
        m_window->actions().save->trigger();
        QVERIFY(waitForChild<QDialog>(*m_window, QStringLiteral("conflictDialog")));
        QCOMPARE(stored("shared")->json, "3");
    }

    void cancellingADeleteKeepsTheKey()
    {
        putOverHttp("keep", "1");
        QVERIFY(selectKey(*m_window, "keep"));
        m_window->actions().remove->trigger();
        auto *box = waitForChild<QMessageBox>(*m_window, QStringLiteral("confirmDelete"));
        QVERIFY(box);
        QTest::mouseClick(box->button(QMessageBox::Cancel), Qt::LeftButton);
        QTest::qWait(200);
        QVERIFY(stored("keep"));
    }

    void undoOfAnEdit()
    {
        putOverHttp("u", R"("before")");
        QVERIFY(selectKey(*m_window, "u"));
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("before")));
        typeValue(QStringLiteral("\"after\""));
        m_window->actions().save->trigger();
        QTRY_COMPARE(stored("u")->json, R"("after")");
        QTRY_VERIFY(m_window->actions().undo->isEnabled()); // once the save is confirmed
        QVERIFY(m_window->actions().undo->text().contains(QStringLiteral("edit")));
        m_window->actions().undo->trigger();
        QTRY_COMPARE(stored("u")->json, R"("before")");
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("before")));
    }

    void renameAndDuplicate()
    {
        putOverHttp("old", R"({"x":1})");
        putOverHttp("taken", "0");
        QVERIFY(selectKey(*m_window, "old"));
        m_window->actions().rename->trigger();
        auto *dialog = waitForChild<QInputDialog>(*m_window, QStringLiteral("renameDialog"));
        QVERIFY(dialog);
        dialog->setTextValue(QStringLiteral("taken"));
        dialog->accept();
        // The target exists: nothing changes, and the user is told.
        auto *error = waitForChild<QMessageBox>(*m_window, QStringLiteral("errorMessage"));
        QVERIFY(error);
        QVERIFY(error->text().contains(QStringLiteral("exists already")));
        error->accept();
        QVERIFY(stored("old"));
        QCOMPARE(stored("taken")->json, "0");

        QVERIFY(selectKey(*m_window, "old"));
        m_window->actions().rename->trigger();
        dialog = waitForChild<QInputDialog>(*m_window, QStringLiteral("renameDialog"));
        QVERIFY(dialog);
        dialog->setTextValue(QStringLiteral("new"));
        dialog->accept();
        QTRY_VERIFY(stored("new") && !stored("old"));
        QVERIFY(waitForGone("old"));
        QVERIFY(waitForKey(*m_window, "new").isValid());

        QVERIFY(selectKey(*m_window, "new"));
        m_window->actions().duplicate->trigger();
        dialog = waitForChild<QInputDialog>(*m_window, QStringLiteral("duplicateDialog"));
        QVERIFY(dialog);
        QCOMPARE(dialog->textValue(), QStringLiteral("new-copy"));
        dialog->accept();
        QTRY_VERIFY(stored("new-copy").has_value());
        QCOMPARE(stored("new-copy")->json, R"({"x":1})");
        QVERIFY(stored("new"));
    }

    void copyKeyValueAndCurl()
    {
        putOverHttp("a%2Fb%20c", R"({"k":"v"})");
        QVERIFY(selectKey(*m_window, "a/b c"));
        m_window->actions().copyKey->trigger();
        QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("a/b c"));
        m_window->actions().copyValue->trigger();
        QTRY_COMPARE(QApplication::clipboard()->text(), QStringLiteral(R"({"k":"v"})"));
        m_window->actions().copyCurl->trigger();
        const QString curl = QApplication::clipboard()->text();
        QVERIFY2(curl.startsWith(
                     QStringLiteral("curl -H 'Authorization: Bearer test-api-key' 'http://127.0.0.1:")),
                 qPrintable(curl));
        // The command's URL reads the key.
        const QString url = curl.section(QLatin1Char('\''), 3, 3);
        const QByteArray path = QUrl(url).path(QUrl::FullyEncoded).toUtf8();
        QCOMPARE(call("GET", path).json().value(u"data").toObject().value(u"k").toString(),
                 QStringLiteral("v"));
    }

    void filterAsYouTypeAndCounts()
    {
        for (const char *k : {"users/ada", "users/bob", "orders/ada-1", "misc"})
            putOverHttp(k, "1");
        auto *counts = m_window->findChild<QLabel *>(QStringLiteral("countStatus"));
        QTRY_COMPARE(counts->text(), QStringLiteral("4 keys"));
        QTest::keyClicks(m_window->findChild<QLineEdit *>(QStringLiteral("filterEdit")),
                         QStringLiteral("ADA"));
        QTRY_COMPARE(counts->text(), QStringLiteral("2 of 4 keys match"));
        QVERIFY(waitForKey(*m_window, "users/ada").isValid());
        QVERIFY(waitForKey(*m_window, "orders/ada-1").isValid());
        QVERIFY(!m_window->keyModel().indexForKey("misc").isValid());
        QVERIFY(!m_window->keyModel().indexForKey("users/bob").isValid());
        // Flat list mode shows the matching keys with their full names.
        m_window->findChild<QAction *>(QStringLiteral("actionFlatList"))->trigger();
        QTRY_COMPARE(m_window->keyModel().rowCount(), 2);
        QCOMPARE(m_window->keyModel().index(0, 0).data().toString(), QStringLiteral("orders/ada-1"));
    }

    void aWriteOverHttpAppearsWithinASecondAndInTheRequestLog()
    {
        QTRY_VERIFY(!m_window->keyModel().isLoading());
        putOverHttp("fresh%2Fkey", R"("hello")");
        QElapsedTimer t;
        t.start();
        QVERIFY(waitForKey(*m_window, "fresh/key", 1000).isValid());
        QVERIFY2(t.elapsed() < 1000, qPrintable(QString::number(t.elapsed())));
        RequestLogModel &log = m_window->serverPanel().logModel();
        QTRY_VERIFY(log.rowCount() >= 1);
        const AccessLogEntry &e = log.entry(log.rowCount() - 1);
        QCOMPARE(e.method, "PUT");
        QCOMPARE(e.path, "/v1/kv/fresh%2Fkey");
        QCOMPARE(e.status, 200);
        QCOMPARE(e.client, QStringLiteral("127.0.0.1"));
        QCOMPARE(m_window->serverPanel().chart().bucket(e.timeMs / 1000).first, 1);
        // Filter and clear.
        call("GET", "/v1/kv/missing");
        QTRY_COMPARE(log.rowCount(), 2);
        auto *view = m_window->findChild<QTableView *>(QStringLiteral("requestLog"));
        QTest::keyClicks(m_window->findChild<QLineEdit *>(QStringLiteral("logFilter")),
                         QStringLiteral("404"));
        QTRY_COMPARE(view->model()->rowCount(), 1);
        QVERIFY(clickButton(*m_window, "clearLogButton"));
        QCOMPARE(log.rowCount(), 0);
    }

    void theLogFilterMatchesMethodPathStatusAndClientOnly()
    {
        RequestLogModel &log = m_window->serverPanel().logModel();
        log.clear();
        // A time and a latency whose digits hold "404", on a request that did not get a 404.
        const qint64 at = QDateTime(QDate(2026, 1, 2), QTime(3, 4, 5, 404)).toMSecsSinceEpoch();
        log.append({{at, u"127.0.0.1"_s, "GET", "/v1/kv/a", 200, 404.5},
                    {at, u"10.0.0.7"_s, "PUT", "/v1/kv/b", 404, 1.0}});
        auto *view = m_window->findChild<QTableView *>(QStringLiteral("requestLog"));
        auto *filter = m_window->findChild<QLineEdit *>(QStringLiteral("logFilter"));
        const auto shown = [&](const QString &text) {
            filter->clear();
            QTest::keyClicks(filter, text);
            return view->model()->rowCount();
        };
        QTRY_COMPARE(shown(u"404"_s), 1);
        QCOMPARE(view->model()->index(0, RequestLogModel::StatusColumn).data().toInt(), 404);
        QCOMPARE(shown(u"put"_s), 1);      // method, either case
        QCOMPARE(shown(u"/v1/kv/a"_s), 1); // path
        QCOMPARE(shown(u"10.0.0"_s), 1);   // client
        QCOMPARE(shown(u"05.404"_s), 0);   // not the time
        QCOMPARE(shown(u"404.5"_s), 0);    // nor the latency
        filter->clear();
        QCOMPARE(view->model()->rowCount(), 2);
        log.clear();
    }

    void aKeyDeletedOverHttpDisappearsWithItsFolder()
    {
        putOverHttp("tmp%2Fonly", "1");
        QVERIFY(waitForKey(*m_window, "tmp/only").isValid());
        QCOMPARE(call("DELETE", "/v1/kv/tmp/only").status, 200);
        QVERIFY(waitForGone("tmp/only"));
        QVERIFY(waitForGone("tmp/"));
    }

    // Writes that reach the window many at a time (one transaction of a hundred keys) are applied
    // together; the selected row, the current one and the open folders stay where they were.
    void manyChangesAtOnceKeepTheSelectionAndOpenFolders()
    {
        auto c = m_server->server().store().connect();
        const auto transaction = [&c](const std::function<void()> &writes) {
            c->begin();
            writes();
            c->commit();
        };
        const auto key = [](const char *prefix, int i) -> QByteArray {
            return QByteArray(prefix) + QByteArray::number(i).rightJustified(3, '0');
        };
        transaction([&] {
            for (const char *k : {"docs/k010", "docs/k020", "docs/k030", "r010", "r020"})
                c->put(k, "1", std::nullopt);
        });
        QVERIFY(selectKey(*m_window, "docs/k020")); // opens docs/
        KeyModel &model = m_window->keyModel();
        QTreeView &tree = m_window->tree();
        const auto keysBelow = [&model](const QModelIndex &parent) {
            QList<QByteArray> keys;
            for (int row = 0; row < model.rowCount(parent); ++row)
                keys << KeyModel::keyOf(model.index(row, 0, parent));
            return keys;
        };
        const auto selectedKeys = [&tree] {
            QList<QByteArray> keys;
            for (const QModelIndex &i : tree.selectionModel()->selectedRows())
                keys << KeyModel::keyOf(i);
            return keys;
        };

        transaction([&] {
            for (int i = 0; i < 100; ++i)
                c->put(key("docs/k", i), "2", std::nullopt);
            for (int i = 0; i < 50; ++i)
                c->put(key("r", i), "2", std::nullopt);
            for (int i = 0; i < 10; ++i)
                c->put(key("new/", i), "2", std::nullopt);
        });
        const QModelIndex docs = model.indexForKey("docs/");
        QTRY_COMPARE(model.rowCount(docs), 100);
        QList<QByteArray> expected;
        for (int i = 0; i < 100; ++i)
            expected << key("docs/k", i);
        QCOMPARE(keysBelow(docs), expected);
        expected = {"docs/", "new/"};
        for (int i = 0; i < 50; ++i)
            expected << key("r", i);
        QTRY_COMPARE(keysBelow({}), expected);
        QVERIFY(tree.isExpanded(model.indexForKey("docs/")));
        QCOMPARE(KeyModel::keyOf(tree.currentIndex()), "docs/k020");
        QCOMPARE(selectedKeys(), QList<QByteArray>{"docs/k020"});
        QCOMPARE(model.data(model.indexForKey("docs/k020").siblingAtColumn(KeyModel::SizeColumn)).toString(),
                 model.data(model.indexForKey("docs/k021").siblingAtColumn(KeyModel::SizeColumn)).toString());

        // Most of a folder deleted at once, and a whole folder.
        transaction([&] {
            for (int i = 0; i < 100; ++i) {
                if (i != 20 && i != 50)
                    c->remove(key("docs/k", i));
            }
            for (int i = 0; i < 10; ++i)
                c->remove(key("new/", i));
        });
        QTRY_COMPARE(keysBelow(model.indexForKey("docs/")), (QList<QByteArray>{"docs/k020", "docs/k050"}));
        QTRY_VERIFY(!model.indexForKey("new/").isValid());
        QVERIFY(tree.isExpanded(model.indexForKey("docs/")));
        QCOMPARE(KeyModel::keyOf(tree.currentIndex()), "docs/k020");
        QCOMPARE(selectedKeys(), QList<QByteArray>{"docs/k020"});

        // The selected key deleted with many others: nothing selected is left behind.
        transaction([&] {
            c->remove("docs/k020");
            for (int i = 0; i < 40; ++i)
                c->remove(key("r", i));
        });
        expected = {"docs/"};
        for (int i = 40; i < 50; ++i)
            expected << key("r", i);
        QTRY_COMPARE(keysBelow({}), expected);
        QCOMPARE(keysBelow(model.indexForKey("docs/")), QList<QByteArray>{"docs/k050"});
        QVERIFY(selectedKeys().isEmpty());
    }

    // In a store larger than what the window has loaded, keys written beyond it are not looked
    // up (their rows would not be shown), yet the counts follow them, folders that lose their
    // last key below still go, and the keys show up once their page is loaded.
    void changesBeyondWhatIsLoadedAreNotLookedUp()
    {
        m_window.reset(); // opened again on the store filled
        auto c = m_server->server().store().connect();
        const auto key = [](const char *prefix, int i) -> QByteArray {
            return QByteArray(prefix) + QByteArray::number(i).rightJustified(3, '0');
        };
        c->begin();
        for (int i = 0; i < 3000; ++i)
            c->put(key("k", i), "1", std::nullopt);
        c->put("c/only", "1", std::nullopt);
        c->put("d/e/f", "1", std::nullopt);
        c->commit();
        m_window = std::make_unique<MainWindow>(m_server->server(), m_server->clock());
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        KeyModel &model = m_window->keyModel();
        QTRY_VERIFY(!model.isLoading() && model.rowCount() > 0);
        QVERIFY(model.rowCount() < 3002); // the pages that fill the window, not all
        QVERIFY(!model.indexForKey("k2999").isValid());
        auto *counts = m_window->findChild<QLabel *>(QStringLiteral("countStatus"));
        QTRY_COMPARE(counts->text(), QStringLiteral("3,002 keys"));
        const qint64 lookedUp = model.keysLookedUp();
        const qint64 skipped = model.keysSkipped();

        c->begin();
        for (int i = 0; i < 300; ++i)
            c->put(key("z", i), "1", std::nullopt);
        c->put("k0005", "1", std::nullopt); // among the rows loaded
        c->commit();
        QVERIFY(waitForKey(*m_window, "k0005").isValid());
        QCOMPARE(model.keysSkipped() - skipped, 300);
        QCOMPARE(model.keysLookedUp() - lookedUp, 1);
        QTRY_COMPARE(counts->text(), QStringLiteral("3,303 keys"));

        // Below folders that show no rows (never opened), every change is looked up.
        c->remove("c/only");
        c->remove("d/e/f");
        QVERIFY(waitForGone("c/"));
        QVERIFY(waitForGone("d/"));
        QTRY_COMPARE(counts->text(), QStringLiteral("3,301 keys"));

        QTreeView &tree = m_window->tree();
        for (int i = 0; i < 100 && !model.indexForKey("z299").isValid(); ++i) {
            tree.verticalScrollBar()->setValue(tree.verticalScrollBar()->maximum());
            QTest::qWait(50);
        }
        QVERIFY(model.indexForKey("z299").isValid());
        QCOMPARE(model.rowCount(), 3301);
    }

    void serverPanelStopsStartsAndMovesTheListener()
    {
        auto *url = m_window->findChild<QLineEdit *>(QStringLiteral("serverUrl"));
        QCOMPARE(url->text(), m_server->server().url());
        QVERIFY(clickButton(*m_window, "startStopButton"));
        QVERIFY(!m_server->server().isRunning());
        QCOMPARE(m_window->findChild<QLabel *>(QStringLiteral("serverState"))->text(),
                 QStringLiteral("Stopped"));
        // The store stays usable from the window while nothing listens.
        m_window->actions().newKey->trigger();
        auto *dialog = waitForChild<QDialog>(*m_window, QStringLiteral("newKeyDialog"));
        QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("newKeyName")),
                         QStringLiteral("offline"));
        QTest::keyClicks(dialog->findChild<QPlainTextEdit *>(QStringLiteral("newKeyValue")),
                         QStringLiteral("1"));
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("newKeyCreate")),
                          Qt::LeftButton);
        QTRY_VERIFY(stored("offline").has_value());
        QVERIFY(clickButton(*m_window, "startStopButton"));
        QVERIFY(m_server->server().isRunning());
        QCOMPARE(call("GET", "/v1/kv/offline").status, 200);
        // A new host and port: the listener restarts there.
        m_window->findChild<QSpinBox *>(QStringLiteral("portSpin"))->setValue(0);
        auto *host = m_window->findChild<QLineEdit *>(QStringLiteral("hostEdit"));
        host->setText(QStringLiteral("::1"));
        QVERIFY(clickButton(*m_window, "applyListenButton"));
        QVERIFY(m_server->server().isRunning());
        QVERIFY(url->text().startsWith(QStringLiteral("http://[::1]:")));
        HttpClient v6(m_server->port(), QStringLiteral("::1"));
        QCOMPARE(v6.request("GET", "/v1/kv/offline", {}, TestServer::auth()).status, 200);
        // A bad address is reported in the window.
        host->setText(QStringLiteral("not-an-address"));
        QVERIFY(clickButton(*m_window, "applyListenButton"));
        QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("serverError"))->isVisible());
    }

    void windowStateIsRememberedAcrossLaunches()
    {
        m_window->findChild<QAction *>(QStringLiteral("actionFlatList"))->setChecked(true);
        m_window->resize(1000, 650);
        m_window->close();
        m_window = std::make_unique<MainWindow>(m_server->server(), m_server->clock());
        QVERIFY(m_window->findChild<QAction *>(QStringLiteral("actionFlatList"))->isChecked());
        QVERIFY(!m_window->keyModel().isGrouped());
        QCOMPARE(m_window->size(), QSize(1000, 650));
        m_window->findChild<QAction *>(QStringLiteral("actionFlatList"))->setChecked(false);
        m_window->close();
    }

    void everyActionHasAShortcutAndAMenuEntry()
    {
        const QList<QAction *> actions = m_window->actions().findChildren<QAction *>();
        QVERIFY(actions.size() >= 14);
        for (QAction *a : actions) {
            QVERIFY2(!a->shortcut().isEmpty(), qPrintable(a->objectName()));
            bool inMenu = false;
            for (QObject *o : a->associatedObjects())
                inMenu = inMenu || qobject_cast<QMenu *>(o);
            QVERIFY2(inMenu, qPrintable(a->objectName()));
        }
    }

    void exportThenImportFromTheWindow()
    {
        putOverHttp("pets%2Fcat", R"({"name":"Tom"})");
        QCOMPARE(call("PUT", "/v1/kv/pets/dog", R"({"value":"Rex","ttl":600})").status, 200);
        putOverHttp("other", "1");
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("pets.ndjson"));
        QVERIFY(selectKey(*m_window, "pets/"));
        m_window->findChild<QAction *>(QStringLiteral("actionExport"))->trigger();
        auto *dialog = waitForChild<QDialog>(*m_window, QStringLiteral("exportDialog"));
        QVERIFY(dialog);
        QCOMPARE(dialog->findChild<QLineEdit *>(QStringLiteral("exportPrefix"))->text(),
                 QStringLiteral("pets/"));
        dialog->findChild<QLineEdit *>(QStringLiteral("transferFile"))->setText(file);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("startTransferButton")),
                          Qt::LeftButton);
        auto *summary = dialog->findChild<QLabel *>(QStringLiteral("transferSummary"));
        QTRY_VERIFY(summary->text().startsWith(QStringLiteral("Exported 2 keys")));
        QCOMPARE(dialog->findChild<QProgressBar *>(QStringLiteral("transferProgress"))->value(), 1000);
        dialog->close();

        // Change one, delete one, then a dry run shows what an import would do, and the import does it.
        putOverHttp("pets%2Fcat", R"({"name":"Felix"})");
        QCOMPARE(call("DELETE", "/v1/kv/pets/dog").status, 200);
        m_window->findChild<QAction *>(QStringLiteral("actionImport"))->trigger();
        dialog = waitForChild<QDialog>(*m_window, QStringLiteral("importDialog"));
        QVERIFY(dialog);
        dialog->findChild<QLineEdit *>(QStringLiteral("transferFile"))->setText(file);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("dryRunButton")),
                          Qt::LeftButton);
        summary = dialog->findChild<QLabel *>(QStringLiteral("transferSummary"));
        QTRY_VERIFY(summary->text().startsWith(QStringLiteral("Dry run")));
        QVERIFY2(summary->text().contains(QStringLiteral("1 created, 1 overwritten")),
                 qPrintable(summary->text()));
        auto *preview = dialog->findChild<QListWidget *>(QStringLiteral("importPreview"));
        QCOMPARE(preview->count(), 2);
        QVERIFY(preview->item(0)->text().contains(QStringLiteral("overwrite")));
        QCOMPARE(stored("pets/cat")->json, R"({"name":"Felix"})");
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("startTransferButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(summary->text().startsWith(QStringLiteral("Imported")));
        QCOMPARE(stored("pets/cat")->json, R"({"name":"Tom"})");
        QVERIFY(stored("pets/dog")->expiresAtMs.has_value());
        // The window sees the imported keys like any other change.
        QVERIFY(waitForKey(*m_window, "pets/dog").isValid());
        dialog->close();
    }

    void anImportCanBeCancelledAndBadFilesAreReported()
    {
        QTemporaryDir dir;
        const QString big = dir.filePath(QStringLiteral("big.ndjson"));
        {
            QFile f(big);
            QVERIFY(f.open(QIODevice::WriteOnly));
            for (int i = 0; i < 200000; ++i)
                f.write("{\"key\":\"bulk/" + QByteArray::number(i) + "\",\"value\":" + QByteArray::number(i) +
                        "}\n");
        }
        m_window->findChild<QAction *>(QStringLiteral("actionImport"))->trigger();
        auto *dialog = waitForChild<QDialog>(*m_window, QStringLiteral("importDialog"));
        QVERIFY(dialog);
        dialog->findChild<QLineEdit *>(QStringLiteral("transferFile"))->setText(big);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("startTransferButton")),
                          Qt::LeftButton);
        auto *cancel = dialog->findChild<QAbstractButton *>(QStringLiteral("cancelTransferButton"));
        QVERIFY(cancel->isEnabled());
        QTRY_VERIFY(dialog->findChild<QProgressBar *>(QStringLiteral("transferProgress"))->value() > 0);
        QTest::mouseClick(cancel, Qt::LeftButton);
        auto *summary = dialog->findChild<QLabel *>(QStringLiteral("transferSummary"));
        QTRY_VERIFY_WITH_TIMEOUT(summary->text().contains(QStringLiteral("cancelled")), 20000);
        auto c = m_server->server().store().connect();
        const qint64 written = c->countLiveKeys();
        QVERIFY2(written > 0 && written < 200000, qPrintable(QString::number(written)));

        const QString bad = dir.filePath(QStringLiteral("bad.json"));
        {
            QFile f(bad);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("[{\"key\":\"ok\",\"value\":\"1\"},\n{\"key\":\"\",\"value\":\"2\"}\n]");
        }
        dialog->findChild<QLineEdit *>(QStringLiteral("transferFile"))->setText(bad);
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("startTransferButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(summary->text().contains(QStringLiteral("line 2")));
        QVERIFY(summary->text().contains(QStringLiteral("1 invalid")));
        dialog->findChild<QLineEdit *>(QStringLiteral("transferFile"))
            ->setText(dir.filePath(QStringLiteral("none")));
        QTest::mouseClick(dialog->findChild<QAbstractButton *>(QStringLiteral("startTransferButton")),
                          Qt::LeftButton);
        QTRY_VERIFY(summary->text().startsWith(QStringLiteral("Failed: Cannot read")));
        dialog->close();
    }

    void screenshotWithSampleData()
    {
        putOverHttp("config%2Fapp", R"({"theme":"dark","retries":3,"features":["search","export"]})");
        putOverHttp("config%2Fflags", R"({"beta":true})");
        QCOMPARE(call("PUT", "/v1/kv/sessions/7f3a", R"({"value":{"user":42},"ttl":3600})").status, 200);
        putOverHttp("users%2F1", R"({"name":"Ada Lovelace","email":"ada@example.com"})");
        putOverHttp("users%2F2", R"({"name":"Alan Turing","email":"alan@example.com"})");
        putOverHttp("greeting", R"("Hello, world")");
        m_window->resize(1366, 768);
        QVERIFY(waitForKey(*m_window, "config/app").isValid());
        QVERIFY(waitForKey(*m_window, "sessions/7f3a").isValid());
        QVERIFY(selectKey(*m_window, "config/app"));
        QTRY_VERIFY(valueEdit()->toPlainText().contains(QStringLiteral("theme")));
        QTRY_VERIFY(m_window->serverPanel().logModel().rowCount() >= 6);
        QTest::qWait(300);
        const QString dir = QStringLiteral(KVDESK_SCREENSHOT_DIR);
        QDir().mkpath(dir);
        const QString file = dir + QStringLiteral("/mainwindow.png");
        QVERIFY(m_window->grab().save(file));
        qInfo("screenshot: %s", qPrintable(file));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
