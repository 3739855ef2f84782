/*
 * dir_app: registered applications (OAuth clients) of a tenant.
 *
 * Redirect URIs are checked when stored, following the OAuth 2.0 Security
 * BCP (RFC 9700): absolute, no fragment, https except on loopback (RFC 8252
 * native apps), or a private-use scheme with a reverse-domain name.  The
 * token service then compares them exactly, never by prefix.
 */
#include "dir_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APP_COLS                                                                                   \
	"id, tenant_id, client_id, name, confidential, secret_hash, redirect_uris, grants, "       \
	"mfa_required, token_alg, created_at, updated_at"

static const char sql_app_insert[] =
	"INSERT INTO apps (tenant_id, id, client_id, name, confidential, secret_hash, "
	"redirect_uris, grants, mfa_required, token_alg, created_at, updated_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)";
static const char sql_app_by_id[] =
	"SELECT " APP_COLS " FROM apps WHERE tenant_id = ?1 AND id = ?2";
static const char sql_app_by_client[] =
	"SELECT " APP_COLS " FROM apps WHERE tenant_id = ?1 AND client_id = ?2";
static const char sql_app_update[] =
	"UPDATE apps SET name = ?3, redirect_uris = ?4, grants = ?5, mfa_required = ?6, "
	"token_alg = ?7, updated_at = ?8 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_app_secret[] =
	"UPDATE apps SET secret_hash = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 AND "
	"confidential = 1";
static const char sql_app_delete[] = "DELETE FROM apps WHERE tenant_id = ?1 AND id = ?2";
static const char sql_app_delete_assignments[] =
	"DELETE FROM role_assignments WHERE tenant_id = ?1 AND principal_id = ?2";
static const char sql_app_list[] =
	"SELECT " APP_COLS " FROM apps WHERE tenant_id = ?1 ORDER BY name, id";

static int dir_app_uri_ok(const char *uri)
{
	static const char *const loopback[] = {"http://127.0.0.1", "http://localhost",
					       "http://[::1]"};
	const char *colon;

	if (strchr(uri, '#') != NULL || strpbrk(uri, " \t\"<>\\^`{|}") != NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	if (strncasecmp(uri, "https://", 8) == 0)
		return uri[8] != '\0' && uri[8] != '/';
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t n = strlen(loopback[i]);
		if (strncasecmp(uri, loopback[i], n) == 0 &&
		    (uri[n] == ':' || uri[n] == '/' || uri[n] == '\0'))
			return 1;
	}
	/* Private-use scheme of a native app: com.example.app:/callback. */
	colon = strchr(uri, ':');
	if (colon == NULL || colon == uri || colon[1] == '\0')
		return 0;
	if (memchr(uri, '.', (size_t)(colon - uri)) == NULL)
		return 0;
	return strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789.+-") == (size_t)(colon - uri);
}

static int dir_app_check(const struct dir_app *a, struct err *err)
{
	if (dir_check_text("app name", a->name, sizeof(a->name), 1, err) != 0)
		return err->code;
	if (a->n_redirect_uris < 0 || a->n_redirect_uris > DIR_APP_URIS_MAX)
		return err_set(err, ERR_INVALID, "at most %d redirect URIs", DIR_APP_URIS_MAX);
	for (int i = 0; i < a->n_redirect_uris; i++) {
		const char *uri = a->redirect_uris[i];
		if (strnlen(uri, DIR_URI_MAX) >= DIR_URI_MAX)
			return err_set(err, ERR_INVALID, "redirect URI %d is longer than %d bytes",
				       i + 1, DIR_URI_MAX - 1);
		if (!dir_app_uri_ok(uri))
			return err_set(err, ERR_INVALID,
				       "redirect URI '%.200s' must be https://..., http:// on "
				       "loopback, or a reverse-domain scheme, without a fragment",
				       uri);
	}
	if ((a->grants & DIR_GRANT_AUTHORIZATION_CODE) && a->n_redirect_uris == 0)
		return err_set(err, ERR_INVALID,
			       "the authorization_code grant needs a redirect URI");
	if (a->grants == 0 || (a->grants & ~7u) != 0)
		return err_set(err, ERR_INVALID, "an app needs at least one known grant");
	if (!a->confidential && (a->grants & DIR_GRANT_CLIENT_CREDENTIALS))
		return err_set(err, ERR_INVALID, "client_credentials needs a confidential app");
	if (a->token_alg[0] != '\0' && strcmp(a->token_alg, "RS256") != 0 &&
	    strcmp(a->token_alg, "ES256") != 0)
		return err_set(err, ERR_INVALID, "token algorithm must be RS256 or ES256");
	return 0;
}

