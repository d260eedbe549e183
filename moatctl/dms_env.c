/*
 * dms_env - docker-mailserver's mailserver.env read into dms_import
 * changes (dms_env.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "dms_env.h"

/* The variables moat reads, in the order their changes are reported. */
enum {
	V_RSPAMD,
	V_REDIS,
	V_GREYLISTING,
	V_LEARN,
	V_HFILTER,
	V_HFILTER_SCORE,
	V_CHECK_AUTH,
	V_CLAMAV,
	V_CLAMAV_SIZE,
	V_SUBJECT,
	V_JUNK,
	V_READ,
	V_OPENDKIM,
	V_OPENDMARC,
	V_SPF,
	V_POSTGREY,
	V_COUNT
};

static const char *const var_names[V_COUNT] = {
	"ENABLE_RSPAMD",
	"ENABLE_RSPAMD_REDIS",
	"RSPAMD_GREYLISTING",
	"RSPAMD_LEARN",
	"RSPAMD_HFILTER",
	"RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE",
	"RSPAMD_CHECK_AUTHENTICATED",
	"ENABLE_CLAMAV",
	"CLAMAV_MESSAGE_SIZE_LIMIT",
	"SPAM_SUBJECT",
	"MOVE_SPAM_TO_JUNK",
	"MARK_SPAM_AS_READ",
	"ENABLE_OPENDKIM",
	"ENABLE_OPENDMARC",
	"ENABLE_POLICYD_SPF",
	"ENABLE_POSTGREY",
};

/* DMS's defaults (environment.md), used for an empty value. */
static const char *const var_defaults[V_COUNT] = {
	"0", "", "0", "0", "1", "6", "0", "0", "25M", "", "1", "0", "1", "1", "1", "0",
};

struct env {
	const char *name;
	struct dms_import *imp;
	int line;
	int seen[V_COUNT]; /* line of the last assignment, 0 if none */
	char *val[V_COUNT];
};

