/*
 * test_store.c — the SQLite store backend (src/store/sqlite.c).
 *
 * Each test gets a fresh data directory under /tmp (removed afterwards) and
 * talks to the store through the public API only; where a test must see
 * what is on disk (user_version, journal mode, damage) it opens the file
 * with SQLite directly while the store is closed.
 */
#define _GNU_SOURCE /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sightline/store.h"

/* The newest schema version sqlite.c knows; bump with each migration. */
#define SCHEMA_VERSION 1

typedef struct fixture {
	char root[64]; /* mkdtemp'd */
	char dir[96];  /* root/data: the store creates it */
	char db[128];  /* dir/sightline.db */
	sl_store *s;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->root, "/tmp/sl-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
	snprintf(f->db, sizeof(f->db), "%s/sightline.db", f->dir);
	assert_int_equal(sl_store_open(f->dir, &f->s), SL_OK);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void reopen(fixture *f)
{
	sl_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sl_store_open(f->dir, &f->s), SL_OK);
}

/* Runs a one-value query on the database file with a connection of our own
 * and returns the value as text in buf. */
static void query_file(const char *db, const char *sql, char *buf, size_t size)
{
	sqlite3 *conn;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(conn), SQLITE_OK);
}

static void exec_file(const char *db, const char *sql)
{
	sqlite3 *conn;
	assert_int_equal(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(conn, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(conn), SQLITE_OK);
}

/* --- reports to store ------------------------------------------------------ */

static sl_equipment full_equipment[] = {
    {SL_EQ_TANK, "T-72B3", 10, 12},
    {SL_EQ_TRUCK, NULL, 20, 0},
    {SL_EQ_AIR_DEFENCE, "Панцирь-С1 \"Pantsir\" \\ ё", 1, 3},
};

/* Every field set, strings with quotes, backslashes, newlines, Cyrillic
 * and SQL, so that neither the JSON nor the SQL path may mangle them. */
static sl_report full_report(void)
{
	sl_report r = {0};
	r.category = SL_CAT_RAIL_TRANSPORT;
	r.observed_at = 1700000000;
	r.has_until = true;
	r.observed_until = 1700003600;
	r.location.has_point = true;
	r.location.lat = 53.30771234567891;
	r.location.lon = 28.64133;
	r.location.uncertainty_m = 250.5;
	r.location.place = "Асіповічы, станция";
	r.n_equipment = 3;
	r.equipment = full_equipment;
	r.has_heading = true;
	r.heading_deg = 337.5;
	r.destination = "Minsk";
	r.text = "Long train, \"tanks\" under tarps.\n\tЭшелон; DROP TABLE reports;--";
	r.contact = "@someone";
	r.language = "be";
	r.ref = "ext-1";
	r.status = SL_STATUS_UNDER_REVIEW;
	r.received_at = 1700003640;
	r.has_receipt = true;
	for (int i = 0; i < 32; i++)
		r.receipt_hash[i] = (uint8_t)(i * 37); /* includes a 0 byte */
	return r;
}

/* Nothing optional. */
static sl_report minimal_report(int64_t observed_at)
{
	sl_report r = {0};
	r.category = SL_CAT_OTHER;
	r.observed_at = observed_at;
	r.status = SL_STATUS_RECEIVED;
	r.received_at = observed_at + 60;
	return r;
}

/* --- comparing -------------------------------------------------------------- */

#define assert_double_same(a, b)                                                         \
	do {                                                                             \
		double a_ = (a), b_ = (b);                                               \
		if (!(a_ == b_))                                                         \
			fail_msg("%s: %.17g != %.17g", #a, a_, b_);                      \
	} while (0)

#define assert_str_opt(a, b)                                                             \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		if (!a_ || !b_) {                                                        \
			if (a_ != b_)                                                    \
				fail_msg("%s: \"%s\" != \"%s\"", #a, a_ ? a_ : "(NULL)", \
					 b_ ? b_ : "(NULL)");                            \
		} else {                                                                 \
			assert_string_equal(a_, b_);                                     \
		}                                                                        \
	} while (0)

