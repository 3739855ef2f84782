/*
 * signin_queue: sign-in log rows written in batches (see signin_queue.h).
 *
 * Producers append to a growing array under a mutex; the writer swaps it
 * for an empty one and writes the rows in one transaction, so producers
 * never wait for the disk.
 */
#include "signin_queue.h"

#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIGNIN_QUEUE_MAX  2048 /* rows waiting at most (a row is about 5 KB) */
#define SIGNIN_QUEUE_SOON 256  /* this many wake the writer before its time */

struct signin_queued {
	char tenant_id[DIR_ID_MAX];
	struct dir_signin row;
};

struct signin_queue {
	struct dir *d; /* the writer's own connection */
	int flush_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct signin_queued *v; /* waiting rows */
	size_t n, cap;
	int stopping;
};

/* Write rows v[0..n) in one transaction; a row the store refuses is logged and skipped. */
static void signin_queue_write(struct signin_queue *q, struct signin_queued *v, size_t n)
{
	struct err err = {0};
	size_t failed = 0;

	if (dir_begin(q->d, &err) != 0) {
		log_warnx("sign-in log: %zu rows not written: %s", n, err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = dir_signin_append(q->d, v[i].tenant_id, &v[i].row, &err);
		if (rc == ERR_INVALID) {
			/* a name or agent that is not printable text: the attempt without it */
			v[i].row.username[0] = '\0';
			v[i].row.user_agent[0] = '\0';
			rc = dir_signin_append(q->d, v[i].tenant_id, &v[i].row, &err);
		}
		if (rc != 0)
			failed++;
	}
	if (dir_commit(q->d, &err) != 0)
		log_warnx("sign-in log: %zu rows not written: %s", n, err.msg);
	else if (failed > 0)
		log_warnx("sign-in log: %zu of %zu rows not written: %s", failed, n, err.msg);
}

static void *signin_queue_main(void *arg)
{
	struct signin_queue *q = arg;
	struct signin_queued *spare = NULL;
	size_t spare_cap = 0;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct timespec until;
		struct signin_queued *v;
		size_t n, cap;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(q->flush_ms % 1000) * 1000000L;
		until.tv_sec += q->flush_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!q->stopping && q->n < SIGNIN_QUEUE_SOON &&
		       pthread_cond_timedwait(&q->cv, &q->mu, &until) == 0)
			;
		if (q->n == 0) {
			if (q->stopping)
				break;
			continue;
		}
		/* take the rows, leave the spare array for the producers */
		v = q->v, n = q->n, cap = q->cap;
		q->v = spare, q->n = 0, q->cap = spare_cap;
		pthread_mutex_unlock(&q->mu);
		signin_queue_write(q, v, n);
		spare = v, spare_cap = cap;
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	free(spare);
	return NULL;
}

struct signin_queue *signin_queue_new(const struct dir_options *opts, int flush_ms,
				      struct err *err)
{
	struct signin_queue *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	q->flush_ms = flush_ms > 0 ? flush_ms : 50;
	if ((q->d = dir_open(opts, err)) == NULL) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thread, NULL, signin_queue_main, q) != 0) {
		err_set(err, ERR_INTERNAL, "cannot start the sign-in log writer");
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		dir_close(q->d);
		free(q);
		return NULL;
	}
	return q;
}

int signin_queue_push(struct signin_queue *q, const char *tenant_id,
		      const struct dir_signin *row)
{
	int rc = -1;

	if (q == NULL)
		return -1;
	pthread_mutex_lock(&q->mu);
	if (!q->stopping && q->n < SIGNIN_QUEUE_MAX) {
		if (q->n == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 64;
			struct signin_queued *v = realloc(q->v, cap * sizeof(*v));
			if (v != NULL)
				q->v = v, q->cap = cap;
		}
		if (q->n < q->cap) {
			struct signin_queued *x = &q->v[q->n++];
			snprintf(x->tenant_id, sizeof(x->tenant_id), "%s", tenant_id);
			x->row = *row;
			if (q->n == SIGNIN_QUEUE_SOON)
				pthread_cond_signal(&q->cv);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void signin_queue_free(struct signin_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->v);
	dir_close(q->d);
	free(q);
}
