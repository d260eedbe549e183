/*
 * localmail_test - local_networks (with Postfix's mynetworks read through a
 * real postconf -c and a private main.cf) and the reasons mail is local.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maps/localmail.h"
#include "tap.h"

static const char *why(const struct localnets *ln, const char *ip, int port, const char *auth)
{
	static char buf[200];
	const char *r = localmail_reason(ln, ip, port, auth, buf, sizeof(buf));

	return r ? r : "(not local)";
}

int main(void)
{
	char dir[] = "/tmp/moat-localmail-XXXXXX", path[300], cmd[400], err[512];
	struct localnets *ln;
	struct sbuf sb;
	FILE *f;

	ln = localnets_new("192.0.2.0/24, !198.51.100.7 198.51.100.0/24 [2001:db8::]/32", err,
	                   sizeof(err));
	ok(ln != NULL, "a list of networks parses");
	is_str(why(ln, "192.0.2.77", 25000, NULL), "client in local_networks", "inside a network");
	is_str(why(ln, "203.0.113.1", 25000, NULL), "(not local)", "outside");
	is_str(why(ln, "198.51.100.7", 25000, NULL), "(not local)", "!NET first: excluded");
	is_str(why(ln, "198.51.100.8", 25000, NULL), "client in local_networks",
	       "...its neighbour not");
	is_str(why(ln, "2001:db8::25", 25000, NULL), "client in local_networks",
	       "IPv6 in brackets");
	is_str(why(ln, "::ffff:192.0.2.9", 25000, NULL), "client in local_networks",
	       "an IPv4-mapped address is its IPv4 address");
	is_str(why(ln, "203.0.113.1", 0, NULL), "submitted on this host",
	       "client port 0: Postfix's emulated connection for sendmail mail");
	is_str(why(ln, "203.0.113.1", 25000, "alice"), "authenticated as alice",
	       "{auth_authen} set");
	is_str(why(ln, "203.0.113.1", 25000, "al\nice\x01"), "authenticated as al?ice?",
	       "...the login name made printable for the log");
	is_str(why(ln, "203.0.113.1", 25000, ""), "(not local)", "an empty {auth_authen} is none");
	is_str(why(ln, "unknown", -1, NULL), "(not local)", "an address that is not one");
	localnets_free(ln);

	ln = localnets_new("", err, sizeof(err));
	ok(ln != NULL, "empty: no networks");
	is_str(why(ln, "127.0.0.1", 25000, NULL), "(not local)", "...not even loopback");
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	is_str(sbuf_cstr(&sb), "none", "...shown as none");
	sbuf_free(&sb);
	localnets_free(ln);

	ok(localnets_new("192.0.2.0/33", err, sizeof(err)) == NULL, "a bad prefix is an error");
	like_str(err, "\"192.0.2.0/33\" is not an address or network", "...naming it: %s", err);
	ok(localnets_new("mx.example.com", err, sizeof(err)) == NULL, "so is a host name");

	if (mkdtemp(dir) == NULL || access("/usr/sbin/postconf", X_OK) != 0) {
		tap_skip("no /usr/sbin/postconf");
		return done_testing();
	}
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	fputs("compatibility_level = 3.6\n"
	      "mynetworks = 10.1.0.0/16 [2001:db8::]/48, hash:/etc/postfix/network_table\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/postconf -c %s", dir);
	setenv("MOAT_POSTCONF", cmd, 1);
	ln = localnets_new("mynetworks, 192.0.2.1", err, sizeof(err));
	ok(ln != NULL, "mynetworks read from Postfix (a table in it is skipped)");
	is_str(why(ln, "10.1.200.3", 25000, NULL), "client in local_networks",
	       "...its IPv4 network");
	is_str(why(ln, "2001:db8::1", 25000, NULL), "client in local_networks", "...its IPv6 one");
	is_str(why(ln, "192.0.2.1", 25000, NULL), "client in local_networks", "...and ours beside");
	is_str(why(ln, "10.2.0.1", 25000, NULL), "(not local)", "...nothing else");
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	is_str(sbuf_cstr(&sb), "10.1.0.0/16 2001:db8::/48 192.0.2.1/32 (with Postfix's mynetworks)",
	       "shown for the start-up log");
	sbuf_free(&sb);
	localnets_free(ln);

	/* Debian's default mynetworks names loopback twice, once IPv4-mapped. */
	ln = localnets_new("127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", err, sizeof(err));
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	is_str(sbuf_cstr(&sb), "127.0.0.0/8 ::1/128", "a network given twice is shown once");
	sbuf_free(&sb);
	localnets_free(ln);

	setenv("MOAT_POSTCONF", "/bin/false", 1);
	ln = localnets_new("mynetworks", err, sizeof(err));
	is_str(why(ln, "127.0.0.5", 25000, NULL), "client in local_networks",
	       "postconf fails: loopback is local");
	is_str(why(ln, "::1", 25000, NULL), "client in local_networks", "...::1 too");
	is_str(why(ln, "10.1.200.3", 25000, NULL), "(not local)", "...and nothing else");
	localnets_free(ln);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
