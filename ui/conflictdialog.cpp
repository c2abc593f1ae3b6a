#include "conflictdialog.h"

#include "jsonhighlighter.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QGridLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>

namespace kvdesk {

ConflictDialog::ConflictDialog(const QString &key, const QString &mine, const QString &theirs,
                               bool theirsDeleted, QWidget *parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("conflictDialog"));
    setWindowTitle(tr("The value changed meanwhile"));
    auto *intro = new QLabel(
        theirsDeleted
            ? tr("“%1” was deleted since you opened it. Keep your version (creating the key again), or drop "
                 "it?")
                  .arg(key)
            : tr("“%1” was changed by someone else since you opened it. Which version do you want to keep?")
                  .arg(key),
        this);
    intro->setWordWrap(true);
    auto makeView = [this](const QString &text, const QString &name) {
        auto *view = new QPlainTextEdit(text, this);
        view->setObjectName(name);
        view->setReadOnly(true);
        view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        new JsonHighlighter(view->document());
        return view;
    };
    auto *buttons = new QDialogButtonBox(this);
    auto *keep = buttons->addButton(tr("Keep &Mine"), QDialogButtonBox::AcceptRole);
    keep->setObjectName(QStringLiteral("keepMineButton"));
    auto *take = buttons->addButton(theirsDeleted ? tr("&Drop Mine") : tr("&Take Theirs"),
                                    QDialogButtonBox::DestructiveRole);
    take->setObjectName(QStringLiteral("takeTheirsButton"));
    auto *cancel = buttons->addButton(tr("Back to &Editing"), QDialogButtonBox::RejectRole);
    cancel->setObjectName(QStringLiteral("conflictCancelButton"));
    QObject::connect(keep, &QPushButton::clicked, this, [this] { done(KeepMine); });
    QObject::connect(take, &QPushButton::clicked, this, [this] { done(TakeTheirs); });
    QObject::connect(cancel, &QPushButton::clicked, this, [this] { done(Cancel); });

    auto *layout = new QGridLayout(this);
    layout->addWidget(intro, 0, 0, 1, 2);
    layout->addWidget(new QLabel(tr("Yours (not saved)"), this), 1, 0);
    layout->addWidget(new QLabel(theirsDeleted ? tr("Stored (deleted)") : tr("Stored now"), this), 1, 1);
    layout->addWidget(makeView(mine, QStringLiteral("conflictMine")), 2, 0);
    layout->addWidget(makeView(theirs, QStringLiteral("conflictTheirs")), 2, 1);
    layout->addWidget(buttons, 3, 0, 1, 2);
    resize(760, 420);
}

} // namespace kvdesk
