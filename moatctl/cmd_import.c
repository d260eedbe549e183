/*
 * cmd_import - moatctl import-custom-commands: docker-mailserver's
 * rspamd/custom-commands.conf applied to the database (dms_import.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "core/mem.h"
#include "dms_import.h"

#define IMPORT_FILE_MAX (16 * 1024 * 1024)	/* a custom-commands file is a few lines */

/* --- import-custom-commands ------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (fp == NULL) {
		msg_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (*len == cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + *len, 1, cap - *len, fp);
		*len += n;
	} while (n > 0 && *len <= IMPORT_FILE_MAX);
	if (ferror(fp) || *len > IMPORT_FILE_MAX) {
		msg_error("%s: %s", path, ferror(fp) ? strerror(errno) : "larger than 16 MiB");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

int cmd_import(struct ctl *ctl, int argc, char **argv)
{
	struct dms_import imp;
	struct dms_counts n;
	const char *path = NULL;
	int dry = 0;
	char err[1024], *buf;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry = 1;
		else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
			path = argv[i];
		else
			return ctl_usage("import-custom-commands [--dry-run] FILE");
	}
	if (path == NULL)
		return ctl_usage("import-custom-commands [--dry-run] FILE");
	if ((buf = read_file(path, &len)) == NULL)
		return 1;
	if (dms_import_parse(path, buf, len, &imp) < 0) {
		fputs(sbuf_cstr(&imp.errors), stderr);
		fprintf(stderr, "%s: nothing imported\n", path);
		dms_import_free(&imp);
		free(buf);
		return 1;
	}
	free(buf);
	if (dms_import_apply(ctl_db(ctl), &imp, dry, stdout, &n, err, sizeof(err)) < 0) {
		dms_import_free(&imp);
		msg_error("%s: %s; nothing imported", path, err);
		return 1;
	}
	dms_import_free(&imp);
	printf("%s: ", path);
	dms_counts_print(&n, stdout);
	printf("%s\n", dry ? " (dry run: nothing written)" : "");
	return 0;
}
