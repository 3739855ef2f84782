/*
 * dir_export: one tenant's data out as JSON, streamed, and back in.
 *
 * The export walks the tenant's tables in dependency order and writes each
 * row as one JSON object keyed by column name, so its shape follows the
 * schema without a hand-written mapping per table (and a new column is
 * exported the day it is added).  Columns derived from others (the
 * case-folded unique keys) are left out and recomputed on import, so an
 * edited export cannot smuggle in two users whose names differ only in case.
 *
 * Import is all or nothing, in one transaction.  Table and column names in
 * the document are only ever compared against the schema's own list; they
 * never reach SQL text unless they matched.
 */
#include "dir_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct dir_table {
	const char *name;
	const char *order;   /* ORDER BY for a stable export */
	const char *omit;    /* a column never exported (a secret, a rid), or NULL */
	const char *derived; /* "key=source": recomputed as idp_fold(source) on import */
	int no_import;       /* exported for the record, recreated rather than imported */
	const char *owner;   /* the column holding the tenant's id; NULL = tenant_id */
	const struct dir_table_map *map; /* a table of rids, exported by ids; or NULL */
};

/*
 * The membership tables and sync references hold rids (schema 10), which
 * mean nothing outside the store: they are exported as the ids they stand
 * for, under the column names of the ids (group_id, user_id, ...), and
 * imported back through the tenant's (tenant_id, id).  A row naming an id
 * not in the tenant gets a NULL rid and fails.
 */
struct dir_table_map {
	const char *cols[3]; /* the exported columns, NULL-terminated */
	const char *select;  /* ?1 = the tenant */
	const char *insert;  /* ?1 = the tenant, ?2.. = cols in order */
};

#define DIR_RID(t, p) "(SELECT rid FROM " t " WHERE tenant_id = ?1 AND id = " p ")"

static const struct dir_table_map dir_map_member_users = {
	{"group_id", "user_id", NULL},
	"SELECT g.id AS group_id, u.id AS user_id FROM groups g "
	"CROSS JOIN group_member_users m ON m.group_rid = g.rid "
	"CROSS JOIN users u ON u.rid = m.user_rid WHERE g.tenant_id = ?1 ORDER BY g.id, u.id",
	"INSERT INTO group_member_users (group_rid, user_rid) VALUES (" DIR_RID("groups", "?2")
	", " DIR_RID("users", "?3") ")",
};
static const struct dir_table_map dir_map_member_groups = {
	{"group_id", "member_id", NULL},
	"SELECT g.id AS group_id, c.id AS member_id FROM groups g "
	"CROSS JOIN group_member_groups m ON m.group_rid = g.rid "
	"CROSS JOIN groups c ON c.rid = m.member_rid WHERE g.tenant_id = ?1 ORDER BY g.id, c.id",
	"INSERT INTO group_member_groups (group_rid, member_rid) VALUES ("
	DIR_RID("groups", "?2") ", " DIR_RID("groups", "?3") ")",
};
static const struct dir_table_map dir_map_member_refs = {
	{"group_id", "member_key", NULL},
	"SELECT g.id AS group_id, r.member_key AS member_key FROM groups g "
	"CROSS JOIN sync_member_refs r ON r.group_rid = g.rid WHERE g.tenant_id = ?1 "
	"ORDER BY g.id, r.member_key",
	"INSERT INTO sync_member_refs (group_rid, member_key) VALUES (" DIR_RID("groups", "?2")
	", ?3)",
};

