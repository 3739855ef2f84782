/*
 * fuzz_jwt: compact JWS parsing, verification and claim checks (jws.c),
 * against the fixed test keys of fuzz_keys.h (an RS256 and an ES256 key).
 *
 * The first byte picks what the rest is:
 *   'T'  a token, verified as it is (mutated seeds with real signatures);
 *   'H'  a header object, '\n', a claims object: the harness signs them
 *        itself, so that any header (alg "none", HS256, crit, a foreign
 *        kid...) arrives with a valid signature and only the JWT BCP rules
 *        stand between it and acceptance;
 *   'C'  a claims object signed by jws_sign(), so that claim checking sees
 *        arbitrary claims behind a good signature;
 *   'N'  the time claims as raw numbers: a byte saying which of exp, nbf,
 *        iat, iss and aud are present, three 8-byte integers, then iss and
 *        aud text; signed by jws_sign() (so every int64 reaches the checks,
 *        not just those a mutated JSON number happens to spell).
 * Anything else is treated as 'T'.
 *
 * Properties: an accepted token's header names the verifying key's
 * algorithm (never one the token picked), carries no "crit", and names the
 * key's kid if it names one; what jws_sign() produced always verifies; and
 * jws_check_claims() decides what a reference computed in 128-bit
 * arithmetic decides (so a claim near INT64_MAX cannot wrap a check).
 */
#include "fuzz.h"
#include "fuzz_keys.h"

#include "b64.h"
#include "err.h"
#include "jws.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* 128 bits: wide enough that no sum of two claims can wrap */
__extension__ typedef __int128 fz_i128;

#define NOW    1700000000LL
#define LEEWAY 60

static struct jws_key *fz_keys[2];
static EVP_PKEY *fz_pkeys[2];
static struct jws_keyset fz_set;

static EVP_PKEY *fz_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (k == NULL)
		abort();
	return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err err = {0};

	(void)argc;
	(void)argv;
	fz_keys[0] = jws_key_from_pem(fuzz_rs256_pem, strlen(fuzz_rs256_pem), JWS_RS256,
	                              FUZZ_RS256_KID, &err);
	fz_keys[1] = jws_key_from_pem(fuzz_es256_pem, strlen(fuzz_es256_pem), JWS_ES256,
	                              FUZZ_ES256_KID, &err);
	if (fz_keys[0] == NULL || fz_keys[1] == NULL) {
		fprintf(stderr, "fuzz_jwt: test keys: %s\n", err.msg);
		abort();
	}
	fz_pkeys[0] = fz_pem(fuzz_rs256_pem);
	fz_pkeys[1] = fz_pem(fuzz_es256_pem);
	fz_set.keys = (const struct jws_key *const *)fz_keys;
	fz_set.n = 2;
	return 0;
}

__attribute__((noreturn)) static void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_jwt: %s failed\n", what);
	abort();
}

/* Sign "header.payload" (both raw JSON text) with test key i: the token, or NULL. */
static char *fz_sign_raw(int i, const char *header, size_t hlen, const char *claims, size_t clen)
{
	size_t cap =
	        b64url_encoded_len(hlen) + b64url_encoded_len(clen) + b64url_encoded_len(512) + 4;
	size_t pos;
	char *tok = malloc(cap);
	unsigned char der[600], sig[600];
	size_t siglen = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ssize_t n;

	if (tok == NULL || md == NULL)
		fz_fail("malloc");
	n = b64url_encode(header, hlen, tok, cap);
	if (n < 0)
		fz_fail("encode header");
	pos = (size_t)n;
	tok[pos++] = '.';
	n = b64url_encode(claims, clen, tok + pos, cap - pos);
	if (n < 0)
		fz_fail("encode claims");
	pos += (size_t)n;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fz_pkeys[i]) != 1 ||
	    EVP_DigestSign(md, der, &siglen, (unsigned char *)tok, pos) != 1)
		fz_fail("sign");
	EVP_MD_CTX_free(md);
	if (i == 1) { /* JWS wants ES256 as r || s, 32 bytes each, not DER */
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		const BIGNUM *r, *s;
		if (es == NULL)
			fz_fail("DER signature");
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
			fz_fail("r and s");
		ECDSA_SIG_free(es);
		siglen = 64;
	} else {
		memcpy(sig, der, siglen);
	}
	tok[pos++] = '.';
	n = b64url_encode(sig, siglen, tok + pos, cap - pos);
	if (n < 0)
		fz_fail("encode signature");
	return tok;
}

