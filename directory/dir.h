/*
 * dir: the cloud directory store.
 *
 * Tenants, users, groups and their membership, apps, role data, second
 * factors, sessions and tokens, the sign-in and audit logs, sync state and
 * signing keys all live here, and every other part reads and writes them
 * through this header only.  Nothing in it names the storage engine (SQLite
 * today) so that another backend can stand behind the same calls.
 *
 * Rules every call follows:
 *  - Every object belongs to one tenant and every call that touches one
 *    takes the tenant id: an object of another tenant is "not found", even
 *    when its id is known.
 *  - Functions return 0 or a negative enum err_code (ERR_NOT_FOUND,
 *    ERR_EXISTS, ERR_INVALID, ...) and fill the caller's struct err.
 *  - Structs are filled into caller-owned memory with fixed-size fields;
 *    input longer than a field's limit is refused with ERR_INVALID, never
 *    truncated.
 *  - A struct dir is one connection: use it from one thread at a time and
 *    open one per thread.  Several processes may open the same store.
 */
#ifndef IDP_DIR_H
#define IDP_DIR_H

#include "clock.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* The schema version this program writes; older stores are migrated. */
#define DIR_SCHEMA_VERSION 11

/* Field sizes, including the NUL. */
#define DIR_ID_MAX        37   /* a lowercase UUID */
#define DIR_TENANT_MAX    64   /* tenant name: [a-z0-9-], the URL path segment */
#define DIR_UPN_MAX       256  /* user principal name */
#define DIR_NAME_MAX      257  /* display names, group names, app names */
#define DIR_DN_MAX        1025 /* an LDAP distinguished name */
#define DIR_ANCHOR_MAX    129  /* source anchor (entryUUID) */
#define DIR_TEXT_MAX      1025 /* descriptions */
#define DIR_URI_MAX       1025 /* one redirect URI */
#define DIR_APP_URIS_MAX  10   /* redirect URIs per app */
#define DIR_HASH_MAX      65   /* hex SHA-256 */
#define DIR_PASSWORD_MAX  1024 /* longest password accepted (bytes) */

struct dir;

struct dir_argon2 {
	uint32_t t_cost;     /* passes */
	uint32_t m_cost_kib; /* memory in KiB */
	uint32_t lanes;      /* parallelism */
};

/* OWASP's argon2id floor: 19 MiB, 2 passes, 1 lane. */
#define DIR_ARGON2_DEFAULT {2, 19 * 1024, 1}

struct dir_options {
	const char *path;    /* database file; created if missing */
	int busy_timeout_ms; /* wait this long for another writer; 0 = 5000 */
	int read_only;       /* open without writing (no migration) */
	/*
	 * Migrate only up to this schema version (0 = DIR_SCHEMA_VERSION).
	 * For tests of the migrations themselves.
	 */
	int target_version;
	struct dir_argon2 argon2; /* all zero = DIR_ARGON2_DEFAULT */
	struct clock clock;       /* NULL now = the real clock */
};

/*
 * Open (creating and migrating if needed) the store described by opts.
 * Refuses a file that is not a database of ours, a corrupt one, a store
 * written by a newer version of this program, and a read-only file unless
 * opts->read_only.  Returns the handle, to be closed with dir_close(), or
 * NULL with err filled.
 */
struct dir *dir_open(const struct dir_options *opts, struct err *err);

/* Close the store; NULL is fine. */
void dir_close(struct dir *d);

/* The schema version of the open store. */
int dir_schema_version(struct dir *d);

/*
 * Group several calls into one transaction: dir_begin() takes the write
 * lock at once, dir_commit() makes everything since durable, dir_rollback()
 * undoes it.  Calls that need atomicity themselves nest inside.
 */
int dir_begin(struct dir *d, struct err *err);
int dir_commit(struct dir *d, struct err *err);
void dir_rollback(struct dir *d);

/*
 * Move everything from the write-ahead log into the database file and
 * truncate the log, so that deleted rows are gone from both files.
 */
int dir_checkpoint(struct dir *d, struct err *err);

/*
 * Checkpoint the write-ahead log from a thread of its own (with a second
 * connection) instead of in the thread that commits, for a writer of many
 * big transactions: a sync.  Started, each commit that leaves the log past
 * 1,000 pages wakes the thread; past 16,000 the commit also waits for it
 * to catch up, so that the log starts over and stays bounded.  d must not
 * be used from two threads still: the thread has its own connection.
 * Stopping (also done by dir_close) hands checkpoints back to SQLite's
 * automatic ones.  0, or ERR_IO/ERR_INTERNAL when the connection or the
 * thread cannot be made; a read-only handle starts nothing.
 */
int dir_ckpt_start(struct dir *d, struct err *err);
void dir_ckpt_stop(struct dir *d);

/*
 * Run the engine's integrity check and check every foreign key; 0 if both
 * pass, else err says what.
 */
int dir_integrity_check(struct dir *d, struct err *err);

/* ---- tenants ---------------------------------------------------------- */

struct dir_tenant {
	char id[DIR_ID_MAX];
	char name[DIR_TENANT_MAX]; /* lowercase letters, digits, '-' */
	char display_name[DIR_NAME_MAX];
	int mfa_required; /* every user of the tenant needs a second factor */
	int64_t created_at, updated_at;
};

/* 1 if name is a valid tenant name: 1..63 of [a-z0-9-], no leading '-'. */
int dir_tenant_name_valid(const char *name);

/*
 * Create a tenant from t->name, t->display_name and t->mfa_required; fills
 * t->id and the times.  ERR_EXISTS if the name is taken.
 */
int dir_tenant_create(struct dir *d, struct dir_tenant *t, struct err *err);

/* Look a tenant up by id or by name. */
int dir_tenant_get(struct dir *d, const char *id, struct dir_tenant *out, struct err *err);
int dir_tenant_get_by_name(struct dir *d, const char *name, struct dir_tenant *out,
			   struct err *err);

/* Change display_name and mfa_required of the tenant t->id. */
int dir_tenant_update(struct dir *d, const struct dir_tenant *t, struct err *err);

/*
 * Call cb for each tenant by name; a non-zero return from cb stops the walk
 * and is returned.
 */
int dir_tenant_list(struct dir *d, int (*cb)(void *ctx, const struct dir_tenant *t), void *ctx,
		    struct err *err);

/*
 * Delete the tenant and every row of it (users, groups, apps, logs, keys,
 * ...), then checkpoint so nothing of it stays in the files.
 */
int dir_tenant_purge(struct dir *d, const char *id, struct err *err);

/* ---- users ------------------------------------------------------------ */

enum dir_source { DIR_SOURCE_CLOUD = 0, DIR_SOURCE_LDAP = 1 };

struct dir_user {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char upn[DIR_UPN_MAX];
	char display_name[DIR_NAME_MAX];
	char given_name[DIR_NAME_MAX];
	char surname[DIR_NAME_MAX];
	char mail[DIR_UPN_MAX];
	int enabled;
	int mfa_required;
	enum dir_source source;
	char source_anchor[DIR_ANCHOR_MAX]; /* LDAP entryUUID; empty for cloud users */
	char source_dn[DIR_DN_MAX];         /* where the entry was last seen */
	int has_password;                   /* a cloud password is set */
	int64_t created_at, updated_at;
	int64_t deleted_at; /* soft-deleted at; 0 if live */
};

/*
 * Create a user in tenant_id from u's fields (upn, names, mail, enabled,
 * mfa_required, source, source_anchor, source_dn); fills u->id, tenant_id
 * and the times.  password may be NULL (no password: pass-through or no
 * sign-in); it is stored as an argon2id hash.  ERR_EXISTS if a live user of
 * the tenant has the same UPN in any letter case, or the same source anchor.
 */
int dir_user_create(struct dir *d, const char *tenant_id, struct dir_user *u,
		    const char *password, struct err *err);

