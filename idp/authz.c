/*
 * authz: per-tenant RBAC holders and the check endpoints.
 *
 * A holder (rbac_holder) swaps in a new immutable index when role data
 * changes; checks read the current one without locks.  Each process asks
 * the store for the tenant's role-data version at most once a second, so a
 * role change made on any node reaches every node within about a second.
 */
#include "authz.h"

#include "api.h"
#include "log.h"
#include "rbac_store.h"
#include "tokens.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define AUTHZ_MAX_TENANTS 4096
#define AUTHZ_BATCH_MAX 1000

struct authz_entry {
	char tenant_id[DIR_ID_MAX];
	struct rbac_holder *holder;
	atomic_llong checked_at; /* when the version was last compared (seconds) */
};

struct authz_cache {
	pthread_mutex_t lock;
	struct authz_entry *e[AUTHZ_MAX_TENANTS];
	int n;
};

struct authz_cache *authz_cache_new(void)
{
	struct authz_cache *c = calloc(1, sizeof(*c));

	if (c != NULL)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void authz_cache_free(struct authz_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->n; i++) {
		rbac_holder_free(c->e[i]->holder);
		free(c->e[i]);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct authz_entry *authz_entry(struct authz_cache *c, const char *tenant_id,
				       struct err *err)
{
	struct authz_entry *e = NULL;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->e[i]->tenant_id, tenant_id) == 0) {
			e = c->e[i];
			break;
		}
	if (e == NULL && c->n < AUTHZ_MAX_TENANTS && (e = calloc(1, sizeof(*e))) != NULL) {
		snprintf(e->tenant_id, sizeof(e->tenant_id), "%s", tenant_id);
		if ((e->holder = rbac_holder_new(err)) == NULL) {
			free(e);
			e = NULL;
		} else {
			c->e[c->n++] = e;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (e == NULL && err->code == 0)
		err_set(err, ERR_LIMIT, "too many tenants for the authorization cache");
	return e;
}

const struct rbac_index *authz_acquire(struct idp_req *r, struct err *err)
{
	struct authz_entry *e = authz_entry(r->idp->authz, r->tenant.id, err);
	long long last;

	if (e == NULL)
		return NULL;
	last = atomic_load(&e->checked_at);
	/* one thread per second per tenant asks the store; the others read on */
	if (r->now != last && atomic_compare_exchange_strong(&e->checked_at, &last, r->now)) {
		int rc = rbac_store_refresh(r->dir, r->tenant.id, e->holder, 0, err);
		if (rc < 0) {
			log_warnx("tenant %s: role data: %s", r->tenant.name, err->msg);
			atomic_store(&e->checked_at, 0); /* try again on the next request */
		}
	}
	const struct rbac_index *idx = rbac_holder_acquire(e->holder);
	if (idx == NULL && err->code == 0)
		err_set(err, ERR_UNAVAILABLE, "role data not loaded");
	return idx;
}

void authz_release(struct idp_req *r, const struct rbac_index *idx)
{
	struct err err = {0};
	struct authz_entry *e;

	if (idx == NULL)
		return;
	e = authz_entry(r->idp->authz, r->tenant.id, &err);
	if (e != NULL)
		rbac_holder_release(e->holder, idx);
}

struct authz_names {
	json_t *arr;
};

static int authz_name_row(void *ctx, const struct rbac_grant *g)
{
	struct authz_names *n = ctx;
	json_t *v;
	size_t i;

	json_array_foreach(n->arr, i, v)
		if (strcmp(json_string_value(v), g->role_name) == 0)
			return 0;
	json_array_append_new(n->arr, json_string(g->role_name));
	return 0;
}

json_t *authz_role_names(struct idp_req *r, const char *user_id)
{
	struct authz_names n = {json_array()};
	struct err err = {0};
	const struct rbac_index *idx = authz_acquire(r, &err);

	if (idx != NULL)
		rbac_effective(idx, RBAC_PRINCIPAL_USER, user_id, NULL, authz_name_row, NULL, &n,
			       &err);
	authz_release(r, idx);
	return n.arr;
}

/* The calling app, from its own access token; -1 with 401 made otherwise. */
static int authz_caller(struct idp_req *r, char app_id[DIR_ID_MAX],
			char client_id[DIR_ID_MAX])
{
	const char *h = http_header(r->http, "Authorization");
	struct jws_parsed p;
	struct err err = {0};
	const char *sub, *cid, *aud;
	int rc = -1;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		api_error(r, 401, "invalid_token", "an app's access token is required");
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer");
		return -1;
	}
	if (tokens_check_access(r, h + 7, &p, &err) != 0) {
		api_error(r, 401, "invalid_token", "%s", err.msg);
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return -1;
	}
	sub = json_string_value(json_object_get(p.claims, "sub"));
	cid = json_string_value(json_object_get(p.claims, "client_id"));
	aud = json_string_value(json_object_get(p.claims, "aud"));
	/*
	 * An app's own token: client credentials, no user behind it, and
	 * issued to the app for itself (a token it got for another audience,
	 * such as the admin API, or that another app handed on, is not one).
	 */
	if (sub == NULL || cid == NULL || json_object_get(p.claims, "auth_time") != NULL) {
		log_warnx("tenant %s: authz call refused from %s: not an app's own token",
			  r->tenant.name, r->http->client_ip);
		api_error(r, 403, "forbidden", "checks are for apps: use a client credentials token");
	} else if (aud == NULL || strcmp(aud, cid) != 0) {
		log_warnx("tenant %s: authz call refused: app:%s from %s: token audience is not the "
			  "app", r->tenant.name, cid, r->http->client_ip);
		api_error(r, 401, "invalid_token",
			  "the token's audience must be the app itself (a client credentials "
			  "token without resource=)");
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	} else {
		snprintf(app_id, DIR_ID_MAX, "%s", sub);
		snprintf(client_id, DIR_ID_MAX, "%s", cid);
		rc = 0;
	}
	jws_parsed_clear(&p);
	return rc;
}

/* May the app ask?  idp/authz/check/action at /apps/{id}; 403 made if not. */
static int authz_permitted(struct idp_req *r, const struct rbac_index *idx, const char *app_id,
			   const char *client_id)
{
	char scope[DIR_ID_MAX + 8], why[512];
	struct rbac_request q = {RBAC_PRINCIPAL_APP, app_id, "idp/authz/check/action", scope, 0};
	struct rbac_decision d;
	struct err err = {0};

	snprintf(scope, sizeof(scope), "/apps/%s", app_id);
	if (rbac_check(idx, &q, &d, &err) != 0)
		snprintf(why, sizeof(why), "%s", err.msg);
	else if (d.allowed)
		return 0;
	else
		rbac_decision_text(&d, why, sizeof(why));
	log_warnx("tenant %s: authz call refused: app:%s from %s: %s", r->tenant.name, client_id,
		  r->http->client_ip, why);
	api_error(r, 403, "forbidden",
		  "app:%s may not ask for decisions (idp/authz/check/action at %s): %s", client_id,
		  scope, why);
	return -1;
}

/* One check request object into a decision object (new reference). */
static json_t *authz_one(const struct rbac_index *idx, json_t *q)
{
	const char *ptype = json_string_value(json_object_get(q, "principalType"));
	const char *pid = json_string_value(json_object_get(q, "principalId"));
	const char *action = json_string_value(json_object_get(q, "action"));
	const char *scope = json_string_value(json_object_get(q, "scope"));
	json_t *data = json_object_get(q, "dataAction");
	struct rbac_request req;
	struct rbac_decision d;
	struct err err = {0};
	char text[512];
	int type = ptype != NULL ? rbac_principal_type_parse(ptype) : RBAC_PRINCIPAL_USER;

	if (!json_is_object(q) || pid == NULL || action == NULL || scope == NULL || type < 0 ||
	    type == RBAC_PRINCIPAL_EVERYONE || (data != NULL && !json_is_boolean(data)))
		return json_pack("{s:b, s:s}", "allowed", 0, "error",
				 "principalId, action and scope are required strings; "
				 "principalType is user, group or app; dataAction a boolean");
	memset(&req, 0, sizeof(req));
	req.principal_type = (enum rbac_principal_type)type;
	req.principal_id = pid;
	req.action = action;
	req.scope = scope;
	req.data_action = json_is_true(data);
	if (rbac_check(idx, &req, &d, &err) != 0)
		return json_pack("{s:b, s:s}", "allowed", 0, "error", err.msg);
	json_t *out = json_pack("{s:b, s:s}", "allowed", d.allowed, "reason",
				rbac_decision_text(&d, text, sizeof(text)));
	if (d.reason == RBAC_REASON_ASSIGNMENT)
		json_object_set_new(out, "grantedBy",
				    json_pack("{s:s, s:s, s:s, s:s}", "assignmentId",
					      d.assignment_id, "roleId", d.role_id, "roleName",
					      d.role_name, "scope", d.assignment_scope));
	else if (d.reason == RBAC_REASON_DENY)
		json_object_set_new(out, "deniedBy",
				    json_pack("{s:s, s:s, s:s}", "denyAssignmentId", d.deny_id,
					      "name", d.deny_name, "scope", d.deny_scope));
	return out;
}

struct authz_perm {
	json_t *grants, *denies;
};

static json_t *authz_strs(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int authz_perm_grant(void *ctx, const struct rbac_grant *g)
{
	struct authz_perm *p = ctx;

	json_array_append_new(
		p->grants,
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "assignmentId",
			  g->assignment_id, "scope", g->scope, "via",
			  rbac_principal_type_name(g->via_type), "viaId", g->via_id, "roleId",
			  g->role_id, "roleName", g->role_name, "actions",
			  authz_strs(g->actions, g->n_actions), "notActions",
			  authz_strs(g->not_actions, g->n_not_actions), "dataActions",
			  authz_strs(g->data_actions, g->n_data_actions), "notDataActions",
			  authz_strs(g->not_data_actions, g->n_not_data_actions)));
	return 0;
}

static int authz_perm_deny(void *ctx, const struct rbac_deny_info *d)
{
	struct authz_perm *p = ctx;

	json_array_append_new(p->denies,
			      json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "denyAssignmentId",
					d->deny_id, "name", d->name, "scope", d->scope, "actions",
					authz_strs(d->actions, d->n_actions), "notActions",
					authz_strs(d->not_actions, d->n_not_actions), "dataActions",
					authz_strs(d->data_actions, d->n_data_actions),
					"notDataActions",
					authz_strs(d->not_data_actions, d->n_not_data_actions)));
	return 0;
}