/* Parents before children, so that imports satisfy the foreign keys. */
static const struct dir_table dir_tables[] = {
	/* a rid is the store's own: never exported, never imported */
	{"users", "id", "rid", "upn_key=upn", 0, NULL, NULL},
	{"groups", "id", "rid", "name_key=name", 0, NULL, NULL},
	{"group_member_users", NULL, NULL, NULL, 0, NULL, &dir_map_member_users},
	{"group_member_groups", NULL, NULL, NULL, 0, NULL, &dir_map_member_groups},
	{"sync_member_refs", NULL, NULL, NULL, 0, NULL, &dir_map_member_refs},
	{"apps", "id", NULL, NULL, 0, NULL, NULL},
	{"role_definitions", "id", NULL, "name_key=name", 0, NULL, NULL},
	{"role_assignments", "id", NULL, NULL, 0, NULL, NULL},
	{"deny_assignments", "id", NULL, NULL, 0, NULL, NULL},
	{"totp_credentials", "user_id", NULL, NULL, 0, NULL, NULL},
	{"recovery_codes", "user_id, code_hash", NULL, NULL, 0, NULL, NULL},
	{"sessions", "id_hash", NULL, NULL, 0, NULL, NULL},
	{"auth_codes", "code_hash", NULL, NULL, 0, NULL, NULL},
	{"refresh_tokens", "token_hash", NULL, NULL, 0, NULL, NULL},
	{"signins", "id", NULL, NULL, 0, NULL, NULL},
	/* sign-in risk (migration 6) */
	{"risk_lockouts", "name_key", NULL, "name_key=username", 0, NULL, NULL},
	{"risk_profiles", "user_id, kind, value", NULL, NULL, 0, NULL, NULL},
	{"risky_users", "user_id", NULL, NULL, 0, NULL, NULL},
	{"risk_stepups", "session_hash", NULL, NULL, 0, NULL, NULL},
	{"risk_policies", "tenant_id", NULL, NULL, 0, NULL, NULL},
	{"audit_log", "id", NULL, NULL, 0, NULL, NULL},
	{"revoked_tokens", "kind, value", NULL, NULL, 0, NULL, NULL},
	{"sync_state", "connector", NULL, NULL, 0, NULL, NULL},
	{"sync_cycles", "id", NULL, NULL, 0, NULL, NULL},
	/* Kept by triggers and the store: recreated by the import's own inserts. */
	{"role_data_versions", "tenant_id", NULL, NULL, 1, NULL, NULL},
	/* Private keys never leave the store; an imported tenant gets new keys. */
	{"signing_keys", "created_at, kid", "private_enc", NULL, 1, NULL, NULL},
};

#define DIR_NTABLES (sizeof(dir_tables) / sizeof(dir_tables[0]))
#define DIR_EXPORT_FORMAT "idp-tenant-export"

struct dir_out {
	int (*write)(void *ctx, const char *buf, size_t len);
	void *ctx;
	int failed;
};

static void dir_out_str(struct dir_out *o, const char *s)
{
	if (!o->failed && o->write(o->ctx, s, strlen(s)) != 0)
		o->failed = 1;
}

static int dir_out_json(const char *buf, size_t len, void *data)
{
	struct dir_out *o = data;

	if (!o->failed && o->write(o->ctx, buf, len) != 0)
		o->failed = 1;
	return o->failed ? -1 : 0;
}

static int dir_is_derived(const struct dir_table *t, const char *col)
{
	size_t n;

	if (t->derived == NULL)
		return 0;
	n = strcspn(t->derived, "=");
	return strlen(col) == n && strncmp(col, t->derived, n) == 0;
}

/* One row as a JSON object, or NULL (err filled). */
static json_t *dir_row_json(sqlite3_stmt *st, const struct dir_table *t, struct err *err)
{
	const char *owner = t->owner != NULL ? t->owner : "tenant_id";
	json_t *row = json_object();
	int n = sqlite3_column_count(st);

	if (row == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory"), NULL;
	for (int i = 0; i < n; i++) {
		const char *col = sqlite3_column_name(st, i);
		json_t *v;

		if (strcmp(col, owner) == 0 || (t->omit && strcmp(col, t->omit) == 0) ||
		    dir_is_derived(t, col))
			continue;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		case SQLITE_TEXT:
			v = json_stringn((const char *)sqlite3_column_text(st, i),
					 (size_t)sqlite3_column_bytes(st, i));
			break;
		default:
			v = NULL;
			break;
		}
		if (v == NULL || json_object_set_new(row, col, v) != 0) {
			json_decref(row);
			err_set(err, ERR_CORRUPT, "%s.%s: a value that is not valid text", t->name,
				col);
			return NULL;
		}
	}
	return row;
}

static int dir_export_table(struct dir *d, const char *tenant_id, const struct dir_table *t,
			    struct dir_out *o, struct err *err)
{
	char sql[256];
	sqlite3_stmt *st;
	int rc, first = 1;