/* Look a user up by id, by UPN (any case) or by source anchor. */
int dir_user_get(struct dir *d, const char *tenant_id, const char *id, struct dir_user *out,
		 struct err *err);
int dir_user_get_by_upn(struct dir *d, const char *tenant_id, const char *upn,
			struct dir_user *out, struct err *err);
int dir_user_get_by_anchor(struct dir *d, const char *tenant_id, const char *anchor,
			   struct dir_user *out, struct err *err);

/*
 * Write u's upn, names, mail, enabled, mfa_required and source_dn to the
 * user u->id of tenant_id.  The source and anchor never change.
 */
int dir_user_update(struct dir *d, const char *tenant_id, const struct dir_user *u,
		    struct err *err);

/* Set (or with NULL, clear) a user's password. */
int dir_user_set_password(struct dir *d, const char *tenant_id, const char *id,
			  const char *password, struct err *err);

/*
 * Check a password against the user's stored hash in constant time.
 * 0 if it matches; ERR_DENIED if it does not or the user has no password;
 * ERR_NOT_FOUND if there is no such live user.  When it matches and the hash
 * was made with other argon2 parameters than the store's, it is rehashed.
 */
int dir_user_check_password(struct dir *d, const char *tenant_id, const char *id,
			    const char *password, struct err *err)
	__attribute__((warn_unused_result));

/*
 * Spend the time one password check takes, for a name that matched no
 * user, so that a failed sign-in takes as long whether the name exists or
 * not (no user enumeration by timing).
 */
void dir_password_burn(struct dir *d, const char *password);

/* Soft-delete (recoverable) and restore. */
int dir_user_soft_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err);
int dir_user_restore(struct dir *d, const char *tenant_id, const char *id, struct err *err);

/*
 * Remove the user for good: its row, memberships, factors, sessions,
 * tokens, role assignments and sign-in rows, with its name redacted from
 * the audit log; then checkpoint.
 */
int dir_user_purge(struct dir *d, const char *tenant_id, const char *id, struct err *err);

/*
 * Purge every user and group, of every tenant, soft-deleted before
 * older_than (their retention has passed).  *purged (may be NULL) gets the
 * count.  For the daemons' housekeeping.
 */
int dir_purge_deleted(struct dir *d, int64_t older_than, int *purged, struct err *err);

struct dir_user_query {
	const char *after_upn; /* keyset cursor: start after this UPN (any case) */
	int limit;             /* 0 = no limit */
	int include_deleted;   /* also soft-deleted users */
	int source;            /* -1 = any, else enum dir_source */
	const char *prefix;    /* only UPNs starting with this, in any case (NULL = all) */
};

/* Call cb for each matching user in UPN order; non-zero from cb stops. */
int dir_user_list(struct dir *d, const char *tenant_id, const struct dir_user_query *q,
		  int (*cb)(void *ctx, const struct dir_user *u), void *ctx, struct err *err);

/* ---- groups and membership -------------------------------------------- */

struct dir_group {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char name[DIR_NAME_MAX]; /* unique per tenant in any letter case */
	char description[DIR_TEXT_MAX];
	enum dir_source source;
	char source_anchor[DIR_ANCHOR_MAX];
	char source_dn[DIR_DN_MAX];
	int64_t created_at, updated_at;
	int64_t deleted_at;
};

int dir_group_create(struct dir *d, const char *tenant_id, struct dir_group *g, struct err *err);
int dir_group_get(struct dir *d, const char *tenant_id, const char *id, struct dir_group *out,
		  struct err *err);
int dir_group_get_by_name(struct dir *d, const char *tenant_id, const char *name,
			  struct dir_group *out, struct err *err);
int dir_group_get_by_anchor(struct dir *d, const char *tenant_id, const char *anchor,
			    struct dir_group *out, struct err *err);
/* Write name, description and source_dn of group g->id. */
int dir_group_update(struct dir *d, const char *tenant_id, const struct dir_group *g,
		     struct err *err);
int dir_group_soft_delete(struct dir *d, const char *tenant_id, const char *id,
			  struct err *err);
int dir_group_restore(struct dir *d, const char *tenant_id, const char *id, struct err *err);
/* Remove the group, its memberships and role assignments for good. */
int dir_group_purge(struct dir *d, const char *tenant_id, const char *id, struct err *err);
/* Call cb for each group by name (after_name: keyset cursor, may be NULL). */
int dir_group_list(struct dir *d, const char *tenant_id, const char *after_name, int limit,
		   int (*cb)(void *ctx, const struct dir_group *g), void *ctx, struct err *err);

enum dir_member_kind { DIR_MEMBER_USER = 0, DIR_MEMBER_GROUP = 1 };

/*
 * Make the user or group member_id a direct member of group_id.  Both must
 * exist in tenant_id (ERR_NOT_FOUND otherwise); a group cannot contain
 * itself (ERR_INVALID); adding an existing member is not an error.
 * Cycles through other groups are allowed, as LDAP allows them, and every
 * query below survives them.
 */
int dir_group_add_member(struct dir *d, const char *tenant_id, const char *group_id,
			 enum dir_member_kind kind, const char *member_id, struct err *err);

/* Remove a direct membership; ERR_NOT_FOUND if there was none. */
int dir_group_remove_member(struct dir *d, const char *tenant_id, const char *group_id,
			    enum dir_member_kind kind, const char *member_id, struct err *err);

struct dir_member {
	enum dir_member_kind kind;
	char id[DIR_ID_MAX];
	char name[DIR_UPN_MAX > DIR_NAME_MAX ? DIR_UPN_MAX : DIR_NAME_MAX]; /* UPN or group name */
};

/* Call cb for each direct member of a group (users, then groups). */
int dir_group_members(struct dir *d, const char *tenant_id, const char *group_id,
		      int (*cb)(void *ctx, const struct dir_member *m), void *ctx,
		      struct err *err);

/*
 * Call cb for every live group the user or group is a member of, directly
 * or through nested groups, each once, cycles included.
 */
int dir_member_of(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		  const char *member_id, int (*cb)(void *ctx, const struct dir_group *g),
		  void *ctx, struct err *err);

/* ---- apps ------------------------------------------------------------- */

enum {
	DIR_GRANT_AUTHORIZATION_CODE = 1,
	DIR_GRANT_REFRESH_TOKEN = 2,
	DIR_GRANT_CLIENT_CREDENTIALS = 4
};

struct dir_app {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char client_id[DIR_ID_MAX];
	char name[DIR_NAME_MAX];
	int confidential;               /* has a client secret */
	char secret_hash[DIR_HASH_MAX]; /* hex SHA-256 of the secret; empty if public */
	char redirect_uris[DIR_APP_URIS_MAX][DIR_URI_MAX];
	int n_redirect_uris;
	unsigned grants;  /* DIR_GRANT_* */
	int mfa_required; /* users need a second factor for this app */
	char token_alg[8]; /* "RS256" or "ES256" */
	int64_t created_at, updated_at;
};

/*
 * Register an app; fills id, client_id (when empty) and the times.  A
 * confidential app needs secret_hash; a public one must not have one and
 * cannot use client_credentials.
 */
int dir_app_create(struct dir *d, const char *tenant_id, struct dir_app *a, struct err *err);
int dir_app_get(struct dir *d, const char *tenant_id, const char *id, struct dir_app *out,
		struct err *err);
int dir_app_get_by_client_id(struct dir *d, const char *tenant_id, const char *client_id,
			     struct dir_app *out, struct err *err);
/* Write name, redirect URIs, grants, mfa_required, token_alg of app a->id. */
int dir_app_update(struct dir *d, const char *tenant_id, const struct dir_app *a,
		   struct err *err);
/* Replace the secret hash (rotation). */
int dir_app_set_secret_hash(struct dir *d, const char *tenant_id, const char *id,
			    const char *secret_hash, struct err *err);
int dir_app_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err);
int dir_app_list(struct dir *d, const char *tenant_id,
		 int (*cb)(void *ctx, const struct dir_app *a), void *ctx, struct err *err);

