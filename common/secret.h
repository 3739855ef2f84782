/*
 * secret: handling bytes that must not leak: constant-time comparison,
 * wiping, SHA-256 digests of high-entropy secrets, and reading secret files
 * that only their owner may read.
 */
#ifndef IDP_SECRET_H
#define IDP_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define SECRET_SHA256_LEN 32
#define SECRET_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* 1 if the n bytes at a and b are equal, in time that depends only on n. */
int secret_equal(const void *a, const void *b, size_t n) __attribute__((warn_unused_result));

/*
 * 1 if the strings are equal.  The time depends on the lengths only, not on
 * where they differ; meant for fixed-length digests and tokens.
 */
int secret_streq(const char *a, const char *b) __attribute__((warn_unused_result));

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop. */
void secret_wipe(void *p, size_t n);

/* SHA-256 of n bytes into out. */
void secret_sha256(const void *data, size_t n, uint8_t out[SECRET_SHA256_LEN]);

/* SHA-256 of a NUL-terminated string as 64 lowercase hex digits. */
void secret_sha256_hex(const char *s, char out[SECRET_SHA256_HEX]);

/*
 * Read a secret file into buf (capacity cap, NUL-terminated, one trailing
 * newline dropped).  Refuses a file that group or others can read or write,
 * one that is not a regular file, and one that does not fit.  Returns the
 * length, or a negative err code with err filled.  The caller wipes buf.
 */
int secret_read_file(const char *path, char *buf, size_t cap, struct err *err);

/* 0 if path is a regular file that only its owner can read; else err filled. */
int secret_check_mode(const char *path, struct err *err);

#endif
