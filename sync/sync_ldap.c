/*
 * sync_ldap: connections, searches and the decoding of RFC 2696 and RFC
 * 4533 messages.  See sync_ldap.h.
 *
 * The RFC 4533 values, as decoded here:
 *   syncStateValue  ::= SEQUENCE { state ENUMERATED, entryUUID OCTET STRING (16),
 *                                  cookie OCTET STRING OPTIONAL }
 *   syncInfoValue   ::= CHOICE { newcookie [0] cookie,
 *                                refreshDelete [1] SEQUENCE { cookie OPTIONAL,
 *                                                             refreshDone BOOLEAN DEFAULT TRUE },
 *                                refreshPresent [2] (the same),
 *                                syncIdSet [3] SEQUENCE { cookie OPTIONAL,
 *                                                         refreshDeletes BOOLEAN DEFAULT FALSE,
 *                                                         syncUUIDs SET OF OCTET STRING } }
 *   syncDoneValue   ::= SEQUENCE { cookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE }
 */
#include "sync_ldap.h"

#include "err.h"
#include "ldapconn.h"
#include "secret.h"
#include "sync_config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a caller waiting for a connection looks at its stop flag. */
#define SYNC_CONN_STOP_TICK_MS 50

struct sync_conn {
	LDAP *ld;
	int timeout_ms;
};

int sync_bv_set(struct berval *dst, const struct berval *src)
{
	char *v = malloc(src->bv_len + 1);

	if (v == NULL)
		return -1;
	memcpy(v, src->bv_val, src->bv_len);
	v[src->bv_len] = '\0';
	free(dst->bv_val);
	dst->bv_val = v;
	dst->bv_len = src->bv_len;
	return 0;
}

void sync_bv_free(struct berval *bv)
{
	free(bv->bv_val);
	bv->bv_val = NULL;
	bv->bv_len = 0;
}

/*
 * Read the socket through liblber's read-ahead buffer.  libldap 2.5 stacks
 * it on datagram connections only; on TCP, each message was a poll(2)
 * and two read(2)s (its length, then its body): 300,000 system calls for
 * the 100k users of the bench tree, against 2,500 reads with the buffer.
 * Put below TLS when there is TLS (libldap 2.3 did the same for every
 * connection); nothing is buffered yet when it is added, after the bind.
 * Without it everything works as before, only slower.
 */
static void sync_conn_readahead(struct sync_conn *c)
{
	Sockbuf *sb = NULL;

	if (ldap_get_option(c->ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb != NULL)
		(void)ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER,
					 NULL);
}

/* What an opening needs, copied: an abandoned opening outlives the caller's config. */
struct conn_opening {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, abandoned;
	char *uri, *ca_file, *bind_dn, *password_file;
	int starttls, timeout_ms;
	struct sync_conn *conn; /* the result, when done */
	int rc;
	struct err err;
};

static void conn_opening_free(struct conn_opening *o)
{
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	free(o->uri);
	free(o->ca_file);
	free(o->bind_dn);
	free(o->password_file);
	free(o);
}

