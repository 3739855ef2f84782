/*
 * sync_run: full, delta and persist cycles, batches, reconnects.  See
 * sync_run.h for what each cycle does and the rules they keep.
 *
 * One engine (struct sync_engine) per run: the store handle, the compiled
 * mapping, one struct sync_search per configured base (users bases first,
 * then groups bases), the connection of the current session, the cycle
 * being recorded and the open batch.  Counts are kept in the cycle record
 * and written with every batch; a batch that rolls back takes its counts
 * back with it.
 */
#include "sync_run.h"

#include "clock.h"
#include "dir.h"
#include "err.h"
#include "log.h"
#include "sync_config.h"
#include "sync_cookie.h"
#include "sync_ldap.h"
#include "sync_map.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* Outcomes of a cycle besides 0 (done) and negative err codes. */
enum { ENG_STOPPED = 1, ENG_THRESHOLD = 2, ENG_NEED_FULL = 3 };

#define ENG_TICK_MS        200 /* how often an idle session looks at the stop flag */
#define ENG_ERRORS_LOGGED  100 /* per cycle; the rest are counted */
#define ENG_PROBE_UUID     "00000000-0000-0000-0000-000000000000"
#define ENG_MAX_SEARCHES   SYNC_MAX_BASES
#define ENG_CACHE_KIB      (24 * 1024) /* the store's page cache: most of the memory budget */
#define ENG_RETRY_MS       60000 /* while persisting, entries to read again are read this often */
#define ENG_RETRY_CHUNK    50    /* anchors per search when reading them again */
#define ENG_UNREAD_MAX     1000  /* entries without a readable anchor remembered by DN */
#define ENG_PAGES          4     /* pages of a paged search held at once (eng_paged) */
#define ENG_PAGE_LATE_MS   20    /* a page this late: commit rather than hold the write lock */

struct sync_search {
	enum dir_member_kind kind;
	const char *base;
	char base_key[DIR_SYNC_KEY_MAX];
	const char *filter;
	char **attrs;
	int msgid;
	struct berval cookie; /* as stored, then the newest the server sent */
	int refreshing;       /* its refresh stage is not over */
	int present;          /* its refresh had a present phase: sweep its base */
	long unanchored;      /* entries without a usable entryUUID this cycle: no sweep */
};

struct sync_engine {
	const struct sync_config *cfg;
	const struct sync_run_opts *opts;
	struct sync_map map;
	struct dir *d;
	char tenant_id[DIR_ID_MAX];
	char scope[65];
	struct sync_search *s;
	size_t ns;
	struct sync_conn *conn;
	struct sync_conn *side; /* reads beside the session's searches (eng_side), or NULL */
	struct dir_sync_cycle cycle; /* the cycle being recorded; id 0 when none */
	struct dir_sync_cycle saved; /* its counts as of the last commit */
	int64_t cycle_t0;            /* monotonic ms at its start */
	int in_tx, batch_n;
	int persisting;    /* deletes apply at once, cookies go with each batch */
	int first;         /* a full sync into a tenant without synced objects */
	int first_groups;  /* ... that has begun putting groups */
	int bulk;          /* ... whose pages are applied in bulk mode (dir_sync_bulk) */
	int progressed;    /* this session completed a refresh: reconnect quickly */
	int cookies_dirty; /* a cookie arrived since the last batch stored them */
	int confirm;       /* the delete confirmation is still unused */
	int errors_logged;
	/*
	 * Entries to read again: their put failed on a name another object
	 * holds (ERR_EXISTS), which a later change of that object can free
	 * without the entry changing, so the sync protocol would never send it
	 * again.  Stored with the cookies (sync_cookie.h), read again at the
	 * end of every full sync and refresh, and every ENG_RETRY_MS while
	 * persisting (eng_retry_pass).
	 */
	struct eng_retry {
		enum dir_member_kind kind;
		char anchor[DIR_ANCHOR_MAX];
		int64_t cycle; /* the cycle whose errors count it (id), 0 when loaded */
	} *retry, *reading; /* reading: those a pass is reading again */
	size_t n_retry, cap_retry, n_reading;
	int64_t retry_at; /* monotonic ms of the next pass while persisting */
	/*
	 * Entries whose entryUUID could not be read (an ACL), by DN: a delta
	 * never sends them again once that is fixed, since they do not change.
	 * Stored with the cookies and read again, by DN, with the entries above.
	 */
	struct eng_unread {
		enum dir_member_kind kind;
		char *dn;
		int64_t cycle; /* the cycle whose errors count it (id), 0 when loaded */
	} *unread, *unread_reading; /* unread_reading: those a pass is reading again */
	size_t n_unread, cap_unread, n_unread_reading;
	int unread_full_logged;
	struct sync_members members;
	struct sync_msg msg;
	/* users put DIR_SYNC_PUT_MANY at a time in a first full sync (eng_users_first) */
	struct dir_user *many;
	char (*many_dn)[DIR_SYNC_KEY_MAX], (*many_uid)[DIR_SYNC_KEY_MAX];
};

static int eng_stopping(const struct sync_engine *e)
{
	return e->opts->stop != NULL && *e->opts->stop;
}

/* ---- cookies: one text in the store for all searches (sync_cookie.h) ---- */

/* The searches' cookies as the array sync_cookie.c works on (at most ENG_MAX_SEARCHES). */
static size_t eng_cookie_ptrs(struct sync_engine *e, struct berval **v)
{
	for (size_t i = 0; i < e->ns; i++)
		v[i] = &e->s[i].cookie;
	return e->ns;
}

static void eng_cookies_clear(struct sync_engine *e)
{
	for (size_t i = 0; i < e->ns; i++)
		sync_bv_free(&e->s[i].cookie);
}

/* 1 if every search has a cookie to resume from. */
static int eng_cookies_complete(const struct sync_engine *e)
{
	for (size_t i = 0; i < e->ns; i++)
		if (e->s[i].cookie.bv_len == 0)
			return 0;
	return 1;
}

/* ---- entries to read again (struct eng_retry) ---- */

static ssize_t eng_retry_find(const struct sync_engine *e, enum dir_member_kind kind,
			      const char *anchor)
{
	for (size_t i = 0; i < e->n_retry; i++)
		if (e->retry[i].kind == kind && strcmp(e->retry[i].anchor, anchor) == 0)
			return (ssize_t)i;
	return -1;
}

static int eng_retry_add(struct sync_engine *e, enum dir_member_kind kind, const char *anchor,
			 struct err *err)
{
	size_t len = strlen(anchor);

	/* an anchor that could not go into a filter cannot be read again (nor be one) */
	if (len == 0 || len >= DIR_ANCHOR_MAX || strspn(anchor, "0123456789abcdefABCDEF-") != len ||
	    eng_retry_find(e, kind, anchor) >= 0)
		return 0;
	if (e->n_retry == e->cap_retry) {
		size_t cap = e->cap_retry ? e->cap_retry * 2 : 16;
		struct eng_retry *v = realloc(e->retry, cap * sizeof(*v));
		if (v == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		e->retry = v;
		e->cap_retry = cap;
	}
	e->retry[e->n_retry].kind = kind;
	snprintf(e->retry[e->n_retry].anchor, DIR_ANCHOR_MAX, "%s", anchor);
	e->retry[e->n_retry].cycle = e->cycle.id;
	e->n_retry++;
	e->cookies_dirty = 1;
	return 0;
}

/* The entry is applied anew (a change arrived): it no longer needs reading again. */
static void eng_retry_drop(struct sync_engine *e, enum dir_member_kind kind, const char *anchor)
{
	ssize_t i = eng_retry_find(e, kind, anchor);

	if (i < 0)
		return;
	e->retry[i] = e->retry[--e->n_retry];
	e->cookies_dirty = 1;
}

/* Is this a failure the cycle counted already (read again in the cycle it failed in)? */
static int eng_retry_counted(const struct sync_engine *e, enum dir_member_kind kind,
			     const char *anchor)
{
	for (size_t i = 0; i < e->n_reading; i++)
		if (e->reading[i].kind == kind && e->reading[i].cycle == e->cycle.id &&
		    e->cycle.id != 0 && strcmp(e->reading[i].anchor, anchor) == 0)
			return 1;
	return 0;
}

static void eng_retry_clear(struct sync_engine *e)
{
	if (e->n_retry > 0)
		e->cookies_dirty = 1;
	e->n_retry = 0;
}

/* ---- entries to read again by DN (struct eng_unread) ---- */

/* Is dn being read again in the cycle that counted it as an error already? */
static int eng_unread_counted(const struct sync_engine *e, enum dir_member_kind kind,
			      const char *dn)
{
	for (size_t i = 0; dn != NULL && i < e->n_unread_reading; i++)
		if (e->unread_reading[i].kind == kind && e->cycle.id != 0 &&
		    e->unread_reading[i].cycle == e->cycle.id &&
		    strcmp(e->unread_reading[i].dn, dn) == 0)
			return 1;
	return 0;
}

static void eng_unread_free(struct eng_unread *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].dn);
	free(v);
}

static void eng_unread_clear(struct sync_engine *e)
{
	for (size_t i = 0; i < e->n_unread; i++)
		free(e->unread[i].dn);
	if (e->n_unread > 0)
		e->cookies_dirty = 1;
	e->n_unread = 0;
}

