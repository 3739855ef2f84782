/*
 * err: the error detail every library fills and every daemon reports.
 *
 * Library functions return 0 or a negative enum err_code and, when the
 * caller passed a struct err, describe the failure in it.  Libraries never
 * log; the program that called them decides what to print.  A message never
 * contains a secret: callers name the object, not its credential.
 */
#ifndef IDP_ERR_H
#define IDP_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_INTERNAL = -1,    /* a bug or an unexpected library failure */
	ERR_NOT_FOUND = -2,   /* no such object (in this tenant) */
	ERR_EXISTS = -3,      /* a unique name or id is taken */
	ERR_INVALID = -4,     /* the input is malformed or out of range */
	ERR_DENIED = -5,      /* wrong credential, or not allowed */
	ERR_IO = -6,          /* the OS refused: open, read, write, disk full */
	ERR_BUSY = -7,        /* locked by another writer past the timeout */
	ERR_VERSION = -8,     /* data written by a newer program */
	ERR_CORRUPT = -9,     /* the file is not what it should be */
	ERR_READONLY = -10,   /* a write to something opened or mounted read-only */
	ERR_LIMIT = -11,      /* a size or count limit was hit */
	ERR_UNAVAILABLE = -12 /* a remote peer cannot be reached */
};

struct err {
	int code;
	char msg[256];
};

/*
 * Record code and a printf-style message in err (which may be NULL) and
 * return code, so that a failure path reads `return err_set(err, ...)`.
 */
int err_set(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix err->msg with "prefix: ", keeping the code.  err may be NULL. */
void err_prefix(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset err (which may be NULL) to "no error". */
void err_clear(struct err *err);

/* A short stable name for a code, e.g. "not_found", for JSON and exit codes. */
const char *err_name(int code);

#endif
