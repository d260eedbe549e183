/*
 * fuzz_spf - the SPF record and macro parser (shared/auth/spf.c) and the DNS
 * answer parser SPF reads records with (dns_answer_parse_rr): hostile TXT
 * records and packets come from whoever runs the sender's DNS.
 *
 * Input: the first byte picks what the rest is: a record for
 * spf_record_check(), a macro-string for spf_expand() (as a domain-spec and
 * as exp= text, IPv4 and IPv6 client), or an answer packet read as each
 * record type. Every output must stay within its buffer and promises:
 * a domain at most 253 bytes, records within DNS_RR_MAX.
 */
#include "config.h"

#include <ares.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "fuzz.h"
#include "auth/spf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void expand(const char *s)
{
	static const char *const ips[] = {"192.0.2.3", "2001:db8::cb01"};
	char out[300], err[256];

	for (int i = 0; i < 2; i++) {
		struct spf_request req = {.ip = ips[i],
		                          .helo = "mx.example.org",
		                          .sender = "strong-bad@email.example.com"};

		if (spf_expand(&req, "email.example.com", s, 0, out, sizeof(out), err,
		               sizeof(err)) == 0 &&
		    (strlen(out) > 253 || out[0] == '\0'))
			abort();
		if (spf_expand(&req, "email.example.com", s, 1, out, sizeof(out), err,
		               sizeof(err)) == 0 &&
		    strlen(out) >= sizeof(out))
			abort();
	}
}

static void packet(const uint8_t *data, size_t size)
{
	static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR, DNS_T_TXT};
	int len = size > 65535 ? 65535 : (int)size;

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct dns_answer *a = dns_answer_parse_rr(ARES_SUCCESS, data, len, types[t], 3600);

		if (a->nrr < 0 || a->nrr > DNS_RR_MAX || a->nrr > a->nrr_all ||
		    (a->status == DNS_Q_OK) != (a->nrr > 0) || a->ttl > 3600)
			abort();
		for (int i = 0; i < a->nrr; i++)
			if (a->rr[i].str &&
			    (a->rr[i].str < a->buf ||
			     a->rr[i].str + a->rr[i].len >= a->buf + a->buflen ||
			     a->rr[i].str[a->rr[i].len] != '\0' || a->rr[i].len > DNS_RR_TXT_MAX))
				abort();
		free(a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[256];

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		if (spf_record_check(s, err, sizeof(err)) < 0 && err[0] == '\0')
			abort();
		break;
	case 1:
		expand(s);
		break;
	default:
		packet(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
