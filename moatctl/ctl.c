/*
 * ctl - what moatctl's commands share; see ctl.h. Knows no command.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/printable.h"
#include "core/sbuf.h"
#include "ctl.h"
#include "store/db.h"

sqlite3 *ctl_db(struct ctl *ctl)
{
	char err[1024];

	if (ctl->db)
		return ctl->db;
	/*
	 * A typo in moat.conf may be in database_path (or its directory): then
	 * the default would be another database. Use one that is there, but
	 * never create one from a file with errors.
	 */
	if (ctl->conf_warnings && access(conf_str(ctl->cf, "database_path"), F_OK) != 0)
		msg_fatal("no database at %s, and %s has errors (above): not creating one; fix the"
			  " file first",
			  conf_str(ctl->cf, "database_path"), ctl->conf_path);
	if (daemon_state_dir(ctl->cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	ctl->db = db_open(conf_str(ctl->cf, "database_path"),
			  (int)conf_num(ctl->cf, "db_busy_timeout") * 1000, err, sizeof(err));
	if (ctl->db == NULL)
		msg_fatal("%s", err);
	return ctl->db;
}

/* See ctl.h. */
/*
 * See ctl.h. Four buffers in turn, so that one printf() can show up to
 * four values; moatctl is single-threaded.
 */
const char *ctl_show(const char *s)
{
	static struct sbuf ring[4];
	static unsigned next;
	struct sbuf *sb = &ring[next++ % 4];
	size_t n;

	if (s == NULL)
		return "-";
	sbuf_reset(sb);
	sbuf_puts(sb, s);
	n = printable(sb->data, sb->len);
	/* A tab would start a column of its own in the tab-separated output. */
	for (size_t i = 0; i < n; i++)
		if (sb->data[i] == '\t')
			sb->data[i] = '?';
	sb->len = n;
	return sbuf_cstr(sb);
}

/* See ctl.h. */
int ctl_print_rows(sqlite3 *db, sqlite3_stmt *st)
{
	int ncol, rc;

	if (st == NULL)
		return 1;
	ncol = sqlite3_column_count(st);
	for (int i = 0; i < ncol; i++)
		printf(i ? "\t%s" : "%s", sqlite3_column_name(st, i));
	printf("\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);

			printf(i ? "\t%s" : "%s", ctl_show((const char *)v));
		}
		printf("\n");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

/* See ctl.h. */
int ctl_print_query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return 1;
	}
	return ctl_print_rows(db, st);
}


/* See ctl.h. */
int ctl_exec(sqlite3 *db, const char *sql, int nparam, char **params, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("%s: %s", what, sqlite3_errmsg(db));
		return 1;
	}
	for (int i = 0; i < nparam; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("%s: %s", what, sqlite3_errmsg(db));
		return 1;
	}
	printf("%s: %d row(s)\n", what, sqlite3_changes(db));
	return 0;
}

/* See ctl.h. */
sqlite3_stmt *ctl_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

/* See ctl.h. */
int ctl_usage(const char *text)
{
	fprintf(stderr, "usage: moatctl %s\n", text);
	return 2;
}

/* See ctl.h. */
void ctl_action_name(const char *in, char *out, size_t outlen)
{
	size_t i = 0;

	for (; in[i] && i + 1 < outlen; i++)
		out[i] = in[i] == '_' || in[i] == '-' ? ' ' : (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}
