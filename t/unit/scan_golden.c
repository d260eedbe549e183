/*
 * scan_golden - the scanner's golden files: every t/data/scan/NAME.eml is
 * scanned with a new database's rules (gtube_patterns = all, no DNS, no
 * Bayes) and must give the action and X-Spamd-Result in NAME.ref. With
 * MOAT_GOLDEN_WRITE=1 the .ref files are written instead (then review them).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "core/sbuf.h"
#include "scan/scan.h"
#include "tap.h"

static int read_file(const char *path, struct sbuf *out)
{
	FILE *fp = fopen(path, "rb");
	char buf[4096];
	size_t n;

	if (fp == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_append(out, buf, n);
	fclose(fp);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void golden(const struct scan_rules *r, const char *dir, const char *name, int write)
{
	char path[1400];
	struct sbuf eml, want, got;
	struct scan_input in;
	struct scan_result res;

	sbuf_init(&eml);
	sbuf_init(&want);
	sbuf_init(&got);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, &eml) < 0) {
		ok(0, "%s: cannot read", name);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.raw = eml.data ? eml.data : "";
	in.len = eml.len;
	scan_result_init(&res);
	scan_message(r, NULL, &in, &res);
	scan_finish(&res, r);
	sbuf_printf(&got, "%s\n", res.action);
	scan_spamd_result(&res, &got, 0);
	sbuf_putc(&got, '\n');
	memcpy(path + strlen(path) - 4, ".ref", 4);
	if (write) {
		FILE *fp = fopen(path, "w");

		ok(fp && fwrite(got.data, 1, got.len, fp) == got.len && fclose(fp) == 0,
		   "%s: written", path);
	} else if (read_file(path, &want) < 0) {
		ok(0, "%s: no .ref (MOAT_GOLDEN_WRITE=1 writes it)", name);
	} else {
		is_str(sbuf_cstr(&got), sbuf_cstr(&want), "%s", name);
	}
	scan_result_free(&res);
	sbuf_free(&eml);
	sbuf_free(&want);
	sbuf_free(&got);
}

int main(void)
{
	const char *src = getenv("MOAT_SRCDIR");
	const char *w = getenv("MOAT_GOLDEN_WRITE");
	char dir[1024], tmp[] = "/tmp/moat-golden.XXXXXX", path[300], err[512];
	struct dirent **names;
	struct scan_rules *r;
	sqlite3 *db;
	int n;

	snprintf(dir, sizeof(dir), "%s/t/data/scan", src ? src : ".");
	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", tmp);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "database: %s", db ? "ok" : err);
	if (db == NULL)
		return done_testing();
	sqlite3_exec(db, "UPDATE settings SET value = 'all' WHERE name = 'gtube_patterns'", NULL,
	             NULL, NULL);
	r = scan_rules_load(db, err, sizeof(err));
	ok(r != NULL, "rules load");
	n = scandir(dir, &names, NULL, by_name);
	ok(n > 0, "golden files in %s", dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (r && len > 4 && strcmp(names[i]->d_name + len - 4, ".eml") == 0)
			golden(r, dir, names[i]->d_name, w && strcmp(w, "1") == 0);
		free(names[i]);
	}
	free(n > 0 ? names : NULL);
	scan_rules_free(r);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	if (system(path) != 0)
		ok(0, "cleanup");
	return done_testing();
}