static void assert_report_equal(const sl_report *want, const sl_report *got)
{
	assert_int_equal(got->id, want->id);
	assert_int_equal(got->category, want->category);
	assert_int_equal(got->observed_at, want->observed_at);
	assert_int_equal(got->has_until, want->has_until);
	if (want->has_until)
		assert_int_equal(got->observed_until, want->observed_until);
	assert_int_equal(got->location.has_point, want->location.has_point);
	if (want->location.has_point) {
		assert_double_same(got->location.lat, want->location.lat);
		assert_double_same(got->location.lon, want->location.lon);
		assert_double_same(got->location.uncertainty_m,
				   want->location.uncertainty_m);
	}
	assert_str_opt(got->location.place, want->location.place);
	assert_int_equal(got->n_equipment, want->n_equipment);
	for (size_t i = 0; i < want->n_equipment; i++) {
		assert_int_equal(got->equipment[i].type, want->equipment[i].type);
		assert_str_opt(got->equipment[i].model, want->equipment[i].model);
		assert_int_equal(got->equipment[i].count, want->equipment[i].count);
		assert_int_equal(got->equipment[i].count_max,
				 want->equipment[i].count_max);
	}
	assert_int_equal(got->has_heading, want->has_heading);
	if (want->has_heading)
		assert_double_same(got->heading_deg, want->heading_deg);
	assert_str_opt(got->destination, want->destination);
	assert_str_opt(got->text, want->text);
	assert_str_opt(got->contact, want->contact);
	assert_str_opt(got->language, want->language);
	assert_str_opt(got->ref, want->ref);
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->received_at, want->received_at);
	assert_int_equal(got->has_receipt, want->has_receipt);
	if (want->has_receipt)
		assert_memory_equal(got->receipt_hash, want->receipt_hash, 32);
}

/* each_report visitor collecting copies of the ids seen and checking each
 * report against an expected one when given. */
typedef struct seen {
	const sl_report *const *want; /* want[i] for the i-th visit, or NULL */
	size_t n, stop_at;	      /* stop_at: return SL_ECLOSED at that visit */
	int64_t ids[1024];
	sl_store *s; /* when set, call back into the store from visit */
	int64_t last_count;
} seen;

static sl_err visit(void *ud, const sl_report *r)
{
	seen *v = ud;
	if (v->stop_at && v->n + 1 == v->stop_at)
		return SL_ECLOSED;
	if (v->want)
		assert_report_equal(v->want[v->n], r);
	if (v->s) {
		char *val = NULL;
		assert_int_equal(sl_store_count_reports(v->s, &v->last_count), SL_OK);
		assert_int_equal(sl_store_meta_get(v->s, "nothing", &val), SL_ENOTFOUND);
	}
	assert_true(v->n < 1024);
	v->ids[v->n++] = r->id;
	return SL_OK;
}

static void put_one(sl_store *s, sl_report *r, sl_put_result want)
{
	sl_put_result res = 99;
	sl_report *rs[] = {r};
	assert_int_equal(sl_store_put_reports(s, rs, 1, &res), SL_OK);
	assert_int_equal(res, want);
}

static int64_t count(sl_store *s)
{
	int64_t n = -1;
	assert_int_equal(sl_store_count_reports(s, &n), SL_OK);
	return n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_open_creates_private_dir(void **state)
{
	fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(access(f->db, F_OK), 0);

	sl_store_close(f->s);
	f->s = NULL;
	char buf[64];
	query_file(f->db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	query_file(f->db, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), SCHEMA_VERSION);
}

static void test_round_trip_full(void **state)
{
	fixture *f = *state;
	sl_report r = full_report();
	put_one(f->s, &r, SL_PUT_INSERTED);
	assert_int_equal(r.id, 1);

	const sl_report *want[] = {&r};
	seen v = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &v), SL_OK);
	assert_int_equal(v.n, 1);
}

static void test_round_trip_minimal(void **state)
{
	fixture *f = *state;
	sl_report r = minimal_report(1700000000);
	put_one(f->s, &r, SL_PUT_INSERTED);

	/* Present but zero or empty is not absent. */
	sl_report z = minimal_report(1700000100);
	z.has_until = true;
	z.observed_until = z.observed_at;
	z.location.has_point = true; /* 0, 0, radius 0 */
	z.location.place = "";
	z.has_heading = true; /* due north */
	z.text = "";
	z.language = "";
	z.has_receipt = true; /* all zero bytes */
	sl_equipment eq[] = {{SL_EQ_TANK, "", 1, 0}};
	z.n_equipment = 1;
	z.equipment = eq;
	put_one(f->s, &z, SL_PUT_INSERTED);

	const sl_report *want[] = {&r, &z};
	seen v = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &v), SL_OK);
	assert_int_equal(v.n, 2);
}

