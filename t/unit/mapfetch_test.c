/*
 * mapfetch_test - lists from files (shared/mapfetch.c) without a network:
 * URL redaction, which sources are accepted, file and file:// sources read
 * by the thread and re-read when they change, their status in SQLite.
 * Fetching over HTTP is tested end to end by t/maps-url.t.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cidr.h"
#include "store/db.h"
#include "core/log.h"
#include "maps/mapfetch.h"
#include "tap.h"

static const char *client(struct mapfetch_list *l, const char *ip)
{
	struct ip_addr a;

	if (ip_parse(ip, strlen(ip), &a) < 0)
		return "bad test address";
	return mapfetch_match_client(l, &a, NULL);
}

static void redacts(const char *url, const char *want)
{
	char out[512];

	mapfetch_redact(url, out, sizeof(out));
	if (!ok(strcmp(out, want) == 0, "redact %s", url))
		printf("#   got %s\n", out);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

static struct mapfetch *new_set(const char *db)
{
	struct mapfetch_params p = {.db_path = db,
	                            .busy_ms = 1000,
	                            .refresh = 1,
	                            .timeout = 2,
	                            .max_bytes = 4096,
	                            .max_entries = 10};

	return mapfetch_new(&p);
}

static void rejects(const char *sources, const char *why)
{
	struct mapfetch *mf = new_set(NULL);
	char err[512] = "";

	ok(mapfetch_add(mf, "client_blocklist", 1, sources, err, sizeof(err)) == NULL,
	   "refused: %.60s", sources);
	if (!ok(strstr(err, why) != NULL, "...because: %s", why))
		printf("#   got %s\n", err);
	mapfetch_free(mf);
}

/* Poll like the event loop until the client's match is want (NULL or not), at most 10 s. */
static int wait_match(struct mapfetch *mf, struct mapfetch_list *l, const char *ip, int want)
{
	for (int i = 0; i < 100; i++) {
		mapfetch_poll(mf);
		if ((client(l, ip) != NULL) == want)
			return 1;
		usleep(100000);
	}
	return 0;
}

static long long status(sqlite3 *db, const char *source, const char *col)
{
	char sql[256];
	sqlite3_stmt *st;
	long long v = -1;

	snprintf(sql, sizeof(sql), "SELECT %s FROM maps_status WHERE source = ?1", col);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -3 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int main(void)
{
	char dir[] = "/tmp/moat-mapfetch-test.XXXXXX", a[300], b[300], loc[300], url[700];
	char dbpath[300], sources[2000], err[512];
	struct mapfetch *mf;
	struct mapfetch_list *l, *senders;
	sqlite3 *db;

	log_init("mapfetch_test", LOG_TO_STDERR, NULL);
	redacts("http://127.0.0.1:8080/lists/block.txt", "http://127.0.0.1:8080/lists/block.txt");
	redacts("https://user:secret@lists.example/x.txt", "https://lists.example/x.txt");
	redacts("https://lists.example/x.txt?key=secret#top", "https://lists.example/x.txt?...");
	redacts("file:///etc/moat/allow", "file:///etc/moat/allow");
	redacts("http://[", "(unparsable URL)");

	rejects("ftp://lists.example/x", "only http://, https:// and file://");
	rejects("/ok/path gopher://x/", "only http://");
	rejects("file://otherhost/etc/x", "not a file URL of this host");
	rejects("http://", "not a valid URL");
	rejects("https://user:pw@/x", "not a valid URL");
	sources[0] = '\0';
	for (int i = 0; i <= MAPFETCH_SOURCES_MAX; i++)
		strcat(sources, "/etc/x ");
	rejects(sources, "more than 16 sources");

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(a, sizeof(a), "%s/clients", dir);
	snprintf(b, sizeof(b), "%s/more clients", dir);
	snprintf(loc, sizeof(loc), "%s/clients.local", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/moat.db", dir);
	snprintf(url, sizeof(url), "file://%s/more%%20clients", dir);
	write_file(a, "192.0.2.1\n198.51.100.0/24\n");
	write_file(b, "203.0.113.5\n");
	db = db_open(dbpath, 1000, err, sizeof(err));
	ok(db != NULL, "database created: %s", db ? "" : err);

	mf = new_set(dbpath);
	/* Start empty: nothing matches and nothing breaks before mapfetch_start. */
	snprintf(sources, sizeof(sources), "%s, %s %s", a, url, loc);
	l = mapfetch_add(mf, "client_blocklist", 1, sources, err, sizeof(err));
	ok(l != NULL, "a path, a file:// URL (with %%20) and a missing .local file: %s",
	   l ? "" : err);
	senders = mapfetch_add(mf, "sender_allowlist", 0, "", err, sizeof(err));
	ok(senders != NULL, "an empty list is fine");
	ok(client(l, "192.0.2.1") == NULL, "nothing in force before the start");
	is_int(mapfetch_start(mf, err, sizeof(err)), 0, "the thread starts");
	ok(client(l, "192.0.2.1") && strcmp(client(l, "192.0.2.1"), a) == 0,
	   "after the start the first source is in force, and named");
	ok(client(l, "198.51.100.77") != NULL, "...with its network");
	ok(client(l, "203.0.113.5") && strstr(client(l, "203.0.113.5"), "more%20clients"),
	   "the file:// source is decoded, read, and named as configured");
	ok(client(l, "192.0.2.2") == NULL, "an address on no list");
	ok(mapfetch_match_address(senders, "a@example.org") == NULL, "the empty list has nothing");
	ok(mapfetch_match_client(NULL, NULL, NULL) == NULL, "no list matches nothing");

	write_file(a, "192.0.2.2\n");
	ok(wait_match(mf, l, "192.0.2.2", 1), "a changed file is read again");
	ok(client(l, "192.0.2.1") == NULL, "...and replaces the old entries");
	write_file(a, "# broken by an editor\n<<<<<<< HEAD\n");
	sleep(2);
	mapfetch_poll(mf);
	ok(client(l, "192.0.2.2") != NULL,
	   "a file that is no longer a list keeps the last good copy");
	unlink(a);
	ok(wait_match(mf, l, "192.0.2.2", 0), "a removed file takes its entries with it");
	ok(client(l, "203.0.113.5") != NULL, "...the other sources stay");
	mapfetch_free(mf);

	is_int(status(db, url, "entries"), 1, "maps_status: entries of the file:// source");
	is_int(status(db, url, "stored_bytes"), -3, "...files are not copied into the database");
	is_int(status(db, a, "entries"), 0, "...the removed file has none");
	db_close(db);
	unlink(b);
	unlink(dbpath);
	snprintf(sources, sizeof(sources), "%s-wal", dbpath);
	unlink(sources);
	snprintf(sources, sizeof(sources), "%s-shm", dbpath);
	unlink(sources);
	rmdir(dir);
	return done_testing();
}
