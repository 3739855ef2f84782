/*
 * dir_tenant: tenants, the unit of isolation.
 *
 * A tenant's name is the first segment of every URL of it
 * (https://HOST/{name}/...), so it is restricted to what needs no escaping.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <string.h>

#define TENANT_COLS "id, name, display_name, mfa_required, created_at, updated_at"

static const char sql_tenant_insert[] =
	"INSERT INTO tenants (" TENANT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
static const char sql_tenant_by_id[] = "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1";
static const char sql_tenant_by_name[] = "SELECT " TENANT_COLS " FROM tenants WHERE name = ?1";
static const char sql_tenant_list[] = "SELECT " TENANT_COLS " FROM tenants ORDER BY name";
static const char sql_tenant_update[] =
	"UPDATE tenants SET display_name = ?2, mfa_required = ?3, updated_at = ?4 WHERE id = ?1";
static const char sql_tenant_delete[] = "DELETE FROM tenants WHERE id = ?1";

int dir_tenant_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= DIR_TENANT_MAX || name[0] == '-')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static void dir_tenant_row(sqlite3_stmt *st, struct dir_tenant *t)
{
	dir_col_text(st, 0, t->id, sizeof(t->id));
	dir_col_text(st, 1, t->name, sizeof(t->name));
	dir_col_text(st, 2, t->display_name, sizeof(t->display_name));
	t->mfa_required = sqlite3_column_int(st, 3);
	t->created_at = sqlite3_column_int64(st, 4);
	t->updated_at = sqlite3_column_int64(st, 5);
}

int dir_tenant_create(struct dir *d, struct dir_tenant *t, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!dir_tenant_name_valid(t->name))
		return err_set(err, ERR_INVALID,
			       "tenant name must be 1 to %d lowercase letters, digits or '-', "
			       "not starting with '-'",
			       DIR_TENANT_MAX - 1);
	if (dir_check_text("display name", t->display_name, sizeof(t->display_name), 0, err))
		return err->code;
	if (dir_new_id(d, t->id, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_tenant_insert, err)) == NULL)
		return err->code;
	t->created_at = t->updated_at = dir_now(d);
	dir_bind_text(st, 1, t->id);
	dir_bind_text(st, 2, t->name);
	dir_bind_text(st, 3, t->display_name[0] ? t->display_name : t->name);
	sqlite3_bind_int(st, 4, t->mfa_required != 0);
	sqlite3_bind_int64(st, 5, t->created_at);
	rc = dir_step_change(d, st, "create tenant", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "tenant '%s' exists", t->name);
	if (rc < 0)
		return rc;
	if (t->display_name[0] == '\0')
		strcpy(t->display_name, t->name);
	return 0;
}

static int dir_tenant_get_by(struct dir *d, const char *sql, const char *key,
			     struct dir_tenant *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_tenant_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", key);
	} else {
		rc = dir_fail(d, err, "read tenant");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_tenant_get(struct dir *d, const char *id, struct dir_tenant *out, struct err *err)
{
	return dir_tenant_get_by(d, sql_tenant_by_id, id, out, err);
}

int dir_tenant_get_by_name(struct dir *d, const char *name, struct dir_tenant *out,
			   struct err *err)
{
	return dir_tenant_get_by(d, sql_tenant_by_name, name, out, err);
}

int dir_tenant_update(struct dir *d, const struct dir_tenant *t, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("display name", t->display_name, sizeof(t->display_name), 1, err))
		return err->code;
	if ((st = dir_stmt(d, sql_tenant_update, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, t->id);
	dir_bind_text(st, 2, t->display_name);
	sqlite3_bind_int(st, 3, t->mfa_required != 0);
	sqlite3_bind_int64(st, 4, dir_now(d));
	rc = dir_step_change(d, st, "update tenant", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", t->id);
	return rc < 0 ? rc : 0;
}

int dir_tenant_list(struct dir *d, int (*cb)(void *ctx, const struct dir_tenant *t), void *ctx,
		    struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_tenant_list, err);
	struct dir_tenant t;
	int rc, stop = 0;

	if (st == NULL)
		return err->code;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_tenant_row(st, &t);
		stop = cb(ctx, &t);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list tenants");
	dir_stmt_done(st);
	return stop;
}

int dir_tenant_purge(struct dir *d, const char *id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_tenant_delete, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, id);
	/* Foreign keys cascade from the tenant row to every row it owns. */
	rc = dir_step_change(d, st, "purge tenant", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", id);
	if (rc < 0)
		return rc;
	if (sqlite3_get_autocommit(d->db))
		return dir_checkpoint(d, err);
	return 0;
}
