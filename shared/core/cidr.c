/*
 * cidr - address and network parsing and matching; see cidr.h.
 * Text forms are those of inet_pton(3); anything else is rejected.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cidr.h"

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ip_parse(const char *p, size_t len, struct ip_addr *ip)
{
	char buf[IP_TEXT_MAX + 2];

	if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
		p++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf) || memchr(p, '\0', len))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, buf, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, ip->a) == 1) {
		ip->family = AF_INET6;
		if (memcmp(ip->a, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(ip->a, ip->a + 12, 4);
			memset(ip->a + 4, 0, 12);
			ip->family = AF_INET;
		}
		return 0;
	}
	return -1;
}

void ip_mask(struct ip_addr *ip, int plen)
{
	int bits = ip->family == AF_INET ? 32 : 128;

	if (plen < 0)
		plen = 0;
	for (int i = plen; i < bits; i++)
		ip->a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
}

int cidr_parse(const char *p, size_t len, struct cidr *c)
{
	const char *slash = memchr(p, '/', len);
	size_t alen = slash ? (size_t)(slash - p) : len;
	int max;

	if (ip_parse(p, alen, &c->net) < 0)
		return -1;
	max = c->net.family == AF_INET ? 32 : 128;
	/*
	 * An IPv4-mapped IPv6 network, as in Debian's default mynetworks
	 * "[::ffff:127.0.0.0]/104", was turned into IPv4 above: its prefix
	 * counts the 96 mapping bits, which the IPv4 form has not.
	 */
	int mapped = c->net.family == AF_INET && memchr(p, ':', alen) != NULL;
	if (mapped)
		max = 128;
	c->plen = max;
	if (slash) {
		const char *d = slash + 1;
		size_t dlen = len - alen - 1;
		int n = 0;

		if (dlen == 0 || dlen > 3)
			return -1;
		for (size_t i = 0; i < dlen; i++) {
			if (!isdigit((unsigned char)d[i]))
				return -1;
			n = n * 10 + (d[i] - '0');
		}
		if (n > max)
			return -1;
		c->plen = n;
	}
	if (mapped) {
		/* Wider than the mapped range would mean IPv6 too: not one network here. */
		if (c->plen < 96)
			return -1;
		c->plen -= 96;
	}
	ip_mask(&c->net, c->plen);
	return 0;
}

int cidr_match(const struct cidr *c, const struct ip_addr *ip)
{
	int full = c->plen / 8, rest = c->plen % 8;

	if (c->net.family != ip->family)
		return 0;
	if (memcmp(c->net.a, ip->a, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char m = (unsigned char)(0xffu << (8 - rest));

		if ((c->net.a[full] & m) != (ip->a[full] & m))
			return 0;
	}
	return 1;
}

void ip_format(const struct ip_addr *ip, char *buf, size_t len)
{
	if (inet_ntop(ip->family, ip->a, buf, (socklen_t)len) == NULL && len)
		buf[0] = '\0';
}
