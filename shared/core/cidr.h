/*
 * cidr - IPv4 and IPv6 addresses and networks.
 *
 * Addresses are kept as 16 bytes; IPv4 in the first 4. An IPv4-mapped IPv6
 * address (::ffff:192.0.2.1, as a dual-stack socket reports IPv4 clients)
 * is turned into plain IPv4 so one rule matches both spellings.
 */
#ifndef MOAT_CIDR_H
#define MOAT_CIDR_H

#include <stddef.h>

#define IP_TEXT_MAX 46	/* INET6_ADDRSTRLEN */

struct ip_addr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char a[16];	/* network byte order */
};

struct cidr {
	struct ip_addr net;	/* host bits cleared */
	int plen;		/* prefix length: 0..32 or 0..128 */
};

/* Parse an address (IPv6 may be in [brackets]); 0 or -1. */
int ip_parse(const char *p, size_t len, struct ip_addr *ip);
/* Parse ADDR or ADDR/PLEN; host bits after the prefix are cleared. 0 or -1. */
int cidr_parse(const char *p, size_t len, struct cidr *c);
/* 1 if ip is inside c, else 0 (different families never match). */
int cidr_match(const struct cidr *c, const struct ip_addr *ip);
/* Clear every bit after the first plen. */
void ip_mask(struct ip_addr *ip, int plen);
/* Text form into buf (at least IP_TEXT_MAX bytes). */
void ip_format(const struct ip_addr *ip, char *buf, size_t len);

#endif
