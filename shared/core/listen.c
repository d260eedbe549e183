/*
 * listen - endpoint parsing and listening sockets; see listen.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/listen.h"

int listen_parse(const char *spec, struct listen_addr *la, char *err, size_t errlen)
{
	const char *hp, *colon;
	char *end;
	long port;
	size_t hlen;

	memset(la, 0, sizeof(*la));
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/') {
			snprintf(err, errlen, "unix socket path must be absolute");
			return -1;
		}
		if (strlen(spec + 5) >= sizeof(la->path)) {
			/* The rest of sun_path is for the temporary name (listen.h). */
			snprintf(err, errlen, "unix socket path longer than %zu bytes",
				 sizeof(la->path) - 1);
			return -1;
		}
		la->is_unix = 1;
		strcpy(la->path, spec + 5);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0) {
		snprintf(err, errlen, "expected inet:HOST:PORT or unix:/PATH");
		return -1;
	}
	hp = spec + 5;
	if (*hp == '[') {
		const char *rb = strchr(hp, ']');

		if (rb == NULL || rb[1] != ':') {
			snprintf(err, errlen, "expected inet:[IPV6]:PORT");
			return -1;
		}
		hlen = (size_t)(rb - hp - 1);
		hp++;
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "missing port (inet:HOST:PORT)");
			return -1;
		}
		hlen = (size_t)(colon - hp);
		if (memchr(hp, ':', hlen)) {
			snprintf(err, errlen, "write IPv6 addresses in brackets: inet:[::1]:PORT");
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(la->host)) {
		snprintf(err, errlen, "missing or too long host");
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "port must be a number from 1 to 65535");
		return -1;
	}
	memcpy(la->host, hp, hlen);
	la->port = (int)port;
	return 0;
}

static void unix_sockaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
}

/*
 * Whether a process answers on the socket at path: 1 yes, 0 no (nothing
 * listens: a crash left it), -1 cannot tell. Non-blocking, so a live
 * daemon with a full listen queue (EAGAIN) is seen as alive, not waited for.
 */
static int unix_answers(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	unix_sockaddr(&sun, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
		rc = 1;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		rc = 0;
	else
		rc = -1;
	close(fd);
	return rc;
}

int listen_unix_check(const struct listen_addr *la, char *err, size_t errlen)
{
	struct stat st, again;

	if (lstat(la->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot use unix:%s: %s", la->path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", la->path);
		return -1;
	}
	switch (unix_answers(la->path)) {
	case 1:
		snprintf(err, errlen, "%s is in use by another process", la->path);
		return -1;
	case -1:
		snprintf(err, errlen, "cannot tell whether %s is in use: %s", la->path,
			 strerror(errno));
		return -1;
	}
	/*
	 * Nobody answers: remove it, but only the very socket we probed (a
	 * daemon starting beside us may have just published a new one).
	 */
	if (lstat(la->path, &again) == 0 && again.st_dev == st.st_dev &&
	    again.st_ino == st.st_ino && unlink(la->path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s", la->path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void listen_unix_tmp(const struct listen_addr *la, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%ld~", la->path, (long)getpid() % 10000000);
}

int listen_unix_publish(struct listen_addr *la, char *err, size_t errlen)
{
	char tmp[sizeof(la->path) + LISTEN_UNIX_TMP_EXTRA];
	struct stat st;
	int rc = 0;

	listen_unix_tmp(la, tmp, sizeof(tmp));
	if (link(tmp, la->path) < 0) {
		if (errno == EEXIST)
			snprintf(err, errlen,
				 "%s is in use by another process (started at the"
				 " same time)",
				 la->path);
		else
			snprintf(err, errlen, "cannot listen on unix:%s: %s", la->path,
				 strerror(errno));
		rc = -1;
	} else if (lstat(la->path, &st) == 0) {
		la->dev = st.st_dev;
		la->ino = st.st_ino;
	}
	unlink(tmp);
	return rc;
}

void listen_unix_remove(const struct listen_addr *la)
{
	struct stat st;

	if (!la->is_unix || la->ino == 0)
		return;
	if (lstat(la->path, &st) == 0 && st.st_dev == la->dev && st.st_ino == la->ino)
		unlink(la->path);
}

static int open_unix(struct listen_addr *la, int backlog, char *err, size_t errlen)
{
	char tmp[sizeof(la->path) + LISTEN_UNIX_TMP_EXTRA];
	struct sockaddr_un sun;
	int fd;

	if (listen_unix_check(la, err, errlen) < 0)
		return -1;
	listen_unix_tmp(la, tmp, sizeof(tmp));
	unix_sockaddr(&sun, tmp);
	unlink(tmp); /* ours: a start with our pid that died before publishing */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, backlog) < 0) {
		snprintf(err, errlen, "cannot listen on unix:%s: %s", la->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	if (listen_unix_publish(la, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int listen_open(struct listen_addr *la, int backlog, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char port[16];
	int fd, on = 1, rc;

	if (la->is_unix)
		return open_unix(la, backlog, err, errlen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", la->port);
	if ((rc = getaddrinfo(la->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve listen address %s: %s", la->host,
			 gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errlen, "cannot listen on inet:%s:%d: %s%s", la->host, la->port,
			 strerror(errno),
			 errno == EADDRINUSE ? " (another program has this port)" : "");
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

void listen_milter_conn(const struct listen_addr *la, char *buf, size_t len)
{
	if (la->is_unix)
		snprintf(buf, len, "unix:%s", la->path);
	else if (strchr(la->host, ':'))
		snprintf(buf, len, "inet6:%d@%s", la->port, la->host);
	else
		snprintf(buf, len, "inet:%d@%s", la->port, la->host);
}

void listen_format(const struct listen_addr *la, char *buf, size_t len)
{
	if (la->is_unix)
		snprintf(buf, len, "unix:%s", la->path);
	else if (strchr(la->host, ':'))
		snprintf(buf, len, "inet:[%s]:%d", la->host, la->port);
	else
		snprintf(buf, len, "inet:%s:%d", la->host, la->port);
}

int listen_poke(const struct listen_addr *la, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int c, rc;

	if (la->is_unix) {
		unix_sockaddr((struct sockaddr_un *)&ss, la->path);
		sl = sizeof(struct sockaddr_un);
	} else if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		return -1;
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		/* Listening on every address: knock on the loopback one. */
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
	}
	if ((c = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	rc = connect(c, (struct sockaddr *)&ss, sl);
	rc = rc == 0 || errno == EINPROGRESS || errno == EAGAIN ? 0 : -1;
	close(c);
	return rc;
}
