/*
 * check_rbl - the DNS lists for a scanning thread: its own event loop and
 * resolver, used synchronously, against Received-header IPs and URL hosts
 * and IPs. The check itself is check_rbl (check.h); this is the resource
 * a thread keeps for it in its struct scan_env.
 */
#ifndef MOAT_CHECK_RBL_H
#define MOAT_CHECK_RBL_H

#include <sqlite3.h>
#include <stddef.h>

struct conf;
struct scan_dns;

/* DNS lists for a scanning thread; NULL with err. */
struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen);
/* Re-read the zones (after the database changed). */
void scan_dns_reload(struct scan_dns *sd, sqlite3 *db);
/* Free (NULL is fine). */
void scan_dns_free(struct scan_dns *sd);

#endif
