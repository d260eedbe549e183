/* dms_import_test - the docker-mailserver custom-commands.conf parser: the
 * seed's example, comments and blank lines, quotes, CRLF, every command,
 * errors with line numbers, overlong lines, NUL bytes; then the import
 * into a real database: applied once, a second time "0 applied", the
 * lines not applied and those for moat.conf counted apart, and a
 * broken file leaving the database as it was. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "core/passwd.h"
#include "moatctl/dms_import.h"
#include "tap.h"

/* The example of the seed page, as a DMS user has it. */
static const char seed[] =
	"# See 1.\n"
	"# ATTENTION: this disables authentication on the website - make sure you know what "
	"you're doing!\n"
	"set-option-for-controller secure_ip \"\"\n"
	"\n"
	"# See 2.\n"
	"set-option-for-module classifier-bayes autolearn true\n"
	"\n"
	"# See 3.\n"
	"disable-module chartable\n";

static int parse(const char *text, size_t len, struct dms_import *imp)
{
	dms_import_free(imp);
	return dms_import_parse("cc.conf", text, len, imp);
}

static int parse_s(const char *text, struct dms_import *imp)
{
	return parse(text, strlen(text), imp);
}

/* The change for a target (and option), or NULL. */
static const struct dms_change *find(const struct dms_import *imp, const char *target,
				     const char *option)
{
	for (size_t i = 0; i < imp->n; i++)
		if (strcmp(imp->v[i].target, target) == 0 &&
		    (option == NULL || strcmp(imp->v[i].option, option) == 0))
			return &imp->v[i];
	return NULL;
}

static void test_seed(void)
{
	struct dms_import imp = {0};
	const struct dms_change *c;

	is_int(parse_s(seed, &imp), 0, "seed example parses");
	is_int(imp.n, 3, "three changes: comments and blank lines skipped");
	c = find(&imp, "controller", "secure_ip");
	ok(c && c->kind == DMS_CONF && c->line == 3 && strcmp(c->scope, "moat.conf") == 0,
	   "controller secure_ip: a moat.conf line, line 3");
	is_str(c ? c->note : NULL, "controller_secure_ip = ", "...controller_secure_ip");
	is_str(c ? c->value : NULL, "", "...its value \"\" is the empty string");
	c = find(&imp, "classifier-bayes", "autolearn");
	ok(c && c->kind == DMS_MODULE_OPTION && c->line == 6, "bayes autolearn: module option");
	is_str(c ? c->value : NULL, "true", "...true");
	c = find(&imp, "chartable", NULL);
	ok(c && c->kind == DMS_UNMAPPED && c->line == 9 && strcmp(c->scope, "module") == 0,
	   "chartable: an Rspamd module moat lacks is a notice, not an error");
	is_str(c ? c->note : NULL, "moat has no equivalent of Rspamd's chartable module",
	       "...whose note names the module (it was cut off after \"for\")");
	/* The controller's passwords (issue 17). */
	parse_s("set-option-for-controller password \"$1$9tf8e71ot9jn7z4z7imag68xmj48dspb$"
		"z9dbgwpdcuicu6b8mn68mr58wf54w7k3k5ck5egciwjuifmp8cby\"\n"
		"set-option-for-controller enable_password \"plain secret\"\n"
		"set-option-for-controller password \"$2$abc$def\"\n"
		"set-option-for-controller enable_password \"q1\"\n"
		"set-option-for-controller bind_socket \"*:11334\"\n",
		&imp);
	ok(imp.n == 5 && imp.v[0].kind == DMS_SETTING &&
	       strcmp(imp.v[0].option, "controller_password") == 0 &&
	       strncmp(imp.v[0].value, "$1$9tf8", 7) == 0,
	   "controller password: Rspamd's PBKDF2 hash stored as it is");
	ok(imp.n == 5 && imp.v[1].kind == DMS_SETTING &&
	       strcmp(imp.v[1].option, "controller_enable_password") == 0 &&
	       passwd_verify("plain secret", 12, imp.v[1].value),
	   "enable_password in plain text: stored as its hash");
	ok(imp.n == 5 && imp.v[2].kind == DMS_UNMAPPED && strstr(imp.v[2].note, "Catena"),
	   "a Catena hash: not applied, the note says why");
	ok(imp.n == 5 && imp.v[3].kind == DMS_UNMAPPED && strcmp(imp.v[3].value, "") == 0,
	   "the placeholder q1: not applied, and not kept");
	is_str(imp.n == 5 ? imp.v[4].note : NULL, "controller_listen = inet:0.0.0.0:11334",
	       "bind_socket *:11334: controller_listen");
	parse_s("set-option-for-module classifier-bayes min_tokens 11\n"
		"set-option-for-module greylist key_prefix rg\n"
		"set-option-for-module phishing openphish_enabled true\n"
		"set-common-option dns_max_requests 100\n"
		"set-option-for-module actions no_action 0\n",
		&imp);
	is_str(imp.n == 5 ? imp.v[0].note : NULL, "moat's Bayes classifier has no option min_tokens",
	       "bayes option: the note names it");
	is_str(imp.n == 5 ? imp.v[1].note : NULL, "moat's greylisting has no option key_prefix",
	       "greylist option: the note names it");
	is_str(imp.n == 5 ? imp.v[2].note : NULL, "moat has no equivalent of Rspamd's phishing module",
	       "option of an Rspamd module moat lacks: the note names the module");
	is_str(imp.n == 5 ? imp.v[3].note : NULL,
	       "moat has no equivalent of Rspamd's common option dns_max_requests",
	       "common option: the note names it");
	is_str(imp.n == 5 ? imp.v[4].note : NULL,
	       "moat has no equivalent of Rspamd's actions option no_action",
	       "actions option: the note names it");
	dms_import_free(&imp);
}

