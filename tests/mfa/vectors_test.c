/*
 * vectors_test: the published vectors (RFC 6238 Appendix B, RFC 4226
 * Appendix D, RFC 4648 §10) through our code and liboath, the otpauth://
 * key URI both ways and against hostile input, recovery code spelling, and
 * the QR code's SVG.
 */
#include "otpauth.h"
#include "qrsvg.h"
#include "recovery.h"
#include "totp.h"

#include "err.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char key_sha1[] = "12345678901234567890";
static const char key_sha256[] = "12345678901234567890123456789012";
static const char key_sha512[] = "1234567890123456789012345678901234567890123456789012345678901234";

/* RFC 6238 Appendix B: every listed time, every algorithm, 8 digits. */
static const struct {
	int64_t t;
	const char *sha1, *sha256, *sha512;
} rfc6238[] = {
        {59, "94287082", "46119246", "90693936"},
        {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"},
        {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"},
        {20000000000, "65353130", "77737706", "47863826"},
};

static void key_for(enum otpauth_alg alg, const uint8_t **k, size_t *n)
{
	const char *s = alg == OTPAUTH_SHA1     ? key_sha1
	                : alg == OTPAUTH_SHA256 ? key_sha256
	                                        : key_sha512;
	*k = (const uint8_t *)s;
	*n = strlen(s);
}

START_TEST(rfc6238_appendix_b)
{
	struct err err = {0};

	for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
		for (int a = 0; a < 3; a++) {
			struct totp_params p = {(enum otpauth_alg)a, 8, 30};
			const char *want = a == 0   ? rfc6238[i].sha1
			                   : a == 1 ? rfc6238[i].sha256
			                            : rfc6238[i].sha512;
			char code[TOTP_CODE_MAX], hotp[TOTP_CODE_MAX];
			const uint8_t *k;
			size_t n;
			int64_t step = -1;

			key_for(p.alg, &k, &n);
			ck_assert_int_eq(totp_generate(k, n, &p, rfc6238[i].t, code, &err), 0);
			ck_assert_msg(strcmp(code, want) == 0, "%s at %lld: %s, want %s",
			              otpauth_alg_name(p.alg), (long long)rfc6238[i].t, code, want);
			/* TOTP is HOTP of the step, also under SHA-256/512 */
			ck_assert_int_eq(totp_hotp(k, n, p.alg, (uint64_t)(rfc6238[i].t / 30), 8,
			                           hotp, &err),
			                 0);
			ck_assert_str_eq(hotp, want);
			/* and the verifier finds that step with no skew at all */
			ck_assert_int_eq(totp_match(k, n, &p, rfc6238[i].t, 0, want, &step, &err),
			                 0);
			ck_assert_int_eq(step, rfc6238[i].t / 30);
			/* one step later it is gone without skew, there with skew 1 */
			ck_assert_int_eq(
			        totp_match(k, n, &p, rfc6238[i].t + 30, 0, want, &step, &err),
			        ERR_DENIED);
			ck_assert_int_eq(
			        totp_match(k, n, &p, rfc6238[i].t + 30, 1, want, &step, &err), 0);
			ck_assert_int_eq(step, rfc6238[i].t / 30);
		}
	}
}
END_TEST

/* RFC 4226 Appendix D: HOTP, SHA-1, 6 digits, counts 0..9. */
START_TEST(rfc4226_appendix_d)
{
	static const char *const want[] = {"755224", "287082", "359152", "969429", "338314",
	                                   "254676", "287922", "162583", "399871", "520489"};
	struct err err = {0};

	for (uint64_t c = 0; c < 10; c++) {
		char code[TOTP_CODE_MAX];
		struct totp_params p = {OTPAUTH_SHA1, 6, 30};
		int64_t step;

		ck_assert_int_eq(
		        totp_hotp((const uint8_t *)key_sha1, 20, OTPAUTH_SHA1, c, 6, code, &err),
		        0);
		ck_assert_str_eq(code, want[c]);
		/* the TOTP at the start of step c is the same value */
		ck_assert_int_eq(totp_generate((const uint8_t *)key_sha1, 20, &p, (int64_t)c * 30,
		                               code, &err),
		                 0);
		ck_assert_str_eq(code, want[c]);
		ck_assert_int_eq(totp_match((const uint8_t *)key_sha1, 20, &p, (int64_t)c * 30 + 29,
		                            0, want[c], &step, &err),
		                 0);
		ck_assert_int_eq(step, (int64_t)c);
	}
}
END_TEST

START_TEST(match_refuses_malformed_codes)
{
	struct totp_params p = TOTP_PARAMS_DEFAULT;
	const uint8_t *k = (const uint8_t *)key_sha1;
	struct err err = {0};
	int64_t step;

	/* 755224 is the code at step 0 */
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "755224", &step, &err), 0);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "75522", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "7552240", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "75522a", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, " 55224", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, NULL, &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 11, "755224", &step, &err), ERR_INVALID);
	ck_assert_int_eq(totp_match(k, 20, &p, -1, 0, "755224", &step, &err), ERR_INVALID);
	p.digits = 7;
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "7552240", &step, &err), ERR_INVALID);
	/* an 8-digit factor does not take the 6-digit prefix */
	p.digits = 8;
	ck_assert_int_eq(totp_match(k, 20, &p, 0, 0, "755224", &step, &err), ERR_INVALID);
}
END_TEST

