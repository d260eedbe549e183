/*
 * fuzz_url - URL and e-mail address extraction from text, links as HTML
 * gives them, host normalisation (IDN, public suffix) and every numeric
 * host form (shared/mail/url.c). Each URL found is checked for what url.h
 * promises: NUL-terminated strings within URL_TEXT_MAX, the list within
 * its limit.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/domain.h"
#include "fuzz.h"
#include "mail/url.h"

#define MAX 20

static void check_urls(const struct url_list *l)
{
	if (l->n > MAX)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct url *u = &l->v[i];

		if (strlen(u->text) > URL_TEXT_MAX + 16 || u->scheme == NULL || u->host == NULL ||
		    u->path == NULL)
			abort();
		if (u->registrable && strlen(u->registrable) > strlen(u->host))
			abort();
		if (u->display && strlen(u->display) > URL_TEXT_MAX)
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)domain_psl();	/* loaded once per process, as in the daemons */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct url_list ul;
	struct email_list el;
	struct ip_addr ip;
	char *h;
	size_t hl;

	url_list_init(&ul);
	url_extract_text(s, size, &ul, MAX);
	check_urls(&ul);
	url_list_add_link(&ul, s, size, MAX);
	check_urls(&ul);
	url_list_free(&ul);

	email_list_init(&el);
	email_extract_text(s, size, &el, MAX);
	if (el.n > MAX)
		abort();
	for (size_t i = 0; i < el.n; i++)
		if (strchr(el.v[i], '@') == NULL)
			abort();
	email_list_free(&el);

	/* The first line as a host name. */
	hl = strcspn(s, "\n");
	h = url_host_normalise(s, hl);
	free(h);
	url_host_ip(s, hl, &ip);
	free(s);
	return 0;
}
