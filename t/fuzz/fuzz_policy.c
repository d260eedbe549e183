/*
 * fuzz_policy - the policy delegation request parser (policyd/policy_proto.c)
 * as the server drives it: bytes arrive in pieces of fuzzed sizes, each
 * request found is read and consumed, the rest parsed on. The same input
 * parsed whole must give the same requests: being incremental must not
 * change what is understood.
 *
 * Input: first byte = how to cut the rest into reads, then the stream.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policyd/policy_proto.h"

/* Small limits: over-limit paths get as much exercise as the rest. */
static const struct policy_limits lim = {.line_max = 200, .request_max = 1000, .attr_max = 12};

static const char *const names[] = {"request", "protocol_state", "client_address",
				    "client_name", "sender", "recipient", "helo_name",
				    "instance", "nonexistent"};

/* A digest of the requests of one stream, to compare the two runs. */
struct trace {
	unsigned long hash;
	int requests;
	int error;
};

static void mix(struct trace *t, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		t->hash = t->hash * 131 + (unsigned char)p[i];
	t->hash = t->hash * 131 + len;
}

/*
 * Parse stream[0..len) arriving in reads of the sizes cut() picks (one
 * read of everything when cuts is 0). The buffer is sized to what has
 * arrived, like the server's, so a read past it is caught.
 */
static void run(const char *stream, size_t len, unsigned cuts, struct trace *t)
{
	struct policy_parser pp;
	char *buf = NULL, err[256];
	size_t have = 0, off = 0;
	unsigned step = 0;

	memset(t, 0, sizeof(*t));
	policy_parser_init(&pp, &lim);
	while (off < len || have) {
		struct policy_request req;
		enum policy_parse_result r;
		size_t used, n = len - off;
		char *nb;

		if (cuts && n > 1 + ((cuts >> (step % 8)) & 0x1f))
			n = 1 + ((cuts >> (step % 8)) & 0x1f);
		step++;
		nb = malloc(have + n + 1);
		if (nb == NULL)
			abort();
		if (have)
			memcpy(nb, buf, have);
		memcpy(nb + have, stream + off, n);
		have += n;
		off += n;
		nb[have] = '\0';	/* the server's sbuf keeps one too */
		free(buf);
		buf = nb;
		for (;;) {
			r = policy_parse(&pp, buf, have, &req, &used, err, sizeof(err));
			if (r != POLICY_DONE)
				break;
			if (used == 0 || used > have)
				abort();
			t->requests++;
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
				char v[64];
				size_t vl;
				const char *p = policy_get(&req, names[i], &vl);

				if (p)
					mix(t, p, vl);
				policy_get_str(&req, names[i], v, sizeof(v));
				if (strlen(v) >= sizeof(v))
					abort();
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			policy_parser_reset(&pp);
		}
		if (r == POLICY_ERROR) {
			t->error = 1;
			break;
		}
		if (off == len)
			break;
	}
	policy_parser_free(&pp);
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole, pieces;

	if (size < 1)
		return 0;
	run((const char *)data + 1, size - 1, 0, &whole);
	run((const char *)data + 1, size - 1, data[0] | 1u << 8, &pieces);
	/* Limits are on what has arrived, so an error may come sooner in pieces
	 * but the requests before it must be the same. */
	if (!whole.error && !pieces.error &&
	    (whole.requests != pieces.requests || whole.hash != pieces.hash)) {
		fprintf(stderr, "incremental parse differs: %d/%lx vs %d/%lx\n", whole.requests,
			whole.hash, pieces.requests, pieces.hash);
		abort();
	}
	return 0;
}
