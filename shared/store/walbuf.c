/*
 * walbuf - an SQLite VFS that writes the frames of a WAL commit with one
 * system call.
 *
 * SQLite appends a WAL frame as two writes, its 24-byte header and then
 * the page, so a commit of n pages costs 2n pwrite() calls; in
 * moat-policyd's group commits that was a tenth of its CPU time, and 13%
 * of its requests/second. This VFS wraps the default one and, on a -wal
 * file, gathers whole frames appended one after the other (a header that
 * continues the previous write, then its page) in a buffer:
 *   - a commit frame (a header with a database size) goes out with
 *     everything before it as soon as its page is in: the commit is in the
 *     file before SQLite publishes it in the WAL index, and an error (a
 *     full disk) is the error of that very write, so SQLite fails the
 *     commit as it would have without the buffer;
 *   - frames not followed by their commit (a transaction larger than the
 *     page cache spills) are invisible to every reader and to recovery:
 *     they go out before any read, sync, truncate, size query, file control
 *     or close, before a write elsewhere in the file, or when the buffer is
 *     full; and they are dropped, never written, when SQLite releases the
 *     WAL write lock, because then their transaction was rolled back, and
 *     another connection may write the same place next;
 *   - anything that is not a whole frame continuing the previous write (the
 *     WAL header, checksums rewritten at commit, a page rewritten in place,
 *     a frame split around a sync) goes to the file at once, after what is
 *     held, so the order of writes is kept;
 *   - if a write of held frames fails at any other time, every later write,
 *     read and sync of the file fails too until the write lock is released,
 *     so the transaction cannot commit without them.
 * To see the write lock, the database file is wrapped as well (its
 * methods all pass through); every other file is the wrapped VFS's own
 * file object, untouched.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/walbuf.h"

/*
 * SQLite's unix VFS writes at most 128 kB - 1 per pwrite() (it masks the
 * length with 0x1ffff, and a length that masks to 0 reads as a full disk):
 * stay below it. 29 frames of 4 kB pages.
 */
#define WALBUF_SIZE (120 * 1024)
#define FRAME_HDR 24
#define WAL_WRITE_LOCK 0	/* SQLite's shared-memory lock of the WAL writer */

struct wb_db;

/* A -wal file. */
struct wb_wal {
	sqlite3_file base;	/* first: SQLite sees this */
	sqlite3_file *real;	/* the wrapped VFS's file, after this struct */
	struct wb_db *db;	/* its database, when that is wrapped too */
	unsigned char *buf;
	size_t len;		/* bytes held: whole frames, then maybe a header */
	sqlite3_int64 off;	/* file offset of buf[0] */
	sqlite3_int64 next;	/* where the last write ended; -1: unknown */
	int page_next;		/* a header is held: its page comes next */
	int commit;		/* ...and it is a commit frame's */
	int err;		/* held frames were lost: fail until the lock goes */
};

/* A database file: everything passes through; the WAL lock is watched. */
struct wb_db {
	sqlite3_file base;
	sqlite3_file *real;
	struct wb_wal *wal;
};

/* The wrapped file lives right after ours, aligned as SQLite aligns it. */
#define WB_HDR(t) ((sizeof(t) + 7) & ~(size_t)7)
#define WB_SPACE (WB_HDR(struct wb_wal) > WB_HDR(struct wb_db) ? WB_HDR(struct wb_wal) \
							       : WB_HDR(struct wb_db))

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *real_vfs;

/* Write what is held. */
static int wal_flush(struct wb_wal *w)
{
	int rc;

	if (w->err)
		return w->err;
	if (w->len == 0)
		return SQLITE_OK;
	rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
	w->len = 0;
	w->page_next = 0;
	if (rc != SQLITE_OK)
		w->err = SQLITE_IOERR_WRITE;
	return rc;
}

/* The write lock is gone: what is still held belonged to a rolled-back transaction. */
static void wal_unlocked(struct wb_wal *w)
{
	/* The next transaction starts where the last commit ended, not after these. */
	if (w->len)
		w->next = -1;
	w->len = 0;
	w->page_next = 0;
	w->err = 0;
}

static int wal_close(sqlite3_file *f)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w), rc2 = w->real->pMethods->xClose(w->real);

	if (w->db)
		w->db->wal = NULL;
	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, amt, off);
}

