/*
 * token: POST /{tenant}/oauth2/token (RFC 6749 §3.2).
 *
 * authorization_code: the code is redeemed at most once (atomically in the
 * store); a second use revokes everything issued from it (RFC 6749 §4.1.2,
 * RFC 9700 §4.5).  refresh_token: every use rotates the token; using a
 * rotated one revokes the whole grant (RFC 9700 §4.14.2).
 * client_credentials: confidential apps only, and nothing is written to the
 * store, so the grant runs at the speed of a signature.
 */
#include "authz.h"
#include "b64.h"
#include "client_auth.h"
#include "keys.h"
#include "log.h"
#include "rand.h"
#include "secret.h"
#include "tokens.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

/* RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge. */
static int token_pkce_ok(const char *verifier, const char *challenge)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char enc[64];
	size_t n = verifier != NULL ? strlen(verifier) : 0;

	if (n < 43 || n > 128 ||
	    strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") !=
		    n)
		return 0;
	SHA256((const unsigned char *)verifier, n, d);
	b64url_encode(d, sizeof(d), enc, sizeof(enc));
	return secret_streq(enc, challenge);
}

/* A fresh refresh token for the grant, stored by its hash; 0 or -1. */
static int token_new_refresh(struct idp_req *r, const struct dir_app *app, const char *user_id,
			     const char *grant_id, const char *scope, int64_t auth_time,
			     const char *amr, const char *resource, char out[64])
{
	struct dir_refresh rt;
	struct err err = {0};

	memset(&rt, 0, sizeof(rt));
	if (rand_token(out, 64, 32) != 0)
		return -1;
	secret_sha256_hex(out, rt.token_hash);
	snprintf(rt.grant_id, sizeof(rt.grant_id), "%s", grant_id);
	snprintf(rt.app_id, sizeof(rt.app_id), "%s", app->id);
	snprintf(rt.user_id, sizeof(rt.user_id), "%s", user_id);
	snprintf(rt.scope, sizeof(rt.scope), "%s", scope);
	snprintf(rt.amr, sizeof(rt.amr), "%s", amr);
	snprintf(rt.resource, sizeof(rt.resource), "%s", resource);
	rt.auth_time = auth_time;
	rt.created_at = r->now;
	rt.expires_at = r->now + r->idp->cfg->refresh_ttl;
	if (dir_refresh_create(r->dir, r->tenant.id, &rt, &err) != 0) {
		log_error("tenant %s: store refresh token: %s", r->tenant.name, err.msg);
		return -1;
	}
	return 0;
}

/* How long a revocation record must live: past every token of the grant. */
static int64_t token_revoke_until(const struct idp_req *r)
{
	const struct idp_config *cfg = r->idp->cfg;
	int64_t longest = cfg->refresh_ttl > cfg->access_ttl ? cfg->refresh_ttl : cfg->access_ttl;
	return r->now + longest;
}

/*
 * The store could not answer (locked past the busy timeout, disk full):
 * a 503 the client may retry.  Never invalid_grant for this: a client told
 * that throws a good code or refresh token away (found by the fault tests).
 */
static void token_unavailable(struct idp_req *r, const struct err *err)
{
	log_error("tenant %s: token endpoint: %s", r->tenant.name, err->msg);
	http_resp_error(r->resp, 503, "temporarily_unavailable",
			"the store is unavailable; try again");
	http_resp_header(r->resp, "Retry-After", "1");
}

/* 1 if rc is the store failing rather than an answer about the object. */
static int token_store_failed(int rc)
{
	return rc != 0 && rc != ERR_NOT_FOUND && rc != ERR_DENIED;
}

/*
 * Run one grant in one transaction, so that a code or a refresh token is
 * used only together with what it issues: if a later write (the new
 * refresh token) or the signature fails, the use is rolled back and the
 * client can retry, instead of holding a code or token the store has
 * already spent (found by the fault tests).  fn returns 0 to commit what
 * it did (success, and refusals that must stick, like a reuse revocation),
 * -1 to roll back.
 */
