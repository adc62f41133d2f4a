/*
 * network_gen.c — a generated rail network for when no file is given
 * (sl_network_generate, network.h).
 *
 * The towns are real (their main stations' coordinates, rounded) and so is
 * the shape of the main lines between them — Brest–Minsk–Orsha–Smolensk,
 * the Polesie line Zhabinka–Pinsk–Luninets–Kalinkavichy–Homel, Minsk–
 * Asipovichy–Zhlobin–Homel, Mahilyow–Krychaw–Unecha, Kalinkavichy–Mazyr–
 * Ovruch, ... — so that the simulator's trains run in plausible directions.
 * Each stretch is drawn as a seeded smooth wiggle away from the great
 * circle, with halts every 5–15 km. The lines go through the same checks as
 * a GeoJSON file: they are built as jansson values and loaded by
 * sl_network_from_json; the stations are written as a TSV and read by
 * sl_stations_load_buffer.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/network_int.h"
#include "sightline/geo.h"
#include "sightline/rng.h"

static const sl_town towns[] = {
    {"Минск", "Минск-Пассажирский", "Мінск Пасажырскі", 53.8903, 27.5528}, /* 0 */
    {"Орша", "Орша-Центральная", "Орша Цэнтральная", 54.5208, 30.3756},	   /* 1 */
    {"Брест", "Брест-Центральный", "Брэст Цэнтральны", 52.1014, 23.6819},  /* 2 */
    {"Барановичи", "Барановичи-Центральные", "Баранавічы Цэнтральныя", 53.1319,
     25.9961},								      /* 3 */
    {"Гомель", "Гомель-Пассажирский", "Гомель Пасажырскі", 52.4311, 30.9917}, /* 4 */
    {"Могилёв", "Могилёв I", "Магілёў 1", 53.9264, 30.3394},		      /* 5 */
    {"Витебск", "Витебск", "Віцебск", 55.1964, 30.1883},		      /* 6 */
    {"Гродно", "Гродно", "Гродна", 53.6875, 23.8503},			      /* 7 */
    {"Полоцк", "Полоцк", "Полацк", 55.4931, 28.7861},			      /* 8 */
    {"Молодечно", "Молодечно", "Маладзечна", 54.3164, 26.8417},		      /* 9 */
    {"Лида", "Лида", "Ліда", 53.8822, 25.2944},				      /* 10 */
    {"Осиповичи", "Осиповичи I", "Асіповічы 1", 53.2994, 28.6472},	      /* 11 */
    {"Бобруйск", "Бобруйск", "Бабруйск", 53.1375, 29.1964},		      /* 12 */
    {"Жлобин", "Жлобин-Пассажирский", "Жлобін Пасажырскі", 52.8900, 30.0414}, /* 13 */
    {"Калинковичи", "Калинковичи", "Калінкавічы", 52.1392, 29.3153},	      /* 14 */
    {"Мозырь", "Мозырь", "Мазыр", 52.0756, 29.2028},			      /* 15 */
    {"Лунинец", "Лунинец", "Лунінец", 52.2444, 26.8083},		      /* 16 */
    {"Пинск", "Пинск", "Пінск", 52.1222, 26.0892},			      /* 17 */
    {"Кричев", "Кричев I", "Крычаў 1", 53.7389, 31.7128},		      /* 18 */
    {"Борисов", "Борисов", "Барысаў", 54.2258, 28.4972},		      /* 19 */
    {"Слуцк", "Слуцк", "Слуцк", 53.0139, 27.5250},			      /* 20 */
    {"Речица", "Речица", "Рэчыца", 52.3492, 30.3947},			      /* 21 */
    {"Жабинка", "Жабинка", "Жабінка", 52.2014, 24.0197},		      /* 22 */
    {"Волковыск", "Волковыск", "Ваўкавыск", 53.1600, 24.4600},		      /* 23 */
    {"Мосты", "Мосты", "Масты", 53.4100, 24.5400},			      /* 24 */
    {"Хойники", "Хойники", "Хойнікі", 51.9178, 30.0083},		      /* 25 */
    {"Ельск", "Ельск", "Ельск", 51.8208, 29.1539},			      /* 26 */
    {"Словечно", "Словечно", "Славечна", 51.6317, 29.0681},		      /* 27 */
    {"Василевичи", "Василевичи", "Васілевічы", 52.2544, 29.8306},	      /* 28 */
    {"Светлогорск", "Светлогорск-на-Березине", "Светлагорск-на-Бярэзіне", 52.6303,
     29.7164},						    /* 29 */
    {"Смоленск", "Смоленск", "Смаленск", 54.7800, 32.0500}, /* 30 */
    {"Унеча", "Унеча", "Унеча", 52.8500, 32.6800},	    /* 31 */
    {"Овруч", "Овруч", "Овруч", 51.3200, 28.8000},	    /* 32 */
    {"Кобрин", "Кобрин", "Кобрын", 52.2100, 24.3600},	    /* 33 */
};

