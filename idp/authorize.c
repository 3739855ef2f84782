/*
 * authorize: /oauth2/authorize, where every sign-in starts and ends.
 *
 * The endpoint decides from the request and the browser's session alone:
 * no session (or prompt=login, or max_age passed) shows the sign-in page;
 * a session without a second factor that the tenant, app or user requires
 * shows the second-factor step; otherwise it issues a code.  The sign-in
 * forms only establish session state and send the browser back here, so
 * there is exactly one place that issues codes.
 *
 * Following RFC 9700: PKCE with S256 for every client, redirect URIs
 * compared exactly, the issuer in every authorization response (RFC 9207),
 * codes single-use and short-lived.
 */
#include "authorize.h"

#include "log.h"
#include "mfa_flow.h"
#include "pages.h"
#include "rand.h"
#include "risk.h"
#include "secret.h"
#include "sso.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const authz_known_scopes[] = {"openid", "profile", "email", "groups",
						 "roles", "offline_access"};

/* The authorization request's parameters, in the order they are carried. */
static const char *const authz_params[] = {"client_id",     "redirect_uri",          "response_type",
					   "scope",         "state",                 "nonce",
					   "code_challenge", "code_challenge_method", "prompt",
					   "max_age",       "login_hint",            "response_mode",
					   "resource"};

const char *authz_app_name(const struct authz *a)
{
	return a->app.name;
}

void authz_fail(struct idp_req *r, const struct authz *a, const char *error,
		const char *description)
{
	struct buf url;
	char iss[1200];
	char *s;

	buf_init(&url);
	buf_puts(&url, a->redirect_uri);
	buf_puts(&url, strchr(a->redirect_uri, '?') != NULL ? "&" : "?");
	buf_puts(&url, "error=");
	buf_urlenc(&url, error);
	if (description != NULL) {
		buf_puts(&url, "&error_description=");
		buf_urlenc(&url, description);
	}
	if (a->state != NULL) {
		buf_puts(&url, "&state=");
		buf_urlenc(&url, a->state);
	}
	idp_issuer(r, iss, sizeof(iss));
	buf_puts(&url, "&iss=");
	buf_urlenc(&url, iss);
	s = buf_take(&url, NULL);
	if (s == NULL) {
		page_error(r, 500, "Something went wrong", "The server could not answer.");
		return;
	}
	http_resp_redirect(r->resp, s);
	free(s);
}

static int authz_uri_registered(const struct dir_app *app, const char *uri)
{
	for (int i = 0; i < app->n_redirect_uris; i++)
		if (strcmp(app->redirect_uris[i], uri) == 0)
			return 1;
	return 0;
}

/* Keep the known scopes of the request, each once, space-separated. */
static void authz_scopes(const char *requested, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t k = 0; k < sizeof(authz_known_scopes) / sizeof(authz_known_scopes[0]); k++) {
		const char *want = authz_known_scopes[k], *p = requested;
		size_t n = strlen(want);
		while ((p = strstr(p, want)) != NULL) {
			if ((p == requested || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ')) {
				used += (size_t)snprintf(out + used, cap - used, "%s%s",
							 used ? " " : "", want);
				break;
			}
			p += n;
		}
		if (used >= cap)
			break;
	}
}

