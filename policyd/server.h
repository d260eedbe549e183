/*
 * server - moat-policyd's connections: accept, read, parse, answer.
 *
 * One thread, one evloop, non-blocking sockets. Each connection carries
 * requests one after another (Postfix keeps it open and sends the next
 * request after it got the reply). A decision may be given at once or
 * later (after DNS answers): the connection reads nothing more until its
 * reply is written, so a client that never reads its replies cannot make
 * us buffer without bound.
 */
#ifndef MOAT_SERVER_H
#define MOAT_SERVER_H

#include <stddef.h>

#include "core/evloop.h"
#include "policy_proto.h"

struct server;
struct server_conn;

/*
 * A whole request arrived. req is valid only during the call: copy what a
 * later answer needs. Answer with server_reply(), now or later.
 */
typedef void server_request_fn(struct server_conn *c, const struct policy_request *req,
			       void *arg);

struct server_params {
	const struct policy_limits *limits;
	int max_conns;		/* stop accepting at this many */
	int idle_timeout;	/* seconds without a request before closing */
	server_request_fn *on_request;
	/*
	 * Called before the replies of a round are sent (commit state); may be
	 * NULL. -1: the state was not committed, replies with a fallback send that.
	 */
	int (*before_flush)(void *arg);
	void *arg;
};

/* Serve listen_fd on ev; NULL on failure. */
struct server *server_new(struct evloop *ev, int listen_fd, const struct server_params *p);
/* Close every connection and free. */
void server_free(struct server *s);
/*
 * Answer "action=ACTION" and an empty line. The reply is sent at the end of
 * the event-loop round, after before_flush(), then the next request is read.
 */
void server_reply(struct server_conn *c, const char *action, const char *uncommitted);
/* Peer of the connection for log lines ("127.0.0.1:4711" or "unix"). */
const char *server_conn_peer(const struct server_conn *c);
/* Change the idle timeout (SIGHUP); open connections get it too. */
void server_set_idle_timeout(struct server *s, int seconds);
/* Open connections now. */
size_t server_nconns(const struct server *s);

#endif
