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
struct dns;
struct evloop;
struct ip_addr;
struct scan_dns;

/* The DMARC check's moat.conf settings, read with the resolver's. */
struct scan_dmarc_conf {
	int treewalk;    /* dmarc_org_domain = treewalk (else psl) */
	int enforce;     /* dmarc_enforce */
	int soft_reject; /* soft_reject_on_timeout */
};

/* DNS lists for a scanning thread; NULL with err. */
struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen);
/* Re-read the zones (after the database changed). */
void scan_dns_reload(struct scan_dns *sd, sqlite3 *db);
/* Free (NULL is fine). */
void scan_dns_free(struct scan_dns *sd);
/* The thread's resolver, and in *ev the loop to wait on, for checks with lookups of their own. */
struct dns *scan_dns_resolver(const struct scan_dns *sd, struct evloop **ev);
/* The DMARC settings. */
const struct scan_dmarc_conf *scan_dns_dmarc(const struct scan_dns *sd);
/* soft_reject_on_timeout, as read when sd was made. */
int scan_dns_soft_reject(const struct scan_dns *sd);
/* The dns_timeout setting, ms. */
int scan_dns_timeout_ms(const struct scan_dns *sd);
/* auth_check_local: the authentication checks look at local mail too. */
int scan_dns_auth_local(const struct scan_dns *sd);
/*
 * The relay one Received header value names: the first bracketed literal
 * that is an address ("[192.0.2.1]", "[IPv6:2001:db8::1]"); 1 and *ip when
 * it is a public one, 0 when there is none or it is private. Limited to
 * brackets 60 bytes apart.
 */
int check_rbl_hop(const char *value, struct ip_addr *ip);

#endif
