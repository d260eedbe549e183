/*
 * conf - moat.conf, in Postfix main.cf syntax.
 *
 * "name = value" lines, '#' comments, continuation lines that start with
 * white space, $name / ${name} / $(name) expansion ($$ is a literal '$'),
 * as postconf(5) describes. Every setting is declared in one table with its
 * type, default and help text; a name not in the table, or a value that
 * does not fit its type, is an error naming the file and line. Values are
 * checked once, after all sources are read, so "-o" overrides and
 * expansions are checked too.
 *
 * (Called conf, not config, because autoconf owns config.h.)
 */
#ifndef MOAT_CONF_H
#define MOAT_CONF_H

#include <stdio.h>

struct conf;

/* Compiled-in default location of moat.conf. */
#define CONF_DEFAULT_PATH MOAT_SYSCONFDIR "/moat.conf"

/* New configuration holding every default. */
struct conf *conf_new(void);
/* Free it (NULL is fine). */
void conf_free(struct conf *cf);
/* Read a file; a missing file is an error only if must_exist. */
int conf_read_file(struct conf *cf, const char *path, int must_exist, char *err, size_t errlen);
/* Apply one "name=value" override, as from -o. */
int conf_override(struct conf *cf, const char *assignment, char *err, size_t errlen);
/* Expand $names and check every value against its type. */
int conf_finish(struct conf *cf, char *err, size_t errlen);

/* Expanded value of a string setting. */
const char *conf_str(const struct conf *cf, const char *name);
/* Value of a boolean setting (yes/no). */
int conf_bool(const struct conf *cf, const char *name);
/* Value of an integer, time (seconds) or size (bytes) setting. */
long long conf_num(const struct conf *cf, const char *name);
/* Whether the setting was given in the file or with -o. */
int conf_is_set(const struct conf *cf, const char *name);

/*
 * Everything at once: read path (an error if it is missing and explicit),
 * apply the -o overrides, finish. NULL with a reason in err.
 */
/* Whether a running daemon applies a change of this setting on SIGHUP. */
int conf_is_live(const char *name);
/* Called for a setting whose change needs a restart: its old and new values. */
typedef void conf_change_fn(const char *name, const char *oldval, const char *newval);
/*
 * After re-reading for SIGHUP: every setting that needs a restart and
 * differs in cf from old gets old's value back, and report is called for it.
 */
void conf_keep_restart(struct conf *cf, const struct conf *old, conf_change_fn *report);
/* Whether a setting's expanded value differs between two configurations. */
int conf_changed(const struct conf *a, const struct conf *b, const char *name);

/* One setting as the documentation shows it (moat.conf(5), the sample file). */
struct conf_doc {
	const char *name, *type, *def, *choices, *help;
	const char *section;	/* a heading starts here, or NULL */
	int live;		/* applied on SIGHUP */
	int is_number;		/* min and max apply */
	long long min, max;
};

/* Setting i in table order; -1 past the last. */
int conf_doc_get(size_t i, struct conf_doc *d);

struct conf *conf_load(const char *path, int explicit_path, char *const *overrides, int noverrides,
		       char *err, size_t errlen);
/*
 * The same, but a bad line or value in the file is a warning (logged) and
 * the setting keeps its default, as postconf(1) warns and goes on; for
 * moatctl's commands that only need the database. *warnings counts them.
 * A file that cannot be read and a bad -o override are still errors.
 */
struct conf *conf_load_lenient(const char *path, int explicit_path, char *const *overrides,
			       int noverrides, int *warnings, char *err, size_t errlen);

/* Print "name = value" lines; only explicitly set ones if set_only, or defaults. */
void conf_print(const struct conf *cf, FILE *fp, int set_only, int defaults);
/* Print one setting's value; -1 if the name is unknown. */
int conf_print_one(const struct conf *cf, FILE *fp, const char *name, int defaults);
/* Print every setting with its type, default and help text. */
void conf_print_help(FILE *fp);

#endif
