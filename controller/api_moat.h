/*
 * api_moat - the MOAT API: moat's own endpoints under /moat/ for its web UI
 * and scripts (moat-controller(8), section MOAT API): who is logged in,
 * the dashboard, the history searched and paged, one message with its
 * symbols, learning a history row from its kept Bayes tokens, greylisting
 * and composites. JSON in and out; arguments and bodies are checked by
 * moat_req.c before they reach SQL. Access and methods are the route
 * table's (api.h), judged by http.c before a handler runs.
 */
#ifndef MOAT_CTL_API_MOAT_H
#define MOAT_CTL_API_MOAT_H

#include "controller/api.h"

/* The /moat/ route for a path, or NULL. */
const struct api_route *api_moat_route(const char *path);

#endif
