/*
 * fuzz_conf - moat.conf as the operator writes it (shared/core/conf.c): the
 * file read from a memfd, then $name expansion and every value's type
 * checked, then printed back. An input line starting with "-o " is also
 * applied as a command-line override. Then read as moatctl reads it
 * (conf_load_lenient), which must load any readable file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "fuzz.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	return devnull ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *cf = conf_new();
	char err[512] = "", *s = fuzz_cstr(data, size), *line, *save = NULL;

	const char *path = fuzz_file(data, size);

	if (conf_read_file(cf, path, 1, err, sizeof(err)) == 0) {
		for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "-o ", 3) == 0)
				conf_override(cf, line + 3, err, sizeof(err));
		if (conf_finish(cf, err, sizeof(err)) == 0) {
			conf_print(cf, devnull, 1, 0);
			conf_print_one(cf, devnull, "database_path", 0);
			(void)conf_str(cf, "myhostname");
			(void)conf_num(cf, "policy_line_limit");
			(void)conf_bool(cf, "soft_reject_on_timeout");
		}
	}
	if (strlen(err) >= sizeof(err))
		abort();
	/* moatctl's reading: every bad line a warning, so a readable file always loads. */
	{
		int n = -1;
		struct conf *lc = conf_load_lenient(path, 1, NULL, 0, &n, err, sizeof(err));

		if (lc == NULL || n < 0)
			abort();
		conf_print(lc, devnull, 0, 0);
		conf_free(lc);
	}
	fuzz_file_close();
	conf_free(cf);
	free(s);
	return 0;
}
