/*
 * cmd_config - moatctl config (moat.conf's settings, as postconf prints
 * main.cf's) and moatctl migrate (the database's schema).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "core/conf.h"
#include "core/log.h"
#include "store/db.h"

int cmd_config(struct ctl *ctl, int argc, char **argv)
{
	int set_only = 0, defaults = 0, c, rc = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "ndH")) != -1) {
		switch (c) {
		case 'n':
			set_only = 1;
			break;
		case 'd':
			defaults = 1;
			break;
		case 'H':
			conf_print_help(stdout);
			return 0;
		default:
			fprintf(stderr, "usage: moatctl config [-n | -d | -H] [NAME...]\n");
			return 2;
		}
	}
	if (optind == argc) {
		conf_print(ctl->cf, stdout, set_only, defaults);
		return 0;
	}
	for (int i = optind; i < argc; i++)
		if (conf_print_one(ctl->cf, stdout, argv[i], defaults) < 0) {
			msg_error("unknown setting: %s", argv[i]);
			rc = 1;
		}
	return rc;
}

int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);

	printf("%s: schema version %d\n", conf_str(ctl->cf, "database_path"), db_version(db));
	return 0;
}
