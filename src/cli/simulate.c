/*
 * simulate.c — `sightline simulate`: the simulator (sim.h) writing its
 * reports and truth as JSON lines (docs/SIMULATOR.md).
 *
 *   sightline simulate --seed 7 --hours 24 --out reports.jsonl --truth truth.jsonl \
 *       --network ../shared/data/geo/belarus-rail.geojson
 *
 * Options come through main.c's set_option (the command line, or a config
 * file) and are kept as text in options.sim; they are parsed and checked
 * here, each error naming its option.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sightline/network.h"
#include "sightline/report_json.h"
#include "sightline/sim.h"
#include "sightline/timefmt.h"

#include "cli/cli.h"

bool simulate_option(options *o, const char *name, const char *value)
{
	const struct {
		const char *name;
		const char **field;
	} opts[] = {
	    {"seed", &o->sim.seed},	    {"hours", &o->sim.hours},
	    {"truth", &o->sim.truth},	    {"network", &o->sim.network},
	    {"stations", &o->sim.stations}, {"airfields", &o->sim.airfields},
	    {"start", &o->sim.start},	    {"scale", &o->sim.scale},
	    {"objects", &o->sim.objects},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(name, opts[i].name) == 0) {
			*opts[i].field = value;
			return true;
		}
	if (strcmp(name, "text") == 0) {
		o->sim.text = true;
		return true;
	}
	return false;
}

static int problem_of(const char *cmd, const char *what, const char *path, sl_err e,
		      const sl_problems *why)
{
	char msg[1024];
	sl_problems_format(why, msg, sizeof(msg));
	return fail("%s: --%s %s: %s", cmd, what, path, msg[0] ? msg : sl_strerror(e));
}

static int problem(const char *what, const char *path, sl_err e, const sl_problems *why)
{
	return problem_of("simulate", what, path, e, why);
}

int load_stations(const options *o, const char *cmd, sl_stations **out)
{
	*out = NULL;
	if (!o->sim.stations)
		return 0;
	sl_problems why = {0};
	sl_err e = sl_stations_load_file(o->sim.stations, out, &why);
	return e == SL_OK ? 0 : problem_of(cmd, "stations", o->sim.stations, e, &why);
}

typedef struct writer {
	FILE *out, *truth;
	size_t n;
	sl_err err;
} writer;

/* One value as a compact line; reals with 10 significant digits (6
 * decimals of a degree is 0.1 m). */
static sl_err put_line(FILE *f, json_t *v)
{
	if (!v)
		return SL_ENOMEM;
	char buf[4096];
	size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(10);
	size_t n = json_dumpb(v, buf, sizeof(buf) - 1, flags);
	sl_err e = SL_OK;
	if (n == 0) {
		e = SL_ENOMEM;
	} else if (n < sizeof(buf) - 1) {
		buf[n] = '\n';
		if (fwrite(buf, 1, n + 1, f) != n + 1)
			e = SL_EIO;
	} else {
		char *s = json_dumps(v, flags);
		if (!s)
			e = SL_ENOMEM;
		else if (fputs(s, f) == EOF || fputc('\n', f) == EOF)
			e = SL_EIO;
		free(s);
	}
	json_decref(v);
	return e;
}

static sl_err emit(void *ud, const sl_sim_record *rec)
{
	writer *w = ud;
	sl_err e = put_line(w->out, sl_report_to_json(rec->report, 0));
	if (e == SL_OK && w->truth)
		e = put_line(w->truth, sl_sim_truth_json(rec));
	w->n++;
	return e;
}

static bool parse_u64(const char *s, unsigned long long *out)
{
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	char *end;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool parse_real(const char *s, double lo, double hi, double *out)
{
	if (!s || !*s)
		return false;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end || !(v > lo && v <= hi))
		return false;
	*out = v;
	return true;
}

/* What the run needs loaded; freed in one place. */
typedef struct loaded {
	sl_network *net;
	sl_stations *st;
	sl_sim_airfield *af;
	sl_sim_objects *obj;
	FILE *out, *truth;
} loaded;

static void unload(loaded *l)
{
	sl_network_free(l->net);
	sl_stations_free(l->st);
	free(l->af);
	sl_sim_objects_free(l->obj);
	if (l->out && l->out != stdout)
		fclose(l->out);
	if (l->truth)
		fclose(l->truth);
}

