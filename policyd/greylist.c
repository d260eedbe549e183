/*
 * greylist - postgrey's greylisting algorithm over a gl_store; see greylist.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "greylist.h"
#include "core/hash.h"
#include "core/mem.h"

#define INSTANCES 20	/* as postgrey: remember the last 20 messages */
#define LAST_SEEN_GRAIN 3600	/* seconds; see greylist_check() */

struct greylist {
	struct greylist_params p;
	struct gl_store *store;
	char instances[INSTANCES][64];
	int next_instance;
};

struct greylist *greylist_new(const struct greylist_params *p, struct gl_store *store)
{
	struct greylist *gl = xcalloc(1, sizeof(*gl));

	gl->p = *p;
	gl->store = store;
	return gl;
}

void greylist_set_params(struct greylist *gl, const struct greylist_params *p)
{
	gl->p = *p;
}

void greylist_free(struct greylist *gl)
{
	free(gl);
}

/* Whether this message (Postfix "instance") is new, so it gets one header. */
static int new_instance(struct greylist *gl, const char *inst)
{
	if (inst == NULL || *inst == '\0')
		return 1;
	for (int i = 0; i < INSTANCES; i++)
		if (strncmp(gl->instances[i], inst, sizeof(gl->instances[i]) - 1) == 0)
			return 0;
	snprintf(gl->instances[gl->next_instance], sizeof(gl->instances[0]), "%s", inst);
	gl->next_instance = (gl->next_instance + 1) % INSTANCES;
	return 1;
}

/* BATV: prvs=TAG=user or prvs=user=TAG; keep the user part (postgrey's rule). */
static void strip_batv(char *user)
{
	char *a1, *a2, *keep;

	if (strncmp(user, "prvs=", 5) != 0)
		return;
	a1 = user + 5;
	if ((a2 = strchr(a1, '=')) == NULL || strchr(a2 + 1, '='))
		return;
	*a2++ = '\0';
	/* A BATV tag starts with ten [0-9a-z]. */
	{
		int t1 = strspn(a1, "0123456789abcdefghijklmnopqrstuvwxyz") >= 10;
		int t2 = strspn(a2, "0123456789abcdefghijklmnopqrstuvwxyz") >= 10;

		keep = (t2 && !t1) ? a1 : a2;
	}
	memmove(user, keep, strlen(keep) + 1);
}

/*
 * SRS0=HASH=TT=domain=user and SRS1=HASH=fwd==HASH=TT=domain=user stand
 * for user@domain: reduce to that, so each forwarded sender is one key.
 */
static int strip_srs(char *user, char *domain, size_t dsize)
{
	char *p = user, *f[4];
	int i;

	if (strncmp(p, "srs0", 4) != 0 && strncmp(p, "srs1", 4) != 0)
		return 0;
	if (p[4] != '=' && p[4] != '+' && p[4] != '-')
		return 0;
	if (p[3] == '1') {
		/* Skip "SRS1=HASH=forwarder=": the SRS0 part follows "==". */
		if ((p = strstr(p, "==")) == NULL)
			return 0;
		p += 2;
	} else {
		p += 5;
	}
	for (i = 0; i < 4 && p; i++) {
		f[i] = p;
		p = i < 3 ? strchr(p, '=') : NULL;
		if (p)
			*p++ = '\0';
	}
	if (i < 4 || f[3] == NULL || *f[2] == '\0' || *f[3] == '\0')
		return 0;
	snprintf(domain, dsize, "%s", f[2]);
	memmove(user, f[3], strlen(f[3]) + 1);
	return 1;
}

/* postgrey's s/\b\d+\b/#/g: a run of digits that is a whole word becomes '#'. */
static void hash_numbers(char *s)
{
	char *w = s;

	for (char *p = s; *p;) {
		char *start = p;
		int digits = 1;

		if (!(isalnum((unsigned char)*p) || *p == '_')) {
			*w++ = *p++;
			continue;
		}
		while (isalnum((unsigned char)*p) || *p == '_') {
			if (!isdigit((unsigned char)*p))
				digits = 0;
			p++;
		}
		if (digits) {
			*w++ = '#';
		} else {
			memmove(w, start, (size_t)(p - start));
			w += p - start;
		}
	}
	*w = '\0';
}

