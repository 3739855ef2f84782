/*
 * ldapconn: opening a connection to an LDAP server the way both the sync
 * and the pass-through check need it: bounded in time at every step, TLS
 * verified against a CA (ldaps:// or StartTLS), no referrals chased (they
 * would carry a bind elsewhere), TCP keepalive so a silent peer is found.
 */
#ifndef IDP_LDAPCONN_H
#define IDP_LDAPCONN_H

#include <ldap.h>

struct err;

struct ldapconn_conf {
	const char *uri;     /* ldap://HOST:PORT or ldaps://HOST:PORT */
	int starttls;        /* upgrade ldap:// with StartTLS, required */
	const char *ca_file; /* PEM CA bundle; NULL = the system's */
	int timeout_ms;      /* connect, TLS handshake, each response; 0 = 10000 */
};

/*
 * Connect to the server of c (and start TLS when asked).  Returns 0 with
 * *out set (release with ldap_unbind_ext_s), or ERR_UNAVAILABLE when the
 * server cannot be reached or TLS fails, ERR_INVALID for a bad URI; err
 * says which.
 */
int ldapconn_open(const struct ldapconn_conf *c, LDAP **out, struct err *err);

/* What a bind said beyond its result code. */
struct ldapconn_bind_info {
	int ppolicy_error; /* LDAPPasswordPolicyError, or -1 when the server sent none */
	char diag[128];    /* the server's diagnostic message, cut */
};

/*
 * Simple bind as dn with password (which must not be empty: that would be
 * an unauthenticated bind), asking for the password policy response.
 * Returns the LDAP result code (LDAP_SUCCESS, LDAP_INVALID_CREDENTIALS,
 * ...), or a negative libldap code when the connection failed or the server
 * did not answer within timeout_ms.
 */
int ldapconn_bind(LDAP *ld, const char *dn, const char *password, int timeout_ms,
		  struct ldapconn_bind_info *info);

#endif
