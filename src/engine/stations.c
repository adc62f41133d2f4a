/*
 * stations.c — the station list (network.h): a tab-separated file with a
 * header row, a grid for the nearest station, and lookup by name.
 *
 * Names are matched on a key: lowercase, ё as е, every run of anything that
 * is not a letter or digit (hyphens, dots, brackets, spaces) as one space.
 * Each name also gets a Latin key by a plain transliteration — Russian
 * names with г as g, Belarusian ones with г as h — so "Gomel" finds the
 * Russian name and "Homel" the Belarusian one. The keys of all names sit in
 * one sorted table; a lookup is a binary search for the key, then for the
 * key followed by a space ("Минск" → "Минск-Пассажирский").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/network_int.h"
#include "sightline/buf.h"
#include "sightline/arena.h"
#include "sightline/geo.h"

#define LINE_MAX_BYTES 4096
#define KEY_MAX 256

typedef struct alias {
	const char *key;
	uint32_t station;
} alias;

struct sl_stations {
	size_t n, cap;
	sl_station *st;
	uint8_t *main; /* a main station of its town: "Пассажирский", "Центральная" */
	alias *aliases;
	size_t n_alias, cap_alias;
	sl_arena *strings;
	sl_grid grid;
	double *lat, *lon; /* for the grid */
};

void sl_stations_free(sl_stations *s)
{
	if (!s)
		return;
	free(s->st);
	free(s->main);
	free(s->aliases);
	free(s->lat);
	free(s->lon);
	sl_grid_free(&s->grid);
	sl_arena_free(s->strings);
	free(s);
}

size_t sl_stations_count(const sl_stations *s)
{
	return s->n;
}

const sl_station *sl_stations_get(const sl_stations *s, size_t i)
{
	return i < s->n ? &s->st[i] : NULL;
}

/* Decodes one UTF-8 code point at *p (advancing it); bad bytes are U+FFFD. */
static uint32_t next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int len = c < 0x80	   ? 1
		  : (c >> 5) == 6  ? 2
		  : (c >> 4) == 14 ? 3
		  : (c >> 3) == 30 ? 4
				   : 0;
	if (len == 0) {
		*p = s + 1;
		return 0xfffd;
	}
	if (len > 1)
		c &= 0x3f >> (len - 1);
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p = s + i;
			return 0xfffd;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*p = s + len;
	return c;
}

static size_t put_cp(char *out, size_t o, size_t cap, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80)
		b[0] = (char)c, n = 1;
	else if (c < 0x800)
		b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f)), n = 2;
	else
		b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (c & 0x3f)), n = 3;
	if (o + n >= cap)
		return o;
	memcpy(out + o, b, n);
	return o + n;
}

/* Lowercase Cyrillic and Latin; ё as е; U+0000..U+FFFF only. */
static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		c += 0x50;
	if (c == 0x451)
		return 0x435;
	return c;
}

static bool is_word(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c >= 0x430 && c <= 0x45f) || (c >= 0xc0 && c <= 0x24f);
}

/* The key of a name (see the top of the file) into out[KEY_MAX]. */
static void name_key(const char *name, char *out)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t o = 0;
	bool space = false;
	while (*p) {
		uint32_t c = fold(next_cp(&p));
		if (!is_word(c) || c > 0xffff) {
			space = o > 0;
			continue;
		}
		if (space)
			o = put_cp(out, o, KEY_MAX, ' ');
		space = false;
		o = put_cp(out, o, KEY_MAX, c);
	}
	out[o] = '\0';
}

/* A Latin key from a key, Russian or Belarusian rules. */
static void latin_key(const char *key, bool belarusian, char *out)
{
	static const char *const ru[32] = {"a",	 "b",	 "v", "g", "d", "e",  "zh", "z",
					   "i",	 "y",	 "k", "l", "m", "n",  "o",  "p",
					   "r",	 "s",	 "t", "u", "f", "kh", "ts", "ch",
					   "sh", "shch", "",  "y", "",	"e",  "yu", "ya"};
	const unsigned char *p = (const unsigned char *)key;
	size_t o = 0;
	while (*p) {
		uint32_t c = next_cp(&p);
		const char *t = NULL;
		char one[2] = {0, 0};
		if (c < 0x80)
			one[0] = (char)c, t = one;
		else if (c >= 0x430 && c <= 0x44f)
			t = (c == 0x433 && belarusian) ? "h" : ru[c - 0x430];
		else if (c == 0x456)
			t = "i"; /* і */
		else if (c == 0x45e)
			t = "w"; /* ў */
		else if (c == 0x457)
			t = "yi"; /* ї */
		else if (c == 0x454)
			t = "ye"; /* є */
		if (!t)
			continue;
		size_t n = strlen(t);
		if (o + n >= KEY_MAX)
			break;
		memcpy(out + o, t, n);
		o += n;
	}
	out[o] = '\0';
}

