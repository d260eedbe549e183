/*
 * moatctl_admin - moatctl's commands for rules and for what happened to
 * mail: symbols, weights, actions, modules, history, stats, and the
 * docker-mailserver import. Each takes the command's own argv (argv[0] is
 * the command name) and returns the exit status.
 */
#ifndef MOAT_MOATCTL_ADMIN_H
#define MOAT_MOATCTL_ADMIN_H

#include "moatctl.h"

/* symbols [-a] [GROUP|PATTERN] */
int admin_symbols(struct ctl *ctl, int argc, char **argv);
/* symbol enable|disable NAME... */
int admin_symbol(struct ctl *ctl, int argc, char **argv);
/* weight SYMBOL [VALUE] */
int admin_weight(struct ctl *ctl, int argc, char **argv);
/* actions [set NAME SCORE|off] */
int admin_actions(struct ctl *ctl, int argc, char **argv);
/* module enable|disable NAME */
int admin_module(struct ctl *ctl, int argc, char **argv);
/* history [-n N] [--action A] [--since WHEN] */
int admin_history(struct ctl *ctl, int argc, char **argv);
/* stats [--since WHEN] [-n N] */
int admin_stats(struct ctl *ctl, int argc, char **argv);
/* doctor: the database (integrity, rules that cannot work), then the DNS lists */
int admin_doctor(struct ctl *ctl, int argc, char **argv);
/* import-custom-commands [--dry-run] FILE */
int admin_import(struct ctl *ctl, int argc, char **argv);

#endif
