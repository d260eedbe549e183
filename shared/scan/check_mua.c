/*
 * check_mua - header checks of Rspamd's regexp/headers.lua (which took
 * them from SpamAssassin) that moat lacked: forged Outlook MUAs, a
 * missing X-MimeOLE, undisclosed or sorted recipient lists, a missing
 * charset, a Content-Type ending in ';'. Same names, meanings and
 * default weights as Rspamd's (rows in sql/008-accuracy.sql). The
 * patterns are Rspamd's, compiled once.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "scan/check.h"
#include "scan/result.h"

enum pat {
	P_OE_MUA, P_OE_MID1, P_OE_MID2, P_LYRIS_UNSUB, P_WACKY_RCVD, P_IPLANET_RCVD,
	P_BAYDAV_MID, P_SYMPATICO_MID, P_MAILMAN_MID, P_OUTLOOK_DOLLARS_MUA,
	P_OUTLOOK_DOLLARS_MID, P_VISTA_MID, P_IMS_MID, P_EXCL_O3416, P_EXCL_OE3790,
	P_UNDISC, P_SQUIRREL, P_OFFICE_OUTLOOK, P_DOLLARS_MID, P_MS_MIMEOLE, P_EXCHANGE_RCVD,
	P_THEBAT_MUA, P_THEBAT_MID_COMMON, P_THEBAT_MID, P_OUTLOOK_MUA, P_YAHOO_BULK, P_NPAT
};

static const char *const pat_src[P_NPAT] = {
	[P_OE_MUA] = "\\bOutlook Express [456]\\.",
	[P_OE_MID1] = "^<?[A-Za-z0-9-]{7}[A-Za-z0-9]{20}@hotmail\\.com>?$",
	[P_OE_MID2] = "^<?(?:[0-9a-f]{8}|[0-9a-f]{12})\\$[0-9a-f]{8}\\$[0-9a-f]{8}@\\S+>?$",
	[P_LYRIS_UNSUB] = "<mailto:(?:leave-\\S+|\\S+-unsubscribe)@\\S+>$",
	[P_WACKY_RCVD] = "/CWT/DCE\\)",
	[P_IPLANET_RCVD] = "iPlanet Messaging Server",
	[P_BAYDAV_MID] = "^<?BAY\\d+-DAV\\d+[A-Z0-9]{25}@phx\\.gbl?>$",
	[P_SYMPATICO_MID] = "^<?BAYC\\d+-PASMTP\\d+[A-Z0-9]{25}@CEZ\\.ICE>?$",
	[P_MAILMAN_MID] = "^<mailman\\.\\d+\\.\\d+\\.\\d+\\.[-+.:=\\w]+@[-a-zA-Z\\d.]+>$",
	[P_OUTLOOK_DOLLARS_MUA] = "^Microsoft Outlook(?: 8| CWS, Build 9|, Build 10)\\.",
	[P_OUTLOOK_DOLLARS_MID] = "^<?!~!",
	[P_VISTA_MID] = "^<?[A-F\\d]{32}@\\S+>?$",
	[P_IMS_MID] = "^<?[A-F\\d]{36,40}@\\S+>?$",
	[P_EXCL_O3416] = "^Microsoft Outlook, Build 10\\.0\\.3416$",
	[P_EXCL_OE3790] = "^Microsoft Outlook Express 6\\.00\\.3790\\.3959$",
	[P_UNDISC] = "^[<\"]?undisclosed[- ]recipients?\\b.*:",
	[P_SQUIRREL] = "SquirrelMail\\b",
	[P_OFFICE_OUTLOOK] = "^Microsoft (?:Office )?Outlook [12]\\d\\.0",
	[P_DOLLARS_MID] = "[0-9a-f]{4,}\\$[0-9a-f]{4,}\\$[0-9a-f]{4,}@\\S+",
	[P_MS_MIMEOLE] = "^Produced By Microsoft MimeOLE",
	[P_EXCHANGE_RCVD] = "with Microsoft Exchange Server",
	[P_THEBAT_MUA] = "^\\s*The Bat!",
	[P_THEBAT_MID_COMMON] = "^<?\\d+\\.\\d+@\\S+>?$",
	[P_THEBAT_MID] = ("^<?\\d+\\.(19[789]\\d|20\\d\\d)(0\\d|1[012])([012]\\d|3[01])"
			  "([0-5]\\d)([0-5]\\d)([0-5]\\d)@\\S+>?"),
	[P_OUTLOOK_MUA] = "^Microsoft Outlook\\b",
	[P_YAHOO_BULK] = "from \\[\\S+\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com with NNFMP",
};

static pcre2_code *pat[P_NPAT];

static void pats_compile(void)
{
	for (int i = 0; i < P_NPAT; i++) {
		int errcode;
		PCRE2_SIZE off;

		/* Fixed patterns: a failure is a bug, and the check then never matches. */
		pat[i] = pcre2_compile((PCRE2_SPTR)pat_src[i], PCRE2_ZERO_TERMINATED,
				       i == P_UNDISC ? PCRE2_CASELESS : 0, &errcode, &off, NULL);
		if (pat[i])
			pcre2_jit_compile(pat[i], PCRE2_JIT_COMPLETE);
	}
}

