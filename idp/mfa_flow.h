/*
 * mfa_flow: the second-factor step of a sign-in, between the password and
 * the code: verify a TOTP code or a recovery code, or enroll a first
 * authenticator when the user must have one.
 */
#ifndef IDP_MFA_FLOW_H
#define IDP_MFA_FLOW_H

#include "authorize.h"

/* Show the step the user is at (code entry, or enrollment), with an error line. */
void mfa_flow_page(struct idp_req *r, const struct authz *a, const struct dir_user *u,
		   const struct dir_session *s, const char *error);

#endif
