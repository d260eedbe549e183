/*
 * html - HTML reduced to the text a reader sees, links collected.
 *
 * A tokenizer after the WHATWG HTML standard (tags, attributes, character
 * references, comments, raw-text elements), without tree building: enough
 * to know what a mail client shows and where its links go. Untrusted input:
 * one pass, linear time, an unclosed tag or comment runs to the end of the
 * input as in browsers. Not seen: CSS (display:none text is kept).
 */
#ifndef MOAT_HTML_H
#define MOAT_HTML_H

#include <stddef.h>

#include "mail/url.h"

/*
 * Reduce HTML to the text a reader sees (tags dropped, <script>/<style>
 * skipped, entities decoded, block elements as line breaks, whitespace
 * collapsed) and collect links (a href, img src, form action) with their
 * visible text. Returns malloc'd NUL-terminated UTF-8; *outlen its length.
 */
char *html_to_text(const char *p, size_t len, size_t *outlen, struct url_list *links,
		   size_t max_links);

#endif
