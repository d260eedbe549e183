/*
 * clamav_test - clamd's replies as the client reads them (and Rspamd's
 * lua_scanners/clamav.lua maps them), the verdict cache (hits, TTL, its
 * bound, failures never kept), the cache key (Received fields left out,
 * nothing else), and clamav_servers as clamav_new() reads it. The
 * exchange with a real clamd and a faulty one is t/clamav.t.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "scan/clamav.h"
#include "tap.h"

static struct clamav_verdict parse(const char *s)
{
	struct clamav_verdict v;

	memset(&v, 0x55, sizeof(v));
	clamav_parse_reply(s, strlen(s), &v);
	return v;
}

static void replies(void)
{
	static char big[CLAMAV_REPLY_MAX + 2];
	struct clamav_verdict v;

	is_int(parse("stream: OK").kind, CLAMAV_CLEAN, "stream: OK is clean");
	is_int(parse("stream: OK\n").kind, CLAMAV_CLEAN, "...with the n-form's newline too");
	v = parse("stream: Eicar-Signature FOUND");
	is_int(v.kind, CLAMAV_VIRUS, "NAME FOUND is a virus");
	is_str(v.name, "Eicar-Signature", "...named");
	v = parse("stream: Win.Test.EICAR_HDB-1 FOUND");
	is_str(v.name, "Win.Test.EICAR_HDB-1", "a hash signature's name kept as it is");
	v = parse("stream: Bad%s\"Name FOUND");
	is_str(v.name, "Bad_s_Name", "a percent sign and a quote never reach the SMTP reply");
	is_int(parse("stream: Heuristics.Encrypted.PDF FOUND").kind, CLAMAV_ENCRYPTED,
	       "Heuristics.Encrypted.*: CLAM_VIRUS_ENCRYPTED");
	is_int(parse("stream: Heuristics.OLE2.ContainsMacros FOUND").kind, CLAMAV_MACRO,
	       "Heuristics.OLE2.ContainsMacros: CLAM_VIRUS_MACRO");
	v = parse("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND");
	is_int(v.kind, CLAMAV_FAIL, "Heuristics.Limits.Exceeded: a failure, as in Rspamd");
	like_str(v.err, "Limits Exceeded: Heuristics.Limits.Exceeded.MaxFileSize", "...saying so");
	v = parse("INSTREAM size limit exceeded. ERROR");
	is_int(v.kind, CLAMAV_FAIL, "... ERROR is a failure");
	is_str(v.err, "clamd error \"INSTREAM size limit exceeded.\"", "...with clamd's words");
	is_int(parse("").kind, CLAMAV_FAIL, "an empty reply fails");
	is_int(parse("stream: FOUND").kind, CLAMAV_FAIL, "FOUND without a name fails");
	is_int(parse("stream:  FOUND").kind, CLAMAV_FAIL, "an empty name after the space fails");
	is_int(parse("stream: OKAY").kind, CLAMAV_FAIL, "stream: OKAY is no clean verdict");
	is_int(parse("PONG").kind, CLAMAV_FAIL, "another command's reply fails");
	is_int(parse("stream: A FOUND\nstream: B FOUND").kind, CLAMAV_FAIL,
	       "two lines (ALLMATCHSCAN) are not what INSTREAM answers");
	v = parse("\x01\xff garbage");
	is_int(v.kind, CLAMAV_FAIL, "garbage fails");
	is_str(v.err, "unexpected reply \"?? garbage\"", "...and is logged printable");
	memset(big, 'A', sizeof(big) - 1);
	clamav_parse_reply(big, sizeof(big) - 1, &v);
	is_str(v.err, "reply too long", "a reply over CLAMAV_REPLY_MAX fails");
	memset(big, 'A', sizeof(big) - 1);
	memcpy(big, "stream: ", 8);
	memcpy(big + 1000, " FOUND", 7);
	v = parse(big);
	is_int((int)strlen(v.name), CLAMAV_NAME_MAX - 1,
	       "a long name is cut to CLAMAV_NAME_MAX - 1");
}

static void cache(void)
{
	struct clamav_cache *c = clamav_cache_new(16, 60);
	struct clamav_verdict v = {.kind = CLAMAV_VIRUS}, got;
	unsigned char k[32] = {1}, k2[32] = {2};
	int kept = 0;

	strcpy(v.name, "Eicar-Signature");
	ok(!clamav_cache_get(c, k, 1000, &got), "an empty cache has nothing");
	clamav_cache_put(c, k, 1000, &v);
	ok(clamav_cache_get(c, k, 1059, &got), "a verdict is kept");
	is_str(got.name, "Eicar-Signature", "...with its name");
	ok(got.cached, "...marked as cached");
	ok(!clamav_cache_get(c, k2, 1059, &got), "another key is not it");
	ok(!clamav_cache_get(c, k, 1060, &got), "...and gone after the TTL");
	ok(!clamav_cache_get(c, k, 1001, &got), "...for good");
	v.kind = CLAMAV_FAIL;
	clamav_cache_put(c, k, 1000, &v);
	ok(!clamav_cache_get(c, k, 1001, &got), "a failure is never kept");
	v.kind = CLAMAV_CLEAN;
	for (int i = 0; i < 1000; i++) {
		unsigned char key[32] = {0};

		memcpy(key, &i, sizeof(i));
		clamav_cache_put(c, key, 2000 + i, &v);
	}
	for (int i = 0; i < 1000; i++) {
		unsigned char key[32] = {0};

		memcpy(key, &i, sizeof(i));
		kept += clamav_cache_get(c, key, 2999, &got);
	}
	ok(kept > 0 && kept <= 16, "bounded: of 1000 verdicts at most 16 are kept (%d)", kept);
	clamav_cache_free(c);
	c = clamav_cache_new(0, 60);
	clamav_cache_put(c, k, 1000, &v);
	ok(!clamav_cache_get(c, k, 1000, &got), "size 0 keeps nothing");
	clamav_cache_free(c);
}

static void digest(void)
{
	unsigned char a[32], b[32], d[32];
	const char *m1 = "Received: from x by y; id ABC\r\n\tfolded\r\nSubject: s\r\n\r\nbody\r\n";
	const char *m2 = "Received: from x by y; id DEF\r\nSubject: s\r\n\r\nbody\r\n";
	const char *m3 = "Subject: s\r\n\r\nbody!\r\n";
	const char *m4 = "Subject: s\r\n\r\nReceived: body\r\n";

	clamav_digest(m1, strlen(m1), a);
	clamav_digest(m2, strlen(m2), b);
	ok(memcmp(a, b, 32) == 0, "Received fields (folded too) are not in the key");
	clamav_digest(m3, strlen(m3), d);
	ok(memcmp(a, d, 32) != 0, "a changed body is another key");
	clamav_digest(m4, strlen(m4), d);
	clamav_digest("Subject: s\r\n\r\n", 14, b);
	ok(memcmp(d, b, 32) != 0, "\"Received:\" in the body is kept");
}

static struct clamav *client(const char *servers, char *err, size_t errlen)
{
	struct conf *cf = conf_new();
	char assign[600];
	struct clamav *cl;

	snprintf(assign, sizeof(assign), "clamav_servers=%s", servers);
	if (conf_override(cf, assign, err, errlen) < 0 ||
	    conf_override(cf, "clamav_timeout=1s", err, errlen) < 0 ||
	    conf_finish(cf, err, errlen) < 0) {
		conf_free(cf);
		return NULL;
	}
	cl = clamav_new(cf, err, errlen);
	conf_free(cf);
	return cl;
}

static void servers(void)
{
	struct clamav_verdict v;
	struct clamav *cl;
	char err[512];

	ok((cl = client("unix:/nonexistent/a.sock, inet:127.0.0.1:1", err, sizeof(err))) != NULL,
	   "a unix socket and a TCP one");
	clamav_scan(cl, "x", 1, &v);
	is_int(v.kind, CLAMAV_FAIL, "neither answers: a failure");
	like_str(v.err,
	         "unix:/nonexistent/a.sock: cannot connect: No such file or directory; "
	         "inet:127.0.0.1:1: cannot connect: Connection refused",
	         "...naming each server in turn with its error");
	clamav_free(cl);
	ok((cl = client("/run/c.sock [::1]:3310 localhost:3310", err, sizeof(err))) != NULL,
	   "a bare path, [IPv6]:port and host:port, space-separated");
	clamav_free(cl);
	ok(client("inet:localhost", err, sizeof(err)) == NULL, "no port: refused");
	like_str(err, "clamav_servers: not unix:/PATH or inet:HOST:PORT: \"inet:localhost\"",
	         "...saying which");
	ok(client("::1:3310", err, sizeof(err)) == NULL, "IPv6 without brackets: refused");
	ok(client("unix:relative", err, sizeof(err)) == NULL, "a relative path: refused");
	ok(client(",", err, sizeof(err)) == NULL, "no server: refused");
	ok(client("/a /b /c /d /e /f /g /h /i", err, sizeof(err)) == NULL, "nine servers: refused");
}

int main(void)
{
	replies();
	cache();
	digest();
	servers();
	return done_testing();
}
