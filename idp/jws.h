/*
 * jws: compact JWS (RFC 7515) tokens signed with RS256 or ES256, and the
 * keys that sign and verify them.
 *
 * Keys are parsed once into an opaque struct jws_key and reused for every
 * signature (libjwt 1.x re-parses a PEM on every call, which caps the token
 * rate; see README).  Verification follows the JWT BCP (RFC 8725): the
 * algorithm comes from the key, never from the token; a token whose header
 * names another algorithm, "none", or an unknown critical extension is
 * refused before any signature check; headers that point elsewhere for a
 * key (jku, x5u, jwk) are never followed.
 *
 * Nothing here does I/O, so applications can link it (see verify.h).
 */
#ifndef IDP_JWS_H
#define IDP_JWS_H

#include "err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum jws_alg { JWS_ALG_UNKNOWN = 0, JWS_RS256 = 1, JWS_ES256 = 2 };

#define JWS_KID_MAX   48
#define JWS_MAX_TOKEN 16384 /* longest token accepted for verification */

struct jws_key;

/* "RS256" / "ES256" and back (JWS_ALG_UNKNOWN for anything else, "none" included). */
const char *jws_alg_name(enum jws_alg alg);
enum jws_alg jws_alg_parse(const char *name);

/* A fresh key pair: RSA-2048 for RS256, P-256 for ES256, with a random kid. */
struct jws_key *jws_key_generate(enum jws_alg alg, struct err *err);

/*
 * A key from a PEM private key (PKCS#8 or traditional) or public key
 * (SubjectPublicKeyInfo); its type must fit alg.  kid is copied.
 */
struct jws_key *jws_key_from_pem(const char *pem, size_t len, enum jws_alg alg, const char *kid,
				 struct err *err);

/*
 * A public key from a JWK object (kty RSA with n/e, or EC P-256 with x/y).
 * The JWK's "alg", when present, must agree with its key type; "use", when
 * present, must be "sig".
 */
struct jws_key *jws_key_from_jwk(json_t *jwk, struct err *err);

/* The private key as PKCS#8 PEM, caller wipes and frees; NULL for a public key. */
char *jws_key_private_pem(const struct jws_key *k, size_t *len);

/* The public key as a JWK: kty, use "sig", alg, kid and n/e or crv/x/y. New reference. */
json_t *jws_key_public_jwk(const struct jws_key *k);

const char *jws_key_kid(const struct jws_key *k);
enum jws_alg jws_key_alg(const struct jws_key *k);

/* Free a key; NULL is fine. */
void jws_key_free(struct jws_key *k);

/*
 * Sign claims with k: header {"alg", "typ" (when typ is not NULL), "kid"}.
 * Returns the compact token, caller frees, or NULL with err filled.
 */
char *jws_sign(const struct jws_key *k, const char *typ, json_t *claims, struct err *err);

/* A set of verification keys (borrowed pointers). */
struct jws_keyset {
	const struct jws_key *const *keys;
	size_t n;
};

struct jws_parsed {
	json_t *header; /* new references; release with jws_parsed_clear() */
	json_t *claims;
	enum jws_alg alg;
	const struct jws_key *key; /* the key that verified it (borrowed from the set) */
};

/*
 * Parse and verify a compact token against keys: the header's kid selects
 * the key (a token without kid is tried only when exactly one key has an
 * algorithm in allowed), the key's algorithm must be the header's and in
 * the allowed mask (1 << JWS_RS256 | 1 << JWS_ES256), the signature must
 * verify.  Claims are NOT checked here: see jws_check_claims().
 * 0 and out filled, or ERR_INVALID (malformed) / ERR_DENIED (bad signature,
 * wrong algorithm, unknown key) with err saying which.
 */
int jws_verify(const char *token, const struct jws_keyset *keys, unsigned allowed,
	       struct jws_parsed *out, struct err *err) __attribute__((warn_unused_result));

void jws_parsed_clear(struct jws_parsed *p);

/* What a relying party expects of a token's claims. */
struct jws_expect {
	const char *iss;      /* required issuer (NULL = not checked) */
	const char *aud;      /* required audience, string or in array (NULL = not checked) */
	const char *typ;      /* required header typ, e.g. "at+jwt" (NULL = not checked) */
	int64_t now;          /* current time */
	int64_t leeway;       /* seconds of clock skew allowed for exp/nbf/iat */
	int64_t max_age;      /* 0, or the longest exp - iat accepted */
};

/*
 * Check exp (required), nbf and iat (when present), iss, aud and typ.
 * 0, or ERR_DENIED with err naming the first claim that failed.
 */
int jws_check_claims(const struct jws_parsed *p, const struct jws_expect *e, struct err *err)
	__attribute__((warn_unused_result));

#endif
