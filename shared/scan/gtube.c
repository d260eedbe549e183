/*
 * gtube - find the GTUBE test strings in a text part; see gtube.h.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "scan/gtube.h"

/* What the four patterns share after their first letter. */
static const char tail[] = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

int gtube_policy_parse(const char *s, enum gtube_policy *p)
{
	if (*s == '\0' || strcasecmp(s, "reject") == 0)
		*p = GTUBE_REJECT;
	else if (strcasecmp(s, "all") == 0)
		*p = GTUBE_ALL;
	else if (strcasecmp(s, "disabled") == 0 || strcasecmp(s, "disable") == 0)
		*p = GTUBE_DISABLED;
	else
		return -1;
	return 0;
}

static enum gtube_kind kind_of(char c)
{
	switch (c) {
	case 'X':
		return GTUBE_FOR_REJECT;
	case 'Y':
		return GTUBE_FOR_ADD_HEADER;
	case 'Z':
		return GTUBE_FOR_REWRITE_SUBJECT;
	case 'A':
		return GTUBE_FOR_NO_ACTION;
	}
	return GTUBE_NONE;
}

/*
 * Each step moves past the tail found last, and the text is at most
 * GTUBE_MAX_PART bytes: the search ends, after at most 8192 / 67 memmem
 * calls (mime.c avoids memmem in loops for ASan's sake; at 8 KiB it is cheap).
 */
enum gtube_kind gtube_find(const char *text, size_t len, enum gtube_policy p)
{
	const size_t tl = sizeof(tail) - 1;
	const char *at, *end;

	/* Before any arithmetic on text: NULL + 0 is undefined too (clang's UBSan). */
	if (p == GTUBE_DISABLED || text == NULL || len > GTUBE_MAX_PART)
		return GTUBE_NONE;
	at = text;
	end = text + len;
	while ((size_t)(end - at) >= tl) {
		const char *t = memmem(at, (size_t)(end - at), tail, tl);
		enum gtube_kind k;

		if (t == NULL)
			break;
		k = t > text ? kind_of(t[-1]) : GTUBE_NONE;
		if (k == GTUBE_FOR_REJECT || (k != GTUBE_NONE && p == GTUBE_ALL))
			return k;
		at = t + tl;
	}
	return GTUBE_NONE;
}

const char *gtube_action(enum gtube_kind k)
{
	switch (k) {
	case GTUBE_FOR_REJECT:
		return "reject";
	case GTUBE_FOR_ADD_HEADER:
		return "add header";
	case GTUBE_FOR_REWRITE_SUBJECT:
		return "rewrite subject";
	case GTUBE_FOR_NO_ACTION:
		return "no action";
	case GTUBE_NONE:
		break;
	}
	return NULL;
}