static int eng_unread_add(struct sync_engine *e, enum dir_member_kind kind, const char *dn,
			  int64_t cycle, struct err *err)
{
	char *copy;

	if (dn == NULL || dn[0] == '\0' || strlen(dn) >= DIR_DN_MAX)
		return 0;
	for (size_t i = 0; i < e->n_unread; i++)
		if (e->unread[i].kind == kind && strcmp(e->unread[i].dn, dn) == 0) {
			if (cycle != 0)
				e->unread[i].cycle = cycle; /* counted in this one */
			return 0;
		}
	if (e->n_unread >= ENG_UNREAD_MAX) {
		if (!e->unread_full_logged++)
			log_warnx("more than %d entries without a readable entryUUID: the rest are "
				  "read again only by a full sync (idp-sync --full)",
				  ENG_UNREAD_MAX);
		return 0;
	}
	if (e->n_unread == e->cap_unread) {
		size_t cap = e->cap_unread ? e->cap_unread * 2 : 8;
		struct eng_unread *v = realloc(e->unread, cap * sizeof(*v));
		if (v == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		e->unread = v;
		e->cap_unread = cap;
	}
	if ((copy = strdup(dn)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	e->unread[e->n_unread].kind = kind;
	e->unread[e->n_unread].dn = copy;
	e->unread[e->n_unread].cycle = cycle;
	e->n_unread++;
	e->cookies_dirty = 1;
	return 0;
}

static int eng_cookies_store(struct sync_engine *e, int full, struct err *err)
{
	struct berval *v[ENG_MAX_SEARCHES];
	size_t n = eng_cookie_ptrs(e, v);
	char *text = sync_cookie_encode(e->scope, v, n);
	int rc;

	for (size_t i = 0; text != NULL && i < e->n_retry; i++)
		if (sync_cookie_retry_add(&text, (int)e->retry[i].kind, e->retry[i].anchor) != 0) {
			free(text);
			text = NULL;
		}
	for (size_t i = 0; text != NULL && i < e->n_unread; i++)
		if (sync_cookie_unread_add(&text, (int)e->unread[i].kind, e->unread[i].dn) != 0) {
			free(text);
			text = NULL;
		}
	if (text == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	rc = dir_sync_state_set(e->d, e->tenant_id, e->cfg->connector, text, full, err);
	free(text);
	if (rc == 0)
		e->cookies_dirty = 0;
	return rc;
}

/* ---- cycles and batches ---- */

/*
 * Bulk mode (dir_sync_bulk) left on after a first sync ended because
 * turning foreign keys back on failed: try again before anything else is
 * written; refuse to write while it fails.
 */
static int eng_bulk_over(struct sync_engine *e, struct err *err)
{
	if (!e->bulk || e->first || e->in_tx)
		return 0;
	if (dir_sync_bulk(e->d, 0, err) != 0) {
		err_prefix(err, "the store's foreign keys could not be turned back on");
		return err->code;
	}
	e->bulk = 0;
	return 0;
}

static int eng_cycle_begin(struct sync_engine *e, const char *kind, struct err *err)
{
	if (eng_bulk_over(e, err) != 0)
		return err->code;
	memset(&e->cycle, 0, sizeof(e->cycle));
	snprintf(e->cycle.connector, sizeof(e->cycle.connector), "%s", e->cfg->connector);
	snprintf(e->cycle.kind, sizeof(e->cycle.kind), "%s", kind);
	if (dir_sync_cycle_start(e->d, e->tenant_id, &e->cycle, err) != 0)
		return err->code;
	e->saved = e->cycle;
	e->cycle_t0 = clock_mono_ms();
	e->errors_logged = 0;
	return 0;
}

static void eng_cycle_log(const struct sync_engine *e)
{
	const struct dir_sync_cycle *c = &e->cycle;
	double secs = (double)(clock_mono_ms() - e->cycle_t0) / 1000.0;

	log_info("%s sync %s: %lld added, %lld updated, %lld deleted, %lld unchanged, %lld "
		 "errors in %.2f s%s%s",
		 c->kind, c->status, (long long)c->added, (long long)c->updated,
		 (long long)c->deleted, (long long)c->unchanged, (long long)c->errors, secs,
		 c->message[0] ? ": " : "", c->message);
}

/* Finish the cycle record with status and message (which may be NULL). */
static void eng_cycle_end(struct sync_engine *e, const char *status, const char *message)
{
	struct err err = {0};

	if (e->cycle.id == 0)
		return;
	snprintf(e->cycle.status, sizeof(e->cycle.status), "%s", status);
	if (message != NULL)
		snprintf(e->cycle.message, sizeof(e->cycle.message), "%s", message);
	e->cycle.finished_at = (int64_t)time(NULL);
	eng_cycle_log(e);
	if (dir_sync_cycle_save(e->d, e->tenant_id, &e->cycle, &err) != 0)
		log_warnx("recording the %s cycle: %s", e->cycle.kind, err.msg);
	e->saved = e->cycle;
	e->cycle.id = 0;
}

static int eng_batch_begin(struct sync_engine *e, struct err *err)
{
	if (e->in_tx)
		return 0;
	if (eng_bulk_over(e, err) != 0)
		return err->code;
	if (dir_begin(e->d, err) != 0)
		return err->code;
	/* in bulk mode, nothing checks that the tenant still exists but this */
	if (e->bulk && dir_sync_bulk_check(e->d, e->tenant_id, err) != 0) {
		dir_rollback(e->d);
		return err->code;
	}
	e->in_tx = 1;
	e->batch_n = 0;
	e->saved = e->cycle;
	return 0;
}

static void eng_batch_rollback(struct sync_engine *e)
{
	if (!e->in_tx)
		return;
	dir_rollback(e->d);
	e->in_tx = 0;
	e->batch_n = 0;
	/* the counts of what was rolled back go with it */
	e->cycle.added = e->saved.added;
	e->cycle.updated = e->saved.updated;
	e->cycle.deleted = e->saved.deleted;
	e->cycle.unchanged = e->saved.unchanged;
	e->cycle.errors = e->saved.errors;
}

/* Commit the open batch with the cycle's counts and, when persisting, the cookies. */
static int eng_batch_commit(struct sync_engine *e, struct err *err)
{
	int changed;

	if (!e->in_tx)
		return 0;
	changed = e->cycle.added != e->saved.added || e->cycle.updated != e->saved.updated ||
		  e->cycle.deleted != e->saved.deleted;
	if ((e->persisting && e->cookies_dirty && eng_cookies_store(e, 0, err) != 0) ||
	    (e->cycle.id != 0 && dir_sync_cycle_save(e->d, e->tenant_id, &e->cycle, err) != 0) ||
	    dir_commit(e->d, err) != 0) {
		eng_batch_rollback(e);
		return err->code;
	}
	e->in_tx = 0;
	if (e->persisting && changed)
		log_info("persist: %lld added, %lld updated, %lld deleted",
			 (long long)(e->cycle.added - e->saved.added),
			 (long long)(e->cycle.updated - e->saved.updated),
			 (long long)(e->cycle.deleted - e->saved.deleted));
	e->saved = e->cycle;
	e->batch_n = 0;
	return 0;
}

/* One entry that cannot be synced: logged (up to a limit) and counted. */
static void eng_entry_error(struct sync_engine *e, const char *dn, const char *why)
{
	e->cycle.errors++;
	if (e->cycle.errors == 1 || e->cycle.message[0] == '\0')
		snprintf(e->cycle.message, sizeof(e->cycle.message), "first error: %.300s: %.400s",
			 dn != NULL ? dn : "(no DN)", why);
	if (e->errors_logged < ENG_ERRORS_LOGGED) {
		log_warnx("%s: %s: not synced", dn != NULL ? dn : "(no DN)", why);
		if (++e->errors_logged == ENG_ERRORS_LOGGED)
			log_warnx("more entry errors in this cycle are counted, not logged");
	}
}

/*
 * An entry the LDAP layer could not read.  Without its anchor it cannot be
 * marked seen, so nothing under its search's base may be swept this cycle:
 * an ACL hiding entryUUID must not delete every user of an OU.
 */
/*
 * Entry dn of search s has no anchor in this cycle: nothing under the
 * base is swept, and it is read again by DN until it can be anchored (out
 * of memory: the next full sync reads it).
 */
static void eng_no_anchor(struct sync_engine *e, struct sync_search *s, const char *dn,
			   int64_t cycle)
{
	struct err ignore = {0};

	if (s->unanchored++ == 0)
		log_warnx("%s: an entry without a usable entryUUID: nothing under this base is "
			  "deleted in this cycle",
			  s->base);
	(void)eng_unread_add(e, s->kind, dn, cycle, &ignore);
}

static void eng_unreadable(struct sync_engine *e, struct sync_search *s,
			   const struct sync_msg *m)
{
	if (!eng_unread_counted(e, s->kind, m->entry.dn))
		eng_entry_error(e, m->entry.dn, m->diag);
	if (m->entry.uuid[0] == '\0')
		eng_no_anchor(e, s, m->entry.dn, e->cycle.id);
}

/*
 * Is this error of a put about the entry (skip it) rather than the store
 * (fail the batch)?  A value the store refuses (ERR_INVALID: too long, the
 * anchor of a cloud object) or a name another object holds (ERR_EXISTS) is
 * the entry's.  ERR_NOT_FOUND is not: a put looks its object up first and
 * creates it when it is missing, so a row or tenant missing halfway through
 * (a failed foreign key, an update or restore that found nothing) means the
 * store is not what the put just read, and skipping the entry would lose
 * it: the batch rolls back and the cycle is retried instead.
 */
static int eng_entry_fault(int code)
{
	return code == ERR_INVALID || code == ERR_EXISTS;
}

static void eng_count(struct sync_engine *e, int change)
{
	if (change == DIR_SYNC_ADDED)
		e->cycle.added++;
	else if (change == DIR_SYNC_UPDATED)
		e->cycle.updated++;
	else
		e->cycle.unchanged++;
}

/*
 * Apply one entry (add or modify) of a search of kind; mark it seen when a
 * read that proves absence is going on.  0, or an err code that ends the
 * cycle (the store failed).
 */
static int eng_entry(struct sync_engine *e, enum dir_member_kind kind,
		     const struct sync_entry *ent, int mark, struct err *err)
{
	char dn_key[DIR_SYNC_KEY_MAX], uid_key[DIR_SYNC_KEY_MAX];
	struct err why = {0};
	int rc, mapped;

	/* A first full sync sweeps nothing, so it marks nothing. */
	mark = mark && !e->first;
	if (kind == DIR_MEMBER_USER) {
		struct dir_user u;
		int flags = (mark ? DIR_SYNC_PUT_MARK : 0) |
			    (e->first && !e->first_groups ? DIR_SYNC_PUT_FIRST : 0);
		mapped = rc = ent->ahead != NULL
				      ? sync_ahead_user(ent, &u, dn_key, uid_key, &why)
				      : sync_map_user(&e->map, ent, &u, dn_key, uid_key, &why);
		if (rc == 0)
			rc = dir_sync_user_put(e->d, e->tenant_id, &u, dn_key, uid_key, flags,
					       &why);
	} else {
		struct dir_group g;
		e->first_groups = 1;
		mapped = rc = ent->ahead != NULL
				      ? sync_ahead_group(ent, &g, dn_key, &e->members, &why)
				      : sync_map_group(&e->map, ent, &g, dn_key, &e->members, &why);
		if (rc == 0)
			rc = dir_sync_group_put(e->d, e->tenant_id, &g, dn_key, e->members.keys,
						e->members.n, mark ? DIR_SYNC_PUT_MARK : 0, &why);
		if (rc >= 0 && e->members.unparsable > 0)
			log_debug("%s: %zu member values are not DNs or uids: ignored", ent->dn,
				  e->members.unparsable);
		/*
		 * Each member reference is a row or two: counted as a change, so that
		 * a batch of groups is about as big as one of users (a full sync's
		 * groups then commit in several batches, which the checkpointer
		 * copies while the next is written, not in one at the end).
		 */
		e->batch_n += (int)(e->members.n < 100000 ? e->members.n : 100000);
	}
	e->batch_n++;
	if (rc >= 0) {
		eng_count(e, rc);
		if (eng_retry_counted(e, kind, ent->uuid)) {
			/* it failed earlier in this cycle, on a name another entry has since left */
			log_info("%s: synced on reading it again", ent->dn);
			if (--e->cycle.errors == 0)
				e->cycle.message[0] = '\0';
		}
		return 0;
	}
	/* a mapping failure is the entry's (but for memory); a put's, see eng_entry_fault() */
	if (mapped == 0 ? !eng_entry_fault(rc) : rc == ERR_INTERNAL) {
		if (mapped == 0)
			err_prefix(&why, "[store] %.100s", ent->dn != NULL ? ent->dn : "(no DN)");
		*err = why;
		return rc;
	}
	if (mapped != 0 || rc != ERR_EXISTS || !eng_retry_counted(e, kind, ent->uuid))
		eng_entry_error(e, ent->dn, why.msg);
	/* Another object holds its name: that can change while the entry does not. */
	if (mapped == 0 && rc == ERR_EXISTS && eng_retry_add(e, kind, ent->uuid, err) != 0)
		return err->code;
	/* It is in the source all the same: a bad value must not make it look deleted. */
	if (mark && ent->uuid[0] != '\0' &&
	    dir_sync_mark(e->d, DIR_SYNC_SEEN, kind, ent->uuid, err) != 0)
		return err->code;
	return 0;
}

/* Over the threshold with what would be deleted now?  Uses up the confirmation. */
static int eng_over_threshold(struct sync_engine *e, long long more)
{
	long long total = (long long)e->cycle.deleted + more;

	if (total <= e->cfg->delete_threshold)
		return 0;
	if (e->confirm) {
		log_warnx("%lld deletes in this cycle exceed the threshold of %lld: proceeding, "
			  "as confirmed",
			  total, e->cfg->delete_threshold);
		e->confirm = 0; /* it covers this cycle only */
		return 0;
	}
	return 1;
}

static void eng_threshold_stop(struct sync_engine *e, long long would)
{
	char msg[300];

	snprintf(msg, sizeof(msg),
		 "stopped: %lld deletes exceed the delete threshold of %lld; nothing was "
		 "deleted; check the source, then run idp-sync --once --confirm-deletes",
		 would, e->cfg->delete_threshold);
	log_error("%s", msg);
	eng_cycle_end(e, "threshold", msg);
}

/* A delete while persisting: at once, within the cycle's threshold. */
static int eng_delete_now(struct sync_engine *e, enum dir_member_kind kind, const char *anchor,
			  const char *base_key, struct err *err)
{
	int rc;

	if (e->cycle.deleted + 1 > e->cfg->delete_threshold && !e->confirm) {
		/* Would this delete anything?  Only real deletes count. */
		struct dir_user u;
		struct dir_group g;
		struct err ignore;
		int live = kind == DIR_MEMBER_USER
				   ? dir_user_get_by_anchor(e->d, e->tenant_id, anchor, &u,
							    &ignore) == 0 &&
					     u.source == DIR_SOURCE_LDAP && u.deleted_at == 0
				   : dir_group_get_by_anchor(e->d, e->tenant_id, anchor, &g,
							     &ignore) == 0 &&
					     g.source == DIR_SOURCE_LDAP && g.deleted_at == 0;
		if (live)
			return ENG_THRESHOLD;
	}
	rc = dir_sync_delete(e->d, e->tenant_id, kind, anchor, base_key, err);
	if (rc < 0)
		return rc;
	e->batch_n++;
	if (rc > 0) {
		if (e->cycle.deleted + 1 > e->cfg->delete_threshold)
			(void)eng_over_threshold(e, 1);
		e->cycle.deleted++;
	}
	return 0;
}

/* ---- the connection ---- */

static void eng_disconnect(struct sync_engine *e)
{
	sync_conn_close(e->side);
	e->side = NULL;
	sync_conn_close(e->conn);
	e->conn = NULL;
	for (size_t i = 0; i < e->ns; i++)
		e->s[i].msgid = -1;
}

/* Stop every search still running on the connection. */
static void eng_abandon_all(struct sync_engine *e)
{
	for (size_t i = 0; i < e->ns; i++) {
		if (e->conn != NULL && e->s[i].msgid >= 0)
			sync_conn_abandon(e->conn, e->s[i].msgid);
		e->s[i].msgid = -1;
	}
}

/* The search a message belongs to, or NULL. */
static struct sync_search *eng_search_of(struct sync_engine *e, int msgid)
{
	for (size_t i = 0; i < e->ns; i++)
		if (e->s[i].msgid == msgid)
			return &e->s[i];
	return NULL;
}

/*
 * Read the next message of any search, waiting at most timeout_ms.  0 with
 * one in e->msg, 1 if none came, or an err code.
 */
static int eng_read(struct sync_engine *e, int timeout_ms, struct err *err)
{
	return sync_conn_read(e->conn, timeout_ms, &e->msg, err);
}

/*
 * The same, waiting up to the LDAP timeout for it, in ticks: quit(ctx) is
 * asked before each, so that a stop is not held up by a server that does
 * not answer.  0 with a message, ENG_STOPPED, or an err code.
 */
static int eng_read_wait(struct sync_engine *e, int (*quit)(void *ctx), void *ctx,
			 struct err *err)
{
	int64_t end = clock_mono_ms() + (int64_t)e->cfg->timeout * 1000;

	for (;;) {
		int64_t left = end - clock_mono_ms();
		int rc;
		if (quit(ctx))
			return ENG_STOPPED;
		if (left <= 0)
			return err_set(err, ERR_UNAVAILABLE, "no answer in %lld s", e->cfg->timeout);
		rc = eng_read(e, left > ENG_TICK_MS ? ENG_TICK_MS : (int)left, err);
		if (rc != 1)
			return rc;
	}
}

static int eng_stop_asked(void *ctx)
{
	return eng_stopping(ctx);
}

/* ---- entries to read again ---- */

/*
 * The session's second connection, opened on first use: reads by anchor
 * that must not wait behind (or mix with) the persistent searches of the
 * first.  Closed with the session.
 */
static int eng_side(struct sync_engine *e, struct sync_conn **c, struct err *err)
{
	if (e->side == NULL && sync_conn_open(e->cfg, e->opts->stop, &e->side, err) != 0)
		return eng_stopping(e) ? ENG_STOPPED : err->code;
	*c = e->side;
	return 0;
}

/*
 * Read one search's entries of filter on c, applying each: under its base,
 * or (dn not NULL) the entry dn alone, which may be gone.  0, ENG_STOPPED
 * or an err code.
 */
static int eng_retry_search(struct sync_engine *e, struct sync_conn *c, struct sync_search *s,
			    const char *dn, const char *filter, int mark, struct err *err)
{
	struct sync_search_req req = {0};
	struct sync_msg m = {0};
	int64_t end = clock_mono_ms() + (int64_t)e->cfg->timeout * 1000;
	int msgid, rc;

	req.base = dn != NULL ? dn : s->base;
	req.base_only = dn != NULL;
	req.filter = filter;
	req.attrs = s->attrs;
	if ((rc = sync_conn_search(c, &req, &msgid, err)) != 0)
		return rc;
	for (;;) {
		if (eng_stopping(e)) {
			rc = ENG_STOPPED;
			break;
		}
		if (clock_mono_ms() > end) {
			rc = err_set(err, ERR_UNAVAILABLE, "no answer in %lld s", e->cfg->timeout);
			break;
		}
		if ((rc = sync_conn_read(c, ENG_TICK_MS, &m, err)) == 1)
			continue;
		if (rc < 0)
			break;
		end = clock_mono_ms() + (int64_t)e->cfg->timeout * 1000;
		if (m.msgid != msgid)
			continue;
		if (m.type == SYNC_MSG_ENTRY) {
			if (m.bad)
				eng_unreadable(e, s, &m);
			else if ((rc = eng_entry(e, s->kind, &m.entry, mark, err)) != 0)
				break;
			continue;
		}
		if (m.type != SYNC_MSG_RESULT)
			continue;
		if (dn != NULL && m.result != LDAP_SUCCESS && m.result != LDAP_NO_SUCH_OBJECT) {
			/*
			 * One entry refused (an ACL, say): its error, not the cycle's.
			 * It stays listed, and nothing under the base is deleted.
			 */
			char why[300];
			snprintf(why, sizeof(why), "reading it again: %s%s%s",
				 ldap_err2string(m.result), m.diag[0] ? ": " : "", m.diag);
			if (!eng_unread_counted(e, s->kind, dn))
				eng_entry_error(e, dn, why);
			eng_no_anchor(e, s, dn, e->cycle.id);
		} else if (m.result != LDAP_SUCCESS && dn == NULL) {
			rc = err_set(err,
				     m.result == LDAP_NO_SUCH_OBJECT ? ERR_NOT_FOUND : ERR_INVALID,
				     "%s: reading entries again: %s%s%s", s->base,
				     ldap_err2string(m.result), m.diag[0] ? ": " : "", m.diag);
		}
		break;
	}
	sync_msg_clear(&m);
	return rc;
}

/* Read the n entries of todo on c, applying each.  0, ENG_STOPPED or an err code. */
static int eng_retry_read(struct sync_engine *e, struct sync_conn *c,
			  const struct eng_retry *todo, size_t n, int mark, struct err *err)
{
	char *filter = NULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < e->ns; i++) {
		struct sync_search *s = &e->s[i];
		size_t cap = strlen(s->filter) + 8 + ENG_RETRY_CHUNK * (DIR_ANCHOR_MAX + 16);
		free(filter);
		if ((filter = malloc(cap)) == NULL) {
			rc = err_set(err, ERR_INTERNAL, "out of memory");
			break;
		}
		for (size_t from = 0; rc == 0 && from < n;) {
			size_t k = 0, at = (size_t)snprintf(filter, cap, "(&%s(|", s->filter);
			for (; from < n && k < ENG_RETRY_CHUNK; from++) {
				if (todo[from].kind != s->kind)
					continue;
				at += (size_t)snprintf(filter + at, cap - at, "(entryUUID=%s)",
						       todo[from].anchor);
				k++;
			}
			snprintf(filter + at, cap - at, "))");
			if (k > 0)
				rc = eng_retry_search(e, c, s, NULL, filter, mark, err);
		}
	}
	free(filter);
	return rc;
}

/* Attempts at an exchange, each without the entries the one before failed on. */
#define ENG_EXCHANGE_ROUNDS 4

/* The entries an exchange tries together. */
struct eng_set {
	struct eng_retry *v;
	size_t n;
	int dropped; /* entries taken out since the last attempt */
};

static int eng_set_has(const struct eng_set *s, enum dir_member_kind kind, const char *anchor)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == kind && strcmp(s->v[i].anchor, anchor) == 0)
			return 1;
	return 0;
}

/* Take an entry out of the set (a dir_sync_exchange_left() callback too). */
static void eng_set_drop(void *ctx, enum dir_member_kind kind, const char *anchor)
{
	struct eng_set *s = ctx;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind == kind && strcmp(s->v[i].anchor, anchor) == 0) {
			s->v[i] = s->v[--s->n];
			s->dropped = 1;
			return;
		}
}