static void test_commands(void)
{
	struct dms_import imp = {0};
	const struct dms_change *c;

	is_int(parse_s("disable-module greylist\r\n"
		       "  enable-module\trbl  # comment\n"
		       "set-option-for-module actions reject 15;\n"
		       "set-option-for-module actions add_header \"6.5\"\n"
		       "set-option-for-module actions greylist null\n"
		       "set-option-for-module actions subject \"[SPAM] %s \\\"x\\\"\"\n"
		       "set-option-for-module greylist timeout 5min\n"
		       "set-option-for-proxy timeout 2min\n"
		       "set-common-option soft_reject_on_timeout false\n"
		       "add-line actions.conf rewrite_subject = 8;\n"
		       "add-line groups.conf symbols { \"MISSING_MID\" { weight = 3.5; } }\n"
		       "add-line multimap.conf X { type = \"from\"; }\n"
		       "set-option-for-module bayes autolearn yes",
		       &imp),
	       0, "every command parses (CRLF, tabs, no final newline)");
	c = find(&imp, "greylist", "");
	ok(c && c->kind == DMS_MODULE && strcmp(c->value, "0") == 0, "disable-module greylist");
	c = find(&imp, "rbl", "");
	ok(c && c->kind == DMS_MODULE && strcmp(c->value, "1") == 0,
	   "enable-module rbl (tab, trailing comment)");
	c = find(&imp, "reject", NULL);
	ok(c && c->kind == DMS_ACTION && strcmp(c->value, "15") == 0, "actions reject 15;");
	c = find(&imp, "add header", NULL);
	ok(c && strcmp(c->value, "6.5") == 0, "add_header \"6.5\" is the add header action");
	c = find(&imp, "greylist", NULL);
	ok(c && c->kind == DMS_MODULE, "a module and an action of the same name stay apart");
	c = find(&imp, "settings", "subject_rewrite");
	ok(c && c->kind == DMS_SETTING, "actions subject is the rewrite subject setting");
	is_str(c ? c->value : NULL, "[SPAM] %s \"x\"", "...quoted, with escapes");
	c = find(&imp, "greylist", "timeout");
	ok(c && c->kind == DMS_CONF, "greylist timeout is a moat.conf setting");
	is_str(c ? c->note : NULL, "greylist_delay = 300s", "...5min is 300s");
	c = find(&imp, "proxy", "timeout");
	is_str(c ? c->note : NULL, "milter_timeout = 120s", "proxy timeout is milter_timeout");
	c = find(&imp, "common", "soft_reject_on_timeout");
	is_str(c ? c->note : NULL, "soft_reject_on_timeout = no", "soft_reject_on_timeout");
	c = find(&imp, "rewrite subject", NULL);
	ok(c && c->kind == DMS_ACTION && c->line == 10 && strcmp(c->value, "8") == 0,
	   "add-line actions.conf is the actions module");
	c = find(&imp, "MISSING_MID", NULL);
	ok(c && c->kind == DMS_WEIGHT && strcmp(c->value, "3.5") == 0,
	   "add-line groups.conf symbol weight");
	c = find(&imp, "multimap.conf", NULL);
	ok(c && c->kind == DMS_UNMAPPED && strcmp(c->scope, "add-line") == 0,
	   "a line moat cannot express is kept, not an error");
	c = find(&imp, "classifier-bayes", "autolearn");
	ok(c && strcmp(c->value, "true") == 0 && c->line == 13, "bayes is classifier-bayes");

	is_int(parse_s("disable-module spf\nset-option-for-module dkim enabled false\n", &imp), 0,
	       "disable-module spf, dkim enabled false");
	c = find(&imp, "spf", "");
	ok(c && c->kind == DMS_MODULE && strcmp(c->value, "0") == 0,
	   "spf is moat's module of that name (issue 15)");
	c = find(&imp, "dkim", "");
	ok(c && c->kind == DMS_MODULE && strcmp(c->value, "0") == 0, "... and dkim");

	is_int(parse_s("disable-module greylist\nset-option-for-module greylist enabled true\n",
		       &imp),
	       0, "the same module twice");
	ok(imp.n == 1 && strcmp(imp.v[0].value, "1") == 0 && imp.v[0].line == 2,
	   "...the last line wins, the earlier change is dropped");
	dms_import_free(&imp);
}

