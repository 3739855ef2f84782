/*
 * sync_cookie: see sync_cookie.h.
 */
#include "sync_cookie.h"

#include "b64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_COOKIE_MAGIC "idp-sync-cookie 1"
/* an anchor in an "r" line: shorter than this (DIR_ANCHOR_MAX) */
#define SYNC_COOKIE_ANCHOR_MAX 129
/* a DN in a "d" line: shorter than this (DIR_DN_MAX), in hex there */
#define SYNC_COOKIE_DN_MAX 1025

char *sync_cookie_encode(const char *scope, struct berval *const *cookies, size_t n)
{
	size_t cap = strlen(scope) + 64, len;
	char *out;

	for (size_t i = 0; i < n; i++)
		cap += b64url_encoded_len(cookies[i]->bv_len) + 2;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	len = (size_t)snprintf(out, cap, "%s %s\n", SYNC_COOKIE_MAGIC, scope);
	for (size_t i = 0; i < n; i++) {
		if (cookies[i]->bv_len == 0) {
			out[len++] = '-';
		} else {
			ssize_t w = b64url_encode(cookies[i]->bv_val, cookies[i]->bv_len, out + len,
						  cap - len);
			if (w < 0) {
				free(out);
				return NULL;
			}
			len += (size_t)w;
		}
		out[len++] = '\n';
	}
	out[len] = '\0';
	return out;
}

int sync_cookie_decode(const char *text, const char *scope, struct berval **cookies, size_t n)
{
	char head[160];
	const char *p;
	size_t i, hl;

	snprintf(head, sizeof(head), "%s %s\n", SYNC_COOKIE_MAGIC, scope);
	hl = strlen(head);
	if (text == NULL || strncmp(text, head, hl) != 0)
		return -1;
	p = text + hl;
	for (i = 0; i < n && *p != '\0'; i++) {
		size_t len = strcspn(p, "\n");
		free(cookies[i]->bv_val);
		cookies[i]->bv_val = NULL;
		cookies[i]->bv_len = 0;
		if (!(len == 1 && *p == '-')) {
			char *buf = malloc(len + 1);
			ssize_t got;
			if (buf == NULL)
				return -1;
			got = b64url_decode(p, len, buf, len + 1);
			if (got <= 0) {
				free(buf);
				return -1;
			}
			buf[got] = '\0';
			cookies[i]->bv_val = buf;
			cookies[i]->bv_len = (ber_len_t)got;
		}
		p += len;
		if (*p != '\n')
			return -1;
		p++;
	}
	if (i != n)
		return -1;
	/* then "r" lines, then "d" lines, nothing else */
	while (*p != '\0' && p[0] == 'r') {
		int kind;
		char anchor[SYNC_COOKIE_ANCHOR_MAX];
		const char *at = p;
		if (sync_cookie_retry_next(text, &at, &kind, anchor, sizeof(anchor)) != 1 ||
		    at == p)
			return -1;
		p = at;
	}
	while (*p != '\0') {
		int kind;
		char dn[SYNC_COOKIE_DN_MAX];
		const char *at = p;
		if (sync_cookie_unread_next(text, &at, &kind, dn, sizeof(dn)) != 1 || at == p)
			return -1;
		p = at;
	}
	return 0;
}

/* Is s a line "r K ANCHOR\n"?  Its length, or 0. */
static size_t sync_cookie_retry_line(const char *s)
{
	size_t len;

	if (s[0] != 'r' || s[1] != ' ' || (s[2] != '0' && s[2] != '1') || s[3] != ' ')
		return 0;
	len = strspn(s + 4, "0123456789abcdefABCDEF-");
	if (len == 0 || len >= SYNC_COOKIE_ANCHOR_MAX || s[4 + len] != '\n')
		return 0;
	return 4 + len + 1;
}

int sync_cookie_retry_add(char **text, int kind, const char *anchor)
{
	size_t old = *text != NULL ? strlen(*text) : 0, len = strlen(anchor);
	char *out;

	if ((kind != 0 && kind != 1) || len == 0 || len >= SYNC_COOKIE_ANCHOR_MAX ||
	    strspn(anchor, "0123456789abcdefABCDEF-") != len)
		return -1;
	if ((out = realloc(*text, old + len + 6)) == NULL)
		return -1;
	snprintf(out + old, len + 6, "r %d %s\n", kind, anchor);
	*text = out;
	return 0;
}

/*
 * The line at *p that line() accepts, or with *p NULL the first such line
 * after the header (and so after the cookies): its length (*p set to it),
 * or 0 when there is none.
 */
static size_t sync_cookie_line_at(const char *text, const char **p,
				  size_t (*line)(const char *s))
{
	if (*p == NULL) {
		if (text == NULL || (*p = strchr(text, '\n')) == NULL)
			return 0;
		(*p)++;
		while (**p != '\0' && line(*p) == 0) {
			const char *nl = strchr(*p, '\n');
			if (nl == NULL)
				return 0;
			*p = nl + 1;
		}
	}
	return line(*p);
}

int sync_cookie_retry_next(const char *text, const char **pos, int *kind, char *anchor,
			   size_t cap)
{
	const char *p = *pos;
	size_t len = sync_cookie_line_at(text, &p, sync_cookie_retry_line);

	if (len == 0 || len - 5 >= cap)
		return 0;
	*kind = p[2] - '0';
	memcpy(anchor, p + 4, len - 5);
	anchor[len - 5] = '\0';
	*pos = p + len;
	return 1;
}

/* Is s a line "d K HEX\n" (an even number of hex digits, a DN without NUL)?  Its length, or 0. */
static size_t sync_cookie_unread_line(const char *s)
{
	size_t len;

	if (s[0] != 'd' || s[1] != ' ' || (s[2] != '0' && s[2] != '1') || s[3] != ' ')
		return 0;
	len = strspn(s + 4, "0123456789abcdef");
	if (len == 0 || len % 2 != 0 || len / 2 >= SYNC_COOKIE_DN_MAX || s[4 + len] != '\n')
		return 0;
	for (size_t i = 0; i < len; i += 2)
		if (s[4 + i] == '0' && s[5 + i] == '0')
			return 0;
	return 4 + len + 1;
}

int sync_cookie_unread_add(char **text, int kind, const char *dn)
{
	static const char hex[] = "0123456789abcdef";
	size_t old = *text != NULL ? strlen(*text) : 0, len = strlen(dn), at;
	char *out;

	if ((kind != 0 && kind != 1) || len == 0 || len >= SYNC_COOKIE_DN_MAX)
		return -1;
	if ((out = realloc(*text, old + 2 * len + 6)) == NULL)
		return -1;
	at = old + (size_t)snprintf(out + old, 5, "d %d ", kind);
	for (size_t i = 0; i < len; i++) {
		out[at++] = hex[(unsigned char)dn[i] >> 4];
		out[at++] = hex[(unsigned char)dn[i] & 15];
	}
	out[at++] = '\n';
	out[at] = '\0';
	*text = out;
	return 0;
}

static int sync_cookie_hex(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

int sync_cookie_unread_next(const char *text, const char **pos, int *kind, char *dn, size_t cap)
{
	const char *p = *pos;
	size_t len = sync_cookie_line_at(text, &p, sync_cookie_unread_line), n;

	if (len == 0 || (n = (len - 5) / 2) >= cap)
		return 0;
	*kind = p[2] - '0';
	for (size_t i = 0; i < n; i++)
		dn[i] = (char)(sync_cookie_hex(p[4 + 2 * i]) << 4 | sync_cookie_hex(p[5 + 2 * i]));
	dn[n] = '\0';
	*pos = p + len;
	return 1;
}
