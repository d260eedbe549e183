/*
 * content - the text and URLs of a message's text parts; see content.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mail/html.h"
#include "mail/mime.h"
#include "scan/content.h"

void content_init(struct content *c)
{
	url_list_init(&c->urls);
	sbuf_init(&c->text);
}

void content_extract(const struct msg *m, struct content *c)
{
	for (int i = 0; i < m->nleaves && i < CONTENT_MAX_LEAVES; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->text == NULL || p->is_attachment)
			continue;
		if (strcmp(p->ctype, "text/html") == 0) {
			size_t n;
			char *t = html_to_text(p->text, p->text_len, &n, &c->urls,
					       CONTENT_MAX_URLS);

			sbuf_append(&c->text, t, n);
			free(t);
		} else {
			url_extract_text(p->text, p->text_len, &c->urls, CONTENT_MAX_URLS);
			sbuf_append(&c->text, p->text, p->text_len);
		}
		sbuf_putc(&c->text, '\n');
	}
}

void content_free(struct content *c)
{
	url_list_free(&c->urls);
	sbuf_free(&c->text);
	content_init(c);
}
