/*
 * policy_proto - incremental Postfix policy request parser; see policy_proto.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "policy_proto.h"

void policy_parser_init(struct policy_parser *pp, const struct policy_limits *lim)
{
	memset(pp, 0, sizeof(*pp));
	pp->lim = lim;
	pp->attr = xcalloc(lim->attr_max, sizeof(*pp->attr));
}

void policy_parser_free(struct policy_parser *pp)
{
	free(pp->attr);
	pp->attr = NULL;
}

void policy_parser_reset(struct policy_parser *pp)
{
	pp->pos = pp->line = pp->nattr = 0;
}

/* One complete line buf[start..end) without its LF (and CR). */
static int take_line(struct policy_parser *pp, const char *buf, size_t start, size_t end,
		     char *err, size_t errlen)
{
	const char *eq = memchr(buf + start, '=', end - start);
	struct policy_attr *a;

	if (memchr(buf + start, '\0', end - start)) {
		snprintf(err, errlen, "NUL byte in request");
		return -1;
	}
	if (eq == NULL || eq == buf + start) {
		snprintf(err, errlen, "malformed attribute line \"%.*s\"",
			 (int)(end - start > 60 ? 60 : end - start), buf + start);
		return -1;
	}
	if (pp->nattr == pp->lim->attr_max) {
		snprintf(err, errlen, "more than %zu attributes", pp->lim->attr_max);
		return -1;
	}
	a = &pp->attr[pp->nattr++];
	a->name = start;
	a->name_len = (size_t)(eq - (buf + start));
	a->value = a->name + a->name_len + 1;
	a->value_len = end - a->value;
	return 0;
}

enum policy_parse_result policy_parse(struct policy_parser *pp, const char *buf, size_t len,
				      struct policy_request *req, size_t *used, char *err,
				      size_t errlen)
{
	while (pp->pos < len) {
		const char *nl = memchr(buf + pp->pos, '\n', len - pp->pos);
		size_t end;

		if (nl == NULL) {
			pp->pos = len;
			break;
		}
		end = (size_t)(nl - buf);
		pp->pos = end + 1;
		if (end - pp->line > pp->lim->line_max) {
			snprintf(err, errlen, "line longer than %zu bytes", pp->lim->line_max);
			return POLICY_ERROR;
		}
		if (end > pp->line && buf[end - 1] == '\r')
			end--;
		if (end == pp->line) {
			if (pp->nattr == 0) {
				snprintf(err, errlen, "empty request");
				return POLICY_ERROR;
			}
			req->buf = buf;
			req->attr = pp->attr;
			req->nattr = pp->nattr;
			*used = pp->pos;
			return POLICY_DONE;
		}
		if (take_line(pp, buf, pp->line, end, err, errlen) < 0)
			return POLICY_ERROR;
		pp->line = pp->pos;
		if (pp->pos > pp->lim->request_max) {
			snprintf(err, errlen, "request larger than %zu bytes", pp->lim->request_max);
			return POLICY_ERROR;
		}
	}
	/* Incomplete: still bounded while waiting for the rest. */
	if (len - pp->line > pp->lim->line_max) {
		snprintf(err, errlen, "line longer than %zu bytes", pp->lim->line_max);
		return POLICY_ERROR;
	}
	if (len > pp->lim->request_max) {
		snprintf(err, errlen, "request larger than %zu bytes", pp->lim->request_max);
		return POLICY_ERROR;
	}
	return POLICY_MORE;
}

const char *policy_get(const struct policy_request *req, const char *name, size_t *len)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < req->nattr; i++) {
		const struct policy_attr *a = &req->attr[i];

		if (a->name_len == nlen && memcmp(req->buf + a->name, name, nlen) == 0) {
			*len = a->value_len;
			return req->buf + a->value;
		}
	}
	*len = 0;
	return NULL;
}

const char *policy_get_str(const struct policy_request *req, const char *name, char *buf,
			   size_t size)
{
	size_t len;
	const char *v = policy_get(req, name, &len);

	if (size == 0)
		return buf;
	if (v == NULL)
		len = 0;
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}