/* RFC 4648 §10 */
START_TEST(base32_vectors)
{
	static const struct {
		const char *plain, *padded, *bare;
	} v[] = {
	        {"", "", ""},
	        {"f", "MY======", "MY"},
	        {"fo", "MZXQ====", "MZXQ"},
	        {"foo", "MZXW6===", "MZXW6"},
	        {"foob", "MZXW6YQ=", "MZXW6YQ"},
	        {"fooba", "MZXW6YTB", "MZXW6YTB"},
	        {"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"},
	};
	char out[64];
	uint8_t bin[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].plain);

		ck_assert_int_eq(otpauth_base32_encode(v[i].plain, n, out, sizeof(out)),
		                 (ssize_t)strlen(v[i].bare));
		ck_assert_str_eq(out, v[i].bare);
		ck_assert_int_eq(
		        otpauth_base32_decode(v[i].padded, strlen(v[i].padded), bin, sizeof(bin)),
		        (ssize_t)n);
		ck_assert(memcmp(bin, v[i].plain, n) == 0);
		ck_assert_int_eq(
		        otpauth_base32_decode(v[i].bare, strlen(v[i].bare), bin, sizeof(bin)),
		        (ssize_t)n);
	}
	/* lower case is fine; anything else is not */
	ck_assert_int_eq(otpauth_base32_decode("mzxw6ytboi", 10, bin, sizeof(bin)), 6);
	ck_assert_int_eq(otpauth_base32_decode("MZXW6YTBO1", 10, bin, sizeof(bin)), -1);
	ck_assert_int_eq(otpauth_base32_decode("MZXW6YTBOI=", 11, bin, sizeof(bin)), -1);
	ck_assert_int_eq(otpauth_base32_decode("MZX", 3, bin, sizeof(bin)), -1); /* length */
	ck_assert_int_eq(otpauth_base32_decode("MZ", 2, bin, sizeof(bin)), -1);  /* trailing bits */
	ck_assert_int_eq(otpauth_base32_decode("M=======", 8, bin, sizeof(bin)), -1);
	ck_assert_int_eq(otpauth_base32_decode("MZ=XW6YQ", 8, bin, sizeof(bin)), -1);
	ck_assert_int_eq(otpauth_base32_decode("MZXW6YTB", 8, bin, 4), -1); /* no room */
	ck_assert_int_eq(otpauth_base32_encode("foobar", 6, out, 10), -1);
}
END_TEST