int authz_parse(struct idp_req *r, const struct http_params *params, struct authz *a)
{
	const char *dup = NULL, *response_type, *method, *prompt, *max_age, *mode;
	struct err err = {0};

	memset(a, 0, sizeof(*a));
	a->max_age = -1;
	if (http_params_dups(params, &dup) != 0) {
		page_error(r, 400, "This sign-in link is broken",
			   "A parameter of the request appears more than once.");
		return -1;
	}
	a->client_id = http_param(params, "client_id", NULL);
	a->redirect_uri = http_param(params, "redirect_uri", NULL);
	if (a->client_id == NULL || *a->client_id == '\0' ||
	    dir_app_get_by_client_id(r->dir, r->tenant.id, a->client_id, &a->app, &err) != 0) {
		page_error(r, 400, "This sign-in link is broken",
			   "The application that sent you here is not known to this organisation.");
		return -1;
	}
	if (a->redirect_uri == NULL || !authz_uri_registered(&a->app, a->redirect_uri)) {
		/* never redirect to an address the app did not register */
		page_error(r, 400, "This sign-in link is broken",
			   "The application asked to return to an address it has not registered.");
		return -1;
	}
	/* From here on errors go back to the app. */
	a->state = http_param(params, "state", NULL);
	a->scope = http_param(params, "scope", NULL);
	a->nonce = http_param(params, "nonce", NULL);
	a->code_challenge = http_param(params, "code_challenge", NULL);
	a->login_hint = http_param(params, "login_hint", NULL);
	a->resource = http_param(params, "resource", NULL);
	response_type = http_param(params, "response_type", NULL);
	method = http_param(params, "code_challenge_method", NULL);
	prompt = http_param(params, "prompt", NULL);
	max_age = http_param(params, "max_age", NULL);
	mode = http_param(params, "response_mode", NULL);
	if (a->state != NULL && strlen(a->state) > 1024)
		a->state = NULL; /* too long to echo safely */
	if (http_param(params, "request", NULL) != NULL) {
		authz_fail(r, a, "request_not_supported", "request objects are not supported");
		return -1;
	}
	if (http_param(params, "request_uri", NULL) != NULL) {
		authz_fail(r, a, "request_uri_not_supported", "request_uri is not supported");
		return -1;
	}
	if (response_type == NULL || strcmp(response_type, "code") != 0) {
		authz_fail(r, a, "unsupported_response_type", "only response_type=code is supported");
		return -1;
	}
	if (mode != NULL && strcmp(mode, "query") != 0) {
		authz_fail(r, a, "invalid_request", "only response_mode=query is supported");
		return -1;
	}
	if (!(a->app.grants & DIR_GRANT_AUTHORIZATION_CODE)) {
		authz_fail(r, a, "unauthorized_client", "this app may not use the code flow");
		return -1;
	}
	if (a->code_challenge == NULL) {
		authz_fail(r, a, "invalid_request", "PKCE is required: send code_challenge (S256)");
		return -1;
	}
	if (method == NULL || strcmp(method, "S256") != 0) {
		authz_fail(r, a, "invalid_request", "code_challenge_method must be S256");
		return -1;
	}
	if (strlen(a->code_challenge) != 43 ||
	    strspn(a->code_challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    43) {
		authz_fail(r, a, "invalid_request", "code_challenge must be 43 base64url characters");
		return -1;
	}
	if (a->resource != NULL && !idp_resource_known(r, a->resource)) {
		authz_fail(r, a, "invalid_target", "unknown resource");
		return -1;
	}
	if (a->nonce != NULL && strlen(a->nonce) > 255) {
		authz_fail(r, a, "invalid_request", "nonce longer than 255 characters");
		return -1;
	}
	if (max_age != NULL) {
		char *end;
		a->max_age = strtoll(max_age, &end, 10);
		if (*max_age == '\0' || *end != '\0' || a->max_age < 0 || a->max_age > 100000000) {
			authz_fail(r, a, "invalid_request", "max_age must be a number of seconds");
			return -1;
		}
	}
	if (prompt != NULL) {
		a->prompt_login = strstr(prompt, "login") != NULL;
		a->prompt_none = strcmp(prompt, "none") == 0;
		if (strstr(prompt, "none") != NULL && !a->prompt_none) {
			authz_fail(r, a, "invalid_request", "prompt=none cannot be combined");
			return -1;
		}
	}
	authz_scopes(a->scope != NULL ? a->scope : "", a->scope_granted, sizeof(a->scope_granted));
	return 0;
}

/* Append the request's parameters (all but those in skip) as a query string. */
static void authz_query(struct buf *b, const struct http_params *params, const char *skip)
{
	int first = 1;

	for (size_t i = 0; i < sizeof(authz_params) / sizeof(authz_params[0]); i++) {
		const char *v = http_param(params, authz_params[i], NULL);
		if (v == NULL || (skip != NULL && strcmp(authz_params[i], skip) == 0))
			continue;
		buf_puts(b, first ? "?" : "&");
		buf_puts(b, authz_params[i]);
		buf_puts(b, "=");
		buf_urlenc(b, v);
		first = 0;
	}
}

/* Where the request's parameters are: the query of a GET, the form of a POST. */
static const struct http_params *authz_source(const struct idp_req *r)
{
	return strcmp(r->http->method, "POST") == 0 ? &r->http->form : &r->http->query;
}

void authz_hidden(struct idp_req *r, struct buf *b)
{
	const struct http_params *params = authz_source(r);

	for (size_t i = 0; i < sizeof(authz_params) / sizeof(authz_params[0]); i++) {
		const char *v = http_param(params, authz_params[i], NULL);
		if (v == NULL)
			continue;
		buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", authz_params[i]);
		buf_html(b, v);
		buf_puts(b, "\">");
	}
}

int authz_continue_url(struct idp_req *r, char *out, size_t cap)
{
	struct buf url;
	char *s;
	size_t len;

	buf_init(&url);
	buf_printf(&url, "/%s/oauth2/authorize", r->tenant.name);
	authz_query(&url, authz_source(r), "prompt");
	s = buf_take(&url, &len);
	if (s == NULL || len >= cap) {
		free(s);
		return -1;
	}
	memcpy(out, s, len + 1);
	free(s);
	return 0;
}

void authz_continue(struct idp_req *r, const struct authz *a)
{
	char url[8192];

	(void)a;
	if (authz_continue_url(r, url, sizeof(url)) != 0) {
		page_error(r, 500, "Something went wrong", "The server could not answer.");
		return;
	}
	http_resp_redirect(r->resp, url);
}

void authz_login_page(struct idp_req *r, const struct authz *a, const char *error,
		      const char *username)
{
	struct buf *b = &r->resp->body;
	const char *hint = a != NULL ? a->login_hint : NULL;
	char csrf[64];

	sso_csrf_token(r, csrf);
	b->len = 0;
	page_begin(r, "Sign in", a != NULL ? a->redirect_uri : NULL);
	buf_puts(b, "<p class=\"app\">");
	if (a != NULL) {
		buf_puts(b, "to continue to ");
		buf_html(b, authz_app_name(a));
	} else {
		buf_puts(b, "to manage your account");
	}
	buf_puts(b, "</p>");
	if (error != NULL) {
		buf_puts(b, "<div class=\"error\" role=\"alert\">");
		buf_html(b, error);
		buf_puts(b, "</div>");
	}
	buf_printf(b, "<form method=\"post\" action=\"/%s/login\">", r->tenant.name);
	buf_puts(b, "<label for=\"username\">Email or username</label>"
		    "<input type=\"text\" id=\"username\" name=\"username\" "
		    "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
		    "required maxlength=\"255\" value=\"");
	buf_html(b, username != NULL ? username : hint != NULL ? hint : "");
	buf_puts(b, "\"");
	if (username == NULL && hint == NULL)
		buf_puts(b, " autofocus");
	buf_puts(b, "><label for=\"password\">Password</label>"
		    "<input type=\"password\" id=\"password\" name=\"password\" "
		    "autocomplete=\"current-password\" required maxlength=\"1024\"");
	if (username != NULL || hint != NULL)
		buf_puts(b, " autofocus");
	buf_puts(b, "><input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, csrf);
	buf_puts(b, "\">");
	if (a != NULL)
		authz_hidden(r, b);
	else
		buf_puts(b, "<input type=\"hidden\" name=\"return\" value=\"account\">");
	buf_puts(b, "<button type=\"submit\">Sign in</button></form>");
	page_end(r);
}

/* 1 if the user must prove a second factor for this app. */
static int authz_needs_mfa(const struct idp_req *r, const struct authz *a,
			   const struct dir_user *u)
{
	return r->tenant.mfa_required || a->app.mfa_required || u->mfa_required;
}

/* Issue a code for the session's user and send the browser back to the app. */
static void authz_issue_code(struct idp_req *r, const struct authz *a,
			     const struct dir_session *s)
{
	char code[64], iss[1200];
	struct dir_code c;
	struct buf url;
	struct err err = {0};
	char *loc;

	memset(&c, 0, sizeof(c));
	if (rand_token(code, sizeof(code), 32) != 0 || rand_uuid(c.grant_id) != 0) {
		page_error(r, 500, "Something went wrong", "The server could not answer.");
		return;
	}
	secret_sha256_hex(code, c.code_hash);
	snprintf(c.app_id, sizeof(c.app_id), "%s", a->app.id);
	snprintf(c.user_id, sizeof(c.user_id), "%s", s->user_id);
	snprintf(c.session_hash, sizeof(c.session_hash), "%s", s->id_hash);
	snprintf(c.redirect_uri, sizeof(c.redirect_uri), "%s", a->redirect_uri);
	snprintf(c.scope, sizeof(c.scope), "%s", a->scope_granted);
	snprintf(c.nonce, sizeof(c.nonce), "%s", a->nonce != NULL ? a->nonce : "");
	snprintf(c.code_challenge, sizeof(c.code_challenge), "%s", a->code_challenge);
	snprintf(c.amr, sizeof(c.amr), "%s", s->amr);
	snprintf(c.resource, sizeof(c.resource), "%s", a->resource != NULL ? a->resource : "");
	c.auth_time = s->auth_time;
	c.created_at = r->now;
	c.expires_at = r->now + r->idp->cfg->code_ttl;
	if (dir_code_create(r->dir, r->tenant.id, &c, &err) != 0) {
		log_error("tenant %s: store code: %s", r->tenant.name, err.msg);
		authz_fail(r, a, "server_error", "could not issue a code");
		return;
	}
	buf_init(&url);
	buf_puts(&url, a->redirect_uri);
	buf_puts(&url, strchr(a->redirect_uri, '?') != NULL ? "&code=" : "?code=");
	buf_puts(&url, code);
	if (a->state != NULL) {
		buf_puts(&url, "&state=");
		buf_urlenc(&url, a->state);
	}
	idp_issuer(r, iss, sizeof(iss));
	buf_puts(&url, "&iss=");
	buf_urlenc(&url, iss);
	secret_wipe(code, sizeof(code));
	loc = buf_take(&url, NULL);
	if (loc == NULL) {
		page_error(r, 500, "Something went wrong", "The server could not answer.");
		return;
	}
	http_resp_redirect(r->resp, loc);
	http_resp_header(r->resp, "Cache-Control", "no-store");
	free(loc);
	/* a code issued from a session older than this sign-in flow is SSO at work */
	if (r->now - (s->mfa_time > s->auth_time ? s->mfa_time : s->auth_time) > 30)
		idp_signin_log(r, s->user_id, NULL, a->app.id, "sso", "success", NULL, s->amr);
}

void authorize_get(struct idp_req *r)
{
	struct authz a;
	struct dir_session s;
	struct dir_user u;
	struct err err = {0};
	int have;

	if (authz_parse(r, authz_source(r), &a) != 0)
		return;
	have = sso_current(r, &s);
	if (have && dir_user_get(r->dir, r->tenant.id, s.user_id, &u, &err) == 0 &&
	    (!u.enabled || u.deleted_at != 0)) {
		sso_end(r); /* disabled since the session began */
		have = 0;
	}
	if (have && (a.prompt_login || (a.max_age >= 0 && r->now - s.auth_time > a.max_age)))
		have = 0;
	if (!have) {
		if (a.prompt_none) {
			authz_fail(r, &a, "login_required", "the user is not signed in");
			return;
		}
		authz_login_page(r, &a, NULL, NULL);
		return;
	}
	/* risk (issue 8): a session from a risky sign-in needs the second factor too */
	if (s.mfa_time == 0 && (authz_needs_mfa(r, &a, &u) ||
				risk_session_needs_mfa(r->dir, r->tenant.id, s.id_hash))) {
		if (a.prompt_none) {
			authz_fail(r, &a, "interaction_required", "a second factor is required");
			return;
		}
		mfa_flow_page(r, &a, &u, &s, NULL);
		return;
	}
	authz_issue_code(r, &a, &s);
}
