/*
 * admin_auth: who calls the admin API, SCIM and the reports, and whether
 * they may.
 *
 * The caller presents an access token of this tenant whose audience is the
 * tenant's admin resource (PUBLIC_URL/{tenant}/admin, asked for with the
 * RFC 8707 resource parameter): a token meant for an app is refused, so an
 * app cannot replay a user's token against the admin API.  The action at
 * the scope is then decided by the RBAC evaluator: for an app's own token
 * (client_credentials) the app's roles; for a user's token the user's AND
 * the app's, so an app acting for an admin can do only what both may.
 */
#ifndef IDP_ADMIN_AUTH_H
#define IDP_ADMIN_AUTH_H

#include "idp.h"

struct admin_caller {
	int is_user;                /* 0: an app acting for itself */
	char id[DIR_ID_MAX];        /* the user's or the app's object id */
	char name[DIR_UPN_MAX];     /* UPN, or "app:CLIENT_ID", for the audit log */
	char client_id[DIR_ID_MAX]; /* the app that holds the token */
};

/*
 * Authenticate the request and authorize action (e.g. "idp/users/write")
 * at scope (e.g. "/" or "/users/ID").  0 when allowed, who filled; else the
 * response is made (401 without a valid admin token, 403 with the reason
 * when RBAC says no) and -1 is returned.
 */
int admin_authorize(struct idp_req *r, const char *action, const char *scope,
		    struct admin_caller *who) __attribute__((warn_unused_result));

/* Record an admin change in the tenant's audit log (never fails the request). */
void admin_audit(struct idp_req *r, const struct admin_caller *who, const char *action,
		 const char *target_type, const char *target_id, const char *summary);

#endif
