/*
 * dns - c-ares driven by an evloop, with a TTL cache; see dns.h.
 *
 * The cache is a chained hash table bounded to cache_size entries; when
 * full, the oldest inserted entry goes (a FIFO ring of entries), which is
 * close enough to LRU for DNSBL answers that all expire within the hour.
 */
#include "config.h"

#include <ares.h>
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/conf.h"
#include "dns/dns.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"

#define DNS_NAME_MAX 256

struct cache_entry {
	char name[DNS_NAME_MAX];
	time_t expires;
	struct dns_result res;
	struct cache_entry *next;	/* hash chain */
	int slot;			/* index in the FIFO ring */
};

struct fdwatch {
	int fd;
	struct evhandle *h;
	struct fdwatch *next;
};

struct dns {
	struct evloop *ev;
	ares_channel ch;
	struct dns_params p;
	struct fdwatch *fds;
	int pending;
	struct cache_entry **buckets;
	size_t nbuckets;
	struct cache_entry **ring;	/* FIFO of entries, for eviction */
	int ring_head, count;
	struct qcache_entry **qbuckets; /* dns_query()'s cache, the same shape */
	struct qcache_entry **qring;
	int qring_head, qcount;
};

struct qcache_entry;
static void qcache_free(struct dns *d);

struct query {
	struct dns *d;
	dns_cb *cb;
	void *arg;
	char name[DNS_NAME_MAX];
};

void dns_params_from_conf(const struct conf *cf, struct dns_params *p)
{
	p->servers = conf_str(cf, "dns_servers");
	p->timeout_ms = (int)conf_num(cf, "dns_timeout") * 1000;
	p->tries = (int)conf_num(cf, "dns_retries") + 1;
	p->cache_size = (int)conf_num(cf, "dns_cache_size");
	p->max_ttl = (int)conf_num(cf, "dns_cache_max_ttl");
	p->negative_ttl = (int)conf_num(cf, "dns_negative_ttl");
}

int dns_conf_changed(const struct conf *a, const struct conf *b)
{
	static const char *const names[] = {"dns_servers",	"dns_timeout",
					    "dns_retries",	"dns_cache_size",
					    "dns_cache_max_ttl", "dns_negative_ttl"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (conf_changed(a, b, names[i]))
			return 1;
	return 0;
}

const char *dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NOTFOUND:
		return "not found";
	case DNS_TIMEOUT:
		return "timeout";
	default:
		return "failure";
	}
}

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct cache_entry **bucket(struct dns *d, const char *name)
{
	return &d->buckets[hash64_lower(name, strlen(name)) & (d->nbuckets - 1)];
}

