/*
 * dir_group: groups, direct membership and transitive membership.
 *
 * Membership is two tables (users in groups, groups in groups) whose
 * composite foreign keys keep both ends in the same tenant.  Transitive
 * queries are recursive CTEs with UNION (not UNION ALL): a group already
 * reached is not reached again, so cycles end the walk instead of looping.
 * Soft-deleted groups stop the walk: a deleted group grants nothing.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <string.h>

#define GROUP_COLS                                                                                 \
	"g.id, g.tenant_id, g.name, g.description, g.source, g.source_anchor, g.source_dn, "       \
	"g.created_at, g.updated_at, g.deleted_at"

static const char sql_group_insert[] =
	"INSERT INTO groups (tenant_id, id, name, name_key, description, source, source_anchor, "
	"source_dn, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)";
static const char sql_group_by_id[] =
	"SELECT " GROUP_COLS " FROM groups g WHERE g.tenant_id = ?1 AND g.id = ?2";
static const char sql_group_by_name[] = "SELECT " GROUP_COLS " FROM groups g WHERE "
					"g.tenant_id = ?1 AND g.name_key = ?2 AND "
					"g.deleted_at IS NULL";
static const char sql_group_by_anchor[] =
	"SELECT " GROUP_COLS " FROM groups g WHERE g.tenant_id = ?1 AND g.source_anchor = ?2";
static const char sql_group_update[] =
	"UPDATE groups SET name = ?3, name_key = ?4, description = ?5, source_dn = ?6, "
	"updated_at = ?7 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_group_soft_delete[] =
	"UPDATE groups SET deleted_at = ?3, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND "
	"deleted_at IS NULL";
static const char sql_group_restore[] =
	"UPDATE groups SET deleted_at = NULL, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 "
	"AND deleted_at IS NOT NULL";
static const char sql_group_delete[] = "DELETE FROM groups WHERE tenant_id = ?1 AND id = ?2";
static const char sql_group_delete_assignments[] =
	"DELETE FROM role_assignments WHERE tenant_id = ?1 AND principal_id = ?2";
static const char sql_group_list[] =
	"SELECT " GROUP_COLS " FROM groups g WHERE g.tenant_id = ?1 AND g.name_key > ?2 AND "
	"g.deleted_at IS NULL ORDER BY g.name_key LIMIT ?3";
/*
 * Memberships hold rids (schema 10): ids are resolved within the tenant,
 * by UNIQUE (tenant_id, id).  An add finds no pair when either side is not
 * in the tenant and inserts nothing; sql_member_*_sides tell that from a
 * membership that already exists.
 */
#define GROUP_RID(p) "(SELECT rid FROM groups WHERE tenant_id = ?1 AND id = " p ")"
#define USER_RID(p) "(SELECT rid FROM users WHERE tenant_id = ?1 AND id = " p ")"
static const char sql_member_add_user[] =
	"INSERT OR IGNORE INTO group_member_users (group_rid, user_rid) "
	"SELECT g.rid, u.rid FROM groups g, users u WHERE g.tenant_id = ?1 AND g.id = ?2 AND "
	"u.tenant_id = ?1 AND u.id = ?3";
static const char sql_member_add_group[] =
	"INSERT OR IGNORE INTO group_member_groups (group_rid, member_rid) "
	"SELECT g.rid, c.rid FROM groups g, groups c WHERE g.tenant_id = ?1 AND g.id = ?2 AND "
	"c.tenant_id = ?1 AND c.id = ?3";
static const char sql_member_user_sides[] =
	"SELECT EXISTS " GROUP_RID("?2") " AND EXISTS " USER_RID("?3");
static const char sql_member_group_sides[] =
	"SELECT EXISTS " GROUP_RID("?2") " AND EXISTS " GROUP_RID("?3");
static const char sql_member_del_user[] = "DELETE FROM group_member_users WHERE group_rid = "
	GROUP_RID("?2") " AND user_rid = " USER_RID("?3");
static const char sql_member_del_group[] = "DELETE FROM group_member_groups WHERE group_rid = "
	GROUP_RID("?2") " AND member_rid = " GROUP_RID("?3");
