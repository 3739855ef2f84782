/*
 * account: a signed-in user's own page (GET/POST /{tenant}/account): set up
 * an authenticator app, get new recovery codes, remove the authenticator to
 * enroll another.
 *
 * It rides on the same SSO session as every app.  Changing the second
 * factor (new codes, removal) needs it proved within the last ten minutes:
 * a stolen session cookie alone must not be able to swap the victim's
 * authenticator for the thief's.
 */
#include "authorize.h"
#include "log.h"
#include "mfa_flow.h"
#include "pages.h"
#include "risk.h"
#include "sso.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ACCOUNT_FRESH_MFA 600

static void account_form_start(struct idp_req *r, const char *action, const char *csrf)
{
	struct buf *b = &r->resp->body;

	buf_printf(b, "<form method=\"post\" action=\"/%s/account\">", r->tenant.name);
	buf_printf(b, "<input type=\"hidden\" name=\"action\" value=\"%s\">", action);
	buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, csrf);
	buf_puts(b, "\">");
}

static void account_page(struct idp_req *r, const struct dir_user *u, const char *notice,
			 const char *error)
{
	struct buf *b = &r->resp->body;
	struct mfa_state st;
	struct err err = {0};
	char csrf[64], when[32];
	struct tm tm;
	time_t t;

	if (mfa_state(r->dir, r->tenant.id, u->id, r->now, &st, &err) != 0) {
		page_error(r, 503, "Something went wrong", "Try again in a moment.");
		return;
	}
	sso_csrf_token(r, csrf);
	b->len = 0;
	page_begin(r, "Your account", NULL);
	if (notice != NULL) {
		buf_puts(b, "<p role=\"status\">");
		buf_html(b, notice);
		buf_puts(b, "</p>");
	}
	if (error != NULL) {
		buf_puts(b, "<div class=\"error\" role=\"alert\">");
		buf_html(b, error);
		buf_puts(b, "</div>");
	}
	buf_puts(b, "<dl><dt>Name</dt><dd>");
	buf_html(b, u->display_name[0] ? u->display_name : u->upn);
	buf_puts(b, "</dd><dt>Sign-in name</dt><dd>");
	buf_html(b, u->upn);
	buf_puts(b, "</dd><dt>Authenticator</dt><dd id=\"mfa-state\">");
	if (st.enrolled) {
		t = (time_t)st.created_at;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		buf_printf(b, "On, since %s; %d recovery code%s left", when, st.recovery_left,
			   st.recovery_left == 1 ? "" : "s");
	} else {
		buf_puts(b, "Off");
	}
	buf_puts(b, "</dd></dl>");
	if (st.enrolled) {
		account_form_start(r, "regenerate", csrf);
		buf_puts(b, "<button type=\"submit\" id=\"regenerate\">New recovery codes</button>"
			    "</form>");
		account_form_start(r, "remove", csrf);
		buf_puts(b, "<button type=\"submit\" class=\"link\" id=\"remove\">Remove the "
			    "authenticator app</button></form>");
	} else {
		account_form_start(r, "enroll-begin", csrf);
		buf_puts(b, "<button type=\"submit\" id=\"enroll\">Set up an authenticator "
			    "app</button></form>");
	}
	buf_printf(b, "<p class=\"foot\"><a href=\"/%s/oauth2/logout\" id=\"signout\">Sign out"
		      "</a></p>",
		   r->tenant.name);
	page_end(r);
}

/* Ask for a code before a change to the factor; the form comes back here. */
static void account_stepup_page(struct idp_req *r, const char *then, const char *error)
{
	struct buf *b = &r->resp->body;
	char csrf[64];

	sso_csrf_token(r, csrf);
	b->len = 0;
	page_begin(r, "Confirm it is you", NULL);
	buf_puts(b, "<p>Enter a code from your authenticator app to continue.</p>");
	if (error != NULL) {
		buf_puts(b, "<div class=\"error\" role=\"alert\">");
		buf_html(b, error);
		buf_puts(b, "</div>");
	}
	account_form_start(r, "stepup", csrf);
	buf_puts(b, "<input type=\"hidden\" name=\"then\" value=\"");
	buf_html(b, then);
	buf_puts(b, "\"><label for=\"code\">Code</label><input type=\"text\" id=\"code\" "
		    "name=\"code\" class=\"code\" inputmode=\"numeric\" "
		    "autocomplete=\"one-time-code\" maxlength=\"10\" required autofocus>"
		    "<button type=\"submit\">Continue</button></form>");
	page_end(r);
}

