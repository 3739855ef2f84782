/*
 * dir_sync: what the directory sync applies to the store, and its state.
 *
 * A synced object is found by its source anchor.  Its keys (DN key, and a
 * user's uid key) are what group member references name; the references of
 * each synced group are kept in sync_member_refs as LDAP gives them, and
 * the membership tables hold the ones that resolve to a live object.  Two
 * things move membership, and both go through here:
 *
 *  - a group's references change (dir_sync_group_put): each added reference
 *    that resolves links its object, each removed one unlinks it unless the
 *    group still names the object by its other key (a user can be named by
 *    DN and by uid);
 *  - an object's keys change (dir_sync_rekey: created, renamed, moved,
 *    deleted, restored): every group naming a key it lost unlinks it unless
 *    it names one it kept, every group naming a key it gained links it.
 *
 * So the order in which LDAP delivers entries does not matter: a member
 * that arrives after its group, or a group nested in one that arrives
 * later, ends linked all the same.  Two live objects hold one key only
 * while the sync has not yet applied a change it will apply in the same
 * cycle (a DN reused after a delete or move not seen yet: the sweep of a
 * full sync, the deletes of a refresh, or the move itself); both are
 * linked meanwhile, and the stale one is unlinked when it loses the key.
 *
 * Every statement here filters on the tenant and on source = 'ldap', and
 * a put that fails leaves nothing behind (a savepoint, or a first step that
 * writes nothing when it fails).  The sync's state and cycle records are in
 * dir_sync_state.c.
 */
#include "dir_internal.h"

#include "buf.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_sync_user_insert[] =
	"INSERT INTO users (tenant_id, id, upn, upn_key, display_name, given_name, surname, mail, "
	"enabled, mfa_required, source, source_anchor, source_dn, source_dn_key, source_uid_key, "
	"created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 'ldap', ?10, ?11, "
	"?12, ?13, ?14, ?14)";
/* The same, 64, 16 or 4 rows at once; parameters numbered in order, 15 a row. */
#define SYNC_USER_ROW   "(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'ldap', ?, ?, ?, ?, ?, ?)"
#define SYNC_USER_ROW4  SYNC_USER_ROW "," SYNC_USER_ROW "," SYNC_USER_ROW "," SYNC_USER_ROW
#define SYNC_USER_ROW16 SYNC_USER_ROW4 "," SYNC_USER_ROW4 "," SYNC_USER_ROW4 "," SYNC_USER_ROW4
#define SYNC_USER_ROW64                                                                            \
	SYNC_USER_ROW16 "," SYNC_USER_ROW16 "," SYNC_USER_ROW16 "," SYNC_USER_ROW16
#define SYNC_USER_ROW_PARAMS 15
#define SYNC_USER_INSERT_MANY                                                                      \
	"INSERT INTO users (tenant_id, id, upn, upn_key, display_name, given_name, surname, mail, " \
	"enabled, mfa_required, source, source_anchor, source_dn, source_dn_key, source_uid_key, "  \
	"created_at, updated_at) VALUES "
static const char sql_sync_user_insert_64[] = SYNC_USER_INSERT_MANY SYNC_USER_ROW64;
static const char sql_sync_user_insert_16[] = SYNC_USER_INSERT_MANY SYNC_USER_ROW16;
static const char sql_sync_user_insert_4[] = SYNC_USER_INSERT_MANY SYNC_USER_ROW4;
static const char sql_sync_user_keys[] =
	"SELECT source_dn_key, source_uid_key FROM users WHERE tenant_id = ?1 AND id = ?2";
static const char sql_sync_group_key[] =
	"SELECT source_dn_key, NULL FROM groups WHERE tenant_id = ?1 AND id = ?2";
static const char sql_sync_user_set_keys[] =
	"UPDATE users SET source_dn_key = ?3, source_uid_key = ?4 WHERE tenant_id = ?1 AND "
	"id = ?2 AND source = 'ldap'";
static const char sql_sync_group_set_keys[] =
	"UPDATE groups SET source_dn_key = ?3 WHERE tenant_id = ?1 AND id = ?2 AND "
	"source = 'ldap'";
/* Savepoints as prepared statements: one per put adds up over a full sync. */
static const char sql_sync_savepoint[] = "SAVEPOINT dir_sync";
static const char sql_sync_release[] = "RELEASE dir_sync";
static const char sql_sync_rollback_to[] = "ROLLBACK TO dir_sync";
static const char sql_sync_resolve_user_dn[] =
	"SELECT id, source_dn_key, source_uid_key FROM users WHERE tenant_id = ?1 AND "
	"source_dn_key = ?2 AND deleted_at IS NULL";
static const char sql_sync_resolve_user_uid[] =
	"SELECT id, source_dn_key, source_uid_key FROM users WHERE tenant_id = ?1 AND "
	"source_uid_key = ?2 AND deleted_at IS NULL";
static const char sql_sync_resolve_group_dn[] =
	"SELECT id, source_dn_key, NULL FROM groups WHERE tenant_id = ?1 AND "
	"source_dn_key = ?2 AND deleted_at IS NULL";
/*
 * References and memberships hold the group's rid (schema 10): a group is
 * found once by (tenant_id, id), the rest goes by rid.  A reference's
 * tenant is its group's.
 */
#define SYNC_GROUP_RID "(SELECT rid FROM groups WHERE tenant_id = ?1 AND id = ?2)"
static const char sql_sync_refs_by_keys[] =
	"SELECT DISTINCT g.id FROM sync_member_refs r CROSS JOIN groups g ON g.rid = r.group_rid "
	"WHERE r.member_key IN (?2, ?3) AND g.tenant_id = ?1";
/*
 * Link every live object a group's references name, in three statements
 * (CROSS JOIN and "+": the group, then its references by primary key, then
 * the objects by their key indexes).
 */
static const char sql_sync_link_users_dn[] =
	"INSERT OR IGNORE INTO group_member_users (group_rid, user_rid) "
	"SELECT p.rid, u.rid FROM groups p CROSS JOIN sync_member_refs r ON r.group_rid = p.rid "
	"AND r.member_key >= 'dn:' AND r.member_key < 'dn;' "
	"CROSS JOIN users u ON u.tenant_id = ?1 AND u.source_dn_key = +r.member_key AND "
	"u.deleted_at IS NULL WHERE p.tenant_id = ?1 AND p.id = ?2";
