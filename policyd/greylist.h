/*
 * greylist - greylisting with postgrey's semantics (postgrey 1.37).
 *
 * A triplet (client network, normalised sender, recipient) seen for the
 * first time is deferred; retried after `delay` seconds (and within
 * `retry_window` of the first try) it passes, once with an X-Greylist
 * header, and keeps passing while seen at least every `max_age`. A client
 * whose triplets passed `auto_allow` times (counted at most once an hour)
 * is allowed outright. Allow lists are checked by the caller.
 */
#ifndef MOAT_GREYLIST_H
#define MOAT_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "store/gl_store.h"

struct greylist_params {
	int64_t delay;		/* seconds a new triplet must wait */
	int64_t max_age;	/* forget triplets not seen for this long */
	int64_t retry_window;	/* a first retry later than this starts over */
	int auto_allow;		/* allow a client after this many passes (0: off) */
	int v4_prefix;		/* client network: /24 by default */
	int v6_prefix;		/* client network: /64 by default */
	int by_host;		/* use the client address, not its network */
};

enum gl_verdict {
	GL_PASS,		/* known, or allowed: DUNNO */
	GL_PASS_DELAYED,	/* first pass after waiting: add X-Greylist */
	GL_DEFER,		/* wait longer */
	GL_ERROR,		/* the store failed */
};

struct gl_result {
	enum gl_verdict verdict;
	int64_t wait;		/* GL_DEFER: seconds still to wait */
	int64_t delayed;	/* GL_PASS_DELAYED: seconds it was held */
	const char *why;	/* for the log: "new", "early retry", "client allowed", ... */
};

struct greylist;

/* Greylisting over store (not owned). */
struct greylist *greylist_new(const struct greylist_params *p, struct gl_store *store);
/* New parameters (SIGHUP); triplets already stored keep their times. */
void greylist_set_params(struct greylist *gl, const struct greylist_params *p);
/* Free (NULL is fine). */
void greylist_free(struct greylist *gl);
/*
 * Decide for one recipient. instance is Postfix's per-message id, so one
 * message with several recipients gets one X-Greylist header. -1 and
 * GL_ERROR if the store failed (its error in store->err).
 */
int greylist_check(struct greylist *gl, int64_t now, const struct ip_addr *client,
		   const char *sender, const char *recipient, const char *instance,
		   struct gl_result *res);
/* Expire one slice of old state; call about once a second. */
int greylist_expire(struct greylist *gl, int64_t now);
/*
 * postgrey's sender normalisation: lower case, BATV prvs= tag removed,
 * SRS0/SRS1 reduced to the original sender, +extension removed, numbers
 * that stand alone (VERP) replaced by '#'. Writes a C string to out.
 */
void gl_normalize_sender(const char *sender, char *out, size_t outlen);
/* The client's greylist key part: its network (or host) as text. */
void gl_client_key(const struct greylist_params *p, const struct ip_addr *ip, char *out,
		   size_t outlen);

#endif