static void error(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(struct env *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (++e->imp->nerrors > DMS_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbuf_printf(&e->imp->errors, "%s, line %d: %s\n", e->name, e->line, msg);
	if (e->imp->nerrors == DMS_ERRORS_MAX)
		sbuf_printf(&e->imp->errors, "%s: too many errors; stopped reading\n", e->name);
}

static void add(struct env *e, int line, enum dms_kind kind, const char *scope, const char *target,
	            const char *option, const char *value, const char *note)
{
	int saved = e->line;

	if (dms_import_add(e->imp, line, kind, scope, target, option, value, note) < 0) {
		e->line = line;
		error(e, "more than %d changes in one file", DMS_CHANGES_MAX);
		e->line = saved;
	}
}

static int name_ok(const char *p, size_t len)
{
	if (len == 0 || len > 128 || (p[0] >= '0' && p[0] <= '9'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(p[i] == '_' || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9')))
			return 0;
	return 1;
}

static void parse_line(struct env *e, const char *p, size_t len)
{
	const char *eq, *v;
	size_t nlen, vlen;
	int k;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t') {
			error(e, "control byte 0x%02x", (unsigned char)p[i]);
			return;
		}
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || *p == '#')
		return;
	if ((eq = memchr(p, '=', len)) == NULL) {
		error(e, "no '=': a line is NAME=VALUE");
		return;
	}
	nlen = (size_t)(eq - p);
	while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	if (!name_ok(p, nlen)) {
		error(e,
		      "bad variable name (letters, digits and _, not first a digit, at most 128)");
		return;
	}
	v = eq + 1;
	vlen = len - (size_t)(v - p);
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	if (vlen >= 2 && (*v == '"' || *v == '\'') && v[vlen - 1] == *v)
		v++, vlen -= 2;
	for (k = 0; k < V_COUNT; k++)
		if (strlen(var_names[k]) == nlen && memcmp(var_names[k], p, nlen) == 0)
			break;
	if (k == V_COUNT) {
		char name[129], *val = xstrndup(v, vlen);

		memcpy(name, p, nlen);
		name[nlen] = '\0';
		add(e, e->line, DMS_UNMAPPED, "env", name, "", val,
		    "a variable moat does not read");
		free(val);
		return;
	}
	free(e->val[k]);
	e->val[k] = xstrndup(v, vlen);
	e->seen[k] = e->line;
}

/* 0 or 1 (DMS reads its switches so); -1 after an error. */
static int flag(struct env *e, int k)
{
	const char *v = e->val[k];

	if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
		return *v == '1';
	e->line = e->seen[k];
	error(e, "%s: 0 or 1, not \"%.64s\"", var_names[k], v);
	return -1;
}

/* CLAMAV_MESSAGE_SIZE_LIMIT (clamd's 25M, 100K, 1G, bytes) as moat's "25m"; -1 if bad. */
static int clamav_size(const char *v, char *out, size_t outlen)
{
	unsigned long long n = 0, mul = 1;
	size_t i = 0;

	for (; v[i] >= '0' && v[i] <= '9' && i < 12; i++)
		n = n * 10 + (unsigned long long)(v[i] - '0');
	if (i == 0 || i == 12)
		return -1;
	if (v[i] == 'k' || v[i] == 'K')
		mul = 1024;
	else if (v[i] == 'm' || v[i] == 'M')
		mul = 1024 * 1024;
	else if (v[i] == 'g' || v[i] == 'G')
		mul = 1024 * 1024 * 1024;
	else if (v[i] != '\0')
		return -1;
	if (v[i] != '\0' && v[i + 1] != '\0')
		return -1;
	if (n * mul < 1024 || n * mul > 4294967295ULL)
		return -1;
	snprintf(out, outlen, "%llu%s", n,
	         mul == 1         ? ""
	         : mul == 1024    ? "k"
	         : mul == 1048576 ? "m"
	                          : "g");
	return 0;
}

/* A note for a variable moat does not apply: what to do instead. */
static const char *const notes[V_COUNT] = {
	[V_RSPAMD] = "moat replaces Rspamd: set ENABLE_RSPAMD=0 and put moat-contentfilter in"
	             " smtpd_milters (README, Coming from docker-mailserver)",
	[V_REDIS] = "moat keeps its state in SQLite (database_path); set ENABLE_RSPAMD_REDIS=0",
	[V_LEARN] = "moat-controller answers rspamc learn_spam/learn_ham on 127.0.0.1:11334,"
	            " so DMS's Junk-folder Sieve scripts train moat unchanged: keep it",
	[V_SUBJECT] = "Dovecot's Sieve (DMS) prefixes the subject of mail with X-Spam: Yes, which"
	              " moat adds at add header; keep it, and run moatctl preset dms (rewrite"
	              " subject off)",
	[V_JUNK] = "Dovecot's Sieve (DMS) files mail with X-Spam: Yes, which moat adds at add"
	           " header, into Junk: keep it",
	[V_READ] = "Dovecot's Sieve (DMS) marks mail with X-Spam: Yes, which moat adds at add"
	           " header, as read: keep it",
	[V_OPENDKIM] = "moat verifies DKIM and signs (dkim_key_directory, moatctl dkim import):"
	               " set ENABLE_OPENDKIM=0",
	[V_OPENDMARC] = "moat checks DMARC (module dmarc): set ENABLE_OPENDMARC=0",
	[V_SPF] = "moat-policyd checks SPF at RCPT (policy_spf, spf_reject_fail):"
	          " set ENABLE_POLICYD_SPF=0",
	[V_POSTGREY] = "moat-policyd greylists as postgrey did (greylist_mode = all):"
	               " set ENABLE_POSTGREY=0",
};

static void emit(struct env *e, int k)
{
	int line = e->seen[k], on = 0;
	char buf[128], note[512];
	const char *v = e->val[k];

	if (*v == '\0') {
		free(e->val[k]);
		v = e->val[k] = xstrdup(var_defaults[k]);
	}
	switch (k) {
	case V_HFILTER:
	case V_CLAMAV:
		if ((on = flag(e, k)) < 0)
			return;
		add(e, line, DMS_MODULE, "env", k == V_CLAMAV ? "clamav" : "hfilter", "",
		    on ? "1" : "0", NULL);
		return;
	case V_HFILTER_SCORE: {
		char *end;
		double d = strtod(v, &end);

		if (*end != '\0' || end == v || !(d >= -1000 && d <= 1000)) {
			e->line = line;
			error(e, "%s: a number, not \"%.64s\"", var_names[k], v);
			return;
		}
		add(e, line, DMS_WEIGHT, NULL, "HFILTER_HOSTNAME_UNKNOWN", "", v, NULL);
		return;
	}
	case V_CHECK_AUTH:
		if ((on = flag(e, k)) < 0)
			return;
		add(e, line, DMS_CONF, "env", var_names[k], "scan_local", on ? "yes" : "no",
		    on ? "scan_local = yes" : "scan_local = no");
		add(e, line, DMS_CONF, "env", var_names[k], "auth_check_local", on ? "yes" : "no",
		    on ? "auth_check_local = yes" : "auth_check_local = no");
		return;
	case V_CLAMAV_SIZE:
		if (clamav_size(v, buf, sizeof(buf)) < 0) {
			e->line = line;
			error(e, "%s: a size from 1K to 4G (25M), not \"%.64s\"", var_names[k], v);
			return;
		}
		snprintf(note, sizeof(note), "clamav_max_size = %s", buf);
		add(e, line, DMS_CONF, "env", var_names[k], "clamav_max_size", buf, note);
		return;
	case V_GREYLISTING:
		return;
	default:
		if (k != V_SUBJECT && k != V_REDIS && (on = flag(e, k)) < 0)
			return;
		snprintf(buf, sizeof(buf), "%s", "");
		/* The programs moat replaces: say so when they are off already. */
		if (k == V_RSPAMD || k == V_OPENDKIM || k == V_OPENDMARC || k == V_SPF ||
		    k == V_POSTGREY)
			snprintf(buf, sizeof(buf), "%s", on ? "" : " (done: it is 0)");
		add(e, line, DMS_UNMAPPED, "env", var_names[k], "", e->val[k],
		    (snprintf(note, sizeof(note), "%s%s", notes[k], buf), note));
	}
}

/*
 * Greylisting: Rspamd's (RSPAMD_GREYLISTING, by score) or postgrey's
 * (ENABLE_POSTGREY, every unknown triplet) becomes moat-policyd's, module
 * greylist, with greylist_mode suspicious or all; neither turns it off.
 */
static void greylist(struct env *e)
{
	int g = 0, p = 0, line = e->seen[V_GREYLISTING];

	if (line && (g = flag(e, V_GREYLISTING)) < 0)
		return;
	if (e->seen[V_POSTGREY] && (p = flag(e, V_POSTGREY)) < 0)
		return;
	if (e->seen[V_POSTGREY] > line)
		line = e->seen[V_POSTGREY];
	add(e, line, DMS_MODULE, "env", "greylist", "", g || p ? "1" : "0", NULL);
	if (g || p)
		add(e, line, DMS_CONF, "env", p ? var_names[V_POSTGREY] : var_names[V_GREYLISTING],
		    "greylist_mode", p ? "all" : "suspicious",
		    p ? "greylist_mode = all" : "greylist_mode = suspicious");
}

int dms_env_parse(const char *name, const char *buf, size_t len, struct dms_import *imp)
{
	struct env e = {.name = name, .imp = imp};
	size_t start = 0;

	memset(imp, 0, sizeof(*imp));
	sbuf_init(&imp->errors);
	while (start < len && imp->nerrors < DMS_ERRORS_MAX) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len, ll = end - start;

		e.line++;
		if (ll > 0 && buf[end - 1] == '\r')
			ll--;
		if (ll > DMS_LINE_MAX)
			error(&e, "line longer than %d bytes", DMS_LINE_MAX);
		else if (memchr(buf + start, '\0', ll) != NULL)
			error(&e, "NUL byte");
		else
			parse_line(&e, buf + start, ll);
		start = end + 1;
	}
	for (int k = 0; k < V_COUNT; k++)
		if (e.seen[k] && imp->nerrors < DMS_ERRORS_MAX)
			emit(&e, k);
	if ((e.seen[V_GREYLISTING] || e.seen[V_POSTGREY]) && imp->nerrors == 0)
		greylist(&e);
	for (int k = 0; k < V_COUNT; k++)
		free(e.val[k]);
	if (imp->nerrors > 0)
		return -1;
	dms_import_dedup(imp);
	/* In file order (insertion sort: stable, and n is at most DMS_CHANGES_MAX). */
	for (size_t i = 1; i < imp->n; i++) {
		struct dms_change ch = imp->v[i];
		size_t j = i;

		for (; j > 0 && imp->v[j - 1].line > ch.line; j--)
			imp->v[j] = imp->v[j - 1];
		imp->v[j] = ch;
	}
	return 0;
}
