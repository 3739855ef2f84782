/*
 * rbac_holder_test: the holder's swap under readers on other threads.
 *
 * Reader threads acquire the current index, check that it is internally
 * consistent (its one assignment grants exactly its own generation's
 * action, and its effective permissions name that generation), and
 * release it, as fast as they can, while a writer swaps in new indexes.
 * Under AddressSanitizer a reader touching a freed index aborts the test;
 * the counts prove every replaced index was freed exactly once and none
 * early.  Nothing here depends on timing: the readers run until the writer
 * is done, however the threads are scheduled.
 */
#include "rbac.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READERS 3
#define SWAPS 3000

/* An index whose user "u" may do "gen/vN/read" at "/", and nothing else. */
static struct rbac_index *make_index(int gen)
{
	struct rbac_builder *b = rbac_builder_new(NULL);
	char pattern[32], rid[32], name[32];
	const char *acts[1] = {pattern};
	struct rbac_role_def r = {0};
	struct rbac_assignment_def a = {"a", rid, {RBAC_PRINCIPAL_USER, "u"}, "/"};
	struct err err = {0};
	struct rbac_index *idx;

	snprintf(pattern, sizeof(pattern), "gen/v%d/*", gen);
	snprintf(rid, sizeof(rid), "r%d", gen);
	snprintf(name, sizeof(name), "gen-%d", gen);
	r.id = rid;
	r.name = name;
	r.actions = acts;
	r.n_actions = 1;
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	ck_assert_int_eq(rbac_builder_add_assignment(b, &a, &err), 0);
	idx = rbac_builder_build(b, &err);
	ck_assert_msg(idx != NULL, "%s", err.msg);
	rbac_builder_free(b);
	return idx;
}

static struct rbac_holder *h;
static atomic_int writer_done;
static atomic_long reads[READERS];
static atomic_int bad;

static int on_grant(void *ctx, const struct rbac_grant *g)
{
	int *gen = ctx;

	if (sscanf(g->role_name, "gen-%d", gen) != 1)
		*gen = -1;
	return 0;
}

static void *reader(void *arg)
{
	long n = 0;
	int me = (int)(long)arg;

	while (!atomic_load(&writer_done) || n < 1000) {
		const struct rbac_index *idx = rbac_holder_acquire(h);
		struct rbac_decision d;
		char act[48];
		int gen = -1;

		if (idx == NULL) {
			atomic_fetch_add(&bad, 1);
			break;
		}
		if (rbac_effective(idx, RBAC_PRINCIPAL_USER, "u", "/", on_grant, NULL, &gen, NULL) ||
		    gen < 0)
			atomic_fetch_add(&bad, 1);
		snprintf(act, sizeof(act), "gen/v%d/read", gen);
		if (rbac_check(idx, &(struct rbac_request){RBAC_PRINCIPAL_USER, "u", act, "/x", 0},
			       &d, NULL) != 0 ||
		    !d.allowed)
			atomic_fetch_add(&bad, 1);
		snprintf(act, sizeof(act), "gen/v%d/read", gen + 1);
		if (rbac_check(idx, &(struct rbac_request){RBAC_PRINCIPAL_USER, "u", act, "/x", 0},
			       &d, NULL) != 0 ||
		    d.allowed)
			atomic_fetch_add(&bad, 1);
		rbac_holder_release(h, idx);
		n++;
	}
	atomic_store(&reads[me], n);
	return NULL;
}

START_TEST(swap_under_readers)
{
	pthread_t t[READERS];
	uint64_t swaps, freed;

	h = rbac_holder_new(NULL);
	ck_assert_ptr_nonnull(h);
	rbac_holder_swap(h, make_index(0), 1);
	for (long i = 0; i < READERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader, (void *)i), 0);
	for (int g = 1; g <= SWAPS; g++)
		rbac_holder_swap(h, make_index(g), g + 1);
	atomic_store(&writer_done, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(atomic_load(&bad), 0);
	for (int i = 0; i < READERS; i++)
		ck_assert_int_ge(atomic_load(&reads[i]), 1000);
	rbac_holder_counts(h, &swaps, &freed);
	ck_assert_uint_eq(swaps, SWAPS + 1);
	ck_assert_uint_eq(freed, SWAPS); /* every index but the current one */
	ck_assert_int_eq(rbac_holder_version(h), SWAPS + 1);
	rbac_holder_free(h);
}
END_TEST

START_TEST(held_index_outlives_swaps)
{
	const struct rbac_index *held, *cur;
	struct rbac_decision d;
	uint64_t swaps, freed;

	h = rbac_holder_new(NULL);
	ck_assert_ptr_null(rbac_holder_acquire(h)); /* nothing installed yet */
	rbac_holder_release(h, NULL);
	rbac_holder_swap(h, make_index(0), 7);
	held = rbac_holder_acquire(h);
	for (int g = 1; g <= 10; g++)
		rbac_holder_swap(h, make_index(g), 7 + g);
	rbac_holder_counts(h, &swaps, &freed);
	ck_assert_uint_eq(freed, 9); /* 1..9; 0 is still held */
	ck_assert_int_eq(rbac_check(held,
				    &(struct rbac_request){RBAC_PRINCIPAL_USER, "u", "gen/v0/read",
							   "/", 0},
				    &d, NULL),
			 0);
	ck_assert_int_eq(d.allowed, 1);
	rbac_holder_release(h, held);
	rbac_holder_counts(h, &swaps, &freed);
	ck_assert_uint_eq(freed, 10);
	cur = rbac_holder_acquire(h);
	ck_assert_int_eq(rbac_check(cur,
				    &(struct rbac_request){RBAC_PRINCIPAL_USER, "u", "gen/v10/read",
							   "/", 0},
				    &d, NULL),
			 0);
	ck_assert_int_eq(d.allowed, 1);
	rbac_holder_release(h, cur);
	rbac_holder_swap(h, NULL, 0); /* empty it */
	ck_assert_ptr_null(rbac_holder_acquire(h));
	rbac_holder_counts(h, &swaps, &freed);
	ck_assert_uint_eq(freed, 11);
	rbac_holder_free(h);
	rbac_holder_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbac_holder");
	TCase *tc = tcase_create("holder");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, swap_under_readers);
	tcase_add_test(tc, held_index_outlives_swaps);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
