/*
 * jws_test: signing, verification and the attacks RFC 8725 lists, with
 * forged tokens made by Debian's libjwt (an independent implementation),
 * plus the verify library and the HTTP parameter parsers.
 */
#include "b64.h"
#include "http.h"
#include "jws.h"
#include "verify.h"

#include <check.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000

static json_t *claims(int64_t exp)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", "https://idp.test/acme/v2.0",
			 "sub", "user-1", "aud", "client-1", "iat", (json_int_t)(NOW - 10), "nbf",
			 (json_int_t)(NOW - 10), "exp", (json_int_t)exp);
}

static int verify_with(const struct jws_key *k, const char *token, unsigned allowed,
		       struct err *err)
{
	const struct jws_key *keys[] = {k};
	struct jws_keyset set = {keys, 1};
	struct jws_parsed p;
	int rc = jws_verify(token, &set, allowed, &p, err);

	if (rc == 0)
		jws_parsed_clear(&p);
	return rc;
}

#define BOTH (1u << JWS_RS256 | 1u << JWS_ES256)

START_TEST(sign_and_verify_both_algorithms)
{
	enum jws_alg algs[] = {JWS_RS256, JWS_ES256};

	for (int i = 0; i < 2; i++) {
		struct err err = {0};
		struct jws_key *k = jws_key_generate(algs[i], &err);
		struct jws_key *pub;
		const struct jws_key *keys[1];
		struct jws_keyset set = {keys, 1};
		struct jws_parsed p;
		struct jws_expect e = {0};
		json_t *c = claims(NOW + 600), *jwk;
		char *t;

		ck_assert_ptr_nonnull(k);
		ck_assert_uint_eq(strlen(jws_key_kid(k)), 43); /* RFC 7638 thumbprint */
		t = jws_sign(k, "at+jwt", c, &err);
		ck_assert_ptr_nonnull(t);
		/* verify with the public half only, rebuilt from its JWK */
		jwk = jws_key_public_jwk(k);
		ck_assert_ptr_null(json_object_get(jwk, "d"));
		pub = jws_key_from_jwk(jwk, &err);
		ck_assert_msg(pub != NULL, "%s", err.msg);
		ck_assert_str_eq(jws_key_kid(pub), jws_key_kid(k));
		keys[0] = pub;
		ck_assert_int_eq(jws_verify(t, &set, BOTH, &p, &err), 0);
		ck_assert_str_eq(json_string_value(json_object_get(p.claims, "sub")), "user-1");
		e.iss = "https://idp.test/acme/v2.0";
		e.aud = "client-1";
		e.typ = "at+jwt";
		e.now = NOW;
		ck_assert_int_eq(jws_check_claims(&p, &e, &err), 0);
		jws_parsed_clear(&p);
		/* the other algorithm's bit alone refuses it */
		ck_assert_int_eq(verify_with(pub, t, 1u << (algs[i] == JWS_RS256 ? JWS_ES256 : JWS_RS256),
					     &err),
				 ERR_DENIED);
		/* PEM round trip of the private key */
		size_t len;
		char *pem = jws_key_private_pem(k, &len);
		struct jws_key *again = jws_key_from_pem(pem, len, algs[i], "x", &err);
		ck_assert_ptr_nonnull(again);
		ck_assert_ptr_null(jws_key_private_pem(pub, &len)); /* public: nothing to export */
		free(pem);
		jws_key_free(again);
		json_decref(jwk);
		json_decref(c);
		free(t);
		jws_key_free(pub);
		jws_key_free(k);
	}
}
END_TEST

/* The public key of k as a PEM string, the way an attacker would fetch it. */
static char *public_pem(const struct jws_key *k)
{
	size_t len;
	char *priv = jws_key_private_pem(k, &len), *data, *out;
	BIO *in = BIO_new_mem_buf(priv, (int)len), *mem = BIO_new(BIO_s_mem());
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	long n;

	PEM_write_bio_PUBKEY(mem, pk);
	n = BIO_get_mem_data(mem, &data);
	out = strndup(data, (size_t)n);
	EVP_PKEY_free(pk);
	BIO_free(in);
	BIO_free(mem);
	free(priv);
	return out;
}

