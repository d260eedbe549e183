/*
 * uicompat - endpoints that only Rspamd's own web UI asks for, so that it
 * runs against moat-controller (controller_www_root): /neighbours (moat
 * has no cluster: an empty object, as Rspamd without neighbours answers)
 * and, for a login that may write, the selectors plugin's two lists
 * (empty: moat has no selectors).
 */
#ifndef MOAT_CTL_UICOMPAT_H
#define MOAT_CTL_UICOMPAT_H

#include "controller/api.h"

/* The route for path, or NULL. */
const struct api_route *uicompat_route(const char *path);

#endif