/* The session's user, or NULL with the sign-in page made. */
static int account_user(struct idp_req *r, struct dir_session *s, struct dir_user *u)
{
	struct err err = {0};

	if (sso_current(r, s) && dir_user_get(r->dir, r->tenant.id, s->user_id, u, &err) == 0 &&
	    u->enabled && u->deleted_at == 0) {
		/* a session the risk policy stepped up is not trusted until the factor is proved */
		if (s->mfa_time == 0 && risk_session_needs_mfa(r->dir, r->tenant.id, s->id_hash)) {
			page_error(r, 403, "A second factor is needed",
				   "This sign-in looked unusual, so it needs your authenticator "
				   "code: sign in to one of your apps, which will ask for it, then "
				   "come back.");
			return -1;
		}
		return 0;
	}
	authz_login_page(r, NULL, NULL, NULL);
	return -1;
}

void account_get(struct idp_req *r)
{
	struct dir_session s;
	struct dir_user u;

	if (account_user(r, &s, &u) == 0)
		account_page(r, &u, NULL, NULL);
}

/* Run a change that needs a fresh second factor: regenerate or remove. */
static void account_sensitive(struct idp_req *r, const struct dir_user *u, const char *action)
{
	struct mfa_recovery_codes codes;
	struct err err = {0};
	char next[128];

	if (strcmp(action, "regenerate") == 0) {
		memset(&codes, 0, sizeof(codes));
		if (mfa_recovery_regenerate(r->idp->mfa, r->dir, r->tenant.id, u->id, &codes,
					    &err) != 0) {
			account_page(r, u, NULL, "No authenticator is set up.");
			return;
		}
		snprintf(next, sizeof(next), "/%s/account", r->tenant.name);
		mfa_flow_codes_page(r, &codes, next);
		mfa_recovery_codes_clear(&codes);
		return;
	}
	if (mfa_remove(r->dir, r->tenant.id, u->id, &err) != 0) {
		account_page(r, u, NULL, "The authenticator could not be removed.");
		return;
	}
	idp_signin_log(r, u->id, u->upn, NULL, "enroll", "success", "authenticator removed",
		       NULL);
	account_page(r, u, "The authenticator app is removed. Set up a new one below.", NULL);
}

void account_post(struct idp_req *r)
{
	const char *action = http_param(&r->http->form, "action", NULL);
	const char *code = http_param(&r->http->form, "code", NULL);
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct dir_session s;
	struct dir_user u;
	struct err err = {0};
	char why[160], next[128];
	int rc;

	if (account_user(r, &s, &u) != 0)
		return;
	if (!sso_csrf_valid(r) || action == NULL) {
		r->resp->status = 400;
		account_page(r, &u, NULL, "This form expired. Please try again.");
		return;
	}
	memset(&res, 0, sizeof(res));
	if (strcmp(action, "enroll-begin") == 0) {
		mfa_flow_enroll_form(r, &u, "/account", NULL, NULL);
	} else if (strcmp(action, "enroll") == 0) {
		memset(&codes, 0, sizeof(codes));
		rc = code == NULL ? ERR_DENIED
				  : mfa_enroll_confirm(r->idp->mfa, r->dir, r->tenant.id, u.id, code,
						       &res, &codes, &err);
		if (rc == 0) {
			idp_signin_log(r, u.id, u.upn, NULL, "enroll", "success", NULL, "pwd otp");
			mfa_flow_proved(r, &s, 0);
			snprintf(next, sizeof(next), "/%s/account", r->tenant.name);
			mfa_flow_codes_page(r, &codes, next);
		} else {
			idp_signin_log(r, u.id, u.upn, NULL, "enroll", "failure",
				       mfa_status_name(res.status), "pwd");
			mfa_flow_enroll_form(r, &u, "/account", NULL,
					     mfa_flow_refusal(&res, why, sizeof(why)));
		}
		mfa_recovery_codes_clear(&codes);
	} else if (strcmp(action, "regenerate") == 0 || strcmp(action, "remove") == 0) {
		if (s.mfa_time == 0 || r->now - s.mfa_time > ACCOUNT_FRESH_MFA)
			account_stepup_page(r, action, NULL);
		else
			account_sensitive(r, &u, action);
	} else if (strcmp(action, "stepup") == 0) {
		const char *then = http_param(&r->http->form, "then", NULL);
		rc = code == NULL ? ERR_DENIED
				  : mfa_verify(r->idp->mfa, r->dir, r->tenant.id, u.id, code, &res,
					       &err);
		idp_signin_log(r, u.id, u.upn, NULL, "mfa", rc == 0 ? "success" : "failure",
			       rc == 0 ? NULL : mfa_status_name(res.status), "pwd otp");
		if (rc != 0) {
			account_stepup_page(r, then != NULL ? then : "",
					    mfa_flow_refusal(&res, why, sizeof(why)));
			return;
		}
		mfa_flow_proved(r, &s, 0);
		if (then != NULL && (strcmp(then, "regenerate") == 0 || strcmp(then, "remove") == 0))
			account_sensitive(r, &u, then);
		else
			account_page(r, &u, NULL, NULL);
	} else {
		account_page(r, &u, NULL, "Unknown action.");
	}
}
