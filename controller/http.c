/*
 * http - the controller's HTTP server; see http.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <zstd.h>

#include "controller/access.h"
#include "controller/api.h"
#include "controller/http.h"
#include "controller/uicompat.h"
#include "controller/work.h"
#include "controller/www.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/passwd.h"

struct http {
	struct MHD_Daemon *d;
	pthread_t watchdog;
	int stop; /* under watch_mu */
};

/*
 * Slow clients. libmicrohttpd's timeout is an idle timeout: a client that
 * sends one header line every few seconds (slowloris) keeps a connection
 * for ever. So every connection is watched from its start, or from the end
 * of its last request, until its next request's headers are complete; one
 * that takes longer than controller_timeout is shut down by the watchdog
 * thread. The entry leaves the list in libmicrohttpd's close notification,
 * which comes before the socket is closed, and both hold watch_mu: the
 * watchdog never shuts down a descriptor that has been reused.
 */
struct watch {
	int fd;
	time_t since;
	int in_request; /* headers complete, request under way */
	struct watch *prev, *next;
};

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cv = PTHREAD_COND_INITIALIZER;
static struct watch *watched;
static long header_deadline; /* controller_timeout */

/* One request, from its first callback to its completion. */
struct rq_state {
	const struct api_route *rt;
	struct api_req rq;
	char *buf; /* the body as read (decompressed) */
	size_t len, cap, limit;
	ZSTD_DCtx *z; /* Content-Encoding: zstd */
	int too_big, bad_zstd;
	size_t zleft;      /* ZSTD_decompressStream's last hint: 0 once a frame ended */
	char hdr_err[256]; /* a protocol header moat cannot use */
};

static size_t body_limit; /* controller_body_limit, fixed at start */
/*
 * Connections open now. libmicrohttpd closes a connection over its own
 * limit without a word; ours is lower, so a client over it is told 503
 * instead (libmicrohttpd's limit, twice ours, then only guards the
 * descriptors).
 */
static atomic_int conns;
static int max_conns;

static void state_free(struct rq_state *s)
{
	if (s == NULL)
		return;
	req_scan_free(&s->rq.scan);
	free((char *)s->rq.client);
	ZSTD_freeDCtx(s->z);
	free(s->buf);
	free(s);
}

/*
 * Every reply, API or file, carries the headers that keep a browser from
 * running anything the page did not bring itself (issue 19): a
 * Content-Security-Policy without inline script, no MIME sniffing (a JSON
 * reply or a text/plain error is never read as HTML), no Referer with the
 * UI's address to other sites.
 */
static enum MHD_Result send_resp_csp(struct MHD_Connection *c, struct api_resp *rs, int asset)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(rs->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->ctype);
	MHD_add_response_header(r, "Content-Security-Policy", www_csp(asset));
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* Refused for its size or its load: the connection is not kept for more. */
	if (rs->status == 413 || rs->status == 429 || rs->status == 503)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct api_resp *rs)
{
	return send_resp_csp(c, rs, 0);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
	struct api_resp rs;

	api_error(&rs, status, msg);
	return send_resp(c, &rs);
}

