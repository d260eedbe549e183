/*
 * mime_test - the MIME parser and its decoders (shared/mime.c, shared/codec.c).
 *
 * Hand-made hostile messages are in t/data/mime/ (found through
 * $MOAT_SRCDIR, or from the build or source directory); the huge ones (1 MB
 * header line, 100,000 header lines, 10,000 nested multiparts...) are built
 * here at run time. A small deterministic fuzzer mutates every fixture; the
 * suite runs under ASan/UBSan, which turns any stray access into a failure.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mail/codec.h"
#include "mail/mime.h"
#include "core/sbuf.h"
#include "tap.h"

static char datadir[4096];

static void find_datadir(void)
{
	const char *src = getenv("MOAT_SRCDIR");
	const char *tries[] = { src, ".", "..", NULL };
	struct stat st;
	int i;

	for (i = 0; i < 3; i++) {
		if (tries[i] == NULL)
			continue;
		snprintf(datadir, sizeof(datadir), "%s/t/data/mime", tries[i]);
		if (stat(datadir, &st) == 0)
			return;
	}
}

/* The fixture's bytes (malloc'd) and their length, or NULL. */
static char *load(const char *name, size_t *len)
{
	char path[4200], buf[4096];
	struct sbuf sb;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	sbuf_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_append(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return sb.data ? sb.data : calloc(1, 1);
}

static struct msg *parse_file(const char *name)
{
	size_t len = 0;
	char *p = load(name, &len);
	struct msg *m;

	if (!ok(p != NULL, "%s: fixture found", name))
		return NULL;
	m = msg_parse(p, len, NULL);
	free(p);
	return m;
}

static struct msg *parse_str(const char *s, const struct mime_limits *lim)
{
	return msg_parse(s, strlen(s), lim);
}

static const char *leaf_text(const struct msg *m, int i)
{
	if (m == NULL || i >= m->nleaves || m->leaves[i]->text == NULL)
		return "(none)";
	return m->leaves[i]->text;
}

static const char *hval(const struct mime_part *part, const char *name)
{
	const struct msg_header *h = msg_header(part, name);

	return h ? h->value : "(none)";
}

/* rfc2047_decode of a C string, freed after the comparison. */
static void is_2047(const char *in, const char *want, const char *what)
{
	char *s = rfc2047_decode(in, strlen(in));

	is_str(s, want, "rfc2047: %s", what);
	free(s);
}

static void test_rfc2047(void)
{
	is_2047("plain text", "plain text", "no encoded word");
	is_2047("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard", "Q latin1");
	is_2047("=?iso-8859-1?b?Y2Fm6Q==?=", "caf\xc3\xa9", "B latin1");
	is_2047("=?UTF-8?B?w6k=?=", "\xc3\xa9", "B UTF-8");
	is_2047("=?utf-8?Q?caf=C3=A9?=", "caf\xc3\xa9", "Q UTF-8");
	is_2047("=?windows-1252?Q?=93hi=94?=", "\xe2\x80\x9chi\xe2\x80\x9d", "windows-1252");
	is_2047("=?KOI8-R?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
		"KOI8-R");
	is_2047("=?utf-8?q?a?= =?utf-8?q?b?=", "ab", "blank between words dropped");
	is_2047("=?utf-8?q?a?=\t \t=?utf-8?q?b?=", "ab", "tabs between words dropped");
	is_2047("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b", "text between words kept");
	is_2047("x =?utf-8?q?a?= y", "x a y", "blanks next to text kept");
	is_2047("=?utf-8?b?4o==?= =?utf-8?b?gqw=?=", "\xe2\x82\xac", "character split over words");
	is_2047("=?utf-8?q?hello_world?=", "hello world", "underscore is a space");
	is_2047("=?utf-8*en?q?x?=", "x", "RFC 2231 language tag");
	is_2047("=?utf-8?x?abc?=", "=?utf-8?x?abc?=", "bad encoding letter left");
	is_2047("=?utf-8?q?no end", "=?utf-8?q?no end", "unterminated word left");
	is_2047("=??q?x?=", "=??q?x?=", "empty charset left");
	is_2047("=?utf-8?q?a b?=", "=?utf-8?q?a b?=", "blank inside a word left");
	is_2047("=?x-nonesuch?q?caf=E9?=", "caf\xc3\xa9", "unknown charset read as latin1");
	is_2047("=?utf-8?q?=00nul?=", "nul", "NUL dropped");
	is_2047("caf\xe9", "caf\xc3\xa9", "raw latin1 becomes UTF-8");
	is_2047("caf\xc3\xa9", "caf\xc3\xa9", "raw UTF-8 kept");
	is_2047("", "", "empty");
	is_2047("=?", "=?", "lone =?");
	is_2047("=?utf-8?q?" "?=", "", "empty encoded text");
}

static void test_charset(void)
{
	size_t n;
	int bad;
	char *s;

	s = charset_to_utf8("KOI8-R", "\xf0", 1, &n, &bad);
	ok(n == 2 && memcmp(s, "\xd0\x9f", 2) == 0 && !bad, "charset: KOI8-R");
	free(s);
	s = charset_to_utf8("utf-8", "a\xffz", 3, &n, &bad);
	ok(n == 5 && memcmp(s, "a\xef\xbf\xbdz", 5) == 0 && bad, "charset: bad UTF-8 is U+FFFD");
	free(s);
	s = charset_to_utf8("utf-8", "\xed\xa0\x80", 3, &n, &bad);
	ok(bad, "charset: UTF-8 surrogate rejected");
	free(s);
	s = charset_to_utf8("iso-8859-2", "\xb1", 1, &n, &bad);
	is_str(s, "\xc4\x85", "charset: ISO-8859-2 through iconv");
	free(s);
	s = charset_to_utf8("shift_jis", "\x93\xfa\x82", 3, &n, &bad);
	ok(bad && strstr(s, "\xe6\x97\xa5") != NULL,
	   "charset: cut-off Shift_JIS flagged, rest kept");
	free(s);
	s = charset_to_utf8("utf-8//TRANSLIT", "x", 1, &n, &bad);
	ok(bad && n == 1, "charset: iconv options in the name are unknown charsets");
	free(s);
	s = charset_to_utf8("IBM1364", "x", 1, &n, &bad);
	ok(bad, "charset: rare converters are not used");
	free(s);
	s = charset_to_utf8("utf-16le", "h\0i", 3, &n, &bad);
	ok(bad && n >= 1 && s[0] == 'h', "charset: odd UTF-16 length flagged");
	free(s);
	s = charset_to_utf8("us-ascii", "", 0, &n, &bad);
	ok(s && n == 0 && !bad, "charset: empty input");
	free(s);
}

static void is_b64(const char *in, const char *want, int want_bad, const char *what)
{
	char out[256];
	int bad = 0;
	size_t n = codec_b64_decode(in, strlen(in), out, &bad);

	out[n] = '\0';
	is_str(out, want, "base64: %s", what);
	is_int(bad, want_bad, "base64: %s: damage %s", what, want_bad ? "flagged" : "not flagged");
	is_int(codec_b64_decode(in, strlen(in), NULL, &bad), n, "base64: %s: counting", what);
}

static void is_qp(const char *in, const char *want, int want_bad, const char *what)
{
	char out[256];
	int bad = 0;
	size_t n = codec_qp_decode(in, strlen(in), out, &bad);

	out[n] = '\0';
	is_str(out, want, "qp: %s", what);
	is_int(bad, want_bad, "qp: %s: damage %s", what, want_bad ? "flagged" : "not flagged");
}

static void test_codec(void)
{
	is_b64("aGVsbG8=", "hello", 0, "padded");
	is_b64("aGVs\r\nbG8=\r\n", "hello", 0, "line breaks");
	is_b64("aGVsbG8", "hello", 1, "missing padding");
	is_b64("aGVsbG8gd", "hello ", 1, "truncated quantum");
	is_b64("aG!V*s#bG8=", "hello", 1, "invalid characters skipped");
	is_b64("aGk=\n-- \nlist footer", "hi", 1, "text after padding ignored");
	is_b64("=", "", 1, "lone padding");
	is_b64("", "", 0, "empty");
	is_qp("caf=E9", "caf\xe9", 0, "escape");
	is_qp("caf=e9", "caf\xe9", 0, "lower-case escape");
	is_qp("a=XYb", "a=XYb", 1, "bad escape kept");
	is_qp("a=4", "a=4", 1, "short escape kept");
	is_qp("soft=\r\nbreak", "softbreak", 0, "soft break CRLF");
	is_qp("soft=\nbreak", "softbreak", 0, "soft break LF");
	is_qp("soft= \t\nbreak", "softbreak", 0, "soft break with padding");
	is_qp("end=", "end", 0, "soft break at end");
	is_qp("trail  \t\nx  ", "trail\nx", 0, "trailing blanks dropped");
	is_qp("in  side", "in  side", 0, "inner blanks kept");
}

static void test_nested(void)
{
	struct msg *m = parse_file("nested.eml");
	const struct mime_part *r, *att, *rfc;

	if (m == NULL)
		return;
	r = m->root;
	is_str(r->ctype, "multipart/mixed", "nested: root type");
	is_int(r->nchildren, 3, "nested: preamble and epilogue are not parts");
	is_int(m->nparts, 9, "nested: parts counted");
	is_int(m->nleaves, 5, "nested: leaves");
	is_int(m->flags, 0, "nested: no flags");
	is_str(leaf_text(m, 0), "Caf\xc3\xa9 cr\xc3\xa8me, soft break.", "nested: QP latin1 text");
	like_str(leaf_text(m, 1), "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen",
		 "nested: base64 html");
	att = m->leaves[2];
	is_str(att->ctype, "application/pdf", "nested: attachment type");
	is_str(att->filename, "report.pdf", "nested: attachment file name");
	ok(att->is_attachment && att->text == NULL, "nested: attachment keeps no text");
	is_int(att->decoded_len, 9 + 1024, "nested: attachment decoded length");
	rfc = r->children[2];
	is_str(rfc->ctype, "message/rfc822", "nested: message/rfc822 part");
	ok(rfc->nchildren == 1 && rfc->children[0]->depth == 2,
	   "nested: inner message one level down");
	is_str(hval(rfc->children[0], "subject"), "\xc3\x89t\xc3\xa9 inner",
	       "nested: inner Subject");
	is_str(leaf_text(m, 3), "inner plain text", "nested: inner text");
	ok(m->leaves[4]->parent->parent == rfc, "nested: parents");
	ok(!strchr(leaf_text(m, 4), '\n'), "nested: part ends before the delimiter's line break");
	msg_free(m);
}

static void test_line_endings(void)
{
	struct msg *lf = parse_file("lf.eml"), *crlf = parse_file("crlf.eml");
	int i;

	if (lf == NULL || crlf == NULL)
		goto out;
	is_int(crlf->nleaves, lf->nleaves, "CRLF and LF: same leaves");
	for (i = 0; i < lf->nleaves && i < crlf->nleaves; i++)
		is_str(leaf_text(crlf, i), leaf_text(lf, i), "CRLF and LF: same text, leaf %d", i);
	is_str(leaf_text(lf, 1), "qp line one continued\nqp line two", "LF: QP soft break");
	is_str(hval(crlf->root, "Content-Type"), "multipart/alternative; boundary=\"le\"",
	       "CRLF: folded header unfolded");
	is_int(crlf->flags, 0, "CRLF: no flags");
out:
	msg_free(lf);
	msg_free(crlf);
}

static void test_boundaries(void)
{
	struct msg *m;

	if ((m = parse_file("missing-boundary.eml"))) {
		ok(m->flags & MSG_MISSING_BOUNDARY, "no boundary parameter: flagged");
		ok(m->nleaves == 1 && m->root->nchildren == 0, "no boundary parameter: one leaf");
		like_str(leaf_text(m, 0), "read as one text part", "no boundary parameter: text");
		msg_free(m);
	}
	if ((m = parse_file("wrong-boundary.eml"))) {
		ok(m->flags & MSG_MISSING_BOUNDARY, "wrong boundary: flagged");
		like_str(leaf_text(m, 0), "under the wrong boundary", "wrong boundary: text kept");
		msg_free(m);
	}
	if ((m = parse_file("unterminated.eml"))) {
		is_int(m->nleaves, 2, "unterminated multipart: both parts");
		is_str(leaf_text(m, 1), "part two runs to the end\nand has a second line\n",
		       "unterminated multipart: last part runs to the end");
		is_int(m->flags, 0, "unterminated multipart: tolerated");
		msg_free(m);
	}
	if ((m = parse_file("prefix-boundary.eml"))) {
		is_int(m->root->nchildren, 2, "prefix boundary: outer parts");
		is_int(m->root->children[0]->nchildren, 2, "prefix boundary: inner parts");
		is_str(leaf_text(m, 2), "outer two", "prefix boundary: blanks after a delimiter");
		msg_free(m);
	}
	if ((m = parse_file("folded.eml"))) {
		is_str(hval(m->root, "subject"), "this subject\tis folded   over three lines",
		       "folded: Subject unfolded");
		is_str(leaf_text(m, 0), "folded ok", "folded: boundary on a continuation line");
		msg_free(m);
	}
	if ((m = parse_file("digest.eml"))) {
		is_str(m->root->children[0]->ctype, "message/rfc822", "digest: default type");
		is_str(hval(m->root->children[0]->children[0], "Subject"), "first",
		       "digest: part parsed as a message");
		is_str(m->root->children[1]->ctype, "text/plain", "digest: explicit type kept");
		msg_free(m);
	}
}

static void test_damage(void)
{
	struct msg *m;

	if ((m = parse_file("bad-base64.eml"))) {
		ok(m->flags & MSG_BAD_BASE64, "bad base64: flagged");
		is_str(leaf_text(m, 0), "Hello world", "bad base64: invalid characters skipped");
		is_str(leaf_text(m, 1), "missing paddingab", "bad base64: missing padding");
		is_str(leaf_text(m, 2), "truncated", "bad base64: truncated quantum");
		is_str(leaf_text(m, 3), "footer!", "bad base64: list footer after padding ignored");
		msg_free(m);
	}
	if ((m = parse_file("bad-qp.eml"))) {
		ok(m->flags & MSG_BAD_QP, "bad QP: flagged");
		like_str(leaf_text(m, 0), "bad =XY escape, bad =4 one, lower \xc3\xa9 case, a=b",
			 "bad QP: bad escapes kept");
		like_str(leaf_text(m, 0), "trailing blanks\nsoft breakhere",
			 "bad QP: blanks, soft break");
		is_str(leaf_text(m, 1), "ends with a soft break", "bad QP: soft break at part end");
		msg_free(m);
	}
	if ((m = parse_file("qp-eof.eml"))) {
		is_str(leaf_text(m, 0), "last", "QP: soft break at end of input");
		is_int(m->flags, 0, "QP: ... is not damage");
		msg_free(m);
	}
	if ((m = parse_file("nul.eml"))) {
		ok(m->flags & MSG_NUL, "NUL: flagged");
		is_str(hval(m->root, "Subject"), "nul byte", "NUL: dropped from header");
		is_str(leaf_text(m, 0), "beforeafter\n", "NUL: dropped from text");
		is_int(m->leaves[0]->decoded_len, 13, "NUL: counted in decoded_len");
		msg_free(m);
	}
}

static void test_headers(void)
{
	struct msg *m;
	const struct msg_header *h;

	if ((m = parse_file("8bit-header.eml"))) {
		ok(m->flags & MSG_8BIT_HEADER, "8-bit header: flagged");
		h = msg_header(m->root, "SUBJECT");
		ok(h && strcmp(h->raw, "caf\xe9 cr\xe8me") == 0, "8-bit header: raw kept");
		is_str(h ? h->value : NULL, "caf\xc3\xa9 cr\xc3\xa8me",
		       "8-bit header: latin1 to UTF-8");
		is_str(hval(m->root, "From"), "Zo\xc3\xab <zoe@example.com>",
		       "8-bit header: UTF-8 kept");
		is_str(hval(m->root, "X-Mixed"), "caf\xc3\xa9 and na\xc3\xafve",
		       "8-bit header: raw bytes beside an encoded word");
		msg_free(m);
	}
	if ((m = parse_file("encoded-words.eml"))) {
		is_str(hval(m->root, "From"), "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>",
		       "encoded words: From");
		is_str(hval(m->root, "Subject"), "\xe2\x80\x9csmart\xe2\x80\x9d quotes",
		       "encoded words: windows-1252");
		is_str(hval(m->root, "X-Adjacent-Folded"), "abc", "encoded words: across folding");
		is_str(hval(m->root, "X-Split"), "\xe2\x82\xac\xc3\xa9\xe2\x82\xac",
		       "encoded words: split characters joined");
		is_str(hval(m->root, "X-Mixed-Charsets"), "\xc3\xa9\xd0\x9f",
		       "encoded words: adjacent words in two charsets");
		is_str(hval(m->root, "X-Malformed-4"), "=?utf-8?q?space inside?=",
		       "encoded words: malformed left as is");
		is_str(hval(m->root, "X-Midword"), "foobarbaz", "encoded words: inside a word");
		is_str(hval(m->root, "X-Literal-Between"), "(a) (b)", "encoded words: in comments");
		is_str(msg_header(m->root, "X-Koi8")->raw, "=?KOI8-R?B?8NLJ18XU?=",
		       "encoded words: raw kept");
		ok(m->flags & MSG_BAD_CHARSET, "encoded words: unknown charset flagged");
		ok(m->flags & MSG_BAD_BASE64, "encoded words: bad B flagged");
		is_int(msg_header_count(m->root, "x-malformed-1"), 1, "msg_header_count");
		ok(msg_header(m->root, "X-None") == NULL, "msg_header: absent");
		msg_free(m);
	}
}

static void test_header_end(void)
{
	struct msg *m;

	if ((m = parse_file("mbox-from.eml"))) {
		is_str(m->root->headers[0].name, "Return-Path", "mbox: From line skipped");
		is_int(msg_header_count(m->root, "From"), 1, "mbox: From: header kept");
		is_int(m->flags, 0, "mbox: no flags");
		msg_free(m);
	}
	if ((m = parse_file("header-only.eml"))) {
		is_int(m->root->nheaders, 3, "header only: all fields");
		ok(m->root->raw_len == 0 && m->flags == MSG_NO_HEADER_END,
		   "header only: empty body");
		msg_free(m);
	}
	if ((m = parse_file("no-header-end.eml"))) {
		is_int(m->root->nheaders, 2, "no header end: fields before the body line");
		ok(m->flags & MSG_NO_HEADER_END, "no header end: flagged");
		like_str(leaf_text(m, 0), "this line is not a header field",
			 "no header end: body kept");
		msg_free(m);
	}
}

static void test_params(void)
{
	struct msg *m = parse_file("rfc2231.eml");

	if (m == NULL)
		return;
	is_int(m->nleaves, 4, "RFC 2231: parts");
	is_str(m->leaves[0]->filename, "caf\xc3\xa9.txt", "RFC 2231: name* with charset");
	is_str(m->leaves[1]->filename, "\xe2\x82\xac longname.txt", "RFC 2231: continuations");
	is_str(m->leaves[2]->filename, "encoded\xc3\xa9.bin", "name=\"=?...?=\" decoded");
	is_str(m->leaves[3]->filename, "quoted \"name\".txt", "quoted string with escapes");
	ok(m->leaves[3]->is_attachment, "inline with a file name counts as an attachment");
	is_str(m->leaves[3]->charset, "us-ascii", "quoted charset");
	is_int(m->leaves[0]->decoded_len, 5, "decoded length of a non-text leaf");
	ok(m->leaves[1]->cte == NULL, "no Content-Transfer-Encoding: NULL");
	msg_free(m);
}

static void test_charsets(void)
{
	static const char *const want[] = {
		"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
		"\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac 5",
		"gar\xc3\xa7on",
		"ok \xe2\x82\xac bad \xef\xbf\xbd\xef\xbf\xbd end",
		"caf\xc3\xa9",
		"ascii with 8-bit \xc3\xa9",
		"\xe6\x97\xa5\xe6\x9c\xac",
		"\xe6\x97\xa5\xe6\x9c\xac",
		"hi",
	};
	struct msg *m = parse_file("charsets.eml");
	size_t i;

	if (m == NULL)
		return;
	is_int(m->nleaves, 9, "charsets: parts");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_str(leaf_text(m, (int)i), want[i], "charsets: %s", m->leaves[i]->charset);
	ok(m->flags & MSG_BAD_CHARSET, "charsets: damage flagged");
	msg_free(m);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Parse generated input, and fail if it takes long: quadratic work on
 * these sizes would take minutes, linear work milliseconds (even under ASan;
 * valgrind, MOAT_VALGRIND=1, runs code some 50 times slower, so a minute).
 */
static struct msg *parse_timed(const struct sbuf *sb, const struct mime_limits *lim,
			       const char *what)
{
	const char *vg = getenv("MOAT_VALGRIND");
	double t = now(), limit = vg && strcmp(vg, "1") == 0 ? 60.0 : 5.0;
	struct msg *m = msg_parse(sb->data, sb->len, lim);

	t = now() - t;
	ok(t < limit, "%s: %zu bytes parsed in %.3f s", what, sb->len, t);
	return m;
}

static void test_huge_headers(void)
{
	struct sbuf sb;
	struct msg *m;
	int i;

	sbuf_init(&sb);
	sbuf_puts(&sb, "Subject: ");
	for (i = 0; i < 1024 * 1024; i++)
		sbuf_putc(&sb, 'a' + i % 26);
	sbuf_puts(&sb, "\nFrom: x@example.com\n\nbody\n");
	m = parse_timed(&sb, NULL, "1 MB header line");
	ok(m->flags & MSG_HEADER_TOO_LONG, "1 MB header line: flagged");
	is_int(strlen(hval(m->root, "Subject")), 64 * 1024, "1 MB header line: cut at 64 KiB");
	is_str(hval(m->root, "From"), "x@example.com", "1 MB header line: next field found");
	is_str(leaf_text(m, 0), "body\n", "1 MB header line: body found");
	msg_free(m);

	sbuf_reset(&sb);
	for (i = 0; i < 100000; i++)
		sbuf_printf(&sb, "X-Header-%d: value %d\n", i, i);
	sbuf_puts(&sb, "\nthe body\n");
	m = parse_timed(&sb, NULL, "100,000 header lines");
	ok(m->flags & MSG_TOO_MANY_HEADERS, "100,000 header lines: flagged");
	is_int(m->root->nheaders, 1000, "100,000 header lines: 1000 kept");
	is_str(leaf_text(m, 0), "the body\n", "100,000 header lines: body found");
	msg_free(m);

	/* "=?a?q?x" has no "?=": a naive decoder rescans to the end for each "=?". */
	sbuf_reset(&sb);
	sbuf_puts(&sb, "Subject: ");
	for (i = 0; i < 9000; i++)
		sbuf_puts(&sb, "=?a?q?x");
	sbuf_puts(&sb, "\n\n");
	m = parse_timed(&sb, NULL, "encoded-word starts without ends");
	ok(strncmp(hval(m->root, "Subject"), "=?a?q?x=?a?q?x", 14) == 0,
	   "encoded-word starts without ends: left as is");
	msg_free(m);
	sbuf_free(&sb);
}

/* depth multiparts, each inside the one before, with a text at the bottom. */
static void nested_multiparts(struct sbuf *sb, int depth)
{
	int i;

	sbuf_reset(sb);
	for (i = 0; i < depth; i++)
		sbuf_printf(sb, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	sbuf_puts(sb, "Content-Type: text/plain\n\ndeepest\n");
	for (i = depth - 1; i >= 0; i--)
		sbuf_printf(sb, "--b%d--\n", i);
}

static int max_depth(const struct msg *m)
{
	int i, d = 0;

	for (i = 0; i < m->nleaves; i++)
		if (m->leaves[i]->depth > d)
			d = m->leaves[i]->depth;
	return d;
}

static void test_nesting(void)
{
	struct mime_limits lim;
	struct sbuf sb;
	struct msg *m;
	int i;

	sbuf_init(&sb);
	nested_multiparts(&sb, 10000);
	m = parse_timed(&sb, NULL, "10,000 nested multiparts");
	ok(m->flags & MSG_TOO_DEEP, "10,000 nested multiparts: flagged");
	is_int(m->nparts, 21, "10,000 nested multiparts: stops at depth 20");
	ok(m->nleaves == 1 && m->leaves[0]->depth == 20 && m->leaves[0]->text == NULL,
	   "10,000 nested multiparts: the rest is one opaque leaf");
	msg_free(m);

	/* No recursion: a limit far over the C stack's reach is fine too. */
	mime_limits_default(&lim);
	lim.max_depth = lim.max_parts = 100000;
	nested_multiparts(&sb, 2000);
	m = parse_timed(&sb, &lim, "2,000 nested multiparts, no depth limit");
	ok(m->flags == 0 && max_depth(m) == 2000, "2,000 nested multiparts: all parsed");
	is_str(leaf_text(m, 0), "deepest", "2,000 nested multiparts: deepest text");
	msg_free(m);

	sbuf_reset(&sb);
	for (i = 0; i < 10000; i++)
		sbuf_puts(&sb, "Subject: wrapper\nContent-Type: message/rfc822\n\n");
	sbuf_puts(&sb, "Subject: inner\n\nbody\n");
	m = parse_timed(&sb, NULL, "10,000 nested messages");
	ok((m->flags & MSG_TOO_DEEP) && max_depth(m) == 20, "10,000 nested messages: depth 20");
	msg_free(m);

	sbuf_reset(&sb);
	sbuf_puts(&sb, "Content-Type: multipart/mixed; boundary=s\n\n");
	for (i = 0; i < 5000; i++)
		sbuf_printf(&sb, "--s\n\npart %d\n", i);
	m = parse_timed(&sb, NULL, "5,000 parts");
	ok(m->flags & MSG_TOO_MANY_PARTS, "5,000 parts: flagged");
	ok(m->nparts == 1000 && m->nleaves == 999, "5,000 parts: 1000 kept");
	is_str(leaf_text(m, 998), "part 998", "5,000 parts: in order");
	msg_free(m);
	sbuf_free(&sb);
}

static void test_boundary_flood(void)
{
	struct sbuf sb;
	struct msg *m;
	int i;

	/* Lines that start like a delimiter and are not one. */
	sbuf_init(&sb);
	sbuf_puts(&sb, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n");
	for (i = 0; i < 100000; i++)
		sbuf_puts(&sb, "--bx\n--b x\n");
	sbuf_puts(&sb, "--b--\n");
	m = parse_timed(&sb, NULL, "200,000 near-delimiters");
	ok(m->nleaves == 1 && m->leaves[0]->text_len == 6 + 100000 * 11 - 1,
	   "200,000 near-delimiters: one part");
	msg_free(m);
	sbuf_free(&sb);
}

static void test_limits(void)
{
	struct mime_limits lim;
	struct msg *m;
	const char *msg = "Subject: abcdefghij\nTo: a\nCc: b\n\nbody text\n";
	const char *hdrs = "Subject: abcdefghijklmnop\nTo: a\nCc: b\n\nbody text\n";

	mime_limits_default(&lim);
	ok(lim.max_size == 20 * 1024 * 1024 && lim.max_headers == 1000 &&
	   lim.max_header_len == 65536 && lim.max_depth == 20 && lim.max_parts == 1000,
	   "default limits");
	lim.max_size = 37;
	m = parse_str(msg, &lim);
	ok(m->flags & MSG_TRUNCATED, "max_size: flagged");
	ok(m->size == strlen(msg) && m->len == 37, "max_size: size and len");
	is_str(leaf_text(m, 0), "body", "max_size: only the first bytes examined");
	msg_free(m);

	mime_limits_default(&lim);
	lim.max_headers = 2;
	lim.max_header_len = 12;
	m = parse_str(hdrs, &lim);
	ok((m->flags & MSG_TOO_MANY_HEADERS) && (m->flags & MSG_HEADER_TOO_LONG),
	   "max_headers, max_header_len: flagged");
	ok(m->root->nheaders == 2 && strcmp(hval(m->root, "Subject"), "abcdefghijkl") == 0,
	   "max_headers, max_header_len: applied");
	is_str(leaf_text(m, 0), "body text\n", "max_headers: body still found");
	msg_free(m);
}

static void test_edges(void)
{
	struct msg *m;

	m = msg_parse(NULL, 0, NULL);
	ok(m && m->root && m->nleaves == 1 && m->flags == 0, "empty input");
	is_str(m->root->ctype, "text/plain", "empty input: text/plain");
	msg_free(m);
	msg_free(NULL);
	m = parse_str("From nobody", NULL);
	ok(m->root && m->root->nheaders == 0, "only an mbox line");
	msg_free(m);
	m = parse_str("\n\nbody", NULL);
	ok(m->root->nheaders == 0 && strcmp(leaf_text(m, 0), "\nbody") == 0, "no header at all");
	msg_free(m);
	m = parse_str(" orphan continuation\nSubject: s\n\nb", NULL);
	is_str(hval(m->root, "Subject"), "s", "continuation line before any field dropped");
	msg_free(m);
	m = parse_str("Content-Type: multipart/mixed; boundary=x\n\n--x--\n", NULL);
	ok(m->nleaves == 1 && m->root->nchildren == 0, "multipart with no parts is a leaf");
	msg_free(m);
	m = parse_str("Content-Type: TEXT/HTML; CHARSET=\"UTF-8\"\n\n<b>x</b>", NULL);
	ok(!strcmp(m->root->ctype, "text/html") && !strcmp(m->root->charset, "utf-8"),
	   "type and charset lower case");
	msg_free(m);
	m = parse_str("Content-Type: garbage\n\nx", NULL);
	is_str(m->root->ctype, "text/plain", "invalid type: text/plain");
	msg_free(m);
	m = parse_str("Content-Type: multipart/mixed; boundary=\"\"\n\nx", NULL);
	ok(m->flags & MSG_MISSING_BOUNDARY, "empty boundary is missing");
	msg_free(m);
	m = parse_str("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		      "U3ViamVjdDogeA==", NULL);
	ok(m->root->nchildren == 0 && m->root->decoded_len == 10, "encoded message/rfc822: a leaf");
	msg_free(m);
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static size_t rnd(size_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (size_t)(rng % n) : 0;
}

/* One random change: a byte, a cut, a copied slice, or a piece of MIME syntax. */
static void mutate(struct sbuf *sb)
{
	static const char *const bits[] = { "\n--", "\r\n", "=?utf-8?b?", "?=", "=", "\n\n",
					    "\"", ";", "\x00", "\xff", "=?koi8-r?q?=F0", "*0*=" };
	struct sbuf out;
	size_t at = rnd(sb->len + 1), n;
	const char *ins;

	sbuf_init(&out);
	sbuf_append(&out, sb->data, at);
	switch (rnd(4)) {
	case 0:
		sbuf_putc(&out, (int)rnd(256));
		at += at < sb->len;
		break;
	case 1:
		at += rnd(sb->len - at + 1);	/* cut */
		break;
	case 2:
		n = rnd(sb->len - at + 1);
		sbuf_append(&out, sb->data + at, n);	/* doubled */
		break;
	default:
		ins = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
		sbuf_append(&out, ins, *ins ? strlen(ins) : 1);
	}
	sbuf_append(&out, sb->data + at, sb->len - at);
	sbuf_free(sb);
	*sb = out;
}

/* What must hold for any input: text is UTF-8 without NULs, lengths agree. */
static int sane(const struct msg *m)
{
	const struct mime_part *p;
	int i, j;

	if (m == NULL || m->root == NULL || m->nparts < 1 || m->nleaves < 1)
		return 0;
	for (i = 0; i < m->nleaves; i++) {
		p = m->leaves[i];
		if (p->nchildren != 0 || (p->text && (strlen(p->text) != p->text_len ||
						      !codec_utf8_valid(p->text, p->text_len))))
			return 0;
		if (p->filename && !codec_utf8_valid(p->filename, strlen(p->filename)))
			return 0;
		for (j = 0; j < p->nheaders; j++)
			if (!codec_utf8_valid(p->headers[j].value, strlen(p->headers[j].value)))
				return 0;
	}
	return 1;
}

static void fuzz_one(const char *name, int rounds)
{
	struct mime_limits small;
	struct sbuf sb;
	size_t len = 0;
	char *p = load(name, &len);
	int i, k, bad = 0;
	struct msg *m;

	mime_limits_default(&small);
	small.max_depth = 2;
	small.max_parts = 4;
	small.max_headers = 3;
	small.max_header_len = 16;
	for (i = 0; p && i < rounds; i++) {
		sbuf_init(&sb);
		sbuf_append(&sb, p, len);
		for (k = 1 + (int)rnd(8); k > 0; k--)
			mutate(&sb);
		m = msg_parse(sb.data, sb.len, i % 2 ? &small : NULL);
		bad += !sane(m);
		msg_free(m);
		sbuf_free(&sb);
	}
	ok(p && bad == 0, "fuzz %s: %d mutated copies parse sanely (%d not)", name, rounds, bad);
	free(p);
}

static void test_fuzz(void)
{
	static const char *const names[] = {
		"nested.eml", "crlf.eml", "bad-base64.eml", "bad-qp.eml", "encoded-words.eml",
		"rfc2231.eml", "charsets.eml", "digest.eml", "prefix-boundary.eml", "folded.eml",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fuzz_one(names[i], 300);
}

int main(void)
{
	find_datadir();
	test_codec();
	test_rfc2047();
	test_charset();
	test_nested();
	test_line_endings();
	test_boundaries();
	test_damage();
	test_headers();
	test_header_end();
	test_params();
	test_charsets();
	test_limits();
	test_edges();
	test_huge_headers();
	test_nesting();
	test_boundary_flood();
	test_fuzz();
	return done_testing();
}
