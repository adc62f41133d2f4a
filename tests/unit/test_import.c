/*
 * test_import.c — bulk import and export: the CIR CSV mapping (header,
 * categories, equipment and counts, word boundaries, bad values with their
 * line numbers across multi-line records), the real CIR file when
 * ../shared/data is there, jsonl round trips through real stores, bad jsonl
 * lines, and the demo set.
 *
 * Import seals text and contact to the store's moderators (sealing.h), so
 * the stores that take text get one moderator first: the same key record,
 * made and unlocked once for the whole file (Argon2id is slow on purpose).
 * Without a moderator, a record with text or contact is rejected and
 * nothing of it reaches the disk; export leaves sealed parts out, and the
 * moderator's key opens them again.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "sightline/arena.h"
#include "sightline/import.h"
#include "sightline/modkey.h"
#include "sightline/receipt.h" /* sl_crypto_init */
#include "sightline/report_json.h"
#include "sightline/sealing.h"
#include "sightline/store.h"
#include "sightline/timefmt.h"

#include "teststore.h"

#define NOW 1672531200 /* 2023-01-01T00:00:00Z */

/* What import says of a record with text or contact and nobody to seal
 * them to (src/intake/import.c). */
#define NO_MODERATOR                                                                     \
	"text, contact: there is no moderator to seal them to; add one first "           \
	"(sightline moderator add)"

/* The one moderator key of this file: made and unlocked in group_setup. */
#define MOD_PASS "import test passphrase"
static sl_modkey_record mod_key;
static sl_secret_key *mod_sk;

