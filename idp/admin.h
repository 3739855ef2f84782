/*
 * admin: the admin API of a tenant, under /{tenant}/admin/.  One file per
 * kind of object; every call is authorized by admin_auth (RBAC) and every
 * change audited.
 */
#ifndef IDP_ADMIN_H
#define IDP_ADMIN_H

#include "admin_auth.h"
#include "api.h"

/* Route /{tenant}/admin/... (path is the part after the tenant). */
void admin_dispatch(struct idp_req *r);

void admin_users(struct idp_req *r, const char *path);
void admin_groups(struct idp_req *r, const char *path);
void admin_apps(struct idp_req *r, const char *path);
void admin_misc(struct idp_req *r, const char *path);
void admin_roles(struct idp_req *r, const char *path);

/* A user as the admin API and SCIM show it. */
json_t *admin_user_json(const struct dir_user *u);

#endif
