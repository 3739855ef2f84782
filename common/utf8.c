/*
 * utf8: a strict decoder (RFC 3629) and case folding through the C
 * library's C.UTF-8 tables.
 */
#include "utf8.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

/* Decode one code point at s (n bytes left); returns its length or -1. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	int len;

	if (n == 0)
		return -1;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07u;
	} else {
		return -1;
	}
	if ((size_t)len > n)
		return -1;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return len;
}

static int utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Eight bytes at a time through the ASCII that most text is (the byte
 * loops were 2-4% of a full sync's writer, and more of its reader).
 * 1 if the 8 bytes at p are all in 0x01..0x7f (ascii_nonzero) or all in
 * 0x20..0x7e (ascii_printable): the "has a byte less than / more than n"
 * tests of Bit Twiddling Hacks, exact for any such byte.
 */
#define UTF8_ONES 0x0101010101010101ULL
#define UTF8_HIGH 0x8080808080808080ULL

static int utf8_word_ascii_nonzero(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return (((x - UTF8_ONES) & ~x) | x) & UTF8_HIGH ? 0 : 1;
}

static int utf8_word_ascii_printable(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	/* a byte < 0x20, a byte > 0x7e (0x7f + 1 sets its top bit), a byte >= 0x80 */
	return (((x - UTF8_ONES * 0x20) & ~x) | (x + UTF8_ONES) | x) & UTF8_HIGH ? 0 : 1;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		int n;
		if (len - i >= 8 && utf8_word_ascii_nonzero(p + i)) {
			i += 8;
			continue;
		}
		/* ASCII, a byte at a time (the decoder was 2% of a sync) */
		if (p[i] != 0 && p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n < 0 || cp == 0)
			return 0;
		i += (size_t)n;
	}
	return 1;
}

int utf8_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		uint32_t cp;
		int n;
		if (len - i >= 8 && utf8_word_ascii_printable(p + i)) {
			i += 8;
			continue;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n < 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
		i += (size_t)n;
	}
	return 1;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

int utf8_fold(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, o = 0;

	pthread_once(&utf8_once, utf8_locale_init);
	while (i < len) {
		uint32_t cp;
		char enc[4];
		int n, m;
		if (p[i] < 0x80) {
			if (o + 2 > cap)
				return -1;
			out[o++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n < 0)
			return -1;
		i += (size_t)n;
		if (cp < 0x80)
			cp = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
		else if (utf8_locale != (locale_t)0)
			cp = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		m = utf8_encode(cp, enc);
		if (o + (size_t)m + 1 > cap)
			return -1;
		memcpy(out + o, enc, (size_t)m);
		o += (size_t)m;
	}
	if (o + 1 > cap)
		return -1;
	out[o] = '\0';
	return (int)o;
}

size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	n = max;
	/* back off continuation bytes (10xxxxxx) to the start of the character cut */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}
