/*
 * dir_role: role definitions, role assignments and deny assignments, and
 * the bulk reads the authorization index is loaded from.
 *
 * The store checks shape only: text lengths, JSON lists that are arrays of
 * strings (or of principal objects), known principal types.  Meaning (is a
 * pattern well-formed, is a scope inside the role's assignable scopes, does
 * the principal exist) is checked by rbac_store before it calls here.
 * Lists are stored in compact canonical JSON, so what is read back is what
 * the evaluator parses.
 */
#include "dir_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_COLS                                                                                  \
	"id, tenant_id, name, description, builtin, actions, not_actions, data_actions, "          \
	"not_data_actions, assignable_scopes, created_at, updated_at"
#define ASG_COLS                                                                                   \
	"a.id, a.tenant_id, a.role_id, a.principal_type, a.principal_id, a.scope, a.created_at, " \
	"CASE a.principal_type "                                                                   \
	" WHEN 'user' THEN EXISTS (SELECT 1 FROM users u WHERE u.id = a.principal_id AND "       \
	"  u.tenant_id = a.tenant_id AND u.deleted_at IS NULL) "                                   \
	" WHEN 'group' THEN EXISTS (SELECT 1 FROM groups g WHERE g.id = a.principal_id AND "     \
	"  g.tenant_id = a.tenant_id AND g.deleted_at IS NULL) "                                   \
	" ELSE EXISTS (SELECT 1 FROM apps p WHERE p.id = a.principal_id AND "                    \
	"  p.tenant_id = a.tenant_id) END"
#define DENY_COLS                                                                                  \
	"id, tenant_id, name, description, principals, excluded_principals, actions, "             \
	"not_actions, data_actions, not_data_actions, scope, created_at"

static const char sql_role_insert[] =
	"INSERT INTO role_definitions (tenant_id, id, name, name_key, description, builtin, "
	"actions, not_actions, data_actions, not_data_actions, assignable_scopes, created_at, "
	"updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)";
static const char sql_role_seed[] =
	"INSERT INTO role_definitions (tenant_id, id, name, name_key, description, builtin, "
	"actions, not_actions, data_actions, not_data_actions, assignable_scopes, created_at, "
	"updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?11) "
	"ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, "
	"description = excluded.description, actions = excluded.actions, "
	"not_actions = excluded.not_actions, data_actions = excluded.data_actions, "
	"not_data_actions = excluded.not_data_actions, "
	"assignable_scopes = excluded.assignable_scopes, updated_at = excluded.updated_at "
	"WHERE role_definitions.tenant_id = excluded.tenant_id AND role_definitions.builtin = 1 "
	"AND (role_definitions.name <> excluded.name OR "
	"role_definitions.description <> excluded.description OR "
	"role_definitions.actions <> excluded.actions OR "
	"role_definitions.not_actions <> excluded.not_actions OR "
	"role_definitions.data_actions <> excluded.data_actions OR "
	"role_definitions.not_data_actions <> excluded.not_data_actions OR "
	"role_definitions.assignable_scopes <> excluded.assignable_scopes)";
static const char sql_role_update[] =
	"UPDATE role_definitions SET name = ?3, name_key = ?4, description = ?5, actions = ?6, "
	"not_actions = ?7, data_actions = ?8, not_data_actions = ?9, assignable_scopes = ?10, "
	"updated_at = ?11 WHERE tenant_id = ?1 AND id = ?2 AND builtin = 0";
static const char sql_role_is_builtin[] =
	"SELECT builtin FROM role_definitions WHERE tenant_id = ?1 AND id = ?2";
static const char sql_role_uses[] =
	"SELECT count(*) FROM role_assignments WHERE tenant_id = ?1 AND role_id = ?2";
static const char sql_role_delete[] =
	"DELETE FROM role_definitions WHERE tenant_id = ?1 AND id = ?2 AND builtin = 0";
static const char sql_role_by_id[] =
	"SELECT " ROLE_COLS " FROM role_definitions WHERE tenant_id = ?1 AND id = ?2";
