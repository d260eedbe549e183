/*
 * dms_import - docker-mailserver custom-commands.conf to moat's database;
 * see dms_import.h for the mapping and the differences from DMS.
 *
 * The parser is a loop over lines with no recursion and no allocation
 * that depends on more than one line at a time (each line is copied into a
 * fixed DMS_LINE_MAX buffer), so any input, NULs included, costs time
 * linear in its length (plus the quadratic but capped de-duplication).
 * Module and option names are Rspamd's (https://rspamd.com/doc/modules/).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dms_import.h"
#include "core/mem.h"
#include "core/passwd.h"
#include "core/strdist.h"

struct ctx {
	const char *name;
	struct dms_import *imp;
	int line;
};

struct word {
	const char *p;
	size_t len;
};

/* Rspamd modules and config files moat has no counterpart for. */
static const char *const rspamd_only[] = {
	"antivirus", "arc", "asn", "aws_s3", "bayes_expiry", "bimi", "chartable", "clickhouse",
	"clustering", "composites", "dcc", "dkim_signing", "dmarc", "dynamic_conf",
	"elastic", "emails", "external_relay", "external_services", "force_actions", "fuzzy_check",
	"gpt", "groups", "history_redis", "http_headers", "known_senders", "logging",
	"maillist", "metadata_exporter", "metric_exporter", "mid", "milter_headers", "mime_types",
	"multimap", "mx_check", "neural", "once_received", "p0f", "phishing", "ratelimit", "redis",
	"regexp", "replies", "reputation", "rspamd_update", "settings", "spamassassin", "spamtrap",
	"statistic", "surbl", "trie", "url_redirector", "whitelist", NULL,
};

/* Rspamd name -> moat module (modules table). */
static const char *const moat_modules[][2] = {
	{"greylist", "greylist"},
	{"rbl", "rbl"},
	{"classifier-bayes", "classifier-bayes"},
	{"bayes", "classifier-bayes"},
	{"spf", "spf"},
	{"dkim", "dkim"},
	{"hfilter", "hfilter"},
	{NULL, NULL},
};

/* Options of Rspamd's classifier-bayes and greylist that moat has no use for. */
static const char *const bayes_unmapped[] = {
	"backend", "cache", "db", "expire", "lazy", "learn_condition", "max_tokens", "min_learns",
	"min_prob_strength", "min_tokens", "name", "new_schema", "password", "per_language",
	"per_user", "read_servers", "servers", "signatures", "statfile", "store_tokens", "timeout",
	"tokenizer", "users_enabled", "write_servers", NULL,
};
static const char *const greylist_unmapped[] = {
	"action", "check_authed", "check_local", "greylist_min_score", "key_prefix",
	"max_data_len", "report_time", "servers", "symbol", "whitelist_domains_url",
	"whitelist_symbols", "whitelisted_ip", NULL,
};

/* Rspamd actions.conf: options that are thresholds of moat's actions. */
static const char *const action_names[][2] = {
	{"reject", "reject"},
	{"add_header", "add header"},
	{"rewrite_subject", "rewrite subject"},
	{"greylist", "greylist"},
	{NULL, NULL},
};
static const char *const action_unmapped[] = {
	"discard", "grow_factor", "no_action", "quarantine", "soft_reject", "unknown_weight", NULL,
};

enum vtype { V_TIME, V_INT, V_BOOL, V_STR, V_SOCKET };

