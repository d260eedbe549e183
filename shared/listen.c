/*
 * listen - endpoint parsing and listening sockets; see listen.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

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

static int open_unix(const struct listen_addr *la, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, la->path);
	/* Remove a stale socket left by a crash, but never any other file. */
	if (lstat(la->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", la->path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errlen, "%s is in use by another process", la->path);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		unlink(la->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, backlog) < 0) {
		snprintf(err, errlen, "cannot listen on unix:%s: %s", la->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int listen_open(const struct listen_addr *la, int backlog, char *err, size_t errlen)
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
