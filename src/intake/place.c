/*
 * place.c — coordinates and place names (place.h).
 *
 * The towns' points come from the rail network module (sl_network_towns:
 * each town's main station); their other names and their extent are in
 * the table below. The gazetteer is a station list (network.h) built from
 * that table, one row per name of a town, so that towns are matched by the
 * same rules as stations — any case, ё as е, hyphens and spaces alike,
 * Latin transliterations — and town_of maps a row back to its town.
 *
 * Coordinates are read by a small scanner of their own: two components,
 * each degrees with an optional ° and minutes ' and seconds ", and an
 * optional hemisphere letter before or after; a decimal comma is taken
 * when the text has no point and exactly two digit,digit pairs. Two bare
 * whole numbers ("12 15") are not coordinates: nothing marks them as such.
 */
#define _GNU_SOURCE
#include "sightline/place.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRES_PER_DEGREE 111320.0
#define COORDS_MAX 128 /* longer text is not coordinates */
#define TOWN_DEFAULT_M 3000.0

/* A town's names besides the Russian one, and how far it extends from its
 * point (its main station): roughly the radius of the built-up area. */
typedef struct town_names {
	const char *ru, *be, *uk, *en;
	const char *alt[3]; /* other spellings people type */
	double radius_m;
} town_names;

static const town_names town_table[] = {
    {"Минск", "Мінск", "Мінськ", "Minsk", {NULL}, 12000},
    {"Орша", "Орша", "Орша", "Orsha", {NULL}, 4000},
    {"Брест", "Брэст", "Брест", "Brest", {NULL}, 6000},
    {"Барановичи", "Баранавічы", "Барановичі", "Baranavichy", {"Baranovichi"}, 5000},
    {"Гомель", "Гомель", "Гомель", "Homel", {"Gomel"}, 8000},
    {"Могилёв",
     "Магілёў",
     "Могильов",
     "Mahilyow",
     {"Mogilev", "Mogilyov", "Mahiliou"},
     7000},
    {"Витебск", "Віцебск", "Вітебськ", "Vitsebsk", {"Vitebsk", "Viciebsk"}, 6000},
    {"Гродно", "Гродна", "Гродно", "Hrodna", {"Grodno"}, 6000},
    {"Полоцк", "Полацк", "Полоцьк", "Polatsk", {"Polotsk"}, 4000},
    {"Молодечно", "Маладзечна", "Молодечно", "Maladzyechna", {"Molodechno"}, 4000},
    {"Лида", "Ліда", "Ліда", "Lida", {NULL}, 4000},
    {"Осиповичи", "Асіповічы", "Осиповичі", "Asipovichy", {"Osipovichi"}, 3000},
    {"Бобруйск", "Бабруйск", "Бобруйськ", "Babruysk", {"Bobruisk", "Babrujsk"}, 6000},
    {"Жлобин", "Жлобін", "Жлобин", "Zhlobin", {NULL}, 4000},
    {"Калинковичи", "Калінкавічы", "Калинковичі", "Kalinkavichy", {"Kalinkovichi"}, 3000},
    {"Мозырь", "Мазыр", "Мозир", "Mazyr", {"Mozyr"}, 5000},
    {"Лунинец", "Лунінец", "Лунинець", "Luninets", {NULL}, 3000},
    {"Пинск", "Пінск", "Пінськ", "Pinsk", {NULL}, 5000},
    {"Кричев", "Крычаў", "Кричев", "Krychaw", {"Krichev"}, 3000},
    {"Борисов", "Барысаў", "Борисов", "Barysaw", {"Borisov"}, 5000},
    {"Слуцк", "Слуцк", "Слуцьк", "Slutsk", {NULL}, 4000},
    {"Речица", "Рэчыца", "Речиця", "Rechytsa", {"Rechitsa"}, 4000},
    {"Жабинка", "Жабінка", "Жабинка", "Zhabinka", {NULL}, 2000},
    {"Волковыск", "Ваўкавыск", "Вовковиськ", "Vawkavysk", {"Volkovysk"}, 3000},
    {"Мосты", "Масты", "Мости", "Masty", {"Mosty"}, 2000},
    {"Хойники", "Хойнікі", "Хойники", "Khoiniki", {"Khoyniki", "Hojniki"}, 2000},
    {"Ельск", "Ельск", "Єльськ", "Yelsk", {"Jelsk"}, 2000},
    {"Словечно", "Славечна", "Словечно", "Slavechna", {"Slovechno"}, 1500},
    {"Василевичи", "Васілевічы", "Василевичі", "Vasilevichy", {"Vasilevichi"}, 2000},
    {"Светлогорск", "Светлагорск", "Світлогорськ", "Svetlahorsk", {"Svetlogorsk"}, 4000},
    {"Смоленск", "Смаленск", "Смоленськ", "Smolensk", {NULL}, 8000},
    {"Унеча", "Унеча", "Унеча", "Unecha", {NULL}, 2000},
    {"Овруч", "Оўруч", "Овруч", "Ovruch", {NULL}, 3000},
    {"Кобрин", "Кобрын", "Кобрин", "Kobryn", {"Kobrin"}, 3000},
};

