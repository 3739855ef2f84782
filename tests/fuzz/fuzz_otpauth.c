/*
 * fuzz_otpauth: otpauth:// key URIs and base32, as an import or a test
 * would hand them in.
 *
 * Properties: base32 decoding accepts one spelling per value (encoding what
 * was decoded gives the input back, upper-cased and without padding);
 * encoding any bytes decodes back to them; a URI the parser accepts can be
 * written again with otpauth_uri(), and parsing that gives the same key.
 */
#include "fuzz.h"

#include "err.h"
#include "otpauth.h"

#include <ctype.h>

static void fuzz_base32(const char *s, size_t len)
{
	uint8_t bytes[256], back[256];
	char text[512];
	ssize_t n, m;
	size_t data = len;

	n = otpauth_base32_decode(s, len, bytes, sizeof(bytes));
	if (n >= 0) {
		FUZZ_ASSERT((size_t)n <= sizeof(bytes), "decoded %zd bytes into %zu", n,
		            sizeof(bytes));
		m = otpauth_base32_encode(bytes, (size_t)n, text, sizeof(text));
		FUZZ_ASSERT(m >= 0, "cannot encode what was decoded");
		while (data > 0 && s[data - 1] == '=')
			data--;
		FUZZ_ASSERT((size_t)m == data, "%zu characters encode back as %zd", data, m);
		for (size_t i = 0; i < data; i++)
			FUZZ_ASSERT(text[i] == toupper((unsigned char)s[i]),
			            "a second spelling of one value was accepted at %zu", i);
	}
	/* any bytes: encode, decode, compare */
	if (len > sizeof(bytes))
		len = sizeof(bytes);
	m = otpauth_base32_encode(s, len, text, sizeof(text));
	FUZZ_ASSERT(m >= 0, "cannot encode %zu bytes", len);
	n = otpauth_base32_decode(text, (size_t)m, back, sizeof(back));
	FUZZ_ASSERT(n == (ssize_t)len && (len == 0 || memcmp(back, s, len) == 0),
	            "base32 round trip of %zu bytes failed", len);
	/* a buffer one byte too small is refused, never overrun */
	if (len > 0) {
		uint8_t *tight = malloc(len - 1 > 0 ? len - 1 : 1);
		if (tight != NULL) {
			FUZZ_ASSERT(otpauth_base32_decode(text, (size_t)m, tight, len - 1) < 0,
			            "decoded %zu bytes into %zu", len, len - 1);
			free(tight);
		}
	}
}

static void fuzz_uri(const char *uri)
{
	struct otpauth k, again;
	struct err err = {0};
	char out[8192];

	if (otpauth_parse(uri, &k, &err) != 0) {
		FUZZ_ASSERT(err.code == ERR_INVALID && err.msg[0] != '\0',
		            "refusal without reason");
		return;
	}
	FUZZ_ASSERT(k.secret_len >= 10 && k.secret_len <= OTPAUTH_SECRET_MAX, "secret of %zu",
	            k.secret_len);
	FUZZ_ASSERT(k.digits == 6 || k.digits == 8, "digits %u", k.digits);
	FUZZ_ASSERT(k.period >= 1 && k.period <= 300, "period %u", k.period);
	FUZZ_ASSERT(k.account[0] != '\0', "no account");
	FUZZ_ASSERT(otpauth_uri(&k, out, sizeof(out), &err) == 0,
	            "a parsed key cannot be written: %s", err.msg);
	if (strlen(out) >= OTPAUTH_URI_MAX)
		return; /* percent-encoding grew it past what the parser reads */
	FUZZ_ASSERT(otpauth_parse(out, &again, &err) == 0, "the written URI is refused: %s",
	            err.msg);
	FUZZ_ASSERT(strcmp(k.issuer, again.issuer) == 0, "issuer changed");
	FUZZ_ASSERT(strcmp(k.account, again.account) == 0, "account changed");
	FUZZ_ASSERT(k.secret_len == again.secret_len &&
	                    memcmp(k.secret, again.secret, k.secret_len) == 0,
	            "secret changed");
	FUZZ_ASSERT(k.alg == again.alg && k.digits == again.digits && k.period == again.period,
	            "parameters changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_base32(s, size);
	fuzz_uri(s);
	free(s);
	return 0;
}
