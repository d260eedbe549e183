/*
 * moat-contentfilter - the moat milter (Postfix MILTER_README, libmilter).
 *
 * Postfix hands every message over at end of DATA (smtpd_milters); we
 * scan it and accept, tag, rewrite, tempfail or reject. libmilter runs one
 * thread per SMTP connection; per-connection state lives in struct cf_conn,
 * freed in the close callback. Start-up binds the socket and checks the
 * database before detaching, so mistakes surface as one line on stderr.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "scan/bayes.h"
#include "store/bayes_store.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "store/db.h"
#include "dns/dns.h"
#include "core/listen.h"
#include "localmail.h"
#include "core/log.h"
#include "core/hash.h"
#include "mail/hdrsafe.h"
#include "core/mem.h"
#include "core/pidfile.h"
#include "mail/polhdr.h"
#include "core/postconf.h"
#include "core/privs.h"
#include "core/sbuf.h"
#include "scan/scan.h"

#define PROGNAME "moat-contentfilter"

#define MAX_RCPTS 1000
#define MAX_POLICY_HDRS 16

/* One SMTP connection (libmilter's private data); message fields reset per message. */
struct cf_conn {
	char client[64];	/* client address as Postfix saw it */
	char client_name[256];
	char helo[256];
	int port;		/* client port; 0 for mail submitted on this host, -1 unknown */
	int tls;		/* the client used TLS ({tls_version} was set) */
	char auth[128];		/* SASL login name ({auth_authen}) of the current message */
	const char *local;	/* why the current message is local mail, or NULL */
	char local_buf[200];
	int skip;		/* local and not to be scanned: only X-Moat-Policy is kept */
	char from[320];		/* envelope sender of the current message */
	char *rcpts[MAX_RCPTS];
	int nrcpt;
	struct sbuf raw;	/* headers and body, up to scan_size_limit */
	size_t size;		/* bytes received, all of them */
	int npolicy;		/* X-Moat-Policy headers seen */
	char *policy[MAX_POLICY_HDRS];
	unsigned long proto;	/* SMFIP_* steps negotiated with the MTA */
	int failed;		/* a step failed where no reply was possible: tempfail at EOM */
	int in_flight;		/* its content is coming or being scanned (counted in flight) */
};

/*
 * Shared by all threads. SIGHUP replaces the configuration: the settings
 * read per message are atomics; cf is read under conf_mu, and a replaced
 * one is kept until exit, so a thread that still holds it reads valid
 * (old) values. The DNS settings' generation tells pooled resolvers to
 * start over.
 */
static pthread_mutex_t conf_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conf *cf;
static char my_hostname[256];	/* X-Rspamd-Server, X-Greylist; under conf_mu */
static struct conf **cf_retired;
static int cf_nretired;
static unsigned dns_generation;
static _Atomic size_t scan_limit;
static _Atomic int error_accepts;
static _Atomic long greylist_delay;
static _Atomic long greylist_max_age;
static _Atomic long history_max_age;
static _Atomic int scan_local;
static struct localnets *local_nets;	/* under conf_mu; replaced ones kept until exit */
static struct localnets **nets_retired;
static int nets_nretired;
static unsigned rules_generation;	/* bumped at every rules reload */
static pthread_mutex_t rules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rules_ref {
	struct scan_rules *r;
	int refs;
	unsigned char key[16];
} *rules_cur;
static time_t rules_loaded;
static struct bayes_cache *bayes_cache;	/* the Bayes tokens, held once for all workers */

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGNAME " [-f] [-v] [-c FILE] [-o NAME=VALUE]...\n"
		"\n"
		"Content filter (milter) of moat: scores each message at end of DATA.\n"
		"Wire it into Postfix's main.cf with\n"
		"    smtpd_milters = inet:127.0.0.1:11332\n"
		"    non_smtpd_milters = $smtpd_milters\n"
		"    milter_default_action = tempfail\n"
		"\n");
	daemon_usage_options(fp);
	conf_print_readers(fp, CONF_MILTER);
	fprintf(fp, "`moatctl config` prints their values.\n"
		    "Without systemd: milter_pid_file (its process id, for init scripts) and\n"
		    "log_file (instead of syslog; - is standard output).\n"
		    "Stops on SIGTERM or SIGINT, once the scans under way have their verdicts\n"
		    "(at most 10 s); SIGHUP re-reads the configuration file and reopens log_file.\n");
}

static struct cf_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/*
 * Every verdict is taken at end of message, so the steps before it need no
 * answer: where Postfix agreed to send them without waiting (SMFIP_NR_*),
 * a step answers nothing, which spares a round trip per header and per
 * command. A step that fails there cannot tempfail at once; it marks the
 * connection and end of message tempfails instead.
 */
static sfsistat step_done(const struct cf_conn *c, unsigned long nr_flag)
{
	return c && (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat step_failed(struct cf_conn *c, unsigned long nr_flag)
{
	if (c == NULL || !(c->proto & nr_flag))
		return SMFIS_TEMPFAIL;
	c->failed = 1;
	return SMFIS_NOREPLY;
}

static struct cf_conn *conn_new(SMFICTX *ctx)
{
	struct cf_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		msg_error("out of memory for a new connection; tempfailing");
		return NULL;
	}
	sbuf_init(&c->raw);
	smfi_setpriv(ctx, c);
	return c;
}

/*
 * Protocol options, once per SMTP connection: the steps we take without
 * answering, the one we do not need at all (unknown commands), and the
 * macros we read, so Postfix sends no others.
 *
 * DATA is kept, and answered, on purpose. Postfix sends its DATA macros
 * in any case; without the DATA command after them nothing of ours goes
 * back, so our side delays its ACK (up to 40 ms) while Postfix's first
 * header waits behind the unacknowledged macros (Nagle): one such stall
 * per message cut a single SMTP session to 21 messages a second. The
 * answer to DATA carries the ACK: 208 a second.
 */
static sfsistat cf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	const unsigned long steps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
				    SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
				    SMFIP_NOUNKNOWN | SMFIP_SKIP;
	struct cf_conn *c;

	(void)f2;
	(void)f3;
	if ((f0 & actions) != actions) {
		msg_error("the MTA does not allow adding and changing headers; refusing it");
		return SMFIS_REJECT;
	}
	if ((c = conn_new(ctx)) == NULL)
		return SMFIS_REJECT;
	*pf0 = actions | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & steps;
	*pf2 = *pf3 = 0;
	c->proto = *pf1;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr}");
		smfi_setsymlist(ctx, SMFIM_HELO, "{tls_version}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/*
 * Messages in flight: from their first header to their verdict. A stop
 * waits for them (up to STOP_DRAIN_SECONDS) before the process ends, so a
 * SIGTERM does not cut off a scan that is almost done. The count starts
 * only when Postfix sends the content, which it does once the client has
 * sent all of it: the wait is for scans, not for slow clients.
 */
#define STOP_DRAIN_SECONDS 10
static pthread_mutex_t flight_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_cv = PTHREAD_COND_INITIALIZER;
static int flight_count;
static int flight_closed;	/* stopping: messages that start now are not waited for */

static void flight_begin(struct cf_conn *c)
{
	pthread_mutex_lock(&flight_mu);
	if (!flight_closed) {
		c->in_flight = 1;
		flight_count++;
	}
	pthread_mutex_unlock(&flight_mu);
}

static void flight_end(struct cf_conn *c)
{
	if (c == NULL || !c->in_flight)
		return;
	pthread_mutex_lock(&flight_mu);
	c->in_flight = 0;
	if (--flight_count == 0)
		pthread_cond_broadcast(&flight_cv);
	pthread_mutex_unlock(&flight_mu);
}

/* At a stop: wait for the messages in flight; how many were still going. */
static int flight_drain(void)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_DRAIN_SECONDS;
	pthread_mutex_lock(&flight_mu);
	flight_closed = 1;
	while (flight_count > 0 &&
	       pthread_cond_timedwait(&flight_cv, &flight_mu, &until) != ETIMEDOUT)
		;
	left = flight_count;
	pthread_mutex_unlock(&flight_mu);
	return left;
}

