/*
 * authorize: the authorization request (OAuth 2.0 §4.1.1, OIDC Core §3.1.2),
 * parsed and checked the same way wherever it arrives: at /authorize, and
 * carried through the sign-in forms as hidden fields.
 */
#ifndef IDP_AUTHORIZE_H
#define IDP_AUTHORIZE_H

#include "idp.h"

struct authz {
	const char *client_id, *redirect_uri, *scope, *state, *nonce, *code_challenge,
		*login_hint, *resource;
	struct dir_app app;
	long long max_age; /* -1 when absent */
	int prompt_login;  /* prompt=login: sign in again even inside a session */
	int prompt_none;   /* prompt=none: never show a page, fail instead */
	char scope_granted[DIR_OAUTH_SCOPE_MAX]; /* the known scopes requested */
};

/*
 * Parse and check the request in params.  0 when it is good.  Otherwise
 * the response is already made: an error page when the client or redirect
 * URI cannot be trusted, else a redirect to the app with the OAuth error;
 * and -1 is returned.
 */
int authz_parse(struct idp_req *r, const struct http_params *params, struct authz *a);

/* Redirect to the app with an OAuth error (error_description optional). */
void authz_fail(struct idp_req *r, const struct authz *a, const char *error,
		const char *description);

/* Hidden form fields carrying this request's parameters through a sign-in form. */
void authz_hidden(struct idp_req *r, struct buf *b);

/*
 * Redirect back to /authorize with the request, minus prompt (so that a
 * sign-in just made satisfies prompt=login instead of looping).
 */
void authz_continue(struct idp_req *r, const struct authz *a);

/* The same address into out (capacity cap); 0, or -1 if it does not fit. */
int authz_continue_url(struct idp_req *r, char *out, size_t cap);

/* The app's display name for pages. */
const char *authz_app_name(const struct authz *a);

/*
 * The sign-in page for this request (or, with a NULL, for the account
 * page), with an error line and the name typed so far.
 */
void authz_login_page(struct idp_req *r, const struct authz *a, const char *error,
		      const char *username);

#endif