static const char sql_sync_link_users_uid[] =
	"INSERT OR IGNORE INTO group_member_users (group_rid, user_rid) "
	"SELECT p.rid, u.rid FROM groups p CROSS JOIN sync_member_refs r ON r.group_rid = p.rid "
	"AND r.member_key >= 'uid:' AND r.member_key < 'uid;' "
	"CROSS JOIN users u ON u.tenant_id = ?1 AND u.source_uid_key = +r.member_key AND "
	"u.deleted_at IS NULL WHERE p.tenant_id = ?1 AND p.id = ?2";
static const char sql_sync_link_groups[] =
	"INSERT OR IGNORE INTO group_member_groups (group_rid, member_rid) "
	"SELECT p.rid, g.rid FROM groups p CROSS JOIN sync_member_refs r ON r.group_rid = p.rid "
	"AND r.member_key >= 'dn:' AND r.member_key < 'dn;' "
	"CROSS JOIN groups g ON g.tenant_id = ?1 AND g.source_dn_key = +r.member_key AND "
	"g.deleted_at IS NULL AND g.rid <> p.rid WHERE p.tenant_id = ?1 AND p.id = ?2";
static const char sql_sync_refs_of_group[] =
	"SELECT member_key FROM sync_member_refs WHERE group_rid = " SYNC_GROUP_RID
	" ORDER BY member_key";
/*
 * The added references of a group in one statement, from a JSON array of
 * keys (the group was put before, in the same savepoint).
 */
static const char sql_sync_refs_add[] =
	"INSERT OR IGNORE INTO sync_member_refs (group_rid, member_key) "
	"SELECT p.rid, j.value FROM groups p CROSS JOIN json_each(?3) j "
	"WHERE p.tenant_id = ?1 AND p.id = ?2";
static const char sql_sync_ref_del[] = "DELETE FROM sync_member_refs WHERE group_rid = "
	SYNC_GROUP_RID " AND member_key = ?3";
static const char sql_sync_ref_any[] = "SELECT 1 FROM sync_member_refs WHERE group_rid = "
	SYNC_GROUP_RID " AND member_key IN (?3, ?4)";
/* Index-backed probes: the anchor indexes are partial on source_anchor IS NOT NULL. */
static const char sql_sync_first[] =
	"SELECT NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND source_anchor IS NOT "
	"NULL) AND NOT EXISTS (SELECT 1 FROM groups WHERE tenant_id = ?1 AND source_anchor IS "
	"NOT NULL) AND NOT EXISTS (SELECT 1 FROM groups g CROSS JOIN sync_member_refs r ON "
	"r.group_rid = g.rid WHERE g.tenant_id = ?1)";
/* base: for a gone mark, the DN key of the base whose search said so (NULL: any) */
static const char sql_sync_marks_create[] =
	"CREATE TEMP TABLE IF NOT EXISTS sync_marks (mark INTEGER NOT NULL, kind INTEGER NOT "
	"NULL, anchor TEXT NOT NULL, base TEXT, PRIMARY KEY (mark, kind, anchor)) WITHOUT ROWID";
static const char sql_sync_mark_gone[] =
	"INSERT OR REPLACE INTO temp.sync_marks (mark, kind, anchor, base) VALUES (1, ?1, ?2, ?3)";
static const char sql_sync_marks_reset[] = "DELETE FROM temp.sync_marks";
static const char sql_sync_mark[] =
	"INSERT OR IGNORE INTO temp.sync_marks (mark, kind, anchor) VALUES (?1, ?2, ?3)";
static const char sql_sync_unmark_gone[] =
	"DELETE FROM temp.sync_marks WHERE mark = 1 AND kind = ?1 AND anchor = ?2";
/*
 * Unseen live synced objects under a base: the DN key equals the base's or
 * ends with "," and the base's DN (keys start with "dn:", 3 characters).
 */
#define SYNC_UNDER_BASE                                                                            \
	"(?2 IS NULL OR source_dn_key = ?2 OR (length(source_dn_key) > length(?2) AND "           \
	"substr(source_dn_key, -(length(?2) - 2)) = ',' || substr(?2, 4)))"
static const char sql_sync_sweep_users[] =
	"SELECT id FROM users WHERE tenant_id = ?1 AND source = 'ldap' AND deleted_at IS NULL "
	"AND " SYNC_UNDER_BASE " AND NOT EXISTS (SELECT 1 FROM temp.sync_marks m WHERE "
	"m.mark = 0 AND m.kind = 0 AND m.anchor = users.source_anchor) LIMIT ?3";
static const char sql_sync_sweep_groups[] =
	"SELECT id FROM groups WHERE tenant_id = ?1 AND source = 'ldap' AND deleted_at IS NULL "
	"AND " SYNC_UNDER_BASE " AND NOT EXISTS (SELECT 1 FROM temp.sync_marks m WHERE "
	"m.mark = 0 AND m.kind = 1 AND m.anchor = groups.source_anchor) LIMIT ?3";
/*
 * Gone marks of live objects still under the base that said so: an object
 * that moved to another base of the same kind (and was put there already)
 * is not gone.
 */
#define SYNC_UNDER_MARK(k)                                                                         \
	"(m.base IS NULL OR " k " = m.base OR (length(" k ") > length(m.base) AND substr(" k      \
	", -(length(m.base) - 2)) = ',' || substr(m.base, 4)))"
static const char sql_sync_gone[] =
	"SELECT 0, u.id FROM temp.sync_marks m JOIN users u ON u.tenant_id = ?1 AND "
	"u.source_anchor = m.anchor WHERE m.mark = 1 AND m.kind = 0 AND u.source = 'ldap' AND "
	"u.deleted_at IS NULL AND " SYNC_UNDER_MARK("u.source_dn_key") " "
	"UNION ALL SELECT 1, g.id FROM temp.sync_marks m JOIN groups g ON g.tenant_id = ?1 AND "
	"g.source_anchor = m.anchor WHERE m.mark = 1 AND m.kind = 1 AND g.source = 'ldap' AND "
	"g.deleted_at IS NULL AND " SYNC_UNDER_MARK("g.source_dn_key") " LIMIT ?2";

/*
 * Placeholder names of an exchange (dir_sync_exchange_*): char(1), which
 * dir_check_text() refuses in a real name, then the object's id.  The
 * leftover probes read the name indexes (partial on live objects).
 */
static const char sql_sync_vacate_user[] =
	"UPDATE users SET upn = char(1) || id, upn_key = char(1) || id WHERE tenant_id = ?1 AND "
	"source_anchor = ?2 AND source = 'ldap' AND deleted_at IS NULL";
