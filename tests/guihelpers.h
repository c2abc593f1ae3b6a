#pragma once

// Helpers for GUI tests that drive the real main window on the offscreen platform.
#include "keymodel.h"
#include "mainwindow.h"

#include <QAbstractButton>
#include <QApplication>
#include <QDialog>
#include <QTest>
#include <QTreeView>

namespace kvdesk::test {

// Waits until the window has a visible child of type T named name.
template<typename T> T *waitForChild(QWidget &window, const QString &name, int timeoutMs = 5000)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        for (T *w : window.findChildren<T *>(name)) {
            if (w->isVisible())
                return w;
        }
        QTest::qWait(10);
    }
    return nullptr;
}

// Waits until key's row is loaded, expanding the folders above it.
inline QModelIndex waitForKey(MainWindow &window, const QByteArray &key, int timeoutMs = 5000)
{
    KeyModel &model = window.keyModel();
    QElapsedTimer timer;
    timer.start();
    qsizetype from = 0;
    while (timer.elapsed() < timeoutMs) {
        const qsizetype slash = model.isGrouped() ? key.indexOf('/', from) : -1;
        const QByteArray target = slash >= 0 && slash + 1 < key.size() ? key.left(slash + 1) : key;
        const QModelIndex index = model.indexForKey(target);
        if (index.isValid() && target == key)
            return index;
        if (index.isValid()) {
            window.tree().expand(index);
            from = slash + 1;
            continue;
        }
        QTest::qWait(10);
    }
    return {};
}

// Makes key the current and only selected row.
inline bool selectKey(MainWindow &window, const QByteArray &key)
{
    const QModelIndex index = waitForKey(window, key);
    if (!index.isValid())
        return false;
    window.tree().setFocus();
    window.tree().selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect |
                                                               QItemSelectionModel::Rows);
    return true;
}

inline QAction *action(QWidget &window, const char *name)
{
    return window.findChild<QAction *>(QString::fromLatin1(name));
}

inline bool clickButton(QWidget &parent, const char *name)
{
    auto *button = waitForChild<QAbstractButton>(parent, QString::fromLatin1(name));
    if (!button)
        return false;
    QTest::mouseClick(button, Qt::LeftButton);
    return true;
}

} // namespace kvdesk::test