static void token_in_tx(struct idp_req *r, const struct dir_app *app,
			int (*fn)(struct idp_req *r, const struct dir_app *app))
{
	struct err err = {0};
	struct keyring *kr;

	/*
	 * What the response reads, brought up to date outside the
	 * transaction: the signing keys (a tenant's first token makes them in
	 * a transaction of their own, and key generation should not hold the
	 * store's write lock) and the role index for the "roles" claim (its
	 * loader reads in a snapshot, which cannot open inside a transaction).
	 */
	if ((kr = keys_acquire(r->idp->keys, r->dir, r->tenant.id, r->now, &err)) == NULL) {
		token_unavailable(r, &err);
		return;
	}
	keyring_release(kr);
	authz_release(r, authz_acquire(r, &err));
	err_clear(&err);
	if (dir_begin(r->dir, &err) != 0) {
		token_unavailable(r, &err);
		return;
	}
	if (fn(r, app) != 0) {
		dir_rollback(r->dir);
		return;
	}
	if (dir_commit(r->dir, &err) != 0)
		token_unavailable(r, &err);
}

static int token_code_tx(struct idp_req *r, const struct dir_app *app)
{
	const char *code = http_param(&r->http->form, "code", NULL);
	const char *redirect = http_param(&r->http->form, "redirect_uri", NULL);
	const char *verifier = http_param(&r->http->form, "code_verifier", NULL);
	char hash[SECRET_SHA256_HEX], refresh[64];
	struct dir_code c;
	struct dir_user u;
	struct token_grant g;
	struct err err = {0};
	int rc, with_refresh;

	if (!(app->grants & DIR_GRANT_AUTHORIZATION_CODE)) {
		http_resp_error(r->resp, 400, "unauthorized_client", "grant not allowed for this app");
		return 0;
	}
	if (code == NULL || redirect == NULL || verifier == NULL) {
		http_resp_error(r->resp, 400, "invalid_request",
				"code, redirect_uri and code_verifier are required");
		return 0;
	}
	secret_sha256_hex(code, hash);
	rc = dir_code_redeem(r->dir, r->tenant.id, hash, &c, &err);
	if (token_store_failed(rc)) {
		token_unavailable(r, &err);
		return -1;
	}
	if (rc == ERR_DENIED) {
		/* the code was used before: whoever holds what it issued loses it */
		dir_grant_revoke(r->dir, r->tenant.id, c.grant_id, token_revoke_until(r), &err);
		log_warnx("tenant %s: code reuse for grant %s: grant revoked", r->tenant.name,
			  c.grant_id);
		idp_signin_log(r, c.user_id, NULL, app->id, "token", "failure",
			       "authorization code reused; grant revoked", NULL);
		http_resp_error(r->resp, 400, "invalid_grant", "invalid or used code");
		return 0;
	}
	if (rc != 0 || strcmp(c.app_id, app->id) != 0 || r->now >= c.expires_at ||
	    strcmp(c.redirect_uri, redirect) != 0) {
		http_resp_error(r->resp, 400, "invalid_grant",
				rc == 0 && r->now >= c.expires_at ? "code expired"
								  : "invalid or used code");
		return 0;
	}
	if (http_param(&r->http->form, "resource", NULL) != NULL &&
	    strcmp(http_param(&r->http->form, "resource", NULL), c.resource) != 0) {
		http_resp_error(r->resp, 400, "invalid_target", "resource differs from the request");
		return 0;
	}
	if (!token_pkce_ok(verifier, c.code_challenge)) {
		http_resp_error(r->resp, 400, "invalid_grant", "code_verifier does not match");
		return 0;
	}
	rc = dir_user_get(r->dir, r->tenant.id, c.user_id, &u, &err);
	if (token_store_failed(rc)) {
		token_unavailable(r, &err);
		return -1;
	}
	if (rc != 0 || !u.enabled || u.deleted_at != 0) {
		http_resp_error(r->resp, 400, "invalid_grant", "the user can no longer sign in");
		return 0;
	}
	with_refresh = (app->grants & DIR_GRANT_REFRESH_TOKEN) != 0;
	if (with_refresh && token_new_refresh(r, app, u.id, c.grant_id, c.scope, c.auth_time,
					      c.amr, c.resource, refresh) != 0) {
		http_resp_error(r->resp, 503, "temporarily_unavailable",
				"could not issue a refresh token; try again");
		return -1;
	}
	memset(&g, 0, sizeof(g));
	g.app = app;
	g.user = &u;
	g.scope = c.scope;
	g.nonce = c.nonce;
	g.auth_time = c.auth_time;
	g.amr = c.amr;
	g.grant_id = c.grant_id;
	g.id_token = tokens_scope_has(c.scope, "openid");
	g.refresh_token = with_refresh ? refresh : NULL;
	g.resource = c.resource;
	rc = tokens_respond(r, &g);
	if (rc == 0)
		idp_signin_log(r, u.id, NULL, app->id, "token", "success", "authorization_code",
			       c.amr);
	secret_wipe(refresh, sizeof(refresh));
	return rc == 0 ? 0 : -1;
}