static void conn_reset_message(struct cf_conn *c)
{
	flight_end(c);
	c->from[0] = '\0';
	for (int i = 0; i < c->nrcpt; i++)
		free(c->rcpts[i]);
	c->nrcpt = 0;
	for (int i = 0; i < c->npolicy && i < MAX_POLICY_HDRS; i++)
		free(c->policy[i]);
	c->npolicy = 0;
	sbuf_free(&c->raw);
	c->size = 0;
	c->failed = 0;
	c->auth[0] = '\0';
	c->local = NULL;
	c->skip = 0;
}

/*
 * What a scan needs besides the message: a database connection and a
 * resolver with the DNS lists. libmilter runs a thread per SMTP session
 * and sessions are short, so these live in a pool and go from scan to
 * scan instead of being opened for every connection.
 */
struct worker {
	sqlite3 *db;
	struct scan_dns *sd;	/* NULL if the DNS lists could not be set up */
	struct bayes_store *bst;	/* NULL if the Bayes store could not be set up */
	struct bayes *bayes;
	unsigned generation;	/* rules generation the DNS lists were read at */
	unsigned dns_gen;	/* DNS settings the resolver was made with */
	struct worker *next;
};

/* The configuration now, and the generation of its DNS settings. */
static const struct conf *conf_now(unsigned *gen)
{
	const struct conf *c;

	pthread_mutex_lock(&conf_mu);
	c = cf;
	if (gen)
		*gen = dns_generation;
	pthread_mutex_unlock(&conf_mu);
	return c;
}

/* A resolver made with settings SIGHUP has replaced starts over with the new ones. */
static void worker_dns_refresh(struct worker *w)
{
	unsigned gen;
	const struct conf *c = conf_now(&gen);
	char err[512];

	if (w->dns_gen == gen)
		return;
	scan_dns_free(w->sd);
	if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
		msg_warn("DNS lists unavailable: %s", err);
	w->dns_gen = gen;
	w->generation = (unsigned)-1;
}

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct worker *pool;

static struct worker *worker_get(void)
{
	struct worker *w;
	const struct conf *c;
	char err[512];

	pthread_mutex_lock(&pool_mu);
	if ((w = pool) != NULL)
		pool = w->next;
	pthread_mutex_unlock(&pool_mu);
	if (w) {
		worker_dns_refresh(w);
		return w;
	}
	w = xcalloc(1, sizeof(*w));
	c = conf_now(&w->dns_gen);
	w->db = db_open(conf_str(c, "database_path"), (int)conf_num(c, "db_busy_timeout") * 1000,
			err, sizeof(err));
	if (w->db == NULL) {
		msg_error("%s", err);
		free(w);
		return NULL;
	}
	if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
		msg_warn("DNS lists unavailable: %s", err);
	if ((w->bst = bayes_store_sqlite_new(w->db, bayes_cache)) != NULL)
		w->bayes = bayes_new(w->bst);
	else
		msg_warn("Bayes classifier unavailable: %s", sqlite3_errmsg(w->db));
	w->generation = (unsigned)-1;
	return w;
}

static void worker_put(struct worker *w)
{
	pthread_mutex_lock(&pool_mu);
	w->next = pool;
	pool = w;
	pthread_mutex_unlock(&pool_mu);
}

static void pool_free(void)
{
	while (pool) {
		struct worker *w = pool;

		pool = w->next;
		scan_dns_free(w->sd);
		bayes_free(w->bayes);
		bayes_store_close(w->bst);
		db_close(w->db);
		free(w);
	}
}

/* The rules of this moment: reloaded every two seconds, so changes made
 * with moatctl or the sqlite3 shell apply without a restart. */
static struct rules_ref *rules_get(sqlite3 *db)
{
	struct rules_ref *ref;
	time_t now = time(NULL);

	pthread_mutex_lock(&rules_mu);
	if (rules_cur == NULL || now - rules_loaded >= 2) {
		char err[512];
		struct scan_rules *r = scan_rules_load(db, err, sizeof(err));
		struct rules_ref *fresh = r ? calloc(1, sizeof(*fresh)) : NULL;

		if (fresh && polhdr_key_load(db, fresh->key, err, sizeof(err)) == 0) {
			fresh->r = r;
			fresh->refs = 1;	/* the global reference */
			if (rules_cur && --rules_cur->refs == 0) {
				scan_rules_free(rules_cur->r);
				free(rules_cur);
			}
			rules_cur = fresh;
			rules_loaded = now;
			rules_generation++;
		} else {
			msg_warn("cannot reload rules: %s", err);
			scan_rules_free(r);
			free(fresh);
		}
	}
	ref = rules_cur;
	if (ref)
		ref->refs++;
	pthread_mutex_unlock(&rules_mu);
	return ref;
}

static void rules_put(struct rules_ref *ref)
{
	pthread_mutex_lock(&rules_mu);
	if (ref && --ref->refs == 0) {
		scan_rules_free(ref->r);
		free(ref);
	}
	pthread_mutex_unlock(&rules_mu);
}

static sfsistat cf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct cf_conn *c = conn_of(ctx);
	const char *addr = smfi_getsymval(ctx, "{client_addr}");

	if (c == NULL && (c = conn_new(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	/* Postfix passes the client's address here; macros are not sent by default. */
	c->port = -1;
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->client,
			  sizeof(c->client));
		c->port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->client,
			  sizeof(c->client));
		c->port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	} else {
		snprintf(c->client, sizeof(c->client), "%s",
			 addr ? addr : (host ? host : "unknown"));
	}
	snprintf(c->client_name, sizeof(c->client_name), "%s", host ? host : "");
	return step_done(c, SMFIP_NR_CONN);
}

