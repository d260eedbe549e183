/*
 * cf - what the milter's modules share: one SMTP connection's state
 * (struct cf_conn, libmilter's private data) and the running configuration,
 * which contentfilter.c owns and SIGHUP replaces. The settings read per
 * message are atomics; cf is read under conf_mu (conf_now()), and a
 * replaced one is kept until exit, so a thread that still holds it reads
 * valid (old) values.
 */
#ifndef MOAT_CF_H
#define MOAT_CF_H

#include <pthread.h>
#include <stddef.h>

#include "core/sbuf.h"

struct bayes_cache;
struct dkim_sign;
struct conf;
struct localnets;

#define MAX_RCPTS 1000
#define MAX_POLICY_HDRS 16
#define MAX_AR_OURS 16		/* incoming Authentication-Results claiming our authserv-id */

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
	int sign;		/* SIGNING_* (signing.h) of the current message */
	struct dkim_sign *dkim;	/* the message is to be signed: what signing needs of it */
	char ar_id[256];	/* our authserv-id, and whether to add Authentication-Results */
	int ar_add;
	int nar;		/* Authentication-Results headers seen, and those claiming ar_id */
	int nar_ours;
	int ar_ours[MAX_AR_OURS];
};

extern pthread_mutex_t conf_mu;
extern struct conf *cf;
extern char my_hostname[256];	/* X-Rspamd-Server, X-Greylist; under conf_mu */
extern unsigned dns_generation;	/* of the DNS settings: pooled resolvers start over */
extern _Atomic size_t scan_limit;
extern _Atomic int error_accepts;
extern _Atomic long greylist_delay;
extern _Atomic long greylist_max_age;
extern _Atomic long history_max_age;
extern _Atomic long history_tokens_max_age; /* 0: no tokens kept */
extern _Atomic int scan_local;
extern struct localnets *local_nets;	/* under conf_mu */
extern struct bayes_cache *bayes_cache;	/* the Bayes tokens, held once for all workers */

/* The configuration now, and the generation of its DNS settings (gen may be NULL). */
const struct conf *conf_now(unsigned *gen);

#endif
