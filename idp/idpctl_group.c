/*
 * idpctl_group: the "group" commands.
 */
#include "idpctl.h"

#include <jansson.h>
#include <string.h>

struct group_ctx {
	json_t *arr;
	int n;
};

static int group_row(void *ctx, const struct dir_group *g)
{
	struct group_ctx *l = ctx;

	if (l->arr != NULL) {
		json_array_append_new(
			l->arr, json_pack("{s:s, s:s, s:s, s:s}", "id", g->id, "name", g->name,
					  "description", g->description, "source",
					  g->source == DIR_SOURCE_LDAP ? "ldap" : "cloud"));
	} else {
		if (l->n == 0)
			printf("%-36s  %-32s  %-6s  %s\n", "ID", "NAME", "SOURCE", "DESCRIPTION");
		printf("%-36s  %-32s  %-6s  %s\n", g->id, g->name,
		       g->source == DIR_SOURCE_LDAP ? "ldap" : "cloud", g->description);
	}
	l->n++;
	return 0;
}

static int member_row(void *ctx, const struct dir_member *m)
{
	struct group_ctx *l = ctx;
	const char *kind = m->kind == DIR_MEMBER_USER ? "user" : "group";

	if (l->arr != NULL)
		json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s}", "kind", kind, "id",
							m->id, "name", m->name));
	else
		printf("  %-5s  %-36s  %s\n", kind, m->id, m->name);
	l->n++;
	return 0;
}

static void group_dump(struct group_ctx *l, const char *empty)
{
	if (l->arr != NULL) {
		json_dumpf(l->arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(l->arr);
	} else if (l->n == 0) {
		printf("%s\n", empty);
	}
}

static int group_find(struct ctl *c, const char *tenant_id, const char *name, struct dir_group *g)
{
	struct err err = {0};

	if (dir_group_get_by_name(c->dir, tenant_id, name, g, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND && dir_group_get(c->dir, tenant_id, name, g, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND)
		snprintf(err.msg, sizeof(err.msg), "no group '%.200s' in this tenant", name);
	return ctl_fail(c, &err);
}

static int group_membership(struct ctl *c, const struct dir_tenant *t, const struct dir_group *g,
			    struct ctl_args *a, int add)
{
	const char *user = ctl_opt(a, "--user"), *group = ctl_opt(a, "--group");
	enum dir_member_kind kind;
	char member_id[DIR_ID_MAX], member_name[DIR_NAME_MAX], summary[600];
	struct err err = {0};
	int rc, r;

	if ((rc = ctl_args_done(c, a, 1)) != CTL_OK)
		return rc;
	if ((user == NULL) == (group == NULL))
		return ctl_usage_error(c, "give one of --user UPN or --group NAME");
	if (user != NULL) {
		struct dir_user u;
		kind = DIR_MEMBER_USER;
		if (dir_user_get_by_upn(c->dir, t->id, user, &u, &err) != 0 &&
		    dir_user_get(c->dir, t->id, user, &u, &err) != 0) {
			snprintf(err.msg, sizeof(err.msg), "no user '%.200s' in this tenant", user);
			return ctl_fail(c, &err);
		}
		snprintf(member_id, sizeof(member_id), "%s", u.id);
		snprintf(member_name, sizeof(member_name), "%s", u.upn);
	} else {
		struct dir_group m;
		kind = DIR_MEMBER_GROUP;
		if ((rc = group_find(c, t->id, group, &m)) != CTL_OK)
			return rc;
		snprintf(member_id, sizeof(member_id), "%s", m.id);
		snprintf(member_name, sizeof(member_name), "%s", m.name);
	}
	r = add ? dir_group_add_member(c->dir, t->id, g->id, kind, member_id, &err)
		: dir_group_remove_member(c->dir, t->id, g->id, kind, member_id, &err);
	if (r != 0)
		return ctl_fail(c, &err);
	snprintf(summary, sizeof(summary), "%s %s %s", add ? "added" : "removed",
		 kind == DIR_MEMBER_USER ? "user" : "group", member_id);
	ctl_audit(c, t->id, add ? "group.add_member" : "group.remove_member", "group", g->id,
		  summary);
	printf("%s %s %s %s\n", add ? "added" : "removed", member_name, add ? "to" : "from",
	       g->name);
	return CTL_OK;
}

int ctl_cmd_group(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_group g = {0};
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc;

	if (argc < 2)
		return ctl_usage_error(c, "group: which command, and which tenant?");
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0)
		return CTL_FAIL;
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "create") == 0) {
		const char *desc = ctl_opt(&a, "--description");
		const char *name = ctl_pos(&a, 0);
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (strlen(name) >= sizeof(g.name) ||
		    (desc != NULL && strlen(desc) >= sizeof(g.description))) {
			rc = ctl_usage_error(c, "group name or description too long");
			goto out;
		}
		snprintf(g.name, sizeof(g.name), "%s", name);
		snprintf(g.description, sizeof(g.description), "%s", desc ? desc : "");
		g.source = DIR_SOURCE_CLOUD;
		if (dir_group_create(c->dir, t.id, &g, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "group.create", "group", g.id, "created cloud group");
		printf("created group %s (%s)\n", g.name, g.id);
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		struct group_ctx l = {c->json ? json_array() : NULL, 0};
		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (dir_group_list(c->dir, t.id, NULL, 0, group_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		group_dump(&l, "no groups");
		goto out;
	}
	if (ctl_pos(&a, 0) == NULL) {
		rc = ctl_usage_error(c, "group %s: which group?", verb);
		goto out;
	}
	if ((rc = group_find(c, t.id, ctl_pos(&a, 0), &g)) != CTL_OK)
		goto out;
	if (strcmp(verb, "show") == 0) {
		struct group_ctx l = {c->json ? json_array() : NULL, 0};
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (!c->json)
			printf("id:           %s\nname:         %s\ndescription:  %s\nsource:       "
			       "%s\nmembers:\n",
			       g.id, g.name, g.description,
			       g.source == DIR_SOURCE_LDAP ? "ldap" : "cloud");
		if (dir_group_members(c->dir, t.id, g.id, member_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		group_dump(&l, "  (none)");
	} else if (strcmp(verb, "delete") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (dir_group_purge(c->dir, t.id, g.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "group.delete", "group", g.id, "deleted");
		printf("deleted group %s\n", g.id);
	} else if (strcmp(verb, "add-member") == 0 || strcmp(verb, "remove-member") == 0) {
		rc = group_membership(c, &t, &g, &a, strcmp(verb, "add-member") == 0);
	} else {
		rc = ctl_usage_error(c, "unknown group command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	return rc;
}
