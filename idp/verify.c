/*
 * verify: JWKS parsing and token validation on top of jws.c.
 */
#include "verify.h"

#include "jws.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_MAX_KEYS 64

struct verify_jwks {
	struct jws_key *keys[VERIFY_MAX_KEYS];
	struct jws_keyset set;
};

struct verify_jwks *verify_jwks_parse(const char *json, size_t len, struct err *err)
{
	struct verify_jwks *ks;
	json_error_t jerr;
	json_t *doc, *arr, *jwk;
	size_t i;

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		err_set(err, ERR_INVALID, "JWKS: line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	arr = json_object_get(doc, "keys");
	if (!json_is_array(arr) || (ks = calloc(1, sizeof(*ks))) == NULL) {
		json_decref(doc);
		err_set(err, ERR_INVALID, "JWKS: no \"keys\" array");
		return NULL;
	}
	ks->set.keys = (const struct jws_key *const *)ks->keys;
	json_array_foreach(arr, i, jwk) {
		struct err skip = {0};
		struct jws_key *k;
		if (ks->set.n == VERIFY_MAX_KEYS)
			break;
		/* a key we cannot use (encryption key, other curve) is not an error */
		if ((k = jws_key_from_jwk(jwk, &skip)) != NULL && jws_key_kid(k)[0] != '\0')
			ks->keys[ks->set.n++] = k;
		else
			jws_key_free(k);
	}
	json_decref(doc);
	if (ks->set.n == 0) {
		free(ks);
		err_set(err, ERR_INVALID, "JWKS: no usable signature key with a kid");
		return NULL;
	}
	return ks;
}

void verify_jwks_free(struct verify_jwks *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->set.n; i++)
		jws_key_free(ks->keys[i]);
	free(ks);
}

size_t verify_jwks_count(const struct verify_jwks *ks)
{
	return ks->set.n;
}

int verify_token(const struct verify_jwks *ks, const char *token, const struct verify_opts *o,
		 json_t **claims, struct err *err)
{
	struct jws_parsed p;
	struct jws_expect e;
	unsigned algs = o->algs != 0 ? o->algs : (1u << JWS_RS256 | 1u << JWS_ES256);
	int rc;

	if (claims != NULL)
		*claims = NULL;
	if (o->iss == NULL)
		return err_set(err, ERR_INVALID, "an expected issuer is required");
	rc = jws_verify(token, &ks->set, algs, &p, err);
	if (rc != 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.iss = o->iss;
	e.aud = o->aud;
	e.typ = o->typ;
	e.now = o->now != 0 ? o->now : (int64_t)time(NULL);
	e.leeway = o->leeway;
	rc = jws_check_claims(&p, &e, err);
	if (rc == 0 && claims != NULL)
		*claims = json_incref(p.claims);
	jws_parsed_clear(&p);
	return rc;
}
