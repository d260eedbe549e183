/*
 * policy - one decision per policy request; see policy.h.
 *
 * SPF (auth/spf.h) runs at RCPT beside the DNS lists, once per message:
 * Postfix sends one request per recipient, and the outcome is kept under
 * the transaction's instance attribute (with client, HELO and sender) for
 * the next ones. It travels to the content filter as the spf item of
 * X-Moat-Policy (auth/spf_item.h).
 *
 * Only protocol_state RCPT is greylisted: Postfix also asks at other
 * stages when an admin lists us there, and those get DUNNO. Attributes
 * are copied into fixed buffers (request values longer than that are
 * truncated for logging, not for decisions: an address longer than 511
 * bytes is not a valid address and is not greylisted).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/spf.h"
#include "auth/spf_item.h"
#include "core/cidr.h"
#include "core/siphash.h"
#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "store/gl_store.h"
#include "greylist.h"
#include "hfilter.h"
#include "mail/hdrsafe.h"
#include "core/log.h"
#include "maps/localmail.h"
#include "maps/mapfetch.h"
#include "core/mem.h"
#include "policy.h"
#include "core/postconf.h"
#include "mail/polhdr.h"

/* The allow and block lists, and the thread that keeps them fresh. */
struct lists {
	struct mapfetch *maps;
	struct mapfetch_list *client_allow, *client_block, *sender_allow, *sender_block;
	struct mapfetch_list *rcpt_allow;
};

/* The settings the lists are made from: a change on SIGHUP makes them anew. */
static const char *const list_settings[] = {
	"client_allowlist", "greylist_allow_clients", "recipient_allowlist",
	"greylist_allow_recipients", "sender_allowlist", "client_blocklist", "sender_blocklist",
	"map_refresh_interval", "map_fetch_timeout", "map_size_limit", "map_entry_limit",
};

/*
 * SPF outcomes of recent transactions, for the second and later RCPT of a
 * message: direct-mapped by a keyed hash of instance, client, HELO and
 * sender; a slot taken by another transaction only costs a check again.
 */
#define SPF_MEMO_SLOTS 512
#define SPF_MEMO_SECS 120

struct spf_memo {
	uint64_t key;
	time_t at;
	struct spf_outcome out;
};

struct policy {
	const struct conf *cf;
	sqlite3 *db;
	struct gl_store *store;
	struct greylist *gl;
	struct greylist_params gp;
	struct lists lists;     /* in force */
	struct lists next;      /* read again after SIGHUP changed them, until ready */
	int greylist_on;	/* modules.greylist enabled */
	int rbl_on;		/* modules.rbl enabled */
	int hfilter_on;		/* modules.hfilter enabled */
	double hf_weight[HF_NSYM];	/* the HFILTER_* weights (NAN: disabled or absent) */
	sqlite3_stmt *st_weight;
	int suspicious_only;	/* greylist_mode = suspicious */
	int soft_reject;	/* soft_reject_on_timeout */
	double reject_at, greylist_at;	/* action thresholds (HUGE_VAL: off) */
	sqlite3_stmt *st_action;
	struct dns *dns;	/* not owned */
	struct dnsbl *bl;
	int inflight;		/* decisions waiting for DNS */
	int fail_defer;		/* policy_db_failure_action = defer_if_permit */
	int db_retry;		/* broken, but a check worked: fixed if the commit does */
	int db_broken;		/* last store operation failed (log once) */
	int tick_lost;		/* the tick's commit failed, taking the round's writes */
	sqlite_int64 data_version;
	sqlite3_stmt *st_module;
	char hostname[256];
	unsigned char hdr_key[16];	/* signs X-Moat-Policy */
	int spf_on;		/* policy_spf */
	int spf_reject;		/* spf_reject_fail */
	int spf_local;		/* auth_check_local */
	struct localnets *local_nets;	/* local_networks: no SPF for them */
	struct spf_memo *memo;	/* SPF_MEMO_SLOTS */
	time_t last_tick;
	unsigned long requests;
};

/* One list from its setting (and the older setting whose sources it also takes). */
static struct mapfetch_list *add_list(struct mapfetch *mf, const struct conf *cf, const char *name,
                                      const char *older, int clients, char *err, size_t errlen)
{
	struct mapfetch_list *l;
	struct sbuf sources;

	sbuf_init(&sources);
	sbuf_printf(&sources, "%s %s", older ? conf_str(cf, older) : "", conf_str(cf, name));
	l = mapfetch_add(mf, name, clients, sbuf_cstr(&sources), err, errlen);
	sbuf_free(&sources);
	return l;
}

