/*
 * sso: the browser's single sign-on session with a tenant, and the CSRF
 * cookie its forms are bound to.
 *
 * The session cookie holds 256 random bits; the store keeps only their
 * SHA-256, so a copy of the store cannot be replayed as a cookie.  Cookies
 * are HttpOnly, SameSite=Lax (a top-level redirect from an app must carry
 * the session), Secure with the __Secure- prefix over TLS, and scoped to
 * the tenant's path: each tenant has its own session in the same browser.
 * A sign-in always starts a new session id (no fixation).
 */
#ifndef IDP_SSO_H
#define IDP_SSO_H

#include "idp.h"

/*
 * The live session of this browser: 1 and out filled when there is one
 * that is neither idle past the timeout nor past its absolute end (its
 * last-seen time is then refreshed); 0 when there is none.
 */
int sso_current(struct idp_req *r, struct dir_session *out);

/* Start a session for user after a password (amr "pwd"); sets the cookie. 0 or -1. */
int sso_start(struct idp_req *r, const struct dir_user *user, const char *amr,
	      struct dir_session *out);

/* End this browser's session, in the store and in the browser. */
void sso_end(struct idp_req *r);

/*
 * The CSRF token to put into a form: reuses the browser's CSRF cookie or
 * sets a new one.
 */
void sso_csrf_token(struct idp_req *r, char token[64]);

/* 1 if the form's "csrf" field matches the browser's CSRF cookie. */
int sso_csrf_valid(struct idp_req *r) __attribute__((warn_unused_result));

#endif
