/*
 * greylist_test - postgrey's greylisting rules over the SQLite store, with
 * the clock in the test's hand: first try deferred, early retry deferred,
 * retry after the delay passes once with a header, retry window, expiry,
 * auto-allow after N, IPv6 /64, sender normalisation.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cidr.h"
#include "store/db.h"
#include "store/gl_store.h"
#include "policyd/greylist.h"
#include "tap.h"

static struct greylist_params gp = {
	.delay = 300, .max_age = 35 * 86400, .retry_window = 2 * 86400, .auto_allow = 5,
	.v4_prefix = 24, .v6_prefix = 64,
};
static struct greylist *gl;
static struct gl_store *store;

static enum gl_verdict check(int64_t now, const char *ip, const char *from, const char *to,
			     const char *inst, struct gl_result *r)
{
	struct ip_addr a;
	struct gl_result tmp;

	if (r == NULL)
		r = &tmp;
	if (ip_parse(ip, strlen(ip), &a) < 0)
		return GL_ERROR;
	greylist_check(gl, now, &a, from, to, inst, r);
	gl_store_flush(store);
	return r->verdict;
}

static const char *norm(const char *s)
{
	static char buf[512];

	gl_normalize_sender(s, buf, sizeof(buf));
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/moat-gl-test.XXXXXX", path[300], err[512];
	struct gl_result r;
	sqlite3 *db;
	int64_t t = 1700000000;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "database opens");
	store = gl_store_sqlite_new(db, 1000);
	ok(store != NULL, "SQLite greylist store");
	gl = greylist_new(&gp, store);

	/* Sender normalisation, as postgrey's do_sender_substitutions. */
	is_str(norm("Alice@Example.ORG"), "alice@example.org", "lower case");
	is_str(norm("alice+news@example.org"), "alice@example.org", "+extension removed");
	is_str(norm("bounce-12345-678@lists.example.org"), "bounce-#-#@lists.example.org",
	       "VERP numbers become #");
	is_str(norm("user123@example.org"), "user123@example.org", "digits inside a word stay");
	is_str(norm("prvs=0123456789=alice@example.org"), "alice@example.org",
	       "BATV prvs=tag=user");
	is_str(norm("prvs=alice=0123456789@example.org"), "alice@example.org",
	       "BATV prvs=user=tag (seen in the wild)");
	is_str(norm("SRS0=HHH=TT=orig.example=alice@forwarder.example"),
	       "alice@orig.example", "SRS0 reduced to the original sender");
	is_str(norm("SRS1=HHH=fwd.example==HHH=TT=orig.example=alice@fwd2.example"),
	       "alice@orig.example", "SRS1 reduced to the original sender");
	is_str(norm("SRS0=broken@forwarder.example"), "srs0=broken@forwarder.example",
	       "malformed SRS left alone");
	is_str(norm(""), "", "null sender stays empty");
	is_str(norm("postmaster"), "postmaster", "address without a domain");

	/* The basic cycle. */
	is_int(check(t, "192.0.2.10", "a@x.org", "b@y.com", "i1", &r), GL_DEFER, "first try deferred");
	is_int(r.wait, 300, "...for the whole delay");
	ok(strcmp(r.why, "new") == 0, "...as new");
	is_int(check(t + 100, "192.0.2.10", "a@x.org", "b@y.com", "i1", &r), GL_DEFER,
	       "early retry deferred");
	is_int(r.wait, 200, "...with the seconds left");
	ok(strcmp(r.why, "early retry") == 0, "...as early retry");
	is_int(check(t + 299, "192.0.2.10", "a@x.org", "b@y.com", "i1", &r), GL_DEFER,
	       "a retry one second before the delay: still deferred");
	is_int(r.wait, 1, "...for the last second");
	is_int(check(t + 300, "192.0.2.77", "a@x.org", "B@Y.com", "i2", &r), GL_PASS_DELAYED,
	       "retry after the delay from the same /24 passes, recipient case ignored");
	is_int(r.delayed, 300, "...with the delay for the X-Greylist header");
	is_int(check(t + 300, "192.0.2.10", "a@x.org", "b@y.com", "i2", &r), GL_PASS,
	       "same message, next recipient check: no second header");
	is_int(check(t + 400, "192.0.2.10", "a@x.org", "b@y.com", "i3", &r), GL_PASS,
	       "later messages pass without a header");
	is_int(check(t + 400, "192.0.3.10", "a@x.org", "b@y.com", "i4", &r), GL_DEFER,
	       "another /24 is another triplet");
	is_int(check(t + 400, "192.0.2.10", "a+other@x.org", "b@y.com", "i5", &r), GL_PASS,
	       "sender extension does not make a new triplet");
	is_int(check(t + 400, "192.0.2.10", "a@x.org", "c@y.com", "i6", &r), GL_DEFER,
	       "another recipient is another triplet");

	/* Retry window: a first retry after 2 days starts the wait again. */
	is_int(check(t, "198.51.100.1", "late@x.org", "b@y.com", "j1", NULL), GL_DEFER, "new triplet");
	is_int(check(t + 2 * 86400 + 1, "198.51.100.1", "late@x.org", "b@y.com", "j2", &r), GL_DEFER,
	       "retry after the retry window is deferred again");
	is_int(r.wait, 300, "...for a whole new delay");
	is_int(check(t + 2 * 86400 + 301, "198.51.100.1", "late@x.org", "b@y.com", "j3", NULL),
	       GL_PASS_DELAYED, "...and then passes");

	/* IPv6: greylisted by /64. */
	is_int(check(t, "2001:db8:1:2::1", "v6@x.org", "b@y.com", "k1", NULL), GL_DEFER,
	       "IPv6 first try deferred");
	is_int(check(t + 300, "2001:db8:1:2:ffff::9", "v6@x.org", "b@y.com", "k2", NULL),
	       GL_PASS_DELAYED, "retry from the same /64 passes");
	is_int(check(t + 300, "2001:db8:1:3::1", "v6@x.org", "b@y.com", "k3", NULL), GL_DEFER,
	       "another /64 is deferred");

	/* Auto-allow: after 5 passes (at most one an hour) the client is allowed. */
	for (int i = 0; i < 5; i++) {
		char to[64];
		int64_t now = t + 10 * 86400 + i * 3600;

		snprintf(to, sizeof(to), "rcpt%d@y.com", i);
		check(now, "203.0.113.5", "list@x.org", to, "m", NULL);
		check(now + 300, "203.0.113.5", "list@x.org", to, "m2", NULL);
	}
	is_int(check(t + 11 * 86400, "203.0.113.5", "new@x.org", "brand-new@y.com", "n", &r),
	       GL_PASS, "client auto-allowed after 5 successful retries");
	ok(r.why && strstr(r.why, "auto"), "...as auto-allowed");
	is_int(check(t + 11 * 86400, "203.0.113.6", "new@x.org", "brand-new@y.com", "n", &r),
	       GL_DEFER, "auto-allow is per client address, not network");
	{
		struct gl_client c = {.manual = 1, .last_seen = t};

		gl_store_client_put(store, "203.0.113.99", &c);
		gl_store_flush(store);
		is_int(check(t, "203.0.113.99", "x@x.org", "y@y.com", "o", &r), GL_PASS,
		       "client allowed by hand passes");
	}

	/* Expiry: a full round of slices removes what is too old, keeps the rest. */
	check(t, "192.0.2.200", "old@x.org", "b@y.com", "p", NULL);
	check(t + 300, "192.0.2.200", "old@x.org", "b@y.com", "p2", NULL);
	{
		int removed = 0, n;

		for (int i = 0; i < 4096; i++) {
			n = greylist_expire(gl, t + 3 * 86400);
			removed += n > 0 ? n : 0;
		}
		gl_store_flush(store);
		ok(removed >= 1, "never-retried triplets expire after the retry window (%d)",
		   removed);
		is_int(check(t + 3 * 86400, "192.0.2.200", "old@x.org", "b@y.com", "p3", NULL),
		       GL_PASS, "passed triplets are kept within max_age");
		for (int i = 0; i < 4096; i++)
			greylist_expire(gl, t + 40 * 86400);
		gl_store_flush(store);
		is_int(check(t + 40 * 86400, "192.0.2.200", "old@x.org", "b@y.com", "p4", NULL),
		       GL_DEFER, "...and forgotten after max_age");
	}

	/* A clock that went backwards does not make a negative wait. */
	is_int(check(t + 1000, "192.0.2.222", "clock@x.org", "b@y.com", "q", NULL), GL_DEFER,
	       "new triplet");
	is_int(check(t + 500, "192.0.2.222", "clock@x.org", "b@y.com", "q", &r), GL_DEFER,
	       "earlier clock: still deferred");
	ok(r.wait > 0 && r.wait <= 300, "...for a sane time (%lld)", (long long)r.wait);

	/*
	 * Another process writes between a round's first lookup and a later
	 * request's write (moatctl greylist allow, mid-round): the write must
	 * not be made from the round's old snapshot. The decision is made
	 * again under the write lock, and sees the client allowed by hand.
	 */
	{
		struct gl_client gc;
		struct ip_addr a;
		sqlite3 *other = db_open(path, 1000, err, sizeof(err));
		char sql[200];

		ok(gl_store_client_get(store, "198.18.0.99", &gc) == 0,
		   "a round's first lookup takes its snapshot");
		snprintf(sql, sizeof(sql), "INSERT INTO greylist_clients (client, count, last_seen,"
			 " manual) VALUES ('203.0.113.7', 0, %lld, 1)", (long long)t);
		ok(other && sqlite3_exec(other, sql, NULL, NULL, NULL) == SQLITE_OK,
		   "...then another connection allows a client by hand");
		ip_parse("203.0.113.7", strlen("203.0.113.7"), &a);
		greylist_check(gl, t, &a, "mid@x.org", "b@y.com", "m1", &r);
		gl_store_flush(store);
		is_int(r.verdict, GL_PASS, "the same round's request from that client passes");
		ok(r.why && strcmp(r.why, "client allowed by hand") == 0, "...allowed by hand (%s)",
		   r.why ? r.why : "-");
		gc.manual = 0;
		ok(gl_store_client_get(store, "203.0.113.7", &gc) == 1 && gc.manual == 1,
		   "...and the hand-made allow is still there");
		gl_store_flush(store);
		db_close(other);
	}

	greylist_free(gl);
	gl_store_close(store);
	db_close(db);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			ok(0, "cleanup");
	}
	return done_testing();
}
