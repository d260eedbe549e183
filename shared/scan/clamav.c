/*
 * clamav - clamd's INSTREAM (clamd(8)), failover over several servers, a
 * thread per scan and a bounded verdict cache; see clamav.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "scan/clamav.h"

struct server {
	char spec[128]; /* as written, for the log */
	int is_unix;
	char path[108];         /* unix */
	char host[64], port[8]; /* inet */
};

struct clamav {
	struct server srv[CLAMAV_SERVERS_MAX];
	int nsrv;
	int timeout_ms;
	size_t max_size;
	int fail_accepts;
	struct clamav_cache *cache; /* the process's, shared */
	/* The scan in flight. */
	const char *data;
	size_t len;
	unsigned char key[32];
	int busy, threaded;
	pthread_t tid;
	struct clamav_verdict v;
	char failover[512];
};

/* --- the reply ------------------------------------------------------------- */

static int has_prefix(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

static int has_suffix(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p + len - n, s, n) == 0;
}

/* Printable ASCII of p for the log, at most outlen - 1 bytes. */
static void printable(char *out, size_t outlen, const char *p, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < outlen; i++)
		out[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	out[k] = '\0';
}

/* A signature name safe in an SMTP reply (no '%', '"', spaces) and a header. */
static void signature(char *out, const char *p, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < CLAMAV_NAME_MAX; i++) {
		char ch = p[i];

		out[k++] = ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		            (ch >= '0' && ch <= '9') || strchr("._:/+-", ch)) &&
		                   ch
		               ? ch
		               : '_';
	}
	out[k] = '\0';
}

static void fail(struct clamav_verdict *v, const char *what, const char *p, size_t len)
{
	char text[300];

	printable(text, sizeof(text), p, len);
	v->kind = CLAMAV_FAIL;
	snprintf(v->err, sizeof(v->err), "%s%s%s%s", what, len ? " \"" : "", text, len ? "\"" : "");
}

void clamav_parse_reply(const char *p, size_t len, struct clamav_verdict *v)
{
	v->kind = CLAMAV_FAIL;
	v->name[0] = v->err[0] = '\0';
	if (len > CLAMAV_REPLY_MAX) {
		fail(v, "reply too long", NULL, 0);
		return;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\0'))
		len--;
	if (len == 0) {
		fail(v, "empty reply", NULL, 0);
		return;
	}
	if (has_suffix(p, len, " ERROR")) {
		fail(v, "clamd error", p, len - 6);
		return;
	}
	if (!has_prefix(p, len, "stream: ")) {
		fail(v, "unexpected reply", p, len);
		return;
	}
	p += 8, len -= 8;
	if (len == 2 && memcmp(p, "OK", 2) == 0) {
		v->kind = CLAMAV_CLEAN;
		return;
	}
	/* One name: clamd sends one line per match only with ALLMATCHSCAN. */
	if (!has_suffix(p, len, " FOUND") || len == 6 || memchr(p, '\n', len)) {
		fail(v, "unexpected reply", p - 8, len + 8);
		return;
	}
	len -= 6;
	signature(v->name, p, len);
	/* As Rspamd's lua_scanners/clamav.lua: these three get symbols of their own. */
	if (has_prefix(p, len, "Heuristics.Limits.Exceeded")) {
		snprintf(v->err, sizeof(v->err), "Limits Exceeded: %s", v->name);
		v->kind = CLAMAV_FAIL;
	} else if (has_prefix(p, len, "Heuristics.Encrypted")) {
		v->kind = CLAMAV_ENCRYPTED;
	} else if (has_prefix(p, len, "Heuristics.OLE2.ContainsMacros")) {
		v->kind = CLAMAV_MACRO;
	} else {
		v->kind = CLAMAV_VIRUS;
	}
}

/* --- the servers ----------------------------------------------------------- */

/* unix:/PATH, /PATH, inet:HOST:PORT, HOST:PORT, [IPV6]:PORT; 0 or -1. */
static int server_parse(const char *s, size_t n, struct server *sv)
{
	const char *colon;
	size_t hl;
	int bracketed;

	memset(sv, 0, sizeof(*sv));
	if (n == 0 || n >= sizeof(sv->spec))
		return -1;
	memcpy(sv->spec, s, n);
	s = sv->spec;
	if (strncmp(s, "unix:", 5) == 0 || s[0] == '/') {
		s += s[0] == '/' ? 0 : 5;
		sv->is_unix = 1;
		if (s[0] != '/' || strlen(s) >= sizeof(sv->path))
			return -1;
		strcpy(sv->path, s);
		return 0;
	}
	if (strncmp(s, "inet:", 5) == 0)
		s += 5;
	if ((colon = strrchr(s, ':')) == NULL || colon[1] == '\0' || strlen(colon + 1) >= 6 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	hl = (size_t)(colon - s);
	bracketed = hl >= 2 && s[0] == '[' && s[hl - 1] == ']';
	if (bracketed)
		s++, hl -= 2;
	/* An IPv6 address only in brackets: "::1:3310" would be ambiguous. */
	if (hl == 0 || hl >= sizeof(sv->host) || (memchr(s, ':', hl) && !bracketed))
		return -1;
	memcpy(sv->host, s, hl);
	strcpy(sv->port, colon + 1);
	return 0;
}

/* --- the cache ------------------------------------------------------------- */

/* Entries are looked for in a group of CACHE_WAYS slots the key picks. */
#define CACHE_WAYS 8

struct cache_entry {
	unsigned char key[32];
	time_t at; /* 0: free */
	enum clamav_kind kind;
	char name[CLAMAV_NAME_MAX];
};

struct clamav_cache {
	pthread_mutex_t mu;
	struct cache_entry *e;
	size_t groups;
	time_t ttl;
};

struct clamav_cache *clamav_cache_new(size_t size, time_t ttl)
{
	struct clamav_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->groups = (size + CACHE_WAYS - 1) / CACHE_WAYS;
	c->e = c->groups ? xcalloc(c->groups * CACHE_WAYS, sizeof(*c->e)) : NULL;
	c->ttl = ttl;
	return c;
}

void clamav_cache_free(struct clamav_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->e);
	free(c);
}

static struct cache_entry *cache_group(struct clamav_cache *c, const unsigned char key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h)); /* a digest: its bytes are as good as any hash */
	return &c->e[(h % c->groups) * CACHE_WAYS];
}

