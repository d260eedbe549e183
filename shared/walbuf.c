/*
 * walbuf - an SQLite VFS that writes each WAL commit with one system call.
 *
 * SQLite appends a WAL frame as two writes, its 24-byte header and then the
 * page, so a commit of n pages costs 2n pwrite() calls; in moat-policyd's
 * group commits that was a tenth of the CPU time. This VFS wraps the
 * default one. On a -wal file it gathers writes that continue each other
 * (frames being appended) in a buffer and writes it with one pwrite():
 *   - as soon as the page of a commit frame (a frame header whose "database
 *     size" field is not zero) is in it: the commit is in the file before
 *     SQLite publishes it in the WAL index, and an error (a full disk)
 *     comes back from that very write, so SQLite fails the commit as it
 *     would have without the buffer;
 *   - before a write elsewhere in the file (which is not held), a read, a
 *     sync, a truncate, a size query, a file control or the close;
 *   - when the buffer is full.
 * Frames that are not yet followed by their commit frame are invisible to
 * every reader and to recovery, so holding them back a little loses
 * nothing. Every other file (the database, journals) is the wrapped VFS's
 * own file object, untouched.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "walbuf.h"

/*
 * SQLite's unix VFS writes at most 128 kB - 1 per pwrite() (it masks the
 * length with 0x1ffff, and a length that masks to 0 reads as a full disk):
 * stay below it. 30 frames of 4 kB pages.
 */
#define WALBUF_SIZE (120 * 1024)
#define FRAME_HDR 24

struct wb_file {
	sqlite3_file base;	/* first: SQLite sees this */
	sqlite3_file *real;	/* the wrapped VFS's file, after this struct */
	unsigned char *buf;
	size_t len;		/* bytes held */
	sqlite3_int64 off;	/* file offset of buf[0] */
	sqlite3_int64 next;	/* where the last write ended */
	int commit_next;	/* the next write is a commit frame's page */
};

/* The wrapped file lives right after ours, aligned as SQLite aligns it. */
#define WB_HDR ((sizeof(struct wb_file) + 7) & ~(size_t)7)

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *real_vfs;

static int wb_flush(struct wb_file *w)
{
	int rc;

	if (w->len == 0)
		return SQLITE_OK;
	rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
	w->len = 0;
	return rc;
}

static int wb_close(sqlite3_file *f)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w), rc2 = w->real->pMethods->xClose(w->real);

	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, amt, off);
}

static int wb_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *w = (struct wb_file *)f;
	const unsigned char *b = p;
	int commit = w->commit_next, rc;

	/* A frame header that carries a database size marks a commit frame. */
	w->commit_next = amt == FRAME_HDR && (b[4] | b[5] | b[6] | b[7]) != 0;
	/*
	 * Only a write that continues the previous one is held: frames being
	 * appended. Anything else (the WAL header of a restarted log, a page
	 * rewritten in place, checksums rewritten at commit) goes to the file
	 * at once, after what is held, so the order of writes is kept.
	 */
	if (off != w->next || (size_t)amt > WALBUF_SIZE ||
	    (w->buf == NULL && (w->buf = malloc(WALBUF_SIZE)) == NULL)) {
		if ((rc = wb_flush(w)) != SQLITE_OK)
			return rc;
		w->next = off + amt;
		return w->real->pMethods->xWrite(w->real, p, amt, off);
	}
	w->next = off + amt;
	if (w->len + (size_t)amt > WALBUF_SIZE && (rc = wb_flush(w)) != SQLITE_OK)
		return rc;
	if (w->len == 0)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)amt);
	w->len += (size_t)amt;
	return commit ? wb_flush(w) : SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wb_lock(sqlite3_file *f, int level)
{
	struct wb_file *w = (struct wb_file *)f;

	return w->real->pMethods->xLock(w->real, level);
}

static int wb_unlock(sqlite3_file *f, int level)
{
	struct wb_file *w = (struct wb_file *)f;

	return w->real->pMethods->xUnlock(w->real, level);
}

static int wb_check_reserved(sqlite3_file *f, int *out)
{
	struct wb_file *w = (struct wb_file *)f;

	return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc = wb_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
	struct wb_file *w = (struct wb_file *)f;

	return w->real->pMethods->xSectorSize(w->real);
}

static int wb_device_characteristics(sqlite3_file *f)
{
	struct wb_file *w = (struct wb_file *)f;

	return w->real->pMethods->xDeviceCharacteristics(w->real);
}

/* A -wal file has no shared memory and is never mapped: version 1 is all it needs. */
static const sqlite3_io_methods wb_methods = {
	.iVersion = 1,
	.xClose = wb_close,
	.xRead = wb_read,
	.xWrite = wb_write,
	.xTruncate = wb_truncate,
	.xSync = wb_sync,
	.xFileSize = wb_file_size,
	.xLock = wb_lock,
	.xUnlock = wb_unlock,
	.xCheckReservedLock = wb_check_reserved,
	.xFileControl = wb_file_control,
	.xSectorSize = wb_sector_size,
	.xDeviceCharacteristics = wb_device_characteristics,
};

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		   int *out_flags)
{
	struct wb_file *w = (struct wb_file *)f;
	int rc;

	(void)vfs;
	/* Anything but a WAL file is the wrapped VFS's own, in our space. */
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)((char *)w + WB_HDR);
	rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		w->base.pMethods = NULL;
		return rc;
	}
	w->base.pMethods = &wb_methods;
	return SQLITE_OK;
}

/* The rest is the wrapped VFS's. */
static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, msg);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int wb_get_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int walbuf_register(void)
{
	if (real_vfs)
		return SQLITE_OK;
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		return SQLITE_ERROR;
	/* Version 2 only: the wrapped VFS's system-call overrides stay its own. */
	wb_vfs.iVersion = 2;
	wb_vfs.szOsFile = (int)WB_HDR + real_vfs->szOsFile;
	wb_vfs.mxPathname = real_vfs->mxPathname;
	wb_vfs.zName = "moat-walbuf";
	wb_vfs.xOpen = wb_open;
	wb_vfs.xDelete = wb_delete;
	wb_vfs.xAccess = wb_access;
	wb_vfs.xFullPathname = wb_full_pathname;
	wb_vfs.xDlOpen = wb_dlopen;
	wb_vfs.xDlError = wb_dlerror;
	wb_vfs.xDlSym = wb_dlsym;
	wb_vfs.xDlClose = wb_dlclose;
	wb_vfs.xRandomness = wb_randomness;
	wb_vfs.xSleep = wb_sleep;
	wb_vfs.xCurrentTime = wb_current_time;
	wb_vfs.xGetLastError = wb_get_last_error;
	wb_vfs.xCurrentTimeInt64 = wb_current_time_int64;
	return sqlite3_vfs_register(&wb_vfs, 1);
}
