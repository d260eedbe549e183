/*
 * access - the controller's access rules and login throttling; see access.h.
 */
#include "config.h"

#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "controller/access.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/passwd.h"

#define ACCESS_NETS_MAX 1024 /* entries of controller_secure_ip */
#define THROTTLE_SLOTS 4096  /* addresses with recent failures remembered */
#define GOOD_CACHE 16        /* password/hash pairs recently verified */

struct fail {
	struct ip_addr ip;
	int count;
	time_t last;
};

struct access {
	struct cidr *nets;
	size_t nnets;
	int max_failures;
	long block_secs;
	pthread_mutex_t mu;
	struct fail fails[THROTTLE_SLOTS];
	/*
	 * Rspamd's web UI sends the password with every request, and a hash
	 * costs milliseconds by design: a pair once verified is remembered by
	 * its SHA-256 (never the password itself).
	 */
	unsigned char good[GOOD_CACHE][32];
	int ngood, good_next;
};

struct access *access_new(const struct conf *cf, char *err, size_t errlen)
{
	const char *s = conf_str(cf, "controller_secure_ip");
	struct access *a = xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->mu, NULL);
	a->max_failures = (int)conf_num(cf, "controller_auth_failures");
	a->block_secs = (long)conf_num(cf, "controller_auth_block");
	a->nets = xcalloc(ACCESS_NETS_MAX, sizeof(*a->nets));
	/* Each step consumes one comma- or space-separated entry. */
	while (*s) {
		size_t n;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		n = strcspn(s, ", \t\r\n");
		if (n == 0)
			break;
		if (a->nnets == ACCESS_NETS_MAX || cidr_parse(s, n, &a->nets[a->nnets]) < 0) {
			snprintf(err, errlen, "controller_secure_ip: %.*s: %s",
			         (int)(n > 60 ? 60 : n), s,
			         a->nnets == ACCESS_NETS_MAX ? "too many entries"
			                                     : "not an address or network");
			access_free(a);
			return NULL;
		}
		a->nnets++;
		s += n;
	}
	return a;
}

void access_free(struct access *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->nets);
	free(a);
}

static int secure(const struct access *a, const struct ip_addr *ip)
{
	for (size_t i = 0; i < a->nnets; i++)
		if (cidr_match(&a->nets[i], ip))
			return 1;
	return 0;
}

/* An IPv4-mapped IPv6 peer as IPv4, so that 127.0.0.1 matches on a dual-stack socket. */
static int peer_ip(const struct sockaddr *sa, struct ip_addr *ip)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	memcpy(ip->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	ip->family = AF_INET6;
	if (memcmp(ip->a, mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = AF_INET;
	}
	return 0;
}

/* The last address of X-Forwarded-For (the one our proxy added), or X-Real-IP's; 0 or -1. */
static int forwarded(const char *v, struct ip_addr *ip)
{
	const char *start = strrchr(v, ',');
	const char *e;

	start = start ? start + 1 : v;
	while (isspace((unsigned char)*start))
		start++;
	e = start + strlen(start);
	while (e > start && isspace((unsigned char)e[-1]))
		e--;
	return ip_parse(start, (size_t)(e - start), ip);
}

static struct fail *fail_slot(struct access *a, const struct ip_addr *ip, int make)
{
	struct fail *oldest = &a->fails[0];

	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		struct fail *f = &a->fails[i];

		if (f->count && f->ip.family == ip->family && memcmp(f->ip.a, ip->a, 16) == 0)
			return f;
		if (f->last < oldest->last)
			oldest = f;
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->ip = *ip;
	return oldest;
}

static void digest(const char *pw, const char *hash, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, hash, strlen(hash) + 1);
	EVP_DigestUpdate(c, pw, strlen(pw));
	EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
}

static int verify(struct access *a, const char *pw, const char *hash)
{
	unsigned char d[32];
	int hit = 0;

	if (hash[0] == '\0')
		return 0;
	digest(pw, hash, d);
	pthread_mutex_lock(&a->mu);
	for (int i = 0; i < a->ngood && !hit; i++)
		hit = CRYPTO_memcmp(a->good[i], d, 32) == 0;
	pthread_mutex_unlock(&a->mu);
	if (hit)
		return 1;
	if (!passwd_verify(pw, strlen(pw), hash))
		return 0;
	pthread_mutex_lock(&a->mu);
	memcpy(a->good[a->good_next], d, 32);
	a->good_next = (a->good_next + 1) % GOOD_CACHE;
	if (a->ngood < GOOD_CACHE)
		a->ngood++;
	pthread_mutex_unlock(&a->mu);
	return 1;
}

void access_check(struct access *a, const struct sockaddr *peer, const char *fwd, const char *pw,
                  const char *hash_read, const char *hash_write, struct access_result *out)
{
	struct ip_addr ip, real;
	time_t now = time(NULL);
	struct fail *f;
	int throttled;

	memset(out, 0, sizeof(*out));
	if (peer == NULL) {
		snprintf(out->client, sizeof(out->client), "unix");
		out->secure = 1;
		out->level = ACCESS_WRITE;
		return;
	}
	if (peer_ip(peer, &ip) < 0) {
		snprintf(out->client, sizeof(out->client), "unknown");
		return;
	}
	if (secure(a, &ip) && fwd && forwarded(fwd, &real) == 0)
		ip = real;
	ip_format(&ip, out->client, sizeof(out->client));
	if (secure(a, &ip)) {
		out->secure = 1;
		out->level = ACCESS_WRITE;
		return;
	}
	pthread_mutex_lock(&a->mu);
	f = fail_slot(a, &ip, 0);
	throttled = f && f->count >= a->max_failures && now - f->last < a->block_secs;
	if (f && !throttled && now - f->last >= a->block_secs)
		f->count = 0;
	pthread_mutex_unlock(&a->mu);
	if (throttled) {
		out->throttled = 1;
		return;
	}
	if (pw == NULL)
		return;
	if (verify(a, pw, hash_write))
		out->level = ACCESS_WRITE;
	else if (verify(a, pw, hash_read))
		out->level = hash_write[0] ? ACCESS_READ : ACCESS_WRITE;
	if (out->level != ACCESS_NONE)
		return;
	out->bad_password = 1;
	pthread_mutex_lock(&a->mu);
	f = fail_slot(a, &ip, 1);
	f->count++;
	f->last = now;
	pthread_mutex_unlock(&a->mu);
}
