/*
 * airfields.c — the airfields sorties take off from (sim.h): an OurAirports
 * CSV read with libcsv, or the built-in list of the Belarusian bases that
 * were busy in 2022.
 */
#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sightline/geo.h"
#include "sim/sim_int.h"

static const sl_sim_airfield builtin[] = {
    {"Minsk Machulishchy Air Base", "UMLI", 53.7733, 27.5800, 3.0},
    {"Baranavichi Air Base", "UMMA", 53.1000, 26.0500, 3.0},
    {"Lida Air Base", "UMNL", 53.8770, 25.3770, 2.0},
    {"Luninets Air Base", "UMMI", 52.2750, 26.7750, 2.0},
    {"Pribytki Air Base", "UMGB", 52.3050, 31.1633, 2.0},
    {"Babruisk Air Base", "UMNB", 53.1050, 29.2050, 1.5},
    {"Gomel Airport", "UMGG", 52.5270, 31.0167, 1.5},
    {"Osovtsy Air Base", "UMMO", 52.5570, 24.8840, 1.0},
    {"Balbasovo Air Base", "UMIO", 54.4400, 30.2967, 1.0},
};

size_t sl_sim_airfields_default(const sl_sim_airfield **out)
{
	*out = builtin;
	return sizeof(builtin) / sizeof(builtin[0]);
}

/* How busy a field of the file is: the built-in bases by name, then by
 * OurAirports type. */
static double weight(const char *name, const char *type)
{
	if (strcasecmp(type, "closed") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcasecmp(builtin[i].name, name) == 0)
			return builtin[i].weight;
	if (strcasecmp(type, "heliport") == 0)
		return 0.2;
	if (strcasecmp(type, "small_airport") == 0)
		return strstr(name, "Air Base") ? 0.3 : 0.05;
	return 0.3; /* medium and large airports, military transport flights */
}

enum { C_IDENT, C_TYPE, C_NAME, C_LAT, C_LON, N_COLS };
static const char *const col_names[N_COLS] = {"ident", "type", "name", "latitude_deg",
					      "longitude_deg"};

typedef struct reader {
	int col[N_COLS];
	char field[N_COLS][SIM_NAME_MAX];
	size_t fi; /* field index in the record */
	long row;  /* record number, 1 = header */
	sl_sim_airfield *out;
	size_t n, cap;
	sl_problems *why;
	sl_err err;
} reader;

static void on_field(void *s, size_t len, void *ud)
{
	reader *r = ud;
	if (r->row == 1) {
		for (int c = 0; c < N_COLS; c++)
			if (strlen(col_names[c]) == len &&
			    memcmp(s, col_names[c], len) == 0)
				r->col[c] = (int)r->fi;
	} else {
		for (int c = 0; c < N_COLS; c++)
			if (r->col[c] == (int)r->fi)
				snprintf(
				    r->field[c], SIM_NAME_MAX, "%.*s",
				    (int)(len < SIM_NAME_MAX ? len : SIM_NAME_MAX - 1),
				    (const char *)s);
	}
	r->fi++;
}

static void on_record(int c, void *ud)
{
	(void)c;
	reader *r = ud;
	char where[32];
	snprintf(where, sizeof(where), "record %ld", r->row);
	if (r->err == SL_OK && r->row == 1) {
		for (int k = 0; k < N_COLS; k++)
			if (r->col[k] < 0) {
				sl_problems_add(r->why, "header", "has no column \"%s\"",
						col_names[k]);
				r->err = SL_EPARSE;
			}
	} else if (r->err == SL_OK) {
		char *e1, *e2;
		double lat = strtod(r->field[C_LAT], &e1),
		       lon = strtod(r->field[C_LON], &e2);
		if (e1 == r->field[C_LAT] || *e1 || e2 == r->field[C_LON] || *e2 ||
		    !sl_geo_valid(lat, lon)) {
			sl_problems_add(
			    r->why, where,
			    "\"%.30s\", \"%.30s\" is not a latitude, longitude",
			    r->field[C_LAT], r->field[C_LON]);
			r->err = SL_EVALID;
		} else if (r->n >= 100000) {
			sl_problems_add(r->why, where, "more than 100000 airfields");
			r->err = SL_ETOOBIG;
		} else {
			if (r->n == r->cap) {
				size_t cap = r->cap ? r->cap * 2 : 64;
				sl_sim_airfield *o = realloc(r->out, cap * sizeof(*o));
				if (!o) {
					r->err = SL_ENOMEM;
					return;
				}
				r->out = o, r->cap = cap;
			}
			sl_sim_airfield *a = &r->out[r->n++];
			snprintf(a->name, sizeof(a->name), "%.95s", r->field[C_NAME]);
			snprintf(a->ident, sizeof(a->ident), "%.15s", r->field[C_IDENT]);
			a->lat = lat, a->lon = lon;
			a->weight = weight(a->name, r->field[C_TYPE]);
		}
	}
	memset(r->field, 0, sizeof(r->field));
	r->fi = 0;
	r->row++;
}

sl_err sl_sim_airfields_load(const char *path, sl_sim_airfield **out, size_t *n,
			     sl_problems *why)
{
	*out = NULL, *n = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		sl_problems_add(why, "", "cannot read %s: %s", path, strerror(errno));
		return SL_EIO;
	}
	reader r = {.row = 1, .why = why};
	for (int c = 0; c < N_COLS; c++)
		r.col[c] = -1;
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		fclose(f);
		return SL_ENOMEM;
	}
	char buf[8192];
	size_t got, total = 0;
	while (r.err == SL_OK && (got = fread(buf, 1, sizeof(buf), f)) > 0) {
		total += got;
		if (total > (8u << 20)) {
			sl_problems_add(why, "", "%s is larger than 8 MiB", path);
			r.err = SL_ETOOBIG;
		} else if (csv_parse(&p, buf, got, on_field, on_record, &r) != got) {
			sl_problems_add(why, "", "%s: record %ld: %s", path, r.row,
					csv_strerror(csv_error(&p)));
			r.err = SL_EPARSE;
		}
	}
	if (r.err == SL_OK && csv_fini(&p, on_field, on_record, &r) != 0) {
		sl_problems_add(why, "", "%s: record %ld: %s", path, r.row,
				csv_strerror(csv_error(&p)));
		r.err = SL_EPARSE;
	}
	csv_free(&p);
	fclose(f);
	if (r.err == SL_OK && r.row <= 2) {
		sl_problems_add(why, "", "%s has no airfields", path);
		r.err = SL_EVALID;
	}
	if (r.err != SL_OK) {
		free(r.out);
		return r.err;
	}
	*out = r.out, *n = r.n;
	return SL_OK;
}
