/*
 * uicompat - endpoints that only Rspamd's own web UI asks for, so that it
 * runs against moat-controller (controller_www_root): /neighbours (moat
 * has no cluster: an empty object, as Rspamd without neighbours answers).
 */
#ifndef MOAT_CTL_UICOMPAT_H
#define MOAT_CTL_UICOMPAT_H

#include "controller/api.h"

/* The route for path, or NULL. */
const struct api_route *uicompat_route(const char *path);

#endif
