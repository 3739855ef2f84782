/*
 * rbac: the authorization evaluator.  A library with no I/O: it never opens
 * a file, a socket or the store; rbac_store.h loads it from the directory.
 *
 * The model follows the cloud RBAC this project copies:
 *
 *  - A role definition grants `actions` minus `notActions` on the control
 *    plane and `dataActions` minus `notDataActions` on the data plane.
 *    NotActions subtract from the role's own grant; they are not denies (a
 *    second role can still grant what one role's notActions left out).
 *  - Action patterns look like `provider/resourceType/operation`; `*` is a
 *    wildcard for any run of characters (slashes included) anywhere in the
 *    pattern; matching ignores ASCII case.
 *  - A scope is a path: `/` (the tenant root) or `/seg/seg/...`.  An
 *    assignment at a scope applies there and at every scope below it, never
 *    above it or beside it.  Scopes compare ignoring ASCII case.
 *  - A role assignment gives one principal (user, group or app) one role at
 *    one scope.  Group assignments reach every member, through nested groups
 *    at any depth; membership cycles are harmless.
 *  - A deny assignment names principals (or everyone), excluded principals,
 *    actions minus notActions and dataActions minus notDataActions, and a
 *    scope.  One that matches wins over any allow.  An excluded principal
 *    is excluded also when it is one of the caller's groups.
 *  - Nothing is allowed unless an assignment grants it.
 *
 * The index is immutable once built: any number of threads may check
 * against one index at once without locks.  rbac_holder swaps a new index
 * in atomically when role data changes; checks through it take no lock
 * (see rbac_holder_acquire).
 *
 * Checks never allocate.  Every string a decision points at belongs to the
 * index and lives as long as it.
 *
 * The idp's own admin API is authorized with these actions (control plane)
 * at these scopes; the built-in roles are defined against them:
 *
 *   idp/tenant/read  idp/tenant/write  idp/tenant/export/action       at /
 *   idp/users/read|write|delete  idp/users/password/action           at /users/{id}
 *   idp/groups/read|write|delete  idp/groups/members/write           at /groups/{id}
 *   idp/apps/read|write|delete  idp/apps/secret/action               at /apps/{id}
 *   idp/roleDefinitions/read|write|delete                            at /roleDefinitions/{id}
 *   idp/roleAssignments/read|write|delete   (at the assignment's scope)
 *   idp/denyAssignments/read|write|delete   (at the deny assignment's scope)
 *   idp/auditLogs/read  idp/signIns/read  idp/reports/read          at /
 *   idp/authz/check/action  (an app asking /authz/check)             at /apps/{id}
 *
 * Listing a collection is the read action at the collection's scope
 * (/users for GET /admin/users, which an assignment at / covers).  Customer
 * scopes (/projects/p1/...) and customer actions (provider/type/operation)
 * sit beside these; nothing in the evaluator is specific to "idp".
 */
#ifndef IDP_RBAC_H
#define IDP_RBAC_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Limits, in bytes without the NUL. */
#define RBAC_ACTION_MAX      256  /* an action or action pattern */
#define RBAC_SCOPE_MAX       1024 /* a scope path */
#define RBAC_SCOPE_DEPTH_MAX 32   /* segments in a scope path */
#define RBAC_ID_MAX          128  /* a principal, role or assignment id */

enum rbac_principal_type {
	RBAC_PRINCIPAL_USER = 0,
	RBAC_PRINCIPAL_GROUP = 1,
	RBAC_PRINCIPAL_APP = 2,
	RBAC_PRINCIPAL_EVERYONE = 3 /* only in deny assignments' principals */
};

/* "user", "group", "app", "everyone". */
const char *rbac_principal_type_name(enum rbac_principal_type t);

/* Parse one of the names above; -1 if it is none of them. */
int rbac_principal_type_parse(const char *s);

/* ---- syntax ----------------------------------------------------------- */

/*
 * Check an action pattern as stored in a role or deny assignment: 1 to
 * RBAC_ACTION_MAX of [A-Za-z0-9._-] in '/'-separated non-empty segments,
 * '*' anywhere but never two in a row; without a '*' it needs at least
 * three segments (provider/type/operation).  0, or ERR_INVALID with err
 * saying what is wrong.
 */
int rbac_pattern_check(const char *pattern, struct err *err);

/* Check a concrete action (what a check asks about): a pattern without '*'. */
int rbac_action_check(const char *action, struct err *err);

/*
 * 1 if the action matches the pattern, ignoring ASCII case.  Both must
 * have passed their checks; this does no validation.
 */
int rbac_pattern_match(const char *pattern, const char *action);

/*
 * Check a scope: "/" or "/" followed by 1 to RBAC_SCOPE_DEPTH_MAX non-empty
 * '/'-separated segments of printable ASCII other than '*', '\\' and
 * spaces, not "." or "..", no trailing '/', at most RBAC_SCOPE_MAX bytes.
 */
int rbac_scope_check(const char *scope, struct err *err);

/*
 * 1 if scope is at or below parent (both valid), ignoring ASCII case:
 * "/a/b" is within "/a" and "/", not within "/a/bc" or "/a/b/c".
 */
