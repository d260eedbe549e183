/*
 * dms_env - docker-mailserver's environment file (mailserver.env), read
 * into the changes of dms_import.h (moatctl import-dms-env).
 *
 * The file is Docker Compose's env_file: one NAME=VALUE a line, blank
 * lines and lines starting with '#' skipped, a value in matching single or
 * double quotes taken without them. A line without '=', a name that is not
 * [A-Za-z_][A-Za-z0-9_]*, a NUL or control byte, a line over DMS_LINE_MAX
 * or a bad value of a variable moat reads is an error naming the line; a
 * file with an error changes nothing. An empty value is DMS's default.
 *
 * What each variable means for moat:
 *   ENABLE_CLAMAV, RSPAMD_HFILTER                    -> modules clamav, hfilter
 *       (a module this database lacks is not applied)
 *   RSPAMD_GREYLISTING, ENABLE_POSTGREY              -> module greylist
 *       (moat-policyd's), on if either is 1, with the moat.conf line
 *       greylist_mode = suspicious (Rspamd's, by score) or all (postgrey's)
 *   RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE            -> that symbol's weight
 *   CLAMAV_MESSAGE_SIZE_LIMIT, RSPAMD_CHECK_AUTHENTICATED
 *                                                    -> moat.conf lines
 *   the rest (ENABLE_RSPAMD, ENABLE_RSPAMD_REDIS, RSPAMD_LEARN, SPAM_SUBJECT,
 *   MOVE_SPAM_TO_JUNK, MARK_SPAM_AS_READ, ENABLE_OPENDKIM, ENABLE_OPENDMARC,
 *   ENABLE_POLICYD_SPF, and ENABLE_POSTGREY besides) -> not applied, with
 *       a note saying what to do; so is any variable moat does not read.
 * The later of two lines for one variable wins, as in Compose.
 */
#ifndef MOAT_DMS_ENV_H
#define MOAT_DMS_ENV_H

#include <stddef.h>

#include "dms_import.h"

/*
 * Parse len bytes of an environment file (name is for messages) into imp,
 * as dms_import_parse() does. 0, or -1 with imp->errors filled; the caller
 * frees imp with dms_import_free() either way.
 */
int dms_env_parse(const char *name, const char *buf, size_t len, struct dms_import *imp);

#endif