static const char sql_role_by_name[] =
	"SELECT " ROLE_COLS " FROM role_definitions WHERE tenant_id = ?1 AND name_key = ?2";
static const char sql_role_list[] = "SELECT " ROLE_COLS " FROM role_definitions WHERE "
				    "tenant_id = ?1 ORDER BY builtin DESC, name_key";

static const char sql_asg_insert[] =
	"INSERT INTO role_assignments (tenant_id, id, role_id, principal_type, principal_id, "
	"scope, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_asg_by_id[] =
	"SELECT " ASG_COLS " FROM role_assignments a WHERE a.tenant_id = ?1 AND a.id = ?2";
static const char sql_asg_delete[] =
	"DELETE FROM role_assignments WHERE tenant_id = ?1 AND id = ?2";
static const char sql_asg_list[] =
	"SELECT " ASG_COLS " FROM role_assignments a WHERE a.tenant_id = ?1 AND "
	"(?2 IS NULL OR a.role_id = ?2) AND (?3 IS NULL OR a.principal_id = ?3) AND "
	"(?4 IS NULL OR a.scope = ?4) ORDER BY a.rowid";

static const char sql_deny_insert[] =
	"INSERT INTO deny_assignments (tenant_id, id, name, description, principals, "
	"excluded_principals, actions, not_actions, data_actions, not_data_actions, scope, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char sql_deny_update[] =
	"UPDATE deny_assignments SET name = ?3, description = ?4, principals = ?5, "
	"excluded_principals = ?6, actions = ?7, not_actions = ?8, data_actions = ?9, "
	"not_data_actions = ?10, scope = ?11 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_deny_by_id[] =
	"SELECT " DENY_COLS " FROM deny_assignments WHERE tenant_id = ?1 AND id = ?2";
static const char sql_deny_delete[] =
	"DELETE FROM deny_assignments WHERE tenant_id = ?1 AND id = ?2";
static const char sql_deny_list[] =
	"SELECT " DENY_COLS " FROM deny_assignments WHERE tenant_id = ?1 ORDER BY rowid";

/*
 * Driven from the tenant's live groups (an index), not a scan of every
 * tenant's rows, then by rid (CROSS JOIN: in this order whatever the
 * statistics say).
 */
static const char sql_memberships[] =
	"SELECT 0, u.id, g.id FROM groups g "
	" CROSS JOIN group_member_users m ON m.group_rid = g.rid "
	" CROSS JOIN users u ON u.rid = m.user_rid AND u.deleted_at IS NULL "
	" WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL "
	"UNION ALL "
	"SELECT 1, c.id, g.id FROM groups g "
	" CROSS JOIN group_member_groups m ON m.group_rid = g.rid "
	" CROSS JOIN groups c ON c.rid = m.member_rid AND c.deleted_at IS NULL "
	" WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL";
static const char sql_version[] =
	"SELECT version FROM role_data_versions WHERE tenant_id = ?1";
static const char sql_version_bump[] =
	"UPDATE role_data_versions SET version = version + 1 WHERE tenant_id = ?1";

static const char *const dir_principal_names[] = {"user", "group", "app"};

const char *dir_principal_type_name(enum dir_principal_type t)
{
	if ((unsigned)t > DIR_PRINCIPAL_APP)
		return "?";
	return dir_principal_names[t];
}

int dir_principal_type_parse(const char *s)
{
	for (int i = 0; s != NULL && i <= DIR_PRINCIPAL_APP; i++)
		if (strcmp(s, dir_principal_names[i]) == 0)
			return i;
	return -1;
}

/* ---- list fields ------------------------------------------------------ */

#define DIR_LIST_ITEMS 1024 /* entries in one list */
#define DIR_LIST_ITEM  1025 /* bytes in one entry */