static int group_setup(void **state)
{
	(void)state;
	char recovery[SL_RECOVERY_TEXT_MAX];
	if (sl_crypto_init() != SL_OK ||
	    sl_modkey_create(MOD_PASS, strlen(MOD_PASS), &mod_key, recovery) != SL_OK ||
	    sl_modkey_unlock(&mod_key, MOD_PASS, strlen(MOD_PASS), &mod_sk) != SL_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sl_secret_key_free(mod_sk);
	mod_sk = NULL;
	return 0;
}

/* ---- helpers ---- */

/* The header of the real file, in its order. */
static const char *const header[] = {
    "entry",	 "date",	  "event_group",    "title",	"brief description",
    "lat",	 "lon",		  "country",	    "province", "district",
    "town/city", "arms/munition", "violence level", "link",	"geolocation",
};
enum {
	C_ENTRY,
	C_DATE,
	C_GROUP,
	C_TITLE,
	C_DESC,
	C_LAT,
	C_LON,
	C_COUNTRY,
	C_PROVINCE,
	C_DISTRICT,
	C_TOWN,
	C_ARMS,
	C_VIOLENCE,
	C_LINK,
	C_GEO,
	C_N
};

static sl_cir_columns columns(void)
{
	sl_cir_columns cols;
	sl_problems why = {0};
	assert_int_equal(sl_cir_columns_from_header(header, C_N, &cols, &why), SL_OK);
	return cols;
}

/* A plausible row; tests change the fields they are about. */
static void row(const char *f[C_N])
{
	static const char *const base[C_N] = {
	    "UW0001",
	    "2022-02-10",
	    "Russian Military Presence",
	    "A title",
	    "A title",
	    "53.9",
	    "27.55",
	    "Belarus",
	    "Minsk",
	    "",
	    "Minsk",
	    "",
	    "1",
	    "https://example.org/x",
	    "",
	};
	memcpy(f, base, sizeof(base));
}

typedef struct mapped {
	sl_arena *a;
	sl_report r;
	sl_problems why;
	sl_err err;
} mapped;

static mapped map(const char *f[C_N], int64_t now)
{
	sl_cir_columns cols = columns();
	mapped m = {.a = sl_arena_new(1 << 20)};
	assert_non_null(m.a);
	m.err = sl_cir_record_to_report(&cols, f, C_N, now, m.a, &m.r, &m.why);
	return m;
}

static mapped map_words(const char *title, const char *desc, const char *arms)
{
	const char *f[C_N];
	row(f);
	f[C_TITLE] = title;
	f[C_DESC] = desc;
	f[C_ARMS] = arms;
	mapped m = map(f, NOW);
	if (m.err != SL_OK) {
		char buf[512];
		sl_problems_format(&m.why, buf, sizeof(buf));
		fail_msg("mapping failed: %s (%s)", sl_strerror(m.err), buf);
	}
	return m;
}

static void expect_category(const mapped *m, sl_category want)
{
	assert_string_equal(sl_category_name(m->r.category), sl_category_name(want));
}

/* The item of type t, failing the test when there is none. */
static const sl_equipment *item(const mapped *m, sl_equipment_type t)
{
	for (size_t i = 0; i < m->r.n_equipment; i++) {
		if (m->r.equipment[i].type == t)
			return &m->r.equipment[i];
	}
	fail_msg("no %s among %zu equipment items", sl_equipment_type_name(t),
		 m->r.n_equipment);
	return NULL;
}

static void expect_problem(const mapped *m, const char *want)
{
	char buf[1024];
	sl_problems_format(&m->why, buf, sizeof(buf));
	if (!strstr(buf, want))
		fail_msg("problems \"%s\" lack \"%s\"", buf, want);
}

/* A store in a fresh temporary directory; mod_id is its moderator's id, 0
 * when it has none. */
typedef struct tmp_store {
	char dir[64];
	sl_store *s;
	int64_t mod_id;
} tmp_store;

static void store_open(tmp_store *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/sl-test-import-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	assert_int_equal(teststore_open(t->dir, &t->s), SL_OK);
	t->mod_id = 0;
}

/* Gives t the moderator of this file (mod_key), as import needs one to
 * seal text and contact to. */
static void add_moderator(tmp_store *t)
{
	sl_moderator m = {.role = SL_ROLE_ADMIN, .created_at = NOW - 86400};
	snprintf(m.name, sizeof(m.name), "importer");
	m.key = mod_key;
	assert_int_equal(sl_store_add_moderator(t->s, &m), SL_OK);
	assert_true(m.id > 0);
	t->mod_id = m.id;
}

/* A fresh store with the moderator in it. */
static void store_open_moderated(tmp_store *t)
{
	store_open(t);
	add_moderator(t);
}

static void store_close(tmp_store *t)
{
	static const char *const files[] = {"sightline.db", "sightline.db-wal",
					    "sightline.db-shm"};
	sl_store_close(t->s);
	teststore_drop(t->dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", t->dir, files[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(t->dir), 0);
}

/* Collects what on_reject is told. */
typedef struct rejects {
	size_t n;
	long line[32];
	char why[32][512];
} rejects;

static void on_reject(void *ud, long line, const char *why)
{
	rejects *r = ud;
	if (r->n < 32) {
		r->line[r->n] = line;
		snprintf(r->why[r->n], sizeof(r->why[0]), "%s", why);
	}
	r->n++;
}

static void expect_reject(const rejects *r, size_t i, long line, const char *want)
{
	assert_true(i < r->n);
	assert_int_equal(r->line[i], line);
	if (!strstr(r->why[i], want))
		fail_msg("reject %zu (line %ld) says \"%s\", not \"%s\"", i, line,
			 r->why[i], want);
}

/* Whether the store of t (its files; on PostgreSQL, its database's files,
 * the WAL and every row) holds needle: plaintext that must never reach the
 * disk. */
static bool store_files_contain(const tmp_store *t, const char *needle)
{
	return teststore_holds(t->dir, needle, strlen(needle),
			       TESTSTORE_FILES | TESTSTORE_ROWS) != NULL;
}

static void expect_not_on_disk(const tmp_store *t, const char *needle)
{
	if (store_files_contain(t, needle))
		fail_msg("\"%s\" is in clear in the files of %s", needle, t->dir);
}

/* Report id of t as its moderator sees it, with the text and contact its
 * sealed content item opens to (NULL when it has none) in a. */
static void unsealed(const tmp_store *t, int64_t id, sl_arena *a, sl_report *out)
{
	assert_true(t->mod_id > 0);
	assert_int_equal(sl_store_get_report(t->s, id, t->mod_id, a, out), SL_OK);
	if (out->text || out->contact)
		fail_msg("report %lld comes out of the store with text or contact in "
			 "clear: \"%s\", \"%s\"",
			 (long long)id, out->text ? out->text : "(null)",
			 out->contact ? out->contact : "(null)");
	sl_err err = sl_report_unseal_content(out, mod_sk, a);
	if (err != SL_OK && err != SL_ENOTFOUND)
		fail_msg("report %lld: unsealing its content: %s", (long long)id,
			 sl_strerror(err));
}

static FILE *open_data(const char *env, const char *rel)
{
	const char *dir = getenv(env);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", rel);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (is %s set?)", path, env);
	return f;
}

/* Every report of a store, as decoded copies in a (for comparing). */
typedef struct collected {
	sl_arena *a;
	size_t n;
	sl_report r[1200];
} collected;

static const char *copy_str(sl_arena *a, const char *s)
{
	if (!s)
		return NULL;
	char *c = sl_arena_strdup(a, s);
	assert_non_null(c);
	return c;
}

static sl_err collect(void *ud, const sl_report *r)
{
	collected *c = ud;
	assert_true(c->n < sizeof(c->r) / sizeof(c->r[0]));
	sl_report *d = &c->r[c->n++];
	*d = *r;
	d->n_sealed = 0; /* would point into the store's scratch arena */
	d->sealed = NULL;
	d->location.place = copy_str(c->a, r->location.place);
	d->destination = copy_str(c->a, r->destination);
	d->text = copy_str(c->a, r->text);
	d->contact = copy_str(c->a, r->contact);
	d->language = copy_str(c->a, r->language);
	d->ref = copy_str(c->a, r->ref);
	if (r->n_equipment) {
		d->equipment =
		    sl_arena_alloc(c->a, r->n_equipment * sizeof(*d->equipment));
		assert_non_null(d->equipment);
		for (size_t i = 0; i < r->n_equipment; i++) {
			d->equipment[i] = r->equipment[i];
			d->equipment[i].model = copy_str(c->a, r->equipment[i].model);
		}
	}
	return SL_OK;
}

/* ---- formats ---- */

static void test_format_names(void **state)
{
	(void)state;
	sl_import_format f;
	assert_true(sl_import_format_from_name("jsonl", &f));
	assert_int_equal(f, SL_IMPORT_JSONL);
	assert_true(sl_import_format_from_name("cir-csv", &f));
	assert_int_equal(f, SL_IMPORT_CIR_CSV);
	assert_true(sl_import_format_from_name("demo", &f));
	assert_int_equal(f, SL_IMPORT_DEMO);
	assert_false(sl_import_format_from_name("csv", &f));
	assert_false(sl_import_format_from_name("JSONL", &f));
	assert_false(sl_import_format_from_name("", &f));
	assert_false(sl_import_format_from_name(NULL, &f));
}

/* ---- the CIR header ---- */

static void test_cir_header(void **state)
{
	(void)state;
	sl_cir_columns c = columns();
	assert_int_equal(c.entry, C_ENTRY);
	assert_int_equal(c.date, C_DATE);
	assert_int_equal(c.title, C_TITLE);
	assert_int_equal(c.description, C_DESC);
	assert_int_equal(c.lat, C_LAT);
	assert_int_equal(c.lon, C_LON);
	assert_int_equal(c.country, C_COUNTRY);
	assert_int_equal(c.province, C_PROVINCE);
	assert_int_equal(c.district, C_DISTRICT);
	assert_int_equal(c.town, C_TOWN);
	assert_int_equal(c.arms, C_ARMS);
	assert_int_equal(c.link, C_LINK);

	/* Any order, any case, white space around, a byte order mark. */
	const char *shuffled[] = {"\xef\xbb\xbf"
				  "LINK",
				  " lon ",
				  "Lat",
				  "date",
				  "Entry",
				  "title",
				  "brief description",
				  "country",
				  "province",
				  "district",
				  "town/city",
				  "arms/munition"};
	sl_problems why = {0};
	assert_int_equal(sl_cir_columns_from_header(shuffled, 12, &c, &why), SL_OK);
	assert_int_equal(c.link, 0);
	assert_int_equal(c.lon, 1);
	assert_int_equal(c.lat, 2);
	assert_int_equal(c.entry, 4);
	assert_int_equal(c.arms, 11);
}

static void test_cir_header_missing_column(void **state)
{
	(void)state;
	const char *fields[C_N];
	memcpy(fields, header, sizeof(fields));
	fields[C_LON] = "longitude";
	sl_cir_columns c;
	sl_problems why = {0};
	assert_int_equal(sl_cir_columns_from_header(fields, C_N, &c, &why), SL_EPARSE);
	assert_int_equal(why.n, 1);
	assert_string_equal(why.items[0].field, "header");
	assert_string_equal(why.items[0].message, "has no column \"lon\"");

	why = (sl_problems){0};
	assert_int_equal(sl_cir_columns_from_header(fields, 0, &c, &why), SL_EPARSE);
	assert_string_equal(why.items[0].message, "has no column \"entry\"");
}

/* ---- one record ---- */

static void test_cir_train_with_tanks(void **state)
{
	(void)state;
	mapped m = map_words("Train with 12 T-72 tanks", "Train with 12 T-72 tanks", "");
	expect_category(&m, SL_CAT_RAIL_TRANSPORT);
	assert_int_equal(m.r.n_equipment, 1);
	const sl_equipment *t = item(&m, SL_EQ_TANK);
	assert_int_equal(t->count, 12);
	assert_int_equal(t->count_max, 0);
	assert_string_equal(t->model, "T-72");
	sl_arena_free(m.a);
}

static void test_cir_record_fields(void **state)
{
	(void)state;
	const char *f[C_N];
	row(f);
	f[C_ENTRY] = " UW0067 ";
	f[C_DATE] = "2022-01-01";
	f[C_TITLE] = "01/01/2022 Russian equipment moving north";
	f[C_DESC] = "Seen from the bridge";
	f[C_LAT] = "54.069385";
	f[C_LON] = "27.211645";
	f[C_COUNTRY] = "Belarus";
	f[C_PROVINCE] = "";
	f[C_DISTRICT] = " ";
	f[C_TOWN] = "Petrishki";
	f[C_LINK] = "https://twitter.com/x/status/1";
	mapped m = map(f, NOW);
	assert_int_equal(m.err, SL_OK);
	int64_t day;
	assert_int_equal(sl_time_parse("2022-01-01T00:00:00Z", &day), SL_OK);
	assert_int_equal(m.r.observed_at, day);
	assert_true(m.r.has_until);
	assert_int_equal(m.r.observed_until, day + 86399);
	assert_true(m.r.location.has_point);
	assert_float_equal(m.r.location.lat, 54.069385, 1e-9);
	assert_float_equal(m.r.location.lon, 27.211645, 1e-9);
	assert_float_equal(m.r.location.uncertainty_m, 1000.0, 0);
	assert_string_equal(m.r.location.place, "Petrishki, Belarus");
	assert_string_equal(m.r.text, "01/01/2022 Russian equipment moving north\n"
				      "Seen from the bridge\n"
				      "Source: https://twitter.com/x/status/1");
	assert_string_equal(m.r.ref, "UW0067");
	assert_string_equal(m.r.language, "en");
	assert_int_equal(m.r.status, SL_STATUS_RECEIVED);
	assert_int_equal(m.r.received_at, NOW - NOW % 60);
	expect_category(&m, SL_CAT_ROAD_CONVOY);
	assert_true(m.r.has_heading);
	assert_float_equal(m.r.heading_deg, 0.0, 0);
	assert_int_equal(m.r.n_equipment, 0);
	sl_arena_free(m.a);

	/* A description equal to the title is said once; no link, no
	 * place parts: no "Source:", no place. */
	row(f);
	f[C_TITLE] = f[C_DESC] = "Tanks gathered";
	f[C_LINK] = "";
	f[C_COUNTRY] = f[C_PROVINCE] = f[C_TOWN] = "";
	m = map(f, NOW);
	assert_int_equal(m.err, SL_OK);
	assert_string_equal(m.r.text, "Tanks gathered");
	assert_null(m.r.location.place);
	sl_arena_free(m.a);
}

/* A day that has not ended yet ends now. */
static void test_cir_today_ends_now(void **state)
{
	(void)state;
	const char *f[C_N];
	row(f);
	int64_t noon;
	assert_int_equal(sl_time_parse("2022-02-10T12:00:00Z", &noon), SL_OK);
	mapped m = map(f, noon);
	assert_int_equal(m.err, SL_OK);
	assert_int_equal(m.r.observed_at, noon - 12 * 3600);
	assert_int_equal(m.r.observed_until, noon);
	sl_arena_free(m.a);
}

static void test_cir_blank_entry_gets_fingerprint(void **state)
{
	(void)state;
	const char *f[C_N];
	row(f);
	f[C_ENTRY] = "";
	mapped m = map(f, NOW);
	assert_int_equal(m.err, SL_OK);
	assert_int_equal(strlen(m.r.ref), 20);
	assert_memory_equal(m.r.ref, "cir-", 4);
	mapped again = map(f, NOW);
	assert_string_equal(again.r.ref, m.r.ref);
	f[C_TITLE] = "Another title";
	mapped other = map(f, NOW);
	assert_string_not_equal(other.r.ref, m.r.ref);
	sl_arena_free(m.a);
	sl_arena_free(again.a);
	sl_arena_free(other.a);
}

static void test_cir_word_boundaries(void **state)
{
	(void)state;
	/* "tor" is not in "factory" or "torched", "ural" not in "rural",
	 * "train" not in "training", "grad" not in "Volgograd". */
	mapped m =
	    map_words("Tractor factory torched in a rural area near Volgograd", "", "");
	expect_category(&m, SL_CAT_OTHER);
	assert_int_equal(m.r.n_equipment, 0);
	sl_arena_free(m.a);

	m = map_words("Iskander missile systems at Asipovichy training ground", "", "");
	expect_category(&m, SL_CAT_MISSILE_SYSTEM);
	assert_int_equal(item(&m, SL_EQ_MISSILE_LAUNCHER)->count, 1);
	sl_arena_free(m.a);

	/* The words themselves still count. */
	m = map_words("Tor-M2 and an Ural truck", "", "");
	expect_category(&m, SL_CAT_AIR_DEFENCE);
	assert_string_equal(item(&m, SL_EQ_AIR_DEFENCE)->model, "Tor-M2");
	assert_string_equal(item(&m, SL_EQ_TRUCK)->model, "Ural");
	sl_arena_free(m.a);

	/* A fuel tank is not a tank; "anti-aircraft" is air defence. */
	m = map_words("Fuel tank at the depot", "", "");
	assert_int_equal(m.r.n_equipment, 0);
	sl_arena_free(m.a);
	m = map_words("Anti-aircraft guns", "", "");
	expect_category(&m, SL_CAT_AIR_DEFENCE);
	assert_int_equal(m.r.n_equipment, 1);
	item(&m, SL_EQ_AIR_DEFENCE);
	sl_arena_free(m.a);
}

static void test_cir_categories(void **state)
{
	(void)state;
	static const struct {
		const char *title;
		sl_category want;
	} cases[] = {
	    {"Russian military equipment being moved by train", SL_CAT_RAIL_TRANSPORT},
	    {"Tanks on flatcars at the station", SL_CAT_RAIL_TRANSPORT},
	    {"Convoy of military equipment", SL_CAT_ROAD_CONVOY},
	    {"Russian Tochka ballistic missile launchers being transported",
	     SL_CAT_MISSILE_SYSTEM},
	    {"Location of S-400 site", SL_CAT_AIR_DEFENCE},
	    {"Russian airfield with Ka-52 helicopters", SL_CAT_HELICOPTER},
	    {"Sentinel-2 imagery show two Il-76", SL_CAT_AIRCRAFT},
	    {"Landing ship in the bay", SL_CAT_NAVAL},
	    {"Russian military camp", SL_CAT_TROOPS},
	    {"Russian dug in firing positions", SL_CAT_FORTIFICATION},
	    /* incidents are "other", whatever they name */
	    {"Damage to train station after missile strike", SL_CAT_OTHER},
	    {"Destroyed Russian tank column", SL_CAT_OTHER},
	    {"People waiting in line for bread", SL_CAT_OTHER},
	    /* "fighting" inside "infantry fighting vehicles" is no incident */
	    {"Train carrying numerous BMP-2 infantry fighting vehicles",
	     SL_CAT_RAIL_TRANSPORT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mapped m = map_words(cases[i].title, "", "");
		if (m.r.category != cases[i].want)
			fail_msg("\"%s\": %s, want %s", cases[i].title,
				 sl_category_name(m.r.category),
				 sl_category_name(cases[i].want));
		sl_arena_free(m.a);
	}
}

static void test_cir_equipment_counts(void **state)
{
	(void)state;
	mapped m = map_words("Convoy", "", "1x MT-LB, 12x 2S3 Akatsiya, 7x BM-27 Uragan");
	assert_int_equal(m.r.n_equipment, 3);
	assert_int_equal(item(&m, SL_EQ_APC)->count, 1);
	assert_string_equal(item(&m, SL_EQ_APC)->model, "MT-LB");
	assert_int_equal(item(&m, SL_EQ_ARTILLERY)->count, 12);
	assert_string_equal(item(&m, SL_EQ_ARTILLERY)->model, "2S3");
	assert_int_equal(item(&m, SL_EQ_MLRS)->count, 7);
	sl_arena_free(m.a);

	/* Number words; a year or a model number is not a count; inventory
	 * counts after a colon are summed. */
	m = map_words("Two Ka52s over the river", "", "");
	assert_int_equal(item(&m, SL_EQ_HELICOPTER)->count, 2);
	assert_string_equal(item(&m, SL_EQ_HELICOPTER)->model, "Ka52");
	sl_arena_free(m.a);
	m = map_words("A T-72B3 Obr. 2016 tank", "", "");
	assert_int_equal(item(&m, SL_EQ_TANK)->count, 1);
	sl_arena_free(m.a);
	m = map_words("Russian Su 25 aircraft", "", "");
	assert_int_equal(item(&m, SL_EQ_AIRCRAFT)->count, 1);
	sl_arena_free(m.a);
	m = map_words("02/03/2022 tanks", "", "");
	assert_int_equal(item(&m, SL_EQ_TANK)->count, 1);
	sl_arena_free(m.a);
	m = map_words("Vehicles by train: BMP-2: 8+3+25 / MT-LB: 1", "", "");
	assert_int_equal(item(&m, SL_EQ_IFV)->count, 36);
	assert_int_equal(item(&m, SL_EQ_APC)->count, 1);
	sl_arena_free(m.a);
	m = map_words("Convoy of at least 13 tankers", "", "");
	assert_int_equal(item(&m, SL_EQ_FUEL_TRUCK)->count, 13);
	sl_arena_free(m.a);
}

static void test_cir_bad_values(void **state)
{
	(void)state;
	const char *f[C_N];
	row(f);
	f[C_DATE] = "2022-13-45";
	mapped m = map(f, NOW);
	assert_int_equal(m.err, SL_EVALID);
	assert_int_equal(m.why.n, 1);
	expect_problem(&m, "date: \"2022-13-45\" is not a date (YYYY-MM-DD)");
	sl_arena_free(m.a);

	row(f);
	f[C_DATE] = "17/02/2022";
	m = map(f, NOW);
	expect_problem(&m, "date: \"17/02/2022\" is not a date (YYYY-MM-DD)");
	sl_arena_free(m.a);

	row(f);
	f[C_DATE] = " ";
	m = map(f, NOW);
	assert_int_equal(m.err, SL_EVALID);
	expect_problem(&m, "date: is empty");
	sl_arena_free(m.a);

	row(f);
	f[C_LAT] = "abc";
	f[C_LON] = "181";
	m = map(f, NOW);
	assert_int_equal(m.err, SL_EVALID);
	assert_int_equal(m.why.n, 2);
	expect_problem(&m, "lat: \"abc\" is not a number");
	expect_problem(&m, "lon: \"181\" is outside -180..180");
	sl_arena_free(m.a);

	row(f);
	f[C_LAT] = "nan";
	f[C_LON] = "";
	m = map(f, NOW);
	expect_problem(&m, "lat: \"nan\" is not a number");
	expect_problem(&m, "lon: is empty");
	sl_arena_free(m.a);

	/* After the clock: the model's rule, with its field name. */
	row(f);
	f[C_DATE] = "2030-01-01";
	m = map(f, NOW);
	assert_int_equal(m.err, SL_EVALID);
	expect_problem(&m, "observed_at");
	sl_arena_free(m.a);
}

/* Text is cut at SL_REPORT_MAX_TEXT on a character boundary. */
static void test_cir_long_text(void **state)
{
	(void)state;
	size_t n = 3 * SL_REPORT_MAX_TEXT;
	char *desc = malloc(n + 1);
	assert_non_null(desc);
	for (size_t i = 0; i < n; i += 2)
		memcpy(desc + i, "\xd1\x8f", 2); /* я */
	desc[n] = '\0';
	const char *f[C_N];
	row(f);
	f[C_TITLE] = "x";
	f[C_DESC] = desc;
	mapped m = map(f, NOW);
	assert_int_equal(m.err, SL_OK);
	size_t len = strlen(m.r.text);
	assert_true(len <= SL_REPORT_MAX_TEXT);
	assert_true(len >= SL_REPORT_MAX_TEXT - 3);
	assert_true(sl_utf8_text_ok(m.r.text, len));
	sl_arena_free(m.a);
	free(desc);
}

/* ---- files ---- */

static void expect_same_text(const char *what, const char *got, const char *want)
{
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: text \"%s\", want \"%s\"", what, got ? got : "(null)",
			 want);
}

/* The texts small.csv's stored rows map to, in file order. */
static const struct {
	const char *ref, *text;
} small_texts[] = {
    {"UW9001", "Train with 12 T-72 tanks\nSeen at the station,\nheading south\n"
	       "Source: https://example.org/1"},
    {"UW9006", "Tractor factory in a rural district\nWorkers torched nothing"},
    {"UW9007", "Column moving west on the road\n3x BMP-2 and 2 Ural trucks, one "
	       "Tor-M2\nSource: https://example.org/7"},
};

static void test_cir_file_line_numbers(void **state)
{
	(void)state;
	tmp_store t;
	store_open_moderated(&t);
	FILE *in = open_data("TEST_DATA", "import/small.csv");
	rejects rj = {0};
	sl_import_stats st;
	assert_int_equal(sl_import(t.s, SL_IMPORT_CIR_CSV, in, NOW, on_reject, &rj, &st),
			 SL_OK);
	fclose(in);
	/* Lines 2-3 are one record; 6-8 another, with a blank line inside
	 * its quotes; lines 7 and 11 are blank. */
	assert_int_equal(st.records, 9);
	assert_int_equal(st.imported, 3);
	assert_int_equal(st.duplicate, 0);
	assert_int_equal(st.rejected, 6);
	assert_int_equal(rj.n, 6);
	expect_reject(&rj, 0, 4, "date: \"2022-13-45\" is not a date (YYYY-MM-DD)");
	expect_reject(&rj, 1, 5, "date: is empty");
	expect_reject(&rj, 2, 6, "lat: \"abc\" is not a number");
	expect_reject(&rj, 3, 9, "lat: \"91.5\" is outside -90..90");
	expect_reject(&rj, 4, 13, "record has 3 fields; the header has 15");
	expect_reject(&rj, 5, 14, "lon: is empty");

	/* What was stored: the train (with the newline inside its
	 * description), the factory, the column. */
	sl_arena *a = sl_arena_new(1 << 20);
	FILE *out = tmpfile();
	size_t count;
	assert_int_equal(sl_export_reports_jsonl(t.s, out, &count), SL_OK);
	assert_int_equal(count, 3);
	rewind(out);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	const char *refs[] = {"UW9001", "UW9006", "UW9007"};
	for (int i = 0; (len = getline(&line, &cap, out)) > 0; i++) {
		/* Sealed parts stay out of the export. */
		if (strstr(line, "\"text\":") || strstr(line, "\"contact\":"))
			fail_msg("export line %d carries sealed fields: %s", i + 1, line);
		sl_report r;
		sl_problems why = {0};
		assert_int_equal(sl_report_from_json_text(line, (size_t)len,
							  SL_JSON_SERVER_FIELDS, NOW, a,
							  &r, &why),
				 SL_OK);
		assert_string_equal(r.ref, refs[i]);
		if (i == 0) {
			assert_string_equal(sl_category_name(r.category),
					    "rail_transport");
			assert_int_equal(r.n_equipment, 1);
			assert_int_equal(r.equipment[0].count, 12);
			assert_null(r.text);
			assert_true(r.has_heading);
			assert_float_equal(r.heading_deg, 180, 0);
			assert_string_equal(r.location.place, "Minsk, Minsk, Belarus");
		} else if (i == 1) {
			assert_string_equal(sl_category_name(r.category), "other");
			assert_int_equal(r.n_equipment, 0);
		} else {
			/* a column with an air defence system: air defence
			 * comes first in the priority order */
			assert_string_equal(sl_category_name(r.category), "air_defence");
			assert_float_equal(r.heading_deg, 270, 0);
			assert_int_equal(r.n_equipment, 3);
			assert_string_equal(sl_equipment_type_name(r.equipment[0].type),
					    "ifv");
			assert_int_equal(r.equipment[0].count, 3);
			assert_string_equal(sl_equipment_type_name(r.equipment[1].type),
					    "truck");
			assert_int_equal(r.equipment[1].count, 2);
			assert_string_equal(sl_equipment_type_name(r.equipment[2].type),
					    "air_defence");
			assert_int_equal(r.equipment[2].count, 1);
		}
		sl_arena_reset(a);
	}
	free(line);
	fclose(out);

	/* The text, with the newline inside its quotes, is there sealed for
	 * the moderator. */
	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->a = sl_arena_new(1 << 20);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 3);
	for (size_t i = 0; i < c->n; i++) {
		assert_string_equal(c->r[i].ref, small_texts[i].ref);
		assert_null(c->r[i].text);
		sl_report r;
		unsealed(&t, c->r[i].id, a, &r);
		assert_int_equal(r.n_sealed, 1);
		assert_string_equal(sl_sealed_kind_name(r.sealed[0].kind), "content");
		assert_int_equal(r.sealed[0].created_at, NOW - NOW % 60);
		expect_same_text(small_texts[i].ref, r.text, small_texts[i].text);
		assert_null(r.contact);
		expect_not_on_disk(&t, small_texts[i].text);
		sl_arena_reset(a);
	}
	expect_not_on_disk(&t, "heading south");
	sl_arena_free(c->a);
	free(c);
	sl_arena_free(a);
	store_close(&t);
}