	if (t->map == NULL)
		snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE tenant_id = ?1 ORDER BY %s",
			 t->name, t->order);
	if (sqlite3_prepare_v2(d->db, t->map != NULL ? t->map->select : sql, -1, &st, NULL) !=
	    SQLITE_OK)
		return dir_fail(d, err, t->name);
	dir_bind_text(st, 1, tenant_id);
	dir_out_str(o, ",\n\"");
	dir_out_str(o, t->name);
	dir_out_str(o, "\":[");
	while (!o->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = dir_row_json(st, t, err);
		if (row == NULL) {
			sqlite3_finalize(st);
			return err->code;
		}
		dir_out_str(o, first ? "\n" : ",\n");
		first = 0;
		json_dump_callback(row, dir_out_json, o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(row);
	}
	sqlite3_finalize(st);
	if (o->failed)
		return err_set(err, ERR_IO, "export: the writer failed");
	if (rc != SQLITE_DONE)
		return dir_fail(d, err, t->name);
	dir_out_str(o, "]");
	return 0;
}

int dir_export_tenant(struct dir *d, const char *tenant_id,
		      int (*write)(void *ctx, const char *buf, size_t len), void *ctx,
		      struct err *err)
{
	struct dir_out o = {write, ctx, 0};
	const struct dir_table tenants = {"tenants", "id", NULL, NULL, 0, "id", NULL};
	char head[160], sql[] = "SELECT * FROM tenants WHERE id = ?1";
	sqlite3_stmt *st;
	json_t *row = NULL;
	int rc;

	/* A read transaction: the export is one consistent snapshot. */
	if (dir_exec(d, "BEGIN", err) != 0)
		return err->code;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = dir_fail(d, err, "export");
		goto out;
	}
	dir_bind_text(st, 1, tenant_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row = dir_row_json(st, &tenants, err);
	else if (rc == SQLITE_DONE)
		err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	else
		dir_fail(d, err, "export");
	sqlite3_finalize(st);
	if (row == NULL) {
		rc = err->code;
		goto out;
	}
	json_object_set_new(row, "id", json_string(tenant_id));
	snprintf(head, sizeof(head),
		 "{\"format\":\"" DIR_EXPORT_FORMAT "\",\"schema_version\":%d,"
		 "\"exported_at\":%lld,\n\"tenant\":",
		 DIR_SCHEMA_VERSION, (long long)dir_now(d));
	dir_out_str(&o, head);
	json_dump_callback(row, dir_out_json, &o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(row);
	rc = 0;
	for (size_t i = 0; rc == 0 && i < DIR_NTABLES; i++)
		rc = dir_export_table(d, tenant_id, &dir_tables[i], &o, err);
	if (rc == 0) {
		dir_out_str(&o, "\n}\n");
		if (o.failed)
			rc = err_set(err, ERR_IO, "export: the writer failed");
	}
out:
	sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* ---- import ----------------------------------------------------------- */

/* The table's columns (from the schema), as a JSON array of names. */
static json_t *dir_table_columns(struct dir *d, const char *table, struct err *err)
{
	static const char sql_cols[] = "SELECT name FROM pragma_table_info(?1)";
	sqlite3_stmt *st = dir_stmt(d, sql_cols, err);
	json_t *cols = json_array();
	int rc;

	if (st == NULL || cols == NULL) {
		json_decref(cols);
		return NULL;
	}
	dir_bind_text(st, 1, table);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(cols, json_string((const char *)sqlite3_column_text(st, 0)));
	dir_stmt_done(st);
	if (rc != SQLITE_DONE) {
		json_decref(cols);
		dir_fail(d, err, table);
		return NULL;
	}
	return cols;
}

static int dir_has_column(json_t *cols, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(cols, i, c)
		if (strcmp(json_string_value(c), name) == 0)
			return 1;
	return 0;
}

static int dir_bind_json(sqlite3_stmt *st, int i, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
					 SQLITE_STATIC);
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, i, json_integer_value(v));
	case JSON_REAL:
		return sqlite3_bind_double(st, i, json_real_value(v));
	case JSON_NULL:
		return sqlite3_bind_null(st, i);
	default:
		return SQLITE_MISMATCH;
	}
}

