/*
 * oidc_meta: the discovery document (OpenID Connect Discovery 1.0) and the
 * JWKS (RFC 7517) of a tenant.
 */
#include "idp.h"

#include "keys.h"
#include "log.h"

#include <jansson.h>
#include <stdlib.h>

void oidc_discovery(struct idp_req *r)
{
	char iss[1200], authz[1200], token[1200], userinfo[1200], jwks[1200], logout[1200],
		introspect[1200], revoke[1200];
	json_t *doc;
	char *s;

	idp_issuer(r, iss, sizeof(iss));
	idp_url(r, "/oauth2/authorize", authz, sizeof(authz));
	idp_url(r, "/oauth2/token", token, sizeof(token));
	idp_url(r, "/oidc/userinfo", userinfo, sizeof(userinfo));
	idp_url(r, "/discovery/keys", jwks, sizeof(jwks));
	idp_url(r, "/oauth2/logout", logout, sizeof(logout));
	idp_url(r, "/oauth2/introspect", introspect, sizeof(introspect));
	idp_url(r, "/oauth2/revoke", revoke, sizeof(revoke));
	doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
		" s:[s], s:[s], s:[s,s,s], s:[s], s:[s,s], s:[s,s,s], s:[s,s], s:[s,s], s:[s],"
		" s:[s,s,s,s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s], s:b, s:b, s:b, s:b}",
		"issuer", iss, "authorization_endpoint", authz, "token_endpoint", token,
		"userinfo_endpoint", userinfo, "jwks_uri", jwks, "end_session_endpoint", logout,
		"introspection_endpoint", introspect, "revocation_endpoint", revoke,
		"response_types_supported", "code", "response_modes_supported", "query",
		"grant_types_supported", "authorization_code", "refresh_token",
		"client_credentials", "subject_types_supported", "public",
		"id_token_signing_alg_values_supported", "RS256", "ES256",
		"token_endpoint_auth_methods_supported", "client_secret_basic",
		"client_secret_post", "none", "introspection_endpoint_auth_methods_supported",
		"client_secret_basic", "client_secret_post",
		"revocation_endpoint_auth_methods_supported", "client_secret_basic",
		"client_secret_post", "code_challenge_methods_supported", "S256",
		"scopes_supported", "openid", "profile", "email", "groups", "roles", "offline_access",
		"claims_supported", "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "tid", "amr",
		"auth_time", "nonce", "name", "given_name", "family_name", "email",
		"preferred_username", "roles", "authorization_response_iss_parameter_supported", 1,
		"request_parameter_supported", 0, "request_uri_parameter_supported", 0,
		"claims_parameter_supported", 0);
	s = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (s == NULL) {
		http_resp_error(r->resp, 500, "server_error", NULL);
		return;
	}
	buf_puts(&r->resp->body, s);
	free(s);
	http_resp_header(r->resp, "Cache-Control", "public, max-age=3600");
	http_resp_header(r->resp, "Access-Control-Allow-Origin", "*");
}

void oidc_jwks(struct idp_req *r)
{
	struct err err = {0};
	struct keyring *kr = keys_acquire(r->idp->keys, r->dir, r->tenant.id, r->now, &err);

	if (kr == NULL) {
		log_error("tenant %s: keys: %s", r->tenant.name, err.msg);
		http_resp_error(r->resp, 503, "temporarily_unavailable", "signing keys unavailable");
		return;
	}
	buf_puts(&r->resp->body, keyring_jwks(kr));
	keyring_release(kr);
	/* short enough that a rotation reaches caches well before old keys go */
	http_resp_header(r->resp, "Cache-Control", "public, max-age=300");
	http_resp_header(r->resp, "Access-Control-Allow-Origin", "*");
}