START_TEST(algorithm_confusion_and_none_are_refused)
{
	struct err err = {0};
	struct jws_key *k = jws_key_generate(JWS_RS256, &err);
	char *pem = public_pem(k), *forged;
	jwt_t *j;

	/* HS256 whose HMAC key is the RSA public key PEM: the classic confusion */
	ck_assert_int_eq(jwt_new(&j), 0);
	jwt_add_grant(j, "sub", "attacker");
	jwt_add_grant_int(j, "exp", NOW + 600);
	jwt_add_header(j, "kid", jws_key_kid(k));
	ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_HS256, (unsigned char *)pem, (int)strlen(pem)), 0);
	forged = jwt_encode_str(j);
	ck_assert_ptr_nonnull(forged);
	ck_assert_int_eq(verify_with(k, forged, BOTH, &err), ERR_DENIED);
	ck_assert_ptr_nonnull(strstr(err.msg, "HS256"));
	free(forged);
	jwt_free(j);

	/* alg none */
	ck_assert_int_eq(jwt_new(&j), 0);
	jwt_add_grant(j, "sub", "attacker");
	jwt_add_header(j, "kid", jws_key_kid(k));
	ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_NONE, NULL, 0), 0);
	forged = jwt_encode_str(j);
	ck_assert_int_eq(verify_with(k, forged, BOTH, &err), ERR_DENIED);
	free(forged);
	jwt_free(j);

	/* "None", an empty alg, and no alg at all */
	static const char *const headers[] = {"{\"alg\":\"None\"}", "{\"alg\":\"\"}", "{}",
					      "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}"};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char h[200], tok[400];
		b64url_encode(headers[i], strlen(headers[i]), h, sizeof(h));
		snprintf(tok, sizeof(tok), "%s.eyJzdWIiOiJ4In0.", h);
		ck_assert_int_eq(verify_with(k, tok, BOTH, &err), ERR_DENIED);
	}
	free(pem);
	jws_key_free(k);
}
END_TEST

START_TEST(tampering_and_malformed_tokens)
{
	struct err err = {0};
	struct jws_key *k = jws_key_generate(JWS_ES256, &err), *other;
	json_t *c = claims(NOW + 600);
	char *t = jws_sign(k, NULL, c, &err), *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
	char bad[4096];
	static const char *const junk[] = {"", ".", "..", "...", "a.b", "a.b.c.d", "!!!.???.***",
					   "eyJhbGciOiJFUzI1NiJ9.eyJ9.AAAA",
					   "W10.e30.AAAA" /* header is an array */};

	/* a payload byte flipped */
	snprintf(bad, sizeof(bad), "%s", t);
	bad[(dot1 - t) + 3] = bad[(dot1 - t) + 3] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify_with(k, bad, BOTH, &err), ERR_DENIED);
	/* the signature of another key */
	other = jws_key_generate(JWS_ES256, &err);
	ck_assert_int_eq(verify_with(other, t, BOTH, &err), ERR_DENIED);
	/* a truncated signature */
	snprintf(bad, sizeof(bad), "%.*s", (int)(dot2 - t + 10), t);
	ck_assert_int_eq(verify_with(k, bad, BOTH, &err), ERR_DENIED);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ck_assert_int_ne(verify_with(k, junk[i], BOTH, &err), 0);
	/* oversized */
	char *huge = malloc(JWS_MAX_TOKEN + 100);
	memset(huge, 'A', JWS_MAX_TOKEN + 99);
	huge[JWS_MAX_TOKEN + 99] = '\0';
	ck_assert_int_eq(verify_with(k, huge, BOTH, &err), ERR_INVALID);
	free(huge);
	free(t);
	json_decref(c);
	jws_key_free(other);
	jws_key_free(k);
}
END_TEST