/* The redirect URIs as a JSON array, caller frees; NULL on allocation failure. */
static char *dir_app_uris_json(const struct dir_app *a)
{
	json_t *arr = json_array();
	char *s;

	if (arr == NULL)
		return NULL;
	for (int i = 0; i < a->n_redirect_uris; i++)
		json_array_append_new(arr, json_string(a->redirect_uris[i]));
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return s;
}

static void dir_app_row(sqlite3_stmt *st, struct dir_app *a)
{
	const char *uris;
	json_t *arr;
	size_t i;

	/* every field is written below; the URI slots past n_redirect_uris stay as they were */
	a->n_redirect_uris = 0;
	dir_col_text(st, 0, a->id, sizeof(a->id));
	dir_col_text(st, 1, a->tenant_id, sizeof(a->tenant_id));
	dir_col_text(st, 2, a->client_id, sizeof(a->client_id));
	dir_col_text(st, 3, a->name, sizeof(a->name));
	a->confidential = sqlite3_column_int(st, 4);
	dir_col_text(st, 5, a->secret_hash, sizeof(a->secret_hash));
	uris = (const char *)sqlite3_column_text(st, 6);
	arr = uris != NULL ? json_loads(uris, 0, NULL) : NULL;
	for (i = 0; json_is_array(arr) && i < json_array_size(arr) && i < DIR_APP_URIS_MAX; i++) {
		const char *u = json_string_value(json_array_get(arr, i));
		if (u != NULL)
			snprintf(a->redirect_uris[a->n_redirect_uris++], DIR_URI_MAX, "%s", u);
	}
	json_decref(arr);
	a->grants = (unsigned)sqlite3_column_int(st, 7);
	a->mfa_required = sqlite3_column_int(st, 8);
	dir_col_text(st, 9, a->token_alg, sizeof(a->token_alg));
	a->created_at = sqlite3_column_int64(st, 10);
	a->updated_at = sqlite3_column_int64(st, 11);
}

