/*
 * bench_track.c — the tracker's figures for bench/run (docs/PERFORMANCE.md,
 * docs/TRACKING.md).
 *
 *   bench_track [--network FILE] [--stations FILE] [--borders FILE]
 *               [--seed N] [--hours H] [--scale X] [--track-network none]
 *
 * Simulates reports in memory (sim.h; on the network given, or the
 * generated one of the seed), groups them into events with the
 * corroboration engine (sl_engine_add_batch), then links the events into
 * tracks twice, timed: with the min-cost assignment (the tracker as it runs)
 * and with first-come greedy over the same candidates and costs (the
 * baseline). Each is scored against the simulator's truth (purity,
 * completeness, identity switches: evaluate.h). The network's own setup
 * (loading the file; the tracker's all-pairs distances) is timed apart,
 * and so is an incremental relink when the last hour's events arrive after
 * all the others were linked, as the server pays it.
 * --track-network none links without the network (trains by straight
 * lines), as `sightline import` does when given no --network.
 * Prints "name value" lines.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sightline/arena.h"
#include "sightline/borders.h"
#include "sightline/engine.h"
#include "sightline/evaluate.h"
#include "sightline/network.h"
#include "sightline/sim.h"
#include "sightline/track.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, sl_err e, const sl_problems *why)
{
	char msg[512] = "";
	if (why)
		sl_problems_format(why, msg, sizeof(msg));
	fprintf(stderr, "bench_track: %s: %s %s\n", what, sl_strerror(e), msg);
	exit(1);
}

/* What the run collects: every report, and what it saw. */
typedef struct run {
	sl_queue_item *items;
	size_t n, cap;
	sl_equipment *eq;
	size_t neq, eqcap;
	int64_t *object; /* by report id - 1: an object number, -1 false */
	int *kind;
	json_t *names; /* object name -> number */
	/* Events: id -> first report in ev_reports. */
	int64_t *ev_id;
	size_t *ev_first, *ev_count;
	int64_t *ev_reports;
	size_t nev, cap_ev, nrep, cap_rep;
	char **ev_text; /* for --dump: when, where, what */
	size_t cap_txt;
} run;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	void *q = realloc(p, c * elem);
	if (!q) {
		fprintf(stderr, "bench_track: out of memory\n");
		exit(1);
	}
	*cap = c;
	return q;
}

static sl_err on_record(void *ud, const sl_sim_record *rec)
{
	run *r = ud;
	size_t c = r->cap;
	r->items = grow(r->items, &c, r->n + 1, sizeof(*r->items));
	c = r->cap;
	r->object = grow(r->object, &c, r->n + 1, sizeof(*r->object));
	r->kind = grow(r->kind, &r->cap, r->n + 1, sizeof(*r->kind));
	sl_queue_item *it = &r->items[r->n];
	memset(it, 0, sizeof(*it));
	it->report = *rec->report;
	it->report.id = (int64_t)r->n + 1;
	it->report.location.place = it->report.destination = it->report.ref = NULL;
	it->report.text = it->report.contact = it->report.language = NULL;
	it->report.n_sealed = 0, it->report.sealed = NULL;
	r->eq = grow(r->eq, &r->eqcap, r->neq + rec->report->n_equipment, sizeof(*r->eq));
	for (size_t k = 0; k < rec->report->n_equipment; k++) {
		r->eq[r->neq + k] = rec->report->equipment[k];
		r->eq[r->neq + k].model = NULL;
	}
	it->report.equipment = (sl_equipment *)(uintptr_t)r->neq; /* fixed later */
	r->neq += rec->report->n_equipment;
	int64_t o = -1;
	if (rec->object) {
		json_t *known = json_object_get(r->names, rec->object);
		if (known) {
			o = json_integer_value(known);
		} else {
			o = (int64_t)json_object_size(r->names);
			json_object_set_new(r->names, rec->object, json_integer(o));
		}
	}
	r->object[r->n] = o;
	r->kind[r->n] = (int)rec->kind;
	r->n++;
	return SL_OK;
}