START_TEST(claims_checks)
{
	struct err err = {0};
	struct jws_key *k = jws_key_generate(JWS_RS256, &err);
	const struct jws_key *keys[] = {k};
	struct jws_keyset set = {keys, 1};
	struct jws_parsed p;
	struct jws_expect e = {0};
	json_t *c = claims(NOW + 60);
	char *t = jws_sign(k, "at+jwt", c, &err);

	ck_assert_int_eq(jws_verify(t, &set, BOTH, &p, &err), 0);
	e.iss = "https://idp.test/acme/v2.0";
	e.aud = "client-1";
	e.now = NOW;
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), 0);
	e.now = NOW + 60;
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED);
	ck_assert_str_eq(err.msg, "token expired");
	e.leeway = 30;
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), 0);
	e.now = NOW - 60;
	e.leeway = 0;
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED); /* nbf */
	e.now = NOW;
	e.aud = "client-2";
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED);
	ck_assert_str_eq(err.msg, "wrong audience");
	e.aud = "client-1";
	e.iss = "https://idp.test/globex/v2.0";
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED);
	ck_assert_str_eq(err.msg, "wrong issuer");
	e.iss = NULL;
	e.typ = "JWT";
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED);
	jws_parsed_clear(&p);
	free(t);
	json_decref(c);

	/* a token without exp is never valid */
	c = json_pack("{s:s}", "sub", "x");
	t = jws_sign(k, NULL, c, &err);
	ck_assert_int_eq(jws_verify(t, &set, BOTH, &p, &err), 0);
	memset(&e, 0, sizeof(e));
	e.now = NOW;
	ck_assert_int_eq(jws_check_claims(&p, &e, &err), ERR_DENIED);
	jws_parsed_clear(&p);
	free(t);
	json_decref(c);
	jws_key_free(k);
}
END_TEST

START_TEST(jwk_and_jwks_input_is_checked)
{
	static const char *const bad[] = {
		"{}",
		"{\"kty\":\"oct\",\"k\":\"AAAA\"}",
		"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", /* 3-byte modulus */
		"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}",
		/* a point that is not on P-256 */
		("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		 "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"),
		"{\"kty\":\"RSA\",\"use\":\"enc\"}",
	};
	struct err err = {0};
	struct jws_key *k = jws_key_generate(JWS_ES256, &err);
	json_t *jwk = jws_key_public_jwk(k);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		struct jws_key *x = jws_key_from_jwk(j, &err);
		ck_assert_msg(x == NULL, "accepted %s", bad[i]);
		json_decref(j);
	}
	json_object_set_new(jwk, "alg", json_string("RS256")); /* alg contradicts kty */
	ck_assert_ptr_null(jws_key_from_jwk(jwk, &err));
	json_decref(jwk);

	ck_assert_ptr_null(verify_jwks_parse("not json", 8, &err));
	ck_assert_ptr_null(verify_jwks_parse("{\"keys\":[]}", 11, &err));
	ck_assert_ptr_null(verify_jwks_parse("{\"keys\":{}}", 11, &err));
	jws_key_free(k);
}
END_TEST

