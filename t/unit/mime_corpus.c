/*
 * mime_corpus - parse every message of the real-mail corpus (shared/mime.c).
 *
 * Usage: mime_corpus [-v] [dir...]; without folders the ham and spam folders
 * of $MOAT_SRCDIR/../shared/corpus (skipped when they are not there); -v
 * names each message with a flag, and its flags, in TAP comments. Each
 * folder is parsed in a child process, so a crash (or, under ASan, a leak)
 * is reported as a failed test naming the message instead of ending the run.
 * The flag counts are printed as TAP comments: they show what real mail
 * looks like.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/mime.h"
#include "core/sbuf.h"
#include "tap.h"

#define NFLAGS 12

/* Results, in memory shared with the child that parses. */
struct result {
	char current[PATH_MAX];	/* message being parsed, for a crash report */
	int parsed, unreadable, no_root, with_text, done;
	int flags[NFLAGS];
	double secs;
};

static const char *const flag_names[NFLAGS] = {
	"truncated", "too_many_headers", "header_too_long", "too_deep", "too_many_parts",
	"missing_boundary", "bad_base64", "bad_qp", "bad_charset", "8bit_header", "nul",
	"no_header_end",
};

static int verbose;

static int read_file(const char *path, struct sbuf *sb)
{
	char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return -1;
	sbuf_reset(sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_append(sb, buf, n);
	fclose(f);
	return 0;
}

/* Some leaf has text that is not only blanks. */
static int has_text(const struct msg *m)
{
	int i;
	size_t j;

	for (i = 0; i < m->nleaves; i++)
		for (j = 0; j < m->leaves[i]->text_len; j++)
			if (strchr(" \t\r\n", m->leaves[i]->text[j]) == NULL)
				return 1;
	return 0;
}

static void count(struct result *r, const struct msg *m)
{
	int i;

	if (verbose && m->flags) {
		printf("# %s:", r->current);
		for (i = 0; i < NFLAGS; i++)
			if (m->flags & (1u << i))
				printf(" %s", flag_names[i]);
		printf("\n");
	}
	r->parsed++;
	if (m->root == NULL)
		r->no_root++;
	if (has_text(m))
		r->with_text++;
	for (i = 0; i < NFLAGS; i++)
		if (m->flags & (1u << i))
			r->flags[i]++;
}

static void parse_dir(const char *dir, struct result *r)
{
	struct mime_limits lim;
	struct timespec t0, t1;
	struct dirent *de;
	struct sbuf sb;
	struct stat st;
	struct msg *m;
	DIR *d;

	mime_limits_default(&lim);
	sbuf_init(&sb);
	if ((d = opendir(dir)) == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((de = readdir(d)) != NULL) {
		snprintf(r->current, sizeof(r->current), "%s/%s", dir, de->d_name);
		if (stat(r->current, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (read_file(r->current, &sb) < 0) {
			r->unreadable++;
			continue;
		}
		m = msg_parse(sb.data ? sb.data : "", sb.len, &lim);
		count(r, m);
		msg_free(m);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r->done = 1;
	closedir(d);
	sbuf_free(&sb);
}

static void report(const char *path, const struct result *r, int status)
{
	int i, crashed = !r->done || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	const char *dir = strrchr(path, '/') && strrchr(path, '/')[1] ? strrchr(path, '/') + 1 : path;

	ok(r->parsed > 0 && r->unreadable == 0, "%s: parsed %d messages in %.2f s", dir, r->parsed,
	   r->secs);
	if (!ok(!crashed, "%s: nothing crashed (no signal, no sanitizer report)", dir))
		printf("#   child status %#x; last message started: %s\n", (unsigned)status,
		       r->current);
	ok(r->no_root == 0, "%s: every message has a root (%d without)", dir, r->no_root);
	ok(r->parsed > 0 && r->with_text * 100 >= r->parsed * 95,
	   "%s: at least 95%% yield decoded text (%d of %d)", dir, r->with_text, r->parsed);
	for (i = 0; i < NFLAGS; i++)
		if (r->flags[i])
			printf("# %s: %d with %s\n", dir, r->flags[i], flag_names[i]);
}

/* Parse one folder in a child, so that a crash is a test result. */
static void run_dir(const char *dir)
{
	struct result *r;
	int status = 0;
	pid_t pid;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		ok(0, "%s: mmap", dir);
		return;
	}
	memset(r, 0, sizeof(*r));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		parse_dir(dir, r);
		exit(0);	/* not _exit(): LeakSanitizer checks the child at exit */
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = -1;
	report(dir, r, status);
	munmap(r, sizeof(*r));
}

int main(int argc, char **argv)
{
	const char *src = getenv("MOAT_SRCDIR");
	char ham[PATH_MAX], spam[PATH_MAX];
	struct stat st;
	int i;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv++;
		argc--;
	}
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			run_dir(argv[i]);
		return done_testing();
	}
	snprintf(ham, sizeof(ham), "%s/../shared/corpus/ham", src ? src : "..");
	snprintf(spam, sizeof(spam), "%s/../shared/corpus/spam", src ? src : "..");
	if (stat(ham, &st) < 0 || stat(spam, &st) < 0) {
		const char *req = getenv("MOAT_REQUIRE_ALL");

		if (req && strcmp(req, "1") == 0) {
			ok(0, "not skipped (MOAT_REQUIRE_ALL=1): corpus not found (%s)", ham);
			return done_testing();
		}
		printf("1..0 # SKIP corpus not found (%s)\n", ham);
		return 0;
	}
	run_dir(ham);
	run_dir(spam);
	return done_testing();
}
