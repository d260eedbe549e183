/*
 * cmd_maps - "moatctl maps": the allow and block lists moat-policyd
 * uses (view maps_status) and asking it to check them all now.
 *
 * moatctl and moat-policyd share nothing but the database: a refresh is a
 * counter in map_sources that the daemon's fetch thread looks at once a
 * second, so it works with no socket or signal to the daemon.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "cmd.h"

static int usage(void)
{
	fprintf(stderr, "usage: moatctl maps [list]\n"
	                "       moatctl maps refresh\n");
	return 2;
}

static int refresh(sqlite3 *db)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db,
	                       "UPDATE map_sources SET refresh_asked ="
	                       " (SELECT coalesce(max(refresh_asked), 0) + 1 FROM map_sources)",
	                       -1, &st, NULL) != SQLITE_OK) {
		msg_error("refresh: %s", sqlite3_errmsg(db));
		return 1;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		msg_error("refresh: %s", sqlite3_errmsg(db));
		return 1;
	}
	if (sqlite3_changes(db) == 0) {
		printf("no lists known: moat-policyd has not run with any *_allowlist or"
		       " *_blocklist set\n");
		return 1;
	}
	printf("refresh asked for %d source(s); a running moat-policyd checks them within"
	       " a second (see moatctl maps)\n",
	       sqlite3_changes(db));
	return 0;
}

int cmd_maps(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	const char *sub = argc > 1 ? argv[1] : "list";

	if (argc > 2)
		return usage();
	if (strcmp(sub, "list") == 0)
		return ctl_print_query(db, "SELECT * FROM maps_status");
	if (strcmp(sub, "refresh") == 0)
		return refresh(db);
	return usage();
}
