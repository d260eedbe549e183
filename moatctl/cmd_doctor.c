/*
 * cmd_doctor - moatctl doctor: the database (here), then the daemons and
 * Postfix's wiring (doctor_daemons.h) and the DNS lists (doctor.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "doctor.h"
#include "doctor_daemons.h"
#include "scan/clamav.h"
#include "scan/composite.h"
#include "store/db.h"

/* --- doctor: the database side, then the DNS side (doctor.c) ------------------- */

/* Print each row of a one-column query after a heading; the number of rows. */
static int list_rows(sqlite3 *db, const char *sql, const char *heading)
{
	sqlite3_stmt *st = ctl_prepare(db, sql);
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == 0)
			printf("%s\n", heading);
		printf("  %s\n", ctl_show((const char *)sqlite3_column_text(st, 0)));
	}
	sqlite3_finalize(st);
	return n;
}

/* Composites the scanner skips (a row the sqlite3 shell broke) or finds naming themselves. */
static void doctor_composites(sqlite3 *db)
{
	sqlite3_stmt *st = ctl_prepare(db, "SELECT name, expression FROM composites"
	                                   " WHERE enabled = 1 ORDER BY name");
	struct composite_set *set = composite_set_new();
	char err[512];
	int n = 0;

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		struct composite_expr *e =
		    composite_parse((const char *)sqlite3_column_text(st, 1), err, sizeof(err));

		if (e == NULL) {
			if (n++ == 0)
				printf(
				    "warning: composites the scanner skips (moatctl composites set"
				    " NAME --expression E):\n");
			printf("  %s: %s\n", ctl_show(name), ctl_show(err));
			continue;
		}
		composite_set_add(set, name, 0, COMPOSITE_LEAVE, e);
	}
	sqlite3_finalize(st);
	composite_set_link(set);
	if (composite_set_check(set, err, sizeof(err)) < 0)
		printf("warning: composites: %s: false there (moatctl composites disable one)\n",
		       ctl_show(err));
	composite_set_free(set);
}

/* Damage and rules that cannot work; 1 if the database is damaged. */
static int doctor_db(sqlite3 *db)
{
	sqlite3_stmt *st = ctl_prepare(db, "PRAGMA quick_check");
	const char *res = NULL;
	int bad = 0;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		res = (const char *)sqlite3_column_text(st, 0);
	printf("database: schema version %d of %d, integrity %s\n", db_version(db),
	       db_schema_version(), res ? res : "unknown");
	bad = res == NULL || strcmp(res, "ok") != 0;
	sqlite3_finalize(st);
	list_rows(db,
		  "SELECT printf('%s (%.2f) is at or above reject (%.2f): it never happens', a.name,"
		  " a.threshold, r.threshold) FROM actions a, actions r WHERE r.name = 'reject'"
		  " AND a.name <> 'reject' AND a.threshold >= r.threshold",
		  "warning: actions that cannot happen:");
	list_rows(db,
		  "SELECT DISTINCT printf('%s (rule %d): weighs 0 (moatctl weight %s VALUE)', r.symbol,"
		  " r.id, r.symbol) FROM rules r LEFT JOIN symbols s ON s.name = r.symbol"
		  " WHERE r.enabled = 1 AND s.name IS NULL",
		  "warning: regex rules whose symbol is not in the symbols table:");
	doctor_composites(db);
	list_rows(db, "SELECT printf('%s is disabled', name) FROM modules WHERE enabled = 0",
		  "modules switched off:");
	list_rows(db,
		  "SELECT printf('%d docker-mailserver setting(s) not applied:"
		  " SELECT * FROM dms_not_applied', count(*)) FROM dms_unmapped HAVING count(*) > 0",
		  "import-custom-commands:");
	list_rows(db,
		  "SELECT printf('%d message(s) in the last 24 hours, the last at %s', count(*),"
		  " coalesce(datetime(max(time), 'unixepoch', 'localtime'), '-')) FROM history"
		  " WHERE time >= unixepoch() - 86400",
		  "history:");
	return bad;
}

/* With the clamav module on: does clamd answer? 1 if mail would be tempfailed. */
static int doctor_clamav(struct ctl *ctl)
{
	static const char msg[] = "Subject: moatctl doctor\r\n\r\nA clean message.\r\n";
	sqlite3_stmt *st =
	    ctl_prepare(ctl_db(ctl), "SELECT enabled FROM modules WHERE name = 'clamav'");
	struct clamav_verdict v;
	struct clamav *cl;
	char err[512];
	int on = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
	int accepts;

	sqlite3_finalize(st);
	if (!on)
		return 0;
	if ((cl = clamav_new(ctl->cf, err, sizeof(err))) == NULL) {
		printf("FAILED: clamav: %s\n", err);
		return 1;
	}
	clamav_scan(cl, msg, sizeof(msg) - 1, &v);
	accepts = clamav_fail_accepts(cl);
	clamav_free(cl);
	if (v.kind == CLAMAV_CLEAN) {
		printf("clamav: %s answers\n", v.server);
		return 0;
	}
	printf("%s: clamav: %s: mail is %s\n", accepts ? "warning" : "FAILED",
	       v.kind == CLAMAV_FAIL ? v.err : "a clean test message was not found clean",
	       accepts ? "passed unscanned (clamav_fail_action = accept)"
	               : "tempfailed (clamav_fail_action = tempfail)");
	return !accepts;
}

int cmd_doctor(struct ctl *ctl, int argc, char **argv)
{
	int bad = doctor_db(ctl_db(ctl));

	if (ctl->conf_warnings) {
		printf("FAILED: %s has %d error(s) (warned about above): the daemons will not"
		       " start with it; moatctl config shows them\n",
		       ctl->conf_path, ctl->conf_warnings);
		bad = 1;
	}
	bad |= doctor_daemons(ctl->cf, stdout);
	bad |= doctor_clamav(ctl);
	fflush(stdout);
	return doctor_run(ctl->cf, ctl_db(ctl), stdout, bad);
}