/* Rspamd options that are moat.conf settings. */
static const struct conf_map {
	const char *scope, *target, *option;	/* as in dms_unmapped */
	const char *setting;
	enum vtype type;
	long long min, max;
} conf_maps[] = {
	{"module-option", "greylist", "timeout", "greylist_delay", V_TIME, 0, 86400},
	{"module-option", "greylist", "expire", "greylist_max_age", V_TIME, 3600, 3650 * 86400LL},
	{"module-option", "greylist", "ipv4_mask", "greylist_ipv4_prefix", V_INT, 0, 32},
	{"module-option", "greylist", "ipv6_mask", "greylist_ipv6_prefix", V_INT, 0, 128},
	{"module-option", "greylist", "message", "greylist_text", V_STR, 0, 0},
	{"proxy", "", "timeout", "milter_timeout", V_TIME, 1, 3600},
	{"common", "", "soft_reject_on_timeout", "soft_reject_on_timeout", V_BOOL, 0, 0},
	{"controller", "", "secure_ip", "controller_secure_ip", V_STR, 0, 0},
	{"controller", "", "trusted_ips", "controller_secure_ip", V_STR, 0, 0},
	{"controller", "", "bind_socket", "controller_listen", V_SOCKET, 0, 0},
	{NULL, NULL, NULL, NULL, V_STR, 0, 0},
};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static void error(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(struct ctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (++c->imp->nerrors > DMS_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbuf_printf(&c->imp->errors, "%s, line %d: %s\n", c->name, c->line, msg);
	if (c->imp->nerrors == DMS_ERRORS_MAX)
		sbuf_printf(&c->imp->errors, "%s: too many errors; stopped reading\n", c->name);
}

/* See dms_import.h. */
int dms_import_add(struct dms_import *imp, int line, enum dms_kind kind, const char *scope,
		   const char *target, const char *option, const char *value, const char *note)
{
	struct dms_change *ch;

	if (imp->n >= DMS_CHANGES_MAX)
		return -1;
	if (imp->n % 64 == 0)
		imp->v = xrealloc(imp->v, (imp->n + 64) * sizeof(*imp->v));
	ch = &imp->v[imp->n++];
	ch->line = line;
	ch->kind = kind;
	ch->scope = scope ? xstrdup(scope) : NULL;
	ch->target = xstrdup(target);
	ch->option = xstrdup(option ? option : "");
	ch->value = xstrdup(value);
	ch->note = note ? xstrdup(note) : NULL;
	return 0;
}

static void add(struct ctx *c, enum dms_kind kind, const char *scope, const char *target,
		const char *option, const char *value, const char *note)
{
	if (dms_import_add(c->imp, c->line, kind, scope, target, option, value, note) < 0)
		error(c, "more than %d changes in one file", DMS_CHANGES_MAX);
}

/*
 * Not applied: the note says what moat lacks and names it, since it is
 * stored (dms_unmapped.note) and read apart from the line it came from.
 */
static void unmapped(struct ctx *c, const char *scope, const char *target, const char *option,
		     const char *value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void unmapped(struct ctx *c, const char *scope, const char *target, const char *option,
		     const char *value, const char *fmt, ...)
{
	char note[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	add(c, DMS_UNMAPPED, scope, target, option, value, note);
}

/* Copy a word into a C string; 0, or -1 if it does not fit. */
static int wcopy(const struct word *w, char *out, size_t outlen)
{
	if (w->len >= outlen)
		return -1;
	memcpy(out, w->p, w->len);
	out[w->len] = '\0';
	return 0;
}

/*
 * A UCL scalar as Rspamd would read it from "option = VALUE;": a "double"
 * or 'single' quoted string, or a bare word; a trailing ';' and a comment
 * after the value are dropped. 0, or -1 with why.
 */
static int ucl_value(const char *p, size_t len, char *out, size_t outlen, const char **why)
{
	size_t o = 0, i = 0;

	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len > 0 && (p[0] == '"' || p[0] == '\'')) {
		char q = p[0];

		for (i = 1; i < len && p[i] != q; i++) {
			char ch = p[i];

			if (ch == '\\' && i + 1 < len) {
				ch = p[++i];
				if (q == '"' && ch == 'n')
					ch = '\n';
				else if (q == '"' && ch == 't')
					ch = '\t';
			}
			if (o + 1 >= outlen) {
				*why = "value too long";
				return -1;
			}
			out[o++] = ch;
		}
		if (i >= len) {
			*why = "missing closing quote";
			return -1;
		}
		for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		if (i < len && p[i] == ';')
			for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
				;
		if (i < len && p[i] != '#') {
			*why = "text after the closing quote";
			return -1;
		}
		out[o] = '\0';
		return 0;
	}
	/* Bare: up to a comment, then without the ';' and blanks before it. */
	for (i = 0; i < len && !(p[i] == '#' && (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t'));
	     i++)
		;
	len = i;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len > 0 && p[len - 1] == ';')
		len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*why = "missing value";
		return -1;
	}
	if (len >= outlen) {
		*why = "value too long";
		return -1;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int parse_bool(const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* A plain decimal number (no hex, inf or nan); 0 or -1. */
static int parse_number(const char *s, double *d)
{
	char *end;

	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
		return -1;
	*d = strtod(s, &end);
	return *end == '\0' && isfinite(*d) ? 0 : -1;
}

/* A UCL time: a number with ms, s, min, h, d, w or y (plain: seconds). */
static int parse_time(const char *s, long long *secs)
{
	static const struct {
		const char *sfx;
		double mul;
	} u[] = {{"ms", 0.001}, {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400},
		 {"w", 604800}, {"y", 31536000}, {"", 1}};
	char num[64];
	size_t n = strspn(s, "0123456789.");
	double d;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_number(num, &d) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (strcasecmp(s + n, u[i].sfx) == 0) {
			d *= u[i].mul;
			if (d > 1e12)
				return -1;
			*secs = (long long)(d + 0.5);
			return 0;
		}
	return -1;
}

/* An option moat keeps in moat.conf: a DMS_CONF change with the line to write. */
static int conf_hint(struct ctx *c, const char *scope, const char *target, const char *option,
		     const char *value)
{
	char note[1200];
	long long n;

	for (const struct conf_map *m = conf_maps; m->scope; m++) {
		if (strcmp(m->scope, scope) != 0 || strcmp(m->target, target) != 0 ||
		    strcmp(m->option, option) != 0)
			continue;
		switch (m->type) {
		case V_TIME:
			if (parse_time(value, &n) < 0 || n < m->min || n > m->max) {
				error(c, "%s: \"%s\" is not a time between %llds and %llds", option,
				      value, m->min, m->max);
				return 1;
			}
			snprintf(note, sizeof(note), "%s = %llds", m->setting, n);
			break;
		case V_INT: {
			char *end;

			n = strtoll(value, &end, 10);
			if (*value == '\0' || *end != '\0' || n < m->min || n > m->max) {
				error(c, "%s: \"%s\" is not a number from %lld to %lld", option, value,
				      m->min, m->max);
				return 1;
			}
			snprintf(note, sizeof(note), "%s = %lld", m->setting, n);
			break;
		}
		case V_BOOL:
			if (parse_bool(value) < 0) {
				error(c, "%s: \"%s\" is not true or false", option, value);
				return 1;
			}
			snprintf(note, sizeof(note), "%s = %s", m->setting,
				 parse_bool(value) ? "yes" : "no");
			break;
		case V_STR:
			snprintf(note, sizeof(note), "%s = %s", m->setting, value);
			break;
		case V_SOCKET:
			/* Rspamd's "HOST:PORT", "*:PORT" (every address) or "/path" (unix). */
			if (value[0] == '/')
				snprintf(note, sizeof(note), "%s = unix:%s", m->setting, value);
			else if (strncmp(value, "*:", 2) == 0)
				snprintf(note, sizeof(note), "%s = inet:0.0.0.0:%s", m->setting,
					 value + 2);
			else
				snprintf(note, sizeof(note), "%s = inet:%s", m->setting, value);
			break;
		}
		add(c, DMS_CONF, "moat.conf", scope[0] == 'm' ? target : scope, option, value, note);
		return 1;
	}
	return 0;
}

static const char *moat_module(const char *name)
{
	for (size_t i = 0; moat_modules[i][0]; i++)
		if (strcmp(moat_modules[i][0], name) == 0)
			return moat_modules[i][1];
	return NULL;
}

/* Rspamd knows it but moat has no such module (symbol group files too). */
static int rspamd_known(const char *name)
{
	size_t len = strlen(name);

	return in_list(rspamd_only, name) || (len > 6 && strcmp(name + len - 6, "_group") == 0);
}

static void unknown_module(struct ctx *c, const char *name)
{
	char hint[200] = "";

	for (size_t i = 0; moat_modules[i][0] && !*hint; i++)
		if (strdist_close(name, moat_modules[i][0]))
			snprintf(hint, sizeof(hint), "; did you mean %s?", moat_modules[i][0]);
	for (size_t i = 0; rspamd_only[i] && !*hint; i++)
		if (strdist_close(name, rspamd_only[i]))
			snprintf(hint, sizeof(hint), "; did you mean %s?", rspamd_only[i]);
	error(c, "unknown module \"%s\": neither moat's (greylist, rbl, classifier-bayes, spf, dkim, hfilter) nor an"
		 " Rspamd module%s", name, hint);
}

/* disable-module / enable-module, and "enabled = BOOL" in a module's file. */
static void module_state(struct ctx *c, const char *module, int on)
{
	const char *m = moat_module(module);

	if (m) {
		add(c, DMS_MODULE, NULL, m, "", on ? "1" : "0", NULL);
		return;
	}
	if (strcmp(module, "actions") == 0) {
		error(c, "actions cannot be %s; set a threshold to null to turn an action off",
		      on ? "enabled" : "disabled");
		return;
	}
	if (!rspamd_known(module)) {
		unknown_module(c, module);
		return;
	}
	unmapped(c, "module", module, "", on ? "true" : "false",
		 "moat has no equivalent of Rspamd's %s module", module);
}

static void actions_option(struct ctx *c, const char *option, const char *value)
{
	double d;

	if (strcmp(option, "subject") == 0) {
		add(c, DMS_SETTING, NULL, "settings", "subject_rewrite", value, NULL);
		return;
	}
	for (size_t i = 0; action_names[i][0]; i++) {
		if (strcmp(action_names[i][0], option) != 0)
			continue;
		if (strcasecmp(value, "null") == 0 || strcasecmp(value, "off") == 0 ||
		    strcasecmp(value, "false") == 0) {
			add(c, DMS_ACTION, NULL, action_names[i][1], "", "", NULL);
			return;
		}
		if (parse_number(value, &d) < 0 || fabs(d) > 1e6) {
			error(c, "actions %s: \"%s\" is not a score (a number, or null for off)",
			      option, value);
			return;
		}
		add(c, DMS_ACTION, NULL, action_names[i][1], "", value, NULL);
		return;
	}
	if (in_list(action_unmapped, option)) {
		unmapped(c, "module-option", "actions", option, value,
			 "moat has no equivalent of Rspamd's actions option %s", option);
		return;
	}
	error(c, "unknown option \"%s\" for actions (moat has: reject, add_header,"
		 " rewrite_subject, greylist, subject)", option);
}

/*
 * hfilter.lua's switches: the content filter's checks are module options
 * (migration 019); moat-policyd's HELO, host name and sender checks go
 * with the module as a whole.
 */
static void hfilter_option(struct ctx *c, const char *option, const char *value)
{
	static const char *const policy_side[] = {"helo_enabled", "hostname_enabled",
						  "from_enabled", NULL};
	int b;

	if (strcmp(option, "url_enabled") == 0 || strcmp(option, "rcpt_enabled") == 0 ||
	    strcmp(option, "mid_enabled") == 0) {
		if ((b = parse_bool(value)) < 0) {
			error(c, "hfilter %s: \"%s\" is not true or false", option, value);
			return;
		}
		add(c, DMS_MODULE_OPTION, NULL, "hfilter", option, b ? "true" : "false", NULL);
	} else if (in_list(policy_side, option)) {
		unmapped(c, "module-option", "hfilter", option, value,
			 "moat-policyd's HELO, host name and sender checks are switched with the"
			 " module (enabled)");
	} else {
		unmapped(c, "module-option", "hfilter", option, value,
			 "moat's hfilter has no option %s", option);
	}
}

/* set-option-for-module M OPTION VALUE (VALUE already unquoted). */
static void module_option(struct ctx *c, const char *module, const char *option,
			  const char *value)
{
	const char *m = moat_module(module);
	int b;

	if (strcmp(module, "actions") == 0) {
		actions_option(c, option, value);
		return;
	}
	if (m == NULL && !rspamd_known(module)) {
		unknown_module(c, module);
		return;
	}
	if (strcmp(option, "enabled") == 0) {
		if ((b = parse_bool(value)) < 0) {
			error(c, "%s enabled: \"%s\" is not true or false", module, value);
			return;
		}
		module_state(c, module, b);
		return;
	}
	if (m == NULL) {
		unmapped(c, "module-option", module, option, value,
			 "moat has no equivalent of Rspamd's %s module", module);
		return;
	}
	if (strcmp(m, "classifier-bayes") == 0) {
		if (strcmp(option, "autolearn") == 0) {
			if ((b = parse_bool(value)) < 0) {
				error(c, "classifier-bayes autolearn: \"%s\": moat takes true or"
					 " false", value);
				return;
			}
			add(c, DMS_MODULE_OPTION, NULL, m, option, b ? "true" : "false", NULL);
		} else if (in_list(bayes_unmapped, option)) {
			unmapped(c, "module-option", m, option, value,
				 "moat's Bayes classifier has no option %s", option);
		} else {
			error(c, "unknown option \"%s\" for classifier-bayes (moat has autolearn,"
				 " enabled)", option);
		}
		return;
	}
	if (strcmp(m, "greylist") == 0) {
		if (conf_hint(c, "module-option", "greylist", option, value))
			return;
		if (in_list(greylist_unmapped, option))
			unmapped(c, "module-option", m, option, value,
				 "moat's greylisting has no option %s", option);
		else
			error(c, "unknown option \"%s\" for greylist (moat has enabled, timeout,"
				 " expire, ipv4_mask, ipv6_mask, message)", option);
		return;
	}
	if (strcmp(m, "hfilter") == 0) {
		hfilter_option(c, option, value);
		return;
	}
	if (strcmp(m, "spf") == 0 || strcmp(m, "dkim") == 0) {
		unmapped(c, "module-option", m, option, value,
			 "moat's %s check has no options but enabled (moat.conf: auth_check_local)",
			 m);
		return;
	}
	/* rbl: moat's lists are rows of dnsbl_zones, not Rspamd's rbls { } blocks. */
	unmapped(c, "module-option", m, option, value,
		 "moat's DNS lists are set with moatctl zone, not Rspamd's rbl options");
}

/*
 * The controller's password or enable_password: a hash moat can check is
 * stored as it is, plain text (Rspamd accepts it) as its yescrypt hash; a
 * Catena hash or Rspamd's placeholder is reported, the admin sets a new one.
 */
static void controller_password(struct ctx *c, const char *option, const char *value)
{
	const char *name = option[0] == 'e' ? "controller_enable_password" : "controller_password";
	const char *how = option[0] == 'e' ? "moatctl controller password --enable"
					   : "moatctl controller password";
	char hash[PASSWD_HASH_MAX], err[256];

	if (strncmp(value, "$2$", 3) == 0) {
		unmapped(c, "controller", "", option, value,
			 "a Catena hash (rspamadm pw's default) moat cannot check: set a new"
			 " password with %s", how);
		return;
	}
	if (value[0] == '$') {
		if (passwd_check_stored(value, err, sizeof(err)) < 0)
			error(c, "%s: %s", option, err);
		else
			add(c, DMS_SETTING, NULL, "settings", name, value, NULL);
		return;
	}
	if (passwd_hash(value, hash, sizeof(hash), err, sizeof(err)) < 0) {
		unmapped(c, "controller", "", option, "", "%s; set one with %s", err, how);
		return;
	}
	add(c, DMS_SETTING, NULL, "settings", name, hash, NULL);
}

/* The worker and common options (scope: controller, proxy, common). */
static void worker_option(struct ctx *c, const char *scope, const char *option,
			  const char *value)
{
	if (strcmp(scope, "controller") == 0 &&
	    (strcmp(option, "password") == 0 || strcmp(option, "enable_password") == 0)) {
		controller_password(c, option, value);
		return;
	}
	if (conf_hint(c, scope, "", option, value))
		return;
	if (strcmp(scope, "controller") == 0)
		unmapped(c, scope, "", option, value, "moat-controller has no option %s", option);
	else if (strcmp(scope, "proxy") == 0)
		unmapped(c, scope, "", option, value,
			 "moat-contentfilter is the milter; it has no proxy worker");
	else
		unmapped(c, scope, "", option, value,
			 "moat has no equivalent of Rspamd's common option %s", option);
}

/* An option name as Rspamd writes them. */
static int option_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

/*
 * "name = value;" (or "name: value", "name value;"), the only add-line
 * lines that mean one option. Splits line in place; 0 or -1.
 */
static int simple_line(char *line, char **name, char **value)
{
	char *p = line + strspn(line, " \t"), *e;

	e = p + strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
	if (e == p || (*e != ' ' && *e != '\t' && *e != '=' && *e != ':'))
		return -1;
	*name = p;
	p = e + strspn(e, " \t");
	if (*p == '=' || *p == ':')
		p++;
	*e = '\0';
	p += strspn(p, " \t");
	if (*p == '\0' || *p == '{' || *p == '[' || strchr(p, '{') != NULL)
		return -1;
	*value = p;
	return 0;
}

/*
 * Symbol weights in a group file: SYMBOL { weight = N; } with the name
 * bare or quoted, as often as it occurs in the line. 1 if any was found.
 */
static int group_weights(struct ctx *c, const char *line)
{
	int found = 0;

	for (const char *p = line; *p; p++) {
		const char *s = p + (*p == '"'), *q;
		char sym[65], num[64];
		size_t n;

		if ((p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) ||
		    !(isupper((unsigned char)*s) || isdigit((unsigned char)*s)))
			continue;
		n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (n == 0 || n > 64 || islower((unsigned char)s[n]))
			continue;
		q = s + n + (*p == '"' && s[n] == '"');
		q += strspn(q, " \t");
		if (*q == '=')
			q += 1 + strspn(q + 1, " \t");
		if (*q != '{')
			continue;
		q += 1 + strspn(q + 1, " \t");
		if (strncmp(q, "weight", 6) == 0)
			q += 6;
		else if (strncmp(q, "score", 5) == 0)
			q += 5;
		else
			continue;
		q += strspn(q, " \t");
		if (*q != '=' && *q != ':')
			continue;
		q += 1 + strspn(q + 1, " \t");
		n = strspn(q, "0123456789.eE+-");
		if (n == 0 || n >= sizeof(num))
			continue;
		memcpy(num, q, n);
		num[n] = '\0';
		memcpy(sym, s, (size_t)(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")));
		sym[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] = '\0';
		{
			double d;

			if (parse_number(num, &d) < 0 || fabs(d) > 1e6) {
				error(c, "%s: weight \"%s\" is not a number", sym, num);
				return 1;
			}
		}
		add(c, DMS_WEIGHT, NULL, sym, "", num, NULL);
		found = 1;
		p = q + n - 1;
	}
	return found;
}

/* add-line FILE LINE */
static void add_line(struct ctx *c, const char *file, const char *text)
{
	char line[DMS_LINE_MAX + 1], base[256], val[DMS_LINE_MAX + 1], *name, *value;
	size_t flen = strlen(file);
	const char *why;

	if (strchr(file, '/') != NULL || strcmp(file, ".") == 0 || strcmp(file, "..") == 0) {
		error(c, "add-line: \"%s\" is not a file name in override.d", file);
		return;
	}
	snprintf(line, sizeof(line), "%s", text);
	if (flen > 5 && strcmp(file + flen - 5, ".conf") == 0 && flen - 5 < sizeof(base)) {
		memcpy(base, file, flen - 5);
		base[flen - 5] = '\0';
		if (strcmp(base, "groups") == 0 ||
		    (flen - 5 > 6 && strcmp(base + flen - 11, "_group") == 0)) {
			if (!group_weights(c, line))
				unmapped(c, "add-line", file, text, "",
					 "not a SYMBOL { weight = N; } line");
			return;
		}
		if ((moat_module(base) || strcmp(base, "actions") == 0 || rspamd_known(base)) &&
		    simple_line(line, &name, &value) == 0) {
			if (ucl_value(value, strlen(value), val, sizeof(val), &why) < 0)
				error(c, "add-line %s: %s", file, why);
			else
				module_option(c, base, name, val);
			return;
		}
	} else if (strcmp(file, "worker-controller.inc") == 0 ||
		   strcmp(file, "worker-proxy.inc") == 0 || strcmp(file, "options.inc") == 0) {
		if (simple_line(line, &name, &value) == 0) {
			if (ucl_value(value, strlen(value), val, sizeof(val), &why) < 0)
				error(c, "add-line %s: %s", file, why);
			else
				worker_option(c, file[0] == 'o' ? "common"
						 : file[7] == 'c' ? "controller" : "proxy",
					      name, val);
			return;
		}
	}
	unmapped(c, "add-line", file, text, "", "line moat cannot express");
}

/*
 * Split like bash's read -r with four names: three blank-separated words,
 * then the rest of the line without blanks at either end.
 */
static int split(const char *p, size_t len, struct word w[4])
{
	size_t i = 0;
	int n = 0;

	memset(w, 0, 4 * sizeof(*w));
	for (; n < 4; n++) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == len)
			break;
		w[n].p = p + i;
		if (n == 3) {
			size_t e = len;

			while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
				e--;
			w[n].len = e - i;
			n++;
			break;
		}
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
		w[n].len = (size_t)((p + i) - w[n].p);
	}
	return n;
}

/* The value of a two-argument command: ARGUMENT2 ARGUMENT3 joined by a space, as DMS does. */
static void join_rest(const struct word *a, const struct word *b, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s%s%.*s", (int)a->len, a->p ? a->p : "", b->len ? " " : "",
		 (int)b->len, b->p ? b->p : "");
}

static void parse_command(struct ctx *c, const char *p, size_t len)
{
	static const char *const commands[] = {
		"disable-module", "enable-module", "set-option-for-module",
		"set-option-for-controller", "set-option-for-proxy", "set-common-option", "add-line",
		NULL,
	};
	char cmd[64], a1[256], a2[256], rest[DMS_LINE_MAX + 1], val[DMS_LINE_MAX + 1];
	struct word w[4];
	const char *why;
	int n = split(p, len, w);

	if (wcopy(&w[0], cmd, sizeof(cmd)) < 0 || !in_list(commands, cmd)) {
		char hint[100] = "";

		for (size_t i = 0; commands[i] && w[0].len < 64 && !*hint; i++)
			if (strdist_close(cmd, commands[i]))
				snprintf(hint, sizeof(hint), "; did you mean %s?", commands[i]);
		error(c, "unknown command \"%.*s\"%s", (int)(w[0].len > 64 ? 64 : w[0].len), w[0].p,
		      hint);
		return;
	}
	if (n < 2) {
		error(c, "%s: missing %s", cmd, strcmp(cmd, "add-line") == 0 ? "file name"
						 : strstr(cmd, "module") ? "module name"
									 : "option name");
		return;
	}
	if (wcopy(&w[1], a1, sizeof(a1)) < 0) {
		error(c, "%s: first argument too long", cmd);
		return;
	}
	if (strcmp(cmd, "disable-module") == 0 || strcmp(cmd, "enable-module") == 0) {
		/* DMS ignores anything after the name; only a comment is taken here. */
		if (n > 2 && w[2].p[0] != '#') {
			error(c, "%s: unexpected text after the module name", cmd);
			return;
		}
		module_state(c, a1, cmd[0] == 'e');
		return;
	}
	if (strcmp(cmd, "set-option-for-module") == 0) {
		if (n < 4) {
			error(c, "%s %s: missing %s", cmd, a1, n < 3 ? "option name and value"
								      : "value");
			return;
		}
		if (wcopy(&w[2], a2, sizeof(a2)) < 0 || !option_name_ok(a2)) {
			error(c, "%s %s: \"%.*s\" is not an option name", cmd, a1,
			      (int)(w[2].len > 64 ? 64 : w[2].len), w[2].p);
			return;
		}
		if (ucl_value(w[3].p, w[3].len, val, sizeof(val), &why) < 0) {
			error(c, "%s %s %s: %s", cmd, a1, a2, why);
			return;
		}
		module_option(c, a1, a2, val);
		return;
	}
	if (strcmp(cmd, "add-line") == 0) {
		if (n < 3) {
			error(c, "add-line %s: missing the line to add", a1);
			return;
		}
		join_rest(&w[2], &w[3], rest, sizeof(rest));
		add_line(c, a1, rest);
		return;
	}
	/* set-option-for-controller, set-option-for-proxy, set-common-option */
	if (!option_name_ok(a1)) {
		error(c, "%s: \"%s\" is not an option name", cmd, a1);
		return;
	}
	if (n < 3) {
		error(c, "%s %s: missing value", cmd, a1);
		return;
	}
	join_rest(&w[2], &w[3], rest, sizeof(rest));
	if (ucl_value(rest, strlen(rest), val, sizeof(val), &why) < 0) {
		error(c, "%s %s: %s", cmd, a1, why);
		return;
	}
	worker_option(c, strstr(cmd, "controller") ? "controller"
			 : strstr(cmd, "proxy")    ? "proxy"
						   : "common",
		      a1, val);
}

static void parse_line(struct ctx *c, const char *p, size_t len)
{
	size_t i;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\0') {
			error(c, "NUL byte at column %zu", i + 1);
			return;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			error(c, "control character 0x%02x at column %zu", ch, i + 1);
			return;
		}
	}
	for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (i == len || p[i] == '#')
		return;
	parse_command(c, p, len);
}

/* Same thing changed twice: the earlier change is dropped (the last line wins). */
static int same_key(const struct dms_change *a, const struct dms_change *b)
{
	int ca = a->kind == DMS_CONF || a->kind == DMS_UNMAPPED;
	int cb = b->kind == DMS_CONF || b->kind == DMS_UNMAPPED;

	if (ca != cb || (!ca && a->kind != b->kind))
		return 0;
	return (!ca || strcmp(a->scope, b->scope) == 0) && strcmp(a->target, b->target) == 0 &&
	       strcmp(a->option, b->option) == 0;
}

static void change_free(struct dms_change *ch)
{
	free(ch->scope);
	free(ch->target);
	free(ch->option);
	free(ch->value);
	free(ch->note);
}

/* See dms_import.h. */
void dms_import_dedup(struct dms_import *imp)
{
	size_t o = 0;

	for (size_t i = 0; i < imp->n; i++) {
		int later = 0;

		for (size_t j = i + 1; j < imp->n && !later; j++)
			later = same_key(&imp->v[i], &imp->v[j]);
		if (later)
			change_free(&imp->v[i]);
		else
			imp->v[o++] = imp->v[i];
	}
	imp->n = o;
}

int dms_import_parse(const char *name, const char *buf, size_t len, struct dms_import *imp)
{
	struct ctx c = {.name = name, .imp = imp, .line = 0};
	size_t start = 0;

	memset(imp, 0, sizeof(*imp));
	sbuf_init(&imp->errors);
	while (start < len && imp->nerrors < DMS_ERRORS_MAX) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;

		size_t ll = end - start;

		c.line++;
		if (ll > 0 && buf[end - 1] == '\r')
			ll--;
		if (ll > DMS_LINE_MAX)
			error(&c, "line longer than %d bytes", DMS_LINE_MAX);
		else
			parse_line(&c, buf + start, end - start);
		start = end + 1;
	}
	if (imp->nerrors > 0)
		return -1;
	dms_import_dedup(imp);
	return 0;
}

void dms_import_free(struct dms_import *imp)
{
	if (imp == NULL)
		return;
	for (size_t i = 0; i < imp->n; i++)
		change_free(&imp->v[i]);
	free(imp->v);
	sbuf_free(&imp->errors);
	memset(imp, 0, sizeof(*imp));
}

/* --- applying: one transaction ------------------------------------------ */

struct apply {
	sqlite3 *db;
	FILE *out;
	char *err;
	size_t errlen;
	struct dms_counts *n;
};

/* Run sql with text parameters (NULL binds NULL); the first column of a row into got. */
static int run(struct apply *a, const char *sql, int np, const char *const *params, char *got,
	       size_t gotlen, int *has_row)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(a->err, a->errlen, "%s", sqlite3_errmsg(a->db));
		return -1;
	}
	for (int i = 0; i < np; i++)
		if (params[i])
			sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (has_row)
		*has_row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && got) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(got, gotlen, "%s", t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(a->err, a->errlen, "%s", sqlite3_errmsg(a->db));
		return -1;
	}
	return 0;
}