/* An error names file and line; the first error is on want_line. */
static void bad(const char *text, size_t len, int want_line, const char *want, const char *what)
{
	struct dms_import imp = {0};
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "cc.conf, line %d: ", want_line);
	if (len == 0)
		len = strlen(text);
	is_int(parse(text, len, &imp), -1, "%s: an error", what);
	like_str(sbuf_cstr(&imp.errors), prefix, "%s: names file and line %d", what, want_line);
	like_str(sbuf_cstr(&imp.errors), want, "%s: says why", what);
	dms_import_free(&imp);
}

static void test_errors(void)
{
	static const char nul[] = "disable-module chartable\ndisable-module ch\0rtable\n";
	char *big = malloc(DMS_LINE_MAX + 100);

	bad("# ok\ndisable-modul chartable\n", 0, 2, "unknown command \"disable-modul\"; did you"
						   " mean disable-module?", "typo in a command");
	bad("\n\n\ndisable-module chartabel\n", 0, 4, "did you mean chartable?", "unknown module");
	bad("set-option-for-module classifier-bayes autolern true\n", 0, 1,
	    "unknown option \"autolern\" for classifier-bayes", "unknown option");
	bad("set-option-for-module actions reject lots\n", 0, 1, "not a score", "bad threshold");
	bad("set-option-for-module actions rejekt 5\n", 0, 1, "unknown option \"rejekt\" for actions",
	    "unknown actions option");
	bad("set-option-for-module greylist timeout soon\n", 0, 1, "not a time", "bad time");
	bad("set-option-for-module classifier-bayes autolearn\n", 0, 1, "missing value",
	    "missing value");
	bad("set-option-for-controller secure_ip \"abc\n", 0, 1, "missing closing quote",
	    "unterminated quote");
	bad("set-option-for-module classifier-bayes autolearn \"true\" false\n", 0, 1,
	    "text after the closing quote", "text after a quoted value");
	bad("disable-module\n", 0, 1, "missing module name", "no module");
	bad("disable-module rbl extra\n", 0, 1, "unexpected text", "extra words");
	bad("add-line ../../etc/passwd root::0:0\n", 0, 1, "not a file name", "add-line path");
	bad("add-line actions.conf\n", 0, 1, "missing the line", "add-line without a line");
	bad("disable-module actions\n", 0, 1, "actions cannot be disabled", "actions module");
	bad(nul, sizeof(nul) - 1, 2, "NUL byte at column 18", "NUL byte");
	bad("disable-module chartable\n\033[31m\n", 0, 2, "control character 0x1b", "escape byte");
	memset(big, 'x', DMS_LINE_MAX + 99);
	memcpy(big, "#\ndisable-module ", 17);
	big[DMS_LINE_MAX + 99] = '\0';
	bad(big, 0, 2, "line longer than", "overlong line");
	free(big);
	{
		struct dms_import imp = {0};
		struct sbuf many;

		sbuf_init(&many);
		for (int i = 0; i < 100; i++)
			sbuf_puts(&many, "nonsense\n");
		is_int(parse(many.data, many.len, &imp), -1, "a file of nonsense");
		like_str(sbuf_cstr(&imp.errors), "too many errors", "...stops after some errors");
		is_int(imp.nerrors, DMS_ERRORS_MAX, "...at DMS_ERRORS_MAX");
		sbuf_free(&many);
		dms_import_free(&imp);
	}
}