static sfsistat cf_helo(SMFICTX *ctx, char *helo)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_HELO);
	snprintf(c->helo, sizeof(c->helo), "%s", helo ? helo : "");
	c->tls = smfi_getsymval(ctx, "{tls_version}") != NULL;
	return step_done(c, SMFIP_NR_HELO);
}

/* "<a@b>" as the envelope address a@b. */
static void strip_brackets(char *dst, size_t size, const char *addr)
{
	size_t len;

	if (addr == NULL)
		addr = "";
	if (*addr == '<')
		addr++;
	len = strcspn(addr, ">");
	if (len >= size)
		len = size - 1;
	memcpy(dst, addr, len);
	dst[len] = '\0';
}

static sfsistat cf_envfrom(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_MAIL);
	conn_reset_message(c);
	strip_brackets(c->from, sizeof(c->from), argv[0]);
	{
		const char *auth = smfi_getsymval(ctx, "{auth_authen}");

		snprintf(c->auth, sizeof(c->auth), "%s", auth ? auth : "");
	}
	pthread_mutex_lock(&conf_mu);
	c->local = localmail_reason(local_nets, c->client, c->port, c->auth, c->local_buf,
				    sizeof(c->local_buf));
	pthread_mutex_unlock(&conf_mu);
	c->skip = c->local && !scan_local;
	return step_done(c, SMFIP_NR_MAIL);
}

static sfsistat cf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);
	char rcpt[320];

	if (c == NULL)
		return step_failed(c, SMFIP_NR_RCPT);
	if (c->nrcpt < MAX_RCPTS) {
		strip_brackets(rcpt, sizeof(rcpt), argv[0]);
		c->rcpts[c->nrcpt++] = xstrdup(rcpt);
	}
	return step_done(c, SMFIP_NR_RCPT);
}

static void append_limited(struct cf_conn *c, const void *p, size_t len)
{
	size_t limit = scan_limit;	/* once: SIGHUP may change it meanwhile */

	if (!c->in_flight)
		flight_begin(c);
	c->size += len;
	if (c->raw.len >= limit)
		return;
	if (len > limit - c->raw.len)
		len = limit - c->raw.len;
	sbuf_append(&c->raw, p, len);
}

static sfsistat cf_header(SMFICTX *ctx, char *name, char *value)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_HDR);
	if (strcasecmp(name, POLHDR_NAME) == 0) {
		/* Kept aside, not scanned as part of the message, and removed at the end. */
		if (c->npolicy < MAX_POLICY_HDRS)
			c->policy[c->npolicy] = xstrdup(value);
		c->npolicy++;
		return step_done(c, SMFIP_NR_HDR);
	}
	/* Unscanned local mail: only the Subject, for the log and the history row. */
	if (c->skip && strcasecmp(name, "Subject") != 0) {
		c->size += strlen(name) + strlen(value) + 3;
		return step_done(c, SMFIP_NR_HDR);
	}
	append_limited(c, name, strlen(name));
	append_limited(c, ": ", 2);
	append_limited(c, value, strlen(value));
	append_limited(c, "\n", 1);
	return step_done(c, SMFIP_NR_HDR);
}

static sfsistat cf_eoh(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_EOH);
	append_limited(c, "\n", 1);
	return step_done(c, SMFIP_NR_EOH);
}

static sfsistat cf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_BODY);
	if (c->skip) {
		c->size += len;
		return c->proto & SMFIP_SKIP ? SMFIS_SKIP : step_done(c, SMFIP_NR_BODY);
	}
	append_limited(c, chunk, len);
	/* Past the scan limit the rest is only counted: let Postfix stop sending it. */
	if (c->size > scan_limit && (c->proto & SMFIP_SKIP))
		return SMFIS_SKIP;
	return step_done(c, SMFIP_NR_BODY);
}

/*
 * Every header value the filter writes goes through here: values quote the
 * message (subjects, URL hosts) and settings, and a stray CR or LF would
 * let them end the header and start another. libmilter wants folds as LF + TAB.
 */
/* change: 0 adds at the end, 1 replaces the first of that name, 2 inserts at the top. */
static int set_header(SMFICTX *ctx, const char *name, const char *value, int change)
{
	struct sbuf sb;
	int rc;

	sbuf_init(&sb);
	hdrsafe_value(&sb, value);
	if (change == 2)
		rc = smfi_insheader(ctx, 0, (char *)name, (char *)sbuf_cstr(&sb));
	else if (change)
		rc = smfi_chgheader(ctx, (char *)name, 1, (char *)sbuf_cstr(&sb));
	else
		rc = smfi_addheader(ctx, (char *)name, (char *)sbuf_cstr(&sb));
	sbuf_free(&sb);
	return rc == MI_SUCCESS ? 0 : -1;
}

static int add_header(SMFICTX *ctx, const char *name, const char *value)
{
	return set_header(ctx, name, value, 0);
}

