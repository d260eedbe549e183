/*
 * uicompat - Rspamd's web UI's extra endpoints; see uicompat.h.
 */
#include "config.h"

#include <string.h>

#include "controller/uicompat.h"
#include "core/mem.h"

/* Rspamd's UI asks "neighbours" before anything else and adds the local server itself. */
static void h_neighbours(const struct api_route *rt, struct work *w, const struct api_req *rq,
                         struct api_resp *rs)
{
	(void)rt, (void)w, (void)rq;
	rs->status = 200;
	rs->body = xstrdup("{}");
	rs->len = 2;
	rs->ctype = "application/json";
}

/* Rspamd's selectors plugin: moat has no selectors, so both lists are empty. */
static void h_empty_list(const struct api_route *rt, struct work *w, const struct api_req *rq,
                         struct api_resp *rs)
{
	(void)rt, (void)w, (void)rq;
	rs->status = 200;
	rs->body = xstrdup("[]");
	rs->len = 2;
	rs->ctype = "application/json";
}

static const struct api_route routes[] = {
    {"/neighbours", ACCESS_READ, 0, h_neighbours, "GET"},
    {"/plugins/selectors/list_extractors", ACCESS_WRITE, 0, h_empty_list, "GET"},
    {"/plugins/selectors/list_transforms", ACCESS_WRITE, 0, h_empty_list, "GET"},
};

const struct api_route *uicompat_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			return &routes[i];
	return NULL;
}
