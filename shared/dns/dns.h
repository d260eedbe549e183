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
/* Called once per raw query with c-ares' status and answer packet (abuf NULL on failure). */
typedef void dns_raw_cb(void *arg, int status, const unsigned char *abuf, int alen);
/* Ask for records of type (16 = TXT) of name, uncached: the caller parses the answer. */
void dns_query_raw(struct dns *d, const char *name, int type, dns_raw_cb *cb, void *arg);
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

/*
 * Generic queries (TXT, A, AAAA, MX, PTR) for SPF and the other checks
 * that need more than block-list A records: the records of the asked type
 * parsed out of the answer, and the answer's kind told apart, since SPF's
 * void-lookup limit and its temperror depend on it (RFC 7208 4.6.4, 2.6.6).
 * Cached by TTL (negative answers for negative_ttl) in a cache of its own,
 * as large as the A cache. Bounded: at most DNS_RR_MAX records kept (nrr_all
 * counts all), names at most 255 bytes, a TXT record's strings joined up to
 * DNS_RR_TXT_MAX bytes (longer ones are cut and marked truncated).
 */
enum dns_qtype {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_qstatus {
	DNS_Q_OK,	/* NOERROR with at least one record of the type */
	DNS_Q_NODATA,	/* NOERROR, no record of the type */
	DNS_Q_NXDOMAIN, /* the name does not exist */
	DNS_Q_TIMEOUT,	/* no answer within timeout x tries */
	DNS_Q_FAIL,	/* SERVFAIL, REFUSED, malformed answer, bad name */
};

#define DNS_RR_MAX 32
#define DNS_RR_TXT_MAX 4096

struct dns_rr {
	union {
		struct in_addr a;	/* A */
		struct in6_addr aaaa;	/* AAAA */
		int pref;		/* MX preference */
	} u;
	const char *str;	/* MX/PTR target name or TXT text (NUL-terminated; TXT may hold NULs) */
	size_t len;		/* length of str */
	int truncated;		/* TXT cut at DNS_RR_TXT_MAX */
};

struct dns_answer {
	enum dns_qstatus status;
	int type;
	int nrr;		/* records in rr[] */
	int nrr_all;		/* records of the type in the answer, kept or not */
	int ttl;		/* smallest TTL of the kept records */
	int cached;		/* answered from the cache */
	struct dns_rr rr[DNS_RR_MAX];
	size_t buflen;
	char buf[];		/* the strings rr[].str point into */
};

/* Called once per query, possibly before dns_query() returns (cache hit); a is freed after. */
typedef void dns_query_cb(void *arg, const char *name, int type, const struct dns_answer *a);
/* Ask for the records of type at name (absolute; a trailing dot is ignored). */
void dns_query(struct dns *d, const char *name, int type, dns_query_cb *cb, void *arg);
/*
 * An answer packet (c-ares status and raw reply) as a dns_answer of type,
 * malloc'd (free() it), never NULL. Split out for the fuzzer.
 */
struct dns_answer *dns_answer_parse_rr(int status, const unsigned char *abuf, int alen,
				       int type, int max_ttl);
/* Human-readable query status. */
const char *dns_qstatus_str(enum dns_qstatus s);

#endif