int clamav_cache_get(struct clamav_cache *c, const unsigned char key[32], time_t now,
                     struct clamav_verdict *v)
{
	struct cache_entry *g;
	int found = 0;

	if (c == NULL || c->groups == 0)
		return 0;
	pthread_mutex_lock(&c->mu);
	g = cache_group(c, key);
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (g[i].at == 0 || memcmp(g[i].key, key, 32) != 0)
			continue;
		if (now - g[i].at >= c->ttl || now < g[i].at) {
			g[i].at = 0;
			break;
		}
		memset(v, 0, sizeof(*v));
		v->kind = g[i].kind;
		memcpy(v->name, g[i].name, sizeof(v->name));
		v->cached = 1;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

void clamav_cache_put(struct clamav_cache *c, const unsigned char key[32], time_t now,
                      const struct clamav_verdict *v)
{
	struct cache_entry *g, *slot = NULL;

	if (c == NULL || c->groups == 0 || v->kind == CLAMAV_FAIL)
		return;
	pthread_mutex_lock(&c->mu);
	g = cache_group(c, key);
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (g[i].at && memcmp(g[i].key, key, 32) == 0) {
			slot = &g[i];
			break;
		}
		if (slot == NULL || g[i].at < slot->at)
			slot = &g[i]; /* a free one (at 0), else the oldest */
	}
	memcpy(slot->key, key, 32);
	slot->at = now > 0 ? now : 1;
	slot->kind = v->kind;
	memcpy(slot->name, v->name, sizeof(slot->name));
	pthread_mutex_unlock(&c->mu);
}

