/*
 * fuzz_http_params: the strict parsers every request goes through before
 * any handler sees it: application/x-www-form-urlencoded (query strings
 * and form bodies) and the Cookie header.
 *
 * Properties checked beyond "no crash": a parsed list has at most
 * HTTP_MAX_PARAMS pairs, every name is non-empty valid UTF-8 text, and
 * encoding the list again and parsing that gives the same list (so the
 * parser and buf_urlenc agree); http_param() and http_params_dups() agree
 * about repeated names; a cookie value found fits its buffer and holds only
 * RFC 6265 cookie-octets.
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"

#include "buf.h"
#include "err.h"
#include "http.h"
#include "utf8.h"

static void fuzz_params(const char *s, size_t len)
{
	struct http_params p, again;
	struct err err = {0};
	struct buf b;
	const char *first = NULL;
	int dups;

	if (http_params_parse(s, len, &p, &err) != 0) {
		FUZZ_ASSERT(err.code == ERR_INVALID || err.code == ERR_LIMIT, "code %d", err.code);
		FUZZ_ASSERT(err.msg[0] != '\0', "a refusal without a reason");
		/* the reason names the parameter: never through a pointer into freed storage */
		FUZZ_ASSERT(strstr(err.msg, "(null)") == NULL ||
		                    memmem(s, len, "(null)", 6) != NULL,
		            "refusal names nothing: %s", err.msg);
		FUZZ_ASSERT(p.n == 0 && p.storage == NULL, "a refused list was left filled");
		return;
	}
	FUZZ_ASSERT(p.n <= HTTP_MAX_PARAMS, "%zu pairs", p.n);
	buf_init(&b);
	for (size_t i = 0; i < p.n; i++) {
		size_t nl = strlen(p.v[i].name);
		FUZZ_ASSERT(nl > 0, "an empty name at %zu", i);
		FUZZ_ASSERT(utf8_valid(p.v[i].name, nl), "a name that is not UTF-8");
		FUZZ_ASSERT(utf8_valid(p.v[i].value, strlen(p.v[i].value)), "a value not UTF-8");
		if (i > 0)
			buf_puts(&b, "&");
		buf_urlenc(&b, p.v[i].name);
		buf_puts(&b, "=");
		buf_urlenc(&b, p.v[i].value);
	}
	dups = http_params_dups(&p, &first);
	for (size_t i = 0; i < p.n; i++) {
		int dup = 0;
		const char *v = http_param(&p, p.v[i].name, &dup);
		if (dups == 0)
			FUZZ_ASSERT(v == p.v[i].value && !dup, "lookup of a unique name failed");
		else if (dup)
			FUZZ_ASSERT(v == NULL, "a repeated name returned a value");
	}
	if (dups > 0)
		FUZZ_ASSERT(first != NULL && http_param(&p, first, NULL) == NULL,
		            "dups() named a parameter that lookup finds once");
	FUZZ_ASSERT(!buf_failed(&b), "re-encoding failed");
	if (b.len > 0) {
		FUZZ_ASSERT(http_params_parse(b.data, b.len, &again, &err) == 0,
		            "the re-encoded list was refused: %s", err.msg);
		FUZZ_ASSERT(again.n == p.n, "%zu pairs became %zu", p.n, again.n);
		for (size_t i = 0; i < p.n; i++) {
			FUZZ_ASSERT(strcmp(again.v[i].name, p.v[i].name) == 0, "name %zu changed",
			            i);
			FUZZ_ASSERT(strcmp(again.v[i].value, p.v[i].value) == 0,
			            "value %zu changed", i);
		}
		http_params_free(&again);
	}
	buf_free(&b);
	http_params_free(&p);
}

static void fuzz_cookie(const char *header, const char *name, size_t cap)
{
	char out[128];

	if (http_cookie(header, name, out, cap) != 0)
		return;
	FUZZ_ASSERT(strlen(out) < cap, "a cookie value overflows its buffer");
	FUZZ_ASSERT(out[0] != '\0', "an empty cookie value was returned");
	for (const char *c = out; *c; c++) {
		unsigned char u = (unsigned char)*c;
		FUZZ_ASSERT(u > 0x20 && u < 0x7f && u != '"' && u != ',' && u != '\\' && u != ';',
		            "byte 0x%02x in a cookie value", u);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"idp_session", "__Secure-idp_session", "idp_csrf", "a"};
	char *header;

	fuzz_params((const char *)data, size);
	/* the Cookie header arrives NUL-terminated from the server library */
	header = malloc(size + 1);
	if (header == NULL)
		return 0;
	memcpy(header, data, size);
	header[size] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fuzz_cookie(header, names[i], 64);
		fuzz_cookie(header, names[i], 8);
	}
	free(header);
	return 0;
}
