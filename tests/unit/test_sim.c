/*
 * test_sim.c — the simulator (sim.h): the same seed gives the same bytes,
 * every ref is told once in the truth, every report passes the model's
 * validation and decodes as import decodes it, the false-report share is
 * near its setting, train reports lie near the network, the stream is in
 * received order; objects from a file, bad objects and bad settings; the
 * real network and station list when ../shared/data is there; and the rate
 * (reports per second, printed).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sightline/arena.h"
#include "sightline/network.h"
#include "sightline/report_json.h"
#include "sightline/sim.h"
#include "data_files.h"

/* What the checks collect from one run. */
typedef struct seen {
	uint64_t hash; /* FNV-1a of every report and truth line */
	size_t n, by_kind[SL_SIM_KIND_COUNT];
	char **refs;
	size_t cap;
	const sl_network *net; /* when set: rail reports must lie near it */
	size_t rail_far;
	int64_t last_received;
	bool check;
	size_t dup, late;
} seen;

static void fnv(uint64_t *h, const char *s)
{
	for (; *s; s++)
		*h = (*h ^ (unsigned char)*s) * 0x100000001b3ull;
	*h = (*h ^ '\n') * 0x100000001b3ull;
}

static sl_err collect(void *ud, const sl_sim_record *rec)
{
	seen *s = ud;
	s->by_kind[rec->kind]++;
	if (rec->received_at < s->last_received)
		fail_msg("report %s received at %lld, before the one before it (%lld)",
			 rec->ref, (long long)rec->received_at,
			 (long long)s->last_received);
	s->last_received = rec->received_at;
	s->dup += rec->duplicate, s->late += rec->late;
	if (s->check) {
		sl_problems why = {0};
		if (sl_report_validate(rec->report, (int64_t)time(NULL), &why) != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			fail_msg("report %s does not validate: %s", rec->ref, msg);
		}
		if (rec->report->observed_at > rec->received_at)
			fail_msg("report %s observed after it was received", rec->ref);
		if ((rec->kind == SL_SIM_FALSE) != (rec->object == NULL) ||
		    (rec->object == NULL) != (rec->occurrence == NULL))
			fail_msg("report %s: kind %s with object %s", rec->ref,
				 sl_sim_kind_name(rec->kind),
				 rec->object ? rec->object : "null");
		if (rec->occurrence &&
		    strncmp(rec->occurrence, rec->object, strlen(rec->object)))
			fail_msg("occurrence %s is not of object %s", rec->occurrence,
				 rec->object);
	}
	json_t *j = sl_report_to_json(rec->report, 0);
	char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(j);
	assert_non_null(text);
	fnv(&s->hash, text);
	if (s->check) {
		/* What `import --format jsonl` does with the line. */
		sl_arena *a = sl_arena_new(1 << 20);
		sl_report r;
		sl_problems why = {0};
		sl_err e =
		    sl_report_from_json_text(text, strlen(text), SL_JSON_SERVER_FIELDS,
					     (int64_t)time(NULL), a, &r, &why);
		if (e != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			fail_msg("%s: %s", text, msg);
		}
		sl_arena_free(a);
	}
	free(text);
	json_t *t = sl_sim_truth_json(rec);
	text = json_dumps(t, JSON_COMPACT);
	json_decref(t);
	fnv(&s->hash, text);
	free(text);
	if (s->net && rec->kind == SL_SIM_RAIL) {
		sl_network_pos p;
		const sl_location *l = &rec->report->location;
		if (sl_network_snap(s->net, l->lat, l->lon, 2500, &p) != SL_OK)
			s->rail_far++;
	}
	if (s->refs) {
		if (s->n == s->cap) {
			s->cap *= 2;
			s->refs = realloc(s->refs, s->cap * sizeof(char *));
		}
		s->refs[s->n] = strdup(rec->ref);
	}
	s->n++;
	return SL_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static seen run(const sl_sim_config *c, bool check, bool refs, const sl_network *net)
{
	seen s = {.hash = 0xcbf29ce484222325ull, .check = check, .net = net};
	if (refs) {
		s.cap = 1024;
		s.refs = malloc(s.cap * sizeof(char *));
	}
	sl_sim_stats st;
	sl_problems why = {0};
	sl_err e = sl_sim_run(c, collect, &s, &st, &why);
	if (e != SL_OK) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("sl_sim_run: %s: %s", sl_strerror(e), msg);
	}
	size_t total = 0;
	for (int k = 0; k < SL_SIM_KIND_COUNT; k++) {
		total += st.reports[k];
		if (st.reports[k] != s.by_kind[k])
			fail_msg("stats say %zu %s reports, %zu were emitted",
				 st.reports[k], sl_sim_kind_name((sl_sim_kind)k),
				 s.by_kind[k]);
	}
	if (total != s.n)
		fail_msg("stats say %zu reports, %zu were emitted", total, s.n);
	if (st.duplicates != s.dup)
		fail_msg("stats say %zu duplicates, %zu emitted", st.duplicates, s.dup);
	return s;
}

