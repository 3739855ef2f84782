/*
 * admin_roles: /{tenant}/admin/roleDefinitions, /roleAssignments and
 * /denyAssignments, through rbac_store, which checks what only the RBAC
 * model knows (patterns, scopes, assignable scopes, principals that exist,
 * read-only built-ins) and audits each change in its own transaction.
 */
#include "admin.h"

#include "rbac_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct api_field role_fields[] = {
	{"name", API_STRING, DIR_NAME_MAX - 1, 1},
	{"description", API_STRING, DIR_TEXT_MAX - 1, 0},
	{"actions", API_STRINGS, 256, 0},
	{"notActions", API_STRINGS, 256, 0},
	{"dataActions", API_STRINGS, 256, 0},
	{"notDataActions", API_STRINGS, 256, 0},
	{"assignableScopes", API_STRINGS, 256, 0},
	{NULL, API_ANY, 0, 0},
};

static const struct api_field assignment_fields[] = {
	{"roleId", API_STRING, DIR_NAME_MAX - 1, 1},
	{"principalType", API_STRING, 8, 1},
	{"principalId", API_STRING, DIR_ID_MAX - 1, 1},
	{"scope", API_STRING, DIR_SCOPE_MAX - 1, 1},
	{NULL, API_ANY, 0, 0},
};

static const struct api_field deny_fields[] = {
	{"name", API_STRING, DIR_NAME_MAX - 1, 1},
	{"description", API_STRING, DIR_TEXT_MAX - 1, 0},
	{"scope", API_STRING, DIR_SCOPE_MAX - 1, 1},
	{"principals", API_ANY, 0, 1},
	{"excludedPrincipals", API_ANY, 0, 0},
	{"actions", API_STRINGS, 256, 0},
	{"notActions", API_STRINGS, 256, 0},
	{"dataActions", API_STRINGS, 256, 0},
	{"notDataActions", API_STRINGS, 256, 0},
	{NULL, API_ANY, 0, 0},
};

/* A stored JSON list as a value (new reference); [] when empty or unreadable. */
static json_t *roles_list(const char *s)
{
	json_t *v = s[0] != '\0' ? json_loads(s, 0, NULL) : NULL;
	return v != NULL ? v : json_array();
}

/* body[name] (an array) into a stored JSON list field; 0, or -1 with a 400 made. */
static int roles_set_list(struct idp_req *r, json_t *body, const char *name, char *dst,
			  size_t cap)
{
	json_t *v = json_object_get(body, name);
	char *s;

	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		api_error(r, 400, "invalid_field", "%s must be an array", name);
		return -1;
	}
	s = json_dumps(v, JSON_COMPACT);
	if (s == NULL || strlen(s) >= cap) {
		free(s);
		api_error(r, 400, "invalid_field", "%s is too long", name);
		return -1;
	}
	snprintf(dst, cap, "%s", s);
	free(s);
	return 0;
}

static json_t *role_json(const struct dir_role *x)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "id", x->id,
			 "name", x->name, "description", x->description, "builtin", x->builtin,
			 "actions", roles_list(x->actions), "notActions",
			 roles_list(x->not_actions), "dataActions", roles_list(x->data_actions),
			 "notDataActions", roles_list(x->not_data_actions), "assignableScopes",
			 roles_list(x->assignable_scopes[0] ? x->assignable_scopes : "[\"/\"]"),
			 "createdAt", (json_int_t)x->created_at, "updatedAt",
			 (json_int_t)x->updated_at);
}

static json_t *assignment_json(const struct dir_role_assignment *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", a->id, "roleId", a->role_id,
			 "principalType", dir_principal_type_name(a->principal_type),
			 "principalId", a->principal_id, "scope", a->scope, "createdAt",
			 (json_int_t)a->created_at);
}