/* RFC 8725 in properties: what an accepted token may look like. */
static void fz_accepted(const struct jws_parsed *p)
{
	const char *alg = json_string_value(json_object_get(p->header, "alg"));
	const char *kid = json_string_value(json_object_get(p->header, "kid"));

	FUZZ_ASSERT(p->key != NULL && p->claims != NULL && json_is_object(p->claims),
	            "accepted without key or claims");
	FUZZ_ASSERT(alg != NULL && jws_alg_parse(alg) == jws_key_alg(p->key) &&
	                    p->alg == jws_key_alg(p->key),
	            "accepted with alg '%s' by a %s key", alg != NULL ? alg : "(none)",
	            jws_alg_name(jws_key_alg(p->key)));
	FUZZ_ASSERT(json_object_get(p->header, "crit") == NULL, "accepted with crit");
	FUZZ_ASSERT(kid == NULL || strcmp(kid, jws_key_kid(p->key)) == 0,
	            "accepted kid '%s' by key '%s'", kid, jws_key_kid(p->key));
}

/* -1 absent, 0 not an integer, 1 present (value in *v). */
static int fz_int(json_t *claims, const char *name, fz_i128 *v)
{
	json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return -1;
	if (!json_is_integer(j))
		return 0;
	*v = json_integer_value(j);
	return 1;
}

