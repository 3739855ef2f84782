/*
 * idpctl_role: the "role", "assignment" and "deny" commands.
 *
 * Every change goes through rbac_store, which checks it (patterns, scopes,
 * assignable scopes, principals that exist, built-ins read-only) and writes
 * it with its audit record in one transaction.  Principals are named the
 * way people know them: --user UPN, --group NAME, --app CLIENT_ID (or any
 * of them by object id); roles by name, id or a built-in's well-known id.
 * List options (--action and friends) may repeat; in "update", a list
 * option replaces that whole list, and an empty value ('') empties it.
 */
#include "idpctl.h"

#include "rbac_store.h"

#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct role_who {
	char actor[DIR_UPN_MAX];
	struct rbac_actor a;
};

/* The audit actor, as ctl_audit() names it. */
static const struct rbac_actor *role_actor(struct role_who *w)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw = who == NULL ? getpwuid(geteuid()) : NULL;

	if (who == NULL)
		who = pw != NULL ? pw->pw_name : "?";
	snprintf(w->actor, sizeof(w->actor), "idpctl:%s", who);
	w->a.actor = w->actor;
	w->a.ip = "";
	return &w->a;
}

static void role_dump(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

/* A stored JSON list as a JSON value (an empty array if unreadable). */
static json_t *role_list_json(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	return v != NULL ? v : json_array();
}

/* Every value of a repeated option as a JSON array into out; *given if it appeared. */
static int role_opt_list(struct ctl *c, struct ctl_args *a, const char *name, char *out,
			 size_t cap, int *given)
{
	json_t *arr = json_array();
	const char *v;
	char *s;
	int rc = CTL_OK;

	*given = 0;
	while ((v = ctl_opt(a, name)) != NULL) {
		*given = 1;
		if (*v != '\0')
			json_array_append_new(arr, json_string(v));
	}
	s = json_dumps(arr, JSON_COMPACT);
	if (s == NULL || strlen(s) >= cap)
		rc = ctl_usage_error(c, "%s: too many or too long values", name);
	else if (*given)
		memcpy(out, s, strlen(s) + 1);
	free(s);
	json_decref(arr);
	return rc;
}

/* Find a principal by name (UPN, group name, client id) or object id; 1 if found. */
static int role_principal_find(struct ctl *c, const char *tenant_id,
			       enum dir_principal_type type, const char *name, char id[DIR_ID_MAX],
			       char *label, size_t cap)
{
	struct err err = {0};
	int found = 0;

	if (type == DIR_PRINCIPAL_USER) {
		struct dir_user u;
		found = dir_user_get_by_upn(c->dir, tenant_id, name, &u, &err) == 0 ||
			dir_user_get(c->dir, tenant_id, name, &u, &err) == 0;
		if (found) {
			snprintf(id, DIR_ID_MAX, "%s", u.id);
			snprintf(label, cap, "%s", u.upn);
		}
	} else if (type == DIR_PRINCIPAL_GROUP) {
		struct dir_group g;
		found = dir_group_get_by_name(c->dir, tenant_id, name, &g, &err) == 0 ||
			dir_group_get(c->dir, tenant_id, name, &g, &err) == 0;
		if (found) {
			snprintf(id, DIR_ID_MAX, "%s", g.id);
			snprintf(label, cap, "%s", g.name);
		}
	} else {
		struct dir_app *p = malloc(sizeof(*p));
		found = p != NULL && (dir_app_get_by_client_id(c->dir, tenant_id, name, p, &err) == 0 ||
				      dir_app_get(c->dir, tenant_id, name, p, &err) == 0);
		if (found) {
			snprintf(id, DIR_ID_MAX, "%s", p->id);
			snprintf(label, cap, "%s", p->name);
		}
		free(p);
	}
	return found;
}

/* Resolve a principal given as --user/--group/--app (or their --exclude- forms). */
static int role_principal(struct ctl *c, const char *tenant_id, enum dir_principal_type type,
			  const char *name, char id[DIR_ID_MAX], char *label, size_t cap)
{
	struct err err = {0};

	if (role_principal_find(c, tenant_id, type, name, id, label, cap))
		return CTL_OK;
	err.code = ERR_NOT_FOUND;
	snprintf(err.msg, sizeof(err.msg), "no %s '%.200s' in this tenant",
		 dir_principal_type_name(type), name);
	return ctl_fail(c, &err);
}

/* A readable name for a principal id. */
static void role_principal_name(struct ctl *c, const char *tenant_id,
				enum dir_principal_type type, const char *id, char *out, size_t cap)
{
	char ignored[DIR_ID_MAX];

	if (!role_principal_find(c, tenant_id, type, id, ignored, out, cap))
		snprintf(out, cap, "%s", "(gone)");
}

/* ---- role ------------------------------------------------------------- */

static json_t *role_json(const struct dir_role *r)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "id", r->id,
			 "name", r->name, "description", r->description, "builtin", r->builtin,
			 "actions", role_list_json(r->actions), "not_actions",
			 role_list_json(r->not_actions), "data_actions",
			 role_list_json(r->data_actions), "not_data_actions",
			 role_list_json(r->not_data_actions), "assignable_scopes",
			 role_list_json(r->assignable_scopes), "created_at",
			 (json_int_t)r->created_at, "updated_at", (json_int_t)r->updated_at);
}

