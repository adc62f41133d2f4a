/*
 * test_publish.c — the publication policy on one event and the public
 * formats (publish.h): only verified and due events are published; below
 * k independent reports a location becomes the centre of its grid cell,
 * the same for every point of the cell; at k or more it is rounded to
 * 100 m; times go to the minute, headings to 16 points; public ids are
 * keyed and stable; filters see only published values; the policy's JSON
 * is checked field by field; what a moderator's excerpt holds is
 * escaped in JSON, XML and CSV alike; and, over a real store, snapshots
 * publish what is verified and due, record what changed once, and show a
 * track source's tracks only through their published events.
 */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/geo.h"
#include "sightline/publish.h"

#include "teststore.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static sl_pub_source orsha(void)
{
	static const sl_event_item items[] = {{SL_EQ_TANK, 12, 10, 14}};
	sl_pub_source s = {.id = 42,
			   .category = SL_CAT_RAIL_TRANSPORT,
			   .t_start = 1665390630, /* 2022-10-10T08:30:30Z */
			   .t_end = 1665391845,	  /* 08:50:45 */
			   .lat = 54.50951,
			   .lon = 30.42337,
			   .uncertainty_m = 320,
			   .has_heading = true,
			   .heading_deg = 50,
			   .confidence = 0.8734,
			   .n_items = 1,
			   .items = items,
			   .n_verified = 1,
			   .n_independent = 1};
	return s;
}

static void test_verified_and_due(void **state)
{
	(void)state;
	sl_publish_policy p;
	sl_publish_policy_default(&p);
	sl_pub_source s = orsha();
	sl_pub_event e;
	int64_t due;
	int64_t end = 1665391860; /* t_end to the next minute */

	s.n_verified = 0;
	assert_false(sl_publish_apply(&p, key, &s, end + 86400, &e, &due));
	assert_int_equal(due, 0); /* not verified: never due */

	s.n_verified = 1;
	assert_false(sl_publish_apply(&p, key, &s, end + 3599, &e, &due));
	assert_int_equal(due, end + 3600);
	assert_true(sl_publish_apply(&p, key, &s, end + 3600, &e, &due));
	assert_int_equal(e.published_at, end + 3600);
	assert_int_equal(e.t_start, 1665390600);
	assert_int_equal(e.t_end, end);

	/* An admin's 0 for the category publishes at the window's end. */
	p.delay_s[SL_CAT_RAIL_TRANSPORT] = 0;
	assert_true(sl_publish_apply(&p, key, &s, end, &e, &due));
	assert_int_equal(e.heading_deg, 45.0);
	assert_true(fabs(e.confidence - 0.87) < 1e-9);
	assert_int_equal(e.sources, 1);
	assert_null(e.excerpt);
}

static void test_coarse_and_fine(void **state)
{
	(void)state;
	sl_publish_policy p;
	sl_publish_policy_default(&p);
	p.delay_s[SL_CAT_RAIL_TRANSPORT] = 0;
	sl_pub_source s = orsha();
	sl_pub_event e, f;
	int64_t due, now = s.t_end + 60;

	assert_true(sl_publish_apply(&p, key, &s, now, &e, &due));
	assert_true(e.coarse);
	assert_true(e.precision_m == 5000.0);
	double d = sl_geo_distance_m(s.lat, s.lon, e.lat, e.lon);
	if (d < 1.0 || d > 5000.0)
		fail_msg("coarsened point %.5f %.5f is %.0f m from the estimate", e.lat,
			 e.lon, d);
	/* Anywhere in the same cell gives the same point: nothing of the
	 * estimate is left. */
	s.lat += 0.004, s.lon -= 0.005;
	assert_true(sl_publish_apply(&p, key, &s, now, &f, &due));
	if (f.lat != e.lat || f.lon != e.lon)
		fail_msg("same cell, different points: %.5f %.5f / %.5f %.5f", e.lat,
			 e.lon, f.lat, f.lon);

	/* k independent reports: to 100 m, radius rounded up. */
	s = orsha();
	s.n_independent = 3;
	assert_true(sl_publish_apply(&p, key, &s, now, &e, &due));
	assert_false(e.coarse);
	assert_true(fabs(e.lat - 54.510) < 1e-9 && fabs(e.lon - 30.423) < 1e-9);
	assert_true(e.precision_m == 400.0);

	/* A coarser grid: the cell is 20 km. */
	s.n_independent = 2;
	p.grid_m = 20000;
	assert_true(sl_publish_apply(&p, key, &s, now, &e, &due));
	assert_true(e.precision_m == 20000.0);
	assert_true(sl_geo_distance_m(s.lat, s.lon, e.lat, e.lon) < 20000.0);
}

