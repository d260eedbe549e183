/*
 * listen - listening endpoints written as inet:HOST:PORT, inet:[V6]:PORT
 * or unix:/PATH (the forms Postfix uses in check_policy_service and
 * smtpd_milters), and the listening sockets made from them.
 */
#ifndef MOAT_LISTEN_H
#define MOAT_LISTEN_H

#include <stddef.h>

struct listen_addr {
	int is_unix;		/* 1 for unix:, 0 for inet: */
	char host[256];		/* inet: address or name, without brackets */
	int port;		/* inet: 1..65535 */
	char path[108];		/* unix: socket path */
};

/* Parse an endpoint; -1 with a reason in err when malformed. */
int listen_parse(const char *spec, struct listen_addr *la, char *err, size_t errlen);
/* Bound, listening, non-blocking, close-on-exec socket; -1 with err. */
int listen_open(const struct listen_addr *la, int backlog, char *err, size_t errlen);
/* The endpoint in libmilter's notation (inet:PORT@HOST, inet6:..., unix:PATH). */
void listen_milter_conn(const struct listen_addr *la, char *buf, size_t len);
/* Human-readable endpoint for log lines. */
void listen_format(const struct listen_addr *la, char *buf, size_t len);

#endif