static int dir_check_item(const char *field, size_t i, json_t *v, struct err *err)
{
	char what[96];

	snprintf(what, sizeof(what), "%s[%zu]", field, i);
	if (!json_is_string(v))
		return err_set(err, ERR_INVALID, "%s must be a string", what);
	if (json_string_length(v) != strlen(json_string_value(v)))
		return err_set(err, ERR_INVALID, "%s contains a NUL byte", what);
	return dir_check_text(what, json_string_value(v), DIR_LIST_ITEM, 1, err);
}

static int dir_check_principal(const char *field, size_t i, json_t *v, struct err *err)
{
	const char *type, *key;
	json_t *id, *val;

	if (!json_is_object(v) || !json_is_string(json_object_get(v, "type")))
		return err_set(err, ERR_INVALID, "%s[%zu] must be an object with a \"type\"", field,
			       i);
	json_object_foreach(v, key, val)
		if (strcmp(key, "type") != 0 && strcmp(key, "id") != 0)
			return err_set(err, ERR_INVALID, "%s[%zu]: unknown key \"%.32s\"", field, i,
				       key);
	type = json_string_value(json_object_get(v, "type"));
	id = json_object_get(v, "id");
	if (strcmp(type, "everyone") == 0) {
		if (id != NULL)
			return err_set(err, ERR_INVALID, "%s[%zu]: everyone has no id", field, i);
		return 0;
	}
	if (dir_principal_type_parse(type) < 0)
		return err_set(err, ERR_INVALID,
			       "%s[%zu]: type must be user, group, app or everyone", field, i);
	if (!json_is_string(id) || json_string_length(id) != strlen(json_string_value(id)))
		return err_set(err, ERR_INVALID, "%s[%zu]: a %s needs a string \"id\"", field, i,
			       type);
	return dir_check_text("principal id", json_string_value(id), DIR_ID_MAX, 1, err);
}

/*
 * Check the JSON list text (empty = "[]", or dflt) and return its compact
 * canonical form (caller frees), or NULL with err filled.
 */
static char *dir_list_canon(const char *field, const char *text, const char *dflt,
			    int principals, struct err *err)
{
	json_error_t jerr;
	json_t *v;
	char *out = NULL;
	size_t i, len;

	if (text == NULL || *text == '\0')
		text = dflt;
	len = strnlen(text, DIR_ROLE_LIST_MAX);
	if (len >= DIR_ROLE_LIST_MAX) {
		err_set(err, ERR_INVALID, "%s is longer than %d bytes", field,
			DIR_ROLE_LIST_MAX - 1);
		return NULL;
	}
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL || !json_is_array(v)) {
		err_set(err, ERR_INVALID, "%s must be a JSON array%s%.100s", field,
			v == NULL ? ": " : "", v == NULL ? jerr.text : "");
		goto out;
	}
	if (json_array_size(v) > DIR_LIST_ITEMS) {
		err_set(err, ERR_INVALID, "%s has more than %d entries", field, DIR_LIST_ITEMS);
		goto out;
	}
	for (i = 0; i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i);
		if ((principals ? dir_check_principal(field, i, item, err)
				: dir_check_item(field, i, item, err)) != 0)
			goto out;
	}
	out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (out == NULL)
		err_set(err, ERR_INTERNAL, "out of memory");
	else if (strlen(out) >= DIR_ROLE_LIST_MAX) {
		err_set(err, ERR_INVALID, "%s is longer than %d bytes", field,
			DIR_ROLE_LIST_MAX - 1);
		free(out);
		out = NULL;
	}
out:
	json_decref(v);
	return out;
}

enum { L_ACT, L_NOT_ACT, L_DATA, L_NOT_DATA, L_SCOPES, L_PRIN, L_EXCL, L_N };

struct dir_lists {
	char *v[L_N];
};

static void dir_lists_free(struct dir_lists *l)
{
	for (int i = 0; i < L_N; i++)
		free(l->v[i]);
}

