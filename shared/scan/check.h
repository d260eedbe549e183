/*
 * check - what a check is, and what the scanner gives it. A check exports
 * one `const struct check` and nothing else; the registry (checks.c) lists
 * them in run order and the scanner walks it. Checks read the rules
 * (rules.h), the parsed message (mail/mime.h) and its content (content.h),
 * add symbols through the result API (result.h), and never include the
 * scanner (scan.h): no dependency circles (OpenSMTPD's backend tables,
 * Rspamd's "checks write to a result that knows nothing of checks").
 */
#ifndef MOAT_CHECK_H
#define MOAT_CHECK_H

#include <stddef.h>

struct bayes;
struct clamav;
struct content;
struct msg;
struct scan_auth;
struct scan_dns;
struct spf_outcome;
struct scan_result;
struct scan_rules;

/* What the milter knows of the SMTP transaction (any field may be NULL). */
struct scan_input {
	const char *raw;	/* the message as received (headers + body) */
	size_t len;
	const char *client_ip;
	const char *client_name;
	const char *helo;
	const char *mail_from;	/* envelope sender, without <> */
	const char *const *rcpts;	/* envelope recipients */
	int nrcpts;
	int tls;		/* the client used TLS */
	int local;		/* the site's own mail: local_networks, local submission or
				 * a SASL session (maps/localmail.h); only scanned
				 * with scan_local = yes */
	const char *auth_user;	/* the SASL login ({auth_authen}), or NULL */
	size_t size;		/* the whole message's size, when more than len was received
				 * (scan_size_limit); 0: len is all of it */
	const char *queue_id;	/* Postfix's queue ID for log lines, or NULL */
	const struct spf_outcome *spf_given; /* SPF already judged at RCPT by moat-policyd
					      * (X-Moat-Policy), or NULL: check it here */
	int truncated;		/* raw is only the start (scan_size_limit): no DKIM body hash */
};

/* A scanning thread's own resources; either may be NULL (that check then does nothing). */
struct scan_env {
	struct bayes *bayes;	/* Bayes classifier (scan/bayes.h) */
	struct scan_dns *dns;	/* DNS lists (scan/check_rbl.h) */
	struct clamav *clamav;	/* clamd client (scan/clamav.h) */
};

/* One message being scanned, as a check sees it. */
struct scan_ctx {
	const struct scan_rules *rules;	/* weights, settings, regexes (rules.h) */
	const struct scan_input *in;	/* the SMTP transaction */
	const struct msg *msg;		/* the parsed message (mail/mime.h) */
	const struct content *content;	/* its text and URLs (content.h) */
	const struct scan_env *env;	/* never NULL; its members may be */
	struct scan_result *res;	/* where symbols go (result.h) */
	struct scan_auth *auth;		/* authentication results, shared by the checks (auth.h) */
};

struct check {
	const char *name;	/* for logs and tests */
	const char *module;	/* the modules-table row that turns it off, or NULL */
	void (*run)(const struct scan_ctx *ctx);
	/* Optional: called before any check runs, to begin work that runs beside the
	 * other checks (clamd); run then collects it. */
	void (*start)(const struct scan_ctx *ctx);
};

extern const struct check check_headers, check_mime, check_mua, check_regex, check_bayes,
	check_rbl, check_auth, check_dmarc, check_arc, check_hfilter, check_clamav;
/* The checks in run order, NULL-terminated (checks.c). */
extern const struct check *const scan_checks[];

/*
 * Lines of a text as Rspamd counts them (its nlines: breaks with text after
 * them, and empty lines); crlf: each '\n' stood for "\r\n" (check_hfilter.c).
 */
int check_hfilter_lines(const char *p, size_t len, int crlf);
/* Parse an RFC 5322 date; 0 and *t (UTC seconds) or -1 (check_headers.c). */
int checks_parse_date(const char *s, long long *t);

#endif
