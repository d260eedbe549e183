/*
 * tap.h - the smallest Test Anything Protocol producer for unit tests.
 *
 * Header-only on purpose: each test is one .c file that includes it. The
 * plan is printed at the end (done_testing), so tests need not count.
 */
#ifndef MOAT_TAP_H
#define MOAT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define is_int(got, want, ...)                                                                    \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!tap_ok(g_ == w_, __VA_ARGS__))                                                \
			printf("#   got %lld, expected %lld\n", g_, w_);                               \
	} while (0)

#define is_str(got, want, ...)                                                                    \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!tap_ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                         \
			printf("#   got \"%s\", expected \"%s\"\n", g_ ? g_ : "(null)",               \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

#define like_str(got, needle, ...)                                                                \
	do {                                                                                       \
		const char *g_ = (got), *n_ = (needle);                                            \
		if (!tap_ok(g_ && strstr(g_, n_) != NULL, __VA_ARGS__))                            \
			printf("#   \"%s\" does not contain \"%s\"\n", g_ ? g_ : "(null)", n_);       \
	} while (0)

/*
 * Skip the rest for REASON: a "# SKIP" note, or, with MOAT_REQUIRE_ALL=1
 * (bootstrap check, so CI), a failure, so that a missing tool or file cannot
 * silently remove assertions.
 */
static inline void tap_skip(const char *reason)
{
	const char *req = getenv("MOAT_REQUIRE_ALL");

	if (req && strcmp(req, "1") == 0)
		tap_ok(0, "not skipped (MOAT_REQUIRE_ALL=1): %s", reason);
	else
		printf("# SKIP %s\n", reason);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
