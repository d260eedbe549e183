/*
 * fuzz_mime - a whole message through the MIME parser (shared/mail/mime.c):
 * headers, unfolding, RFC 2047 and RFC 2231, the part tree, transfer
 * decoding and charsets; then every result is walked so a bad pointer or
 * length shows. The codecs (shared/mail/codec.c) also get the raw input
 * directly, and a charset named by the input.
 *
 * Limits are small (depth 6, 40 parts, 64 KiB) so the over-limit paths
 * are reached and an input stays fast; the code is the same at any size.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mail/codec.h"
#include "fuzz.h"
#include "mail/mime.h"
#include "core/sbuf.h"

static size_t sink;	/* keeps the walk from being optimised away */

static void walk(const struct mime_part *p, const struct msg *m)
{
	if (p->depth > 64 || (p->parent && p->parent->depth + 1 != p->depth))
		abort();
	for (int i = 0; i < p->nheaders; i++) {
		const struct msg_header *h = &p->headers[i];

		sink += strlen(h->name) + strlen(h->raw);
		if (!codec_utf8_valid(h->value, strlen(h->value)))
			abort();	/* decoded values are UTF-8, whatever came in */
	}
	sink += strlen(p->ctype) + (p->charset ? strlen(p->charset) : 0) +
		(p->filename ? strlen(p->filename) : 0) + (p->cte ? strlen(p->cte) : 0);
	if (p->raw_body && (p->raw_body < m->buf || p->raw_body + p->raw_len > m->buf + m->len))
		abort();
	if (p->text) {
		if (p->text[p->text_len] != '\0' || !codec_utf8_valid(p->text, p->text_len))
			abort();
		sink += p->text_len;
	}
	for (int i = 0; i < p->nchildren; i++)
		walk(p->children[i], m);
}

/* A charset name from the input's first line (as a header would give it). */
static void try_charset(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) : 0;
	char name[40];
	struct sbuf sb;
	int flags;

	if (n == 0 || n >= sizeof(name))
		return;
	memcpy(name, p, n);
	name[n] = '\0';
	sbuf_init(&sb);
	flags = codec_to_utf8(NULL, name, nl + 1, len - n - 1, &sb);
	if (!(flags & CODEC_CS_UNKNOWN) && !codec_utf8_valid(sb.data, sb.len))
		abort();
	sbuf_free(&sb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct mime_limits lim = {.max_size = 65536, .max_headers = 50, .max_header_len = 4096,
				  .max_depth = 6, .max_parts = 40};
	struct msg *m = msg_parse(p, size, &lim);
	char *out, *s;
	size_t n, olen;
	int bad;

	if (m == NULL)
		abort();
	walk(m->root, m);
	for (int i = 0; i < m->nleaves; i++)
		if (m->leaves[i]->nchildren && strncmp(m->leaves[i]->ctype, "multipart/", 10) == 0)
			abort();
	sink += msg_header_count(m->root, "received");
	if (msg_header(m->root, "subject"))
		sink++;
	msg_free(m);

	/* The decoders promise output no longer than the input. */
	n = size > 65536 ? 65536 : size;
	out = malloc(n + 1);
	if (out == NULL)
		abort();
	if (codec_b64_decode(p, n, out, &bad) > n || codec_qp_decode(p, n, out, &bad) > n ||
	    codec_q_decode(p, n, out, &bad) > n)
		abort();
	if (codec_b64_decode(p, n, NULL, &bad) > n)
		abort();
	free(out);
	s = rfc2047_decode(p, n);
	free(s);
	s = charset_to_utf8("iso-2022-jp", p, n, &olen, &bad);
	free(s);
	try_charset(p, n);
	return 0;
}
