/*
 * dns_query_test - dns_answer_parse_rr(), the packet reader behind
 * dns_query(): each record type, the answer kinds SPF tells apart (records,
 * NODATA, NXDOMAIN, failure, timeout), TXT strings joined, the bounds (32
 * records kept of more, 4096 bytes of TXT), the smallest TTL, and
 * malformed packets refused.
 */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "tap.h"

static unsigned char pkt[70000];
static int plen;

/* A response for example.com with rcode and the question of type qtype. */
static void start(int rcode, int qtype)
{
	static const unsigned char q[] = "\7example\3com";

	memset(pkt, 0, 12);
	pkt[0] = 0x12, pkt[2] = 0x81, pkt[3] = (unsigned char)(0x80 | rcode);
	pkt[5] = 1;
	plen = 12;
	memcpy(pkt + plen, q, sizeof(q));
	plen += (int)sizeof(q);
	pkt[plen++] = 0, pkt[plen++] = (unsigned char)qtype, pkt[plen++] = 0, pkt[plen++] = 1;
}

/* One answer record at the question's name (a compression pointer). */
static void add(int type, unsigned ttl, const void *rdata, int rdlen)
{
	unsigned an = (unsigned)(pkt[6] << 8 | pkt[7]) + 1;

	pkt[6] = (unsigned char)(an >> 8), pkt[7] = (unsigned char)an;
	pkt[plen++] = 0xc0, pkt[plen++] = 12;
	pkt[plen++] = 0, pkt[plen++] = (unsigned char)type, pkt[plen++] = 0, pkt[plen++] = 1;
	pkt[plen++] = (unsigned char)(ttl >> 24), pkt[plen++] = (unsigned char)(ttl >> 16);
	pkt[plen++] = (unsigned char)(ttl >> 8), pkt[plen++] = (unsigned char)ttl;
	pkt[plen++] = (unsigned char)(rdlen >> 8), pkt[plen++] = (unsigned char)rdlen;
	memcpy(pkt + plen, rdata, (size_t)rdlen);
	plen += rdlen;
}

static struct dns_answer *parse(int type)
{
	return dns_answer_parse_rr(ARES_SUCCESS, pkt, plen, type, 3600);
}