/* The claim rules of jws.h, in arithmetic that cannot overflow. */
static int fz_claims_ok(const struct jws_parsed *p, const struct jws_expect *e)
{
	fz_i128 exp = 0, nbf = 0, iat = 0;
	int he = fz_int(p->claims, "exp", &exp), hn = fz_int(p->claims, "nbf", &nbf);
	int hi = fz_int(p->claims, "iat", &iat);
	json_t *aud;

	if (e->typ != NULL) {
		const char *typ = json_string_value(json_object_get(p->header, "typ"));
		if (typ == NULL || strcasecmp(typ, e->typ) != 0)
			return 0;
	}
	if (he == 0 || hn == 0 || hi == 0 || he < 0)
		return 0;
	if ((fz_i128)e->now >= exp + e->leeway)
		return 0;
	if (hn > 0 && (fz_i128)e->now + e->leeway < nbf)
		return 0;
	if (hi > 0 && (fz_i128)e->now + e->leeway < iat)
		return 0;
	if (e->max_age > 0 && hi > 0 && exp - iat > e->max_age)
		return 0;
	if (e->iss != NULL) {
		const char *iss = json_string_value(json_object_get(p->claims, "iss"));
		if (iss == NULL || strcmp(iss, e->iss) != 0)
			return 0;
	}
	if (e->aud != NULL) {
		int found = 0;
		size_t i;
		json_t *v;
		aud = json_object_get(p->claims, "aud");
		if (json_is_string(aud))
			found = strcmp(json_string_value(aud), e->aud) == 0;
		if (json_is_array(aud))
			json_array_foreach(aud, i, v) found |=
			        json_is_string(v) && strcmp(json_string_value(v), e->aud) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static void fz_check_claims(const struct jws_parsed *p, const char *typ)
{
	struct jws_expect e;
	struct err err = {0};
	int got, want;

	memset(&e, 0, sizeof(e));
	e.iss = "https://idp.test/acme/v2.0";
	e.aud = "app-1";
	e.typ = typ;
	e.now = NOW;
	e.leeway = LEEWAY;
	e.max_age = 86400;
	got = jws_check_claims(p, &e, &err) == 0;
	want = fz_claims_ok(p, &e);
	FUZZ_ASSERT(got == want, "claims check said %d, the rules say %d (%s)", got, want, err.msg);
	/* the same without expectations but exp, and with extreme clocks */
	e.iss = e.aud = e.typ = NULL;
	e.max_age = 0;
	got = jws_check_claims(p, &e, &err) == 0;
	FUZZ_ASSERT(got == fz_claims_ok(p, &e), "bare claims check disagrees");
	e.now = INT64_MAX - LEEWAY;
	got = jws_check_claims(p, &e, &err) == 0;
	FUZZ_ASSERT(got == fz_claims_ok(p, &e), "claims check at the end of time disagrees");
}

static void fz_token(const char *tok, int must_verify, const char *typ)
{
	struct jws_parsed p;
	struct err err = {0};
	int rc = jws_verify(tok, &fz_set, 1u << JWS_RS256 | 1u << JWS_ES256, &p, &err);

	if (rc != 0) {
		FUZZ_ASSERT(!must_verify, "a token jws_sign made was refused: %s", err.msg);
		FUZZ_ASSERT((rc == ERR_INVALID || rc == ERR_DENIED) && err.msg[0] != '\0',
		            "refusal %d without reason", rc);
		FUZZ_ASSERT(p.header == NULL && p.claims == NULL, "a refused token left state");
		return;
	}
	fz_accepted(&p);
	fz_check_claims(&p, typ);
	jws_parsed_clear(&p);
	/* one algorithm allowed: a token of the other is refused */
	rc = jws_verify(tok, &fz_set, 1u << JWS_RS256, &p, &err);
	if (rc == 0) {
		FUZZ_ASSERT(jws_key_alg(p.key) == JWS_RS256, "ES256 accepted when only RS256 is");
		jws_parsed_clear(&p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in);

	if (mode == 'H') {
		int key = fuzz_byte(&in) & 1;
		size_t hlen, clen;
		char *header = fuzz_next(&in, '\n', &hlen), *claims = fuzz_next(&in, '\n', &clen);
		char *tok = fz_sign_raw(key, header, hlen, claims, clen);
		fz_token(tok, 0, NULL);
		free(tok);
		free(header);
		free(claims);
	} else if (mode == 'C') {
		static const char *const typs[] = {NULL, "at+jwt", "JWT"};
		int key = fuzz_byte(&in) & 1;
		const char *typ = typs[fuzz_byte(&in) % 3];
		size_t len;
		char *text = fuzz_next(&in, '\0', &len);
		json_t *claims = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		struct err err = {0};
		if (json_is_object(claims)) {
			char *tok = jws_sign(fz_keys[key], typ, claims, &err);
			if (tok != NULL) {
				/* tokens past the size limit are refused, as they must be */
				fz_token(tok, strlen(tok) <= JWS_MAX_TOKEN, typ);
				free(tok);
			}
		}
		json_decref(claims);
		free(text);
	} else if (mode == 'N') {
		static const char *const names[] = {"exp", "nbf", "iat"};
		int key = fuzz_byte(&in) & 1;
		unsigned present = fuzz_byte(&in);
		json_t *claims = json_object();
		struct err err = {0};
		char *tok, *iss, *aud;
		for (int i = 0; i < 3; i++) {
			uint64_t u = 0;
			for (int b = 0; b < 8; b++)
				u = u << 8 | fuzz_byte(&in);
			if (present & (1u << i))
				json_object_set_new(claims, names[i], json_integer((json_int_t)u));
		}
		iss = fuzz_next(&in, '\n', NULL);
		aud = fuzz_next(&in, '\n', NULL);
		if (present & 8)
			json_object_set_new(claims, "iss", json_string(iss));
		if (present & 16)
			json_object_set_new(claims, "aud", json_string(aud));
		tok = jws_sign(fz_keys[key], "at+jwt", claims, &err);
		if (tok != NULL) {
			fz_token(tok, 1, (present & 32) ? "at+jwt" : NULL);
			free(tok);
		}
		json_decref(claims);
		free(iss);
		free(aud);
	} else {
		char *tok = fuzz_next(&in, '\0', NULL);
		fz_token(tok, 0, NULL);
		free(tok);
	}
	return 0;
}