static void test_grid_cells(void **state)
{
	(void)state;
	/* Neighbouring cells' centres are one grid apart, north-south and
	 * east-west, here and far north. */
	const double lats[] = {52.1, 54.5, 69.0};
	for (size_t i = 0; i < 3; i++) {
		double a = lats[i], b = 30.0, c = lats[i] + 5000 / 111320.0, d = 30.0;
		sl_publish_grid(5000, &a, &b);
		sl_publish_grid(5000, &c, &d);
		double ns = sl_geo_distance_m(a, b, c, b);
		if (fabs(ns - 5000) > 60)
			fail_msg("rows at %.1f are %.0f m apart", lats[i], ns);
		double e = a, f = b + 0.2;
		sl_publish_grid(5000, &e, &f);
		double ew = sl_geo_distance_m(a, b, a, f);
		if (fmod(ew + 50, 5000) > 200)
			fail_msg("cells at %.1f: %.0f m is not a multiple of 5 km",
				 lats[i], ew);
	}
}

static void test_ids(void **state)
{
	(void)state;
	char a[SL_PUB_ID_MAX], b[SL_PUB_ID_MAX], c[SL_PUB_ID_MAX];
	sl_publish_public_id(key, 'e', 42, a);
	sl_publish_public_id(key, 'e', 42, b);
	sl_publish_public_id(key, 'e', 43, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 21);
	assert_int_equal(a[0], 'e');
	uint8_t other[32] = {9};
	sl_publish_public_id(other, 'e', 42, b);
	assert_string_not_equal(a, b);
}

static void test_policy_json(void **state)
{
	(void)state;
	sl_publish_policy p;
	sl_publish_policy_default(&p);
	sl_problems why = {0};
	static const char ok[] = "{\"delay_minutes\":{\"aircraft\":0},\"grid_km\":10,"
				 "\"min_reports\":2}";
	assert_int_equal(sl_publish_policy_apply(&p, ok, strlen(ok), &why), SL_OK);
	assert_int_equal(p.delay_s[SL_CAT_AIRCRAFT], 0);
	assert_int_equal(p.delay_s[SL_CAT_RAIL_TRANSPORT], 3600);
	assert_true(p.grid_m == 10000.0);
	assert_int_equal(p.min_reports, 2);
	char *text = sl_publish_policy_to_json(&p);
	sl_publish_policy q;
	sl_publish_policy_default(&q);
	assert_int_equal(sl_publish_policy_apply(&q, text, strlen(text), &why), SL_OK);
	free(text);
	assert_memory_equal(&p, &q, sizeof(p));

	static const char bad[] = "{\"delay_minutes\":{\"trains\":5,\"naval\":-1},"
				  "\"grid_km\":0.01,\"min_reports\":0,\"colour\":1}";
	sl_publish_policy before = p;
	assert_int_equal(sl_publish_policy_apply(&p, bad, strlen(bad), &why), SL_EVALID);
	assert_memory_equal(&p, &before, sizeof(p));
	char msg[1024];
	sl_problems_format(&why, msg, sizeof(msg));
	const char *fields[] = {"delay_minutes.trains", "delay_minutes.naval", "grid_km",
				"min_reports", "colour"};
	for (size_t i = 0; i < 5; i++)
		if (!strstr(msg, fields[i]))
			fail_msg("%s not named in \"%s\"", fields[i], msg);
	why = (sl_problems){0};
	assert_int_equal(sl_publish_policy_apply(&p, "[1]", 3, &why), SL_EPARSE);
}

