/*
 * doctor_daemons - the daemons and Postfix's side of moatctl doctor; see
 * doctor_daemons.h.
 *
 * Each daemon is asked a real question on its listen address: moat-policyd
 * one policy request (SMTPD_POLICY_README; protocol_state CONNECT, which it
 * answers DUNNO without touching the greylist), moat-contentfilter a milter
 * option negotiation (SMFIC_OPTNEG, as Postfix opens every milter
 * connection) followed by SMFIC_QUIT. A unix socket must be reachable by
 * Postfix's smtpd, which runs as mail_owner with that user's primary group
 * only (Postfix's set_ugid() drops the supplementary ones): search
 * permission on every directory above it, write permission on the socket.
 * Then postconf(1) (postconf_get(), MOAT_POSTCONF in the tests) shows
 * whether main.cf names the two addresses: check_policy_service in one of
 * the smtpd_*_restrictions that run at RCPT, the milter in smtpd_milters.
 *
 * A daemon that does not answer fails the check when Postfix uses it, or
 * when postconf cannot tell; one Postfix does not use and that is not
 * running is only noted (not everyone runs both).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "doctor_daemons.h"
#include "core/listen.h"
#include "core/postconf.h"

#define PROBE_TIMEOUT_MS 3000	/* a daemon answers a probe in well under a millisecond */
#define PROBE_REPLY_MAX 4096	/* a policy reply or a milter negotiation packet */
#define PF_VALUE_MAX 8192	/* one main.cf parameter's value */

struct probe {
	const char *program;	/* "moat-policyd" */
	const char *setting;	/* "policy_listen" */
	struct listen_addr la;
	char canon[300];	/* inet:HOST:PORT or unix:PATH, as main.cf names it */
	int answers;
	char detail[300];	/* what it answered, or why not */
	int wired;		/* 1 main.cf names it, 0 not, -1 postconf could not tell */
	char where[64];		/* the parameter that names it */
};

