/*
 * login: the password step of a sign-in (POST /{tenant}/login).
 *
 * A wrong password and an unknown name get the same answer in the same
 * time (the unknown name still pays for one argon2id hash); only someone
 * who knows the password learns that the account is disabled.  Every
 * attempt goes to the sign-in log with the reason the user is not told.
 */
#include "authorize.h"
#include "log.h"
#include "pages.h"
#include "passthru_glue.h"
#include "secret.h"
#include "sso.h"

#include <stdio.h>
#include <string.h>

#define LOGIN_GENERIC "Wrong username or password."

void login_post(struct idp_req *r)
{
	const char *username = http_param(&r->http->form, "username", NULL);
	const char *password = http_param(&r->http->form, "password", NULL);
	const char *ret = http_param(&r->http->form, "return", NULL);
	struct dir_session s;
	struct dir_user u;
	struct authz a, *ap = &a;
	struct err err = {0};
	int found, ok = 0;
	const char *reason;

	/* the account page signs in without an app; anything else is an authorize request */
	if (ret != NULL && strcmp(ret, "account") == 0 &&
	    http_param(&r->http->form, "client_id", NULL) == NULL) {
		memset(&a, 0, sizeof(a));
		ap = NULL;
	} else if (authz_parse(r, &r->http->form, &a) != 0) {
		return;
	}
	if (!sso_csrf_valid(r)) {
		idp_signin_log(r, NULL, username, a.app.id, "password", "failure",
			       "csrf token missing or wrong", NULL);
		r->resp->body.len = 0;
		r->resp->status = 400;
		authz_login_page(r, ap, "This form expired. Please sign in again.", username);
		return;
	}
	if (username == NULL || password == NULL || *username == '\0' || *password == '\0') {
		authz_login_page(r, ap, "Enter your username and password.", username);
		return;
	}
	if (strlen(username) >= DIR_UPN_MAX || strlen(password) > DIR_PASSWORD_MAX) {
		authz_login_page(r, ap, LOGIN_GENERIC, NULL);
		return;
	}
	found = dir_user_get_by_upn(r->dir, r->tenant.id, username, &u, &err) == 0;
	if (!found) {
		dir_password_burn(r->dir, password);
		reason = "unknown user";
	} else if (u.source == DIR_SOURCE_LDAP) {
		int locked = 0, expired = 0;
		int rc = passthru_glue_check(r, &u, password, &locked, &expired, &err);
		ok = rc == 0;
		reason = ok ? NULL : err.msg;
		if (rc == ERR_UNAVAILABLE || locked || expired) {
			idp_signin_log(r, u.id, username, a.app.id, "password",
				       locked ? "locked" : "failure", reason, NULL);
			authz_login_page(r, ap,
					 locked ? "Your account is locked at your organisation's "
						  "directory. Ask your administrator."
					 : expired ? "Your password has expired. Change it at your "
						     "organisation's directory, then sign in again."
						   : "Your organisation's directory cannot be reached. "
						     "Try again in a few minutes.",
					 username);
			return;
		}
	} else {
		ok = dir_user_check_password(r->dir, r->tenant.id, u.id, password, &err) == 0;
		reason = ok ? NULL : err.code == ERR_DENIED ? "wrong password" : err.msg;
	}
	if (!ok) {
		idp_signin_log(r, found ? u.id : NULL, username, a.app.id, "password", "failure",
			       reason, NULL);
		authz_login_page(r, ap, LOGIN_GENERIC, username);
		return;
	}
	if (!u.enabled) {
		idp_signin_log(r, u.id, username, a.app.id, "password", "failure",
			       "account disabled", "pwd");
		authz_login_page(r, ap,
				 "Your account is disabled. Ask your administrator to enable it.",
				 username);
		return;
	}
	if (sso_start(r, &u, "pwd", &s) != 0) {
		page_error(r, 503, "Something went wrong",
			   "Your sign-in could not be recorded. Try again in a moment.");
		return;
	}
	idp_signin_log(r, u.id, username, a.app.id, "password", "success", NULL, "pwd");
	if (ap == NULL) {
		char url[128];
		snprintf(url, sizeof(url), "/%s/account", r->tenant.name);
		http_resp_redirect(r->resp, url);
		return;
	}
	authz_continue(r, &a);
}