/* Insert one row object of a table of rids (t->map) for tenant_id. */
static int dir_import_mapped_row(struct dir *d, const struct dir_table *t, json_t *row,
				 size_t rowno, const char *tenant_id, struct err *err)
{
	const struct dir_table_map *m = t->map;
	const char *key;
	sqlite3_stmt *st;
	json_t *v;
	int rc;

	if (!json_is_object(row))
		return err_set(err, ERR_INVALID, "%s[%zu]: not an object", t->name, rowno);
	json_object_foreach(row, key, v) {
		int known = 0;
		for (size_t c = 0; !known && m->cols[c] != NULL; c++)
			known = strcmp(key, m->cols[c]) == 0;
		if (!known)
			return err_set(err, ERR_INVALID, "%s[%zu]: unknown column '%.60s'",
				       t->name, rowno, key);
	}
	if ((st = dir_stmt(d, m->insert, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	for (size_t c = 0; m->cols[c] != NULL; c++) {
		v = json_object_get(row, m->cols[c]);
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) > 65536 ||
		    dir_bind_json(st, (int)c + 2, v) != SQLITE_OK) {
			dir_stmt_done(st);
			return err_set(err, ERR_INVALID, "%s[%zu].%s: expected text", t->name,
				       rowno, m->cols[c]);
		}
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(d->db) == SQLITE_CONSTRAINT_NOTNULL) {
		/* an id that is not the tenant's found no rid */
		err_set(err, ERR_INVALID, "%s[%zu]: names a group or member not in this tenant",
			t->name, rowno);
	} else if (rc != SQLITE_DONE) {
		dir_fail(d, err, "insert");
		err_set(err, err->code, "%s[%zu]: %s", t->name, rowno, sqlite3_errmsg(d->db));
	}
	dir_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : err->code;
}

/* Insert one row object into table t for tenant_id. */
static int dir_import_row(struct dir *d, const struct dir_table *t, json_t *cols, json_t *row,
			  size_t rowno, const char *tenant_id, struct err *err)
{
	char sql[4096], derived_col[64] = "", derived_src[64] = "";
	size_t used, n = 0;
	const char *key;
	sqlite3_stmt *st;
	json_t *v;
	int rc, i = 1, src_index = 0;

	const char *owner = t->owner != NULL ? t->owner : "tenant_id";

	if (!json_is_object(row))
		return err_set(err, ERR_INVALID, "%s[%zu]: not an object", t->name, rowno);
	if (t->derived != NULL)
		sscanf(t->derived, "%63[^=]=%63s", derived_col, derived_src);
	used = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (%s", t->name, owner);
	json_object_foreach(row, key, v) {
		if (strcmp(key, owner) == 0 || strcmp(key, derived_col) == 0 ||
		    (t->omit && strcmp(key, t->omit) == 0) || !dir_has_column(cols, key))
			return err_set(err, ERR_INVALID, "%s[%zu]: unknown column '%.60s'",
				       t->name, rowno, key);
		if (json_is_string(v) && (strlen(json_string_value(v)) != json_string_length(v) ||
					  json_string_length(v) > 65536))
			return err_set(err, ERR_INVALID,
				       "%s[%zu].%s: text with a NUL byte or over 64 KiB", t->name,
				       rowno, key);
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", %s", key);
		n++;
	}
	if (derived_col[0] != '\0')
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", %s", derived_col);
	used += (size_t)snprintf(sql + used, sizeof(sql) - used, ") VALUES (?1");
	for (size_t k = 0; k < n; k++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", ?%zu", k + 2);
	/* The derived key is computed from the source column's parameter. */
	json_object_foreach(row, key, v) {
		i++;
		if (strcmp(key, derived_src) == 0)
			src_index = i;
	}
	if (derived_col[0] != '\0') {
		if (src_index == 0)
			return err_set(err, ERR_INVALID, "%s[%zu]: missing column '%s'", t->name,
				       rowno, derived_src);
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", idp_fold(?%d)",
					 src_index);
	}
	snprintf(sql + used, sizeof(sql) - used, ")");
	if (used >= sizeof(sql) - 2)
		return err_set(err, ERR_LIMIT, "%s[%zu]: too many columns", t->name, rowno);
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, t->name);
	dir_bind_text(st, 1, tenant_id);
	i = 1;
	json_object_foreach(row, key, v) {
		if (dir_bind_json(st, ++i, v) != SQLITE_OK) {
			sqlite3_finalize(st);
			return err_set(err, ERR_INVALID,
				       "%s[%zu].%s: expected text, a number or null", t->name,
				       rowno, key);
		}
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		dir_fail(d, err, "insert");
		return err_set(err, err->code, "%s[%zu]: %s", t->name, rowno,
			       sqlite3_errmsg(d->db));
	}
	return 0;
}