static const char sql_sync_vacate_group[] =
	"UPDATE groups SET name = char(1) || id, name_key = char(1) || id WHERE tenant_id = ?1 "
	"AND source_anchor = ?2 AND source = 'ldap' AND deleted_at IS NULL";
static const char sql_sync_vacated_left[] =
	"SELECT 0, source_anchor FROM users WHERE tenant_id = ?1 AND upn_key >= char(1) AND "
	"upn_key < char(2) AND deleted_at IS NULL UNION ALL SELECT 1, source_anchor FROM groups "
	"WHERE tenant_id = ?1 AND name_key >= char(1) AND name_key < char(2) AND "
	"deleted_at IS NULL";
static const char sql_sync_exchange_savepoint[] = "SAVEPOINT dir_sync_exchange";
static const char sql_sync_exchange_release[] = "RELEASE dir_sync_exchange";
static const char sql_sync_exchange_rollback[] = "ROLLBACK TO dir_sync_exchange";

/* The keys of one object; "" for none. */
struct dir_sync_keys {
	char dn[DIR_SYNC_KEY_MAX];
	char uid[DIR_SYNC_KEY_MAX];
};

/* A growable list of strings, for ids and keys read before acting on them. */
struct dir_sync_strs {
	char **v;
	size_t n, cap;
};