void clamav_digest(const char *data, size_t len, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *p = data, *end = data + len;
	unsigned int n = 32;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	/* Header fields up to the empty line; a field ends at a line not starting with WSP. */
	while (p < end && *p != '\r' && *p != '\n') {
		const char *f = p;
		int skip = end - p >= 9 && strncasecmp(p, "Received:", 9) == 0;

		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		if (!skip)
			EVP_DigestUpdate(md, f, (size_t)(p - f));
	}
	EVP_DigestUpdate(md, p, (size_t)(end - p));
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

/* One cache for the process: a retry may come in on any scanning thread. */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct clamav_cache *process_cache;

static struct clamav_cache *shared_cache(size_t size, time_t ttl)
{
	struct clamav_cache *c;

	pthread_mutex_lock(&cache_mu);
	if (process_cache == NULL)
		process_cache = clamav_cache_new(size, ttl);
	c = process_cache;
	pthread_mutex_unlock(&cache_mu);
	return c;
}

/* --- the client ------------------------------------------------------------ */

struct clamav *clamav_new(const struct conf *cf, char *err, size_t errlen)
{
	struct clamav *cl = xcalloc(1, sizeof(*cl));
	const char *s = conf_str(cf, "clamav_servers");

	/* Bounded: each turn moves s past one name. */
	while (*s) {
		size_t n;

		s += strspn(s, ", \t");
		if ((n = strcspn(s, ", \t")) == 0)
			break;
		if (cl->nsrv == CLAMAV_SERVERS_MAX || server_parse(s, n, &cl->srv[cl->nsrv]) < 0) {
			snprintf(err, errlen, "clamav_servers: %s \"%.*s\"",
			         cl->nsrv == CLAMAV_SERVERS_MAX
			             ? "more than 8 servers at"
			             : "not unix:/PATH or inet:HOST:PORT:",
			         (int)(n > 100 ? 100 : n), s);
			free(cl);
			return NULL;
		}
		cl->nsrv++;
		s += n;
	}
	if (cl->nsrv == 0) {
		snprintf(err, errlen, "clamav_servers is empty");
		free(cl);
		return NULL;
	}
	cl->timeout_ms = (int)conf_num(cf, "clamav_timeout") * 1000;
	cl->max_size = (size_t)conf_num(cf, "clamav_max_size");
	cl->fail_accepts = strcmp(conf_str(cf, "clamav_fail_action"), "accept") == 0;
	cl->cache = shared_cache((size_t)conf_num(cf, "clamav_cache_size"),
	                         (time_t)conf_num(cf, "clamav_cache_ttl"));
	return cl;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline; 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int server_connect(const struct server *sv, long long deadline, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
	struct sockaddr_un un;
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (sv->is_unix) {
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		memcpy(un.sun_path, sv->path, strlen(sv->path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&un, sizeof(un));
	} else {
		if ((rc = getaddrinfo(sv->host, sv->port, &hints, &ai)) != 0) {
			snprintf(err, errlen, "cannot resolve: %s", gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
	}
	if (fd < 0 || (rc < 0 && errno != EINPROGRESS && errno != EAGAIN)) {
		snprintf(err, errlen, "cannot connect: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (rc < 0) {
		if ((rc = wait_fd(fd, POLLOUT, deadline)) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			snprintf(err, errlen, "cannot connect: %s",
			         rc == 0 ? "timed out" : strerror(soerr ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Write all of p before the deadline; 0, or -1 with errno (ETIMEDOUT). */
static int send_all(int fd, const char *p, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n, len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* The reply, up to its NUL or the end of the stream; its length, or -1 (err set). */
static ssize_t read_reply(int fd, char *buf, size_t size, long long deadline, char *err,
                          size_t errlen)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = recv(fd, buf + got, size - got, 0);

		if (n > 0) {
			if (memchr(buf + got, '\0', (size_t)n))
				return (ssize_t)(got + (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (got)
				break;
			snprintf(err, errlen, "reading the reply: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			snprintf(err, errlen, "no reply within the timeout");
			return -1;
		}
	}
	if (got == 0) {
		snprintf(err, errlen, "closed the connection without a reply");
		return -1;
	}
	return (ssize_t)got; /* over size: the parser says so */
}

/* The message as INSTREAM chunks, then the end; 0, or -1 with errno. */
static int send_stream(int fd, const char *data, size_t len, long long deadline)
{
	static const char end[4];

	if (send_all(fd, "zINSTREAM", 10, deadline) < 0)
		return -1;
	/* Bounded: each turn sends one chunk of the message. */
	while (len > 0) {
		size_t n = len > CLAMAV_CHUNK ? CLAMAV_CHUNK : len;
		unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
		                        (unsigned char)(n >> 8), (unsigned char)n};

		if (send_all(fd, (const char *)hdr, 4, deadline) < 0 ||
		    send_all(fd, data, n, deadline) < 0)
			return -1;
		data += n, len -= n;
	}
	return send_all(fd, end, 4, deadline);
}

/* One server's answer into v; 0 when it answered (clean or found), -1 with v->err. */
static int scan_one(const struct clamav *cl, const struct server *sv, const char *data, size_t len,
                    struct clamav_verdict *v)
{
	long long deadline = now_ms() + cl->timeout_ms;
	char buf[CLAMAV_REPLY_MAX + 1];
	ssize_t n;
	int fd, rc, sent_errno = 0;

	v->kind = CLAMAV_FAIL;
	if ((fd = server_connect(sv, deadline, v->err, sizeof(v->err))) < 0)
		return -1;
	rc = send_stream(fd, data, len, deadline);
	if (rc < 0) {
		sent_errno = errno;
		/* clamd may have said why it stopped reading ("size limit exceeded"). */
		if (sent_errno != ETIMEDOUT)
			deadline = now_ms() + 200;
	}
	if (rc < 0 && sent_errno == ETIMEDOUT)
		n = -1, snprintf(v->err, sizeof(v->err), "sending the message timed out");
	else
		n = read_reply(fd, buf, sizeof(buf), deadline, v->err, sizeof(v->err));
	close(fd);
	if (n < 0) {
		if (sent_errno && sent_errno != ETIMEDOUT)
			snprintf(v->err, sizeof(v->err), "sending the message: %s",
			         strerror(sent_errno));
		return -1;
	}
	clamav_parse_reply(buf, (size_t)(memchr(buf, '\0', (size_t)n) ? strlen(buf) : (size_t)n),
	                   v);
	return v->kind == CLAMAV_FAIL ? -1 : 0;
}

/* Every server in turn until one answers. */
static void scan_all(struct clamav *cl)
{
	size_t used = 0;

	cl->failover[0] = '\0';
	for (int i = 0; i < cl->nsrv; i++) {
		struct clamav_verdict v;

		memset(&v, 0, sizeof(v));
		if (scan_one(cl, &cl->srv[i], cl->data, cl->len, &v) == 0) {
			snprintf(v.server, sizeof(v.server), "%s", cl->srv[i].spec);
			cl->v = v;
			return;
		}
		if (used < sizeof(cl->failover))
			used +=
			    (size_t)snprintf(cl->failover + used, sizeof(cl->failover) - used,
			                     "%s%s: %s", used ? "; " : "", cl->srv[i].spec, v.err);
	}
	memset(&cl->v, 0, sizeof(cl->v));
	cl->v.kind = CLAMAV_FAIL;
	snprintf(cl->v.err, sizeof(cl->v.err), "%s", cl->failover);
	cl->failover[0] = '\0';
}

static void *scan_thread(void *arg)
{
	scan_all(arg);
	return NULL;
}

void clamav_start(struct clamav *cl, const char *data, size_t len)
{
	struct clamav_verdict old;

	if (cl->busy)
		clamav_collect(cl, &old);
	cl->failover[0] = '\0';
	cl->data = data;
	cl->len = len;
	cl->busy = 1;
	cl->threaded = 0;
	clamav_digest(data, len, cl->key);
	if (clamav_cache_get(cl->cache, cl->key, time(NULL), &cl->v))
		return;
	/* Without a thread the exchange happens in clamav_collect(), after the other checks. */
	cl->threaded = pthread_create(&cl->tid, NULL, scan_thread, cl) == 0;
}

int clamav_collect(struct clamav *cl, struct clamav_verdict *v)
{
	if (!cl->busy)
		return -1;
	if (cl->threaded)
		pthread_join(cl->tid, NULL);
	else if (!cl->v.cached)
		scan_all(cl);
	cl->busy = cl->threaded = 0;
	if (!cl->v.cached)
		clamav_cache_put(cl->cache, cl->key, time(NULL), &cl->v);
	*v = cl->v;
	memset(&cl->v, 0, sizeof(cl->v));
	return 0;
}

void clamav_scan(struct clamav *cl, const char *data, size_t len, struct clamav_verdict *v)
{
	clamav_start(cl, data, len);
	clamav_collect(cl, v);
}

size_t clamav_max_size(const struct clamav *cl)
{
	return cl->max_size;
}

int clamav_fail_accepts(const struct clamav *cl)
{
	return cl->fail_accepts;
}

const char *clamav_failover(const struct clamav *cl)
{
	return cl->failover;
}

struct clamav *clamav_renew(struct clamav *old, const struct conf *cf)
{
	char err[512];
	struct clamav *cl;

	clamav_free(old);
	if ((cl = clamav_new(cf, err, sizeof(err))) == NULL)
		msg_warn("ClamAV unavailable: %s", err);
	return cl;
}

void clamav_free(struct clamav *cl)
{
	struct clamav_verdict v;

	if (cl == NULL)
		return;
	if (cl->busy)
		clamav_collect(cl, &v);
	free(cl);
}