static int configure(options *o, sl_sim_config *c, loaded *l)
{
	sl_sim_config_default(c);
	unsigned long long seed;
	if (o->sim.seed && !parse_u64(o->sim.seed, &seed))
		return fail("simulate: --seed: \"%s\" is not a whole number "
			    "0..18446744073709551615",
			    o->sim.seed);
	if (o->sim.seed)
		c->seed = seed;
	if (o->sim.hours && !parse_real(o->sim.hours, 0, SL_SIM_MAX_HOURS, &c->hours))
		return fail("simulate: --hours: \"%s\" is not a number of hours above 0, "
			    "at most %d",
			    o->sim.hours, SL_SIM_MAX_HOURS);
	if (o->sim.scale && !parse_real(o->sim.scale, 0, SL_SIM_MAX_SCALE, &c->scale))
		return fail(
		    "simulate: --scale: \"%s\" is not a number above 0, at most %g",
		    o->sim.scale, SL_SIM_MAX_SCALE);
	if (o->sim.start && (sl_time_parse(o->sim.start, &c->start) != SL_OK ||
			     c->start < SL_REPORT_MIN_TIME))
		return fail(
		    "simulate: --start: \"%s\" is not an RFC 3339 date-time after 2000 "
		    "such as 2022-10-10T00:00:00Z",
		    o->sim.start);
	sl_problems why = {0};
	sl_err e;
	if (o->sim.network) {
		if ((e = sl_network_load_file(o->sim.network, NULL, &l->net, &why)) !=
		    SL_OK)
			return problem("network", o->sim.network, e, &why);
		c->network = l->net;
	}
	int rc = load_stations(o, "simulate", &l->st);
	if (rc)
		return rc;
	c->stations = l->st;
	if (o->sim.airfields) {
		if ((e = sl_sim_airfields_load(o->sim.airfields, &l->af, &c->n_airfields,
					       &why)) != SL_OK)
			return problem("airfields", o->sim.airfields, e, &why);
		c->airfields = l->af;
	}
	if (o->sim.objects) {
		if ((e = sl_sim_objects_load(o->sim.objects, &l->obj, &why)) != SL_OK)
			return problem("objects", o->sim.objects, e, &why);
		c->objects = l->obj;
	}
	c->text = o->sim.text;
	l->out = stdout;
	if (o->out && strcmp(o->out, "-") != 0 && !(l->out = fopen(o->out, "w")))
		return fail("simulate: cannot write --out %s: %s", o->out,
			    strerror(errno));
	if (o->sim.truth && !(l->truth = fopen(o->sim.truth, "w")))
		return fail("simulate: cannot write --truth %s: %s", o->sim.truth,
			    strerror(errno));
	return 0;
}

int cmd_simulate(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("simulate: unexpected argument \"%s\" (see sightline "
			    "simulate --help)",
			    argv[0]);
	sl_sim_config c;
	loaded l = {0};
	int rc = configure(o, &c, &l);
	if (rc) {
		unload(&l);
		return rc;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	writer w = {.out = l.out, .truth = l.truth};
	sl_sim_stats st;
	sl_problems why = {0};
	sl_err e = sl_sim_run(&c, emit, &w, &st, &why);
	if (e == SL_OK && (fflush(l.out) != 0 || (l.truth && fflush(l.truth) != 0)))
		e = SL_EIO;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unload(&l);
	if (e != SL_OK) {
		char msg[1024];
		sl_problems_format(&why, msg, sizeof(msg));
		return fail("simulate: %s", msg[0] ? msg : sl_strerror(e));
	}
	if (!o->quiet) {
		double secs =
		    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		fprintf(stderr,
			"sightline: simulated %zu reports (rail %zu, convoy %zu, sortie "
			"%zu, false "
			"%zu; %zu duplicates, %zu late) of %zu trains, %zu convoys, %zu "
			"sorties, "
			"%zu occurrences, in %.2f s\n",
			w.n, st.reports[SL_SIM_RAIL], st.reports[SL_SIM_CONVOY],
			st.reports[SL_SIM_SORTIE], st.reports[SL_SIM_FALSE],
			st.duplicates, st.late, st.objects[SL_SIM_RAIL],
			st.objects[SL_SIM_CONVOY], st.objects[SL_SIM_SORTIE],
			st.occurrences, secs);
	}
	return 0;
}