/*
 * The allow and block lists of cf, their thread started: it has read them
 * (or fetched) before the first request at start-up; on SIGHUP it waits at
 * most wait_secs, and the old lists stay in force until it has.
 */
static int lists_setup(struct lists *ls, const struct conf *cf, int wait_secs, char *err,
                       size_t errlen)
{
	struct mapfetch_params p = {
		.db_path = conf_str(cf, "database_path"),
		.busy_ms = (int)conf_num(cf, "db_busy_timeout") * 1000,
		.refresh = (int)conf_num(cf, "map_refresh_interval"),
		.timeout = (int)conf_num(cf, "map_fetch_timeout"),
		.max_bytes = (size_t)conf_num(cf, "map_size_limit"),
		.max_entries = (size_t)conf_num(cf, "map_entry_limit"),
	};
	struct mapfetch *mf = mapfetch_new(&p);

	memset(ls, 0, sizeof(*ls));
	ls->maps = mf;
	if (!(ls->client_allow =
	          add_list(mf, cf, "client_allowlist", "greylist_allow_clients", 1, err, errlen)) ||
	    !(ls->rcpt_allow = add_list(mf, cf, "recipient_allowlist", "greylist_allow_recipients",
	                                0, err, errlen)) ||
	    !(ls->sender_allow = add_list(mf, cf, "sender_allowlist", NULL, 0, err, errlen)) ||
	    !(ls->client_block = add_list(mf, cf, "client_blocklist", NULL, 1, err, errlen)) ||
	    !(ls->sender_block = add_list(mf, cf, "sender_blocklist", NULL, 0, err, errlen)))
		return -1;
	if (wait_secs < 0)
		return mapfetch_start(mf, err, errlen);
	return mapfetch_start_within(mf, wait_secs, err, errlen);
}

static void lists_free(struct lists *ls)
{
	mapfetch_free(ls->maps);
	memset(ls, 0, sizeof(*ls));
}

/* The lists read again after SIGHUP take over once they are ready. */
static void lists_switch(struct policy *pol)
{
	if (pol->next.maps == NULL || !mapfetch_ready(pol->next.maps))
		return;
	mapfetch_poll(pol->next.maps);
	lists_free(&pol->lists);
	pol->lists = pol->next;
	memset(&pol->next, 0, sizeof(pol->next));
	msg_info("reload: the new allow and block lists are in force");
}

/*
 * SIGHUP with other list settings: read the lists again beside the ones in
 * force (files take milliseconds: wait a second for them, so the next
 * request sees them; a URL may take up to map_fetch_timeout, and the old
 * lists answer meanwhile). A list that cannot be made keeps the old ones.
 */
static void lists_reload(struct policy *pol, const struct conf *old, const struct conf *cf)
{
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(list_settings) / sizeof(list_settings[0]); i++)
		if (conf_changed(old, cf, list_settings[i]))
			break;
	if (i == sizeof(list_settings) / sizeof(list_settings[0]))
		return;
	lists_free(&pol->next);
	if (lists_setup(&pol->next, cf, 1, err, sizeof(err)) < 0) {
		msg_error("reload: %s; keeping the allow and block lists in use", err);
		lists_free(&pol->next);
		return;
	}
	lists_switch(pol);
	if (pol->next.maps)
		msg_info("reload: reading the allow and block lists again; the old ones answer "
		         "until then");
}

static int module_on(struct policy *pol, const char *name, int current)
{
	int on = current;

	sqlite3_bind_text(pol->st_module, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(pol->st_module) == SQLITE_ROW)
		on = sqlite3_column_int(pol->st_module, 0);
	sqlite3_reset(pol->st_module);
	if (on != current)
		msg_info("module %s %s", name, on ? "enabled" : "disabled");
	return on;
}

static double threshold(struct policy *pol, const char *action)
{
	double t = HUGE_VAL;

	sqlite3_bind_text(pol->st_action, 1, action, -1, SQLITE_STATIC);
	if (sqlite3_step(pol->st_action) == SQLITE_ROW &&
	    sqlite3_column_type(pol->st_action, 0) != SQLITE_NULL)
		t = sqlite3_column_double(pol->st_action, 0);
	sqlite3_reset(pol->st_action);
	return t;
}

/*
 * Re-read modules, thresholds and DNS lists when the database changed
 * (moatctl or the sqlite3 shell). DNS lists are re-read only between
 * lookups: if some are in flight, the next tick tries again.
 */
