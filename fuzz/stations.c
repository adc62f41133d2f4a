/*
 * stations.c — fuzz target: the station list (sl_stations_load_buffer:
 * `serve --stations`, `simulate --stations`), and a gazetteer made of it,
 * asked for the names of its own first rows and the nearest station to
 * them, as the web form and the bot would.
 */
#include <string.h>

#include "fuzz.h"
#include "sightline/place.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_stations *s = NULL;
	sl_problems why = {0};
	sl_err e = sl_stations_load_buffer((const char *)data, size, &s, &why);
	if (e != SL_OK) {
		if (why.n == 0)
			fuzz_fail("refused (error %d) without a reason", (int)e);
		return 0;
	}
	sl_gazetteer *g = NULL;
	if (sl_gazetteer_new(s, &g) != SL_OK)
		fuzz_fail("no gazetteer from a station list that loaded");
	size_t n = sl_stations_count(s);
	for (size_t i = 0; i < n && i < 8; i++) {
		const sl_station *st = sl_stations_get(s, i);
		if (!st || !st->name_ru)
			fuzz_fail("station %zu has no name", i);
		size_t idx;
		if (sl_stations_find(s, st->name_ru, &idx) == SL_OK && idx >= n)
			fuzz_fail("find gave index %zu of %zu", idx, n);
		if (sl_stations_nearest(s, st->lat, st->lon, 1000, &idx, NULL) != SL_OK)
			fuzz_fail("station %zu is not nearest to itself", i);
		sl_place p;
		sl_place_resolve(g, st->name_ru, SL_LANG_RU, &p);
		if (st->name_be)
			sl_place_resolve(g, st->name_be, SL_LANG_BE, &p);
	}
	sl_gazetteer_free(g);
	sl_stations_free(s);
	return 0;
}