static json_t *deny_json(const struct dir_deny_assignment *x)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "id", x->id,
			 "name", x->name, "description", x->description, "scope", x->scope,
			 "principals", roles_list(x->principals), "excludedPrincipals",
			 roles_list(x->excluded_principals), "actions", roles_list(x->actions),
			 "notActions", roles_list(x->not_actions), "dataActions",
			 roles_list(x->data_actions), "notDataActions",
			 roles_list(x->not_data_actions), "createdAt", (json_int_t)x->created_at);
}

static int role_row(void *ctx, const struct dir_role *x)
{
	json_array_append_new(ctx, role_json(x));
	return 0;
}

static int assignment_row(void *ctx, const struct dir_role_assignment *a)
{
	json_array_append_new(ctx, assignment_json(a));
	return 0;
}

static int deny_row(void *ctx, const struct dir_deny_assignment *x)
{
	json_array_append_new(ctx, deny_json(x));
	return 0;
}

/* Copy the role fields present in body into x; 0 or -1 (400 made). */
static int role_apply(struct idp_req *r, json_t *body, struct dir_role *x)
{
	if (api_str(body, "name") != NULL)
		snprintf(x->name, sizeof(x->name), "%s", api_str(body, "name"));
	if (api_str(body, "description") != NULL)
		snprintf(x->description, sizeof(x->description), "%s",
			 api_str(body, "description"));
	return roles_set_list(r, body, "actions", x->actions, sizeof(x->actions)) ||
			       roles_set_list(r, body, "notActions", x->not_actions,
					      sizeof(x->not_actions)) ||
			       roles_set_list(r, body, "dataActions", x->data_actions,
					      sizeof(x->data_actions)) ||
			       roles_set_list(r, body, "notDataActions", x->not_data_actions,
					      sizeof(x->not_data_actions)) ||
			       roles_set_list(r, body, "assignableScopes", x->assignable_scopes,
					      sizeof(x->assignable_scopes))
		       ? -1
		       : 0;
}

static int deny_apply(struct idp_req *r, json_t *body, struct dir_deny_assignment *x)
{
	if (api_str(body, "name") != NULL)
		snprintf(x->name, sizeof(x->name), "%s", api_str(body, "name"));
	if (api_str(body, "description") != NULL)
		snprintf(x->description, sizeof(x->description), "%s",
			 api_str(body, "description"));
	if (api_str(body, "scope") != NULL)
		snprintf(x->scope, sizeof(x->scope), "%s", api_str(body, "scope"));
	return roles_set_list(r, body, "principals", x->principals, sizeof(x->principals)) ||
			       roles_set_list(r, body, "excludedPrincipals",
					      x->excluded_principals,
					      sizeof(x->excluded_principals)) ||
			       roles_set_list(r, body, "actions", x->actions, sizeof(x->actions)) ||
			       roles_set_list(r, body, "notActions", x->not_actions,
					      sizeof(x->not_actions)) ||
			       roles_set_list(r, body, "dataActions", x->data_actions,
					      sizeof(x->data_actions)) ||
			       roles_set_list(r, body, "notDataActions", x->not_data_actions,
					      sizeof(x->not_data_actions))
		       ? -1
		       : 0;
}