static void refresh_rules(struct policy *pol)
{
	sqlite3_stmt *st;
	sqlite_int64 v = -1;
	char err[512];

	if (sqlite3_prepare_v2(pol->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (v == pol->data_version && v != -1)
		return;
	if (pol->bl) {
		int rc = dnsbl_reload(pol->bl, pol->db, err, sizeof(err));

		if (rc > 0)
			return;
		if (rc < 0)
			msg_warn("%s", err);
	}
	pol->data_version = v;
	pol->greylist_on = module_on(pol, "greylist", pol->greylist_on);
	pol->rbl_on = module_on(pol, "rbl", pol->rbl_on);
	pol->hfilter_on = module_on(pol, "hfilter", pol->hfilter_on);
	for (int i = 0; i < HF_NSYM; i++) {
		sqlite3_bind_text(pol->st_weight, 1, hfilter_symbol(i), -1, SQLITE_STATIC);
		pol->hf_weight[i] = sqlite3_step(pol->st_weight) == SQLITE_ROW
					    ? sqlite3_column_double(pol->st_weight, 0)
					    : NAN;
		sqlite3_reset(pol->st_weight);
	}
	pol->reject_at = threshold(pol, "reject");
	pol->greylist_at = threshold(pol, "greylist");
}

/* myhostname for X-Greylist: moat's, else Postfix's, else the system's; logged when it changes. */
static void set_hostname(struct policy *pol, const struct conf *cf)
{
	char name[sizeof(pol->hostname)];
	const char *from = postconf_myhostname(conf_str(cf, "myhostname"), name, sizeof(name));

	if (strcmp(name, pol->hostname) != 0)
		msg_info("myhostname is %s (from %s)", name, from);
	memcpy(pol->hostname, name, sizeof(name));
}

/*
 * local_networks, made anew when it changed (it reads Postfix's mynetworks
 * again in any case on SIGHUP, as the content filter does); on a mistake
 * at SIGHUP the old networks stay. 0, or -1 with err.
 */
static int set_local_nets(struct policy *pol, const struct conf *cf, char *err, size_t errlen)
{
	struct localnets *ln = localnets_new(conf_str(cf, "local_networks"), err, errlen);

	if (ln == NULL)
		return -1;
	localnets_free(pol->local_nets);
	pol->local_nets = ln;
	return 0;
}

/* The settings a decision reads, from cf (at start and on SIGHUP). */
static void read_settings(struct policy *pol, const struct conf *cf)
{
	pol->cf = cf;
	pol->spf_on = conf_bool(cf, "policy_spf");
	pol->spf_reject = conf_bool(cf, "spf_reject_fail");
	pol->spf_local = conf_bool(cf, "auth_check_local");
	pol->gp.delay = conf_num(cf, "greylist_delay");
	pol->gp.max_age = conf_num(cf, "greylist_max_age");
	pol->gp.retry_window = conf_num(cf, "greylist_retry_window");
	pol->gp.auto_allow = (int)conf_num(cf, "greylist_auto_allow_clients");
	pol->gp.v4_prefix = (int)conf_num(cf, "greylist_ipv4_prefix");
	pol->gp.v6_prefix = (int)conf_num(cf, "greylist_ipv6_prefix");
	pol->gp.by_host = conf_bool(cf, "greylist_lookup_by_host");
	pol->fail_defer = strcmp(conf_str(cf, "policy_db_failure_action"), "defer_if_permit") == 0;
	pol->suspicious_only = strcmp(conf_str(cf, "greylist_mode"), "suspicious") == 0;
	pol->soft_reject = conf_bool(cf, "soft_reject_on_timeout");
	set_hostname(pol, cf);
}

struct policy *policy_new(const struct conf *cf, sqlite3 *db, struct dns *dns, char *err,
			  size_t errlen)
{
	struct policy *pol = xcalloc(1, sizeof(*pol));

	pol->db = db;
	pol->dns = dns;
	pol->memo = xcalloc(SPF_MEMO_SLOTS, sizeof(*pol->memo));
	read_settings(pol, cf);
	if (set_local_nets(pol, cf, err, errlen) < 0 ||
	    lists_setup(&pol->lists, cf, -1, err, errlen) < 0) {
		policy_free(pol);
		return NULL;
	}
	pol->store = gl_store_sqlite_new(db, (int)conf_num(cf, "db_busy_timeout") * 1000);
	if (pol->store == NULL ||
	    sqlite3_prepare_v2(db, "SELECT enabled FROM modules WHERE name = ?1", -1,
			       &pol->st_module, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT threshold FROM actions WHERE name = ?1", -1,
			       &pol->st_action, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT weight FROM symbols WHERE name = ?1 AND enabled = 1", -1,
			       &pol->st_weight, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot prepare statements: %s", sqlite3_errmsg(db));
		policy_free(pol);
		return NULL;
	}
	if (polhdr_key_load(db, pol->hdr_key, err, errlen) < 0 ||
	    (dns && (pol->bl = dnsbl_new(db, conf_str(cf, "abusix_key"), err, errlen)) == NULL)) {
		policy_free(pol);
		return NULL;
	}
	pol->gl = greylist_new(&pol->gp, pol->store);
	pol->greylist_on = 1;
	pol->rbl_on = 1;
	pol->hfilter_on = 1;
	pol->data_version = -2;
	refresh_rules(pol);
	return pol;
}

void policy_reconfigure(struct policy *pol, const struct conf *cf, struct dns *dns)
{
	char err[512];

	lists_reload(pol, pol->cf, cf);
	if (set_local_nets(pol, cf, err, sizeof(err)) < 0)
		msg_error("reload: %s; keeping the local networks in use", err);
	read_settings(pol, cf);
	greylist_set_params(pol->gl, &pol->gp);
	pol->dns = dns;
}

void policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	greylist_free(pol->gl);
	gl_store_close(pol->store);
	dnsbl_free(pol->bl);
	sqlite3_finalize(pol->st_module);
	sqlite3_finalize(pol->st_action);
	sqlite3_finalize(pol->st_weight);
	lists_free(&pol->next);
	lists_free(&pol->lists);
	localnets_free(pol->local_nets);
	free(pol->memo);
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

/* The X-Greylist PREPEND (greylist_header), or DUNNO when it is empty. */
static void greylist_header(struct policy *pol, struct sbuf *out, long long delayed)
{
	const char *tmpl = conf_str(pol->cf, "greylist_header");

	if (*tmpl == '\0') {
		sbuf_puts(out, "DUNNO");
		return;
	}
	sbuf_puts(out, "PREPEND ");
	polhdr_greylist_header(tmpl, delayed, pol->hostname, out);
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
static const char *fail_action(const struct policy *pol)
{
	return pol->fail_defer ? "DEFER_IF_PERMIT 4.3.0 Policy service database error,"
				 " please try again later"
			       : "DUNNO";
}

static void db_broke(struct policy *pol, const char *qid)
{
	if (!pol->db_broken)
		msg_error("%s: %s; answering %s until it works again", qid, pol->store->err,
			  pol->fail_defer ? "DEFER_IF_PERMIT" : "DUNNO");
	pol->db_broken = 1;
	gl_store_fail_fast(pol->store, 1);
}

static void db_failed(struct policy *pol, const char *qid, struct sbuf *action)
{
	db_broke(pol, qid);
	sbuf_puts(action, fail_action(pol));
}

/* One request on its way: what the decision needs, copied out of the request. */
struct decision {
	struct policy *pol;
	policy_done_fn *done;
	void *arg;
	struct timespec t0;
	char qid[64], client[IP_TEXT_MAX + 8], sender[512], rcpt[512], state[32];
	char name[256], helo[256], inst[64], sasl[256];
	struct ip_addr ip;
	struct dnsbl_job *job;
	struct hfilter_job *hf;
	int waiting;		/* lookups (DNS lists, SPF) still out, and one for start_checks */
	int spf_done;		/* spf holds the outcome (checked now or earlier for the message) */
	uint64_t spf_key;	/* its memo key */
	struct spf_outcome spf;
	const char *why;
	char why_buf[600];
	struct sbuf action, symbols;
	double score;
	int provisional;	/* the reply needs this round's commit */
	long long delayed;	/* greylisting let it through after this wait, or -1 */
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void finish(struct decision *d)
{
	msg_info("%s: client=%s, state=%s, from=<%s>, to=<%s>, action=%s, reason=%s, score=%.2f,"
		 " symbols=%s, delay=%.3fms",
		 d->qid, d->client, d->state, d->sender, d->rcpt, sbuf_cstr(&d->action), d->why,
		 d->score, d->symbols.len ? sbuf_cstr(&d->symbols) : "-", ms_since(&d->t0));
	d->done(d->arg, sbuf_cstr(&d->action), d->provisional ? fail_action(d->pol) : NULL);
	dnsbl_job_free(d->job);
	hfilter_job_free(d->hf);
	sbuf_free(&d->action);
	sbuf_free(&d->symbols);
	free(d);
}

/*
 * The hfilter symbols after the DNS lists' (a disabled symbol is left out,
 * as the content filter would leave it out), their weights in the score.
 */
static void format_hfilter(struct decision *d)
{
	const struct hfilter_hit *h;
	int n = d->hf ? hfilter_job_hits(d->hf, &h) : 0;

	for (int i = 0; i < n; i++) {
		double w = d->pol->hf_weight[h[i].sym];

		if (isnan(w))
			continue;
		if (d->symbols.len)
			sbuf_puts(&d->symbols, "; ");
		sbuf_printf(&d->symbols, "%s(%.2f)[", hfilter_symbol(h[i].sym), w);
		hdrsafe_option(&d->symbols, h[i].opt, strlen(h[i].opt));
		sbuf_putc(&d->symbols, ']');
		d->score += w;
	}
}

/*
 * SYM(w)[opt,opt]; ... in Rspamd's notation, largest weight first. Each
 * option goes through the one option encoder: what the HELO said can end
 * neither the option nor the header, and the milter splits at the ','.
 */
static void format_hits(struct decision *d)
{
	const struct dnsbl_hit *h;
	size_t n = d->job ? dnsbl_job_hits(d->job, &h) : 0;

	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_puts(&d->symbols, "; ");
		sbuf_printf(&d->symbols, "%s(%.2f)[", h[i].symbol, h[i].weight);
		for (int k = 0; k < h[i].nopts; k++) {
			if (k)
				sbuf_putc(&d->symbols, ',');
			hdrsafe_option(&d->symbols, h[i].opts[k], strlen(h[i].opts[k]));
		}
		sbuf_putc(&d->symbols, ']');
	}
	format_hfilter(d);
}

/* The listing to name in a rejection: the heaviest positive hit. */
static const struct dnsbl_hit *top_hit(const struct decision *d)
{
	const struct dnsbl_hit *h;
	size_t n = dnsbl_job_hits(d->job, &h);

	for (size_t i = 0; i < n; i++)
		if (h[i].weight > 0)
			return &h[i];
	return n ? &h[0] : NULL;
}

static void on_reason(void *arg, const char *text)
{
	struct decision *d = arg;

	d->pol->inflight--;
	if (*text)
		sbuf_printf(&d->action, "; %s", text);
	finish(d);
}

/*
 * A rejection for a listing says why, with the list's TXT record, as
 * Postfix's reject_rbl_client does ("...; client [192.0.2.1] listed at
 * bl.example.org; Listed, see https://..."). Asked only now, when mail is
 * rejected: one query more for a rejection, none for the rest. dns.c makes
 * the text printable ASCII and bounds it; without one, the reply is as it is.
 */
static void reject_reason(struct decision *d, const struct dnsbl_hit *h)
{
	if (h == NULL || h->qname[0] == '\0' || d->pol->dns == NULL) {
		finish(d);
		return;
	}
	d->pol->inflight++;
	dns_lookup_txt(d->pol->dns, h->qname, on_reason, d);
}

/* Greylisting part of the decision; 1 if it decided the reply. */
static int decide_greylist(struct decision *d)
{
	struct policy *pol = d->pol;
	struct gl_result res;

	if (!pol->greylist_on) {
		d->why = "greylisting disabled";
		return 0;
	}
	if (pol->suspicious_only && d->score < pol->greylist_at) {
		d->why = "not suspicious";
		return 0;
	}
	if (greylist_check(pol->gl, (int64_t)time(NULL), &d->ip, d->sender, d->rcpt, d->inst,
			   &res) < 0) {
		d->why = "database error";
		db_failed(pol, d->qid, &d->action);
		return 1;
	}
	/* It works again once this round's commit does too (policy_flush). */
	if (pol->db_broken)
		pol->db_retry = 1;
	d->why = res.why;
	if (res.verdict == GL_DEFER) {
		/* "Try again in N seconds" holds only if the entry is committed. */
		d->provisional = 1;
		defer_text(pol, &d->action, (long long)res.wait, d->rcpt);
		return 1;
	}
	if (res.verdict != GL_PASS_DELAYED)
		return 0;
	/*
	 * X-Greylist, unless the symbols need the one PREPEND Postfix allows:
	 * then the wait travels in X-Moat-Policy and the content filter adds it.
	 * An SPF verdict alone gives way to X-Greylist (a policy server without
	 * the content filter keeps its header); the content filter then checks
	 * SPF itself, once, for this one message of the triplet.
	 */
	if (d->symbols.len == 0 && (!d->spf_done || *conf_str(pol->cf, "greylist_header"))) {
		d->spf_done = 0;
		greylist_header(pol, &d->action, (long long)res.delayed);
		return 1;
	}
	if (*conf_str(pol->cf, "greylist_header"))
		d->delayed = (long long)res.delayed;
	return 0;
}

/*
 * SPF fail with spf_reject_fail = yes: 550 5.7.23 (RFC 7372), with the
 * domain's exp= text as policyd-spf gives it, else pyspf's default. The
 * text comes from the sender's DNS: printable ASCII only, and bounded.
 */
static void spf_reject_text(struct decision *d)
{
	const char *e = d->spf.explanation[0] ? d->spf.explanation : "SPF fail - not authorized";

	sbuf_puts(&d->action, "550 5.7.23 Message rejected due to: ");
	for (size_t i = 0; e[i] && i < 200; i++)
		sbuf_putc(&d->action, e[i] >= ' ' && e[i] < 127 ? e[i] : '?');
}

/* The value of X-Moat-Policy: the symbols, the SPF verdict, the greylist wait. */
static void policy_header(struct decision *d)
{
	struct sbuf items;

	sbuf_init(&items);
	sbuf_puts(&items, d->symbols.len ? sbuf_cstr(&d->symbols) : "");
	if (d->spf_done) {
		if (items.len)
			sbuf_puts(&items, "; ");
		spf_item_format(&d->spf, &items);
	}
	if (d->delayed >= 0)
		sbuf_printf(&items, "; greylist=%lld", d->delayed);
	sbuf_puts(&d->action, "PREPEND " POLHDR_NAME ": ");
	polhdr_sign(d->pol->hdr_key, d->client, (long)time(NULL), sbuf_cstr(&items), &d->action);
	sbuf_free(&items);
}

/* All DNS answers are in (or there were none to wait for). */
static void decide(struct decision *d)
{
	struct policy *pol = d->pol;
	const char *failed = NULL;
	int timed_out = 0;

	if (d->job) {
		d->score = dnsbl_job_score(d->job);
		failed = dnsbl_job_failed(d->job, &timed_out);
	}
	format_hits(d);
	if ((d->job || d->hf) && d->score >= pol->reject_at) {
		const struct dnsbl_hit *h = d->job ? top_hit(d) : NULL;

		if (h == NULL) {
			/* The host checks alone (or mostly) made the score. */
			d->why = "host checks";
			sbuf_printf(&d->action,
				    "REJECT 5.7.1 Service unavailable; client [%s] failed the host"
				    " name checks",
				    d->client);
			finish(d);
			return;
		}
		d->why = "listed";
		sbuf_printf(&d->action, "REJECT 5.7.1 Service unavailable; client [%s] listed at %s",
			    d->client, h->zone);
		reject_reason(d, h);
		return;
	}
	if (d->spf_done && d->spf.result == SPF_FAIL && pol->spf_reject) {
		d->why = "SPF fail";
		spf_reject_text(d);
		finish(d);
		return;
	}
	if (failed) {
		msg_warn("%s: DNS list %s %s for client %s", d->qid, failed,
			 timed_out ? "timed out" : "failed", d->client);
		if (pol->soft_reject) {
			d->why = "DNS list lookup failed";
			sbuf_printf(&d->action,
				    "DEFER_IF_PERMIT 4.7.1 Service temporarily unavailable; DNS lookup"
				    " at %s %s, please try again later",
				    failed, timed_out ? "timed out" : "failed");
			finish(d);
			return;
		}
	}
	if (decide_greylist(d)) {
		finish(d);
		return;
	}
	if (d->symbols.len || d->spf_done)
		policy_header(d);
	else
		sbuf_puts(&d->action, "DUNNO");
	finish(d);
}

/* One of the lookups is done; the last one decides. */
static void part_done(struct decision *d)
{
	if (--d->waiting == 0)
		decide(d);
}

static void on_hfilter(void *arg, struct hfilter_job *job)
{
	struct decision *d = arg;

	(void)job;
	d->pol->inflight--;
	part_done(d);
}

/*
 * Rspamd's hfilter, unless the mail is local (local_networks or SASL, as
 * hfilter skips it by default). hfilter_job_new may call back at once:
 * start_checks' own count keeps decide() from running before it returns.
 */
static void start_hfilter(struct decision *d)
{
	struct policy *pol = d->pol;
	char why[300];

	if (!pol->hfilter_on || pol->dns == NULL)
		return;
	if (localmail_reason(pol->local_nets, d->client, -1, d->sasl, why, sizeof(why))) {
		msg_debug("%s: no host checks: %s", d->qid, why);
		return;
	}
	d->waiting++;
	pol->inflight++;
	d->hf = hfilter_job_new(pol->dns, &d->ip, d->helo, d->sender, on_hfilter, d);
}

static void on_dnsbl(void *arg, struct dnsbl_job *job)
{
	struct decision *d = arg;

	d->pol->inflight--;
	part_done(d);
}

/* The memo key of a transaction: the SPF outcome depends on nothing else. */
static uint64_t spf_key(const struct decision *d)
{
	struct sbuf sb;
	uint64_t h;

	sbuf_init(&sb);
	sbuf_printf(&sb, "%s|%s|%s|%s", d->inst, d->client, d->helo, d->sender);
	h = siphash24(d->pol->hdr_key, sb.data, sb.len);
	sbuf_free(&sb);
	return h;
}

static void on_spf(void *arg, const struct spf_outcome *o)
{
	struct decision *d = arg;
	struct spf_memo *m = &d->pol->memo[d->spf_key % SPF_MEMO_SLOTS];

	d->pol->inflight--;
	d->spf = *o;
	d->spf_done = 1;
	if (d->inst[0]) {
		m->key = d->spf_key;
		m->at = time(NULL);
		m->out = *o;
	}
	msg_info("%s: spf=%s, identity=%s, domain=%s, client=%s, mechanism=%s, problem=%s,"
		 " lookups=%d, queries=%d",
		 d->qid, spf_result_str(o->result), o->helo_identity ? "helo" : "mailfrom",
		 o->domain[0] ? o->domain : "-", d->client, o->mechanism[0] ? o->mechanism : "-",
		 o->problem[0] ? o->problem : "-", o->lookups, o->queries);
	part_done(d);
}

/*
 * SPF for the transaction, unless the mail is local (local_networks or a
 * SASL session: the site's own, as Rspamd skips it) or this message was
 * checked at an earlier RCPT.
 */
static void start_spf(struct decision *d)
{
	struct policy *pol = d->pol;
	struct spf_request req = {d->client, d->helo, d->sender, pol->hostname};
	struct spf_memo *m;
	char why[300];

	if (!pol->spf_on || pol->dns == NULL)
		return;
	if (!pol->spf_local &&
	    localmail_reason(pol->local_nets, d->client, -1, d->sasl, why, sizeof(why))) {
		msg_debug("%s: no SPF check: %s", d->qid, why);
		return;
	}
	d->spf_key = spf_key(d);
	m = &pol->memo[d->spf_key % SPF_MEMO_SLOTS];
	/* Without an instance (not Postfix) there is no message to remember it for. */
	if (d->inst[0] && m->at && m->key == d->spf_key && time(NULL) - m->at < SPF_MEMO_SECS) {
		d->spf = m->out;
		d->spf_done = 1;
		return;
	}
	d->waiting++;
	pol->inflight++;
	spf_check(pol->dns, &req, on_spf, d);
}

/* Domain part of an address, or NULL. */
static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at && at[1] ? at + 1 : NULL;
}

/*
 * Start the lookups of a RCPT request, DNS lists and SPF side by side;
 * decide() runs when they are in. waiting holds one for this function, so
 * that answers from the cache, which call back at once, cannot decide (and
 * free d) before everything has started.
 */
static void start_checks(struct decision *d)
{
	struct policy *pol = d->pol;

	d->waiting = 1;
	start_spf(d);
	start_hfilter(d);
	if (!pol->rbl_on || pol->bl == NULL || dnsbl_zone_count(pol->bl) == 0) {
		part_done(d);
		return;
	}
	d->waiting++;
	d->job = dnsbl_job_new(pol->bl, pol->dns, on_dnsbl, d);
	dnsbl_job_ip(d->job, &d->ip, DNSBL_CLIENT);
	dnsbl_job_domain(d->job, d->helo, DNSBL_HELO);
	if (domain_of(d->sender))
		dnsbl_job_domain(d->job, domain_of(d->sender), DNSBL_SENDER);
	if (d->name[0] && strcmp(d->name, "unknown") != 0)
		dnsbl_job_domain(d->job, d->name, DNSBL_CLIENT_NAME);
	pol->inflight++;
	dnsbl_job_run(d->job);
	part_done(d);
}

/* A list decided: the reason names the list and the source that matched. */
static int list_hit(struct decision *d, const char *list, const char *source)
{
	snprintf(d->why_buf, sizeof(d->why_buf), "%s %s", list, source);
	d->why = d->why_buf;
	return 1;
}

/*
 * The allow and block lists; 1 if one decided. Allowed is DUNNO (no
 * greylisting, no DNS lists). Allow beats block, as OK ends a Postfix
 * restriction list: an allow entry is the admin's own exception (a
 * partner's relay in a blocked network, postmaster@ that must hear from
 * everyone), while block lists are often someone else's. The rejection
 * names the list, never the sender's text.
 */
static int check_lists(struct decision *d)
{
	struct policy *pol = d->pol;
	const char *src;

	lists_switch(pol);
	if ((src = mapfetch_match_client(pol->lists.client_allow, &d->ip, d->name)))
		return list_hit(d, "client allow list", src);
	if ((src = mapfetch_match_address(pol->lists.rcpt_allow, d->rcpt)))
		return list_hit(d, "recipient allow list", src);
	if ((src = mapfetch_match_address(pol->lists.sender_allow, d->sender)))
		return list_hit(d, "sender allow list", src);
	if ((src = mapfetch_match_client(pol->lists.client_block, &d->ip, d->name))) {
		sbuf_printf(&d->action,
			    "REJECT 5.7.1 Service unavailable; client [%s] is on the client block"
			    " list",
			    d->client);
		return list_hit(d, "client block list", src);
	}
	if ((src = mapfetch_match_address(pol->lists.sender_block, d->sender))) {
		sbuf_puts(&d->action,
			  "REJECT 5.7.1 Service unavailable; sender address is on the sender block"
			  " list");
		return list_hit(d, "sender block list", src);
	}
	return 0;
}

void policy_decide(struct policy *pol, const struct policy_request *req, policy_done_fn *done,
		   void *arg)
{
	struct decision *d = xcalloc(1, sizeof(*d));
	char request[64];
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	d->pol = pol;
	d->done = done;
	d->arg = arg;
	d->why = "not at RCPT";
	d->delayed = -1;
	sbuf_init(&d->action);
	sbuf_init(&d->symbols);
	pol->requests++;
	attr(req, "request", request, sizeof(request));
	attr(req, "queue_id", d->qid, sizeof(d->qid));
	if (d->qid[0] == '\0')
		snprintf(d->qid, sizeof(d->qid), "NOQUEUE");
	attr(req, "protocol_state", d->state, sizeof(d->state));
	attr(req, "client_name", d->name, sizeof(d->name));
	attr(req, "helo_name", d->helo, sizeof(d->helo));
	attr(req, "instance", d->inst, sizeof(d->inst));
	attr(req, "sasl_username", d->sasl, sizeof(d->sasl));
	ok = attr(req, "client_address", d->client, sizeof(d->client)) &
	     attr(req, "sender", d->sender, sizeof(d->sender)) &
	     attr(req, "recipient", d->rcpt, sizeof(d->rcpt));
	if (strcmp(request, "smtpd_access_policy") != 0) {
		d->why = "not an smtpd_access_policy request";
	} else if (strcasecmp(d->state, "RCPT") != 0) {
		/* DUNNO: we only decide at RCPT. */
	} else if (!ok || d->rcpt[0] == '\0') {
		d->why = "client_address, sender or recipient missing or too long";
	} else if (ip_parse(d->client, strlen(d->client), &d->ip) < 0) {
		d->why = "client address not understood";
	} else if (!check_lists(d)) {
		start_checks(d);
		return;
	}
	if (d->action.len == 0)
		sbuf_puts(&d->action, "DUNNO");
	finish(d);
}

int policy_flush(struct policy *pol)
{
	/*
	 * A failed commit (disk full, read-only, I/O error) lost this round's
	 * new entries: their replies become the failure action, as if the
	 * insert itself had failed, and later requests fail fast until it works.
	 */
	int lost = pol->tick_lost;

	pol->tick_lost = 0;
	if (gl_store_flush(pol->store) < 0 || lost) {
		pol->db_retry = 0;
		db_broke(pol, "NOQUEUE");
		return -1;
	}
	if (pol->db_retry) {
		msg_info("greylist database works again");
		pol->db_broken = pol->db_retry = 0;
		gl_store_fail_fast(pol->store, 0);
	}
	return 0;
}

void policy_tick(struct policy *pol)
{
	time_t t = time(NULL);

	if (t == pol->last_tick)
		return;
	pol->last_tick = t;
	/* The round's lookups may still hold a snapshot: the rules must not read it. */
	gl_store_end_read(pol->store);
	refresh_rules(pol);
	if (pol->bl)
		dnsbl_problems_flush(pol->bl, pol->db, 300);
	/*
	 * Commit at once: an open transaction would block moatctl's writes. It
	 * may hold this round's writes too, whose replies are not sent yet: if
	 * it fails, policy_flush must say so, so they go out as failures.
	 */
	if (greylist_expire(pol->gl, (int64_t)t) < 0)
		msg_warn("%s", pol->store->err);
	if (gl_store_flush(pol->store) < 0) {
		msg_warn("%s", pol->store->err);
		pol->tick_lost = 1;
	}
	lists_switch(pol);
	mapfetch_poll(pol->lists.maps);
}

unsigned long policy_requests(const struct policy *pol)
{
	return pol->requests;
}