#define N_TABLE (sizeof(town_table) / sizeof(town_table[0]))

typedef struct town {
	double lat, lon, radius_m;
	const char *name[SL_LANG_COUNT];
} town;

struct sl_gazetteer {
	sl_stations *rows; /* one row per name of a town */
	uint32_t *town_of; /* row -> town */
	town *towns;
	size_t n_towns;
	const sl_stations *stations; /* borrowed; may be NULL */
};

void sl_gazetteer_free(sl_gazetteer *g)
{
	if (!g)
		return;
	sl_stations_free(g->rows);
	free(g->town_of);
	free(g->towns);
	free(g);
}

size_t sl_gazetteer_towns(const sl_gazetteer *g)
{
	return g->n_towns;
}

static const town_names *names_of(const char *ru)
{
	for (size_t i = 0; i < N_TABLE; i++)
		if (strcmp(town_table[i].ru, ru) == 0)
			return &town_table[i];
	return NULL;
}

/* Appends one gazetteer row (a name of town i) to the TSV in buf. */
static bool add_row(char *buf, size_t size, size_t *o, const char *ru, const char *be,
		    const town *t)
{
	int n = snprintf(buf + *o, size - *o, "%s\t%s\tгорад\t%.6f\t%.6f\n", ru,
			 be ? be : "", t->lat, t->lon);
	if (n < 0 || (size_t)n >= size - *o)
		return false;
	*o += (size_t)n;
	return true;
}

sl_err sl_gazetteer_new(const sl_stations *stations, sl_gazetteer **out)
{
	*out = NULL;
	const sl_town *nt;
	size_t n = sl_network_towns(&nt);
	sl_gazetteer *g = calloc(1, sizeof(*g));
	size_t rows_max = n * 6, size = rows_max * 160 + 64;
	char *tsv = malloc(size);
	if (g) {
		g->towns = calloc(n ? n : 1, sizeof(town));
		g->town_of = calloc(rows_max ? rows_max : 1, sizeof(uint32_t));
	}
	if (!g || !tsv || !g->towns || !g->town_of) {
		free(tsv);
		sl_gazetteer_free(g);
		return SL_ENOMEM;
	}
	g->stations = stations;
	g->n_towns = n;
	size_t o = (size_t)snprintf(tsv, size, "name_ru\tname_be\ttype\tlat\tlon\n");
	size_t row = 0;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		town *t = &g->towns[i];
		const town_names *tn = names_of(nt[i].name);
		t->lat = nt[i].lat;
		t->lon = nt[i].lon;
		t->radius_m = tn ? tn->radius_m : TOWN_DEFAULT_M;
		const char *ru = nt[i].name;
		t->name[SL_LANG_RU] = ru;
		t->name[SL_LANG_BE] = tn ? tn->be : ru;
		t->name[SL_LANG_UK] = tn ? tn->uk : ru;
		t->name[SL_LANG_EN] = tn ? tn->en : ru;
		/* Russian with Belarusian (transliterated by Belarusian
		 * rules), then Ukrainian, English and other spellings. */
		const char *more[6] = {tn ? tn->uk : NULL,     tn ? tn->en : NULL,
				       tn ? tn->alt[0] : NULL, tn ? tn->alt[1] : NULL,
				       tn ? tn->alt[2] : NULL, NULL};
		ok = add_row(tsv, size, &o, ru, tn ? tn->be : NULL, t);
		g->town_of[row++] = (uint32_t)i;
		for (size_t k = 0; ok && more[k]; k++) {
			ok = add_row(tsv, size, &o, more[k], NULL, t);
			g->town_of[row++] = (uint32_t)i;
		}
	}
	sl_problems why = {0};
	sl_err e = ok ? sl_stations_load_buffer(tsv, o, &g->rows, &why) : SL_ENOMEM;
	free(tsv);
	if (e == SL_OK && sl_stations_count(g->rows) != row)
		e = SL_EINVAL; /* a row was skipped: town_of would be off */
	if (e != SL_OK) {
		sl_gazetteer_free(g);
		return e;
	}
	*out = g;
	return SL_OK;
}

/* ---- coordinates ---- */

/* One component as scanned. */
typedef struct coord {
	double v;
	double step; /* degrees the last typed digit stands for */
	char hemi;   /* 'N', 'S', 'E', 'W' or 0 */
	bool marked; /* had a fraction, a °, or a hemisphere */
} coord;

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '/';
}