START_TEST(otpauth_round_trip)
{
	struct otpauth k = {0}, got;
	char uri[OTPAUTH_URI_MAX];
	struct err err = {0};

	snprintf(k.issuer, sizeof(k.issuer), "Acme Corp");
	snprintf(k.account, sizeof(k.account), "alice+mfa@acme.test");
	memcpy(k.secret, key_sha1, 20);
	k.secret_len = 20;
	k.alg = OTPAUTH_SHA256;
	k.digits = 8;
	k.period = 60;
	ck_assert_int_eq(otpauth_uri(&k, uri, sizeof(uri), &err), 0);
	ck_assert_str_eq(uri, "otpauth://totp/Acme%20Corp:alice%2Bmfa@acme.test?"
	                      "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Corp&"
	                      "algorithm=SHA256&digits=8&period=60");
	ck_assert_int_eq(otpauth_parse(uri, &got, &err), 0);
	ck_assert_str_eq(got.issuer, "Acme Corp");
	ck_assert_str_eq(got.account, "alice+mfa@acme.test");
	ck_assert_uint_eq(got.secret_len, 20);
	ck_assert(memcmp(got.secret, key_sha1, 20) == 0);
	ck_assert_int_eq(got.alg, OTPAUTH_SHA256);
	ck_assert_uint_eq(got.digits, 8);
	ck_assert_uint_eq(got.period, 60);

	/* Unicode names survive; defaults apply; extra parameters are ignored */
	ck_assert_int_eq(otpauth_parse("otpauth://totp/J%C3%B6rg%40acme.test?secret="
	                               "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&image=x",
	                               &got, &err),
	                 0);
	ck_assert_str_eq(got.account, "J\xc3\xb6rg@acme.test");
	ck_assert_str_eq(got.issuer, "");
	ck_assert_int_eq(got.alg, OTPAUTH_SHA1);
	ck_assert_uint_eq(got.digits, 6);
	ck_assert_uint_eq(got.period, 30);
	ck_assert_int_eq(otpauth_parse("OTPAUTH://TOTP/Acme:%20bob@acme.test?issuer=Acme&"
	                               "secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
	                               &got, &err),
	                 0);
	ck_assert_str_eq(got.account, "bob@acme.test");
	ck_assert_str_eq(got.issuer, "Acme");

	/* what cannot go into a URI */
	snprintf(k.issuer, sizeof(k.issuer), "Ac:me");
	ck_assert_int_eq(otpauth_uri(&k, uri, sizeof(uri), &err), ERR_INVALID);
	snprintf(k.issuer, sizeof(k.issuer), "Acme\n");
	ck_assert_int_eq(otpauth_uri(&k, uri, sizeof(uri), &err), ERR_INVALID);
	snprintf(k.issuer, sizeof(k.issuer), "Acme");
	ck_assert_int_eq(otpauth_uri(&k, uri, 40, &err), ERR_LIMIT);
	k.digits = 7;
	ck_assert_int_eq(otpauth_uri(&k, uri, sizeof(uri), &err), ERR_INVALID);
}
END_TEST

