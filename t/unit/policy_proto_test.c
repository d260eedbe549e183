/* policy_proto_test - the incremental policy request parser. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/policy_proto.h"
#include "tap.h"

static struct policy_limits lim = {.line_max = 100, .request_max = 400, .attr_max = 8};
static char err[256];

/* Feed text one byte at a time; result of the last call. */
static enum policy_parse_result dribble(const char *text, struct policy_request *req,
					size_t *used)
{
	static struct policy_parser pp;
	enum policy_parse_result r = POLICY_MORE;

	policy_parser_free(&pp);
	policy_parser_init(&pp, &lim);
	for (size_t n = 1; n <= strlen(text) && r == POLICY_MORE; n++)
		r = policy_parse(&pp, text, n, req, used, err, sizeof(err));
	return r;
}

static enum policy_parse_result whole(const char *text, size_t len, struct policy_request *req,
				      size_t *used)
{
	static struct policy_parser pp;

	policy_parser_free(&pp);
	policy_parser_init(&pp, &lim);
	return policy_parse(&pp, text, len, req, used, err, sizeof(err));
}

int main(void)
{
	struct policy_request req;
	struct policy_parser pp;
	size_t used, len;
	const char *v;
	char buf[64];
	const char *two = "request=smtpd_access_policy\nclient_address=192.0.2.1\n\n"
			  "request=smtpd_access_policy\nclient_address=192.0.2.2\n\n";

	is_int(whole("request=x\n", 10, &req, &used), POLICY_MORE, "no empty line yet: more");
	is_int(whole(two, strlen(two), &req, &used), POLICY_DONE, "whole request parses");
	is_int(used, strlen(two) / 2, "...using exactly the first request");
	is_int(req.nattr, 2, "...with two attributes");
	v = policy_get(&req, "client_address", &len);
	ok(v && len == 9 && memcmp(v, "192.0.2.1", 9) == 0, "value found");
	is_str(policy_get_str(&req, "missing", buf, sizeof(buf)), "", "missing attribute is empty");

	/* Second request in the same buffer after consuming the first. */
	policy_parser_init(&pp, &lim);
	policy_parse(&pp, two, strlen(two), &req, &used, err, sizeof(err));
	policy_parser_reset(&pp);
	is_int(policy_parse(&pp, two + used, strlen(two) - used, &req, &used, err, sizeof(err)),
	       POLICY_DONE, "second pipelined request parses");
	is_str(policy_get_str(&req, "client_address", buf, sizeof(buf)), "192.0.2.2",
	       "...with its own values");
	policy_parser_free(&pp);

	is_int(dribble("a=1\nb=2\n\n", &req, &used), POLICY_DONE, "one byte at a time works");
	is_int(req.nattr, 2, "...same attributes");
	is_int(dribble("a=1\r\nb=x=y\r\n\r\n", &req, &used), POLICY_DONE, "CRLF accepted");
	is_str(policy_get_str(&req, "b", buf, sizeof(buf)), "x=y", "value may contain '='");
	is_int(whole("a=\n\n", 4, &req, &used), POLICY_DONE, "empty value is fine");
	is_int(whole("a=1\na=2\n\n", 9, &req, &used), POLICY_DONE, "repeated name parses");
	is_str(policy_get_str(&req, "a", buf, sizeof(buf)), "1", "...first one wins");
	is_str(policy_get_str(&req, "a", buf, 1), "", "truncation to a 1-byte buffer is safe");

	/* Malformed and over-limit input. */
	is_int(whole("\n", 1, &req, &used), POLICY_ERROR, "empty request is an error");
	is_int(whole("garbage line\n\n", 14, &req, &used), POLICY_ERROR, "line without '='");
	like_str(err, "malformed attribute line", "...explained");
	is_int(whole("=value\n\n", 8, &req, &used), POLICY_ERROR, "empty name");
	is_int(whole("a=b\0c\n\n", 7, &req, &used), POLICY_ERROR, "NUL byte");
	{
		char big[300];

		memset(big, 'x', sizeof(big));
		memcpy(big, "a=", 2);
		is_int(whole(big, sizeof(big), &req, &used), POLICY_ERROR,
		       "over-long line is caught before its LF arrives");
		like_str(err, "line longer than 100", "...explained");
	}
	{
		char many[400] = "";

		for (int i = 0; i < 9; i++)
			strcat(many, "k=v\n");
		strcat(many, "\n");
		is_int(whole(many, strlen(many), &req, &used), POLICY_ERROR,
		       "more attributes than the limit");
		like_str(err, "more than 8 attributes", "...explained");
	}
	{
		struct policy_limits big = {.line_max = 100, .request_max = 50, .attr_max = 100};
		char many[400] = "";

		for (int i = 0; i < 20; i++)
			strcat(many, "kk=vv\n");
		policy_parser_init(&pp, &big);
		is_int(policy_parse(&pp, many, strlen(many), &req, &used, err, sizeof(err)),
		       POLICY_ERROR, "request over the size limit");
		like_str(err, "request larger than 50", "...explained");
		policy_parser_free(&pp);
		/* Whole, with its blank line: the same limit, before it is taken as done. */
		strcat(many, "\n");
		policy_parser_init(&pp, &big);
		is_int(policy_parse(&pp, many, strlen(many), &req, &used, err, sizeof(err)),
		       POLICY_ERROR, "a complete request over the size limit too");
		policy_parser_free(&pp);
	}
	{
		/* A long dribbled request costs linear time: the parser resumes. */
		struct policy_limits big = {.line_max = 100, .request_max = 1 << 22,
					    .attr_max = 1 << 20};
		size_t n = 200000;
		char *text = malloc(n * 4 + 2);
		enum policy_parse_result r = POLICY_MORE;

		for (size_t i = 0; i < n; i++)
			memcpy(text + i * 4, "k=v\n", 4);
		text[n * 4] = '\n';
		policy_parser_init(&pp, &big);
		for (size_t k = 1; k <= n * 4 + 1 && r == POLICY_MORE; k++)
			r = policy_parse(&pp, text, k, &req, &used, err, sizeof(err));
		is_int(r, POLICY_DONE, "800 kB fed byte by byte parses (resumable parser)");
		is_int(req.nattr, n, "...all attributes");
		policy_parser_free(&pp);
		free(text);
	}
	dribble("", &req, &used);
	return done_testing();
}
