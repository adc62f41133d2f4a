/*
 * test_place.c — places from what informants type (place.h): coordinates
 * in the shapes maps give them, with the uncertainty their digits allow;
 * every town of the network module in four languages and other
 * spellings; stations from a station list, with and without "station"
 * around the name; and what is none of these.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "data_files.h"
#include "sightline/place.h"

static void test_coordinates(void **state)
{
	(void)state;
	struct {
		const char *in;
		double lat, lon, u;
	} good[] = {
	    {"53.9, 27.56", 53.9, 27.56, 5566},
	    {"53.9000 27.5600", 53.9, 27.56, 50},
	    {"53.90;27.56", 53.9, 27.56, 557}, /* the coarser of the two wins */
	    {"53,9 27,56", 53.9, 27.56, 5566},
	    {"53,91, 27,56", 53.91, 27.56, 557},
	    {"  -33.5 , 151.25  ", -33.5, 151.25, 5566},
	    {"53.91N 27.56E", 53.91, 27.56, 557},
	    {"N53.91 E27.56", 53.91, 27.56, 557},
	    {"27.56E 53.91N", 53.91, 27.56, 557},
	    {"53.91 S, 27.56 W", -53.91, -27.56, 557},
	    {"53\xc2\xb0 54' N, 27\xc2\xb0 33' E", 53.9, 27.55, 928},
	    {"53\xc2\xb0"
	     "54'12\"N 27\xc2\xb0"
	     "33'36\"E",
	     53.903333, 27.56, 50},
	    {"53\xc2\xb0"
	     "54\xe2\x80\xb2"
	     "12\xe2\x80\xb3 27\xc2\xb0"
	     "33\xe2\x80\xb2"
	     "36\xe2\x80\xb3",
	     53.903333, 27.56, 50},
	    {"53\xc2\xb0 27\xc2\xb0", 53, 27, 55660},
	    {"54 30.5", 54, 30.5, 55660},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		double lat, lon, u;
		sl_err e = sl_place_parse_coords(good[i].in, &lat, &lon, &u);
		if (e != SL_OK || fabs(lat - good[i].lat) > 1e-6 ||
		    fabs(lon - good[i].lon) > 1e-6 || fabs(u - good[i].u) > 1)
			fail_msg("\"%s\": %s, %.6f %.6f ±%.0f; want %.6f %.6f ±%.0f",
				 good[i].in, sl_strerror(e), lat, lon, u, good[i].lat,
				 good[i].lon, good[i].u);
	}
	const char *not_coords[] = {"",
				    "Орша",
				    "12 15",
				    "53.9",
				    "53.9 27.5 3.1",
				    "E28",
				    "53.9N 27.5N",
				    "abc 1.5",
				    "53.9, 27.56 Minsk",
				    "53.9x27.5",
				    NULL};
	for (size_t i = 0; not_coords[i]; i++) {
		double lat, lon, u;
		if (sl_place_parse_coords(not_coords[i], &lat, &lon, &u) != SL_ENOTFOUND)
			fail_msg("\"%s\" was read as coordinates", not_coords[i]);
	}
	const char *out_of_range[] = {"93.5, 27.5", "53.5, 181.5", "-90.5 0.5",
				      "53\xc2\xb0"
				      "61' 27\xc2\xb0"
				      "0'",
				      NULL};
	for (size_t i = 0; out_of_range[i]; i++) {
		double lat, lon, u;
		sl_err e = sl_place_parse_coords(out_of_range[i], &lat, &lon, &u);
		if (e == SL_OK)
			fail_msg("\"%s\" was accepted", out_of_range[i]);
	}
	double lat, lon, u;
	assert_int_equal(sl_place_parse_coords("93.5, 27.5", &lat, &lon, &u), SL_EVALID);
}

