/*
 * admin_apps: /{tenant}/admin/apps: registration, changes, secret rotation.
 * A client secret is made here (256 random bits), returned once, and kept
 * only as its SHA-256.
 */
#include "admin.h"

#include "rand.h"
#include "secret.h"

#include <stdio.h>
#include <string.h>

static const char *const app_grants[] = {"authorization_code", "refresh_token",
					 "client_credentials"};

static const struct api_field app_fields[] = {
	{"name", API_STRING, DIR_NAME_MAX - 1, 1},
	{"redirectUris", API_STRINGS, DIR_APP_URIS_MAX, 0},
	{"grants", API_STRINGS, 3, 0},
	{"public", API_BOOL, 0, 0},
	{"mfaRequired", API_BOOL, 0, 0},
	{"tokenAlg", API_STRING, 7, 0},
	{NULL, API_ANY, 0, 0},
};

static json_t *app_json(const struct dir_app *a)
{
	json_t *uris = json_array(), *grants = json_array();

	for (int i = 0; i < a->n_redirect_uris; i++)
		json_array_append_new(uris, json_string(a->redirect_uris[i]));
	for (int i = 0; i < 3; i++)
		if (a->grants & (1u << i))
			json_array_append_new(grants, json_string(app_grants[i]));
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:b, s:s, s:I, s:I}", "id", a->id,
			 "clientId", a->client_id, "name", a->name, "public", !a->confidential,
			 "redirectUris", uris, "grants", grants, "mfaRequired", a->mfa_required,
			 "tokenAlg", a->token_alg, "createdAt", (json_int_t)a->created_at,
			 "updatedAt", (json_int_t)a->updated_at);
}

/* Apply body to a; 0, or -1 with a 400 made. */
static int app_apply(struct idp_req *r, json_t *body, struct dir_app *a)
{
	json_t *v;
	size_t i;

	if (api_str(body, "name") != NULL)
		snprintf(a->name, sizeof(a->name), "%s", api_str(body, "name"));
	if ((v = json_object_get(body, "redirectUris")) != NULL) {
		a->n_redirect_uris = 0;
		json_t *uri;
		json_array_foreach(v, i, uri) {
			if (json_string_length(uri) >= DIR_URI_MAX) {
				api_error(r, 400, "invalid_field", "redirectUris[%zu] is too long", i);
				return -1;
			}
			snprintf(a->redirect_uris[a->n_redirect_uris++], DIR_URI_MAX, "%s",
				 json_string_value(uri));
		}
	}
	if ((v = json_object_get(body, "grants")) != NULL) {
		json_t *g;
		a->grants = 0;
		json_array_foreach(v, i, g) {
			int known = 0;
			for (int k = 0; k < 3; k++)
				if (strcmp(json_string_value(g), app_grants[k]) == 0) {
					a->grants |= 1u << k;
					known = 1;
				}
			if (!known) {
				api_error(r, 400, "invalid_field", "unknown grant '%.40s'",
					  json_string_value(g));
				return -1;
			}
		}
	}
	if (json_object_get(body, "mfaRequired") != NULL)
		a->mfa_required = json_is_true(json_object_get(body, "mfaRequired"));
	if (api_str(body, "tokenAlg") != NULL)
		snprintf(a->token_alg, sizeof(a->token_alg), "%s", api_str(body, "tokenAlg"));
	return 0;
}

static int admin_app_row(void *ctx, const struct dir_app *a);

static int app_new_secret(char secret[64], char hash[DIR_HASH_MAX])
{
	if (rand_token(secret, 64, 32) != 0)
		return -1;
	secret_sha256_hex(secret, hash);
	return 0;
}

