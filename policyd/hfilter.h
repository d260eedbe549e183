/*
 * hfilter - Rspamd's hfilter module (src/plugins/lua/hfilter.lua) at RCPT:
 * the HELO name, the client's host name (forward-confirmed reverse DNS,
 * through c-ares) and the sender's domain, with Rspamd's patterns and
 * symbol names. The message checks (HFILTER_URL_*, HFILTER_MID_*) need the
 * body and are not here; HFILTER_RCPT_BOUNCEMOREONE needs every recipient,
 * which a RCPT request does not have, and so HFILTER_FROM_BOUNCE (weight 0)
 * that only feeds it is left out too; HFILTER_*_NORESOLVE_MX (an MX whose
 * host does not resolve, 0.2 and 0.5) is left out, as two lookups more per
 * MX for a fraction of a point.
 */
#ifndef MOAT_HFILTER_H
#define MOAT_HFILTER_H

#include "core/cidr.h"
#include "dns/dns.h"

enum hfilter_sym {
	HF_HELO_BAREIP,
	HF_HELO_BADIP,
	HF_HELO_1, /* HF_HELO_1 + weight - 1: the HELO pattern weights 1..5 */
	HF_HELO_5 = HF_HELO_1 + 4,
	HF_HELO_NORES_A_OR_MX,
	HF_HELO_IP_A,
	HF_HELO_NOT_FQDN,
	HF_HOSTNAME_1,
	HF_HOSTNAME_5 = HF_HOSTNAME_1 + 4,
	HF_HOSTNAME_UNKNOWN,
	HF_FROMHOST_NORES_A_OR_MX,
	HF_FROMHOST_NOT_FQDN,
	HF_HELO_NORESOLVE_MX,
	HF_FROMHOST_NORESOLVE_MX,
	HF_NSYM
};

#define HF_MAX_HITS 8

struct hfilter_hit {
	enum hfilter_sym sym;
	char opt[256];
};

/* Rspamd's name of a symbol. */
const char *hfilter_symbol(enum hfilter_sym s);
/* Whether name is an FQDN as Rspamd's check_fqdn: 4..253 bytes, two labels or more. */
int hfilter_fqdn(const char *name);
/* HF_HELO_BADIP or HF_HELO_BAREIP for a HELO (brackets removed) that is an address, else -1. */
int hfilter_helo_ip(const char *helo);
/* The highest weight (0..5) of the HELO name patterns matching helo (generic ones included). */
int hfilter_helo_weight(const char *helo);
/* The highest weight (0..5) of the host name patterns (dynamic, dsl, pool...) matching name. */
int hfilter_host_weight(const char *name);

struct hfilter_job;
typedef void hfilter_cb(void *arg, struct hfilter_job *job);

/*
 * Start the checks of a transaction (helo and sender as Postfix sends
 * them); done runs once when every lookup is in, maybe before this returns.
 */
struct hfilter_job *hfilter_job_new(struct dns *dns, const struct ip_addr *ip, const char *helo,
                                    const char *sender, hfilter_cb *done, void *arg);
/* The symbols found, in order; their count. */
int hfilter_job_hits(const struct hfilter_job *job, const struct hfilter_hit **hits);
/* The host name FCrDNS confirmed ("" if none). */
const char *hfilter_job_hostname(const struct hfilter_job *job);
/* Free (after done ran; NULL is fine). */
void hfilter_job_free(struct hfilter_job *job);

#endif