static sl_err on_event(void *ud, const sl_event *ev)
{
	run *r = ud;
	size_t c = r->cap_ev;
	r->ev_id = grow(r->ev_id, &c, r->nev + 1, sizeof(*r->ev_id));
	c = r->cap_ev;
	r->ev_first = grow(r->ev_first, &c, r->nev + 1, sizeof(*r->ev_first));
	r->ev_count = grow(r->ev_count, &r->cap_ev, r->nev + 1, sizeof(*r->ev_count));
	r->ev_reports = grow(r->ev_reports, &r->cap_rep, r->nrep + ev->n_reports,
			     sizeof(*r->ev_reports));
	r->ev_text = grow(r->ev_text, &r->cap_txt, r->nev + 1, sizeof(*r->ev_text));
	char buf[256];
	int n =
	    snprintf(buf, sizeof(buf), "%02d:%02d %.3f %.3f h%.0f unc%.0f",
		     (int)((ev->t_start + ev->t_end) / 2 % 86400 / 3600),
		     (int)((ev->t_start + ev->t_end) / 2 % 3600 / 60), ev->lat, ev->lon,
		     ev->has_heading ? ev->heading_deg : -1, ev->uncertainty_m);
	for (size_t k = 0; k < ev->n_items && n < 200; k++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s:%d",
			      sl_equipment_type_name(ev->items[k].type),
			      ev->items[k].count);
	r->ev_text[r->nev] = strdup(buf);
	r->ev_id[r->nev] = ev->id;
	r->ev_first[r->nev] = r->nrep;
	r->ev_count[r->nev] = ev->n_reports;
	memcpy(r->ev_reports + r->nrep, ev->report_ids, ev->n_reports * sizeof(int64_t));
	r->nrep += ev->n_reports;
	r->nev++;
	return SL_OK;
}

/* Scoring: every report gets its track (or one of its own). */
typedef struct scorer {
	run *r;
	FILE *dump;
	json_t *ev_index; /* event id (text) -> index */
	sl_track_item *items;
	uint8_t *seen;
	size_t n;
	size_t tracks, longest, multi;
} scorer;

static sl_err on_track(void *ud, const sl_track *tr)
{
	scorer *s = ud;
	s->tracks++;
	s->multi += tr->n_events > 1;
	if (tr->n_events > s->longest)
		s->longest = tr->n_events;
	if (s->dump)
		fprintf(s->dump, "track %lld cat %d n %zu dir %s %.2f\n",
			(long long)-tr->id, (int)tr->category, tr->n_events,
			sl_direction_name(tr->direction), tr->direction_confidence);
	for (size_t k = 0; k < tr->n_events; k++) {
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)tr->event_ids[k]);
		json_t *at = json_object_get(s->ev_index, key);
		if (!at)
			continue;
		size_t e = (size_t)json_integer_value(at);
		if (s->dump) {
			fprintf(s->dump, "  ev %lld %s objs", (long long)tr->event_ids[k],
				s->r->ev_text[e]);
			for (size_t m = 0; m < s->r->ev_count[e]; m++)
				fprintf(
				    s->dump, " %lld",
				    (long long)s->r
					->object[s->r->ev_reports[s->r->ev_first[e] + m] -
						 1]);
			fprintf(s->dump, "\n");
		}
		for (size_t m = 0; m < s->r->ev_count[e]; m++) {
			int64_t rid = s->r->ev_reports[s->r->ev_first[e] + m];
			size_t i = (size_t)(rid - 1);
			if (s->seen[i])
				continue;
			s->seen[i] = 1;
			s->items[s->n++] = (sl_track_item){
			    -tr->id, (int64_t)k, s->r->object[i], s->r->kind[i]};
		}
	}
	return SL_OK;
}