static char hemisphere(char c)
{
	switch (c) {
	case 'N':
	case 'n':
		return 'N';
	case 'S':
	case 's':
		return 'S';
	case 'E':
	case 'e':
		return 'E';
	case 'W':
	case 'w':
		return 'W';
	}
	return 0;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A number at *p: digits, optionally '.' and digits. Sets *decimals. */
static bool number(const char **p, double *v, int *decimals)
{
	const char *s = *p;
	double x = 0;
	int d = -1;
	bool any = false;
	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			x = x * 10 + (*s - '0');
			if (d >= 0)
				d++;
			any = true;
		} else if (*s == '.' && d < 0) {
			d = 0;
		} else {
			break;
		}
		if (s - *p > 20)
			return false;
	}
	if (!any)
		return false;
	*v = d > 0 ? x / pow(10, d) : x;
	*decimals = d > 0 ? d : 0;
	*p = s;
	return true;
}

/* One component at *p. */
static bool component(const char **p, coord *c)
{
	const char *s = *p;
	memset(c, 0, sizeof(*c));
	if (hemisphere(*s) && !is_alpha(s[1])) {
		c->hemi = hemisphere(*s++);
		while (*s == ' ')
			s++;
	}
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	double v;
	int d;
	if (!number(&s, &v, &d))
		return false;
	c->v = v;
	c->step = pow(10, -d);
	c->marked = d > 0 || c->hemi;
	while (*s == ' ')
		s++;
	if (*s == 'd') { /* ° */
		s++;
		c->marked = true;
		const char *m = s;
		while (*m == ' ')
			m++;
		double mv;
		if (number(&m, &mv, &d) && *m == '\'') {
			if (mv >= 60)
				return false;
			c->v += mv / 60;
			c->step = pow(10, -d) / 60;
			s = m + 1;
			const char *q = s;
			while (*q == ' ')
				q++;
			double sv;
			if (number(&q, &sv, &d) && *q == '"') {
				if (sv >= 60)
					return false;
				c->v += sv / 3600;
				c->step = pow(10, -d) / 3600;
				s = q + 1;
			}
		}
		while (*s == ' ')
			s++;
	}
	if (!c->hemi && hemisphere(*s) && !is_alpha(s[1])) {
		c->hemi = hemisphere(*s++);
		c->marked = true;
	}
	if (neg)
		c->v = -c->v;
	*p = s;
	return true;
}

/* The text with °, ′, ″ and typographic quotes as 'd', '\'' and '"', a
 * decimal comma as a point; false for text that cannot be coordinates. */
static bool normalise(const char *text, char *buf)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		char c;
		if (p[0] == 0xc2 && (p[1] == 0xb0 || p[1] == 0xba))
			c = 'd', p += 2; /* ° º */
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xb2 || p[2] == 0x99))
			c = '\'', p += 3; /* ′ ’ */
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xb3 || p[2] == 0x9d))
			c = '"', p += 3; /* ″ ” */
		else if (*p >= 0x80 || *p < 0x20)
			return false;
		else
			c = (char)*p++;
		if (o + 1 >= COORDS_MAX)
			return false;
		buf[o++] = c;
	}
	buf[o] = '\0';
	if (strchr(buf, '.'))
		return true;
	size_t pairs = 0;
	for (size_t i = 1; i + 1 < o; i++)
		pairs += buf[i] == ',' && buf[i - 1] >= '0' && buf[i - 1] <= '9' &&
			 buf[i + 1] >= '0' && buf[i + 1] <= '9';
	if (pairs == 2)
		for (size_t i = 1; i + 1 < o; i++)
			if (buf[i] == ',' && buf[i - 1] >= '0' && buf[i - 1] <= '9' &&
			    buf[i + 1] >= '0' && buf[i + 1] <= '9')
				buf[i] = '.';
	return true;
}

sl_err sl_place_parse_coords(const char *text, double *lat, double *lon,
			     double *uncertainty_m)
{
	char buf[COORDS_MAX];
	if (!text || !normalise(text, buf))
		return SL_ENOTFOUND;
	const char *p = buf;
	coord c[2];
	for (int i = 0; i < 2; i++) {
		while (is_sep(*p))
			p++;
		if (!component(&p, &c[i]))
			return SL_ENOTFOUND;
	}
	while (is_sep(*p))
		p++;
	if (*p || !(c[0].marked || c[1].marked))
		return SL_ENOTFOUND;
	bool lon_first =
	    c[0].hemi == 'E' || c[0].hemi == 'W' || c[1].hemi == 'N' || c[1].hemi == 'S';
	coord *la = &c[lon_first], *lo = &c[!lon_first];
	if (la->hemi == 'E' || la->hemi == 'W' || lo->hemi == 'N' || lo->hemi == 'S')
		return SL_ENOTFOUND; /* two latitudes, or two longitudes */
	double y = la->hemi == 'S' ? -la->v : la->v;
	double x = lo->hemi == 'W' ? -lo->v : lo->v;
	if (!(fabs(y) <= 90) || !(fabs(x) <= 180))
		return SL_EVALID;
	double step = la->step > lo->step ? la->step : lo->step;
	double u = step * METRES_PER_DEGREE / 2;
	*lat = y;
	*lon = x;
	*uncertainty_m = u < SL_PLACE_MIN_M		 ? SL_PLACE_MIN_M
			 : u > SL_REPORT_MAX_UNCERTAINTY ? SL_REPORT_MAX_UNCERTAINTY
							 : u;
	return SL_OK;
}

