/*
 * tokens: minting and checking the tenant's JWTs.
 *
 * Access tokens follow RFC 9068 (header typ "at+jwt"); id tokens follow
 * OpenID Connect Core §2.  Both carry kid and are signed with the app's
 * algorithm (RS256 unless the app chose ES256) by the tenant's current key.
 */
#ifndef IDP_TOKENS_H
#define IDP_TOKENS_H

#include "idp.h"
#include "jws.h"

struct token_grant {
	const struct dir_app *app;
	const struct dir_user *user; /* NULL for client_credentials */
	const char *scope;           /* space-separated, granted */
	const char *nonce;           /* for the id token, may be NULL */
	int64_t auth_time;
	const char *amr;      /* space-separated methods */
	const char *grant_id; /* NULL for client_credentials */
	int id_token;         /* also mint an id token */
	const char *refresh_token; /* include this refresh token in the response, or NULL */
	const char *resource; /* RFC 8707: the access token's audience instead of the app */
};

/*
 * Write the token response (RFC 6749 §5.1) for g into r's response, with
 * Cache-Control: no-store.  0, or -1 with an error response already made.
 */
int tokens_respond(struct idp_req *r, const struct token_grant *g);

/*
 * Verify an access token of this tenant: signature by one of the tenant's
 * published keys, typ at+jwt, issuer, expiry, and not revoked.  0 and p
 * filled (release with jws_parsed_clear; its JSON is shared with the
 * thread's token cache: read it, never change it), or ERR_DENIED with err
 * saying why.  A token this thread verified lately skips the signature
 * check, nothing else (token_cache.h).
 */
int tokens_check_access(struct idp_req *r, const char *token, struct jws_parsed *p,
			struct err *err) __attribute__((warn_unused_result));

/* 1 if scope (space-separated) contains word. */
int tokens_scope_has(const char *scope, const char *word);

#endif