#define N_TOWNS (sizeof(towns) / sizeof(towns[0]))
#define END 255

/* Through lines as town indices; each consecutive pair is one LineString. */
static const uint8_t lines[][8] = {
    {2, 22, 3, 0, 19, 1, 30, END},   /* Brest - Minsk - Orsha - Smolensk */
    {22, 33, 17, 16, 14, 28, 21, 4}, /* Polesie line to Homel */
    {7, 24, 23, 3, END},	     /* Hrodna - Baranavichy */
    {24, 10, 9, 0, END},	     /* Masty - Lida - Maladzyechna - Minsk */
    {9, 8, 6, 1, END},		     /* Maladzyechna - Polatsk - Vitebsk - Orsha */
    {0, 11, 12, 13, 4, END},	     /* Minsk - Asipovichy - Zhlobin - Homel */
    {3, 20, 11, END},		     /* Baranavichy - Slutsk - Asipovichy */
    {3, 16, END},		     /* Baranavichy - Luninets */
    {1, 5, 13, END},		     /* Orsha - Mahilyow - Zhlobin */
    {5, 18, 31, END},		     /* Mahilyow - Krychaw - Unecha */
    {4, 31, END},		     /* Homel - Unecha */
    {14, 15, 26, 27, 32, END},	     /* Kalinkavichy - Mazyr - Ovruch */
    {28, 25, END},		     /* Vasilevichi - Khoiniki */
    {13, 29, 14, END},		     /* Zhlobin - Svetlahorsk - Kalinkavichy */
    {6, 30, END},		     /* Vitebsk - Smolensk */
};

#define N_LINES (sizeof(lines) / sizeof(lines[0]))
#define STEP_M 1500.0 /* spacing of the drawn vertices */

typedef struct text {
	char *buf;
	size_t len, cap;
	bool nomem;
} text;

static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tprintf(text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL,
				  t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = true;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t c = t->cap ? t->cap * 2 : 65536;
		while (c < t->len + (size_t)n + 1)
			c *= 2;
		char *b = realloc(t->buf, c);
		if (!b) {
			t->nomem = true;
			return;
		}
		t->buf = b, t->cap = c;
	}
}