/* Connect and bind, waiting as long as the server takes (up to the timeout at each step). */
static int conn_open_now(const struct conn_opening *o, struct sync_conn **out, struct err *err)
{
	struct ldapconn_conf lc = {o->uri, o->starttls, o->ca_file, o->timeout_ms};
	struct ldapconn_bind_info info;
	struct sync_conn *c = NULL;
	char password[1024];
	int rc, len;

	*out = NULL;
	len = secret_read_file(o->password_file, password, sizeof(password), err);
	if (len < 0) {
		err_prefix(err, "[ldap] bind_password_file");
		return err->code;
	}
	if (len == 0) {
		secret_wipe(password, sizeof(password));
		return err_set(err, ERR_INVALID, "[ldap] bind_password_file %s is empty",
			       o->password_file);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		secret_wipe(password, sizeof(password));
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	c->timeout_ms = lc.timeout_ms;
	if ((rc = ldapconn_open(&lc, &c->ld, err)) != 0) {
		secret_wipe(password, sizeof(password));
		free(c);
		return rc;
	}
	rc = ldapconn_bind(c->ld, o->bind_dn, password, c->timeout_ms, &info);
	secret_wipe(password, sizeof(password));
	if (rc != LDAP_SUCCESS) {
		int code = rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
				   rc == LDAP_INVALID_DN_SYNTAX
				   ? ERR_DENIED
			   : rc < 0 || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY ? ERR_UNAVAILABLE
										 : ERR_DENIED;
		err_set(err, code, "%s: bind as %.200s: %s%s%s%s", o->uri, o->bind_dn,
			ldap_err2string(rc), info.diag[0] ? " (" : "", info.diag,
			info.diag[0] ? ")" : "");
		if (rc == LDAP_INVALID_CREDENTIALS)
			err_prefix(err, "check [ldap] bind_dn and the password in %s",
				   o->password_file);
		sync_conn_close(c);
		return code;
	}
	sync_conn_readahead(c);
	*out = c;
	return 0;
}

static void *conn_opening_main(void *arg)
{
	struct conn_opening *o = arg;
	struct sync_conn *c = NULL;
	struct err err = {0};
	int rc = conn_open_now(o, &c, &err), abandoned;

	pthread_mutex_lock(&o->mu);
	abandoned = o->abandoned;
	if (!abandoned) {
		o->conn = c;
		o->rc = rc;
		o->err = err;
		o->done = 1;
		pthread_cond_signal(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	if (abandoned) {
		/* the caller stopped waiting: nobody else holds o now */
		sync_conn_close(c);
		conn_opening_free(o);
	}
	return NULL;
}

static char *conn_strdup(const char *s, int *fail)
{
	char *copy = s != NULL ? strdup(s) : NULL;

	if (s != NULL && copy == NULL)
		*fail = 1;
	return copy;
}

int sync_conn_open(const struct sync_config *cfg, const volatile sig_atomic_t *stop,
		   struct sync_conn **out, struct err *err)
{
	struct conn_opening *o = calloc(1, sizeof(*o));
	pthread_condattr_t ca;
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t all, old;
	int fail = 0, rc;

	*out = NULL;
	if (o == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	o->uri = conn_strdup(cfg->uri, &fail);
	o->ca_file = conn_strdup(cfg->ca_file, &fail);
	o->bind_dn = conn_strdup(cfg->bind_dn, &fail);
	o->password_file = conn_strdup(cfg->bind_password_file, &fail);
	o->starttls = cfg->starttls;
	o->timeout_ms = (int)cfg->timeout * 1000;
	pthread_mutex_init(&o->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (fail) {
		conn_opening_free(o);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	if (stop == NULL || *stop) {
		rc = stop == NULL ? conn_open_now(o, out, err)
				  : err_set(err, ERR_UNAVAILABLE, "%s: stopped while connecting",
					    cfg->uri);
		conn_opening_free(o);
		return rc;
	}
	/* Signals stay with the caller, which looks at the stop flag. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&thread, &attr, conn_opening_main, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		conn_opening_free(o);
		return err_set(err, ERR_INTERNAL, "cannot start connecting: %s", strerror(rc));
	}
	pthread_mutex_lock(&o->mu);
	while (!o->done && !*stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SYNC_CONN_STOP_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&o->cv, &o->mu, &ts);
	}
	if (!o->done) {
		/* stopped: the thread closes what it opens and frees o */
		o->abandoned = 1;
		pthread_mutex_unlock(&o->mu);
		return err_set(err, ERR_UNAVAILABLE, "%s: stopped while connecting", cfg->uri);
	}
	pthread_mutex_unlock(&o->mu);
	*out = o->conn;
	rc = o->rc;
	if (rc != 0)
		*err = o->err;
	conn_opening_free(o);
	return rc;
}

void sync_conn_close(struct sync_conn *c)
{
	if (c == NULL)
		return;
	if (c->ld != NULL)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c);
}

static int sync_conn_fail(struct sync_conn *c, struct err *err, const char *where, int rc)
{
	char *diag = NULL;
	int code = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
				   rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY
			   ? ERR_UNAVAILABLE
			   : ERR_INVALID;

	ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	err_set(err, code, "%s: %s%s%.160s", where, ldap_err2string(rc),
		diag != NULL && *diag ? ": " : "", diag != NULL ? diag : "");
	if (diag != NULL)
		ldap_memfree(diag);
	return code;
}

int sync_conn_search(struct sync_conn *c, const struct sync_search_req *r, int *msgid,
		     struct err *err)
{
	LDAPControl *ctrls[3] = {NULL, NULL, NULL}, *paged = NULL, sync;
	BerElement *ber = NULL;
	struct berval empty = {0, ""};
	int n = 0, rc;

	memset(&sync, 0, sizeof(sync));
	if (r->page_size > 0) {
		rc = ldap_create_page_control(c->ld, (ber_int_t)r->page_size,
					      r->page_cookie != NULL ? (struct berval *)r->page_cookie
								     : &empty,
					      1, &paged);
		if (rc != LDAP_SUCCESS)
			return sync_conn_fail(c, err, "paged results control", rc);
		ctrls[n++] = paged;
	}
	if (r->sync_mode != 0) {
		/* syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie OPTIONAL, reloadHint } */
		if ((ber = ber_alloc_t(LBER_USE_DER)) == NULL) {
			rc = LDAP_NO_MEMORY;
			goto fail;
		}
		if (r->sync_cookie != NULL && r->sync_cookie->bv_len > 0)
			rc = ber_printf(ber, "{eOb}", (ber_int_t)r->sync_mode, r->sync_cookie, 0);
		else
			rc = ber_printf(ber, "{eb}", (ber_int_t)r->sync_mode, 0);
		if (rc < 0 || ber_flatten2(ber, &sync.ldctl_value, 0) < 0) {
			rc = LDAP_ENCODING_ERROR;
			goto fail;
		}
		sync.ldctl_oid = LDAP_CONTROL_SYNC;
		sync.ldctl_iscritical = 1;
		ctrls[n++] = &sync;
	}
	rc = ldap_search_ext(c->ld, r->base, r->base_only ? LDAP_SCOPE_BASE : LDAP_SCOPE_SUBTREE,
			     r->filter, r->attrs, 0, ctrls,
			     NULL, NULL, 0, msgid);
fail:
	if (paged != NULL)
		ldap_control_free(paged);
	if (ber != NULL)
		ber_free(ber, 1);
	if (rc != LDAP_SUCCESS)
		return sync_conn_fail(c, err, "search", rc);
	return 0;
}

void sync_conn_abandon(struct sync_conn *c, int msgid)
{
	ldap_abandon_ext(c->ld, msgid, NULL, NULL);
}

void sync_msg_clear(struct sync_msg *m)
{
	sync_entry_clear(&m->entry);
	free(m->uuids);
	sync_bv_free(&m->cookie);
	sync_bv_free(&m->page_cookie);
	memset(m, 0, sizeof(*m));
}

static int sync_msg_cookie(struct sync_msg *m, const struct berval *cookie, struct err *err)
{
	if (sync_bv_set(&m->cookie, cookie) != 0)
		return err_set(err, ERR_INTERNAL, "out of memory");
	m->has_cookie = 1;
	return 0;
}

/* An entry: its sync state control when the search is a Content Sync one. */
static int sync_read_entry(struct sync_conn *c, LDAPMessage *msg, struct sync_msg *m,
			   struct err *err)
{
	LDAPControl **ctrls = NULL, *state;
	BerElement *ber = NULL;
	struct berval uuid = {0, NULL}, cookie = {0, NULL};
	ber_int_t st = -1;
	ber_len_t len;
	int rc = 0;

	m->type = SYNC_MSG_ENTRY;
	m->state = -1;
	ldap_get_entry_controls(c->ld, msg, &ctrls);
	state = ctrls != NULL ? ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL) : NULL;
	if (state == NULL) {
		rc = sync_entry_read(c->ld, msg, NULL, &m->entry, err);
		goto out;
	}
	if ((ber = ber_init(&state->ldctl_value)) == NULL) {
		rc = err_set(err, ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (ber_scanf(ber, "{em", &st, &uuid) == LBER_ERROR || st < LDAP_SYNC_PRESENT ||
	    st > LDAP_SYNC_DELETE) {
		rc = err_set(err, ERR_INVALID, "a malformed sync state control");
		goto out;
	}
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
		if (ber_scanf(ber, "m", &cookie) == LBER_ERROR) {
			rc = err_set(err, ERR_INVALID, "a malformed cookie in a sync state");
			goto out;
		}
		if ((rc = sync_msg_cookie(m, &cookie, err)) != 0)
			goto out;
	}
	m->state = (int)st;
	rc = sync_entry_read(c->ld, msg, &uuid, &m->entry, err);
out:
	if (rc == ERR_INVALID) {
		/* One entry we cannot read is that entry's problem, not the session's. */
		m->bad = 1;
		snprintf(m->diag, sizeof(m->diag), "%s", err != NULL ? err->msg : "bad entry");
		rc = 0;
	}
	if (ber != NULL)
		ber_free(ber, 1);
	if (ctrls != NULL)
		ldap_controls_free(ctrls);
	return rc;
}

/* A Sync Info intermediate response. */
static int sync_read_info(struct sync_conn *c, LDAPMessage *msg, struct sync_msg *m,
			  struct err *err)
{
	char *oid = NULL;
	struct berval *data = NULL, cookie = {0, NULL};
	BerElement *ber = NULL;
	BerVarray uuids = NULL;
	ber_tag_t tag;
	ber_len_t len;
	ber_int_t flag;
	int rc = 0;

	m->type = SYNC_MSG_INFO;
	if (ldap_parse_intermediate(c->ld, msg, &oid, &data, NULL, 0) != LDAP_SUCCESS ||
	    oid == NULL || strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL) {
		/* Some other intermediate response: not ours to act on. */
		m->type = SYNC_MSG_OTHER;
		goto out;
	}
	if ((ber = ber_init(data)) == NULL) {
		rc = err_set(err, ERR_INTERNAL, "out of memory");
		goto out;
	}
	tag = ber_peek_tag(ber, &len);
	switch (tag) {
	case LDAP_TAG_SYNC_NEW_COOKIE:
		if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
			goto bad;
		m->info = LDAP_SYNC_NEW_COOKIE;
		rc = sync_msg_cookie(m, &cookie, err);
		break;
	case LDAP_TAG_SYNC_REFRESH_DELETE:
	case LDAP_TAG_SYNC_REFRESH_PRESENT:
		m->info = tag == LDAP_TAG_SYNC_REFRESH_DELETE ? LDAP_SYNC_REFRESH_DELETES
							      : LDAP_SYNC_REFRESH_PRESENTS;
		if (ber_scanf(ber, "{") == LBER_ERROR)
			goto bad;
		if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
			if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
				goto bad;
			if ((rc = sync_msg_cookie(m, &cookie, err)) != 0)
				break;
		}
		m->refresh_done = 1; /* DEFAULT TRUE */
		if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE) {
			if (ber_scanf(ber, "b", &flag) == LBER_ERROR)
				goto bad;
			m->refresh_done = flag != 0;
		}
		break;
	case LDAP_TAG_SYNC_ID_SET:
		m->info = SYNC_INFO_ID_SET;
		if (ber_scanf(ber, "{") == LBER_ERROR)
			goto bad;
		if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
			if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
				goto bad;
			if ((rc = sync_msg_cookie(m, &cookie, err)) != 0)
				break;
		}
		if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES) {
			if (ber_scanf(ber, "b", &flag) == LBER_ERROR)
				goto bad;
			m->refresh_deletes = flag != 0;
		}
		if (ber_scanf(ber, "[W]}", &uuids) == LBER_ERROR)
			goto bad;
		for (size_t n = 0; uuids != NULL && uuids[n].bv_val != NULL; n++)
			m->n_uuids++;
		if (m->n_uuids > 0 &&
		    (m->uuids = calloc(m->n_uuids, sizeof(*m->uuids))) == NULL) {
			rc = err_set(err, ERR_INTERNAL, "out of memory");
			break;
		}
		for (size_t i = 0; i < m->n_uuids; i++)
			if (sync_uuid_format(&uuids[i], m->uuids[i]) != 0)
				goto bad;
		break;
	default:
		goto bad;
	}
	goto out;
bad:
	rc = err_set(err, ERR_INVALID, "a malformed Sync Info message (tag %#lx)",
		     (unsigned long)tag);
out:
	if (uuids != NULL)
		ber_bvarray_free(uuids);
	if (ber != NULL)
		ber_free(ber, 1);
	if (oid != NULL)
		ldap_memfree(oid);
	if (data != NULL)
		ber_bvfree(data);
	return rc;
}