static const char sql_members_direct[] =
	"SELECT 0, u.id, u.upn FROM group_member_users m CROSS JOIN users u ON u.rid = m.user_rid "
	"WHERE m.group_rid = " GROUP_RID("?2") " "
	"UNION ALL "
	"SELECT 1, g.id, g.name FROM group_member_groups m CROSS JOIN groups g "
	"ON g.rid = m.member_rid WHERE m.group_rid = " GROUP_RID("?2") " ORDER BY 1, 3";
/* the walk up is by rid: every group reached is in the tenant of the first */
static const char sql_member_of_user[] =
	"WITH RECURSIVE up(rid) AS ("
	"  SELECT m.group_rid FROM group_member_users m WHERE m.user_rid = " USER_RID("?2")
	"  UNION"
	"  SELECT m.group_rid FROM up CROSS JOIN groups p ON p.rid = up.rid AND "
	"   p.deleted_at IS NULL CROSS JOIN group_member_groups m ON m.member_rid = up.rid"
	") SELECT " GROUP_COLS " FROM up CROSS JOIN groups g ON g.rid = up.rid"
	" WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL ORDER BY g.name_key";
static const char sql_member_of_group[] =
	"WITH RECURSIVE up(rid) AS ("
	"  SELECT m.group_rid FROM group_member_groups m WHERE m.member_rid = " GROUP_RID("?2")
	"  UNION"
	"  SELECT m.group_rid FROM up CROSS JOIN groups p ON p.rid = up.rid AND "
	"   p.deleted_at IS NULL CROSS JOIN group_member_groups m ON m.member_rid = up.rid"
	") SELECT " GROUP_COLS " FROM up CROSS JOIN groups g ON g.rid = up.rid"
	" WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL AND g.id <> ?2 ORDER BY g.name_key";

static void dir_group_row(sqlite3_stmt *st, struct dir_group *g)
{
	const unsigned char *src;

	dir_col_text(st, 0, g->id, sizeof(g->id));
	dir_col_text(st, 1, g->tenant_id, sizeof(g->tenant_id));
	dir_col_text(st, 2, g->name, sizeof(g->name));
	dir_col_text(st, 3, g->description, sizeof(g->description));
	src = sqlite3_column_text(st, 4);
	g->source = src != NULL && strcmp((const char *)src, "ldap") == 0 ? DIR_SOURCE_LDAP
									  : DIR_SOURCE_CLOUD;
	dir_col_text(st, 5, g->source_anchor, sizeof(g->source_anchor));
	dir_col_text(st, 6, g->source_dn, sizeof(g->source_dn));
	g->created_at = sqlite3_column_int64(st, 7);
	g->updated_at = sqlite3_column_int64(st, 8);
	g->deleted_at = sqlite3_column_int64(st, 9);
}

static int dir_group_check(const struct dir_group *g, struct err *err)
{
	if (dir_check_text("group name", g->name, sizeof(g->name), 1, err) ||
	    dir_check_text("description", g->description, sizeof(g->description), 0, err) ||
	    dir_check_text("source DN", g->source_dn, sizeof(g->source_dn), 0, err))
		return err->code;
	return 0;
}

int dir_group_create(struct dir *d, const char *tenant_id, struct dir_group *g, struct err *err)
{
	char key[DIR_NAME_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_group_check(g, err) != 0)
		return err->code;
	if (g->source != DIR_SOURCE_CLOUD && g->source != DIR_SOURCE_LDAP)
		return err_set(err, ERR_INVALID, "unknown group source %d", (int)g->source);
	if (dir_check_text("source anchor", g->source_anchor, sizeof(g->source_anchor),
			   g->source == DIR_SOURCE_LDAP, err) != 0)
		return err->code;
	if (g->source == DIR_SOURCE_CLOUD && g->source_anchor[0] != '\0')
		return err_set(err, ERR_INVALID, "a cloud group has no source anchor");
	if (dir_fold_key("group name", g->name, key, sizeof(key), err) != 0 ||
	    dir_new_id(d, g->id, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_group_insert, err)) == NULL)
		return err->code;
	snprintf(g->tenant_id, sizeof(g->tenant_id), "%s", tenant_id);
	g->created_at = g->updated_at = dir_now(d);
	g->deleted_at = 0;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, g->id);
	dir_bind_text(st, 3, g->name);
	dir_bind_text(st, 4, key);
	dir_bind_text(st, 5, g->description);
	dir_bind_text(st, 6, g->source == DIR_SOURCE_LDAP ? "ldap" : "cloud");
	dir_bind_text_or_null(st, 7, g->source_anchor);
	dir_bind_text_or_null(st, 8, g->source_dn);
	sqlite3_bind_int64(st, 9, g->created_at);
	rc = dir_step_change(d, st, "create group", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "a group named '%s' or with this anchor exists",
			       g->name);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