/* A header Postfix may write anew on each attempt: never part of the key. */
static int volatile_header(const char *h, size_t len, const char *qid)
{
	static const char *const names[] = {"Received:", "Date:", "Resent-Date:"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len >= strlen(names[i]) && strncasecmp(h, names[i], strlen(names[i])) == 0)
			return 1;
	/*
	 * A Message-ID (or anything) holding this attempt's queue ID is Postfix's;
	 * without the queue ID no Message-ID can be trusted to come again.
	 */
	if (qid == NULL)
		return (len >= 11 && strncasecmp(h, "Message-ID:", 11) == 0) ||
		       (len >= 18 && strncasecmp(h, "Resent-Message-ID:", 18) == 0);
	return memmem(h, len, qid, strlen(qid)) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The content filter's greylist key: what a retry of the same message
 * brings again. Postfix writes some headers anew on every attempt: for mail
 * submitted on this host and for clients in local_header_rewrite_clients
 * that send none, a Date and a Message-ID that holds the queue ID; its own
 * Received has the queue ID too. So the key is the envelope sender, the
 * recipients (sorted: the order may change) and the message as scanned,
 * less the headers volatile_header() names. With a changing header left
 * in, the message would never be recognised and greylisted for ever.
 */
static uint64_t greylist_key(const struct cf_conn *c, const char *qid)
{
	const char *p = c->raw.data ? c->raw.data : "", *end = p + c->raw.len;
	char *rcpts[MAX_RCPTS];
	struct sbuf key;
	uint64_t id;

	sbuf_init(&key);
	sbuf_printf(&key, "%s|", c->from);
	memcpy(rcpts, c->rcpts, (size_t)c->nrcpt * sizeof(rcpts[0]));
	qsort(rcpts, (size_t)c->nrcpt, sizeof(rcpts[0]), cmp_str);
	for (int i = 0; i < c->nrcpt; i++)
		sbuf_printf(&key, "%s,", rcpts[i]);
	sbuf_putc(&key, '|');
	/* Headers one by one (a folded one spans lines that start with white space). */
	while (p < end && *p != '\n') {
		const char *h = p;

		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		if (!volatile_header(h, (size_t)(p - h), qid))
			sbuf_append(&key, h, (size_t)(p - h));
	}
	sbuf_append(&key, p, (size_t)(end - p));
	id = hash64(key.data, key.len);
	sbuf_free(&key);
	return id;
}

/*
 * The content filter's own greylisting: a message is tempfailed until it
 * comes back after greylist_delay. 1: let it through, with the wait since
 * the first try in *waited; 0: tempfail; -1: database trouble.
 */
static int milter_greylist(sqlite3 *db, const struct cf_conn *c, const char *qid, long long *waited)
{
	sqlite3_stmt *st;
	long long now = (long long)time(NULL), first = -1;
	uint64_t id = greylist_key(c, qid);
	int rc;

	*waited = 0;
	if (sqlite3_prepare_v2(db, "SELECT first_seen FROM milter_greylist WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	if (sqlite3_step(st) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO milter_greylist (id, first_seen, last_seen)"
			       " VALUES (?1, ?2, ?2) ON CONFLICT (id) DO UPDATE SET last_seen = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (first >= 0 && now - first >= greylist_delay) {
		*waited = now - first;
		return 1;
	}
	*waited = first >= 0 ? now - first : 0;
	return 0;
}

/*
 * History rows go to one writer thread, which inserts whatever has queued
 * up in one transaction: twenty milter threads then never wait for each
 * other's write lock on the message path. A row still queued when the
 * process is killed is lost; the message is not (it is Postfix's).
 */
struct hist_row {
	char *qid, *client, *sender, *rcpts, *subject, *action, *symbols, *reason;
	long long size;
	double score, ms;
	struct hist_row *next;
};

static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hist_cv = PTHREAD_COND_INITIALIZER;
static struct hist_row *hist_head, **hist_tail = &hist_head;
static int hist_stop, hist_len;
static pthread_t hist_thread;
/*
 * The database takes no writes (full file system, read-only, I/O error):
 * set by the history thread when a commit fails, cleared when one works.
 * Mail is then tempfailed (or accepted, by milter_error_action), as for
 * any internal error: greylisting, autolearn and history need it.
 */
static atomic_int db_unwritable;

#define HIST_QUEUE_MAX 100000	/* rows waiting; past it new ones are dropped (and logged) */

static void hist_free(struct hist_row *h)
{
	free(h->qid);
	free(h->client);
	free(h->sender);
	free(h->rcpts);
	free(h->subject);
	free(h->action);
	free(h->symbols);
	free(h->reason);
	free(h);
}

static void history_add(const char *qid, const struct cf_conn *c, const char *action, double score,
			const char *symbols, const char *subject, const char *reason, double ms)
{
	struct hist_row *h = xcalloc(1, sizeof(*h));
	struct sbuf rc;

	sbuf_init(&rc);
	for (int i = 0; i < c->nrcpt; i++)
		sbuf_printf(&rc, "%s%s", i ? "," : "", c->rcpts[i]);
	h->qid = xstrdup(qid);
	h->client = xstrdup(c->client);
	h->sender = xstrdup(c->from);
	h->rcpts = xstrdup(sbuf_cstr(&rc));
	h->subject = xstrdup(subject);
	h->action = xstrdup(action);
	h->symbols = xstrdup(symbols);
	h->reason = xstrdup(reason);
	h->size = (long long)c->size;
	h->score = score;
	h->ms = ms;
	sbuf_free(&rc);
	pthread_mutex_lock(&hist_mu);
	if (hist_len >= HIST_QUEUE_MAX) {
		pthread_mutex_unlock(&hist_mu);
		msg_warn("%s: history queue full; row not kept", qid);
		hist_free(h);
		return;
	}
	*hist_tail = h;
	hist_tail = &h->next;
	hist_len++;
	pthread_cond_signal(&hist_cv);
	pthread_mutex_unlock(&hist_mu);
}

/* Write the rows (none: just test that the database takes a write); 0 or -1. */
static int hist_write(sqlite3 *db, struct hist_row *list)
{
	static const char *sql =
	    "INSERT INTO history (time, queue_id, client, sender, recipients, subject, size,"
	    " score, action, symbols, scan_ms, reason) VALUES (unixepoch(), ?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11)";
	sqlite3_stmt *st = NULL;
	int failed = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		/* Busy past db_busy_timeout is another writer, not a broken disk. */
		if (list)
			msg_warn("history: %s; rows from %s on not kept", sqlite3_errmsg(db),
				 list->qid);
		return (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY ? 0 : -1;
	}
	if (list == NULL)
		failed |= sqlite3_exec(db, "UPDATE settings SET value = value WHERE name = "
					   "(SELECT min(name) FROM settings)",
				       NULL, NULL, NULL) != SQLITE_OK;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		for (struct hist_row *h = list; h; h = h->next) {
			sqlite3_bind_text(st, 1, h->qid, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, h->client, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, h->sender, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, h->rcpts, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, h->subject, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, h->size);
			sqlite3_bind_double(st, 7, h->score);
			sqlite3_bind_text(st, 8, h->action, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 9, h->symbols, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 10, h->ms);
			sqlite3_bind_text(st, 11, h->reason, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				msg_warn("%s: history: %s", h->qid, sqlite3_errmsg(db));
				failed = 1;
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	/* Prune a little each time: bounded work, no cron job. */
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM history WHERE id IN (SELECT id FROM history"
			       " WHERE time < unixepoch() - ?1 ORDER BY time LIMIT 100)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, history_max_age);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	/* Greylisted messages not seen for greylist_max_age, as moat-policyd forgets triplets. */
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM milter_greylist WHERE id IN (SELECT id FROM milter_greylist"
			       " WHERE last_seen < unixepoch() - ?1 ORDER BY last_seen LIMIT 100)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, greylist_max_age);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		msg_warn("history: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		failed = 1;
	}
	return failed ? -1 : 0;
}

/* Track whether the database takes writes; one log line per change. */
static void db_writable(sqlite3 *db, int ok)
{
	if (!ok && !atomic_exchange(&db_unwritable, 1))
		msg_error("database %s takes no writes (%s): %s mail until it does",
			  conf_str(cf, "database_path"), sqlite3_errmsg(db),
			  error_accepts ? "accepting" : "tempfailing");
	else if (ok && atomic_exchange(&db_unwritable, 0))
		msg_info("database %s takes writes again", conf_str(cf, "database_path"));
}

static void *hist_main(void *arg)
{
	sqlite3 *db = arg;

	pthread_mutex_lock(&hist_mu);
	for (;;) {
		struct hist_row *list;

		while (hist_head == NULL && !hist_stop) {
			struct timespec until;

			if (!atomic_load(&db_unwritable)) {
				pthread_cond_wait(&hist_cv, &hist_mu);
				continue;
			}
			/* No mail gets through to write rows: try a write now and then. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 2;
			if (pthread_cond_timedwait(&hist_cv, &hist_mu, &until) != 0 &&
			    hist_head == NULL && !hist_stop) {
				pthread_mutex_unlock(&hist_mu);
				db_writable(db, hist_write(db, NULL) == 0);
				pthread_mutex_lock(&hist_mu);
			}
		}
		if (hist_head == NULL && hist_stop)
			break;
		list = hist_head;
		hist_head = NULL;
		hist_tail = &hist_head;
		hist_len = 0;
		pthread_mutex_unlock(&hist_mu);
		db_writable(db, hist_write(db, list) == 0);
		while (list) {
			struct hist_row *next = list->next;

			hist_free(list);
			list = next;
		}
		pthread_mutex_lock(&hist_mu);
	}
	pthread_mutex_unlock(&hist_mu);
	db_close(db);
	return NULL;
}

static int hist_start(char *err, size_t errlen)
{
	sqlite3 *db = db_open(conf_str(cf, "database_path"),
			      (int)conf_num(cf, "db_busy_timeout") * 1000, err, errlen);

	if (db == NULL)
		return -1;
	if (pthread_create(&hist_thread, NULL, hist_main, db) != 0) {
		snprintf(err, errlen, "cannot start the history thread");
		db_close(db);
		return -1;
	}
	return 0;
}

/* Write what is queued, then stop the thread. */
static void hist_finish(void)
{
	pthread_mutex_lock(&hist_mu);
	hist_stop = 1;
	pthread_cond_signal(&hist_cv);
	pthread_mutex_unlock(&hist_mu);
	pthread_join(hist_thread, NULL);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Symbols of the first X-Moat-Policy that verifies (NULL ref: none wanted);
 * all of them are removed. Returns how long policyd greylisted the
 * message's triplet, when it says so, or -1.
 */
static long take_policy_header(SMFICTX *ctx, struct cf_conn *c, const struct rules_ref *ref,
			       struct scan_result *res, const char *qid)
{
	char symbols[4096], why[200];
	int used = 0;
	long delayed = -1;

	for (int i = 0; i < c->npolicy && i < MAX_POLICY_HDRS; i++) {
		if (used)
			continue;
		if (ref == NULL)
			break;
		if (polhdr_verify(ref->key, c->client, (long)time(NULL), 3600, c->policy[i], symbols,
				  sizeof(symbols), why, sizeof(why)) == 0) {
			delayed = polhdr_take_greylist(symbols);
			scan_add_policy(res, ref->r, symbols);
			used = 1;
		} else {
			msg_info("%s: ignoring an %s header: %s", qid, POLHDR_NAME, why);
		}
	}
	for (int i = c->npolicy; i >= 1; i--)
		smfi_chgheader(ctx, POLHDR_NAME, i, NULL);
	return delayed;
}

/* X-Greylist for a message moat-policyd delayed, which its own PREPEND could not carry. */
static void add_greylist_header(SMFICTX *ctx, long delayed)
{
	const struct conf *cfn = conf_now(NULL);
	const char *tmpl = conf_str(cfn, "greylist_header");
	const char *colon = strchr(tmpl, ':');
	char host[sizeof(my_hostname)], name[128];
	struct sbuf sb;

	if (delayed < 0 || colon == NULL || colon == tmpl || (size_t)(colon - tmpl) >= sizeof(name))
		return;
	pthread_mutex_lock(&conf_mu);
	snprintf(host, sizeof(host), "%s", my_hostname);
	pthread_mutex_unlock(&conf_mu);
	sbuf_init(&sb);
	polhdr_greylist_header(colon + 1 + strspn(colon + 1, " "), delayed, host, &sb);
	snprintf(name, sizeof(name), "%.*s", (int)(colon - tmpl), tmpl);
	/* At the top, where moat-policyd's PREPEND would have put it. */
	set_header(ctx, name, sbuf_cstr(&sb), 2);
	sbuf_free(&sb);
}

/* Subject for "rewrite subject": the pattern with %s replaced by the old subject. */
static void rewrite_subject(SMFICTX *ctx, const struct rules_ref *ref, const char *old)
{
	const char *pat = scan_rules_setting(ref->r, "subject_rewrite");
	const char *pct = strstr(pat, "%s");
	struct sbuf sb;

	sbuf_init(&sb);
	if (pct) {
		sbuf_append(&sb, pat, (size_t)(pct - pat));
		sbuf_puts(&sb, old);
		sbuf_puts(&sb, pct + 2);
	} else {
		sbuf_printf(&sb, "%s %s", pat, old);
	}
	if (set_header(ctx, "Subject", sbuf_cstr(&sb), 1) < 0)
		add_header(ctx, "Subject", sbuf_cstr(&sb));
	sbuf_free(&sb);
}

/*
 * The headers of Rspamd's milter_headers routines that the milter_headers
 * setting turns on, in Rspamd's formats: X-Spamd-Bar, X-Rspamd-Queue-Id
 * (Postfix's queue ID, when it sent one), X-Rspamd-Server (myhostname).
 */
static void add_rspamd_headers(SMFICTX *ctx, const struct scan_rules *r,
			       const struct scan_result *res, const char *queue_id)
{
	unsigned want = scan_rules_headers(r);
	char host[sizeof(my_hostname)];
	struct sbuf bar;

	if (want & SCAN_HDR_SERVER) {
		pthread_mutex_lock(&conf_mu);
		memcpy(host, my_hostname, sizeof(host));
		pthread_mutex_unlock(&conf_mu);
		add_header(ctx, "X-Rspamd-Server", host);
	}
	if ((want & SCAN_HDR_QUEUE_ID) && queue_id && *queue_id)
		add_header(ctx, "X-Rspamd-Queue-Id", queue_id);
	if (want & SCAN_HDR_BAR) {
		sbuf_init(&bar);
		scan_spamd_bar(res->score, &bar);
		add_header(ctx, "X-Spamd-Bar", sbuf_cstr(&bar));
		sbuf_free(&bar);
	}
}

static sfsistat internal_error(SMFICTX *ctx, const char *qid, const char *why)
{
	msg_error("%s: %s; %s the message", qid, why, error_accepts ? "accepting" : "tempfailing");
	if (error_accepts)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, "451", "4.3.0", "Temporary content filter problem, try again later");
	return SMFIS_TEMPFAIL;
}

/*
 * The greylist action, decided; 1 if the message is to be held (451).
 * Local mail is never held. Other mail is held until it comes back after
 * greylist_delay; let through, it gets Rspamd's answer: the action drops
 * to "no action" and GREYLIST(0.00)[pass] joins the symbols (Rspamd's
 * greylist module: disable_action), so history, statistics and
 * X-Rspamd-Action tell held mail from mail let through.
 */
static int greylist_decide(struct cf_conn *c, sqlite3 *db, const struct rules_ref *ref,
			   struct scan_result *res, const char *qid, char *why, size_t whylen)
{
	long long waited;
	int g;

	if (c->local) {
		snprintf(why, whylen, "not greylisted: %s", c->local);
		res->action = "no action";
		return 0;
	}
	g = milter_greylist(db, c, strcmp(qid, "NOQUEUE") ? qid : NULL, &waited);
	if (g == 0) {
		snprintf(why, whylen, "greylisted (a retry is accepted in %llds)",
			 greylist_delay - waited);
		scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "greylisted");
		return 1;
	}
	res->action = "no action";
	if (g < 0) {
		msg_warn("%s: greylist state unavailable; accepting", qid);
		snprintf(why, whylen, "greylist state unavailable (let through)");
		scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "unavailable");
		return 0;
	}
	snprintf(why, whylen, "greylisting passed after %llds", waited);
	scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "pass");
	return 0;
}

static sfsistat act(SMFICTX *ctx, const struct rules_ref *ref, const struct scan_result *res,
		    int held, const char *subject)
{
	const char *spam = scan_rules_setting(ref->r, "spam_header");
	const char *colon = strchr(spam, ':');

	if (strcmp(res->action, "reject") == 0) {
		/* Rspamd's proxy answers GTUBE with its smtp_message, "Gtube pattern". */
		smfi_setreply(ctx, "554", "5.7.1",
			      res->forced ? "Gtube pattern" : "Message rejected as spam");
		return SMFIS_REJECT;
	}
	if (strcmp(res->action, "soft reject") == 0) {
		char text[300];

		snprintf(text, sizeof(text), "Try again later: %s", res->soft_reason);
		smfi_setreply(ctx, "451", "4.7.1", text);
		return SMFIS_TEMPFAIL;
	}
	if (held) {
		smfi_setreply(ctx, "451", "4.7.1", "Greylisted, please try again later");
		return SMFIS_TEMPFAIL;
	}
	if (strcmp(res->action, "rewrite subject") == 0)
		rewrite_subject(ctx, ref, subject);
	if ((strcmp(res->action, "add header") == 0 || strcmp(res->action, "rewrite subject") == 0) &&
	    colon) {
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)(colon - spam), spam);
		add_header(ctx, name, colon + 1 + strspn(colon + 1, " "));
	}
	return SMFIS_CONTINUE;
}

/* The Subject, unfolded, as far as it fits. */
static void subject_of(const char *raw, char *subject, size_t size)
{
	const char *s = strcasestr(raw, "\nSubject:");
	size_t n = 0;

	subject[0] = '\0';
	if (s == NULL && strncasecmp(raw, "Subject:", 8) != 0)
		return;
	s = s ? s + 9 : raw + 8;
	s += strspn(s, " ");
	/* Unfolded: a folded subject must not lose its continuation lines. */
	for (; *s && n + 1 < size; s++) {
		if (*s == '\n' && s[1] != ' ' && s[1] != '\t')
			break;
		if (*s != '\n' && *s != '\r')
			subject[n++] = *s;
	}
	subject[n] = '\0';
	for (size_t k = strlen(subject); k && isspace((unsigned char)subject[k - 1]);)
		subject[--k] = '\0';
}

/* Local mail with scan_local = no: no headers, no score; a log line and a history row say so. */
static sfsistat skip_local(SMFICTX *ctx, struct cf_conn *c, const char *qid)
{
	char subject[256], why[300];

	take_policy_header(ctx, c, NULL, NULL, qid);
	subject_of(c->raw.data ? c->raw.data : "", subject, sizeof(subject));
	snprintf(why, sizeof(why), "not scanned: %s (scan_local = no)", c->local);
	msg_info("%s: client=%s, from=<%s>, nrcpt=%d, size=%zu, action=skipped, reason=%s", qid,
		 c->client, c->from, c->nrcpt, c->size, why);
	history_add(qid, c, "skipped", 0.0, "", subject, why, 0.0);
	conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat eom_scan(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);
	const char *q = smfi_getsymval(ctx, "i");
	char qid[64], subject[256] = "", why[300] = "";
	struct timespec t0;
	struct scan_result res;
	struct scan_input in;
	struct scan_env env;
	struct rules_ref *ref;
	struct sbuf hdr;
	struct worker *w;
	sfsistat rc;
	unsigned gen;
	long delayed;
	int held = 0;

	snprintf(qid, sizeof(qid), "%s", q ? q : "NOQUEUE");
	if (c == NULL)
		return internal_error(ctx, qid, "no connection state");
	if (c->failed) {
		conn_reset_message(c);
		return internal_error(ctx, qid, "a step before end of message failed");
	}
	/*
	 * moat-policyd adds one X-Moat-Policy. Thousands are forged, and removing
	 * each costs Postfix a walk over all headers (quadratic: 100,000 of them
	 * stalled cleanup past its timeout). Tempfail such a message unscanned.
	 */
	if (c->npolicy > MAX_POLICY_HDRS) {
		msg_warn("%s: more than %d %s headers; tempfailing the message", qid,
			 MAX_POLICY_HDRS, POLHDR_NAME);
		conn_reset_message(c);
		smfi_setreply(ctx, "451", "4.7.0", "Too many " POLHDR_NAME " headers");
		return SMFIS_TEMPFAIL;
	}
	/* Before the database checks: the site's own mail flows while it is broken. */
	if (c->skip)
		return skip_local(ctx, c, qid);
	if (atomic_load(&db_unwritable)) {
		conn_reset_message(c);
		return internal_error(ctx, qid, "the database takes no writes");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((w = worker_get()) == NULL)
		return internal_error(ctx, qid, "database unavailable");
	if ((ref = rules_get(w->db)) == NULL) {
		worker_put(w);
		return internal_error(ctx, qid, "rules unavailable");
	}
	/* DNS lists follow the rules: re-read when they were. */
	pthread_mutex_lock(&rules_mu);
	gen = rules_generation;
	pthread_mutex_unlock(&rules_mu);
	if (w->sd && w->generation != gen) {
		if (w->generation != (unsigned)-1)
			scan_dns_reload(w->sd, w->db);
		w->generation = gen;
	}
	memset(&in, 0, sizeof(in));
	in.raw = c->raw.data ? c->raw.data : "";
	in.len = c->raw.len;
	in.client_ip = c->client;
	in.client_name = c->client_name;
	in.helo = c->helo;
	in.mail_from = c->from;
	in.rcpts = (const char *const *)c->rcpts;
	in.nrcpts = c->nrcpt;
	in.tls = c->tls;
	env.bayes = w->bayes;
	env.dns = w->sd;
	scan_result_init(&res);
	scan_message(ref->r, &env, &in, &res);
	delayed = take_policy_header(ctx, c, ref, &res, qid);
	if (c->size > scan_limit)
		scan_add(&res, ref->r, "MOAT_TOO_BIG", NULL);
	scan_finish(&res, ref->r);
	if (w->bayes)
		bayes_autolearn(w->bayes, ref->r, res.score, qid);
	subject_of(in.raw, subject, sizeof(subject));
	if (strcmp(res.action, "greylist") == 0)
		held = greylist_decide(c, w->db, ref, &res, qid, why, sizeof(why));
	sbuf_init(&hdr);
	scan_spamd_result(&res, &hdr, 78);
	add_header(ctx, "X-Spamd-Result", sbuf_cstr(&hdr));
	add_header(ctx, "X-Rspamd-Action", res.action);
	add_rspamd_headers(ctx, ref->r, &res, q);
	rc = act(ctx, ref, &res, held, subject);
	if (rc == SMFIS_CONTINUE)
		add_greylist_header(ctx, delayed);
	sbuf_reset(&hdr);
	scan_spamd_result(&res, &hdr, 0);
	msg_info("%s: client=%s, from=<%s>, nrcpt=%d, size=%zu, score=%.2f/%.2f, action=%s%s%s,"
		 "%s%s%s symbols=%s, scan=%.3fms",
		 qid, c->client, c->from, c->nrcpt, c->size, res.score, res.required, res.action,
		 rc == SMFIS_TEMPFAIL ? " (tempfail)" : "", res.forced ? " (forced by GTUBE)" : "",
		 why[0] ? " reason=" : "", why, why[0] ? "," : "", sbuf_cstr(&hdr), ms_since(&t0));
	history_add(qid, c, res.action, res.score, sbuf_cstr(&hdr), subject, why, ms_since(&t0));
	worker_put(w);
	sbuf_free(&hdr);
	scan_result_free(&res);
	rules_put(ref);
	conn_reset_message(c);
	return rc;
}

/* End of message: the verdict; every way out of eom_scan() ends the flight. */
static sfsistat cf_eom(SMFICTX *ctx)
{
	sfsistat rc = eom_scan(ctx);

	flight_end(conn_of(ctx));
	return rc;
}

static sfsistat cf_abort(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c)
		conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat cf_close(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c) {
		conn_reset_message(c);
		free(c);
	}
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = PROGNAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_connect = cf_connect,
	.xxfi_helo = cf_helo,
	.xxfi_envfrom = cf_envfrom,
	.xxfi_envrcpt = cf_envrcpt,
	.xxfi_header = cf_header,
	.xxfi_eoh = cf_eoh,
	.xxfi_body = cf_body,
	.xxfi_eom = cf_eom,
	.xxfi_abort = cf_abort,
	.xxfi_close = cf_close,
	.xxfi_negotiate = cf_negotiate,
};

/* myhostname: moat's, else Postfix's, else the system's; logged when it changes. */
static void set_hostname(const struct conf *c)
{
	char name[sizeof(my_hostname)];
	const char *from = postconf_myhostname(conf_str(c, "myhostname"), name, sizeof(name));

	pthread_mutex_lock(&conf_mu);
	if (strcmp(name, my_hostname) != 0) {
		msg_info("myhostname is %s (from %s)", name, from);
		memcpy(my_hostname, name, sizeof(name));
	}
	pthread_mutex_unlock(&conf_mu);
}

/* The settings read per message, from c (at start and on SIGHUP). */
static void read_settings(const struct conf *c)
{
	scan_limit = (size_t)conf_num(c, "scan_size_limit");
	error_accepts = strcmp(conf_str(c, "milter_error_action"), "accept") == 0;
	greylist_delay = (long)conf_num(c, "greylist_delay");
	greylist_max_age = (long)conf_num(c, "greylist_max_age");
	history_max_age = (long)conf_num(c, "history_max_age");
	scan_local = conf_bool(c, "scan_local");
	set_hostname(c);
}

/*
 * The local networks, from c (at start and on SIGHUP): they may ask Postfix
 * (postconf), which is too slow for a message's path.
 * 0, or -1 with err and nothing changed.
 */
static int read_local(const struct conf *c, char *err, size_t errlen)
{
	struct localnets *ln = localnets_new(conf_str(c, "local_networks"), err, errlen);
	struct sbuf sb;

	if (ln == NULL)
		return -1;
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	msg_info("local networks: %s; local mail is %s", sbuf_cstr(&sb),
		 conf_bool(c, "scan_local") ? "scanned, never greylisted" : "not scanned");
	sbuf_free(&sb);
	pthread_mutex_lock(&conf_mu);
	if (local_nets) {
		/* A thread may still be matching against it: kept until exit. */
		nets_retired =
		    xrealloc(nets_retired, (size_t)(nets_nretired + 1) * sizeof(*nets_retired));
		nets_retired[nets_nretired++] = local_nets;
	}
	local_nets = ln;
	pthread_mutex_unlock(&conf_mu);
	return 0;
}

/* SIGHUP: new settings for the next message; a scan under way finishes with the old. */
static void reload(const struct daemon_opts *o)
{
	struct conf *old = (struct conf *)conf_now(NULL);
	struct conf *c = daemon_reload(PROGNAME, o, old);

	if (c == NULL)
		return;
	{
		char err[512];

		if (read_local(c, err, sizeof(err)) < 0)
			msg_error("%s; keeping the local networks in use", err);
	}
	read_settings(c);
	pthread_mutex_lock(&conf_mu);
	if (dns_conf_changed(c, old))
		dns_generation++;
	cf_retired = xrealloc(cf_retired, (size_t)(cf_nretired + 1) * sizeof(*cf_retired));
	cf_retired[cf_nretired++] = old;
	cf = c;
	pthread_mutex_unlock(&conf_mu);
	msg_info("reloaded %s", o->conf_path);
}

/*
 * Signals. libmilter's own signal thread stops the milter on SIGHUP as on
 * SIGTERM, and it waits for them with sigwait(), competing with any thread
 * of ours that does the same. The kernel gives a process-directed signal
 * to the main thread whenever that thread does not block it, so the main
 * thread keeps these signals unblocked (with handlers that only write to a
 * pipe), runs libmilter in another thread, and is the one that reloads or
 * stops it (smfi_stop).
 */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void *milter_thread(void *arg)
{
	int *rc = arg;
	unsigned char done = 0;

	*rc = smfi_main();
	(void)!write(sig_pipe[1], &done, 1);	/* 0: libmilter has stopped */
	return NULL;
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/*
 * smfi_stop() cannot stop libmilter at once: its listener waits for a
 * connection in poll() for up to 5 seconds (MI_CHK_TIME) while holding the
 * lock smfi_stop() needs, and looks at the stop flag only between waits.
 * So the stop runs in a thread of its own, and the main thread knocks on
 * the listening socket (listen_poke) until libmilter has noticed: each
 * knock is a connection that ends its wait, and it hangs up at once.
 */
static void *stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

static struct listen_addr *serve_la;	/* what to knock on */
static int serve_fd = -1;		/* inet: libmilter's listening socket */

#define STOP_POKE_MS 50		/* between knocks */
#define STOP_POKE_MAX 200	/* then libmilter's own 5 s wait ends it anyway */

/* Run libmilter until a stop signal; reload on SIGHUP. smfi_main()'s result. */
static int serve(const struct daemon_opts *o)
{
	struct sigaction sa;
	sigset_t set;
	pthread_t tid, stopper;
	unsigned char c;
	int rc = MI_FAILURE, stopping = 0, pokes = 0;

	if (pipe2(sig_pipe, O_CLOEXEC) < 0)
		msg_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* libmilter's threads start with these blocked (they inherit the mask). */
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&tid, NULL, milter_thread, &rc) != 0)
		msg_fatal("cannot start the milter thread");
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		struct pollfd pfd = {sig_pipe[0], POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, stopping ? STOP_POKE_MS : -1) == 0) {
			if (pokes++ < STOP_POKE_MAX)
				listen_poke(serve_la, serve_fd);
			continue;
		}
		n = read(sig_pipe[0], &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || c == 0)
			break;
		if (c == SIGHUP && !stopping) {
			reload(o);
		} else if (c != SIGHUP && !stopping) {
			msg_info("signal %d received, stopping", (int)c);
			stopping = 1;
			stop_signals(&set);
			pthread_sigmask(SIG_BLOCK, &set, NULL);
			if (pthread_create(&stopper, NULL, stop_thread, NULL) != 0)
				msg_fatal("cannot start the stop thread");
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
			listen_poke(serve_la, serve_fd);
		}
	}
	pthread_join(tid, NULL);
	if (stopping)
		pthread_join(stopper, NULL);
	/* From here a second SIGTERM may end the process the default way. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	return rc;
}

/*
 * libmilter writes a reply in several small writes (each added header,
 * then the verdict). With Nagle's algorithm on, the second waits for the
 * ACK of the first, which Postfix delays up to 40 ms because it is itself
 * waiting for the verdict: two such stalls made a message take 90 ms.
 * libmilter has no option for it and does not hand out its listening
 * socket, so find that socket among ours (listening, on our port) and set
 * TCP_NODELAY there: accepted connections inherit it.
 */
static int listener_nodelay(const struct listen_addr *la)
{
	if (la->is_unix)
		return -1;
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), ol = sizeof(int);
		int listening = 0, on = 1, port;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0 || !listening ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
			continue;
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else
			continue;
		if (port != la->port)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
			msg_warn("cannot set TCP_NODELAY on the milter socket: %s", strerror(errno));
		return fd;
	}
	msg_warn("milter socket not found: replies may wait for Nagle's algorithm");
	return -1;
}