static int dir_import_table(struct dir *d, const struct dir_table *t, json_t *rows,
			    const char *tenant_id, struct err *err)
{
	json_t *cols = NULL, *row;
	size_t i;
	int rc = 0;

	if (!json_is_array(rows))
		return err_set(err, ERR_INVALID, "%s: not an array", t->name);
	if (t->no_import)
		return 0;
	if (t->map == NULL && (cols = dir_table_columns(d, t->name, err)) == NULL)
		return err->code ? err->code : ERR_INTERNAL;
	json_array_foreach(rows, i, row) {
		rc = t->map != NULL ? dir_import_mapped_row(d, t, row, i, tenant_id, err)
				    : dir_import_row(d, t, cols, row, i, tenant_id, err);
		if (rc != 0)
			break;
		/* a membership moves the version as a trigger did before schema 9, so
		 * that an export and the export of its import agree */
		if (strncmp(t->name, "group_member_", 13) == 0 &&
		    (rc = dir_role_data_bump(d, tenant_id, err)) != 0)
			break;
	}
	json_decref(cols);
	return rc;
}

int dir_import_tenant(struct dir *d, const char *json, size_t len, struct err *err)
{
	const struct dir_table tenants = {"tenants", "id", NULL, NULL, 0, "id", NULL};
	json_error_t jerr;
	json_t *doc, *tenant, *id, *name, *cols = NULL;
	const char *key;
	json_t *v;
	int tx = -1, rc;

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return err_set(err, ERR_INVALID, "import: line %d column %d: %s", jerr.line,
			       jerr.column, jerr.text);
	rc = ERR_INVALID;
	if (!json_is_object(doc) ||
	    !json_is_string(json_object_get(doc, "format")) ||
	    strcmp(json_string_value(json_object_get(doc, "format")), DIR_EXPORT_FORMAT) != 0) {
		err_set(err, ERR_INVALID, "import: not an idp tenant export");
		goto out;
	}
	if (json_integer_value(json_object_get(doc, "schema_version")) > DIR_SCHEMA_VERSION) {
		err_set(err, ERR_VERSION, "import: written by a newer idp (schema %lld)",
			(long long)json_integer_value(json_object_get(doc, "schema_version")));
		rc = ERR_VERSION;
		goto out;
	}
	tenant = json_object_get(doc, "tenant");
	id = json_object_get(tenant, "id");
	name = json_object_get(tenant, "name");
	if (!json_is_string(id) || !json_is_string(name) ||
	    !dir_tenant_name_valid(json_string_value(name))) {
		err_set(err, ERR_INVALID, "import: the tenant needs an id and a valid name");
		goto out;
	}
	json_object_foreach(doc, key, v) {
		int known = strcmp(key, "format") == 0 || strcmp(key, "schema_version") == 0 ||
			    strcmp(key, "exported_at") == 0 || strcmp(key, "tenant") == 0;
		for (size_t i = 0; !known && i < DIR_NTABLES; i++)
			known = strcmp(key, dir_tables[i].name) == 0;
		if (!known) {
			err_set(err, ERR_INVALID, "import: unknown section '%.60s'", key);
			goto out;
		}
	}
	if ((tx = dir_tx_begin(d, err)) < 0) {
		rc = tx;
		goto out;
	}
	/* The tenant row: every column but its id goes through the same path. */
	if ((cols = dir_table_columns(d, "tenants", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	{
		/* The tenants row is owned by its own id column. */
		json_t *copy = json_deep_copy(tenant);
		json_object_del(copy, "id");
		rc = dir_import_row(d, &tenants, cols, copy, 0, json_string_value(id), err);
		json_decref(copy);
	}
	if (rc == ERR_EXISTS)
		err_set(err, ERR_EXISTS, "import: tenant '%s' or its id exists",
			json_string_value(name));
	for (size_t i = 0; rc == 0 && i < DIR_NTABLES; i++) {
		json_t *rows = json_object_get(doc, dir_tables[i].name);
		if (rows != NULL)
			rc = dir_import_table(d, &dir_tables[i], rows, json_string_value(id), err);
	}
	if (rc != 0)
		err_prefix(err, "import");
out:
	if (tx >= 0 && dir_tx_end(d, tx, rc == 0, err) != 0 && rc == 0)
		rc = err->code;
	json_decref(cols);
	json_decref(doc);
	return rc;
}
