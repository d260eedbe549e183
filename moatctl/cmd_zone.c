/*
 * cmd_zone - "moatctl zone": the DNS lists (RFC 5782) of both daemons,
 * the rows of dnsbl_zones, dnsbl_codes and their symbols (sql/003-dnsbl.sql),
 * listed, added, switched on or off and deleted without writing SQL.
 *
 * A DNS list is three kinds of rows: the zone (dnsbl_zones: IP or domain
 * list, which checks query it), what its answers mean (dnsbl_codes: an
 * address pattern to a symbol, or the list's own error codes) and the
 * symbols' weights (symbols). "zone add" writes all of them in one
 * transaction, so a list is never half there. The daemons pick the change
 * up by themselves (moat-policyd sees PRAGMA data_version move, the milter
 * re-reads its rules every 2 seconds), as for every moatctl change.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dnsbl.h"
#include "core/log.h"
#include "cmd.h"
#include "core/strdist.h"

#define ZONE_NAME_MAX 159	/* struct dnsbl_zone's name; room for an IPv6 query */
#define ZONE_CODES_MAX 64	/* --code options in one command */
#define ZONE_TEXT_MAX 200	/* a description */
#define ZONE_WEIGHT_MAX 1000.0	/* a symbol weight; reject is 15 */

struct code_spec {
	char code[32];
	char symbol[65];	/* "" for an error code */
	int has_weight;
	double weight;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: moatctl zone list\n"
		"       moatctl zone codes ZONE [add CODE[=SYMBOL[:WEIGHT]]|CODE=error... | delete CODE...]\n"
		"       moatctl zone add ZONE [--kind ip|domain] [--checks LIST] [--symbol SYMBOL]\n"
		"                [--weight WEIGHT] [--code CODE[=SYMBOL[:WEIGHT]]|CODE=error]...\n"
		"                [--full] [--no-ipv6] [--description TEXT] [--disabled]\n"
		"       moatctl zone enable|disable ZONE...\n"
		"       moatctl zone delete ZONE\n");
	return 2;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		msg_error("query failed: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

/*
 * Run one statement; the parameters after sql are typed by types, one
 * letter each: 's' text (NULL binds NULL), 'd' double, 'i' int. The
 * result code of the first step (SQLITE_ROW puts column 0 in *col0 when
 * given) or -1 if it failed, logged.
 */
static int run(sqlite3 *db, double *col0, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = prepare(db, sql);
	va_list ap;
	int rc;

	if (st == NULL)
		return -1;
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
		} else if (types[i] == 'd') {
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
		} else {
			sqlite3_bind_int(st, i + 1, va_arg(ap, int));
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && col0)
		*col0 = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		msg_error("%s", sqlite3_errmsg(db));
		return -1;
	}
	return rc;
}

/* A zone as the daemons query it: lower case, no trailing dot, two labels or more. */
static int zone_name_ok(char *name)
{
	size_t len = strlen(name), label = 0;
	int labels = 1;

	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0 || len > ZONE_NAME_MAX) {
		msg_error("zone \"%s\": a DNS list's name has 1 to %d characters", name,
			  ZONE_NAME_MAX);
		return -1;
	}
	for (char *p = name; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (*p == '.') {
			if (label == 0)
				break;
			labels++;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
			msg_error("zone %s: '%c' is not allowed in a DNS name", name, *p);
			return -1;
		}
		if (++label > 63)
			break;
	}
	if (label == 0 || label > 63 || labels < 2) {
		msg_error("zone %s: not a DNS list's name (labels of 1 to 63 characters, at least"
			  " two, as bl.example.org)",
			  name);
		return -1;
	}
	return 0;
}

/* Symbol names are upper case letters, digits and '_' (the symbols table's CHECK). */
static int symbol_ok(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++) {
		*p = (char)toupper((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '_')
			n = 0;
	}
	if (n == 0 || n > 64) {
		msg_error("symbol \"%s\": a symbol name is 1 to 64 letters, digits and '_'", s);
		return -1;
	}
	return 0;
}

static int weight_ok(const char *s, double *w, const char *what)
{
	char *end;

	*w = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !isfinite(*w) || fabs(*w) > ZONE_WEIGHT_MAX) {
		msg_error("%s: \"%s\" is not a weight (a number from -%.0f to %.0f)", what, s,
			  ZONE_WEIGHT_MAX, ZONE_WEIGHT_MAX);
		return -1;
	}
	return 0;
}