static sl_import_stats import_text(sl_store *s, sl_import_format fmt, const char *text,
				   rejects *rj, sl_err want)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(in);
	sl_import_stats st;
	sl_err got = sl_import(s, fmt, in, NOW, on_reject, rj, &st);
	fclose(in);
	if (got != want)
		fail_msg("import returned \"%s\" after %zu records (%zu rejected), want "
			 "\"%s\"",
			 sl_strerror(got), st.records, st.rejected, sl_strerror(want));
	return st;
}

/* A jsonl line with neither text nor contact. */
#define GOOD(ref)                                                                        \
	"{\"category\":\"road_convoy\",\"observed_at\":\"2022-06-01T10:00:00Z\","        \
	"\"location\":{\"lat\":52.4,\"lon\":31.0},\"ref\":\"" ref "\"}\n"

/* One with a string field (text, contact) too. */
#define WITH(ref, field, value)                                                          \
	"{\"category\":\"road_convoy\",\"observed_at\":\"2022-06-01T10:00:00Z\","        \
	"\"location\":{\"lat\":52.4,\"lon\":31.0},\"ref\":\"" ref "\",\"" field          \
	"\":\"" value "\"}\n"

#define HEADER                                                                           \
	"entry,date,event_group,title,brief description,lat,lon,country,"                \
	"province,district,town/city,arms/munition,violence level,link,geolocation\n"
