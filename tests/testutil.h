/*
 * testutil: what several tests need: a private temporary directory, file
 * contents, and a settable clock.
 */
#ifndef IDP_TESTUTIL_H
#define IDP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Make a fresh directory under $TMPDIR (or /tmp); the path is static storage. */
const char *tu_tmpdir(void);

/* rm -rf path. */
void tu_rmtree(const char *path);

/* Write text to path with the given mode; 0 or -1. */
int tu_write_file(const char *path, const char *text, int mode);

/* 1 if the file at path contains the bytes of needle (a missing file contains nothing). */
int tu_file_contains(const char *path, const char *needle);

/* Read a whole file; caller frees; NULL if it cannot. */
char *tu_read_file(const char *path, size_t *len);

/* A clock for struct clock whose ctx points at an int64_t holding the time. */
int64_t tu_clock(void *ctx);

#endif
