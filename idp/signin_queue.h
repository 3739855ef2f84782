/*
 * signin_queue: sign-in log rows written in batches by a thread of their own.
 *
 * An app's client-credentials grant is a sign-in too, and an app may ask
 * for thousands a second; one transaction (and one fsync) per row would cap
 * the grant rate at the disk's sync rate.  Rows that nothing waits for (a
 * successful grant or SSO reuse: no lockout or risk decision reads them at
 * once) are queued and written together, at the latest flush_ms later.  A
 * full queue makes the caller write its row itself, so load slows grants
 * down rather than losing rows.  Stopping writes everything still queued.
 * A crash loses at most flush_ms of such rows.
 */
#ifndef IDP_SIGNIN_QUEUE_H
#define IDP_SIGNIN_QUEUE_H

#include "dir.h"

struct signin_queue;

/* Start the writer on its own connection (opts: the store's). NULL with err. */
struct signin_queue *signin_queue_new(const struct dir_options *opts, int flush_ms,
				      struct err *err);

/* Queue row of tenant_id (copied); 0, or -1 when the queue is full or stopped. */
int signin_queue_push(struct signin_queue *q, const char *tenant_id,
		      const struct dir_signin *row);

/* Write what is queued and stop the writer; NULL is fine. */
void signin_queue_free(struct signin_queue *q);

#endif
