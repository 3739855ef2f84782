/*
 * admin_groups: /{tenant}/admin/groups: groups and their direct members.
 * Groups synced from LDAP, and their membership, change at the source.
 */
#include "admin.h"

#include <stdio.h>
#include <string.h>

static const struct api_field group_fields[] = {
	{"name", API_STRING, DIR_NAME_MAX - 1, 1},
	{"description", API_STRING, DIR_TEXT_MAX - 1, 0},
	{NULL, API_ANY, 0, 0},
};

static const struct api_field member_fields[] = {
	{"kind", API_STRING, 8, 1},
	{"id", API_STRING, DIR_ID_MAX - 1, 1},
	{NULL, API_ANY, 0, 0},
};

static json_t *group_json(const struct dir_group *g)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:I, s:I}", "id", g->id, "name", g->name,
			 "description", g->description, "source",
			 g->source == DIR_SOURCE_LDAP ? "ldap" : "cloud", "sourceAnchor",
			 g->source_anchor[0] ? g->source_anchor : NULL, "sourceDn",
			 g->source_dn[0] ? g->source_dn : NULL, "createdAt",
			 (json_int_t)g->created_at, "updatedAt", (json_int_t)g->updated_at);
}

struct group_list {
	json_t *arr;
	char last[DIR_NAME_MAX];
	int n;
};

static int group_row(void *ctx, const struct dir_group *g)
{
	struct group_list *l = ctx;

	json_array_append_new(l->arr, group_json(g));
	snprintf(l->last, sizeof(l->last), "%s", g->name);
	l->n++;
	return 0;
}

static int member_row(void *ctx, const struct dir_member *m)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:s}", "kind",
					     m->kind == DIR_MEMBER_USER ? "user" : "group", "id",
					     m->id, "name", m->name));
	return 0;
}

