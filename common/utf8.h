/*
 * utf8: validating text from outside and folding case for unique names.
 */
#ifndef IDP_UTF8_H
#define IDP_UTF8_H

#include <stddef.h>

/*
 * 1 if the len bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF) with no NUL byte.
 */
int utf8_valid(const char *s, size_t len);

/*
 * 1 if s is valid UTF-8 free of control characters (C0, DEL and C1): what
 * a name, a display name or a mail address may contain.
 */
int utf8_printable(const char *s);

/*
 * Write the lowercase form of the valid UTF-8 string s into out (capacity
 * cap), folding every script the C library knows (Ä -> ä, Ж -> ж), so that
 * names differing only in case compare equal.  Returns the length, or -1
 * if s is invalid or out too small.
 */
int utf8_fold(const char *s, char *out, size_t cap);

/*
 * How many bytes of s, at most max, end on a character boundary: for
 * printf("%.*s", (int)utf8_cut(s, max), s), which would otherwise cut a
 * multibyte character and leave invalid UTF-8.
 */
size_t utf8_cut(const char *s, size_t max);

#endif