static int dir_role_lists(const struct dir_role *r, struct dir_lists *l, struct err *err)
{
	memset(l, 0, sizeof(*l));
	if ((l->v[L_ACT] = dir_list_canon("actions", r->actions, "[]", 0, err)) == NULL ||
	    (l->v[L_NOT_ACT] = dir_list_canon("notActions", r->not_actions, "[]", 0, err)) ==
		    NULL ||
	    (l->v[L_DATA] = dir_list_canon("dataActions", r->data_actions, "[]", 0, err)) ==
		    NULL ||
	    (l->v[L_NOT_DATA] =
		     dir_list_canon("notDataActions", r->not_data_actions, "[]", 0, err)) == NULL ||
	    (l->v[L_SCOPES] = dir_list_canon("assignableScopes", r->assignable_scopes, "[\"/\"]",
					     0, err)) == NULL) {
		dir_lists_free(l);
		return err->code;
	}
	return 0;
}

/* ---- role definitions ------------------------------------------------- */

static void dir_role_row(sqlite3_stmt *st, struct dir_role *r)
{
	dir_col_text(st, 0, r->id, sizeof(r->id));
	dir_col_text(st, 1, r->tenant_id, sizeof(r->tenant_id));
	dir_col_text(st, 2, r->name, sizeof(r->name));
	dir_col_text(st, 3, r->description, sizeof(r->description));
	r->builtin = sqlite3_column_int(st, 4);
	dir_col_text(st, 5, r->actions, sizeof(r->actions));
	dir_col_text(st, 6, r->not_actions, sizeof(r->not_actions));
	dir_col_text(st, 7, r->data_actions, sizeof(r->data_actions));
	dir_col_text(st, 8, r->not_data_actions, sizeof(r->not_data_actions));
	dir_col_text(st, 9, r->assignable_scopes, sizeof(r->assignable_scopes));
	r->created_at = sqlite3_column_int64(st, 10);
	r->updated_at = sqlite3_column_int64(st, 11);
}

static int dir_role_check(const struct dir_role *r, char *key, size_t keycap, struct err *err)
{
	if (dir_check_text("role name", r->name, sizeof(r->name), 1, err) ||
	    dir_check_text("description", r->description, sizeof(r->description), 0, err) ||
	    dir_fold_key("role name", r->name, key, keycap, err))
		return err->code;
	return 0;
}

/* Bind the name, its folded key and the description at ?first..?first+2. */
static void dir_role_bind(sqlite3_stmt *st, int first, const struct dir_role *r, const char *key)
{
	dir_bind_text(st, first, r->name);
	dir_bind_text(st, first + 1, key);
	dir_bind_text(st, first + 2, r->description);
}

int dir_role_create(struct dir *d, const char *tenant_id, struct dir_role *r, struct err *err)
{
	char key[DIR_NAME_MAX * 2];
	struct dir_lists l;
	sqlite3_stmt *st;
	int rc;

	if (dir_role_check(r, key, sizeof(key), err) != 0)
		return err->code;
	if (r->id[0] != '\0' ? dir_check_text("role id", r->id, sizeof(r->id), 1, err)
			     : dir_new_id(d, r->id, err))
		return err->code;
	if (dir_role_lists(r, &l, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_role_insert, err)) == NULL) {
		dir_lists_free(&l);
		return err->code;
	}
	snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant_id);
	r->created_at = r->updated_at = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, r->id);
	dir_role_bind(st, 3, r, key);
	sqlite3_bind_int(st, 6, r->builtin != 0);
	for (int i = 0; i < 5; i++)
		dir_bind_text(st, 7 + i, l.v[i]);
	sqlite3_bind_int64(st, 12, r->created_at);
	rc = dir_step_change(d, st, "create role", err);
	dir_stmt_done(st);
	if (rc >= 0) {
		snprintf(r->actions, sizeof(r->actions), "%s", l.v[L_ACT]);
		snprintf(r->not_actions, sizeof(r->not_actions), "%s", l.v[L_NOT_ACT]);
		snprintf(r->data_actions, sizeof(r->data_actions), "%s", l.v[L_DATA]);
		snprintf(r->not_data_actions, sizeof(r->not_data_actions), "%s", l.v[L_NOT_DATA]);
		snprintf(r->assignable_scopes, sizeof(r->assignable_scopes), "%s", l.v[L_SCOPES]);
	}
	dir_lists_free(&l);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "a role named '%s' (or with this id) exists",
			       r->name);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