int dir_app_create(struct dir *d, const char *tenant_id, struct dir_app *a, struct err *err)
{
	sqlite3_stmt *st;
	char *uris;
	int rc;

	if (dir_app_check(a, err) != 0)
		return err->code;
	if (a->confidential && strlen(a->secret_hash) != 64)
		return err_set(err, ERR_INVALID, "a confidential app needs a secret hash");
	if (!a->confidential && a->secret_hash[0] != '\0')
		return err_set(err, ERR_INVALID, "a public app has no secret");
	if (a->client_id[0] != '\0' &&
	    dir_check_text("client id", a->client_id, sizeof(a->client_id), 1, err) != 0)
		return err->code;
	if (dir_new_id(d, a->id, err) != 0)
		return err->code;
	if (a->client_id[0] == '\0' && dir_new_id(d, a->client_id, err) != 0)
		return err->code;
	if (a->token_alg[0] == '\0')
		strcpy(a->token_alg, "RS256");
	if ((uris = dir_app_uris_json(a)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((st = dir_stmt(d, sql_app_insert, err)) == NULL) {
		free(uris);
		return err->code;
	}
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s", tenant_id);
	a->created_at = a->updated_at = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, a->id);
	dir_bind_text(st, 3, a->client_id);
	dir_bind_text(st, 4, a->name);
	sqlite3_bind_int(st, 5, a->confidential != 0);
	dir_bind_text_or_null(st, 6, a->secret_hash);
	dir_bind_text(st, 7, uris);
	sqlite3_bind_int(st, 8, (int)a->grants);
	sqlite3_bind_int(st, 9, a->mfa_required != 0);
	dir_bind_text(st, 10, a->token_alg);
	sqlite3_bind_int64(st, 11, a->created_at);
	rc = dir_step_change(d, st, "create app", err);
	dir_stmt_done(st);
	free(uris);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "client id '%s' is taken", a->client_id);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

static int dir_app_get_by(struct dir *d, const char *sql, const char *tenant_id, const char *key,
			  struct dir_app *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_app_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such app");
	} else {
		rc = dir_fail(d, err, "read app");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_app_get(struct dir *d, const char *tenant_id, const char *id, struct dir_app *out,
		struct err *err)
{
	return dir_app_get_by(d, sql_app_by_id, tenant_id, id, out, err);
}

int dir_app_get_by_client_id(struct dir *d, const char *tenant_id, const char *client_id,
			     struct dir_app *out, struct err *err)
{
	return dir_app_get_by(d, sql_app_by_client, tenant_id, client_id, out, err);
}

int dir_app_update(struct dir *d, const char *tenant_id, const struct dir_app *a,
		   struct err *err)
{
	sqlite3_stmt *st;
	char *uris;
	int rc;

	if (dir_app_check(a, err) != 0)
		return err->code;
	if ((uris = dir_app_uris_json(a)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((st = dir_stmt(d, sql_app_update, err)) == NULL) {
		free(uris);
		return err->code;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, a->id);
	dir_bind_text(st, 3, a->name);
	dir_bind_text(st, 4, uris);
	sqlite3_bind_int(st, 5, (int)a->grants);
	sqlite3_bind_int(st, 6, a->mfa_required != 0);
	dir_bind_text(st, 7, a->token_alg[0] ? a->token_alg : "RS256");
	sqlite3_bind_int64(st, 8, dir_now(d));
	rc = dir_step_change(d, st, "update app", err);
	dir_stmt_done(st);
	free(uris);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such app");
	return rc < 0 ? rc : 0;
}

int dir_app_set_secret_hash(struct dir *d, const char *tenant_id, const char *id,
			    const char *secret_hash, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (strlen(secret_hash) != 64 || strspn(secret_hash, "0123456789abcdef") != 64)
		return err_set(err, ERR_INVALID, "a secret hash is 64 lowercase hex digits");
	if ((st = dir_stmt(d, sql_app_secret, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	dir_bind_text(st, 3, secret_hash);
	sqlite3_bind_int64(st, 4, dir_now(d));
	rc = dir_step_change(d, st, "set app secret", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such confidential app");
	return rc < 0 ? rc : 0;
}

int dir_app_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc = 0;
	const char *const sqls[] = {sql_app_delete_assignments, sql_app_delete};

	if (tx < 0)
		return tx;
	for (size_t i = 0; i < 2 && rc >= 0; i++) {
		sqlite3_stmt *st = dir_stmt(d, sqls[i], err);
		if (st == NULL) {
			rc = err->code;
			break;
		}
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, id);
		rc = dir_step_change(d, st, "delete app", err);
		dir_stmt_done(st);
	}
	if (rc == 0)
		rc = err_set(err, ERR_NOT_FOUND, "no such app");
	if (dir_tx_end(d, tx, rc > 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

int dir_app_list(struct dir *d, const char *tenant_id,
		 int (*cb)(void *ctx, const struct dir_app *a), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_app_list, err);
	struct dir_app *a;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	if ((a = malloc(sizeof(*a))) == NULL) {
		dir_stmt_done(st);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	dir_bind_text(st, 1, tenant_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_app_row(st, a);
		stop = cb(ctx, a);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list apps");
	dir_stmt_done(st);
	free(a);
	return stop;
}