static struct cache_entry *cache_find(struct dns *d, const char *name)
{
	for (struct cache_entry *e = *bucket(d, name); e; e = e->next)
		if (strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void cache_unlink(struct dns *d, struct cache_entry *victim)
{
	for (struct cache_entry **pp = bucket(d, victim->name); *pp; pp = &(*pp)->next)
		if (*pp == victim) {
			*pp = victim->next;
			return;
		}
}

static void cache_put(struct dns *d, const char *name, const struct dns_result *r, int ttl)
{
	struct cache_entry *e = cache_find(d, name);

	if (d->p.cache_size <= 0 || ttl <= 0)
		return;
	if (e == NULL) {
		/* Full: the oldest entry makes room. */
		if (d->count == d->p.cache_size) {
			e = d->ring[d->ring_head];
			cache_unlink(d, e);
		} else {
			e = xmalloc(sizeof(*e));
			d->count++;
		}
		e->slot = d->ring_head;
		d->ring[d->ring_head] = e;
		d->ring_head = (d->ring_head + 1) % d->p.cache_size;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->next = *bucket(d, name);
		*bucket(d, name) = e;
	}
	e->res = *r;
	e->res.cached = 1;
	e->expires = now() + ttl;
}

/* c-ares tells which sockets to watch for what. */
static void on_fd(int fd, unsigned events, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->ch, (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
			(events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct fdwatch **pp, *w;
	unsigned ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	for (pp = &d->fds; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	w = *pp;
	if (ev == 0) {
		if (w) {
			evloop_del(d->ev, w->h);
			*pp = w->next;
			free(w);
		}
		return;
	}
	if (w) {
		evloop_mod(d->ev, w->h, ev);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->h = evloop_add(d->ev, fd, ev, on_fd, d);
	if (w->h == NULL) {
		msg_warn("dns: cannot watch socket %d", fd);
		free(w);
		return;
	}
	w->next = d->fds;
	d->fds = w;
}

/* Before each wait: run c-ares' timers; sleep no longer than its next one. */
static int dns_tick(void *arg)
{
	struct dns *d = arg;
	struct timeval tv, *tvp;

	if (d->pending == 0)
		return -1;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	if (d->pending == 0)
		return -1;
	tvp = ares_timeout(d->ch, NULL, &tv);
	if (tvp == NULL)
		return -1;
	return (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
}

int dns_answer_parse(int status, const unsigned char *abuf, int alen, int max_ttl,
		     struct dns_result *r)
{
	struct ares_addrttl ttls[DNS_MAX_ADDRS];
	int n = DNS_MAX_ADDRS, ttl = max_ttl;

	memset(r, 0, sizeof(*r));
	if (status == ARES_SUCCESS &&
	    ares_parse_a_reply(abuf, alen, NULL, ttls, &n) == ARES_SUCCESS && n > 0) {
		r->status = DNS_OK;
		r->naddr = n;
		for (int i = 0; i < n; i++) {
			r->addr[i] = ttls[i].ipaddr;
			if (ttls[i].ttl < ttl)
				ttl = ttls[i].ttl;
		}
		return ttl;
	}
	if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA)
		r->status = DNS_NOTFOUND;
	else if (status == ARES_ETIMEOUT)
		r->status = DNS_TIMEOUT;
	else
		r->status = DNS_FAIL;
	return -1;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct dns *d = q->d;
	struct dns_result r;
	int ttl = dns_answer_parse(status, abuf, alen, d->p.max_ttl, &r);

	d->pending--;
	if (r.status == DNS_OK)
		cache_put(d, q->name, &r, ttl);
	else if (r.status == DNS_NOTFOUND)
		cache_put(d, q->name, &r, d->p.negative_ttl);
	q->cb(q->arg, q->name, &r);
	free(q);
}

void dns_lookup(struct dns *d, const char *name, dns_cb *cb, void *arg)
{
	struct cache_entry *e = cache_find(d, name);
	struct query *q;

	if (e && e->expires > now()) {
		cb(arg, name, &e->res);
		return;
	}
	if (strlen(name) >= DNS_NAME_MAX) {
		struct dns_result r = {.status = DNS_FAIL};

		cb(arg, name, &r);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->name, sizeof(q->name), "%s", name);
	d->pending++;
	ares_query(d->ch, name, 1 /* C_IN */, 1 /* T_A */, on_answer, q);
}

void dns_txt_parse(int status, const unsigned char *abuf, int alen, char *out, size_t outlen)
{
	struct ares_txt_ext *txt = NULL;
	size_t o = 0;

	out[0] = '\0';
	if (outlen == 0 || status != ARES_SUCCESS ||
	    ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
		return;
	/* The first record's strings (a string is at most 255 bytes); out bounds the copy. */
	for (struct ares_txt_ext *t = txt; t && (t == txt || !t->record_start); t = t->next)
		for (size_t i = 0; i < t->length && o + 1 < outlen; i++) {
			unsigned char c = t->txt[i];

			/* It lands in an SMTP reply and a policy reply line. */
			out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (out[0] == ' ') {
		size_t lead = strspn(out, " ");

		memmove(out, out + lead, o - lead + 1);
	}
	ares_free_data(txt);
}

struct txt_query {
	struct dns *d;
	dns_txt_cb *cb;
	void *arg;
};

static void on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct txt_query *q = arg;
	char text[DNS_TXT_MAX + 1];

	q->d->pending--;
	dns_txt_parse(status, abuf, alen, text, sizeof(text));
	q->cb(q->arg, text);
	free(q);
}

void dns_lookup_txt(struct dns *d, const char *name, dns_txt_cb *cb, void *arg)
{
	struct txt_query *q;

	if (strlen(name) >= DNS_NAME_MAX) {
		cb(arg, "");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	d->pending++;
	ares_query(d->ch, name, 1 /* C_IN */, 16 /* T_TXT */, on_txt, q);
}

struct raw_query {
	struct dns *d;
	dns_raw_cb *cb;
	void *arg;
};

static void on_raw(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct raw_query *q = arg;

	q->d->pending--;
	q->cb(q->arg, status, status == ARES_SUCCESS ? abuf : NULL, status == ARES_SUCCESS ? alen : 0);
	free(q);
}

void dns_query_raw(struct dns *d, const char *name, int type, dns_raw_cb *cb, void *arg)
{
	struct raw_query *q;

	if (strlen(name) >= DNS_NAME_MAX) {
		cb(arg, ARES_EBADNAME, NULL, 0);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	d->pending++;
	ares_query(d->ch, name, 1 /* C_IN */, type, on_raw, q);
}

int dns_pending(const struct dns *d)
{
	return d->pending;
}

struct dns *dns_new(struct evloop *ev, const struct dns_params *p, char *err, size_t errlen)
{
	struct ares_options opt;
	struct dns *d;
	int rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->ev = ev;
	d->p = *p;
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = sock_state;
	opt.sock_state_cb_data = d;
	opt.timeout = p->timeout_ms;
	opt.tries = p->tries;
	/* No search domains, no /etc/hosts: block-list names are absolute. */
	opt.flags = ARES_FLAG_NOSEARCH;
	opt.lookups = (char *)"b";
	rc = ares_init_options(&d->ch, &opt,
			       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				       ARES_OPT_FLAGS | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(d);
		return NULL;
	}
	if (p->servers && *p->servers &&
	    (rc = ares_set_servers_ports_csv(d->ch, p->servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns_servers = %s: %s", p->servers, ares_strerror(rc));
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	d->nbuckets = 64;
	while ((int)d->nbuckets < p->cache_size * 2 && d->nbuckets < (1u << 24))
		d->nbuckets <<= 1;
	d->buckets = xcalloc(d->nbuckets, sizeof(*d->buckets));
	d->ring = xcalloc(p->cache_size > 0 ? (size_t)p->cache_size : 1, sizeof(*d->ring));
	d->qbuckets = xcalloc(d->nbuckets, sizeof(*d->qbuckets));
	d->qring = xcalloc(p->cache_size > 0 ? (size_t)p->cache_size : 1, sizeof(*d->qring));
	if (evloop_tick(ev, dns_tick, d) < 0) {
		snprintf(err, errlen, "dns: no room for another event-loop tick");
		dns_free(d);
		return NULL;
	}
	return d;
}

int dns_check_conf(const struct conf *cf, char *err, size_t errlen)
{
	struct dns_params p;
	struct evloop *ev;
	struct dns *d;

	if ((ev = evloop_new()) == NULL) {
		snprintf(err, errlen, "cannot set up an event loop: %s", strerror(errno));
		return -1;
	}
	dns_params_from_conf(cf, &p);
	d = dns_new(ev, &p, err, errlen);
	dns_free(d);
	evloop_free(ev);
	return d ? 0 : -1;
}

void dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	ares_destroy(d->ch);	/* runs the callbacks of queries in flight */
	evloop_untick(d->ev, dns_tick, d);
	while (d->fds) {
		struct fdwatch *w = d->fds;

		d->fds = w->next;
		evloop_del(d->ev, w->h);
		free(w);
	}
	for (int i = 0; i < d->count; i++)
		free(d->ring[i]);
	free(d->ring);
	free(d->buckets);
	qcache_free(d);
	free(d);
	ares_library_cleanup();
}

/*
 * Generic queries (dns_query): records of one type, parsed here from the
 * packet so that every record's TTL is seen and the rcode tells NXDOMAIN
 * from NODATA (c-ares' own parsers give neither for MX, PTR and TXT).
 */

struct qcache_entry {
	char name[DNS_NAME_MAX];
	int type;
	time_t expires;
	struct dns_answer *a;
	struct qcache_entry *next;
};

struct dns_query_ctx {
	struct dns *d;
	dns_query_cb *cb;
	void *arg;
	int type;
	char name[DNS_NAME_MAX];
};

const char *dns_qstatus_str(enum dns_qstatus s)
{
	switch (s) {
	case DNS_Q_OK:
		return "ok";
	case DNS_Q_NODATA:
		return "no data";
	case DNS_Q_NXDOMAIN:
		return "nxdomain";
	case DNS_Q_TIMEOUT:
		return "timeout";
	default:
		return "failure";
	}
}

static struct qcache_entry **qbucket(struct dns *d, const char *name, int type)
{
	return &d->qbuckets[(hash64_lower(name, strlen(name)) + (uint64_t)type) & (d->nbuckets - 1)];
}

static struct qcache_entry *qcache_find(struct dns *d, const char *name, int type)
{
	for (struct qcache_entry *e = *qbucket(d, name, type); e; e = e->next)
		if (e->type == type && strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

static struct dns_answer *answer_dup(const struct dns_answer *a)
{
	struct dns_answer *c = xmalloc(sizeof(*c) + a->buflen);

	memcpy(c, a, sizeof(*c) + a->buflen);
	for (int i = 0; i < c->nrr; i++)
		if (a->rr[i].str)
			c->rr[i].str = c->buf + (a->rr[i].str - a->buf);
	return c;
}

static void qcache_put(struct dns *d, const char *name, int type, const struct dns_answer *a,
		       int ttl)
{
	struct qcache_entry *e = qcache_find(d, name, type);

	if (d->p.cache_size <= 0 || ttl <= 0)
		return;
	if (e == NULL) {
		if (d->qcount == d->p.cache_size) {
			struct qcache_entry **pp;

			e = d->qring[d->qring_head];
			for (pp = qbucket(d, e->name, e->type); *pp && *pp != e; pp = &(*pp)->next)
				;
			if (*pp)
				*pp = e->next;
			free(e->a);
		} else {
			e = xcalloc(1, sizeof(*e));
			d->qcount++;
		}
		d->qring[d->qring_head] = e;
		d->qring_head = (d->qring_head + 1) % d->p.cache_size;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->type = type;
		e->next = *qbucket(d, name, type);
		*qbucket(d, name, type) = e;
	} else {
		free(e->a);
	}
	e->a = answer_dup(a);
	e->a->cached = 1;
	e->expires = now() + ttl;
}

static void qcache_free(struct dns *d)
{
	for (int i = 0; i < d->qcount; i++) {
		free(d->qring[i]->a);
		free(d->qring[i]);
	}
	free(d->qring);
	free(d->qbuckets);
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Skip a (possibly compressed) name at p; the offset after it, or -1. */
static int skip_name(const unsigned char *abuf, int alen, int off)
{
	for (int labels = 0; off < alen && labels < 128; labels++) {
		unsigned c = abuf[off];

		if (c == 0)
			return off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 2 <= alen ? off + 2 : -1;
		if (c & 0xc0)
			return -1;
		off += 1 + (int)c;
	}
	return -1;
}

/* Append len bytes to the answer's string buffer (room is reserved by the caller). */
static const char *buf_add(struct dns_answer *a, size_t room, const void *p, size_t len)
{
	char *s;

	if (a->buflen + len + 1 > room)
		return NULL;
	s = a->buf + a->buflen;
	memcpy(s, p, len);
	s[len] = '\0';
	a->buflen += len + 1;
	return s;
}

/* One record's data into rr; 0, or -1 if it is malformed. */
static int parse_rdata(struct dns_answer *a, size_t room, const unsigned char *abuf, int alen,
		       int off, unsigned rdlen, struct dns_rr *rr)
{
	const unsigned char *rd = abuf + off;
	char *name = NULL;
	long enclen;

	switch (a->type) {
	case DNS_T_A:
		if (rdlen != 4)
			return -1;
		memcpy(&rr->u.a, rd, 4);
		return 0;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return -1;
		memcpy(&rr->u.aaaa, rd, 16);
		return 0;
	case DNS_T_MX:
		if (rdlen < 3)
			return -1;
		rr->u.pref = (int)get16(rd);
		rd += 2;
		/* fall through */
	case DNS_T_PTR:
		if (ares_expand_name(rd, abuf, alen, &name, &enclen) != ARES_SUCCESS)
			return -1;
		rr->len = strnlen(name, DNS_NAME_MAX);
		rr->str = buf_add(a, room, name, rr->len);
		ares_free_string(name);
		return rr->str ? 0 : -1;
	case DNS_T_TXT: {
		char txt[DNS_RR_TXT_MAX];
		size_t n = 0;

		/* character-strings, joined (RFC 7208 3.3) */
		for (unsigned i = 0; i < rdlen;) {
			unsigned l = rd[i++];

			if (i + l > rdlen)
				return -1;
			for (unsigned j = 0; j < l; j++) {
				if (n == sizeof(txt)) {
					rr->truncated = 1;
					break;
				}
				txt[n++] = (char)rd[i + j];
			}
			i += l;
		}
		rr->len = n;
		rr->str = buf_add(a, room, txt, n);
		return rr->str ? 0 : -1;
	}
	}
	return -1;
}

struct dns_answer *dns_answer_parse_rr(int status, const unsigned char *abuf, int alen, int type,
				       int max_ttl)
{
	/* Room for DNS_RR_MAX of the largest records of any type. */
	size_t room = type == DNS_T_TXT ? DNS_RR_MAX * (DNS_RR_TXT_MAX + 1)
					: DNS_RR_MAX * (DNS_NAME_MAX + 1);
	struct dns_answer *a = xcalloc(1, sizeof(*a) + room), *c;
	int off, qd, an, rcode;

	a->type = type;
	a->ttl = max_ttl;
	if (status == ARES_ETIMEOUT) {
		a->status = DNS_Q_TIMEOUT;
		goto out;
	}
	a->status = DNS_Q_FAIL;
	if (abuf == NULL || alen < 12)
		goto out;
	rcode = abuf[3] & 0x0f;
	qd = (int)get16(abuf + 4);
	an = (int)get16(abuf + 6);
	if (rcode == 3) {
		a->status = DNS_Q_NXDOMAIN;
		goto out;
	}
	if (rcode != 0)
		goto out;
	off = 12;
	for (int i = 0; i < qd && off >= 0; i++)
		if ((off = skip_name(abuf, alen, off)) >= 0)
			off = off + 4 <= alen ? off + 4 : -1;
	/* an is at most 65535, each record at least 11 bytes: bounded by alen too. */
	for (int i = 0; i < an && off >= 0; i++) {
		unsigned rtype, rdlen;
		long ttl;

		if ((off = skip_name(abuf, alen, off)) < 0 || off + 10 > alen)
			goto out;
		rtype = get16(abuf + off);
		ttl = (long)((unsigned long)get16(abuf + off + 4) << 16 | get16(abuf + off + 6));
		rdlen = get16(abuf + off + 8);
		off += 10;
		if (off + (int)rdlen > alen)
			goto out;
		if ((int)rtype == type && get16(abuf + off - 8) == 1 /* IN */) {
			a->nrr_all++;
			if (a->nrr < DNS_RR_MAX) {
				if (parse_rdata(a, room, abuf, alen, off, rdlen, &a->rr[a->nrr]) < 0)
					goto out;
				if (ttl >= 0 && ttl < a->ttl)
					a->ttl = (int)ttl;
				a->nrr++;
			}
		}
		off += (int)rdlen;
	}
	if (off < 0)
		goto out;
	a->status = a->nrr > 0 ? DNS_Q_OK : DNS_Q_NODATA;
out:
	if (a->status != DNS_Q_OK) {
		a->nrr = a->nrr_all = 0;
		a->buflen = 0;
	}
	c = answer_dup(a);
	free(a);
	return c;
}

static void on_query(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query_ctx *q = arg;
	struct dns *d = q->d;
	struct dns_answer *a;

	(void)timeouts;
	d->pending--;
	/*
	 * c-ares reports NXDOMAIN, NODATA and SERVFAIL as statuses but still
	 * hands over the packet; the packet is what is read, the status only
	 * when there is none (timeout, cancelled, unreachable).
	 */
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ESERVFAIL ||
	    status == ARES_EREFUSED)
		a = dns_answer_parse_rr(abuf && alen >= 12 ? ARES_SUCCESS : status, abuf, alen,
					q->type, d->p.max_ttl);
	else
		a = dns_answer_parse_rr(status, status == ARES_SUCCESS ? abuf : NULL, alen, q->type,
					d->p.max_ttl);
	if (status == ARES_ENOTFOUND && a->status == DNS_Q_FAIL && (abuf == NULL || alen < 12))
		a->status = DNS_Q_NXDOMAIN;
	if (status == ARES_ENODATA && a->status == DNS_Q_FAIL && (abuf == NULL || alen < 12))
		a->status = DNS_Q_NODATA;
	if (a->status == DNS_Q_OK)
		qcache_put(d, q->name, q->type, a, a->ttl);
	else if (a->status == DNS_Q_NODATA || a->status == DNS_Q_NXDOMAIN)
		qcache_put(d, q->name, q->type, a, d->p.negative_ttl);
	q->cb(q->arg, q->name, q->type, a);
	free(a);
	free(q);
}

void dns_query(struct dns *d, const char *name, int type, dns_query_cb *cb, void *arg)
{
	struct qcache_entry *e;
	struct dns_query_ctx *q;
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		struct dns_answer a = {.status = DNS_Q_FAIL, .type = type};

		cb(arg, name, type, &a);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	memcpy(q->name, name, len);
	q->name[len] = '\0';
	if ((e = qcache_find(d, q->name, type)) != NULL && e->expires > now()) {
		cb(arg, name, type, e->a);
		free(q);
		return;
	}
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	d->pending++;
	ares_query(d->ch, q->name, 1 /* C_IN */, type, on_query, q);
}
