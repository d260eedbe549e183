/*
 * authres - the Authentication-Results header (RFC 8601): written from a
 * message's struct scan_auth in Rspamd's format (lua_auth_results.lua),
 * and the authserv-id of an incoming one read, so that the milter removes
 * those that claim to be ours (RFC 8601 section 5).
 */
#ifndef MOAT_AUTHRES_H
#define MOAT_AUTHRES_H

#include <stddef.h>

struct sbuf;
struct scan_auth;

/* What the header says of the transaction besides the checks' results (any may be NULL). */
struct authres_tx {
	const char *mail_from; /* envelope sender, without <> ("" = null sender) */
	const char *helo;
	const char *client_ip;
	const char *auth_user; /* SASL login: "auth=pass smtp.auth=..." */
};

/*
 * The header's value into out: "ID; dkim=pass header.d=... header.s=...
 * header.b=...; spf=pass (ID: domain of ... designates ... as permitted
 * sender) smtp.mailfrom=...; dmarc=...; arc=...; auth=pass ...", or
 * "ID; none" when nothing was checked. Each part only when its *_checked
 * flag is set.
 */
void authres_format(const char *authserv_id, const struct scan_auth *a, const struct authres_tx *tx,
                    struct sbuf *out);

#define AUTHRES_SCAN_MAX 4096 /* bytes of a header value looked at for its authserv-id */
#define AUTHRES_COMMENT_DEPTH 8

/*
 * The authserv-id of an Authentication-Results value (RFC 8601 2.2: CFWS,
 * then a token or quoted-string) into out, NUL-terminated: 0, or -1 when
 * there is none within AUTHRES_SCAN_MAX bytes, comments nest deeper than
 * AUTHRES_COMMENT_DEPTH, or it does not fit in outlen.
 */
int authres_servid(const char *value, size_t len, char *out, size_t outlen);
/* Whether the value's authserv-id is id (ASCII case-insensitive, as a host name). */
int authres_is_ours(const char *value, size_t len, const char *id);

#endif
