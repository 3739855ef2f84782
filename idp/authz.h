/*
 * authz: the RBAC evaluator inside the idp: one index per tenant, kept
 * current from the store, and the /authz/check and /authz/permissions
 * endpoints apps call.
 */
#ifndef IDP_AUTHZ_H
#define IDP_AUTHZ_H

#include "idp.h"
#include "rbac.h"

#include <jansson.h>

struct authz_cache;

/* The per-tenant indexes of a process. */
struct authz_cache *authz_cache_new(void);
void authz_cache_free(struct authz_cache *c);

/*
 * The tenant's current index (loaded at first use, reloaded when the
 * store's role-data version changed; the version is looked at no more than
 * once a second).  Give it back with authz_release().  NULL with err filled
 * when it cannot be loaded (then nothing is allowed).
 */
const struct rbac_index *authz_acquire(struct idp_req *r, struct err *err);
void authz_release(struct idp_req *r, const struct rbac_index *idx);

/*
 * The names of the roles the user holds (directly or through groups, at
 * any scope), as a JSON array (new reference), for the "roles" claim.
 */
json_t *authz_role_names(struct idp_req *r, const char *user_id);

/* POST /{tenant}/authz/check and /{tenant}/authz/permissions. */
void authz_dispatch(struct idp_req *r);

#endif