/* ---- names ---- */

/* Words around a name that say what kind of place it is, dropped before
 * the lookup; station words make stations come first. */
static const char *const station_words[] = {
    "станция", "Станция", "ст.",     "Ст.",    "ст",	 "станцыя", "Станцыя", "станція",
    "Станція", "station", "Station", "вокзал", "Вокзал", "ж/д",	    NULL};
static const char *const town_words[] = {"г.",	  "Г.",	   "город", "Город", "горад",
					 "Горад", "місто", "Місто", "city",  "City",
					 "town",  "Town",  NULL};

static bool in_list(const char *w, size_t n, const char *const *list)
{
	for (const char *const *l = list; *l; l++)
		if (strlen(*l) == n && memcmp(*l, w, n) == 0)
			return true;
	return false;
}

/* Drops one leading and one trailing kind word from name (into out). */
static void strip_kind(const char *name, char *out, size_t size, bool *station)
{
	*station = false;
	while (*name == ' ')
		name++;
	size_t n = strlen(name);
	while (n && name[n - 1] == ' ')
		n--;
	size_t first = strcspn(name, " ");
	if (first < n) {
		if (in_list(name, first, station_words)) {
			*station = true;
			name += first + 1, n -= first + 1;
		} else if (in_list(name, first, town_words)) {
			name += first + 1, n -= first + 1;
		}
	} else if (n > 4 && strncmp(name, "ст.", 4) == 0) {
		*station = true; /* "ст.Орша" */
		name += 4, n -= 4;
	}
	while (n && *name == ' ')
		name++, n--;
	const char *sp = n ? memrchr(name, ' ', n) : NULL;
	if (sp) {
		size_t last = n - (size_t)(sp + 1 - name);
		if (in_list(sp + 1, last, station_words)) {
			*station = true;
			n -= last + 1;
		} else if (in_list(sp + 1, last, town_words)) {
			n -= last + 1;
		}
	}
	while (n && name[n - 1] == ' ')
		n--;
	snprintf(out, size, "%.*s", (int)n, name);
}

static bool find_town(const sl_gazetteer *g, const char *name, sl_lang lang,
		      sl_place *out)
{
	size_t row;
	if (sl_stations_find(g->rows, name, &row) != SL_OK)
		return false;
	const town *t = &g->towns[g->town_of[row]];
	*out = (sl_place){SL_PLACE_TOWN, t->lat, t->lon, t->radius_m,
			  t->name[(unsigned)lang < SL_LANG_COUNT ? lang : SL_LANG_RU]};
	return true;
}

static bool find_station(const sl_gazetteer *g, const char *name, sl_lang lang,
			 sl_place *out)
{
	size_t i;
	if (!g->stations || sl_stations_find(g->stations, name, &i) != SL_OK)
		return false;
	const sl_station *st = sl_stations_get(g->stations, i);
	const char *shown = lang == SL_LANG_BE && st->name_be ? st->name_be : st->name_ru;
	*out = (sl_place){SL_PLACE_STATION, st->lat, st->lon, SL_PLACE_STATION_M, shown};
	return true;
}

sl_err sl_place_resolve(const sl_gazetteer *g, const char *text, sl_lang lang,
			sl_place *out)
{
	if (!text)
		return SL_EINVAL;
	double lat, lon, u;
	sl_err e = sl_place_parse_coords(text, &lat, &lon, &u);
	if (e == SL_OK) {
		*out = (sl_place){SL_PLACE_COORDS, lat, lon, u, NULL};
		return SL_OK;
	}
	if (e == SL_EVALID)
		return e;
	char name[SL_REPORT_MAX_SHORT + 1];
	bool station;
	strip_kind(text, name, sizeof(name), &station);
	if (!*name)
		return SL_ENOTFOUND;
	if (station && find_station(g, name, lang, out))
		return SL_OK;
	if (find_town(g, name, lang, out) || find_station(g, name, lang, out))
		return SL_OK;
	return SL_ENOTFOUND;
}
