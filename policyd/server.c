/*
 * server - policy connections on an event loop; see server.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mail/hdrsafe.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "server.h"

#define READ_CHUNK 16384

struct server_conn {
	struct server *srv;
	int fd;
	struct evhandle *h;
	struct sbuf in, out;
	struct policy_parser pp;
	size_t req_len;		/* bytes of the request being decided */
	int busy;		/* a decision is pending */
	int gone;		/* closed while busy: free on reply */
	time_t last;		/* last activity, for the idle timeout */
	char peer[80];
	int pending;		/* a reply waits for the next flush */
	size_t reply_at;	/* where in out that reply starts */
	char *uncommitted;	/* its replacement if the round's commit fails, or NULL */
	unsigned watched;	/* epoll events registered now */
	struct server_conn *prev, *next;	/* all connections */
	struct server_conn *pprev, *pnext;	/* connections with a reply to send */
};

struct server {
	struct evloop *ev;
	int lfd;
	struct evhandle *lh;
	int accepting;
	struct server_params p;
	struct server_conn *conns;
	struct server_conn *pending;
	time_t accept_pause;	/* accept ran out of descriptors at this time */
	size_t nconns;
	time_t last_sweep;
	int need_flush;		/* a decision ended with no reply to send */
};

static void conn_events(int fd, unsigned events, void *arg);
static void conn_process(struct server_conn *c);

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void set_accepting(struct server *s, int on)
{
	if (s->accepting == on)
		return;
	s->accepting = on;
	evloop_mod(s->ev, s->lh, on ? EPOLLIN : 0);
}

static void pending_add(struct server_conn *c)
{
	struct server *s = c->srv;

	if (c->pending)
		return;
	c->pending = 1;
	c->pprev = NULL;
	c->pnext = s->pending;
	if (s->pending)
		s->pending->pprev = c;
	s->pending = c;
}

static void pending_del(struct server_conn *c)
{
	if (!c->pending)
		return;
	c->pending = 0;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		c->srv->pending = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
}

static void conn_free(struct server_conn *c)
{
	sbuf_free(&c->in);
	sbuf_free(&c->out);
	policy_parser_free(&c->pp);
	free(c->uncommitted);
	free(c);
}

static void conn_close(struct server_conn *c)
{
	struct server *s = c->srv;

	evloop_del(s->ev, c->h);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	pending_del(c);
	if (s->accept_pause == 0)
		set_accepting(s, 1);
	/* A decision still running holds c: it frees it when it replies. */
	if (c->busy)
		c->gone = 1;
	else
		conn_free(c);
}

/*
 * Read while there is nothing to send; write while there is. A busy
 * connection keeps reading (into a bounded buffer) so that the usual
 * request-reply turn costs no epoll_ctl at all.
 */
static void conn_watch(struct server_conn *c)
{
	unsigned ev = EPOLLRDHUP;

	/* A reply waiting for the round's flush is written by the tick, not epoll. */
	if (c->out.len && !c->pending)
		ev |= EPOLLOUT;
	else if (c->in.len <= c->srv->p.limits->request_max)
		ev |= EPOLLIN;
	if (ev != c->watched && evloop_mod(c->srv->ev, c->h, ev) == 0)
		c->watched = ev;
}

/* Write what we can; -1 if the connection died. */
static int conn_flush(struct server_conn *c)
{
	while (c->out.len) {
		ssize_t n = write(c->fd, c->out.data, c->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			msg_info("policy connection from %s: write: %s", c->peer,
				 n < 0 ? strerror(errno) : "closed");
			return -1;
		}
		sbuf_consume(&c->out, (size_t)n);
	}
	return 0;
}

static void put_reply(struct server_conn *c, const char *action)
{
	c->reply_at = c->out.len;
	sbuf_puts(&c->out, "action=");
	/* The text may quote the request (%r in greylist_text): one line, whatever it held. */
	hdrsafe_line(&c->out, action);
	sbuf_puts(&c->out, "\n\n");
}

void server_reply(struct server_conn *c, const char *action, const char *uncommitted)
{
	if (c->gone) {
		/* Its client left; the round's state still wants before_flush. */
		c->srv->need_flush = 1;
		conn_free(c);
		return;
	}
	c->busy = 0;
	put_reply(c, action);
	free(c->uncommitted);
	c->uncommitted = uncommitted ? xstrdup(uncommitted) : NULL;
	sbuf_consume(&c->in, c->req_len);
	policy_parser_reset(&c->pp);
	c->req_len = 0;
	c->last = now();
	/* Sent after the round's before_flush (group commit), not now. */
	pending_add(c);
}

/* Parse and hand over buffered requests while the connection is free. */
static void conn_process(struct server_conn *c)
{
	char err[256];

	while (!c->busy && c->out.len == 0 && c->in.len) {
		struct policy_request req;
		size_t used;
		enum policy_parse_result r =
			policy_parse(&c->pp, c->in.data, c->in.len, &req, &used, err, sizeof(err));

		if (r == POLICY_MORE)
			break;
		if (r == POLICY_ERROR) {
			msg_warn("policy connection from %s: %s; closing it", c->peer, err);
			conn_close(c);
			return;
		}
		c->busy = 1;
		c->req_len = used;
		c->srv->p.on_request(c, &req, c->srv->p.arg);
	}
	conn_watch(c);
}