/* ---- audit log -------------------------------------------------------- */

struct dir_audit {
	int64_t id;                     /* assigned on append, increasing */
	int64_t time;                   /* assigned on append */
	char actor[DIR_UPN_MAX];        /* who: a UPN, "app:CLIENT_ID" or "idpctl" */
	char action[64];                /* what, e.g. "user.create" */
	char target_type[32];           /* "user", "group", "app", ... */
	char target_id[DIR_ID_MAX];     /* the object's id (never its secret) */
	char summary[DIR_TEXT_MAX];     /* before/after in a few words */
	char ip[64];                    /* source address, "" for local tools */
};

/*
 * Append one record to the tenant's audit log.  There is no call to change
 * or remove a record: the log is append-only except for purges, which
 * redact what a record said about the purged object.
 */
int dir_audit_append(struct dir *d, const char *tenant_id, struct dir_audit *a,
		     struct err *err);

/* Call cb for each record with id > after_id, oldest first, at most limit (0 = all). */
int dir_audit_list(struct dir *d, const char *tenant_id, int64_t after_id, int limit,
		   int (*cb)(void *ctx, const struct dir_audit *a), void *ctx, struct err *err);

/* ---- role data (rbac) ------------------------------------------------ */

/*
 * Role definitions, role assignments and deny assignments of a tenant, as
 * rows.  The store checks their shape (lengths, JSON structure, known
 * principal types); what patterns and scopes mean, and the rules between
 * rows (assignable scopes, principals that exist, built-ins read-only at
 * the API) are rbac_store's, which every writer should go through.
 *
 * Pattern and scope lists are JSON arrays of strings, e.g.
 * ["idp/users/read", "idp/groups/write"]; principal lists are JSON arrays of
 * objects {"type": "user"|"group"|"app"|"everyone", "id": "..."} (no id
 * for everyone).  Reads return them in compact canonical form.
 */
#define DIR_SCOPE_MAX     1025  /* a scope path */
#define DIR_ROLE_LIST_MAX 16385 /* one JSON list */

enum dir_principal_type { DIR_PRINCIPAL_USER = 0, DIR_PRINCIPAL_GROUP = 1, DIR_PRINCIPAL_APP = 2 };

/* "user", "group", "app"; and the reverse (-1 if unknown). */
const char *dir_principal_type_name(enum dir_principal_type t);
int dir_principal_type_parse(const char *s);

struct dir_role {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char name[DIR_NAME_MAX]; /* unique per tenant in any letter case */
	char description[DIR_TEXT_MAX];
	int builtin;
	char actions[DIR_ROLE_LIST_MAX];           /* JSON array of patterns */
	char not_actions[DIR_ROLE_LIST_MAX];       /* JSON array of patterns */
	char data_actions[DIR_ROLE_LIST_MAX];      /* JSON array of patterns */
	char not_data_actions[DIR_ROLE_LIST_MAX];  /* JSON array of patterns */
	char assignable_scopes[DIR_ROLE_LIST_MAX]; /* JSON array of scopes; "" = ["/"] */
	int64_t created_at, updated_at;
};

/*
 * Create a role definition from r's name, description, lists and builtin
 * flag; fills r->id (unless the caller set one), tenant_id and the times.
 * An empty list field is stored as [].  ERR_EXISTS if the name (any case)
 * or id is taken; ERR_INVALID for a list that is not a JSON array of
 * strings.
 */
int dir_role_create(struct dir *d, const char *tenant_id, struct dir_role *r, struct err *err);

/*
 * Insert or overwrite the built-in role r->id (builtin = 1) with r's name,
 * description and lists.  For rbac_store_seed_builtins only.
 */
int dir_role_seed(struct dir *d, const char *tenant_id, const struct dir_role *r,
		  struct err *err);

/*
 * Write name, description and lists of the custom role r->id.
 * ERR_DENIED for a built-in role, ERR_NOT_FOUND, ERR_EXISTS (name taken).
 */
int dir_role_update(struct dir *d, const char *tenant_id, const struct dir_role *r,
		    struct err *err);

/*
 * Delete a custom role.  ERR_DENIED for a built-in one; ERR_EXISTS while
 * assignments use it (delete those first); ERR_NOT_FOUND.
 */
int dir_role_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err);

/* Look a role up by id or by name (any case).  out may be large: see DIR_ROLE_LIST_MAX. */
int dir_role_get(struct dir *d, const char *tenant_id, const char *id, struct dir_role *out,
		 struct err *err);
int dir_role_get_by_name(struct dir *d, const char *tenant_id, const char *name,
			 struct dir_role *out, struct err *err);

/* Call cb for each role, built-ins first, then by name; non-zero from cb stops. */
int dir_role_list(struct dir *d, const char *tenant_id,
		  int (*cb)(void *ctx, const struct dir_role *r), void *ctx, struct err *err);

struct dir_role_assignment {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char role_id[DIR_ID_MAX];
	enum dir_principal_type principal_type;
	char principal_id[DIR_ID_MAX];
	char scope[DIR_SCOPE_MAX];
	int64_t created_at;
	/* Filled by reads: the principal exists and is not soft-deleted. */
	int principal_live;
};

/*
 * Create an assignment from a's role_id, principal and scope; fills id,
 * tenant_id and created_at.  ERR_NOT_FOUND if the role is not in the
 * tenant; ERR_EXISTS if the same (role, principal, scope) exists.
 */
int dir_role_assignment_create(struct dir *d, const char *tenant_id,
			       struct dir_role_assignment *a, struct err *err);
int dir_role_assignment_get(struct dir *d, const char *tenant_id, const char *id,
			    struct dir_role_assignment *out, struct err *err);
int dir_role_assignment_delete(struct dir *d, const char *tenant_id, const char *id,
			       struct err *err);

/* Which assignments to list: NULL fields match anything; scope matches exactly. */
struct dir_role_assignment_filter {
	const char *role_id;
	const char *principal_id;
	const char *scope;
};

/* Call cb for each matching assignment, oldest first (f may be NULL). */
int dir_role_assignment_list(struct dir *d, const char *tenant_id,
			     const struct dir_role_assignment_filter *f,
			     int (*cb)(void *ctx, const struct dir_role_assignment *a), void *ctx,
			     struct err *err);

struct dir_deny_assignment {
	char id[DIR_ID_MAX];
	char tenant_id[DIR_ID_MAX];
	char name[DIR_NAME_MAX];
	char description[DIR_TEXT_MAX];
	char principals[DIR_ROLE_LIST_MAX];          /* JSON array of principals */
	char excluded_principals[DIR_ROLE_LIST_MAX]; /* JSON array of principals */
	char actions[DIR_ROLE_LIST_MAX];             /* JSON array of patterns */
	char not_actions[DIR_ROLE_LIST_MAX];
	char data_actions[DIR_ROLE_LIST_MAX];
	char not_data_actions[DIR_ROLE_LIST_MAX];
	char scope[DIR_SCOPE_MAX];
	int64_t created_at;
};

/* Create a deny assignment from x's fields; fills id, tenant_id, created_at. */
int dir_deny_create(struct dir *d, const char *tenant_id, struct dir_deny_assignment *x,
		    struct err *err);
/* Write every field but id and created_at of deny assignment x->id. */
int dir_deny_update(struct dir *d, const char *tenant_id, const struct dir_deny_assignment *x,
		    struct err *err);
int dir_deny_get(struct dir *d, const char *tenant_id, const char *id,
		 struct dir_deny_assignment *out, struct err *err);
int dir_deny_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err);
/* Call cb for each deny assignment, oldest first. */
int dir_deny_list(struct dir *d, const char *tenant_id,
		  int (*cb)(void *ctx, const struct dir_deny_assignment *x), void *ctx,
		  struct err *err);

struct dir_membership {
	enum dir_member_kind kind; /* the member is a user or a group */
	char member_id[DIR_ID_MAX];
	char group_id[DIR_ID_MAX];
};

