/*
 * policy - one decision per policy request; see policy.h.
 *
 * Only protocol_state RCPT is greylisted: Postfix also asks at other
 * stages when an admin lists us there, and those get DUNNO. Attributes
 * are copied into fixed buffers (request values longer than that are
 * truncated for logging, not for decisions: an address longer than 511
 * bytes is not a valid address and is not greylisted).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "gl_store.h"
#include "greylist.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "policy.h"

#define LIST_FILES_MAX 16

struct list_files {
	char *paths[LIST_FILES_MAX];
	time_t mtimes[LIST_FILES_MAX];
	int n;
	int clients;		/* client list (else recipients) */
	struct map *map;
};

struct policy {
	const struct conf *cf;
	sqlite3 *db;
	struct gl_store *store;
	struct greylist *gl;
	struct greylist_params gp;
	struct list_files allow_clients, allow_rcpts;
	int greylist_on;	/* modules.greylist enabled */
	int fail_defer;		/* policy_db_failure_action = defer_if_permit */
	int db_broken;		/* last store operation failed (log once) */
	sqlite_int64 data_version;
	sqlite3_stmt *st_module;
	char hostname[256];
	time_t last_tick, last_lists;
	unsigned long requests;
};

/* Split a comma/space list of file names. */
static void list_init(struct list_files *lf, const char *value, int clients)
{
	char *copy = xstrdup(value), *save = NULL;

	memset(lf, 0, sizeof(*lf));
	lf->clients = clients;
	for (char *t = strtok_r(copy, ", \t", &save); t && lf->n < LIST_FILES_MAX;
	     t = strtok_r(NULL, ", \t", &save))
		lf->paths[lf->n++] = xstrdup(t);
	free(copy);
}

