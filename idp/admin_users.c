/*
 * admin_users: /{tenant}/admin/users: list, create, read, change, delete
 * users; their groups, sessions, password and second factor.
 *
 * Users synced from LDAP belong to the on-premises directory: only the
 * cloud-only attributes (mfaRequired) change here; anything else is a 409
 * that says so.  Deleting a cloud user purges it for good.
 */
#include "admin.h"

#include "mfa.h"
#include "risk.h"
#include "secret.h"

#include <stdio.h>
#include <string.h>

static const struct api_field user_fields[] = {
	{"userPrincipalName", API_STRING, DIR_UPN_MAX - 1, 1},
	{"displayName", API_STRING, DIR_NAME_MAX - 1, 0},
	{"givenName", API_STRING, DIR_NAME_MAX - 1, 0},
	{"surname", API_STRING, DIR_NAME_MAX - 1, 0},
	{"mail", API_STRING, DIR_UPN_MAX - 1, 0},
	{"enabled", API_BOOL, 0, 0},
	{"mfaRequired", API_BOOL, 0, 0},
	{"password", API_STRING, DIR_PASSWORD_MAX, 0},
	{NULL, API_ANY, 0, 0},
};

/* The fields a synced user's source of authority owns. */
static const char *const user_synced_fields[] = {"userPrincipalName", "displayName", "givenName",
						  "surname", "mail", "enabled", "password"};

json_t *admin_user_json(const struct dir_user *u)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s*, s:s*, s:b, s:I, s:I, "
			 "s:o}",
			 "id", u->id, "userPrincipalName", u->upn, "displayName", u->display_name,
			 "givenName", u->given_name, "surname", u->surname, "mail", u->mail,
			 "enabled", u->enabled, "mfaRequired", u->mfa_required, "source",
			 u->source == DIR_SOURCE_LDAP ? "ldap" : "cloud", "sourceAnchor",
			 u->source_anchor[0] ? u->source_anchor : NULL, "sourceDn",
			 u->source_dn[0] ? u->source_dn : NULL, "hasPassword", u->has_password,
			 "createdAt", (json_int_t)u->created_at, "updatedAt",
			 (json_int_t)u->updated_at, "deletedAt",
			 u->deleted_at ? json_integer(u->deleted_at) : json_null());
}

/* Copy the present string and boolean members of body into u. */
static void admin_user_apply(json_t *body, struct dir_user *u)
{
	const char *v;

	if ((v = api_str(body, "userPrincipalName")) != NULL)
		snprintf(u->upn, sizeof(u->upn), "%s", v);
	if ((v = api_str(body, "displayName")) != NULL)
		snprintf(u->display_name, sizeof(u->display_name), "%s", v);
	if ((v = api_str(body, "givenName")) != NULL)
		snprintf(u->given_name, sizeof(u->given_name), "%s", v);
	if ((v = api_str(body, "surname")) != NULL)
		snprintf(u->surname, sizeof(u->surname), "%s", v);
	if ((v = api_str(body, "mail")) != NULL)
		snprintf(u->mail, sizeof(u->mail), "%s", v);
	if (json_object_get(body, "enabled") != NULL)
		u->enabled = json_is_true(json_object_get(body, "enabled"));
	if (json_object_get(body, "mfaRequired") != NULL)
		u->mfa_required = json_is_true(json_object_get(body, "mfaRequired"));
}

struct admin_list {
	json_t *arr;
	char last[DIR_UPN_MAX];
	int n;
};

static int admin_user_row(void *ctx, const struct dir_user *u)
{
	struct admin_list *l = ctx;

	json_array_append_new(l->arr, admin_user_json(u));
	snprintf(l->last, sizeof(l->last), "%s", u->upn);
	l->n++;
	return 0;
}