static int dir_group_get_by(struct dir *d, const char *sql, const char *tenant_id,
			    const char *key, struct dir_group *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_group_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such group");
	} else {
		rc = dir_fail(d, err, "read group");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_group_get(struct dir *d, const char *tenant_id, const char *id, struct dir_group *out,
		  struct err *err)
{
	return dir_group_get_by(d, sql_group_by_id, tenant_id, id, out, err);
}

int dir_group_get_by_name(struct dir *d, const char *tenant_id, const char *name,
			  struct dir_group *out, struct err *err)
{
	char key[DIR_NAME_MAX * 2];

	if (dir_fold_key("group name", name, key, sizeof(key), err) != 0)
		return err_set(err, ERR_NOT_FOUND, "no such group");
	return dir_group_get_by(d, sql_group_by_name, tenant_id, key, out, err);
}

int dir_group_get_by_anchor(struct dir *d, const char *tenant_id, const char *anchor,
			    struct dir_group *out, struct err *err)
{
	return dir_group_get_by(d, sql_group_by_anchor, tenant_id, anchor, out, err);
}

int dir_group_update(struct dir *d, const char *tenant_id, const struct dir_group *g,
		     struct err *err)
{
	char key[DIR_NAME_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_group_check(g, err) != 0 ||
	    dir_fold_key("group name", g->name, key, sizeof(key), err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_group_update, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, g->id);
	dir_bind_text(st, 3, g->name);
	dir_bind_text(st, 4, key);
	dir_bind_text(st, 5, g->description);
	dir_bind_text_or_null(st, 6, g->source_dn);
	sqlite3_bind_int64(st, 7, dir_now(d));
	rc = dir_step_change(d, st, "update group", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "a group named '%s' exists", g->name);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such group");
	return rc < 0 ? rc : 0;
}

/* Run a statement binding (tenant_id, a, b); b may be NULL, then the time goes in ?3. */
static int dir_group_run(struct dir *d, const char *sql, const char *tenant_id, const char *a,
			 const char *b, const char *what, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, a);
	if (b != NULL)
		dir_bind_text(st, 3, b);
	else
		sqlite3_bind_int64(st, 3, dir_now(d));
	rc = dir_step_change(d, st, what, err);
	dir_stmt_done(st);
	return rc;
}

int dir_group_soft_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int rc = dir_group_run(d, sql_group_soft_delete, tenant_id, id, NULL, "delete group", err);

	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such live group");
	return rc < 0 ? rc : 0;
}

int dir_group_restore(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int rc = dir_group_run(d, sql_group_restore, tenant_id, id, NULL, "restore group", err);

	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "another live group now has this group's name");
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such deleted group");
	return rc < 0 ? rc : 0;
}

int dir_group_purge(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc;

	if (tx < 0)
		return tx;
	rc = dir_group_run(d, sql_group_delete_assignments, tenant_id, id, NULL, "purge group",
			   err);
	if (rc >= 0)
		rc = dir_audit_redact(d, tenant_id, id, err);
	if (rc >= 0) {
		rc = dir_group_run(d, sql_group_delete, tenant_id, id, NULL, "purge group", err);
		if (rc == 0)
			rc = err_set(err, ERR_NOT_FOUND, "no such group");
	}
	if (dir_tx_end(d, tx, rc > 0, err) != 0)
		return err->code;
	if (rc < 0)
		return rc;
	if (sqlite3_get_autocommit(d->db))
		return dir_checkpoint(d, err);
	return 0;
}

