/*
 * fuzz_world: a whole idp in one process, without sockets, for the
 * harnesses that fuzz request handling (fuzz_http_request, fuzz_admin_json).
 *
 * The world is built once per process in a temp directory (under $TMPDIR,
 * else /dev/shm, else /tmp): a real key file, a real config file loaded by
 * idp_config_load(), a real SQLite store with one tenant ("acme"), users,
 * a group, apps, role assignments, and the idp's context exactly as
 * idp_main.c builds it.  Requests go through http_serve_memory(), i.e. the
 * same query and form parsing the server does, then idp_handle().
 *
 * The credentials a fuzzer cannot guess (a session cookie, CSRF token,
 * access tokens, a fresh authorization code and its PKCE verifier, client
 * secrets) are written in inputs as placeholders and filled in just before
 * the request runs, so that mutated inputs reach the code behind
 * authentication.  The world re-mints a credential an input used up
 * (a logout, a revoked token, a rotated refresh token).
 *
 *   @TENANT@   acme              @CLIENT@  confidential app's client_id
 *   @SECRET@   its secret        @BASIC@   "Basic base64(client:secret)"
 *   @PUBLIC@   a public app      @MFACLIENT@ an app that requires MFA
 *   @REDIRECT@ its redirect URI, percent-encoded (all three apps share it)
 *   @SESSION@  alice's session cookie value
 *   @CSRF@     a CSRF cookie     @CSRFTOKEN@ the form token bound to it
 *   @ADMIN@    an access token for the admin API (Owner at /)
 *   @ACCESS@   alice's access token (openid profile)
 *   @REFRESH@  a live refresh token of alice's
 *   @CODE@     a fresh authorization code   @VERIFIER@ its PKCE verifier
 *   @CHALLENGE@ the S256 challenge of @VERIFIER@
 *   @USER@ @GROUP@ @APP@ @ROLE@ @ASSIGNMENT@  ids of objects fuzzing may change
 */
#ifndef IDP_FUZZ_WORLD_H
#define IDP_FUZZ_WORLD_H

#include "dir.h"
#include "http.h"
#include "idp.h"
#include "idp_config.h"

struct fuzz_world {
	struct idp idp;
	struct idp_config cfg;
	char root[512];
	struct dir_tenant tenant;
	char alice_id[DIR_ID_MAX];
	char bob_id[DIR_ID_MAX];
	char group_id[DIR_ID_MAX];
	char web_client[DIR_ID_MAX], web_secret[64];
	char pub_client[DIR_ID_MAX];
	char mfa_client[DIR_ID_MAX];
	char svc_client[DIR_ID_MAX], svc_secret[64];
	char victim_app_id[DIR_ID_MAX];
	char role_id[DIR_ID_MAX];
	char assignment_id[DIR_ID_MAX];
	char session[64], csrf[64], csrf_token[64];
	char admin_token[4096], admin_jti[64];
	char access_token[4096], access_jti[64];
	char refresh[128];
	char code[128], verifier[64], challenge[64];
};

/* The process's world, built at the first call; aborts if it cannot be. */
struct fuzz_world *fuzz_world_get(void);

/*
 * Fill the placeholders of text (len bytes, may hold NULs) with live
 * values, minting any that was used up.  Returns a NUL-terminated heap
 * copy (caller frees) and its length in *outlen.
 */
char *fuzz_world_expand(struct fuzz_world *w, const char *text, size_t len, size_t *outlen);

/*
 * Run one request (as http_serve_memory does) and check the response
 * against the properties every response must have: a status in 100..599,
 * never 500, JSON bodies that are JSON, HTML that never holds the marker
 * "<xss>" unescaped, redirects only to the idp itself or a registered
 * redirect URI, cookies HttpOnly and SameSite, and no password hash.
 * resp is initialized here; the caller frees it.
 */
void fuzz_world_serve(struct fuzz_world *w, const char *method, const char *uri,
                      const struct http_param *headers, size_t nheaders, const char *body,
                      size_t body_len, struct http_resp *resp);

/*
 * Undo what would stop later inputs from reaching the admin API: deny
 * assignments a fuzzed request created.  Cheap when there is nothing to do.
 */
void fuzz_world_tidy(struct fuzz_world *w);

#endif
