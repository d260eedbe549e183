/*
 * gtube - the GTUBE test string (SpamAssassin's Generic Test for Unsolicited
 * Bulk Email) and Rspamd's variants of it, one per action, so that a new
 * setup can be tested as Rspamd and SpamAssassin users test theirs:
 *
 *   XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  reject
 *   YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  add header
 *   ZJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  rewrite subject
 *   AJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  no action
 *
 * As Rspamd (src/libmime/message.c, rspamd_check_gtube): looked for in
 * decoded text parts of up to 8 KiB only, so that a mail quoting the
 * string inside a large text or an attachment is not refused; which
 * patterns count is the gtube_patterns setting (reject, all, disabled).
 */
#ifndef MOAT_GTUBE_H
#define MOAT_GTUBE_H

#include <stddef.h>

enum gtube_policy { GTUBE_DISABLED, GTUBE_REJECT, GTUBE_ALL };

enum gtube_kind {
	GTUBE_NONE,
	GTUBE_FOR_REJECT,
	GTUBE_FOR_ADD_HEADER,
	GTUBE_FOR_REWRITE_SUBJECT,
	GTUBE_FOR_NO_ACTION
};

/*
 * Rspamd also wants a part of at least sizeof(pattern), NUL counted: 69
 * bytes. Its parts keep the line break before a MIME boundary, and mail over
 * SMTP ends in one, so a part holding just the string is 69 bytes there;
 * moat's parts end before that line break, so the string's own length, which
 * any match needs, is the same bound.
 */
#define GTUBE_MAX_PART 8192 /* Rspamd's max_check_size */

/* A gtube_patterns value ("", reject, all, disabled or disable); 0, or -1 for anything else. */
int gtube_policy_parse(const char *s, enum gtube_policy *p);
/* The first pattern the policy counts in one decoded text part, by position; GTUBE_NONE if none. */
enum gtube_kind gtube_find(const char *text, size_t len, enum gtube_policy p);
/* The action a kind forces ("reject", "add header", ...), or NULL for GTUBE_NONE. */
const char *gtube_action(enum gtube_kind k);

#endif
