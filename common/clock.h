/*
 * clock: the time as the rest of the system sees it, injectable so that
 * tests of expiry, lockouts and replay windows never sleep.
 */
#ifndef IDP_CLOCK_H
#define IDP_CLOCK_H

#include <stdint.h>

struct clock {
	/* Seconds since the epoch; NULL means the real clock. */
	int64_t (*now)(void *ctx);
	void *ctx;
};

/* Seconds since the epoch from c, or from the real clock when c is NULL. */
int64_t clock_now(const struct clock *c);

/* Monotonic milliseconds, for measuring durations. */
int64_t clock_mono_ms(void);

#endif