/* A snapshot of n events made by hand. */
static sl_pub_snapshot snapshot_of(sl_pub_event *ev, size_t n)
{
	sl_pub_snapshot s = {
	    .generation = 1, .built_at = 1665400000, .n = n, .events = ev};
	sl_publish_policy_default(&s.policy);
	return s;
}

static char *feed(sl_pub_format fmt, const sl_pub_snapshot *s, const sl_pub_filter *f)
{
	sl_pbuf b;
	sl_pbuf_init(&b, 1 << 20);
	assert_int_equal(sl_pub_write(fmt, s, f, &b), SL_OK);
	sl_pbuf_put(&b, "", 1);
	return b.p;
}

static void test_escaping(void **state)
{
	(void)state;
	sl_publish_policy p;
	sl_publish_policy_default(&p);
	sl_pub_source src = orsha();
	src.excerpt = "<script>alert(\"x\")</script> & 'q', \"r\"\nnext";
	sl_pub_event e;
	int64_t due;
	assert_true(sl_publish_apply(&p, key, &src, src.t_end + 7200, &e, &due));
	sl_pub_snapshot s = snapshot_of(&e, 1);
	sl_pub_filter all = {0};

	char *gj = feed(SL_PUB_GEOJSON, &s, &all);
	assert_null(strstr(gj, "<script>"));
	json_error_t jerr;
	json_t *doc = json_loads(gj, 0, &jerr);
	if (!doc)
		fail_msg("GeoJSON does not parse: %s\n%s", jerr.text, gj);
	json_t *f0 = json_array_get(json_object_get(doc, "features"), 0);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(f0, "properties"), "excerpt")),
			    src.excerpt);
	json_decref(doc);
	free(gj);

	const sl_pub_format xml[] = {SL_PUB_ATOM, SL_PUB_KML, SL_PUB_COT};
	for (size_t i = 0; i < 3; i++) {
		char *x = feed(xml[i], &s, &all);
		if (strstr(x, "<script>") || strstr(x, "\"x\")"))
			fail_msg("format %d: the excerpt is not escaped:\n%s",
				 (int)xml[i], x);
		assert_non_null(strstr(x, "&lt;script&gt;alert(&quot;x&quot;)"));
		free(x);
	}
	char *csv = feed(SL_PUB_CSV, &s, &all);
	assert_non_null(strstr(csv, "\"\"r\"\"\nnext"));
	assert_int_equal(
	    strncmp(csv,
		    "event_id_cnty,event_date,time_precision,event_type,"
		    "sub_event_type,country,admin1,location,latitude,longitude,"
		    "geo_precision,source,source_scale,notes",
		    134),
	    0);
	free(csv);
}