static bool add_alias(sl_stations *s, const char *key, uint32_t station)
{
	if (!*key)
		return true;
	if (s->n_alias == s->cap_alias) {
		size_t c = s->cap_alias ? s->cap_alias * 2 : 1024;
		alias *a = realloc(s->aliases, c * sizeof(*a));
		if (!a)
			return false;
		s->aliases = a, s->cap_alias = c;
	}
	char *k = sl_arena_strdup(s->strings, key);
	if (!k)
		return false;
	s->aliases[s->n_alias++] = (alias){k, station};
	return true;
}

/* The name's key and its Latin key, both pointing at station i. */
static bool add_name(sl_stations *s, const char *name, bool belarusian, uint32_t i)
{
	char key[KEY_MAX], lat[KEY_MAX];
	name_key(name, key);
	latin_key(key, belarusian, lat);
	return add_alias(s, key, i) && (strcmp(lat, key) == 0 || add_alias(s, lat, i));
}

static int cmp_alias(const void *x, const void *y)
{
	const alias *a = x, *b = y;
	int c = strcmp(a->key, b->key);
	return c ? c : (a->station > b->station) - (a->station < b->station);
}

/* ---------------------------------------------------------------- reading */

/* Column names, in order of preference for each role. */
static const char *const col_ru[] = {"osm:name:ru force",
				     "Па-расейску правільнае",
				     "Па-расейску старое",
				     "name_ru",
				     "name:ru",
				     "name",
				     NULL};
static const char *const col_be[] = {"Па-беларуску правільнае", "name_be", "name:be",
				     NULL};
static const char *const col_type[] = {"Тып", "type", NULL};
static const char *const col_admin1[] = {"Вобласьць", "admin1", "region", NULL};
static const char *const col_lat[] = {"lat", "latitude", NULL};
static const char *const col_lon[] = {"lon", "lng", "longitude", NULL};

#define MAX_COLS 64

/* Splits line (modified) at tabs into at most MAX_COLS fields. */
static size_t split_tabs(char *line, char **f)
{
	size_t n = 0;
	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p != '\t')
			continue;
		*p = '\0';
		if (n == MAX_COLS)
			break;
		f[n++] = p + 1;
	}
	return n;
}

static int find_col(char **f, size_t n, const char *const *names)
{
	for (const char *const *w = names; *w; w++)
		for (size_t i = 0; i < n; i++)
			if (strcasecmp(f[i], *w) == 0)
				return (int)i;
	return -1;
}

static bool parse_coord(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static const char *field_at(char **f, size_t n, int col)
{
	return col >= 0 && (size_t)col < n ? f[col] : "";
}

/* The main station of a town, by the words of its Russian or Belarusian
 * name: what someone means by the bare town name. */
static bool main_station(const char *key)
{
	static const char *const words[] = {"пассаж", "пасс",	 "централ",
					    "пасаж",  "цэнтрал", NULL};
	for (const char *const *w = words; *w; w++)
		if (strstr(key, *w))
			return true;
	return false;
}

static bool add_station(sl_stations *s, const char *ru, const char *be, const char *type,
			const char *admin1, double lat, double lon, char **names,
			size_t n_names)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 512;
		sl_station *st = realloc(s->st, c * sizeof(*st));
		if (!st)
			return false;
		s->st = st;
		uint8_t *m = realloc(s->main, c);
		if (!m)
			return false;
		s->main = m;
		s->cap = c;
	}
	uint32_t i = (uint32_t)s->n;
	sl_station *st = &s->st[i];
	st->name_ru = sl_arena_strdup(s->strings, ru);
	st->name_be = *be ? sl_arena_strdup(s->strings, be) : NULL;
	st->type = sl_arena_strdup(s->strings, type);
	st->admin1 = *admin1 ? sl_arena_strdup(s->strings, admin1) : NULL;
	st->lat = lat, st->lon = lon;
	if (!st->name_ru || (*be && !st->name_be) || !st->type || (*admin1 && !st->admin1))
		return false;
	char key[KEY_MAX];
	name_key(ru, key);
	s->main[i] = main_station(key);
	if (*be) {
		name_key(be, key);
		s->main[i] |= main_station(key);
	}
	s->n++;
	for (size_t k = 0; k < n_names; k++)
		if (*names[k] && !add_name(s, names[k], false, i))
			return false;
	return !*be || add_name(s, be, true, i);
}

