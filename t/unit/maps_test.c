/* maps_test - postgrey-format allow lists (shared/maps.c). */
#include "config.h"

#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/log.h"
#include "maps/maps.h"
#include "tap.h"

#define MAPS_TEST_LONG 5000

static int client(struct map *m, const char *ip, const char *name)
{
	struct ip_addr a;

	if (ip_parse(ip, strlen(ip), &a) < 0)
		return -1;
	return map_match_client(m, &a, name);
}

/*
 * The hash index against the plain definition: random networks of random
 * lengths (few lengths, as real lists have, or any from 12 up), random
 * addresses, map_match_client() versus cidr_match() over every network.
 */
static void cross_check(int family, int nlens)
{
	enum { NETS = 2000, PROBES = 10000 };
	static struct cidr nets[NETS];
	struct map *m = map_new();
	int max = family == 4 ? 32 : 128, bad = 0, hits = 0;
	char text[IP_TEXT_MAX + 8];

	for (int i = 0; i < NETS; i++) {
		struct ip_addr ip = {.family = family == 4 ? AF_INET : AF_INET6};
		int plen = nlens ? (max - 8 * (rand() % nlens)) : 12 + rand() % (max - 11);

		/* Few distinct first bytes, so probes land in networks often. */
		for (int k = 0; k < (family == 4 ? 4 : 16); k++)
			ip.a[k] = (unsigned char)(k == 0 ? rand() % 8 : rand());
		ip_format(&ip, text, sizeof(text));
		snprintf(text + strlen(text), 8, "/%d", plen);
		if (cidr_parse(text, strlen(text), &nets[i]) < 0 || map_add_client(m, text) < 0)
			bad++;
	}
	for (int i = 0; i < PROBES; i++) {
		struct ip_addr ip = {.family = family == 4 ? AF_INET : AF_INET6};
		int want = 0;

		for (int k = 0; k < (family == 4 ? 4 : 16); k++)
			ip.a[k] = (unsigned char)(k == 0 ? rand() % 8 : rand());
		if (i % 2) /* every other probe inside a listed network */
			for (int k = 0; k < nets[i % NETS].plen / 8; k++)
				ip.a[k] = nets[i % NETS].net.a[k];
		for (int k = 0; k < NETS && !want; k++)
			want = cidr_match(&nets[k], &ip);
		hits += want;
		if (map_match_client(m, &ip, NULL) != want)
			bad++;
	}
	ok(bad == 0 && hits > PROBES / 4 && hits < PROBES,
	   "IPv%d, %s prefix lengths: the index agrees with a scan (%d of %d probes listed)",
	   family, nlens ? "few" : "any", hits, PROBES);
	map_free(m);
}

static void index_tests(void)
{
	struct map *m = map_new();
	char entry[64];
	int found = 0;

	srand(7);
	cross_check(4, 3);
	cross_check(4, 0);
	cross_check(6, 4);
	cross_check(6, 0);

	/* Enough entries to grow the index many times; every one still found. */
	for (int i = 0; i < 20000; i++) {
		snprintf(entry, sizeof(entry), "host%d.Example.NET", i);
		map_add_client(m, entry);
	}
	map_add_client(m, "host7.example.net"); /* a duplicate is harmless */
	for (int i = 0; i < 20000; i++) {
		snprintf(entry, sizeof(entry), "mx.HOST%d.example.net", i);
		found += client(m, "192.0.2.1", entry);
	}
	is_int(found, 20000, "20000 names: every one found below its domain, any case");
	is_int(client(m, "192.0.2.1", "host20000.example.net"), 0, "...and no other");
	is_int(client(m, "192.0.2.1", "example.net"), 0, "...nor the parent domain");
	map_free(m);

	m = map_new();
	map_add_recipient(m, "Bob+lists@Example.org");
	map_add_recipient(m, "a+b@");
	is_int(map_match_recipient(m, "bob+lists@example.org"), 1, "user with a '+' in the list");
	is_int(map_match_recipient(m, "bob+lists+x@example.org"), 1, "...with a further extension");
	is_int(map_match_recipient(m, "bob@example.org"), 0, "...not the bare user");
	is_int(map_match_recipient(m, "bob+lists@sub.example.org"), 0,
	       "user@domain is that domain only");
	is_int(map_match_recipient(m, "a+b+c@x.example"), 1, "user@ with a '+'");
	is_int(map_match_recipient(m, "a@x.example"), 0, "...not its prefix");
	is_int(map_match_recipient(m, "odd@name@x.example"), 0, "the last '@' splits");
	map_free(m);
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
		is_int(client(m, "192.0.9.9", "mail7.example.org"), 1,
		       "...the last line, unterminated");
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
	ok(map_parse(m, 1, "test", "192.0.2.1\n192.0.2.2\n192.0.2.3\n", 30, 2, err, sizeof(err)) <
	           0 &&
	       strstr(err, "more than 2 entries"),
	   "over max_entries: refused");
	map_free(m);
	m = map_new();
	ok(map_parse(m, 1, "test", "192.0.2.1\n192.0.2.2\n", 20, 2, err, sizeof(err)) == 0,
	   "exactly max_entries: fine");
	map_free(m);
	m = map_new();
	{
		static const char page[] =
		    "<!DOCTYPE html>\n<html>\n<title>502 Bad Gateway</title>\n"
		    "nginx\n</html>\n";

		ok(map_parse(m, 1, "test", page, sizeof(page) - 1, 0, err, sizeof(err)) < 0 &&
		       strstr(err, "not a list: 4 of 5 lines"),
		   "an error page is not a list (%s)", err);
	}
	map_free(m);
	m = map_new();
	ok(map_parse(m, 0, "test", "<html>\nuser@<b>\nfoo@example.com\n", 32, 0, err, sizeof(err)) <
	       0,
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

	index_tests();

	m = map_new();
	ok(map_load_clients(m, "/nonexistent/list", err, sizeof(err)) < 0, "missing file: error");
	ok(strstr(err, "/nonexistent/list") != NULL, "...naming it");
	map_free(m);
	unlink(path);
	return done_testing();
}