/* Does header name's (raw) value match pattern p; any of its fields when all is set. */
static int hmatch(const struct msg *m, const char *name, enum pat p, int all)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const struct mime_part *root = m->root;
	int hit = 0;

	pthread_once(&once, pats_compile);
	if (pat[p] == NULL)
		return 0;
	for (int i = 0; i < root->nheaders && !hit; i++) {
		const struct msg_header *h = &root->headers[i];
		pcre2_match_data *md;

		if (strcasecmp(h->name, name) != 0)
			continue;
		md = pcre2_match_data_create_from_pattern(pat[p], NULL);
		if (md == NULL)
			return 0;
		hit = pcre2_match(pat[p], (PCRE2_SPTR)h->value, strlen(h->value), 0, 0, md,
				  NULL) >= 0;
		pcre2_match_data_free(md);
		if (!all)
			break;
	}
	return hit;
}

/* A list or gateway rewrote the Message-ID: it tells nothing of the MUA. */
static int unusable_msgid(const struct msg *m)
{
	return hmatch(m, "List-Unsubscribe", P_LYRIS_UNSUB, 0) ||
	       hmatch(m, "Received", P_WACKY_RCVD, 1) || hmatch(m, "Received", P_IPLANET_RCVD, 1) ||
	       hmatch(m, "Message-ID", P_BAYDAV_MID, 0) ||
	       hmatch(m, "Message-ID", P_SYMPATICO_MID, 0) ||
	       hmatch(m, "Message-ID", P_MAILMAN_MID, 0);
}

/*
 * FORGED_MUA_OUTLOOK: an Outlook (Express) X-Mailer with a Message-ID
 * Outlook never makes, unless a list or gateway rewrote the Message-ID.
 */
static int forged_outlook(const struct msg *m)
{
	int oe, dollars;

	if (hmatch(m, "X-Mailer", P_EXCL_O3416, 0) || hmatch(m, "X-Mailer", P_EXCL_OE3790, 0) ||
	    hmatch(m, "Message-ID", P_VISTA_MID, 0))
		return 0;
	oe = hmatch(m, "X-Mailer", P_OE_MUA, 0);
	dollars = hmatch(m, "X-Mailer", P_OUTLOOK_DOLLARS_MUA, 0);
	if (!oe && !dollars)
		return 0;
	if (unusable_msgid(m) || hmatch(m, "Message-ID", P_OE_MID2, 0))
		return 0;
	if (oe && !hmatch(m, "Message-ID", P_OE_MID1, 0))
		return 1;
	return dollars && !hmatch(m, "Message-ID", P_OUTLOOK_DOLLARS_MID, 0) &&
	       !hmatch(m, "Message-ID", P_IMS_MID, 0);
}

/* The next address (the run of address bytes around an '@') in [*p, end), or 0. */
static size_t next_addr(const char **p, const char *end, const char **addr)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-";

	for (const char *at = memchr(*p, '@', (size_t)(end - *p)); at;
	     at = memchr(at + 1, '@', (size_t)(end - at - 1))) {
		const char *b = at, *e = at + 1;

		while (b > *p && strchr(ok, b[-1]) && b[-1])
			b--;
		while (e < end && strchr(ok, *e) && *e)
			e++;
		if (b < at && e > at + 1) {
			*addr = b;
			*p = e;
			return (size_t)(e - b);
		}
	}
	*p = end;
	return 0;
}

/* Compare two addresses of given lengths, ignoring case. */
static int addr_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = strncasecmp(a, b, al < bl ? al : bl);

	return c ? c : al < bl ? -1 : al > bl;
}

/*
 * SORTED_RECIPS: seven or more To/Cc addresses in alphabetical order, as
 * a spammer's list walked in order makes them; people do not write so.
 */
