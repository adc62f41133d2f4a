/*
 * test_ratelimit.c — per-client and global token buckets, key rotation and
 * a bounded client table.
 *
 * Every test drives the clock itself (now_ms), so nothing here sleeps or
 * depends on timing; clients are IPv4-like 4-byte addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "sightline/ratelimit.h"

#define SEC 1000ull
#define DAY (24ull * 60 * 60 * SEC)
#define T0 (5 * SEC) /* an arbitrary start of the monotonic clock */

typedef struct client {
	uint8_t addr[4];
} client;

static client ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (client){{a, b, c, d}};
}

static sl_ratelimit *make(double per_min, double burst, double g_per_sec, double g_burst,
			  size_t max_clients)
{
	sl_ratelimit_config cfg = {
	    .per_client_per_min = per_min,
	    .per_client_burst = burst,
	    .global_per_sec = g_per_sec,
	    .global_burst = g_burst,
	    .max_clients = max_clients,
	};
	sl_ratelimit *rl = NULL;
	assert_int_equal(sl_ratelimit_new(&cfg, &rl), SL_OK);
	assert_non_null(rl);
	return rl;
}

static bool take(sl_ratelimit *rl, client c, uint64_t now, unsigned *retry)
{
	unsigned r = 12345;
	bool ok = sl_ratelimit_take(rl, c.addr, sizeof(c.addr), now, &r);
	if (retry)
		*retry = r;
	return ok;
}

static void test_burst_then_refusal(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(60, 5, 0, 0, 64); /* 1 token/s, burst 5 */
	client a = ip(192, 0, 2, 1);
	unsigned retry;
	for (int i = 0; i < 5; i++) {
		assert_true(take(rl, a, T0, &retry));
		assert_int_equal(retry, 0);
	}
	assert_false(take(rl, a, T0, &retry));
	assert_int_equal(retry, 1);
	/* refusals cost nothing and keep refusing */
	assert_false(take(rl, a, T0 + 500, &retry));
	assert_true(retry >= 1);
	/* NULL retry_after is allowed */
	assert_false(sl_ratelimit_take(rl, a.addr, sizeof(a.addr), T0 + 600, NULL));
	sl_ratelimit_free(rl);
}

static void test_retry_after_is_honest(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(6, 1, 0, 0, 64); /* one token per 10 s */
	client a = ip(192, 0, 2, 1);
	unsigned retry;
	assert_true(take(rl, a, T0, NULL));
	assert_false(take(rl, a, T0, &retry));
	assert_int_equal(retry, 10);
	assert_false(take(rl, a, T0 + 2500, &retry));
	assert_int_equal(retry, 8); /* 7.5 s, rounded up */
	assert_false(take(rl, a, T0 + 9999, &retry));
	assert_int_equal(retry, 1);
	assert_true(take(rl, a, T0 + 10 * SEC, NULL));
	assert_false(take(rl, a, T0 + 10 * SEC, NULL));
	sl_ratelimit_free(rl);
}

static void test_refill(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(60, 3, 0, 0, 64);
	client a = ip(198, 51, 100, 7);
	for (int i = 0; i < 3; i++)
		assert_true(take(rl, a, T0, NULL));
	assert_false(take(rl, a, T0, NULL));
	/* one second: one token */
	assert_true(take(rl, a, T0 + SEC, NULL));
	assert_false(take(rl, a, T0 + SEC, NULL));
	/* an hour: only the burst, not 3600 tokens */
	uint64_t later = T0 + 3600 * SEC;
	for (int i = 0; i < 3; i++)
		assert_true(take(rl, a, later, NULL));
	assert_false(take(rl, a, later, NULL));
	/* fractional refill accumulates across refusals */
	for (uint64_t t = later + 100; t < later + SEC; t += 100)
		assert_false(take(rl, a, t, NULL));
	assert_true(take(rl, a, later + SEC, NULL));
	sl_ratelimit_free(rl);
}

static void test_clock_step_back_is_harmless(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(60, 1, 0, 0, 64);
	client a = ip(10, 0, 0, 1);
	assert_true(take(rl, a, T0 + 10 * SEC, NULL));
	unsigned retry;
	assert_false(take(rl, a, T0, &retry));
	assert_true(retry >= 1);
	assert_true(take(rl, a, T0 + 11 * SEC, NULL));
	sl_ratelimit_free(rl);
}

