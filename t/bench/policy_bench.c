/*
 * policy_bench - load generator for Postfix policy servers.
 *
 * N persistent connections (driven by one epoll thread) send RCPT requests with
 * every attribute Postfix 3.7 sends, over a population of triplets, each
 * waiting for its reply before the next request, as Postfix's smtpd does.
 * Prints requests/second, p50/p99/max latency and, with --pid, the
 * server's peak RSS (VmHWM). Works against moat-policyd and postgrey alike.
 *
 * With --populate N --db FILE it instead fills a moat database with N
 * greylist triplets through moat's own greylist code (for the "one
 * million stored" figure), numbered from --offset K in the load's
 * numbering: K = the load's population stores only other triplets.
 *
 * For the robustness runs (t/robust/run.sh):
 *   -r RATE        a steady RATE requests/second over all connections
 *                  (otherwise each connection sends as fast as it is answered);
 *   --keep-going   a failed connection is counted as an error and reopened
 *                  instead of ending the run (a server killed mid-load);
 *   --defer-log F  the triplet number of every request answered DEFER*, i.e.
 *                  every greylist entry the server acknowledged;
 *   --replay F     instead of a load: ask once more for each triplet in F and
 *                  count how many pass (a retry after the delay must).
 * The summary then also says how many connections were open at the end
 * (held) and the most open at once.
 *
 * Loopback only: the target must be 127.0.0.1 or ::1.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/cidr.h"
#include "store/db.h"
#include "store/gl_store.h"
#include "policyd/greylist.h"

struct worker {
	pthread_t th;
	int id;
	uint64_t rng;
	double *lat;		/* latencies, ms */
	size_t nlat, cap;
	unsigned long errors;
	int held;		/* connections open at the end */
	char reply[128];	/* first reply seen, for the report */
};

static const char *host = "127.0.0.1";
static int port, conns = 8, seconds = 10, keep_going;
static long population = 100000;
static double rate;		/* requests/second over all connections; 0: flat out */
static FILE *defer_log;
static volatile int stop;
static int open_now, open_max;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Triplet number i: a client in one of 65536 networks, a sender, a recipient. */
static void triplet(long i, char *ip, size_t iplen, char *from, size_t flen, char *to, size_t tlen)
{
	uint32_t h = (uint32_t)(i * 2654435761u);

	snprintf(ip, iplen, "%u.%u.%u.%u", 11 + (h >> 24) % 200, (h >> 16) & 255, (h >> 8) & 255,
		 1 + (unsigned)(i % 250));
	snprintf(from, flen, "newsletter-%ld@sender%ld.example", i, i % 1000);
	snprintf(to, tlen, "user%ld@example.com", i % 5000);
}

static int build_request(char *buf, size_t len, long i, unsigned long seq)
{
	char ip[64], from[128], to[128];

	triplet(i, ip, sizeof(ip), from, sizeof(from), to, sizeof(to));
	return snprintf(buf, len,
			"request=smtpd_access_policy\n"
			"protocol_state=RCPT\n"
			"protocol_name=ESMTP\n"
			"client_address=%s\n"
			"client_name=unknown\n"
			"client_port=%lu\n"
			"reverse_client_name=unknown\n"
			"server_address=127.0.0.1\n"
			"server_port=25\n"
			"helo_name=mail%ld.sender.example\n"
			"sender=%s\n"
			"recipient=%s\n"
			"recipient_count=0\n"
			"queue_id=\n"
			"instance=%lx.%lx.0\n"
			"size=12345\n"
			"etrn_domain=\n"
			"stress=\n"
			"sasl_method=\n"
			"sasl_username=\n"
			"sasl_sender=\n"
			"ccert_subject=\n"
			"ccert_issuer=\n"
			"ccert_fingerprint=\n"
			"ccert_pubkey_fingerprint=\n"
			"encryption_protocol=TLSv1.3\n"
			"encryption_cipher=TLS_AES_256_GCM_SHA384\n"
			"encryption_keysize=256\n"
			"policy_context=\n"
			"compatibility_level=3.6\n"
			"mail_version=3.7.11\n"
			"\n",
			ip, 1024 + seq % 60000, i % 1000, from, to, seq, (unsigned long)i);
}