#define ROW(id) id ",2022-03-03,g,Convoy,Convoy,52.1,23.7,Belarus,,,,,1,,\n"

static void test_cir_bad_files(void **state)
{
	(void)state;
	tmp_store t;
	store_open_moderated(&t);
	rejects rj = {0};

	/* A bad header stops the import, naming the column and line 1. */
	sl_import_stats st = import_text(t.s, SL_IMPORT_CIR_CSV,
					 "entry,date,title\n" ROW("X1"), &rj, SL_EPARSE);
	assert_int_equal(st.records, 0);
	assert_int_equal(rj.n, 1);
	expect_reject(&rj, 0, 1, "header: has no column \"brief description\"");

	/* Nothing at all. */
	rj = (rejects){0};
	import_text(t.s, SL_IMPORT_CIR_CSV, "", &rj, SL_EPARSE);
	expect_reject(&rj, 0, 1, "no header");

	/* Text after a closing quote: that record goes, the next one
	 * stays; a quote left open at the end of the file. */
	rj = (rejects){0};
	st = import_text(t.s, SL_IMPORT_CIR_CSV,
			 HEADER ROW("Q1") "Q2,\"2022-03-03\"x,g\n" ROW(
			     "Q3") "Q4,2022-03-03,\"never closed\n",
			 &rj, SL_OK);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.imported, 2);
	assert_int_equal(st.rejected, 2);
	expect_reject(&rj, 0, 3, "malformed quoting");
	expect_reject(&rj, 1, 5, "ends inside a quoted field");
	store_close(&t);
}