/* The schema's CHECK lists must accept every name report.c has. */
static void test_every_name_stores(void **state)
{
	fixture *f = *state;
	enum {
		N = (int)SL_CAT_COUNT > (int)SL_STATUS_COUNT ? (int)SL_CAT_COUNT
							     : (int)SL_STATUS_COUNT
	};
	sl_report rs[N];
	sl_report *ptrs[N];
	const sl_report *want[N];
	sl_put_result res[N];
	sl_equipment eq[SL_EQ_COUNT];
	for (int t = 0; t < SL_EQ_COUNT; t++)
		eq[t] = (sl_equipment){(sl_equipment_type)t, NULL, t + 1, 0};
	for (int i = 0; i < N; i++) {
		rs[i] = minimal_report(1700000000 + i);
		rs[i].category = (sl_category)(i % SL_CAT_COUNT);
		rs[i].status = (sl_report_status)(i % SL_STATUS_COUNT);
		rs[i].n_equipment = SL_EQ_COUNT;
		rs[i].equipment = eq;
		ptrs[i] = &rs[i];
		want[i] = &rs[i];
	}
	assert_int_equal(sl_store_put_reports(f->s, ptrs, N, res), SL_OK);
	seen v = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &v), SL_OK);
	assert_int_equal(v.n, N);
}

static void test_duplicate_ref_across_batches(void **state)
{
	fixture *f = *state;
	sl_report a = minimal_report(1700000000);
	a.ref = "import-42";
	put_one(f->s, &a, SL_PUT_INSERTED);
	assert_int_equal(a.id, 1);

	sl_report b = minimal_report(1700000001);
	b.ref = "import-42";
	b.id = 77;
	put_one(f->s, &b, SL_PUT_DUPLICATE);
	assert_int_equal(b.id, 0);
	assert_int_equal(count(f->s), 1);

	/* The first one stays as it was. */
	const sl_report *want[] = {&a};
	seen v = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &v), SL_OK);
	assert_int_equal(v.n, 1);
}

static void test_duplicate_ref_within_batch(void **state)
{
	fixture *f = *state;
	sl_report r[5];
	sl_report *ptrs[5];
	for (int i = 0; i < 5; i++) {
		r[i] = minimal_report(1700000000 + i);
		ptrs[i] = &r[i];
	}
	r[0].ref = "x";
	r[1].ref = "x";	 /* repeats r[0] */
	r[2].ref = NULL; /* absent refs never conflict */
	r[3].ref = NULL;
	r[4].ref = "y";
	sl_put_result res[5];
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 5, res), SL_OK);
	assert_int_equal(res[0], SL_PUT_INSERTED);
	assert_int_equal(res[1], SL_PUT_DUPLICATE);
	assert_int_equal(res[2], SL_PUT_INSERTED);
	assert_int_equal(res[3], SL_PUT_INSERTED);
	assert_int_equal(res[4], SL_PUT_INSERTED);
	assert_int_equal(r[1].id, 0);
	assert_true(r[0].id > 0 && r[2].id > r[0].id && r[3].id > r[2].id &&
		    r[4].id > r[3].id);
	assert_int_equal(count(f->s), 4);
}

static void test_receipt_status(void **state)
{
	fixture *f = *state;
	sl_report a = full_report();
	sl_report b = full_report();
	b.ref = "other";
	b.receipt_hash[0] ^= 1;
	b.status = SL_STATUS_REJECTED;
	sl_report c = minimal_report(1700000000); /* no receipt */
	sl_report *ptrs[] = {&a, &b, &c};
	sl_put_result res[3];
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 3, res), SL_OK);

	sl_report_status st = SL_STATUS_COUNT;
	assert_int_equal(sl_store_report_status(f->s, a.receipt_hash, &st), SL_OK);
	assert_int_equal(st, SL_STATUS_UNDER_REVIEW);
	assert_int_equal(sl_store_report_status(f->s, b.receipt_hash, &st), SL_OK);
	assert_int_equal(st, SL_STATUS_REJECTED);

	uint8_t unknown[32] = {0};
	assert_int_equal(sl_store_report_status(f->s, unknown, &st), SL_ENOTFOUND);
	memcpy(unknown, a.receipt_hash, 32);
	unknown[31] ^= 0x80;
	assert_int_equal(sl_store_report_status(f->s, unknown, &st), SL_ENOTFOUND);
}

