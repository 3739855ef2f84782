/*
 * scim: SCIM 2.0 (RFC 7643/7644) Users and Groups under
 * /{tenant}/scim/v2/, so that HR systems and other directories can
 * provision cloud users and groups.
 *
 * Supported: create, read, replace (PUT), patch (add/replace/remove of
 * simple attributes, and of group members), delete, list with
 * startIndex/count and the filter "userName eq" / "displayName eq".  The
 * same admin token and RBAC actions as the admin API (idp/users/...,
 * idp/groups/...) authorize every call; synced objects are read-only.
 */
#include "scim.h"

#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_USER   "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP  "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_LIST   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_ERROR  "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_PATCH  "urn:ietf:params:scim:api:messages:2.0:PatchOp"

static void scim_reply(struct idp_req *r, int status, json_t *doc)
{
	api_reply(r, status, doc);
	r->resp->content_type = "application/scim+json";
}

static void scim_error(struct idp_req *r, int status, const char *type, const char *detail)
{
	char st[8];

	snprintf(st, sizeof(st), "%d", status);
	json_t *doc = json_pack("{s:[s], s:s, s:s}", "schemas", SCIM_ERROR, "status", st, "detail",
				detail);
	if (type != NULL)
		json_object_set_new(doc, "scimType", json_string(type));
	scim_reply(r, status, doc);
}

static void scim_store_error(struct idp_req *r, const struct err *err)
{
	if (err->code == ERR_EXISTS)
		scim_error(r, 409, "uniqueness", err->msg);
	else if (err->code == ERR_NOT_FOUND)
		scim_error(r, 404, NULL, err->msg);
	else if (err->code == ERR_INVALID)
		scim_error(r, 400, "invalidValue", err->msg);
	else
		scim_error(r, 503, NULL, "the store could not do it; try again");
}

static json_t *scim_meta(const struct idp_req *r, const char *type, const char *id,
			 int64_t created, int64_t updated)
{
	char loc[1200];

	idp_url(r, "", loc, sizeof(loc));
	snprintf(loc + strlen(loc), sizeof(loc) - strlen(loc), "/scim/v2/%ss/%s", type, id);
	return json_pack("{s:s, s:I, s:I, s:s}", "resourceType", type, "created",
			 (json_int_t)created, "lastModified", (json_int_t)updated, "location", loc);
}

static json_t *scim_user(const struct idp_req *r, const struct dir_user *u)
{
	json_t *doc = json_pack("{s:[s], s:s, s:s, s:s, s:{s:s, s:s}, s:b, s:o}", "schemas",
				SCIM_USER, "id", u->id, "userName", u->upn, "displayName",
				u->display_name, "name", "givenName", u->given_name, "familyName",
				u->surname, "active", u->enabled, "meta",
				scim_meta(r, "User", u->id, u->created_at, u->updated_at));
	if (u->mail[0] != '\0')
		json_object_set_new(doc, "emails", json_pack("[{s:s, s:b, s:s}]", "value", u->mail,
							     "primary", 1, "type", "work"));
	if (u->source == DIR_SOURCE_LDAP)
		json_object_set_new(doc, "externalId", json_string(u->source_anchor));
	return doc;
}

/* Take what a SCIM user document says into u; 0, or -1 with the error made. */
static int scim_user_apply(struct idp_req *r, json_t *doc, struct dir_user *u)
{
	json_t *v, *name = json_object_get(doc, "name"), *emails = json_object_get(doc, "emails");
	const char *key;

	json_object_foreach(doc, key, v) {
		static const char *const known[] = {"schemas", "id", "userName", "displayName",
						    "name", "emails", "active", "password",
						    "meta", "externalId"};
		int ok = 0;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok) {
			scim_error(r, 400, "invalidSyntax", "unknown attribute");
			return -1;
		}
	}
