/*
 * rng.h — the project's own pseudo-random numbers, for generated data (the
 * simulator, the generated network): the same seed gives the same numbers
 * on every machine and libc, which rand() does not promise.
 *
 * xoshiro256** (Blackman, Vigna 2018) seeded through splitmix64 (Steele,
 * Lea, Flood 2014). Fast and well distributed; never for anything secret
 * (receipts and keys come from libsodium).
 */
#ifndef SIGHTLINE_RNG_H
#define SIGHTLINE_RNG_H

#include <stdint.h>

typedef struct sl_rng {
	uint64_t s[4];
} sl_rng;

/* One step of splitmix64: advances *state, returns a well-mixed value.
 * Also the way to derive independent seeds from one (seed, index). */
uint64_t sl_splitmix64(uint64_t *state);

/* A generator for seed; any seed is fine, 0 included. */
void sl_rng_seed(sl_rng *r, uint64_t seed);

uint64_t sl_rng_next(sl_rng *r);

/* Uniform in [0, 1). */
double sl_rng_unit(sl_rng *r);

/* Uniform in [lo, hi). */
double sl_rng_range(sl_rng *r, double lo, double hi);

/* Uniform in 0 .. n - 1 (0 when n is 0), without modulo bias. */
uint32_t sl_rng_below(sl_rng *r, uint32_t n);

/* True with probability p. */
int sl_rng_chance(sl_rng *r, double p);

/* Standard normal (mean 0, deviation 1), by Box-Muller without a cached
 * second value, so each call takes the same two draws. */
double sl_rng_normal(sl_rng *r);

/* Exponential with the given mean. */
double sl_rng_exp(sl_rng *r, double mean);

/* Poisson with the given mean (Knuth's method; mean <= 30 or so). */
uint32_t sl_rng_poisson(sl_rng *r, double mean);

#endif