static int dir_sync_strs_add(struct dir_sync_strs *l, const char *s, struct err *err)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if ((copy = strdup(s)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	l->v[l->n++] = copy;
	return 0;
}

static void dir_sync_strs_free(struct dir_sync_strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Run a statement bound to (tenant_id, a, b, c) where the strings may be NULL. */
static int dir_sync_run(struct dir *d, const char *sql, const char *tenant_id, const char *a,
			const char *b, const char *c, const char *what, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	if (a != NULL)
		dir_bind_text(st, 2, a);
	dir_bind_text_or_null(st, 3, b);
	dir_bind_text_or_null(st, 4, c);
	rc = dir_step_change(d, st, what, err);
	dir_stmt_done(st);
	return rc;
}

/* Read the first column of every row of sql bound to (tenant_id, key) into out. */
static int dir_sync_collect(struct dir *d, const char *sql, const char *tenant_id,
			    const char *key, struct dir_sync_strs *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc, fail = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && fail == 0)
		fail = dir_sync_strs_add(out, (const char *)sqlite3_column_text(st, 0), err);
	if (fail == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		fail = dir_fail(d, err, "read sync references");
	dir_stmt_done(st);
	return fail;
}

static int dir_sync_get_keys(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			     const char *id, struct dir_sync_keys *k, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(
		d, kind == DIR_MEMBER_USER ? sql_sync_user_keys : sql_sync_group_key, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	k->dn[0] = k->uid[0] = '\0';
	if (rc == SQLITE_ROW) {
		dir_col_text(st, 0, k->dn, sizeof(k->dn));
		dir_col_text(st, 1, k->uid, sizeof(k->uid));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such synced object");
	} else {
		rc = dir_fail(d, err, "read sync keys");
	}
	dir_stmt_done(st);
	return rc;
}

static int dir_sync_has_key(const struct dir_sync_keys *k, const char *key)
{
	return key[0] != '\0' && (strcmp(k->dn, key) == 0 || strcmp(k->uid, key) == 0);
}

/* Make member_id a direct member of group_id, or stop it being one. */
static int dir_sync_link(struct dir *d, const char *tenant_id, const char *group_id,
			 enum dir_member_kind kind, const char *member_id, int on,
			 struct err *err)
{
	int rc;

	if (kind == DIR_MEMBER_GROUP && strcmp(group_id, member_id) == 0)
		return 0; /* a group naming itself: LDAP allows it, membership cannot */
	if (on)
		return dir_group_add_member(d, tenant_id, group_id, kind, member_id, err);
	rc = dir_group_remove_member(d, tenant_id, group_id, kind, member_id, err);
	return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* 1 if group_id names the object of keys k by any of them, 0 if not, or an err code. */
static int dir_sync_refs_any(struct dir *d, const char *tenant_id, const char *group_id,
			     const struct dir_sync_keys *k, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (k->dn[0] == '\0' && k->uid[0] == '\0')
		return 0;
	if ((st = dir_stmt(d, sql_sync_ref_any, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, group_id);
	dir_bind_text(st, 3, k->dn);
	dir_bind_text(st, 4, k->uid);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read references");
	dir_stmt_done(st);
	return rc;
}

static int dir_sync_rekey(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			  const char *id, const struct dir_sync_keys *old,
			  const struct dir_sync_keys *new, struct err *err);

/*
 * Link object id to every group naming k1 or k2 (gained), or unlink it from
 * them unless the group still names it by one of its keys k (lost).
 */
static int dir_sync_follow_keys(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
				const char *id, const char *k1, const char *k2, int gained,
				const struct dir_sync_keys *k, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_refs_by_keys, err);
	struct dir_sync_strs groups = {0};
	int rc = 0, step = SQLITE_DONE;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text_or_null(st, 2, k1);
	dir_bind_text_or_null(st, 3, k2);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = dir_sync_strs_add(&groups, (const char *)sqlite3_column_text(st, 0), err);
	if (rc == 0 && step != SQLITE_DONE)
		rc = dir_fail(d, err, "read sync references");
	dir_stmt_done(st);
	for (size_t i = 0; rc == 0 && i < groups.n; i++) {
		int on = gained;
		if (!gained && (on = dir_sync_refs_any(d, tenant_id, groups.v[i], k, err)) < 0) {
			rc = on;
			break;
		}
		rc = dir_sync_link(d, tenant_id, groups.v[i], kind, id, on, err);
	}
	dir_sync_strs_free(&groups);
	return rc;
}

/* Move object id from keys old to keys new, and follow every group naming a key lost or gained. */
static int dir_sync_rekey(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			  const char *id, const struct dir_sync_keys *old,
			  const struct dir_sync_keys *new, struct err *err)
{
	const char *gain[2] = {"", ""}, *lose[2] = {"", ""};
	int rc;

	if (new->dn[0] != '\0' && !dir_sync_has_key(old, new->dn))
		gain[0] = new->dn;
	if (new->uid[0] != '\0' && !dir_sync_has_key(old, new->uid))
		gain[1] = new->uid;
	if (old->dn[0] != '\0' && !dir_sync_has_key(new, old->dn))
		lose[0] = old->dn;
	if (old->uid[0] != '\0' && !dir_sync_has_key(new, old->uid))
		lose[1] = old->uid;
	if (kind == DIR_MEMBER_USER)
		rc = dir_sync_run(d, sql_sync_user_set_keys, tenant_id, id, new->dn, new->uid,
				  "store sync keys", err);
	else
		rc = dir_sync_run(d, sql_sync_group_set_keys, tenant_id, id, new->dn, NULL,
				  "store sync keys", err);
	if (rc < 0)
		return rc;
	if ((lose[0][0] || lose[1][0]) &&
	    (rc = dir_sync_follow_keys(d, tenant_id, kind, id, lose[0], lose[1], 0, new, err)))
		return rc;
	if (gain[0][0] || gain[1][0])
		return dir_sync_follow_keys(d, tenant_id, kind, id, gain[0], gain[1], 1, new, err);
	return 0;
}

/* Run one cached statement without results. */
static int dir_sync_exec(struct dir *d, const char *sql, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dir_fail(d, err, sql);
	dir_stmt_done(st);
	return rc;
}

/* dir_tx_begin()/dir_tx_end(), with the savepoint statements prepared once. */
static int dir_sync_tx_begin(struct dir *d, struct err *err)
{
	if (sqlite3_get_autocommit(d->db))
		return dir_tx_begin(d, err);
	return dir_sync_exec(d, sql_sync_savepoint, err) == 0 ? DIR_TX_NESTED : err->code;
}

static int dir_sync_tx_end(struct dir *d, int tx, int ok, struct err *err)
{
	if (tx == DIR_TX_OUTER)
		return dir_tx_end(d, tx, ok, err);
	if (!ok)
		(void)dir_sync_exec(d, sql_sync_rollback_to, NULL);
	return dir_sync_exec(d, sql_sync_release, err);
}

static int dir_sync_check_key(const char *what, const char *key, struct err *err)
{
	if (key != NULL && strlen(key) >= DIR_SYNC_KEY_MAX)
		return err_set(err, ERR_INVALID, "%s key is longer than %d bytes", what,
			       DIR_SYNC_KEY_MAX - 1);
	return 0;
}

static void dir_sync_set_keys(struct dir_sync_keys *k, const char *dn_key, const char *uid_key)
{
	snprintf(k->dn, sizeof(k->dn), "%s", dn_key != NULL ? dn_key : "");
	snprintf(k->uid, sizeof(k->uid), "%s", uid_key != NULL ? uid_key : "");
}

int dir_sync_mark(struct dir *d, enum dir_sync_mark mark, enum dir_member_kind kind,
		  const char *anchor, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_mark, NULL);
	int rc;

	if (st == NULL) {
		/* The marks table is per connection: made on first use. */
		if (dir_exec(d, sql_sync_marks_create, err) != 0)
			return err->code;
		if ((st = dir_stmt(d, sql_sync_mark, err)) == NULL)
			return err->code;
	}
	sqlite3_bind_int(st, 1, (int)mark);
	sqlite3_bind_int(st, 2, (int)kind);
	dir_bind_text(st, 3, anchor);
	rc = dir_step_change(d, st, "mark", err);
	dir_stmt_done(st);
	if (rc >= 0 && mark == DIR_SYNC_SEEN) {
		/* Seen again after the source said it was gone (moved out and back in). */
		if ((st = dir_stmt(d, sql_sync_unmark_gone, err)) == NULL)
			return err->code;
		sqlite3_bind_int(st, 1, (int)kind);
		dir_bind_text(st, 2, anchor);
		rc = dir_step_change(d, st, "mark", err);
		dir_stmt_done(st);
	}
	return rc < 0 ? rc : 0;
}

int dir_sync_first(struct dir *d, const char *tenant_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_first, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0 : dir_fail(d, err, "probe sync");
	dir_stmt_done(st);
	return rc;
}

int dir_sync_mark_gone(struct dir *d, enum dir_member_kind kind, const char *anchor,
		       const char *base_key, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_mark_gone, NULL);
	int rc;

	if (st == NULL) {
		if (dir_exec(d, sql_sync_marks_create, err) != 0)
			return err->code;
		if ((st = dir_stmt(d, sql_sync_mark_gone, err)) == NULL)
			return err->code;
	}
	sqlite3_bind_int(st, 1, (int)kind);
	dir_bind_text(st, 2, anchor);
	dir_bind_text_or_null(st, 3, base_key);
	rc = dir_step_change(d, st, "mark", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

/* Is DN key key the base's, or below it?  (SYNC_UNDER_BASE in C.) */
static int dir_sync_under(const char *key, const char *base_key)
{
	size_t k = strlen(key), b = strlen(base_key);

	if (strcmp(key, base_key) == 0)
		return 1;
	/* keys start with "dn:": below means ending with "," and the base's DN */
	return b > 3 && k > b && strncmp(key, "dn:", 3) == 0 && key[k - (b - 2)] == ',' &&
	       strcmp(key + k - (b - 3), base_key + 3) == 0;
}

int dir_sync_marks_reset(struct dir *d, struct err *err)
{
	if (dir_exec(d, sql_sync_marks_create, err) != 0)
		return err->code;
	return dir_exec(d, sql_sync_marks_reset, err);
}

/*
 * The checks of dir_user_create(), for the insert below that also writes
 * the keys (a full sync inserts every user: one statement instead of two).
 */
static int dir_sync_user_check(const struct dir_user *u, struct err *err)
{
	const char *at = strchr(u->upn, '@');

	if (dir_check_text("user principal name", u->upn, DIR_UPN_MAX, 1, err) ||
	    dir_check_text("display name", u->display_name, sizeof(u->display_name), 0, err) ||
	    dir_check_text("given name", u->given_name, sizeof(u->given_name), 0, err) ||
	    dir_check_text("surname", u->surname, sizeof(u->surname), 0, err) ||
	    dir_check_text("mail", u->mail, sizeof(u->mail), 0, err) ||
	    dir_check_text("source DN", u->source_dn, sizeof(u->source_dn), 0, err))
		return err->code;
	if (at == NULL || at == u->upn || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(u->upn, " \t") != NULL)
		return err_set(err, ERR_INVALID,
			       "user principal name must look like name@domain, without spaces");
	if (u->mail[0] != '\0' && (strchr(u->mail, '@') == NULL || strpbrk(u->mail, " \t")))
		return err_set(err, ERR_INVALID, "mail must look like name@domain");
	return 0;
}

/* Insert a new synced user with its keys; ERR_EXISTS if the UPN is taken. */
static int dir_sync_user_insert(struct dir *d, const char *tenant_id, struct dir_user *u,
				const struct dir_sync_keys *k, struct err *err)
{
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_sync_user_check(u, err) != 0 ||
	    dir_fold_key("user principal name", u->upn, key, sizeof(key), err) != 0 ||
	    dir_new_id(d, u->id, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_sync_user_insert, err)) == NULL)
		return err->code;
	snprintf(u->tenant_id, sizeof(u->tenant_id), "%s", tenant_id);
	u->created_at = u->updated_at = dir_now(d);
	u->deleted_at = 0;
	u->has_password = 0;
	u->mfa_required = 0;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, u->id);
	dir_bind_text(st, 3, u->upn);
	dir_bind_text(st, 4, key);
	dir_bind_text(st, 5, u->display_name);
	dir_bind_text(st, 6, u->given_name);
	dir_bind_text(st, 7, u->surname);
	dir_bind_text(st, 8, u->mail);
	sqlite3_bind_int(st, 9, u->enabled != 0);
	dir_bind_text(st, 10, u->source_anchor);
	dir_bind_text_or_null(st, 11, u->source_dn);
	dir_bind_text_or_null(st, 12, k->dn);
	dir_bind_text_or_null(st, 13, k->uid);
	sqlite3_bind_int64(st, 14, u->created_at);
	rc = dir_step_change(d, st, "create user", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS,
			       "a user with principal name '%s' or this source anchor exists",
			       u->upn);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

int dir_sync_user_put(struct dir *d, const char *tenant_id, struct dir_user *u,
		      const char *dn_key, const char *uid_key, int flags, struct err *err)
{
	int mark = (flags & DIR_SYNC_PUT_MARK) != 0;
	struct dir_user cur;
	struct dir_sync_keys old = {"", ""}, new;
	int tx, rc, change = DIR_SYNC_UNCHANGED;

	if (dir_sync_check_key("DN", dn_key, err) != 0 || dir_sync_check_key("uid", uid_key, err))
		return err->code;
	if (dir_check_text("source anchor", u->source_anchor, sizeof(u->source_anchor), 1, err))
		return err->code;
	dir_sync_set_keys(&new, dn_key, uid_key);
	u->source = DIR_SOURCE_LDAP;
	/*
	 * A savepoint makes the put atomic.  A new user needs none: its one
	 * fallible step (the insert) comes first; what follows fails only
	 * when the store does, which ends the whole batch.
	 */
	if (flags & DIR_SYNC_PUT_FIRST) {
		/* Nothing to follow: no reference exists yet.  A clash: look, as usual. */
		if ((rc = dir_sync_user_insert(d, tenant_id, u, &new, err)) == 0 && mark)
			rc = dir_sync_mark(d, DIR_SYNC_SEEN, DIR_MEMBER_USER, u->source_anchor,
					   err);
		if (rc != ERR_EXISTS)
			return rc < 0 ? rc : DIR_SYNC_ADDED;
		*err = (struct err){0};
	}
	rc = dir_user_get_by_anchor(d, tenant_id, u->source_anchor, &cur, err);
	if (rc == ERR_NOT_FOUND) {
		/* inserted with its keys; then the groups already naming it */
		if ((rc = dir_sync_user_insert(d, tenant_id, u, &new, err)) == 0 &&
		    (new.dn[0] || new.uid[0]))
			rc = dir_sync_follow_keys(d, tenant_id, DIR_MEMBER_USER, u->id, new.dn,
						  new.uid, 1, &new, err);
		if (rc == 0 && mark)
			rc = dir_sync_mark(d, DIR_SYNC_SEEN, DIR_MEMBER_USER, u->source_anchor,
					   err);
		return rc < 0 ? rc : DIR_SYNC_ADDED;
	}
	if (rc != 0)
		return rc;
	if ((tx = dir_sync_tx_begin(d, err)) < 0)
		return tx;
	if (cur.source != DIR_SOURCE_LDAP) {
		rc = err_set(err, ERR_INVALID, "the anchor belongs to a cloud user");
	} else {
		int same_fields, restore = cur.deleted_at != 0;
		memcpy(u->id, cur.id, sizeof(u->id));
		u->mfa_required = cur.mfa_required;
		rc = dir_sync_get_keys(d, tenant_id, DIR_MEMBER_USER, cur.id, &old, err);
		same_fields = strcmp(u->upn, cur.upn) == 0 &&
			      strcmp(u->display_name, cur.display_name) == 0 &&
			      strcmp(u->given_name, cur.given_name) == 0 &&
			      strcmp(u->surname, cur.surname) == 0 && strcmp(u->mail, cur.mail) == 0 &&
			      (u->enabled != 0) == (cur.enabled != 0) &&
			      strcmp(u->source_dn, cur.source_dn) == 0;
		if (rc == 0 && !same_fields)
			rc = dir_user_update(d, tenant_id, u, err);
		if (rc == 0 && restore)
			rc = dir_user_restore(d, tenant_id, u->id, err);
		if (rc == 0 && (restore || strcmp(old.dn, new.dn) != 0 ||
				strcmp(old.uid, new.uid) != 0))
			rc = dir_sync_rekey(d, tenant_id, DIR_MEMBER_USER, u->id, &old, &new, err);
		change = restore ? DIR_SYNC_ADDED
				 : (same_fields && strcmp(old.dn, new.dn) == 0 &&
				    strcmp(old.uid, new.uid) == 0)
				   ? DIR_SYNC_UNCHANGED
				   : DIR_SYNC_UPDATED;
	}
	if (rc == 0 && mark)
		rc = dir_sync_mark(d, DIR_SYNC_SEEN, DIR_MEMBER_USER, u->source_anchor, err);
	if (dir_sync_tx_end(d, tx, rc == 0, err) != 0 && rc == 0)
		rc = err->code;
	return rc < 0 ? rc : change;
}

int dir_sync_users_put_first(struct dir *d, const char *tenant_id, struct dir_user *u,
			     char (*dn_keys)[DIR_SYNC_KEY_MAX],
			     char (*uid_keys)[DIR_SYNC_KEY_MAX], size_t n, struct err *err)
{
	const char *sql = n == DIR_SYNC_PUT_MANY	? sql_sync_user_insert_64
			  : n == DIR_SYNC_PUT_MANY / 4	? sql_sync_user_insert_16
			  : n == DIR_SYNC_PUT_MANY / 16 ? sql_sync_user_insert_4
							: NULL;
	/* the folded UPNs, bound with the rest until the statement has run */
	char(*upn_keys)[DIR_UPN_MAX * 2];
	sqlite3_stmt *st = NULL;
	int64_t now = dir_now(d);
	size_t tid_len = strnlen(tenant_id, DIR_ID_MAX);
	int rc = 0;

	if (sql == NULL)
		return err_set(err, ERR_INTERNAL, "no statement puts %zu users at once", n);
	if (tid_len == DIR_ID_MAX)
		return err_set(err, ERR_INVALID, "tenant id is too long");
	if ((upn_keys = malloc(n * sizeof(*upn_keys))) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	/* the checks of dir_sync_user_put() and dir_sync_user_insert(), for each */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (dir_sync_check_key("DN", dn_keys[i], err) != 0 ||
		    dir_sync_check_key("uid", uid_keys[i], err) != 0 ||
		    dir_check_text("source anchor", u[i].source_anchor,
				   sizeof(u[i].source_anchor), 1, err) != 0 ||
		    dir_sync_user_check(&u[i], err) != 0 ||
		    dir_fold_key("user principal name", u[i].upn, upn_keys[i],
				 sizeof(upn_keys[i]), err) != 0 ||
		    dir_new_id(d, u[i].id, err) != 0)
			rc = err->code;
	}
	if (rc == 0 && (st = dir_stmt(d, sql, err)) == NULL)
		rc = err->code;
	if (rc == 0 && sqlite3_bind_parameter_count(st) != (int)n * SYNC_USER_ROW_PARAMS)
		rc = err_set(err, ERR_INTERNAL, "the many-row insert does not match its size");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int b = (int)i * SYNC_USER_ROW_PARAMS;
		memcpy(u[i].tenant_id, tenant_id, tid_len + 1);
		u[i].source = DIR_SOURCE_LDAP;
		u[i].created_at = u[i].updated_at = now;
		u[i].deleted_at = 0;
		u[i].has_password = 0;
		u[i].mfa_required = 0;
		dir_bind_text(st, b + 1, tenant_id);
		dir_bind_text(st, b + 2, u[i].id);
		dir_bind_text(st, b + 3, u[i].upn);
		dir_bind_text(st, b + 4, upn_keys[i]);
		dir_bind_text(st, b + 5, u[i].display_name);
		dir_bind_text(st, b + 6, u[i].given_name);
		dir_bind_text(st, b + 7, u[i].surname);
		dir_bind_text(st, b + 8, u[i].mail);
		sqlite3_bind_int(st, b + 9, u[i].enabled != 0);
		dir_bind_text(st, b + 10, u[i].source_anchor);
		dir_bind_text_or_null(st, b + 11, u[i].source_dn);
		dir_bind_text_or_null(st, b + 12, dn_keys[i]);
		dir_bind_text_or_null(st, b + 13, uid_keys[i]);
		sqlite3_bind_int64(st, b + 14, now);
		sqlite3_bind_int64(st, b + 15, now);
	}
	if (rc == 0) {
		/* a clash aborts the statement: SQLite takes back the rows it had written */
		rc = dir_step_change(d, st, "create users", err);
		rc = rc < 0 ? rc : 0;
	}
	dir_stmt_done(st);
	free(upn_keys);
	return rc;
}

static int dir_sync_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resolve a member key to the live object holding it; ERR_NOT_FOUND if none. */
static int dir_sync_resolve(struct dir *d, const char *tenant_id, const char *key,
			    enum dir_member_kind *kind, char id[DIR_ID_MAX],
			    struct dir_sync_keys *keys, struct err *err)
{
	const char *sql[2];
	int n = 0, rc = ERR_NOT_FOUND;

	if (strncmp(key, "uid:", 4) == 0) {
		sql[n++] = sql_sync_resolve_user_uid;
	} else {
		sql[n++] = sql_sync_resolve_user_dn;
		sql[n++] = sql_sync_resolve_group_dn;
	}
	for (int i = 0; i < n && rc == ERR_NOT_FOUND; i++) {
		sqlite3_stmt *st = dir_stmt(d, sql[i], err);
		int step;
		if (st == NULL)
			return err->code;
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, key);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			*kind = sql[i] == sql_sync_resolve_group_dn ? DIR_MEMBER_GROUP
								    : DIR_MEMBER_USER;
			dir_col_text(st, 0, id, DIR_ID_MAX);
			dir_col_text(st, 1, keys->dn, sizeof(keys->dn));
			dir_col_text(st, 2, keys->uid, sizeof(keys->uid));
			rc = 0;
		} else if (step != SQLITE_DONE) {
			rc = dir_fail(d, err, "resolve member");
		}
		dir_stmt_done(st);
	}
	return rc;
}