#define SCIM_STR(dst, j)                                                                           \
	do {                                                                                       \
		json_t *x_ = (j);                                                                  \
		if (x_ != NULL) {                                                                  \
			if (!json_is_string(x_) || json_string_length(x_) >= sizeof(dst)) {        \
				scim_error(r, 400, "invalidValue", "a string attribute is too long " \
								   "or not a string");             \
				return -1;                                                         \
			}                                                                          \
			snprintf(dst, sizeof(dst), "%s", json_string_value(x_));                   \
		}                                                                                  \
	} while (0)
	SCIM_STR(u->upn, json_object_get(doc, "userName"));
	SCIM_STR(u->display_name, json_object_get(doc, "displayName"));
	if (name != NULL) {
		if (!json_is_object(name)) {
			scim_error(r, 400, "invalidSyntax", "name must be an object");
			return -1;
		}
		SCIM_STR(u->given_name, json_object_get(name, "givenName"));
		SCIM_STR(u->surname, json_object_get(name, "familyName"));
	}
	if (emails != NULL) {
		json_t *e;
		size_t i;
		if (!json_is_array(emails)) {
			scim_error(r, 400, "invalidSyntax", "emails must be an array");
			return -1;
		}
		u->mail[0] = '\0';
		json_array_foreach(emails, i, e) {
			if (!json_is_object(e)) {
				scim_error(r, 400, "invalidSyntax", "emails[] must be objects");
				return -1;
			}
			if (u->mail[0] == '\0' || json_is_true(json_object_get(e, "primary")))
				SCIM_STR(u->mail, json_object_get(e, "value"));
		}
	}
	if ((v = json_object_get(doc, "active")) != NULL) {
		if (!json_is_boolean(v)) {
			scim_error(r, 400, "invalidValue", "active must be true or false");
			return -1;
		}
		u->enabled = json_is_true(v);
	}
#undef SCIM_STR
	return 0;
}

/* The id in "/scim/v2/Users/ID"; 0 with id filled, 1 for the collection, -1 otherwise. */
static int scim_path(const char *path, const char *coll, char *id, size_t cap)
{
	size_t n = strlen(coll);

	if (strncmp(path, coll, n) != 0)
		return -1;
	if (path[n] == '\0')
		return 1;
	if (path[n] != '/' || path[n + 1] == '\0' || strchr(path + n + 1, '/') != NULL ||
	    strlen(path + n + 1) >= cap)
		return -1;
	snprintf(id, cap, "%s", path + n + 1);
	return 0;
}

/* 'ATTR eq "VALUE"' with ATTR as expected; the value into out. */
static int scim_filter_eq(const char *filter, const char *attr, char *out, size_t cap)
{
	size_t n = strlen(attr), len;
	const char *p = filter;

	while (*p == ' ')
		p++;
	if (strncasecmp(p, attr, n) != 0)
		return -1;
	p += n;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "eq", 2) != 0)
		return -1;
	p += 2;
	while (*p == ' ')
		p++;
	if (*p != '"')
		return -1;
	p++;
	len = strcspn(p, "\"");
	if (p[len] != '"' || len >= cap || strspn(p + len + 1, " ") != strlen(p + len + 1))
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* 'members[value eq "ID"]' (RFC 7644 §3.5.2.2): the id into out. */
static int scim_member_filter(const char *path, char *out, size_t cap)
{
	char inner[DIR_ID_MAX + 32];
	size_t n = strlen(path);

	if (strncmp(path, "members[", 8) != 0 || n < 10 || path[n - 1] != ']' ||
	    n - 9 >= sizeof(inner))
		return -1;
	memcpy(inner, path + 8, n - 9);
	inner[n - 9] = '\0';
	return scim_filter_eq(inner, "value", out, cap);
}

struct scim_list {
	const struct idp_req *r;
	json_t *arr;
	long start, count, seen;
};

static int scim_user_row(void *ctx, const struct dir_user *u)
{
	struct scim_list *l = ctx;

	l->seen++;
	if (l->seen >= l->start && json_array_size(l->arr) < (size_t)l->count)
		json_array_append_new(l->arr, scim_user(l->r, u));
	return 0;
}

