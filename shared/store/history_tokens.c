/*
 * history_tokens - the token blob of a history row; see history_tokens.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/history_tokens.h"

void history_tokens_bind(sqlite3_stmt *st, int64_t id, uint64_t msgid, const uint64_t *v, size_t n)
{
	unsigned char *b = xmalloc(n ? n * 8 : 1);

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			b[i * 8 + (size_t)k] = (unsigned char)(v[i] >> (8 * k));
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)msgid);
	sqlite3_bind_blob(st, 3, b, (int)(n * 8), free);
}

uint64_t *history_tokens_decode(const void *blob, size_t len, size_t *n)
{
	const unsigned char *b = blob;
	uint64_t *v;

	if (len % 8 != 0 || (len > 0 && blob == NULL))
		return NULL;
	*n = len / 8;
	v = xmalloc(*n ? *n * sizeof(*v) : 1);
	for (size_t i = 0; i < *n; i++) {
		uint64_t x = 0;

		for (int k = 7; k >= 0; k--)
			x = x << 8 | b[i * 8 + (size_t)k];
		v[i] = x;
	}
	return v;
}
