/*
 * rbac_store: checked and audited writes of role data.  See rbac_store.h.
 *
 * Each write runs in one transaction with its audit record: the checks
 * that read (does the principal exist, what are the role's assignable
 * scopes) see the same state the write lands on.
 */
#include "rbac_store.h"

#include "rbac_json.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rbac_store_builtin_id(const char *tenant_id, enum rbac_builtin which, char out[DIR_ID_MAX])
{
	static const char label[] = "idp-rbac-builtin";
	const struct rbac_builtin_def *b = rbac_builtin(which);
	unsigned char md[EVP_MAX_MD_SIZE], in[512];
	unsigned int mdlen = 0;
	size_t tn = strlen(tenant_id), wn, n = 0;

	if (b == NULL || tn > 200)
		return ERR_INVALID;
	wn = strlen(b->well_known_id);
	memcpy(in, label, sizeof(label)); /* with its NUL, as a separator */
	n = sizeof(label);
	memcpy(in + n, tenant_id, tn + 1);
	n += tn + 1;
	memcpy(in + n, b->well_known_id, wn);
	n += wn;
	if (EVP_Digest(in, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return ERR_INTERNAL;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* RFC 9562 version 8 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant 10 */
	snprintf(out, DIR_ID_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
	return 0;
}

/* ---- audit ------------------------------------------------------------ */

/* A list field as the audit shows it: an empty one is []. */
#define RBAC_LIST(s) ((s)[0] != '\0' ? (s) : "[]")

/* Cut s at cap - 1 bytes without splitting a UTF-8 sequence. */
static void rbac_store_cut(char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n < cap - 1)
		return;
	n = cap - 1;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

static int rbac_store_audit(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			    const char *action, const char *type, const char *target,
			    struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static int rbac_store_audit(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			    const char *action, const char *type, const char *target,
			    struct err *err, const char *fmt, ...)
{
	struct dir_audit a = {0};
	char big[4096];
	va_list ap;

	snprintf(a.actor, sizeof(a.actor), "%s",
		 who != NULL && who->actor != NULL && who->actor[0] ? who->actor : "?");
	rbac_store_cut(a.actor, sizeof(a.actor));
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target_type, sizeof(a.target_type), "%s", type);
	snprintf(a.target_id, sizeof(a.target_id), "%s", target);
	snprintf(a.ip, sizeof(a.ip), "%s", who != NULL && who->ip != NULL ? who->ip : "");
	va_start(ap, fmt);
	vsnprintf(big, sizeof(big), fmt, ap);
	va_end(ap);
	rbac_store_cut(big, sizeof(a.summary));
	memcpy(a.summary, big, strlen(big) + 1);
	if (dir_audit_append(d, tenant_id, &a, err) != 0) {
		err_prefix(err, "audit record");
		return err->code;
	}
	return 0;
}

/* ---- checks ----------------------------------------------------------- */

/* Check every entry of a JSON list with check(); *count gets its length. */
static int rbac_store_check_list(const char *field, const char *text,
				 int (*check)(const char *, struct err *), size_t *count,
				 struct err *err)
{
	json_t *hold;
	const char **v;
	size_t n;
	int rc;

	if ((rc = rbac_json_strings(field, text, &hold, &v, &n, err)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = check(v[i], err)) != 0) {
			err_prefix(err, "%s[%zu]", field, i);
			break;
		}
	}
	free(v);
	json_decref(hold);
	if (count != NULL)
		*count = n;
	return rc;
}

static int rbac_store_check_role(const struct dir_role *r, struct err *err)
{
	size_t na = 0, nd = 0, ns = 1;

	if (rbac_store_check_list("actions", r->actions, rbac_pattern_check, &na, err) ||
	    rbac_store_check_list("notActions", r->not_actions, rbac_pattern_check, NULL, err) ||
	    rbac_store_check_list("dataActions", r->data_actions, rbac_pattern_check, &nd, err) ||
	    rbac_store_check_list("notDataActions", r->not_data_actions, rbac_pattern_check, NULL,
				  err))
		return err->code;
	if (r->assignable_scopes[0] != '\0' &&
	    rbac_store_check_list("assignableScopes", r->assignable_scopes, rbac_scope_check, &ns,
				  err))
		return err->code;
	if (na + nd == 0)
		return err_set(err, ERR_INVALID,
			       "the role grants nothing: give at least one action or data action");
	if (ns == 0)
		return err_set(err, ERR_INVALID, "assignableScopes is empty: give at least one "
						 "scope (\"/\" for the whole tenant)");
	return 0;
}

/* 0 if the principal exists in the tenant and is live, else ERR_NOT_FOUND. */
static int rbac_store_principal(struct dir *d, const char *tenant_id,
				enum rbac_principal_type type, const char *id, struct err *err)
{
	int rc;

	switch (type) {
	case RBAC_PRINCIPAL_USER: {
		struct dir_user u;
		if ((rc = dir_user_get(d, tenant_id, id, &u, err)) == 0 && u.deleted_at != 0)
			rc = ERR_NOT_FOUND;
		break;
	}
	case RBAC_PRINCIPAL_GROUP: {
		struct dir_group g;
		if ((rc = dir_group_get(d, tenant_id, id, &g, err)) == 0 && g.deleted_at != 0)
			rc = ERR_NOT_FOUND;
		break;
	}
	case RBAC_PRINCIPAL_APP: {
		struct dir_app *a = malloc(sizeof(*a));
		if (a == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		rc = dir_app_get(d, tenant_id, id, a, err);
		free(a);
		break;
	}
	case RBAC_PRINCIPAL_EVERYONE:
		return 0;
	default:
		return err_set(err, ERR_INVALID, "unknown principal type");
	}
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no live %s '%.64s' in this tenant",
			       rbac_principal_type_name(type), id);
	return rc;
}

static int rbac_store_check_principals(struct dir *d, const char *tenant_id, const char *field,
				       const char *text, int everyone_ok, size_t *count,
				       struct err *err)
{
	struct rbac_principal_ref *v;
	json_t *hold;
	size_t n;
	int rc;

	if ((rc = rbac_json_principals(field, text, &hold, &v, &n, err)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (v[i].type == RBAC_PRINCIPAL_EVERYONE && !everyone_ok)
			rc = err_set(err, ERR_INVALID, "%s[%zu]: everyone cannot be excluded", field,
				     i);
		else
			rc = rbac_store_principal(d, tenant_id, v[i].type, v[i].id, err);
	}
	free(v);
	json_decref(hold);
	*count = n;
	return rc;
}

/* 1 if scope is within one of the scopes of the JSON list (default ["/"]). */
static int rbac_store_scope_ok(const char *scopes_json, const char *scope, struct err *err)
{
	const char **v;
	json_t *hold;
	size_t n;
	int ok = 0;

	if (scopes_json[0] == '\0')
		return 1;
	if (rbac_json_strings("assignableScopes", scopes_json, &hold, &v, &n, err) != 0)
		return 0;
	for (size_t i = 0; !ok && i < n; i++)
		ok = rbac_scope_within(scope, v[i]);
	free(v);
	json_decref(hold);
	return ok;
}

/* ---- transactions ----------------------------------------------------- */

static int rbac_store_end(struct dir *d, int rc, struct err *err)
{
	if (rc != 0) {
		dir_rollback(d);
		return rc;
	}
	return dir_commit(d, err);
}

/* ---- built-in roles --------------------------------------------------- */

static int rbac_store_json_list(const char *const *v, size_t n, char *out, size_t cap)
{
	json_t *a = json_array();
	char *s;
	int rc = -1;

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	if (a != NULL && (s = json_dumps(a, JSON_COMPACT)) != NULL) {
		if (strlen(s) < cap) {
			memcpy(out, s, strlen(s) + 1);
			rc = 0;
		}
		free(s);
	}
	json_decref(a);
	return rc;
}

static int rbac_store_builtin_row(const char *tenant_id, enum rbac_builtin which,
				  struct dir_role *r)
{
	const struct rbac_builtin_def *b = rbac_builtin(which);

	memset(r, 0, sizeof(*r));
	if (rbac_store_builtin_id(tenant_id, which, r->id) != 0)
		return -1;
	snprintf(r->name, sizeof(r->name), "%s", b->name);
	snprintf(r->description, sizeof(r->description), "%s", b->description);
	r->builtin = 1;
	if (rbac_store_json_list(b->actions, b->n_actions, r->actions, sizeof(r->actions)) ||
	    rbac_store_json_list(b->not_actions, b->n_not_actions, r->not_actions,
				 sizeof(r->not_actions)))
		return -1;
	strcpy(r->data_actions, "[]");
	strcpy(r->not_data_actions, "[]");
	strcpy(r->assignable_scopes, "[\"/\"]");
	return 0;
}

static int rbac_store_same_role(const struct dir_role *a, const struct dir_role *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->description, b->description) == 0 &&
	       strcmp(a->actions, b->actions) == 0 && strcmp(a->not_actions, b->not_actions) == 0 &&
	       strcmp(a->data_actions, b->data_actions) == 0 &&
	       strcmp(a->not_data_actions, b->not_data_actions) == 0 &&
	       strcmp(a->assignable_scopes, b->assignable_scopes) == 0 && b->builtin;
}

int rbac_store_seed_builtins(struct dir *d, const char *tenant_id, struct err *err)
{
	struct dir_role *want = malloc(sizeof(*want)), *have = malloc(sizeof(*have));
	int rc = 0;

	if (want == NULL || have == NULL) {
		rc = err_set(err, ERR_INTERNAL, "out of memory");
		goto out;
	}
	/* Most calls find everything in place and write nothing. */
	for (int i = 0; i < RBAC_BUILTIN_COUNT && rc == 0; i++) {
		if (rbac_store_builtin_row(tenant_id, (enum rbac_builtin)i, want) != 0) {
			rc = err_set(err, ERR_INTERNAL, "cannot describe built-in role %d", i);
			break;
		}
		rc = dir_role_get(d, tenant_id, want->id, have, err);
		if (rc == 0 && rbac_store_same_role(want, have))
			continue;
		if (rc != 0 && rc != ERR_NOT_FOUND)
			break;
		if ((rc = dir_begin(d, err)) != 0)
			break;
		rc = dir_role_seed(d, tenant_id, want, err);
		if (rc == 0)
			rc = rbac_store_audit(d, tenant_id, &(struct rbac_actor){"idp", NULL},
					      "role.seed", "role_definition", want->id, err,
					      "built-in role '%s': actions %s notActions %s",
					      want->name, want->actions, want->not_actions);
		rc = rbac_store_end(d, rc, err);
	}
out:
	free(want);
	free(have);
	return rc;
}

int rbac_store_role_find(struct dir *d, const char *tenant_id, const char *key,
			 struct dir_role *out, struct err *err)
{
	char id[DIR_ID_MAX];
	int rc;

	if (key == NULL || *key == '\0')
		return err_set(err, ERR_INVALID, "which role?");
	if ((rc = dir_role_get_by_name(d, tenant_id, key, out, err)) != ERR_NOT_FOUND)
		return rc;
	if ((rc = dir_role_get(d, tenant_id, key, out, err)) != ERR_NOT_FOUND)
		return rc;
	for (int i = 0; i < RBAC_BUILTIN_COUNT; i++) {
		if (strcmp(key, rbac_builtin((enum rbac_builtin)i)->well_known_id) == 0 &&
		    rbac_store_builtin_id(tenant_id, (enum rbac_builtin)i, id) == 0)
			return dir_role_get(d, tenant_id, id, out, err);
	}
	return err_set(err, ERR_NOT_FOUND, "no role '%.64s' in this tenant", key);
}

/* ---- role definitions ------------------------------------------------- */

int rbac_store_role_create(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   struct dir_role *r, struct err *err)
{
	int rc;

	r->builtin = 0;
	r->id[0] = '\0';
	if ((rc = rbac_store_check_role(r, err)) != 0)
		return rc;
	if ((rc = rbac_store_seed_builtins(d, tenant_id, err)) != 0 ||
	    (rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_role_create(d, tenant_id, r, err);
	if (rc == 0)
		rc = rbac_store_audit(d, tenant_id, who, "role.create", "role_definition", r->id,
				      err,
				      "role '%s': actions %s notActions %s dataActions %s "
				      "notDataActions %s assignableScopes %s",
				      r->name, r->actions, r->not_actions, r->data_actions,
				      r->not_data_actions, r->assignable_scopes);
	return rbac_store_end(d, rc, err);
}

struct rbac_store_outside {
	const char *scopes;
	size_t n;
	char first[DIR_SCOPE_MAX];
	struct err *err;
};

static int rbac_store_outside_cb(void *ctx, const struct dir_role_assignment *a)
{
	struct rbac_store_outside *o = ctx;

	if (!rbac_store_scope_ok(o->scopes, a->scope, o->err)) {
		if (o->n++ == 0)
			snprintf(o->first, sizeof(o->first), "%s", a->scope);
	}
	return 0;
}

int rbac_store_role_update(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const struct dir_role *r, struct err *err)
{
	struct dir_role_assignment_filter f = {r->id, NULL, NULL};
	struct rbac_store_outside o = {r->assignable_scopes, 0, "", err};
	int rc;

	if ((rc = rbac_store_check_role(r, err)) != 0 || (rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_role_assignment_list(d, tenant_id, &f, rbac_store_outside_cb, &o, err);
	if (rc == 0 && o.n > 0)
		rc = err_set(err, ERR_EXISTS,
			     "%zu assignment(s) of the role would fall outside the new assignable "
			     "scopes (e.g. at '%.200s'): delete them first",
			     o.n, o.first);
	if (rc == 0)
		rc = dir_role_update(d, tenant_id, r, err);
	if (rc == 0)
		rc = rbac_store_audit(d, tenant_id, who, "role.update", "role_definition", r->id,
				      err,
				      "role '%s': actions %s notActions %s dataActions %s "
				      "notDataActions %s assignableScopes %s",
				      r->name, RBAC_LIST(r->actions), RBAC_LIST(r->not_actions),
				      RBAC_LIST(r->data_actions), RBAC_LIST(r->not_data_actions),
				      r->assignable_scopes[0] ? r->assignable_scopes : "[\"/\"]");
	return rbac_store_end(d, rc, err);
}

int rbac_store_role_delete(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const char *role_id, struct err *err)
{
	struct dir_role *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((rc = dir_begin(d, err)) != 0)
		goto out;
	if ((rc = dir_role_get(d, tenant_id, role_id, r, err)) == 0 &&
	    (rc = dir_role_delete(d, tenant_id, role_id, err)) == 0)
		rc = rbac_store_audit(d, tenant_id, who, "role.delete", "role_definition", role_id,
				      err, "deleted role '%s'", r->name);
	rc = rbac_store_end(d, rc, err);
out:
	free(r);
	return rc;
}

/* ---- role assignments ------------------------------------------------- */

int rbac_store_assignment_create(struct dir *d, const char *tenant_id,
				 const struct rbac_actor *who, struct dir_role_assignment *a,
				 struct err *err)
{
	struct dir_role *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((unsigned)a->principal_type > DIR_PRINCIPAL_APP) {
		rc = err_set(err, ERR_INVALID, "principal type must be user, group or app");
		goto out;
	}
	if ((rc = rbac_scope_check(a->scope, err)) != 0 ||
	    (rc = rbac_store_seed_builtins(d, tenant_id, err)) != 0 ||
	    (rc = dir_begin(d, err)) != 0)
		goto out;
	rc = dir_role_get(d, tenant_id, a->role_id, r, err);
	if (rc == ERR_NOT_FOUND)
		rc = err_set(err, ERR_NOT_FOUND, "no role '%.64s' in this tenant", a->role_id);
	if (rc == 0)
		rc = rbac_store_principal(d, tenant_id, (enum rbac_principal_type)a->principal_type,
					  a->principal_id, err);
	if (rc == 0 && !rbac_store_scope_ok(r->assignable_scopes, a->scope, err))
		rc = err_set(err, ERR_INVALID,
			     "scope '%.200s' is outside the assignable scopes of role '%s' (%.300s)",
			     a->scope, r->name, r->assignable_scopes);
	if (rc == 0)
		rc = dir_role_assignment_create(d, tenant_id, a, err);
	if (rc == 0)
		rc = rbac_store_audit(d, tenant_id, who, "role_assignment.create",
				      "role_assignment", a->id, err,
				      "role '%s' (%s) to %s %s at scope '%s'", r->name, r->id,
				      dir_principal_type_name(a->principal_type), a->principal_id,
				      a->scope);
	rc = rbac_store_end(d, rc, err);
out:
	free(r);
	return rc;
}

int rbac_store_assignment_delete(struct dir *d, const char *tenant_id,
				 const struct rbac_actor *who, const char *id, struct err *err)
{
	struct dir_role_assignment a;
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	if ((rc = dir_role_assignment_get(d, tenant_id, id, &a, err)) == 0 &&
	    (rc = dir_role_assignment_delete(d, tenant_id, id, err)) == 0)
		rc = rbac_store_audit(d, tenant_id, who, "role_assignment.delete",
				      "role_assignment", id, err,
				      "removed role %s from %s %s at scope '%s'", a.role_id,
				      dir_principal_type_name(a.principal_type), a.principal_id,
				      a.scope);
	return rbac_store_end(d, rc, err);
}

/* ---- deny assignments ------------------------------------------------- */

static int rbac_store_check_deny(struct dir *d, const char *tenant_id,
				 const struct dir_deny_assignment *x, struct err *err)
{
	size_t np = 0, ne = 0, na = 0, nd = 0;

	if (rbac_scope_check(x->scope, err) ||
	    rbac_store_check_principals(d, tenant_id, "principals", x->principals, 1, &np, err) ||
	    rbac_store_check_principals(d, tenant_id, "excludedPrincipals",
					x->excluded_principals, 0, &ne, err) ||
	    rbac_store_check_list("actions", x->actions, rbac_pattern_check, &na, err) ||
	    rbac_store_check_list("notActions", x->not_actions, rbac_pattern_check, NULL, err) ||
	    rbac_store_check_list("dataActions", x->data_actions, rbac_pattern_check, &nd, err) ||
	    rbac_store_check_list("notDataActions", x->not_data_actions, rbac_pattern_check, NULL,
				  err))
		return err->code;
	if (np == 0)
		return err_set(err, ERR_INVALID, "a deny assignment needs at least one principal "
						 "(or everyone)");
	if (na + nd == 0)
		return err_set(err, ERR_INVALID,
			       "the deny assignment denies nothing: give actions or data actions");
	return 0;
}

/* Check and write x: created when create is set (filling its id), else updated. */
static int rbac_store_deny_put(struct dir *d, const char *tenant_id,
			       const struct rbac_actor *who, const struct dir_deny_assignment *x,
			       struct dir_deny_assignment *create, struct err *err)
{
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	if ((rc = rbac_store_check_deny(d, tenant_id, x, err)) == 0)
		rc = create != NULL ? dir_deny_create(d, tenant_id, create, err)
				    : dir_deny_update(d, tenant_id, x, err);
	if (rc == 0)
		rc = rbac_store_audit(d, tenant_id, who,
				      create != NULL ? "deny_assignment.create"
						     : "deny_assignment.update",
				      "deny_assignment", x->id, err,
				      "deny '%s' at scope '%s': principals %s excluded %s actions "
				      "%s notActions %s dataActions %s notDataActions %s",
				      x->name, x->scope, RBAC_LIST(x->principals),
				      RBAC_LIST(x->excluded_principals), RBAC_LIST(x->actions),
				      RBAC_LIST(x->not_actions), RBAC_LIST(x->data_actions),
				      RBAC_LIST(x->not_data_actions));
	return rbac_store_end(d, rc, err);
}

int rbac_store_deny_create(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   struct dir_deny_assignment *x, struct err *err)
{
	return rbac_store_deny_put(d, tenant_id, who, x, x, err);
}

int rbac_store_deny_update(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const struct dir_deny_assignment *x, struct err *err)
{
	return rbac_store_deny_put(d, tenant_id, who, x, NULL, err);
}

int rbac_store_deny_delete(struct dir *d, const char *tenant_id, const struct rbac_actor *who,
			   const char *id, struct err *err)
{
	struct dir_deny_assignment *x = malloc(sizeof(*x));
	int rc;

	if (x == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((rc = dir_begin(d, err)) == 0) {
		if ((rc = dir_deny_get(d, tenant_id, id, x, err)) == 0 &&
		    (rc = dir_deny_delete(d, tenant_id, id, err)) == 0)
			rc = rbac_store_audit(d, tenant_id, who, "deny_assignment.delete",
					      "deny_assignment", id, err,
					      "deleted deny assignment '%s'", x->name);
		rc = rbac_store_end(d, rc, err);
	}
	free(x);
	return rc;
}