static int scim_paging(struct idp_req *r, long *start, long *count)
{
	const char *s = http_param(&r->http->query, "startIndex", NULL);
	const char *c = http_param(&r->http->query, "count", NULL);

	*start = s != NULL ? atol(s) : 1;
	*count = c != NULL ? atol(c) : 100;
	if (*start < 1)
		*start = 1; /* RFC 7644 §3.4.2.4: values below 1 are read as 1 */
	if (*count < 0)
		*count = 0;
	if (*count > 1000)
		*count = 1000;
	return 0;
}

static void scim_list_reply(struct idp_req *r, struct scim_list *l)
{
	scim_reply(r, 200,
		   json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCIM_LIST, "totalResults",
			     (json_int_t)l->seen, "startIndex", (json_int_t)l->start,
			     "itemsPerPage", (json_int_t)json_array_size(l->arr), "Resources",
			     l->arr));
}

static void scim_users(struct idp_req *r, int coll, const char *id)
{
	struct admin_caller who;
	struct dir_user u;
	struct err err = {0};
	const char *m = r->http->method;
	int get = strcmp(m, "GET") == 0;
	json_t *body = NULL;
	char scope[64];

	snprintf(scope, sizeof(scope), coll ? "/" : "/users/%s", coll ? "" : id);
	if (admin_authorize(r, get ? "idp/users/read"
				   : strcmp(m, "DELETE") == 0 ? "idp/users/delete"
							      : "idp/users/write",
			    scope, &who) != 0)
		return;
	if (coll && get) {
		struct scim_list l = {r, json_array(), 0, 0, 0};
		const char *filter = http_param(&r->http->query, "filter", NULL);
		char upn[DIR_UPN_MAX];
		scim_paging(r, &l.start, &l.count);
		if (filter != NULL) {
			if (scim_filter_eq(filter, "userName", upn, sizeof(upn)) != 0) {
				json_decref(l.arr);
				scim_error(r, 400, "invalidFilter", "only 'userName eq \"...\"' is supported");
				return;
			}
			if (dir_user_get_by_upn(r->dir, r->tenant.id, upn, &u, &err) == 0)
				scim_user_row(&l, &u);
		} else if (dir_user_list(r->dir, r->tenant.id, NULL, scim_user_row, &l, &err) != 0) {
			json_decref(l.arr);
			scim_store_error(r, &err);
			return;
		}
		scim_list_reply(r, &l);
		return;
	}
	if (coll && strcmp(m, "POST") == 0) {
		const char *pw;
		if ((body = api_body(r)) == NULL)
			return;
		memset(&u, 0, sizeof(u));
		u.enabled = 1;
		u.source = DIR_SOURCE_CLOUD;
		if (scim_user_apply(r, body, &u) != 0) {
			json_decref(body);
			return;
		}
		pw = json_string_value(json_object_get(body, "password"));
		if (dir_user_create(r->dir, r->tenant.id, &u, pw, &err) != 0) {
			json_decref(body);
			scim_store_error(r, &err);
			return;
		}
		json_decref(body);
		admin_audit(r, &who, "user.create", "user", u.id, "created through SCIM");
		scim_reply(r, 201, scim_user(r, &u));
		return;
	}
	if (coll) {
		scim_error(r, 405, NULL, "GET or POST");
		return;
	}
	if (dir_user_get(r->dir, r->tenant.id, id, &u, &err) != 0 || u.deleted_at != 0) {
		scim_error(r, 404, NULL, "no such user");
		return;
	}
	if (get) {
		scim_reply(r, 200, scim_user(r, &u));
		return;
	}
	if (u.source == DIR_SOURCE_LDAP) {
		scim_error(r, 409, "mutability", "a user synced from LDAP changes at the source");
		return;
	}
	if (strcmp(m, "DELETE") == 0) {
		if (dir_user_purge(r->dir, r->tenant.id, u.id, &err) != 0) {
			scim_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "user.purge", "user", u.id, "deleted through SCIM");
		r->resp->status = 204;
		return;
	}
	if ((body = api_body(r)) == NULL)
		return;
	if (strcmp(m, "PUT") == 0) {
		/* a replace: attributes absent from the document are cleared */
		struct dir_user fresh = u;
		fresh.display_name[0] = fresh.given_name[0] = fresh.surname[0] = fresh.mail[0] = '\0';
		fresh.enabled = 1;
		if (scim_user_apply(r, body, &fresh) != 0) {
			json_decref(body);
			return;
		}
		u = fresh;
	} else if (strcmp(m, "PATCH") == 0) {
		json_t *ops = json_object_get(body, "Operations"), *op;
		size_t i;
		if (!json_is_array(ops)) {
			json_decref(body);
			scim_error(r, 400, "invalidSyntax", "a PatchOp needs Operations");
			return;
		}
		json_array_foreach(ops, i, op) {
			const char *kind = json_string_value(json_object_get(op, "op"));
			const char *path = json_string_value(json_object_get(op, "path"));
			json_t *value = json_object_get(op, "value"), *doc;
			if (kind == NULL || (strcasecmp(kind, "replace") != 0 &&
					     strcasecmp(kind, "add") != 0)) {
				json_decref(body);
				scim_error(r, 400, "invalidSyntax",
					   "user patches support add and replace");
				return;
			}
			/* "path": "name.givenName" becomes {"name": {"givenName": value}} */
			if (path == NULL)
				doc = json_incref(value);
			else if (strncmp(path, "name.", 5) == 0)
				doc = json_pack("{s:{s:O}}", "name", path + 5, value);
			else
				doc = json_pack("{s:O}", path, value);
			if (!json_is_object(doc) || scim_user_apply(r, doc, &u) != 0) {
				if (!json_is_object(doc))
					scim_error(r, 400, "invalidValue", "a patch value is missing");
				json_decref(doc);
				json_decref(body);
				return;
			}
			json_decref(doc);
		}
	} else {
		json_decref(body);
		scim_error(r, 405, NULL, "GET, PUT, PATCH or DELETE");
		return;
	}
	json_decref(body);
	if (dir_user_update(r->dir, r->tenant.id, &u, &err) != 0) {
		scim_store_error(r, &err);
		return;
	}
	if (!u.enabled)
		dir_session_delete_user(r->dir, r->tenant.id, u.id, &err);
	admin_audit(r, &who, "user.update", "user", u.id, "changed through SCIM");
	scim_reply(r, 200, scim_user(r, &u));
}

