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
#include "risk.h"
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
	int found, ok = 0, step_up, failed;
	const char *reason;
	struct risk_attempt att;
	struct risk_verdict v;
	char until[32], msg[160];

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
	/* risk (issue 8): a locked name is refused before any password is looked at */
	idp_risk_attempt(r, found ? u.id : NULL, username, a.app.id, &att);
	risk_begin(r->idp->risk, &att, &v);
	if (risk_precheck(r->idp->risk, r->dir, &att, &v, &err) != 0)
		log_warnx("tenant %s: lockout check: %s", r->tenant.name, err.msg);
	if (v.decision == RISK_LOCKED) {
		/* locked_until 0: refused for the attempts under way, not locked (risk.h) */
		idp_signin_risk(r, found ? u.id : NULL, username, a.app.id, "password", "locked",
				v.locked_until != 0 ? "too many failed passwords for this name"
						    : "too many password attempts for this name at once",
				NULL, RISK_EV_LOCKED, &v);
		if (v.locked_until != 0)
			snprintf(msg, sizeof(msg),
				 "Too many failed sign-ins with this name. Try again after %s, or "
				 "ask your administrator.",
				 risk_hhmm(v.locked_until, until, sizeof(until)));
		else
			snprintf(msg, sizeof(msg),
				 "Too many sign-ins with this name at once. Try again in a moment.");
		authz_login_page(r, ap, msg, username);
		goto out;
	}
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
			goto out;
		}
	} else {
		ok = dir_user_check_password(r->dir, r->tenant.id, u.id, password, &err) == 0;
		reason = ok ? NULL : err.code == ERR_DENIED ? "wrong password" : err.msg;
	}
	if (!ok) {
		idp_signin_risk(r, found ? u.id : NULL, username, a.app.id, "password", "failure",
				reason, NULL, RISK_EV_PASSWORD_FAILED, &v);
		authz_login_page(r, ap, LOGIN_GENERIC, username);
		goto out;
	}
	if (!u.enabled) {
		idp_signin_log(r, u.id, username, a.app.id, "password", "failure",
			       "account disabled", "pwd");
		authz_login_page(r, ap,
				 "Your account is disabled. Ask your administrator to enable it.",
				 username);
		goto out;
	}
	/* risk (issue 8): judge the sign-in; the tenant's policy may step it up or block it */
	if (risk_assess(r->idp->risk, r->dir, &att, &v, &err) != 0)
		log_warnx("tenant %s: risk assessment of %s: %s", r->tenant.name, u.id, err.msg);
	if (v.decision == RISK_BLOCK) {
		idp_signin_risk(r, u.id, username, a.app.id, "password", "blocked", v.why, "pwd",
				RISK_EV_PASSWORD_OK, &v);
		authz_login_page(r, ap,
				 "This sign-in looks unusual and was blocked. Ask your administrator "
				 "for help.",
				 username);
		goto out;
	}
	/*
	 * A stepped-up session is made together with its mark, in one
	 * transaction: a session without the mark would skip the second factor.
	 */
	step_up = v.decision == RISK_STEP_UP;
	failed = step_up && dir_begin(r->dir, &err) != 0;
	if (!failed)
		failed = sso_start(r, &u, "pwd", &s) != 0 ||
			 (step_up &&
			  risk_mark_session(r->dir, r->tenant.id, s.id_hash, &v, r->now, &err) != 0);
	if (step_up && !failed && dir_commit(r->dir, &err) != 0)
		failed = 1;
	else if (step_up && failed)
		dir_rollback(r->dir);
	if (failed) {
		/* the cookie just set names no session now */
		page_error(r, 503, "Something went wrong",
			   "Your sign-in could not be recorded. Try again in a moment.");
		goto out;
	}
	idp_signin_risk(r, u.id, username, a.app.id, "password", "success",
			v.decision == RISK_STEP_UP ? "second factor required by risk policy" : NULL,
			"pwd", RISK_EV_PASSWORD_OK, &v);
	if (ap == NULL) {
		char url[128];
		snprintf(url, sizeof(url), "/%s/account", r->tenant.name);
		http_resp_redirect(r->resp, url);
		goto out;
	}
	authz_continue(r, &a);
out:
	/* the outcome is recorded: this attempt no longer counts as under way */
	risk_done(r->idp->risk, &v);
}