/* The CIR file reuses a few entry ids: the same row repeated is stored
 * once; a different row under a used id is kept as "ID#fingerprint". */
static void test_cir_repeated_ids(void **state)
{
	(void)state;
	tmp_store t;
	store_open_moderated(&t);
	rejects rj = {0};
	const char *text = HEADER ROW("R1")
	    ROW("R1") "R1,2022-03-04,g,Another convoy,x,52.2,23.8,Belarus,,,,,1,,\n" ROW(
		"R2");
	sl_import_stats st = import_text(t.s, SL_IMPORT_CIR_CSV, text, &rj, SL_OK);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.imported, 3);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(rj.n, 0);
	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->a = sl_arena_new(1 << 20);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 3);
	assert_string_equal(c->r[0].ref, "R1");
	assert_int_equal(strlen(c->r[1].ref), 3 + 16);
	assert_memory_equal(c->r[1].ref, "R1#", 3);
	assert_string_equal(c->r[2].ref, "R2");
	sl_arena_free(c->a);
	free(c);

	/* And the same file again adds nothing. */
	st = import_text(t.s, SL_IMPORT_CIR_CSV, text, &rj, SL_OK);
	assert_int_equal(st.imported, 0);
	assert_int_equal(st.duplicate, 4);
	store_close(&t);
}

/* Without a moderator nobody could ever open sealed text, so every record
 * with text or contact is rejected, saying why, and nothing of it reaches
 * the disk; a record with neither is stored. Once a moderator is added, the
 * same file goes in, sealed. */
static void test_import_without_moderator(void **state)
{
	(void)state;
	tmp_store t;
	store_open(&t);
	rejects rj = {0};
	const char *csv = HEADER ROW("N1") /* line 2: text "Convoy" */
	    "N2,2022-03-03,g,Informant Ivanov saw tanks,Tanks behind the farm of "
	    "Ivanov,52.1,23.7,Belarus,,,,,1,https://example.org/secret-link,\n" /* 3 */
	    "N3,2022-03-03,g,,,52.1,23.7,Belarus,,,,,1,,\n" /* 4: no text at all */
	    ROW("N4");					    /* 5 */
	sl_import_stats st = import_text(t.s, SL_IMPORT_CIR_CSV, csv, &rj, SL_OK);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.imported, 1);
	assert_int_equal(st.duplicate, 0);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(rj.n, 3);
	static const long lines[] = {2, 3, 5};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rj.line[i], lines[i]);
		assert_string_equal(rj.why[i], NO_MODERATOR);
	}
	int64_t stored;
	assert_int_equal(sl_store_count_reports(t.s, &stored), SL_OK);
	assert_int_equal(stored, 1);
	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->a = sl_arena_new(1 << 20);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->r[0].ref, "N3");
	assert_null(c->r[0].text);
	assert_null(c->r[0].contact);
	/* The scan does see what is stored in clear (N3's place) ... */
	assert_true(store_files_contain(&t, "Belarus"));
	/* ... and none of what was refused. */
	expect_not_on_disk(&t, "Ivanov");
	expect_not_on_disk(&t, "secret-link");

	/* jsonl the same: contact alone is reason enough. */
	rj = (rejects){0};
	const char *jsonl = WITH("k1", "contact", "+375 29 555 12 34") GOOD("k2")
	    WITH("k3", "text", "Petrov's son drives the lead truck");
	st = import_text(t.s, SL_IMPORT_JSONL, jsonl, &rj, SL_OK);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.imported, 1);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(rj.n, 2);
	assert_int_equal(rj.line[0], 1);
	assert_string_equal(rj.why[0], NO_MODERATOR);
	assert_int_equal(rj.line[1], 3);
	assert_string_equal(rj.why[1], NO_MODERATOR);
	assert_int_equal(sl_store_count_reports(t.s, &stored), SL_OK);
	assert_int_equal(stored, 2);
	expect_not_on_disk(&t, "555 12 34");
	expect_not_on_disk(&t, "Petrov");

	/* With a moderator, what was refused goes in, sealed. */
	add_moderator(&t);
	rj = (rejects){0};
	st = import_text(t.s, SL_IMPORT_CIR_CSV, csv, &rj, SL_OK);
	assert_int_equal(rj.n, 0);
	assert_int_equal(st.imported, 3);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.rejected, 0);
	expect_not_on_disk(&t, "Ivanov");
	expect_not_on_disk(&t, "secret-link");
	c->n = 0;
	sl_arena_reset(c->a);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 5);
	sl_arena *a = sl_arena_new(1 << 20);
	assert_non_null(a);
	sl_report r;
	assert_string_equal(c->r[3].ref, "N2");
	unsealed(&t, c->r[3].id, a, &r);
	expect_same_text("N2", r.text,
			 "Informant Ivanov saw tanks\nTanks behind the farm of Ivanov\n"
			 "Source: https://example.org/secret-link");
	sl_arena_free(a);
	sl_arena_free(c->a);
	free(c);
	store_close(&t);
}

