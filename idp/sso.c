/*
 * sso: session and CSRF cookies.
 */
#include "sso.h"

#include "log.h"
#include "rand.h"
#include "secret.h"

#include <stdio.h>
#include <string.h>

#define SSO_TOKEN_BYTES 32
#define SSO_TOKEN_LEN   64 /* room for 43 base64url characters */

static void sso_cookie_name(const struct idp_req *r, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "%sidp_%s", r->http->tls ? "__Secure-" : "", what);
}

static void sso_set_cookie(struct idp_req *r, const char *what, const char *value,
			   long long max_age, const char *samesite)
{
	char name[64], header[512];

	sso_cookie_name(r, what, name, sizeof(name));
	snprintf(header, sizeof(header), "%s=%s; Path=/%s/; Max-Age=%lld; HttpOnly; SameSite=%s%s",
		 name, value, r->tenant.name, max_age, samesite, r->http->tls ? "; Secure" : "");
	http_resp_header(r->resp, "Set-Cookie", header);
}

static int sso_get_cookie(struct idp_req *r, const char *what, char *out, size_t cap)
{
	char name[64];

	sso_cookie_name(r, what, name, sizeof(name));
	return http_cookie(http_header(r->http, "Cookie"), name, out, cap);
}

int sso_current(struct idp_req *r, struct dir_session *out)
{
	char cookie[SSO_TOKEN_LEN], hash[SECRET_SHA256_HEX];
	struct err err = {0};
	const struct idp_config *cfg = r->idp->cfg;

	if (sso_get_cookie(r, "session", cookie, sizeof(cookie)) != 0)
		return 0;
	secret_sha256_hex(cookie, hash);
	secret_wipe(cookie, sizeof(cookie));
	if (dir_session_get(r->dir, r->tenant.id, hash, out, &err) != 0)
		return 0;
	if (r->now >= out->expires_at || r->now - out->last_seen_at > cfg->session_idle) {
		dir_session_delete(r->dir, r->tenant.id, hash, &err);
		return 0;
	}
	if (r->now != out->last_seen_at)
		dir_session_touch(r->dir, r->tenant.id, hash, &err);
	return 1;
}

int sso_start(struct idp_req *r, const struct dir_user *user, const char *amr,
	      struct dir_session *out)
{
	char token[SSO_TOKEN_LEN];
	struct dir_session old;
	struct err err = {0};
	const char *ua = http_header(r->http, "User-Agent");

	/* a new sign-in never continues the old session id */
	if (sso_current(r, &old))
		dir_session_delete(r->dir, r->tenant.id, old.id_hash, &err);
	if (rand_token(token, sizeof(token), SSO_TOKEN_BYTES) != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	secret_sha256_hex(token, out->id_hash);
	snprintf(out->user_id, sizeof(out->user_id), "%s", user->id);
	snprintf(out->amr, sizeof(out->amr), "%s", amr);
	out->auth_time = r->now;
	out->expires_at = r->now + r->idp->cfg->session_max;
	snprintf(out->ip, sizeof(out->ip), "%s", r->http->client_ip);
	if (ua != NULL && strlen(ua) < sizeof(out->user_agent))
		snprintf(out->user_agent, sizeof(out->user_agent), "%s", ua);
	if (dir_session_create(r->dir, r->tenant.id, out, &err) != 0) {
		out->user_agent[0] = '\0'; /* an unprintable agent string: drop it */
		if (dir_session_create(r->dir, r->tenant.id, out, &err) != 0) {
			log_warnx("tenant %s: cannot create session: %s", r->tenant.name, err.msg);
			secret_wipe(token, sizeof(token));
			return -1;
		}
	}
	sso_set_cookie(r, "session", token, r->idp->cfg->session_max, "Lax");
	secret_wipe(token, sizeof(token));
	return 0;
}

void sso_end(struct idp_req *r)
{
	struct dir_session s;
	struct err err = {0};

	if (sso_current(r, &s))
		dir_session_delete(r->dir, r->tenant.id, s.id_hash, &err);
	sso_set_cookie(r, "session", "", 0, "Lax");
}

void sso_csrf_token(struct idp_req *r, char token[64])
{
	char cookie[SSO_TOKEN_LEN];

	if (sso_get_cookie(r, "csrf", cookie, sizeof(cookie)) != 0 ||
	    strlen(cookie) != 43) {
		if (rand_token(cookie, sizeof(cookie), SSO_TOKEN_BYTES) != 0) {
			token[0] = '\0';
			return;
		}
		sso_set_cookie(r, "csrf", cookie, 86400, "Strict");
	}
	idp_csrf_token(r, cookie, token);
}

int sso_csrf_valid(struct idp_req *r)
{
	char cookie[SSO_TOKEN_LEN];

	if (sso_get_cookie(r, "csrf", cookie, sizeof(cookie)) != 0)
		return 0;
	return idp_csrf_ok(r, cookie, http_param(&r->http->form, "csrf", NULL));
}
