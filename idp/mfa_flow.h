/*
 * mfa_flow: the second-factor step of a sign-in, between the password and
 * the code: verify a TOTP code or a recovery code, or enroll a first
 * authenticator when the user must have one.  Also the pieces the account
 * page shares with it (enrollment, recovery codes).
 */
#ifndef IDP_MFA_FLOW_H
#define IDP_MFA_FLOW_H

#include "authorize.h"
#include "mfa.h"

/*
 * Show the step the user is at for the authorization request a: code entry
 * when enrolled, else enrollment; error is one line to show, or NULL.
 */
void mfa_flow_page(struct idp_req *r, const struct authz *a, const struct dir_user *u,
		   const struct dir_session *s, const char *error);

/* POST /{tenant}/login/mfa: a code, a recovery code or an enrollment code. */
void mfa_flow_post(struct idp_req *r);

/*
 * The enrollment form: QR code, secret, code input.  action is the form's
 * target path under the tenant, hidden() adds request-specific fields.
 * 0, or -1 when enrollment cannot start (an error page is made).
 */
int mfa_flow_enroll_form(struct idp_req *r, const struct dir_user *u, const char *action,
			 void (*hidden)(struct idp_req *r, struct buf *b), const char *error);

/* The page that shows ten fresh recovery codes once, with a way on to next_url. */
void mfa_flow_codes_page(struct idp_req *r, const struct mfa_recovery_codes *codes,
			 const char *next_url);

/* A user-facing sentence for a refused code. */
const char *mfa_flow_refusal(const struct mfa_result *res, char *buf, size_t cap);

/* Record a proved second factor in the session (amr and time). */
void mfa_flow_proved(struct idp_req *r, const struct dir_session *s, int recovery);

#endif