struct role_ctx {
	json_t *arr;
	int n;
	struct ctl *c;
	const char *tenant_id;
	struct dir_role *role; /* scratch */
};

static int role_row(void *ctx, const struct dir_role *r)
{
	struct role_ctx *l = ctx;

	if (l->arr != NULL) {
		json_array_append_new(l->arr, role_json(r));
	} else {
		if (l->n == 0)
			printf("%-36s  %-28s  %-7s  %s\n", "ID", "NAME", "KIND", "ACTIONS");
		printf("%-36s  %-28s  %-7s  %s\n", r->id, r->name, r->builtin ? "builtin" : "custom",
		       r->actions);
	}
	l->n++;
	return 0;
}

static void role_print(const struct dir_role *r)
{
	printf("id:                %s\nname:              %s\ndescription:       %s\n"
	       "builtin:           %s\nactions:           %s\nnotActions:        %s\n"
	       "dataActions:       %s\nnotDataActions:    %s\nassignableScopes:  %s\n",
	       r->id, r->name, r->description, r->builtin ? "yes" : "no", r->actions,
	       r->not_actions, r->data_actions, r->not_data_actions, r->assignable_scopes);
}

/* Read the list options of a role into r; "given" flags for update. */
static int role_opts(struct ctl *c, struct ctl_args *a, struct dir_role *r, int *any)
{
	int g[5] = {0}, rc;

	if ((rc = role_opt_list(c, a, "--action", r->actions, sizeof(r->actions), &g[0])) ||
	    (rc = role_opt_list(c, a, "--not-action", r->not_actions, sizeof(r->not_actions),
				&g[1])) ||
	    (rc = role_opt_list(c, a, "--data-action", r->data_actions, sizeof(r->data_actions),
				&g[2])) ||
	    (rc = role_opt_list(c, a, "--not-data-action", r->not_data_actions,
				sizeof(r->not_data_actions), &g[3])) ||
	    (rc = role_opt_list(c, a, "--assignable-scope", r->assignable_scopes,
				sizeof(r->assignable_scopes), &g[4])))
		return rc;
	*any = g[0] || g[1] || g[2] || g[3] || g[4];
	return CTL_OK;
}

static int role_text_opt(struct ctl *c, const char *v, char *out, size_t cap, const char *what)
{
	if (v == NULL)
		return CTL_OK;
	if (strlen(v) >= cap)
		return ctl_usage_error(c, "%s is longer than %zu bytes", what, cap - 1);
	snprintf(out, cap, "%s", v);
	return CTL_OK;
}

