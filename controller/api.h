/*
 * api - the controller's endpoints, with the paths, methods and JSON
 * shapes of Rspamd's controller (src/controller.c, src/libserver/protocol.c,
 * docs/developers/protocol.md), so rspamc, Dovecot's IMAPSieve pipe and
 * Rspamd's web UI talk to moat unchanged. Statistics and history come
 * from moat's history table (both daemons' scans), so they survive
 * restarts. The HTTP side (http.c) has already read, limited and
 * decompressed the body and judged access.
 */
#ifndef MOAT_CTL_API_H
#define MOAT_CTL_API_H

#include <stddef.h>

#include "controller/access.h"
#include "controller/req.h"

struct work;
struct api_req;
struct api_resp;

/* What an endpoint needs to be let in, and whether it takes a body. */
struct api_route {
	const char *path;
	enum access_level need;
	int body; /* a message or JSON body is required */
	void (*run)(const struct api_route *rt, struct work *w, const struct api_req *rq,
	            struct api_resp *rs);
	const char *method; /* the only method allowed ("GET" also lets HEAD in), or NULL: any */
};

struct api_req {
	const char *body; /* decompressed */
	size_t len;
	const char *q_from, *q_to, *q_type; /* query arguments, decoded, or NULL */
	const char *map_id;                 /* the Map header of /getmap, or NULL */
	struct req_scan scan;               /* the rspamc protocol headers */
	const char *client;                 /* judged client address */
	int can_write;                      /* the request may write (read_only: false) */
	const char *via; /* how access was granted: "secure_ip", "enable_password", "password" */
	/* A query argument, decoded, or NULL (the first of repeated ones). */
	const char *(*arg)(void *ctx, const char *name);
	void *arg_ctx;
};

struct api_resp {
	int status;
	char *body; /* malloc'd */
	size_t len;
	const char *ctype;
};

/* The route for a path (without the query), or NULL: 404. */
const struct api_route *api_route(const char *path);
/* An error reply, as Rspamd's: {"error": "msg"}. */
void api_error(struct api_resp *rs, int status, const char *msg);
/* A JSON reply from j (taken; NULL or unwritable: 500). */
void api_reply_json(struct api_resp *rs, int status, json_t *j);
/* Text from the database or a message as a JSON string: non-UTF-8 bytes become '?'. */
json_t *api_jstr(const char *s);
/* Whether path is a source the list setting (client_allowlist, ...) names now. */
int api_map_configured(const char *list, const char *path);
/* Run a route. */
void api_run(const struct api_route *rt, struct work *w, const struct api_req *rq,
             struct api_resp *rs);
/* The process's start time, for uptime. */
void api_started(void);

#endif