static void groups_collection(struct idp_req *r)
{
	struct admin_caller who;
	struct err err = {0};

	if (strcmp(r->http->method, "GET") == 0) {
		struct group_list l = {json_array(), "", 0};
		int limit = api_limit(r);
		json_t *doc;
		if (admin_authorize(r, "idp/groups/read", "/", &who) != 0) {
			json_decref(l.arr);
			return;
		}
		if (limit < 0) {
			json_decref(l.arr);
			api_error(r, 400, "invalid_parameter", "limit must be 1..1000");
			return;
		}
		if (dir_group_list(r->dir, r->tenant.id, http_param(&r->http->query, "cursor", NULL),
				   limit, group_row, &l, &err) != 0) {
			json_decref(l.arr);
			api_store_error(r, &err);
			return;
		}
		doc = json_pack("{s:o}", "value", l.arr);
		if (l.n == limit)
			json_object_set_new(doc, "nextCursor", json_string(l.last));
		api_reply(r, 200, doc);
	} else if (strcmp(r->http->method, "POST") == 0) {
		struct dir_group g;
		json_t *body;
		if (admin_authorize(r, "idp/groups/write", "/", &who) != 0)
			return;
		body = api_body(r);
		if (body == NULL || api_check(r, body, group_fields, 1) != 0) {
			json_decref(body);
			return;
		}
		memset(&g, 0, sizeof(g));
		snprintf(g.name, sizeof(g.name), "%s", api_str(body, "name"));
		if (api_str(body, "description") != NULL)
			snprintf(g.description, sizeof(g.description), "%s",
				 api_str(body, "description"));
		json_decref(body);
		g.source = DIR_SOURCE_CLOUD;
		if (dir_group_create(r->dir, r->tenant.id, &g, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "group.create", "group", g.id, "created cloud group");
		api_reply(r, 201, group_json(&g));
	} else {
		api_error(r, 405, "method_not_allowed", "GET or POST");
	}
}

static void group_members(struct idp_req *r, const struct admin_caller *who,
			  const struct dir_group *g, const char *rest)
{
	struct err err = {0};
	char summary[128];

	if (strcmp(rest, "/members") == 0 && strcmp(r->http->method, "GET") == 0) {
		json_t *arr = json_array();
		if (dir_group_members(r->dir, r->tenant.id, g->id, member_row, arr, &err) != 0) {
			json_decref(arr);
			api_store_error(r, &err);
			return;
		}
		api_reply(r, 200, json_pack("{s:o}", "value", arr));
		return;
	}
	if (g->source == DIR_SOURCE_LDAP) {
		api_error(r, 409, "synced_object",
			  "the members of a group synced from LDAP change at the source");
		return;
	}
	if (strcmp(rest, "/members") == 0 && strcmp(r->http->method, "POST") == 0) {
		json_t *body = api_body(r);
		const char *kind;
		if (body == NULL || api_check(r, body, member_fields, 1) != 0) {
			json_decref(body);
			return;
		}
		kind = api_str(body, "kind");
		if (strcmp(kind, "user") != 0 && strcmp(kind, "group") != 0) {
			json_decref(body);
			api_error(r, 400, "invalid_field", "kind is user or group");
			return;
		}
		if (dir_group_add_member(r->dir, r->tenant.id, g->id,
					 kind[0] == 'u' ? DIR_MEMBER_USER : DIR_MEMBER_GROUP,
					 api_str(body, "id"), &err) != 0) {
			json_decref(body);
			api_store_error(r, &err);
			return;
		}
		snprintf(summary, sizeof(summary), "added %s %s", kind, api_str(body, "id"));
		json_decref(body);
		admin_audit(r, who, "group.add_member", "group", g->id, summary);
		r->resp->status = 204;
		return;
	}
	if (strncmp(rest, "/members/", 9) == 0 && strcmp(r->http->method, "DELETE") == 0) {
		const char *member = rest + 9, *kind = http_param(&r->http->query, "kind", NULL);
		enum dir_member_kind k = kind != NULL && strcmp(kind, "group") == 0
						 ? DIR_MEMBER_GROUP
						 : DIR_MEMBER_USER;
		if (dir_group_remove_member(r->dir, r->tenant.id, g->id, k, member, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		snprintf(summary, sizeof(summary), "removed %s %.40s",
			 k == DIR_MEMBER_USER ? "user" : "group", member);
		admin_audit(r, who, "group.remove_member", "group", g->id, summary);
		r->resp->status = 204;
		return;
	}
	api_error(r, 404, "not_found", "no such endpoint");
}

void admin_groups(struct idp_req *r, const char *path)
{
	struct admin_caller who;
	struct dir_group g;
	struct err err = {0};
	char id[DIR_ID_MAX], scope[64];
	const char *rest = "", *action;
	int get = strcmp(r->http->method, "GET") == 0;

	if (strcmp(path, "/admin/groups") == 0) {
		groups_collection(r);
		return;
	}
	if (api_path_id(path, "/admin/groups/", id, sizeof(id), &rest) != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	snprintf(scope, sizeof(scope), "/groups/%s", id);
	action = get ? "idp/groups/read"
		     : strcmp(r->http->method, "DELETE") == 0 && *rest == '\0' ? "idp/groups/delete"
									       : "idp/groups/write";
	if (admin_authorize(r, action, scope, &who) != 0)
		return;
	if (dir_group_get(r->dir, r->tenant.id, id, &g, &err) != 0) {
		api_error(r, 404, "not_found", "no such group");
		return;
	}
	if (*rest != '\0') {
		group_members(r, &who, &g, rest);
		return;
	}
	if (get) {
		api_reply(r, 200, group_json(&g));
	} else if (strcmp(r->http->method, "PATCH") == 0) {
		json_t *body = api_body(r);
		if (body == NULL || api_check(r, body, group_fields, 0) != 0) {
			json_decref(body);
			return;
		}
		if (g.source == DIR_SOURCE_LDAP && json_object_get(body, "name") != NULL) {
			json_decref(body);
			api_error(r, 409, "synced_object",
				  "the name of a group synced from LDAP changes at the source");
			return;
		}
		if (api_str(body, "name") != NULL)
			snprintf(g.name, sizeof(g.name), "%s", api_str(body, "name"));
		if (api_str(body, "description") != NULL)
			snprintf(g.description, sizeof(g.description), "%s",
				 api_str(body, "description"));
		json_decref(body);
		if (dir_group_update(r->dir, r->tenant.id, &g, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "group.update", "group", g.id, "changed");
		api_reply(r, 200, group_json(&g));
	} else if (strcmp(r->http->method, "DELETE") == 0) {
		if (g.source == DIR_SOURCE_LDAP) {
			api_error(r, 409, "synced_object",
				  "a group synced from LDAP is deleted at the source");
			return;
		}
		if (dir_group_purge(r->dir, r->tenant.id, g.id, &err) != 0) {
			api_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "group.delete", "group", g.id, "deleted");
		r->resp->status = 204;
	} else {
		api_error(r, 405, "method_not_allowed", "GET, PATCH or DELETE");
	}
}
