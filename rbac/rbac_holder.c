/*
 * rbac_holder: the current index of a tenant, swapped without stopping
 * readers.
 *
 * The problem: a reader loads the current pointer and must count itself
 * as a user of that index before a writer can swap it out and free it.
 * Between the load and the count there is a window.  We close it with an
 * "ingress" counter per epoch parity, the way two-phase RCU schemes do:
 *
 *   reader acquire:
 *     e = epoch; ingress[e&1]++; if epoch != e { ingress[e&1]--; retry }
 *     idx = current; idx->refs++; ingress[e&1]--
 *   reader release:
 *     if --idx->refs == 0: free idx
 *   writer swap (writers serialized by a mutex):
 *     new->refs = 1 (the holder's); old = exchange(current, new)
 *     e = epoch; epoch = e + 1          (new readers count in the other parity)
 *     wait until ingress[e&1] == 0      (every reader that may have loaded
 *                                         old has counted itself in refs)
 *     if --old->refs == 0: free old     (drop the holder's reference)
 *
 * A reader that passed the epoch re-check before the flip is counted in
 * ingress[e&1], so the writer waits for it; one that re-checks after the
 * flip retreats and retries in the new parity, where it can only load the
 * new pointer (the exchange happened before the flip).  Readers never wait
 * for writers; a writer waits only for readers inside the few instructions
 * between their increment and decrement of ingress, and new readers cannot
 * starve it because they use the other counter.  All atomics are
 * sequentially consistent: the protocol's correctness argument relies on
 * a single total order of these operations.
 *
 * The reference count lives next to the index, in a small wrapper; the
 * index itself stays immutable.
 */
#include "rbac_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct rbac_ref {
	_Atomic uint64_t refs;
	struct rbac_index *idx;
	struct rbac_holder *owner;
};

struct rbac_holder {
	_Atomic(struct rbac_ref *) current;
	_Atomic uint64_t epoch;
	_Atomic uint64_t ingress[2];
	_Atomic int64_t version;
	_Atomic uint64_t swaps, freed;
	pthread_mutex_t swap_lock;
};

/*
 * The wrapper of an index installed in a holder; the index keeps a pointer
 * back to it (set before the index is published, never changed after), so
 * release needs no lookup.
 */
static struct rbac_ref *rbac_holder_ref_of(const struct rbac_index *idx);

struct rbac_holder *rbac_holder_new(struct err *err)
{
	struct rbac_holder *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&h->swap_lock, NULL) != 0) {
		free(h);
		err_set(err, ERR_INTERNAL, "cannot create a mutex");
		return NULL;
	}
	return h;
}

static void rbac_ref_put(struct rbac_ref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		atomic_fetch_add(&r->owner->freed, 1);
		rbac_index_free(r->idx);
		free(r);
	}
}

void rbac_holder_free(struct rbac_holder *h)
{
	if (h == NULL)
		return;
	rbac_ref_put(atomic_load(&h->current));
	pthread_mutex_destroy(&h->swap_lock);
	free(h);
}

const struct rbac_index *rbac_holder_acquire(struct rbac_holder *h)
{
	struct rbac_ref *r;
	uint64_t e;

	for (;;) {
		e = atomic_load(&h->epoch);
		atomic_fetch_add(&h->ingress[e & 1], 1);
		if (atomic_load(&h->epoch) == e)
			break;
		atomic_fetch_sub(&h->ingress[e & 1], 1);
	}
	r = atomic_load(&h->current);
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	atomic_fetch_sub(&h->ingress[e & 1], 1);
	return r != NULL ? r->idx : NULL;
}

void rbac_holder_release(struct rbac_holder *h, const struct rbac_index *idx)
{
	(void)h;
	if (idx != NULL)
		rbac_ref_put(rbac_holder_ref_of(idx));
}

void rbac_holder_swap(struct rbac_holder *h, struct rbac_index *idx, int64_t version)
{
	struct rbac_ref *r = NULL, *old;
	uint64_t e;

	if (idx != NULL) {
		/* Out of memory here would lose the index: wait for memory instead. */
		while ((r = malloc(sizeof(*r))) == NULL)
			sched_yield();
		atomic_init(&r->refs, 1);
		r->idx = idx;
		r->owner = h;
		idx->holder_ref = r;
	}
	pthread_mutex_lock(&h->swap_lock);
	old = atomic_exchange(&h->current, r);
	atomic_store(&h->version, version);
	e = atomic_fetch_add(&h->epoch, 1);
	while (atomic_load(&h->ingress[e & 1]) != 0)
		sched_yield();
	atomic_fetch_add(&h->swaps, 1);
	pthread_mutex_unlock(&h->swap_lock);
	rbac_ref_put(old);
}

int64_t rbac_holder_version(struct rbac_holder *h)
{
	return atomic_load(&h->version);
}

void rbac_holder_counts(struct rbac_holder *h, uint64_t *swaps, uint64_t *freed)
{
	*swaps = atomic_load(&h->swaps);
	*freed = atomic_load(&h->freed);
}

static struct rbac_ref *rbac_holder_ref_of(const struct rbac_index *idx)
{
	return idx->holder_ref;
}