/* CODE, CODE=SYMBOL, CODE=SYMBOL:WEIGHT or CODE=error; def is --symbol. */
static int code_spec_parse(const char *arg, const char *def, const char *def_weight,
			   struct code_spec *c)
{
	const char *eq = strchr(arg, '='), *colon;
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	memset(c, 0, sizeof(*c));
	if (n >= sizeof(c->code)) {
		msg_error("code %.40s: too long", arg);
		return -1;
	}
	memcpy(c->code, arg, n);
	/* Answers outside 127.0.0.0/8 are never a listing (dnsbl.h). */
	if (dnsbl_code_valid(c->code) < 0 ||
	    (strncmp(c->code, "127.", 4) != 0 && strncmp(c->code, "bit:", 4) != 0)) {
		msg_error("code \"%s\": not an answer pattern (an address in 127.0.0.0/8 like"
			  " 127.0.0.2, '*' for any octet as 127.0.*.3, or bit:N for a bit mask)",
			  c->code);
		return -1;
	}
	if (eq && strcmp(eq + 1, "error") == 0)
		return 0;
	if (eq == NULL) {
		if (def == NULL) {
			msg_error("code %s: which symbol? Give --symbol, or write %s=SYMBOL",
				  c->code, c->code);
			return -1;
		}
		snprintf(c->symbol, sizeof(c->symbol), "%s", def);
		if (def_weight) {
			c->has_weight = 1;
			return weight_ok(def_weight, &c->weight, "--weight");
		}
		return 0;
	}
	colon = strchr(eq + 1, ':');
	n = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
	if (n >= sizeof(c->symbol))
		n = sizeof(c->symbol) - 1;
	memcpy(c->symbol, eq + 1, n);
	c->symbol[n] = '\0';
	if (symbol_ok(c->symbol) < 0)
		return -1;
	if (colon) {
		c->has_weight = 1;
		return weight_ok(colon + 1, &c->weight, c->code);
	}
	if (def_weight && def && strcasecmp(def, c->symbol) == 0) {
		c->has_weight = 1;
		return weight_ok(def_weight, &c->weight, "--weight");
	}
	return 0;
}

/*
 * The checks a zone serves, each known and fitting its kind, written back
 * as a normalised list (no blanks) into out. 0 or -1.
 */
