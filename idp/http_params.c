/*
 * http_params: strict parsing of form-encoded data and cookies.
 *
 * Everything here reads attacker-controlled bytes, so it is written to be
 * fuzzed: bounded counts, no recursion, one allocation per call, and every
 * refusal says why.
 */
#include "http.h"

#include "hex.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Decode [s, s+len) into out (which has room for len+1); the decoded length or -1. */
static ssize_t http_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/* Text from a client may be any valid UTF-8 but no control characters except tab. */
static int http_text_ok(const char *s, size_t len)
{
	if (!utf8_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return 0;
	}
	return 1;
}

int http_params_parse(const char *s, size_t len, struct http_params *out, struct err *err)
{
	size_t pos = 0, used = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	/* Decoding never grows a string: len + one NUL per name and value fits all. */
	out->storage = malloc(len + 2 * HTTP_MAX_PARAMS + 2);
	if (out->storage == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	while (pos <= len) {
		const char *pair = s + pos, *amp = memchr(pair, '&', len - pos), *eq;
		size_t plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
		ssize_t nlen, vlen;

		pos += plen + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2" and a trailing '&' are harmless */
		if (out->n == HTTP_MAX_PARAMS) {
			http_params_free(out);
			return err_set(err, ERR_LIMIT, "more than %d parameters", HTTP_MAX_PARAMS);
		}
		eq = memchr(pair, '=', plen);
		out->v[out->n].name = out->storage + used;
		nlen = http_decode(pair, eq != NULL ? (size_t)(eq - pair) : plen,
				   out->storage + used);
		if (nlen <= 0 || !http_text_ok(out->storage + used, (size_t)nlen)) {
			http_params_free(out);
			return err_set(err, ERR_INVALID, "parameter %zu: bad name encoding",
				       out->n + 1);
		}
		used += (size_t)nlen + 1;
		out->v[out->n].value = out->storage + used;
		vlen = eq != NULL ? http_decode(eq + 1, plen - (size_t)(eq + 1 - pair),
						out->storage + used)
				  : (out->storage[used] = '\0', 0);
		if (vlen < 0 || !http_text_ok(out->storage + used, (size_t)vlen)) {
			/* name the parameter before its storage goes (it read NULL here before) */
			err_set(err, ERR_INVALID, "parameter '%.40s': bad value encoding",
				out->v[out->n].name);
			http_params_free(out);
			return ERR_INVALID;
		}
		used += (size_t)vlen + 1;
		out->n++;
	}
	return 0;
}

void http_params_free(struct http_params *p)
{
	free(p->storage);
	memset(p, 0, sizeof(*p));
}

const char *http_param(const struct http_params *p, const char *name, int *dup)
{
	const char *found = NULL;

	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].name, name) != 0)
			continue;
		if (found != NULL) {
			if (dup != NULL)
				*dup = 1;
			return NULL;
		}
		found = p->v[i].value;
	}
	return found;
}

int http_params_dups(const struct http_params *p, const char **first_dup)
{
	int dups = 0;

	for (size_t i = 0; i < p->n; i++)
		for (size_t j = i + 1; j < p->n; j++)
			if (strcmp(p->v[i].name, p->v[j].name) == 0) {
				if (dups++ == 0 && first_dup != NULL)
					*first_dup = p->v[i].name;
				break;
			}
	return dups;
}

int http_cookie(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = header;

	if (header == NULL)
		return -1;
	while (*p != '\0') {
		const char *end;
		size_t vlen;

		while (*p == ' ' || *p == ';' || *p == '\t')
			p++;
		end = p + strcspn(p, ";");
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			vlen = (size_t)(end - v);
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen == 0 || vlen >= cap)
				return -1;
			for (size_t i = 0; i < vlen; i++) {
				unsigned char c = (unsigned char)v[i];
				/* RFC 6265 cookie-octet */
				if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '\\')
					return -1;
			}
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}
