/*
 * idp: the token service daemon's shared context and the helpers its
 * handlers use: the per-thread store connection, tenant resolution, URLs,
 * CSRF tokens and the sign-in log.
 *
 * One struct idp exists per process; after start-up it is read-only except
 * for the caches that guard themselves (keys.c).  Handlers get a struct
 * idp_req that bundles the HTTP request, the resolved tenant and the store.
 */
#ifndef IDP_IDP_H
#define IDP_IDP_H

#include "clock.h"
#include "dir.h"
#include "http.h"
#include "idp_config.h"

#include <pthread.h>

struct authz_cache;
struct passthru_table;
struct keys;
struct mfa;
struct secretbox;

struct idp {
	const struct idp_config *cfg;
	struct dir_options dir_opts; /* every worker opens its own connection with these */
	struct clock clock;
	struct keys *keys;           /* signing keys, cached per tenant */
	struct secretbox *box;       /* seals private keys and second-factor secrets */
	struct mfa *mfa;             /* the second factor (mfa.h) */
	struct authz_cache *authz;   /* per-tenant RBAC indexes (authz.h) */
	struct passthru_table *passthru; /* tenant -> LDAP for synced users' passwords */
	unsigned char csrf_key[32];  /* derived from the key file: same on every node */
	pthread_mutex_t dirs_lock;   /* guards the list of per-thread connections */
	struct dir **dirs;
	size_t ndirs;
};

/* What a handler works with. */
struct idp_req {
	struct idp *idp;
	struct http_req *http;
	struct http_resp *resp;
	struct dir *dir;           /* this thread's connection */
	struct dir_tenant tenant;  /* resolved from the first path segment */
	const char *sub;           /* the path after /{tenant} */
	int64_t now;
};

/* This thread's store connection, opened on first use; NULL if it cannot be opened. */
struct dir *idp_dir(struct idp *idp, struct err *err);

/* Close every per-thread connection (at shutdown, after the server stopped). */
void idp_dirs_close(struct idp *idp);

/* The tenant's issuer: PUBLIC_URL/{tenant}/v2.0 into out. */
void idp_issuer(const struct idp_req *r, char *out, size_t cap);

/*
 * The resource identifier (RFC 8707) of the tenant's admin API, SCIM and
 * reports: PUBLIC_URL/{tenant}/admin.  Tokens for it carry it as audience.
 */
void idp_admin_resource(const struct idp_req *r, char *out, size_t cap);

/* 1 if resource names a resource of this tenant that tokens may be issued for. */
int idp_resource_known(const struct idp_req *r, const char *resource);

/* An absolute URL under the tenant: PUBLIC_URL/{tenant}{path}. */
void idp_url(const struct idp_req *r, const char *path, char *out, size_t cap);

/*
 * A CSRF token bound to a browser's csrf cookie (HMAC under a key derived
 * from the key file), and its check in constant time.
 */
void idp_csrf_token(const struct idp_req *r, const char *cookie, char out[64]);
int idp_csrf_ok(const struct idp_req *r, const char *cookie, const char *token)
	__attribute__((warn_unused_result));

/* Append an attempt to the tenant's sign-in log; never fails the request. */
void idp_signin_log(struct idp_req *r, const char *user_id, const char *username,
		    const char *app_id, const char *step, const char *result, const char *reason,
		    const char *factors);

/* The route table entry point (idp_route.c). */
void idp_handle(void *ctx, struct http_req *req, struct http_resp *resp);

/* Handlers (one file each). */
void oidc_discovery(struct idp_req *r);
void oidc_jwks(struct idp_req *r);
void authorize_get(struct idp_req *r);
void login_post(struct idp_req *r);
void mfa_flow_post(struct idp_req *r);
void account_get(struct idp_req *r);
void account_post(struct idp_req *r);
void logout_handle(struct idp_req *r);
void token_post(struct idp_req *r);
void userinfo_handle(struct idp_req *r);
void introspect_post(struct idp_req *r);
void revoke_post(struct idp_req *r);

#endif
