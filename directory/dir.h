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
#define DIR_SCHEMA_VERSION 3

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

/* Run the engine's integrity check; 0 if it says "ok", else err says what. */
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

/* Soft-delete (recoverable) and restore. */
int dir_user_soft_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err);
int dir_user_restore(struct dir *d, const char *tenant_id, const char *id, struct err *err);

/*
 * Remove the user for good: its row, memberships, factors, sessions,
 * tokens, role assignments and sign-in rows, with its name redacted from
 * the audit log; then checkpoint.
 */
int dir_user_purge(struct dir *d, const char *tenant_id, const char *id, struct err *err);

struct dir_user_query {
	const char *after_upn; /* keyset cursor: start after this UPN (any case) */
	int limit;             /* 0 = no limit */
	int include_deleted;   /* also soft-deleted users */
	int source;            /* -1 = any, else enum dir_source */
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
 * dn_key and uid_key (either may be NULL or "").  mark non-zero also marks
 * it seen.  Fills u->id.  Returns enum dir_sync_change, or a negative err
 * code: ERR_EXISTS when another live user has the UPN, ERR_INVALID for a
 * field that does not fit.  Atomic: on failure nothing of it was written.
 */
int dir_sync_user_put(struct dir *d, const char *tenant_id, struct dir_user *u,
		      const char *dn_key, const char *uid_key, int mark, struct err *err);

/*
 * The same for a group, from g's name, description and source_dn, with its
 * DN key and its member references: n keys (borrowed; the array, not the
 * strings, is sorted in place), which replace the group's previous ones.
 */
int dir_sync_group_put(struct dir *d, const char *tenant_id, struct dir_group *g,
		       const char *dn_key, char **member_keys, size_t n, int mark,
		       struct err *err);

/*
 * Soft-delete the live synced user or group with this anchor (a user's
 * sessions end with it).  1 if one was deleted, 0 if there was none.
 */
int dir_sync_delete(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		    const char *anchor, struct err *err);

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
 * A connector's cookie (opaque text, NULL when none: the next cycle is a
 * full one) and when its last full sync completed.  get: *cookie is
 * allocated, the caller frees it with free(); ERR_NOT_FOUND if the
 * connector never synced.  set: cookie NULL clears it; full non-zero also
 * records now as the last full sync.
 */
int dir_sync_state_get(struct dir *d, const char *tenant_id, const char *connector,
		       char **cookie, int64_t *last_full_at, struct err *err);
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


/* ---- sessions, codes, refresh tokens, signing keys (idp) --------------- */


/* ---- sign-in log (reports) -------------------------------------------- */


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
