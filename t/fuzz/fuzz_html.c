/*
 * fuzz_html - HTML reduced to text with its links (shared/mail/html.c), as a
 * text/html part's decoded body reaches it; the links then go through the
 * URL code like the scanner's checks do.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mail/codec.h"
#include "core/domain.h"
#include "fuzz.h"
#include "mail/html.h"
#include "mail/url.h"

#define MAX 20

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)domain_psl();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *t;
	struct url_list links;
	size_t n;

	url_list_init(&links);
	t = html_to_text(s, size, &n, &links, MAX);
	if (t == NULL || t[n] != '\0' || strlen(t) > n)
		abort();
	/* Valid UTF-8 in, valid UTF-8 out (references decode to UTF-8). */
	if (codec_utf8_valid(s, size) && !codec_utf8_valid(t, n))
		abort();
	if (links.n > MAX)
		abort();
	for (size_t i = 0; i < links.n; i++) {
		const struct url *u = &links.v[i];

		if (u->display) {
			struct url_list shown;

			url_list_init(&shown);
			url_extract_text(u->display, strlen(u->display), &shown, 1);
			url_list_free(&shown);
		}
	}
	url_list_free(&links);
	free(t);
	free(s);
	return 0;
}