static void free_seen(seen *s)
{
	for (size_t i = 0; s->refs && i < s->n; i++)
		free(s->refs[i]);
	free(s->refs);
}

static void test_determinism(void **state)
{
	(void)state;
	sl_sim_config c;
	sl_sim_config_default(&c);
	c.seed = 42;
	c.text = true;
	seen a = run(&c, false, false, NULL), b = run(&c, false, false, NULL);
	if (a.hash != b.hash || a.n != b.n)
		fail_msg("seed 42 twice: %zu reports hash %016llx, then %zu hash %016llx",
			 a.n, (unsigned long long)a.hash, b.n,
			 (unsigned long long)b.hash);
	c.seed = 43;
	seen d = run(&c, false, false, NULL);
	if (d.hash == a.hash)
		fail_msg("seeds 42 and 43 gave the same stream");
}

static void test_default_day(void **state)
{
	(void)state;
	sl_sim_config c;
	sl_sim_config_default(&c);
	sl_network *net;
	assert_int_equal(sl_network_generate(c.seed, NULL, &net, NULL), SL_OK);
	seen s = run(&c, true, true, net);
	printf("# default day: %zu reports: rail %zu, convoy %zu, sortie %zu, false %zu; "
	       "%zu duplicates, %zu late\n",
	       s.n, s.by_kind[SL_SIM_RAIL], s.by_kind[SL_SIM_CONVOY],
	       s.by_kind[SL_SIM_SORTIE], s.by_kind[SL_SIM_FALSE], s.dup, s.late);
	if (s.n < 1500 || s.n > 6000)
		fail_msg("a default day has %zu reports, want a few thousand", s.n);
	for (int k = 0; k < SL_SIM_KIND_COUNT; k++)
		if (s.by_kind[k] == 0)
			fail_msg("no %s reports", sl_sim_kind_name((sl_sim_kind)k));
	double f = (double)s.by_kind[SL_SIM_FALSE] / (double)s.n;
	if (fabs(f - c.false_rate) > 0.01)
		fail_msg("false share %.3f, want %.3f +- 0.01", f, c.false_rate);
	/* Every ref once. */
	qsort(s.refs, s.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i + 1 < s.n; i++)
		if (strcmp(s.refs[i], s.refs[i + 1]) == 0)
			fail_msg("ref %s is used twice", s.refs[i]);
	if (s.rail_far > s.by_kind[SL_SIM_RAIL] / 100)
		fail_msg("%zu of %zu train reports lie more than 2.5 km off the network",
			 s.rail_far, s.by_kind[SL_SIM_RAIL]);
	free_seen(&s);
	/* A higher false rate is honoured too. */
	c.false_rate = 0.2;
	c.duplicate_rate = 0;
	seen h = run(&c, false, false, NULL);
	f = (double)h.by_kind[SL_SIM_FALSE] / (double)h.n;
	if (fabs(f - 0.2) > 0.01)
		fail_msg("false share %.3f, want 0.200 +- 0.01", f);
	if (h.dup != 0)
		fail_msg("%zu duplicates with duplicate_rate 0", h.dup);
	sl_network_free(net);
}