/* "line N: " for a change read from a file; nothing for a preset's (line 0). */
static void where(struct apply *a, const struct dms_change *ch)
{
	if (ch->line > 0)
		fprintf(a->out, "line %d: ", ch->line);
}

/* Print "old -> new" or "(unchanged)"; count it. */
static void report(struct apply *a, const struct dms_change *ch, const char *what,
		   const char *old, int had, const char *new)
{
	if (had && strcmp(old, new) == 0) {
		where(a, ch);
		fprintf(a->out, "%s: %s (unchanged)\n", what, new);
		a->n->unchanged++;
		return;
	}
	where(a, ch);
	fprintf(a->out, "%s: %s -> %s\n", what, had ? old : "(none)", new);
	a->n->applied++;
}

static int apply_module(struct apply *a, const struct dms_change *ch)
{
	const char *p[2] = {ch->target, ch->value};
	char old[32], what[300];
	int had;

	if (run(a, "SELECT enabled FROM modules WHERE name = ?1", 1, p, old, sizeof(old), &had) < 0)
		return -1;
	if (!had && ch->scope != NULL) {
		where(a, ch);
		fprintf(a->out, "not applied: module %s: moat has no such module\n", ch->target);
		a->n->not_applied++;
		return 0;
	}
	if (!had) {
		snprintf(a->err, a->errlen, "line %d: module %s is not in this database", ch->line,
			 ch->target);
		return -1;
	}
	snprintf(what, sizeof(what), "module %s", ch->target);
	report(a, ch, what, strcmp(old, "1") == 0 ? "enabled" : "disabled", 1,
	       strcmp(ch->value, "1") == 0 ? "enabled" : "disabled");
	return strcmp(old, ch->value) == 0
		       ? 0
		       : run(a, "UPDATE modules SET enabled = ?2 WHERE name = ?1", 2, p, NULL, 0,
			     NULL);
}

