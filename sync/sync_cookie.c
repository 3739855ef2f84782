/*
 * sync_cookie: see sync_cookie.h.
 */
#include "sync_cookie.h"

#include "b64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_COOKIE_MAGIC "idp-sync-cookie 1"

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
	return i == n && *p == '\0' ? 0 : -1;
}
