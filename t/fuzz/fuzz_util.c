/*
 * fuzz_util - see fuzz.h. Also stands in for shared/core/log.c: the parsers warn
 * about what they skip, and a million warnings a minute would bury the
 * fuzzer's own output; msg_fatal still aborts so it counts as a crash.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/db.h"
#include "fuzz.h"
#include "core/log.h"

static char db_dir[64];
static int memfd = -1;
static char memfd_path[64];

sqlite3 *fuzz_db_open(void)
{
	char path[128], err[512];
	sqlite3 *db;

	snprintf(db_dir, sizeof(db_dir), "/tmp/moat-fuzz.XXXXXX");
	if (mkdtemp(db_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/moat.db", db_dir);
	db = db_open(path, 1000, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	return db;
}

void fuzz_db_close(sqlite3 *db)
{
	static const char *const files[] = {"moat.db", "moat.db-wal", "moat.db-shm"};
	char path[128];

	db_close(db);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", db_dir, files[i]);
		unlink(path);
	}
	rmdir(db_dir);
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("moat-fuzz", 0);
		if (memfd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) {
		perror("memfd");
		abort();
	}
	return memfd_path;
}

void fuzz_file_close(void)
{
	/* The memfd is reused by the next input; truncating is enough. */
	if (memfd >= 0 && ftruncate(memfd, 0) < 0)
		abort();
}

/* --- shared/core/log.c's interface, quiet ------------------------------------- */

/* Formatted and dropped: the arguments are still read, so a bad one shows. */
static void __attribute__((format(printf, 1, 0))) format(const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
}

int log_init(const char *progname, enum log_dest dest, const char *facility)
{
	return 0;
}

void log_forked(void)
{
}

const char *log_progname(void)
{
	return "moat-fuzz";
}

void log_set_buffered(int on)
{
}

void log_flush(void)
{
}

void log_set_verbose(int on)
{
}

int log_verbose(void)
{
	return 0;
}

void msg_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