static void score(run *r, json_t *ev_index, sl_tracker *t, const char *name, FILE *dump)
{
	scorer s = {.r = r, .ev_index = ev_index, .dump = dump};
	s.items = malloc(r->n * sizeof(*s.items));
	s.seen = calloc(r->n, 1);
	if (!s.items || !s.seen)
		die("score", SL_ENOMEM, NULL);
	/* Every track shaped: routes, equipment, direction. */
	double t0 = now_s();
	sl_err e = sl_tracker_each_track(t, on_track, &s);
	if (e)
		die("tracks", e, NULL);
	double t_shape = now_s() - t0;
	int64_t own = -1000000000;
	for (size_t i = 0; i < r->n; i++)
		if (!s.seen[i])
			s.items[s.n++] =
			    (sl_track_item){own--, 0, r->object[i], r->kind[i]};
	sl_track_eval ev;
	if ((e = sl_evaluate_track_items(s.items, s.n, &ev)))
		die("evaluate", e, NULL);
	printf("%s_shape_s %.3f\n", name, t_shape);
	printf("%s_tracks %zu\n", name, s.tracks);
	printf("%s_tracks_multi %zu\n", name, s.multi);
	printf("%s_longest %zu\n", name, s.longest);
	printf("%s_purity %.4f\n", name, ev.all.purity);
	printf("%s_completeness %.4f\n", name, ev.all.completeness);
	printf("%s_switches %zu\n", name, ev.all.switches);
	printf("%s_fragments %zu\n", name, ev.all.fragments);
	printf("%s_rail_purity %.4f\n", name, ev.kind[0].purity);
	printf("%s_rail_completeness %.4f\n", name, ev.kind[0].completeness);
	printf("%s_rail_switches %zu\n", name, ev.kind[0].switches);
	printf("%s_convoy_purity %.4f\n", name, ev.kind[1].purity);
	printf("%s_convoy_completeness %.4f\n", name, ev.kind[1].completeness);
	printf("%s_pair_f1 %.4f\n", name, ev.pair_f1);
	free(s.items);
	free(s.seen);
}

typedef struct putter {
	sl_tracker *t;
	int64_t lo, hi; /* events whose mid-time is in lo .. hi */
} putter;

static sl_err put_event(void *ud, const sl_event *ev)
{
	putter *p = ud;
	int64_t mid = ev->t_start + (ev->t_end - ev->t_start) / 2;
	if (mid < p->lo || mid > p->hi)
		return SL_OK;
	return sl_tracker_put(p->t, ev);
}

