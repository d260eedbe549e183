/*
 * fuzz_maps - postgrey allow-list files (shared/maps/maps.c) as the operator
 * supplies them: the input loaded as a whitelist_clients and as a
 * whitelist_recipients file (from a memfd), then matched against clients
 * and recipients, some of them taken from the input itself; and checked
 * as moat-controller's /savemap checks a list before writing it (map_check:
 * a line named only when it exists).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "fuzz.h"
#include "maps/maps.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const clients[][2] = {
		{"192.0.2.1", "mail.example.com"}, {"2001:db8::25", "unknown"},
		{"10.1.2.3", NULL}, {"198.51.100.7", "a.b.c.d.example.org"}};
	static const char *const rcpts[] = {"postmaster@example.com", "user+ext@example.org",
					    "abuse@", "@", ""};
	struct map *c = map_new(), *r = map_new();
	char err[512], *s = fuzz_cstr(data, size), *last;
	size_t n = strcspn(s, "\n");

	for (int k = 0; k < 2; k++) {
		size_t bad;

		if (map_check(k, (const char *)data, size, 0, &bad, err, sizeof(err)) < 0 &&
		    bad > size + 1)
			abort();
	}
	map_load_clients(c, fuzz_file(data, size), err, sizeof(err));
	map_load_recipients(r, fuzz_file(data, size), err, sizeof(err));
	fuzz_file_close();
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		struct ip_addr ip;

		if (ip_parse(clients[i][0], strlen(clients[i][0]), &ip) < 0)
			abort();
		map_match_client(c, &ip, clients[i][1]);
	}
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++)
		map_match_recipient(r, rcpts[i]);
	/* The input's first and last lines as a client name and a recipient. */
	last = strrchr(s, '\n');
	last = last ? last + 1 : s;
	s[n] = '\0';
	map_match_recipient(r, last);
	{
		struct ip_addr ip;

		if (ip_parse(s, strlen(s), &ip) == 0)
			map_match_client(c, &ip, last);
		ip_parse("192.0.2.9", 9, &ip);
		map_match_client(c, &ip, s);
	}
	map_free(c);
	map_free(r);
	free(s);
	return 0;
}
