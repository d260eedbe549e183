/*
 * fuzz_replay - run one fuzz harness (t/fuzz/fuzz_TARGET.c, FUZZ_TARGET at
 * compile time) over its seeds and over every input that once crashed it
 * (t/data/fuzz/TARGET/), without libFuzzer: so "make check" repeats each
 * fixed defect under the plain and the ASan/UBSan build. A harness aborts
 * on a broken promise; the sanitizers catch the rest.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tap.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every file of dir to the harness; the number of files. */
static int replay(const char *dir, const char *label)
{
	char *names[4096], path[4096];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < 4096)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		FILE *fp;
		char *buf = NULL;
		long len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fp = fopen(path, "rb");
		if (fp == NULL || fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0) {
			ok(0, "%s %s: cannot read it", label, names[i]);
			if (fp)
				fclose(fp);
			continue;
		}
		rewind(fp);
		buf = malloc((size_t)len + 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			ok(0, "%s %s: cannot read it", label, names[i]);
		} else {
			/* Exactly len bytes, as libFuzzer passes them: a read past is caught. */
			char *exact = malloc(len ? (size_t)len : 1);

			memcpy(exact, buf, (size_t)len);
			LLVMFuzzerTestOneInput((const uint8_t *)exact, (size_t)len);
			free(exact);
			ok(1, "%s %s: %ld bytes", label, names[i], len);
		}
		free(buf);
		fclose(fp);
		free(names[i]);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *src = getenv("MOAT_SRCDIR");
	char dir[4096];
	int n = 0;

	if (src == NULL)
		src = ".";
	if (LLVMFuzzerInitialize(&argc, &argv) != 0) {
		ok(0, "%s harness starts", FUZZ_TARGET);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/t/fuzz/seeds/%s", src, FUZZ_TARGET);
	n += replay(dir, FUZZ_TARGET " seed");
	snprintf(dir, sizeof(dir), "%s/t/data/fuzz/%s", src, FUZZ_TARGET);
	n += replay(dir, FUZZ_TARGET " regression");
	ok(n > 0, "%s: %d inputs replayed", FUZZ_TARGET, n);
	return done_testing();
}