/* However many records are refused, the import goes on to the end: what a
 * refused record held must not pile up until the batch runs out of room
 * (6,000 texts of 7,000 bytes are more than the 32 MiB of a batch). */
static void test_import_without_moderator_many(void **state)
{
	(void)state;
	enum { N = 6000, TEXT = 7000 };
	static const char head[] =
	    "{\"category\":\"road_convoy\",\"observed_at\":\"2022-06-01T10:00:00Z\","
	    "\"location\":{\"lat\":52.4,\"lon\":31.0},\"ref\":\"m%05d\",\"text\":\"";
	size_t cap = (size_t)N * (sizeof(head) + TEXT + 8), used = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i < N; i++) {
		used += (size_t)snprintf(text + used, cap - used, head, i);
		memset(text + used, 'x', TEXT);
		used += TEXT;
		memcpy(text + used, "\"}\n", 3);
		used += 3;
	}
	text[used] = '\0';
	tmp_store t;
	store_open(&t);
	rejects rj = {0};
	sl_import_stats st = import_text(t.s, SL_IMPORT_JSONL, text, &rj, SL_OK);
	assert_int_equal(st.records, N);
	assert_int_equal(st.rejected, N);
	assert_int_equal(st.imported, 0);
	assert_int_equal(rj.n, N);
	assert_string_equal(rj.why[0], NO_MODERATOR);
	assert_string_equal(rj.why[31], NO_MODERATOR);
	int64_t stored;
	assert_int_equal(sl_store_count_reports(t.s, &stored), SL_OK);
	assert_int_equal(stored, 0);
	free(text);
	store_close(&t);
}

/* Runs when ../shared/data is there: every row of the real file is read,
 * every usable one stored, and a second import stores nothing. */
static void test_cir_real_file(void **state)
{
	(void)state;
	const char *dir = getenv("SHARED_DATA");
	char path[1024];
	snprintf(path, sizeof(path), "%s/real/cir-russia-ukraine-monitor-2022.csv",
		 dir ? dir : "../shared/data");
	FILE *in = fopen(path, "r");
	if (!in) {
		print_message("SKIP test_cir_real_file: %s is missing "
			      "(set SHARED_DATA to the shared data folder)\n",
			      path);
		skip();
	}
	tmp_store t;
	store_open_moderated(&t);
	rejects rj = {0};
	sl_import_stats st;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
	    sl_import(t.s, SL_IMPORT_CIR_CSV, in, sl_time_now(), on_reject, &rj, &st),
	    SL_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("real CIR file: %zu records, imported %zu, duplicates %zu, "
		      "rejected %zu, in %.0f ms\n",
		      st.records, st.imported, st.duplicate, st.rejected,
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	for (size_t i = 0; i < rj.n && i < 32; i++) {
		print_message("  line %ld: %s\n", rj.line[i], rj.why[i]);
		if (strstr(rj.why[i], "no moderator"))
			fail_msg("line %ld rejected with a moderator present: %s",
				 rj.line[i], rj.why[i]);
	}
	assert_int_equal(st.records, 6650);
	assert_int_equal(st.imported + st.duplicate + st.rejected, st.records);
	assert_true(st.rejected <= 10);
	assert_true(st.duplicate <= 2); /* rows repeated word for word */
	int64_t stored;
	assert_int_equal(sl_store_count_reports(t.s, &stored), SL_OK);
	assert_int_equal((size_t)stored, st.imported);

	rewind(in);
	sl_import_stats again;
	rejects rj2 = {0};
	assert_int_equal(
	    sl_import(t.s, SL_IMPORT_CIR_CSV, in, sl_time_now(), on_reject, &rj2, &again),
	    SL_OK);
	assert_int_equal(again.records, 6650);
	assert_int_equal(again.imported, 0);
	assert_int_equal(again.duplicate, st.imported + st.duplicate);
	assert_int_equal(again.rejected, st.rejected);
	fclose(in);
	store_close(&t);
}

/* ---- jsonl ---- */

static void expect_same_str(const char *what, const char *a, const char *b)
{
	if (!a || !b) {
		if (a != b)
			fail_msg("%s: \"%s\" vs \"%s\"", what, a ? a : "(null)",
				 b ? b : "(null)");
		return;
	}
	if (strcmp(a, b) != 0)
		fail_msg("%s: \"%s\" vs \"%s\"", what, a, b);
}

static void expect_same_report(const sl_report *a, const sl_report *b)
{
	assert_int_equal(a->category, b->category);
	assert_int_equal(a->observed_at, b->observed_at);
	assert_int_equal(a->has_until, b->has_until);
	if (a->has_until)
		assert_int_equal(a->observed_until, b->observed_until);
	assert_int_equal(a->location.has_point, b->location.has_point);
	assert_true(a->location.lat == b->location.lat);
	assert_true(a->location.lon == b->location.lon);
	assert_true(a->location.uncertainty_m == b->location.uncertainty_m);
	expect_same_str("place", a->location.place, b->location.place);
	assert_int_equal(a->n_equipment, b->n_equipment);
	for (size_t i = 0; i < a->n_equipment; i++) {
		assert_int_equal(a->equipment[i].type, b->equipment[i].type);
		assert_int_equal(a->equipment[i].count, b->equipment[i].count);
		assert_int_equal(a->equipment[i].count_max, b->equipment[i].count_max);
		expect_same_str("model", a->equipment[i].model, b->equipment[i].model);
	}
	assert_int_equal(a->has_heading, b->has_heading);
	if (a->has_heading)
		assert_true(a->heading_deg == b->heading_deg);
	expect_same_str("destination", a->destination, b->destination);
	expect_same_str("text", a->text, b->text);
	expect_same_str("contact", a->contact, b->contact);
	expect_same_str("language", a->language, b->language);
	expect_same_str("ref", a->ref, b->ref);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->received_at, b->received_at);
}