int rbac_scope_within(const char *scope, const char *parent);

/* ---- built-in roles --------------------------------------------------- */

enum rbac_builtin {
	RBAC_BUILTIN_OWNER,
	RBAC_BUILTIN_CONTRIBUTOR,
	RBAC_BUILTIN_READER,
	RBAC_BUILTIN_USER_ACCESS_ADMIN,
	RBAC_BUILTIN_COUNT
};

struct rbac_builtin_def {
	const char *well_known_id; /* the same in every tenant */
	const char *name;
	const char *description;
	const char *const *actions;
	size_t n_actions;
	const char *const *not_actions;
	size_t n_not_actions;
	/* Built-in roles grant no data actions and are assignable anywhere ("/"). */
};

/* The definition of a built-in role (static storage). */
const struct rbac_builtin_def *rbac_builtin(enum rbac_builtin which);

/* ---- building an index ------------------------------------------------ */

struct rbac_index;
struct rbac_builder;

struct rbac_principal_ref {
	enum rbac_principal_type type;
	const char *id; /* NULL for RBAC_PRINCIPAL_EVERYONE */
};

struct rbac_role_def {
	const char *id;
	const char *name;
	int builtin;
	const char *const *actions;
	size_t n_actions;
	const char *const *not_actions;
	size_t n_not_actions;
	const char *const *data_actions;
	size_t n_data_actions;
	const char *const *not_data_actions;
	size_t n_not_data_actions;
	const char *const *assignable_scopes;
	size_t n_assignable_scopes;
};

struct rbac_assignment_def {
	const char *id;
	const char *role_id;
	struct rbac_principal_ref principal; /* user, group or app */
	const char *scope;
};

struct rbac_deny_def {
	const char *id;
	const char *name;
	const char *scope;
	const struct rbac_principal_ref *principals; /* may include RBAC_PRINCIPAL_EVERYONE */
	size_t n_principals;
	const struct rbac_principal_ref *excluded; /* users, groups, apps */
	size_t n_excluded;
	const char *const *actions;
	size_t n_actions;
	const char *const *not_actions;
	size_t n_not_actions;
	const char *const *data_actions;
	size_t n_data_actions;
	const char *const *not_data_actions;
	size_t n_not_data_actions;
};

/* A new empty builder, or NULL (out of memory) with err filled. */
struct rbac_builder *rbac_builder_new(struct err *err);

/* Free a builder and all it copied; NULL is fine. */
void rbac_builder_free(struct rbac_builder *b);

/*
 * Add a role, an assignment, a deny assignment or a direct membership
 * (member is a user or a group; group_id a group).  Everything is copied;
 * the caller's memory is borrowed for the call only.  Each checks its
 * input (ERR_INVALID: malformed pattern, scope, id or principal type) and
 * ERR_EXISTS for a role or assignment id given twice.  A failed call adds
 * nothing, and the builder stays usable.  References (an assignment's
 * role) are resolved by rbac_builder_build(), so the order is free.
 */
int rbac_builder_add_role(struct rbac_builder *b, const struct rbac_role_def *r,
			  struct err *err);
int rbac_builder_add_assignment(struct rbac_builder *b, const struct rbac_assignment_def *a,
				struct err *err);
int rbac_builder_add_deny(struct rbac_builder *b, const struct rbac_deny_def *d,
			  struct err *err);
int rbac_builder_add_member(struct rbac_builder *b, struct rbac_principal_ref member,
			    const char *group_id, struct err *err);

/*
 * Build the immutable index from what was added.  ERR_NOT_FOUND if an
 * assignment names a role that was not added; ERR_INVALID if one id names
 * principals of two types.  The builder stays the caller's (free it with
 * rbac_builder_free; it may be freed at once).  Returns the index, to be
 * released with rbac_index_free (or through a holder), or NULL.
 */
struct rbac_index *rbac_builder_build(struct rbac_builder *b, struct err *err);

/* Free an index nobody uses any more; NULL is fine. */
void rbac_index_free(struct rbac_index *idx);

struct rbac_index_stats {
	size_t roles, assignments, denies, principals, memberships, scope_nodes;
	size_t bytes; /* heap memory held by the index */
};

void rbac_index_stats(const struct rbac_index *idx, struct rbac_index_stats *out);

/* ---- checks ----------------------------------------------------------- */

struct rbac_request {
	enum rbac_principal_type principal_type; /* user, group or app */
	const char *principal_id;
	const char *action; /* concrete: no '*' */
	const char *scope;
	int data_action; /* 1: a data-plane action (dataActions), 0: control plane */
};

enum rbac_reason {
	RBAC_REASON_NO_GRANT = 0,   /* denied: no assignment grants it */
	RBAC_REASON_ASSIGNMENT = 1, /* allowed by the assignment named */
	RBAC_REASON_DENY = 2        /* denied by the deny assignment named */
};