static void list_free(struct list_files *lf)
{
	for (int i = 0; i < lf->n; i++)
		free(lf->paths[i]);
	map_free(lf->map);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* (Re)load when a file changed; a failed reload keeps the old list. */
static void list_refresh(struct list_files *lf, int force)
{
	struct map *m;
	char err[512];
	int changed = force;

	for (int i = 0; i < lf->n; i++) {
		struct stat st;
		time_t mt = stat(lf->paths[i], &st) == 0 ? st.st_mtime : 0;

		if (mt != lf->mtimes[i])
			changed = 1;
		lf->mtimes[i] = mt;
	}
	if (!changed)
		return;
	m = map_new();
	for (int i = 0; i < lf->n; i++) {
		int rc = lf->clients ? map_load_clients(m, lf->paths[i], err, sizeof(err))
				     : map_load_recipients(m, lf->paths[i], err, sizeof(err));

		/* As postgrey: a missing ".local" file is normal. */
		if (rc < 0 && !(errno == ENOENT && ends_with(lf->paths[i], ".local")))
			msg_warn("%s", err);
	}
	map_free(lf->map);
	lf->map = m;
	if (!force)
		msg_info("reloaded %s allow list: %zu entries", lf->clients ? "client" : "recipient",
			 map_size(m));
}

/* Re-read module switches when the database changed (moatctl or sqlite3 shell). */
static void refresh_rules(struct policy *pol)
{
	sqlite3_stmt *st;
	sqlite_int64 v = -1;

	if (sqlite3_prepare_v2(pol->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (v == pol->data_version && v != -1)
		return;
	pol->data_version = v;
	sqlite3_bind_text(pol->st_module, 1, "greylist", -1, SQLITE_STATIC);
	if (sqlite3_step(pol->st_module) == SQLITE_ROW) {
		int on = sqlite3_column_int(pol->st_module, 0);

		if (on != pol->greylist_on)
			msg_info("module greylist %s", on ? "enabled" : "disabled");
		pol->greylist_on = on;
	}
	sqlite3_reset(pol->st_module);
}

struct policy *policy_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen)
{
	struct policy *pol = xcalloc(1, sizeof(*pol));

	pol->cf = cf;
	pol->db = db;
	pol->gp.delay = conf_num(cf, "greylist_delay");
	pol->gp.max_age = conf_num(cf, "greylist_max_age");
	pol->gp.retry_window = conf_num(cf, "greylist_retry_window");
	pol->gp.auto_allow = (int)conf_num(cf, "greylist_auto_allow_clients");
	pol->gp.v4_prefix = (int)conf_num(cf, "greylist_ipv4_prefix");
	pol->gp.v6_prefix = (int)conf_num(cf, "greylist_ipv6_prefix");
	pol->gp.by_host = conf_bool(cf, "greylist_lookup_by_host");
	pol->fail_defer = strcmp(conf_str(cf, "policy_db_failure_action"), "defer_if_permit") == 0;
	snprintf(pol->hostname, sizeof(pol->hostname), "%s", conf_str(cf, "myhostname"));
	if (pol->hostname[0] == '\0' && gethostname(pol->hostname, sizeof(pol->hostname)) < 0)
		snprintf(pol->hostname, sizeof(pol->hostname), "localhost");
	pol->hostname[sizeof(pol->hostname) - 1] = '\0';
	list_init(&pol->allow_clients, conf_str(cf, "greylist_allow_clients"), 1);
	list_init(&pol->allow_rcpts, conf_str(cf, "greylist_allow_recipients"), 0);
	list_refresh(&pol->allow_clients, 1);
	list_refresh(&pol->allow_rcpts, 1);
	pol->store = gl_store_sqlite_new(db, (int)conf_num(cf, "db_busy_timeout") * 1000);
	if (pol->store == NULL ||
	    sqlite3_prepare_v2(db, "SELECT enabled FROM modules WHERE name = ?1", -1,
			       &pol->st_module, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot prepare statements: %s", sqlite3_errmsg(db));
		policy_free(pol);
		return NULL;
	}
	pol->gl = greylist_new(&pol->gp, pol->store);
	pol->greylist_on = 1;
	pol->data_version = -2;
	refresh_rules(pol);
	return pol;
}

void policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	greylist_free(pol->gl);
	gl_store_close(pol->store);
	sqlite3_finalize(pol->st_module);
	list_free(&pol->allow_clients);
	list_free(&pol->allow_rcpts);
	free(pol);
}

/* Expand greylist_text: %s seconds left, %r recipient domain. */
static void defer_text(struct policy *pol, struct sbuf *out, long long wait, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	sbuf_puts(out, "DEFER_IF_PERMIT 4.7.1 ");
	for (const char *p = conf_str(pol->cf, "greylist_text"); *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			sbuf_printf(out, "%lld", wait);
			p++;
		} else if (p[0] == '%' && p[1] == 'r') {
			sbuf_puts(out, at ? at + 1 : rcpt);
			p++;
		} else {
			sbuf_putc(out, *p);
		}
	}
}

/* Expand greylist_header: %t seconds, %v version, %h host, %d date. */
static void greylist_header(struct policy *pol, struct sbuf *out, long long delayed)
{
	const char *tmpl = conf_str(pol->cf, "greylist_header");
	char date[64];
	time_t t = time(NULL);
	struct tm tm;

	if (*tmpl == '\0') {
		sbuf_puts(out, "DUNNO");
		return;
	}
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %T %Z", &tm);
	sbuf_puts(out, "PREPEND ");
	for (const char *p = tmpl; *p; p++) {
		const char *sub = NULL;
		char num[32];

		if (p[0] == '%' && p[1]) {
			switch (p[1]) {
			case 't':
				snprintf(num, sizeof(num), "%lld", delayed);
				sub = num;
				break;
			case 'v':
				sub = PACKAGE_VERSION;
				break;
			case 'h':
				sub = pol->hostname;
				break;
			case 'd':
				sub = date;
				break;
			}
		}
		if (sub) {
			sbuf_puts(out, sub);
			p++;
		} else {
			sbuf_putc(out, *p);
		}
	}
}

/* Copy an attribute; 0 if absent or too long to be valid. */
static int attr(const struct policy_request *req, const char *name, char *buf, size_t size)
{
	size_t len;
	const char *v = policy_get(req, name, &len);

	buf[0] = '\0';
	if (v == NULL || len >= size || memchr(v, '\0', len))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return 1;
}

/*
 * The store failed. Answer by policy_db_failure_action, and until an
 * operation works again fail fast: one request waiting db_busy_timeout
 * for a lock is enough, the event loop must not wait that long for each.
 */
static void db_failed(struct policy *pol, const char *qid, struct sbuf *action)
{
	if (!pol->db_broken)
		msg_error("%s: %s; answering %s until it works again", qid, pol->store->err,
			  pol->fail_defer ? "DEFER_IF_PERMIT" : "DUNNO");
	pol->db_broken = 1;
	gl_store_fail_fast(pol->store, 1);
	sbuf_puts(action, pol->fail_defer ? "DEFER_IF_PERMIT 4.3.0 Policy service database error,"
					    " please try again later"
					  : "DUNNO");
}

/* The greylisting decision for a RCPT request; why gets the log reason. */
static void decide_rcpt(struct policy *pol, const struct policy_request *req, const char *qid,
			const char *client, const char *sender, const char *rcpt,
			struct sbuf *action, const char **why)
{
	char name[256], inst[64];
	struct ip_addr ip;
	struct gl_result res;

	if (ip_parse(client, strlen(client), &ip) < 0) {
		*why = "client address not understood";
		sbuf_puts(action, "DUNNO");
		return;
	}
	attr(req, "client_name", name, sizeof(name));
	attr(req, "instance", inst, sizeof(inst));
	if (!pol->greylist_on) {
		*why = "greylisting disabled";
		sbuf_puts(action, "DUNNO");
		return;
	}
	if (pol->allow_clients.map && map_match_client(pol->allow_clients.map, &ip, name)) {
		*why = "client allow list";
		sbuf_puts(action, "DUNNO");
		return;
	}
	if (pol->allow_rcpts.map && map_match_recipient(pol->allow_rcpts.map, rcpt)) {
		*why = "recipient allow list";
		sbuf_puts(action, "DUNNO");
		return;
	}
	if (greylist_check(pol->gl, (int64_t)time(NULL), &ip, sender, rcpt, inst, &res) < 0) {
		*why = "database error";
		db_failed(pol, qid, action);
		return;
	}
	if (pol->db_broken) {
		msg_info("greylist database works again");
		pol->db_broken = 0;
		gl_store_fail_fast(pol->store, 0);
	}
	*why = res.why;
	switch (res.verdict) {
	case GL_DEFER:
		defer_text(pol, action, (long long)res.wait, rcpt);
		break;
	case GL_PASS_DELAYED:
		greylist_header(pol, action, (long long)res.delayed);
		break;
	default:
		sbuf_puts(action, "DUNNO");
		break;
	}
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void policy_decide(struct policy *pol, const struct policy_request *req, struct sbuf *action)
{
	char qid[64], client[IP_TEXT_MAX + 8], sender[512], rcpt[512], state[32], request[64];
	const char *why = "not at RCPT";
	struct timespec t0;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pol->requests++;
	attr(req, "request", request, sizeof(request));
	attr(req, "queue_id", qid, sizeof(qid));
	if (qid[0] == '\0')
		snprintf(qid, sizeof(qid), "NOQUEUE");
	attr(req, "protocol_state", state, sizeof(state));
	ok = attr(req, "client_address", client, sizeof(client)) &
	     attr(req, "sender", sender, sizeof(sender)) &
	     attr(req, "recipient", rcpt, sizeof(rcpt));
	if (strcmp(request, "smtpd_access_policy") != 0) {
		why = "not an smtpd_access_policy request";
		sbuf_puts(action, "DUNNO");
	} else if (strcasecmp(state, "RCPT") != 0) {
		sbuf_puts(action, "DUNNO");
	} else if (!ok || rcpt[0] == '\0') {
		why = "client_address, sender or recipient missing or too long";
		sbuf_puts(action, "DUNNO");
	} else {
		decide_rcpt(pol, req, qid, client, sender, rcpt, action, &why);
	}
	msg_info("%s: client=%s, state=%s, from=<%s>, to=<%s>, action=%s, reason=%s, delay=%.3fms",
		 qid, client, state, sender, rcpt, sbuf_cstr(action), why, ms_since(&t0));
}

void policy_flush(struct policy *pol)
{
	if (gl_store_flush(pol->store) < 0)
		msg_error("%s", pol->store->err);
}

void policy_tick(struct policy *pol)
{
	time_t t = time(NULL);

	if (t == pol->last_tick)
		return;
	pol->last_tick = t;
	refresh_rules(pol);
	/* Commit at once: an open transaction would block moatctl's writes. */
	if (greylist_expire(pol->gl, (int64_t)t) < 0 || gl_store_flush(pol->store) < 0)
		msg_warn("%s", pol->store->err);
	if (t - pol->last_lists >= 5) {
		pol->last_lists = t;
		list_refresh(&pol->allow_clients, 0);
		list_refresh(&pol->allow_rcpts, 0);
	}
}

unsigned long policy_requests(const struct policy *pol)
{
	return pol->requests;
}