static int sorted_recipients(const struct msg *m)
{
	const struct mime_part *root = m->root;
	const char *prev = NULL;
	size_t prevlen = 0;
	int n = 0;

	for (int i = 0; i < root->nheaders; i++) {
		const struct msg_header *h = &root->headers[i];
		const char *p = h->value, *end = p + strlen(p), *a;
		size_t len;

		if (strcasecmp(h->name, "To") != 0 && strcasecmp(h->name, "Cc") != 0)
			continue;
		while ((len = next_addr(&p, end, &a)) > 0) {
			if (prev && addr_cmp(prev, prevlen, a, len) > 0)
				return 0;
			prev = a;
			prevlen = len;
			n++;
		}
	}
	return n >= 7;
}

/* R_MISSING_CHARSET: a non-empty text/plain part, not 7bit, with no charset. */
static int missing_charset(const struct msg *m)
{
	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];
		size_t j;

		if (p->is_attachment || strcmp(p->ctype, "text/plain") != 0 || p->charset)
			continue;
		if (p->cte == NULL || strcasecmp(p->cte, "7bit") == 0)
			continue;
		for (j = 0; j < p->raw_len && strchr(" \t\r\n", p->raw_body[j]); j++)
			;
		if (j < p->raw_len)
			return 1;
	}
	return 0;
}

/* CT_EXTRA_SEMI: the top Content-Type ends in ';' (a parameter left out by a template). */
static int ct_extra_semi(const struct msg *m)
{
	const struct msg_header *h = msg_header(m->root, "Content-Type");
	size_t n;

	if (h == NULL)
		return 0;
	for (n = strlen(h->raw); n > 0 && strchr(" \t\r\n", h->raw[n - 1]); n--)
		;
	return n > 0 && h->raw[n - 1] == ';';
}

/*
 * FORGED_MUA_THEBAT_MSGID(_UNKNOWN): The Bat! makes "<N.YYYYMMDDhhmmss@host>";
 * a The Bat! X-Mailer with another "<N.N@host>" (or any other form) is an imitation.
 */
static const char *forged_thebat(const struct msg *m)
{
	if (!hmatch(m, "X-Mailer", P_THEBAT_MUA, 0) || hmatch(m, "Message-ID", P_THEBAT_MID, 0) ||
	    unusable_msgid(m))
		return NULL;
	return hmatch(m, "Message-ID", P_THEBAT_MID_COMMON, 0) ? "FORGED_MUA_THEBAT_MSGID" :
								 "FORGED_MUA_THEBAT_MSGID_UNKNOWN";
}

/* MIME_HEADER_CTYPE_ONLY: a non-plain Content-Type and no other MIME header at all. */
static int ctype_only(const struct msg *m)
{
	const struct mime_part *root = m->root;

	return msg_header(root, "Content-Type") && !msg_header(root, "Content-Disposition") &&
	       !msg_header(root, "Content-Transfer-Encoding") &&
	       !msg_header(root, "MIME-Version") && strcmp(root->ctype, "text/plain") != 0;
}

/* The message's only text is HTML (as Rspamd's has_only_html_part()). */
static int html_only(const struct msg *m)
{
	int html = 0, other = 0;

	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->is_attachment || strncmp(p->ctype, "text/", 5) != 0)
			continue;
		if (strcmp(p->ctype, "text/html") == 0)
			html++;
		else
			other++;
	}
	return html == 1 && other == 0;
}

/* CTYPE_MIXED_BOGUS: multipart/mixed that mixes nothing: one or two text parts, no other. */
static int mixed_bogus(const struct msg *m)
{
	int ntext = 0;

	if (strcmp(m->root->ctype, "multipart/mixed") != 0)
		return 0;
	for (int i = 0; i < m->nleaves; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->is_attachment || strncmp(p->ctype, "text/", 5) != 0 || ++ntext > 2)
			return 0;
	}
	return 1;
}

/* MIME_BASE64_TEXT_BOGUS: text in base64 though it is plain ASCII (hiding it from filters). */
static int base64_text_bogus(const struct msg *m)
{
	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];
		size_t j;

		if (p->text == NULL || p->cte == NULL || strcasecmp(p->cte, "base64") != 0)
			continue;
		for (j = 0; j < p->text_len && !((unsigned char)p->text[j] & 0x80); j++)
			;
		if (j == p->text_len)
			return 1;
	}
	return 0;
}