static void token_code(struct idp_req *r, const struct dir_app *app)
{
	token_in_tx(r, app, token_code_tx);
}

/* 1 if every word of want is in have. */
static int token_scope_subset(const char *want, const char *have)
{
	char copy[DIR_OAUTH_SCOPE_MAX], *save = NULL, *w;

	if (strlen(want) >= sizeof(copy))
		return 0;
	snprintf(copy, sizeof(copy), "%s", want);
	for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		if (!tokens_scope_has(have, w))
			return 0;
	return 1;
}

static int token_refresh_tx(struct idp_req *r, const struct dir_app *app)
{
	const char *token = http_param(&r->http->form, "refresh_token", NULL);
	const char *scope = http_param(&r->http->form, "scope", NULL);
	char hash[SECRET_SHA256_HEX], refresh[64];
	struct dir_refresh rt;
	struct dir_user u;
	struct token_grant g;
	struct err err = {0};
	int rc;

	if (!(app->grants & DIR_GRANT_REFRESH_TOKEN)) {
		http_resp_error(r->resp, 400, "unauthorized_client", "grant not allowed for this app");
		return 0;
	}
	if (token == NULL) {
		http_resp_error(r->resp, 400, "invalid_request", "refresh_token is required");
		return 0;
	}
	secret_sha256_hex(token, hash);
	rc = dir_refresh_use(r->dir, r->tenant.id, hash, &rt, &err);
	if (token_store_failed(rc)) {
		token_unavailable(r, &err);
		return -1;
	}
	if (rc == ERR_DENIED && strcmp(rt.app_id, app->id) == 0) {
		/* a rotated token came back: it was stolen, or the client is broken */
		dir_grant_revoke(r->dir, r->tenant.id, rt.grant_id, token_revoke_until(r), &err);
		log_warnx("tenant %s: refresh token reuse for grant %s: grant revoked",
			  r->tenant.name, rt.grant_id);
		idp_signin_log(r, rt.user_id, NULL, app->id, "token", "failure",
			       "refresh token reused; grant revoked", NULL);
		http_resp_error(r->resp, 400, "invalid_grant", "invalid refresh token");
		return 0;
	}
	if (rc != 0 || strcmp(rt.app_id, app->id) != 0 || r->now >= rt.expires_at) {
		http_resp_error(r->resp, 400, "invalid_grant", "invalid refresh token");
		/* a token of another app, or expired: it was not this client's to rotate */
		return rc == 0 ? -1 : 0;
	}
	if (scope != NULL && !token_scope_subset(scope, rt.scope)) {
		http_resp_error(r->resp, 400, "invalid_scope", "scope wider than the grant");
		return -1;
	}
	rc = dir_user_get(r->dir, r->tenant.id, rt.user_id, &u, &err);
	if (token_store_failed(rc)) {
		token_unavailable(r, &err);
		return -1;
	}
	if (rc != 0 || !u.enabled || u.deleted_at != 0) {
		dir_grant_revoke(r->dir, r->tenant.id, rt.grant_id, token_revoke_until(r), &err);
		http_resp_error(r->resp, 400, "invalid_grant", "the user can no longer sign in");
		return 0;
	}
	if (token_new_refresh(r, app, u.id, rt.grant_id, rt.scope, rt.auth_time, rt.amr,
			      rt.resource, refresh) != 0) {
		http_resp_error(r->resp, 503, "temporarily_unavailable",
				"could not issue a refresh token; try again");
		return -1;
	}
	memset(&g, 0, sizeof(g));
	g.app = app;
	g.user = &u;
	g.scope = scope != NULL ? scope : rt.scope;
	g.auth_time = rt.auth_time;
	g.amr = rt.amr;
	g.grant_id = rt.grant_id;
	g.id_token = tokens_scope_has(g.scope, "openid");
	g.refresh_token = refresh;
	g.resource = rt.resource;
	rc = tokens_respond(r, &g);
	/* sign-in log (issue 8): every app token grant is a row */
	if (rc == 0)
		idp_signin_log(r, u.id, NULL, app->id, "token", "success", "refresh_token", rt.amr);
	secret_wipe(refresh, sizeof(refresh));
	return rc == 0 ? 0 : -1;
}

