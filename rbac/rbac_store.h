/*
 * rbac_store: role data in the directory store, checked and audited, and
 * the loader that builds the evaluator's index from it.
 *
 * Every writer of role data (idpctl, the admin API) goes through these
 * calls: they check what the store cannot know (patterns and scopes well
 * formed, an assignment's scope inside the role's assignable scopes, the
 * principals exist and are live, built-in roles untouched) and write the
 * change and its audit record in one transaction, so there is never a
 * change without its record.  Each call opens its own transaction: do not
 * call them inside dir_begin().
 *
 * Built-in roles exist per tenant as read-only rows, seeded by
 * rbac_store_seed_builtins() (idempotent; it also updates rows written by
 * an older version of the program).  Their ids are derived from the tenant
 * id and the role's well-known id (rbac_store_builtin_id), since role ids
 * are unique across the store; rbac_store_role_find() accepts the
 * well-known id too.
 */
#ifndef IDP_RBAC_STORE_H
#define IDP_RBAC_STORE_H

#include "dir.h"
#include "rbac.h"

/* Who makes a change, for the audit log. */
struct rbac_actor {
	const char *actor; /* a UPN, "app:CLIENT_ID" or "idpctl:USER" */
	const char *ip;    /* source address; NULL or "" for local tools */
};

/* The id a built-in role has in this tenant (a UUID derived by SHA-256). */
int rbac_store_builtin_id(const char *tenant_id, enum rbac_builtin which,
			  char out[DIR_ID_MAX]);

/*
 * Create the built-in roles of a tenant, or bring them up to date.  Call
 * when a tenant is created (and harmlessly at any time after).  Writes an
 * audit record only when something changed.  ERR_EXISTS if a custom role
 * holds a built-in role's name.
 */
int rbac_store_seed_builtins(struct dir *d, const char *tenant_id, struct err *err);

/* Find a role by name (any case), by id, or by a built-in's well-known id. */
int rbac_store_role_find(struct dir *d, const char *tenant_id, const char *key,
			 struct dir_role *out, struct err *err);

/*
 * Create a custom role from r (name, description, the four action lists
 * and assignable scopes as JSON arrays; empty assignable scopes = ["/"]).
 * ERR_INVALID names the malformed pattern or scope, or says the role grants
 * nothing; ERR_EXISTS if the name is taken.  Fills r->id and the times.
 */
int rbac_store_role_create(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   struct dir_role *r, struct err *err);

/*
 * Replace name, description and lists of the custom role r->id.
 * ERR_DENIED for a built-in role; ERR_EXISTS if existing assignments of
 * the role would fall outside the new assignable scopes.
 */
int rbac_store_role_update(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const struct dir_role *r, struct err *err);

/* Delete a custom role: ERR_DENIED built-in, ERR_EXISTS while assigned. */
int rbac_store_role_delete(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const char *role_id, struct err *err);

/*
 * Assign a->role_id to (a->principal_type, a->principal_id) at a->scope.
 * ERR_NOT_FOUND for an unknown role or principal (or a soft-deleted one);
 * ERR_INVALID for a malformed scope or one outside the role's assignable
 * scopes; ERR_EXISTS if the same assignment exists.  Fills a->id.
 */
int rbac_store_assignment_create(struct dir *d, const char *tenant_id,
				 const struct rbac_actor *who, struct dir_role_assignment *a,
				 struct err *err);
int rbac_store_assignment_delete(struct dir *d, const char *tenant_id,
				 const struct rbac_actor *who, const char *id, struct err *err);

/*
 * Create or replace (x->id) a deny assignment.  ERR_INVALID for malformed
 * patterns, scope or principal lists, no principal, or nothing denied;
 * ERR_NOT_FOUND for a principal that does not exist.
 */
int rbac_store_deny_create(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   struct dir_deny_assignment *x, struct err *err);
int rbac_store_deny_update(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const struct dir_deny_assignment *x, struct err *err);
int rbac_store_deny_delete(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const char *id, struct err *err);

/* What a load read. */
struct rbac_load_stats {
	size_t roles, assignments, denies, memberships;
	size_t inactive;      /* assignments of soft-deleted or vanished principals */
	size_t skipped;       /* malformed rows ignored (fail-closed: they grant nothing) */
	char first_skip[256]; /* why the first one was skipped */
	int64_t version;      /* the role-data version the index reflects */
	double seconds;       /* time to read and build */
};

/*
 * Build the index of a tenant from one consistent snapshot of the store.
 * A malformed role grants nothing and a malformed assignment is ignored
 * (both counted in stats->skipped); a malformed deny assignment fails the
 * whole load (ERR_CORRUPT), since ignoring it would allow what it denies.
 * stats may be NULL.  Returns the index (free with rbac_index_free, or give
 * it to a holder) or NULL.
 */
struct rbac_index *rbac_store_load(struct dir *d, const char *tenant_id,
				   struct rbac_load_stats *stats, struct err *err);

/*
 * Make h current for the tenant: reload and swap only when the store's
 * role-data version differs from the holder's (or force, or h is empty).
 * 1 if a new index was swapped in, 0 if h was current, a negative err if
 * loading failed (h keeps its index).
 */
int rbac_store_refresh(struct dir *d, const char *tenant_id, struct rbac_holder *h, int force,
		       struct err *err);

#endif