void admin_apps(struct idp_req *r, const char *path)
{
	struct admin_caller who;
	struct dir_app a;
	struct err err = {0};
	char id[DIR_ID_MAX], scope[64], secret[64] = "";
	const char *rest = "", *action;
	int get = strcmp(r->http->method, "GET") == 0;
	json_t *body, *doc;

	if (strcmp(path, "/admin/apps") == 0) {
		if (get) {
			json_t *arr = json_array();
			if (admin_authorize(r, "idp/apps/read", "/", &who) != 0) {
				json_decref(arr);
				return;
			}
			if (dir_app_list(r->dir, r->tenant.id, admin_app_row, arr, &err) != 0) {
				json_decref(arr);
				api_store_error(r, &err);
				return;
			}
			api_reply(r, 200, json_pack("{s:o}", "value", arr));
			return;
		}
		if (strcmp(r->http->method, "POST") != 0) {
			api_error(r, 405, "method_not_allowed", "GET or POST");
			return;
		}
		if (admin_authorize(r, "idp/apps/write", "/", &who) != 0)
			return;
		if ((body = api_body(r)) == NULL || api_check(r, body, app_fields, 1) != 0) {
			json_decref(body);
			return;
		}
		memset(&a, 0, sizeof(a));
		a.grants = DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_REFRESH_TOKEN;
		a.confidential = !json_is_true(json_object_get(body, "public"));
		if (app_apply(r, body, &a) != 0) {
			json_decref(body);
			return;
		}
		json_decref(body);
		if (a.confidential && app_new_secret(secret, a.secret_hash) != 0) {
			api_error(r, 503, "unavailable", "no randomness");
			return;
		}
		if (dir_app_create(r->dir, r->tenant.id, &a, &err) != 0) {
			secret_wipe(secret, sizeof(secret));
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "app.create", "app", a.id, "registered");
		doc = app_json(&a);
		if (a.confidential)
			json_object_set_new(doc, "clientSecret", json_string(secret));
		secret_wipe(secret, sizeof(secret));
		api_reply(r, 201, doc);
		return;
	}
	if (api_path_id(path, "/admin/apps/", id, sizeof(id), &rest) != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	snprintf(scope, sizeof(scope), "/apps/%s", id);
	action = get ? "idp/apps/read"
		     : strcmp(r->http->method, "DELETE") == 0 ? "idp/apps/delete" : "idp/apps/write";
	if (admin_authorize(r, action, scope, &who) != 0)
		return;
	if (dir_app_get(r->dir, r->tenant.id, id, &a, &err) != 0) {
		api_error(r, 404, "not_found", "no such app");
		return;
	}
	if (strcmp(rest, "/secret") == 0 && strcmp(r->http->method, "POST") == 0) {
		if (!a.confidential) {
			api_error(r, 409, "public_app", "a public app has no secret");
			return;
		}
		if (app_new_secret(secret, a.secret_hash) != 0 ||
		    dir_app_set_secret_hash(r->dir, r->tenant.id, a.id, a.secret_hash, &err) != 0) {
			secret_wipe(secret, sizeof(secret));
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "app.rotate_secret", "app", a.id, "secret rotated");
		api_reply(r, 200, json_pack("{s:s, s:s}", "clientId", a.client_id, "clientSecret",
					    secret));
		secret_wipe(secret, sizeof(secret));
		return;
	}
	if (*rest != '\0') {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (get) {
		api_reply(r, 200, app_json(&a));
	} else if (strcmp(r->http->method, "PATCH") == 0) {
		if ((body = api_body(r)) == NULL || api_check(r, body, app_fields, 0) != 0) {
			json_decref(body);
			return;
		}
		if (json_object_get(body, "public") != NULL) {
			json_decref(body);
			api_error(r, 409, "immutable_field",
				  "an app stays public or confidential: register a new one");
			return;
		}
		if (app_apply(r, body, &a) != 0) {
			json_decref(body);
			return;
		}
		json_decref(body);
		if (dir_app_update(r->dir, r->tenant.id, &a, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "app.update", "app", a.id, "changed");
		api_reply(r, 200, app_json(&a));
	} else if (strcmp(r->http->method, "DELETE") == 0) {
		if (dir_app_delete(r->dir, r->tenant.id, a.id, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "app.delete", "app", a.id, "deleted");
		r->resp->status = 204;
	} else {
		api_error(r, 405, "method_not_allowed", "GET, PATCH or DELETE");
	}
}

static int admin_app_row(void *ctx, const struct dir_app *a)
{
	json_array_append_new(ctx, app_json(a));
	return 0;
}
