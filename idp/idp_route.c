/*
 * idp_route: from "/{tenant}/rest/of/path" to a handler.
 *
 * The tenant is resolved before anything else and every handler works
 * inside it: nothing below this point can name another tenant.
 */
#include "idp.h"

#include "admin.h"
#include "authz.h"
#include "idp_cache.h"
#include "scim.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static void account_handle(struct idp_req *r);

struct idp_route {
	const char *path;
	const char *methods; /* "GET", "POST" or "GET POST" */
	void (*fn)(struct idp_req *r);
};

static const struct idp_route idp_routes[] = {
	{"/v2.0/.well-known/openid-configuration", "GET", oidc_discovery},
	{"/discovery/keys", "GET", oidc_jwks},
	{"/oauth2/authorize", "GET POST", authorize_get},
	{"/login", "POST", login_post},
	{"/login/mfa", "POST", mfa_flow_post},
	{"/account", "GET POST", account_handle},
	{"/oauth2/logout", "GET POST", logout_handle},
	{"/oauth2/token", "POST", token_post},
	{"/oauth2/introspect", "POST", introspect_post},
	{"/oauth2/revoke", "POST", revoke_post},
	{"/oidc/userinfo", "GET POST", userinfo_handle},
};

static void account_handle(struct idp_req *r)
{
	if (strcmp(r->http->method, "POST") == 0)
		account_post(r);
	else
		account_get(r);
}

static int idp_method_ok(const char *allowed, const char *method)
{
	size_t n = strlen(method);
	const char *p = allowed;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allowed || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

void idp_handle(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct idp *idp = ctx;
	struct idp_req r;
	struct err err = {0};
	char tenant[DIR_TENANT_MAX];
	const char *p = req->path, *slash;
	size_t tlen;

	if (strcmp(req->path, "/healthz") == 0) {
		buf_puts(&resp->body, "{\"status\":\"ok\"}");
		return;
	}
	if (p[0] != '/' || (slash = strchr(p + 1, '/')) == NULL) {
		http_resp_error(resp, 404, "not_found", "no such endpoint");
		return;
	}
	tlen = (size_t)(slash - (p + 1));
	if (tlen == 0 || tlen >= sizeof(tenant)) {
		http_resp_error(resp, 404, "not_found", "no such tenant");
		return;
	}
	memcpy(tenant, p + 1, tlen);
	tenant[tlen] = '\0';
	if (!dir_tenant_name_valid(tenant)) {
		http_resp_error(resp, 404, "not_found", "no such tenant");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.idp = idp;
	r.http = req;
	r.resp = resp;
	r.sub = slash;
	r.now = clock_now(&idp->clock);
	if ((r.dir = idp_dir(idp, &err)) == NULL) {
		log_error("store: %s", err.msg);
		http_resp_error(resp, 503, "temporarily_unavailable", "the store is unavailable");
		return;
	}
	if (idp_cache_tenant(r.dir, tenant, r.now, &r.tenant, &err) != 0) {
		if (err.code != ERR_NOT_FOUND)
			log_error("tenant lookup: %s", err.msg);
		http_resp_error(resp, err.code == ERR_NOT_FOUND ? 404 : 503,
				err.code == ERR_NOT_FOUND ? "not_found" : "temporarily_unavailable",
				err.code == ERR_NOT_FOUND ? "no such tenant" : "store unavailable");
		return;
	}
	/* the JSON APIs route their own subpaths */
	if (strncmp(r.sub, "/admin/", 7) == 0) {
		admin_dispatch(&r);
		return;
	}
	if (strncmp(r.sub, "/scim/v2/", 9) == 0) {
		scim_dispatch(&r);
		return;
	}
	if (strncmp(r.sub, "/authz/", 7) == 0) {
		authz_dispatch(&r);
		return;
	}
	/* sign-in reports and the dashboard (issue 8) */
	if (strncmp(r.sub, "/reports/", 9) == 0) {
		report_dispatch(&r);
		return;
	}
	for (size_t i = 0; i < sizeof(idp_routes) / sizeof(idp_routes[0]); i++) {
		if (strcmp(idp_routes[i].path, r.sub) != 0)
			continue;
		if (!idp_method_ok(idp_routes[i].methods, req->method)) {
			char allow[32];
			snprintf(allow, sizeof(allow), "%s", idp_routes[i].methods);
			for (char *s = allow; *s; s++)
				if (*s == ' ')
					*s = ',';
			http_resp_error(resp, 405, "invalid_request", "method not allowed");
			http_resp_header(resp, "Allow", allow);
			return;
		}
		idp_routes[i].fn(&r);
		return;
	}
	http_resp_error(resp, 404, "not_found", "no such endpoint");
}
