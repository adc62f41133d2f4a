/*
 * rng.c — xoshiro256** seeded by splitmix64 (rng.h).
 */
#include "sightline/rng.h"

#include <math.h>

uint64_t sl_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sl_rng_seed(sl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = sl_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sl_rng_next(sl_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sl_rng_unit(sl_rng *r)
{
	return (double)(sl_rng_next(r) >> 11) / 9007199254740992.0;
}

double sl_rng_range(sl_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * sl_rng_unit(r);
}

uint32_t sl_rng_below(sl_rng *r, uint32_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's multiply-and-reject. */
	uint64_t m = (uint64_t)(uint32_t)(sl_rng_next(r) >> 32) * n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t t = -n % n;
		while (low < t) {
			m = (uint64_t)(uint32_t)(sl_rng_next(r) >> 32) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

int sl_rng_chance(sl_rng *r, double p)
{
	return sl_rng_unit(r) < p;
}

double sl_rng_normal(sl_rng *r)
{
	double u = 1.0 - sl_rng_unit(r), v = sl_rng_unit(r);
	return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

double sl_rng_exp(sl_rng *r, double mean)
{
	return -mean * log(1.0 - sl_rng_unit(r));
}

uint32_t sl_rng_poisson(sl_rng *r, double mean)
{
	double l = exp(-mean), p = 1.0;
	uint32_t k = 0;
	do {
		k++;
		p *= sl_rng_unit(r);
	} while (p > l && k < 1000);
	return k - 1;
}
