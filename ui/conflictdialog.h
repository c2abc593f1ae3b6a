#pragma once

#include <QDialog>

namespace kvdesk {

// Shown when a save finds the value changed since it was opened: both versions side by side,
// and the user keeps theirs (overwriting), takes the stored one, or goes back to editing.
class ConflictDialog final : public QDialog
{
    Q_OBJECT

public:
    enum Choice { Cancel = 0, KeepMine = 1, TakeTheirs = 2 };

    ConflictDialog(const QString &key, const QString &mine, const QString &theirs, bool theirsDeleted,
                   QWidget *parent = nullptr);
};

} // namespace kvdesk
