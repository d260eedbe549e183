/*
 * maps - allow lists of clients and recipients in postgrey's file formats,
 * so /etc/postgrey/whitelist_clients and whitelist_recipients are read as
 * they are.
 *
 * Client lists: one entry per line, '#' comments; "/regex/" (matched
 * against the client hostname, case-insensitive), an IPv4 address or
 * network (192.0.2.1, 192.0.2.0/24, partial 192.0.2 = /24, 192.0 = /16),
 * an IPv6 address or network, or a hostname / domain (matches the name and
 * every name below it).
 * Recipient lists: "/regex/", user@domain, user@ (any domain) or a domain
 * (and its subdomains); user also matches user+extension, as in postgrey.
 * Sender lists use the recipient format (and map_match_recipient()).
 * Host and domain names are letters, digits, '-', '.', '_' or UTF-8.
 *
 * A line that fits no form is logged with its file and line and skipped,
 * as postgrey does. Not thread-safe (one match buffer per regex).
 */
#ifndef MOAT_MAPS_H
#define MOAT_MAPS_H

#include <stddef.h>

#include "core/cidr.h"

struct map;

/* Empty map. */
struct map *map_new(void);
/* Free (NULL is fine). */
void map_free(struct map *m);
/* Add the entries of a postgrey whitelist_clients file; -1 with err if unreadable. */
int map_load_clients(struct map *m, const char *path, char *err, size_t errlen);
/* Add the entries of a postgrey whitelist_recipients file; -1 with err if unreadable. */
int map_load_recipients(struct map *m, const char *path, char *err, size_t errlen);
/*
 * Add the entries of a list held in memory (clients: whitelist_clients
 * format, else whitelist_recipients); name is for log lines, which show
 * the first few bad lines only. -1 with err if the text holds a NUL byte,
 * has more than max_entries entries (0: no limit), or if more than half
 * of its lines fit no form (an error page, not a list); m is then partly
 * filled and only good for map_free().
 */
int map_parse(struct map *m, int clients, const char *name, const char *text, size_t len,
	      size_t max_entries, char *err, size_t errlen);
/*
 * Check a list before it is written (moat-controller's /savemap): 0 if
 * every line is an entry, a comment or blank and there are at most
 * max_entries entries (0: no limit); else -1 with err naming the first bad
 * line ("line 3: doesn't look like ...: text") and *bad_line its number
 * (0 for the size or a NUL byte).
 */
int map_check(int clients, const char *text, size_t len, size_t max_entries, size_t *bad_line,
	      char *err, size_t errlen);
/* Add one client entry as it would appear in a file; -1 if malformed. */
int map_add_client(struct map *m, const char *entry);
/* Add one recipient entry as it would appear in a file; -1 if malformed. */
int map_add_recipient(struct map *m, const char *entry);
/* Entries loaded. */
size_t map_size(const struct map *m);
/* 1 if the client (address and hostname, which may be NULL or "unknown") is listed. */
int map_match_client(const struct map *m, const struct ip_addr *ip, const char *name);
/* 1 if the recipient address is listed. */
int map_match_recipient(const struct map *m, const char *rcpt);

#endif