/* Hold p if it is a header continuing the last write, or the page of a held header. */
static int wal_holds(struct wb_wal *w, const unsigned char *p, int amt, sqlite3_int64 off)
{
	if (w->db == NULL || off != w->next)
		return 0;
	if (w->page_next)
		return 1;
	if (amt != FRAME_HDR)
		return 0;
	if (w->buf == NULL && (w->buf = malloc(WALBUF_SIZE)) == NULL)
		return 0;
	/* A frame header that carries a database size is a commit frame's. */
	w->commit = (p[4] | p[5] | p[6] | p[7]) != 0;
	return 1;
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int page = w->page_next, hold, rc;

	if (w->err)
		return w->err;
	hold = wal_holds(w, p, amt, off);
	if (hold && w->len + (size_t)amt > WALBUF_SIZE) {
		/* No room: out with what is held; a page whose header went with it follows. */
		if ((rc = wal_flush(w)) != SQLITE_OK)
			return rc;
		hold = !page;
	}
	if (!hold) {
		/* Not a frame continuing the last: after what is held, at once. */
		if ((rc = wal_flush(w)) != SQLITE_OK)
			return rc;
		w->page_next = 0;
		w->next = off + amt;
		return w->real->pMethods->xWrite(w->real, p, amt, off);
	}
	if (w->len == 0)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)amt);
	w->len += (size_t)amt;
	w->next = off + amt;
	if (!w->page_next) {
		w->page_next = 1;	/* a header: its page next */
		return SQLITE_OK;
	}
	w->page_next = 0;
	if (!w->commit)
		return SQLITE_OK;
	/* A commit: into the file before SQLite publishes it; its error is this write's. */
	rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->off);
	w->len = 0;
	return rc;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w);

	/* A frame split around the sync: its rest is not a frame of its own. */
	w->next = -1;
	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wb_wal *w = (struct wb_wal *)f;
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

/* Methods that only pass through, for both kinds of file: real is second in each. */
struct wb_any {
	sqlite3_file base;
	sqlite3_file *real;
};

#define REAL(f) (((struct wb_any *)(f))->real)

static int db_close(sqlite3_file *f)
{
	struct wb_db *d = (struct wb_db *)f;

	if (d->wal)
		d->wal->db = NULL;
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int any_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, amt, off);
}

static int any_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xWrite(REAL(f), p, amt, off);
}

static int any_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int any_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int any_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int any_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int any_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int any_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int any_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int any_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int any_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int db_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, pp);
}

static int db_shm_lock(sqlite3_file *f, int ofs, int n, int flags)
{
	struct wb_db *d = (struct wb_db *)f;

	if (d->wal && ofs <= WAL_WRITE_LOCK && ofs + n > WAL_WRITE_LOCK &&
	    flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE))
		wal_unlocked(d->wal);
	return REAL(f)->pMethods->xShmLock(REAL(f), ofs, n, flags);
}

static void db_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int db_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int db_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int db_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* A -wal file has no shared memory and is never mapped: version 1 is all it needs. */
static const sqlite3_io_methods wb_wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = any_lock,
	.xUnlock = any_unlock,
	.xCheckReservedLock = any_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = any_sector_size,
	.xDeviceCharacteristics = any_device_characteristics,
};

static const sqlite3_io_methods wb_db_methods = {
	.iVersion = 3,
	.xClose = db_close,
	.xRead = any_read,
	.xWrite = any_write,
	.xTruncate = any_truncate,
	.xSync = any_sync,
	.xFileSize = any_file_size,
	.xLock = any_lock,
	.xUnlock = any_unlock,
	.xCheckReservedLock = any_check_reserved,
	.xFileControl = any_file_control,
	.xSectorSize = any_sector_size,
	.xDeviceCharacteristics = any_device_characteristics,
	.xShmMap = db_shm_map,
	.xShmLock = db_shm_lock,
	.xShmBarrier = db_shm_barrier,
	.xShmUnmap = db_shm_unmap,
	.xFetch = db_fetch,
	.xUnfetch = db_unfetch,
};

/*
 * The same methods for a wrapped VFS whose files have shared memory but no
 * memory mapping (version 2), or neither (version 1: nothing to watch,
 * nothing held); SQLite reads no method past a file's version. Filled in
 * by walbuf_register().
 */
static sqlite3_io_methods wb_db_methods_v2, wb_db_methods_v1;

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		   int *out_flags)
{
	sqlite3_file *real = (sqlite3_file *)((char *)f + WB_SPACE);
	int rc;

	(void)vfs;
	/* Journals, temporary files: the wrapped VFS's own, in our space. */
	if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	rc = real_vfs->xOpen(real_vfs, name, real, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->pMethods = NULL;
		return rc;
	}
	if (flags & SQLITE_OPEN_MAIN_DB) {
		struct wb_db *d = (struct wb_db *)f;

		memset(d, 0, sizeof(*d));
		d->real = real;
		d->base.pMethods = real->pMethods->iVersion >= 3   ? &wb_db_methods
				   : real->pMethods->iVersion == 2 ? &wb_db_methods_v2
								   : &wb_db_methods_v1;
	} else {
		struct wb_wal *w = (struct wb_wal *)f;
		sqlite3_file *db = sqlite3_database_file_object(name);

		memset(w, 0, sizeof(*w));
		w->real = real;
		w->next = -1;
		/* Without its database's write lock in sight, nothing is held. */
		if (db && (db->pMethods == &wb_db_methods || db->pMethods == &wb_db_methods_v2)) {
			w->db = (struct wb_db *)db;
			w->db->wal = w;
		}
		w->base.pMethods = &wb_wal_methods;
	}
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
	wb_db_methods_v2 = wb_db_methods;
	wb_db_methods_v2.iVersion = 2;
	wb_db_methods_v1 = wb_db_methods;
	wb_db_methods_v1.iVersion = 1;
	/* Version 2 only: the wrapped VFS's system-call overrides stay its own. */
	wb_vfs.iVersion = 2;
	wb_vfs.szOsFile = (int)WB_SPACE + real_vfs->szOsFile;
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
