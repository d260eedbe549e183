/*
 * walbuf - an SQLite VFS that writes each WAL commit with one pwrite()
 * instead of two per page; see walbuf.c for when the writes it holds go out.
 */
#ifndef MOAT_WALBUF_H
#define MOAT_WALBUF_H

/* Wrap the default VFS and make the wrapper the default, for the
 * connections opened from now on. SQLITE_OK, or an SQLite error code. */
int walbuf_register(void);

#endif