static long ms_left(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return PROBE_TIMEOUT_MS - ((t.tv_sec - t0->tv_sec) * 1000 +
				   (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Wait for fd to be ready for events, within the probe's time; 0 or -1 (errno set). */
static int wait_fd(int fd, short events, const struct timespec *t0)
{
	struct pollfd p = {.fd = fd, .events = events};
	long left = ms_left(t0);
	int r;

	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	while ((r = poll(&p, 1, (int)left)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* A connected, non-blocking socket to the daemon, or -1 with why. */
static int dial(const struct listen_addr *la, const struct timespec *t0, char *why, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, e = 0;

	memset(&ss, 0, sizeof(ss));
	if (la->is_unix) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", la->path);
		sl = sizeof(*sun);
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
		struct addrinfo *ai;
		char port[16];
		int rc;

		snprintf(port, sizeof(port), "%d", la->port);
		if ((rc = getaddrinfo(la->host, port, &hints, &ai)) != 0) {
			snprintf(why, len, "%s: %s", la->host, gai_strerror(rc));
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		socklen_t el = sizeof(e);

		if (errno != EINPROGRESS)
			e = errno;
		else if (wait_fd(fd, POLLOUT, t0) < 0)
			e = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
	}
	if (e) {
		snprintf(why, len, "%s", strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *buf, size_t n, const struct timespec *t0)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, t0) < 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until complete(buf, n) says so; the bytes read, or -1 (errno, or EPROTO at EOF). */
static ssize_t recv_until(int fd, char *buf, size_t cap, int (*complete)(const char *, size_t),
			  const struct timespec *t0)
{
	size_t n = 0;

	while (!complete(buf, n)) {
		ssize_t r;

		if (n == cap) {
			errno = EMSGSIZE;
			return -1;
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, t0) < 0)
				return -1;
			continue;
		}
		if (r <= 0) {
			errno = r == 0 ? EPROTO : errno;
			return -1;
		}
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* A policy reply ends with an empty line. */
static int policy_complete(const char *b, size_t n)
{
	return n >= 2 && memmem(b, n, "\n\n", 2) != NULL;
}

/* A milter packet: a 32-bit length in network order, then that many bytes. */
static int milter_complete(const char *b, size_t n)
{
	uint32_t len;

	if (n < 4)
		return 0;
	memcpy(&len, b, 4);
	len = ntohl(len);
	return len > PROBE_REPLY_MAX - 4 || n >= 4 + (size_t)len;
}

static void probe_policy(struct probe *p, const struct timespec *t0)
{
	static const char req[] = "request=smtpd_access_policy\n"
				   "protocol_state=CONNECT\n"
				   "protocol_name=SMTP\n"
				   "client_address=127.0.0.1\n"
				   "client_name=localhost\n"
				   "instance=moatctl.doctor\n"
				   "\n";
	char buf[PROBE_REPLY_MAX + 1], *action, *end;
	int fd = dial(&p->la, t0, p->detail, sizeof(p->detail));
	ssize_t n;

	if (fd < 0)
		return;
	if (send_all(fd, req, sizeof(req) - 1, t0) < 0 ||
	    (n = recv_until(fd, buf, PROBE_REPLY_MAX, policy_complete, t0)) < 0) {
		snprintf(p->detail, sizeof(p->detail), "no policy reply: %s",
			 errno == EPROTO ? "connection closed" : strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	buf[n] = '\0';
	if (strncmp(buf, "action=", 7) != 0) {
		snprintf(p->detail, sizeof(p->detail), "not a policy reply: \"%.60s\"", buf);
		return;
	}
	action = buf + 7;
	end = action + strcspn(action, "\n");
	*end = '\0';
	p->answers = 1;
	snprintf(p->detail, sizeof(p->detail), "a policy request: action=%.100s", action);
}

static void probe_milter(struct probe *p, const struct timespec *t0)
{
	/*
	 * SMFIC_OPTNEG as Postfix 3 sends it: protocol version 6, every action
	 * (SMFIF_*: 0x1ff), every step the milter may skip (SMFIP_*: 0x1fffff).
	 */
	static const unsigned char optneg[] = {0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff,
					       0, 0x1f, 0xff, 0xff};
	static const unsigned char quit[] = {0, 0, 0, 1, 'Q'};
	char buf[PROBE_REPLY_MAX];
	int fd = dial(&p->la, t0, p->detail, sizeof(p->detail));
	uint32_t len, version;
	ssize_t n;

	if (fd < 0)
		return;
	if (send_all(fd, optneg, sizeof(optneg), t0) < 0 ||
	    (n = recv_until(fd, buf, sizeof(buf), milter_complete, t0)) < 0) {
		snprintf(p->detail, sizeof(p->detail), "no milter negotiation: %s",
			 errno == EPROTO ? "connection closed" : strerror(errno));
		close(fd);
		return;
	}
	send_all(fd, quit, sizeof(quit), t0);
	close(fd);
	memcpy(&len, buf, 4);
	len = ntohl(len);
	if (len < 13 || len > (uint32_t)n - 4 || buf[4] != 'O') {
		snprintf(p->detail, sizeof(p->detail), "not a milter negotiation reply ('%c', %u bytes)",
			 buf[4] >= 0x20 && buf[4] < 0x7f ? buf[4] : '?', (unsigned)len);
		return;
	}
	memcpy(&version, buf + 5, 4);
	p->answers = 1;
	snprintf(p->detail, sizeof(p->detail), "a milter negotiation: protocol version %u",
		 (unsigned)ntohl(version));
}

/* Whether a main.cf token (inet:HOST:PORT, HOST:PORT, unix:PATH, PATH) is the daemon's address. */
static int same_endpoint(const char *tok, const struct listen_addr *la, const char *qdir)
{
	char host[300];
	const char *colon;

	if (la->is_unix) {
		if (strncmp(tok, "unix:", 5) == 0)
			tok += 5;
		if (*tok == '/')
			return strcmp(tok, la->path) == 0;
		/* Relative: under the queue directory, as a chrooted smtpd sees it. */
		size_t q = strlen(qdir);

		return q > 0 && strncmp(la->path, qdir, q) == 0 && la->path[q] == '/' &&
		       strcmp(la->path + q + 1, tok) == 0;
	}
	if (strncmp(tok, "inet:", 5) == 0)
		tok += 5;
	if ((colon = strrchr(tok, ':')) == NULL || strncmp(tok, "unix:", 5) == 0 || *tok == '/')
		return 0;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - tok), tok);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	return strcasecmp(host, la->host) == 0 && atoi(colon + 1) == la->port;
}

/*
 * Whether a main.cf value names the daemon: after the keyword kw (the
 * next word, "{ }" and commas being separators, as in Postfix 3's
 * "check_policy_service { inet:..., timeout=10s }"), or anywhere when kw
 * is NULL (smtpd_milters).
 */
static int names_endpoint(const char *value, const char *kw, const struct listen_addr *la,
			  const char *qdir)
{
	const char *sep = " \t\n,{}";
	const char *p = value;
	int after_kw = 0;

	while (*p) {
		char tok[300];
		size_t n;

		p += strspn(p, sep);
		n = strcspn(p, sep);
		if (n == 0)
			break;
		snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) ? n : sizeof(tok) - 1), p);
		p += n;
		if ((kw == NULL || after_kw) && strchr(tok, '=') == NULL &&
		    same_endpoint(tok, la, qdir))
			return 1;
		after_kw = kw && strcmp(tok, kw) == 0;
	}
	return 0;
}

/* Where main.cf sends requests to p, if anywhere; postconf failing gives -1. */
static void find_wiring(struct probe *p, const char *const *params, const char *kw,
			const char *qdir)
{
	static char value[PF_VALUE_MAX];

	p->wired = 0;
	for (size_t i = 0; params[i]; i++) {
		/* postconf_get() is -1 for an empty value too: that names nothing. */
		postconf_get(params[i], value, sizeof(value));
		if (names_endpoint(value, kw, &p->la, qdir)) {
			p->wired = 1;
			snprintf(p->where, sizeof(p->where), "%s", params[i]);
			return;
		}
	}
}

/* Can uid/gid (Postfix's smtpd) do mode (S_IXOTH-style bits) on st? */
static int may(const struct stat *st, uid_t uid, gid_t gid, unsigned other_bit)
{
	if (st->st_uid == uid)
		return (st->st_mode & (other_bit << 6)) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & (other_bit << 3)) != 0;
	return (st->st_mode & other_bit) != 0;
}

static void owner_names(const struct stat *st, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[32], g[32];

	snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
	snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
	snprintf(buf, len, "mode %04o, %s:%s", (unsigned)(st->st_mode & 07777),
		 pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

/* A unix socket Postfix's smtpd (mail_owner, its primary group) can connect to? 0 or 1. */
static int unix_reachable(const struct probe *p, const char *owner, FILE *fp)
{
	struct passwd *pw = getpwnam(owner);
	char dir[sizeof(p->la.path)], ids[80];
	struct stat st;

	if (pw == NULL) {
		fprintf(fp, "warning: %s: no user %s (mail_owner) on this system: cannot check who"
			    " may connect to %s\n",
			p->program, owner, p->canon);
		return 0;
	}
	/* Every directory from / down needs search permission. */
	for (const char *s = strchr(p->la.path + 1, '/'); s; s = strchr(s + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(s - p->la.path), p->la.path);
		if (stat(dir, &st) == 0 && !may(&st, pw->pw_uid, pw->pw_gid, S_IXOTH)) {
			owner_names(&st, ids, sizeof(ids));
			fprintf(fp, "FAILED: %s: Postfix (user %s) cannot reach %s: no search"
				    " permission on %s (%s)\n",
				p->program, owner, p->canon, dir, ids);
			return 1;
		}
	}
	if (stat(p->la.path, &st) == 0 && !may(&st, pw->pw_uid, pw->pw_gid, S_IWOTH)) {
		owner_names(&st, ids, sizeof(ids));
		fprintf(fp, "FAILED: %s: Postfix (user %s, group %s) cannot connect to %s: no write"
			    " permission on the socket (%s); see unix_socket_group and"
			    " unix_socket_mode\n",
			p->program, owner, getgrgid(pw->pw_gid) ? getgrgid(pw->pw_gid)->gr_name : "?",
			p->canon, ids);
		return 1;
	}
	fprintf(fp, "%s: Postfix (user %s) may connect to %s\n", p->program, owner, p->canon);
	return 0;
}

/* One daemon's verdict; 1 if it failed. */
static int report(const struct probe *p, const char *owner, const char *hint, FILE *fp)
{
	int bad = 0;

	if (p->answers)
		fprintf(fp, "%s: answers on %s (%s)\n", p->program, p->canon, p->detail);
	else if (p->wired == 0)
		fprintf(fp, "%s: not running on %s (%s), and Postfix does not use it\n",
			p->program, p->canon, p->detail);
	else
		fprintf(fp, "FAILED: %s: no answer on %s (%s = %s): %s%s\n", p->program, p->canon,
			p->setting, p->canon, p->detail,
			p->wired == 1 ? "; Postfix sends mail to it" : "");
	bad = !p->answers && p->wired != 0;
	if (p->la.is_unix && (p->answers || p->wired == 1))
		bad |= unix_reachable(p, owner, fp);
	if (p->wired == 1)
		fprintf(fp, "postfix: %s names %s\n", p->where, p->canon);
	else if (p->wired == 0 && p->answers)
		fprintf(fp, "warning: postfix: %s runs, but Postfix does not use it: %s\n",
			p->program, hint);
	return bad;
}

static void setup(struct probe *p, const struct conf *cf, const char *program,
		  const char *setting)
{
	char err[256];

	memset(p, 0, sizeof(*p));
	p->program = program;
	p->setting = setting;
	p->wired = -1;
	/* The settings were checked when moat.conf was read. */
	if (listen_parse(conf_str(cf, setting), &p->la, err, sizeof(err)) < 0)
		snprintf(p->la.path, sizeof(p->la.path), "?");
	if (p->la.is_unix)
		snprintf(p->canon, sizeof(p->canon), "unix:%s", p->la.path);
	else
		snprintf(p->canon, sizeof(p->canon), strchr(p->la.host, ':') ? "inet:[%s]:%d"
									: "inet:%s:%d",
			 p->la.host, p->la.port);
}

int doctor_daemons(const struct conf *cf, FILE *fp)
{
	/* With smtpd_delay_reject (the default) all of these run at RCPT, where policyd decides. */
	static const char *const policy_params[] = {
		"smtpd_recipient_restrictions", "smtpd_relay_restrictions",
		"smtpd_sender_restrictions",	"smtpd_helo_restrictions",
		"smtpd_client_restrictions",	NULL};
	static const char *const milter_params[] = {"smtpd_milters", NULL};
	struct probe pol, mil;
	struct timespec t0;
	char owner[64], qdir[256], hint[400];
	int postfix, bad;

	setup(&pol, cf, "moat-policyd", "policy_listen");
	setup(&mil, cf, "moat-contentfilter", "milter_listen");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	probe_policy(&pol, &t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	probe_milter(&mil, &t0);
	postfix = postconf_get("mail_owner", owner, sizeof(owner)) == 0;
	if (postfix) {
		postconf_get("queue_directory", qdir, sizeof(qdir));
		find_wiring(&pol, policy_params, "check_policy_service", qdir);
		find_wiring(&mil, milter_params, NULL, qdir);
	} else {
		snprintf(owner, sizeof(owner), "postfix");
		fprintf(fp, "warning: postconf did not answer: not checking that main.cf uses the"
			    " daemons\n");
	}
	snprintf(hint, sizeof(hint),
		 "add \"check_policy_service %s\" to smtpd_recipient_restrictions (after"
		 " reject_unauth_destination)",
		 pol.canon);
	bad = report(&pol, owner, hint, fp);
	snprintf(hint, sizeof(hint), "add %s to smtpd_milters (and non_smtpd_milters)", mil.canon);
	bad |= report(&mil, owner, hint, fp);
	return bad;
}