static void test_clients_independent(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(60, 2, 0, 0, 64);
	client a = ip(203, 0, 113, 1), b = ip(203, 0, 113, 2);
	assert_true(take(rl, a, T0, NULL));
	assert_true(take(rl, a, T0, NULL));
	assert_false(take(rl, a, T0, NULL));
	assert_true(take(rl, b, T0, NULL));
	assert_true(take(rl, b, T0, NULL));
	assert_false(take(rl, b, T0, NULL));
	assert_false(take(rl, a, T0, NULL));

	/* addresses of other lengths are other clients (IPv6 vs IPv4) */
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	assert_true(sl_ratelimit_take(rl, v6, sizeof(v6), T0, NULL));
	assert_true(sl_ratelimit_take(rl, v6, 4, T0, NULL)); /* prefix only */
	sl_ratelimit_free(rl);
}

static void test_global_limit(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(600, 100, 2, 3, 64); /* global 2/s, burst 3 */
	unsigned retry;
	assert_true(take(rl, ip(10, 0, 0, 1), T0, NULL));
	assert_true(take(rl, ip(10, 0, 0, 2), T0, NULL));
	assert_true(take(rl, ip(10, 0, 0, 3), T0, NULL));
	assert_false(take(rl, ip(10, 0, 0, 4), T0, &retry));
	assert_int_equal(retry, 1);
	assert_false(take(rl, ip(10, 0, 0, 1), T0, NULL));
	/* half a second brings one global token */
	assert_true(take(rl, ip(10, 0, 0, 5), T0 + 500, NULL));
	assert_false(take(rl, ip(10, 0, 0, 6), T0 + 500, NULL));
	sl_ratelimit_free(rl);
}

static void test_global_refusal_spares_client(void **state)
{
	(void)state;
	/* client: burst 2, refilling once a minute; global: burst 1, 1/s */
	sl_ratelimit *rl = make(1, 2, 1, 1, 64);
	client a = ip(10, 1, 1, 1);
	assert_true(take(rl, a, T0, NULL)); /* client 1 left, global 0 */
	for (int i = 0; i < 5; i++)
		assert_false(
		    take(rl, a, T0 + 100 * (uint64_t)i, NULL)); /* global says no */
	/* the global bucket refills; the client still has its token */
	assert_true(take(rl, a, T0 + SEC, NULL));
	/* now the client's own bucket is empty, whatever the global has */
	unsigned retry;
	assert_false(take(rl, a, T0 + 5 * SEC, &retry));
	assert_true(retry > 1 && retry <= 60);
	sl_ratelimit_free(rl);
}

static void test_disabled_limits(void **state)
{
	(void)state;
	/* both off */
	sl_ratelimit *rl = make(0, 0, 0, 0, 0);
	for (int i = 0; i < 10000; i++)
		assert_true(take(rl, ip(10, 0, 0, 1), T0, NULL));
	sl_ratelimit_free(rl);

	/* client off, global on */
	rl = make(0, 0, 1, 2, 0);
	assert_true(take(rl, ip(10, 0, 0, 1), T0, NULL));
	assert_true(take(rl, ip(10, 0, 0, 1), T0, NULL));
	assert_false(take(rl, ip(10, 0, 0, 2), T0, NULL));
	sl_ratelimit_free(rl);

	/* client on, global off */
	rl = make(60, 1, 0, 0, 16);
	for (int i = 0; i < 1000; i++)
		assert_true(take(rl, ip(10, 0, (uint8_t)(i >> 8), (uint8_t)i), T0, NULL));
	assert_false(take(rl, ip(10, 0, 3, 231), T0, NULL)); /* the last one */
	sl_ratelimit_free(rl);
}

static void test_rotation_empties_table(void **state)
{
	(void)state;
	/* so slow that a day refills only 0.144 tokens */
	sl_ratelimit *rl = make(0.0001, 1, 0, 0, 64);
	client a = ip(10, 9, 9, 9), b = ip(10, 9, 9, 10);
	unsigned retry;
	assert_true(take(rl, a, T0, NULL)); /* starts the key's day */
	assert_true(take(rl, b, T0 + 1000, NULL));
	assert_false(take(rl, a, T0 + DAY - 1, &retry));
	assert_true(retry > 3600);
	assert_false(take(rl, b, T0 + DAY - 1, NULL));

	/* a day after the key was made: new key, empty table */
	assert_true(take(rl, a, T0 + DAY, NULL));
	assert_false(take(rl, a, T0 + DAY, NULL));
	assert_true(take(rl, b, T0 + DAY + 1, NULL));
	assert_false(take(rl, b, T0 + DAY + 2, NULL));

	/* and the next day counts from the rotation */
	assert_false(take(rl, a, T0 + 2 * DAY - 1, NULL));
	assert_true(take(rl, a, T0 + 2 * DAY, NULL));
	sl_ratelimit_free(rl);
}