static int scim_member_row(void *ctx, const struct dir_member *m)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:s}", "value", m->id, "display", m->name,
					     "type", m->kind == DIR_MEMBER_USER ? "User" : "Group"));
	return 0;
}

static json_t *scim_group(struct idp_req *r, const struct dir_group *g)
{
	json_t *members = json_array();
	struct err err = {0};

	dir_group_members(r->dir, r->tenant.id, g->id, scim_member_row, members, &err);
	return json_pack("{s:[s], s:s, s:s, s:o, s:o}", "schemas", SCIM_GROUP, "id", g->id,
			 "displayName", g->name, "members", members, "meta",
			 scim_meta(r, "Group", g->id, g->created_at, g->updated_at));
}

/* Add (add = 1) or remove the members listed in value ([{"value": id}, ...]). */
static int scim_group_members(struct idp_req *r, const struct dir_group *g, json_t *value,
			      int add)
{
	struct err err = {0};
	json_t *m;
	size_t i;

	if (!json_is_array(value)) {
		scim_error(r, 400, "invalidSyntax", "members must be an array");
		return -1;
	}
	json_array_foreach(value, i, m) {
		const char *mid = json_string_value(json_object_get(m, "value"));
		const char *type = json_string_value(json_object_get(m, "type"));
		struct dir_user u;
		enum dir_member_kind kind;
		int rc;
		if (mid == NULL) {
			scim_error(r, 400, "invalidValue", "a member needs a value (its id)");
			return -1;
		}
		kind = (type != NULL && strcasecmp(type, "Group") == 0) ||
				       (type == NULL &&
					dir_user_get(r->dir, r->tenant.id, mid, &u, &err) != 0)
			       ? DIR_MEMBER_GROUP
			       : DIR_MEMBER_USER;
		rc = add ? dir_group_add_member(r->dir, r->tenant.id, g->id, kind, mid, &err)
			 : dir_group_remove_member(r->dir, r->tenant.id, g->id, kind, mid, &err);
		if (rc != 0 && !(rc == ERR_NOT_FOUND && !add)) {
			scim_store_error(r, &err);
			return -1;
		}
	}
	return 0;
}