static int apply_module_option(struct apply *a, const struct dms_change *ch)
{
	const char *p[3] = {ch->target, ch->option, ch->value};
	char old[DMS_LINE_MAX + 1], what[300];
	int had;

	if (run(a, "SELECT name FROM modules WHERE name = ?1", 1, p, NULL, 0, &had) < 0)
		return -1;
	if (!had) {
		snprintf(a->err, a->errlen, "line %d: module %s is not in this database", ch->line,
			 ch->target);
		return -1;
	}
	if (run(a, "SELECT value FROM module_options WHERE module = ?1 AND option = ?2", 2, p, old,
		sizeof(old), &had) < 0)
		return -1;
	snprintf(what, sizeof(what), "module %s option %s", ch->target, ch->option);
	report(a, ch, what, old, had, ch->value);
	if (had && strcmp(old, ch->value) == 0)
		return 0;
	return run(a, "INSERT INTO module_options (module, option, value) VALUES (?1, ?2, ?3)"
		      " ON CONFLICT (module, option) DO UPDATE SET value = excluded.value",
		   3, p, NULL, 0, NULL);
}

/* A number changed (the SQL said it differs): print old -> new, count it. */
static void report_num(struct apply *a, const struct dms_change *ch, const char *what,
		       const char *old, const char *value)
{
	char new[64];

	if (*value == '\0')
		snprintf(new, sizeof(new), "off");
	else
		snprintf(new, sizeof(new), "%.2f", strtod(value, NULL));
	/* Same two decimals, yet different: show the value as written. */
	if (strcmp(old, new) == 0)
		snprintf(new, sizeof(new), "%s", value);
	where(a, ch);
	fprintf(a->out, "%s: %s -> %s\n", what, old, new);
	a->n->applied++;
}

