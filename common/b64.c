/*
 * b64: base64url codec.
 */
#include "b64.h"

#include <stdint.h>

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

ssize_t b64url_encode(const void *src, size_t n, char *dst, size_t cap)
{
	const unsigned char *s = src;
	size_t out = b64url_encoded_len(n), i, j = 0;

	if (cap < out + 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[j++] = b64url_alphabet[v >> 18];
		dst[j++] = b64url_alphabet[(v >> 12) & 63];
		dst[j++] = b64url_alphabet[(v >> 6) & 63];
		dst[j++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		dst[j++] = b64url_alphabet[v >> 18];
		dst[j++] = b64url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[j++] = b64url_alphabet[v >> 18];
		dst[j++] = b64url_alphabet[(v >> 12) & 63];
		dst[j++] = b64url_alphabet[(v >> 6) & 63];
	}
	dst[j] = '\0';
	return (ssize_t)j;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t b64url_decode(const char *src, size_t len, void *dst, size_t cap)
{
	unsigned char *d = dst;
	size_t full = len / 4 * 3, rest = len % 4, need, j = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (rest == 1)
		return -1;
	need = full + (rest == 0 ? 0 : rest - 1);
	if (need > cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)src[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[j++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* leftover bits must be zero: one canonical encoding */
		return -1;
	return (ssize_t)j;
}
