/*
 * clock: real and injected time.
 */
#include "clock.h"

#include <time.h>

int64_t clock_now(const struct clock *c)
{
	if (c != NULL && c->now != NULL)
		return c->now(c->ctx);
	return (int64_t)time(NULL);
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