static int apply_action(struct apply *a, const struct dms_change *ch)
{
	const char *p[2] = {ch->target, *ch->value ? ch->value : NULL};
	char old[64], what[300];
	int had;

	if (run(a, "SELECT CASE WHEN threshold IS NULL THEN 'off' ELSE"
		   " printf('%.2f', threshold) END FROM actions WHERE name = ?1",
		1, p, old, sizeof(old), &had) < 0)
		return -1;
	if (!had) {
		snprintf(a->err, a->errlen, "line %d: action %s is not in this database", ch->line,
			 ch->target);
		return -1;
	}
	snprintf(what, sizeof(what), "action %s", ch->target);
	if (run(a, "SELECT 1 FROM actions WHERE name = ?1 AND threshold IS CAST(?2 AS REAL)", 2, p,
		NULL, 0, &had) < 0)
		return -1;
	if (had) {
		where(a, ch);
		fprintf(a->out, "%s: %s (unchanged)\n", what, old);
		a->n->unchanged++;
		return 0;
	}
	report_num(a, ch, what, old, ch->value);
	return run(a, "UPDATE actions SET threshold = CAST(?2 AS REAL) WHERE name = ?1", 2, p, NULL,
		   0, NULL);
}

static int apply_setting(struct apply *a, const struct dms_change *ch)
{
	const char *p[2] = {ch->option, ch->value};
	char old[DMS_LINE_MAX + 1], what[300];
	int had;

	if (run(a, "SELECT value FROM settings WHERE name = ?1", 1, p, old, sizeof(old), &had) < 0)
		return -1;
	snprintf(what, sizeof(what), "setting %s", ch->option);
	report(a, ch, what, old, had, ch->value);
	if (had && strcmp(old, ch->value) == 0)
		return 0;
	return run(a, "INSERT INTO settings (name, value) VALUES (?1, ?2)"
		      " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		   2, p, NULL, 0, NULL);
}

/*
 * Keep a line that was not applied in dms_unmapped (view dms_not_applied).
 * A new row there is no change to moat's rules, so it is not counted.
 */
static int apply_record(struct apply *a, const struct dms_change *ch, const char *scope,
			const char *note)
{
	const char *p[5] = {scope, ch->target, ch->option, ch->value, note};
	int had;

	if (run(a, "SELECT 1 FROM dms_unmapped WHERE scope = ?1 AND target = ?2 AND option = ?3"
		   " AND value = ?4 AND note = ?5",
		5, p, NULL, 0, &had) < 0)
		return -1;
	if (had)
		return 0;
	return run(a, "INSERT INTO dms_unmapped (scope, target, option, value, note, imported_at)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, unixepoch()) ON CONFLICT (scope, target, option)"
		      " DO UPDATE SET value = excluded.value, note = excluded.note,"
		      " imported_at = excluded.imported_at",
		   5, p, NULL, 0, NULL);
}

static int apply_weight(struct apply *a, const struct dms_change *ch)
{
	const char *p[2] = {ch->target, ch->value};
	char old[64], what[300];
	int had;

	if (run(a, "SELECT printf('%.2f', weight) FROM symbols WHERE name = ?1", 1, p, old,
		sizeof(old), &had) < 0)
		return -1;
	if (!had) {
		where(a, ch);
		fprintf(a->out, "not applied: symbol %s: moat has no such symbol\n", ch->target);
		a->n->not_applied++;
		return apply_record(a, ch, "symbol", "moat has no such symbol");
	}
	snprintf(what, sizeof(what), "symbol %s weight", ch->target);
	if (run(a, "SELECT 1 FROM symbols WHERE name = ?1 AND weight = CAST(?2 AS REAL)", 2, p, NULL,
		0, &had) < 0)
		return -1;
	if (had) {
		where(a, ch);
		fprintf(a->out, "%s: %s (unchanged)\n", what, old);
		a->n->unchanged++;
		return 0;
	}
	report_num(a, ch, what, old, ch->value);
	return run(a, "UPDATE symbols SET weight = CAST(?2 AS REAL) WHERE name = ?1", 2, p, NULL, 0,
		   NULL);
}

/* A composite as a preset has it: expression, weight, policy, enabled. */
static int apply_composite(struct apply *a, const struct dms_change *ch)
{
	const char *p[4] = {ch->target, ch->scope, ch->value, ch->option};
	char what[300];
	int had;

	if (run(a, "SELECT 1 FROM composites WHERE name = ?1 AND expression = ?2 AND"
		   " weight = CAST(?3 AS REAL) AND policy = ?4 AND enabled = 1",
		4, p, NULL, 0, &had) < 0)
		return -1;
	snprintf(what, sizeof(what), "composite %s", ch->target);
	where(a, ch);
	if (had) {
		fprintf(a->out, "%s: %s, %s, %s (unchanged)\n", what, ch->value, ch->option,
			ch->scope);
		a->n->unchanged++;
		return 0;
	}
	fprintf(a->out, "%s -> %s, %s, %s\n", what, ch->value, ch->option, ch->scope);
	a->n->applied++;
	return run(a, "INSERT INTO composites (name, expression, weight, policy, enabled)"
		      " VALUES (?1, ?2, CAST(?3 AS REAL), ?4, 1) ON CONFLICT (name) DO UPDATE SET"
		      " expression = excluded.expression, weight = excluded.weight,"
		      " policy = excluded.policy, enabled = 1",
		   4, p, NULL, 0, NULL);
}

int dms_import_apply(sqlite3 *db, const struct dms_import *imp, int dry_run, FILE *out,
		     struct dms_counts *counts, char *err, size_t errlen)
{
	struct apply a = {.db = db, .out = out, .err = err, .errlen = errlen, .n = counts};
	int rc = 0;

	memset(counts, 0, sizeof(*counts));
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot start a transaction: %s", sqlite3_errmsg(db));
		return -1;
	}
	for (size_t i = 0; i < imp->n && rc == 0; i++) {
		const struct dms_change *ch = &imp->v[i];

		switch (ch->kind) {
		case DMS_MODULE:
			rc = apply_module(&a, ch);
			break;
		case DMS_MODULE_OPTION:
			rc = apply_module_option(&a, ch);
			break;
		case DMS_ACTION:
			rc = apply_action(&a, ch);
			break;
		case DMS_SETTING:
			rc = apply_setting(&a, ch);
			break;
		case DMS_WEIGHT:
			rc = apply_weight(&a, ch);
			break;
		case DMS_COMPOSITE:
			rc = apply_composite(&a, ch);
			break;
		case DMS_CONF:
			where(&a, ch);
			if (strcmp(ch->scope, "env") == 0)
				fprintf(out, "moat.conf: %s (for %s; moatctl does not edit moat.conf)\n",
					ch->note, ch->target);
			else
				fprintf(out, "moat.conf: %s (%s %s is set there; moatctl does not"
					     " edit moat.conf)\n",
					ch->note, ch->target, ch->option);
			counts->manual++;
			rc = apply_record(&a, ch, ch->scope, ch->note);
			break;
		case DMS_UNMAPPED:
			where(&a, ch);
			fprintf(out, "not applied: %s%s%s%s%s: %s\n", ch->scope,
				*ch->target ? " " : "", ch->target, *ch->option ? " " : "",
				ch->option, ch->note);
			counts->not_applied++;
			rc = apply_record(&a, ch, ch->scope, ch->note);
			break;
		}
	}
	if (rc < 0 || dry_run) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc < 0)
			return -1;
	} else if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot commit: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* See dms_import.h. */
void dms_counts_print(const struct dms_counts *n, FILE *out)
{
	fprintf(out, "%d applied, %d unchanged, %d not applied, %d moat.conf line%s to add by hand",
		n->applied, n->unchanged, n->not_applied, n->manual, n->manual == 1 ? "" : "s");
}