static void test_small_table(void **state)
{
	(void)state;
	/* one slot: every new client evicts the last one */
	sl_ratelimit *rl = make(60, 1, 0, 0, 1);
	for (int i = 0; i < 100; i++) {
		client c = ip(172, 16, 0, (uint8_t)i);
		assert_true(take(rl, c, T0, NULL));
		assert_false(take(rl, c, T0, NULL)); /* still limited */
	}
	sl_ratelimit_free(rl);

	/* fewer clients than slots: none is forgotten */
	rl = make(60, 1, 0, 0, 8);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 4; i++) {
			client c = ip(172, 16, 1, (uint8_t)i);
			assert_int_equal(take(rl, c, T0 + 100 * (uint64_t)round, NULL),
					 round == 0);
		}
	sl_ratelimit_free(rl);

	/* a flood of distinct addresses through a small table */
	rl = make(60, 2, 0, 0, 3);
	for (unsigned i = 0; i < 100000; i++) {
		client c = ip(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
		assert_true(take(rl, c, T0 + i, NULL));
	}
	sl_ratelimit_free(rl);
}

static void test_eviction_prefers_fullest(void **state)
{
	(void)state;
	/* two slots, 1 token a minute, burst 2 */
	sl_ratelimit *rl = make(1, 2, 0, 0, 2);
	client a = ip(10, 0, 0, 1), b = ip(10, 0, 0, 2), c = ip(10, 0, 0, 3);
	assert_true(take(rl, b, T0, NULL));
	assert_true(take(rl, b, T0, NULL));	       /* b: 0 tokens, touched at T0 */
	assert_true(take(rl, a, T0 + 10 * SEC, NULL)); /* a: 1 token, later */
	/* At T0+20s a holds ~1.17 tokens, b ~0.33. Evicting the oldest would
	 * drop b; evicting the fullest drops a, which loses less. */
	assert_true(take(rl, c, T0 + 20 * SEC, NULL));
	assert_false(take(rl, b, T0 + 20 * SEC, NULL)); /* b was kept */
	sl_ratelimit_free(rl);
}

static void test_bad_config(void **state)
{
	(void)state;
	sl_ratelimit *rl = (sl_ratelimit *)&rl;
	const sl_ratelimit_config bad[] = {
	    {.per_client_per_min = 60, .per_client_burst = 5, .max_clients = 0},
	    {.per_client_per_min = -1, .per_client_burst = 5, .max_clients = 8},
	    {.per_client_per_min = 60, .per_client_burst = 0.5, .max_clients = 8},
	    {.per_client_per_min = NAN, .per_client_burst = 5, .max_clients = 8},
	    {.per_client_per_min = INFINITY, .per_client_burst = 5, .max_clients = 8},
	    {.global_per_sec = 10, .global_burst = 0},
	    {.global_per_sec = -10, .global_burst = 5},
	    {.per_client_per_min = 60, .per_client_burst = 5, .max_clients = SIZE_MAX},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rl = (sl_ratelimit *)&rl;
		assert_int_equal(sl_ratelimit_new(&bad[i], &rl), SL_EINVAL);
		assert_null(rl);
	}
	assert_int_equal(sl_ratelimit_new(NULL, &rl), SL_EINVAL);
	sl_ratelimit_free(NULL);
}

/* Threads sharing one client: exactly the burst gets through. */
#define THREADS 8
#define TRIES 2000

typedef struct worker {
	sl_ratelimit *rl;
	pthread_barrier_t *start;
	int allowed;
} worker;

static void *hammer(void *arg)
{
	worker *w = arg;
	client c = ip(10, 2, 3, 4);
	pthread_barrier_wait(w->start);
	for (int i = 0; i < TRIES; i++)
		w->allowed += take(w->rl, c, T0, NULL);
	/* and some other clients, to stir the table */
	for (int i = 0; i < TRIES; i++)
		take(w->rl, ip(10, 9, (uint8_t)(i >> 8), (uint8_t)i), T0, NULL);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	sl_ratelimit *rl = make(60, 50, 0, 0, 4096);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, THREADS);
	worker w[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){.rl = rl, .start = &start};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += w[i].allowed;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(total, 50);
	sl_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_refusal),
	    cmocka_unit_test(test_retry_after_is_honest),
	    cmocka_unit_test(test_refill),
	    cmocka_unit_test(test_clock_step_back_is_harmless),
	    cmocka_unit_test(test_clients_independent),
	    cmocka_unit_test(test_global_limit),
	    cmocka_unit_test(test_global_refusal_spares_client),
	    cmocka_unit_test(test_disabled_limits),
	    cmocka_unit_test(test_rotation_empties_table),
	    cmocka_unit_test(test_small_table),
	    cmocka_unit_test(test_eviction_prefers_fullest),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
