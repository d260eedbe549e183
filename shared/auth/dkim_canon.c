/*
 * dkim_canon - DKIM's "simple" and "relaxed" canonicalization of header
 * fields and of the body (RFC 6376 section 3.4); see dkim.h.
 *
 * The body is canonicalized as it streams in chunks of any size: a byte
 * machine that holds back only what it cannot decide yet (a CR before its
 * LF, a run of WSP that may end the line, line ends that may be trailing
 * empty lines), never a whole line. A lone CR is content; a bare LF ends a
 * line as CRLF does, as dkimpy reads it.
 */
#include "config.h"

#include <string.h>

#include "auth/dkim.h"
#include "core/sbuf.h"

#define OUTBUF 4096

struct out {
	struct dkim_bcanon *bc;
	char buf[OUTBUF];
	size_t n;
};

static void out_flush(struct out *o)
{
	if (o->n > 0)
		o->bc->emit(o->bc->arg, o->buf, o->n);
	o->n = 0;
}

static void out_byte(struct out *o, char c)
{
	if (o->n == OUTBUF)
		out_flush(o);
	o->buf[o->n++] = c;
	o->bc->any = 1;
}

/* Line ends held back are real once content follows them. */
static void out_crlfs(struct out *o)
{
	for (; o->bc->crlfs > 0; o->bc->crlfs--) {
		out_byte(o, '\r');
		out_byte(o, '\n');
	}
}

static void content(struct out *o, char c)
{
	struct dkim_bcanon *bc = o->bc;

	out_crlfs(o);
	if (bc->wsp) {
		out_byte(o, ' ');
		bc->wsp = 0;
	}
	out_byte(o, c);
	bc->content = 1;
}

void dkim_bcanon_init(struct dkim_bcanon *bc, enum dkim_canon c,
                      void (*emit)(void *arg, const char *p, size_t len), void *arg)
{
	memset(bc, 0, sizeof(*bc));
	bc->c = c;
	bc->emit = emit;
	bc->arg = arg;
}

void dkim_bcanon_feed(struct dkim_bcanon *bc, const char *p, size_t len)
{
	struct out o = {.bc = bc};

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c == '\n') {
			/* Trailing WSP of the line goes (relaxed); the line end waits. */
			bc->cr = 0;
			bc->wsp = 0;
			bc->content = 0;
			bc->crlfs++;
			continue;
		}
		if (bc->cr) {
			bc->cr = 0;
			content(&o, '\r');
		}
		if (c == '\r') {
			bc->cr = 1;
		} else if (bc->c == DKIM_RELAXED && (c == ' ' || c == '\t')) {
			bc->wsp = 1;
		} else {
			content(&o, c);
		}
	}
	out_flush(&o);
}

void dkim_bcanon_end(struct dkim_bcanon *bc)
{
	struct out o = {.bc = bc};

	if (bc->cr)
		content(&o, '\r');
	bc->cr = 0;
	/*
	 * Trailing empty lines are dropped; the last line with content keeps (or gets) its
	 * CRLF. An empty body is one CRLF for simple, nothing for relaxed.
	 */
	bc->crlfs = 0;
	if (bc->any || bc->c == DKIM_SIMPLE) {
		out_byte(&o, '\r');
		out_byte(&o, '\n');
	}
	out_flush(&o);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

void dkim_hcanon(enum dkim_canon c, const char *field, size_t len, int nocrlf, struct sbuf *out)
{
	const char *colon = memchr(field, ':', len);
	size_t nlen, i;
	int wsp = 0, any = 0;

	if (c == DKIM_SIMPLE) {
		/* Byte for byte; a bare LF in a fold is the CRLF it stands for. */
		for (i = 0; i < len; i++) {
			if (field[i] == '\n' && (i == 0 || field[i - 1] != '\r'))
				sbuf_putc(out, '\r');
			sbuf_putc(out, field[i]);
		}
		if (!nocrlf)
			sbuf_append(out, "\r\n", 2);
		return;
	}
	nlen = colon ? (size_t)(colon - field) : len;
	while (nlen > 0 && is_wsp(field[nlen - 1]))
		nlen--;
	for (i = 0; i < nlen; i++) {
		char ch = field[i];

		sbuf_putc(out, ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	sbuf_putc(out, ':');
	/* Unfold, runs of WSP to one SP, none at either end of the value. */
	for (i = colon ? (size_t)(colon - field) + 1 : len; i < len; i++) {
		char ch = field[i];

		if (ch == '\n' || (ch == '\r' && i + 1 < len && field[i + 1] == '\n'))
			continue;
		if (is_wsp(ch)) {
			wsp = 1;
			continue;
		}
		if (wsp && any)
			sbuf_putc(out, ' ');
		wsp = 0;
		any = 1;
		sbuf_putc(out, ch);
	}
	if (!nocrlf)
		sbuf_append(out, "\r\n", 2);
}