/*
 * Call cb for every direct membership of the tenant whose member and group
 * are both live (not soft-deleted): what the evaluator's index needs to
 * expand nested groups.
 */
int dir_membership_list(struct dir *d, const char *tenant_id,
			int (*cb)(void *ctx, const struct dir_membership *m), void *ctx,
			struct err *err);

/*
 * The tenant's role-data version: a counter that every change to role
 * definitions, assignments, deny assignments, group membership, and to the
 * deletion state of users, groups and apps increases (triggers in the
 * schema do it, whichever process writes).  An index loaded at version v is
 * current while this still says v.  0 if nothing changed yet.
 */
int dir_role_data_version(struct dir *d, const char *tenant_id, int64_t *out, struct err *err);

/*
 * A read snapshot: every read between begin and end sees the store as it
 * was at the first read (the loader reads four tables consistently).
 * Takes no write lock.  ERR_INVALID if a transaction is open already;
 * call end only after a successful begin.
 */
int dir_role_read_begin(struct dir *d, struct err *err);
void dir_role_read_end(struct dir *d);


/* ---- sync state (sync) ------------------------------------------------ */

/*
 * What the directory sync (sync/) keeps here: its state per connector (the
 * RFC 4533 cookie), the record of its cycles, and the calls that apply what
 * it reads from LDAP to the synced objects of one tenant.  The apply calls
 * only ever reach objects with source "ldap" of the tenant they are given:
 * cloud-only objects and other tenants are out of their reach.
 *
 * Objects are matched by their source anchor (entryUUID), never by name.
 * Besides it, the sync gives each object the keys that group members are
 * named by: its DN key ("dn:" and the normalized, case-folded DN) and, for
 * users, a uid key ("uid:" and the folded uid, for posixGroup memberUid).
 * A synced group's member references are kept as LDAP gives them, resolved
 * or not (an entry may arrive after the group naming it); the membership
 * tables hold the resolved ones and follow whenever a group's references or
 * an object's keys change (added, renamed, moved, deleted, restored).  A
 * soft-deleted object has no keys, so it is a member of nothing until it
 * comes back.
 *
 * Full syncs and present-phase refreshes prove absence by marking what they
 * saw: marks live in the connection (one struct dir), never in the files,
 * and a sweep soft-deletes the live synced objects left unmarked.
 */

#define DIR_SYNC_KEY_MAX       (2 * DIR_DN_MAX + 8) /* "dn:" + folded DN, or "uid:" + uid */
#define DIR_SYNC_CONNECTOR_MAX 64

/* What a put did. */
enum dir_sync_change { DIR_SYNC_UNCHANGED = 0, DIR_SYNC_ADDED = 1, DIR_SYNC_UPDATED = 2 };

/*
 * Create, update or restore the synced user whose source anchor is
 * u->source_anchor, from u's upn, names, mail, enabled and source_dn (its
 * mfa_required and password are the store's and are kept), with the keys
 * dn_key and uid_key (either may be NULL or "").  flags: DIR_SYNC_PUT_*.
 * Fills u->id.  Returns enum dir_sync_change, or a negative err code:
 * ERR_EXISTS when another live user has the UPN, ERR_INVALID for a field
 * that does not fit.  Atomic: on failure nothing of it was written.
 */
enum {
	DIR_SYNC_PUT_MARK = 1, /* also mark it seen */
	/*
	 * A first full sync (dir_sync_first()) before any group was put, by
	 * the tenant's one connector (dir_sync_claim()): the object is new and
	 * no member reference can name it, so it is inserted without looking
	 * first (it is looked for if the insert clashes).
	 */
	DIR_SYNC_PUT_FIRST = 2,
};
int dir_sync_user_put(struct dir *d, const char *tenant_id, struct dir_user *u,
		      const char *dn_key, const char *uid_key, int flags, struct err *err);

/*
 * n new users in one statement, each as dir_sync_user_put() with
 * DIR_SYNC_PUT_FIRST (and no mark) would insert it: one statement of many
 * rows costs a third less than as many statements of one (measured).  n is
 * DIR_SYNC_PUT_MANY, or a quarter or a sixteenth of it (what is left of a
 * page).  All or nothing: 0 when every one was inserted (ids and times
 * filled), ERR_INVALID, ERR_EXISTS or ERR_NOT_FOUND when any one would not
 * be (nothing was written: put them one at a time to learn which and why),
 * or another err code when the store fails.  u, dn_keys and uid_keys hold
 * n entries each (keys may be "").
 */
#define DIR_SYNC_PUT_MANY 64
int dir_sync_users_put_first(struct dir *d, const char *tenant_id, struct dir_user *u,
			     char (*dn_keys)[DIR_SYNC_KEY_MAX],
			     char (*uid_keys)[DIR_SYNC_KEY_MAX], size_t n, struct err *err);

/*
 * The same for a group, from g's name, description and source_dn, with its
 * DN key and its member references: n keys (borrowed; the array, not the
 * strings, is sorted in place), which replace the group's previous ones.
 */
int dir_sync_group_put(struct dir *d, const char *tenant_id, struct dir_group *g,
		       const char *dn_key, char **member_keys, size_t n, int flags,
		       struct err *err);

/*
 * 1 if the tenant holds no synced user or group (live or deleted) and no
 * member reference, 0 if it does, or a negative err code.  A full sync
 * into such a tenant has nothing to sweep: it need not mark what it sees.
 */
int dir_sync_first(struct dir *d, const char *tenant_id, struct err *err);

/*
 * Soft-delete the live synced user or group with this anchor (a user's
 * sessions end with it), if its DN key is base_key or below it (NULL: any):
 * the base whose search said it is gone, so that an entry that moved to
 * another base and was put there already stays.  1 if one was deleted, 0
 * if there was none.
 */
int dir_sync_delete(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		    const char *anchor, const char *base_key, struct err *err);

/*
 * Marks, per connection.  DIR_SYNC_SEEN: the object is in the source (a
 * put with mark, or a present message).  DIR_SYNC_GONE: the source said it
 * is gone, to be deleted by dir_sync_apply_gone() once the read completed;
 * seen afterwards (it moved out of scope and back) takes that back.
 * dir_sync_marks_reset() forgets both.
 */
enum dir_sync_mark { DIR_SYNC_SEEN = 0, DIR_SYNC_GONE = 1 };
int dir_sync_marks_reset(struct dir *d, struct err *err);
int dir_sync_mark(struct dir *d, enum dir_sync_mark mark, enum dir_member_kind kind,
		  const char *anchor, struct err *err);
/* DIR_SYNC_GONE said by the search of base_key: applies while the object is under it. */
int dir_sync_mark_gone(struct dir *d, enum dir_member_kind kind, const char *anchor,
		       const char *base_key, struct err *err);

/*
 * The live synced users or groups of the tenant whose DN key is base_key or
 * below it (NULL: all of them) and that are not marked seen: with dry_run,
 * count them; otherwise soft-delete them.  Returns the count or a negative
 * err code.
 */
int dir_sync_sweep(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		   const char *base_key, int dry_run, struct err *err);

/* The same for the objects marked gone that are live: count or delete them. */
int dir_sync_apply_gone(struct dir *d, const char *tenant_id, int dry_run, struct err *err);

/*
 * Names handed round: synced objects that exchange names (two users
 * swapping UPNs, a longer round of groups) cannot be put one at a time,
 * each new name being held by another until that one moves.  Put them
 * together: dir_sync_exchange_begin() opens a savepoint (a batch must be
 * open); dir_sync_exchange_vacate() gives the live synced object of anchor
 * a placeholder name of its own (a control character first, which no real
 * name has), so the puts that follow find the names free;
 * dir_sync_exchange_left() calls cb for each live object of the tenant
 * that still has a placeholder (it was not put again) and returns how
 * many, or an err code; dir_sync_exchange_end() releases the savepoint,
 * keeping everything since begin when keep is non-zero and rolling it back
 * otherwise.  Keep only when nothing is left.  0 or an err code (a failed
 * rollback is one: the caller must then roll back its batch).
 */
