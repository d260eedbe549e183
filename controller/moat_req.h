/*
 * moat_req - the arguments and JSON bodies of the MOAT API (/moat/...,
 * moat-controller(8)), checked before any of them reaches the database:
 * the history search's filters and paging, dates, and the bodies of
 * /moat/learn, /moat/greylist/{delete,allow} and /moat/savecomposite.
 * libmicrohttpd decodes the query and jansson parses the JSON; what is
 * moat's own is here, without SQL, so it has a fuzz target
 * (t/fuzz/fuzz_moat_req.c). Every string has a length bound; a value
 * that is refused gets an error that names the argument or key.
 */
#ifndef MOAT_CTL_MOAT_REQ_H
#define MOAT_CTL_MOAT_REQ_H

#include <stddef.h>

#define MOAT_LIMIT_MAX 500    /* rows of one page */
#define MOAT_LIMIT_DEFAULT 50 /* rows of a page when limit is not given */
#define MOAT_TERM_MAX 200     /* bytes of one search term */
#define MOAT_OFFSET_MAX 100000000L

/* A query argument by name, or NULL (api_req's arg). */
typedef const char *(*moat_arg_fn)(void *ctx, const char *name);

/* A history search: NULL or 0 for a filter not given. Strings point into the arguments. */
struct moat_hq {
	const char *from, *to, *subject; /* substrings, 1..MOAT_TERM_MAX bytes */
	const char *ip;                  /* an address, or a prefix of one ending in '.' or ':' */
	int ip_prefix;                   /* ip is a prefix */
	const char *action;              /* one of the six actions or "skipped" */
	const char *symbol;              /* [A-Z0-9_], 1..64 */
	long long since, until;          /* Unix seconds, until exclusive; 0: not given */
	long offset, limit;
};

/* The history search in the arguments; 0, or -1 with err naming the argument. */
int moat_hq_parse(moat_arg_fn arg, void *ctx, struct moat_hq *q, char *err, size_t errlen);

/*
 * A time argument: Unix seconds, or YYYY-MM-DD in local time (its start,
 * or with end set its end: the next day's start). 0 and *out, or -1.
 */
int moat_time_parse(const char *s, int end, long long *out);

/* offset and limit only (the greylist lists); 0, or -1 with err. */
int moat_page_parse(moat_arg_fn arg, void *ctx, long *offset, long *limit, char *err,
                    size_t errlen);

/* /moat/learn: {"id": N, "class": "spam"|"ham"}; cls 1 spam, 2 ham (enum bayes_class). */
int moat_learn_parse(const char *body, size_t len, long long *id, int *cls, char *err,
                     size_t errlen);

/* /moat/greylist/{delete,allow}: exactly one of "triplet", "message" (ids), "client". */
enum moat_gl_kind { MOAT_GL_TRIPLET, MOAT_GL_MESSAGE, MOAT_GL_CLIENT };
struct moat_gl_target {
	enum moat_gl_kind kind;
	long long id;    /* triplet or message: the 64-bit hash */
	char client[64]; /* client: an address (or, to delete, a network as stored) */
};
int moat_greylist_parse(const char *body, size_t len, struct moat_gl_target *t, char *err,
                        size_t errlen);

/* /moat/savecomposite and /moat/deletecomposite. */
struct moat_composite {
	char name[64];
	char *expression; /* malloc'd, 1..4096 bytes; NULL for delete */
	double weight;
	char policy[16];
	char *description; /* malloc'd, at most 1000 bytes */
	int enabled;
};
/* A body for save (names == 0) or delete (names == 1: only "name"); 0, or -1 with err. */
int moat_composite_parse(const char *body, size_t len, int name_only, struct moat_composite *c,
                         char *err, size_t errlen);
/* Free what moat_composite_parse() kept. */
void moat_composite_free(struct moat_composite *c);

/*
 * The trigrams of a search term as the history's trigram index holds them
 * (sql/018: FTS5 trigram, ASCII folded to lower case): every run of three
 * characters that are all ASCII, at most max of them, each NUL-terminated
 * in out[i]. Their number. A term with fewer than three characters has none.
 */
#define MOAT_TRIGRAMS_MAX 200
size_t moat_trigrams(const char *term, char (*out)[4], size_t max);
/* The characters (UTF-8 sequences; a stray byte counts as one) of s. */
size_t moat_chars(const char *s);

/* A 64-bit id as a decimal string (or a JSON integer); 0 and *out, or -1. */
int moat_id_parse(const char *s, long long *out);

#endif