static void admin_users_list(struct idp_req *r)
{
	struct dir_user_query q = {NULL, 0, 0, -1, NULL};
	struct admin_list l = {json_array(), "", 0};
	const char *source = http_param(&r->http->query, "source", NULL);
	const char *deleted = http_param(&r->http->query, "deleted", NULL);
	struct err err = {0};
	json_t *doc;

	if ((q.limit = api_limit(r)) < 0) {
		json_decref(l.arr);
		api_error(r, 400, "invalid_parameter", "limit must be 1..1000");
		return;
	}
	q.after_upn = http_param(&r->http->query, "cursor", NULL);
	q.prefix = http_param(&r->http->query, "startsWith", NULL);
	q.include_deleted = deleted != NULL && strcmp(deleted, "true") == 0;
	if (source != NULL) {
		if (strcmp(source, "cloud") != 0 && strcmp(source, "ldap") != 0) {
			json_decref(l.arr);
			api_error(r, 400, "invalid_parameter", "source is cloud or ldap");
			return;
		}
		q.source = source[0] == 'l' ? DIR_SOURCE_LDAP : DIR_SOURCE_CLOUD;
	}
	if (dir_user_list(r->dir, r->tenant.id, &q, admin_user_row, &l, &err) != 0) {
		json_decref(l.arr);
		api_store_error(r, &err);
		return;
	}
	doc = json_pack("{s:o}", "value", l.arr);
	if (l.n == q.limit)
		json_object_set_new(doc, "nextCursor", json_string(l.last));
	api_reply(r, 200, doc);
}

static void admin_users_create(struct idp_req *r, const struct admin_caller *who)
{
	json_t *body = api_body(r);
	struct dir_user u;
	struct err err = {0};
	const char *password;

	if (body == NULL || api_check(r, body, user_fields, 1) != 0) {
		json_decref(body);
		return;
	}
	memset(&u, 0, sizeof(u));
	u.enabled = 1;
	u.source = DIR_SOURCE_CLOUD;
	admin_user_apply(body, &u);
	password = api_str(body, "password");
	if (dir_user_create(r->dir, r->tenant.id, &u, password, &err) != 0) {
		json_decref(body);
		api_store_error(r, &err);
		return;
	}
	json_decref(body);
	admin_audit(r, who, "user.create", "user", u.id, "created cloud user");
	api_reply(r, 201, admin_user_json(&u));
}

static void admin_user_patch(struct idp_req *r, const struct admin_caller *who,
			     struct dir_user *u)
{
	json_t *body = api_body(r);
	const char *password;
	struct err err = {0};
	char summary[256];

	if (body == NULL || api_check(r, body, user_fields, 0) != 0) {
		json_decref(body);
		return;
	}
	if (u->source == DIR_SOURCE_LDAP) {
		for (size_t i = 0; i < sizeof(user_synced_fields) / sizeof(user_synced_fields[0]); i++)
			if (json_object_get(body, user_synced_fields[i]) != NULL) {
				json_decref(body);
				api_error(r, 409, "synced_object",
					  "%s of a user synced from LDAP changes at the source; only "
					  "mfaRequired changes here",
					  user_synced_fields[i]);
				return;
			}
	}
	admin_user_apply(body, u);
	password = api_str(body, "password");
	/* a confirmed compromise is remediated by a new password (risk_admin.c) */
	if (dir_user_update(r->dir, r->tenant.id, u, &err) != 0 ||
	    (password != NULL && risk_password_reset(r->dir, r->tenant.id, u->id, password, who->name,
						     r->http->client_ip, r->now, &err))) {
		json_decref(body);
		api_store_error(r, &err);
		return;
	}
	/* a disabled user's sessions end now, not at their timeout */
	if (!u->enabled)
		dir_session_delete_user(r->dir, r->tenant.id, u->id, &err);
	snprintf(summary, sizeof(summary), "changed%s%s", password != NULL ? " password" : "",
		 !u->enabled ? " (disabled)" : "");
	json_decref(body);
	admin_audit(r, who, "user.update", "user", u->id, summary);
	if (dir_user_get(r->dir, r->tenant.id, u->id, u, &err) != 0) {
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200, admin_user_json(u));
}

static int admin_group_row(void *ctx, const struct dir_group *g)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s}", "id", g->id, "name", g->name));
	return 0;
}

