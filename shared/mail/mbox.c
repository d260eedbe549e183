/*
 * mbox - walk the messages of files, mbox files and directories; see mbox.h.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "mail/mbox.h"
#include "core/mem.h"

#define MBOX_DEPTH 32		/* directory nesting followed */

int mbox_separator(const char *p, size_t len)
{
	const char *sp;

	/* "From sender Www Mmm ...", not a body line that happens to start with "From ". */
	if (len < 20 || memcmp(p, "From ", 5) != 0)
		return 0;
	sp = memchr(p + 5, ' ', len - 5 < 300 ? len - 5 : 300);
	/* "From addr  Thu Aug 22 ..." : some writers pad with two spaces. */
	while (sp && (size_t)(sp - p) + 10 < len && sp[1] == ' ')
		sp++;
	return sp && (size_t)(sp - p) + 9 < len && isalpha((unsigned char)sp[1]) &&
	       isalpha((unsigned char)sp[2]) && isalpha((unsigned char)sp[3]) && sp[4] == ' ' &&
	       isalpha((unsigned char)sp[5]) && isalpha((unsigned char)sp[6]) &&
	       isalpha((unsigned char)sp[7]) && sp[8] == ' ';
}

static int walk_file(const char *path, size_t limit, mbox_fn fn, void *arg)
{
	FILE *fp = fopen(path, "rb");
	size_t len = 0, cap = 0, start = 0, n;
	char *buf = NULL, name[4200];
	int idx = 0, rc = 0;

	if (fp == NULL) {
		msg_error("cannot open %s: %s", path, strerror(errno));
		return 1;
	}
	do {
		if (len + 65536 > cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len < limit * 64);
	fclose(fp);
	for (size_t i = 0; i <= len && rc >= 0; i++) {
		int boundary = i == len || (i > start && buf[i - 1] == '\n' &&
					    mbox_separator(buf + i, len - i));

		if (!boundary)
			continue;
		if (i > start) {
			if (idx > 0 || i < len)
				snprintf(name, sizeof(name), "%s#%d", path, idx + 1);
			else
				snprintf(name, sizeof(name), "%s", path);
			rc = fn(arg, name, buf + start, i - start < limit ? i - start : limit);
			idx++;
		}
		start = i;
	}
	free(buf);
	return rc;
}

static int walk(const char *path, size_t limit, mbox_fn fn, void *arg, int depth)
{
	struct dirent **list;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return walk_file(path, limit, fn, arg);
	if (depth >= MBOX_DEPTH || (n = scandir(path, &list, NULL, alphasort)) < 0) {
		msg_error("%s: %s", path, depth >= MBOX_DEPTH ? "too deep" : strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (list[i]->d_name[0] != '.' && rc >= 0) {
			int r;

			snprintf(sub, sizeof(sub), "%s/%s", path, list[i]->d_name);
			r = walk(sub, limit, fn, arg, depth + 1);
			rc = r < 0 ? r : r > rc ? r : rc;
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

int mbox_walk(const char *path, size_t limit, mbox_fn fn, void *arg)
{
	return walk(path, limit, fn, arg, 0);
}
