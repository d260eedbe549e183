/*
 * history_tokens - the Bayes token hashes kept beside a history row
 * (sql/018-moat-api.sql), so the message can be learned later without the
 * original: one blob of the distinct 64-bit hashes (in no order), 8 bytes each,
 * little-endian whatever the host, and the message's id for bayes_seen.
 * Written by the milter's history thread and moat-controller's /checkv2,
 * read by /moat/learn.
 */
#ifndef MOAT_HISTORY_TOKENS_H
#define MOAT_HISTORY_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* The statement history_tokens_bind() fills: ?1 history id, ?2 message id, ?3 tokens. */
#define HISTORY_TOKENS_INSERT                                                                      \
	"INSERT OR REPLACE INTO history_tokens (id, time, message, tokens)"                        \
	" VALUES (?1, unixepoch(), ?2, ?3)"

/* Bind a row's id, the message id and the n tokens (as a blob) to st. */
void history_tokens_bind(sqlite3_stmt *st, int64_t id, uint64_t msgid, const uint64_t *v, size_t n);
/* The tokens of a blob (malloc'd, *n of them), or NULL for a blob that is not whole hashes. */
uint64_t *history_tokens_decode(const void *blob, size_t len, size_t *n);

#endif
