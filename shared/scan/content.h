/*
 * content - what the checks and Bayes read of a message besides its
 * headers: the decoded text of its text parts (HTML reduced to the text it
 * shows) and the URLs in them, extracted once per message, so that
 * learning sees exactly what scanning sees.
 */
#ifndef MOAT_CONTENT_H
#define MOAT_CONTENT_H

#include "core/sbuf.h"
#include "mail/url.h"

struct msg;

#define CONTENT_MAX_URLS 1000	/* URLs kept per message; the rest are counted */
#define CONTENT_MAX_LEAVES 64	/* MIME leaves looked at, in order */

struct content {
	struct url_list urls;
	struct sbuf text;	/* the text parts' text, each ended by '\n' */
};

/* An empty content. */
void content_init(struct content *c);
/* Fill c (initialised, empty) from m's first CONTENT_MAX_LEAVES leaves but attachments. */
void content_extract(const struct msg *m, struct content *c);
/* Free c's memory (and leave it empty). */
void content_free(struct content *c);

#endif
