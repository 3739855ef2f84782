/*
 * token_api: what apps ask about tokens: introspection (RFC 7662),
 * revocation (RFC 7009) and the UserInfo endpoint (OIDC Core §5.3).
 *
 * A token of another tenant never verifies here: each tenant signs with its
 * own keys, and the issuer is checked too.
 */
#include "client_auth.h"
#include "log.h"
#include "secret.h"
#include "tokens.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void token_api_json(struct idp_req *r, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (s == NULL) {
		http_resp_error(r->resp, 500, "server_error", NULL);
		return;
	}
	buf_puts(&r->resp->body, s);
	free(s);
	http_resp_header(r->resp, "Cache-Control", "no-store");
}

static int token_api_is_jwt(const char *t)
{
	const char *d = strchr(t, '.');
	return d != NULL && strchr(d + 1, '.') != NULL;
}

void introspect_post(struct idp_req *r)
{
	const char *token = http_param(&r->http->form, "token", NULL);
	struct dir_app app;
	struct jws_parsed p;
	struct err err = {0};
	json_t *out;

	/* RFC 7662 §2.1: the caller must authenticate; only confidential apps can */
	if (client_auth(r, &app) != CLIENT_AUTH_OK) {
		if (r->resp->status == 200)
			http_resp_error(r->resp, 401, "invalid_client",
					"introspection needs client authentication");
		return;
	}
	if (token == NULL) {
		http_resp_error(r->resp, 400, "invalid_request", "token is required");
		return;
	}
	if (token_api_is_jwt(token)) {
		if (tokens_check_access(r, token, &p, &err) != 0) {
			token_api_json(r, json_pack("{s:b}", "active", 0));
			return;
		}
		out = json_deep_copy(p.claims);
		json_object_set_new(out, "active", json_true());
		json_object_set_new(out, "token_type", json_string("Bearer"));
		if (json_object_get(out, "preferred_username") != NULL)
			json_object_set(out, "username", json_object_get(out, "preferred_username"));
		jws_parsed_clear(&p);
		token_api_json(r, out);
		return;
	}
	{
		struct dir_refresh rt;
		char hash[SECRET_SHA256_HEX];
		secret_sha256_hex(token, hash);
		if (dir_refresh_get(r->dir, r->tenant.id, hash, &rt, &err) != 0 ||
		    strcmp(rt.app_id, app.id) != 0 || rt.rotated_at != 0 || rt.revoked_at != 0 ||
		    r->now >= rt.expires_at) {
			token_api_json(r, json_pack("{s:b}", "active", 0));
			return;
		}
		token_api_json(r, json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s}", "active", 1,
					    "token_type", "refresh_token", "client_id",
					    app.client_id, "sub", rt.user_id, "exp",
					    (json_int_t)rt.expires_at, "iat",
					    (json_int_t)rt.created_at, "scope", rt.scope));
	}
}

void revoke_post(struct idp_req *r)
{
	const char *token = http_param(&r->http->form, "token", NULL);
	struct dir_app app;
	struct err err = {0};

	if (client_auth(r, &app) == CLIENT_AUTH_FAILED)
		return;
	if (token == NULL) {
		http_resp_error(r->resp, 400, "invalid_request", "token is required");
		return;
	}
	if (token_api_is_jwt(token)) {
		struct jws_parsed p;
		if (tokens_check_access(r, token, &p, &err) == 0) {
			const char *cid = json_string_value(json_object_get(p.claims, "client_id"));
			const char *jti = json_string_value(json_object_get(p.claims, "jti"));
			json_int_t exp = json_integer_value(json_object_get(p.claims, "exp"));
			/* an app may only revoke its own tokens (RFC 7009 §2.1) */
			if (cid != NULL && jti != NULL && strcmp(cid, app.client_id) == 0)
				dir_jti_revoke(r->dir, r->tenant.id, jti, exp, &err);
			jws_parsed_clear(&p);
		}
	} else {
		struct dir_refresh rt;
		char hash[SECRET_SHA256_HEX];
		secret_sha256_hex(token, hash);
		if (dir_refresh_get(r->dir, r->tenant.id, hash, &rt, &err) == 0 &&
		    strcmp(rt.app_id, app.id) == 0)
			dir_grant_revoke(r->dir, r->tenant.id, rt.grant_id,
					 r->now + r->idp->cfg->access_ttl, &err);
	}
	/* RFC 7009 §2.2: 200 whether or not the token was valid */
	buf_puts(&r->resp->body, "{}");
	http_resp_header(r->resp, "Cache-Control", "no-store");
}

static void userinfo_fail(struct idp_req *r, int status, const char *error, const char *desc)
{
	char hdr[300];

	char clean[160];
	size_t n = 0;

	/* the description may quote a token's header: keep it a safe quoted-string */
	for (const char *p = desc; *p != '\0' && n + 1 < sizeof(clean); p++)
		clean[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '?';
	clean[n] = '\0';
	http_resp_error(r->resp, status, error, clean);
	snprintf(hdr, sizeof(hdr), "Bearer error=\"%s\", error_description=\"%s\"", error, clean);
	http_resp_header(r->resp, "WWW-Authenticate", hdr);
}

void userinfo_handle(struct idp_req *r)
{
	const char *authz = http_header(r->http, "Authorization"), *token = NULL, *scope, *sub;
	struct jws_parsed p;
	struct dir_user u;
	struct err err = {0};
	json_t *out;

	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0)
		token = authz + 7;
	else if (authz == NULL && strcmp(r->http->method, "POST") == 0)
		token = http_param(&r->http->form, "access_token", NULL);
	if (token == NULL || *token == '\0') {
		userinfo_fail(r, 401, "invalid_token", "an access token is required");
		return;
	}
	if (tokens_check_access(r, token, &p, &err) != 0) {
		userinfo_fail(r, 401, "invalid_token", err.msg);
		return;
	}
	scope = json_string_value(json_object_get(p.claims, "scope"));
	sub = json_string_value(json_object_get(p.claims, "sub"));
	if (!tokens_scope_has(scope, "openid") || sub == NULL ||
	    dir_user_get(r->dir, r->tenant.id, sub, &u, &err) != 0 ||
	    !u.enabled || u.deleted_at != 0) {
		jws_parsed_clear(&p);
		userinfo_fail(r, 403, "insufficient_scope", "not a user token with scope openid");
		return;
	}
	out = json_pack("{s:s}", "sub", u.id);
	if (tokens_scope_has(scope, "profile")) {
		json_object_set_new(out, "name", json_string(u.display_name));
		json_object_set_new(out, "given_name", json_string(u.given_name));
		json_object_set_new(out, "family_name", json_string(u.surname));
		json_object_set_new(out, "preferred_username", json_string(u.upn));
	}
	if (tokens_scope_has(scope, "email") && u.mail[0])
		json_object_set_new(out, "email", json_string(u.mail));
	if (json_object_get(p.claims, "groups") != NULL)
		json_object_set(out, "groups", json_object_get(p.claims, "groups"));
	jws_parsed_clear(&p);
	token_api_json(r, out);
}
