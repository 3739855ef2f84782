/*
 * token_cache: access tokens this thread verified lately.
 *
 * An API client sends the same access token with every call (an app asking
 * /authz/check thousands of times a second); verifying its signature and
 * parsing its JSON each time is most of such a call's cost.  Each thread
 * keeps the last few tokens it verified, by the SHA-256 of their text and
 * the tenant, with their parsed header and claims and the kid of the key
 * that verified them.  A hit saves the signature only: the caller still
 * checks that the key is still published, the claims against the time, and
 * the revocation list, exactly as for a token seen the first time.
 */
#ifndef IDP_TOKEN_CACHE_H
#define IDP_TOKEN_CACHE_H

#include "jws.h"

/*
 * 1 and p filled (new references, release with jws_parsed_clear; p->key
 * NULL) and kid copied when this thread verified token for tenant_id
 * lately; 0 otherwise.
 */
int token_cache_get(const char *tenant_id, const char *token, struct jws_parsed *p,
		    char kid[JWS_KID_MAX]);

/* Remember token of tenant_id, verified by the key of p->key, as p. */
void token_cache_put(const char *tenant_id, const char *token, const struct jws_parsed *p);

#endif