/* One stretch a -> b as a LineString, with halts into the station text. */
static json_t *stretch(sl_rng *rng, const sl_town *a, const sl_town *b, text *st)
{
	double d = sl_geo_distance_m(a->lat, a->lon, b->lat, b->lon);
	double brg = sl_geo_bearing_deg(a->lat, a->lon, b->lat, b->lon);
	/* A smooth sideways offset, zero at both towns: two sine waves. */
	double amp1 = sl_rng_range(rng, -0.04, 0.04) * d,
	       amp2 = sl_rng_range(rng, -0.015, 0.015) * d;
	amp1 = fmax(fmin(amp1, 6000), -6000);
	double ph = sl_rng_range(rng, 0, 2 * SL_GEO_PI);
	size_t n = (size_t)(d / STEP_M) + 2;
	json_t *coords = json_array();
	double next_halt = sl_rng_range(rng, 5000, 15000), along = 0, plat = a->lat,
	       plon = a->lon;
	for (size_t i = 0; coords && i < n; i++) {
		double f = (double)i / (double)(n - 1), lat, lon;
		if (i == 0)
			lat = a->lat, lon = a->lon;
		else if (i == n - 1)
			lat = b->lat, lon = b->lon;
		else {
			double off =
			    amp1 * sin(SL_GEO_PI * f) +
			    amp2 * sin(3 * SL_GEO_PI * f + ph) * sin(SL_GEO_PI * f);
			double clat, clon;
			sl_geo_destination(a->lat, a->lon, brg, f * d, &clat, &clon);
			sl_geo_destination(clat, clon, brg + 90, off, &lat, &lon);
		}
		lat = round(lat * 1e6) / 1e6, lon = round(lon * 1e6) / 1e6;
		along += sl_geo_distance_m(plat, plon, lat, lon);
		plat = lat, plon = lon;
		json_t *p = json_pack("[ff]", lon, lat);
		if (!p || json_array_append_new(coords, p) != 0) {
			json_decref(coords);
			return NULL;
		}
		if (i > 0 && i < n - 1 && along >= next_halt && d - along > 3000) {
			int km = (int)lround(along / 1000);
			tprintf(st, "%d км (%s–%s)\t\tоп\t%.6f\t%.6f\n", km, a->name,
				b->name, lat, lon);
			next_halt = along + sl_rng_range(rng, 5000, 15000);
		}
	}
	return coords;
}

size_t sl_network_towns(const sl_town **out)
{
	*out = towns;
	return N_TOWNS;
}

sl_err sl_network_generate(uint64_t seed, const sl_network_options *opt, sl_network **net,
			   sl_stations **stations)
{
	*net = NULL;
	if (stations)
		*stations = NULL;
	sl_rng rng;
	sl_rng_seed(&rng, seed);
	text st = {0};
	tprintf(&st, "name_ru\tname_be\ttype\tlat\tlon\n");
	for (size_t i = 0; i < N_TOWNS; i++)
		tprintf(&st, "%s\t%s\tст\t%.6f\t%.6f\n", towns[i].station_ru,
			towns[i].station_be, towns[i].lat, towns[i].lon);
	json_t *features = json_array();
	bool ok = features != NULL;
	int id = 0;
	for (size_t l = 0; ok && l < N_LINES; l++) {
		for (size_t k = 0; ok && k + 1 < 8 && lines[l][k + 1] != END; k++) {
			json_t *coords = stretch(&rng, &towns[lines[l][k]],
						 &towns[lines[l][k + 1]], &st);
			json_t *ft =
			    coords
				? json_pack("{s:s, s:{s:i, s:i, s:i, s:i}, s:{s:s, s:o}}",
					    "type", "Feature", "properties", "rwdb_rr_id",
					    ++id, "scalerank", 5, "mult_track",
					    (int)(l < 2 || l == 5), "electric",
					    (int)(l == 0), "geometry", "type",
					    "LineString", "coordinates", coords)
				: NULL;
			ok = ft && json_array_append_new(features, ft) == 0;
		}
	}
	json_t *root = ok ? json_pack("{s:s, s:o}", "type", "FeatureCollection",
				      "features", features)
			  : NULL;
	if (!root)
		json_decref(features);
	sl_problems why = {0};
	sl_err e = root && !st.nomem ? SL_OK : SL_ENOMEM;
	if (e == SL_OK)
		e = sl_network_from_json(root, opt, net, &why);
	json_decref(root);
	if (e == SL_OK && stations) {
		e = sl_stations_load_buffer(st.buf, st.len, stations, &why);
		if (e != SL_OK) {
			sl_network_free(*net);
			*net = NULL;
		}
	}
	free(st.buf);
	return e;
}
