/*
 * fuzz_jwks: what an application does with this idp's keys (verify.h):
 * parse a JWKS document, then validate a token against it.
 *
 * Input: the JWKS JSON, a '\n' line, then a token.  Properties: a parsed
 * set has between 1 and 64 keys; each key written back as a JWK
 * (jws_key_public_jwk) parses again into a key with the same kid and
 * algorithm and the same public members; a token accepted by
 * verify_token() carries the expected issuer and an exp in the future of
 * the fixed clock.  Each member of "keys" also goes through
 * jws_key_from_jwk() on its own.
 */
#include "fuzz.h"

#include "err.h"
#include "jws.h"
#include "verify.h"

#define NOW 1700000000LL
#define ISS "https://idp.test/acme/v2.0"

/* The key written as a JWK must read back as the same key. */
static void fz_roundtrip(json_t *jwk)
{
	struct err err = {0};
	struct jws_key *k = jws_key_from_jwk(jwk, &err), *again;
	json_t *out, *out2;

	if (k == NULL) {
		FUZZ_ASSERT(err.code == ERR_INVALID && err.msg[0] != '\0', "silent refusal");
		return;
	}
	out = jws_key_public_jwk(k);
	FUZZ_ASSERT(out != NULL, "a parsed key cannot be written");
	again = jws_key_from_jwk(out, &err);
	FUZZ_ASSERT(again != NULL, "a written key does not parse: %s", err.msg);
	FUZZ_ASSERT(strcmp(jws_key_kid(k), jws_key_kid(again)) == 0 &&
	                    jws_key_alg(k) == jws_key_alg(again),
	            "kid or alg changed");
	out2 = jws_key_public_jwk(again);
	FUZZ_ASSERT(json_equal(out, out2), "the public members changed");
	json_decref(out);
	json_decref(out2);
	jws_key_free(again);
	jws_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t jlen;
	char *jwks = fuzz_next(&in, '\n', &jlen), *token = fuzz_next(&in, '\0', NULL);
	struct err err = {0};
	struct verify_jwks *ks;
	json_t *doc = json_loadb(jwks, jlen, JSON_REJECT_DUPLICATES, NULL), *arr, *jwk;
	size_t i;

	arr = json_object_get(doc, "keys");
	json_array_foreach(arr, i, jwk)
	{
		if (i >= 8)
			break;
		fz_roundtrip(jwk);
	}
	json_decref(doc);

	ks = verify_jwks_parse(jwks, jlen, &err);
	if (ks == NULL) {
		FUZZ_ASSERT(err.code == ERR_INVALID && err.msg[0] != '\0', "silent refusal");
	} else {
		struct verify_opts o = {0};
		json_t *claims = NULL;
		size_t n = verify_jwks_count(ks);
		FUZZ_ASSERT(n >= 1 && n <= 64, "%zu keys", n);
		o.iss = ISS;
		o.now = NOW;
		o.leeway = 30;
		if (verify_token(ks, token, &o, &claims, &err) == 0) {
			json_t *exp = json_object_get(claims, "exp");
			FUZZ_ASSERT(claims != NULL, "accepted without claims");
			FUZZ_ASSERT(
			        strcmp(json_string_value(json_object_get(claims, "iss")), ISS) == 0,
			        "wrong issuer accepted");
			FUZZ_ASSERT(json_is_integer(exp) && json_integer_value(exp) > NOW - 30,
			            "expired token accepted");
			json_decref(claims);
		} else {
			FUZZ_ASSERT(claims == NULL && err.msg[0] != '\0', "refusal without reason");
		}
		verify_jwks_free(ks);
	}
	free(jwks);
	free(token);
	return 0;
}
