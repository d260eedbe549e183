/* maps_test - postgrey-format allow lists (shared/maps.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "log.h"
#include "maps.h"
#include "tap.h"

#define MAPS_TEST_LONG 5000

static int client(struct map *m, const char *ip, const char *name)
{
	struct ip_addr a;

	if (ip_parse(ip, strlen(ip), &a) < 0)
		return -1;
	return map_match_client(m, &a, name);
}

int main(void)
{
	char path[] = "/tmp/moat-maps-test.XXXXXX", err[512];
	struct map *m = map_new();
	FILE *fp;
	int fd = mkstemp(path);

	log_init("maps_test", LOG_TO_STDERR, NULL);
	fp = fdopen(fd, "w");
	fprintf(fp, "# postgrey whitelist_clients\n"
		    "\n"
		    "example-mail.com   # trailing comment\n"
		    "/^mx[0-9]+\\.bulk\\.example$/\n"
		    "192.0.2.7\n"
		    "198.51.100.0/25\n"
		    "203.0.113\n"
		    "10.20\n"
		    "2001:db8:abcd::/48\n"
		    "this is not valid\n"
		    "999.1.1.1\n");
	fclose(fp);
	is_int(map_load_clients(m, path, err, sizeof(err)), 0, "client list loads");
	is_int(map_size(m), 7, "seven good entries, bad lines skipped with a warning");
	is_int(client(m, "192.0.9.9", "mail.example-mail.com"), 1, "subdomain of a listed domain");
	is_int(client(m, "192.0.9.9", "EXAMPLE-MAIL.COM"), 1, "the domain itself, any case");
	is_int(client(m, "192.0.9.9", "badexample-mail.com"), 0, "suffix must follow a dot");
	is_int(client(m, "192.0.9.9", "mx12.bulk.example"), 1, "/regex/ on the client name");
	is_int(client(m, "192.0.9.9", "mx.bulk.example"), 0, "regex that does not match");
	is_int(client(m, "192.0.2.7", "unknown"), 1, "exact IPv4");
	is_int(client(m, "192.0.2.8", "unknown"), 0, "neighbour IPv4");
	is_int(client(m, "198.51.100.127", NULL), 1, "IPv4 CIDR");
	is_int(client(m, "198.51.100.128", NULL), 0, "outside the CIDR");
	is_int(client(m, "203.0.113.200", NULL), 1, "partial address = /24");
	is_int(client(m, "10.20.30.40", NULL), 1, "two octets = /16");
	is_int(client(m, "2001:db8:abcd:1::5", NULL), 1, "IPv6 network");
	is_int(client(m, "2001:db8:abce::5", NULL), 0, "outside the IPv6 network");
	is_int(client(m, "192.0.9.9", "unknown"), 0, "'unknown' client name matches no domain");
	map_free(m);

	m = map_new();
	fp = fopen(path, "w");
	fprintf(fp, "postmaster@\n"
		    "abuse@example.com\n"
		    "example.net\n"
		    "/^noreply-.*@example\\.org$/\n");
	fclose(fp);
	is_int(map_load_recipients(m, path, err, sizeof(err)), 0, "recipient list loads");
	is_int(map_match_recipient(m, "postmaster@anything.example"), 1, "user@ any domain");
	is_int(map_match_recipient(m, "postmaster+tag@anything.example"), 1, "...with +extension");
	is_int(map_match_recipient(m, "postmasterx@anything.example"), 0, "...not a longer user");
	is_int(map_match_recipient(m, "Abuse@Example.com"), 1, "user@domain, any case");
	is_int(map_match_recipient(m, "abuse@example.org"), 0, "user@ other domain");
	is_int(map_match_recipient(m, "anyone@example.net"), 1, "domain");
	is_int(map_match_recipient(m, "anyone@sub.example.net"), 1, "subdomain");
	is_int(map_match_recipient(m, "anyone@notexample.net"), 0, "not a suffix after a dot");
	is_int(map_match_recipient(m, "noreply-77@example.org"), 1, "/regex/");
	map_free(m);

	/* Lists held in memory, as fetched by URL. */
	m = map_new();
	{
		static const char text[] = "# fetched\r\n192.0.2.9\r\nmx.example.net\n\n"
					   "postmaster@example.com\nno spaces please\n"
					   "/^mail[0-9]+\\.example\\.org$/";

		is_int(map_parse(m, 1, "test", text, sizeof(text) - 1, 0, err, sizeof(err)), 0,
		       "a list in memory parses (CRLF, no final newline, two bad lines)");
		is_int(map_size(m), 3, "...three client entries; the address is no client entry");
		is_int(client(m, "192.0.2.9", NULL), 1, "...an address, CR stripped");
		is_int(client(m, "192.0.9.9", "mail7.example.org"), 1, "...the last line, unterminated");
	}
	map_free(m);
	m = map_new();
	ok(map_parse(m, 1, "test", "", 0, 0, err, sizeof(err)) == 0 && map_size(m) == 0,
	   "an empty list is a list");
	map_free(m);
	m = map_new();
	ok(map_parse(m, 1, "test", "192.0.2.1\n\0\n", 12, 0, err, sizeof(err)) < 0 &&
		   strstr(err, "NUL"),
	   "a NUL byte: not a list");
	map_free(m);
	m = map_new();
	ok(map_parse(m, 1, "test", "192.0.2.1\n192.0.2.2\n192.0.2.3\n", 30, 2, err,
		     sizeof(err)) < 0 &&
		   strstr(err, "more than 2 entries"),
	   "over max_entries: refused");
	map_free(m);
	m = map_new();
	ok(map_parse(m, 1, "test", "192.0.2.1\n192.0.2.2\n", 20, 2, err, sizeof(err)) == 0,
	   "exactly max_entries: fine");
	map_free(m);
	m = map_new();
	{
		static const char page[] = "<!DOCTYPE html>\n<html>\n<title>502 Bad Gateway</title>\n"
					   "nginx\n</html>\n";

		ok(map_parse(m, 1, "test", page, sizeof(page) - 1, 0, err, sizeof(err)) < 0 &&
			   strstr(err, "not a list: 4 of 5 lines"),
		   "an error page is not a list (%s)", err);
	}
	map_free(m);
	m = map_new();
	ok(map_parse(m, 0, "test", "<html>\nuser@<b>\nfoo@example.com\n", 32, 0, err,
		     sizeof(err)) < 0,
	   "recipient lists: angle brackets are no address or domain");
	map_free(m);
	m = map_new();
	{
		char big[MAPS_TEST_LONG + 32];

		memset(big, 'a', MAPS_TEST_LONG);
		memcpy(big + MAPS_TEST_LONG, "\n192.0.2.1\n192.0.2.2\n", 21);
		ok(map_parse(m, 1, "test", big, MAPS_TEST_LONG + 21, 0, err, sizeof(err)) == 0 &&
			   map_size(m) == 2,
		   "a line over 4096 bytes is skipped, not truncated into an entry");
	}
	map_free(m);

	m = map_new();
	ok(map_load_clients(m, "/nonexistent/list", err, sizeof(err)) < 0, "missing file: error");
	ok(strstr(err, "/nonexistent/list") != NULL, "...naming it");
	map_free(m);
	unlink(path);
	return done_testing();
}