static void test_filters(void **state)
{
	(void)state;
	sl_publish_policy p;
	sl_publish_policy_default(&p);
	sl_pub_source src = orsha();
	sl_pub_event e[2];
	int64_t due;
	assert_true(sl_publish_apply(&p, key, &src, src.t_end + 7200, &e[0], &due));
	src.id = 43;
	src.category = SL_CAT_AIRCRAFT;
	src.lat = 53.9, src.lon = 27.5;
	assert_true(sl_publish_apply(&p, key, &src, src.t_end + 7200, &e[1], &due));

	/* A box around the estimate but not the cell's centre misses it. */
	sl_pub_filter f = {.has_bbox = true,
			   .min_lon = 30.4230,
			   .min_lat = 54.5092,
			   .max_lon = 30.4237,
			   .max_lat = 54.5098};
	bool centre_inside = e[0].lon >= f.min_lon && e[0].lon <= f.max_lon &&
			     e[0].lat >= f.min_lat && e[0].lat <= f.max_lat;
	assert_int_equal(sl_pub_filter_match(&f, &e[0]), centre_inside);
	f = (sl_pub_filter){.categories = 1u << SL_CAT_AIRCRAFT};
	assert_false(sl_pub_filter_match(&f, &e[0]));
	assert_true(sl_pub_filter_match(&f, &e[1]));
	f = (sl_pub_filter){.has_from = true, .from = e[0].t_end + 1};
	assert_false(sl_pub_filter_match(&f, &e[0]));

	sl_pub_snapshot s = snapshot_of(e, 2);
	f = (sl_pub_filter){.limit = 1};
	char *gj = feed(SL_PUB_GEOJSON, &s, &f);
	json_t *doc = json_loads(gj, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(doc, "features")), 1);
	json_decref(doc);
	free(gj);
	char *sum = feed(SL_PUB_SUMMARY, &s, &(sl_pub_filter){0});
	doc = json_loads(sum, 0, NULL);
	if (!doc)
		fail_msg("summary does not parse: %s", sum);
	assert_int_equal(json_integer_value(json_object_get(doc, "events")), 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "tracks")), 0);
	json_decref(doc);
	free(sum);
}

/* ---- snapshots over a real store, with a track source ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int64_t ids[3]; /* store ids of the three events */
/* What the tracker says of the tracks, from all their events (the
 * unverified one too): never what is published. */
static sl_direction dir = SL_DIR_TOWARD_UKRAINE;

/* One track through all three events, one through the unverified event
 * and one other (so with one published point: not shown). */
static sl_err three_tracks(void *ud, sl_store *s, sl_arena *a, sl_track_input **out,
			   size_t *n)
{
	(void)ud, (void)s;
	sl_track_input *t = sl_arena_alloc(a, 2 * sizeof(*t));
	int64_t *all = sl_arena_alloc(a, 3 * sizeof(*all));
	int64_t *two = sl_arena_alloc(a, 2 * sizeof(*two));
	memcpy(all, ids, sizeof(ids));
	two[0] = ids[2], two[1] = ids[1];
	t[0] = (sl_track_input){7, SL_CAT_RAIL_TRANSPORT, dir, 3, all};
	t[1] = (sl_track_input){8, SL_CAT_RAIL_TRANSPORT, dir, 2, two};
	*out = t;
	*n = 2;
	return SL_OK;
}