/*
 * Append key to the JSON array text in b as a string.  Written by hand: a
 * jansson array of 100k strings, dumped, was 4% of a full sync's writer.
 * Keys are UTF-8 (checked); '"', '\\' and control characters are escaped.
 */
static int dir_sync_json_add(struct buf *b, const char *key, struct err *err)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = key;

	if (!utf8_valid(key, strlen(key)))
		return err_set(err, ERR_INVALID, "member key is not valid UTF-8");
	buf_add(b, b->len == 0 ? "[\"" : ",\"", 2);
	for (const char *p = key; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(p - run));
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			buf_add(b, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_add(b, e, 6);
		}
		run = p + 1;
	}
	buf_puts(b, run);
	buf_add(b, "\"", 1);
	return buf_failed(b) ? err_set(err, ERR_INTERNAL, "out of memory") : 0;
}

/*
 * Replace the member references of group_id with keys (sorted here), and
 * follow them in the membership tables.  Returns 1 if they changed, 0 if
 * not, or an err code.
 */
static int dir_sync_refs_replace(struct dir *d, const char *tenant_id, const char *group_id,
				 const char *own_key, char **keys, size_t n, struct err *err)
{
	struct dir_sync_strs old = {0}, removed = {0};
	struct buf added; /* a JSON array of the keys added */
	size_t i = 0, j = 0;
	int rc, changed = 0;

	buf_init(&added);
	added.limit = (size_t)1 << 30; /* a group's members are not bounded by a response size */
	if (n > 1)
		qsort(keys, n, sizeof(*keys), dir_sync_cmp);
	if ((rc = dir_sync_collect(d, sql_sync_refs_of_group, tenant_id, group_id, &old, err)))
		goto out;
	while (rc == 0 && (i < n || j < old.n)) {
		int cmp;
		/* Skip duplicates, empty keys and the group's own DN. */
		if (i < n && (keys[i][0] == '\0' || (i > 0 && strcmp(keys[i], keys[i - 1]) == 0) ||
			      (own_key != NULL && strcmp(keys[i], own_key) == 0))) {
			i++;
			continue;
		}
		cmp = i == n ? 1 : j == old.n ? -1 : strcmp(keys[i], old.v[j]);
		if (cmp == 0) {
			i++, j++;
			continue;
		}
		changed = 1;
		if (cmp < 0) {
			/* stored and linked below, all at once */
			if ((rc = dir_sync_check_key("member", keys[i], err)) != 0)
				break;
			rc = dir_sync_json_add(&added, keys[i], err);
			i++;
		} else {
			rc = dir_sync_run(d, sql_sync_ref_del, tenant_id, group_id, old.v[j], NULL,
					  "remove member reference", err);
			if (rc >= 0)
				rc = dir_sync_strs_add(&removed, old.v[j], err);
			j++;
		}
	}
	if (rc == 0 && added.len > 0) {
		/* Linked in three statements; a key not (yet) synced is linked when it comes. */
		static const char *const link[] = {sql_sync_link_users_dn, sql_sync_link_users_uid,
						   sql_sync_link_groups};
		int linked = 0;
		buf_add(&added, "]", 1);
		if (buf_failed(&added))
			rc = err_set(err, ERR_INTERNAL, "out of memory");
		else
			rc = dir_sync_run(d, sql_sync_refs_add, tenant_id, group_id, added.data, NULL,
					  "add member references", err);
		rc = rc < 0 ? rc : 0;
		for (size_t l = 0; rc == 0 && l < 3; l++) {
			rc = dir_sync_run(d, link[l], tenant_id, group_id, NULL, NULL,
					  "add members", err);
			linked += rc > 0 ? rc : 0;
			rc = rc < 0 ? rc : 0;
		}
		/* one bump for the lot, in this transaction */
		if (rc == 0 && linked > 0)
			rc = dir_role_data_bump(d, tenant_id, err);
	}
	/* Unlink only once every reference is in place: another may still name it. */
	for (size_t r = 0; rc == 0 && r < removed.n; r++) {
		enum dir_member_kind kind = DIR_MEMBER_USER;
		char id[DIR_ID_MAX];
		struct dir_sync_keys k;
		int still;
		rc = dir_sync_resolve(d, tenant_id, removed.v[r], &kind, id, &k, err);
		if (rc == ERR_NOT_FOUND) {
			rc = 0;
			continue;
		}
		if (rc == 0 && (still = dir_sync_refs_any(d, tenant_id, group_id, &k, err)) >= 0)
			rc = still ? 0 : dir_sync_link(d, tenant_id, group_id, kind, id, 0, err);
		else if (rc == 0)
			rc = still;
	}
out:
	buf_free(&added);
	dir_sync_strs_free(&old);
	dir_sync_strs_free(&removed);
	return rc < 0 ? rc : changed;
}

