/*
 * url - URLs and e-mail addresses found in text, and links from HTML
 * (html.h reduces HTML to text and feeds its links here), with hosts
 * normalised (lower case, IDN to punycode, trailing dot dropped,
 * registrable domain via the public suffix list).
 *
 * Untrusted input: bounded work per byte (no backtracking regexes), at
 * most `max` results kept in a list (the rest counted), every string
 * NUL-terminated and length-checked.
 */
#ifndef MOAT_URL_H
#define MOAT_URL_H

#include <stddef.h>

struct ip_addr;

#define URL_TEXT_MAX 2048	/* bytes kept of a URL or a link's display text (cut at a character) */

struct url {
	char *text;		/* the URL as found (scheme added if it was bare "www.") */
	char *scheme;		/* lower case: "http", "https", "ftp", "mailto", ... */
	char *host;		/* normalised host (punycode), or an IP address as written */
	char *registrable;	/* registrable domain of host, or NULL (IP, or a suffix) */
	char *path;		/* path + query, may be "" */
	int host_is_ip;		/* numeric host: dotted IPv4, [IPv6], or obfuscated (hex, octal, integer) */
	int has_userinfo;	/* user@ before the host (a phishing trick) */
	int from_html;		/* found in an HTML href/src */
	char *display;		/* HTML: the link's visible text (for phishing checks), or NULL */
	size_t span;		/* bytes it took where it was found (text without the added scheme) */
};

struct url_list {
	struct url *v;
	size_t n, cap;
	size_t dropped;		/* found but over the limit */
};

struct email_list {
	char **v;		/* "local@domain", domain lower case */
	size_t n, cap;
	size_t dropped;
};

/* Empty lists. */
void url_list_init(struct url_list *l);
void email_list_init(struct email_list *l);
/* Free the contents (the list struct itself is the caller's). */
void url_list_free(struct url_list *l);
void email_list_free(struct email_list *l);

/* Find URLs (http, https, ftp, www.-prefixed) in plain text; keep at most max in total. */
void url_extract_text(const char *p, size_t len, struct url_list *out, size_t max);
/* Find e-mail addresses in text; keep at most max in total. */
void email_extract_text(const char *p, size_t len, struct email_list *out, size_t max);
/* Add one link from an HTML attribute (entities decoded): its index in l, or -1 if it is
 * relative, not http/https/ftp/mailto, has a bad host, or is over max (then counted). */
long url_list_add_link(struct url_list *l, const char *p, size_t len, size_t max);
/* Normalised copy of a host (malloc'd): lower case, punycode, no trailing dot; IP
 * addresses kept as written. NULL if not a host a browser would accept. */
char *url_host_normalise(const char *host, size_t len);
/* A host as an address, in every form browsers take ("[2001:db8::1]", "0xC0000201",
 * "3221225985", "0300.0.02.01"); 0 or -1. */
int url_host_ip(const char *host, size_t len, struct ip_addr *ip);

#endif