static char *slurp(FILE *f, size_t *len)
{
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Records with text and contact, for the round trip. */
static const struct {
	const char *ref, *text, *contact;
} hand[] = {
    {"hand-1", "Echelon of 30 flatcars, seen from the level crossing at Orsha",
     "signal: +375 29 000 00 01"},
    {"hand-2", NULL, "t.me/nobody_in_particular"},
    {"hand-3", "Three Ka-52 low over the river, heading east", NULL},
};

static void test_jsonl_round_trip(void **state)
{
	(void)state;
	tmp_store a, b;
	store_open_moderated(&a);
	store_open(&b); /* no moderator: the export has nothing to seal */

	/* Demo reports (ranges, models, headings, destinations), CIR ones
	 * (windows, places, long text) and a few with contact. */
	sl_import_stats st;
	assert_int_equal(sl_import(a.s, SL_IMPORT_DEMO, NULL, NOW, NULL, NULL, &st),
			 SL_OK);
	assert_int_equal(st.imported, 500);
	FILE *in = open_data("TEST_DATA", "import/small.csv");
	assert_int_equal(sl_import(a.s, SL_IMPORT_CIR_CSV, in, NOW, NULL, NULL, &st),
			 SL_OK);
	assert_int_equal(st.imported, 3);
	fclose(in);
	char jsonl[4096];
	size_t used = 0;
	for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
		json_t *j =
		    json_pack("{s:s, s:s, s:{s:f, s:f}, s:s}", "category",
			      "rail_transport", "observed_at", "2022-06-01T10:00:00Z",
			      "location", "lat", 54.5, "lon", 30.4, "ref", hand[i].ref);
		assert_non_null(j);
		if (hand[i].text)
			json_object_set_new(j, "text", json_string(hand[i].text));
		if (hand[i].contact)
			json_object_set_new(j, "contact", json_string(hand[i].contact));
		char *line = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		assert_non_null(line);
		used +=
		    (size_t)snprintf(jsonl + used, sizeof(jsonl) - used, "%s\n", line);
		assert_true(used < sizeof(jsonl));
		free(line);
	}
	rejects rj = {0};
	st = import_text(a.s, SL_IMPORT_JSONL, jsonl, &rj, SL_OK);
	assert_int_equal(rj.n, 0);
	assert_int_equal(st.imported, 3);

	FILE *out = tmpfile();
	size_t n_a, n_b;
	assert_int_equal(sl_export_reports_jsonl(a.s, out, &n_a), SL_OK);
	assert_int_equal(n_a, 506);
	rewind(out);
	assert_int_equal(
	    sl_import(b.s, SL_IMPORT_JSONL, out, NOW + 3600, on_reject, &rj, &st), SL_OK);
	for (size_t i = 0; i < rj.n && i < 32; i++)
		print_message("  line %ld: %s\n", rj.line[i], rj.why[i]);
	assert_int_equal(rj.n, 0);
	assert_int_equal(st.records, 506);
	assert_int_equal(st.imported, 506);

	/* Field by field: everything but the sealed parts, which neither
	 * store gives back in clear ... */
	collected *ca = calloc(1, sizeof(*ca)), *cb = calloc(1, sizeof(*cb));
	assert_non_null(ca);
	assert_non_null(cb);
	ca->a = sl_arena_new(64 << 20);
	cb->a = sl_arena_new(64 << 20);
	assert_int_equal(sl_store_each_report(a.s, 0, collect, ca), SL_OK);
	assert_int_equal(sl_store_each_report(b.s, 0, collect, cb), SL_OK);
	assert_int_equal(ca->n, cb->n);
	for (size_t i = 0; i < ca->n; i++) {
		assert_null(ca->r[i].text);
		assert_null(ca->r[i].contact);
		expect_same_report(&ca->r[i], &cb->r[i]);
	}

	/* ... and byte for byte: the second export is the first, and holds
	 * no sealed field. */
	FILE *out2 = tmpfile();
	assert_int_equal(sl_export_reports_jsonl(b.s, out2, &n_b), SL_OK);
	assert_int_equal(n_b, n_a);
	size_t len1, len2;
	char *e1 = slurp(out, &len1), *e2 = slurp(out2, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(e1, e2, len1);
	static const char *const never[] = {
	    "\"text\":",      "\"contact\":", "(demo data)",	     "heading south",
	    "level crossing", "+375",	      "nobody_in_particular"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		const char *at = strstr(e1, never[i]);
		if (at)
			fail_msg("the export holds %s: ...%.80s", never[i], at);
	}

	/* The text comes back sealed: the moderator's key opens each one. */
	sl_arena *ua = sl_arena_new(1 << 20);
	assert_non_null(ua);
	size_t n_demo = 0, n_cir = 0, n_hand = 0;
	for (size_t i = 0; i < ca->n; i++) {
		const char *ref = ca->r[i].ref;
		sl_report r;
		unsealed(&a, ca->r[i].id, ua, &r);
		expect_same_str("ref", r.ref, ref);
		if (strncmp(ref, "demo-", 5) == 0) {
			const char *tail = "(demo data)";
			size_t tl = strlen(tail), len = r.text ? strlen(r.text) : 0;
			if (len < tl || strcmp(r.text + len - tl, tail) != 0)
				fail_msg("%s: text \"%s\" does not end with \"%s\"", ref,
					 r.text ? r.text : "(null)", tail);
			assert_null(r.contact);
			n_demo++;
		} else if (strncmp(ref, "UW", 2) == 0) {
			assert_true(n_cir < sizeof(small_texts) / sizeof(small_texts[0]));
			expect_same_str("ref", ref, small_texts[n_cir].ref);
			expect_same_text(ref, r.text, small_texts[n_cir].text);
			assert_null(r.contact);
			n_cir++;
		} else {
			assert_true(n_hand < sizeof(hand) / sizeof(hand[0]));
			expect_same_str("ref", ref, hand[n_hand].ref);
			expect_same_str("text", r.text, hand[n_hand].text);
			expect_same_str("contact", r.contact, hand[n_hand].contact);
			n_hand++;
		}
		sl_arena_reset(ua);
	}
	assert_int_equal(n_demo, 500);
	assert_int_equal(n_cir, 3);
	assert_int_equal(n_hand, 3);
	expect_not_on_disk(&a, hand[0].text);
	expect_not_on_disk(&a, hand[1].contact);

	/* b got no sealed items: nothing to open there. */
	for (size_t i = 0; i < cb->n; i++) {
		sl_report r;
		assert_int_equal(sl_store_get_report(b.s, cb->r[i].id, 0, ua, &r), SL_OK);
		assert_int_equal(r.n_sealed, 0);
		sl_arena_reset(ua);
	}
	sl_arena_free(ua);

	/* Importing the export again adds nothing. */
	rewind(out);
	assert_int_equal(sl_import(b.s, SL_IMPORT_JSONL, out, NOW, NULL, NULL, &st),
			 SL_OK);
	assert_int_equal(st.imported, 0);
	assert_int_equal(st.duplicate, 506);

	free(e1);
	free(e2);
	fclose(out);
	fclose(out2);
	sl_arena_free(ca->a);
	sl_arena_free(cb->a);
	free(ca);
	free(cb);
	store_close(&a);
	store_close(&b);
}

static void test_jsonl_bad_lines(void **state)
{
	(void)state;
	tmp_store t;
	store_open(&t);
	size_t big = 1024 * 1024 + 10;
	const char *head = GOOD(
	    "j1") "{\"category\": \"road_convoy\", \"observed_at\": \n" /* 2: malformed */
		  "{\"category\":\"spaceship\",\"observed_at\":\"2022-06-01T10:00:00Z\","
		  "\"location\":{\"lat\":52.4,\"lon\":31.0}}\n" /* 3: invalid field */
		  "\n"						/* 4: blank */
		  "   \r\n"					/* 5: blank */
	    GOOD("j2");						/* 6 */
	const char *tail = "\n" GOOD("j3")			/* 8 */
	    "{\"category\":\"road_convoy\",\"observed_at\":\"2022-06-01T10:00:00Z\","
	    "\"location\":{\"lat\":95,\"lon\":31.0},\"ref\":\"j4\"}\n" /* 9: lat */
	    "[1,2,3]\n" /* 10: not an object */
	    GOOD("j5"); /* 11, and no newline after: */
	size_t hl = strlen(head), tl = strlen(tail);
	char *text = malloc(hl + big + tl + 1);
	assert_non_null(text);
	memcpy(text, head, hl);
	memcpy(text + hl, "{\"text\":\"", 9); /* 7: over-long line */
	memset(text + hl + 9, 'x', big - 9);
	memcpy(text + hl + big, tail, tl);
	text[hl + big + tl - 1] = '\0'; /* the last line has no newline */

	rejects rj = {0};
	sl_import_stats st = import_text(t.s, SL_IMPORT_JSONL, text, &rj, SL_OK);
	assert_int_equal(st.records, 9);
	assert_int_equal(st.imported, 4);
	assert_int_equal(st.rejected, 5);
	assert_int_equal(rj.n, 5);
	expect_reject(&rj, 0, 2, "");
	expect_reject(&rj, 1, 3, "category");
	expect_reject(&rj, 2, 7, "longer than the limit of 1 MiB");
	expect_reject(&rj, 3, 9, "location.lat");
	expect_reject(&rj, 4, 10, "");
	for (size_t i = 0; i < rj.n; i++)
		assert_true(strlen(rj.why[i]) > 0);

	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->a = sl_arena_new(1 << 20);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 4);
	assert_string_equal(c->r[0].ref, "j1");
	assert_string_equal(c->r[1].ref, "j2");
	assert_string_equal(c->r[2].ref, "j3");
	assert_string_equal(c->r[3].ref, "j5");
	sl_arena_free(c->a);
	free(c);
	free(text);
	store_close(&t);
}