int dir_sync_group_put(struct dir *d, const char *tenant_id, struct dir_group *g,
		       const char *dn_key, char **member_keys, size_t n, int flags,
		       struct err *err)
{
	int mark = (flags & DIR_SYNC_PUT_MARK) != 0;
	struct dir_group cur;
	struct dir_sync_keys old = {"", ""}, new;
	int tx, rc, change = DIR_SYNC_UNCHANGED;

	if (dir_sync_check_key("DN", dn_key, err) != 0)
		return err->code;
	if (dir_check_text("source anchor", g->source_anchor, sizeof(g->source_anchor), 1, err))
		return err->code;
	dir_sync_set_keys(&new, dn_key, NULL);
	g->source = DIR_SOURCE_LDAP;
	if ((tx = dir_sync_tx_begin(d, err)) < 0)
		return tx;
	rc = dir_group_get_by_anchor(d, tenant_id, g->source_anchor, &cur, err);
	if (rc == ERR_NOT_FOUND) {
		if ((rc = dir_group_create(d, tenant_id, g, err)) == 0)
			rc = dir_sync_rekey(d, tenant_id, DIR_MEMBER_GROUP, g->id, &old, &new, err);
		change = DIR_SYNC_ADDED;
	} else if (rc == 0 && cur.source != DIR_SOURCE_LDAP) {
		rc = err_set(err, ERR_INVALID, "the anchor belongs to a cloud group");
	} else if (rc == 0) {
		int same_fields, restore = cur.deleted_at != 0;
		memcpy(g->id, cur.id, sizeof(g->id));
		rc = dir_sync_get_keys(d, tenant_id, DIR_MEMBER_GROUP, cur.id, &old, err);
		same_fields = strcmp(g->name, cur.name) == 0 &&
			      strcmp(g->description, cur.description) == 0 &&
			      strcmp(g->source_dn, cur.source_dn) == 0;
		if (rc == 0 && !same_fields)
			rc = dir_group_update(d, tenant_id, g, err);
		if (rc == 0 && restore)
			rc = dir_group_restore(d, tenant_id, g->id, err);
		if (rc == 0 && (restore || strcmp(old.dn, new.dn) != 0))
			rc = dir_sync_rekey(d, tenant_id, DIR_MEMBER_GROUP, g->id, &old, &new, err);
		change = restore ? DIR_SYNC_ADDED
				 : same_fields && strcmp(old.dn, new.dn) == 0 ? DIR_SYNC_UNCHANGED
									       : DIR_SYNC_UPDATED;
	}
	if (rc == 0) {
		int refs = dir_sync_refs_replace(d, tenant_id, g->id, new.dn, member_keys, n, err);
		if (refs < 0)
			rc = refs;
		else if (refs > 0 && change == DIR_SYNC_UNCHANGED)
			change = DIR_SYNC_UPDATED;
	}
	if (rc == 0 && mark)
		rc = dir_sync_mark(d, DIR_SYNC_SEEN, DIR_MEMBER_GROUP, g->source_anchor, err);
	if (dir_sync_tx_end(d, tx, rc == 0, err) != 0 && rc == 0)
		rc = err->code;
	return rc < 0 ? rc : change;
}

