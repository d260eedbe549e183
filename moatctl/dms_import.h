/*
 * dms_import - docker-mailserver's custom-commands.conf, applied to moat's
 * database (moatctl import-custom-commands).
 *
 * The file has one command a line, read the way DMS's shell reads it
 * (`read -r COMMAND ARGUMENT1 ARGUMENT2 ARGUMENT3`): words split at blanks,
 * the last argument is the rest of the line, backslashes are literal, and
 * quotes belong to the value (Rspamd's UCL reads them: `secure_ip ""` is
 * an empty string). Lines that are blank or whose first non-blank byte is
 * '#' are skipped. The seven commands:
 *
 *   disable-module M, enable-module M     -> modules.enabled
 *   set-option-for-module M OPTION VALUE  -> module_options, the actions
 *                                            table (M = actions), settings
 *   set-option-for-controller OPTION VALUE, set-option-for-proxy OPTION VALUE,
 *   set-common-option OPTION VALUE        -> moat.conf hints or not applied
 *   add-line FILE LINE                    -> as the matching command when the
 *                                            line is "option = value;" in a
 *                                            module's FILE, symbol weights from
 *                                            groups.conf / *_group.conf
 *
 * Rspamd modules and options moat has no equivalent for are not errors:
 * they become DMS_UNMAPPED changes, recorded in the dms_unmapped table with
 * a note. Options that moat keeps in moat.conf (greylist timeout, ...)
 * become DMS_CONF changes naming the moat.conf line to write, since
 * moatctl only changes the database. A name that is neither moat's nor
 * Rspamd's, a bad value, an unknown command, a NUL or control byte, or a
 * line over DMS_LINE_MAX is an error naming file and line; a file with an
 * error changes nothing.
 *
 * Differences from DMS, on purpose: a CR before the LF is ignored (DMS
 * would make it part of the last word), and every error stops the import
 * where DMS logs a warning and goes on.
 */
#ifndef MOAT_DMS_IMPORT_H
#define MOAT_DMS_IMPORT_H

#include <stddef.h>
#include <stdio.h>
#include <sqlite3.h>

#include "core/sbuf.h"

#define DMS_LINE_MAX 4096	/* longest line, without its newline */
#define DMS_CHANGES_MAX 4096	/* most changes one file may make */
#define DMS_ERRORS_MAX 20	/* errors reported before giving up */

enum dms_kind {
	DMS_MODULE,		/* modules.enabled: target = module, value "1" or "0" */
	DMS_MODULE_OPTION,	/* module_options: target = module, option, value */
	DMS_ACTION,		/* actions.threshold: target = action, value number or "" (off) */
	DMS_SETTING,		/* settings: option = name, value */
	DMS_WEIGHT,		/* symbols.weight: target = symbol, value a number */
	DMS_CONF,		/* moat.conf line to write by hand: note = "name = value" */
	DMS_UNMAPPED,		/* no moat equivalent: note says why */
	DMS_COMPOSITE,		/* composites: target = name, scope = expression,
				   option = policy, value = weight (presets only) */
};

/*
 * A DMS_MODULE change with a scope (any, e.g. "preset") is optional: a
 * module this database lacks is reported as not applied, not an error.
 */
struct dms_change {
	int line;		/* 1-based line of the file; 0 for a preset (no "line N:") */
	enum dms_kind kind;
	char *scope;		/* DMS_CONF, DMS_UNMAPPED: dms_unmapped.scope; else NULL */
	char *target;
	char *option;		/* "" when none */
	char *value;
	char *note;		/* DMS_CONF, DMS_UNMAPPED; else NULL */
};

struct dms_import {
	struct dms_change *v;	/* in file order; a later line for the same thing wins */
	size_t n;
	int nerrors;
	struct sbuf errors;	/* one "NAME, line N: why" line per error */
};

/*
 * Parse len bytes of a custom-commands file (name is for messages) into
 * imp. 0 if the file is usable, -1 with imp->errors filled if not. The
 * caller frees imp with dms_import_free() either way.
 */
int dms_import_parse(const char *name, const char *buf, size_t len, struct dms_import *imp);

/*
 * Append one change (strings copied) for a caller that builds imp itself
 * (a preset, another file format); imp starts zeroed. 0, or -1 when imp
 * already holds DMS_CHANGES_MAX changes.
 */
int dms_import_add(struct dms_import *imp, int line, enum dms_kind kind, const char *scope,
		   const char *target, const char *option, const char *value, const char *note);

/* Keep only the last change for each thing (module, option, weight, ...). */
void dms_import_dedup(struct dms_import *imp);

/* Release what dms_import_parse() built (NULL fine). */
void dms_import_free(struct dms_import *imp);

/*
 * What an import did, one count per line of the file that named something.
 * Only "applied" changed moat's rules; a second import of the same file
 * has 0 applied. not_applied lines are kept in dms_unmapped, and manual
 * ones need a moat.conf line the admin writes.
 */
struct dms_counts {
	int applied;		/* a module, option, threshold, setting or weight changed */
	int unchanged;		/* already so in the database */
	int not_applied;	/* moat has no equivalent (DMS_UNMAPPED, unknown symbol) */
	int manual;		/* a moat.conf setting to change by hand (DMS_CONF) */
};

/*
 * Apply the changes in one transaction, printing one line per change to
 * out and filling counts; rolled back on any error or when dry_run.
 * 0, or -1 with err.
 */
int dms_import_apply(sqlite3 *db, const struct dms_import *imp, int dry_run, FILE *out,
		     struct dms_counts *counts, char *err, size_t errlen);

/* "1 applied, 0 unchanged, 2 not applied, 0 moat.conf lines to add by hand", no newline. */
void dms_counts_print(const struct dms_counts *counts, FILE *out);

#endif