/* ---- demo ---- */

static void test_demo_twice(void **state)
{
	(void)state;
	tmp_store t;
	store_open_moderated(&t);
	rejects rj = {0};
	sl_import_stats st;
	assert_int_equal(sl_import(t.s, SL_IMPORT_DEMO, NULL, NOW, on_reject, &rj, &st),
			 SL_OK);
	assert_int_equal(rj.n, 0);
	assert_int_equal(st.records, 500);
	assert_int_equal(st.imported, 500);
	assert_int_equal(
	    sl_import(t.s, SL_IMPORT_DEMO, NULL, NOW + 86400, on_reject, &rj, &st),
	    SL_OK);
	assert_int_equal(st.imported, 0);
	assert_int_equal(st.duplicate, 500);
	assert_int_equal(rj.n, 0);

	/* Plausible: all in Belarus, in the 30 days before now, and every
	 * category a monitor sees most is there. */
	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->a = sl_arena_new(8 << 20);
	assert_int_equal(sl_store_each_report(t.s, 0, collect, c), SL_OK);
	assert_int_equal(c->n, 500);
	size_t per_cat[SL_CAT_COUNT] = {0};
	for (size_t i = 0; i < c->n; i++) {
		const sl_report *r = &c->r[i];
		char ref[32];
		snprintf(ref, sizeof(ref), "demo-%04d", (int)i + 1);
		assert_string_equal(r->ref, ref);
		assert_true(r->location.has_point);
		assert_true(r->location.lat > 51.2 && r->location.lat < 56.2);
		assert_true(r->location.lon > 23.1 && r->location.lon < 32.8);
		assert_true(r->observed_at >= NOW - 30 * 86400 && r->observed_at <= NOW);
		assert_true(r->n_equipment >= 1);
		per_cat[r->category]++;
	}
	assert_true(per_cat[SL_CAT_RAIL_TRANSPORT] > 100);
	assert_true(per_cat[SL_CAT_ROAD_CONVOY] > 50);
	assert_true(per_cat[SL_CAT_AIRCRAFT] > 20);
	assert_true(per_cat[SL_CAT_HELICOPTER] > 20);
	sl_arena_free(c->a);
	free(c);
	store_close(&t);
}

/* The same now gives the same set, byte for byte. */
static void test_demo_deterministic(void **state)
{
	(void)state;
	tmp_store a, b;
	store_open_moderated(&a);
	store_open_moderated(&b);
	assert_int_equal(sl_import(a.s, SL_IMPORT_DEMO, NULL, NOW, NULL, NULL, NULL),
			 SL_OK);
	assert_int_equal(sl_import(b.s, SL_IMPORT_DEMO, NULL, NOW, NULL, NULL, NULL),
			 SL_OK);
	FILE *ea = tmpfile(), *eb = tmpfile();
	assert_int_equal(sl_export_reports_jsonl(a.s, ea, NULL), SL_OK);
	assert_int_equal(sl_export_reports_jsonl(b.s, eb, NULL), SL_OK);
	size_t la, lb;
	char *ta = slurp(ea, &la), *tb = slurp(eb, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ta, tb, la);
	free(ta);
	free(tb);
	fclose(ea);
	fclose(eb);
	store_close(&a);
	store_close(&b);
}

static void test_import_bad_arguments(void **state)
{
	(void)state;
	sl_import_stats st;
	tmp_store t;
	store_open(&t);
	assert_int_equal(sl_import(NULL, SL_IMPORT_DEMO, NULL, NOW, NULL, NULL, &st),
			 SL_EINVAL);
	assert_int_equal(sl_import(t.s, SL_IMPORT_JSONL, NULL, NOW, NULL, NULL, &st),
			 SL_EINVAL);
	assert_int_equal(
	    sl_import(t.s, (sl_import_format)42, stdin, NOW, NULL, NULL, &st), SL_EINVAL);
	assert_int_equal(sl_export_reports_jsonl(t.s, NULL, NULL), SL_EINVAL);
	store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_names),
	    cmocka_unit_test(test_cir_header),
	    cmocka_unit_test(test_cir_header_missing_column),
	    cmocka_unit_test(test_cir_train_with_tanks),
	    cmocka_unit_test(test_cir_record_fields),
	    cmocka_unit_test(test_cir_today_ends_now),
	    cmocka_unit_test(test_cir_blank_entry_gets_fingerprint),
	    cmocka_unit_test(test_cir_word_boundaries),
	    cmocka_unit_test(test_cir_categories),
	    cmocka_unit_test(test_cir_equipment_counts),
	    cmocka_unit_test(test_cir_bad_values),
	    cmocka_unit_test(test_cir_long_text),
	    cmocka_unit_test(test_cir_file_line_numbers),
	    cmocka_unit_test(test_cir_bad_files),
	    cmocka_unit_test(test_cir_repeated_ids),
	    cmocka_unit_test(test_import_without_moderator),
	    cmocka_unit_test(test_import_without_moderator_many),
	    cmocka_unit_test(test_cir_real_file),
	    cmocka_unit_test(test_jsonl_round_trip),
	    cmocka_unit_test(test_jsonl_bad_lines),
	    cmocka_unit_test(test_demo_twice),
	    cmocka_unit_test(test_demo_deterministic),
	    cmocka_unit_test(test_import_bad_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