sl_err sl_stations_load_buffer(const char *buf, size_t len, sl_stations **out,
			       sl_problems *why)
{
	*out = NULL;
	if (len > SL_STATIONS_MAX_BYTES) {
		sl_problems_add(why, "", "%zu bytes is more than the limit of %u", len,
				SL_STATIONS_MAX_BYTES);
		return SL_ETOOBIG;
	}
	sl_stations *s = calloc(1, sizeof(*s));
	if (!s || !(s->strings = sl_arena_new(8 * len + (1u << 16)))) {
		free(s);
		return SL_ENOMEM;
	}
	char line[LINE_MAX_BYTES + 1], *f[MAX_COLS];
	int c_ru[8], c_be = -1, c_type = -1, c_admin1 = -1, c_lat = -1, c_lon = -1;
	size_t n_ru = 0;
	sl_err e = SL_OK;
	long lineno = 0;
	size_t pos = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && e == SL_OK) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos;
		lineno++;
		char field[32];
		snprintf(field, sizeof(field), "line %ld", lineno);
		if (n > LINE_MAX_BYTES) {
			sl_problems_add(why, field, "is longer than %d bytes",
					LINE_MAX_BYTES);
			e = SL_ETOOBIG;
			break;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (memchr(line, '\0', n)) {
			sl_problems_add(why, field, "holds a NUL byte");
			e = SL_EPARSE;
			break;
		}
		if (n == 0)
			continue;
		size_t nf = split_tabs(line, f);
		if (lineno == 1) {
			for (const char *const *w = col_ru; *w && n_ru < 8; w++) {
				const char *one[2] = {*w, NULL};
				int c = find_col(f, nf, one);
				if (c >= 0)
					c_ru[n_ru++] = c;
			}
			c_be = find_col(f, nf, col_be);
			c_type = find_col(f, nf, col_type);
			c_admin1 = find_col(f, nf, col_admin1);
			c_lat = find_col(f, nf, col_lat);
			c_lon = find_col(f, nf, col_lon);
			const char *missing = c_lat < 0		      ? "lat"
					      : c_lon < 0	      ? "lon"
					      : n_ru == 0 && c_be < 0 ? "name"
								      : NULL;
			if (missing) {
				sl_problems_add(why, "header", "has no column \"%s\"",
						missing);
				e = SL_EPARSE;
			}
			continue;
		}
		double lat, lon;
		if (!parse_coord(field_at(f, nf, c_lat), -90, 90, &lat)) {
			sl_problems_add(why, field,
					"lat: \"%.40s\" is not a latitude in -90..90",
					field_at(f, nf, c_lat));
			e = SL_EVALID;
			break;
		}
		if (!parse_coord(field_at(f, nf, c_lon), -180, 180, &lon)) {
			sl_problems_add(why, field,
					"lon: \"%.40s\" is not a longitude in -180..180",
					field_at(f, nf, c_lon));
			e = SL_EVALID;
			break;
		}
		char *names[8];
		const char *ru = "";
		for (size_t k = 0; k < n_ru; k++) {
			names[k] = (char *)field_at(f, nf, c_ru[k]);
			if (!*ru && *names[k])
				ru = names[k];
		}
		const char *be = field_at(f, nf, c_be);
		if (!*ru)
			ru = be;
		if (!*ru)
			continue; /* a row without a name names nothing */
		if (s->n >= SL_STATIONS_MAX_ROWS) {
			sl_problems_add(why, field, "more than %u stations",
					SL_STATIONS_MAX_ROWS);
			e = SL_ETOOBIG;
			break;
		}
		const char *admin1 = field_at(f, nf, c_admin1);
		if (!sl_utf8_text_ok(admin1, strlen(admin1))) {
			sl_problems_add(why, field, "the region is not valid UTF-8 text");
			e = SL_EPARSE;
			break;
		}
		if (!sl_utf8_text_ok(ru, strlen(ru)) || !sl_utf8_text_ok(be, strlen(be))) {
			sl_problems_add(why, field, "a name is not valid UTF-8 text");
			e = SL_EPARSE;
			break;
		}
		if (!add_station(s, ru, be, field_at(f, nf, c_type), admin1, lat, lon,
				 names, n_ru))
			e = SL_ENOMEM;
	}
	if (e == SL_OK && lineno == 0) {
		sl_problems_add(why, "", "is empty: no header row");
		e = SL_EPARSE;
	}
	if (e == SL_OK) {
		if (s->n_alias > 1)
			qsort(s->aliases, s->n_alias, sizeof(alias), cmp_alias);
		s->lat = malloc((s->n ? s->n : 1) * sizeof(double));
		s->lon = malloc((s->n ? s->n : 1) * sizeof(double));
		if (!s->lat || !s->lon)
			e = SL_ENOMEM;
		for (size_t i = 0; e == SL_OK && i < s->n; i++)
			s->lat[i] = s->st[i].lat, s->lon[i] = s->st[i].lon;
		if (e == SL_OK &&
		    !sl_grid_build(&s->grid, s->lat, s->lon, s->n, NULL, 5000))
			e = SL_ENOMEM;
	}
	if (e != SL_OK) {
		if (e == SL_ENOMEM)
			sl_problems_add(why, "",
					"out of memory reading the station list");
		sl_stations_free(s);
		return e;
	}
	*out = s;
	return SL_OK;
}

