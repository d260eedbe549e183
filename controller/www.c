/*
 * www - the controller's web UI files and security headers; see www.h.
 *
 * A request path is served only if each of its parts is a plain name
 * (letters, digits, '-', '_', '.', '+', '@', not starting with a dot) and
 * the file it names, with every symbolic link resolved (realpath), is a
 * regular file inside the root's own resolved path. libmicrohttpd has
 * percent-decoded the path already, so "%2e%2e" and "%2f" arrive here as
 * ".." and "/" and meet the same checks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "controller/api.h"
#include "controller/www.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "moat_paths.h"

#define WWW_FILE_MAX (16 * 1024 * 1024) /* largest file served (Rspamd's is 1 MB) */
#define WWW_PATH_MAX 512                /* longest request path */
#define WWW_HASHES_MAX 8                /* inline scripts of a foreign index.html allowed */

/*
 * moat's own UI has no inline script or style, so its policy allows only
 * its own files. API replies are data, never a page: nothing at all.
 */
static const char csp_api[] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
static const char csp_moat[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

static char root[PATH_MAX];    /* resolved; "" when there is no UI to serve */
static int foreign;            /* controller_www_root: another UI */
static char csp_foreign[1024]; /* its policy, with its inline scripts' hashes */

/*
 * Another UI (Rspamd's) sets style attributes and has one inline script
 * in its index.html (it shows the loading bar). Its policy allows inline
 * style, and that script by its SHA-256 hash only: any other inline
 * script, such as one injected by a page's data, is still refused.
 */
static void foreign_policy(void)
{
	struct sbuf sb;
	char path[PATH_MAX + 16], *html = NULL;
	FILE *fp;
	long n = 0;
	int hashes = 0;

	sbuf_init(&sb);
	snprintf(path, sizeof(path), "%s/index.html", root);
	if ((fp = fopen(path, "r")) != NULL) {
		html = xmalloc(WWW_FILE_MAX + 1);
		n = (long)fread(html, 1, WWW_FILE_MAX, fp);
		html[n] = '\0';
		fclose(fp);
	}
	sbuf_puts(&sb, "default-src 'self'; script-src 'self'");
	/* Only "<script>" with no attribute: one with src= is a file, allowed by 'self'. */
	for (char *p = html; p && hashes < WWW_HASHES_MAX && (p = strstr(p, "<script>")) != NULL;) {
		char *body = p + 8, *end = strstr(body, "</script>");
		unsigned char md[32];
		unsigned char b64[48];
		unsigned mdlen = 0;

		if (end == NULL)
			break;
		if (EVP_Digest(body, (size_t)(end - body), md, &mdlen, EVP_sha256(), NULL) == 1) {
			EVP_EncodeBlock(b64, md, (int)mdlen);
			sbuf_printf(&sb, " 'sha256-%s'", (char *)b64);
			hashes++;
		}
		p = end + 9;
	}
	sbuf_puts(&sb, "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
	               "object-src 'none'; base-uri 'none'; form-action 'self'; "
	               "frame-ancestors 'none'");
	snprintf(csp_foreign, sizeof(csp_foreign), "%s", sbuf_cstr(&sb));
	sbuf_free(&sb);
	free(html);
}

void www_init(const struct conf *cf)
{
	const char *want = conf_str(cf, "controller_www_root");
	const char *env = getenv("MOAT_WWW_DIR");

	foreign = want && *want;
	/* MOAT_WWW_DIR: moat's UI from the source tree (the tests), not installed. */
	if (!foreign)
		want = env && *env ? env : MOAT_WWWDIR;
	if (realpath(want, root) == NULL) {
		msg_warn("web UI: %s: %s; only the API is served", want, strerror(errno));
		root[0] = '\0';
		return;
	}
	if (foreign)
		foreign_policy();
	msg_info("web UI: %s%s", root, foreign ? " (controller_www_root)" : "");
}

const char *www_csp(int asset)
{
	if (!asset)
		return csp_api;
	return foreign ? csp_foreign : csp_moat;
}

static const struct {
	const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".jpg", "image/jpeg"},
    {".gif", "image/gif"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".xml", "application/xml"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *mime_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static void text(struct api_resp *rs, int status, const char *msg)
{
	rs->status = status;
	rs->body = xstrdup(msg);
	rs->len = strlen(msg);
	rs->ctype = "text/plain; charset=utf-8";
}

/* Each part a plain name that does not start with a dot; "" parts (a//b) refused too. */
static int plain_path(const char *p)
{
	if (*p++ != '/')
		return 0;
	while (*p) {
		if (*p == '.' || *p == '/')
			return 0;
		for (; *p && *p != '/'; p++)
			if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
			    !(*p >= '0' && *p <= '9') && !strchr("-_.+@", *p))
				return 0;
		if (*p == '/')
			p++;
	}
	return 1;
}

/* Read a regular file of at most WWW_FILE_MAX bytes; -1 with errno. */
static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	char *buf;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WWW_FILE_MAX) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break; /* shrunk while read: serve what is there */
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

void www_serve(const char *path, struct api_resp *rs)
{
	char want[PATH_MAX], real[PATH_MAX], *body;
	size_t rootlen = strlen(root), len;
	const char *p = path;

	if (!root[0]) {
		text(rs, 404, "Not found: the web UI is not installed (see controller_www_root)\n");
		return;
	}
	if (strlen(p) > WWW_PATH_MAX || !plain_path(p)) {
		text(rs, 404,
		     "Not found: only plain file names are served (no \"..\", no dotfiles)\n");
		return;
	}
	if (strcmp(p, "/") == 0)
		p = "/index.html";
	if (snprintf(want, sizeof(want), "%s%s%s", root, p,
	             p[strlen(p) - 1] == '/' ? "index.html" : "") >= (int)sizeof(want)) {
		text(rs, 404, "Not found\n");
		return;
	}
	if (realpath(want, real) == NULL) {
		text(rs, 404, "Not found\n");
		return;
	}
	/* A symbolic link may point within the root (Debian links shared libjs files), not out. */
	if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/') {
		msg_warn("web UI: %s leads out of %s; refused", path, root);
		text(rs, 403, "Forbidden: this file is outside the web root\n");
		return;
	}
	if (read_file(real, &body, &len) < 0) {
		text(rs, errno == EFBIG ? 403 : 404,
		     errno == EFBIG ? "Forbidden: file too large\n" : "Not found\n");
		return;
	}
	rs->status = 200;
	rs->body = body;
	rs->len = len;
	rs->ctype = mime_type(real);
}
