/*
 * fuzz_www - the web UI's request path check (controller/www.c): any
 * decoded path asked of a web root that holds a file, a file in a
 * subdirectory, a dotfile and symbolic links out of the root. Whatever it
 * serves must be a file inside the root: the outside file's text, and the
 * dotfile's, are never a reply; the status is 200, 403 or 404.
 *
 * Input: the path as libmicrohttpd hands it over (NUL ends it).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/api.h"
#include "controller/www.h"
#include "core/conf.h"
#include "fuzz.h"

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char base[] = "/tmp/moat-fuzz-www.XXXXXX";
	char root[512], p[600], q[600];
	struct conf *cf;

	(void)argc, (void)argv;
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(root, sizeof(root), "%s/www", base);
	snprintf(p, sizeof(p), "%s/sub", root);
	snprintf(q, sizeof(q), "%s/outside", base);
	if (mkdir(root, 0755) < 0 || mkdir(p, 0755) < 0 || mkdir(q, 0755) < 0)
		abort();
	put(root, "index.html", "INDEX");
	put(root, "sub/a.css", "INSIDE");
	put(root, ".secret", "DOTFILE");
	put(base, "outside/x.txt", "OUTSIDE");
	snprintf(p, sizeof(p), "%s/outside/x.txt", base);
	snprintf(q, sizeof(q), "%s/link.txt", root);
	if (symlink(p, q) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/outside", base);
	snprintf(q, sizeof(q), "%s/sub/out", root);
	if (symlink(p, q) < 0 || symlink("a.css", strcat(strcpy(p, root), "/sub/in.css")) < 0)
		abort();
	setenv("MOAT_WWW_DIR", root, 1);
	if ((cf = conf_new()) == NULL)
		abort();
	www_init(cf);
	conf_free(cf);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstr(data, size);
	struct api_resp rs;

	memset(&rs, 0, sizeof(rs));
	www_serve(path, &rs);
	if (rs.status != 200 && rs.status != 403 && rs.status != 404)
		abort();
	if (rs.body == NULL || rs.ctype == NULL)
		abort();
	if (rs.status == 200 && !(rs.len == 5 && memcmp(rs.body, "INDEX", 5) == 0) &&
	    !(rs.len == 6 && memcmp(rs.body, "INSIDE", 6) == 0))
		abort();
	free(rs.body);
	free(path);
	return 0;
}
