/*
 * dns - asynchronous A lookups with c-ares inside an evloop, with a
 * bounded cache of answers (positive and negative) kept for their TTL.
 *
 * Never a blocking resolver call: c-ares' sockets are watched by the
 * evloop (socket-state callback) and its timers run from an evloop tick.
 * A records are what DNS block lists answer with; their TXT record (the
 * reason for a listing, RFC 5782 section 2.1) is asked for only to explain
 * a rejection, and is not cached.
 */
#ifndef MOAT_DNS_H
#define MOAT_DNS_H

#include <netinet/in.h>
#include <stddef.h>

#include "core/evloop.h"

enum dns_status {
	DNS_OK,		/* addresses in the result */
	DNS_NOTFOUND,	/* NXDOMAIN or no A record: "not listed" */
	DNS_TIMEOUT,	/* no answer within timeout x tries */
	DNS_FAIL,	/* SERVFAIL, REFUSED, unreachable server, bad name */
};

#define DNS_MAX_ADDRS 8

struct dns_result {
	enum dns_status status;
	int naddr;
	struct in_addr addr[DNS_MAX_ADDRS];
	int cached;		/* answered from the cache */
};

struct dns_params {
	const char *servers;	/* "127.0.0.1:53, [::1]:53"; empty = /etc/resolv.conf */
	int timeout_ms;		/* per try */
	int tries;
	int cache_size;		/* most names cached */
	int max_ttl;		/* cap on positive TTLs, seconds */
	int negative_ttl;	/* how long "not found" is cached, seconds */
};

struct dns;
struct conf;

/* Parameters from moat.conf (dns_servers, dns_timeout, dns_retries, dns_cache_*). */
void dns_params_from_conf(const struct conf *cf, struct dns_params *p);
/* Whether a and b differ in a setting dns_params_from_conf() reads (a new resolver is due). */
int dns_conf_changed(const struct conf *a, const struct conf *b);
/*
 * Whether the settings make a resolver (dns_servers parses): a daemon asks
 * before it detaches, so the mistake is a line on the admin's stderr.
 * 0, or -1 with err.
 */
int dns_check_conf(const struct conf *cf, char *err, size_t errlen);

/* Called once per lookup, possibly before dns_lookup() returns (cache hit). */
typedef void dns_cb(void *arg, const char *name, const struct dns_result *res);

/* Resolver on ev; NULL with err. */
struct dns *dns_new(struct evloop *ev, const struct dns_params *p, char *err, size_t errlen);
/* Cancel outstanding lookups (their callbacks run with DNS_FAIL) and free. */
void dns_free(struct dns *d);
/* Look up the A records of name (absolute, no trailing dot needed). */
void dns_lookup(struct dns *d, const char *name, dns_cb *cb, void *arg);
/* Longest TXT text handed on: it goes into an SMTP reply (RFC 5321: 512-byte lines). */
#define DNS_TXT_MAX 160
/* Called once per TXT lookup with the text ("" if none or on failure), maybe before return. */
typedef void dns_txt_cb(void *arg, const char *text);
/* Look up the first TXT record of name, for dns_txt_cb. */
void dns_lookup_txt(struct dns *d, const char *name, dns_txt_cb *cb, void *arg);
/*
 * The first TXT record of an answer packet, its strings joined, into out:
 * at most outlen - 1 bytes, every byte outside printable ASCII (controls,
 * CR, LF, 8-bit) a '?', blanks at the ends trimmed. "" if there is none.
 */
void dns_txt_parse(int status, const unsigned char *abuf, int alen, char *out, size_t outlen);
/* Lookups in flight. */
int dns_pending(const struct dns *d);
/*
 * What an answer packet (c-ares status and raw reply) says: r filled; returns the TTL to
 * cache a DNS_OK answer for (the smallest of its records', at most max_ttl), else -1.
 * Split out of the answer callback so the fuzzer feeds it packets.
 */
int dns_answer_parse(int status, const unsigned char *abuf, int alen, int max_ttl,
		     struct dns_result *r);

/* Human-readable status. */
const char *dns_status_str(enum dns_status s);

#endif