int main(int argc, char **argv)
{
	const char *network = NULL, *stations = NULL, *borders = NULL;
	const char *track_network = NULL;
	FILE *dump = NULL;
	sl_sim_config c;
	sl_sim_config_default(&c);
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "bench_track: %s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--network") == 0)
			network = v;
		else if (strcmp(argv[i], "--stations") == 0)
			stations = v;
		else if (strcmp(argv[i], "--borders") == 0)
			borders = v;
		else if (strcmp(argv[i], "--seed") == 0)
			c.seed = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--hours") == 0)
			c.hours = atof(v);
		else if (strcmp(argv[i], "--scale") == 0)
			c.scale = atof(v);
		else if (strcmp(argv[i], "--track-network") == 0)
			track_network = v;
		else if (strcmp(argv[i], "--dump") == 0) {
			if (!(dump = fopen(v, "w"))) {
				perror(v);
				return 1;
			}
		} else {
			fprintf(stderr,
				"usage: bench_track [--network FILE] [--stations FILE] "
				"[--borders FILE] [--seed N] [--hours H] [--scale X] "
				"[--track-network none]\n");
			return 2;
		}
		i++;
	}
	sl_problems why = {0};
	sl_err e;
	sl_network *net = NULL;
	sl_stations *st = NULL;
	sl_borders *bd = NULL;
	double t0 = now_s();
	if (network && (e = sl_network_load_file(network, NULL, &net, &why)))
		die(network, e, &why);
	double t_net = now_s() - t0;
	if (!net && (e = sl_network_generate(c.seed, NULL, &net, &st)))
		die("generate", e, NULL);
	if (stations && (e = sl_stations_load_file(stations, &st, &why)))
		die(stations, e, &why);
	t0 = now_s();
	if (borders && (e = sl_borders_load_file(borders, &bd, &why)))
		die(borders, e, &why);
	double t_borders = now_s() - t0;
	c.network = net;
	c.stations = st;

	run r = {.names = json_object()};
	t0 = now_s();
	if ((e = sl_sim_run(&c, on_record, &r, NULL, &why)))
		die("simulate", e, &why);
	double t_sim = now_s() - t0;
	for (size_t i = 0; i < r.n; i++)
		r.items[i].report.equipment =
		    r.eq + (uintptr_t)r.items[i].report.equipment;
	sl_engine *eng;
	if ((e = sl_engine_new(NULL, &eng)))
		die("engine", e, NULL);
	t0 = now_s();
	if ((e = sl_engine_add_batch(eng, r.items, r.n)))
		die("engine batch", e, NULL);
	double t_engine = now_s() - t0;
	if ((e = sl_engine_each_event(eng, on_event, &r)))
		die("events", e, NULL);
	json_t *ev_index = json_object();
	for (size_t i = 0; i < r.nev; i++) {
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)r.ev_id[i]);
		json_object_set_new(ev_index, key, json_integer((json_int_t)i));
	}
	printf("reports %zu\n", r.n);
	printf("objects %zu\n", json_object_size(r.names));
	printf("events %zu\n", r.nev);
	printf("simulate_s %.3f\n", t_sim);
	printf("engine_s %.3f\n", t_engine);
	if (network)
		printf("network_load_ms %.1f\n", t_net * 1e3);
	if (borders)
		printf("borders_load_ms %.1f\n", t_borders * 1e3);

	const sl_network *tnet =
	    track_network && strcmp(track_network, "none") == 0 ? NULL : net;
	for (int greedy = 0; greedy < 2; greedy++) {
		const char *name = greedy ? "greedy" : "mincost";
		sl_track_params p;
		sl_track_params_default(&p);
		p.greedy = greedy;
		sl_tracker *t;
		t0 = now_s();
		if ((e = sl_tracker_new(&p, tnet, st, bd, &t)))
			die("tracker", e, NULL);
		double t_setup = now_s() - t0;
		putter pu = {t, INT64_MIN, INT64_MAX};
		t0 = now_s();
		if ((e = sl_engine_each_event(eng, put_event, &pu)))
			die("put", e, NULL);
		double t_put = now_s() - t0;
		t0 = now_s();
		size_t changed;
		if ((e = sl_tracker_run(t, &changed)))
			die("run", e, NULL);
		double t_link = now_s() - t0;
		printf("%s_setup_ms %.1f\n", name, t_setup * 1e3);
		printf("%s_put_ms %.1f\n", name, t_put * 1e3);
		printf("%s_link_s %.3f\n", name, t_link);
		printf("%s_events_per_s %.0f\n", name, r.nev / t_link);
		score(&r, ev_index, t, name, greedy ? NULL : dump);
		sl_tracker_free(t);
	}
	/* As the server pays it: everything but the last hour linked, then
	 * the last hour's events arrive and are linked on their own. */
	{
		sl_tracker *t;
		if ((e = sl_tracker_new(NULL, tnet, st, bd, &t)))
			die("tracker", e, NULL);
		int64_t cut = c.start + (int64_t)(c.hours * 3600) - 3600;
		putter pu = {t, INT64_MIN, cut - 1};
		if ((e = sl_engine_each_event(eng, put_event, &pu)) ||
		    (e = sl_tracker_run(t, NULL)))
			die("incremental", e, NULL);
		pu = (putter){t, cut, INT64_MAX};
		t0 = now_s();
		size_t changed = 0;
		if ((e = sl_engine_each_event(eng, put_event, &pu)) ||
		    (e = sl_tracker_run(t, &changed)))
			die("incremental", e, NULL);
		printf("incremental_last_hour_ms %.1f\n", (now_s() - t0) * 1e3);
		printf("incremental_tracks_changed %zu\n", changed);
		sl_tracker_free(t);
	}
	if (dump)
		fclose(dump);
	sl_engine_free(eng);
	json_decref(ev_index);
	json_decref(r.names);
	free(r.items);
	free(r.eq);
	free(r.object);
	free(r.kind);
	free(r.ev_id);
	free(r.ev_first);
	free(r.ev_count);
	free(r.ev_reports);
	sl_network_free(net);
	sl_stations_free(st);
	sl_borders_free(bd);
	return 0;
}