/* The end of a search: result code, next page cookie, Sync Done control. */
static int sync_read_result(struct sync_conn *c, LDAPMessage *msg, struct sync_msg *m,
			    struct err *err)
{
	LDAPControl **ctrls = NULL, *ctl;
	char *diag = NULL;
	int result = LDAP_OTHER, rc = 0;

	m->type = SYNC_MSG_RESULT;
	if (ldap_parse_result(c->ld, msg, &result, NULL, &diag, NULL, &ctrls, 0) != LDAP_SUCCESS)
		return err_set(err, ERR_INVALID, "a malformed search result");
	m->result = result;
	if (diag != NULL) {
		snprintf(m->diag, sizeof(m->diag), "%s", diag);
		ldap_memfree(diag);
	}
	if (ctrls != NULL &&
	    (ctl = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL)) != NULL) {
		struct berval pc = {0, NULL};
		ber_int_t estimate;
		if (ldap_parse_pageresponse_control(c->ld, ctl, &estimate, &pc) != LDAP_SUCCESS) {
			rc = err_set(err, ERR_INVALID, "a malformed paged results control");
		} else {
			if (sync_bv_set(&m->page_cookie, &pc) != 0)
				rc = err_set(err, ERR_INTERNAL, "out of memory");
			ber_memfree(pc.bv_val);
		}
	}
	if (rc == 0 && ctrls != NULL &&
	    (ctl = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls, NULL)) != NULL) {
		BerElement *ber = ber_init(&ctl->ldctl_value);
		struct berval cookie = {0, NULL};
		ber_len_t len;
		ber_int_t flag = 0;
		m->sync_done = 1;
		if (ber == NULL || ber_scanf(ber, "{") == LBER_ERROR) {
			rc = err_set(err, ERR_INVALID, "a malformed Sync Done control");
		} else {
			if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
				if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
					rc = err_set(err, ERR_INVALID, "a malformed cookie");
				else
					rc = sync_msg_cookie(m, &cookie, err);
			}
			if (rc == 0 && ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES) {
				if (ber_scanf(ber, "b", &flag) == LBER_ERROR)
					rc = err_set(err, ERR_INVALID, "a malformed Sync Done");
				m->refresh_deletes = flag != 0;
			}
		}
		if (ber != NULL)
			ber_free(ber, 1);
	}
	if (ctrls != NULL)
		ldap_controls_free(ctrls);
	return rc;
}

int sync_conn_read(struct sync_conn *c, int timeout_ms, struct sync_msg *m, struct err *err)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	LDAPMessage *msg = NULL;
	int rc;

	sync_msg_clear(m);
	rc = ldap_result(c->ld, LDAP_RES_ANY, LDAP_MSG_ONE, timeout_ms >= 0 ? &tv : NULL, &msg);
	if (rc == 0)
		return 1;
	if (rc < 0 || msg == NULL) {
		int code = LDAP_SERVER_DOWN;
		ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &code);
		return sync_conn_fail(c, err, "read", code < 0 ? code : LDAP_SERVER_DOWN);
	}
	m->msgid = ldap_msgid(msg);
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		rc = sync_read_entry(c, msg, m, err);
		break;
	case LDAP_RES_INTERMEDIATE:
		rc = sync_read_info(c, msg, m, err);
		break;
	case LDAP_RES_SEARCH_RESULT:
		rc = sync_read_result(c, msg, m, err);
		break;
	default:
		m->type = SYNC_MSG_OTHER; /* references: we chase none */
		rc = 0;
		break;
	}
	ldap_msgfree(msg);
	return rc;
}