START_TEST(verify_library)
{
	struct err err = {0};
	struct jws_key *rs = jws_key_generate(JWS_RS256, &err), *es = jws_key_generate(JWS_ES256, &err);
	json_t *doc = json_pack("{s:[o,o,{s:s}]}", "keys", jws_key_public_jwk(rs),
				jws_key_public_jwk(es), "kty", "oct");
	char *s = json_dumps(doc, 0);
	struct verify_jwks *ks = verify_jwks_parse(s, strlen(s), &err);
	struct verify_opts o = {0};
	json_t *c = claims(NOW + 60), *out = NULL;
	char *t1 = jws_sign(rs, "at+jwt", c, &err), *t2 = jws_sign(es, NULL, c, &err);

	ck_assert_ptr_nonnull(ks);
	ck_assert_uint_eq(verify_jwks_count(ks), 2); /* the oct key is skipped */
	o.iss = "https://idp.test/acme/v2.0";
	o.aud = "client-1";
	o.now = NOW;
	ck_assert_int_eq(verify_token(ks, t1, &o, &out, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(out, "sub")), "user-1");
	json_decref(out);
	ck_assert_int_eq(verify_token(ks, t2, &o, NULL, &err), 0);
	o.algs = 1u << JWS_RS256;
	ck_assert_int_eq(verify_token(ks, t2, &o, NULL, &err), ERR_DENIED);
	o.algs = 0;
	o.typ = "at+jwt";
	ck_assert_int_eq(verify_token(ks, t1, &o, NULL, &err), 0);
	ck_assert_int_eq(verify_token(ks, t2, &o, NULL, &err), ERR_DENIED);
	o.typ = NULL;
	o.now = NOW + 120;
	ck_assert_int_eq(verify_token(ks, t1, &o, NULL, &err), ERR_DENIED);
	o.leeway = 90;
	ck_assert_int_eq(verify_token(ks, t1, &o, NULL, &err), 0);
	o.iss = NULL;
	ck_assert_int_eq(verify_token(ks, t1, &o, NULL, &err), ERR_INVALID);
	free(t1);
	free(t2);
	free(s);
	json_decref(c);
	json_decref(doc);
	verify_jwks_free(ks);
	jws_key_free(rs);
	jws_key_free(es);
}
END_TEST

START_TEST(http_params_parsing)
{
	struct http_params p;
	struct err err = {0};
	char out[64];
	int dup = 0;

	ck_assert_int_eq(http_params_parse("a=1&b=two+words&c=%41%42&d&&e=", 30, &p, &err), 0);
	ck_assert_uint_eq(p.n, 5);
	ck_assert_str_eq(http_param(&p, "b", NULL), "two words");
	ck_assert_str_eq(http_param(&p, "c", NULL), "AB");
	ck_assert_str_eq(http_param(&p, "d", NULL), "");
	ck_assert_ptr_null(http_param(&p, "zz", NULL));
	http_params_free(&p);
	ck_assert_int_eq(http_params_parse("x=1&x=2", 7, &p, &err), 0);
	ck_assert_ptr_null(http_param(&p, "x", &dup));
	ck_assert_int_eq(dup, 1);
	ck_assert_int_eq(http_params_dups(&p, NULL), 1);
	http_params_free(&p);
	static const char *const bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=%ff", "%41%=1",
					  "a=%c0%af", "=x", "a=%0a%0d%01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_params_parse(bad[i], strlen(bad[i]), &p, &err) != 0,
			      "accepted %s", bad[i]);
	char many[2000] = "";
	for (int i = 0; i < 100; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "p%d=1&", i);
	ck_assert_int_eq(http_params_parse(many, strlen(many), &p, &err), ERR_LIMIT);

	ck_assert_int_eq(http_cookie("a=1; idp=abc; b=2", "idp", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(http_cookie("xidp=abc", "idp", out, sizeof(out)), -1);
	ck_assert_int_eq(http_cookie("idp=\"quoted\"", "idp", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "quoted");
	ck_assert_int_eq(http_cookie("idp=a b", "idp", out, sizeof(out)), -1);
	ck_assert_int_eq(http_cookie("idp=", "idp", out, sizeof(out)), -1);
	ck_assert_int_eq(http_cookie(NULL, "idp", out, sizeof(out)), -1);
	ck_assert_int_eq(http_cookie("idp=0123456789", "idp", out, 5), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("all");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sign_and_verify_both_algorithms);
	tcase_add_test(tc, algorithm_confusion_and_none_are_refused);
	tcase_add_test(tc, tampering_and_malformed_tokens);
	tcase_add_test(tc, claims_checks);
	tcase_add_test(tc, jwk_and_jwks_input_is_checked);
	tcase_add_test(tc, verify_library);
	tcase_add_test(tc, http_params_parsing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
