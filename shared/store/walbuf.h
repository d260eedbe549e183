/*
 * walbuf - an SQLite VFS that writes each WAL frame with one pwrite()
 * instead of two (header, then page); see walbuf.c.
 */
#ifndef MOAT_WALBUF_H
#define MOAT_WALBUF_H

/* Wrap the default VFS and make the wrapper the default, for the
 * connections opened from now on. SQLITE_OK, or an SQLite error code. */
int walbuf_register(void);

#endif