static void test_real_data(void **state)
{
	(void)state;
	const char *rail = shared("geo/belarus-rail.geojson");
	const char *tsv = shared("geo/belarus-stations.tsv");
	const char *csv = shared("geo/belarus-airfields.csv");
	if (!rail || !tsv || !csv)
		skip();
	sl_network *net;
	sl_stations *st;
	sl_sim_airfield *af;
	sl_sim_config c;
	sl_sim_config_default(&c);
	sl_problems why = {0};
	assert_int_equal(sl_network_load_file(rail, NULL, &net, &why), SL_OK);
	assert_int_equal(sl_stations_load_file(tsv, &st, &why), SL_OK);
	assert_int_equal(sl_sim_airfields_load(csv, &af, &c.n_airfields, &why), SL_OK);
	assert_int_equal(c.n_airfields, 54);
	c.network = net, c.stations = st, c.airfields = af;
	c.seed = 7;
	seen s = run(&c, true, false, net);
	printf("# real network, seed 7: %zu reports: rail %zu, convoy %zu, sortie %zu, "
	       "false %zu\n",
	       s.n, s.by_kind[SL_SIM_RAIL], s.by_kind[SL_SIM_CONVOY],
	       s.by_kind[SL_SIM_SORTIE], s.by_kind[SL_SIM_FALSE]);
	if (s.n < 1500)
		fail_msg("only %zu reports on the real network", s.n);
	if (s.rail_far > s.by_kind[SL_SIM_RAIL] / 100)
		fail_msg("%zu of %zu train reports lie more than 2.5 km off the network",
			 s.rail_far, s.by_kind[SL_SIM_RAIL]);
	free(af);
	sl_stations_free(st);
	sl_network_free(net);
}

typedef struct objects_seen {
	size_t n;
	char kinds[3][64];
	size_t per[3];
} objects_seen;

static sl_err count_objects(void *ud, const sl_sim_record *rec)
{
	objects_seen *o = ud;
	o->n++;
	if (!rec->object)
		return SL_OK;
	static const char *ids[3] = {"column-b", "echelon-a", "flight-c"};
	for (int k = 0; k < 3; k++)
		if (strcmp(rec->object, ids[k]) == 0) {
			o->per[k]++;
			return SL_OK;
		}
	fail_msg("a report of %s, which is not in the objects file", rec->object);
	return SL_EINVAL;
}

static void test_objects_file(void **state)
{
	(void)state;
	sl_sim_objects *objs;
	sl_problems why = {0};
	sl_err e = sl_sim_objects_load(test_data("sim/objects.jsonl"), &objs, &why);
	if (e != SL_OK) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("objects.jsonl: %s", msg);
	}
	assert_int_equal(sl_sim_objects_count(objs), 3);
	sl_sim_config c;
	sl_sim_config_default(&c);
	c.objects = objs;
	objects_seen o = {0};
	assert_int_equal(sl_sim_run(&c, count_objects, &o, NULL, &why), SL_OK);
	printf("# objects file: %zu reports: column-b %zu, echelon-a %zu, flight-c %zu\n",
	       o.n, o.per[0], o.per[1], o.per[2]);
	for (int k = 0; k < 3; k++)
		assert_true(o.per[k] > 0);
	sl_sim_objects_free(objs);

	static const struct {
		const char *line;
		const char *words;
	} bad[] = {
	    {"{\"id\": \"x\", \"kind\": \"boat\"}", "line 1: kind: expected \"rail\""},
	    {"\n{\"id\": \"x\", \"kind\": \"rail\", \"start\": \"2022-10-10T00:00:00Z\", "
	     "\"equipment\": [{\"type\": \"tank\", \"count\": 3}]}",
	     "line 2: route: is required"},
	    {"{\"id\": \"x\", \"kind\": \"rail\", \"route\": [[27, 53]], \"start\": "
	     "\"x\"}",
	     "route: expected an array of 2..1000"},
	    {"{\"id\": \"x\", \"kind\": \"convoy\", \"route\": [[27, 53], [27, 95]]}",
	     "route[1]: expected [lon, lat] in range"},
	    {"{\"id\": \"x\", \"kind\": \"sortie\", \"route\": [[27, 53]], \"start\": "
	     "\"soon\"}",
	     "start: expected an RFC 3339"},
	    {"{\"id\": \"x\", \"kind\": \"sortie\", \"route\": [[27, 53]], \"speed\": 3}",
	     "speed: is not a known field"},
	    {"{\"id\": \"x\", \"kind\": \"sortie\", \"route\": [[27, 53]], \"start\": "
	     "\"2022-10-10T00:00:00Z\", \"equipment\": [{\"type\": \"tank\", \"count\": "
	     "0}]}",
	     "equipment[0].count: a whole number"},
	    {"{\"id\": \"x\", \"kind\": \"sortie\", \"route\": [[27, 53]], \"start\": "
	     "\"2022-10-10T00:00:00Z\", \"equipment\": [{\"type\": \"tank\", \"count\": "
	     "1}]}\n"
	     "{\"id\": \"x\", \"kind\": \"sortie\", \"route\": [[27, 53]], \"start\": "
	     "\"2022-10-10T00:00:00Z\", \"equipment\": [{\"type\": \"tank\", \"count\": "
	     "1}]}",
	     "id: \"x\" is used twice"},
	    {"{not json", "line 1: malformed JSON"},
	    {"\n\n", "has no objects"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = (sl_problems){0};
		objs = (sl_sim_objects *)1;
		e = sl_sim_objects_load_buffer(bad[i].line, strlen(bad[i].line), &objs,
					       &why);
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e == SL_OK || objs != NULL || !strstr(msg, bad[i].words))
			fail_msg("objects case %zu: got %s \"%s\", want \"%s\"", i,
				 sl_strerror(e), msg, bad[i].words);
	}
	/* A station no list knows fails the run, naming it. */
	const char *nowhere =
	    "{\"id\": \"t\", \"kind\": \"rail\", \"route\": [\"Брест\", "
	    "\"Атлантида\"], \"start\": \"2022-10-10T00:00:00Z\", "
	    "\"equipment\": [{\"type\": \"tank\", \"count\": 3}]}";
	assert_int_equal(
	    sl_sim_objects_load_buffer(nowhere, strlen(nowhere), &objs, &why), SL_OK);
	c.objects = objs;
	why = (sl_problems){0};
	assert_int_equal(sl_sim_run(&c, count_objects, &o, NULL, &why), SL_EINVAL);
	char msg[512];
	sl_problems_format(&why, msg, sizeof(msg));
	assert_non_null(strstr(msg, "no station, town or airfield \"Атлантида\""));
	sl_sim_objects_free(objs);
}