int dir_sync_exchange_begin(struct dir *d, struct err *err);
int dir_sync_exchange_vacate(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			     const char *anchor, struct err *err);
int dir_sync_exchange_left(struct dir *d, const char *tenant_id,
			   void (*cb)(void *ctx, enum dir_member_kind kind, const char *anchor),
			   void *ctx, struct err *err);
int dir_sync_exchange_end(struct dir *d, int keep, struct err *err);

/*
 * A connector's cookie (opaque text, NULL when none: the next cycle is a
 * full one) and when its last full sync completed.  get: *cookie is
 * allocated, the caller frees it with free(); ERR_NOT_FOUND if the
 * connector never synced.  set: cookie NULL clears it; full non-zero also
 * records now as the last full sync.
 */
int dir_sync_state_get(struct dir *d, const char *tenant_id, const char *connector,
		       char **cookie, int64_t *last_full_at, struct err *err);

/*
 * Make connector the tenant's one sync connector: ERR_EXISTS (naming it)
 * when another connector holds the tenant.  Synced objects do not say which
 * connector made them, and a full sync deletes the synced objects it did
 * not see, so two connectors on one tenant would delete each other's.
 */
int dir_sync_claim(struct dir *d, const char *tenant_id, const char *connector,
		   struct err *err);
int dir_sync_state_set(struct dir *d, const char *tenant_id, const char *connector,
		       const char *cookie, int full, struct err *err);

struct dir_sync_cycle {
	int64_t id;
	char connector[DIR_SYNC_CONNECTOR_MAX];
	char kind[16];   /* "full", "delta", "persist" */
	char status[16]; /* "running", "ok", "failed", "stopped", "threshold", "interrupted" */
	int64_t started_at, finished_at; /* finished_at 0 while running */
	int64_t added, updated, deleted, unchanged, errors;
	char message[DIR_TEXT_MAX];
};

/*
 * Record the start of a cycle from c's connector and kind; fills c->id,
 * started_at and status "running".  Keeps the newest 1000 cycles of the
 * connector and drops older ones.
 */
int dir_sync_cycle_start(struct dir *d, const char *tenant_id, struct dir_sync_cycle *c,
			 struct err *err);

/* Write c's counts, status, message and finished_at to the cycle c->id. */
int dir_sync_cycle_save(struct dir *d, const char *tenant_id, const struct dir_sync_cycle *c,
			struct err *err);

/*
 * Mark the connector's cycles still "running" as "interrupted" (a sync
 * process that died cannot finish them).  Returns how many, or an err code.
 */
int dir_sync_cycle_interrupted(struct dir *d, const char *tenant_id, const char *connector,
			       struct err *err);

/*
 * Bulk loading for a first full sync (dir_sync_first()): with on, this
 * connection stops checking foreign keys (and so cascading deletes) until
 * it is called with off; other connections are not affected.  Checking
 * them was 6% of a first full sync: a lookup of the tenant for every user,
 * of the group for every reference.  What a first sync writes cannot break
 * one: every row names the tenant being synced, and every reference and
 * membership takes its rids from rows the same statement reads; triggers
 * (tenant isolation, RBAC versions) still run.  What could break one is
 * another process deleting the tenant between two batches, so each batch
 * begins with dir_sync_bulk_check().  Only outside a transaction (SQLite
 * ignores the pragma inside one); a bulk batch must not delete users,
 * groups or tenants.
 */
int dir_sync_bulk(struct dir *d, int on, struct err *err);

/*
 * In a bulk batch's transaction, before it writes: ERR_NOT_FOUND if the
 * tenant is gone (deleted since the previous batch), else 0.
 */
int dir_sync_bulk_check(struct dir *d, const char *tenant_id, struct err *err);

/*
 * Settings for the connection that applies a sync: a page cache of
 * cache_kib, marks kept in memory, and commits that are atomic and ordered
 * but not each flushed to the disk (SQLite's synchronous=NORMAL with WAL).
 * That is safe for the sync because every batch stores its own cookie: a
 * power loss that takes the last batches with it leaves the store as it
 * was after an earlier batch, with that batch's cookie, and the next run
 * replays the rest from the server.
 */
int dir_sync_tune(struct dir *d, int cache_kib, struct err *err);

/* Call cb for the connector's last limit cycles (0 = all), newest first. */
int dir_sync_cycle_list(struct dir *d, const char *tenant_id, const char *connector, int limit,
			int (*cb)(void *ctx, const struct dir_sync_cycle *c), void *ctx,
			struct err *err);

/* ---- second factors (mfa) --------------------------------------------- */

/*
 * TOTP credentials and recovery codes.  The store never holds a secret in
 * the clear: secret_enc arrives sealed by the idp (idp/secretbox.h) and is
 * opaque here, recovery codes arrive as digests.  Replay protection and
 * lockout are single UPDATE statements whose conditions sit in the WHERE
 * clause, so they hold across processes and across idp nodes that share
 * the store: two nodes offered the same code accept it once between them.
 */

#define DIR_TOTP_SEALED_MAX 512 /* a sealed TOTP secret as text */
#define DIR_RECOVERY_MAX    32  /* most recovery codes a user can hold */

struct dir_totp {
	char user_id[DIR_ID_MAX];
	char secret_enc[DIR_TOTP_SEALED_MAX]; /* sealed secret; opaque to the store */
	char algorithm[8];                    /* "SHA1", "SHA256" or "SHA512" */
	int digits;                           /* 6 or 8 */
	int period;                           /* seconds per step, 1..300 */
	int confirmed;       /* 0 while enrollment waits for the first good code */
	int64_t last_step;   /* highest time step accepted so far; 0 = none */
	int failures;        /* failed attempts in the current window */
	int64_t window_start; /* when the current failure window began */
	int64_t locked_until; /* attempts refused until then; 0 = never locked */
	int64_t created_at;
};

/*
 * Store t (user_id, secret_enc, algorithm, digits, period) as the user's
 * pending, unconfirmed credential, replacing a pending one and its
 * counters; fills t->created_at and zeroes the counters.  ERR_EXISTS if the
 * user has a confirmed credential (remove it first); ERR_NOT_FOUND if the
 * tenant has no such user.
 */
int dir_totp_put_pending(struct dir *d, const char *tenant_id, struct dir_totp *t,
			 struct err *err);

/* The user's credential (pending or confirmed); ERR_NOT_FOUND if none. */
int dir_totp_get(struct dir *d, const char *tenant_id, const char *user_id, struct dir_totp *out,
		 struct err *err);

/*
 * Complete enrollment, in one transaction: the pending credential whose
 * sealed secret is still secret_enc becomes confirmed with step as its
 * first accepted step and its counters reset, and the user's recovery
 * codes become the n digests in code_hashes (n <= DIR_RECOVERY_MAX; hex
 * SHA-256).  ERR_NOT_FOUND if there is no such pending credential (it was
 * removed, confirmed or restarted meanwhile); ERR_DENIED if it is locked at
 * now.
 */
int dir_totp_confirm(struct dir *d, const char *tenant_id, const char *user_id,
		     const char *secret_enc, int64_t step, int64_t now,
		     const char *const *code_hashes, int n, struct err *err)
	__attribute__((warn_unused_result));

/*
 * Accept time step `step` for the user's confirmed credential, atomically:
 * only if every step accepted before is lower (RFC 6238 §5.2) and the
 * credential is not locked at now.  Resets the failure count.  0 if
 * accepted; ERR_DENIED if refused (replayed, or locked: read the credential
 * to tell which); ERR_NOT_FOUND if there is no confirmed credential.
 */
int dir_totp_accept(struct dir *d, const char *tenant_id, const char *user_id, int64_t step,
		    int64_t now, struct err *err) __attribute__((warn_unused_result));

struct dir_totp_limits {
	int max_failures; /* this many failures within window lock the factor */
	int64_t window;   /* seconds */
	int64_t lockout;  /* seconds the lock lasts */
};

