/*
 * verify: offline validation of this idp's tokens, for applications.
 *
 * An application fetches the tenant's JWKS (https://HOST/{tenant}/discovery/
 * keys) now and then, parses it once with verify_jwks_parse(), and checks
 * each token with verify_token(): the kid picks the key, the algorithm must
 * be in the allow-list and match the key, the signature must verify, and
 * then issuer, audience, exp/nbf/iat (with leeway) and, when asked, the
 * token type are checked.  Links against jws.h only: no I/O, no globals.
 */
#ifndef IDP_VERIFY_H
#define IDP_VERIFY_H

#include "err.h"

#include <jansson.h>
#include <stdint.h>

struct verify_jwks;

/*
 * Parse a JWKS document ({"keys": [...]}).  Keys that are not signature
 * keys of a supported type are skipped; a document with no usable key, or
 * one that is not JSON, is an error.  Free with verify_jwks_free().
 */
struct verify_jwks *verify_jwks_parse(const char *json, size_t len, struct err *err);
void verify_jwks_free(struct verify_jwks *ks);
/* Number of usable keys. */
size_t verify_jwks_count(const struct verify_jwks *ks);

struct verify_opts {
	const char *iss; /* required issuer */
	const char *aud; /* required audience (NULL = not checked: say so on purpose) */
	const char *typ; /* required header typ, e.g. "at+jwt" (NULL = not checked) */
	unsigned algs;   /* allowed: 1 << JWS_RS256 | 1 << JWS_ES256; 0 = both */
	int64_t now;     /* 0 = the real clock */
	int64_t leeway;  /* seconds */
};

/*
 * Validate token.  0 and *claims set (new reference, caller decrefs; claims
 * may be NULL to skip), or ERR_INVALID / ERR_DENIED with err naming the
 * first check that failed.
 */
int verify_token(const struct verify_jwks *ks, const char *token, const struct verify_opts *o,
		 json_t **claims, struct err *err) __attribute__((warn_unused_result));

#endif