/* Unlink a live synced object from everything by dropping its keys, then soft-delete it. */
static int dir_sync_remove(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			   const char *id, struct err *err)
{
	struct dir_sync_keys old, none = {"", ""};
	int tx = dir_sync_tx_begin(d, err), rc;

	if (tx < 0)
		return tx;
	rc = dir_sync_get_keys(d, tenant_id, kind, id, &old, err);
	if (rc == 0)
		rc = dir_sync_rekey(d, tenant_id, kind, id, &old, &none, err);
	if (rc == 0)
		rc = kind == DIR_MEMBER_USER ? dir_user_soft_delete(d, tenant_id, id, err)
					     : dir_group_soft_delete(d, tenant_id, id, err);
	if (dir_sync_tx_end(d, tx, rc == 0, err) != 0 && rc == 0)
		rc = err->code;
	return rc;
}

int dir_sync_delete(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		    const char *anchor, const char *base_key, struct err *err)
{
	struct dir_sync_keys k;
	char id[DIR_ID_MAX];
	int rc, live;

	if (kind == DIR_MEMBER_USER) {
		struct dir_user u;
		rc = dir_user_get_by_anchor(d, tenant_id, anchor, &u, err);
		live = rc == 0 && u.source == DIR_SOURCE_LDAP && u.deleted_at == 0;
		memcpy(id, u.id, sizeof(id));
	} else {
		struct dir_group g;
		rc = dir_group_get_by_anchor(d, tenant_id, anchor, &g, err);
		live = rc == 0 && g.source == DIR_SOURCE_LDAP && g.deleted_at == 0;
		memcpy(id, g.id, sizeof(id));
	}
	if (rc == ERR_NOT_FOUND || (rc == 0 && !live))
		return 0;
	if (rc != 0)
		return rc;
	/* moved to another base (and put there already): not gone */
	if (base_key != NULL) {
		if ((rc = dir_sync_get_keys(d, tenant_id, kind, id, &k, err)) != 0)
			return rc;
		if (k.dn[0] != '\0' && !dir_sync_under(k.dn, base_key))
			return 0;
	}
	rc = dir_sync_remove(d, tenant_id, kind, id, err);
	return rc < 0 ? rc : 1;
}