static sl_err nothing(void *ud, const sl_sim_record *rec)
{
	(void)rec;
	(*(size_t *)ud)++;
	return SL_OK;
}

static void test_bad_config(void **state)
{
	(void)state;
	sl_sim_config c;
	const char *want[] = {"hours: 0 is outside", "scale: -1 is outside",
			      "false_rate: 0.95 is outside", "start: must be between"};
	for (int i = 0; i < 4; i++) {
		sl_sim_config_default(&c);
		if (i == 0)
			c.hours = 0;
		else if (i == 1)
			c.scale = -1;
		else if (i == 2)
			c.false_rate = 0.95;
		else
			c.start = 5;
		sl_problems why = {0};
		size_t n = 0;
		sl_err e = sl_sim_run(&c, nothing, &n, NULL, &why);
		char msg[256];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e != SL_EINVAL || n != 0 || !strstr(msg, want[i]))
			fail_msg(
			    "config case %d: got %s \"%s\" (%zu reports), want \"%s\"", i,
			    sl_strerror(e), msg, n, want[i]);
	}
}

static sl_err stop_at_ten(void *ud, const sl_sim_record *rec)
{
	(void)rec;
	return ++*(size_t *)ud == 10 ? SL_EIO : SL_OK;
}

static void test_rate(void **state)
{
	(void)state;
	sl_sim_config c;
	sl_sim_config_default(&c);
	size_t n = 0;
	sl_problems why = {0};
	/* The callback's error stops the run and comes back. */
	assert_int_equal(sl_sim_run(&c, stop_at_ten, &n, NULL, &why), SL_EIO);
	assert_int_equal(n, 10);
	c.scale = 20;
	n = 0;
	double t0 = now_s();
	assert_int_equal(sl_sim_run(&c, nothing, &n, NULL, &why), SL_OK);
	double t = now_s() - t0;
	printf("# scale 20: %zu reports in %.3f s, %.0f reports/s\n", n, t,
	       (double)n / t);
	assert_true(n > 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_determinism), cmocka_unit_test(test_default_day),
	    cmocka_unit_test(test_real_data),	cmocka_unit_test(test_objects_file),
	    cmocka_unit_test(test_bad_config),	cmocka_unit_test(test_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
