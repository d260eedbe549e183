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
};

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
	free(d);
	ares_library_cleanup();
}