static int connect_to(void)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * All connections in one thread with epoll: the load generator then takes
 * as little CPU as possible from the server it measures (there are only a
 * few cores), and each connection still waits for its reply, as smtpd does.
 */
struct conn {
	int fd;
	int idle;		/* answered, waiting for its next slot (with -r) */
	long idx;		/* triplet in flight */
	double t0, retry_at;
	size_t have;
	char rep[4096];
};

static int send_idx(struct conn *c, long i, unsigned long *seq)
{
	char req[4096];
	int len = build_request(req, sizeof(req), i, (*seq)++);

	c->idx = i;
	c->idle = 0;
	c->have = 0;
	c->t0 = now_ms();
	return write(c->fd, req, (size_t)len) == len ? 0 : -1;
}

static int send_next(struct worker *w, struct conn *c, unsigned long *seq)
{
	return send_idx(c, (long)(xorshift(&w->rng) % (uint64_t)population), seq);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		open_now--;
	}
}

static int conn_open(int ep, struct conn *c)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};

	if ((c->fd = connect_to()) < 0)
		return -1;
	if (++open_now > open_max)
		open_max = open_now;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
		conn_close(c);
		return -1;
	}
	c->idle = 1;
	return 0;
}

/* A connection failed: an error; with --keep-going it is reopened shortly. */
static void conn_failed(struct worker *w, struct conn *c)
{
	w->errors++;
	conn_close(c);
	c->idle = 0;
	c->retry_at = now_ms() + 50;
	if (!keep_going)
		stop = 1;
}

static void record(struct worker *w, double ms)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 65536;
		w->lat = realloc(w->lat, w->cap * sizeof(double));
		if (w->lat == NULL)
			exit(1);
	}
	w->lat[w->nlat++] = ms;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct conn *cs = calloc((size_t)conns, sizeof(*cs));
	struct epoll_event evs[256];
	unsigned long seq = 0;
	int ep = epoll_create1(0), next_idle = 0;
	double start = now_ms(), sent = 0;

	for (int i = 0; i < conns; i++) {
		cs[i].fd = -1;
		if (conn_open(ep, &cs[i]) < 0 || (rate <= 0 && send_next(w, &cs[i], &seq) < 0))
			conn_failed(w, &cs[i]);
	}
	start = now_ms();
	while (!stop) {
		double t = now_ms();
		int timeout = 100, n;

		/* Reopen failed connections; hand out the request slots that are due. */
		for (int i = 0; i < conns; i++) {
			if (cs[i].fd < 0 && keep_going && t >= cs[i].retry_at &&
			    conn_open(ep, &cs[i]) < 0)
				conn_failed(w, &cs[i]);
			else if (cs[i].fd >= 0 && cs[i].idle && rate <= 0 &&
				 send_next(w, &cs[i], &seq) < 0)
				conn_failed(w, &cs[i]);
		}
		if (rate > 0) {
			double due = (t - start) * rate / 1e3;

			for (int k = 0; k < conns && sent < due; k++) {
				struct conn *c = &cs[(next_idle + k) % conns];

				if (c->fd < 0 || !c->idle)
					continue;
				if (send_next(w, c, &seq) < 0)
					conn_failed(w, c);
				sent++;
				next_idle = (int)((c - cs) + 1) % conns;
			}
			timeout = sent < due ? 1 : (int)((sent + 1 - due) * 1e3 / rate) + 1;
			if (timeout > 100)
				timeout = 100;
		}
		n = epoll_wait(ep, evs, 256, timeout);
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			ssize_t r;

			if (c->fd < 0)
				continue;
			r = read(c->fd, c->rep + c->have, sizeof(c->rep) - 1 - c->have);
			if (r <= 0) {
				conn_failed(w, c);
				continue;
			}
			c->have += (size_t)r;
			c->rep[c->have] = '\0';
			if (!strstr(c->rep, "\n\n"))
				continue;
			record(w, now_ms() - c->t0);
			if (w->reply[0] == '\0')
				snprintf(w->reply, sizeof(w->reply), "%.*s",
					 (int)strcspn(c->rep, "\n"), c->rep);
			if (defer_log && strncmp(c->rep, "action=DEFER", 12) == 0)
				fprintf(defer_log, "%ld\n", c->idx);
			c->idle = 1;
			if (rate <= 0 && !stop && send_next(w, c, &seq) < 0)
				conn_failed(w, c);
		}
	}
	w->held = open_now;
	for (int i = 0; i < conns; i++)
		conn_close(&cs[i]);
	close(ep);
	free(cs);
	return NULL;
}

