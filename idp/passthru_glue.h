/*
 * passthru_glue: how the sign-in checks the password of a user synced from
 * LDAP: a simple bind as the user's DN against the tenant's directory, by
 * the pass-through library of sync/.
 */
#ifndef IDP_PASSTHRU_GLUE_H
#define IDP_PASSTHRU_GLUE_H

#include "idp.h"

/*
 * 0 if the directory accepts the password; ERR_DENIED (wrong password,
 * or the account is disabled or locked there: err says which) or
 * ERR_UNAVAILABLE (the directory cannot be reached, or pass-through is
 * not configured).
 */
int passthru_glue_check(struct idp_req *r, const struct dir_user *u, const char *password,
			struct err *err) __attribute__((warn_unused_result));

#endif