static void test_meta(void **state)
{
	fixture *f = *state;
	char *v = NULL;
	assert_int_equal(sl_store_meta_get(f->s, "seal.key_id", &v), SL_ENOTFOUND);
	assert_null(v);

	assert_int_equal(sl_store_meta_set(f->s, "seal.key_id", "k1"), SL_OK);
	assert_int_equal(sl_store_meta_get(f->s, "seal.key_id", &v), SL_OK);
	assert_string_equal(v, "k1");
	free(v);

	assert_int_equal(sl_store_meta_set(f->s, "seal.key_id", "k2 — второй"), SL_OK);
	assert_int_equal(sl_store_meta_set(f->s, "empty", ""), SL_OK);
	assert_int_equal(sl_store_meta_get(f->s, "seal.key_id", &v), SL_OK);
	assert_string_equal(v, "k2 — второй");
	free(v);
	assert_int_equal(sl_store_meta_get(f->s, "empty", &v), SL_OK);
	assert_string_equal(v, "");
	free(v);

	assert_int_equal(sl_store_meta_set(f->s, NULL, "x"), SL_EINVAL);
	assert_int_equal(sl_store_meta_set(f->s, "x", NULL), SL_EINVAL);
}

static void test_count(void **state)
{
	fixture *f = *state;
	assert_int_equal(count(f->s), 0);
	sl_report r[10];
	sl_report *ptrs[10];
	sl_put_result res[10];
	for (int i = 0; i < 10; i++) {
		r[i] = minimal_report(1700000000 + i);
		ptrs[i] = &r[i];
	}
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 7, res), SL_OK);
	assert_int_equal(count(f->s), 7);
	assert_int_equal(sl_store_put_reports(f->s, ptrs + 7, 3, res), SL_OK);
	assert_int_equal(count(f->s), 10);
	/* An empty batch is a no-op. */
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 0, res), SL_OK);
	assert_int_equal(count(f->s), 10);
}

/* Enough reports for several of the backend's internal pages. */
#define MANY 300

static void put_many(sl_store *s, int n)
{
	sl_report *r = calloc((size_t)n, sizeof(*r));
	sl_report **ptrs = calloc((size_t)n, sizeof(*ptrs));
	sl_put_result *res = calloc((size_t)n, sizeof(*res));
	assert_non_null(r);
	assert_non_null(ptrs);
	assert_non_null(res);
	for (int i = 0; i < n; i++) {
		r[i] = full_report();
		r[i].ref = NULL;
		r[i].receipt_hash[0] = (uint8_t)i;
		r[i].receipt_hash[1] = (uint8_t)(i >> 8);
		r[i].receipt_hash[2] = 0xAA;
		ptrs[i] = &r[i];
	}
	assert_int_equal(sl_store_put_reports(s, ptrs, (size_t)n, res), SL_OK);
	free(r);
	free(ptrs);
	free(res);
}