/* Append n bytes to the body, within the limit. */
static void append(struct rq_state *s, const char *p, size_t n)
{
	if (s->too_big)
		return;
	if (n > s->limit - s->len) {
		s->too_big = 1;
		return;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;

		while (cap < s->len + n + 1)
			cap *= 2;
		s->buf = xrealloc(s->buf, cap);
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

/* Decompress a piece of a zstd body; the output counts against the limit (no bombs). */
static void inflate_zstd(struct rq_state *s, const char *p, size_t n)
{
	ZSTD_inBuffer in = {p, n, 0};
	char out[65536];

	/* Each round consumes input or fills out; ZSTD either progresses or fails. */
	while ((in.pos < in.size) && !s->too_big && !s->bad_zstd) {
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		size_t rc = ZSTD_decompressStream(s->z, &ob, &in);

		if (ZSTD_isError(rc)) {
			s->bad_zstd = 1;
			return;
		}
		s->zleft = rc;
		append(s, out, ob.pos);
		if (ob.pos == 0 && in.pos == in.size)
			break;
	}
	/*
	 * Output may remain buffered inside zstd after the input is used up,
	 * unless the frame has ended (a call then would start a new frame and
	 * ask for its header).
	 */
	for (int guard = 0; s->zleft != 0 && !s->too_big && !s->bad_zstd && guard < 1 << 20;
	     guard++) {
		ZSTD_inBuffer none = {NULL, 0, 0};
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		size_t rc = ZSTD_decompressStream(s->z, &ob, &none);

		if (ZSTD_isError(rc)) {
			s->bad_zstd = 1;
			return;
		}
		s->zleft = rc;
		append(s, out, ob.pos);
		if (ob.pos < sizeof(out))
			break;
	}
}

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct rq_state *s = cls;

	(void)kind;
	if (s->hdr_err[0] || key == NULL || value == NULL)
		return MHD_YES;
	if (req_scan_header(&s->rq.scan, key, value, strlen(value), s->hdr_err,
	                    sizeof(s->hdr_err)) < 0 &&
	    !s->hdr_err[0])
		snprintf(s->hdr_err, sizeof(s->hdr_err), "%s: unusable", key);
	return MHD_YES;
}

/* A stored password hash from the settings table ("" if unset or unreadable). */
static void stored_hash(struct work *w, const char *name, char *out, size_t len)
{
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(w->db, "SELECT value FROM settings WHERE name = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static int is_zstd(const char *v)
{
	return v && strcasecmp(v, "zstd") == 0;
}

/* The first callback: route, limits, access; a reply queued here ends the request. */
static enum MHD_Result first(struct MHD_Connection *c, const char *url, const char *method,
                             struct rq_state *s, int *replied)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *peer = NULL;
	const char *cl, *fwd, *pw, *enc;
	char hr[PASSWD_HASH_MAX], hw[PASSWD_HASH_MAX];
	struct access_result ar;
	struct work *w;
	unsigned long long n;

	*replied = 1;
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "HEAD") != 0)
		return send_error(c, 405, "Method not allowed");
	if (atomic_load(&conns) > max_conns)
		return send_error(c, 503, "Too many connections");
	/* An endpoint by its exact path; any other GET is a file of the web UI (www.c). */
	if ((s->rt = api_route(url)) == NULL && (s->rt = uicompat_route(url)) == NULL) {
		struct api_resp rs;

		if (strcmp(method, "POST") == 0)
			return send_error(c, 404, "No such endpoint");
		memset(&rs, 0, sizeof(rs));
		www_serve(url, &rs);
		return send_resp_csp(c, &rs, 1);
	}
	if (s->rt->method && strcmp(method, s->rt->method) != 0 &&
	    !(strcmp(method, "HEAD") == 0 && strcmp(s->rt->method, "GET") == 0))
		return send_error(c, 405, strcmp(s->rt->method, "POST") == 0
		                              ? "Method not allowed: this endpoint takes POST"
		                              : "Method not allowed: this endpoint takes GET");
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && sscanf(cl, "%llu", &n) == 1 && n > body_limit)
		return send_error(c, 413, "Request body too large");
	if ((w = work_get()) == NULL)
		return send_error(c, 503, "Database unavailable");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr && ci->client_addr->sa_family != AF_UNIX)
		peer = ci->client_addr;
	fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	if (fwd == NULL)
		fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP");
	pw = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Password");
	if (pw == NULL)
		pw = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "password");
	stored_hash(w, "controller_password", hr, sizeof(hr));
	stored_hash(w, "controller_enable_password", hw, sizeof(hw));
	access_check(work_access(), peer, fwd, pw, hr, hw, &ar);
	s->rq.client = xstrdup(ar.client);
	s->rq.can_write = ar.level == ACCESS_WRITE;
	s->rq.via = ar.secure                                  ? "secure_ip"
	            : ar.level == ACCESS_WRITE && hw[0] != '\0' ? "enable_password"
	                                                       : "password";
	if (ar.throttled) {
		msg_warn("client=%s: %s refused: too many wrong passwords", ar.client, url);
		return send_error(c, 429, "Too many authentication failures");
	}
	if (ar.bad_password)
		msg_warn("client=%s: %s: wrong password", ar.client, url);
	if (ar.level < s->rt->need) {
		if (ar.level == ACCESS_NONE && !hr[0] && !hw[0])
			return send_error(c, 403,
			                  "Unauthorized: no controller password is set "
			                  "(moatctl controller password)");
		return send_error(c, 403,
		                  ar.level == ACCESS_READ
		                      ? "Unauthorized: this needs the enable password"
		                      : "Unauthorized");
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, each_header, s);
	if (s->hdr_err[0])
		return send_error(c, 400, s->hdr_err);
	enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (enc && !is_zstd(enc) && strcasecmp(enc, "identity") != 0)
		return send_error(c, 415, "Content-Encoding: only zstd is understood");
	if (is_zstd(enc) ||
	    is_zstd(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Compression"))) {
		if ((s->z = ZSTD_createDCtx()) == NULL)
			return send_error(c, 500, "Out of memory");
		/* A frame's window can ask for gigabytes: cap it near the body limit. */
		ZSTD_DCtx_setParameter(s->z, ZSTD_d_windowLogMax, 27);
	}
	s->limit = body_limit;
	*replied = 0;
	return MHD_YES;
}