int dir_role_seed(struct dir *d, const char *tenant_id, const struct dir_role *r,
		  struct err *err)
{
	char key[DIR_NAME_MAX * 2];
	struct dir_lists l;
	sqlite3_stmt *st;
	int rc;

	if (dir_role_check(r, key, sizeof(key), err) != 0 ||
	    dir_check_text("role id", r->id, sizeof(r->id), 1, err) ||
	    dir_role_lists(r, &l, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_role_seed, err)) == NULL) {
		dir_lists_free(&l);
		return err->code;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, r->id);
	dir_role_bind(st, 3, r, key);
	for (int i = 0; i < 5; i++)
		dir_bind_text(st, 6 + i, l.v[i]);
	sqlite3_bind_int64(st, 11, dir_now(d));
	rc = dir_step_change(d, st, "seed built-in role", err);
	dir_stmt_done(st);
	dir_lists_free(&l);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS,
			       "a custom role is named '%s': rename it to make room for the "
			       "built-in role",
			       r->name);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

/* 1 built-in, 0 custom, or a negative err (ERR_NOT_FOUND). */
static int dir_role_builtin(struct dir *d, const char *tenant_id, const char *id,
			    struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_role_is_builtin, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		rc = err_set(err, ERR_NOT_FOUND, "no such role");
	else
		rc = dir_fail(d, err, "read role");
	dir_stmt_done(st);
	return rc;
}

int dir_role_update(struct dir *d, const char *tenant_id, const struct dir_role *r,
		    struct err *err)
{
	char key[DIR_NAME_MAX * 2];
	struct dir_lists l;
	sqlite3_stmt *st;
	int rc;

	if ((rc = dir_role_builtin(d, tenant_id, r->id, err)) < 0)
		return rc;
	if (rc == 1)
		return err_set(err, ERR_DENIED, "built-in roles cannot be changed");
	if (dir_role_check(r, key, sizeof(key), err) != 0 || dir_role_lists(r, &l, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_role_update, err)) == NULL) {
		dir_lists_free(&l);
		return err->code;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, r->id);
	dir_role_bind(st, 3, r, key);
	for (int i = 0; i < 5; i++)
		dir_bind_text(st, 6 + i, l.v[i]);
	sqlite3_bind_int64(st, 11, dir_now(d));
	rc = dir_step_change(d, st, "update role", err);
	dir_stmt_done(st);
	dir_lists_free(&l);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "a role named '%s' exists", r->name);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such role");
	return rc < 0 ? rc : 0;
}

static int dir_count(struct dir *d, const char *sql, const char *tenant_id, const char *id,
		     int64_t *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = dir_fail(d, err, "count");
	}
	dir_stmt_done(st);
	return rc;
}

static int dir_delete_by_id(struct dir *d, const char *sql, const char *tenant_id,
			    const char *id, const char *what, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = dir_step_change(d, st, what, err);
	dir_stmt_done(st);
	return rc;
}

int dir_role_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int64_t uses = 0;
	int tx, rc;

	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	rc = dir_role_builtin(d, tenant_id, id, err);
	if (rc == 1)
		rc = err_set(err, ERR_DENIED, "built-in roles cannot be deleted");
	if (rc == 0 && (rc = dir_count(d, sql_role_uses, tenant_id, id, &uses, err)) == 0 &&
	    uses > 0)
		rc = err_set(err, ERR_EXISTS,
			     "the role has %lld assignment(s): delete them first", (long long)uses);
	if (rc == 0) {
		rc = dir_delete_by_id(d, sql_role_delete, tenant_id, id, "delete role", err);
		if (rc == 0)
			rc = err_set(err, ERR_NOT_FOUND, "no such role");
	}
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

