/*
 * buf: a growable byte buffer for building responses (HTML, JSON, headers).
 *
 * Appending never fails visibly: on allocation failure or when the buffer
 * would pass its limit the buffer goes into an error state, later appends
 * are ignored, and buf_failed() says so once at the end.  That keeps page
 * and document builders free of error checks on every line.
 */
#ifndef IDP_BUF_H
#define IDP_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated while not failed; owned */
	size_t len, cap;
	size_t limit; /* 0 = 64 MiB */
	int failed;
};

/* Initialise an empty buffer (no allocation yet). */
void buf_init(struct buf *b);

/* Free the storage; the buffer may be reused after buf_init(). */
void buf_free(struct buf *b);

/* Append n bytes / a string / printf output. */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s escaped for HTML text and attribute values (& < > " ' `). */
void buf_html(struct buf *b, const char *s);

/* Append s percent-encoded for a URL query component (RFC 3986 unreserved kept). */
void buf_urlenc(struct buf *b, const char *s);

/* 1 if an append failed (out of memory or over the limit). */
int buf_failed(const struct buf *b);

/* Take the data (caller frees) and reset the buffer; NULL if it failed. */
char *buf_take(struct buf *b, size_t *len);

#endif