struct rbac_decision {
	int allowed; /* 1 allow, 0 deny: always set, 0 on any error */
	enum rbac_reason reason;
	/* RBAC_REASON_ASSIGNMENT: the assignment and role that allowed. */
	const char *assignment_id;
	const char *role_id;
	const char *role_name;
	const char *assignment_scope;
	/* Who the assignment names: the principal itself or one of its groups. */
	enum rbac_principal_type via_type;
	const char *via_id;
	/* RBAC_REASON_DENY: the deny assignment that blocked. */
	const char *deny_id;
	const char *deny_name;
	const char *deny_scope;
};

/*
 * May the principal perform the action at the scope?  Fills out (strings
 * borrowed from idx) and returns 0 whether the answer is allow or deny:
 * read out->allowed.  An unknown principal is simply granted nothing.
 * Malformed input (action, scope, principal id or type) returns
 * ERR_INVALID with err filled and out->allowed = 0.  Never allocates,
 * never locks; err may be NULL.
 *
 * A matching deny assignment is reported even when no assignment would
 * have allowed.  When several assignments allow, the one reported is the
 * first found: the principal's own before its groups', nearer groups
 * before farther ones, and in load order within one principal.
 */
int rbac_check(const struct rbac_index *idx, const struct rbac_request *req,
	       struct rbac_decision *out, struct err *err) __attribute__((warn_unused_result));

/*
 * One line saying why (e.g. "allowed by assignment ID: role 'Reader' (ID)
 * at scope '/' for group ID"), into buf (capacity cap, truncated to fit).
 * Returns buf.
 */
const char *rbac_decision_text(const struct rbac_decision *d, char *buf, size_t cap);

/* A role assignment that applies, as effective permissions list it. */
struct rbac_grant {
	const char *assignment_id;
	const char *scope; /* where the assignment is */
	enum rbac_principal_type via_type;
	const char *via_id;
	const char *role_id;
	const char *role_name;
	int builtin;
	const char *const *actions;
	size_t n_actions;
	const char *const *not_actions;
	size_t n_not_actions;
	const char *const *data_actions;
	size_t n_data_actions;
	const char *const *not_data_actions;
	size_t n_not_data_actions;
};

/* A deny assignment that applies. */
struct rbac_deny_info {
	const char *deny_id;
	const char *name;
	const char *scope;
	const char *const *actions;
	size_t n_actions;
	const char *const *not_actions;
	size_t n_not_actions;
	const char *const *data_actions;
	size_t n_data_actions;
	const char *const *not_data_actions;
	size_t n_not_data_actions;
};

/*
 * The effective permissions of a principal at a scope: on_grant for every
 * role assignment that applies there (the principal's own and its groups',
 * at the scope or above it), then on_deny for every deny assignment that
 * applies to it there.  With scope NULL, every assignment of the principal
 * at any scope (e.g. for role names in a token) and every deny naming it.
 * Either callback may be NULL; a non-zero return stops the walk and is
 * returned.  0 when done; ERR_INVALID for a malformed scope or principal.
 * Pointers in the structs are borrowed from idx.
 */
int rbac_effective(const struct rbac_index *idx, enum rbac_principal_type type,
		   const char *principal_id, const char *scope,
		   int (*on_grant)(void *ctx, const struct rbac_grant *g),
		   int (*on_deny)(void *ctx, const struct rbac_deny_info *d), void *ctx,
		   struct err *err);

/* ---- the current index, swapped atomically ---------------------------- */

/*
 * A holder keeps the current index of one tenant.  Readers take it with
 * rbac_holder_acquire() and give it back with rbac_holder_release(); a
 * writer installs a new one with rbac_holder_swap().  Readers never lock
 * and never wait: acquiring is two atomic increments and a load, releasing
 * one decrement (see rbac_holder.c for the protocol).  The old index is
 * freed by whoever lets go of it last: the swap, if no reader holds it,
 * else the last reader's release.  Swaps are serialized among themselves
 * by a mutex; readers never touch it.
 */
struct rbac_holder;

/* A holder with no index yet (NULL, or with err filled). */
struct rbac_holder *rbac_holder_new(struct err *err);

/*
 * Free the holder and its current index.  No reader may be between acquire
 * and release, and no swap may be running.  NULL is fine.
 */
void rbac_holder_free(struct rbac_holder *h);

/*
 * The current index, or NULL if none was installed yet.  Give it back with
 * rbac_holder_release() (NULL is fine); until then it stays valid even if a
 * swap replaces it.  Acquire once per request (or batch), not per check.
 */
const struct rbac_index *rbac_holder_acquire(struct rbac_holder *h);
void rbac_holder_release(struct rbac_holder *h, const struct rbac_index *idx);

/*
 * Make idx (which the holder now owns; NULL to empty it) the current
 * index, and release the one it replaces.  version is stored alongside it
 * (the store's role-data version the index was loaded at).
 */
void rbac_holder_swap(struct rbac_holder *h, struct rbac_index *idx, int64_t version);

/* The version passed to the last swap (0 before any). */
int64_t rbac_holder_version(struct rbac_holder *h);

/* How many swaps happened, and how many indexes were freed so far (for tests). */
void rbac_holder_counts(struct rbac_holder *h, uint64_t *swaps, uint64_t *freed);

#endif
