/*
 * dnsbl - DNS block and allow lists (RFC 5782), shared by both daemons.
 *
 * Zones, the return codes each one answers, the symbol of each code and
 * which checks use a zone all come from SQLite (sql/003-dnsbl.sql). A job
 * collects the targets of one request or message (IPs and domains, each
 * tagged with the check it stands for), queries every enabled zone for
 * each in parallel through dns.c, and reports symbol hits when the last
 * answer is in. A code a zone does not list, an answer outside
 * 127.0.0.0/8, and the 127.255.255.x error codes (Spamhaus: typing
 * error, public resolver, over limit) are never a listing: they are
 * remembered as problems for the log and moatctl doctor.
 *
 * Zones that need an Abusix Mail Intelligence key are queried only when
 * one is configured, with the key as the leftmost label of the zone.
 */
#ifndef MOAT_DNSBL_H
#define MOAT_DNSBL_H

#include <netinet/in.h>
#include <sqlite3.h>
#include <stddef.h>

#include "core/cidr.h"
#include "dns/dns.h"

/* What a target stands for; zones list the checks they serve. */
enum dnsbl_check {
	DNSBL_CLIENT = 1,	/* connecting client's IP */
	DNSBL_HELO = 2,		/* HELO/EHLO name */
	DNSBL_SENDER = 4,	/* envelope sender's domain */
	DNSBL_CLIENT_NAME = 8,	/* client's verified hostname */
	DNSBL_RECEIVED = 16,	/* IPs of Received headers */
	DNSBL_URL = 32,		/* hosts and IPs found in the body */
};

/* Outcome of one answer against its zone. */
enum dnsbl_code_result {
	DNSBL_LISTED,		/* a code of the zone: counts */
	DNSBL_ERROR_CODE,	/* the list's own error signal (127.255.255.x, ...) */
	DNSBL_UNKNOWN_CODE,	/* not a code the zone documents */
};

#define DNSBL_HIT_OPTS 16	/* options kept per hit */

struct dnsbl_hit {
	char symbol[64];
	double weight;
	char zone[160];		/* without any key */
	char opts[DNSBL_HIT_OPTS][272];	/* "target:check" for each target that hit */
	int nopts;
	char qname[256];	/* the name that was listed (first target), for its TXT record */
};

struct dnsbl;
struct dnsbl_zone;
struct dnsbl_job;

/* Zones from the database; abusix_key may be empty. NULL with err. */
struct dnsbl *dnsbl_new(sqlite3 *db, const char *abusix_key, char *err, size_t errlen);
/* Re-read zones, codes and weights (after the database changed); 0 or -1. */
int dnsbl_reload(struct dnsbl *bl, sqlite3 *db, char *err, size_t errlen);
/* Free (NULL is fine); no job may be running. */
void dnsbl_free(struct dnsbl *bl);
/* Zones in use now (enabled, and with a key where one is needed). */
int dnsbl_zone_count(const struct dnsbl *bl);

/* Query name for an IP: reversed octets / nibbles + zone. 0 or -1. */
int dnsbl_ip_qname(const struct ip_addr *ip, const char *zone, char *out, size_t outlen);
/*
 * Query name for a domain: lower case, IDN to punycode, trailing dot
 * dropped, reduced to the registrable domain when registrable is set.
 * -1 if the name is not a usable host name.
 */
int dnsbl_domain_qname(const char *domain, const char *zone, int registrable, char *out,
		       size_t outlen);
/* Classify one answer for a zone; *symbol gets the listing's symbol. */
enum dnsbl_code_result dnsbl_classify(const struct dnsbl_zone *z, struct in_addr a,
				      const char **symbol, double *weight);
/*
 * Zone i (0 <= i < dnsbl_zone_count()): returns its name (without key);
 * qzone gets the suffix to query (with the key where one is needed).
 */
const char *dnsbl_zone_info(const struct dnsbl *bl, int i, char *qzone, size_t len,
			    int *is_domain, int *needs_key);
/* 0 if code is a pattern dnsbl_codes.code can hold ("127.0.*.3", "bit:N"). */
int dnsbl_code_valid(const char *code);
/* The check (enum dnsbl_check) called name (len bytes: "client", "url", ...), or 0. */
int dnsbl_check_named(const char *name, size_t len);
/* Zone by name (for tests and doctor), or NULL. */
const struct dnsbl_zone *dnsbl_zone_find(const struct dnsbl *bl, const char *name);

/* Called when the job's last answer is in (maybe inside dnsbl_job_run()). */
typedef void dnsbl_done_fn(void *arg, struct dnsbl_job *job);

/* A new job on the resolver. */
struct dnsbl_job *dnsbl_job_new(struct dnsbl *bl, struct dns *dns, dnsbl_done_fn *done,
				void *arg);
/* Add an IP target for the zones serving check. */
void dnsbl_job_ip(struct dnsbl_job *job, const struct ip_addr *ip, enum dnsbl_check check);
/* Add a domain target for the zones serving check. */
void dnsbl_job_domain(struct dnsbl_job *job, const char *domain, enum dnsbl_check check);
/* Send every query; done runs when all are answered. */
void dnsbl_job_run(struct dnsbl_job *job);
/* The listings found, sorted by absolute weight, largest first. */
size_t dnsbl_job_hits(const struct dnsbl_job *job, const struct dnsbl_hit **hits);
/* Sum of the hits' weights. */
double dnsbl_job_score(const struct dnsbl_job *job);
/* Name of a zone that timed out or failed (without key), or NULL. */
const char *dnsbl_job_failed(const struct dnsbl_job *job, int *timed_out);
/* Free the job (after done ran). */
void dnsbl_job_free(struct dnsbl_job *job);

/* Problems (error or unknown codes) seen since the last call: write them to
 * the dnsbl_problems table and log each zone at most once per interval. */
void dnsbl_problems_flush(struct dnsbl *bl, sqlite3 *db, int interval);

#endif