void gl_normalize_sender(const char *sender, char *out, size_t outlen)
{
	char user[512], domain[512], *at, *plus;

	snprintf(user, sizeof(user), "%s", sender);
	for (char *p = user; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((at = strchr(user, '@')) == NULL) {
		snprintf(out, outlen, "%s", user);
		return;
	}
	*at = '\0';
	snprintf(domain, sizeof(domain), "%s", at + 1);
	strip_batv(user);
	strip_srs(user, domain, sizeof(domain));
	if ((plus = strchr(user, '+')) != NULL)
		*plus = '\0';
	hash_numbers(user);
	snprintf(out, outlen, "%s@%s", user, domain);
}

void gl_client_key(const struct greylist_params *p, const struct ip_addr *ip, char *out,
		   size_t outlen)
{
	struct ip_addr net = *ip;

	if (!p->by_host)
		ip_mask(&net, net.family == AF_INET ? p->v4_prefix : p->v6_prefix);
	ip_format(&net, out, outlen);
}

/* The auto-allow list: 1 if the client passes outright. */
static int client_allowed(struct greylist *gl, int64_t now, const char *ip, struct gl_client *c,
			  int *have)
{
	int r = gl_store_client_get(gl->store, ip, c);

	*have = r == 1;
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (c->manual)
		return 1;
	if (gl->p.auto_allow <= 0 || c->count < gl->p.auto_allow)
		return 0;
	/* Keep it alive (postgrey updates at most once an hour). */
	if (now >= c->last_seen + 3600 || c->last_seen > now) {
		c->count++;
		c->last_seen = now;
		if ((r = gl_store_client_put(gl->store, ip, c)) < 0)
			return r;
	}
	return 1;
}

/* One decision; GL_STORE_RETRY when the store's view changed under it. */
static int check_once(struct greylist *gl, int64_t now, const struct ip_addr *client,
		      const char *sender, const char *recipient, const char *instance,
		      struct gl_result *res)
{
	char ip[IP_TEXT_MAX], ckey[IP_TEXT_MAX], snorm[512], rcpt[512], key[1600];
	struct gl_entry e;
	struct gl_client c = {0};
	int64_t first, passed_at = 0, diff;
	int found, have_client, last_ok = 0, n;

	memset(res, 0, sizeof(*res));
	ip_format(client, ip, sizeof(ip));
	switch (client_allowed(gl, now, ip, &c, &have_client)) {
	case 1:
		res->verdict = GL_PASS;
		res->why = c.manual ? "client allowed by hand" : "client auto-allowed";
		return 0;
	case GL_STORE_RETRY:
		return GL_STORE_RETRY;
	case -1:
		res->verdict = GL_ERROR;
		return -1;
	}

	gl_client_key(&gl->p, client, ckey, sizeof(ckey));
	gl_normalize_sender(sender, snorm, sizeof(snorm));
	snprintf(rcpt, sizeof(rcpt), "%s", recipient);
	for (char *p = rcpt; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = snprintf(key, sizeof(key), "%s/%s/%s", ckey, snorm, rcpt);
	e.id = hash64(key, (size_t)(n < (int)sizeof(key) ? n : (int)sizeof(key) - 1));

	found = gl_store_get(gl->store, e.id, &e);
	if (found < 0) {
		res->verdict = GL_ERROR;
		return -1;
	}
	/* A 64-bit collision is next to impossible; if it happens, start over. */
	if (found && (strcmp(e.client, ckey) || strcmp(e.sender, snorm) || strcmp(e.recipient, rcpt)))
		found = 0;
	first = now;
	if (found) {
		first = e.first_seen;
		passed_at = e.passed_at;
		if (passed_at)
			last_ok = 1;
		else if (now - first > gl->p.retry_window)
			first = now;	/* the first retry came too late: wait again */
		if (first > now)
			first = now;	/* clock went backwards */
	}
	diff = gl->p.delay - (now - first);
	if (diff <= 0 && !passed_at)
		passed_at = now;
	/*
	 * Write only what matters: a new triplet, a new wait, a pass, or a
	 * last_seen more than LAST_SEEN_GRAIN old (expiry counts in days).
	 * Retries and repeat senders then cost a read, not a commit.
	 */
	if (!found || first != e.first_seen || passed_at != e.passed_at ||
	    now - e.last_seen >= LAST_SEEN_GRAIN || now < e.last_seen) {
		e.client = ckey;
		e.sender = snorm;
		e.recipient = rcpt;
		e.first_seen = first;
		e.last_seen = now;
		e.passed_at = passed_at;
		if ((n = gl_store_put(gl->store, &e)) < 0) {
			res->verdict = GL_ERROR;
			return n == GL_STORE_RETRY ? n : -1;
		}
	}
	/* A retry that passed counts towards the client's auto-allow, once an hour. */
	if (gl->p.auto_allow > 0 && diff <= 0 && !last_ok &&
	    (!have_client || now >= c.last_seen + 3600)) {
		c.count++;
		c.last_seen = now;
		if ((n = gl_store_client_put(gl->store, ip, &c)) < 0) {
			res->verdict = GL_ERROR;
			return n == GL_STORE_RETRY ? n : -1;
		}
	}
	if (diff > 0) {
		res->verdict = GL_DEFER;
		res->wait = diff;
		res->why = now != first ? "early retry" : "new";
		return 0;
	}
	if (!last_ok && new_instance(gl, instance)) {
		res->verdict = GL_PASS_DELAYED;
		res->delayed = now - first;
		res->why = "retried after the delay";
		return 0;
	}
	res->verdict = GL_PASS;
	res->why = "known triplet";
	return 0;
}

int greylist_check(struct greylist *gl, int64_t now, const struct ip_addr *client,
		   const char *sender, const char *recipient, const char *instance,
		   struct gl_result *res)
{
	int r = check_once(gl, now, client, sender, recipient, instance, res);

	/* Now holding the write lock, the second look is the latest. */
	if (r == GL_STORE_RETRY)
		r = check_once(gl, now, client, sender, recipient, instance, res);
	if (r == GL_STORE_RETRY) {
		res->verdict = GL_ERROR;
		r = -1;
	}
	return r;
}

int greylist_expire(struct greylist *gl, int64_t now)
{
	return gl_store_expire(gl->store, now, gl->p.max_age, gl->p.retry_window);
}