/*
 * Count one failed attempt at now, atomically.  Failures more than
 * lim->window after the window's first one start a new window, and so does
 * the first failure after a lock ended; reaching lim->max_failures locks the
 * credential until now + lim->lockout.  An attempt while locked changes
 * nothing.  Fills *failures and *locked_until (either may be NULL) with the
 * state afterwards.  ERR_NOT_FOUND if the user has no credential.
 */
int dir_totp_fail(struct dir *d, const char *tenant_id, const char *user_id, int64_t now,
		  const struct dir_totp_limits *lim, int *failures, int64_t *locked_until,
		  struct err *err);

/*
 * Remove the user's credential (pending or confirmed) and recovery codes.
 * ERR_NOT_FOUND if there was no credential.
 */
int dir_totp_delete(struct dir *d, const char *tenant_id, const char *user_id, struct err *err);

/*
 * Copy the digests of the user's unused recovery codes (at most cap) into
 * hashes; *n is how many.
 */
int dir_recovery_unused(struct dir *d, const char *tenant_id, const char *user_id,
			char (*hashes)[DIR_HASH_MAX], int cap, int *n, struct err *err);

/*
 * Mark the recovery code with this digest used at now, atomically and only
 * if it is still unused: 0 if this call used it, ERR_DENIED if it was used
 * already or never existed.
 */
int dir_recovery_consume(struct dir *d, const char *tenant_id, const char *user_id,
			 const char *code_hash, int64_t now, struct err *err)
	__attribute__((warn_unused_result));

/*
 * Replace all the user's recovery codes with the n digests (a new set
 * invalidates the old one).  ERR_NOT_FOUND unless the user has a confirmed
 * credential.
 */
int dir_recovery_replace(struct dir *d, const char *tenant_id, const char *user_id,
			 const char *const *code_hashes, int n, struct err *err);

/* How many of the user's recovery codes are unused and used. */
int dir_recovery_count(struct dir *d, const char *tenant_id, const char *user_id, int *unused,
		       int *used, struct err *err);

/*
 * Every sealed value in the store, for re-encryption under a new key: TOTP
 * secrets (object: the user id) and private signing keys (object: the key
 * id).  The walk reads the store in batches, so cb may call
 * dir_sealed_replace(); a non-zero return from cb stops it and is returned.
 */
enum dir_sealed_kind { DIR_SEALED_TOTP = 0, DIR_SEALED_SIGNING_KEY = 1 };

struct dir_sealed {
	enum dir_sealed_kind kind;
	char tenant_id[DIR_ID_MAX];
	char object_id[DIR_NAME_MAX]; /* user id, or signing key id */
	const char *value;            /* borrowed for the callback's duration */
};

int dir_sealed_each(struct dir *d, int (*cb)(void *ctx, const struct dir_sealed *s), void *ctx,
		    struct err *err);

/*
 * Replace the sealed value s->value of s's row with value, only if the row
 * still holds s->value (so a value written meanwhile is never clobbered):
 * 0, or ERR_NOT_FOUND if it changed or went.
 */
int dir_sealed_replace(struct dir *d, const struct dir_sealed *s, const char *value,
		       struct err *err);


/* ---- sessions, codes, refresh tokens, signing keys (idp) --------------- */

/*
 * Secrets (session cookies, codes, refresh tokens) are never stored: the
 * store keys them by the hex SHA-256 of the value the client holds.
 */

#define DIR_AMR_MAX   64  /* space-separated methods: "pwd otp mfa" */
#define DIR_OAUTH_SCOPE_MAX 512 /* space-separated OAuth scopes */

struct dir_session {
	char id_hash[DIR_HASH_MAX]; /* SHA-256 of the cookie value */
	char tenant_id[DIR_ID_MAX];
	char user_id[DIR_ID_MAX];
	int64_t auth_time;          /* when the user last proved a password */
	char amr[DIR_AMR_MAX];
	int64_t mfa_time;           /* when a second factor was last proved; 0 never */
	int64_t created_at, last_seen_at;
	int64_t expires_at;         /* absolute end of the session */
	char ip[64];
	char user_agent[256];
};

/* Store a new session (all fields set by the caller but created/last_seen). */
int dir_session_create(struct dir *d, const char *tenant_id, struct dir_session *s,
		       struct err *err);
/* The session with this hash; ERR_NOT_FOUND if none (expiry is the caller's rule). */
int dir_session_get(struct dir *d, const char *tenant_id, const char *id_hash,
		    struct dir_session *out, struct err *err);
/* Record use now (idle timeout). */
int dir_session_touch(struct dir *d, const char *tenant_id, const char *id_hash,
		      struct err *err);
/* Record a proved factor: set amr and auth/mfa times as given (0 keeps a time). */
int dir_session_update_auth(struct dir *d, const char *tenant_id, const char *id_hash,
			    const char *amr, int64_t auth_time, int64_t mfa_time, struct err *err);
/* End one session, or every session of a user. */
int dir_session_delete(struct dir *d, const char *tenant_id, const char *id_hash,
		       struct err *err);
int dir_session_delete_user(struct dir *d, const char *tenant_id, const char *user_id,
			    struct err *err);
/* Call cb for each session of a user, newest first. */
int dir_session_list_user(struct dir *d, const char *tenant_id, const char *user_id,
			  int (*cb)(void *ctx, const struct dir_session *s), void *ctx,
			  struct err *err);

struct dir_code {
	char code_hash[DIR_HASH_MAX];
	char app_id[DIR_ID_MAX];
	char user_id[DIR_ID_MAX];
	char session_hash[DIR_HASH_MAX];
	char redirect_uri[DIR_URI_MAX];
	char scope[DIR_OAUTH_SCOPE_MAX];
	char nonce[256];
	char code_challenge[64]; /* S256 challenge, base64url of 32 bytes */
	int64_t auth_time;
	char amr[DIR_AMR_MAX];
	char grant_id[DIR_ID_MAX]; /* names every token issued from this code */
	char resource[DIR_URI_MAX]; /* RFC 8707 resource, or empty */
	int64_t created_at, expires_at, used_at;
};

int dir_code_create(struct dir *d, const char *tenant_id, const struct dir_code *c,
		    struct err *err);

/*
 * Redeem a code at most once, atomically across processes: 0 and out filled
 * when it was unused (it is now used); ERR_DENIED with out filled when it had
 * been used before (the caller revokes out->grant_id); ERR_NOT_FOUND when
 * there is no such code.  Expiry is checked by the caller from out.
 */
int dir_code_redeem(struct dir *d, const char *tenant_id, const char *code_hash,
		    struct dir_code *out, struct err *err) __attribute__((warn_unused_result));

struct dir_refresh {
	char token_hash[DIR_HASH_MAX];
	char grant_id[DIR_ID_MAX]; /* the family: every rotation of one grant */
	char app_id[DIR_ID_MAX];
	char user_id[DIR_ID_MAX];
	char scope[DIR_OAUTH_SCOPE_MAX];
	int64_t auth_time;
	char amr[DIR_AMR_MAX];
	char resource[DIR_URI_MAX]; /* RFC 8707 resource, or empty */
	int64_t created_at, expires_at, rotated_at, revoked_at;
};

int dir_refresh_create(struct dir *d, const char *tenant_id, const struct dir_refresh *r,
		       struct err *err);

/*
 * Use a refresh token once: 0 and out filled when it was live (it is now
 * rotated); ERR_DENIED with out filled when it had already been rotated or
 * revoked (reuse: the caller revokes the family); ERR_NOT_FOUND otherwise.
 */
int dir_refresh_use(struct dir *d, const char *tenant_id, const char *token_hash,
		    struct dir_refresh *out, struct err *err) __attribute__((warn_unused_result));

/* Look a refresh token up without using it (introspection, revocation). */
int dir_refresh_get(struct dir *d, const char *tenant_id, const char *token_hash,
		    struct dir_refresh *out, struct err *err);