static void token_refresh(struct idp_req *r, const struct dir_app *app)
{
	token_in_tx(r, app, token_refresh_tx);
}

static void token_client_credentials(struct idp_req *r, const struct dir_app *app)
{
	struct token_grant g;

	if (!(app->grants & DIR_GRANT_CLIENT_CREDENTIALS)) {
		http_resp_error(r->resp, 400, "unauthorized_client", "grant not allowed for this app");
		return;
	}
	const char *resource = http_param(&r->http->form, "resource", NULL);

	if (resource != NULL && !idp_resource_known(r, resource)) {
		http_resp_error(r->resp, 400, "invalid_target", "unknown resource");
		return;
	}
	memset(&g, 0, sizeof(g));
	g.app = app;
	g.scope = "";
	g.resource = resource;
	/* sign-in log (issue 8): an app's own grant, named by its client id */
	if (tokens_respond(r, &g) == 0) {
		char name[DIR_UPN_MAX];
		snprintf(name, sizeof(name), "app:%s", app->client_id);
		idp_signin_log(r, NULL, name, app->id, "token", "success", "client_credentials",
			       NULL);
	}
}

void token_post(struct idp_req *r)
{
	const char *grant, *dup = NULL;
	struct dir_app app;
	enum client_auth_result who;

	if (http_params_dups(&r->http->form, &dup) != 0) {
		http_resp_error(r->resp, 400, "invalid_request", "a parameter appears twice");
		return;
	}
	grant = http_param(&r->http->form, "grant_type", NULL);
	if (grant == NULL) {
		http_resp_error(r->resp, 400, "invalid_request", "grant_type is required");
		return;
	}
	if (strcmp(grant, "authorization_code") != 0 && strcmp(grant, "refresh_token") != 0 &&
	    strcmp(grant, "client_credentials") != 0) {
		http_resp_error(r->resp, 400, "unsupported_grant_type", NULL);
		return;
	}
	if ((who = client_auth(r, &app)) == CLIENT_AUTH_FAILED)
		return;
	if (strcmp(grant, "authorization_code") == 0) {
		token_code(r, &app);
	} else if (strcmp(grant, "refresh_token") == 0) {
		token_refresh(r, &app);
	} else if (strcmp(grant, "client_credentials") == 0) {
		if (who != CLIENT_AUTH_OK) {
			http_resp_error(r->resp, 401, "invalid_client",
					"client_credentials needs a confidential client");
			return;
		}
		token_client_credentials(r, &app);
	} else {
		http_resp_error(r->resp, 400, "unsupported_grant_type", NULL);
	}
}
