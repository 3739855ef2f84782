/*
 * logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 *
 * With an id_token_hint of this tenant for the signed-in user, the session
 * ends at once.  Without one, anyone could log a user out with a link, so
 * the user confirms on a page with a CSRF-protected form.  The browser goes
 * back to post_logout_redirect_uri only when it is registered for the app
 * named by the hint or by client_id.
 */
#include "keys.h"
#include "pages.h"
#include "sso.h"
#include "tokens.h"

#include <stdlib.h>
#include <string.h>

/* The id_token_hint's claims if it is one of ours (expired hints are fine). */
static json_t *logout_hint(struct idp_req *r, const char *hint)
{
	struct keyring *kr;
	struct jws_parsed p;
	struct err err = {0};
	char iss[1200];
	const char *tok_iss;
	json_t *claims = NULL;

	if (hint == NULL || (kr = keys_acquire(r->idp->keys, r->dir, r->tenant.id, r->now, &err)) == NULL)
		return NULL;
	if (jws_verify(hint, keyring_verifiers(kr), 1u << JWS_RS256 | 1u << JWS_ES256, &p, &err) ==
	    0) {
		idp_issuer(r, iss, sizeof(iss));
		tok_iss = json_string_value(json_object_get(p.claims, "iss"));
		if (tok_iss != NULL && strcmp(tok_iss, iss) == 0)
			claims = json_incref(p.claims);
		jws_parsed_clear(&p);
	}
	keyring_release(kr);
	return claims;
}

void logout_handle(struct idp_req *r)
{
	const struct http_params *q =
		strcmp(r->http->method, "POST") == 0 ? &r->http->form : &r->http->query;
	const char *hint = http_param(q, "id_token_hint", NULL);
	const char *client_id = http_param(q, "client_id", NULL);
	const char *redirect = http_param(q, "post_logout_redirect_uri", NULL);
	const char *state = http_param(q, "state", NULL);
	const char *confirm = http_param(&r->http->form, "confirm", NULL);
	json_t *claims = logout_hint(r, hint);
	struct dir_session s;
	struct dir_app app;
	struct err err = {0};
	int have = sso_current(r, &s), allowed_redirect = 0, hint_matches = 0;

	if (claims != NULL) {
		const char *aud = json_string_value(json_object_get(claims, "aud"));
		const char *sub = json_string_value(json_object_get(claims, "sub"));
		if (client_id == NULL)
			client_id = aud;
		else if (aud == NULL || strcmp(aud, client_id) != 0)
			client_id = NULL; /* the hint and client_id disagree: trust neither */
		hint_matches = have && sub != NULL && strcmp(sub, s.user_id) == 0;
	}
	if (redirect != NULL && client_id != NULL &&
	    dir_app_get_by_client_id(r->dir, r->tenant.id, client_id, &app, &err) == 0)
		for (int i = 0; i < app.n_redirect_uris; i++)
			allowed_redirect |= strcmp(app.redirect_uris[i], redirect) == 0;

	if (have && !hint_matches &&
	    !(confirm != NULL && strcmp(r->http->method, "POST") == 0 && sso_csrf_valid(r))) {
		char csrf[64];
		sso_csrf_token(r, csrf);
		page_begin(r, "Sign out?", NULL);
		buf_printf(&r->resp->body, "<p>Do you want to sign out of all apps of this "
					   "organisation?</p><form method=\"post\" "
					   "action=\"/%s/oauth2/logout\">",
			   r->tenant.name);
		buf_puts(&r->resp->body, "<input type=\"hidden\" name=\"confirm\" value=\"1\">"
					 "<input type=\"hidden\" name=\"csrf\" value=\"");
		buf_html(&r->resp->body, csrf);
		buf_puts(&r->resp->body, "\">");
		const char *fields[] = {"client_id", "post_logout_redirect_uri", "state"};
		const char *values[] = {client_id, redirect, state};
		for (int i = 0; i < 3; i++) {
			if (values[i] == NULL)
				continue;
			buf_printf(&r->resp->body, "<input type=\"hidden\" name=\"%s\" value=\"",
				   fields[i]);
			buf_html(&r->resp->body, values[i]);
			buf_puts(&r->resp->body, "\">");
		}
		buf_puts(&r->resp->body, "<button type=\"submit\">Sign out</button></form>");
		page_end(r);
		json_decref(claims);
		return;
	}
	if (have) {
		idp_signin_log(r, s.user_id, NULL, NULL, "logout", "success", NULL, NULL);
		sso_end(r);
	}
	json_decref(claims);
	if (allowed_redirect) {
		struct buf url;
		char *loc;
		buf_init(&url);
		buf_puts(&url, redirect);
		if (state != NULL) {
			buf_puts(&url, strchr(redirect, '?') != NULL ? "&state=" : "?state=");
			buf_urlenc(&url, state);
		}
		loc = buf_take(&url, NULL);
		if (loc != NULL) {
			http_resp_redirect(r->resp, loc);
			free(loc);
			return;
		}
	}
	page_begin(r, "You are signed out", NULL);
	buf_puts(&r->resp->body, "<p>You have signed out. You can close this window.</p>");
	page_end(r);
}
