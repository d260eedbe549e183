/*
 * policy_proto - the Postfix policy delegation protocol (SMTPD_POLICY_README).
 *
 * A request is "name=value" lines ending in LF (a CR before the LF is
 * dropped), closed by an empty line; the reply is "action=..." and an
 * empty line. The parser is incremental: feed it the connection's input
 * buffer as bytes arrive and it resumes where it stopped, so a request
 * dribbled in one byte at a time costs no more than one that comes whole.
 * Attributes are kept as offsets into that buffer (which may move when it
 * grows). Limits on line length, request size and attribute count are the
 * caller's; a request over one is an error, never truncated.
 */
#ifndef MOAT_POLICY_PROTO_H
#define MOAT_POLICY_PROTO_H

#include <stddef.h>

struct policy_limits {
	size_t line_max;	/* longest "name=value" line */
	size_t request_max;	/* largest request, all lines */
	size_t attr_max;	/* most attributes */
};

struct policy_attr {
	size_t name, name_len;	/* offsets into the buffer */
	size_t value, value_len;
};

struct policy_parser {
	size_t pos;		/* next byte to look at */
	size_t line;		/* start of the current line */
	size_t nattr;
	struct policy_attr *attr;	/* attr_max entries */
	const struct policy_limits *lim;
};

/* A request as the decision code sees it: a view into the buffer. */
struct policy_request {
	const char *buf;
	const struct policy_attr *attr;
	size_t nattr;
};

enum policy_parse_result {
	POLICY_MORE = 0,	/* incomplete: wait for more input */
	POLICY_DONE = 1,	/* a whole request in buf[0..*used) */
	POLICY_ERROR = -1,	/* malformed or over a limit: drop the connection */
};

/* Ready a parser for the given limits. */
void policy_parser_init(struct policy_parser *pp, const struct policy_limits *lim);
/* Release the parser's memory. */
void policy_parser_free(struct policy_parser *pp);
/* Forget the request parsed so far (after the caller consumed it). */
void policy_parser_reset(struct policy_parser *pp);
/*
 * Scan buf[0..len). On POLICY_DONE, req is filled and *used is the size of
 * the request with its empty line; on POLICY_ERROR err says why.
 */
enum policy_parse_result policy_parse(struct policy_parser *pp, const char *buf, size_t len,
				      struct policy_request *req, size_t *used, char *err,
				      size_t errlen);
/* Value of attribute name, or NULL; *len gets its length. First one wins. */
const char *policy_get(const struct policy_request *req, const char *name, size_t *len);
/* Value copied into buf as a C string ("" when missing, truncated to fit). */
const char *policy_get_str(const struct policy_request *req, const char *name, char *buf,
			   size_t size);

#endif
