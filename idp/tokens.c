/*
 * tokens: claims, signing and the token response.
 */
#include "tokens.h"

#include "authz.h"
#include "keys.h"
#include "log.h"
#include "rand.h"
#include "token_cache.h"

#include <stdlib.h>
#include <string.h>

int tokens_scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word);
	const char *p = scope;

	if (scope == NULL)
		return 0;
	while ((p = strstr(p, word)) != NULL) {
		if ((p == scope || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* "pwd otp mfa" -> ["pwd","otp","mfa"] */
static json_t *tokens_amr(const char *amr)
{
	json_t *arr = json_array();
	char copy[DIR_AMR_MAX], *save = NULL, *w;

	snprintf(copy, sizeof(copy), "%s", amr != NULL ? amr : "");
	for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		json_array_append_new(arr, json_string(w));
	return arr;
}

static int tokens_add_group(void *ctx, const struct dir_group *g)
{
	json_array_append_new(ctx, json_string(g->name));
	return 0;
}

/* Profile claims of the user that the granted scope allows. */
static void tokens_user_claims(struct idp_req *r, json_t *c, const struct token_grant *g)
{
	const struct dir_user *u = g->user;
	struct err err = {0};

	if (tokens_scope_has(g->scope, "profile")) {
		json_object_set_new(c, "name", json_string(u->display_name));
		if (u->given_name[0])
			json_object_set_new(c, "given_name", json_string(u->given_name));
		if (u->surname[0])
			json_object_set_new(c, "family_name", json_string(u->surname));
		json_object_set_new(c, "preferred_username", json_string(u->upn));
	}
	if (tokens_scope_has(g->scope, "email") && u->mail[0])
		json_object_set_new(c, "email", json_string(u->mail));
	if (tokens_scope_has(g->scope, "groups")) {
		json_t *groups = json_array();
		if (dir_member_of(r->dir, r->tenant.id, DIR_MEMBER_USER, u->id, tokens_add_group,
				  groups, &err) != 0)
			log_warnx("tenant %s: groups of %s: %s", r->tenant.name, u->id, err.msg);
		json_object_set_new(c, "groups", groups);
	}
	/* the names of the user's RBAC roles, for apps that authorize by role */
	if (tokens_scope_has(g->scope, "roles"))
		json_object_set_new(c, "roles", authz_role_names(r, u->id));
}

static char *tokens_mint(struct idp_req *r, const struct jws_key *key, const char *typ,
			 json_t *claims)
{
	struct err err = {0};
	char *t = jws_sign(key, typ, claims, &err);

	if (t == NULL)
		log_error("tenant %s: sign: %s", r->tenant.name, err.msg);
	return t;
}

int tokens_respond(struct idp_req *r, const struct token_grant *g)
{
	const struct idp_config *cfg = r->idp->cfg;
	enum jws_alg alg = jws_alg_parse(g->app->token_alg);
	char iss[1200], jti[DIR_ID_MAX], *at = NULL, *idt = NULL, *body = NULL;
	json_t *ac = NULL, *ic = NULL, *resp = NULL;
	struct keyring *kr;
	const struct jws_key *key;
	struct err err = {0};
	int rc = -1;

	if (alg == JWS_ALG_UNKNOWN)
		alg = JWS_RS256;
	kr = keys_acquire(r->idp->keys, r->dir, r->tenant.id, r->now, &err);
	if (kr == NULL || (key = keyring_signer(kr, alg)) == NULL || rand_uuid(jti) != 0) {
		log_error("tenant %s: keys: %s", r->tenant.name, err.msg);
		http_resp_error(r->resp, 500, "server_error", "signing keys unavailable");
		goto out;
	}
	idp_issuer(r, iss, sizeof(iss));

	/* RFC 9068 §2.2 */
	ac = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", iss, "sub",
		       g->user != NULL ? g->user->id : g->app->id, "aud",
		       g->resource != NULL && *g->resource ? g->resource : g->app->client_id,
		       "client_id", g->app->client_id, "iat", (json_int_t)r->now, "nbf",
		       (json_int_t)r->now, "exp", (json_int_t)(r->now + cfg->access_ttl), "jti",
		       jti, "tid", r->tenant.id);
	if (ac == NULL)
		goto fail;
	if (g->scope != NULL && *g->scope)
		json_object_set_new(ac, "scope", json_string(g->scope));
	if (g->user != NULL) {
		json_object_set_new(ac, "auth_time", json_integer(g->auth_time));
		json_object_set_new(ac, "amr", tokens_amr(g->amr));
		tokens_user_claims(r, ac, g);
	}
	if (g->grant_id != NULL)
		json_object_set_new(ac, "grant_id", json_string(g->grant_id));
	if ((at = tokens_mint(r, key, "at+jwt", ac)) == NULL)
		goto fail;

	if (g->id_token && g->user != NULL) {
		char ijti[DIR_ID_MAX];
		if (rand_uuid(ijti) != 0)
			goto fail;
		ic = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:o}", "iss", iss,
			       "sub", g->user->id, "aud", g->app->client_id, "iat",
			       (json_int_t)r->now, "nbf", (json_int_t)r->now, "exp",
			       (json_int_t)(r->now + cfg->id_ttl), "jti", ijti, "tid",
			       r->tenant.id, "auth_time", (json_int_t)g->auth_time, "amr",
			       tokens_amr(g->amr));
		if (ic == NULL)
			goto fail;
		if (g->nonce != NULL && *g->nonce)
			json_object_set_new(ic, "nonce", json_string(g->nonce));
		tokens_user_claims(r, ic, g);
		if ((idt = tokens_mint(r, key, NULL, ic)) == NULL)
			goto fail;
	}
	resp = json_pack("{s:s, s:s, s:I}", "access_token", at, "token_type", "Bearer",
			 "expires_in", (json_int_t)cfg->access_ttl);
	if (resp == NULL)
		goto fail;
	if (g->scope != NULL && *g->scope)
		json_object_set_new(resp, "scope", json_string(g->scope));
	if (idt != NULL)
		json_object_set_new(resp, "id_token", json_string(idt));
	if (g->refresh_token != NULL)
		json_object_set_new(resp, "refresh_token", json_string(g->refresh_token));
	if ((body = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto fail;
	buf_puts(&r->resp->body, body);
	http_resp_header(r->resp, "Cache-Control", "no-store");
	http_resp_header(r->resp, "Pragma", "no-cache");
	rc = 0;
	goto out;
fail:
	http_resp_error(r->resp, 500, "server_error", "could not issue tokens");
out:
	keyring_release(kr);
	json_decref(ac);
	json_decref(ic);
	json_decref(resp);
	free(at);
	free(idt);
	free(body);
	return rc;
}

int tokens_check_access(struct idp_req *r, const char *token, struct jws_parsed *p,
			struct err *err)
{
	struct keyring *kr = keys_acquire(r->idp->keys, r->dir, r->tenant.id, r->now, err);
	struct jws_expect e;
	char iss[1200], kid[JWS_KID_MAX];
	int rc, revoked, cached;

	memset(p, 0, sizeof(*p));
	if (kr == NULL)
		return err_set(err, ERR_UNAVAILABLE, "signing keys unavailable");
	if (token_cache_get(r->tenant.id, token, p, kid)) {
		/* verified lately by this thread: by a key that must still be published */
		const struct jws_keyset *ks = keyring_verifiers(kr);
		for (size_t i = 0; i < ks->n && p->key == NULL; i++)
			if (jws_key_alg(ks->keys[i]) == p->alg &&
			    strcmp(jws_key_kid(ks->keys[i]), kid) == 0)
				p->key = ks->keys[i];
		if (p->key == NULL)
			jws_parsed_clear(p);
	}
	cached = p->key != NULL;
	rc = cached ? 0
		    : jws_verify(token, keyring_verifiers(kr), 1u << JWS_RS256 | 1u << JWS_ES256,
				 p, err);
	if (rc == 0 && !cached)
		token_cache_put(r->tenant.id, token, p);
	keyring_release(kr);
	if (rc != 0)
		return ERR_DENIED;
	idp_issuer(r, iss, sizeof(iss));
	memset(&e, 0, sizeof(e));
	e.iss = iss;
	e.typ = "at+jwt";
	e.now = r->now;
	e.leeway = 0;
	if (jws_check_claims(p, &e, err) != 0) {
		jws_parsed_clear(p);
		return ERR_DENIED;
	}
	revoked = dir_token_revoked(r->dir, r->tenant.id,
				    json_string_value(json_object_get(p->claims, "jti")),
				    json_string_value(json_object_get(p->claims, "grant_id")), err);
	if (revoked != 0) {
		jws_parsed_clear(p);
		return revoked > 0 ? err_set(err, ERR_DENIED, "token revoked") : ERR_UNAVAILABLE;
	}
	return 0;
}
