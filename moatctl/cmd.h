/*
 * cmd - every moatctl command, with one signature: the command's own argv
 * (argv[0] is the command name) and the shared state (ctl.h); the exit
 * status back (0, 1 on failure, 2 on a usage error). moatctl.c's table
 * names each with its help; the commands know neither the table nor each
 * other.
 */
#ifndef MOAT_CMD_H
#define MOAT_CMD_H

#include "ctl.h"

typedef int cmd_fn(struct ctl *ctl, int argc, char **argv);

/* config [-n|-d|-H] [NAME...] (cmd_config.c) */
cmd_fn cmd_config;
/* migrate (cmd_config.c) */
cmd_fn cmd_migrate;
/* actions [set NAME SCORE|off] (cmd_rules.c) */
cmd_fn cmd_actions;
/* symbols [-a] [GROUP|PATTERN] (cmd_rules.c) */
cmd_fn cmd_symbols;
/* symbol enable|disable NAME... (cmd_rules.c) */
cmd_fn cmd_symbol;
/* weight SYMBOL [VALUE] (cmd_rules.c) */
cmd_fn cmd_weight;
/* composites [list [-a]]|add|set|del|enable|disable (cmd_composites.c) */
cmd_fn cmd_composites;
/* modules (cmd_rules.c) */
cmd_fn cmd_modules;
/* module enable|disable NAME (cmd_rules.c) */
cmd_fn cmd_module;
/* greylist list|delete|delete-client|allow|unallow (cmd_greylist.c) */
cmd_fn cmd_greylist;
/* history [-n N] [--action A] [--since WHEN] (cmd_history.c) */
cmd_fn cmd_history;
/* stats [--since WHEN] [-n N] (cmd_history.c) */
cmd_fn cmd_stats;
/* zone list|codes|add|enable|disable|delete (cmd_zone.c) */
cmd_fn cmd_zone;
/* maps [list|refresh] (cmd_maps.c) */
cmd_fn cmd_maps;
/* scan [--json] [--no-dns] FILE|DIR... (cmd_scan.c) */
cmd_fn cmd_scan;
/* learn-spam|learn-ham FILE|DIR|MBOX...: argv[0] names the class (cmd_bayes.c) */
cmd_fn cmd_learn;
/* bayes stats|forget FILE... (cmd_bayes.c) */
cmd_fn cmd_bayes;
/* doctor: the database, the daemons, Postfix's wiring, the DNS lists (cmd_doctor.c) */
cmd_fn cmd_doctor;
/* controller password [--enable] [--hash HASH|--clear] (cmd_controller.c) */
cmd_fn cmd_controller;
/* dkim keygen|list|check|import (cmd_dkim.c) */
cmd_fn cmd_dkim;
/* import-custom-commands [--dry-run] FILE (cmd_import.c) */
cmd_fn cmd_import;
/* import-dms-env [--dry-run] FILE (cmd_import.c) */
cmd_fn cmd_import_env;
/* preset dms [--dry-run] (cmd_import.c) */
cmd_fn cmd_preset;

#endif
