/*
 * moatctl - what the command modules (moatctl_*.c) need from moatctl.c.
 */
#ifndef MOAT_MOATCTL_H
#define MOAT_MOATCTL_H

#include <sqlite3.h>

#include "core/conf.h"

struct ctl {
	struct conf *cf;
	sqlite3 *db;
	const char *conf_path;	/* moat.conf as given (-c) or the default */
	int conf_warnings;	/* bad lines in it, ignored (conf_load_lenient) */
};

/* The database, opened (created, migrated) on first use; exits if it cannot be. */
sqlite3 *ctl_db(struct ctl *ctl);
/* Print a query's rows as tab-separated columns under a header line; 0, or 1 on error. */
int ctl_print_query(sqlite3 *db, const char *sql);
/* The same for a prepared statement (NULL: 1), which it finalizes. */
int ctl_print_rows(sqlite3 *db, sqlite3_stmt *st);

#endif
