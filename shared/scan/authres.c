/*
 * authres - Authentication-Results (RFC 8601); see authres.h.
 *
 * Written as Rspamd 3.4 writes it (lualib/lua_auth_results.lua): the parts
 * joined by "; ", values quoted only when they hold an RFC 2045 tspecial
 * (lua_util.maybe_smtp_quote_value), the SPF comment worded as Rspamd's.
 * moat's order is fixed: dkim (one per signature), spf, dmarc, arc, auth.
 * A signature refused by policy (rsa-sha1, a short RSA key) is
 * "dkim=policy", the RFC 8601 2.7.1 result for it, where Rspamd accepts it.
 *
 * Reading an incoming header's authserv-id is untrusted-input parsing:
 * only its first AUTHRES_SCAN_MAX bytes are looked at, comments nest at
 * most AUTHRES_COMMENT_DEPTH deep, and every loop moves forward.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/sbuf.h"
#include "scan/auth.h"
#include "scan/authres.h"

/* RFC 2045 tspecials, plus the blanks Rspamd's pattern adds. */
static int tspecial(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c) != NULL;
}

/* v, quoted when it holds a tspecial (maybe_smtp_quote_value). */
static void put_value(struct sbuf *out, const char *v)
{
	int quote = 0;

	for (const char *p = v; *p && !quote; p++)
		quote = tspecial((unsigned char)*p);
	if (!quote) {
		sbuf_puts(out, v);
		return;
	}
	sbuf_putc(out, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_putc(out, '\\');
		/* A header never carries a line end of ours: controls become blanks. */
		sbuf_putc(out, (unsigned char)*p < ' ' ? ' ' : *p);
	}
	sbuf_putc(out, '"');
}

static void part(struct sbuf *out)
{
	sbuf_puts(out, "; ");
}

static const char *dkim_word(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_POLICY:
		return "policy";
	default:
		return "permerror";
	}
}

static void put_dkim(struct sbuf *out, const struct scan_auth *a)
{
	if (a->ndkim == 0) {
		part(out);
		sbuf_puts(out, "dkim=none");
		return;
	}
	for (int i = 0; i < a->ndkim && i < DKIM_MAX_SIGS; i++) {
		const struct dkim_sig_result *r = &a->dkim[i];

		part(out);
		sbuf_printf(out, "dkim=%s", dkim_word(r->result));
		if (r->result != DKIM_PASS && r->reason[0]) {
			sbuf_puts(out, " (");
			put_value(out, r->reason);
			sbuf_putc(out, ')');
		}
		if (r->domain[0]) {
			sbuf_puts(out, " header.d=");
			put_value(out, r->domain);
		}
		if (r->selector[0]) {
			sbuf_puts(out, " header.s=");
			put_value(out, r->selector);
		}
		if (a->dkim_b[i][0]) {
			sbuf_puts(out, " header.b=");
			put_value(out, a->dkim_b[i]);
		}
	}
}

static void put_spf(struct sbuf *out, const char *id, const struct scan_auth *a,
                    const struct authres_tx *tx)
{
	const char *key = spf_result_str(a->spf.result);
	const char *from = tx->mail_from ? tx->mail_from : "";
	const char *ip = tx->client_ip && *tx->client_ip ? tx->client_ip : "unknown";
	const char *sender = *from ? from : tx->helo, *type = *from ? "smtp.mailfrom" : "smtp.helo";
	struct sbuf s;

	part(out);
	if (sender == NULL || *sender == '\0') {
		sbuf_printf(out, "spf=%s", key);
		return;
	}
	sbuf_init(&s);
	put_value(&s, sender);
	sbuf_printf(out, "spf=%s (%s: ", key, id);
	switch (a->spf.result) {
	case SPF_PASS:
		sbuf_printf(out, "domain of %s designates %s as permitted sender", sbuf_cstr(&s),
		            ip);
		break;
	case SPF_FAIL:
		sbuf_printf(out, "domain of %s does not designate %s as permitted sender",
		            sbuf_cstr(&s), ip);
		break;
	case SPF_NEUTRAL:
	case SPF_SOFTFAIL:
		sbuf_printf(out, "%s is neither permitted nor denied by domain of %s", ip,
		            sbuf_cstr(&s));
		break;
	case SPF_PERMERROR:
		sbuf_printf(out, "domain of %s uses mechanism not recognized by this client",
		            sbuf_cstr(&s));
		break;
	case SPF_TEMPERROR:
		sbuf_printf(out, "error in processing during lookup of %s: DNS error",
		            sbuf_cstr(&s));
		break;
	default:
		sbuf_printf(out, "domain of %s has no SPF policy when checking %s", sbuf_cstr(&s),
		            ip);
		break;
	}
	sbuf_printf(out, ") %s=%s", type, sbuf_cstr(&s));
	sbuf_free(&s);
}

