/*
 * www - the controller's web UI: files from one directory (moat's own UI,
 * installed in $(pkgdatadir)/www, or controller_www_root, e.g. Debian
 * rspamd's /usr/share/rspamd/www), and the security headers every reply
 * carries (Content-Security-Policy without inline script, nosniff,
 * no-referrer). Only plain names under the root are served: no "..", no
 * dotfiles, nothing a symbolic link leads out of the root to.
 */
#ifndef MOAT_CTL_WWW_H
#define MOAT_CTL_WWW_H

#include <stddef.h>

struct conf;
struct api_resp;

/* The web root from cf; a missing root only means every asset is 404 (logged). */
void www_init(const struct conf *cf);
/* The reply for a GET of path (already percent-decoded): a file, 403 or 404. */
void www_serve(const char *path, struct api_resp *rs);
/* The Content-Security-Policy for an API reply (0) or a file from the web root (1). */
const char *www_csp(int asset);

#endif
