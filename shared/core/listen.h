/*
 * listen - listening endpoints written as inet:HOST:PORT, inet:[V6]:PORT
 * or unix:/PATH (the forms Postfix uses in check_policy_service and
 * smtpd_milters), and the listening sockets made from them.
 */
#ifndef MOAT_LISTEN_H
#define MOAT_LISTEN_H

#include <stddef.h>

#include <sys/types.h>

/*
 * A unix socket is bound at a temporary name beside its path and then
 * hard-linked to the path (listen_unix_publish): link() never replaces a
 * file, so of two daemons starting at once one wins and the other is
 * refused, and nobody's live socket is ever unlinked. The temporary name
 * costs LISTEN_UNIX_TMP_EXTRA bytes of the 107 a socket path may have.
 */
#define LISTEN_UNIX_TMP_EXTRA 12

struct listen_addr {
	int is_unix;		/* 1 for unix:, 0 for inet: */
	char host[256];		/* inet: address or name, without brackets */
	int port;		/* inet: 1..65535 */
	char path[108 - LISTEN_UNIX_TMP_EXTRA];	/* unix: socket path */
	dev_t dev;		/* unix: the socket we published, once published */
	ino_t ino;
};

/* Parse an endpoint; -1 with a reason in err when malformed. */
int listen_parse(const char *spec, struct listen_addr *la, char *err, size_t errlen);
/*
 * Bound, listening, non-blocking, close-on-exec socket; -1 with err. A
 * unix socket is checked and published as the functions below do.
 */
int listen_open(struct listen_addr *la, int backlog, char *err, size_t errlen);
/*
 * unix: refuse a path a live process answers on ("in use"), or that is not
 * a socket; remove a socket nobody answers on (left by a crash). 0 or -1.
 */
int listen_unix_check(const struct listen_addr *la, char *err, size_t errlen);
/* unix: the temporary name to bind before listen_unix_publish(). */
void listen_unix_tmp(const struct listen_addr *la, char *buf, size_t len);
/*
 * unix: give the socket bound at the temporary name its path, never
 * replacing a file there, and remember which socket it is; -1 with err.
 * The temporary name is gone either way.
 */
int listen_unix_publish(struct listen_addr *la, char *err, size_t errlen);
/* unix: at exit, remove the path only while it is still our socket. */
void listen_unix_remove(const struct listen_addr *la);
/*
 * Connect to the listening socket fd (or, for unix, to la's path) and hang
 * up at once, to wake a thread waiting in poll() on it. 0 or -1.
 */
int listen_poke(const struct listen_addr *la, int fd);
/* The endpoint in libmilter's notation (inet:PORT@HOST, inet6:..., unix:PATH). */
void listen_milter_conn(const struct listen_addr *la, char *buf, size_t len);
/* Human-readable endpoint for log lines. */
void listen_format(const struct listen_addr *la, char *buf, size_t len);

#endif
