/*
 * ldapconn: see ldapconn.h.
 */
#include "ldapconn.h"

#include "err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static int ldapconn_fail(LDAP *ld, struct err *err, int code, const char *where, int rc)
{
	char *diag = NULL;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	err_set(err, code, "%s: %s%s%.120s", where, ldap_err2string(rc),
		diag != NULL && *diag != '\0' ? ": " : "", diag != NULL ? diag : "");
	if (diag != NULL)
		ldap_memfree(diag);
	return code;
}

int ldapconn_open(const struct ldapconn_conf *c, LDAP **out, struct err *err)
{
	int ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	int idle = 30, probes = 3, interval = 10;
	LDAP *ld = NULL;

	*out = NULL;
	if ((rc = ldap_initialize(&ld, c->uri)) != LDAP_SUCCESS || ld == NULL)
		return err_set(err, ERR_INVALID, "%s: %s", c->uri, ldap_err2string(rc));
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    /* a signal (SIGTERM: stop after the batch) must not end a wait as an error */
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval) != LDAP_OPT_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return err_set(err, ERR_INTERNAL, "%s: setting connection options failed", c->uri);
	}
	if (strncasecmp(c->uri, "ldaps://", 8) == 0 || c->starttls) {
		/* The handle's own TLS context: verified, with our CA only when given. */
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
		    (c->ca_file != NULL && *c->ca_file != '\0' &&
		     ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file) !=
			     LDAP_OPT_SUCCESS) ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			return err_set(err, ERR_INVALID, "%s: TLS setup failed (is ca_file %s a "
							 "readable PEM file?)",
				       c->uri, c->ca_file != NULL ? c->ca_file : "(system)");
		}
	}
	if ((rc = ldap_connect(ld)) != LDAP_SUCCESS) {
		ldapconn_fail(ld, err, ERR_UNAVAILABLE, c->uri, rc);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return ERR_UNAVAILABLE;
	}
	if (c->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		ldapconn_fail(ld, err, ERR_UNAVAILABLE, "StartTLS", rc);
		err_prefix(err, "%s", c->uri);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return ERR_UNAVAILABLE;
	}
	*out = ld;
	return 0;
}

int ldapconn_bind(LDAP *ld, const char *dn, const char *password, int timeout_ms,
		  struct ldapconn_bind_info *info)
{
	struct berval cred;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	LDAPControl *ppreq = NULL, *sctrls[2] = {NULL, NULL}, **rctrls = NULL, *ppres;
	LDAPMessage *res = NULL;
	char *diag = NULL;
	int msgid, rc, result = LDAP_OTHER;

	info->ppolicy_error = -1;
	info->diag[0] = '\0';
	if (password == NULL || *password == '\0')
		return LDAP_INAPPROPRIATE_AUTH; /* never an unauthenticated bind */
	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	if (ldap_create_passwordpolicy_control(ld, &ppreq) == LDAP_SUCCESS) {
		ppreq->ldctl_iscritical = 0;
		sctrls[0] = ppreq;
	}
	rc = ldap_sasl_bind(ld, dn, LDAP_SASL_SIMPLE, &cred, sctrls, NULL, &msgid);
	if (ppreq != NULL)
		ldap_control_free(ppreq);
	if (rc != LDAP_SUCCESS)
		return rc < 0 ? rc : LDAP_SERVER_DOWN;
	rc = ldap_result(ld, msgid, LDAP_MSG_ALL, timeout_ms > 0 ? &tv : NULL, &res);
	if (rc == 0) {
		ldap_abandon_ext(ld, msgid, NULL, NULL);
		return LDAP_TIMEOUT;
	}
	if (rc < 0 || res == NULL) {
		int code = LDAP_SERVER_DOWN;
		ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
		return code < 0 ? code : LDAP_SERVER_DOWN;
	}
	rc = ldap_parse_result(ld, res, &result, NULL, &diag, NULL, &rctrls, 1);
	if (rc != LDAP_SUCCESS)
		result = rc < 0 ? rc : LDAP_OTHER;
	if (diag != NULL) {
		snprintf(info->diag, sizeof(info->diag), "%s", diag);
		ldap_memfree(diag);
	}
	if (rctrls != NULL &&
	    (ppres = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, rctrls, NULL))) {
		ber_int_t expire = -1, grace = -1;
		LDAPPasswordPolicyError pperr = PP_noError;
		if (ldap_parse_passwordpolicy_control(ld, ppres, &expire, &grace, &pperr) ==
			    LDAP_SUCCESS &&
		    pperr != PP_noError)
			info->ppolicy_error = (int)pperr;
	}
	if (rctrls != NULL)
		ldap_controls_free(rctrls);
	return result;
}