void authz_dispatch(struct idp_req *r)
{
	const struct rbac_index *idx;
	struct err err = {0};
	char app_id[DIR_ID_MAX], client_id[DIR_ID_MAX];
	json_t *body, *checks;

	if (strcmp(r->http->method, "POST") != 0) {
		api_error(r, 405, "method_not_allowed", "POST");
		return;
	}
	if (strcmp(r->sub, "/authz/check") != 0 && strcmp(r->sub, "/authz/permissions") != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (authz_caller(r, app_id, client_id) != 0)
		return;
	if ((idx = authz_acquire(r, &err)) == NULL) {
		api_error(r, 503, "unavailable", "role data unavailable: %s", err.msg);
		return;
	}
	if (authz_permitted(r, idx, app_id, client_id) != 0 || (body = api_body(r)) == NULL) {
		authz_release(r, idx);
		return;
	}
	if (strcmp(r->sub, "/authz/check") == 0) {
		checks = json_object_get(body, "checks");
		if (checks == NULL) {
			api_reply(r, 200, authz_one(idx, body));
		} else if (!json_is_array(checks) || json_array_size(checks) > AUTHZ_BATCH_MAX) {
			api_error(r, 400, "invalid_field", "checks is an array of at most %d",
				  AUTHZ_BATCH_MAX);
		} else {
			json_t *results = json_array(), *q;
			size_t i;
			json_array_foreach(checks, i, q) json_array_append_new(results,
									   authz_one(idx, q));
			api_reply(r, 200, json_pack("{s:o}", "results", results));
		}
	} else {
		const char *ptype = json_string_value(json_object_get(body, "principalType"));
		const char *pid = json_string_value(json_object_get(body, "principalId"));
		const char *scope = json_string_value(json_object_get(body, "scope"));
		int type = ptype != NULL ? rbac_principal_type_parse(ptype) : RBAC_PRINCIPAL_USER;
		struct authz_perm p = {json_array(), json_array()};
		if (pid == NULL || type < 0 || type == RBAC_PRINCIPAL_EVERYONE ||
		    rbac_effective(idx, (enum rbac_principal_type)type, pid, scope,
				   authz_perm_grant, authz_perm_deny, &p, &err) != 0) {
			json_decref(p.grants);
			json_decref(p.denies);
			api_error(r, 400, "invalid_request", "%s",
				  err.msg[0] ? err.msg : "principalId (and principalType) required");
		} else {
			api_reply(r, 200,
				  json_pack("{s:s, s:s*, s:o, s:o}", "principalId", pid, "scope",
					    scope, "grants", p.grants, "denies", p.denies));
		}
	}
	authz_release(r, idx);
	json_decref(body);
}
