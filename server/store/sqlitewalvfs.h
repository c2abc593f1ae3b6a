#pragma once

#include <QtGlobal>

// SQLite writes each frame of its write-ahead log with two system calls (the frame's 24-byte
// header, then its page), so a transaction of 40 pages costs 80 writes. The VFS installed here
// wraps the default one and gathers the appends to a log, handing them to the kernel together
// (120 KiB per call at most) when the transaction's last frame is complete, before SQLite
// publishes the transaction
// to readers. Every other file, and every other operation on a log, goes straight through. Every
// MiB written, it has the kernel start writing the log to disk, so that a checkpoint's sync of
// the log finds little left to write.
namespace kvdesk::sqlite {

// Makes the wrapping VFS the process's default; later calls do nothing. Connections opened
// before it use the plain VFS, which is equally correct.
void installWalWriteGathering();

// Writes SQLite asked of logs, writes this VFS made of them, and times it had the kernel start
// writing a log to disk (every MiB written), since the process started.
struct WalWriteCounts
{
    quint64 requested = 0;
    quint64 made = 0;
    quint64 writebacksStarted = 0;
};
WalWriteCounts walWriteCounts();

} // namespace kvdesk::sqlite