struct scim_glist {
	struct idp_req *r;
	json_t *arr;
	long start, count, seen;
};

static int scim_group_row(void *ctx, const struct dir_group *g)
{
	struct scim_glist *l = ctx;

	l->seen++;
	if (l->seen >= l->start && json_array_size(l->arr) < (size_t)l->count)
		json_array_append_new(l->arr, scim_group(l->r, g));
	return 0;
}

static void scim_groups(struct idp_req *r, int coll, const char *id)
{
	struct admin_caller who;
	struct dir_group g;
	struct err err = {0};
	const char *m = r->http->method;
	int get = strcmp(m, "GET") == 0;
	json_t *body = NULL;
	char scope[64];

	snprintf(scope, sizeof(scope), coll ? "/" : "/groups/%s", coll ? "" : id);
	if (admin_authorize(r, get ? "idp/groups/read"
				   : strcmp(m, "DELETE") == 0 ? "idp/groups/delete"
							      : "idp/groups/write",
			    scope, &who) != 0)
		return;
	if (coll && get) {
		struct scim_glist l = {r, json_array(), 0, 0, 0};
		const char *filter = http_param(&r->http->query, "filter", NULL);
		char name[DIR_NAME_MAX];
		scim_paging(r, &l.start, &l.count);
		if (filter != NULL) {
			if (scim_filter_eq(filter, "displayName", name, sizeof(name)) != 0) {
				json_decref(l.arr);
				scim_error(r, 400, "invalidFilter",
					   "only 'displayName eq \"...\"' is supported");
				return;
			}
			if (dir_group_get_by_name(r->dir, r->tenant.id, name, &g, &err) == 0)
				scim_group_row(&l, &g);
		} else if (dir_group_list(r->dir, r->tenant.id, NULL, 0, scim_group_row, &l,
					  &err) != 0) {
			json_decref(l.arr);
			scim_store_error(r, &err);
			return;
		}
		scim_reply(r, 200,
			   json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCIM_LIST,
				     "totalResults", (json_int_t)l.seen, "startIndex",
				     (json_int_t)l.start, "itemsPerPage",
				     (json_int_t)json_array_size(l.arr), "Resources", l.arr));
		return;
	}
	if (coll && strcmp(m, "POST") == 0) {
		const char *name;
		if ((body = api_body(r)) == NULL)
			return;
		name = json_string_value(json_object_get(body, "displayName"));
		memset(&g, 0, sizeof(g));
		if (name == NULL || strlen(name) >= sizeof(g.name)) {
			json_decref(body);
			scim_error(r, 400, "invalidValue", "displayName is required");
			return;
		}
		snprintf(g.name, sizeof(g.name), "%s", name);
		g.source = DIR_SOURCE_CLOUD;
		if (dir_begin(r->dir, &err) != 0 || dir_group_create(r->dir, r->tenant.id, &g, &err) != 0) {
			dir_rollback(r->dir);
			json_decref(body);
			scim_store_error(r, &err);
			return;
		}
		if (json_object_get(body, "members") != NULL &&
		    scim_group_members(r, &g, json_object_get(body, "members"), 1) != 0) {
			dir_rollback(r->dir);
			json_decref(body);
			return;
		}
		json_decref(body);
		if (dir_commit(r->dir, &err) != 0) {
			scim_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "group.create", "group", g.id, "created through SCIM");
		scim_reply(r, 201, scim_group(r, &g));
		return;
	}
	if (coll) {
		scim_error(r, 405, NULL, "GET or POST");
		return;
	}
	if (dir_group_get(r->dir, r->tenant.id, id, &g, &err) != 0 || g.deleted_at != 0) {
		scim_error(r, 404, NULL, "no such group");
		return;
	}
	if (get) {
		scim_reply(r, 200, scim_group(r, &g));
		return;
	}
	if (g.source == DIR_SOURCE_LDAP) {
		scim_error(r, 409, "mutability", "a group synced from LDAP changes at the source");
		return;
	}
	if (strcmp(m, "DELETE") == 0) {
		if (dir_group_purge(r->dir, r->tenant.id, g.id, &err) != 0) {
			scim_store_error(r, &err);
			return;
		}
		admin_audit(r, &who, "group.delete", "group", g.id, "deleted through SCIM");
		r->resp->status = 204;
		return;
	}
	if (strcmp(m, "PATCH") != 0) {
		scim_error(r, 405, NULL, "GET, PATCH or DELETE");
		return;
	}
	if ((body = api_body(r)) == NULL)
		return;
	json_t *ops = json_object_get(body, "Operations"), *op;
	size_t i;
	if (!json_is_array(ops) || dir_begin(r->dir, &err) != 0) {
		json_decref(body);
		scim_error(r, 400, "invalidSyntax", "a PatchOp needs Operations");
		return;
	}
	json_array_foreach(ops, i, op) {
		const char *kind = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		json_t *value = json_object_get(op, "value");
		int ok = -1;
		char mid[DIR_ID_MAX];
		if (kind != NULL && path != NULL && strcmp(path, "members") == 0 &&
		    (strcasecmp(kind, "add") == 0 || strcasecmp(kind, "remove") == 0))
			ok = scim_group_members(r, &g, value, kind[0] == 'a' || kind[0] == 'A');
		else if (kind != NULL && path != NULL && strcasecmp(kind, "remove") == 0 &&
			 scim_member_filter(path, mid, sizeof(mid)) == 0)
		{
			json_t *one = json_pack("[{s:s}]", "value", mid);
			ok = scim_group_members(r, &g, one, 0);
			json_decref(one);
		}
		else if (kind != NULL && strcasecmp(kind, "replace") == 0 &&
			 (path == NULL ? json_is_string(json_object_get(value, "displayName"))
				       : strcmp(path, "displayName") == 0 && json_is_string(value))) {
			const char *name = path == NULL
						   ? json_string_value(json_object_get(value, "displayName"))
						   : json_string_value(value);
			snprintf(g.name, sizeof(g.name), "%s", name);
			ok = dir_group_update(r->dir, r->tenant.id, &g, &err) == 0 ? 0 : -1;
			if (ok != 0)
				scim_store_error(r, &err);
		} else {
			scim_error(r, 400, "invalidPath", "unsupported group patch operation");
		}
		if (ok != 0) {
			dir_rollback(r->dir);
			json_decref(body);
			return;
		}
	}
	json_decref(body);
	if (dir_commit(r->dir, &err) != 0) {
		scim_store_error(r, &err);
		return;
	}
	admin_audit(r, &who, "group.update", "group", g.id, "changed through SCIM");
	scim_reply(r, 200, scim_group(r, &g));
}

void scim_dispatch(struct idp_req *r)
{
	char id[DIR_ID_MAX] = "";
	int k;

	if ((k = scim_path(r->sub, "/scim/v2/Users", id, sizeof(id))) >= 0)
		scim_users(r, k == 1, id);
	else if ((k = scim_path(r->sub, "/scim/v2/Groups", id, sizeof(id))) >= 0)
		scim_groups(r, k == 1, id);
	else
		scim_error(r, 404, NULL, "no such endpoint");
}
