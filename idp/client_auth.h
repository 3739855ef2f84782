/*
 * client_auth: who is calling the token, introspection and revocation
 * endpoints (RFC 6749 §2.3): client_secret_basic, client_secret_post, or a
 * public client naming itself.
 */
#ifndef IDP_CLIENT_AUTH_H
#define IDP_CLIENT_AUTH_H

#include "idp.h"

enum client_auth_result {
	CLIENT_AUTH_OK,     /* a confidential client proved its secret */
	CLIENT_AUTH_PUBLIC, /* a public client named itself (no secret exists) */
	CLIENT_AUTH_FAILED  /* the response (401 invalid_client or 400) is made */
};

/*
 * Authenticate the caller into app.  Using two methods at once, an unknown
 * client, a wrong secret, or a confidential client without its secret all
 * fail with 401 invalid_client (400 for malformed credentials).  The secret
 * is compared as SHA-256 digests in constant time.
 */
enum client_auth_result client_auth(struct idp_req *r, struct dir_app *app);

#endif