static void test_snapshot(void **state)
{
	(void)state;
	char root[] = "/tmp/sl-publish-XXXXXX";
	assert_non_null(mkdtemp(root));
	sl_store *s;
	assert_int_equal(teststore_open(root, &s), SL_OK);
	int64_t now = (int64_t)time(NULL);
	/* Three sightings along a line, two verified, two hours ago. */
	sl_report r[3];
	sl_report *rp[3];
	sl_put_result res[3];
	sl_equipment eq = {.type = SL_EQ_TANK, .count = 9};
	for (int i = 0; i < 3; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].category = SL_CAT_RAIL_TRANSPORT;
		r[i].observed_at = now - 7200 + i * 600;
		r[i].location =
		    (sl_location){true, 54.0 + 0.2 * i, 28.0 + 0.3 * i, 300, NULL};
		r[i].n_equipment = 1;
		r[i].equipment = &eq;
		r[i].status = i == 1 ? SL_STATUS_RECEIVED : SL_STATUS_VERIFIED;
		r[i].received_at = r[i].observed_at;
		rp[i] = &r[i];
	}
	assert_int_equal(sl_store_put_reports(s, rp, 3, res), SL_OK);
	sl_event ev[3];
	int64_t rid[3];
	for (int i = 0; i < 3; i++) {
		rid[i] = r[i].id;
		ev[i] = (sl_event){.has_category = true,
				   .category = SL_CAT_RAIL_TRANSPORT,
				   .has_estimate = true,
				   .t_start = r[i].observed_at,
				   .t_end = r[i].observed_at,
				   .has_point = true,
				   .lat = r[i].location.lat,
				   .lon = r[i].location.lon,
				   .uncertainty_m = 300,
				   .confidence = 0.5,
				   .n_reports = 1,
				   .report_ids = &rid[i]};
	}
	sl_engine_save sv = {.n_events = 3, .events = ev, .now = now};
	assert_int_equal(sl_store_engine_save(s, &sv), SL_OK);
	for (int i = 0; i < 3; i++)
		ids[i] = ev[i].id;

	sl_publish *p;
	assert_int_equal(sl_publish_new(s, &p), SL_OK);
	sl_publish_set_track_source(p, three_tracks, NULL);
	/* Ukraine to the south: the published points (54.0 N 28.0 E, then
	 * 54.4 N 28.6 E) move 44 km away from it. */
	static const char ukraine_json[] =
	    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
	    "\"id\":\"804\",\"properties\":{\"name\":\"Ukraine\"},\"geometry\":{"
	    "\"type\":\"Polygon\",\"coordinates\":[[[23,45],[40,45],[40,52],[23,52],"
	    "[23,45]]]}}]}";
	sl_borders *ua = NULL;
	sl_problems why = {0};
	assert_int_equal(
	    sl_borders_load_buffer(ukraine_json, strlen(ukraine_json), &ua, &why), SL_OK);
	sl_publish_set_places(p, ua, NULL);
	sl_pub_changes ch;
	assert_int_equal(sl_publish_refresh(p, now, false, true, &ch), SL_OK);
	assert_int_equal(ch.n, 2); /* the two verified events, published */
	for (size_t i = 0; i < ch.n; i++)
		assert_int_equal(ch.list[i].kind, SL_PUB_PUBLISH);
	sl_publish_changes_free(&ch);
	/* Nothing changed: nothing again, and (once the second the events
	 * were saved in is over) no rebuild. */
	assert_int_equal(sl_publish_refresh(p, now + 1, false, true, &ch), SL_OK);
	assert_int_equal(ch.n, 0);
	const sl_pub_snapshot *a = sl_publish_snapshot(p);
	assert_int_equal(sl_publish_refresh(p, now + 2, false, true, &ch), SL_OK);
	assert_int_equal(ch.n, 0);
	const sl_pub_snapshot *b = sl_publish_snapshot(p);
	assert_int_equal(a->generation, b->generation);
	sl_publish_release(p, a);
	assert_int_equal(b->n, 2);
	assert_int_equal(b->n_tracks, 1);
	assert_int_equal(b->tracks[0].n_points, 2);
	assert_true(b->tracks[0].points[0]->t_end <= b->tracks[0].points[1]->t_end);

	char *tr = feed(SL_PUB_TRACKS, b, &(sl_pub_filter){0});
	json_t *doc = json_loads(tr, 0, NULL);
	if (!doc)
		fail_msg("tracks.geojson does not parse:\n%s", tr);
	json_t *f0 = json_array_get(json_object_get(doc, "features"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f0, "geometry"), "type")),
	    "LineString");
	assert_int_equal(json_array_size(json_object_get(json_object_get(f0, "geometry"),
							 "coordinates")),
			 2);
	/* Its class is its published points' move, not the tracker's (which
	 * weighed the unverified event): nothing the policy keeps back. */
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(f0, "properties"), "direction")),
			    "away_from_ukraine");
	/* Its points are the published ones, coarsened: not the unverified
	 * event's, not an estimate. */
	assert_null(strstr(tr, "54.2"));
	assert_null(strstr(tr, "28.3"));
	json_decref(doc);
	free(tr);
	char *sum = feed(SL_PUB_SUMMARY, b, &(sl_pub_filter){0});
	doc = json_loads(sum, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(doc, "tracks")), 1);
	json_t *wk = json_array_get(json_object_get(doc, "weeks"), 0);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(wk, "movements"), "away_from_ukraine")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(wk, "movements"), "toward_ukraine")),
			 0);
	json_decref(doc);
	free(sum);
	sl_publish_release(p, b);

	/* A coarser grid moves both: two updates, recorded once. */
	sl_publish_policy pol;
	sl_publish_get_policy(p, &pol);
	pol.grid_m = 20000;
	assert_int_equal(sl_publish_set_policy(p, &pol, 0, now), SL_OK);
	assert_int_equal(sl_publish_refresh(p, now + 3, false, true, &ch), SL_OK);
	assert_int_equal(ch.n, 2);
	assert_int_equal(ch.list[0].kind, SL_PUB_UPDATE);
	sl_publish_changes_free(&ch);
	sl_publish_free(p);

	/* A new publisher on the same store knows what was published. */
	assert_int_equal(sl_publish_new(s, &p), SL_OK);
	sl_publish_get_policy(p, &pol);
	assert_true(pol.grid_m == 20000.0);
	assert_int_equal(sl_publish_refresh(p, now + 4, false, true, &ch), SL_OK);
	assert_int_equal(ch.n, 0);
	sl_publish_changes_free(&ch);
	sl_publish_free(p);
	sl_store_close(s);
	sl_borders_free(ua);
	teststore_drop(root);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The CSV's country, admin1 and location name the published point, from
 * the borders and stations the server was given. */