static int checks_ok(const char *list, int is_domain, char *out, size_t outlen)
{
	const unsigned ip_checks = DNSBL_CLIENT | DNSBL_RECEIVED | DNSBL_URL;
	const char *p = list;
	size_t o = 0;

	out[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, ", ");
		int c = n ? dnsbl_check_named(p, n) : -1;

		if (c == 0) {
			msg_error("--checks: unknown check \"%.*s\" (known: client, received, url for"
				  " IP lists; helo, sender, client_name, url for domain lists)",
				  (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		if (c > 0 && (is_domain ? c == DNSBL_CLIENT || c == DNSBL_RECEIVED
					: (c & ip_checks) == 0)) {
			msg_error("--checks: %.*s needs %s list (this is %s list)", (int)n, p,
				  is_domain ? "an IP" : "a domain", is_domain ? "a domain" : "an IP");
			return -1;
		}
		if (c > 0) {
			if (o + n + 2 > outlen) {
				msg_error("--checks: too long");
				return -1;
			}
			o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", o ? "," : "", (int)n, p);
		}
		p += n + (p[n] != '\0');
	}
	if (o == 0) {
		msg_error("--checks: empty");
		return -1;
	}
	return 0;
}

/* 1 if the zone exists (*enabled set), 0 if not (an error naming close ones), -1. */
static int zone_get(sqlite3 *db, const char *name, int *enabled, int quiet)
{
	sqlite3_stmt *st;
	double en = 0;
	int rc = run(db, &en, "SELECT enabled FROM dnsbl_zones WHERE name = ?1", "s", name);
	int n = 0;
	char close[300] = "";

	if (rc == SQLITE_ROW) {
		*enabled = en != 0;
		return 1;
	}
	if (rc < 0 || quiet)
		return rc < 0 ? -1 : 0;
	st = prepare(db, "SELECT name FROM dnsbl_zones ORDER BY name");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *z = (const char *)sqlite3_column_text(st, 0);
		size_t len = strlen(close);

		if (z && strdist_close(name, z) && n++ < 5)
			snprintf(close + len, sizeof(close) - len, "%s%s", len ? ", " : "", z);
	}
	sqlite3_finalize(st);
	if (n)
		msg_error("unknown zone: %s (did you mean: %s)", name, close);
	else
		msg_error("unknown zone: %s (moatctl zone list shows them)", name);
	return 0;
}

/* The symbol of a listing code: created with its weight, or reweighed. 0 or -1. */
static int symbol_set(sqlite3 *db, const char *zone, const struct code_spec *c)
{
	char desc[256];
	double old = 0, en = 1;
	int rc = run(db, &old, "SELECT weight FROM symbols WHERE name = ?1", "s", c->symbol);

	if (rc < 0)
		return -1;
	if (rc == SQLITE_DONE) {
		if (!c->has_weight) {
			msg_error("symbol %s is new: give its weight (--weight, or %s=%s:WEIGHT)",
				  c->symbol, c->code, c->symbol);
			return -1;
		}
		snprintf(desc, sizeof(desc), "DNS list %s", zone);
		if (run(db, NULL,
			"INSERT INTO symbols (name, weight, group_name, description)"
			" VALUES (?1, ?2, 'rbl', ?3)",
			"sds", c->symbol, c->weight, desc) < 0)
			return -1;
		printf("  symbol %s: new, weight %.2f\n", c->symbol, c->weight);
		return 0;
	}
	run(db, &en, "SELECT enabled FROM symbols WHERE name = ?1", "s", c->symbol);
	if (en == 0)
		msg_warn("symbol %s is disabled: the list adds nothing until \"moatctl symbol"
			 " enable %s\"",
			 c->symbol, c->symbol);
	if (!c->has_weight || old == c->weight)
		return 0;
	if (run(db, NULL, "UPDATE symbols SET weight = ?2 WHERE name = ?1", "sd", c->symbol,
		c->weight) < 0)
		return -1;
	printf("  symbol %s: weight %.2f -> %.2f\n", c->symbol, old, c->weight);
	return 0;
}

/* One code of a zone, replacing the row for the same code. 0 or -1. */
static int code_put(sqlite3 *db, const char *zone, const struct code_spec *c)
{
	if (*c->symbol && symbol_set(db, zone, c) < 0)
		return -1;
	if (run(db, NULL,
		"INSERT INTO dnsbl_codes (zone, code, kind, symbol) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (zone, code) DO UPDATE SET kind = excluded.kind,"
		" symbol = excluded.symbol, received_symbol = NULL",
		"ssss", zone, c->code, *c->symbol ? "listing" : "error",
		*c->symbol ? c->symbol : NULL) < 0)
		return -1;
	if (*c->symbol)
		printf("  %s -> %s\n", c->code, c->symbol);
	else
		printf("  %s: the list's error answer (never a listing)\n", c->code);
	return 0;
}

static int begin(sqlite3 *db)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		msg_error("cannot start a transaction: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* Commit when ok, else roll back; the exit status. */
static int end(sqlite3 *db, int ok)
{
	if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	if (ok)
		msg_error("cannot commit: %s", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	msg_error("nothing changed");
	return 1;
}

/* A listing code with a symbol is what makes a zone do anything. */
static int has_listing(const struct code_spec *v, int n)
{
	for (int i = 0; i < n; i++)
		if (*v[i].symbol)
			return 1;
	return 0;
}

static int zone_add(sqlite3 *db, int argc, char **argv)
{
	static struct code_spec codes[ZONE_CODES_MAX];
	const char *kind = "ip", *checks = NULL, *weight = NULL, *desc = "";
	char name[ZONE_NAME_MAX + 2], symbol[65] = "", norm[128];
	int ncodes = 0, full = 0, ipv6 = 1, enabled = 1, dummy, ok = 1;
	const char *codeargs[ZONE_CODES_MAX];

	if (argc < 3 || argv[2][0] == '-')
		return usage();
	if (strlen(argv[2]) >= sizeof(name)) {
		msg_error("zone %.40s...: a DNS list's name has 1 to %d characters", argv[2],
			  ZONE_NAME_MAX);
		return 1;
	}
	snprintf(name, sizeof(name), "%s", argv[2]);
	for (int i = 3; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--full") == 0) {
			full = 1;
		} else if (strcmp(o, "--no-ipv6") == 0) {
			ipv6 = 0;
		} else if (strcmp(o, "--disabled") == 0) {
			enabled = 0;
		} else if (v == NULL) {
			return usage();
		} else if (strcmp(o, "--kind") == 0) {
			kind = argv[++i];
		} else if (strcmp(o, "--checks") == 0) {
			checks = argv[++i];
		} else if (strcmp(o, "--symbol") == 0) {
			if (strlen(v) >= sizeof(symbol)) {
				msg_error("symbol %.40s...: longer than 64 characters", v);
				return 1;
			}
			snprintf(symbol, sizeof(symbol), "%s", argv[++i]);
		} else if (strcmp(o, "--weight") == 0) {
			weight = argv[++i];
		} else if (strcmp(o, "--description") == 0) {
			desc = argv[++i];
		} else if (strcmp(o, "--code") == 0) {
			if (ncodes == ZONE_CODES_MAX) {
				msg_error("more than %d --code options", ZONE_CODES_MAX);
				return 1;
			}
			codeargs[ncodes++] = argv[++i];
		} else {
			return usage();
		}
	}
	if (zone_name_ok(name) < 0)
		return 1;
	if (strcmp(kind, "ip") != 0 && strcmp(kind, "domain") != 0) {
		msg_error("--kind %s: a list is ip (queried with the client's address) or domain"
			  " (with a name)",
			  kind);
		return 1;
	}
	if (full && kind[0] == 'i') {
		msg_error("--full is for domain lists: IP lists are queried with the address");
		return 1;
	}
	if (strlen(desc) > ZONE_TEXT_MAX) {
		msg_error("--description: longer than %d characters", ZONE_TEXT_MAX);
		return 1;
	}
	if (*symbol && symbol_ok(symbol) < 0)
		return 1;
	if (weight && *symbol == '\0') {
		msg_error("--weight is the weight of --symbol: give the symbol too");
		return 1;
	}
	if (checks_ok(checks ? checks : kind[0] == 'i' ? "client" : "helo,sender,client_name,url",
		      kind[0] == 'd', norm, sizeof(norm)) < 0)
		return 1;
	/* No --code: RFC 5782 lists answer 127.0.0.2 and up for a listing. */
	if (ncodes == 0 && *symbol)
		codeargs[ncodes++] = "127.0.0.*";
	for (int i = 0; i < ncodes; i++)
		if (code_spec_parse(codeargs[i], *symbol ? symbol : NULL, weight, &codes[i]) < 0)
			return 1;
	if (!has_listing(codes, ncodes)) {
		msg_error("zone %s: no symbol for a listing: give --symbol SYMBOL --weight WEIGHT"
			  " (or --code CODE=SYMBOL:WEIGHT)",
			  name);
		return 1;
	}
	if (begin(db) < 0)
		return 1;
	switch (zone_get(db, name, &dummy, 1)) {
	case 1:
		msg_error("zone %s exists; change its codes with \"moatctl zone codes %s add\", or"
			  " delete it first",
			  name, name);
		return end(db, 0);
	case -1:
		return end(db, 0);
	}
	if (run(db, NULL,
		"INSERT INTO dnsbl_zones (name, kind, checks, domain_mode, ipv6, enabled,"
		" description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		"ssssiis", name, kind, norm, full ? "full" : "registrable", kind[0] == 'i' && ipv6,
		enabled, desc) < 0)
		return end(db, 0);
	printf("zone %s: added, %s list, checks %s%s%s\n", name, kind, norm,
	       kind[0] == 'i' ? (ipv6 ? ", IPv4 and IPv6" : ", IPv4 only")
			      : (full ? ", full host names" : ", registrable domains"),
	       enabled ? "" : " (disabled)");
	for (int i = 0; i < ncodes && ok; i++)
		ok = code_put(db, name, &codes[i]) == 0;
	if (end(db, ok) != 0)
		return 1;
	if (enabled)
		printf("the running daemons use it within seconds\n");
	return 0;
}

static int zone_state(sqlite3 *db, int argc, char **argv, int on)
{
	int rc = 0;

	if (argc < 3)
		return usage();
	for (int i = 2; i < argc; i++) {
		char name[ZONE_NAME_MAX + 2];
		int was;

		snprintf(name, sizeof(name), "%s", argv[i]);
		if (strlen(argv[i]) >= sizeof(name) || zone_name_ok(name) < 0) {
			rc = 1;
			continue;
		}
		if (zone_get(db, name, &was, 0) != 1) {
			rc = 1;
			continue;
		}
		if (was == on) {
			printf("zone %s: %s (unchanged)\n", name, on ? "enabled" : "disabled");
			continue;
		}
		if (run(db, NULL, "UPDATE dnsbl_zones SET enabled = ?2 WHERE name = ?1", "si",
			name, on) < 0) {
			rc = 1;
			continue;
		}
		printf("zone %s: %s -> %s\n", name, was ? "enabled" : "disabled",
		       on ? "enabled" : "disabled");
	}
	return rc;
}

static int zone_delete(sqlite3 *db, int argc, char **argv)
{
	char name[ZONE_NAME_MAX + 2];
	double ncodes = 0;
	int dummy;

	if (argc != 3)
		return usage();
	snprintf(name, sizeof(name), "%s", argv[2]);
	if (strlen(argv[2]) >= sizeof(name) || zone_name_ok(name) < 0)
		return 1;
	if (begin(db) < 0)
		return 1;
	if (zone_get(db, name, &dummy, 0) != 1)
		return end(db, 0);
	if (run(db, &ncodes, "SELECT count(*) FROM dnsbl_codes WHERE zone = ?1", "s", name) < 0 ||
	    run(db, NULL, "DELETE FROM dnsbl_codes WHERE zone = ?1", "s", name) < 0 ||
	    run(db, NULL, "DELETE FROM dnsbl_problems WHERE zone = ?1", "s", name) < 0 ||
	    run(db, NULL, "DELETE FROM dnsbl_zones WHERE name = ?1", "s", name) < 0)
		return end(db, 0);
	if (end(db, 1) != 0)
		return 1;
	printf("zone %s: deleted, with its %.0f code(s); its symbols stay (moatctl symbols -a)\n",
	       name, ncodes);
	return 0;
}

/* zone codes ZONE [add SPEC... | delete CODE...] */
static int zone_codes(sqlite3 *db, int argc, char **argv)
{
	char name[ZONE_NAME_MAX + 2];
	sqlite3_stmt *st;
	int dummy, ok = 1;

	if (argc < 3)
		return usage();
	snprintf(name, sizeof(name), "%s", argv[2]);
	if (strlen(argv[2]) >= sizeof(name) || zone_name_ok(name) < 0)
		return 1;
	if (argc == 3) {
		if (zone_get(db, name, &dummy, 0) != 1)
			return 1;
		st = prepare(db, "SELECT c.code, c.kind, coalesce(c.symbol, '-') AS symbol,"
				 " CASE WHEN s.name IS NULL THEN '-' ELSE printf('%.2f', s.weight)"
				 " END AS weight, CASE WHEN c.symbol IS NULL THEN '-'"
				 " WHEN s.enabled = 0 THEN 'disabled' ELSE 'enabled' END AS state,"
				 " coalesce(c.received_symbol, '-') AS received_symbol, c.description"
				 " FROM dnsbl_codes c LEFT JOIN symbols s ON s.name = c.symbol"
				 " WHERE c.zone = ?1 ORDER BY c.kind DESC, c.code");
		if (st)
			sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		return ctl_print_rows(db, st);
	}
	if (argc < 5 || (strcmp(argv[3], "add") != 0 && strcmp(argv[3], "delete") != 0))
		return usage();
	if (begin(db) < 0)
		return 1;
	if (zone_get(db, name, &dummy, 0) != 1)
		return end(db, 0);
	printf("zone %s:\n", name);
	for (int i = 4; i < argc && ok; i++) {
		struct code_spec c;
		int rc;

		if (argv[3][0] == 'a') {
			ok = code_spec_parse(argv[i], NULL, NULL, &c) == 0 &&
			     code_put(db, name, &c) == 0;
			continue;
		}
		rc = run(db, NULL, "DELETE FROM dnsbl_codes WHERE zone = ?1 AND code = ?2", "ss",
			 name, argv[i]);
		if (rc >= 0 && sqlite3_changes(db) == 0) {
			msg_error("zone %s has no code %s", name, argv[i]);
			rc = -1;
		}
		ok = rc >= 0;
		if (ok)
			printf("  %s: deleted\n", argv[i]);
	}
	return end(db, ok);
}

int cmd_zone(struct ctl *ctl, int argc, char **argv)
{
	sqlite3 *db = ctl_db(ctl);
	const char *sub = argc > 1 ? argv[1] : "list";

	if (strcmp(sub, "list") == 0 && argc <= 2)
		return ctl_print_query(
			db, "SELECT z.name AS zone, z.kind, z.checks,"
			    " CASE z.enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state,"
			    " CASE WHEN z.kind = 'domain' THEN '-' WHEN z.ipv6 THEN 'yes' ELSE 'no'"
			    " END AS ipv6, coalesce(z.needs_key, '-') AS needs_key,"
			    " (SELECT count(*) FROM dnsbl_codes c WHERE c.zone = z.name"
			    " AND c.kind = 'listing') AS codes, z.description"
			    " FROM dnsbl_zones z ORDER BY z.enabled DESC, z.name");
	if (strcmp(sub, "add") == 0)
		return zone_add(db, argc, argv);
	if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0)
		return zone_state(db, argc, argv, sub[0] == 'e');
	if (strcmp(sub, "delete") == 0)
		return zone_delete(db, argc, argv);
	if (strcmp(sub, "codes") == 0)
		return zone_codes(db, argc, argv);
	return usage();
}