int dir_group_list(struct dir *d, const char *tenant_id, const char *after_name, int limit,
		   int (*cb)(void *ctx, const struct dir_group *g), void *ctx, struct err *err)
{
	char after[DIR_NAME_MAX * 2] = "";
	struct dir_group g;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, stop = 0;

	if (after_name != NULL && dir_fold_key("cursor", after_name, after, sizeof(after), err))
		return err->code;
	if ((st = dir_stmt(d, sql_group_list, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, after);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_group_row(st, &g);
		stop = cb(ctx, &g);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list groups");
	dir_stmt_done(st);
	return stop;
}

/* 0 when both sides of a membership are in the tenant, else ERR_NOT_FOUND. */
static int dir_member_sides(struct dir *d, const char *sql, const char *tenant_id,
			    const char *group_id, const char *member_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, group_id);
	dir_bind_text(st, 3, member_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		rc = dir_fail(d, err, "check membership");
	else if (sqlite3_column_int(st, 0) == 0)
		rc = err_set(err, ERR_NOT_FOUND, "no such group or member in this tenant");
	else
		rc = 0;
	dir_stmt_done(st);
	return rc;
}

/*
 * A membership change and the role-data version bump it needs
 * (dir_role_data_bump()) commit together or not at all: a transaction of
 * their own, or a savepoint in the caller's, whatever the caller does with
 * an error.  The number of rows changed, or an err code.
 */
static int dir_member_change(struct dir *d, const char *sql, const char *sides_sql,
			     const char *tenant_id, const char *group_id, const char *member_id,
			     const char *what, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc;

	if (tx < 0)
		return tx;
	rc = dir_group_run(d, sql, tenant_id, group_id, member_id, what, err);
	/* nothing added: a membership that exists, or a side not in the tenant */
	if (rc == 0 && sides_sql != NULL)
		rc = dir_member_sides(d, sides_sql, tenant_id, group_id, member_id, err);
	if (rc > 0 && dir_role_data_bump(d, tenant_id, err) != 0)
		rc = err->code;
	if (dir_tx_end(d, tx, rc >= 0, err) != 0 && rc >= 0)
		rc = err->code;
	return rc;
}

int dir_group_add_member(struct dir *d, const char *tenant_id, const char *group_id,
			 enum dir_member_kind kind, const char *member_id, struct err *err)
{
	int rc;

	if (kind == DIR_MEMBER_GROUP && strcmp(group_id, member_id) == 0)
		return err_set(err, ERR_INVALID, "a group cannot be a member of itself");
	rc = dir_member_change(d,
			       kind == DIR_MEMBER_USER ? sql_member_add_user : sql_member_add_group,
			       kind == DIR_MEMBER_USER ? sql_member_user_sides
						       : sql_member_group_sides,
			       tenant_id, group_id, member_id, "add member", err);
	/* Either end is not in this tenant (or, raced, a foreign key failed). */
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such group or %s in this tenant",
			       kind == DIR_MEMBER_USER ? "user" : "member group");
	return rc < 0 ? rc : 0;
}

int dir_group_remove_member(struct dir *d, const char *tenant_id, const char *group_id,
			    enum dir_member_kind kind, const char *member_id, struct err *err)
{
	int rc = dir_member_change(d, kind == DIR_MEMBER_USER ? sql_member_del_user
							      : sql_member_del_group,
				   NULL, tenant_id, group_id, member_id, "remove member", err);

	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "not a member");
	return rc < 0 ? rc : 0;
}

int dir_group_members(struct dir *d, const char *tenant_id, const char *group_id,
		      int (*cb)(void *ctx, const struct dir_member *m), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_members_direct, err);
	struct dir_member m;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, group_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		m.kind = sqlite3_column_int(st, 0) ? DIR_MEMBER_GROUP : DIR_MEMBER_USER;
		dir_col_text(st, 1, m.id, sizeof(m.id));
		dir_col_text(st, 2, m.name, sizeof(m.name));
		stop = cb(ctx, &m);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list members");
	dir_stmt_done(st);
	return stop;
}

int dir_member_of(struct dir *d, const char *tenant_id, enum dir_member_kind kind,
		  const char *member_id, int (*cb)(void *ctx, const struct dir_group *g),
		  void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(
		d, kind == DIR_MEMBER_USER ? sql_member_of_user : sql_member_of_group, err);
	struct dir_group g;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, member_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_group_row(st, &g);
		stop = cb(ctx, &g);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list memberships");
	dir_stmt_done(st);
	return stop;
}
