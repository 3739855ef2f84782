/*
 * passthru: pass-through authentication of synced users.
 *
 * A user synced from LDAP has no password in the cloud directory; the token
 * service checks the password they type by a simple bind as their DN (the
 * user's source_dn in the store) against the on-premises server, on a fresh
 * connection that is closed afterwards.  The answers are distinct, so the
 * sign-in log can say what happened:
 *
 *   PASSTHRU_OK              the server accepted the password
 *   PASSTHRU_WRONG_PASSWORD  it did not (or there is no such DN: the server
 *                            does not say which, and neither do we)
 *   PASSTHRU_LOCKED          the account is locked or disabled (OpenLDAP
 *                            ppolicy: pwdAccountLockedTime; needs the
 *                            overlay's olcPPolicyUseLockout, else the server
 *                            answers as for a wrong password)
 *   PASSTHRU_EXPIRED         the password expired, or was reset and must be
 *                            changed first
 *   PASSTHRU_UNAVAILABLE     the server cannot be reached, TLS failed, or no
 *                            answer came within the timeout
 *   PASSTHRU_INVALID         refused before contacting anyone: an empty
 *                            password (RFC 4513 5.1.2: a simple bind with an
 *                            empty password is an unauthenticated bind, and
 *                            "succeeds"), an empty or malformed DN
 *   PASSTHRU_ERROR           the server answered something else
 *
 * Link with passthru_dep (meson).  Thread-safe: every call has its own
 * connection.  Nothing is logged; the password is never copied by this
 * library (libldap encodes it into its request buffer).
 */
#ifndef IDP_PASSTHRU_H
#define IDP_PASSTHRU_H

struct err;

enum passthru_result {
	PASSTHRU_OK = 0,
	PASSTHRU_WRONG_PASSWORD = -1,
	PASSTHRU_LOCKED = -2,
	PASSTHRU_EXPIRED = -3,
	PASSTHRU_UNAVAILABLE = -4,
	PASSTHRU_INVALID = -5,
	PASSTHRU_ERROR = -6
};

/*
 * Where to check, filled by the caller from its own configuration (the idp
 * can take the same values as [ldap] in sync.conf).  Strings are borrowed
 * for the call.
 */
struct passthru_conf {
	const char *uri;     /* ldap://HOST:PORT or ldaps://HOST:PORT */
	int starttls;        /* upgrade ldap:// with StartTLS (then required) */
	const char *ca_file; /* PEM CA bundle for TLS; NULL = the system's */
	int timeout_ms;      /* bound on connect, TLS and the bind; 0 = 5000 */
};

/*
 * Check password for user_dn.  Returns an enum passthru_result; for every
 * result but PASSTHRU_OK, err (which may be NULL) says why in words fit for
 * a log (never the password), with err->code ERR_DENIED (wrong, locked,
 * expired), ERR_UNAVAILABLE, ERR_INVALID or ERR_INTERNAL.
 */
int passthru_check(const struct passthru_conf *c, const char *user_dn, const char *password,
		   struct err *err) __attribute__((warn_unused_result));

/* A short stable name for a result: "ok", "wrong_password", "locked", ... */
const char *passthru_result_name(int result);

#endif
