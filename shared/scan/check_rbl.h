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
struct ip_addr;
struct scan_dns;

/* DNS lists for a scanning thread; NULL with err. */
struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen);
/* Re-read the zones (after the database changed). */
void scan_dns_reload(struct scan_dns *sd, sqlite3 *db);
/* Free (NULL is fine). */
void scan_dns_free(struct scan_dns *sd);

struct dns;
struct evloop;
/* The thread's event loop and resolver, for the other DNS checks (check_auth.c). */
struct evloop *scan_dns_loop(struct scan_dns *sd);
struct dns *scan_dns_resolver(struct scan_dns *sd);
/* soft_reject_on_timeout, as read when sd was made. */
int scan_dns_soft_reject(const struct scan_dns *sd);
/* The dns_timeout setting, ms. */
int scan_dns_timeout_ms(const struct scan_dns *sd);
/* auth_check_local: SPF and DKIM for local mail too. */
int scan_dns_auth_local(const struct scan_dns *sd);
/*
 * The relay one Received header value names: the first bracketed literal
 * that is an address ("[192.0.2.1]", "[IPv6:2001:db8::1]"); 1 and *ip when
 * it is a public one, 0 when there is none or it is private. Limited to
 * brackets 60 bytes apart.
 */
int check_rbl_hop(const char *value, struct ip_addr *ip);

#endif