int main(void)
{
	struct dns_answer *a;
	unsigned char rd[300];
	char big[5000];

	start(0, DNS_T_A);
	add(DNS_T_A, 300, "\xc0\0\2\1", 4);
	add(DNS_T_A, 60, "\xc0\0\2\2", 4);
	a = parse(DNS_T_A);
	is_int(a->status, DNS_Q_OK, "A: records");
	is_int(a->nrr, 2, "A: both kept");
	is_int(a->ttl, 60, "A: the smallest TTL");
	is_str(inet_ntoa(a->rr[1].u.a), "192.0.2.2", "A: address");
	free(a);

	start(0, DNS_T_AAAA);
	add(DNS_T_AAAA, 300, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\xcb\x01", 16);
	a = parse(DNS_T_AAAA);
	ok(a->status == DNS_Q_OK && a->nrr == 1 && a->rr[0].u.aaaa.s6_addr[15] == 1, "AAAA");
	free(a);

	start(0, DNS_T_MX);
	add(DNS_T_MX, 300, "\0\x0a\2mx\xc0\x0c", 7);
	a = parse(DNS_T_MX);
	ok(a->status == DNS_Q_OK && a->nrr == 1 && a->rr[0].u.pref == 10, "MX: preference");
	is_str(a->rr[0].str, "mx.example.com", "MX: the name, compression followed");
	free(a);

	start(0, DNS_T_PTR);
	add(DNS_T_PTR, 300, "\4host\xc0\x0c", 7);
	a = parse(DNS_T_PTR);
	is_str(a->status == DNS_Q_OK ? a->rr[0].str : "", "host.example.com", "PTR");
	free(a);

	start(0, DNS_T_TXT);
	add(DNS_T_TXT, 300, "\6v=spf1\5 -all", 13);
	add(DNS_T_TXT, 300, "\0", 1);
	a = parse(DNS_T_TXT);
	is_int(a->nrr, 2, "TXT: two records");
	is_str(a->rr[0].str, "v=spf1 -all", "TXT: strings joined without a space (RFC 7208 3.3)");
	ok(a->rr[1].len == 0 && a->rr[1].str[0] == '\0', "TXT: an empty string");
	free(a);

	/* A CNAME before the records: only the asked type counts. */
	start(0, DNS_T_A);
	add(5 /* CNAME */, 300, "\3www\xc0\x0c", 6);
	a = parse(DNS_T_A);
	is_int(a->status, DNS_Q_NODATA, "a CNAME alone is no data for A");
	free(a);

	start(0, DNS_T_TXT);
	a = parse(DNS_T_TXT);
	is_int(a->status, DNS_Q_NODATA, "NOERROR without records: NODATA");
	free(a);
	start(3, DNS_T_TXT);
	a = parse(DNS_T_TXT);
	is_int(a->status, DNS_Q_NXDOMAIN, "rcode 3: NXDOMAIN");
	free(a);
	start(2, DNS_T_TXT);
	a = parse(DNS_T_TXT);
	is_int(a->status, DNS_Q_FAIL, "SERVFAIL: failure");
	free(a);
	a = dns_answer_parse_rr(ARES_ETIMEOUT, NULL, 0, DNS_T_TXT, 3600);
	is_int(a->status, DNS_Q_TIMEOUT, "no answer: timeout");
	free(a);

	/* Bounds: 40 records, 32 kept, all counted (SPF's MX limit needs the count). */
	start(0, DNS_T_A);
	for (int i = 0; i < 40; i++) {
		unsigned char ip[4] = {192, 0, 2, (unsigned char)i};

		add(DNS_T_A, 300, ip, 4);
	}
	a = parse(DNS_T_A);
	ok(a->nrr == DNS_RR_MAX && a->nrr_all == 40, "40 records: %d kept, %d counted", a->nrr,
	   a->nrr_all);
	free(a);

	/* A TXT record of 5000 bytes in 20 strings: cut at DNS_RR_TXT_MAX and marked. */
	start(0, DNS_T_TXT);
	memset(big, 'x', sizeof(big));
	{
		static unsigned char rdata[6000];
		int n = 0;

		for (int i = 0; i < 20; i++) {
			rdata[n++] = 250;
			memcpy(rdata + n, big, 250);
			n += 250;
		}
		add(DNS_T_TXT, 300, rdata, n);
	}
	a = parse(DNS_T_TXT);
	ok(a->nrr == 1 && a->rr[0].truncated && a->rr[0].len == DNS_RR_TXT_MAX,
	   "a long TXT record is cut at %d bytes and marked", DNS_RR_TXT_MAX);
	free(a);

	/* Malformed: rdlength past the end, a string longer than its record, a short A. */
	start(0, DNS_T_TXT);
	add(DNS_T_TXT, 300, "\6v=spf1", 7);
	plen -= 3;
	a = parse(DNS_T_TXT);
	is_int(a->status, DNS_Q_FAIL, "truncated packet: failure");
	free(a);
	start(0, DNS_T_TXT);
	memcpy(rd, "\x20v=spf1", 7);
	add(DNS_T_TXT, 300, rd, 7);
	a = parse(DNS_T_TXT);
	is_int(a->status, DNS_Q_FAIL, "a character-string past its record: failure");
	free(a);
	start(0, DNS_T_A);
	add(DNS_T_A, 300, "\xc0\0\2", 3);
	a = parse(DNS_T_A);
	is_int(a->status, DNS_Q_FAIL, "an A record of 3 bytes: failure");
	free(a);
	a = dns_answer_parse_rr(ARES_SUCCESS, pkt, 5, DNS_T_A, 3600);
	is_int(a->status, DNS_Q_FAIL, "5 bytes: failure");
	free(a);
	return done_testing();
}