START_TEST(otpauth_hostile)
{
	static const struct {
		const char *uri, *why;
	} bad[] = {
	        {"https://totp/a?secret=GEZDGNBVGY3TQOJQ", "not an otpauth"},
	        {"otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQ&counter=1", "hotp"},
	        {"otpauth://xotp/a?secret=GEZDGNBVGY3TQOJQ", "type must be totp"},
	        {"otpauth://totp/a", "no parameters"},
	        {"otpauth://totp/a?issuer=x", "no secret"},
	        {"otpauth://totp/?secret=GEZDGNBVGY3TQOJQ", "no account"},
	        {"otpauth://totp/Acme:?secret=GEZDGNBVGY3TQOJQ", "no account"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJ1", "base32"},
	        {"otpauth://totp/a?secret=GEZDGNBV", "shorter than"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&secret=GEZDGNBVGY3TQOJQ", "twice"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&digits=7", "6 or 8"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&digits=", "6 or 8"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&period=0", "period"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&period=99999999999", "period"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&period=-5", "period"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&algorithm=MD5", "algorithm"},
	        {"otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQ&issuer=B", "disagree"},
	        {"otpauth://totp/a%0Ab?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/a%00b?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/a%?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/a%4?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/a%zz?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/a%FF?secret=GEZDGNBVGY3TQOJQ", "percent-encoded text"},
	        {"otpauth://totp/A:B:c?secret=GEZDGNBVGY3TQOJQ", "ISSUER:ACCOUNT"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ#frag", "fragment"},
	        {"otpauth://totp/a?secret", "without '='"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&issuer=a%3Ab", "without ':'"},
	        {"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&issuer=%", "percent-encoding"},
	};
	struct otpauth k;
	struct err err = {0};
	char *huge;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(otpauth_parse(bad[i].uri, &k, &err) == ERR_INVALID, "accepted %s",
		              bad[i].uri);
		ck_assert_msg(strstr(err.msg, bad[i].why) != NULL, "%s: '%s' lacks '%s'",
		              bad[i].uri, err.msg, bad[i].why);
		/* a refused URI leaves no secret behind */
		ck_assert_uint_eq(k.secret_len, 0);
	}
	ck_assert_int_eq(otpauth_parse(NULL, &k, &err), ERR_INVALID);
	huge = malloc(10000);
	memset(huge, 'a', 9999);
	huge[9999] = '\0';
	memcpy(huge, "otpauth://totp/", 15);
	ck_assert_int_eq(otpauth_parse(huge, &k, &err), ERR_INVALID);
	ck_assert(strstr(err.msg, "longer than") != NULL);
	/* a secret longer than 64 bytes */
	memcpy(huge, "otpauth://totp/a?secret=", 24);
	memset(huge + 24, 'A', 120);
	huge[144] = '\0';
	ck_assert_int_eq(otpauth_parse(huge, &k, &err), ERR_INVALID);
	free(huge);
}
END_TEST

START_TEST(recovery_code_spelling)
{
	char codes[RECOVERY_CODES][RECOVERY_CODE_MAX], hashes[RECOVERY_CODES][DIR_HASH_MAX];
	char norm[RECOVERY_CHARS + 1], h[DIR_HASH_MAX];
	struct err err = {0};

	ck_assert_int_eq(recovery_generate("t1", "u1", RECOVERY_CODES, codes, hashes, &err), 0);
	for (int i = 0; i < RECOVERY_CODES; i++) {
		char upper[RECOVERY_CODE_MAX];

		ck_assert_uint_eq(strlen(codes[i]), 19);
		ck_assert(codes[i][4] == '-' && codes[i][9] == '-' && codes[i][14] == '-');
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(codes[i], codes[j]);
		ck_assert_int_eq(recovery_normalize(codes[i], norm), 0);
		recovery_hash("t1", "u1", norm, h);
		ck_assert_str_eq(h, hashes[i]);
		/* bound to tenant and user */
		recovery_hash("t1", "u2", norm, h);
		ck_assert_str_ne(h, hashes[i]);
		recovery_hash("t2", "u1", norm, h);
		ck_assert_str_ne(h, hashes[i]);
		/* upper case, no dashes: same code */
		for (int j = 0; j < 20; j++)
			upper[j] =
			        (char)(codes[i][j] >= 'a' && codes[i][j] <= 'z' ? codes[i][j] - 32
			                                                        : codes[i][j]);
		ck_assert_int_eq(recovery_normalize(upper, norm), 0);
		recovery_hash("t1", "u1", norm, h);
		ck_assert_str_eq(h, hashes[i]);
	}
	ck_assert_int_eq(recovery_normalize("0123 4567 89ab cdef", norm), 0);
	ck_assert_str_eq(norm, "0123456789abcdef");
	ck_assert_int_eq(recovery_normalize("OI23-4567-89ab-cdeL", norm), 0);
	ck_assert_str_eq(norm, "0123456789abcde1");
	ck_assert_int_eq(recovery_normalize("0123-4567-89ab-cde", norm), ERR_INVALID);
	ck_assert_int_eq(recovery_normalize("0123-4567-89ab-cdeff", norm), ERR_INVALID);
	ck_assert_int_eq(recovery_normalize("0123-4567-89ab-cdeu", norm), ERR_INVALID);
	ck_assert_int_eq(recovery_normalize("0123-4567-89ab-cde!", norm), ERR_INVALID);
	ck_assert_int_eq(recovery_normalize("", norm), ERR_INVALID);
	ck_assert_int_eq(recovery_normalize(NULL, norm), ERR_INVALID);
}
END_TEST

START_TEST(qr_svg_shape)
{
	static const char uri[] = "otpauth://totp/idp:alice@acme.test?secret="
	                          "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=idp&algorithm=SHA1&"
	                          "digits=6&period=30";
	struct err err = {0};
	size_t len = 0;
	char *svg = qrsvg_render(uri, 4, &len, &err), *big;
	int modules = 0;

	ck_assert_msg(svg != NULL, "%s", err.msg);
	ck_assert_uint_eq(len, strlen(svg));
	ck_assert(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	ck_assert(strstr(svg, "</svg>") != NULL);
	ck_assert(strstr(svg, "<script") == NULL && strstr(svg, "href") == NULL);
	/* version 5 (37 modules) or so, plus the 4-module quiet zone each side */
	ck_assert(sscanf(strstr(svg, "viewBox=\"0 0 "), "viewBox=\"0 0 %d", &modules) == 1);
	ck_assert_int_ge(modules, 21 + 8);
	ck_assert_int_le(modules, 57 + 8);
	ck_assert(strstr(svg, "M4 4h7v1h-7z") != NULL); /* the top-left finder's top row */
	qrsvg_free(svg);

	ck_assert(qrsvg_render(uri, 0, NULL, &err) == NULL);
	ck_assert(qrsvg_render(uri, 33, NULL, &err) == NULL);
	ck_assert(qrsvg_render(NULL, 4, NULL, &err) == NULL);
	big = malloc(2000);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	ck_assert(qrsvg_render(big, 4, NULL, &err) == NULL);
	ck_assert_int_eq(err.code, ERR_INVALID);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mfa-vectors");
	TCase *tc = tcase_create("vectors");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, rfc6238_appendix_b);
	tcase_add_test(tc, rfc4226_appendix_d);
	tcase_add_test(tc, match_refuses_malformed_codes);
	tcase_add_test(tc, base32_vectors);
	tcase_add_test(tc, otpauth_round_trip);
	tcase_add_test(tc, otpauth_hostile);
	tcase_add_test(tc, recovery_code_spelling);
	tcase_add_test(tc, qr_svg_shape);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