/* Headers complete (1), or the request answered (0): the deadline stops or starts again. */
static void watch_mark(struct MHD_Connection *c, int in_request)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct watch *w = ci ? ci->socket_context : NULL;

	if (w == NULL)
		return;
	pthread_mutex_lock(&watch_mu);
	w->in_request = in_request;
	w->since = time(NULL);
	pthread_mutex_unlock(&watch_mu);
}

/* api_req's arg(): a query argument as libmicrohttpd decoded it. */
static const char *query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct rq_state *s = *con_cls;
	struct api_resp rs;
	struct work *w;

	(void)cls, (void)version;
	if (s == NULL) {
		int replied;
		enum MHD_Result r;

		s = xcalloc(1, sizeof(*s));
		*con_cls = s;
		watch_mark(c, 1);
		r = first(c, url, method, s, &replied);
		if (replied)
			return r;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (s->z)
			inflate_zstd(s, upload_data, *upload_data_size);
		else
			append(s, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (s->too_big)
		return send_error(c, 413, "Request body too large");
	if (s->bad_zstd || (s->z && s->zleft != 0))
		return send_error(c, 400, "Body is not valid zstd (or cut short)");
	if (s->rt->body && s->len == 0)
		return send_error(c, 400, "Empty body is not permitted");
	if ((w = work_get()) == NULL)
		return send_error(c, 503, "Database unavailable");
	s->rq.body = s->buf ? s->buf : "";
	s->rq.len = s->len;
	s->rq.q_from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
	s->rq.q_to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
	s->rq.q_type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
	s->rq.map_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Map");
	s->rq.arg = query_arg;
	s->rq.arg_ctx = c;
	memset(&rs, 0, sizeof(rs));
	api_run(s->rt, w, &s->rq, &rs);
	return send_resp(c, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)toe;
	watch_mark(c, 0);
	state_free(*con_cls);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct watch *w;

	(void)cls;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_sub(&conns, 1);
		if ((w = *socket_context) == NULL)
			return;
		pthread_mutex_lock(&watch_mu);
		if (w->prev)
			w->prev->next = w->next;
		else
			watched = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&watch_mu);
		free(w);
		*socket_context = NULL;
		return;
	}
	atomic_fetch_add(&conns, 1);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	w = xcalloc(1, sizeof(*w));
	w->fd = ci->connect_fd;
	w->since = time(NULL);
	pthread_mutex_lock(&watch_mu);
	w->next = watched;
	if (watched)
		watched->prev = w;
	watched = w;
	pthread_mutex_unlock(&watch_mu);
	*socket_context = w;
}

static void *watchdog(void *arg)
{
	struct http *h = arg;

	pthread_mutex_lock(&watch_mu);
	while (!h->stop) {
		struct timespec ts;
		time_t now = time(NULL);

		for (struct watch *w = watched; w; w = w->next)
			if (!w->in_request && now - w->since >= header_deadline) {
				/* libmicrohttpd sees the end and closes it as usual. */
				shutdown(w->fd, SHUT_RDWR);
				w->since = now + 86400 * 365;
			}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&watch_cv, &watch_mu, &ts);
	}
	pthread_mutex_unlock(&watch_mu);
	return NULL;
}

/* libmicrohttpd's own complaints (bad requests, limits) into our log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	msg_debug("http: %s", buf);
}

struct http *http_start(const struct conf *cf, int lfd, char *err, size_t errlen)
{
	struct http *h = xcalloc(1, sizeof(*h));

	body_limit = (size_t)conf_num(cf, "controller_body_limit");
	max_conns = (int)conf_num(cf, "controller_max_connections");
	header_deadline = (long)conf_num(cf, "controller_timeout");
	h->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, NULL, MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)conf_num(cf, "controller_threads"), MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)max_conns * 2, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)conf_num(cf, "controller_timeout"), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)conf_num(cf, "controller_header_limit"), MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot start the HTTP server (libmicrohttpd)");
		free(h);
		return NULL;
	}
	if (pthread_create(&h->watchdog, NULL, watchdog, h) != 0) {
		snprintf(err, errlen, "cannot start the watchdog thread");
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	return h;
}

void http_stop(struct http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&watch_mu);
	h->stop = 1;
	pthread_cond_signal(&watch_cv);
	pthread_mutex_unlock(&watch_mu);
	pthread_join(h->watchdog, NULL);
	MHD_stop_daemon(h->d);
	free(h);
}