/*
 * Revoke a grant: its refresh tokens and, through a revocation record kept
 * until expires_at, the access tokens that carry its grant_id.
 */
int dir_grant_revoke(struct dir *d, const char *tenant_id, const char *grant_id,
		     int64_t expires_at, struct err *err);

/* Revoke one access token by jti until it would have expired anyway. */
int dir_jti_revoke(struct dir *d, const char *tenant_id, const char *jti, int64_t expires_at,
		   struct err *err);

/* 1 if the jti or the grant is revoked, 0 if not, negative on error. */
int dir_token_revoked(struct dir *d, const char *tenant_id, const char *jti,
		      const char *grant_id, struct err *err);

/* Remove expired codes, refresh tokens, sessions and revocation records. */
int dir_tokens_expire(struct dir *d, int64_t now, struct err *err);

struct dir_signing_key {
	char kid[48];
	char alg[8];             /* "RS256" or "ES256" */
	char private_enc[4096];  /* the private key, sealed by the idp */
	char public_jwk[2048];
	int64_t created_at;
	int64_t retired_at;      /* 0 while it signs */
	int64_t expires_at;      /* 0, or when it leaves the JWKS */
};

int dir_key_add(struct dir *d, const char *tenant_id, const struct dir_signing_key *k,
		struct err *err);
/* Call cb for each key of the tenant, newest first (heap-allocated, borrowed during cb). */
int dir_key_list(struct dir *d, const char *tenant_id,
		 int (*cb)(void *ctx, const struct dir_signing_key *k), void *ctx,
		 struct err *err);
/* Stop signing with every active key of the tenant; they stay published until expires_at. */
int dir_key_retire_all(struct dir *d, const char *tenant_id, int64_t expires_at,
		       struct err *err);
/* Delete the tenant's keys whose expires_at has passed. */
int dir_key_delete_expired(struct dir *d, const char *tenant_id, struct err *err);


/* ---- sign-in log (reports) -------------------------------------------- */

#define DIR_DETECTIONS_MAX 4096 /* a sign-in's detections, as a JSON array */

struct dir_signin {
	int64_t id;                 /* assigned on append */
	int64_t time;               /* 0 = now */
	char user_id[DIR_ID_MAX];   /* empty when the name matched no user */
	char username[DIR_UPN_MAX]; /* the name as typed */
	char app_id[DIR_ID_MAX];
	char step[16];    /* password, mfa, recovery, enroll, sso, token */
	char result[16];  /* success, failure, locked, blocked */
	char reason[128]; /* why it failed, in words (never the secret) */
	char ip[64];
	char user_agent[256];
	char country[8];
	char city[64];
	double lat, lon;
	int has_geo;
	char factors[DIR_AMR_MAX];
	char risk[16];          /* none, low, medium, high */
	char detections[DIR_DETECTIONS_MAX]; /* JSON array of detections */
};

/* Append one attempt to the tenant's sign-in log. */
int dir_signin_append(struct dir *d, const char *tenant_id, struct dir_signin *s,
		      struct err *err);

struct dir_signin_query {
	int64_t from, to;      /* time range, 0 = open */
	const char *user_id;   /* NULL = any */
	const char *app_id;    /* NULL = any */
	const char *result;    /* NULL = any */
	const char *ip;        /* NULL = any */
	int64_t before_id;     /* keyset cursor: rows with id < before_id (0 = newest) */
	int limit;             /* 0 = 100 */
};

/* Call cb for matching rows, newest first. */
int dir_signin_list(struct dir *d, const char *tenant_id, const struct dir_signin_query *q,
		    int (*cb)(void *ctx, const struct dir_signin *s), void *ctx,
		    struct err *err);

/*
 * Risk data beside the log (idp/risk.h decides what it means; the store
 * keeps it and answers the indexed questions the detections ask).
 *
 * Levels are stored as words: "none", "low", "medium", "high", and for
 * policy thresholds also "never".
 */
enum dir_risk_level {
	DIR_RISK_NONE = 0,
	DIR_RISK_LOW = 1,
	DIR_RISK_MEDIUM = 2,
	DIR_RISK_HIGH = 3,
	DIR_RISK_NEVER = 4 /* a policy threshold no sign-in reaches */
};

/* The word for a level ("none" ... "never"); "none" for anything else. */
const char *dir_risk_level_name(int level);
/* The level named by s; -1 if s names none. */
int dir_risk_level_parse(const char *s);

/*
 * A search of the log for the reports, newest first (time, then id), with
 * a keyset cursor.  Each filter is an exact match; NULL (or 0) matches
 * everything.  The store answers a search by user, by address and of risky
 * rows from an index of its own.
 */
struct dir_signin_search {
	int64_t from, to;    /* time >= from and < to; to 0 = open */
	const char *user_id; /* rows of this user */
	const char *app_id;
	const char *result;  /* success, failure, locked, blocked */
	const char *ip;
	const char *step;
	int min_risk;        /* rows at least this risky (DIR_RISK_LOW..HIGH); 0 = any */
	/* cursor: rows before (before_time, before_id) in that order; 0 = from the newest */
	int64_t before_time, before_id;
	int limit;           /* 1..1000; 0 = 100 */
};

/* Call cb for each matching row; non-zero from cb stops and is returned. */
int dir_signin_search(struct dir *d, const char *tenant_id, const struct dir_signin_search *q,
		      int (*cb)(void *ctx, const struct dir_signin *s), void *ctx,
		      struct err *err);

/*
 * Counts over time: for each bucket of `bucket` seconds (aligned to the
 * epoch) in [from, to) and each result, how many rows; cb(ctx, bucket
 * start, result, count) in time order.
 */
int dir_signin_counts(struct dir *d, const char *tenant_id, int64_t from, int64_t to,
		      int64_t bucket,
		      int (*cb)(void *ctx, int64_t start, const char *result, int64_t n), void *ctx,
		      struct err *err);

enum dir_signin_top {
	DIR_TOP_REASON = 0,    /* failures by reason */
	DIR_TOP_SOURCE = 1,    /* failing addresses, by failures */
	DIR_TOP_DETECTION = 2  /* detections by name, over risky rows */
};

/*
 * The `limit` most frequent values of what over [from, to), most frequent
 * first: cb(ctx, value, count, distinct names tried) (the last is only
 * counted for DIR_TOP_SOURCE).  Failures are every result but success.
 */
int dir_signin_top(struct dir *d, const char *tenant_id, int64_t from, int64_t to,
		   enum dir_signin_top what, int limit,
		   int (*cb)(void *ctx, const char *value, int64_t n, int64_t names), void *ctx,
		   struct err *err);

/*
 * What one address did at the password step since `since`: how many
 * distinct names (case-folded) failed, counting also `name` when not NULL
 * (the attempt about to be logged), and how many distinct users succeeded.
 */
int dir_signin_source_stats(struct dir *d, const char *tenant_id, const char *ip,
			    int64_t since, const char *name, int *failed_names, int *ok_users,
			    struct err *err);

/*
 * The user's latest row before `before` from a known-good sign-in: a
 * success at the password, SSO or second-factor step whose risk was none or
 * low.  ERR_NOT_FOUND if there is none.
 */
int dir_signin_last_trusted(struct dir *d, const char *tenant_id, const char *user_id,
			    int64_t before, struct dir_signin *out, struct err *err);

/*
 * How many of the user's rows since `since` are at one of the steps in the
 * space-separated list `steps` (e.g. "mfa recovery") and have result (NULL:
 * any result but success).
 */
int dir_signin_count(struct dir *d, const char *tenant_id, const char *user_id,
		     const char *steps, const char *result, int64_t since, int *n,
		     struct err *err);

/*
 * Delete rows (every tenant's) older than `before`, at most max_rows of
 * them (0 = 10000) per call so that a purge never holds the write lock
 * long; *deleted says how many went.
 */
int dir_signin_purge(struct dir *d, int64_t before, int max_rows, int64_t *deleted,
		     struct err *err);

