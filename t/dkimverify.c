/*
 * dkimverify - verify the DKIM signatures of message files with shared/dkim,
 * keys from a DNS server named on the command line; for t/dkim.t.
 *
 *   dkimverify -s 127.0.0.1:PORT [-a] [-n NOW] [-j JITTER] [-c CHUNK] FILE...
 *
 * Per file, one line per signature and one with the symbols:
 *   FILE: sig 0 pass d=example.com s=sel
 *   FILE: sig 1 fail d=example.org s=sel (body hash mismatch)
 *   FILE: symbols R_DKIM_ALLOW(example.com:s=sel) DKIM_TRACE(example.com:+)
 * A file is read as a mail tool writes it: an mbox "From " line first is
 * skipped, LF line ends become CRLF. The body goes in CHUNK-byte pieces
 * (default 4096) as a milter hands it on. Exit 0, or 2 on a usage error.
 *
 * With -a, the ARC chain (shared/auth/arc.c) instead, for t/arc.t:
 *   FILE: arc pass i=3 d=example.net s=sel
 *   FILE: arc fail i=2 (cv is fail on i=2)
 *   FILE: symbols ARC_ALLOW(example.net:s=sel:i=3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/arc.h"
#include "auth/dkim.h"
#include "dns/dns.h"
#include "core/evloop.h"
#include "core/sbuf.h"

static int read_file(const char *path, struct sbuf *out)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_append(out, buf, n);
	fclose(f);
	return 0;
}

/* LF to CRLF (a CRLF stays), the mbox separator line dropped. */
static void to_crlf(const struct sbuf *in, struct sbuf *out)
{
	size_t i = 0;

	if (in->len >= 5 && memcmp(in->data, "From ", 5) == 0) {
		const char *nl = memchr(in->data, '\n', in->len);

		i = nl ? (size_t)(nl - in->data) + 1 : in->len;
	}
	for (; i < in->len; i++) {
		if (in->data[i] == '\n' && (i == 0 || in->data[i - 1] != '\r'))
			sbuf_putc(out, '\r');
		sbuf_putc(out, in->data[i]);
	}
}

static void on_done(void *arg, struct dkim *dk)
{
	evloop_stop(arg);
}

static void on_arc(void *arg, struct arc *a)
{
	evloop_stop(arg);
}

static void dkim_field(void *obj, const char *p, size_t len)
{
	dkim_header(obj, p, len);
}

static void arc_field(void *obj, const char *p, size_t len)
{
	arc_header(obj, p, len);
}

/* The file as a mail tool wrote it, in msg with CRLF line ends; -1 with a line printed. */
static int load(const char *path, struct sbuf *msg)
{
	struct sbuf raw;
	int rc;

	sbuf_init(&raw);
	sbuf_init(msg);
	if ((rc = read_file(path, &raw)) < 0)
		printf("%s: unreadable\n", path);
	else
		to_crlf(&raw, msg);
	sbuf_free(&raw);
	return rc;
}

static void print_symbol(void *arg, const char *sym, const char *opt)
{
	printf(" %s", sym);
	if (opt)
		printf("(%s)", opt);
}

static void verify(const char *path, const struct dkim_params *p, struct dkim_resolver *r,
                   struct evloop *ev, struct dns *d, size_t chunk)
{
	struct sbuf msg;
	struct dkim *dk;
	size_t i = 0, body;

	if (load(path, &msg) < 0)
		return;
	dk = dkim_new(p);
	body = dkim_split(msg.data, msg.len, dkim_field, dk);
	dkim_eoh(dk, r, on_done, ev);
	for (i = body; i < msg.len; i += chunk)
		dkim_body(dk, msg.data + i, msg.len - i < chunk ? msg.len - i : chunk);
	dkim_eom(dk);
	while (!dkim_done(dk))
		evloop_run(ev);
	for (int k = 0; k < dkim_nresults(dk); k++) {
		const struct dkim_sig_result *res = dkim_result(dk, k);

		printf("%s: sig %d %s d=%s s=%s", path, k, dkim_result_str(res->result),
		       res->domain, res->selector);
		if (res->reason[0])
			printf(" (%s)", res->reason);
		printf("%s\n", res->testing ? " testing" : "");
	}
	printf("%s: symbols", path);
	dkim_symbols(dk, print_symbol, NULL);
	printf("\n");
	fflush(stdout);
	dkim_free(dk);
	sbuf_free(&msg);
	(void)d;
}

static void verify_arc(const char *path, const struct dkim_params *p, struct dkim_resolver *r,
                       struct evloop *ev, size_t chunk)
{
	struct sbuf msg;
	struct arc *a;
	const struct arc_result *res;
	size_t body;

	if (load(path, &msg) < 0)
		return;
	a = arc_new(p);
	body = dkim_split(msg.data, msg.len, arc_field, a);
	arc_eoh(a, r, on_arc, ev);
	for (size_t i = body; i < msg.len; i += chunk)
		arc_body(a, msg.data + i, msg.len - i < chunk ? msg.len - i : chunk);
	arc_eom(a);
	while (!arc_done(a))
		evloop_run(ev);
	res = arc_result(a);
	printf("%s: arc %s i=%d", path, arc_status_str(res->status), res->instances);
	if (res->status == ARC_PASS)
		printf(" d=%s s=%s", res->domain, res->selector);
	if (res->reason[0])
		printf(" (%s)", res->reason);
	printf("\n%s: symbols", path);
	arc_symbols(a, print_symbol, NULL);
	printf("\n");
	fflush(stdout);
	arc_free(a);
	sbuf_free(&msg);
}

int main(int argc, char **argv)
{
	struct dkim_params p = {.now = time(NULL), .jitter = 300, .max_sigs = DKIM_MAX_SIGS};
	struct dns_params dp = {.servers = "", .timeout_ms = 1000, .tries = 2, .cache_size = 0};
	struct dkim_resolver r;
	struct evloop *ev;
	struct dns *d;
	size_t chunk = 4096;
	char err[256];
	int c, arc = 0;

	while ((c = getopt(argc, argv, "as:n:j:c:")) != -1) {
		switch (c) {
		case 'a':
			arc = 1;
			break;
		case 's':
			dp.servers = optarg;
			break;
		case 'n':
			p.now = strtoll(optarg, NULL, 10);
			break;
		case 'j':
			p.jitter = strtoll(optarg, NULL, 10);
			break;
		case 'c':
			chunk = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || chunk == 0)
		goto usage;
	if ((ev = evloop_new()) == NULL || (d = dns_new(ev, &dp, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dkimverify: %s\n", ev ? err : "no event loop");
		return 1;
	}
	dkim_resolver_dns(&r, d);
	for (int i = optind; i < argc; i++)
		if (arc)
			verify_arc(argv[i], &p, &r, ev, chunk);
		else
			verify(argv[i], &p, &r, ev, d, chunk);
	dns_free(d);
	evloop_free(ev);
	return 0;
usage:
	fprintf(
	    stderr,
	    "usage: dkimverify -s SERVER[:PORT] [-a] [-n NOW] [-j JITTER] [-c CHUNK] FILE...\n");
	return 2;
}
