/*
 * mfa_flow: the second factor in the sign-in, over the mfa library.
 *
 * The session already holds the password step (amr "pwd").  This step
 * adds "otp mfa" and the time of the proof; /authorize then issues the
 * code.  A user whom policy requires to use a second factor and who has
 * none is enrolled right here, after the password, and sees the recovery
 * codes once before going on.  Every attempt goes to the sign-in log.
 */
#include "mfa_flow.h"

#include "log.h"
#include "pages.h"
#include "risk.h"
#include "sso.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *mfa_flow_refusal(const struct mfa_result *res, char *buf, size_t cap)
{
	struct tm tm;
	time_t until = (time_t)res->locked_until;

	switch (res->status) {
	case TOTP_REPLAYED:
		return "That code was already used. Wait for the next one in your app.";
	case TOTP_LOCKED:
		gmtime_r(&until, &tm);
		snprintf(buf, cap,
			 "Too many wrong codes. Try again after %02d:%02d UTC, or ask your "
			 "administrator.",
			 tm.tm_hour, tm.tm_min);
		return buf;
	case TOTP_NOT_ENROLLED:
		return "No authenticator app is set up for your account.";
	default:
		if (res->locked_until != 0) {
			gmtime_r(&until, &tm);
			snprintf(buf, cap,
				 "That code is not right, and too many were: try again after "
				 "%02d:%02d UTC.",
				 tm.tm_hour, tm.tm_min);
			return buf;
		}
		return "That code is not right. Check the time on your phone and try again.";
	}
}

void mfa_flow_proved(struct idp_req *r, const struct dir_session *s, int recovery)
{
	struct err err = {0};

	(void)recovery;
	/* RFC 8176: otp for a one-time code (a recovery code is one too), mfa for two factors */
	if (dir_session_update_auth(r->dir, r->tenant.id, s->id_hash, "pwd otp mfa", 0, r->now,
				    &err) != 0)
		log_warnx("tenant %s: session update: %s", r->tenant.name, err.msg);
}

static void mfa_flow_hidden_authz(struct idp_req *r, struct buf *b)
{
	authz_hidden(r, b);
}

