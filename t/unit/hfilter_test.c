/*
 * hfilter_test - the pure checks of policyd/hfilter.c: Rspamd's FQDN test,
 * the HELO address classes and the host name patterns, on names taken from
 * hfilter.lua's own comments and from real dial-up and server PTR names.
 */
#include "config.h"

#include "policyd/hfilter.h"
#include "tap.h"

int main(void)
{
	/* check_fqdn */
	ok(hfilter_fqdn("mail.example.org"), "mail.example.org is an FQDN");
	ok(hfilter_fqdn("example.org."), "a final dot is allowed");
	ok(!hfilter_fqdn("COMPUTER"), "one label is not");
	ok(!hfilter_fqdn("a.b"), "shorter than 4 is not");
	ok(!hfilter_fqdn("mail.example.o"), "a one-letter last label is not");
	ok(!hfilter_fqdn("-mail.example.org"), "a label starting with '-' is not");
	ok(!hfilter_fqdn("mail-.example.org"), "a label ending with '-' is not");
	ok(!hfilter_fqdn("mail..example.org"), "an empty label is not");
	ok(!hfilter_fqdn("mail_x.example.org"), "'_' is not");
	ok(!hfilter_fqdn("[192.0.2.1]"), "an address literal is not");

	/* HELO addresses: BADIP before BAREIP */
	is_int(hfilter_helo_ip("192.168.1.10"), HF_HELO_BADIP, "private HELO is BADIP");
	is_int(hfilter_helo_ip("127.0.0.1"), HF_HELO_BADIP, "loopback HELO is BADIP");
	is_int(hfilter_helo_ip("::1"), HF_HELO_BADIP, "::1 is BADIP");
	is_int(hfilter_helo_ip("100.64.0.1"), HF_HELO_BADIP, "CGNAT is BADIP");
	is_int(hfilter_helo_ip("198.18.0.1"), HF_HELO_BAREIP, "a public address is BAREIP");
	is_int(hfilter_helo_ip("2a01:4f8::1"), HF_HELO_BAREIP, "a public IPv6 address is BAREIP");
	is_int(hfilter_helo_ip("85-1-2-3"), HF_HELO_BAREIP, "dashed digits are BAREIP");
	is_int(hfilter_helo_ip("mail.example.org"), -1, "a name is neither");

	/* HELO patterns */
	is_int(hfilter_helo_weight("ANNA"), 5, "HELO without a dot weighs 5");
	is_int(hfilter_helo_weight("speedtouch.lan"), 5, "speedtouch.lan weighs 5");
	is_int(hfilter_helo_weight("box.localdomain"), 5, ".localdomain weighs 5");
	is_int(hfilter_helo_weight("mail.example.org"), 0, "a server name weighs 0");
	is_int(hfilter_helo_weight("host-1.example.org"), 2, "host-1 weighs 2");

	/* Host name patterns: the heaviest matching one */
	is_int(hfilter_host_weight("dynamic-85-1-2-3.example.net"), 5, "dynamic weighs 5");
	is_int(hfilter_host_weight("ppp-85-1.example.net"), 5, "ppp- weighs 5");
	is_int(hfilter_host_weight("pool-71-1-2-3.example.net"), 4, "pool- weighs 4");
	is_int(hfilter_host_weight("adsl-1-2.example.net"), 4, "adsl- weighs 4");
	is_int(hfilter_host_weight("cable-12.example.net"), 3, "cable- weighs 3");
	is_int(hfilter_host_weight("host-12.example.net"), 2, "host- weighs 2");
	is_int(hfilter_host_weight("user-1.example.net"), 1, "user- weighs 1");
	is_int(hfilter_host_weight("mail.example.org"), 0, "mail.example.org weighs 0");
	is_int(hfilter_host_weight("MX1.EXAMPLE.ORG"), 0, "case does not matter: 0");
	is_int(hfilter_host_weight("DSL-1-2.EXAMPLE.NET"), 4, "case does not matter: 4");

	is_str(hfilter_symbol(HF_HOSTNAME_UNKNOWN), "HFILTER_HOSTNAME_UNKNOWN", "symbol names");
	is_str(hfilter_symbol(HF_HELO_1 + 4), "HFILTER_HELO_5", "HELO_n names");
	is_str(hfilter_symbol(HF_HOSTNAME_1 + 2), "HFILTER_HOSTNAME_3", "HOSTNAME_n names");
	return done_testing();
}
