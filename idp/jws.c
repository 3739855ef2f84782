/*
 * jws: JWS compact serialization over OpenSSL 3.
 *
 * ES256 signatures travel as the raw 64-byte r||s of RFC 7518 §3.4, while
 * OpenSSL speaks DER, so both directions convert.  Generated keys take the
 * RFC 7638 thumbprint of their public JWK as kid: stable, unique, and it
 * says nothing about when or where the key was made.
 */
#include "jws.h"

#include "b64.h"
#include "secret.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JWS_CTX_POOL 16

/*
 * A key keeps a few signing contexts ready (sign_init done): creating one
 * per signature makes OpenSSL 3 look its algorithm up in the provider store
 * each time, which costs more than an ES256 signature itself.
 */
struct jws_key {
	EVP_PKEY *pkey;
	enum jws_alg alg;
	int has_private;
	char kid[JWS_KID_MAX];
	pthread_mutex_t pool_lock;
	EVP_PKEY_CTX *pool[2][JWS_CTX_POOL]; /* [0] signing, [1] verifying */
	int npool[2];
};

/* SHA-256, fetched from the provider once. */
static EVP_MD *jws_sha256;
static pthread_once_t jws_sha256_once = PTHREAD_ONCE_INIT;

static void jws_sha256_fetch(void)
{
	jws_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int jws_digest(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	pthread_once(&jws_sha256_once, jws_sha256_fetch);
	return jws_sha256 != NULL && EVP_Digest(data, len, out, &n, jws_sha256, NULL) == 1 ? 0 : -1;
}

/* A signing (verify = 0) or verifying context for k from its pool, or a new one. */
static EVP_PKEY_CTX *jws_ctx_get(struct jws_key *k, int verify)
{
	EVP_PKEY_CTX *ctx = NULL;

	pthread_mutex_lock(&k->pool_lock);
	if (k->npool[verify] > 0)
		ctx = k->pool[verify][--k->npool[verify]];
	pthread_mutex_unlock(&k->pool_lock);
	if (ctx != NULL)
		return ctx;
	pthread_once(&jws_sha256_once, jws_sha256_fetch);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (ctx == NULL || (verify ? EVP_PKEY_verify_init(ctx) : EVP_PKEY_sign_init(ctx)) != 1 ||
	    (k->alg == JWS_RS256 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, jws_sha256) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void jws_ctx_put(struct jws_key *k, int verify, EVP_PKEY_CTX *ctx)
{
	pthread_mutex_lock(&k->pool_lock);
	if (k->npool[verify] < JWS_CTX_POOL) {
		k->pool[verify][k->npool[verify]++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&k->pool_lock);
	EVP_PKEY_CTX_free(ctx);
}

const char *jws_alg_name(enum jws_alg alg)
{
	return alg == JWS_RS256 ? "RS256" : alg == JWS_ES256 ? "ES256" : "unknown";
}

enum jws_alg jws_alg_parse(const char *name)
{
	if (name == NULL)
		return JWS_ALG_UNKNOWN;
	if (strcmp(name, "RS256") == 0)
		return JWS_RS256;
	if (strcmp(name, "ES256") == 0)
		return JWS_ES256;
	return JWS_ALG_UNKNOWN;
}

const char *jws_key_kid(const struct jws_key *k)
{
	return k->kid;
}

enum jws_alg jws_key_alg(const struct jws_key *k)
{
	return k->alg;
}

void jws_key_free(struct jws_key *k)
{
	if (k == NULL)
		return;
	for (int v = 0; v < 2; v++)
		for (int i = 0; i < k->npool[v]; i++)
			EVP_PKEY_CTX_free(k->pool[v][i]);
	pthread_mutex_destroy(&k->pool_lock);
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* The key's type must be the algorithm's, with a sane size. */
static int jws_key_fits(EVP_PKEY *pkey, enum jws_alg alg, struct err *err)
{
	if (alg == JWS_RS256) {
		int bits = EVP_PKEY_get_bits(pkey);
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			return err_set(err, ERR_INVALID, "RS256 needs an RSA key");
		if (bits < 2048 || bits > 8192)
			return err_set(err, ERR_INVALID, "RSA key of %d bits: 2048..8192 accepted",
				       bits);
		return 0;
	}
	if (alg == JWS_ES256) {
		char group[32] = "";
		size_t len = 0;
		if (!EVP_PKEY_is_a(pkey, "EC") ||
		    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), &len) ||
		    strcmp(group, "prime256v1") != 0)
			return err_set(err, ERR_INVALID, "ES256 needs a P-256 key");
		return 0;
	}
	return err_set(err, ERR_INVALID, "unsupported algorithm");
}

static struct jws_key *jws_key_wrap(EVP_PKEY *pkey, enum jws_alg alg, int has_private,
				    const char *kid, struct err *err)
{
	struct jws_key *k;

	if (jws_key_fits(pkey, alg, err) != 0) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	k->pkey = pkey;
	k->alg = alg;
	k->has_private = has_private;
	pthread_mutex_init(&k->pool_lock, NULL);
	if (kid != NULL)
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
	return k;
}

/* base64url of a big number, left-padded to width bytes when width > 0. */
static json_t *jws_bn_json(const BIGNUM *bn, int width)
{
	unsigned char raw[1024];
	char enc[1400];
	int n = width > 0 ? width : BN_num_bytes(bn);

	if (n <= 0 || n > (int)sizeof(raw) || BN_bn2binpad(bn, raw, n) != n ||
	    b64url_encode(raw, (size_t)n, enc, sizeof(enc)) < 0)
		return NULL;
	return json_string(enc);
}

/* The public JWK members that define the key (RFC 7638 required members). */
static json_t *jws_key_members(const struct jws_key *k)
{
	BIGNUM *a = NULL, *b = NULL;
	json_t *j = NULL;

	if (k->alg == JWS_RS256) {
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &a) &&
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &b))
			j = json_pack("{s:o?, s:s, s:o?}", "e", jws_bn_json(b, 0), "kty", "RSA",
				      "n", jws_bn_json(a, 0));
	} else {
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) &&
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			j = json_pack("{s:s, s:s, s:o?, s:o?}", "crv", "P-256", "kty", "EC", "x",
				      jws_bn_json(a, 32), "y", jws_bn_json(b, 32));
	}
	BN_free(a);
	BN_free(b);
	return j;
}