/*
 * The entries that failed again, each on a name another one holds, may be
 * exchanging names (two users swapping UPNs, a longer round): none can go
 * first.  They are tried together: their objects' names are set aside
 * (dir_sync_exchange_*), then they are read and put again, and it is all
 * kept only when every one applied and no name is left set aside.
 * Otherwise it is rolled back, counts included, and tried again without
 * the entries that failed (one held by a cloud user must not block a swap
 * beside it), up to ENG_EXCHANGE_ROUNDS times while two or more remain.
 * Those not applied stay listed.  0, ENG_STOPPED or an err code.
 */
static int eng_retry_exchange(struct sync_engine *e, struct sync_conn *c, int mark,
			      struct err *err)
{
	struct eng_retry *all = e->retry; /* the list as it was, kept unless some applied */
	size_t n_all = e->n_retry, cap_all = e->cap_retry;
	struct dir_sync_cycle before = e->cycle;
	struct eng_set set = {0};
	int rc = 0, kept = 0;

	if ((set.v = malloc(n_all * sizeof(*set.v))) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	memcpy(set.v, all, n_all * sizeof(*set.v));
	set.n = n_all;
	e->retry = NULL;
	e->n_retry = e->cap_retry = 0;
	for (int round = 0; rc == 0 && !kept && round < ENG_EXCHANGE_ROUNDS && set.n >= 2;
	     round++) {
		int left = 0, end;
		e->reading = set.v;
		e->n_reading = set.n;
		rc = dir_sync_exchange_begin(e->d, err);
		if (rc != 0)
			break;
		for (size_t i = 0; rc == 0 && i < set.n; i++)
			rc = dir_sync_exchange_vacate(e->d, e->tenant_id, set.v[i].kind,
						      set.v[i].anchor, err);
		if (rc == 0)
			rc = eng_retry_read(e, c, set.v, set.n, mark, err);
		/* next time without those that failed: left set aside, or failing again */
		set.dropped = 0;
		if (rc == 0 && (left = dir_sync_exchange_left(e->d, e->tenant_id, eng_set_drop,
							      &set, err)) < 0)
			rc = left;
		kept = rc == 0 && left == 0 && e->n_retry == 0;
		for (size_t i = 0; !kept && rc == 0 && i < e->n_retry; i++)
			eng_set_drop(&set, e->retry[i].kind, e->retry[i].anchor);
		end = dir_sync_exchange_end(e->d, kept, rc == 0 ? err : &(struct err){0});
		e->reading = NULL;
		e->n_reading = 0;
		if (end != 0 && rc == 0)
			rc = end;
		if (!kept) {
			e->cycle = before;
			free(e->retry);
			e->retry = NULL;
			e->n_retry = e->cap_retry = 0;
			if (!set.dropped)
				break; /* nothing to leave out: no progress to make */
		}
	}
	if (rc == 0 && kept) {
		/* applied together; the rest are still to read again */
		log_info("%zu entries exchanging names applied together", set.n);
		for (size_t i = 0; rc == 0 && i < n_all; i++)
			if (!eng_set_has(&set, all[i].kind, all[i].anchor))
				rc = eng_retry_add(e, all[i].kind, all[i].anchor, err);
		if (rc == 0) {
			free(all);
			free(set.v);
			return 0;
		}
	}
	/* not applied (or a failure): as before the attempt */
	e->cycle = before;
	free(e->retry);
	e->retry = all;
	e->n_retry = n_all;
	e->cap_retry = cap_all;
	free(set.v);
	return rc;
}

/* The search of kind whose base dn is under (or is), or NULL (out of scope now). */
static struct sync_search *eng_search_under(struct sync_engine *e, enum dir_member_kind kind,
					    const char *dn)
{
	char key[DIR_SYNC_KEY_MAX];
	struct err ignore = {0};

	if (sync_dn_key(dn, strlen(dn), key, sizeof(key), &ignore) != 0)
		return NULL;
	for (size_t i = 0; i < e->ns; i++)
		if (e->s[i].kind == kind && sync_dn_key_under(key, e->s[i].base_key))
			return &e->s[i];
	return NULL;
}

/*
 * Read the entries listed by DN (their entryUUID could not be read) again,
 * each alone, on a connection of their own, applying those that can now be
 * anchored; those that still cannot are listed again (eng_unreadable), and
 * those gone or out of scope are dropped.  0, ENG_STOPPED or an err code.
 */
static int eng_unread_pass(struct sync_engine *e, int mark, struct err *err)
{
	struct eng_unread *todo = e->unread;
	size_t n = e->n_unread, i = 0;
	struct sync_conn *c = NULL;
	int rc;

	log_info("reading %zu entries without a readable entryUUID again", n);
	e->unread = NULL;
	e->n_unread = e->cap_unread = 0;
	e->unread_reading = todo;
	e->n_unread_reading = n;
	e->cookies_dirty = 1;
	rc = eng_side(e, &c, err);
	for (; rc == 0 && i < n; i++) {
		struct sync_search *s = eng_search_under(e, todo[i].kind, todo[i].dn);
		if (s == NULL)
			continue; /* out of scope now */
		/* the refresh or full sync ending now has just read it: keep it for the next */
		if (!e->persisting && e->cycle.id != 0 && todo[i].cycle == e->cycle.id) {
			eng_no_anchor(e, s, todo[i].dn, todo[i].cycle);
			continue;
		}
		rc = eng_retry_search(e, c, s, todo[i].dn, s->filter, mark, err);
	}
	e->unread_reading = NULL;
	e->n_unread_reading = 0;
	/* not read: still to read */
	for (i = rc != 0 && i > 0 ? i - 1 : i; rc != 0 && i < n; i++) {
		struct err ignore = {0};
		(void)eng_unread_add(e, todo[i].kind, todo[i].dn, todo[i].cycle, &ignore);
	}
	eng_unread_free(todo, n);
	return rc;
}

/*
 * Read the entries to read again, on a connection of their own (persistent
 * searches may be running on the session's), and apply them in the open
 * batch, marking them seen when mark.  Those found apply or fail again
 * (and are listed again); those not found are gone or out of scope, which
 * the sync learns as it learns any delete.  Two or more failing again are
 * tried together (eng_retry_exchange).  0, ENG_STOPPED or an err code.
 */
static int eng_retry_pass(struct sync_engine *e, int mark, struct err *err)
{
	struct eng_retry *todo = e->retry;
	size_t n = e->n_retry;
	struct sync_conn *c = NULL;
	int rc = 0;

	if (e->n_unread > 0 && (rc = eng_unread_pass(e, mark, err)) != 0)
		return rc;
	if ((n = e->n_retry) == 0)
		return 0;
	todo = e->retry;
	log_info("reading %zu entries again", n);
	e->reading = todo;
	e->n_reading = n;
	e->retry = NULL;
	e->n_retry = e->cap_retry = 0;
	e->cookies_dirty = 1;
	if ((rc = eng_side(e, &c, err)) == 0)
		rc = eng_retry_read(e, c, todo, n, mark, err);
	/* not read: still to read (a stop commits the batch, and with it the list) */
	e->reading = NULL;
	e->n_reading = 0;
	for (size_t i = 0; rc != 0 && i < n; i++) {
		struct err ignore;
		(void)eng_retry_add(e, todo[i].kind, todo[i].anchor, &ignore);
	}
	free(todo);
	if (rc == 0 && e->n_retry >= 2)
		rc = eng_retry_exchange(e, c, mark, err);
	return rc;
}

/* ---- full sync ---- */

/* The cookie of "now" for search s: an RFC 4533 refresh that matches nothing. */
static int eng_probe_cookie(struct sync_engine *e, struct sync_search *s, struct err *err)
{
	char *filter;
	char *attrs[] = {"1.1", NULL};
	struct sync_search_req req = {0};
	size_t len = strlen(s->filter) + 64;
	int rc, done = 0;

	if ((filter = malloc(len)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	snprintf(filter, len, "(&%s(entryUUID=%s))", s->filter, ENG_PROBE_UUID);
	req.base = s->base;
	req.filter = filter;
	req.attrs = attrs;
	req.sync_mode = LDAP_SYNC_REFRESH_ONLY;
	rc = sync_conn_search(e->conn, &req, &s->msgid, err);
	free(filter);
	if (rc != 0)
		return rc;
	sync_bv_free(&s->cookie);
	while (!done) {
		if ((rc = eng_read_wait(e, eng_stop_asked, e, err)) != 0)
			return rc;
		if (e->msg.msgid != s->msgid)
			continue;
		if (e->msg.has_cookie && sync_bv_set(&s->cookie, &e->msg.cookie) != 0)
			return err_set(err, ERR_INTERNAL, "out of memory");
		done = e->msg.type == SYNC_MSG_RESULT;
	}
	s->msgid = -1;
	if (e->msg.result == LDAP_UNAVAILABLE_CRITICAL_EXTENSION)
		return err_set(err, ERR_INVALID,
			       "%s: the server does not offer Content Sync (RFC 4533; OpenLDAP: "
			       "the syncprov overlay)",
			       s->base);
	if (e->msg.result != LDAP_SUCCESS)
		return err_set(err, e->msg.result == LDAP_NO_SUCH_OBJECT ? ERR_NOT_FOUND
									 : ERR_INVALID,
			       "%s: %s%s%s", s->base, ldap_err2string(e->msg.result),
			       e->msg.diag[0] ? ": " : "", e->msg.diag);
	if (s->cookie.bv_len == 0)
		return err_set(err, ERR_INVALID, "%s: the server sent no sync cookie", s->base);
	return 0;
}

/*
 * Read one page of search s (sent already) into buf: its entries, then the
 * result, whose cookie names the next page.  Returns 0, ENG_STOPPED (when
 * quit(ctx) says so), or an err code.
 */
static int eng_page_read(struct sync_engine *e, struct sync_search *s, struct sync_msg **buf,
			 size_t *n, size_t *cap, struct berval *next, int (*quit)(void *ctx),
			 void *ctx, struct err *err)
{
	for (;;) {
		int rc = eng_read_wait(e, quit, ctx, err);
		if (rc != 0)
			return rc;
		if (e->msg.msgid != s->msgid)
			continue;
		if (e->msg.type == SYNC_MSG_ENTRY) {
			if (*n == *cap) {
				size_t c = *cap ? *cap * 2 : 256;
				struct sync_msg *v = realloc(*buf, c * sizeof(*v));
				if (v == NULL)
					return err_set(err, ERR_INTERNAL, "out of memory");
				*buf = v;
				*cap = c;
			}
			/* mapped here, in the reader, not by the thread writing the store */
			if (!e->msg.bad &&
			    (rc = sync_map_ahead(&e->map, s->kind, &e->msg.entry, err)) != 0)
				return rc;
			/* the buffer takes over what the message owns */
			(*buf)[(*n)++] = e->msg;
			memset(&e->msg, 0, sizeof(e->msg));
			continue;
		}
		if (e->msg.type != SYNC_MSG_RESULT)
			continue;
		s->msgid = -1;
		if (e->msg.result != LDAP_SUCCESS) {
			err_set(err, e->msg.result == LDAP_NO_SUCH_OBJECT ? ERR_NOT_FOUND : ERR_INVALID,
				"%s: %s%s%s", s->base, ldap_err2string(e->msg.result),
				e->msg.diag[0] ? ": " : "", e->msg.diag);
			if (e->msg.result == LDAP_SIZELIMIT_EXCEEDED)
				err_prefix(err, "the sync account needs an unlimited size limit "
						"(olcLimits)");
			return err->code;
		}
		if (sync_bv_set(next, &e->msg.page_cookie) != 0)
			return err_set(err, ERR_INTERNAL, "out of memory");
		return 0;
	}
}

/*
 * The pages of a paged search, read by a thread of their own while the
 * engine applies earlier ones: parsing LDAP, mapping entries and freeing
 * them take turns with the store writes on two cores instead of one.
 * ENG_PAGES pages at most are held, in a ring: the reader fills page
 * number n into slot n % ENG_PAGES once the engine has applied the page
 * that slot held, so a page that is slow to arrive (the reader shares its
 * core with slapd and the checkpointer) is absorbed by those read ahead.
 * The reader uses only the connection, e->msg, s->msgid and the mapping
 * (read-only), which nothing else touches until it is joined.
 */
struct eng_page {
	struct sync_msg *buf;
	size_t n, cap;
};

struct eng_pager {
	struct sync_engine *e;
	struct sync_search *s;
	struct sync_search_req req;
	struct berval cookie; /* the next page's */
	struct eng_page page[ENG_PAGES];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long filled;  /* pages read to the end and handed over */
	unsigned long applied; /* pages the engine is done with */
	int done;              /* the reader has ended: rc and err say how */
	int quit;              /* the engine stops reading */
	int rc;
	struct err err;
};

/* Has the engine told the reader to quit?  (eng_read_wait() asks between ticks.) */
static int eng_pager_quit(void *ctx)
{
	struct eng_pager *pg = ctx;
	int quit;

	pthread_mutex_lock(&pg->mu);
	quit = pg->quit;
	pthread_mutex_unlock(&pg->mu);
	return quit;
}

static void eng_page_clear(struct eng_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		sync_msg_clear(&p->buf[i]);
	p->n = 0;
}

static void *eng_pager_main(void *arg)
{
	struct eng_pager *pg = arg;
	struct err err = {0};
	unsigned long k = 0; /* the page being read */
	int rc = 0, more = 1;

	while (more) {
		struct eng_page *p = &pg->page[k % ENG_PAGES];
		/* wait for the slot: the page it held applied */
		pthread_mutex_lock(&pg->mu);
		while (k - pg->applied >= ENG_PAGES && !pg->quit)
			pthread_cond_wait(&pg->cv, &pg->mu);
		if (pg->quit) {
			pthread_mutex_unlock(&pg->mu);
			break;
		}
		pthread_mutex_unlock(&pg->mu);
		/* applied already: its frees are ours */
		eng_page_clear(p);
		rc = eng_page_read(pg->e, pg->s, &p->buf, &p->n, &p->cap, &pg->cookie,
				   eng_pager_quit, pg, &err);
		more = rc == 0 && pg->cookie.bv_len > 0;
		/* ask for the next page before handing this one over */
		pg->req.page_cookie = &pg->cookie;
		if (more && (rc = sync_conn_search(pg->e->conn, &pg->req, &pg->s->msgid, &err)))
			more = 0;
		if (rc != 0)
			break; /* a failed page is not applied */
		pthread_mutex_lock(&pg->mu);
		pg->filled = ++k;
		pthread_cond_broadcast(&pg->cv);
		pthread_mutex_unlock(&pg->mu);
	}
	pthread_mutex_lock(&pg->mu);
	pg->rc = rc;
	pg->err = err;
	pg->done = 1;
	pthread_cond_broadcast(&pg->cv);
	pthread_mutex_unlock(&pg->mu);
	return NULL;
}

/* Apply one page; 0, ENG_STOPPED, or an err code. */
/*
 * In a first full sync, the users from p->buf[i] on, DIR_SYNC_PUT_MANY (or
 * a quarter or a sixteenth of that: the end of a page) in one statement
 * (dir_sync_users_put_first) when that many follow, all mapped, and the
 * batch has room for them.  *took says how many entries it
 * consumed: 0 when it did nothing (the caller applies entry i as usual).
 * When one of them cannot be mapped, the ones before it and it go one by
 * one; when the store refuses one of them, all of them do, so that each
 * outcome (a clash, a bad value) is what a put of its own gives.
 */
static int eng_users_first(struct sync_engine *e, struct sync_search *s, struct eng_page *p,
			   size_t i, size_t *took, struct err *err)
{
	struct err why = {0};
	size_t k, n = DIR_SYNC_PUT_MANY;
	int rc;

	*took = 0;
	if (s->kind != DIR_MEMBER_USER || !e->first || e->first_groups)
		return 0;
	/* the most that follow and fit in the batch: 64, 16 or 4 */
	while (n >= 4 && (i + n > p->n || e->cfg->batch_size - e->batch_n < (long long)n))
		n /= 4;
	if (n < 4)
		return 0;
	if (e->many == NULL) {
		e->many = calloc(DIR_SYNC_PUT_MANY, sizeof(*e->many));
		e->many_dn = calloc(DIR_SYNC_PUT_MANY, sizeof(*e->many_dn));
		e->many_uid = calloc(DIR_SYNC_PUT_MANY, sizeof(*e->many_uid));
		if (e->many == NULL || e->many_dn == NULL || e->many_uid == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
	}
	for (k = 0; k < n; k++) {
		const struct sync_msg *m = &p->buf[i + k];
		if (m->bad || m->entry.ahead == NULL ||
		    sync_ahead_user(&m->entry, &e->many[k], e->many_dn[k], e->many_uid[k],
				    &why) != 0)
			break;
	}
	if (k == n) {
		rc = dir_sync_users_put_first(e->d, e->tenant_id, e->many, e->many_dn,
					      e->many_uid, n, &why);
		if (rc == 0) {
			e->cycle.added += (long long)n;
			e->batch_n += (int)n;
			*took = n;
			return 0;
		}
		if (!eng_entry_fault(rc)) {
			*err = why;
			return rc;
		}
		k = n - 1; /* nothing was written: each on its own */
	}
	for (size_t j = 0; j <= k; j++) {
		const struct sync_msg *m = &p->buf[i + j];
		if (m->bad)
			eng_unreadable(e, s, m);
		else if ((rc = eng_entry(e, s->kind, &m->entry, 1, err)) != 0)
			return rc;
	}
	*took = k + 1;
	return 0;
}

static int eng_page_apply(struct sync_engine *e, struct sync_search *s, struct eng_page *p,
			  struct err *err)
{
	int rc = 0;

	for (size_t i = 0, took = 0; rc == 0 && i < p->n; i += took) {
		/* a batch begins with the first entry it holds (none while waiting for a page) */
		if ((rc = eng_batch_begin(e, err)) != 0 ||
		    (rc = eng_users_first(e, s, p, i, &took, err)) != 0)
			break;
		if (took == 0) {
			took = 1;
			if (p->buf[i].bad)
				eng_unreadable(e, s, &p->buf[i]);
			else
				rc = eng_entry(e, s->kind, &p->buf[i].entry, 1, err);
		}
		/*
		 * A batch spans pages while they come quickly: big transactions
		 * write each index page once (a late page commits it: eng_paged).
		 */
		if (rc == 0 && e->batch_n >= e->cfg->batch_size &&
		    (rc = eng_batch_commit(e, err)) == 0)
			rc = eng_stopping(e) ? ENG_STOPPED : 0;
	}
	/* the reader clears the page before it fills it again */
	if (rc == 0 && eng_stopping(e) && (rc = eng_batch_commit(e, err)) == 0)
		rc = ENG_STOPPED;
	return rc;
}

/* Wait on cv (with mu held) for at most ms milliseconds. */
static void eng_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(cv, mu, &ts);
}

/*
 * Read every page of search s, applying each entry; ENG_STOPPED on a
 * signal, within a tick or two even while the server does not answer
 * (what was applied is committed first).
 */
static int eng_paged(struct sync_engine *e, struct sync_search *s, struct err *err)
{
	struct eng_pager pg = {.e = e, .s = s};
	pthread_condattr_t ca;
	pthread_t reader;
	sigset_t all, old;
	int rc;

	pg.req.base = s->base;
	pg.req.filter = s->filter;
	pg.req.attrs = s->attrs;
	/* A group can be large (every member is a value): smaller pages of them. */
	pg.req.page_size = (int)e->cfg->page_size;
	if (s->kind == DIR_MEMBER_GROUP)
		pg.req.page_size = pg.req.page_size / 20 > 10 ? pg.req.page_size / 20 : 10;
	/* no batch yet: it begins with the first page (eng_page_apply) */
	if ((rc = sync_conn_search(e->conn, &pg.req, &s->msgid, err)) != 0)
		goto out;
	pthread_mutex_init(&pg.mu, NULL);
	/* timed waits on the monotonic clock: the engine looks at the stop flag meanwhile */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pg.cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals stay with this thread, which looks at the stop flag. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&reader, NULL, eng_pager_main, &pg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		rc = err_set(err, ERR_INTERNAL, "cannot start the page reader: %s", strerror(rc));
	} else {
		for (unsigned long k = 0;; k++) {
			int ready, done;
			pthread_mutex_lock(&pg.mu);
			/*
			 * The next page late (a slow server): the batch in hand is
			 * committed, so that the store's write lock is not held while
			 * the network is waited for (the idp writes the same store).
			 */
			if (pg.filled == k && !pg.done && e->in_tx) {
				eng_cond_wait(&pg.cv, &pg.mu, ENG_PAGE_LATE_MS);
				if (pg.filled == k && !pg.done) {
					pthread_mutex_unlock(&pg.mu);
					rc = eng_batch_commit(e, err);
					pthread_mutex_lock(&pg.mu);
					if (rc != 0) {
						pg.quit = 1;
						pthread_cond_broadcast(&pg.cv);
						pthread_mutex_unlock(&pg.mu);
						break;
					}
				}
			}
			while (pg.filled == k && !pg.done && !eng_stopping(e))
				eng_cond_wait(&pg.cv, &pg.mu, ENG_TICK_MS);
			ready = pg.filled > k;
			done = pg.done;
			if (!ready && !done) {
				/* stopped while the next page is read: the reader quits too */
				pg.quit = 1;
				pthread_cond_broadcast(&pg.cv);
				pthread_mutex_unlock(&pg.mu);
				rc = eng_batch_commit(e, err) == 0 ? ENG_STOPPED : err->code;
				break;
			}
			pthread_mutex_unlock(&pg.mu);
			if (!ready) {
				/* every page read was applied: how the reader ended */
				rc = pg.rc;
				*err = pg.err;
				break;
			}
			rc = eng_page_apply(e, s, &pg.page[k % ENG_PAGES], err);
			pthread_mutex_lock(&pg.mu);
			pg.applied = k + 1;
			pg.quit = rc != 0;
			pthread_cond_broadcast(&pg.cv);
			pthread_mutex_unlock(&pg.mu);
			if (rc != 0)
				break;
		}
		pthread_join(reader, NULL);
	}
	pthread_cond_destroy(&pg.cv);
	pthread_mutex_destroy(&pg.mu);
out:
	if (rc != 0 && s->msgid >= 0) {
		sync_conn_abandon(e->conn, s->msgid);
		s->msgid = -1;
	}
	for (int k = 0; k < ENG_PAGES; k++) {
		eng_page_clear(&pg.page[k]);
		free(pg.page[k].buf);
	}
	sync_bv_free(&pg.cookie);
	return rc;
}

/*
 * Leave bulk mode: the open batch is committed when commit says so (else
 * it must be rolled back already).  When foreign keys cannot be turned
 * back on, e->bulk stays set and eng_bulk_over() tries again before the
 * next batch or cycle writes anything.
 */
static int eng_bulk_end(struct sync_engine *e, int commit, struct err *err)
{
	if (!e->bulk)
		return 0;
	if (commit && eng_batch_commit(e, err) != 0)
		return err->code;
	if (e->in_tx)
		return err_set(err, ERR_INTERNAL, "bulk mode ends inside a batch");
	if (dir_sync_bulk(e->d, 0, err) != 0)
		return err->code;
	e->bulk = 0;
	return 0;
}

/* Did a search of kind meet an entry without an anchor this cycle? */
static int eng_unanchored(const struct sync_engine *e, enum dir_member_kind kind)
{
	for (size_t i = 0; i < e->ns; i++)
		if (e->s[i].kind == kind && e->s[i].unanchored > 0)
			return 1;
	return 0;
}

static int eng_full(struct sync_engine *e, struct err *err)
{
	long long would;
	int rc, sweep_users, sweep_groups;

	/*
	 * After a delta the server could not resume (ENG_NEED_FULL), on the
	 * same connection: its other searches must not run on beside this one,
	 * and nothing of its state carries over (a persisting engine stores its
	 * cookies with every batch: here they are the probes', valid only once
	 * every page is read).
	 */
	eng_abandon_all(e);
	e->persisting = 0;
	e->cookies_dirty = 0;
	eng_retry_clear(e); /* every entry is read again now */
	eng_unread_clear(e);
	if ((rc = eng_cycle_begin(e, "full", err)) != 0)
		return rc;
	log_info("full sync of %zu searches starts", e->ns);
	if ((rc = dir_sync_marks_reset(e->d, err)) != 0)
		goto fail;
	if ((rc = dir_sync_first(e->d, e->tenant_id, err)) < 0)
		goto fail;
	e->first = rc;
	e->first_groups = 0;
	rc = 0;
	for (size_t i = 0; i < e->ns; i++)
		e->s[i].unanchored = 0;
	for (size_t i = 0; i < e->ns; i++)
		if ((rc = eng_probe_cookie(e, &e->s[i], err)) != 0)
			goto fail;
	/* A first sync into the tenant writes its pages in bulk mode. */
	if (e->first && !e->in_tx) {
		if ((rc = dir_sync_bulk(e->d, 1, err)) != 0)
			goto fail;
		e->bulk = 1;
	}
	for (size_t i = 0; i < e->ns; i++) {
		log_debug("full sync: reading %s", e->s[i].base);
		if ((rc = eng_paged(e, &e->s[i], err)) != 0)
			goto fail;
	}
	/* the retries and the sweep run with foreign keys checked */
	if ((rc = eng_bulk_end(e, 1, err)) != 0)
		goto fail;
	/* Every search completed: what was not seen is gone. */
	if ((rc = eng_batch_begin(e, err)) != 0 || (rc = eng_retry_pass(e, 1, err)) != 0)
		goto fail;
	sweep_users = !e->first && !eng_unanchored(e, DIR_MEMBER_USER);
	sweep_groups = !e->first && !eng_unanchored(e, DIR_MEMBER_GROUP);
	if (!sweep_users && !sweep_groups) {
		/* nothing synced before this cycle, or a search could not say what it saw */
		would = 0;
	} else {
		int u = sweep_users
				? dir_sync_sweep(e->d, e->tenant_id, DIR_MEMBER_USER, NULL, 1, err)
				: 0;
		int g = u < 0 || !sweep_groups ? 0
					       : dir_sync_sweep(e->d, e->tenant_id,
								DIR_MEMBER_GROUP, NULL, 1, err);
		if (u < 0 || g < 0) {
			rc = u < 0 ? u : g;
			goto fail;
		}
		would = (long long)u + g;
	}
	if (eng_over_threshold(e, would)) {
		/* keep what was added and updated; delete nothing, store no cookie */
		if ((rc = eng_batch_commit(e, err)) != 0)
			goto fail;
		e->first = 0;
		eng_threshold_stop(e, would);
		eng_cookies_clear(e);
		return ENG_THRESHOLD;
	}
	if (sweep_users) {
		if ((rc = dir_sync_sweep(e->d, e->tenant_id, DIR_MEMBER_USER, NULL, 0, err)) < 0)
			goto fail;
		e->cycle.deleted += rc;
	}
	if (sweep_groups) {
		if ((rc = dir_sync_sweep(e->d, e->tenant_id, DIR_MEMBER_GROUP, NULL, 0, err)) < 0)
			goto fail;
		e->cycle.deleted += rc;
	}
	e->first = 0;
	snprintf(e->cycle.status, sizeof(e->cycle.status), "ok");
	e->cycle.finished_at = (int64_t)time(NULL);
	if ((rc = eng_cookies_store(e, 1, err)) != 0 || (rc = eng_batch_commit(e, err)) != 0)
		goto fail;
	eng_cycle_end(e, "ok", NULL);
	return 0;
fail:
	eng_batch_rollback(e);
	if (e->bulk) {
		struct err why = {0};
		if (eng_bulk_end(e, 0, &why) != 0)
			log_error("leaving bulk mode: %s", why.msg);
	}
	e->first = 0;
	if (rc == ENG_STOPPED) {
		eng_cookies_clear(e);
		eng_cycle_end(e, "stopped", "stopped by a signal before the read completed; "
					    "nothing was deleted");
		return rc;
	}
	eng_cookies_clear(e);
	eng_cycle_end(e, "failed", err->msg);
	return rc;
}

/* ---- delta: RFC 4533 ---- */

static int eng_refreshing(const struct sync_engine *e)
{
	for (size_t i = 0; i < e->ns; i++)
		if (e->s[i].refreshing)
			return 1;
	return 0;
}

static int eng_take_cookie(struct sync_engine *e, struct sync_search *s, struct err *err)
{
	if (!e->msg.has_cookie)
		return 0;
	if (sync_bv_set(&s->cookie, &e->msg.cookie) != 0)
		return err_set(err, ERR_INTERNAL, "out of memory");
	e->cookies_dirty = 1;
	return 0;
}

/* A UUID the source says is gone: remembered during the refresh, else applied. */
static int eng_gone(struct sync_engine *e, struct sync_search *s, const char *uuid,
		    struct err *err)
{
	size_t len = strlen(uuid);
	int rc = 0;

	/* only from under this search's base: it may have moved to another one */
	if (!e->persisting) {
		e->batch_n++;
		return dir_sync_mark_gone(e->d, s->kind, uuid, s->base_key, err);
	}
	/*
	 * A move between two bases of this kind comes as a delete from the old
	 * base's search and an add from the new one's, in either order.  The
	 * delete comes after the move, so the entry can be looked for under the
	 * other bases now: found, it is applied there (moved), and the delete
	 * no longer finds it under this base.  Else a delete followed by the
	 * add would end the user's sessions on the way.
	 */
	for (size_t i = 0; rc == 0 && i < e->ns; i++) {
		struct sync_search *o = &e->s[i];
		struct sync_conn *c = NULL;
		char *filter;
		if (o == s || o->kind != s->kind || len == 0 || len >= DIR_ANCHOR_MAX ||
		    strspn(uuid, "0123456789abcdefABCDEF-") != len)
			continue;
		if ((rc = eng_side(e, &c, err)) != 0)
			break;
		if ((filter = malloc(strlen(o->filter) + len + 20)) == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		snprintf(filter, strlen(o->filter) + len + 20, "(&%s(entryUUID=%s))", o->filter,
			 uuid);
		rc = eng_retry_search(e, c, o, NULL, filter, 0, err);
		free(filter);
	}
	return rc != 0 ? rc : eng_delete_now(e, s->kind, uuid, s->base_key, err);
}

static int eng_message(struct sync_engine *e, struct err *err)
{
	struct sync_msg *m = &e->msg;
	struct sync_search *s = eng_search_of(e, m->msgid);
	int rc = 0;

	if (s == NULL || m->type == SYNC_MSG_OTHER)
		return 0;
	if ((rc = eng_batch_begin(e, err)) != 0)
		return rc;
	switch (m->type) {
	case SYNC_MSG_ENTRY:
		if (m->bad) {
			eng_unreadable(e, s, m);
			break;
		}
		switch (m->state) {
		case LDAP_SYNC_ADD:
		case LDAP_SYNC_MODIFY:
			eng_retry_drop(e, s->kind, m->entry.uuid);
			rc = eng_entry(e, s->kind, &m->entry, !e->persisting, err);
			break;
		case LDAP_SYNC_PRESENT:
			s->present = 1;
			e->batch_n++;
			rc = dir_sync_mark(e->d, DIR_SYNC_SEEN, s->kind, m->entry.uuid, err);
			break;
		case LDAP_SYNC_DELETE:
			eng_retry_drop(e, s->kind, m->entry.uuid);
			rc = eng_gone(e, s, m->entry.uuid, err);
			break;
		default:
			return err_set(err, ERR_INVALID, "an entry without a sync state in a "
							 "Content Sync search");
		}
		break;
	case SYNC_MSG_INFO:
		if (m->info == LDAP_SYNC_REFRESH_PRESENTS)
			s->present = 1;
		if ((m->info == LDAP_SYNC_REFRESH_PRESENTS ||
		     m->info == LDAP_SYNC_REFRESH_DELETES) &&
		    m->refresh_done)
			s->refreshing = 0;
		if (m->info == SYNC_INFO_ID_SET) {
			if (!m->refresh_deletes)
				s->present = 1;
			for (size_t i = 0; rc == 0 && i < m->n_uuids; i++) {
				if (m->refresh_deletes) {
					rc = eng_gone(e, s, m->uuids[i], err);
				} else {
					e->batch_n++;
					rc = dir_sync_mark(e->d, DIR_SYNC_SEEN, s->kind,
							   m->uuids[i], err);
				}
			}
		}
		break;
	case SYNC_MSG_RESULT:
		s->msgid = -1;
		if (m->result == LDAP_SYNC_REFRESH_REQUIRED)
			return ENG_NEED_FULL;
		/*
		 * slapd refuses a cookie newer than its own state (the server was
		 * restored from a backup) with unwillingToPerform, not
		 * e-syncRefreshRequired: it cannot resume from it either.  Were
		 * this a refusal of Content Sync as such, the full sync's probe
		 * fails in turn and says so.
		 */
		if (m->result == LDAP_UNWILLING_TO_PERFORM && s->refreshing &&
		    s->cookie.bv_len > 0) {
			log_warnx("%s: %s", s->base,
				  m->diag[0] ? m->diag : ldap_err2string(m->result));
			return ENG_NEED_FULL;
		}
		if (m->result != LDAP_SUCCESS) {
			rc = err_set(err, m->result == LDAP_BUSY || m->result == LDAP_UNAVAILABLE
						  ? ERR_UNAVAILABLE
						  : ERR_INVALID,
				     "%s: %s%s%s", s->base, ldap_err2string(m->result),
				     m->diag[0] ? ": " : "", m->diag);
			break;
		}
		if (!m->sync_done)
			return err_set(err, ERR_INVALID,
				       "%s: a Content Sync search ended without Sync Done",
				       s->base);
		if (!m->refresh_deletes)
			s->present = 1;
		if (e->persisting || !s->refreshing)
			return err_set(err, ERR_UNAVAILABLE,
				       "%s: the server ended the persistent search", s->base);
		s->refreshing = 0;
		break;
	default:
		break;
	}
	if (rc == 0)
		rc = eng_take_cookie(e, s, err);
	return rc;
}

/*
 * Every search's refresh is over: apply the deletes it announced and the
 * sweeps of present phases, store the cookies, close the cycle.
 */
static int eng_finalize(struct sync_engine *e, struct err *err)
{
	long long would = 0;
	int rc;

	if ((rc = eng_batch_begin(e, err)) != 0 || (rc = eng_retry_pass(e, 1, err)) != 0)
		return rc;
	if ((rc = dir_sync_apply_gone(e->d, e->tenant_id, 1, err)) < 0)
		return rc;
	would += rc;
	for (size_t i = 0; i < e->ns; i++) {
		if (!e->s[i].present || e->s[i].unanchored > 0)
			continue;
		rc = dir_sync_sweep(e->d, e->tenant_id, e->s[i].kind, e->s[i].base_key, 1, err);
		if (rc < 0)
			return rc;
		would += rc;
	}
	if (eng_over_threshold(e, would)) {
		if ((rc = eng_batch_commit(e, err)) != 0)
			return rc;
		eng_threshold_stop(e, would);
		return ENG_THRESHOLD;
	}
	if ((rc = dir_sync_apply_gone(e->d, e->tenant_id, 0, err)) < 0)
		return rc;
	e->cycle.deleted += rc;
	for (size_t i = 0; i < e->ns; i++) {
		if (!e->s[i].present || e->s[i].unanchored > 0)
			continue;
		rc = dir_sync_sweep(e->d, e->tenant_id, e->s[i].kind, e->s[i].base_key, 0, err);
		if (rc < 0)
			return rc;
		e->cycle.deleted += rc;
	}
	snprintf(e->cycle.status, sizeof(e->cycle.status), "ok");
	e->cycle.finished_at = (int64_t)time(NULL);
	if ((rc = eng_cookies_store(e, 0, err)) != 0 || (rc = eng_batch_commit(e, err)) != 0)
		return rc;
	eng_cycle_end(e, "ok", NULL);
	e->progressed = 1;
	return dir_sync_marks_reset(e->d, err);
}

/* While persisting, how often the entries to read again are read. */
static int64_t eng_retry_every(const struct sync_engine *e)
{
	int64_t window = (int64_t)e->cfg->cycle_window * 1000;

	return window < ENG_RETRY_MS ? window : ENG_RETRY_MS;
}

/*
 * A delta cycle: refreshOnly (returns when done) or refreshAndPersist
 * (returns only on a signal, an error, or the delete threshold).
 */
static int eng_delta(struct sync_engine *e, int mode, struct err *err)
{
	int64_t last = clock_mono_ms();
	int rc;

	if ((rc = eng_cycle_begin(e, "delta", err)) != 0)
		return rc;
	e->persisting = 0;
	if ((rc = dir_sync_marks_reset(e->d, err)) != 0)
		goto fail;
	for (size_t i = 0; i < e->ns; i++) {
		struct sync_search_req req = {0};
		struct sync_search *s = &e->s[i];
		req.base = s->base;
		req.filter = s->filter;
		req.attrs = s->attrs;
		req.sync_mode = mode;
		req.sync_cookie = &s->cookie;
		s->refreshing = 1;
		s->present = 0;
		s->unanchored = 0;
		if ((rc = sync_conn_search(e->conn, &req, &s->msgid, err)) != 0)
			goto fail;
	}
	for (;;) {
		int wait;
		if (!e->persisting && !eng_refreshing(e)) {
			if ((rc = eng_finalize(e, err)) != 0)
				goto fail;
			if (mode == LDAP_SYNC_REFRESH_ONLY)
				return 0;
			e->persisting = 1;
			e->retry_at = clock_mono_ms() + eng_retry_every(e);
			if ((rc = eng_cycle_begin(e, "persist", err)) != 0)
				return rc;
			log_info("persisting: changes are applied as they come");
		}
		if (e->persisting && !e->in_tx &&
		    (int64_t)time(NULL) - e->cycle.started_at >= e->cfg->cycle_window) {
			eng_cycle_end(e, "ok", NULL);
			if ((rc = eng_cycle_begin(e, "persist", err)) != 0)
				return rc;
		}
		if (eng_stopping(e)) {
			if ((rc = eng_batch_commit(e, err)) != 0)
				goto fail;
			rc = ENG_STOPPED;
			goto fail;
		}
		if (e->persisting && !e->in_tx && (e->n_retry > 0 || e->n_unread > 0) &&
		    clock_mono_ms() >= e->retry_at) {
			e->retry_at = clock_mono_ms() + eng_retry_every(e);
			if ((rc = eng_batch_begin(e, err)) != 0 ||
			    (rc = eng_retry_pass(e, 0, err)) != 0 ||
			    (rc = eng_batch_commit(e, err)) != 0) {
				if (rc == ENG_STOPPED && eng_batch_commit(e, err) != 0)
					rc = err->code;
				goto fail;
			}
		}
		/* With a batch open, take what has arrived and commit when the socket is drained. */
		wait = e->in_tx ? 0 : ENG_TICK_MS;
		rc = eng_read(e, wait, err);
		if (rc == 1) {
			if (e->in_tx && (rc = eng_batch_commit(e, err)) != 0)
				goto fail;
			/* idle: the side connection is not kept for the server to time out */
			sync_conn_close(e->side);
			e->side = NULL;
			if (!e->persisting &&
			    clock_mono_ms() - last > (int64_t)e->cfg->timeout * 1000) {
				rc = err_set(err, ERR_UNAVAILABLE, "no answer in %lld s",
					     e->cfg->timeout);
				goto fail;
			}
			continue;
		}
		if (rc < 0 && eng_stopping(e)) {
			rc = eng_batch_commit(e, err) != 0 ? err->code : ENG_STOPPED;
			goto fail;
		}
		if (rc < 0)
			goto fail;
		last = clock_mono_ms();
		if ((rc = eng_message(e, err)) != 0)
			goto fail;
		if (e->batch_n >= e->cfg->batch_size && (rc = eng_batch_commit(e, err)) != 0)
			goto fail;
	}
fail:
	eng_batch_rollback(e);
	if (rc == ENG_THRESHOLD) {
		if (e->cycle.id != 0)
			eng_threshold_stop(e, (long long)e->cycle.deleted + 1);
		return rc;
	}
	if (rc == ENG_STOPPED) {
		eng_cycle_end(e, e->persisting ? "ok" : "stopped",
			      e->persisting ? NULL : "stopped by a signal during the refresh");
		return rc;
	}
	if (rc == ENG_NEED_FULL) {
		err_set(err, ERR_UNAVAILABLE, "the server cannot resume from the stored cookie");
		eng_cycle_end(e, "failed", "the server cannot resume from the stored cookie: "
					   "a full sync follows");
		return rc;
	}
	eng_cycle_end(e, "failed", err->msg);
	return rc;
}

/* ---- sessions ---- */

/* One connection's work: a full sync if needed, then a delta or persist cycle. */
static int eng_session(struct sync_engine *e, struct err *err)
{
	char *text = NULL;
	int full, rc, mode, had;

	log_info("connecting to %s", e->cfg->uri);
	if ((rc = sync_conn_open(e->cfg, e->opts->stop, &e->conn, err)) != 0)
		return eng_stopping(e) ? ENG_STOPPED : rc;
	log_info("connected to %s as %s", e->cfg->uri, e->cfg->bind_dn);
	rc = dir_sync_state_get(e->d, e->tenant_id, e->cfg->connector, &text, NULL, err);
	if (rc != 0 && rc != ERR_NOT_FOUND)
		goto out;
	had = text != NULL;
	{
		struct berval *v[ENG_MAX_SEARCHES];
		size_t n = eng_cookie_ptrs(e, v);
		full = e->opts->force_full || sync_cookie_decode(text, e->scope, v, n) != 0 ||
		       !eng_cookies_complete(e);
	}
	/* the entries to read again as stored with the cookies (not as a rollback left them) */
	e->n_retry = 0;
	eng_unread_clear(e);
	if (!full) {
		const char *pos = NULL;
		int kind;
		char anchor[DIR_ANCHOR_MAX];
		char dn[DIR_DN_MAX];
		while (rc == 0 && sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)))
			rc = eng_retry_add(e, kind ? DIR_MEMBER_GROUP : DIR_MEMBER_USER, anchor,
					   err);
		pos = NULL;
		while (rc == 0 && sync_cookie_unread_next(text, &pos, &kind, dn, sizeof(dn)))
			rc = eng_unread_add(e, kind ? DIR_MEMBER_GROUP : DIR_MEMBER_USER, dn, 0,
					    err);
		e->cookies_dirty = 0;
		if (rc != 0) {
			free(text);
			goto out;
		}
	}
	free(text);
	if (full && had && !e->opts->force_full)
		log_info("the stored cookie is for another configuration: full sync");
	rc = 0;
	mode = e->opts->once || e->cfg->mode == SYNC_MODE_POLL ? LDAP_SYNC_REFRESH_ONLY
							       : LDAP_SYNC_REFRESH_AND_PERSIST;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (full) {
			eng_cookies_clear(e);
			if ((rc = eng_full(e, err)) != 0 || e->opts->once)
				goto out;
		}
		rc = eng_delta(e, mode, err);
		if (rc != ENG_NEED_FULL)
			break;
		log_warnx("the server cannot resume from the stored cookie: full sync");
		full = 1;
	}
out:
	eng_disconnect(e);
	return rc;
}

