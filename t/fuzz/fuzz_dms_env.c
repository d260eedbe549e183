/*
 * fuzz_dms_env - docker-mailserver's mailserver.env as an admin brings it
 * (moatctl/dms_env.c, moatctl import-dms-env): the parser over any bytes,
 * then, for a file it accepts, the changes applied to a real database in
 * dry-run mode (rolled back). Checks the parser's promises: an accepted
 * file has no errors, at most DMS_CHANGES_MAX changes, each naming a line
 * of the file, in file order; a refused one says why, in at most
 * DMS_ERRORS_MAX lines.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl/dms_env.h"
#include "fuzz.h"

static FILE *devnull;
static sqlite3 *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	db = fuzz_db_open();
	return devnull ? 0 : -1;
}

/* Lines in the input, counted as the parser counts them (a last line need not end). */
static int count_lines(const uint8_t *data, size_t size)
{
	int n = 0;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return size && data[size - 1] != '\n' ? n + 1 : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dms_import imp;
	struct dms_counts n;
	char err[512];
	int lines = count_lines(data, size);

	if (dms_env_parse("fuzz.env", (const char *)data, size, &imp) == 0) {
		if (imp.nerrors != 0 || imp.n > DMS_CHANGES_MAX)
			abort();
		for (size_t i = 0; i < imp.n; i++)
			if (imp.v[i].line < 1 || imp.v[i].line > lines || imp.v[i].target == NULL ||
			    (i > 0 && imp.v[i].line < imp.v[i - 1].line))
				abort();
		if (dms_import_apply(db, &imp, 1, devnull, &n, err, sizeof(err)) < 0) {
			if (strlen(err) >= sizeof(err))
				abort();
		} else if ((size_t)(n.applied + n.unchanged + n.not_applied + n.manual) != imp.n) {
			abort();
		}
	} else if (imp.nerrors < 1 || imp.nerrors > DMS_ERRORS_MAX + 1 || imp.errors.len == 0) {
		abort();
	}
	dms_import_free(&imp);
	return 0;
}
