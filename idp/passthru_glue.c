/*
 * passthru_glue: until the pass-through library is linked, synced users
 * cannot sign in, and the sign-in log says why.
 */
#include "passthru_glue.h"

int passthru_glue_check(struct idp_req *r, const struct dir_user *u, const char *password,
			struct err *err)
{
	(void)r;
	(void)u;
	(void)password;
	return err_set(err, ERR_UNAVAILABLE, "pass-through authentication is not configured");
}