static int dir_role_get_by(struct dir *d, const char *sql, const char *tenant_id,
			   const char *key, struct dir_role *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_role_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such role");
	} else {
		rc = dir_fail(d, err, "read role");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_role_get(struct dir *d, const char *tenant_id, const char *id, struct dir_role *out,
		 struct err *err)
{
	return dir_role_get_by(d, sql_role_by_id, tenant_id, id, out, err);
}

int dir_role_get_by_name(struct dir *d, const char *tenant_id, const char *name,
			 struct dir_role *out, struct err *err)
{
	char key[DIR_NAME_MAX * 2];

	if (dir_fold_key("role name", name, key, sizeof(key), err) != 0)
		return err_set(err, ERR_NOT_FOUND, "no such role");
	return dir_role_get_by(d, sql_role_by_name, tenant_id, key, out, err);
}

int dir_role_list(struct dir *d, const char *tenant_id,
		  int (*cb)(void *ctx, const struct dir_role *r), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_role_list, err);
	struct dir_role *r = malloc(sizeof(*r));
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL || r == NULL) {
		free(r);
		return st == NULL ? err->code : err_set(err, ERR_INTERNAL, "out of memory");
	}
	dir_bind_text(st, 1, tenant_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_role_row(st, r);
		stop = cb(ctx, r);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list roles");
	dir_stmt_done(st);
	free(r);
	return stop;
}

/* ---- role assignments ------------------------------------------------- */

static void dir_asg_row(sqlite3_stmt *st, struct dir_role_assignment *a)
{
	char type[16];

	dir_col_text(st, 0, a->id, sizeof(a->id));
	dir_col_text(st, 1, a->tenant_id, sizeof(a->tenant_id));
	dir_col_text(st, 2, a->role_id, sizeof(a->role_id));
	dir_col_text(st, 3, type, sizeof(type));
	a->principal_type = (enum dir_principal_type)(dir_principal_type_parse(type) < 0
							     ? DIR_PRINCIPAL_USER
							     : dir_principal_type_parse(type));
	dir_col_text(st, 4, a->principal_id, sizeof(a->principal_id));
	dir_col_text(st, 5, a->scope, sizeof(a->scope));
	a->created_at = sqlite3_column_int64(st, 6);
	a->principal_live = sqlite3_column_int(st, 7);
}

int dir_role_assignment_create(struct dir *d, const char *tenant_id,
			       struct dir_role_assignment *a, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((unsigned)a->principal_type > DIR_PRINCIPAL_APP)
		return err_set(err, ERR_INVALID, "principal type must be user, group or app");
	if (dir_check_text("role id", a->role_id, sizeof(a->role_id), 1, err) ||
	    dir_check_text("principal id", a->principal_id, sizeof(a->principal_id), 1, err) ||
	    dir_check_text("scope", a->scope, sizeof(a->scope), 1, err) ||
	    dir_new_id(d, a->id, err))
		return err->code;
	if ((st = dir_stmt(d, sql_asg_insert, err)) == NULL)
		return err->code;
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s", tenant_id);
	a->created_at = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, a->id);
	dir_bind_text(st, 3, a->role_id);
	dir_bind_text(st, 4, dir_principal_names[a->principal_type]);
	dir_bind_text(st, 5, a->principal_id);
	dir_bind_text(st, 6, a->scope);
	sqlite3_bind_int64(st, 7, a->created_at);
	rc = dir_step_change(d, st, "create role assignment", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS,
			       "this principal already has this role at this scope");
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such role in this tenant");
	return rc < 0 ? rc : 0;
}