/* A few lines so sqlite3 can tell whether a table changed. */
static char *dump(sqlite3 *db)
{
	static const char *q =
		"SELECT group_concat(x, '|') FROM (SELECT name || enabled AS x FROM modules"
		" UNION ALL SELECT module || option || value FROM module_options"
		" UNION ALL SELECT name || coalesce(threshold, 'off') FROM actions"
		" UNION ALL SELECT name || value FROM settings"
		" UNION ALL SELECT name || weight || enabled FROM symbols"
		" UNION ALL SELECT scope || target || option || value FROM dms_unmapped)";
	sqlite3_stmt *st;
	char *s = NULL;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

/* The summary line's counts, as moatctl prints them. */
static void counts_are(const struct dms_counts *n, const char *want, const char *what)
{
	char got[256] = "";
	FILE *fp = fmemopen(got, sizeof(got) - 1, "w");

	if (fp) {
		dms_counts_print(n, fp);
		fclose(fp);
	}
	is_str(got, want, "%s", what);
}

static void test_apply(void)
{
	char dir[] = "/tmp/moat-dms-test.XXXXXX", path[300], err[512], *before, *after;
	struct dms_import imp = {0};
	struct dms_counts n;
	FILE *out = fopen("/dev/null", "w");
	sqlite3 *db;

	if (mkdtemp(dir) == NULL || out == NULL)
		return;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "database created");
	if (db == NULL)
		return;
	parse_s(seed, &imp);
	is_int(dms_import_apply(db, &imp, 1, out, &n, err, sizeof(err)), 0, "dry run");
	counts_are(&n, "1 applied, 0 unchanged, 1 not applied, 1 moat.conf line to add by hand",
		   "dry run: 1 would be applied, 1 not, 1 moat.conf line (the seed's three lines)");
	before = dump(db);
	parse_s("set-option-for-module actions reject 20\n", &imp);
	dms_import_apply(db, &imp, 1, out, &n, err, sizeof(err));
	after = dump(db);
	is_str(after, before, "...and nothing written by a dry run");
	free(after);
	parse_s(seed, &imp);
	is_int(dms_import_apply(db, &imp, 0, out, &n, err, sizeof(err)), 0, "seed example");
	counts_are(&n, "1 applied, 0 unchanged, 1 not applied, 1 moat.conf line to add by hand",
		   "seed example: 1 applied, 1 not applied, 1 moat.conf line");
	dms_import_apply(db, &imp, 0, out, &n, err, sizeof(err));
	counts_are(&n, "0 applied, 1 unchanged, 1 not applied, 1 moat.conf line to add by hand",
		   "again: 0 applied, 1 unchanged");
	parse_s("set-option-for-module greylist timeout 120\n"
		"set-option-for-module actions reject 11\n"
		"set-common-option soft_reject_on_timeout false\n",
		&imp);
	dms_import_apply(db, &imp, 0, out, &n, err, sizeof(err));
	counts_are(&n, "0 applied, 1 unchanged, 0 not applied, 2 moat.conf lines to add by hand",
		   "moat.conf lines are counted apart, not as applied");
	free(before);
	before = dump(db);
	ok(before && strstr(before, "classifier-bayesautolearntrue") != NULL,
	   "bayes autolearn is on in module_options");
	ok(before && strstr(before, "modulechartablefalse") != NULL, "chartable recorded");

	/* A database that lacks a module the file names: error, all rolled back. */
	sqlite3_exec(db, "DELETE FROM modules WHERE name = 'rbl'", NULL, NULL, NULL);
	free(before);
	before = dump(db);
	parse_s("set-option-for-module actions reject 20\ndisable-module rbl\n", &imp);
	is_int(dms_import_apply(db, &imp, 0, out, &n, err, sizeof(err)), -1,
	       "a change that cannot be made fails the import");
	like_str(err, "line 2: module rbl is not in this database", "...naming the line");
	after = dump(db);
	is_str(after, before, "...and the threshold change of line 1 is rolled back");
	free(before);
	free(after);
	dms_import_free(&imp);
	db_close(db);
	fclose(out);
	unlink(path);
	snprintf(path, sizeof(path), "%s/moat.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/moat.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_seed();
	test_commands();
	test_errors();
	test_apply();
	return done_testing();
}