/*
 * --replay: each triplet of the file once more, one at a time over one
 * connection (reopened if needed); counts which pass and which are
 * deferred again. Returns 0 when every one passed.
 */
static int replay(const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long seq = 0, n = 0, passed = 0, deferred = 0, errors = 0;
	char *seen = calloc((size_t)population, 1);
	struct conn c = {.fd = -1};
	long i;

	if (fp == NULL || seen == NULL) {
		perror(path);
		return 2;
	}
	while (fscanf(fp, "%ld", &i) == 1) {
		int ok = 0;

		if (i < 0 || i >= population || seen[i])
			continue;
		seen[i] = 1;
		n++;
		for (int attempt = 0; attempt < 3 && !ok; attempt++) {
			ssize_t r;

			if (c.fd < 0 && (c.fd = connect_to()) < 0)
				break;
			if (send_idx(&c, i, &seq) < 0)
				goto broken;
			while (!strstr(c.rep, "\n\n")) {
				r = read(c.fd, c.rep + c.have, sizeof(c.rep) - 1 - c.have);
				if (r <= 0)
					goto broken;
				c.have += (size_t)r;
				c.rep[c.have] = '\0';
			}
			ok = 1;
			if (strncmp(c.rep, "action=DEFER", 12) == 0) {
				deferred++;
				if (deferred <= 5)
					fprintf(stderr,
						"policy_bench: triplet %ld deferred again: %.*s\n",
						i, (int)strcspn(c.rep, "\n"), c.rep);
			} else {
				passed++;
			}
			c.rep[0] = '\0';
			continue;
broken:
			close(c.fd);
			c.fd = -1;
			c.rep[0] = '\0';
		}
		if (!ok)
			errors++;
	}
	fclose(fp);
	if (c.fd >= 0)
		close(c.fd);
	free(seen);
	printf("replayed=%lu passed=%lu deferred=%lu errors=%lu\n", n, passed, deferred, errors);
	return n > 0 && passed == n ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long peak_rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* Fill a moat database with n triplets through the greylist code itself. */
static int populate(const char *path, long n, long offset)
{
	struct greylist_params gp = {.delay = 300, .max_age = 35 * 86400,
				     .retry_window = 2 * 86400, .auto_allow = 0,
				     .v4_prefix = 24, .v6_prefix = 64};
	char err[512], ip[64], from[128], to[128];
	struct gl_result r;
	sqlite3 *db = db_open(path, 5000, err, sizeof(err));
	struct gl_store *st;
	struct greylist *gl;
	int64_t t = (int64_t)time(NULL);

	if (db == NULL) {
		fprintf(stderr, "policy_bench: %s\n", err);
		return 1;
	}
	st = gl_store_sqlite_new(db, 5000);
	gl = greylist_new(&gp, st);
	for (long i = 0; i < n; i++) {
		struct ip_addr a;

		triplet(offset + i, ip, sizeof(ip), from, sizeof(from), to, sizeof(to));
		ip_parse(ip, strlen(ip), &a);
		if (greylist_check(gl, t, &a, from, to, NULL, &r) < 0) {
			fprintf(stderr, "policy_bench: %s\n", st->err);
			return 1;
		}
		if (i % 20000 == 19999)
			gl_store_flush(st);
	}
	gl_store_flush(st);
	greylist_free(gl);
	gl_store_close(st);
	db_close(db);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: policy_bench -p PORT [-H 127.0.0.1] [-c CONNS] [-t SECONDS] [-n POPULATION]\n"
		"                    [-r RATE] [--keep-going] [--defer-log FILE]\n"
		"                    [--pid SERVER_PID] [--label NAME]\n"
		"       policy_bench -p PORT --replay FILE [-n POPULATION]\n"
		"       policy_bench --populate N [--offset K] --db FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"pid", required_argument, NULL, 'P'},
		{"label", required_argument, NULL, 'L'},
		{"populate", required_argument, NULL, 'F'},
		{"db", required_argument, NULL, 'D'},
		{"offset", required_argument, NULL, 'O'},
		{"keep-going", no_argument, NULL, 'K'},
		{"defer-log", required_argument, NULL, 'G'},
		{"replay", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *label = "server", *dbpath = NULL, *replay_file = NULL;
	long pid = 0, fill = 0, offset = 0;
	struct worker *w;
	double t0, el, *all;
	size_t total = 0, k = 0;
	unsigned long errors = 0;
	int c;

	while ((c = getopt_long(argc, argv, "H:p:c:t:n:r:", lo, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'n': population = atol(optarg); break;
		case 'P': pid = atol(optarg); break;
		case 'L': label = optarg; break;
		case 'F': fill = atol(optarg); break;
		case 'D': dbpath = optarg; break;
		case 'O': offset = atol(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'K': keep_going = 1; break;
		case 'G':
			if ((defer_log = fopen(optarg, "w")) == NULL) {
				perror(optarg);
				return 2;
			}
			break;
		case 'R': replay_file = optarg; break;
		default: usage();
		}
	}
	if (fill > 0) {
		if (dbpath == NULL)
			usage();
		return populate(dbpath, fill, offset);
	}
	if (port <= 0 || conns <= 0 || seconds <= 0 || population <= 0)
		usage();
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0) {
		fprintf(stderr, "policy_bench: loopback targets only\n");
		return 2;
	}
	if (replay_file)
		return replay(replay_file);
	w = calloc(1, sizeof(*w));
	w->rng = 0x9e3779b97f4a7c15ULL;
	pthread_create(&w->th, NULL, work, w);
	t0 = now_ms();
	sleep((unsigned)seconds);
	stop = 1;
	pthread_join(w->th, NULL);
	el = (now_ms() - t0) / 1e3;
	total = w->nlat;
	errors = w->errors;
	all = malloc((total ? total : 1) * sizeof(double));
	memcpy(all + k, w->lat, total * sizeof(double));
	qsort(all, total, sizeof(double), cmp_double);
	if (defer_log)
		fclose(defer_log);
	printf("%-14s conns=%d held=%d max_open=%d population=%ld requests=%zu errors=%lu"
	       " rate=%.0f/s p50=%.3fms p99=%.3fms max=%.3fms",
	       label, conns, w->held, open_max, population, total, errors, total / el,
	       total ? all[total / 2] : 0.0, total ? all[total * 99 / 100] : 0.0,
	       total ? all[total - 1] : 0.0);
	if (pid > 0)
		printf(" peak_rss=%ldkB", peak_rss_kb(pid));
	printf(" first_reply=\"%s\"\n", w[0].reply);
	free(w->lat);
	free(w);
	free(all);
	return total > 0 && errors == 0 ? 0 : 1;
}
