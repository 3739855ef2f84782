/*
 * fault_tool: what the fault-injection tests do to a store from outside
 * the idp, and how they look at it afterwards.
 *
 *     fault_tool check STORE        integrity_check, foreign_key_check and the
 *                                   token invariants; prints "ok" or what is wrong
 *     fault_tool rows STORE         sessions, codes and refresh tokens as JSON
 *     fault_tool lock STORE write|exclusive
 *                                   hold a lock (a writer's, or the whole file)
 *                                   until stdin closes; prints "locked" once held
 *
 * It opens the SQLite file directly, read-only except for the lock: the
 * tests check what is on disk, not what the idp says about it.  (The rule
 * "no SQL outside directory/" is about the product; a test that inspects
 * the file is the point of the test.)
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int tool_usage(void)
{
	fprintf(stderr, "usage: fault_tool check|rows STORE | lock STORE write|exclusive\n");
	return 2;
}

static sqlite3 *tool_open(const char *path, int write)
{
	sqlite3 *db = NULL;
	struct statvfs vfs;
	char uri[4200];
	int flags = write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;

	/* on a read-only file system the WAL index cannot be made: read it as immutable */
	if (!write && statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) &&
	    strpbrk(path, "?#%") == NULL && strlen(path) < 4000) {
		snprintf(uri, sizeof(uri), "file:%s?immutable=1", path);
		path = uri;
		flags |= SQLITE_OPEN_URI;
	}
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "fault_tool: %s: %s\n", path,
		        db != NULL ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* Rows of sql (one text column) appended to problems; the count. */
static int tool_collect(sqlite3 *db, const char *sql, const char *what, json_t *problems)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		json_array_append_new(problems, json_sprintf("%s: %s", what, sqlite3_errmsg(db)));
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (strcmp(what, "integrity_check") == 0 && v != NULL && strcmp(v, "ok") == 0)
			continue;
		json_array_append_new(problems, json_sprintf("%s: %s", what, v != NULL ? v : "?"));
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int tool_check(const char *path)
{
	sqlite3 *db = tool_open(path, 0);
	json_t *problems = json_array();
	int rc;

	if (db == NULL)
		return 1;
	tool_collect(db, "PRAGMA integrity_check", "integrity_check", problems);
	tool_collect(db,
	             "SELECT \"table\" || ' row ' || rowid || ' -> ' || parent FROM "
	             "pragma_foreign_key_check",
	             "foreign_key_check", problems);
	/* a family has at most one refresh token that can still be used */
	tool_collect(db,
	             "SELECT family_id || ' has ' || count(*) || ' live refresh tokens' FROM "
	             "refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL GROUP BY "
	             "family_id HAVING count(*) > 1",
	             "refresh family", problems);
	/* a used code names the family it issued; an unused one issued nothing */
	tool_collect(db,
	             "SELECT 'code ' || substr(c.code_hash, 1, 12) || ' unused but its family has "
	             "tokens' FROM auth_codes c WHERE c.used_at IS NULL AND EXISTS (SELECT 1 FROM "
	             "refresh_tokens r WHERE r.family_id = c.family_id)",
	             "code", problems);
	rc = json_array_size(problems) == 0 ? 0 : 1;
	if (rc == 0)
		printf("ok\n");
	else
		json_dumpf(problems, stdout, JSON_INDENT(1)), putchar('\n');
	json_decref(problems);
	sqlite3_close(db);
	return rc;
}

static json_t *tool_query(sqlite3 *db, const char *sql)
{
	json_t *arr = json_array();
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fault_tool: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *row = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *name = sqlite3_column_name(st, i);
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				json_object_set_new(row, name, json_null());
			else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				json_object_set_new(row, name,
				                    json_integer(sqlite3_column_int64(st, i)));
			else
				json_object_set_new(
				        row, name,
				        json_string((const char *)sqlite3_column_text(st, i)));
		}
		json_array_append_new(arr, row);
	}
	sqlite3_finalize(st);
	return arr;
}

static int tool_rows(const char *path)
{
	sqlite3 *db = tool_open(path, 0);
	json_t *doc;

	if (db == NULL)
		return 1;
	doc = json_pack("{s:o, s:o, s:o}", "sessions",
	                tool_query(db, "SELECT id_hash, user_id FROM sessions"), "codes",
	                tool_query(db, "SELECT code_hash, family_id, used_at FROM auth_codes"),
	                "refresh",
	                tool_query(db, "SELECT token_hash, family_id, rotated_at, revoked_at FROM "
	                               "refresh_tokens"));
	json_dumpf(doc, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(doc);
	sqlite3_close(db);
	return 0;
}

static int tool_lock(const char *path, const char *how)
{
	sqlite3 *db = tool_open(path, 1);
	char c;

	if (db == NULL)
		return 1;
	if (strcmp(how, "exclusive") == 0) {
		/* the whole file: in WAL mode this keeps readers out too */
		if (sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE", NULL, NULL,
		                 NULL) != SQLITE_OK)
			goto fail;
	} else if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		goto fail;
	}
	/* a write of nothing, so the lock is really taken */
	if (sqlite3_exec(db, "UPDATE tenants SET updated_at = updated_at WHERE 0", NULL, NULL,
	                 NULL) != SQLITE_OK)
		goto fail;
	printf("locked\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return 0;
fail:
	fprintf(stderr, "fault_tool: lock: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return tool_check(argv[2]);
	if (argc == 3 && strcmp(argv[1], "rows") == 0)
		return tool_rows(argv[2]);
	if (argc == 4 && strcmp(argv[1], "lock") == 0)
		return tool_lock(argv[2], argv[3]);
	return tool_usage();
}