/* RFC 7638: SHA-256 over the required members, keys sorted, no whitespace. */
static int jws_thumbprint(const struct jws_key *k, char out[JWS_KID_MAX])
{
	json_t *m = jws_key_members(k);
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char *s;

	if (m == NULL)
		return -1;
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(m);
	if (s == NULL)
		return -1;
	SHA256((const unsigned char *)s, strlen(s), digest);
	free(s);
	return b64url_encode(digest, sizeof(digest), out, JWS_KID_MAX) < 0 ? -1 : 0;
}

struct jws_key *jws_key_generate(enum jws_alg alg, struct err *err)
{
	EVP_PKEY *pkey = NULL;
	struct jws_key *k;

	if (alg == JWS_RS256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (alg == JWS_ES256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL) {
		err_set(err, ERR_INTERNAL, "key generation failed");
		return NULL;
	}
	if ((k = jws_key_wrap(pkey, alg, 1, NULL, err)) == NULL)
		return NULL;
	if (jws_thumbprint(k, k->kid) != 0) {
		jws_key_free(k);
		err_set(err, ERR_INTERNAL, "key thumbprint failed");
		return NULL;
	}
	return k;
}

struct jws_key *jws_key_from_pem(const char *pem, size_t len, enum jws_alg alg, const char *kid,
				 struct err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey;
	int has_private = 1;

	if (bio == NULL || len > 64 * 1024) {
		BIO_free(bio);
		err_set(err, ERR_INVALID, "key PEM too large");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL) {
		BIO_free(bio);
		bio = BIO_new_mem_buf(pem, (int)len);
		pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
		has_private = 0;
	}
	BIO_free(bio);
	if (pkey == NULL) {
		err_set(err, ERR_INVALID, "not a PEM private or public key");
		return NULL;
	}
	return jws_key_wrap(pkey, alg, has_private, kid, err);
}

static BIGNUM *jws_json_bn(json_t *v, size_t min, size_t max)
{
	unsigned char raw[1100];
	const char *s = json_string_value(v);
	ssize_t n;

	if (s == NULL || strlen(s) > 1400)
		return NULL;
	n = b64url_decode(s, strlen(s), raw, sizeof(raw));
	if (n < (ssize_t)min || n > (ssize_t)max)
		return NULL;
	return BN_bin2bn(raw, (int)n, NULL);
}

static EVP_PKEY *jws_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

struct jws_key *jws_key_from_jwk(json_t *jwk, struct err *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	json_t *alg_v = json_object_get(jwk, "alg");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *a = NULL, *b = NULL;
	EVP_PKEY *pkey = NULL;
	enum jws_alg alg = JWS_ALG_UNKNOWN;
	struct jws_key *k = NULL;

	if (!json_is_object(jwk) || kty == NULL || bld == NULL) {
		err_set(err, ERR_INVALID, "JWK without kty");
		goto out;
	}
	if (use != NULL && strcmp(use, "sig") != 0) {
		err_set(err, ERR_INVALID, "JWK use is '%.20s', not sig", use);
		goto out;
	}
	if (kid != NULL && strlen(kid) >= JWS_KID_MAX) {
		err_set(err, ERR_INVALID, "JWK kid longer than %d", JWS_KID_MAX - 1);
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		alg = JWS_RS256;
		a = jws_json_bn(json_object_get(jwk, "n"), 256, 1024);
		b = jws_json_bn(json_object_get(jwk, "e"), 1, 8);
		if (a == NULL || b == NULL || !OSSL_PARAM_BLD_push_BN(bld, "n", a) ||
		    !OSSL_PARAM_BLD_push_BN(bld, "e", b) ||
		    (pkey = jws_pkey_fromdata("RSA", bld)) == NULL) {
			err_set(err, ERR_INVALID, "JWK: bad RSA n or e");
			goto out;
		}
	} else if (strcmp(kty, "EC") == 0) {
		const char *crv = json_string_value(json_object_get(jwk, "crv"));
		unsigned char point[65];
		alg = JWS_ES256;
		if (crv == NULL || strcmp(crv, "P-256") != 0) {
			err_set(err, ERR_INVALID, "JWK: only the P-256 curve is supported");
			goto out;
		}
		a = jws_json_bn(json_object_get(jwk, "x"), 32, 32);
		b = jws_json_bn(json_object_get(jwk, "y"), 32, 32);
		point[0] = 0x04;
		if (a == NULL || b == NULL || BN_bn2binpad(a, point + 1, 32) != 32 ||
		    BN_bn2binpad(b, point + 33, 32) != 32 ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld, "group", "P-256", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, "pub", point, sizeof(point)) ||
		    (pkey = jws_pkey_fromdata("EC", bld)) == NULL) {
			err_set(err, ERR_INVALID, "JWK: bad EC point");
			goto out;
		}
		/* A point off the curve would make verification meaningless. */
		EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		int ok = chk != NULL && EVP_PKEY_public_check(chk) == 1;
		EVP_PKEY_CTX_free(chk);
		if (!ok) {
			err_set(err, ERR_INVALID, "JWK: EC point not on P-256");
			goto out;
		}
	} else {
		err_set(err, ERR_INVALID, "JWK: unsupported kty '%.20s'", kty);
		goto out;
	}
	if (alg_v != NULL && jws_alg_parse(json_string_value(alg_v)) != alg) {
		err_set(err, ERR_INVALID, "JWK: alg does not fit kty %s", kty);
		goto out;
	}
	k = jws_key_wrap(pkey, alg, 0, kid, err);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	BN_free(a);
	BN_free(b);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

char *jws_key_private_pem(const struct jws_key *k, size_t *len)
{
	BIO *bio;
	char *data, *out = NULL;
	long n;

	if (!k->has_private || (bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0 && (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		if (len != NULL)
			*len = (size_t)n;
		OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

json_t *jws_key_public_jwk(const struct jws_key *k)
{
	json_t *j = jws_key_members(k);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "use", json_string("sig"));
	json_object_set_new(j, "alg", json_string(jws_alg_name(k->alg)));
	json_object_set_new(j, "kid", json_string(k->kid));
	return j;
}

/* Append base64url(data) to out at *pos. */
static int jws_append_b64(char *out, size_t cap, size_t *pos, const void *data, size_t len)
{
	ssize_t n = b64url_encode(data, len, out + *pos, cap - *pos);

	if (n < 0)
		return -1;
	*pos += (size_t)n;
	return 0;
}

char *jws_sign(const struct jws_key *k, const char *typ, json_t *claims, struct err *err)
{
	unsigned char sig[1024], der[160], digest[32];
	char *header = NULL, *payload = NULL, *out = NULL;
	size_t hlen, plen, cap, pos = 0, siglen = sizeof(der);
	EVP_PKEY_CTX *ctx;
	json_t *h;

	if (!k->has_private) {
		err_set(err, ERR_INVALID, "a public key cannot sign");
		return NULL;
	}
	h = typ != NULL ? json_pack("{s:s, s:s, s:s}", "alg", jws_alg_name(k->alg), "typ", typ,
				    "kid", k->kid)
			: json_pack("{s:s, s:s}", "alg", jws_alg_name(k->alg), "kid", k->kid);
	header = h != NULL ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(h);
	payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (header == NULL || payload == NULL)
		goto fail;
	hlen = strlen(header);
	plen = strlen(payload);
	cap = b64url_encoded_len(hlen) + b64url_encoded_len(plen) + b64url_encoded_len(512) + 4;
	if ((out = malloc(cap)) == NULL)
		goto fail;
	if (jws_append_b64(out, cap, &pos, header, hlen) != 0)
		goto fail;
	out[pos++] = '.';
	if (jws_append_b64(out, cap, &pos, payload, plen) != 0)
		goto fail;

	siglen = k->alg == JWS_RS256 ? sizeof(sig) : sizeof(der);
	if (jws_digest(out, pos, digest) != 0 || (ctx = jws_ctx_get((struct jws_key *)k, 0)) == NULL)
		goto fail;
	if (EVP_PKEY_sign(ctx, k->alg == JWS_RS256 ? sig : der, &siglen, digest, sizeof(digest)) !=
	    1) {
		EVP_PKEY_CTX_free(ctx);
		goto fail;
	}
	jws_ctx_put((struct jws_key *)k, 0, ctx);
	if (k->alg == JWS_ES256) {
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		const BIGNUM *r, *s;
		if (es == NULL)
			goto fail;
		ECDSA_SIG_get0(es, &r, &s);
		int ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
		ECDSA_SIG_free(es);
		if (!ok)
			goto fail;
		siglen = 64;
	}
	out[pos++] = '.';
	if (jws_append_b64(out, cap, &pos, sig, siglen) != 0)
		goto fail;
	free(header);
	free(payload);
	return out;
fail:
	free(header);
	free(payload);
	free(out);
	err_set(err, ERR_INTERNAL, "signing failed");
	return NULL;
}

void jws_parsed_clear(struct jws_parsed *p)
{
	json_decref(p->header);
	json_decref(p->claims);
	memset(p, 0, sizeof(*p));
}

/* Decode one base64url segment holding a JSON object. */
static json_t *jws_segment_json(const char *s, size_t len, const char *what, struct err *err)
{
	char raw[JWS_MAX_TOKEN];
	json_error_t jerr;
	json_t *j;
	ssize_t n = b64url_decode(s, len, raw, sizeof(raw));

	if (n < 0) {
		err_set(err, ERR_INVALID, "token %s is not base64url", what);
		return NULL;
	}
	j = json_loadb(raw, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(err, ERR_INVALID, "token %s is not a JSON object", what);
		return NULL;
	}
	return j;
}

static int jws_check_sig(const struct jws_key *k, const char *signed_part, size_t slen,
			 const unsigned char *sig, size_t siglen)
{
	unsigned char der[160], digest[32];
	const unsigned char *use = sig;
	size_t use_len = siglen;
	EVP_PKEY_CTX *ctx;
	int ok;

	if (k->alg == JWS_ES256) {
		ECDSA_SIG *es;
		BIGNUM *r, *s;
		unsigned char *p = der;
		int n;
		if (siglen != 64)
			return 0;
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		es = ECDSA_SIG_new();
		if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			return 0;
		}
		n = i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
		if (n <= 0)
			return 0;
		use = der;
		use_len = (size_t)n;
	} else if ((int)siglen != EVP_PKEY_get_size(k->pkey)) {
		return 0;
	}
	if (jws_digest(signed_part, slen, digest) != 0 ||
	    (ctx = jws_ctx_get((struct jws_key *)k, 1)) == NULL)
		return 0;
	ok = EVP_PKEY_verify(ctx, use, use_len, digest, sizeof(digest)) == 1;
	jws_ctx_put((struct jws_key *)k, 1, ctx);
	return ok;
}

int jws_verify(const char *token, const struct jws_keyset *keys, unsigned allowed,
	       struct jws_parsed *out, struct err *err)
{
	const char *dot1, *dot2, *alg_name, *kid;
	unsigned char sig[1024];
	const struct jws_key *key = NULL;
	size_t len;
	ssize_t siglen;
	enum jws_alg alg;
	json_t *crit;

	memset(out, 0, sizeof(*out));
	len = strnlen(token, JWS_MAX_TOKEN + 1);
	if (len > JWS_MAX_TOKEN)
		return err_set(err, ERR_INVALID, "token longer than %d bytes", JWS_MAX_TOKEN);
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return err_set(err, ERR_INVALID, "not a compact JWS (three dot-separated parts)");
	out->header = jws_segment_json(token, (size_t)(dot1 - token), "header", err);
	if (out->header == NULL)
		return ERR_INVALID;
	alg_name = json_string_value(json_object_get(out->header, "alg"));
	alg = jws_alg_parse(alg_name);
	if (alg == JWS_ALG_UNKNOWN || !(allowed & (1u << alg))) {
		/* the message quotes the header: write it before the header is freed */
		err_set(err, ERR_DENIED, "algorithm '%.16s' not accepted",
			alg_name != NULL ? alg_name : "(none)");
		jws_parsed_clear(out);
		return ERR_DENIED;
	}
	/* RFC 7515 §4.1.11: an extension we do not understand must be refused. */
	crit = json_object_get(out->header, "crit");
	if (crit != NULL) {
		jws_parsed_clear(out);
		return err_set(err, ERR_DENIED, "token has critical header extensions");
	}
	kid = json_string_value(json_object_get(out->header, "kid"));
	for (size_t i = 0; i < keys->n; i++) {
		const struct jws_key *k = keys->keys[i];
		if (kid != NULL ? strcmp(k->kid, kid) == 0 && k->alg == alg : k->alg == alg) {
			if (key != NULL && kid == NULL) { /* ambiguous without kid */
				key = NULL;
				break;
			}
			key = k;
			if (kid != NULL)
				break;
		}
	}
	if (key == NULL) {
		err_set(err, ERR_DENIED, "no %s key with kid '%.48s'", jws_alg_name(alg),
			kid != NULL ? kid : "(none)");
		jws_parsed_clear(out);
		return ERR_DENIED;
	}
	siglen = b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof(sig));
	if (siglen <= 0 || !jws_check_sig(key, token, (size_t)(dot2 - token), sig, (size_t)siglen)) {
		jws_parsed_clear(out);
		return err_set(err, ERR_DENIED, "signature does not verify");
	}
	out->claims = jws_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", err);
	if (out->claims == NULL) {
		jws_parsed_clear(out);
		return ERR_INVALID;
	}
	out->alg = alg;
	out->key = key;
	return 0;
}

static int jws_int_claim(json_t *claims, const char *name, int64_t *v)
{
	json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return 1;
}

int jws_check_claims(const struct jws_parsed *p, const struct jws_expect *e, struct err *err)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	int has_exp, has_nbf, has_iat;

	if (e->typ != NULL) {
		const char *typ = json_string_value(json_object_get(p->header, "typ"));
		if (typ == NULL || strcasecmp(typ, e->typ) != 0)
			return err_set(err, ERR_DENIED, "token type is not %s", e->typ);
	}
	has_exp = jws_int_claim(p->claims, "exp", &exp);
	has_nbf = jws_int_claim(p->claims, "nbf", &nbf);
	has_iat = jws_int_claim(p->claims, "iat", &iat);
	if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
		return err_set(err, ERR_DENIED, "exp, nbf and iat must be integers");
	if (!has_exp)
		return err_set(err, ERR_DENIED, "token has no exp");
	/*
	 * The claims are the token's, so any int64: no sum or difference of
	 * them may wrap (found by tests/fuzz/fuzz_jwt).  An exp so large that
	 * exp + leeway passes INT64_MAX is simply not expired.
	 */
	if (exp <= INT64_MAX - e->leeway && e->now >= exp + e->leeway)
		return err_set(err, ERR_DENIED, "token expired");
	if (has_nbf && e->now + e->leeway < nbf)
		return err_set(err, ERR_DENIED, "token not valid yet (nbf)");
	if (has_iat && e->now + e->leeway < iat)
		return err_set(err, ERR_DENIED, "token issued in the future (iat)");
	if (e->max_age > 0 && has_iat &&
	    ((iat < 0 && exp > INT64_MAX + iat) || (!(iat > 0 && exp < INT64_MIN + iat) &&
						      exp - iat > e->max_age)))
		return err_set(err, ERR_DENIED, "token lifetime too long");
	if (e->iss != NULL) {
		const char *iss = json_string_value(json_object_get(p->claims, "iss"));
		if (iss == NULL || strcmp(iss, e->iss) != 0)
			return err_set(err, ERR_DENIED, "wrong issuer");
	}
	if (e->aud != NULL) {
		json_t *aud = json_object_get(p->claims, "aud"), *v;
		size_t i;
		int found = json_is_string(aud) && strcmp(json_string_value(aud), e->aud) == 0;
		if (json_is_array(aud))
			json_array_foreach(aud, i, v) found |=
				json_is_string(v) && strcmp(json_string_value(v), e->aud) == 0;
		if (!found)
			return err_set(err, ERR_DENIED, "wrong audience");
	}
	return 0;
}
