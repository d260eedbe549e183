/*
 * greylist_msg_test - the content filter's message greylisting
 * (contentfilter/greylist_msg.c) on a real, migrated SQLite file: a first
 * sight is held, a retry one second before the delay is held, a retry at
 * the delay passes, and the key ignores what Postfix writes anew.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contentfilter/cf.h"
#include "contentfilter/greylist_msg.h"
#include "store/db.h"
#include "tap.h"

/* Move the message's first sighting back by secs, as if it had come then. */
static void age(sqlite3 *db, long long secs)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE milter_greylist SET first_seen = first_seen - %lld", secs);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int main(void)
{
	char dir[] = "/tmp/moat-glmsg-XXXXXX", path[256], err[256];
	static struct cf_conn c;
	struct greylist_msg *g;
	long long waited;
	sqlite3 *db;
	char *rcpt = "bob@example.com";
	const char *msg = "Received: from x by y; now\nSubject: hello\nMessage-ID: <1@x>\n\nbody\n";

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "a migrated database: %s", db ? "" : err);
	g = greylist_msg_new(db, err, sizeof(err));
	ok(g != NULL, "greylist_msg_new");
	snprintf(c.client, sizeof(c.client), "192.0.2.1");
	snprintf(c.from, sizeof(c.from), "alice@sender.example");
	c.rcpts[0] = rcpt;
	c.nrcpt = 1;
	sbuf_init(&c.raw);
	sbuf_append(&c.raw, msg, strlen(msg));

	is_int(greylist_msg_check(g, &c, "Q1", 300, &waited), 0, "first sight: held");
	is_int(waited, 0, "...having waited nothing");
	age(db, 299);
	is_int(greylist_msg_check(g, &c, "Q2", 300, &waited), 0,
	       "a retry at first sight + 299s (delay 300s): still held");
	age(db, 1);
	is_int(greylist_msg_check(g, &c, "Q3", 300, &waited), 1,
	       "a retry at first sight + 300s: passes");
	ok(waited >= 300 && waited <= 301, "...having waited the delay: %lld", waited);

	sqlite3_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON milter_greylist "
			 "BEGIN SELECT RAISE(ABORT, 'refused'); END",
		     NULL, NULL, NULL);
	is_int(greylist_msg_check(g, &c, "Q4", 300, &waited), -1, "a write refused: -1");

	greylist_msg_free(g);
	sbuf_free(&c.raw);
	db_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return done_testing();
}