static void expect_town(const sl_gazetteer *g, const char *in, sl_lang lang,
			const char *want_name, double lat, double lon)
{
	sl_place p;
	sl_err e = sl_place_resolve(g, in, lang, &p);
	if (e != SL_OK || p.kind != SL_PLACE_TOWN || strcmp(p.name, want_name) != 0 ||
	    fabs(p.lat - lat) > 1e-6 || fabs(p.lon - lon) > 1e-6)
		fail_msg(
		    "\"%s\" in %s: %s, kind %d, %s at %f %f; want the town %s at %f %f",
		    in, sl_lang_tag(lang), sl_strerror(e), e == SL_OK ? (int)p.kind : -1,
		    e == SL_OK && p.name ? p.name : "-", e == SL_OK ? p.lat : 0,
		    e == SL_OK ? p.lon : 0, want_name, lat, lon);
	if (!(p.uncertainty_m >= 1000 && p.uncertainty_m <= 20000))
		fail_msg("\"%s\": a town %.0f m across", in, p.uncertainty_m);
}

static void test_towns(void **state)
{
	(void)state;
	sl_gazetteer *g;
	assert_int_equal(sl_gazetteer_new(NULL, &g), SL_OK);
	const sl_town *towns;
	size_t n = sl_network_towns(&towns);
	assert_int_equal(sl_gazetteer_towns(g), n);
	/* Every town by its Russian name, shown in English: each has its
	 * names in the table, not only the Russian one. */
	for (size_t i = 0; i < n; i++) {
		sl_place p;
		if (sl_place_resolve(g, towns[i].name, SL_LANG_EN, &p) != SL_OK ||
		    p.kind != SL_PLACE_TOWN || strcmp(p.name, towns[i].name) == 0)
			fail_msg("%s has no English name in the gazetteer",
				 towns[i].name);
		if (fabs(p.lat - towns[i].lat) > 1e-6 ||
		    fabs(p.lon - towns[i].lon) > 1e-6)
			fail_msg("%s is not where the network module has it",
				 towns[i].name);
	}
	const sl_town *minsk = &towns[0], *mogilev = &towns[5], *bobr = &towns[12];
	assert_string_equal(minsk->name, "Минск");
	assert_string_equal(mogilev->name, "Могилёв");
	assert_string_equal(bobr->name, "Бобруйск");
	expect_town(g, "Минск", SL_LANG_RU, "Минск", minsk->lat, minsk->lon);
	expect_town(g, "мінск", SL_LANG_BE, "Мінск", minsk->lat, minsk->lon);
	expect_town(g, "Мінськ", SL_LANG_UK, "Мінськ", minsk->lat, minsk->lon);
	expect_town(g, "MINSK", SL_LANG_EN, "Minsk", minsk->lat, minsk->lon);
	expect_town(g, "г. Минск", SL_LANG_RU, "Минск", minsk->lat, minsk->lon);
	expect_town(g, "Minsk city", SL_LANG_EN, "Minsk", minsk->lat, minsk->lon);
	expect_town(g, "Могилев", SL_LANG_RU, "Могилёв", mogilev->lat, mogilev->lon);
	expect_town(g, "Магілёў", SL_LANG_BE, "Магілёў", mogilev->lat, mogilev->lon);
	expect_town(g, "Могильов", SL_LANG_UK, "Могильов", mogilev->lat, mogilev->lon);
	expect_town(g, "Mogilev", SL_LANG_EN, "Mahilyow", mogilev->lat, mogilev->lon);
	expect_town(g, "Mahilyow", SL_LANG_RU, "Могилёв", mogilev->lat, mogilev->lon);
	expect_town(g, "Bobruisk", SL_LANG_EN, "Babruysk", bobr->lat, bobr->lon);
	expect_town(g, "Babruysk", SL_LANG_BE, "Бабруйск", bobr->lat, bobr->lon);
	expect_town(g, "Бобруйськ", SL_LANG_UK, "Бобруйськ", bobr->lat, bobr->lon);
	expect_town(g, "Homel", SL_LANG_EN, "Homel", towns[4].lat, towns[4].lon);
	expect_town(g, "Gomel", SL_LANG_RU, "Гомель", towns[4].lat, towns[4].lon);
	/* Minsk is larger than Zhabinka. */
	sl_place a, b;
	assert_int_equal(sl_place_resolve(g, "Минск", SL_LANG_RU, &a), SL_OK);
	assert_int_equal(sl_place_resolve(g, "Жабинка", SL_LANG_RU, &b), SL_OK);
	assert_true(a.uncertainty_m > b.uncertainty_m);
	/* Without a station list, a station is not found; coordinates are. */
	sl_place p;
	assert_int_equal(sl_place_resolve(g, "Орша-Центральная", SL_LANG_RU, &p),
			 SL_ENOTFOUND);
	assert_int_equal(sl_place_resolve(g, "53.9, 27.56", SL_LANG_RU, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_COORDS);
	assert_null(p.name);
	assert_int_equal(sl_place_resolve(g, "93.9, 27.56", SL_LANG_RU, &p), SL_EVALID);
	const char *unknown[] = {"",	    "   ",   "asdfgh", "деревня Малые Васюки",
				 "станция", "12 15", NULL};
	for (size_t i = 0; unknown[i]; i++)
		if (sl_place_resolve(g, unknown[i], SL_LANG_RU, &p) != SL_ENOTFOUND)
			fail_msg("\"%s\" was found", unknown[i]);
	sl_gazetteer_free(g);
}

static void test_stations(void **state)
{
	(void)state;
	sl_problems why = {0};
	sl_stations *st;
	assert_int_equal(
	    sl_stations_load_file(test_data("network/stations.tsv"), &st, &why), SL_OK);
	sl_gazetteer *g;
	assert_int_equal(sl_gazetteer_new(st, &g), SL_OK);
	sl_place p;
	assert_int_equal(sl_place_resolve(g, "Узловая", SL_LANG_RU, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_STATION);
	assert_string_equal(p.name, "Узловая");
	assert_true(fabs(p.lat - 53.0) < 1e-9 && fabs(p.lon - 27.1) < 1e-9);
	assert_true(p.uncertainty_m == SL_PLACE_STATION_M);
	/* In Belarusian, its Belarusian name. */
	assert_int_equal(sl_place_resolve(g, "станция Узловая", SL_LANG_BE, &p), SL_OK);
	assert_string_equal(p.name, "Вузлавая");
	assert_int_equal(sl_place_resolve(g, "Vuzlavaya station", SL_LANG_EN, &p), SL_OK);
	assert_string_equal(p.name, "Узловая");
	assert_int_equal(sl_place_resolve(g, "ст. Северная", SL_LANG_RU, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_STATION);
	/* Towns still come from the table. */
	assert_int_equal(sl_place_resolve(g, "Орша", SL_LANG_RU, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_TOWN);
	sl_gazetteer_free(g);
	sl_stations_free(st);

	const char *real = shared("geo/belarus-stations.tsv");
	if (!real) {
		print_message(
		    "no shared station list: the real-name checks are skipped\n");
		return;
	}
	assert_int_equal(sl_stations_load_file(real, &st, &why), SL_OK);
	assert_int_equal(sl_gazetteer_new(st, &g), SL_OK);
	/* "Orsha" is the town; "Orsha station" and "Орша-Центральная" the
	 * station. */
	assert_int_equal(sl_place_resolve(g, "Orsha", SL_LANG_EN, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_TOWN);
	assert_int_equal(sl_place_resolve(g, "Orsha station", SL_LANG_EN, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_STATION);
	assert_non_null(strstr(p.name, "Орша"));
	assert_int_equal(sl_place_resolve(g, "Орша-Центральная", SL_LANG_RU, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_STATION);
	assert_true(fabs(p.lat - 54.5) < 0.1 && fabs(p.lon - 30.4) < 0.1);
	assert_int_equal(sl_place_resolve(g, "Асіповічы", SL_LANG_BE, &p), SL_OK);
	assert_int_equal(p.kind, SL_PLACE_TOWN);
	sl_gazetteer_free(g);
	sl_stations_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coordinates),
	    cmocka_unit_test(test_towns),
	    cmocka_unit_test(test_stations),
	};
	return cmocka_run_group_tests_name("place", tests, NULL, NULL);
}