/* Sleep ms, waking early when asked to stop. */
static void eng_sleep(const struct sync_engine *e, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (!eng_stopping(e)) {
		int64_t left = end - clock_mono_ms();
		struct timespec ts;
		if (left <= 0)
			break;
		if (left > ENG_TICK_MS)
			left = ENG_TICK_MS;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !eng_stopping(e))
			;
	}
}

static int eng_init(struct sync_engine *e, const struct sync_config *cfg,
		    const struct sync_run_opts *o, struct err *err)
{
	struct dir_options dopts = {0};
	struct dir_tenant t;
	size_t k = 0;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->opts = o;
	e->confirm = o->confirm_deletes;
	sync_config_scope_hash(cfg, e->scope);
	if (sync_map_init(&e->map, cfg, err) != 0)
		return err->code;
	if ((e->s = calloc(cfg->user_bases.n + cfg->group_bases.n, sizeof(*e->s))) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	e->ns = cfg->user_bases.n + cfg->group_bases.n;
	for (size_t i = 0; i < cfg->user_bases.n + cfg->group_bases.n; i++, k++) {
		struct sync_search *s = &e->s[k];
		int user = i < cfg->user_bases.n;
		s->kind = user ? DIR_MEMBER_USER : DIR_MEMBER_GROUP;
		s->base = user ? cfg->user_bases.v[i] : cfg->group_bases.v[i - cfg->user_bases.n];
		s->filter = user ? cfg->user_filter : cfg->group_filter;
		s->attrs = user ? e->map.user_attrs : e->map.group_attrs;
		s->msgid = -1;
		if (sync_dn_key(s->base, strlen(s->base), s->base_key, sizeof(s->base_key), err))
			return err->code;
	}
	dopts.path = cfg->store_path;
	dopts.busy_timeout_ms = (int)cfg->busy_timeout_ms;
	if ((e->d = dir_open(&dopts, err)) == NULL)
		return err->code;
	if (dir_tenant_get_by_name(e->d, cfg->tenant, &t, err) != 0) {
		err_prefix(err, "[store] tenant");
		return err->code;
	}
	memcpy(e->tenant_id, t.id, sizeof(e->tenant_id));
	if (dir_sync_tune(e->d, ENG_CACHE_KIB, err) != 0)
		return err->code;
	/* A full sync commits a batch after another: copying the log is for the other core.
	 * Without the thread, SQLite's own checkpoints do it, only in this thread. */
	{
		struct err why = {0};
		if (dir_ckpt_start(e->d, &why) != 0)
			log_warnx("checkpoints stay in the writing thread: %s", why.msg);
	}
	return 0;
}

static void eng_free(struct sync_engine *e)
{
	eng_batch_rollback(e);
	eng_disconnect(e);
	eng_cookies_clear(e);
	free(e->s);
	free(e->retry);
	eng_unread_free(e->unread, e->n_unread);
	sync_members_free(&e->members);
	free(e->many);
	free(e->many_dn);
	free(e->many_uid);
	sync_msg_clear(&e->msg);
	sync_map_free(&e->map);
	dir_close(e->d);
}

int sync_run(const struct sync_config *cfg, const struct sync_run_opts *o, struct err *err)
{
	struct sync_engine e;
	int64_t backoff = 250;
	int rc, result = SYNC_RUN_FAILED, n;

	if (eng_init(&e, cfg, o, err) != 0)
		goto out;
	if (dir_sync_claim(e.d, e.tenant_id, cfg->connector, err) != 0)
		goto out;
	if ((n = dir_sync_cycle_interrupted(e.d, e.tenant_id, cfg->connector, err)) < 0)
		goto out;
	if (n > 0)
		log_warnx("%d cycle(s) of an earlier run did not finish: marked interrupted", n);
	for (;;) {
		e.progressed = 0;
		rc = eng_session(&e, err);
		if (e.progressed)
			backoff = 250;
		if (rc == ENG_STOPPED || (rc == 0 && eng_stopping(&e))) {
			log_info("stopped");
			result = SYNC_RUN_OK;
			break;
		}
		if (o->once) {
			result = rc == 0 ? SYNC_RUN_OK
				 : rc == ENG_THRESHOLD ? SYNC_RUN_THRESHOLD
						       : SYNC_RUN_FAILED;
			break;
		}
		if (rc == 0 || rc == ENG_THRESHOLD) {
			/* poll mode after a cycle; a threshold stop waits for the admin */
			backoff = 250;
			eng_sleep(&e, cfg->poll_interval * 1000);
		} else {
			log_warnx("%s; retrying in %.1f s", err->msg, (double)backoff / 1000.0);
			eng_sleep(&e, backoff);
			backoff = backoff * 2 > cfg->retry_max * 1000 ? cfg->retry_max * 1000
								      : backoff * 2;
		}
		if (eng_stopping(&e)) {
			log_info("stopped");
			result = SYNC_RUN_OK;
			break;
		}
	}
out:
	eng_free(&e);
	return result;
}
