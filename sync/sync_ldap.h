/*
 * sync_ldap: the sync's side of the LDAP protocol.
 *
 * One bound connection (struct sync_conn) on which several searches run at
 * once: paged searches (RFC 2696) for full syncs, Content Sync searches
 * (RFC 4533, refreshOnly or refreshAndPersist) for deltas.  Every message
 * from the server comes back from sync_conn_read() as one struct sync_msg,
 * decoded: an entry with its sync state and anchor, a Sync Info message
 * (new cookie, end of a refresh phase, a set of UUIDs present or deleted),
 * or the result that ends a search (with the next page's cookie, or the
 * Sync Done control).  What the messages mean for the store is decided in
 * sync_run.c; nothing here touches it.
 *
 * libldap keeps at most the messages the socket has delivered and that we
 * have not read: the server's sending blocks on TCP when we fall behind, so
 * memory stays bounded however large the directory.
 */
#ifndef IDP_SYNC_LDAP_H
#define IDP_SYNC_LDAP_H

#include "sync_map.h"

#include <lber.h>
#include <ldap.h>
#include <signal.h>

struct err;
struct sync_config;
struct sync_conn;

/*
 * Connect and bind as the configured sync account, reading its password
 * from the password file now (so a corrected file is picked up at the next
 * reconnect).  Returns 0 with *out set, or: ERR_UNAVAILABLE (cannot reach
 * the server, TLS failed, no answer), ERR_DENIED (the server refused the
 * bind: wrong DN or password), ERR_IO/ERR_INVALID (the password file).
 *
 * Each step may wait up to the configured timeout on a silent server.
 * With stop (a flag a signal handler sets; NULL: none) the steps run on a
 * thread of their own and the caller returns within a few tens of
 * milliseconds of the flag being set (ERR_UNAVAILABLE, "stopped"); the
 * thread finishes alone and closes what it opened.
 */
int sync_conn_open(const struct sync_config *cfg, const volatile sig_atomic_t *stop,
		   struct sync_conn **out, struct err *err);

/* Unbind and free; NULL is fine. */
void sync_conn_close(struct sync_conn *c);

struct sync_search_req {
	const char *base;
	const char *filter;
	char **attrs;                    /* NULL-terminated; borrowed */
	int page_size;                   /* > 0: a paged search */
	const struct berval *page_cookie;/* the previous page's cookie, or NULL */
	int sync_mode;                   /* LDAP_SYNC_REFRESH_ONLY / _AND_PERSIST, or 0 */
	const struct berval *sync_cookie;/* the stored cookie, or NULL (a full refresh) */
	int base_only;                   /* the base entry alone (scope base), not its subtree */
};

/* Send a search; *msgid identifies its messages.  0 or a negative err code. */
int sync_conn_search(struct sync_conn *c, const struct sync_search_req *r, int *msgid,
		     struct err *err);

/* Stop a search (the server sends nothing more for it). */
void sync_conn_abandon(struct sync_conn *c, int msgid);

enum sync_msg_type { SYNC_MSG_ENTRY = 1, SYNC_MSG_INFO, SYNC_MSG_RESULT, SYNC_MSG_OTHER };

struct sync_msg {
	enum sync_msg_type type;
	int msgid;
	/* SYNC_MSG_ENTRY */
	struct sync_entry entry; /* dn NULL for a state-only message (present, delete) */
	int state;               /* LDAP_SYNC_PRESENT/ADD/MODIFY/DELETE, -1: a paged search's */
	int bad;                 /* the entry could not be decoded: diag says why */
	/* SYNC_MSG_INFO */
	int info;                /* LDAP_SYNC_NEW_COOKIE, LDAP_SYNC_REFRESH_{DELETES,PRESENTS}, or
				    -2 for a syncIdSet */
	int refresh_done;        /* end of the refresh stage (refreshDelete/refreshPresent) */
	int refresh_deletes;     /* syncIdSet: the UUIDs are deleted (else present);
				    result: the Sync Done control's refreshDeletes */
	char (*uuids)[DIR_ANCHOR_MAX];
	size_t n_uuids;
	/* any message that carried a cookie */
	int has_cookie;
	struct berval cookie;    /* malloc'd copy */
	/* SYNC_MSG_RESULT */
	int result;              /* LDAP result code (LDAP_SYNC_REFRESH_REQUIRED: start over) */
	char diag[256];
	int sync_done;           /* a Sync Done control came with it */
	struct berval page_cookie; /* paged search: the next page's cookie (empty: last page) */
};

#define SYNC_INFO_ID_SET (-2)

/*
 * Wait up to timeout_ms (-1: forever) for the next message of any search
 * and decode it into m (cleared first).  Returns 0 with a message, 1 when
 * the time passed, or a negative err code: ERR_UNAVAILABLE when the
 * connection is gone, ERR_INVALID when the server sent something that is
 * not RFC 4533.
 */
int sync_conn_read(struct sync_conn *c, int timeout_ms, struct sync_msg *m, struct err *err);

/* Free what m holds; m may be reused. */
void sync_msg_clear(struct sync_msg *m);

/* Copy src into dst (freeing dst's old value); -1 when out of memory. */
int sync_bv_set(struct berval *dst, const struct berval *src);
void sync_bv_free(struct berval *bv);

#endif
