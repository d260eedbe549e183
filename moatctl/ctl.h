/*
 * ctl - what moatctl's commands (cmd_*.c) share: the loaded moat.conf, the
 * database opened on first use, and printing query results. Knows no
 * command, so the commands depend on it and never the other way round.
 */
#ifndef MOAT_CTL_H
#define MOAT_CTL_H

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
/*
 * Stored text as moatctl shows it: through printable() (control bytes, DEL,
 * C1 and ill-formed UTF-8 become '?'), tabs too; NULL shows as "-". The
 * result lives until the fourth call after this one.
 */
const char *ctl_show(const char *s);
/* Print a query's rows as tab-separated columns under a header line; 0, or 1 on error. */
int ctl_print_query(sqlite3 *db, const char *sql);
/* The same for a prepared statement (NULL: 1), which it finalizes. */
int ctl_print_rows(sqlite3 *db, sqlite3_stmt *st);
/* A prepared statement, or NULL (the error logged). */
sqlite3_stmt *ctl_prepare(sqlite3 *db, const char *sql);
/* One write statement with text parameters; prints "what: N row(s)"; 0, or 1 (logged). */
int ctl_exec(sqlite3 *db, const char *sql, int nparam, char **params, const char *what);
/* "usage: moatctl TEXT" on stderr; returns 2, the usage error's exit status. */
int ctl_usage(const char *text);
/* An action as the actions table names it: "add_header" and "Add-Header" are "add header". */
void ctl_action_name(const char *in, char *out, size_t outlen);

#endif
