/*
 * buf: growable buffer.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_DEFAULT_LIMIT (64u * 1024 * 1024)

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t limit = b->limit ? b->limit : BUF_DEFAULT_LIMIT, want;
	char *p;

	if (b->failed)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	if (extra > limit || b->len + extra + 1 > limit) {
		b->failed = 1;
		return -1;
	}
	want = b->cap ? b->cap : 256;
	while (want < b->len + extra + 1)
		want *= 2;
	if (want > limit)
		want = limit;
	p = realloc(b->data, want);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = want;
	return 0;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) != 0)
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) != 0) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_html(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		case '`':
			buf_puts(b, "&#96;");
			break;
		default:
			buf_add(b, s, 1);
		}
	}
}

void buf_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			buf_add(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_add(b, e, 3);
		}
	}
}

int buf_failed(const struct buf *b)
{
	return b->failed;
}

char *buf_take(struct buf *b, size_t *len)
{
	char *p;

	if (b->failed) {
		buf_free(b);
		b->failed = 0;
		return NULL;
	}
	if (b->data == NULL && buf_grow(b, 0) != 0)
		return NULL;
	p = b->data;
	if (len != NULL)
		*len = b->len;
	p[b->len] = '\0';
	memset(b, 0, sizeof(*b));
	return p;
}