/*
 * libmilter binds a unix socket itself, and removes whatever socket is at
 * its path when it stops, even one another daemon has bound since. So it
 * gets the temporary name, and we publish the socket at the real path
 * (listen_unix_publish) and remove it at exit only if it is still ours:
 * libmilter then finds nothing to remove.
 */
static void milter_conn(struct listen_addr *la, char *conn, size_t len)
{
	char tmp[sizeof(la->path) + LISTEN_UNIX_TMP_EXTRA], err[1024];

	if (!la->is_unix) {
		listen_milter_conn(la, conn, len);
		return;
	}
	if (listen_unix_check(la, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	listen_unix_tmp(la, tmp, sizeof(tmp));
	snprintf(conn, len, "unix:%s", tmp);
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct listen_addr la;
	struct privs pv;
	struct pidfile *pf = NULL;
	char err[1024], conn[300], where[300];
	sqlite3 *db;
	int rc, left;

	daemon_getopt(argc, argv, &o, usage);
	cf = daemon_setup(PROGNAME, &o);
	if (privs_init(cf, &pv, err, sizeof(err)) < 0 ||
	    daemon_state_dir(cf, err, sizeof(err)) < 0 ||
	    privs_own_state(cf, &pv, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (listen_parse(conf_str(cf, "milter_listen"), &la, err, sizeof(err)) < 0)
		msg_fatal("milter_listen: %s", err);
	listen_format(&la, where, sizeof(where));
	read_settings(cf);
	if (read_local(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);

	if (smfi_register(filter) == MI_FAILURE)
		msg_fatal("smfi_register failed (libmilter too old?)");
	milter_conn(&la, conn, sizeof(conn));
	if (smfi_setconn(conn) == MI_FAILURE)
		msg_fatal("milter_listen: libmilter cannot use %s", where);
	smfi_settimeout((int)conf_num(cf, "milter_timeout"));
	/* Bind now, as root and before detaching, so "address in use" reaches the admin. */
	if (smfi_opensocket(1) == MI_FAILURE) {
		int fd;

		/* libmilter says only "failed": find out why for the log line. */
		if ((fd = listen_open(&la, 1, err, sizeof(err))) >= 0) {
			close(fd);
			listen_unix_remove(&la);
			snprintf(err, sizeof(err), "cannot listen on %s", where);
		}
		msg_fatal("%s", err);
	}
	if (la.is_unix && listen_unix_publish(&la, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	serve_la = &la;
	serve_fd = listener_nodelay(&la);
	if (*conf_str(cf, "milter_pid_file") &&
	    (pf = pidfile_open(conf_str(cf, "milter_pid_file"), err, sizeof(err))) == NULL) {
		listen_unix_remove(&la);
		msg_fatal("milter_pid_file: %s", err);
	}
	if ((la.is_unix && privs_socket(&pv, la.path, err, sizeof(err)) < 0) ||
	    privs_drop(&pv, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	/* As run_as: a new database's files then belong to it. */
	db = db_open(conf_str(cf, "database_path"), (int)conf_num(cf, "db_busy_timeout") * 1000,
		     err, sizeof(err));
	if (db == NULL)
		msg_fatal("%s", err);
	db_close(db);
	/* The resolvers are made per worker, at the first message: check now. */
	if (dns_check_conf(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (daemon_detach(&o, pf) < 0)
		msg_fatal("cannot detach: %s", strerror(errno));
	{
		sigset_t set;

		/* Threads started before libmilter's must not take the signals either. */
		stop_signals(&set);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	if (hist_start(err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	msg_info("ready: listening on %s, database %s, version %s", where,
		 conf_str(cf, "database_path"), PACKAGE_VERSION);
	bayes_cache = bayes_cache_new();
	rc = serve(&o);
	listen_unix_remove(&la);
	if ((left = flight_drain()) > 0)
		msg_warn("stopping with %d message%s still being scanned after %d s: Postfix"
			 " applies milter_default_action to %s",
			 left, left == 1 ? "" : "s", STOP_DRAIN_SECONDS, left == 1 ? "it" : "them");
	pidfile_remove(pf);
	hist_finish();
	msg_info("stopped");
	pool_free();
	bayes_cache_free(bayes_cache);
	if (rules_cur && --rules_cur->refs == 0) {
		scan_rules_free(rules_cur->r);
		free(rules_cur);
	}
	for (int i = 0; i < cf_nretired; i++)
		conf_free(cf_retired[i]);
	for (int i = 0; i < nets_nretired; i++)
		localnets_free(nets_retired[i]);
	free(nets_retired);
	localnets_free(local_nets);
	free(cf_retired);
	conf_free(cf);
	free(o.overrides);
	return rc == MI_SUCCESS ? 0 : 1;
}