int dir_role_assignment_get(struct dir *d, const char *tenant_id, const char *id,
			    struct dir_role_assignment *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_asg_by_id, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_asg_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such role assignment");
	} else {
		rc = dir_fail(d, err, "read role assignment");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_role_assignment_delete(struct dir *d, const char *tenant_id, const char *id,
			       struct err *err)
{
	int rc = dir_delete_by_id(d, sql_asg_delete, tenant_id, id, "delete role assignment", err);

	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such role assignment");
	return rc < 0 ? rc : 0;
}

int dir_role_assignment_list(struct dir *d, const char *tenant_id,
			     const struct dir_role_assignment_filter *f,
			     int (*cb)(void *ctx, const struct dir_role_assignment *a), void *ctx,
			     struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_asg_list, err);
	struct dir_role_assignment a;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	if (f != NULL) {
		if (f->role_id != NULL)
			dir_bind_text(st, 2, f->role_id);
		if (f->principal_id != NULL)
			dir_bind_text(st, 3, f->principal_id);
		if (f->scope != NULL)
			dir_bind_text(st, 4, f->scope);
	}
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_asg_row(st, &a);
		stop = cb(ctx, &a);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list role assignments");
	dir_stmt_done(st);
	return stop;
}

/* ---- deny assignments ------------------------------------------------- */

static void dir_deny_row(sqlite3_stmt *st, struct dir_deny_assignment *x)
{
	dir_col_text(st, 0, x->id, sizeof(x->id));
	dir_col_text(st, 1, x->tenant_id, sizeof(x->tenant_id));
	dir_col_text(st, 2, x->name, sizeof(x->name));
	dir_col_text(st, 3, x->description, sizeof(x->description));
	dir_col_text(st, 4, x->principals, sizeof(x->principals));
	dir_col_text(st, 5, x->excluded_principals, sizeof(x->excluded_principals));
	dir_col_text(st, 6, x->actions, sizeof(x->actions));
	dir_col_text(st, 7, x->not_actions, sizeof(x->not_actions));
	dir_col_text(st, 8, x->data_actions, sizeof(x->data_actions));
	dir_col_text(st, 9, x->not_data_actions, sizeof(x->not_data_actions));
	dir_col_text(st, 10, x->scope, sizeof(x->scope));
	x->created_at = sqlite3_column_int64(st, 11);
}

static int dir_deny_lists(const struct dir_deny_assignment *x, struct dir_lists *l,
			  struct err *err)
{
	memset(l, 0, sizeof(*l));
	if (dir_check_text("deny assignment name", x->name, sizeof(x->name), 1, err) ||
	    dir_check_text("description", x->description, sizeof(x->description), 0, err) ||
	    dir_check_text("scope", x->scope, sizeof(x->scope), 1, err))
		return err->code;
	if ((l->v[L_PRIN] = dir_list_canon("principals", x->principals, "[]", 1, err)) == NULL ||
	    (l->v[L_EXCL] = dir_list_canon("excludedPrincipals", x->excluded_principals, "[]", 1,
					   err)) == NULL ||
	    (l->v[L_ACT] = dir_list_canon("actions", x->actions, "[]", 0, err)) == NULL ||
	    (l->v[L_NOT_ACT] = dir_list_canon("notActions", x->not_actions, "[]", 0, err)) ==
		    NULL ||
	    (l->v[L_DATA] = dir_list_canon("dataActions", x->data_actions, "[]", 0, err)) ==
		    NULL ||
	    (l->v[L_NOT_DATA] =
		     dir_list_canon("notDataActions", x->not_data_actions, "[]", 0, err)) == NULL) {
		dir_lists_free(l);
		return err->code;
	}
	return 0;
}

static void dir_deny_bind(sqlite3_stmt *st, const struct dir_deny_assignment *x,
			  const struct dir_lists *l)
{
	dir_bind_text(st, 3, x->name);
	dir_bind_text(st, 4, x->description);
	dir_bind_text(st, 5, l->v[L_PRIN]);
	dir_bind_text(st, 6, l->v[L_EXCL]);
	dir_bind_text(st, 7, l->v[L_ACT]);
	dir_bind_text(st, 8, l->v[L_NOT_ACT]);
	dir_bind_text(st, 9, l->v[L_DATA]);
	dir_bind_text(st, 10, l->v[L_NOT_DATA]);
	dir_bind_text(st, 11, x->scope);
}