static void test_name_place(void **state)
{
	(void)state;
	static const char borders_json[] =
	    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
	    "\"id\":\"112\",\"properties\":{\"name\":\"Belarus\"},\"geometry\":{"
	    "\"type\":\"Polygon\",\"coordinates\":[[[23,51],[33,51],[33,56],[23,56],"
	    "[23,51]]]}}]}";
	static const char stations_tsv[] = "name_ru\tadmin1\tlat\tlon\n"
					   "Орша-Центральная\tВитебск\t54.5081\t30.4172\n"
					   "Речица\tГомель\t52.3617\t30.3916\n"
					   "Безрегионная\t\t53.0\t28.0\n"
					   "Где-то\tНовая область\t53.5\t29.0\n";
	sl_borders *b = NULL;
	sl_stations *st = NULL;
	sl_problems why = {0};
	assert_int_equal(sl_borders_load_buffer(borders_json, strlen(borders_json), &b, &why),
			 SL_OK);
	assert_int_equal(
	    sl_stations_load_buffer(stations_tsv, strlen(stations_tsv), &st, &why), SL_OK);
	sl_pub_event e = {.lat = 54.51, .lon = 30.42};
	sl_publish_name_place(b, st, &e);
	assert_string_equal(e.country, "Belarus");
	assert_string_equal(e.admin1, "Vitebsk");
	assert_string_equal(e.location, "Орша-Центральная");
	/* Farther than SL_PUB_LOCATION_M from any station: only the country. */
	e = (sl_pub_event){.lat = 55.5, .lon = 25.0};
	sl_publish_name_place(b, st, &e);
	assert_string_equal(e.country, "Belarus");
	assert_null(e.admin1);
	assert_null(e.location);
	/* A station without a region, and one ACLED has no spelling for. */
	e = (sl_pub_event){.lat = 53.0, .lon = 28.01};
	sl_publish_name_place(b, st, &e);
	assert_string_equal(e.location, "Безрегионная");
	assert_null(e.admin1);
	e = (sl_pub_event){.lat = 53.5, .lon = 29.0};
	sl_publish_name_place(b, st, &e);
	assert_string_equal(e.admin1, "Новая область");
	/* Outside every country, and with nothing to name it by. */
	e = (sl_pub_event){.lat = 60.0, .lon = 10.0};
	sl_publish_name_place(b, st, &e);
	assert_null(e.country);
	e = (sl_pub_event){.lat = 54.51, .lon = 30.42};
	sl_publish_name_place(NULL, NULL, &e);
	assert_null(e.country);
	assert_null(e.location);
	sl_stations_free(st);
	sl_borders_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verified_and_due),
	    cmocka_unit_test(test_coarse_and_fine),
	    cmocka_unit_test(test_grid_cells),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_policy_json),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_name_place),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests_name("publish", tests, NULL, NULL);
}
