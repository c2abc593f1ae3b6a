#include "sqlitewalvfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fcntl.h>
#include <unistd.h>

namespace kvdesk::sqlite {

namespace {

// The log's format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header, then
// frames of a 24-byte header and a page; bytes 4-7 of a frame header, big-endian, are non-zero
// only in the frame that ends a transaction.
constexpr int logHeaderSize = 32;
constexpr int frameHeaderSize = 24;
// Gathered bytes beyond this go out before the transaction ends (a large value); a buffer
// larger than kept is given back after it is written.
constexpr int gatherLimit = 4 << 20;
constexpr int keptCapacity = 1 << 20;
// The kernel is asked to start writing the log to disk every so many bytes (without waiting):
// otherwise the dirty pages pile up until a checkpoint syncs the log, and that sync of hundreds
// of megabytes stalls the writer for milliseconds (PUT p99 13 ms against 6-7 ms with it).
constexpr qint64 writebackEvery = 1 << 20;

sqlite3_vfs *g_inner = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_logMethods;
std::atomic<quint64> g_requested{0};
std::atomic<quint64> g_made{0};
std::atomic<quint64> g_writebacks{0};

// An open log. SQLite allocates it (szOsFile bytes) and never runs constructors: plain data,
// set up in open(); the inner VFS's own file object follows it.
//
// The writer appends frames in order; gathered here, they reach the kernel together when
// the page of a frame that ends a transaction arrives, before SQLite makes the transaction
// visible to readers (it updates the shared index only after the last write). From then on,
// until the next transaction's first frame, writes go straight through: SQLite may still
// rewrite earlier frame headers (checksums) or pad the log before it publishes the commit.
// Anything that reads, sizes, truncates or syncs the log writes out what is gathered first.
struct LogFile
{
    sqlite3_file base;
    sqlite3_file *inner;
    char *buffer;
    int capacity;
    int length;
    sqlite3_int64 start;   // offset of buffer[0] in the file
    sqlite3_int64 lastEnd; // where the last write ended (-1: unknown)
    bool throughToNextFrame;
    bool pageEndsTransaction; // the last write was the header of a transaction's last frame
    int writebackFd;          // the log opened again, to start its writeback (-1: none)
    qint64 notWrittenBack;    // bytes written since the writeback was last started
};

LogFile *logFile(sqlite3_file *file)
{
    return reinterpret_cast<LogFile *>(file);
}

sqlite3_file *innerOf(sqlite3_file *file)
{
    return logFile(file)->inner;
}

int writeThrough(LogFile *f, const void *data, int amount, sqlite3_int64 offset)
{
    // The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length).
    constexpr int largestWrite = 120 * 1024;
    const char *bytes = static_cast<const char *>(data);
    for (int done = 0; done < amount;) {
        const int chunk = std::min(amount - done, largestWrite);
        g_made.fetch_add(1, std::memory_order_relaxed);
        if (const int rc = f->inner->pMethods->xWrite(f->inner, bytes + done, chunk, offset + done);
            rc != SQLITE_OK)
            return rc;
        done += chunk;
    }
    f->notWrittenBack += amount;
    if (f->notWrittenBack >= writebackEvery && f->writebackFd >= 0) {
        f->notWrittenBack = 0;
#ifdef __linux__
        // Every dirty page of the log, from its start: only dirty pages are looked at.
        if (::sync_file_range(f->writebackFd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0)
            g_writebacks.fetch_add(1, std::memory_order_relaxed);
#endif
    }
    return SQLITE_OK;
}

int writeGathered(LogFile *f)
{
    if (f->length == 0)
        return SQLITE_OK;
    const int rc = writeThrough(f, f->buffer, f->length, f->start);
    // Written or not, the bytes are done with: on a failure SQLite abandons the transaction and
    // its next one writes from the last published frame again.
    f->length = 0;
    if (f->capacity > keptCapacity) {
        std::free(f->buffer);
        f->buffer = nullptr;
        f->capacity = 0;
    }
    return rc;
}

bool gather(LogFile *f, const void *data, int amount, sqlite3_int64 offset)
{
    if (f->length + amount > f->capacity) {
        const int capacity = std::max({f->length + amount, f->capacity * 2, 64 * 1024});
        char *grown = static_cast<char *>(std::realloc(f->buffer, size_t(capacity)));
        if (!grown)
            return false;
        f->buffer = grown;
        f->capacity = capacity;
    }
    if (f->length == 0)
        f->start = offset;
    std::memcpy(f->buffer + f->length, data, size_t(amount));
    f->length += amount;
    return true;
}

quint32 bigEndian32(const void *data)
{
    const auto *b = static_cast<const unsigned char *>(data);
    return quint32(b[0]) << 24 | quint32(b[1]) << 16 | quint32(b[2]) << 8 | quint32(b[3]);
}

int logWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    LogFile *f = logFile(file);
    g_requested.fetch_add(1, std::memory_order_relaxed);
    const bool append = offset == f->lastEnd;
    const bool frameHeader = amount == frameHeaderSize && offset >= logHeaderSize;
    f->lastEnd = offset + amount;
    // A transaction begins with a frame header appended, or with the log's own header when the
    // log starts anew.
    if ((append && frameHeader) || (offset == 0 && amount == logHeaderSize))
        f->throughToNextFrame = false;
    // The page after the header of a transaction's last frame.
    const bool endsTransaction = f->pageEndsTransaction && !frameHeader;
    f->pageEndsTransaction = frameHeader && bigEndian32(static_cast<const char *>(data) + 4) != 0;

    int rc = SQLITE_OK;
    if (f->throughToNextFrame || !append || !gather(f, data, amount, offset)) {
        // A rewrite of something written before, or anything after a transaction's last frame:
        // what is gathered goes first, in order, then this.
        rc = writeGathered(f);
        if (rc == SQLITE_OK)
            rc = writeThrough(f, data, amount, offset);
    } else if (endsTransaction || f->length >= gatherLimit) {
        // All of the transaction goes out now, and its errors are this write's.
        rc = writeGathered(f);
    }
    if (endsTransaction)
        f->throughToNextFrame = true;
    return rc;
}

int logClose(sqlite3_file *file)
{
    LogFile *f = logFile(file);
    const int written = writeGathered(f);
    std::free(f->buffer);
    f->buffer = nullptr;
    f->capacity = 0;
    if (f->writebackFd >= 0)
        ::close(f->writebackFd);
    f->writebackFd = -1;
    const int closed = f->inner->pMethods->xClose(f->inner);
    return written != SQLITE_OK ? written : closed;
}

int logRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    if (const int rc = writeGathered(logFile(file)); rc != SQLITE_OK)
        return rc;
    return innerOf(file)->pMethods->xRead(innerOf(file), data, amount, offset);
}

int logTruncate(sqlite3_file *file, sqlite3_int64 size)
{
    LogFile *f = logFile(file);
    if (const int rc = writeGathered(f); rc != SQLITE_OK)
        return rc;
    f->lastEnd = -1;
    return f->inner->pMethods->xTruncate(f->inner, size);
}

int logSync(sqlite3_file *file, int flags)
{
    // Under synchronous=FULL a commit syncs its frames, then may still write the rest of a
    // frame split at the sync point before publishing: from here to the next transaction,
    // straight through.
    LogFile *f = logFile(file);
    f->throughToNextFrame = true;
    if (const int rc = writeGathered(f); rc != SQLITE_OK)
        return rc;
    return innerOf(file)->pMethods->xSync(innerOf(file), flags);
}

int logFileSize(sqlite3_file *file, sqlite3_int64 *size)
{
    if (const int rc = writeGathered(logFile(file)); rc != SQLITE_OK)
        return rc;
    return innerOf(file)->pMethods->xFileSize(innerOf(file), size);
}

int logLock(sqlite3_file *file, int level)
{
    return innerOf(file)->pMethods->xLock(innerOf(file), level);
}

int logUnlock(sqlite3_file *file, int level)
{
    return innerOf(file)->pMethods->xUnlock(innerOf(file), level);
}

int logCheckReservedLock(sqlite3_file *file, int *result)
{
    return innerOf(file)->pMethods->xCheckReservedLock(innerOf(file), result);
}

int logFileControl(sqlite3_file *file, int op, void *arg)
{
    if (const int rc = writeGathered(logFile(file)); rc != SQLITE_OK)
        return rc;
    return innerOf(file)->pMethods->xFileControl(innerOf(file), op, arg);
}

int logSectorSize(sqlite3_file *file)
{
    return innerOf(file)->pMethods->xSectorSize(innerOf(file));
}

int logDeviceCharacteristics(sqlite3_file *file)
{
    return innerOf(file)->pMethods->xDeviceCharacteristics(innerOf(file));
}

int innerOffset()
{
    return int((sizeof(LogFile) + 15) & ~size_t(15));
}

int open(sqlite3_vfs *, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags)
{
    if (!(flags & SQLITE_OPEN_WAL)) {
        // Any other file is the inner VFS's own object, in place.
        return g_inner->xOpen(g_inner, name, file, flags, outFlags);
    }
    LogFile *f = logFile(file);
    std::memset(f, 0, sizeof(LogFile));
    f->inner = reinterpret_cast<sqlite3_file *>(reinterpret_cast<char *>(file) + innerOffset());
    const int rc = g_inner->xOpen(g_inner, name, f->inner, flags, outFlags);
    if (rc != SQLITE_OK || !f->inner->pMethods) {
        // SQLite closes a file whose methods are set, even when opening it failed.
        if (f->inner->pMethods)
            f->inner->pMethods->xClose(f->inner);
        f->base.pMethods = nullptr;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    f->lastEnd = -1;
    // A descriptor of its own (SQLite's is not reachable) just to start writeback: the log
    // carries no POSIX locks that closing it could release.
    f->writebackFd = -1;
#ifdef __linux__
    if (!(flags & SQLITE_OPEN_READONLY))
        f->writebackFd = ::open(name, O_RDONLY | O_CLOEXEC);
#endif
    f->base.pMethods = &g_logMethods;
    return SQLITE_OK;
}

// The rest of the VFS is the inner one's.
int remove(sqlite3_vfs *, const char *name, int syncDir)
{
    return g_inner->xDelete(g_inner, name, syncDir);
}
int access(sqlite3_vfs *, const char *name, int flags, int *result)
{
    return g_inner->xAccess(g_inner, name, flags, result);
}
int fullPathname(sqlite3_vfs *, const char *name, int size, char *out)
{
    return g_inner->xFullPathname(g_inner, name, size, out);
}
void *dlOpen(sqlite3_vfs *, const char *name)
{
    return g_inner->xDlOpen(g_inner, name);
}
void dlError(sqlite3_vfs *, int size, char *message)
{
    g_inner->xDlError(g_inner, size, message);
}
void (*dlSym(sqlite3_vfs *, void *handle, const char *symbol))(void)
{
    return g_inner->xDlSym(g_inner, handle, symbol);
}
void dlClose(sqlite3_vfs *, void *handle)
{
    g_inner->xDlClose(g_inner, handle);
}
int randomness(sqlite3_vfs *, int size, char *out)
{
    return g_inner->xRandomness(g_inner, size, out);
}
int sleep(sqlite3_vfs *, int microseconds)
{
    return g_inner->xSleep(g_inner, microseconds);
}
int currentTime(sqlite3_vfs *, double *now)
{
    return g_inner->xCurrentTime(g_inner, now);
}
int lastError(sqlite3_vfs *, int size, char *out)
{
    return g_inner->xGetLastError(g_inner, size, out);
}
int currentTimeInt64(sqlite3_vfs *, sqlite3_int64 *now)
{
    return g_inner->xCurrentTimeInt64(g_inner, now);
}
int setSystemCall(sqlite3_vfs *, const char *name, sqlite3_syscall_ptr call)
{
    return g_inner->xSetSystemCall(g_inner, name, call);
}
sqlite3_syscall_ptr getSystemCall(sqlite3_vfs *, const char *name)
{
    return g_inner->xGetSystemCall(g_inner, name);
}
const char *nextSystemCall(sqlite3_vfs *, const char *name)
{
    return g_inner->xNextSystemCall(g_inner, name);
}

void install()
{
    g_inner = sqlite3_vfs_find(nullptr);
    if (!g_inner || g_inner->iVersion < 3)
        return;
    // Version 1 methods: the log is never memory-mapped nor given shared memory.
    g_logMethods = {};
    g_logMethods.iVersion = 1;
    g_logMethods.xClose = logClose;
    g_logMethods.xRead = logRead;
    g_logMethods.xWrite = logWrite;
    g_logMethods.xTruncate = logTruncate;
    g_logMethods.xSync = logSync;
    g_logMethods.xFileSize = logFileSize;
    g_logMethods.xLock = logLock;
    g_logMethods.xUnlock = logUnlock;
    g_logMethods.xCheckReservedLock = logCheckReservedLock;
    g_logMethods.xFileControl = logFileControl;
    g_logMethods.xSectorSize = logSectorSize;
    g_logMethods.xDeviceCharacteristics = logDeviceCharacteristics;

    g_vfs = {};
    g_vfs.iVersion = 3;
    g_vfs.szOsFile = innerOffset() + g_inner->szOsFile;
    g_vfs.mxPathname = g_inner->mxPathname;
    g_vfs.zName = "kvdesk-gathered-log";
    g_vfs.xOpen = open;
    g_vfs.xDelete = remove;
    g_vfs.xAccess = access;
    g_vfs.xFullPathname = fullPathname;
    g_vfs.xDlOpen = dlOpen;
    g_vfs.xDlError = dlError;
    g_vfs.xDlSym = dlSym;
    g_vfs.xDlClose = dlClose;
    g_vfs.xRandomness = randomness;
    g_vfs.xSleep = sleep;
    g_vfs.xCurrentTime = currentTime;
    g_vfs.xGetLastError = lastError;
    g_vfs.xCurrentTimeInt64 = currentTimeInt64;
    g_vfs.xSetSystemCall = setSystemCall;
    g_vfs.xGetSystemCall = getSystemCall;
    g_vfs.xNextSystemCall = nextSystemCall;
    sqlite3_vfs_register(&g_vfs, 1);
}

} // namespace

void installWalWriteGathering()
{
    static std::once_flag once;
    std::call_once(once, install);
}

WalWriteCounts walWriteCounts()
{
    return {g_requested.load(std::memory_order_relaxed), g_made.load(std::memory_order_relaxed),
            g_writebacks.load(std::memory_order_relaxed)};
}

} // namespace kvdesk::sqlite
