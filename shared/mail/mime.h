/*
 * mime - a whole Internet message, parsed defensively (RFC 5322, RFC 2045-2047).
 *
 * Headers are unfolded and their values decoded (RFC 2047 encoded words,
 * charsets converted to UTF-8 with iconv); the body is split into a MIME
 * tree; text parts are decoded (base64, quoted-printable, tolerant of
 * real-world damage) and converted to UTF-8. Untrusted input throughout:
 * every loop is bounded, nothing recurses without a depth limit, no
 * quadratic behaviour; a message over a limit is parsed as far as the
 * limit allows and says so in its flags (never an error that drops mail).
 * A leading mbox "From " line is skipped.
 *
 * Memory: everything a struct msg points to belongs to it and goes with
 * msg_free().
 */
#ifndef MOAT_MIME_H
#define MOAT_MIME_H

#include <stddef.h>

struct mime_limits {
	size_t max_size;	/* bytes of the message examined (rest ignored) */
	int max_headers;	/* header fields kept per part */
	size_t max_header_len;	/* bytes of one unfolded header field kept */
	int max_depth;		/* multipart nesting */
	int max_parts;		/* parts in the whole tree */
};

/* Flags on a message: what was wrong with it (for symbols, never errors). */
enum msg_flag {
	MSG_TRUNCATED = 1 << 0,		/* bigger than max_size */
	MSG_TOO_MANY_HEADERS = 1 << 1,
	MSG_HEADER_TOO_LONG = 1 << 2,
	MSG_TOO_DEEP = 1 << 3,		/* multipart nesting over max_depth */
	MSG_TOO_MANY_PARTS = 1 << 4,
	MSG_MISSING_BOUNDARY = 1 << 5,	/* multipart without (usable) boundary */
	MSG_BAD_BASE64 = 1 << 6,	/* damaged base64 somewhere */
	MSG_BAD_QP = 1 << 7,		/* damaged quoted-printable */
	MSG_BAD_CHARSET = 1 << 8,	/* unknown charset or invalid bytes in it */
	MSG_8BIT_HEADER = 1 << 9,	/* raw 8-bit bytes in a header */
	MSG_NUL = 1 << 10,		/* NUL bytes in the message */
	MSG_NO_HEADER_END = 1 << 11,	/* no empty line after the header */
};

struct msg_header {
	char *name;		/* as written (case kept), NUL-terminated */
	char *raw;		/* unfolded value, raw bytes (may hold 8-bit), NUL-terminated */
	char *value;		/* unfolded, RFC 2047 decoded, UTF-8, NUL-terminated */
};

struct mime_part {
	struct msg_header *headers;
	int nheaders;
	char *ctype;		/* lower case "type/subtype"; "text/plain" when absent */
	char *charset;		/* lower case, or NULL */
	char *filename;		/* from Content-Disposition or Content-Type name=, decoded; or NULL */
	char *cte;		/* lower case Content-Transfer-Encoding, or NULL */
	int is_attachment;	/* Content-Disposition: attachment, or has a filename */
	const char *raw_body;	/* the part's raw body inside the message buffer */
	size_t raw_len;
	char *text;		/* decoded, UTF-8, for text/ parts only (else NULL) */
	size_t text_len;
	size_t decoded_len;	/* bytes after transfer decoding (all leaf parts) */
	int depth;		/* 0 for the top */
	struct mime_part *parent;
	struct mime_part **children;	/* for multipart/ and message/rfc822 */
	int nchildren;
};

struct msg {
	struct mime_part *root;	/* root->headers are the message's headers */
	struct mime_part **leaves;	/* every non-multipart part, in order */
	int nleaves;
	int nparts;		/* parts in the tree */
	unsigned flags;		/* enum msg_flag */
	size_t size;		/* bytes of the input (before any truncation) */
	char *buf;		/* private copy of the examined input */
	size_t len;
};

/* Default limits: 20 MB, 1000 headers, 64 KiB per header, depth 20, 1000 parts. */
void mime_limits_default(struct mime_limits *lim);
/* Parse len bytes. Never fails on bad input; NULL only when out of memory. */
struct msg *msg_parse(const char *p, size_t len, const struct mime_limits *lim);
/* Free (NULL is fine). */
void msg_free(struct msg *m);
/* First header field of part named name (case-insensitive), or NULL. */
const struct msg_header *msg_header(const struct mime_part *part, const char *name);
/* How many header fields of part are named name. */
int msg_header_count(const struct mime_part *part, const char *name);
/*
 * Decode one RFC 2047-encoded header value to UTF-8 (also used for
 * display names). Returns a malloc'd string; never NULL.
 */
char *rfc2047_decode(const char *p, size_t len);
/* Convert len bytes from charset to UTF-8 (invalid input replaced by U+FFFD).
 * Returns malloc'd, NUL-terminated; *outlen gets the length; *bad set on damage. */
char *charset_to_utf8(const char *charset, const char *p, size_t len, size_t *outlen, int *bad);

#endif
