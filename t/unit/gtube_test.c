/*
 * gtube_test - the GTUBE strings as Rspamd finds them (src/libmime/message.c):
 * the four variants, which ones each gtube_patterns value counts, the
 * first one in the text wins, and the part sizes Rspamd looks at (up to
 * 8 KiB; see gtube.h for the lower bound).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "scan/gtube.h"
#include "tap.h"

#define TAIL "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

static enum gtube_kind find(const char *s, enum gtube_policy p)
{
	return gtube_find(s, strlen(s), p);
}

int main(void)
{
	static char big[GTUBE_MAX_PART + 2];
	enum gtube_policy p;

	is_int(find("X" TAIL "\n", GTUBE_REJECT), GTUBE_FOR_REJECT, "the classic string: reject");
	is_int(find("Y" TAIL "\n", GTUBE_REJECT), GTUBE_NONE, "Y...: not by default (reject)");
	is_int(find("Y" TAIL "\n", GTUBE_ALL), GTUBE_FOR_ADD_HEADER, "Y...: add header with all");
	is_int(find("Z" TAIL "\n", GTUBE_ALL), GTUBE_FOR_REWRITE_SUBJECT, "Z...: rewrite subject");
	is_int(find("A" TAIL "\n", GTUBE_ALL), GTUBE_FOR_NO_ACTION, "A...: no action");
	is_int(find("B" TAIL "\n", GTUBE_ALL), GTUBE_NONE, "another first letter: nothing");
	is_int(find("X" TAIL "\n", GTUBE_DISABLED), GTUBE_NONE, "disabled: nothing");
	is_int(find("Y" TAIL " then X" TAIL, GTUBE_REJECT), GTUBE_FOR_REJECT,
	       "reject: a Y... before is passed over");
	is_int(find("Y" TAIL " then X" TAIL, GTUBE_ALL), GTUBE_FOR_ADD_HEADER,
	       "all: the first in the text wins");
	is_int(find(TAIL "\n" TAIL "\n", GTUBE_ALL), GTUBE_NONE, "the tail alone is not a pattern");
	is_int(find("X" TAIL, GTUBE_REJECT), GTUBE_FOR_REJECT,
	       "a part of just the 68 bytes (a text attachment holding the string; see gtube.h)");
	ok(gtube_find(NULL, 0, GTUBE_ALL) == GTUBE_NONE, "no text");

	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "X" TAIL, 68);
	is_int(gtube_find(big, GTUBE_MAX_PART, GTUBE_REJECT), GTUBE_FOR_REJECT, "8 KiB: looked at");
	is_int(gtube_find(big, GTUBE_MAX_PART + 1, GTUBE_REJECT), GTUBE_NONE,
	       "8 KiB and one byte: not (a text quoting it)");
	memcpy(big + GTUBE_MAX_PART - 68, "X" TAIL, 68);
	memcpy(big, "    ", 4);
	is_int(gtube_find(big, GTUBE_MAX_PART, GTUBE_REJECT), GTUBE_FOR_REJECT,
	       "at the very end of the part");

	is_str(gtube_action(GTUBE_FOR_REJECT), "reject", "actions: reject");
	is_str(gtube_action(GTUBE_FOR_ADD_HEADER), "add header", "add header");
	is_str(gtube_action(GTUBE_FOR_REWRITE_SUBJECT), "rewrite subject", "rewrite subject");
	is_str(gtube_action(GTUBE_FOR_NO_ACTION), "no action", "no action");
	ok(gtube_action(GTUBE_NONE) == NULL, "none");

	ok(gtube_policy_parse("", &p) == 0 && p == GTUBE_REJECT,
	   "empty: reject (Rspamd's default)");
	ok(gtube_policy_parse("all", &p) == 0 && p == GTUBE_ALL, "all");
	ok(gtube_policy_parse("Reject", &p) == 0 && p == GTUBE_REJECT, "Reject (any case)");
	ok(gtube_policy_parse("disabled", &p) == 0 && p == GTUBE_DISABLED, "disabled");
	ok(gtube_policy_parse("disable", &p) == 0 && p == GTUBE_DISABLED, "disable (Rspamd too)");
	ok(gtube_policy_parse("yes", &p) < 0, "yes: refused");
	return done_testing();
}
