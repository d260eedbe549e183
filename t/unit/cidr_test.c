/* cidr_test - address and network parsing and matching (shared/cidr.c). */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "core/cidr.h"
#include "tap.h"

static int match(const char *net, const char *addr)
{
	struct cidr c;
	struct ip_addr ip;

	if (cidr_parse(net, strlen(net), &c) < 0 || ip_parse(addr, strlen(addr), &ip) < 0)
		return -1;
	return cidr_match(&c, &ip);
}

static const char *fmt(const char *addr)
{
	static char buf[IP_TEXT_MAX];
	struct ip_addr ip;

	if (ip_parse(addr, strlen(addr), &ip) < 0)
		return "(invalid)";
	ip_format(&ip, buf, sizeof(buf));
	return buf;
}

int main(void)
{
	struct cidr c;
	struct ip_addr ip;

	/* Parsing. */
	ok(ip_parse("192.0.2.1", 9, &ip) == 0 && ip.family == AF_INET, "IPv4 parses");
	ok(ip_parse("2001:db8::1", 11, &ip) == 0 && ip.family == AF_INET6, "IPv6 parses");
	ok(ip_parse("[2001:db8::1]", 13, &ip) == 0 && ip.family == AF_INET6, "bracketed IPv6");
	ok(ip_parse("192.0.2.1x", 10, &ip) < 0, "trailing junk rejected");
	ok(ip_parse("256.0.0.1", 9, &ip) < 0, "octet over 255 rejected");
	ok(ip_parse("1.2.3", 5, &ip) < 0, "short IPv4 rejected");
	ok(ip_parse("", 0, &ip) < 0, "empty rejected");
	ok(ip_parse("1.2.3.4\0", 8, &ip) < 0, "embedded NUL rejected");
	ok(ip_parse("2001:db8::1:2:3:4:5:6:7:8", 25, &ip) < 0, "too many IPv6 groups rejected");
	/* The length, not a NUL, ends the address. */
	ok(ip_parse("10.1.2.3 trailing", 8, &ip) == 0, "length-counted input");
	{
		char buf[IP_TEXT_MAX];

		ip_format(&ip, buf, sizeof(buf));
		is_str(buf, "10.1.2.3", "...and only those bytes count");
	}
	is_str(fmt("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped IPv6 becomes IPv4");
	is_str(fmt("2001:DB8:0:0::1"), "2001:db8::1", "IPv6 printed in canonical form");

	ok(cidr_parse("192.0.2.0/24", 12, &c) == 0 && c.plen == 24, "IPv4 CIDR parses");
	ok(cidr_parse("192.0.2.9", 9, &c) == 0 && c.plen == 32, "bare address is a /32");
	ok(cidr_parse("2001:db8::/32", 13, &c) == 0 && c.plen == 32, "IPv6 CIDR parses");
	ok(cidr_parse("2001:db8::1", 11, &c) == 0 && c.plen == 128, "bare IPv6 is a /128");
	/* Debian's default mynetworks names loopback in its IPv4-mapped IPv6 form too. */
	ok(cidr_parse("[::ffff:127.0.0.0]/104", 22, &c) == 0 && c.plen == 8 &&
		   c.net.family == AF_INET,
	   "[::ffff:127.0.0.0]/104 is 127.0.0.0/8");
	ok(cidr_parse("::ffff:192.0.2.1", 16, &c) == 0 && c.plen == 32, "a mapped address is a /32");
	ok(cidr_parse("::ffff:0.0.0.0/95", 17, &c) < 0, "a mapped network wider than IPv4 is refused");
	ok(cidr_parse("192.0.2.0/33", 12, &c) < 0, "IPv4 prefix over 32 rejected");
	ok(cidr_parse("2001:db8::/129", 14, &c) < 0, "IPv6 prefix over 128 rejected");
	ok(cidr_parse("192.0.2.0/", 10, &c) < 0, "empty prefix rejected");
	ok(cidr_parse("192.0.2.0/2a", 12, &c) < 0, "non-numeric prefix rejected");
	ok(cidr_parse("192.0.2.0/-1", 12, &c) < 0, "negative prefix rejected");
	ok(cidr_parse("192.0.2.77/24", 13, &c) == 0, "host bits set accepted");
	{
		char buf[IP_TEXT_MAX];

		ip_format(&c.net, buf, sizeof(buf));
		is_str(buf, "192.0.2.0", "...and cleared");
	}

	/* Matching. */
	is_int(match("192.0.2.0/24", "192.0.2.255"), 1, "last address of a /24 matches");
	is_int(match("192.0.2.0/24", "192.0.3.0"), 0, "next network does not");
	is_int(match("10.0.0.0/8", "10.255.255.255"), 1, "/8 matches");
	is_int(match("192.0.2.128/25", "192.0.2.127"), 0, "/25 boundary: .127 outside");
	is_int(match("192.0.2.128/25", "192.0.2.128"), 1, "/25 boundary: .128 inside");
	is_int(match("192.0.2.4/30", "192.0.2.7"), 1, "/30 odd prefix inside");
	is_int(match("192.0.2.4/30", "192.0.2.8"), 0, "/30 odd prefix outside");
	is_int(match("0.0.0.0/0", "203.0.113.9"), 1, "/0 matches every IPv4");
	is_int(match("0.0.0.0/0", "2001:db8::1"), 0, "IPv4 /0 never matches IPv6");
	is_int(match("192.0.2.1", "192.0.2.1"), 1, "host matches itself");
	is_int(match("192.0.2.1", "192.0.2.2"), 0, "host does not match neighbour");
	is_int(match("2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff"), 1, "IPv6 /64 inside");
	is_int(match("2001:db8:1:2::/64", "2001:db8:1:3::"), 0, "IPv6 /64 outside");
	is_int(match("2001:db8::/33", "2001:db8:7fff::1"), 1, "IPv6 /33 inside");
	is_int(match("2001:db8::/33", "2001:db8:8000::1"), 0, "IPv6 /33 outside");
	is_int(match("192.0.2.0/24", "::ffff:192.0.2.9"), 1, "IPv4 rule matches mapped client");
	is_int(match("::/0", "192.0.2.1"), 0, "IPv6 /0 never matches IPv4");
	return done_testing();
}