static void conn_read(struct server_conn *c)
{
	ssize_t n;

	sbuf_reserve(&c->in, READ_CHUNK);
	n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		if (c->in.len)
			msg_info("policy connection from %s: closed in the middle of a request",
				 c->peer);
		else
			msg_debug("policy connection from %s: closed", c->peer);
		conn_close(c);
		return;
	}
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	c->last = now();
	if (c->busy)
		conn_watch(c);	/* keep it buffered; stop reading past the limit */
	else
		conn_process(c);
}

static void conn_events(int fd, unsigned events, void *arg)
{
	struct server_conn *c = arg;

	if (events & EPOLLOUT) {
		if (conn_flush(c) < 0) {
			conn_close(c);
			return;
		}
		if (c->out.len == 0)
			conn_process(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		conn_read(c);
}

static void peer_name(int fd, char buf[80], size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "unix");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static void on_accept(int lfd, unsigned events, void *arg)
{
	struct server *s = arg;

	/* A bounded batch per round, so a connection storm cannot starve replies. */
	for (int i = 0; i < 64; i++) {
		struct server_conn *c;
		int fd;

		if (s->nconns >= (size_t)s->p.max_conns) {
			set_accepting(s, 0);
			return;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/*
				 * Out of descriptors: the listening socket stays readable, so
				 * stop watching it for a second rather than spin; clients wait
				 * in the listen queue meanwhile.
				 */
				if (s->accept_pause == 0)
					msg_warn("accept: %s; pausing new connections (%zu open)",
						 strerror(errno), s->nconns);
				s->accept_pause = now();
				set_accepting(s, 0);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				msg_warn("accept: %s", strerror(errno));
			}
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->srv = s;
		c->fd = fd;
		c->last = now();
		sbuf_init(&c->in);
		sbuf_init(&c->out);
		policy_parser_init(&c->pp, s->p.limits);
		peer_name(fd, c->peer, sizeof(c->peer));
		c->watched = EPOLLIN | EPOLLRDHUP;
		c->h = evloop_add(s->ev, fd, c->watched, conn_events, c);
		if (c->h == NULL) {
			msg_warn("cannot watch connection: %s", strerror(errno));
			close(fd);
			conn_free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		msg_debug("policy connection from %s", c->peer);
	}
}

/*
 * After each round: let the owner make the round's state durable, then
 * send the replies it produced and read on where a client has sent more.
 */
static void flush_pending(struct server *s)
{
	if (s->need_flush && !s->pending && s->p.before_flush)
		s->p.before_flush(s->p.arg);
	s->need_flush = 0;
	for (int round = 0; s->pending && round < 4; round++) {
		struct server_conn *list = s->pending;

		int failed = s->p.before_flush && s->p.before_flush(s->p.arg) < 0;

		s->pending = NULL;
		for (struct server_conn *c = list; c; c = c->pnext) {
			c->pending = 0;
			/* Not written yet (pending replies are not flushed): replace it whole. */
			if (failed && c->uncommitted) {
				c->out.len = c->reply_at;
				c->out.data[c->out.len] = '\0';
				put_reply(c, c->uncommitted);
			}
			free(c->uncommitted);
			c->uncommitted = NULL;
		}
		while (list) {
			struct server_conn *c = list;

			list = c->pnext;
			if (conn_flush(c) < 0)
				conn_close(c);
			else if (c->out.len == 0)
				conn_process(c);
			else
				conn_watch(c);
		}
	}
}

/* Before each wait: send replies; once a second: close idle connections. */
static int server_tick(void *arg)
{
	struct server *s = arg;
	time_t t;

	flush_pending(s);
	if (s->pending)
		return 0;
	t = now();
	if (s->accept_pause && t > s->accept_pause) {
		s->accept_pause = 0;
		if (s->nconns < (size_t)s->p.max_conns)
			set_accepting(s, 1);
	}
	if (t == s->last_sweep)
		return 1000;
	s->last_sweep = t;
	for (struct server_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (!c->busy && t - c->last >= s->p.idle_timeout) {
			msg_debug("policy connection from %s: idle for %ds, closing", c->peer,
				  (int)(t - c->last));
			conn_close(c);
		}
	}
	return 1000;
}

struct server *server_new(struct evloop *ev, int listen_fd, const struct server_params *p)
{
	struct server *s = xcalloc(1, sizeof(*s));

	s->ev = ev;
	s->lfd = listen_fd;
	s->p = *p;
	s->accepting = 1;
	s->lh = evloop_add(ev, listen_fd, EPOLLIN, on_accept, s);
	if (s->lh == NULL || evloop_tick(ev, server_tick, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void server_free(struct server *s)
{
	if (s == NULL)
		return;
	while (s->conns)
		conn_close(s->conns);
	evloop_del(s->ev, s->lh);
	free(s);
}

const char *server_conn_peer(const struct server_conn *c)
{
	return c->peer;
}

size_t server_nconns(const struct server *s)
{
	return s->nconns;
}

void server_set_idle_timeout(struct server *s, int seconds)
{
	s->p.idle_timeout = seconds;
}