/*
 * Bulk loading of the log (an import of an old log, the benchmark): with
 * on, this connection keeps up to 2 GiB of the store in its page cache, so
 * that the indexes of a big log are updated in memory; with off, back to
 * the default.  Durability is unchanged.
 */
int dir_signin_bulk(struct dir *d, int on, struct err *err);

/*
 * Brute-force counters and lockouts, per tenant and case-folded name.
 * The failure count is one atomic statement, so it holds across processes
 * and idp nodes sharing the store.
 */
struct dir_lockout {
	char username[DIR_UPN_MAX]; /* the name as last typed */
	int failures;               /* in the current window */
	int64_t window_start;
	int64_t locked_at, locked_until; /* 0 = never locked */
	char last_ip[64];
	int64_t updated_at;
};

struct dir_lockout_limits {
	int max_failures; /* this many failures within window lock the name */
	int64_t window;   /* seconds */
	int64_t duration; /* seconds the lock lasts */
};

/*
 * Count one failed password for username at now from ip: a failure more
 * than lim->window after the window's first (or the first after a lock
 * ended) starts a new window; reaching lim->max_failures locks the name
 * until now + lim->duration.  A failure while locked changes nothing.
 * out (may be NULL) gets the state afterwards; *locked_now (may be NULL)
 * is 1 when this failure set the lock.
 */
int dir_lockout_fail(struct dir *d, const char *tenant_id, const char *username,
		     const char *ip, int64_t now, const struct dir_lockout_limits *lim,
		     struct dir_lockout *out, int *locked_now, struct err *err);

/* The counters of username; ERR_NOT_FOUND if it has none. */
int dir_lockout_get(struct dir *d, const char *tenant_id, const char *username,
		    struct dir_lockout *out, struct err *err);

/* Forget username's failures and lock (success, or an admin's unlock); ERR_NOT_FOUND if none. */
int dir_lockout_clear(struct dir *d, const char *tenant_id, const char *username,
		      struct err *err);

/* Call cb for each name locked at now, latest lock first. */
int dir_lockout_list(struct dir *d, const char *tenant_id, int64_t now,
		     int (*cb)(void *ctx, const struct dir_lockout *l), void *ctx,
		     struct err *err);

/*
 * Each user's familiar sign-in properties: the countries, devices and
 * networks of good sign-ins, and (kind DIR_PROFILE_SIGNIN, value "") how
 * many good sign-ins taught them.
 */
enum dir_profile_kind {
	DIR_PROFILE_SIGNIN = 0,
	DIR_PROFILE_COUNTRY = 1,
	DIR_PROFILE_DEVICE = 2,
	DIR_PROFILE_NETWORK = 3
};

/* How many good sign-ins had this property (0 = never seen). */
int dir_profile_seen(struct dir *d, const char *tenant_id, const char *user_id,
		     enum dir_profile_kind kind, const char *value, int64_t *seen,
		     struct err *err);

/* Record the property as seen at now. */
int dir_profile_learn(struct dir *d, const char *tenant_id, const char *user_id,
		      enum dir_profile_kind kind, const char *value, int64_t now,
		      struct err *err);

/*
 * Users flagged risky.  State "at_risk" until an admin says "dismissed"
 * (a false alarm) or "confirmed" (compromised); a confirmed user is
 * "remediated" by a password reset.  A new detection after a dismissal or
 * a remediation puts the user at risk again.
 */
struct dir_risky_user {
	char user_id[DIR_ID_MAX];
	char upn[DIR_UPN_MAX]; /* filled by reads */
	int level;             /* DIR_RISK_LOW..HIGH */
	char state[16];        /* at_risk, dismissed, confirmed, remediated */
	char detections[DIR_TEXT_MAX]; /* JSON array of the latest detections' names */
	int64_t signin_id;     /* the sign-in that raised it last */
	int64_t first_at, last_at, updated_at;
	char updated_by[DIR_UPN_MAX]; /* who changed the state last; "" = the engine */
};

/*
 * Flag the user at level for the detections (a JSON array) of sign-in
 * signin_id: a new entry, or the level raised and the detections replaced
 * (a dismissed user is at risk again; a confirmed one stays confirmed).
 */
int dir_risky_user_raise(struct dir *d, const char *tenant_id, const char *user_id, int level,
			 const char *detections, int64_t signin_id, int64_t now,
			 struct err *err);

int dir_risky_user_get(struct dir *d, const char *tenant_id, const char *user_id,
		       struct dir_risky_user *out, struct err *err);

/* 1 if state names a risky user's state: at_risk, dismissed, confirmed or remediated. */
int dir_risky_state_valid(const char *state);

/*
 * Set the state ("at_risk", "dismissed", "confirmed" or "remediated") by
 * `by`; ERR_NOT_FOUND if not flagged.
 */
int dir_risky_user_set_state(struct dir *d, const char *tenant_id, const char *user_id,
			     const char *state, const char *by, int64_t now, struct err *err);

/* Call cb for each flagged user in state (NULL = any), latest first. */
int dir_risky_user_list(struct dir *d, const char *tenant_id, const char *state,
			int (*cb)(void *ctx, const struct dir_risky_user *u), void *ctx,
			struct err *err);

/*
 * Revoke everything the user holds: every session, every refresh token
 * and, by revocation records kept until `until`, the access tokens of
 * their grants.  *grants (may be NULL) gets how many grants were revoked.
 */
int dir_user_revoke_all(struct dir *d, const char *tenant_id, const char *user_id,
			int64_t until, int *grants, struct err *err);

/*
 * A session whose sign-in was risky needs a second factor before any code
 * is issued from it: the mark (level) lives and dies with the session.
 */
int dir_session_stepup_set(struct dir *d, const char *tenant_id, const char *session_hash,
			   int level, int64_t now, struct err *err);
/* The session's mark level, 0 if it has none. */
int dir_session_stepup_get(struct dir *d, const char *tenant_id, const char *session_hash,
			   int *level, struct err *err);

/* A tenant's risk policy: the levels that require a second factor and that block. */
struct dir_risk_policy {
	int mfa_at;   /* DIR_RISK_LOW..HIGH, or DIR_RISK_NEVER */
	int block_at; /* likewise */
	int64_t updated_at;
	char updated_by[DIR_UPN_MAX];
};

/* The tenant's own policy; ERR_NOT_FOUND when it has none (the config's applies). */
int dir_risk_policy_get(struct dir *d, const char *tenant_id, struct dir_risk_policy *out,
			struct err *err);
/* Set the tenant's policy (updated_at and updated_by from p). */
int dir_risk_policy_put(struct dir *d, const char *tenant_id, const struct dir_risk_policy *p,
			struct err *err);
/* Drop the tenant's own policy; ERR_NOT_FOUND if it had none. */
int dir_risk_policy_delete(struct dir *d, const char *tenant_id, struct err *err);

/*
 * Housekeeping: forget lockout counters whose window and lock are over at
 * now, and familiar properties last seen before `forget_before`.
 */
int dir_risk_expire(struct dir *d, int64_t now, int64_t forget_before, struct err *err);


/* ---- export and import ------------------------------------------------ */

/*
 * Write all of one tenant's data as one JSON document through write(ctx,
 * buf, len) (which returns 0, or non-zero to abort), a row at a time, so
 * memory stays flat however big the tenant.  Password hashes are included
 * (the export is a complete backup; guard it like the store); private
 * signing keys are not.
 */
int dir_export_tenant(struct dir *d, const char *tenant_id,
		      int (*write)(void *ctx, const char *buf, size_t len), void *ctx,
		      struct err *err);

/*
 * Recreate a tenant from an export (len bytes of JSON), all or nothing.
 * ERR_EXISTS if its id or name is taken; ERR_INVALID with the offending
 * table, row and column for anything that does not fit the schema.
 */
int dir_import_tenant(struct dir *d, const char *json, size_t len, struct err *err);

#endif