/*
 * Count or delete, 500 at a time, the objects a selection statement lists
 * as (kind, id) or (id) rows; deleted ones drop out of the selection.
 */
static int dir_sync_drain(struct dir *d, const char *sql, const char *tenant_id,
			  const char *base_key, enum dir_member_kind kind, int dry_run,
			  struct err *err)
{
	int total = 0, gone_sql = sql == sql_sync_gone;

	for (;;) {
		struct dir_sync_strs batch = {0};
		sqlite3_stmt *st;
		int step = SQLITE_DONE, rc = 0, limit = dry_run ? -1 : 500;

		if ((st = dir_stmt(d, sql, NULL)) == NULL) {
			if (dir_exec(d, sql_sync_marks_create, err) != 0)
				return err->code;
			if ((st = dir_stmt(d, sql, err)) == NULL)
				return err->code;
		}
		dir_bind_text(st, 1, tenant_id);
		if (gone_sql) {
			sqlite3_bind_int(st, 2, limit);
		} else {
			dir_bind_text_or_null(st, 2, base_key);
			sqlite3_bind_int(st, 3, limit);
		}
		while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
			char buf[DIR_ID_MAX + 4];
			if (dry_run) {
				total++;
				continue;
			}
			if (gone_sql)
				snprintf(buf, sizeof(buf), "%d:%s", sqlite3_column_int(st, 0),
					 (const char *)sqlite3_column_text(st, 1));
			else
				snprintf(buf, sizeof(buf), "%d:%s", (int)kind,
					 (const char *)sqlite3_column_text(st, 0));
			rc = dir_sync_strs_add(&batch, buf, err);
		}
		if (rc == 0 && step != SQLITE_DONE)
			rc = dir_fail(d, err, "find objects to delete");
		dir_stmt_done(st);
		for (size_t i = 0; rc == 0 && !dry_run && i < batch.n; i++)
			rc = dir_sync_remove(d, tenant_id,
					     batch.v[i][0] == '1' ? DIR_MEMBER_GROUP
								  : DIR_MEMBER_USER,
					     batch.v[i] + 2, err);
		total += (int)batch.n;
		if (rc != 0 || dry_run || batch.n == 0) {
			dir_sync_strs_free(&batch);
			return rc != 0 ? rc : total;
		}
		dir_sync_strs_free(&batch);
	}
}

int dir_sync_sweep(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		   const char *base_key, int dry_run, struct err *err)
{
	return dir_sync_drain(d, kind == DIR_MEMBER_USER ? sql_sync_sweep_users
							 : sql_sync_sweep_groups,
			      tenant_id, base_key, kind, dry_run, err);
}

int dir_sync_apply_gone(struct dir *d, const char *tenant_id, int dry_run, struct err *err)
{
	return dir_sync_drain(d, sql_sync_gone, tenant_id, NULL, DIR_MEMBER_USER, dry_run, err);
}

int dir_sync_exchange_begin(struct dir *d, struct err *err)
{
	if (sqlite3_get_autocommit(d->db))
		return err_set(err, ERR_INTERNAL, "an exchange of names needs an open batch");
	return dir_sync_exec(d, sql_sync_exchange_savepoint, err);
}

int dir_sync_exchange_vacate(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
			     const char *anchor, struct err *err)
{
	int rc = dir_sync_run(d, kind == DIR_MEMBER_USER ? sql_sync_vacate_user
							 : sql_sync_vacate_group,
			      tenant_id, anchor, NULL, NULL, "set a name aside", err);

	/* no such live synced object (no row changed): nothing to set aside */
	return rc < 0 ? rc : 0;
}

int dir_sync_exchange_left(struct dir *d, const char *tenant_id,
			   void (*cb)(void *ctx, enum dir_member_kind kind, const char *anchor),
			   void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_vacated_left, err);
	int rc, n = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *anchor = (const char *)sqlite3_column_text(st, 1);
		n++;
		if (cb != NULL && anchor != NULL)
			cb(ctx, sqlite3_column_int(st, 0) ? DIR_MEMBER_GROUP : DIR_MEMBER_USER,
			   anchor);
	}
	rc = rc == SQLITE_DONE ? n : dir_fail(d, err, "look for names set aside");
	dir_stmt_done(st);
	return rc;
}

int dir_sync_exchange_end(struct dir *d, int keep, struct err *err)
{
	if (!keep && dir_sync_exec(d, sql_sync_exchange_rollback, err) != 0)
		return err->code; /* the placeholders may still be there: fail the batch */
	return dir_sync_exec(d, sql_sync_exchange_release, err);
}