static void admin_role_definitions(struct idp_req *r, const char *id,
				   const struct admin_caller *who)
{
	struct rbac_actor actor = {who->name, r->http->client_ip};
	struct dir_role *x = calloc(1, sizeof(*x));
	struct err err = {0};
	const char *m = r->http->method;
	json_t *body = NULL;

	if (x == NULL) {
		api_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if (id == NULL && strcmp(m, "GET") == 0) {
		json_t *arr = json_array();
		if (dir_role_list(r->dir, r->tenant.id, role_row, arr, &err) != 0) {
			json_decref(arr);
			api_store_error(r, &err);
		} else {
			api_reply(r, 200, json_pack("{s:o}", "value", arr));
		}
	} else if (id == NULL && strcmp(m, "POST") == 0) {
		if ((body = api_body(r)) != NULL && api_check(r, body, role_fields, 1) == 0 &&
		    role_apply(r, body, x) == 0) {
			if (rbac_store_role_create(r->dir, r->tenant.id, &actor, x, &err) != 0)
				api_store_error(r, &err);
			else
				api_reply(r, 201, role_json(x));
		}
	} else if (id == NULL) {
		api_error(r, 405, "method_not_allowed", "GET or POST");
	} else if (rbac_store_role_find(r->dir, r->tenant.id, id, x, &err) != 0) {
		api_error(r, 404, "not_found", "no such role");
	} else if (strcmp(m, "GET") == 0) {
		api_reply(r, 200, role_json(x));
	} else if (strcmp(m, "PATCH") == 0) {
		if ((body = api_body(r)) != NULL && api_check(r, body, role_fields, 0) == 0 &&
		    role_apply(r, body, x) == 0) {
			if (rbac_store_role_update(r->dir, r->tenant.id, &actor, x, &err) != 0)
				api_store_error(r, &err);
			else
				api_reply(r, 200, role_json(x));
		}
	} else if (strcmp(m, "DELETE") == 0) {
		if (rbac_store_role_delete(r->dir, r->tenant.id, &actor, x->id, &err) != 0)
			api_store_error(r, &err);
		else
			r->resp->status = 204;
	} else {
		api_error(r, 405, "method_not_allowed", "GET, PATCH or DELETE");
	}
	json_decref(body);
	free(x);
}

static void admin_role_assignments(struct idp_req *r, const char *id,
				   const struct admin_caller *who)
{
	struct rbac_actor actor = {who->name, r->http->client_ip};
	struct dir_role_assignment a;
	struct err err = {0};
	const char *m = r->http->method;
	json_t *body = NULL;

	memset(&a, 0, sizeof(a));
	if (id == NULL && strcmp(m, "GET") == 0) {
		struct dir_role_assignment_filter f = {
			http_param(&r->http->query, "roleId", NULL),
			http_param(&r->http->query, "principalId", NULL),
			http_param(&r->http->query, "scope", NULL)};
		json_t *arr = json_array();
		if (dir_role_assignment_list(r->dir, r->tenant.id, &f, assignment_row, arr, &err)) {
			json_decref(arr);
			api_store_error(r, &err);
		} else {
			api_reply(r, 200, json_pack("{s:o}", "value", arr));
		}
	} else if (id == NULL && strcmp(m, "POST") == 0) {
		int type;
		if ((body = api_body(r)) == NULL || api_check(r, body, assignment_fields, 1) != 0)
			goto out;
		type = dir_principal_type_parse(api_str(body, "principalType"));
		if (type < 0) {
			api_error(r, 400, "invalid_field", "principalType is user, group or app");
			goto out;
		}
		/* the role by id, name or well-known id */
		struct dir_role *rp = calloc(1, sizeof(*rp));
		if (rp == NULL ||
		    rbac_store_role_find(r->dir, r->tenant.id, api_str(body, "roleId"), rp, &err)) {
			free(rp);
			api_error(r, 400, "invalid_field", "no role '%.60s'", api_str(body, "roleId"));
			goto out;
		}
		snprintf(a.role_id, sizeof(a.role_id), "%s", rp->id);
		free(rp);
		a.principal_type = (enum dir_principal_type)type;
		snprintf(a.principal_id, sizeof(a.principal_id), "%s", api_str(body, "principalId"));
		snprintf(a.scope, sizeof(a.scope), "%s", api_str(body, "scope"));
		if (rbac_store_assignment_create(r->dir, r->tenant.id, &actor, &a, &err) != 0)
			api_store_error(r, &err);
		else
			api_reply(r, 201, assignment_json(&a));
	} else if (id == NULL) {
		api_error(r, 405, "method_not_allowed", "GET or POST");
	} else if (dir_role_assignment_get(r->dir, r->tenant.id, id, &a, &err) != 0) {
		api_error(r, 404, "not_found", "no such role assignment");
	} else if (strcmp(m, "GET") == 0) {
		api_reply(r, 200, assignment_json(&a));
	} else if (strcmp(m, "DELETE") == 0) {
		if (rbac_store_assignment_delete(r->dir, r->tenant.id, &actor, a.id, &err) != 0)
			api_store_error(r, &err);
		else
			r->resp->status = 204;
	} else {
		api_error(r, 405, "method_not_allowed", "GET or DELETE");
	}
out:
	json_decref(body);
}

static void admin_deny_assignments(struct idp_req *r, const char *id,
				   const struct admin_caller *who)
{
	struct rbac_actor actor = {who->name, r->http->client_ip};
	struct dir_deny_assignment *x = calloc(1, sizeof(*x));
	struct err err = {0};
	const char *m = r->http->method;
	json_t *body = NULL;

	if (x == NULL) {
		api_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if (id == NULL && strcmp(m, "GET") == 0) {
		json_t *arr = json_array();
		if (dir_deny_list(r->dir, r->tenant.id, deny_row, arr, &err) != 0) {
			json_decref(arr);
			api_store_error(r, &err);
		} else {
			api_reply(r, 200, json_pack("{s:o}", "value", arr));
		}
	} else if (id == NULL && strcmp(m, "POST") == 0) {
		if ((body = api_body(r)) != NULL && api_check(r, body, deny_fields, 1) == 0 &&
		    deny_apply(r, body, x) == 0) {
			if (rbac_store_deny_create(r->dir, r->tenant.id, &actor, x, &err) != 0)
				api_store_error(r, &err);
			else
				api_reply(r, 201, deny_json(x));
		}
	} else if (id == NULL) {
		api_error(r, 405, "method_not_allowed", "GET or POST");
	} else if (dir_deny_get(r->dir, r->tenant.id, id, x, &err) != 0) {
		api_error(r, 404, "not_found", "no such deny assignment");
	} else if (strcmp(m, "GET") == 0) {
		api_reply(r, 200, deny_json(x));
	} else if (strcmp(m, "PATCH") == 0) {
		if ((body = api_body(r)) != NULL && api_check(r, body, deny_fields, 0) == 0 &&
		    deny_apply(r, body, x) == 0) {
			if (rbac_store_deny_update(r->dir, r->tenant.id, &actor, x, &err) != 0)
				api_store_error(r, &err);
			else
				api_reply(r, 200, deny_json(x));
		}
	} else if (strcmp(m, "DELETE") == 0) {
		if (rbac_store_deny_delete(r->dir, r->tenant.id, &actor, x->id, &err) != 0)
			api_store_error(r, &err);
		else
			r->resp->status = 204;
	} else {
		api_error(r, 405, "method_not_allowed", "GET, PATCH or DELETE");
	}
	json_decref(body);
	free(x);
}

void admin_roles(struct idp_req *r, const char *path)
{
	static const struct {
		const char *prefix, *type;
		void (*fn)(struct idp_req *, const char *, const struct admin_caller *);
	} kinds[] = {
		{"/admin/roleDefinitions", "roleDefinitions", admin_role_definitions},
		{"/admin/roleAssignments", "roleAssignments", admin_role_assignments},
		{"/admin/denyAssignments", "denyAssignments", admin_deny_assignments},
	};
	struct admin_caller who;
	char id[DIR_NAME_MAX], action[64];
	const char *rest = "", *m = r->http->method;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);
		int coll;
		if (strncmp(path, kinds[i].prefix, n) != 0)
			continue;
		coll = path[n] == '\0';
		if (!coll) {
			char prefix[64];
			snprintf(prefix, sizeof(prefix), "%s/", kinds[i].prefix);
			if (api_path_id(path, prefix, id, sizeof(id), &rest) != 0 || *rest != '\0')
				break;
		}
		snprintf(action, sizeof(action), "idp/%s/%s", kinds[i].type,
			 strcmp(m, "GET") == 0 ? "read"
			 : strcmp(m, "DELETE") == 0 ? "delete"
						    : "write");
		if (admin_authorize(r, action, "/", &who) != 0)
			return;
		kinds[i].fn(r, coll ? NULL : id, &who);
		return;
	}
	api_error(r, 404, "not_found", "no such endpoint");
}