static int admin_session_row(void *ctx, const struct dir_session *s)
{
	/* the hash prefix names a session without giving away anything usable */
	char handle[17];

	snprintf(handle, sizeof(handle), "%.16s", s->id_hash);
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "id", handle,
					     "createdAt", (json_int_t)s->created_at, "lastSeenAt",
					     (json_int_t)s->last_seen_at, "expiresAt",
					     (json_int_t)s->expires_at, "amr", s->amr, "ip", s->ip,
					     "userAgent", s->user_agent));
	return 0;
}

void admin_users(struct idp_req *r, const char *path)
{
	struct admin_caller who;
	struct dir_user u;
	struct err err = {0};
	char id[DIR_ID_MAX], scope[64];
	const char *rest = "";
	int get = strcmp(r->http->method, "GET") == 0;

	if (strcmp(path, "/admin/users") == 0) {
		if (get) {
			if (admin_authorize(r, "idp/users/read", "/", &who) == 0)
				admin_users_list(r);
		} else if (strcmp(r->http->method, "POST") == 0) {
			if (admin_authorize(r, "idp/users/write", "/", &who) == 0)
				admin_users_create(r, &who);
		} else {
			api_error(r, 405, "method_not_allowed", "GET or POST");
		}
		return;
	}
	if (api_path_id(path, "/admin/users/", id, sizeof(id), &rest) != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	snprintf(scope, sizeof(scope), "/users/%s", id);
	/* authorize before looking: an unauthorized caller learns nothing, not even existence */
	const char *action = get ? "idp/users/read"
			     : strcmp(r->http->method, "DELETE") == 0 && *rest == '\0'
				     ? "idp/users/delete"
				     : "idp/users/write";
	if (admin_authorize(r, action, scope, &who) != 0)
		return;
	if (dir_user_get(r->dir, r->tenant.id, id, &u, &err) != 0) {
		api_error(r, 404, "not_found", "no such user");
		return;
	}
	if (*rest == '\0') {
		if (get) {
			api_reply(r, 200, admin_user_json(&u));
		} else if (strcmp(r->http->method, "PATCH") == 0) {
			admin_user_patch(r, &who, &u);
		} else if (strcmp(r->http->method, "DELETE") == 0) {
			if (u.source == DIR_SOURCE_LDAP) {
				api_error(r, 409, "synced_object",
					  "a user synced from LDAP is deleted at the source");
				return;
			}
			if (dir_user_purge(r->dir, r->tenant.id, u.id, &err) != 0) {
				api_store_error(r, &err);
				return;
			}
			admin_audit(r, &who, "user.purge", "user", u.id, "purged");
			r->resp->status = 204;
		} else {
			api_error(r, 405, "method_not_allowed", "GET, PATCH or DELETE");
		}
	} else if (strcmp(rest, "/groups") == 0 && get) {
		json_t *arr = json_array();
		if (dir_member_of(r->dir, r->tenant.id, DIR_MEMBER_USER, u.id, admin_group_row, arr,
				  &err) != 0) {
			json_decref(arr);
			api_store_error(r, &err);
			return;
		}
		api_reply(r, 200, json_pack("{s:o}", "value", arr));
	} else if (strcmp(rest, "/sessions") == 0 && get) {
		json_t *arr = json_array();
		if (dir_session_list_user(r->dir, r->tenant.id, u.id, admin_session_row, arr,
					  &err) != 0) {
			json_decref(arr);
			api_store_error(r, &err);
			return;
		}
		api_reply(r, 200, json_pack("{s:o}", "value", arr));
	} else if (strcmp(rest, "/sessions") == 0 && strcmp(r->http->method, "DELETE") == 0) {
		if (dir_session_delete_user(r->dir, r->tenant.id, u.id, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "user.revoke_sessions", "user", u.id, "sessions revoked");
		r->resp->status = 204;
	} else if (strcmp(rest, "/mfa/reset") == 0 && strcmp(r->http->method, "POST") == 0) {
		if (mfa_reset(r->dir, r->tenant.id, u.id, who.name, "admin API", &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		r->resp->status = 204;
	} else {
		api_error(r, 404, "not_found", "no such endpoint");
	}
}