int mfa_flow_enroll_form(struct idp_req *r, const struct dir_user *u, const char *action,
			 void (*hidden)(struct idp_req *r, struct buf *b), const char *error)
{
	struct mfa_enrollment e;
	struct buf *b = &r->resp->body;
	struct err err = {0};
	char csrf[64];

	memset(&e, 0, sizeof(e));
	/* after a mistyped first code, the same secret: the app has it already */
	if ((error == NULL ||
	     mfa_enroll_show(r->idp->mfa, r->dir, r->tenant.id, u->id, &e, &err) != 0) &&
	    mfa_enroll_begin(r->idp->mfa, r->dir, r->tenant.id, u->id, &e, &err) != 0) {
		mfa_enrollment_clear(&e);
		log_warnx("tenant %s: enrollment of %s: %s", r->tenant.name, u->id, err.msg);
		page_error(r, err.code == ERR_EXISTS ? 409 : 503, "Cannot set up an authenticator",
			   err.code == ERR_EXISTS ? "An authenticator app is already set up."
						  : "Try again in a moment.");
		return -1;
	}
	sso_csrf_token(r, csrf);
	b->len = 0;
	page_begin(r, "Set up your authenticator app", NULL);
	buf_puts(b, "<p>Your organisation asks for a second step at sign-in. Scan this code "
		    "with an authenticator app (Google Authenticator, Microsoft Authenticator, "
		    "1Password, FreeOTP&hellip;), then enter the code it shows.</p>");
	if (error != NULL) {
		buf_puts(b, "<div class=\"error\" role=\"alert\">");
		buf_html(b, error);
		buf_puts(b, "</div>");
	}
	buf_puts(b, "<div class=\"qr\" aria-hidden=\"true\">");
	buf_add(b, e.qr_svg, e.qr_svg_len); /* made by qrsvg from our own URI: no input in it */
	buf_puts(b, "</div><p>Or type this key into the app:</p><p class=\"secret\" id=\"secret\">");
	buf_html(b, e.secret_b32);
	buf_puts(b, "</p><p class=\"foot\"><a id=\"otpauth\" href=\"");
	buf_html(b, e.uri);
	buf_puts(b, "\">Open in an authenticator app on this device</a></p>");
	buf_printf(b, "<form method=\"post\" action=\"/%s%s\">", r->tenant.name, action);
	buf_puts(b, "<label for=\"code\">Code from the app</label><input type=\"text\" id=\"code\" "
		    "name=\"code\" class=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
		    "pattern=\"[0-9 ]{6,10}\" maxlength=\"10\" required autofocus>"
		    "<input type=\"hidden\" name=\"action\" value=\"enroll\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, csrf);
	buf_puts(b, "\">");
	if (hidden != NULL)
		hidden(r, b);
	buf_puts(b, "<button type=\"submit\">Confirm</button></form>");
	page_end(r);
	mfa_enrollment_clear(&e);
	return 0;
}

void mfa_flow_codes_page(struct idp_req *r, const struct mfa_recovery_codes *codes,
			 const char *next_url)
{
	struct buf *b = &r->resp->body;

	b->len = 0;
	page_begin(r, "Save your recovery codes", NULL);
	buf_puts(b, "<p>If you lose your phone, each of these codes lets you sign in once. Keep "
		    "them somewhere safe: they are shown only now.</p><ol class=\"codes\" "
		    "id=\"recovery-codes\">");
	for (int i = 0; i < codes->n; i++) {
		buf_puts(b, "<li>");
		buf_html(b, codes->code[i]);
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ol><a class=\"button\" id=\"continue\" href=\"");
	buf_html(b, next_url);
	buf_puts(b, "\">I have saved them</a>");
	page_end(r);
}

/* The code-entry page of the sign-in step. */
static void mfa_flow_code_page(struct idp_req *r, const struct authz *a, const char *error)
{
	struct buf *b = &r->resp->body;
	char csrf[64];

	sso_csrf_token(r, csrf);
	b->len = 0;
	page_begin(r, "Enter your code", a->redirect_uri);
	buf_puts(b, "<p class=\"app\">to continue to ");
	buf_html(b, authz_app_name(a));
	buf_puts(b, "</p><p>Open your authenticator app and enter the code it shows.</p>");
	if (error != NULL) {
		buf_puts(b, "<div class=\"error\" role=\"alert\">");
		buf_html(b, error);
		buf_puts(b, "</div>");
	}
	buf_printf(b, "<form method=\"post\" action=\"/%s/login/mfa\">", r->tenant.name);
	buf_puts(b, "<label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" "
		    "class=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
		    "pattern=\"[0-9 ]{6,10}\" maxlength=\"10\" required autofocus>"
		    "<input type=\"hidden\" name=\"action\" value=\"verify\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, csrf);
	buf_puts(b, "\">");
	authz_hidden(r, b);
	buf_puts(b, "<button type=\"submit\">Verify</button></form>");
	/* the way out when the phone is gone */
	buf_printf(b, "<details class=\"foot\"><summary>Use a recovery code instead</summary>"
		      "<form method=\"post\" action=\"/%s/login/mfa\">",
		   r->tenant.name);
	buf_puts(b, "<label for=\"recovery\">Recovery code</label><input type=\"text\" "
		    "id=\"recovery\" name=\"code\" autocomplete=\"off\" maxlength=\"40\" required>"
		    "<input type=\"hidden\" name=\"action\" value=\"recover\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_html(b, csrf);
	buf_puts(b, "\">");
	authz_hidden(r, b);
	buf_puts(b, "<button type=\"submit\" class=\"link\">Use recovery code</button></form>"
		    "</details>");
	page_end(r);
}

void mfa_flow_page(struct idp_req *r, const struct authz *a, const struct dir_user *u,
		   const struct dir_session *s, const char *error)
{
	struct mfa_state st;
	struct err err = {0};

	(void)s;
	if (mfa_state(r->dir, r->tenant.id, u->id, r->now, &st, &err) != 0) {
		page_error(r, 503, "Something went wrong", "Try again in a moment.");
		return;
	}
	if (st.enrolled)
		mfa_flow_code_page(r, a, error);
	else
		mfa_flow_enroll_form(r, u, "/login/mfa", mfa_flow_hidden_authz, error);
}

void mfa_flow_post(struct idp_req *r)
{
	const char *action = http_param(&r->http->form, "action", NULL);
	const char *code = http_param(&r->http->form, "code", NULL);
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct dir_session s;
	struct dir_user u;
	struct authz a;
	struct err err = {0};
	char why[160], next[2048];
	int rc;

	if (authz_parse(r, &r->http->form, &a) != 0)
		return;
	if (!sso_current(r, &s) || dir_user_get(r->dir, r->tenant.id, s.user_id, &u, &err) != 0) {
		authz_login_page(r, &a, "Your sign-in expired. Please sign in again.", NULL);
		return;
	}
	if (!sso_csrf_valid(r)) {
		r->resp->status = 400;
		mfa_flow_page(r, &a, &u, &s, "This form expired. Please try again.");
		return;
	}
	if (action == NULL || code == NULL || strlen(code) > 40) {
		mfa_flow_page(r, &a, &u, &s, "Enter the code.");
		return;
	}
	memset(&res, 0, sizeof(res));
	if (strcmp(action, "verify") == 0 || strcmp(action, "recover") == 0) {
		int recovery = action[0] == 'r';
		rc = recovery ? mfa_recover(r->idp->mfa, r->dir, r->tenant.id, u.id, code, &res, &err)
			      : mfa_verify(r->idp->mfa, r->dir, r->tenant.id, u.id, code, &res, &err);
		if (rc == 0) {
			idp_signin_risk(r, u.id, u.upn, a.app.id, recovery ? "recovery" : "mfa",
					"success", recovery ? "recovery code used" : NULL,
					recovery ? "pwd recovery" : "pwd otp", RISK_EV_MFA_OK, NULL);
			mfa_flow_proved(r, &s, recovery);
			authz_continue(r, &a);
			return;
		}
		if (rc != ERR_DENIED && rc != ERR_NOT_FOUND) {
			log_error("tenant %s: second factor of %s: %s", r->tenant.name, u.id, err.msg);
			page_error(r, 503, "Something went wrong", "Try again in a moment.");
			return;
		}
		/* risk (issue 8): failures after a correct password pile up into MFA fatigue */
		idp_signin_risk(r, u.id, u.upn, a.app.id, recovery ? "recovery" : "mfa",
				res.status == TOTP_LOCKED ? "locked" : "failure",
				mfa_status_name(res.status), "pwd", RISK_EV_MFA_FAILED, NULL);
		mfa_flow_page(r, &a, &u, &s, mfa_flow_refusal(&res, why, sizeof(why)));
		return;
	}
	if (strcmp(action, "enroll") == 0) {
		memset(&codes, 0, sizeof(codes));
		rc = mfa_enroll_confirm(r->idp->mfa, r->dir, r->tenant.id, u.id, code, &res, &codes,
					&err);
		if (rc == 0) {
			idp_signin_log(r, u.id, u.upn, a.app.id, "enroll", "success", NULL,
				       "pwd otp");
			mfa_flow_proved(r, &s, 0);
			/* the codes are shown once; going on returns to /authorize */
			if (authz_continue_url(r, next, sizeof(next)) != 0)
				snprintf(next, sizeof(next), "/%s/account", r->tenant.name);
			mfa_flow_codes_page(r, &codes, next);
			mfa_recovery_codes_clear(&codes);
			return;
		}
		mfa_recovery_codes_clear(&codes);
		if (rc != ERR_DENIED && rc != ERR_NOT_FOUND) {
			log_error("tenant %s: enrollment of %s: %s", r->tenant.name, u.id, err.msg);
			page_error(r, 503, "Something went wrong", "Try again in a moment.");
			return;
		}
		idp_signin_log(r, u.id, u.upn, a.app.id, "enroll", "failure",
			       mfa_status_name(res.status), "pwd");
		mfa_flow_page(r, &a, &u, &s, mfa_flow_refusal(&res, why, sizeof(why)));
		return;
	}
	page_error(r, 400, "This form is broken", "Unknown action.");
}
