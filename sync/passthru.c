/*
 * passthru: see passthru.h.
 */
#include "passthru.h"

#include "err.h"
#include "ldapconn.h"

#include <ldap.h>
#include <string.h>

const char *passthru_result_name(int result)
{
	switch (result) {
	case PASSTHRU_OK:
		return "ok";
	case PASSTHRU_WRONG_PASSWORD:
		return "wrong_password";
	case PASSTHRU_LOCKED:
		return "locked";
	case PASSTHRU_EXPIRED:
		return "expired";
	case PASSTHRU_UNAVAILABLE:
		return "unavailable";
	case PASSTHRU_INVALID:
		return "invalid";
	default:
		return "error";
	}
}

/* What a bind's result and password policy error mean for the sign-in. */
static int passthru_classify(int rc, const struct ldapconn_bind_info *info, struct err *err)
{
	int pp = info->ppolicy_error;

	if (rc == LDAP_SUCCESS) {
		/* Accepted, but a reset password must be changed before any use. */
		if (pp == PP_changeAfterReset)
			return err_set(err, ERR_DENIED, "the password was reset and must be "
							"changed first"),
			       PASSTHRU_EXPIRED;
		return PASSTHRU_OK;
	}
	if (pp == PP_accountLocked)
		return err_set(err, ERR_DENIED, "the account is locked or disabled"),
		       PASSTHRU_LOCKED;
	if (pp == PP_passwordExpired)
		return err_set(err, ERR_DENIED, "the password has expired"), PASSTHRU_EXPIRED;
	switch (rc) {
	case LDAP_INVALID_CREDENTIALS:
		return err_set(err, ERR_DENIED, "wrong password (or no such entry)"),
		       PASSTHRU_WRONG_PASSWORD;
	case LDAP_INVALID_DN_SYNTAX:
		return err_set(err, ERR_INVALID, "the server refused the DN's syntax"),
		       PASSTHRU_INVALID;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return err_set(err, ERR_UNAVAILABLE, "the directory did not answer: %s",
			       ldap_err2string(rc)),
		       PASSTHRU_UNAVAILABLE;
	default:
		return err_set(err, ERR_INTERNAL, "the directory refused the bind: %s%s%s",
			       ldap_err2string(rc), info->diag[0] ? ": " : "", info->diag),
		       PASSTHRU_ERROR;
	}
}

int passthru_check(const struct passthru_conf *c, const char *user_dn, const char *password,
		   struct err *err)
{
	struct ldapconn_conf lc;
	struct ldapconn_bind_info info;
	LDAPDN dn = NULL;
	LDAP *ld = NULL;
	int ms, rc;

	err_clear(err);
	if (password == NULL || *password == '\0')
		return err_set(err, ERR_INVALID, "empty password refused (it would be an "
						 "unauthenticated bind)"),
		       PASSTHRU_INVALID;
	if (user_dn == NULL || *user_dn == '\0' ||
	    ldap_str2dn(user_dn, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || dn == NULL)
		return err_set(err, ERR_INVALID, "not a distinguished name"), PASSTHRU_INVALID;
	ldap_dnfree(dn);
	if (c == NULL || c->uri == NULL)
		return err_set(err, ERR_INVALID, "no server configured"), PASSTHRU_INVALID;
	ms = c->timeout_ms > 0 ? c->timeout_ms : 5000;
	lc.uri = c->uri;
	lc.starttls = c->starttls;
	lc.ca_file = c->ca_file;
	lc.timeout_ms = ms;
	if ((rc = ldapconn_open(&lc, &ld, err)) != 0)
		return rc == ERR_UNAVAILABLE ? PASSTHRU_UNAVAILABLE : PASSTHRU_INVALID;
	rc = ldapconn_bind(ld, user_dn, password, ms, &info);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return passthru_classify(rc, &info, err);
}
