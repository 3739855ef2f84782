/*
 * passthru_glue: how the sign-in checks the password of a user synced from
 * LDAP: a simple bind as the user's DN against the directory the tenant
 * syncs from, by the pass-through library of sync/ (sync/passthru.h).
 *
 * Which directory a tenant uses comes from the idp-sync configuration files
 * listed in [passthrough] sync_config: the one source of truth for the
 * server, TLS and CA of each tenant.
 */
#ifndef IDP_PASSTHRU_GLUE_H
#define IDP_PASSTHRU_GLUE_H

#include "idp.h"

struct passthru_table;

/* Read the listed idp-sync configs; NULL with err filled if one is bad. */
struct passthru_table *passthru_glue_load(const struct cfg_list *sync_configs, struct err *err);
void passthru_glue_free(struct passthru_table *t);

/*
 * 0 if the directory accepts the password; ERR_DENIED (err->msg says:
 * wrong password, locked, expired) or ERR_UNAVAILABLE (the directory cannot
 * be reached, or the tenant has no pass-through configured).  *locked and
 * *expired (may be NULL) tell the two refusals a person should hear about.
 */
int passthru_glue_check(struct idp_req *r, const struct dir_user *u, const char *password,
			int *locked, int *expired, struct err *err)
	__attribute__((warn_unused_result));

#endif
