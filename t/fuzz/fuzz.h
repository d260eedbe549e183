/*
 * fuzz - what the libFuzzer harnesses (t/fuzz/fuzz_*.c) share.
 *
 * Each harness defines LLVMFuzzerTestOneInput() and keeps no state from
 * one input to the next apart from read-only tables built once in
 * LLVMFuzzerInitialize() (rules, zones); whatever an input allocates is
 * freed before it returns, so LeakSanitizer sees every leak.
 */
#ifndef MOAT_FUZZ_H
#define MOAT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fresh database with every migration applied, in a temporary directory
 * that is gone again when fuzz_db_close() runs; aborts on failure. */
sqlite3 *fuzz_db_open(void);
void fuzz_db_close(sqlite3 *db);

/* A C string copy of data (malloc'd): exactly size + 1 bytes, so ASan
 * catches a read past the end. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* A path (/proc/self/fd/N of a memfd) whose file holds data, for parsers
 * that read files; fuzz_file_close() frees it. */
const char *fuzz_file(const uint8_t *data, size_t size);
void fuzz_file_close(void);

#endif