int ctl_cmd_role(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_role *r = calloc(1, sizeof(*r));
	struct role_who w;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc, any = 0;

	if (r == NULL)
		return CTL_FAIL;
	if (argc < 2) {
		free(r);
		return ctl_usage_error(c, "role: which command, and which tenant?");
	}
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0) {
		free(r);
		return CTL_FAIL;
	}
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	/* Built-in roles exist in every tenant, also in stores made before them. */
	if (rbac_store_seed_builtins(c->dir, t.id, &err) != 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		struct role_ctx l = {c->json ? json_array() : NULL, 0, c, t.id, NULL};
		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (dir_role_list(c->dir, t.id, role_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (l.arr != NULL)
			role_dump(l.arr);
	} else if (strcmp(verb, "create") == 0) {
		if ((rc = role_text_opt(c, ctl_opt(&a, "--description"), r->description,
					sizeof(r->description), "description")) != CTL_OK ||
		    (rc = role_opts(c, &a, r, &any)) != CTL_OK ||
		    (rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
		    (rc = role_text_opt(c, ctl_pos(&a, 0), r->name, sizeof(r->name), "role name")))
			goto out;
		if (rbac_store_role_create(c->dir, t.id, role_actor(&w), r, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (c->json)
			role_dump(role_json(r));
		else
			printf("created role %s (%s)\n", r->name, r->id);
	} else if (strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0 ||
		   strcmp(verb, "update") == 0) {
		const char *name = NULL, *desc = NULL;
		struct dir_role *edit = NULL;
		if (strcmp(verb, "update") == 0) {
			name = ctl_opt(&a, "--name");
			desc = ctl_opt(&a, "--description");
			if ((edit = calloc(1, sizeof(*edit))) == NULL) {
				rc = CTL_FAIL;
				goto out;
			}
			rc = role_opts(c, &a, edit, &any);
		}
		if (rc == CTL_OK)
			rc = ctl_args_done(c, &a, 1);
		if (rc == CTL_OK && rbac_store_role_find(c->dir, t.id, ctl_pos(&a, 0), r, &err) != 0)
			rc = ctl_fail(c, &err);
		if (rc != CTL_OK) {
			free(edit);
			goto out;
		}
		if (strcmp(verb, "show") == 0) {
			if (c->json)
				role_dump(role_json(r));
			else
				role_print(r);
		} else if (strcmp(verb, "delete") == 0) {
			if (rbac_store_role_delete(c->dir, t.id, role_actor(&w), r->id, &err) != 0)
				rc = ctl_fail(c, &err);
			else
				printf("deleted role %s (%s)\n", r->name, r->id);
		} else {
			/* Start from the stored role; what was given replaces its part. */
			if (edit->actions[0] != '\0')
				memcpy(r->actions, edit->actions, sizeof(r->actions));
			if (edit->not_actions[0] != '\0')
				memcpy(r->not_actions, edit->not_actions, sizeof(r->not_actions));
			if (edit->data_actions[0] != '\0')
				memcpy(r->data_actions, edit->data_actions, sizeof(r->data_actions));
			if (edit->not_data_actions[0] != '\0')
				memcpy(r->not_data_actions, edit->not_data_actions,
				       sizeof(r->not_data_actions));
			if (edit->assignable_scopes[0] != '\0')
				memcpy(r->assignable_scopes, edit->assignable_scopes,
				       sizeof(r->assignable_scopes));
			if ((rc = role_text_opt(c, name, r->name, sizeof(r->name), "role name")) ==
				    CTL_OK &&
			    (rc = role_text_opt(c, desc, r->description, sizeof(r->description),
						"description")) == CTL_OK) {
				if (!any && name == NULL && desc == NULL)
					rc = ctl_usage_error(c, "role update: nothing to change");
				else if (rbac_store_role_update(c->dir, t.id, role_actor(&w), r,
								&err) != 0)
					rc = ctl_fail(c, &err);
				else
					printf("updated role %s (%s)\n", r->name, r->id);
			}
		}
		free(edit);
	} else {
		rc = ctl_usage_error(c, "unknown role command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	free(r);
	return rc;
}

/* ---- assignment ------------------------------------------------------- */

/* The one principal option given: --user, --group or --app.  *type = -1 if none. */
static int role_one_principal(struct ctl *c, struct ctl_args *a, const char *tenant_id,
			      const char *prefix, int *type, char id[DIR_ID_MAX], char *label,
			      size_t cap)
{
	static const char *const kinds[] = {"user", "group", "app"};
	const char *v[3];
	char opt[32];
	int n = 0;

	*type = -1;
	for (int k = 0; k < 3; k++) {
		snprintf(opt, sizeof(opt), "--%s%s", prefix, kinds[k]);
		if ((v[k] = ctl_opt(a, opt)) != NULL) {
			n++;
			*type = k;
		}
	}
	if (n > 1)
		return ctl_usage_error(c, "give one of --%suser, --%sgroup or --%sapp", prefix,
				       prefix, prefix);
	if (n == 0)
		return CTL_OK;
	return role_principal(c, tenant_id, (enum dir_principal_type)*type, v[*type], id, label,
			      cap);
}

struct asg_ctx {
	json_t *arr;
	int n;
	struct ctl *c;
	const char *tenant_id;
	struct dir_role *role;
};

static int asg_row(void *ctx, const struct dir_role_assignment *x)
{
	struct asg_ctx *l = ctx;
	char who[DIR_UPN_MAX];
	struct err err = {0};
	const char *role = x->role_id;

	if (dir_role_get(l->c->dir, l->tenant_id, x->role_id, l->role, &err) == 0)
		role = l->role->name;
	role_principal_name(l->c, l->tenant_id, x->principal_type, x->principal_id, who,
			    sizeof(who));
	if (l->arr != NULL) {
		json_array_append_new(
			l->arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "id",
					  x->id, "role_id", x->role_id, "role_name", role,
					  "principal_type",
					  dir_principal_type_name(x->principal_type), "principal_id",
					  x->principal_id, "principal_name", who, "scope", x->scope,
					  "active", x->principal_live, "created_at",
					  (json_int_t)x->created_at));
	} else {
		if (l->n == 0)
			printf("%-36s  %-24s  %-5s  %-28s  %s\n", "ID", "ROLE", "KIND", "PRINCIPAL",
			       "SCOPE");
		printf("%-36s  %-24s  %-5s  %-28s  %s%s\n", x->id, role,
		       dir_principal_type_name(x->principal_type), who, x->scope,
		       x->principal_live ? "" : "  (inactive: principal deleted)");
	}
	l->n++;
	return 0;
}

int ctl_cmd_assignment(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_role *r = calloc(1, sizeof(*r));
	struct dir_role_assignment x = {0};
	struct role_who w;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "", *role, *scope;
	char label[DIR_UPN_MAX];
	int rc, type;

	if (r == NULL)
		return CTL_FAIL;
	if (argc < 2) {
		free(r);
		return ctl_usage_error(c, "assignment: which command, and which tenant?");
	}
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0) {
		free(r);
		return CTL_FAIL;
	}
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "create") == 0 || strcmp(verb, "list") == 0) {
		int create = strcmp(verb, "create") == 0;
		role = ctl_opt(&a, "--role");
		scope = ctl_opt(&a, "--scope");
		if ((rc = role_one_principal(c, &a, t.id, "", &type, x.principal_id, label,
					     sizeof(label))) != CTL_OK ||
		    (rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (create && (role == NULL || scope == NULL || type < 0)) {
			rc = ctl_usage_error(c, "assignment create needs --role, --scope and one of "
						"--user, --group or --app");
			goto out;
		}
		if (rbac_store_seed_builtins(c->dir, t.id, &err) != 0 ||
		    (role != NULL && rbac_store_role_find(c->dir, t.id, role, r, &err) != 0)) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (create) {
			if (strlen(scope) >= sizeof(x.scope)) {
				rc = ctl_usage_error(c, "--scope is too long");
				goto out;
			}
			snprintf(x.role_id, sizeof(x.role_id), "%s", r->id);
			snprintf(x.scope, sizeof(x.scope), "%s", scope);
			x.principal_type = (enum dir_principal_type)type;
			if (rbac_store_assignment_create(c->dir, t.id, role_actor(&w), &x, &err)) {
				rc = ctl_fail(c, &err);
				goto out;
			}
			if (c->json)
				role_dump(json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", x.id,
						    "role_id", x.role_id, "principal_type",
						    dir_principal_type_name(x.principal_type),
						    "principal_id", x.principal_id, "scope", x.scope));
			else
				printf("assigned role %s to %s %s at %s (%s)\n", r->name,
				       dir_principal_type_name(x.principal_type), label, x.scope,
				       x.id);
		} else {
			struct dir_role_assignment_filter f = {role != NULL ? r->id : NULL,
							       type >= 0 ? x.principal_id : NULL,
							       scope};
			struct asg_ctx l = {c->json ? json_array() : NULL, 0, c, t.id, NULL};
			if ((l.role = calloc(1, sizeof(*l.role))) == NULL) {
				json_decref(l.arr);
				rc = CTL_FAIL;
				goto out;
			}
			if (dir_role_assignment_list(c->dir, t.id, &f, asg_row, &l, &err) != 0) {
				rc = ctl_fail(c, &err);
				json_decref(l.arr);
			} else if (l.arr != NULL) {
				role_dump(l.arr); /* releases it */
			} else if (l.n == 0) {
				printf("no role assignments\n");
			}
			free(l.role);
		}
	} else if (strcmp(verb, "delete") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (rbac_store_assignment_delete(c->dir, t.id, role_actor(&w), ctl_pos(&a, 0), &err))
			rc = ctl_fail(c, &err);
		else
			printf("deleted role assignment %s\n", ctl_pos(&a, 0));
	} else {
		rc = ctl_usage_error(c, "unknown assignment command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	free(r);
	return rc;
}

/* ---- deny ------------------------------------------------------------- */

/* Every --user/--group/--app (with prefix) and --everyone as a JSON principal list. */
static int deny_principals(struct ctl *c, struct ctl_args *a, const char *tenant_id,
			   const char *prefix, int everyone_ok, char *out, size_t cap, int *given)
{
	static const char *const kinds[] = {"user", "group", "app"};
	json_t *arr = json_array();
	char opt[40], id[DIR_ID_MAX], label[DIR_UPN_MAX], *s;
	const char *v;
	int rc = CTL_OK;

	*given = 0;
	if (everyone_ok && ctl_flag(a, "--everyone")) {
		*given = 1;
		json_array_append_new(arr, json_pack("{s:s}", "type", "everyone"));
	}
	if (!everyone_ok) {
		snprintf(opt, sizeof(opt), "--no-%s", "exclusions");
		if (ctl_flag(a, opt))
			*given = 1;
	}
	for (int k = 0; rc == CTL_OK && k < 3; k++) {
		snprintf(opt, sizeof(opt), "--%s%s", prefix, kinds[k]);
		while (rc == CTL_OK && (v = ctl_opt(a, opt)) != NULL) {
			*given = 1;
			rc = role_principal(c, tenant_id, (enum dir_principal_type)k, v, id, label,
					    sizeof(label));
			if (rc == CTL_OK)
				json_array_append_new(arr, json_pack("{s:s, s:s}", "type", kinds[k],
								     "id", id));
		}
	}
	if (rc == CTL_OK) {
		s = json_dumps(arr, JSON_COMPACT);
		if (s == NULL || strlen(s) >= cap)
			rc = ctl_usage_error(c, "too many principals");
		else if (*given)
			memcpy(out, s, strlen(s) + 1);
		free(s);
	}
	json_decref(arr);
	return rc;
}

static json_t *deny_json(const struct dir_deny_assignment *x)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "id", x->id,
			 "name", x->name, "description", x->description, "scope", x->scope,
			 "principals", role_list_json(x->principals), "excluded_principals",
			 role_list_json(x->excluded_principals), "actions",
			 role_list_json(x->actions), "not_actions", role_list_json(x->not_actions),
			 "data_actions", role_list_json(x->data_actions), "not_data_actions",
			 role_list_json(x->not_data_actions), "created_at",
			 (json_int_t)x->created_at);
}

static int deny_row(void *ctx, const struct dir_deny_assignment *x)
{
	struct role_ctx *l = ctx;

	if (l->arr != NULL) {
		json_array_append_new(l->arr, deny_json(x));
	} else {
		if (l->n == 0)
			printf("%-36s  %-24s  %-24s  %s\n", "ID", "NAME", "SCOPE", "ACTIONS");
		printf("%-36s  %-24s  %-24s  %s %s\n", x->id, x->name, x->scope, x->actions,
		       x->data_actions);
	}
	l->n++;
	return 0;
}

/* Read the options of a deny assignment into x; *any if one was given. */
static int deny_opts(struct ctl *c, struct ctl_args *a, const char *tenant_id,
		     struct dir_deny_assignment *x, int *any)
{
	int g[6] = {0}, rc;

	if ((rc = deny_principals(c, a, tenant_id, "", 1, x->principals, sizeof(x->principals),
				  &g[0])) ||
	    (rc = deny_principals(c, a, tenant_id, "exclude-", 0, x->excluded_principals,
				  sizeof(x->excluded_principals), &g[1])) ||
	    (rc = role_opt_list(c, a, "--action", x->actions, sizeof(x->actions), &g[2])) ||
	    (rc = role_opt_list(c, a, "--not-action", x->not_actions, sizeof(x->not_actions),
				&g[3])) ||
	    (rc = role_opt_list(c, a, "--data-action", x->data_actions, sizeof(x->data_actions),
				&g[4])) ||
	    (rc = role_opt_list(c, a, "--not-data-action", x->not_data_actions,
				sizeof(x->not_data_actions), &g[5])))
		return rc;
	*any = g[0] || g[1] || g[2] || g[3] || g[4] || g[5];
	return CTL_OK;
}

int ctl_cmd_deny(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_deny_assignment *x = calloc(1, sizeof(*x)), *edit = calloc(1, sizeof(*edit));
	struct role_who w;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc, any = 0;

	if (x == NULL || edit == NULL) {
		free(x);
		free(edit);
		return CTL_FAIL;
	}
	if (argc < 2) {
		free(x);
		free(edit);
		return ctl_usage_error(c, "deny: which command, and which tenant?");
	}
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0) {
		free(x);
		free(edit);
		return CTL_FAIL;
	}
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "list") == 0) {
		struct role_ctx l = {c->json ? json_array() : NULL, 0, c, t.id, NULL};
		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (dir_deny_list(c->dir, t.id, deny_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
		} else if (l.arr != NULL) {
			role_dump(l.arr);
		} else if (l.n == 0) {
			printf("no deny assignments\n");
		}
	} else if (strcmp(verb, "create") == 0) {
		if ((rc = role_text_opt(c, ctl_opt(&a, "--description"), x->description,
					sizeof(x->description), "description")) != CTL_OK ||
		    (rc = role_text_opt(c, ctl_opt(&a, "--scope"), x->scope, sizeof(x->scope),
					"scope")) != CTL_OK ||
		    (rc = deny_opts(c, &a, t.id, x, &any)) != CTL_OK ||
		    (rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
		    (rc = role_text_opt(c, ctl_pos(&a, 0), x->name, sizeof(x->name), "name")))
			goto out;
		if (x->scope[0] == '\0') {
			rc = ctl_usage_error(c, "deny create needs --scope");
			goto out;
		}
		if (rbac_store_deny_create(c->dir, t.id, role_actor(&w), x, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (c->json)
			role_dump(deny_json(x));
		else
			printf("created deny assignment %s (%s)\n", x->name, x->id);
	} else if (strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0 ||
		   strcmp(verb, "update") == 0) {
		const char *name = NULL, *desc = NULL, *scope = NULL;
		int update = strcmp(verb, "update") == 0;
		if (update) {
			name = ctl_opt(&a, "--name");
			desc = ctl_opt(&a, "--description");
			scope = ctl_opt(&a, "--scope");
			rc = deny_opts(c, &a, t.id, edit, &any);
		}
		if (rc == CTL_OK)
			rc = ctl_args_done(c, &a, 1);
		if (rc == CTL_OK && dir_deny_get(c->dir, t.id, ctl_pos(&a, 0), x, &err) != 0)
			rc = ctl_fail(c, &err);
		if (rc != CTL_OK)
			goto out;
		if (strcmp(verb, "show") == 0) {
			role_dump(deny_json(x));
		} else if (!update) {
			if (rbac_store_deny_delete(c->dir, t.id, role_actor(&w), x->id, &err) != 0)
				rc = ctl_fail(c, &err);
			else
				printf("deleted deny assignment %s (%s)\n", x->name, x->id);
		} else {
			if (edit->principals[0] != '\0')
				memcpy(x->principals, edit->principals, sizeof(x->principals));
			if (edit->excluded_principals[0] != '\0')
				memcpy(x->excluded_principals, edit->excluded_principals,
				       sizeof(x->excluded_principals));
			if (edit->actions[0] != '\0')
				memcpy(x->actions, edit->actions, sizeof(x->actions));
			if (edit->not_actions[0] != '\0')
				memcpy(x->not_actions, edit->not_actions, sizeof(x->not_actions));
			if (edit->data_actions[0] != '\0')
				memcpy(x->data_actions, edit->data_actions, sizeof(x->data_actions));
			if (edit->not_data_actions[0] != '\0')
				memcpy(x->not_data_actions, edit->not_data_actions,
				       sizeof(x->not_data_actions));
			if ((rc = role_text_opt(c, name, x->name, sizeof(x->name), "name")) ||
			    (rc = role_text_opt(c, desc, x->description, sizeof(x->description),
						"description")) ||
			    (rc = role_text_opt(c, scope, x->scope, sizeof(x->scope), "scope")))
				goto out;
			if (!any && name == NULL && desc == NULL && scope == NULL)
				rc = ctl_usage_error(c, "deny update: nothing to change");
			else if (rbac_store_deny_update(c->dir, t.id, role_actor(&w), x, &err) != 0)
				rc = ctl_fail(c, &err);
			else
				printf("updated deny assignment %s (%s)\n", x->name, x->id);
		}
	} else {
		rc = ctl_usage_error(c, "unknown deny command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	free(x);
	free(edit);
	return rc;
}