static void put_dmarc(struct sbuf *out, const struct scan_auth *a)
{
	const char *dom = a->dmarc_domain[0] ? a->dmarc_domain : a->from_domain;
	const char *res = a->dmarc_result[0] ? a->dmarc_result : "none";

	part(out);
	sbuf_puts(out, "dmarc=");
	put_value(out, res);
	if (strcmp(res, "none") == 0)
		return;
	if (strcmp(res, "pass") == 0 && a->dmarc_policy[0]) {
		sbuf_puts(out, " (policy=");
		put_value(out, a->dmarc_policy);
		sbuf_putc(out, ')');
	}
	if (dom[0]) {
		sbuf_puts(out, " header.from=");
		put_value(out, dom);
	}
	if (strcmp(res, "fail") == 0 && a->dmarc_policy[0]) {
		sbuf_puts(out, " (policy=");
		put_value(out, a->dmarc_policy);
		sbuf_putc(out, ')');
	}
}

void authres_format(const char *authserv_id, const struct scan_auth *a, const struct authres_tx *tx,
                    struct sbuf *out)
{
	static const struct authres_tx none;
	size_t start = out->len;

	if (tx == NULL)
		tx = &none;
	put_value(out, authserv_id && *authserv_id ? authserv_id : "localhost");
	start = out->len;
	if (a && a->dkim_checked)
		put_dkim(out, a);
	if (a && a->spf_checked)
		put_spf(out, authserv_id && *authserv_id ? authserv_id : "localhost", a, tx);
	if (a && a->dmarc_checked)
		put_dmarc(out, a);
	if (a && a->arc_checked) {
		part(out);
		sbuf_puts(out, "arc=");
		put_value(out, a->arc_result[0] ? a->arc_result : "none");
		if (a->arc_instances > 0)
			sbuf_printf(out, " (i=%d)", a->arc_instances);
	}
	if (tx->auth_user && *tx->auth_user && tx->mail_from) {
		part(out);
		sbuf_puts(out, "auth=pass smtp.auth=");
		put_value(out, tx->auth_user);
		if (*tx->mail_from) {
			sbuf_puts(out, " smtp.mailfrom=");
			put_value(out, tx->mail_from);
		}
	}
	if (out->len == start)
		sbuf_puts(out, "; none");
}

/* Past CFWS from i (blanks, line ends, nested comments); len if it does not end. */
static size_t skip_cfws(const char *v, size_t i, size_t len, int *bad)
{
	int depth = 0;

	for (; i < len; i++) {
		char c = v[i];

		if (depth > 0 && c == '\\') {
			i++;
		} else if (c == '(') {
			if (++depth > AUTHRES_COMMENT_DEPTH) {
				*bad = 1;
				return len;
			}
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return i;
		}
	}
	if (depth > 0)
		*bad = 1;
	return len;
}

int authres_servid(const char *value, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;
	int bad = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (len > AUTHRES_SCAN_MAX)
		len = AUTHRES_SCAN_MAX;
	i = skip_cfws(value, 0, len, &bad);
	if (bad || i >= len)
		return -1;
	if (value[i] == '"') {
		/* quoted-string: quoted-pairs kept as the character they quote */
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && ++i >= len)
				return -1;
			/* No control byte, folded or not: never an id we wrote. */
			if ((unsigned char)value[i] < ' ' || value[i] == 0x7f || n + 1 >= outlen)
				return -1;
			out[n++] = value[i];
		}
		if (i >= len)
			return -1;
	} else {
		for (; i < len && !tspecial((unsigned char)value[i]); i++) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = value[i];
		}
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

int authres_is_ours(const char *value, size_t len, const char *id)
{
	char got[256];

	return id && *id && authres_servid(value, len, got, sizeof(got)) == 0 &&
	       strcasecmp(got, id) == 0;
}
