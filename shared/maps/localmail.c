/*
 * localmail - local networks, local submission and authenticated senders;
 * see localmail.h.
 *
 * Limits: at most LOCALNETS_MAX networks and a mynetworks value of at most
 * 16 KiB; Postfix's lookup tables and files in mynetworks (/file/name,
 * type:table) cannot be read here and are skipped with a warning.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "maps/localmail.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/postconf.h"

#define LOCALNETS_MAX 4096
#define SEPARATORS ", \t\r\n"

struct localnets {
	struct cidr net[LOCALNETS_MAX];
	unsigned char neg[LOCALNETS_MAX]; /* "!net": such clients are not local */
	size_t n;
	int from_postfix; /* the mynetworks word was read */
};

static int add_list(struct localnets *ln, const char *list, const char *what, char *err,
                    size_t errlen);

/* Postfix's mynetworks, or loopback when postconf cannot tell. */
static int add_mynetworks(struct localnets *ln, char *err, size_t errlen)
{
	static char value[16384]; /* start-up and reload only: one thread */

	if (postconf_get("mynetworks", value, sizeof(value)) < 0) {
		msg_warn("local_networks: cannot read Postfix's mynetworks with postconf; using"
		         " 127.0.0.0/8 and ::1");
		snprintf(value, sizeof(value), "127.0.0.0/8 [::1]/128");
	}
	ln->from_postfix = 1;
	return add_list(ln, value, "Postfix's mynetworks", err, errlen);
}

static int add_list(struct localnets *ln, const char *list, const char *what, char *err,
                    size_t errlen)
{
	const char *p = list;

	while (*(p += strspn(p, SEPARATORS))) {
		size_t len = strcspn(p, SEPARATORS);
		int neg = *p == '!';
		const char *e = p + neg;
		size_t elen = len - (size_t)neg;

		if (!neg && elen == 10 && strncmp(e, "mynetworks", 10) == 0 && !ln->from_postfix) {
			if (add_mynetworks(ln, err, errlen) < 0)
				return -1;
		} else if (ln->n >= LOCALNETS_MAX) {
			snprintf(err, errlen, "local_networks: more than %d networks",
			         LOCALNETS_MAX);
			return -1;
		} else if (cidr_parse(e, elen, &ln->net[ln->n]) == 0) {
			ln->neg[ln->n++] = (unsigned char)neg;
		} else if (strcmp(what, "local_networks") != 0) {
			/* A /file/name or type:table in mynetworks: only Postfix reads those. */
			msg_warn("local_networks: skipping \"%.*s\" of %s: not an address or"
			         " network",
			         (int)(len > 200 ? 200 : len), p, what);
		} else {
			snprintf(err, errlen,
			         "local_networks: \"%.*s\" is not an address or network",
			         (int)(len > 200 ? 200 : len), p);
			return -1;
		}
		p += len;
	}
	return 0;
}

struct localnets *localnets_new(const char *setting, char *err, size_t errlen)
{
	struct localnets *ln = xcalloc(1, sizeof(*ln));

	if (add_list(ln, setting, "local_networks", err, errlen) < 0) {
		free(ln);
		return NULL;
	}
	return ln;
}

void localnets_free(struct localnets *ln)
{
	free(ln);
}

void localnets_format(const struct localnets *ln, struct sbuf *out)
{
	size_t shown = 0;

	for (size_t i = 0; i < ln->n; i++) {
		char a[IP_TEXT_MAX], b[IP_TEXT_MAX];
		size_t j;

		ip_format(&ln->net[i].net, a, sizeof(a));
		/* Postfix's [::ffff:127.0.0.0]/104 is 127.0.0.0/8 again: said once. */
		for (j = 0; j < i; j++) {
			ip_format(&ln->net[j].net, b, sizeof(b));
			if (ln->neg[j] == ln->neg[i] && ln->net[j].plen == ln->net[i].plen &&
			    strcmp(a, b) == 0)
				break;
		}
		if (j < i)
			continue;
		sbuf_printf(out, "%s%s%s/%d", shown++ ? " " : "", ln->neg[i] ? "!" : "", a,
		            ln->net[i].plen);
	}
	if (ln->n == 0)
		sbuf_puts(out, "none");
	if (ln->from_postfix)
		sbuf_puts(out, " (with Postfix's mynetworks)");
}

const char *localmail_reason(const struct localnets *ln, const char *client, int port,
                             const char *auth, char *buf, size_t buflen)
{
	struct ip_addr ip;

	if (auth && *auth) {
		size_t n = (size_t)snprintf(buf, buflen, "authenticated as ");

		/* The login name goes into the log and history: printable bytes only. */
		for (; *auth && n + 1 < buflen && n < 120; auth++)
			buf[n++] = *auth > 32 && *auth < 127 ? *auth : '?';
		buf[n < buflen ? n : buflen - 1] = '\0';
		return buf;
	}
	if (port == 0) {
		snprintf(buf, buflen, "submitted on this host");
		return buf;
	}
	if (ln == NULL || ip_parse(client, strlen(client), &ip) < 0)
		return NULL;
	for (size_t i = 0; i < ln->n; i++) {
		if (!cidr_match(&ln->net[i], &ip))
			continue;
		if (ln->neg[i])
			return NULL;
		snprintf(buf, buflen, "client in local_networks");
		return buf;
	}
	return NULL;
}