static void test_each_after_id_and_stop(void **state)
{
	fixture *f = *state;
	put_many(f->s, MANY);

	seen *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(sl_store_each_report(f->s, 0, visit, v), SL_OK);
	assert_int_equal(v->n, MANY);
	for (int i = 0; i < MANY; i++)
		assert_int_equal(v->ids[i], i + 1);

	memset(v, 0, sizeof(*v));
	assert_int_equal(sl_store_each_report(f->s, 150, visit, v), SL_OK);
	assert_int_equal(v->n, MANY - 150);
	assert_int_equal(v->ids[0], 151);
	assert_int_equal(v->ids[v->n - 1], MANY);

	memset(v, 0, sizeof(*v));
	assert_int_equal(sl_store_each_report(f->s, MANY, visit, v), SL_OK);
	assert_int_equal(v->n, 0);

	/* Stops at the first non-OK and returns it: the third visit says no. */
	memset(v, 0, sizeof(*v));
	v->stop_at = 3;
	assert_int_equal(sl_store_each_report(f->s, 10, visit, v), SL_ECLOSED);
	assert_int_equal(v->n, 2);
	assert_int_equal(v->ids[1], 12);

	/* Across a page boundary too. */
	memset(v, 0, sizeof(*v));
	v->stop_at = 100;
	assert_int_equal(sl_store_each_report(f->s, 0, visit, v), SL_ECLOSED);
	assert_int_equal(v->n, 99);

	/* visit may call back into the store without deadlock. */
	memset(v, 0, sizeof(*v));
	v->s = f->s;
	assert_int_equal(sl_store_each_report(f->s, 0, visit, v), SL_OK);
	assert_int_equal(v->n, MANY);
	assert_int_equal(v->last_count, MANY);

	assert_int_equal(sl_store_each_report(f->s, 0, NULL, v), SL_EINVAL);
	free(v);
}

static void test_reopen_keeps_data(void **state)
{
	fixture *f = *state;
	sl_report r = full_report();
	put_one(f->s, &r, SL_PUT_INSERTED);
	assert_int_equal(sl_store_meta_set(f->s, "k", "v"), SL_OK);

	reopen(f);
	assert_int_equal(count(f->s), 1);
	char *v = NULL;
	assert_int_equal(sl_store_meta_get(f->s, "k", &v), SL_OK);
	assert_string_equal(v, "v");
	free(v);
	const sl_report *want[] = {&r};
	seen sv = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &sv), SL_OK);
	assert_int_equal(sv.n, 1);
	/* The ref is still taken after reopening. */
	sl_report again = full_report();
	again.receipt_hash[5] ^= 1;
	put_one(f->s, &again, SL_PUT_DUPLICATE);

	sl_store_close(f->s);
	f->s = NULL;
	char buf[64];
	query_file(f->db, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), SCHEMA_VERSION);
	/* Had a migration run twice, it would have failed on the existing
	 * table (and the open above with it); the tables exist once. */
	query_file(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'reports'",
		   buf, sizeof(buf));
	assert_string_equal(buf, "1");

	/* A third open, and ids keep growing (not densely: the refused
	 * duplicate above used one up). */
	assert_int_equal(sl_store_open(f->dir, &f->s), SL_OK);
	sl_report next = minimal_report(1700000000);
	put_one(f->s, &next, SL_PUT_INSERTED);
	assert_in_range(next.id, r.id + 1, r.id + 2);
}

static void test_newer_schema_refused(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	f->s = NULL;
	exec_file(f->db, "PRAGMA user_version = 99");
	sl_store *s = (sl_store *)0x1;
	assert_int_equal(sl_store_open(f->dir, &s), SL_ESTORE);
	assert_null(s);
}

static void test_check_ok(void **state)
{
	fixture *f = *state;
	assert_int_equal(sl_store_check(f->s), SL_OK);
	put_many(f->s, MANY);
	assert_int_equal(sl_store_check(f->s), SL_OK);
}

/* Overwrites the last page of the file (table or index b-tree pages, never
 * the schema on page 1) with garbage: check must notice. */
static void test_check_finds_damage(void **state)
{
	fixture *f = *state;
	put_many(f->s, MANY);
	sl_store_close(f->s); /* checkpoints the WAL into the file */
	f->s = NULL;

	char buf[64];
	query_file(f->db, "PRAGMA page_size", buf, sizeof(buf));
	long page = atol(buf);
	int fd = open(f->db, O_WRONLY);
	assert_true(fd >= 0);
	off_t size = lseek(fd, 0, SEEK_END);
	assert_true(size >= 4 * page);
	char *junk = malloc((size_t)page);
	assert_non_null(junk);
	memset(junk, 0x5A, (size_t)page);
	assert_int_equal(pwrite(fd, junk, (size_t)page, size - page), page);
	close(fd);
	free(junk);

	assert_int_equal(sl_store_open(f->dir, &f->s), SL_OK);
	assert_int_equal(sl_store_check(f->s), SL_ESTORE);
}

