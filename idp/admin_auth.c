/*
 * admin_auth: the admin token and the RBAC decision for every admin call.
 */
#include "admin_auth.h"

#include "api.h"
#include "authz.h"
#include "log.h"
#include "tokens.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A refusal in the daemon's log: who tried what where (never the token). */
static void admin_refused(struct idp_req *r, const char *who, const char *action,
			  const char *scope, const char *why)
{
	log_warnx("tenant %s: admin call refused: %s %s at %s from %s: %s", r->tenant.name,
		  who != NULL ? who : "(no valid token)", action, scope, r->http->client_ip, why);
}

static int admin_check(struct idp_req *r, const struct rbac_index *idx,
		       enum rbac_principal_type type, const char *id, const char *action,
		       const char *scope, char *why, size_t cap)
{
	struct rbac_request q = {type, id, action, scope, 0};
	struct rbac_decision d;
	struct err err = {0};

	(void)r;
	if (rbac_check(idx, &q, &d, &err) != 0) {
		snprintf(why, cap, "%s", err.msg);
		return 0;
	}
	rbac_decision_text(&d, why, cap);
	return d.allowed;
}

int admin_authorize(struct idp_req *r, const char *action, const char *scope,
		    struct admin_caller *who)
{
	const char *h = http_header(r->http, "Authorization");
	const char *sub, *cid, *aud;
	char resource[1200], why[512];
	const struct rbac_index *idx;
	struct jws_parsed p;
	struct dir_app app;
	struct dir_user u;
	struct err err = {0};
	int ok;

	memset(who, 0, sizeof(*who));
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		admin_refused(r, NULL, action, scope, "no bearer token");
		api_error(r, 401, "invalid_token", "an access token for the admin API is required");
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer");
		return -1;
	}
	if (tokens_check_access(r, h + 7, &p, &err) != 0) {
		admin_refused(r, NULL, action, scope, err.msg);
		api_error(r, 401, "invalid_token", "%s", err.msg);
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return -1;
	}
	idp_admin_resource(r, resource, sizeof(resource));
	aud = json_string_value(json_object_get(p.claims, "aud"));
	sub = json_string_value(json_object_get(p.claims, "sub"));
	cid = json_string_value(json_object_get(p.claims, "client_id"));
	if (aud == NULL || strcmp(aud, resource) != 0 || sub == NULL || cid == NULL) {
		jws_parsed_clear(&p);
		admin_refused(r, NULL, action, scope, "token not issued for the admin API");
		api_error(r, 401, "invalid_token",
			  "the token's audience must be %s (ask for it with resource=)", resource);
		http_resp_header(r->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return -1;
	}
	snprintf(who->client_id, sizeof(who->client_id), "%s", cid);
	who->is_user = json_object_get(p.claims, "auth_time") != NULL;
	snprintf(who->id, sizeof(who->id), "%s", sub);
	jws_parsed_clear(&p);
	if (dir_app_get_by_client_id(r->dir, r->tenant.id, who->client_id, &app, &err) != 0) {
		admin_refused(r, who->client_id, action, scope, "the app no longer exists");
		api_error(r, 401, "invalid_token", "the app that holds this token is gone");
		return -1;
	}
	if (who->is_user) {
		if (dir_user_get(r->dir, r->tenant.id, who->id, &u, &err) != 0 || !u.enabled ||
		    u.deleted_at != 0) {
			admin_refused(r, who->id, action, scope, "user gone or disabled");
			api_error(r, 401, "invalid_token", "the user can no longer sign in");
			return -1;
		}
		snprintf(who->name, sizeof(who->name), "%s", u.upn);
	} else {
		snprintf(who->name, sizeof(who->name), "app:%s", who->client_id);
	}
	if ((idx = authz_acquire(r, &err)) == NULL) {
		api_error(r, 503, "unavailable", "role data unavailable");
		return -1;
	}
	/* for a user's token, both the user and the app must be allowed */
	ok = admin_check(r, idx, who->is_user ? RBAC_PRINCIPAL_USER : RBAC_PRINCIPAL_APP, who->id,
			 action, scope, why, sizeof(why));
	if (ok && who->is_user) {
		ok = admin_check(r, idx, RBAC_PRINCIPAL_APP, app.id, action, scope, why,
				 sizeof(why));
		if (!ok) {
			char app_why[512];
			snprintf(app_why, sizeof(app_why), "the app acting for the user: %s", why);
			snprintf(why, sizeof(why), "%s", app_why);
		}
	}
	authz_release(r, idx);
	if (!ok) {
		admin_refused(r, who->name, action, scope, why);
		api_error(r, 403, "forbidden", "%s may not %s at %s: %s", who->name, action, scope,
			  why);
		return -1;
	}
	return 0;
}

void admin_audit(struct idp_req *r, const struct admin_caller *who, const char *action,
		 const char *target_type, const char *target_id, const char *summary)
{
	struct dir_audit a;
	struct err err = {0};

	memset(&a, 0, sizeof(a));
	snprintf(a.actor, sizeof(a.actor), "%s", who->name);
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target_type, sizeof(a.target_type), "%s", target_type);
	snprintf(a.target_id, sizeof(a.target_id), "%s", target_id);
	snprintf(a.summary, sizeof(a.summary), "%s", summary);
	snprintf(a.ip, sizeof(a.ip), "%s", r->http->client_ip);
	if (dir_audit_append(r->dir, r->tenant.id, &a, &err) != 0)
		log_warnx("tenant %s: audit record not written: %s", r->tenant.name, err.msg);
}