sl_err sl_stations_load_file(const char *path, sl_stations **out, sl_problems *why)
{
	*out = NULL;
	char *buf;
	size_t size;
	sl_err e = sl_read_file(path, SL_STATIONS_MAX_BYTES, &buf, &size, why);
	if (e != SL_OK)
		return e;
	e = sl_stations_load_buffer(buf, size, out, why);
	free(buf);
	return e;
}

/* ---------------------------------------------------------------- queries */

sl_err sl_stations_nearest(const sl_stations *s, double lat, double lon, double max_m,
			   size_t *idx, double *dist_m)
{
	if (!sl_geo_valid(lat, lon) || !(max_m >= 0))
		return SL_EINVAL;
	uint32_t x0, x1, y0, y1;
	if (!sl_grid_cells(&s->grid, lat, lon, max_m, &x0, &x1, &y0, &y1))
		return SL_ENOTFOUND;
	double best = INFINITY;
	size_t bi = 0;
	for (uint32_t y = y0; y <= y1; y++)
		for (uint32_t x = x0; x <= x1; x++) {
			size_t cell = (size_t)y * s->grid.nx + x;
			for (uint32_t k = s->grid.start[cell];
			     k < s->grid.start[cell + 1]; k++) {
				uint32_t i = s->grid.items[k];
				double d =
				    sl_geo_distance_m(lat, lon, s->lat[i], s->lon[i]);
				if (d < best || (d == best && i < bi))
					best = d, bi = i;
			}
		}
	if (!(best <= max_m))
		return SL_ENOTFOUND;
	if (idx)
		*idx = bi;
	if (dist_m)
		*dist_m = best;
	return SL_OK;
}

/* The first alias whose key is >= key. */
static size_t lower_bound(const sl_stations *s, const char *key)
{
	size_t lo = 0, hi = s->n_alias;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(s->aliases[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Better: a station (ст) over a halt, a main station over others, then
 * the earlier in the file. */
static bool better(const sl_stations *s, uint32_t a, uint32_t b, bool want_main)
{
	bool sa = strcmp(s->st[a].type, "ст") == 0, sb = strcmp(s->st[b].type, "ст") == 0;
	if (sa != sb)
		return sa;
	if (want_main && s->main[a] != s->main[b])
		return s->main[a];
	return a < b;
}

sl_err sl_stations_find(const sl_stations *s, const char *name, size_t *idx)
{
	char key[KEY_MAX], pre[KEY_MAX + 1];
	if (!name)
		return SL_EINVAL;
	name_key(name, key);
	if (!*key)
		return SL_ENOTFOUND;
	size_t keylen = strlen(key);
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0: the whole key; pass 1: key + " " as a prefix. */
		snprintf(pre, sizeof(pre), "%s%s", key, pass ? " " : "");
		size_t plen = keylen + (size_t)pass;
		uint32_t best = UINT32_MAX;
		for (size_t i = lower_bound(s, pre); i < s->n_alias; i++) {
			const char *k = s->aliases[i].key;
			if (pass == 0 ? strcmp(k, pre) != 0 : strncmp(k, pre, plen) != 0)
				break;
			uint32_t st = s->aliases[i].station;
			if (best == UINT32_MAX || better(s, st, best, pass == 1))
				best = st;
		}
		if (best != UINT32_MAX) {
			*idx = best;
			return SL_OK;
		}
	}
	return SL_ENOTFOUND;
}