static void test_uncreatable_dir(void **state)
{
	fixture *f = *state;
	char path[160];
	sl_store *s = (sl_store *)0x1;

	/* A directory under a regular file. */
	snprintf(path, sizeof(path), "%s/sightline.db/sub", f->dir);
	assert_int_equal(sl_store_open(path, &s), SL_EIO);
	assert_null(s);

	/* A missing parent: only the last component is created. */
	s = (sl_store *)0x1;
	snprintf(path, sizeof(path), "%s/no/such", f->root);
	assert_int_equal(sl_store_open(path, &s), SL_EIO);
	assert_null(s);

	/* A regular file where the directory should be. */
	s = (sl_store *)0x1;
	assert_int_equal(sl_store_open(f->db, &s), SL_EIO);
	assert_null(s);

	assert_int_equal(sl_store_open(NULL, &s), SL_EINVAL);
}

/* One bad report in a batch and none of the batch is stored. */
static void test_rollback_on_check_violation(void **state)
{
	fixture *f = *state;
	sl_report r[3];
	sl_report *ptrs[3];
	sl_put_result res[3];
	for (int i = 0; i < 3; i++) {
		r[i] = full_report();
		r[i].receipt_hash[0] = (uint8_t)i;
		r[i].ref = NULL;
		ptrs[i] = &r[i];
	}
	r[2].status = (sl_report_status)99; /* refused by the CHECK on status */
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 3, res), SL_ESTORE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].id, 0);
	assert_int_equal(count(f->s), 0);

	/* The same with a category out of range, first in the batch. */
	r[2].status = SL_STATUS_RECEIVED;
	r[0].category = (sl_category)SL_CAT_COUNT;
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 3, res), SL_ESTORE);
	assert_int_equal(count(f->s), 0);

	/* The connection is not left inside a transaction. */
	r[0].category = SL_CAT_NAVAL;
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 3, res), SL_OK);
	assert_int_equal(count(f->s), 3);
	assert_int_equal(r[0].id, 1);
}

static void test_rollback_on_receipt_collision(void **state)
{
	fixture *f = *state;
	sl_report a = full_report();
	sl_report b = full_report();
	b.ref = "other";
	sl_report *ptrs[] = {&a, &b};
	sl_put_result res[2];
	/* Same receipt hash twice is a failure, not a duplicate. */
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 2, res), SL_ESTORE);
	assert_int_equal(a.id, 0);
	assert_int_equal(count(f->s), 0);
}

/* Writers and readers on many threads at once. */
typedef struct worker {
	sl_store *s;
	int writer;
	sl_err err;
} worker;

#define WRITE_ROUNDS 50

static void *work(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < WRITE_ROUNDS && !w->err; i++) {
		if (w->writer) {
			sl_report r[2] = {minimal_report(1700000000 + i),
					  minimal_report(1700000000 + i)};
			sl_report *ptrs[] = {&r[0], &r[1]};
			sl_put_result res[2];
			w->err = sl_store_put_reports(w->s, ptrs, 2, res);
		} else {
			int64_t n;
			seen *v = calloc(1, sizeof(*v));
			w->err = sl_store_count_reports(w->s, &n);
			if (!w->err)
				w->err = sl_store_each_report(w->s, n > 10 ? n - 10 : 0,
							      visit, v);
			free(v);
		}
	}
	return NULL;
}

static void test_concurrent_use(void **state)
{
	fixture *f = *state;
	enum { THREADS = 8 };
	pthread_t t[THREADS];
	worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){f->s, i % 2, SL_OK};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].err, SL_OK);
	}
	assert_int_equal(count(f->s), THREADS / 2 * WRITE_ROUNDS * 2);
	assert_int_equal(sl_store_check(f->s), SL_OK);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		T(test_open_creates_private_dir),
		T(test_round_trip_full),
		T(test_round_trip_minimal),
		T(test_every_name_stores),
		T(test_duplicate_ref_across_batches),
		T(test_duplicate_ref_within_batch),
		T(test_receipt_status),
		T(test_meta),
		T(test_count),
		T(test_each_after_id_and_stop),
		T(test_reopen_keeps_data),
		T(test_newer_schema_refused),
		T(test_check_ok),
		T(test_check_finds_damage),
		T(test_uncreatable_dir),
		T(test_rollback_on_check_violation),
		T(test_rollback_on_receipt_collision),
		T(test_concurrent_use),
	};
	/* clang-format on */
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