int dir_deny_create(struct dir *d, const char *tenant_id, struct dir_deny_assignment *x,
		    struct err *err)
{
	struct dir_lists l;
	sqlite3_stmt *st;
	int rc;

	if (dir_deny_lists(x, &l, err) != 0)
		return err->code;
	if (dir_new_id(d, x->id, err) != 0 || (st = dir_stmt(d, sql_deny_insert, err)) == NULL) {
		dir_lists_free(&l);
		return err->code;
	}
	snprintf(x->tenant_id, sizeof(x->tenant_id), "%s", tenant_id);
	x->created_at = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, x->id);
	dir_deny_bind(st, x, &l);
	sqlite3_bind_int64(st, 12, x->created_at);
	rc = dir_step_change(d, st, "create deny assignment", err);
	dir_stmt_done(st);
	dir_lists_free(&l);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

int dir_deny_update(struct dir *d, const char *tenant_id, const struct dir_deny_assignment *x,
		    struct err *err)
{
	struct dir_lists l;
	sqlite3_stmt *st;
	int rc;

	if (dir_deny_lists(x, &l, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_deny_update, err)) == NULL) {
		dir_lists_free(&l);
		return err->code;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, x->id);
	dir_deny_bind(st, x, &l);
	rc = dir_step_change(d, st, "update deny assignment", err);
	dir_stmt_done(st);
	dir_lists_free(&l);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such deny assignment");
	return rc < 0 ? rc : 0;
}

int dir_deny_get(struct dir *d, const char *tenant_id, const char *id,
		 struct dir_deny_assignment *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_deny_by_id, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_deny_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such deny assignment");
	} else {
		rc = dir_fail(d, err, "read deny assignment");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_deny_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int rc = dir_delete_by_id(d, sql_deny_delete, tenant_id, id, "delete deny assignment", err);

	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such deny assignment");
	return rc < 0 ? rc : 0;
}

int dir_deny_list(struct dir *d, const char *tenant_id,
		  int (*cb)(void *ctx, const struct dir_deny_assignment *x), void *ctx,
		  struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_deny_list, err);
	struct dir_deny_assignment *x = malloc(sizeof(*x));
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL || x == NULL) {
		free(x);
		return st == NULL ? err->code : err_set(err, ERR_INTERNAL, "out of memory");
	}
	dir_bind_text(st, 1, tenant_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_deny_row(st, x);
		stop = cb(ctx, x);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list deny assignments");
	dir_stmt_done(st);
	free(x);
	return stop;
}

/* ---- bulk reads for the loader ---------------------------------------- */

int dir_membership_list(struct dir *d, const char *tenant_id,
			int (*cb)(void *ctx, const struct dir_membership *m), void *ctx,
			struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_memberships, err);
	struct dir_membership m;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		m.kind = sqlite3_column_int(st, 0) ? DIR_MEMBER_GROUP : DIR_MEMBER_USER;
		dir_col_text(st, 1, m.member_id, sizeof(m.member_id));
		dir_col_text(st, 2, m.group_id, sizeof(m.group_id));
		stop = cb(ctx, &m);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list memberships");
	dir_stmt_done(st);
	return stop;
}

int dir_role_data_version(struct dir *d, const char *tenant_id, int64_t *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_version, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read role data version");
	dir_stmt_done(st);
	return rc;
}

int dir_role_data_bump(struct dir *d, const char *tenant_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_version_bump, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	rc = dir_step_change(d, st, "bump role data version", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_role_read_begin(struct dir *d, struct err *err)
{
	if (!sqlite3_get_autocommit(d->db))
		return err_set(err, ERR_INVALID, "a transaction is already open");
	return dir_exec(d, "BEGIN", err);
}

void dir_role_read_end(struct dir *d)
{
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
}