/* SIGNED_PGP / SIGNED_SMIME: a signature part; spammers do not sign. */
static const char *signature(const struct msg *m)
{
	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const char *ct = m->leaves[i]->ctype;

		if (strcmp(ct, "application/pgp-signature") == 0)
			return "SIGNED_PGP";
		if (strcmp(ct, "application/pkcs7-signature") == 0 ||
		    strcmp(ct, "application/x-pkcs7-signature") == 0)
			return "SIGNED_SMIME";
	}
	return NULL;
}

/*
 * SUBJECT/FROM/TO_NEEDS_ENCODING: 8-bit or control bytes in the raw header,
 * not RFC 2047-encoded as the standard asks (the raw bytes of the field).
 */
static int needs_encoding(const struct msg *m, const char *name)
{
	const struct msg_header *h = msg_header(m->root, name);
	int bad = 0;

	if (h == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)h->raw; *p && !bad; p++)
		bad = *p >= 0x7f || (*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n');
	if (!bad)
		return 0;
	/* Partly encoded ("=?charset?B?" or "?Q?") counts as encoded, as in Rspamd. */
	for (const char *q = strstr(h->raw, "=?"); q; q = strstr(q + 2, "=?")) {
		const char *e = q + 2 + strcspn(q + 2, "? \t");

		if (e[0] == '?' && e > q + 2 && strchr("BbQq", e[1]) && e[1] && e[2] == '?')
			return 0;
	}
	return 1;
}

static void mua_run(const struct scan_ctx *ctx)
{
	const struct scan_rules *r = ctx->rules;
	const struct msg *m = ctx->msg;
	struct scan_result *res = ctx->res;
	const struct mime_part *root = m->root;
	const char *name;

	if (forged_outlook(m))
		scan_add(res, r, "FORGED_MUA_OUTLOOK", NULL);
	/* Outlook and Exchange send X-MimeOLE with X-MSMail-Priority; imitations forget it. */
	if (msg_header(root, "X-MSMail-Priority") && !msg_header(root, "X-MimeOLE") &&
	    !hmatch(m, "X-Mailer", P_SQUIRREL, 0) && !hmatch(m, "X-Mailer", P_OFFICE_OUTLOOK, 0))
		scan_add(res, r, "MISSING_MIMEOLE", NULL);
	if (hmatch(m, "To", P_UNDISC, 0))
		scan_add(res, r, "R_UNDISC_RCPT", NULL);
	if (sorted_recipients(m))
		scan_add(res, r, "SORTED_RECIPS", NULL);
	if (missing_charset(m))
		scan_add(res, r, "R_MISSING_CHARSET", NULL);
	if (ct_extra_semi(m))
		scan_add(res, r, "CT_EXTRA_SEMI", NULL);
	/* Outlook's "$"-joined Message-ID without the MimeOLE or Exchange that make it. */
	if (hmatch(m, "Message-ID", P_DOLLARS_MID, 0) && !hmatch(m, "X-MimeOLE", P_MS_MIMEOLE, 0) &&
	    !hmatch(m, "Received", P_EXCHANGE_RCVD, 1))
		scan_add(res, r, "RATWARE_MS_HASH", NULL);
	if ((name = forged_thebat(m)) != NULL)
		scan_add(res, r, name, NULL);
	/* Outlook always sends a text part beside the HTML; Yahoo Groups rewrites both. */
	if (hmatch(m, "X-Mailer", P_OUTLOOK_MUA, 0) && html_only(m) &&
	    !hmatch(m, "Received", P_YAHOO_BULK, 1))
		scan_add(res, r, "FORGED_OUTLOOK_HTML", NULL);
	if (ctype_only(m))
		scan_add(res, r, "MIME_HEADER_CTYPE_ONLY", NULL);
	if (mixed_bogus(m))
		scan_add(res, r, "CTYPE_MIXED_BOGUS", NULL);
	if (base64_text_bogus(m))
		scan_add(res, r, "MIME_BASE64_TEXT_BOGUS", NULL);
	if ((name = signature(m)) != NULL)
		scan_add(res, r, name, NULL);
	if (needs_encoding(m, "Subject"))
		scan_add(res, r, "SUBJECT_NEEDS_ENCODING", NULL);
	if (needs_encoding(m, "From"))
		scan_add(res, r, "FROM_NEEDS_ENCODING", NULL);
	if (needs_encoding(m, "To"))
		scan_add(res, r, "TO_NEEDS_ENCODING", NULL);
}

const struct check check_mua = {.name = "mua", .module = NULL, .run = mua_run};
