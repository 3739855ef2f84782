/*
 * mfa_flow: placeholder until the TOTP library lands: a sign-in that needs a
 * second factor stops here with a clear page.
 */
#include "mfa_flow.h"

#include "pages.h"

void mfa_flow_page(struct idp_req *r, const struct authz *a, const struct dir_user *u,
		   const struct dir_session *s, const char *error)
{
	(void)a;
	(void)u;
	(void)s;
	(void)error;
	page_error(r, 503, "Second factor unavailable",
		   "This sign-in needs a second factor, which this server cannot check yet.");
}
