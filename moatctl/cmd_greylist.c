/*
 * cmd_greylist - moatctl greylist: the triplets moat-policyd holds or let
 * through, and the clients it no longer greylists (views in
 * sql/002-greylist.sql); forget them, or allow a client by hand.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "core/cidr.h"
#include "core/log.h"

static int greylist_usage(void)
{
	fprintf(stderr, "usage: moatctl greylist list [pending|passed|clients]\n"
			"       moatctl greylist delete CLIENT SENDER RECIPIENT\n"
			"       moatctl greylist delete-client ADDRESS-OR-NETWORK\n"
			"       moatctl greylist allow ADDRESS\n"
			"       moatctl greylist unallow ADDRESS\n");
	return 2;
}

/* Is s an IP address (what greylist_clients keys on)? */
static int is_address(const char *s)
{
	struct ip_addr ip;

	return ip_parse(s, strlen(s), &ip) == 0;
}

int cmd_greylist(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "list") == 0 && argc <= 3) {
		const char *what = argc == 3 ? argv[2] : "all";

		if (strcmp(what, "pending") == 0)
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_pending");
		if (strcmp(what, "passed") == 0)
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_passed");
		if (strcmp(what, "clients") == 0)
			return ctl_print_query(ctl_db(ctl), "SELECT * FROM greylist_allowed_clients");
		if (strcmp(what, "all") == 0)
			return ctl_print_query(ctl_db(ctl),
					   "SELECT client, sender, recipient,"
					   " CASE WHEN passed_at IS NULL THEN 'pending' ELSE 'passed'"
					   " END AS state, datetime(first_seen, 'unixepoch') AS first_seen,"
					   " datetime(last_seen, 'unixepoch') AS last_seen"
					   " FROM greylist ORDER BY last_seen DESC");
		return greylist_usage();
	}
	if (strcmp(sub, "delete") == 0 && argc == 5)
		return ctl_exec(ctl_db(ctl),
				"DELETE FROM greylist WHERE client = ?1 AND sender = lower(?2)"
				  " AND recipient = lower(?3)",
				  3, argv + 2, "deleted triplets");
	if (strcmp(sub, "delete-client") == 0 && argc == 3)
		return ctl_exec(ctl_db(ctl), "DELETE FROM greylist WHERE client = ?1", 1, argv + 2,
				  "deleted triplets") ||
		       ctl_exec(ctl_db(ctl), "DELETE FROM greylist_clients WHERE client = ?1", 1,
				  argv + 2, "deleted client entries");
	if ((strcmp(sub, "allow") == 0 || strcmp(sub, "unallow") == 0) && argc == 3) {
		if (!is_address(argv[2])) {
			msg_error("not an IP address: %s", argv[2]);
			return 1;
		}
		if (strcmp(sub, "unallow") == 0)
			return ctl_exec(ctl_db(ctl),
					"DELETE FROM greylist_clients WHERE client = ?1 AND manual = 1",
					  1, argv + 2, "removed");
		return ctl_exec(ctl_db(ctl),
				"INSERT INTO greylist_clients (client, count, last_seen, manual)"
				  " VALUES (?1, 0, unixepoch(), 1) ON CONFLICT (client) DO UPDATE"
				  " SET manual = 1",
				  1, argv + 2, "allowed");
	}
	return greylist_usage();
}
