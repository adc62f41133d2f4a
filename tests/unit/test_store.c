/*
 * test_store.c — the store backends (src/store/sqlite.c, postgres.c).
 *
 * Each test gets a fresh data directory under /tmp (removed afterwards) and,
 * on PostgreSQL, a fresh database (tests/teststore.h: the same tests run on
 * both backends), and talks to the store through the public API only;
 * where a test must see what is in the database (the schema version,
 * damage) it asks with a connection of its own. Where a test must show
 * that something never reached the disk, or left it (text and contact,
 * purged items, a removed moderator's keys), it searches the raw bytes of
 * sightline.db and sightline.db-wal, or of the PostgreSQL database's files,
 * the cluster's WAL and log, and every row. What PostgreSQL cannot do
 * (zero deleted rows in its files at once) is said where it matters.
 *
 * The store never decrypts, so sealed items here are fake: recognisable
 * byte patterns for ciphers and wrapped keys, and filled key records for
 * moderators (test_sealing.c does the real crypto).
 */
#define _GNU_SOURCE /* nftw, memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sightline/arena.h"
#include "sightline/store.h"

#include "teststore.h"

/* The newest schema version sqlite.c knows; bump with each migration. */
#define SCHEMA_VERSION 5
/* The same for postgres.c, whose own steps began at its version 1. */
#define PG_SCHEMA_VERSION 2

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
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	teststore_drop(f->dir);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void reopen(fixture *f)
{
	sl_store_close(f->s);
	f->s = NULL;
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
}

/* Starts over with an empty store in the same place. */
static void reopen_empty(fixture *f)
{
	sl_store_close(f->s);
	f->s = NULL;
	teststore_drop(f->dir);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
}

/* Runs a one-value query on the database with a connection of our own and
 * returns the value as text in buf. */
static void query_file(const fixture *f, const char *sql, char *buf, size_t size)
{
	if (!teststore_query(f->dir, sql, buf, size))
		fail_msg("%s: %s", sql, buf);
}

static void exec_file(const fixture *f, const char *sql)
{
	teststore_exec(f->dir, sql);
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
	/* Never stored in clear, whatever the report had: they reach the disk
	 * only as sealed items. */
	assert_str_opt(got->text, NULL);
	assert_str_opt(got->contact, NULL);
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

/* --- raw bytes on disk ------------------------------------------------------ */

/* True when the files of the store (or, on PostgreSQL, a row) hold the
 * string s. */
static bool on_disk(const fixture *f, const char *s)
{
	return teststore_holds(f->dir, s, strlen(s), TESTSTORE_FILES | TESTSTORE_ROWS);
}

/* Fails, naming the place, when the store's files or rows hold s. */
static void assert_not_on_disk(const fixture *f, const char *s)
{
	const char *at = teststore_holds(f->dir, s, strlen(s),
					 TESTSTORE_FILES | TESTSTORE_ROWS);
	if (at)
		fail_msg("\"%s\" found in %s", s, at);
}

static void assert_on_disk(const fixture *f, const char *s)
{
	if (!on_disk(f, s))
		fail_msg("\"%s\" is nowhere in the store of %s", s, f->dir);
}

/* Deleted, and gone as far as the backend can make it: from SQLite's
 * files (secure_delete, checkpoint); from every row of PostgreSQL, whose
 * WAL keeps what it wrote until the segment is recycled, and whose pages
 * keep a deleted row's bytes until VACUUM's space is reused
 * (docs/SECURITY.md). */
static void assert_deleted(const fixture *f, const char *s)
{
	int what = teststore_pg() ? TESTSTORE_ROWS : TESTSTORE_FILES;
	const char *at = teststore_holds(f->dir, s, strlen(s), what);
	if (at)
		fail_msg("deleted \"%s\" still found in %s", s, at);
}

/* --- moderators and sealed items (fake bytes) ------------------------------- */

/* A moderator whose key record is filled with seed-derived bytes: the store
 * keeps records, it never unlocks them. */
static sl_moderator fake_moderator(const char *name, sl_role role, uint8_t seed)
{
	sl_moderator m;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.role = role;
	m.created_at = 1700000000 + seed;
	memset(m.key.public_key, seed, sizeof(m.key.public_key));
	memset(m.key.salt, seed + 1, sizeof(m.key.salt));
	m.key.opslimit = 3;
	m.key.memlimit = (uint64_t)64 << 20;
	memset(m.key.wrapped, seed + 2, sizeof(m.key.wrapped));
	memset(m.key.recovery_wrapped, seed + 3, sizeof(m.key.recovery_wrapped));
	return m;
}

static void add_moderator(sl_store *s, sl_moderator *m)
{
	m->id = 0;
	assert_int_equal(sl_store_add_moderator(s, m), SL_OK);
	assert_true(m->id > 0);
}

static void assert_moderator_equal(const sl_moderator *want, const sl_moderator *got)
{
	assert_int_equal(got->id, want->id);
	assert_string_equal(got->name, want->name);
	assert_int_equal(got->role, want->role);
	assert_int_equal(got->created_at, want->created_at);
	assert_int_equal(got->removed_at, want->removed_at);
	assert_memory_equal(got->key.public_key, want->key.public_key,
			    sizeof(want->key.public_key));
	assert_memory_equal(got->key.salt, want->key.salt, sizeof(want->key.salt));
	assert_int_equal(got->key.opslimit, want->key.opslimit);
	assert_int_equal(got->key.memlimit, want->key.memlimit);
	assert_memory_equal(got->key.wrapped, want->key.wrapped,
			    sizeof(want->key.wrapped));
	assert_memory_equal(got->key.recovery_wrapped, want->key.recovery_wrapped,
			    sizeof(want->key.recovery_wrapped));
}

static size_t list_moderators(sl_store *s, bool all, sl_moderator **out)
{
	size_t n = 99;
	assert_int_equal(sl_store_list_moderators(s, all, out, &n), SL_OK);
	if (n == 0)
		assert_null(*out);
	return n;
}

#define MAX_HOLDERS 4

/* The bytes a fake sealed item points at; must outlive the item. */
typedef struct fake_bytes {
	uint8_t cipher[64];
	int64_t ids[MAX_HOLDERS];
	uint8_t wrapped[MAX_HOLDERS * SL_WRAPPED_KEY_BYTES];
} fake_bytes;

/* "CIPHER-tag" then 0xA5 bytes, or "WRAPPED-tag-mID" then one filler: things
 * to find in the raw files and to compare exactly. */
static void cipher_marker(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "CIPHER-%s", tag);
}

static void wrapped_marker(char *buf, size_t size, const char *tag, int64_t holder)
{
	snprintf(buf, size, "WRAPPED-%s-m%lld", tag, (long long)holder);
}

static void fake_wrapped(uint8_t out[SL_WRAPPED_KEY_BYTES], const char *tag,
			 int64_t holder)
{
	char m[48];
	wrapped_marker(m, sizeof(m), tag, holder);
	memset(out, 0x30 + (int)(holder & 0x3f), SL_WRAPPED_KEY_BYTES);
	memcpy(out, m, strlen(m));
}

/* A sealed item of kind made at created_at, with a key for each of the n
 * holders, its bytes in b. */
static sl_sealed fake_item(fake_bytes *b, sl_sealed_kind kind, int64_t created_at,
			   const char *tag, const int64_t *holders, size_t n)
{
	assert_true(n <= MAX_HOLDERS);
	memset(b, 0, sizeof(*b));
	char m[48];
	cipher_marker(m, sizeof(m), tag);
	memset(b->cipher, 0xA5, sizeof(b->cipher));
	memcpy(b->cipher, m, strlen(m));
	for (size_t i = 0; i < n; i++) {
		b->ids[i] = holders[i];
		fake_wrapped(b->wrapped + i * SL_WRAPPED_KEY_BYTES, tag, holders[i]);
	}
	return (sl_sealed){.kind = kind,
			   .created_at = created_at,
			   .cipher = b->cipher,
			   .cipher_len = sizeof(b->cipher),
			   .n_keys = n,
			   .moderator_ids = b->ids,
			   .wrapped = b->wrapped};
}

/* got is want as holder sees it: the same item, with holder's own wrapped
 * key when want has one for holder, and no key otherwise. */
static void assert_item_for(const sl_sealed *want, const sl_sealed *got, int64_t holder)
{
	assert_true(want->id > 0);
	assert_int_equal(got->id, want->id);
	assert_int_equal(got->kind, want->kind);
	assert_int_equal(got->created_at, want->created_at);
	assert_int_equal(got->cipher_len, want->cipher_len);
	assert_memory_equal(got->cipher, want->cipher, want->cipher_len);
	for (size_t i = 0; i < want->n_keys; i++) {
		if (want->moderator_ids[i] != holder)
			continue;
		assert_int_equal(got->n_keys, 1);
		assert_non_null(got->moderator_ids);
		assert_int_equal(got->moderator_ids[0], holder);
		assert_non_null(got->wrapped);
		assert_memory_equal(got->wrapped,
				    want->wrapped + i * SL_WRAPPED_KEY_BYTES,
				    SL_WRAPPED_KEY_BYTES);
		return;
	}
	assert_int_equal(got->n_keys, 0);
}

/* Fetches report id for holder into *out (in a, reset first) and checks its
 * items against want[0..n). */
static void get_items(sl_store *s, int64_t id, int64_t holder, sl_arena *a,
		      sl_report *out, const sl_sealed *want, size_t n)
{
	sl_arena_reset(a);
	assert_int_equal(sl_store_get_report(s, id, holder, a, out), SL_OK);
	assert_int_equal(out->id, id);
	assert_int_equal(out->n_sealed, n);
	for (size_t i = 0; i < n; i++)
		assert_item_for(&want[i], &out->sealed[i], holder);
}

/* A sealed item's time: Unix seconds rounded down to the minute. */
#define T0 ((int64_t)1699999980) /* 2023-11-14T22:13:00Z */

/* --- tests ------------------------------------------------------------------ */

static void test_open_creates_private_dir(void **state)
{
	fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	char buf[64];
	if (teststore_pg()) {
		assert_string_equal(sl_store_backend(f->s), "postgresql");
		/* The data directory holds no database, only what is not one. */
		assert_int_equal(access(f->db, F_OK), -1);
		query_file(f, "SELECT max(version) FROM sightline_schema", buf, sizeof(buf));
		assert_int_equal(atoi(buf), PG_SCHEMA_VERSION);
		return;
	}
	assert_string_equal(sl_store_backend(f->s), "sqlite");
	assert_int_equal(access(f->db, F_OK), 0);

	sl_store_close(f->s);
	f->s = NULL;
	query_file(f, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	query_file(f, "PRAGMA user_version", buf, sizeof(buf));
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
	int64_t id = -1;
	assert_int_equal(sl_store_report_status(f->s, a.receipt_hash, &id, &st), SL_OK);
	assert_int_equal(st, SL_STATUS_UNDER_REVIEW);
	assert_int_equal(id, a.id);
	assert_int_equal(sl_store_report_status(f->s, b.receipt_hash, &id, &st), SL_OK);
	assert_int_equal(st, SL_STATUS_REJECTED);
	assert_int_equal(id, b.id);
	/* The id is optional. */
	st = SL_STATUS_COUNT;
	assert_int_equal(sl_store_report_status(f->s, a.receipt_hash, NULL, &st), SL_OK);
	assert_int_equal(st, SL_STATUS_UNDER_REVIEW);

	uint8_t unknown[32] = {0};
	assert_int_equal(sl_store_report_status(f->s, unknown, &id, &st), SL_ENOTFOUND);
	memcpy(unknown, a.receipt_hash, 32);
	unknown[31] ^= 0x80;
	assert_int_equal(sl_store_report_status(f->s, unknown, NULL, &st), SL_ENOTFOUND);
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
	/* Had a migration run twice, it would have failed on the existing
	 * table (and the open above with it); the tables exist once. */
	if (teststore_pg()) {
		query_file(f, "SELECT count(*) FROM sightline_schema", buf, sizeof(buf));
		assert_int_equal(atoi(buf), PG_SCHEMA_VERSION);
		query_file(f, "SELECT count(*) FROM pg_tables WHERE tablename = 'reports'",
			   buf, sizeof(buf));
	} else {
		query_file(f, "PRAGMA user_version", buf, sizeof(buf));
		assert_int_equal(atoi(buf), SCHEMA_VERSION);
		query_file(f, "SELECT count(*) FROM sqlite_master WHERE name = 'reports'",
			   buf, sizeof(buf));
	}
	assert_string_equal(buf, "1");

	/* A third open, and ids keep growing (not densely: the refused
	 * duplicate above used one up). */
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	sl_report next = minimal_report(1700000000);
	put_one(f->s, &next, SL_PUT_INSERTED);
	assert_in_range(next.id, r.id + 1, r.id + 2);
}

static void test_newer_schema_refused(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	f->s = NULL;
	exec_file(f, teststore_pg() ? "INSERT INTO sightline_schema VALUES (99, 0)"
				    : "PRAGMA user_version = 99");
	sl_store *s = (sl_store *)0x1;
	assert_int_equal(teststore_open(f->dir, &s), SL_ESTORE);
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
 * the schema on page 1) with garbage: check must notice. On PostgreSQL,
 * whose files are the server's, what the store keeps true (an event's
 * report count) is broken behind its back instead. */
static void test_check_finds_damage(void **state)
{
	fixture *f = *state;
	put_many(f->s, MANY);
	if (teststore_pg()) {
		sl_event e = {.created_at = T0, .has_category = true,
			      .category = SL_CAT_NAVAL};
		int64_t ids[] = {1, 2};
		e.n_reports = 2;
		e.report_ids = ids;
		assert_int_equal(sl_store_event_create(f->s, &e), SL_OK);
		assert_int_equal(sl_store_check(f->s), SL_OK);
		exec_file(f, "UPDATE events SET n_reports = 7");
		assert_int_equal(sl_store_check(f->s), SL_ESTORE);
		return;
	}
	sl_store_close(f->s); /* checkpoints the WAL into the file */
	f->s = NULL;

	char buf[64];
	query_file(f, "PRAGMA page_size", buf, sizeof(buf));
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

	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	assert_int_equal(sl_store_check(f->s), SL_ESTORE);
}

static void test_uncreatable_dir(void **state)
{
	fixture *f = *state;
	char path[160];
	sl_store *s = (sl_store *)0x1;
	if (teststore_pg()) /* a regular file, where SQLite has its own */
		close(open(f->db, O_WRONLY | O_CREAT, 0600));

	/* A directory under a regular file. */
	snprintf(path, sizeof(path), "%s/sightline.db/sub", f->dir);
	assert_int_equal(teststore_open(path, &s), SL_EIO);
	assert_null(s);
	teststore_drop(path);

	/* Missing parents are created too, each private to our user. */
	s = NULL;
	snprintf(path, sizeof(path), "%s/no/such", f->root);
	assert_int_equal(teststore_open(path, &s), SL_OK);
	assert_non_null(s);
	sl_store_close(s);
	teststore_drop(path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/no", f->root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A regular file where the directory should be. */
	s = (sl_store *)0x1;
	assert_int_equal(teststore_open(f->db, &s), SL_EIO);
	assert_null(s);
	teststore_drop(f->db);

	assert_int_equal(sl_store_open(NULL, &s), SL_EINVAL);
	/* A store that is neither. */
	assert_int_equal(sl_store_open_url(f->dir, "mysql://x", &s), SL_EINVAL);
	assert_int_equal(sl_store_open_url(f->dir, "host=127.0.0.1", &s), SL_EINVAL);
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
	/* SQLite rolls its sequence back with the rest; PostgreSQL's
	 * sequences never go back (ids only grow, not densely). */
	if (!teststore_pg())
		assert_int_equal(r[0].id, 1);
	assert_true(r[0].id >= 1 && r[1].id == r[0].id + 1 && r[2].id == r[1].id + 1);
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

/* --- sealed storage ----------------------------------------------------------- */

/* Text and contact a report carries are never written: neither a column nor
 * any byte of the files holds them, and they never come back. */
static void test_text_and_contact_never_stored(void **state)
{
	fixture *f = *state;
	char text[] = "CANARY-store-text-5d1e", contact[] = "CANARY-store-contact-5d1e";
	sl_report r = full_report();
	r.text = text;
	r.contact = contact;
	r.location.place = "CANARY-store-place-5d1e"; /* stored: shows the search works */
	put_one(f->s, &r, SL_PUT_INSERTED);

	sl_arena *a = sl_arena_new(1 << 16);
	assert_non_null(a);
	sl_report got;
	assert_int_equal(sl_store_get_report(f->s, r.id, 0, a, &got), SL_OK);
	assert_report_equal(&r, &got); /* text and contact NULL */
	assert_null(got.text);
	assert_null(got.contact);
	assert_int_equal(got.n_sealed, 0);
	const sl_report *want[] = {&r};
	seen v = {.want = want};
	assert_int_equal(sl_store_each_report(f->s, 0, visit, &v), SL_OK);
	assert_int_equal(v.n, 1);
	sl_arena_free(a);

	assert_on_disk(f, "CANARY-store-place-5d1e");
	assert_not_on_disk(f, text);
	assert_not_on_disk(f, contact);
	sl_store_close(f->s); /* checkpoints the WAL into the file */
	f->s = NULL;
	assert_on_disk(f, "CANARY-store-place-5d1e");
	assert_not_on_disk(f, text);
	assert_not_on_disk(f, contact);
	/* Nor, whatever its name, in a column of its own. */
	char buf[64];
	query_file(f,
		   teststore_pg() ? "SELECT count(*) FROM information_schema.columns"
				    " WHERE table_name = 'reports'"
				    " AND column_name IN ('text', 'contact')"
				  : "SELECT count(*) FROM pragma_table_info('reports')"
				    " WHERE name IN ('text', 'contact')",
		   buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

static void test_moderators(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("alice", SL_ROLE_ADMIN, 0x11);
	sl_moderator b = fake_moderator("Борис", SL_ROLE_MODERATOR, 0x22);
	sl_moderator *list = NULL;
	assert_int_equal(list_moderators(f->s, true, &list), 0);
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	assert_true(b.id > a.id);

	sl_moderator got;
	assert_int_equal(sl_store_get_moderator(f->s, "alice", &got), SL_OK);
	assert_moderator_equal(&a, &got);
	assert_int_equal(sl_store_get_moderator(f->s, "Борис", &got), SL_OK);
	assert_moderator_equal(&b, &got);
	assert_int_equal(sl_store_get_moderator(f->s, "carol", &got), SL_ENOTFOUND);
	assert_int_equal(sl_store_get_moderator(f->s, "Alice", &got), SL_ENOTFOUND);

	assert_int_equal(list_moderators(f->s, false, &list), 2);
	assert_moderator_equal(&a, &list[0]);
	assert_moderator_equal(&b, &list[1]);
	free(list);

	/* An active moderator's name is taken; nothing is added. */
	sl_moderator dup = fake_moderator("alice", SL_ROLE_MODERATOR, 0x33);
	assert_int_equal(sl_store_add_moderator(f->s, &dup), SL_EVALID);
	assert_int_equal(list_moderators(f->s, true, &list), 2);
	free(list);
	sl_moderator noname = fake_moderator("", SL_ROLE_MODERATOR, 0x33);
	assert_int_equal(sl_store_add_moderator(f->s, &noname), SL_EINVAL);

	assert_int_equal(sl_store_remove_moderator(f->s, "carol", 1700009999),
			 SL_ENOTFOUND);
	assert_int_equal(sl_store_remove_moderator(f->s, "Борис", 1700009999), SL_OK);
	assert_int_equal(sl_store_get_moderator(f->s, "Борис", &got), SL_ENOTFOUND);
	assert_int_equal(sl_store_remove_moderator(f->s, "Борис", 1700010000),
			 SL_ENOTFOUND);

	assert_int_equal(list_moderators(f->s, false, &list), 1);
	assert_moderator_equal(&a, &list[0]);
	free(list);
	assert_int_equal(list_moderators(f->s, true, &list), 2);
	b.removed_at = 1700009999; /* kept, marked */
	assert_moderator_equal(&a, &list[0]);
	assert_moderator_equal(&b, &list[1]);
	free(list);

	/* The name is free again once its holder is removed. */
	sl_moderator b2 = fake_moderator("Борис", SL_ROLE_ADMIN, 0x44);
	add_moderator(f->s, &b2);
	assert_true(b2.id > b.id);
	assert_int_equal(sl_store_get_moderator(f->s, "Борис", &got), SL_OK);
	assert_moderator_equal(&b2, &got);

	reopen(f);
	assert_int_equal(list_moderators(f->s, true, &list), 3);
	assert_moderator_equal(&a, &list[0]);
	assert_moderator_equal(&b, &list[1]);
	assert_moderator_equal(&b2, &list[2]);
	free(list);
	assert_int_equal(list_moderators(f->s, false, &list), 2);
	assert_int_equal(list[0].id, a.id);
	assert_int_equal(list[1].id, b2.id);
	free(list);
}

/* get_report gives each moderator only their own wrapped key. */
static void test_report_with_sealed_items(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	sl_moderator b = fake_moderator("b", SL_ROLE_MODERATOR, 2);
	sl_moderator c = fake_moderator("c", SL_ROLE_MODERATOR, 3); /* holds nothing */
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	add_moderator(f->s, &c);

	int64_t ab[] = {a.id, b.id}, only_a[] = {a.id};
	fake_bytes fb[3];
	sl_sealed items[3] = {
	    fake_item(&fb[0], SL_SEALED_CONTENT, T0, "content", ab, 2),
	    fake_item(&fb[1], SL_SEALED_PHOTO, T0, "photo-1", ab, 2),
	    fake_item(&fb[2], SL_SEALED_PHOTO, T0 + 60, "photo-2", only_a, 1),
	};
	sl_report r = full_report();
	r.text = NULL;
	r.contact = NULL;
	r.n_sealed = 3;
	r.sealed = items;
	put_one(f->s, &r, SL_PUT_INSERTED);
	assert_true(items[0].id > 0);
	assert_true(items[1].id > items[0].id);
	assert_true(items[2].id > items[1].id);

	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	get_items(f->s, r.id, a.id, ar, &got, items, 3);
	assert_report_equal(&r, &got);
	get_items(f->s, r.id, b.id, ar, &got, items, 3); /* photo-2: no key */
	assert_int_equal(got.sealed[2].n_keys, 0);
	get_items(f->s, r.id, c.id, ar, &got, items, 3); /* no keys at all */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(got.sealed[i].n_keys, 0);
	get_items(f->s, r.id, 0, ar, &got, items, 3); /* asks for no keys */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(got.sealed[i].n_keys, 0);

	sl_arena_reset(ar);
	assert_int_equal(sl_store_get_report(f->s, r.id + 1000, a.id, ar, &got),
			 SL_ENOTFOUND);
	assert_int_equal(sl_store_get_report(f->s, 0, a.id, ar, &got), SL_ENOTFOUND);

	/* A report without items. */
	sl_report m = minimal_report(1700000000);
	put_one(f->s, &m, SL_PUT_INSERTED);
	get_items(f->s, m.id, a.id, ar, &got, NULL, 0);
	assert_report_equal(&m, &got);

	/* A duplicate is refused whole: its items are not stored either. */
	fake_bytes fd;
	sl_sealed dup_item = fake_item(&fd, SL_SEALED_CONTENT, T0, "dup", ab, 2);
	sl_report dup = full_report();
	dup.receipt_hash[0] ^= 1;
	dup.n_sealed = 1;
	dup.sealed = &dup_item;
	put_one(f->s, &dup, SL_PUT_DUPLICATE);
	get_items(f->s, r.id, a.id, ar, &got, items, 3);
	size_t n = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 3);
	free(ids);
	free(wrapped);

	/* And all is still there after reopening. */
	reopen(f);
	get_items(f->s, r.id, b.id, ar, &got, items, 3);
	assert_report_equal(&r, &got);
	sl_arena_free(ar);
}

/* A report and its items go in one transaction: an item the store refuses
 * takes its report, and the whole batch, with it. */
static void test_sealed_rollback(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	add_moderator(f->s, &a);
	int64_t good[] = {a.id}, nobody[] = {a.id + 1000}; /* no such moderator */
	fake_bytes fb[2];
	sl_sealed ok_item = fake_item(&fb[0], SL_SEALED_CONTENT, T0, "ok", good, 1);
	sl_sealed bad_item = fake_item(&fb[1], SL_SEALED_CONTENT, T0, "bad", nobody, 1);
	sl_report r1 = minimal_report(1700000000), r2 = minimal_report(1700000060);
	r1.n_sealed = 1;
	r1.sealed = &ok_item;
	r2.n_sealed = 1;
	r2.sealed = &bad_item;
	sl_report *ptrs[] = {&r1, &r2};
	sl_put_result res[2];

	/* A key for a moderator who is not (or no longer) active is dropped,
	 * not an error: a report sealed just before a removal still goes in,
	 * without the removed one's key. */
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 2, res), SL_OK);
	assert_int_equal(count(f->s), 2);
	sl_arena *ar0 = sl_arena_new(1 << 16);
	sl_report got0;
	assert_int_equal(sl_store_get_report(f->s, r2.id, a.id + 1000, ar0, &got0), SL_OK);
	assert_int_equal(got0.n_sealed, 1);
	assert_int_equal(got0.sealed[0].n_keys, 0);
	sl_arena_free(ar0);
	reopen_empty(f);
	add_moderator(f->s, &a);
	good[0] = a.id;
	r1.id = r2.id = 0;

	/* An item the store cannot take at all. */
	sl_sealed no_cipher = ok_item;
	no_cipher.cipher = NULL;
	r2.sealed = &no_cipher;
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 2, res), SL_EINVAL);
	sl_sealed bad_kind = ok_item;
	bad_kind.kind = SL_SEALED_KIND_COUNT;
	r2.sealed = &bad_kind;
	assert_int_equal(sl_store_put_reports(f->s, ptrs, 2, res), SL_EINVAL);
	assert_int_equal(count(f->s), 0);
	size_t n = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 0);
	assert_null(ids);
	assert_null(wrapped);

	/* Nothing is left half-done: the good one alone goes in. */
	put_one(f->s, &r1, SL_PUT_INSERTED);
	assert_int_equal(count(f->s), 1);
	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	get_items(f->s, r1.id, a.id, ar, &got, &ok_item, 1);
	sl_arena_free(ar);
}

static void test_put_sealed_followup(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	sl_moderator b = fake_moderator("b", SL_ROLE_MODERATOR, 2);
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	int64_t ab[] = {a.id, b.id}, only_a[] = {a.id};
	fake_bytes fb[2];
	sl_sealed items[2];
	items[0] = fake_item(&fb[0], SL_SEALED_CONTENT, T0, "content", ab, 2);
	sl_report r = minimal_report(1700000000);
	r.n_sealed = 1;
	r.sealed = items;
	put_one(f->s, &r, SL_PUT_INSERTED);

	items[1] =
	    fake_item(&fb[1], SL_SEALED_FOLLOWUP, T0 + 3600, "followup", only_a, 1);
	assert_int_equal(sl_store_put_sealed(f->s, r.id, &items[1]), SL_OK);
	assert_true(items[1].id > items[0].id);

	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	get_items(f->s, r.id, a.id, ar, &got, items, 2);
	get_items(f->s, r.id, b.id, ar, &got, items, 2);
	assert_int_equal(got.sealed[1].n_keys, 0);

	/* No such report: refused, and nothing stored. */
	fake_bytes fx;
	sl_sealed orphan = fake_item(&fx, SL_SEALED_FOLLOWUP, T0, "orphan", only_a, 1);
	assert_int_equal(sl_store_put_sealed(f->s, r.id + 1000, &orphan), SL_ESTORE);
	/* A key for nobody is dropped; the item goes in without it. */
	int64_t nobody[] = {b.id + 1000};
	sl_sealed nokey = fake_item(&fx, SL_SEALED_FOLLOWUP, T0, "nokey", nobody, 1);
	assert_int_equal(sl_store_put_sealed(f->s, r.id, &nokey), SL_OK);
	assert_int_equal(sl_store_put_sealed(f->s, r.id, NULL), SL_EINVAL);
	sl_arena_reset(ar);
	assert_int_equal(sl_store_get_report(f->s, r.id, a.id, ar, &got), SL_OK);
	assert_int_equal(got.n_sealed, 3);
	assert_int_equal(got.sealed[2].n_keys, 0);
	size_t n = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	free(ids);
	free(wrapped);
	sl_arena_free(ar);
}

/* keys_since gives only the holder's keys of items made at or after since;
 * add_keys gives them to another, keeping what that one has. */
static void test_keys_since_and_add_keys(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	sl_moderator b = fake_moderator("b", SL_ROLE_MODERATOR, 2);
	sl_moderator c = fake_moderator("c", SL_ROLE_MODERATOR, 3);
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	add_moderator(f->s, &c);
	const int64_t T1 = T0 + 3600, T2 = T0 + 7200;
	int64_t ab[] = {a.id, b.id}, only_a[] = {a.id}, only_b[] = {b.id};
	fake_bytes fb[4];
	sl_sealed i1[2] = {
	    fake_item(&fb[0], SL_SEALED_CONTENT, T0, "k0", ab, 2),
	    fake_item(&fb[1], SL_SEALED_PHOTO, T1, "k1", ab, 2),
	};
	sl_sealed i2[2] = {
	    fake_item(&fb[2], SL_SEALED_CONTENT, T2, "k2", only_a, 1),
	    fake_item(&fb[3], SL_SEALED_PHOTO, T2, "k3", only_b, 1),
	};
	sl_report r1 = minimal_report(1700000000), r2 = minimal_report(1700000060);
	r1.n_sealed = 2;
	r1.sealed = i1;
	r2.n_sealed = 2;
	r2.sealed = i2;
	put_one(f->s, &r1, SL_PUT_INSERTED);
	put_one(f->s, &r2, SL_PUT_INSERTED);

	size_t n = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, T1, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], i1[1].id);
	assert_int_equal(ids[1], i2[0].id);
	assert_memory_equal(wrapped, i1[1].wrapped, SL_WRAPPED_KEY_BYTES); /* a's */
	assert_memory_equal(wrapped + SL_WRAPPED_KEY_BYTES, i2[0].wrapped,
			    SL_WRAPPED_KEY_BYTES);
	free(ids);
	free(wrapped);

	assert_int_equal(sl_store_keys_since(f->s, T1, b.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], i1[1].id);
	assert_int_equal(ids[1], i2[1].id);
	assert_memory_equal(wrapped, i1[1].wrapped + SL_WRAPPED_KEY_BYTES,
			    SL_WRAPPED_KEY_BYTES); /* b's, second */
	assert_memory_equal(wrapped + SL_WRAPPED_KEY_BYTES, i2[1].wrapped,
			    SL_WRAPPED_KEY_BYTES);
	free(ids);
	free(wrapped);

	/* since is inclusive, to the second. */
	assert_int_equal(sl_store_keys_since(f->s, T1 + 1, a.id, &n, &ids, &wrapped),
			 SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], i2[0].id);
	free(ids);
	free(wrapped);
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 3);
	free(ids);
	free(wrapped);

	n = 99;
	ids = (int64_t *)1;
	wrapped = (uint8_t *)1;
	assert_int_equal(sl_store_keys_since(f->s, T2 + 60, a.id, &n, &ids, &wrapped),
			 SL_OK);
	assert_int_equal(n, 0);
	assert_null(ids);
	assert_null(wrapped);
	assert_int_equal(sl_store_keys_since(f->s, 0, c.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 0);
	assert_null(ids);

	/* An admin shares a's items since T1 with c (rewrapped: c's own bytes). */
	int64_t share_ids[2] = {i1[1].id, i2[0].id};
	uint8_t share[2 * SL_WRAPPED_KEY_BYTES];
	fake_wrapped(share, "k1-shared", c.id);
	fake_wrapped(share + SL_WRAPPED_KEY_BYTES, "k2-shared", c.id);
	assert_int_equal(sl_store_add_keys(f->s, c.id, 2, share_ids, share), SL_OK);

	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	assert_int_equal(sl_store_get_report(f->s, r1.id, c.id, ar, &got), SL_OK);
	assert_int_equal(got.n_sealed, 2);
	assert_int_equal(got.sealed[0].n_keys, 0); /* before since: not shared */
	assert_int_equal(got.sealed[1].n_keys, 1);
	assert_int_equal(got.sealed[1].moderator_ids[0], c.id);
	assert_memory_equal(got.sealed[1].wrapped, share, SL_WRAPPED_KEY_BYTES);
	sl_arena_reset(ar);
	assert_int_equal(sl_store_get_report(f->s, r2.id, c.id, ar, &got), SL_OK);
	assert_int_equal(got.n_sealed, 2);
	assert_int_equal(got.sealed[0].n_keys, 1);
	assert_memory_equal(got.sealed[0].wrapped, share + SL_WRAPPED_KEY_BYTES,
			    SL_WRAPPED_KEY_BYTES);
	assert_int_equal(got.sealed[1].n_keys, 0); /* b's alone */

	/* The same again is harmless, and a key c has is kept as it was. */
	assert_int_equal(sl_store_add_keys(f->s, c.id, 2, share_ids, share), SL_OK);
	uint8_t other[SL_WRAPPED_KEY_BYTES];
	fake_wrapped(other, "k1-other", c.id);
	assert_int_equal(sl_store_add_keys(f->s, c.id, 1, share_ids, other), SL_OK);
	assert_int_equal(sl_store_keys_since(f->s, 0, c.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], share_ids[0]);
	assert_int_equal(ids[1], share_ids[1]);
	assert_memory_equal(wrapped, share, 2 * SL_WRAPPED_KEY_BYTES);
	free(ids);
	free(wrapped);
	/* a's own keys are untouched. */
	get_items(f->s, r1.id, a.id, ar, &got, i1, 2);
	get_items(f->s, r2.id, a.id, ar, &got, i2, 2);

	assert_int_equal(sl_store_add_keys(f->s, c.id, 0, NULL, NULL), SL_OK);

	/* One unknown item (or moderator) and none of the batch is added. */
	int64_t bad_ids[2] = {i1[0].id, i2[1].id + 1000};
	assert_int_equal(sl_store_add_keys(f->s, c.id, 2, bad_ids, share), SL_ESTORE);
	/* Keys for a moderator who is not active are dropped. */
	assert_int_equal(sl_store_add_keys(f->s, c.id + 1000, 1, bad_ids, share), SL_OK);
	assert_int_equal(sl_store_keys_since(f->s, 0, c.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	free(ids);
	free(wrapped);
	sl_arena_free(ar);
}

/* Removing a moderator deletes the keys they held, from the files too;
 * the others keep theirs. */
static void test_remove_moderator_deletes_keys(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	sl_moderator b = fake_moderator("b", SL_ROLE_MODERATOR, 2);
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	int64_t ab[] = {a.id, b.id};
	fake_bytes fb[2];
	sl_sealed items[2] = {
	    fake_item(&fb[0], SL_SEALED_CONTENT, T0, "r0", ab, 2),
	    fake_item(&fb[1], SL_SEALED_PHOTO, T0, "r1", ab, 2),
	};
	sl_report r = minimal_report(1700000000);
	r.n_sealed = 2;
	r.sealed = items;
	put_one(f->s, &r, SL_PUT_INSERTED);
	reopen(f); /* the keys are in the database file now */
	char a0[48], b0[48], b1[48];
	wrapped_marker(a0, sizeof(a0), "r0", a.id);
	wrapped_marker(b0, sizeof(b0), "r0", b.id);
	wrapped_marker(b1, sizeof(b1), "r1", b.id);
	assert_on_disk(f, b0);
	assert_on_disk(f, b1);

	assert_int_equal(sl_store_remove_moderator(f->s, "b", 1700009999), SL_OK);
	/* Gone from the files at once, not at some later checkpoint. */
	assert_deleted(f, b0);
	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	assert_int_equal(sl_store_get_report(f->s, r.id, b.id, ar, &got), SL_OK);
	assert_int_equal(got.n_sealed, 2);
	assert_int_equal(got.sealed[0].n_keys, 0);
	assert_int_equal(got.sealed[1].n_keys, 0);
	get_items(f->s, r.id, a.id, ar, &got, items, 2);
	size_t n = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, 0, b.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &n, &ids, &wrapped), SL_OK);
	assert_int_equal(n, 2);
	free(ids);
	free(wrapped);
	sl_arena_free(ar);

	/* secure_delete zeroed them: once the WAL is checkpointed (close), not
	 * a byte of b's keys is left in the file. */
	sl_store_close(f->s);
	f->s = NULL;
	assert_deleted(f, b0);
	assert_deleted(f, b1);
	assert_on_disk(f, a0);
}

/* purge_sealed deletes old items with their keys, keeps the reports, and
 * leaves no byte of them in the database or its WAL. */
static void test_purge_sealed(void **state)
{
	fixture *f = *state;
	sl_moderator a = fake_moderator("a", SL_ROLE_ADMIN, 1);
	sl_moderator b = fake_moderator("b", SL_ROLE_MODERATOR, 2);
	add_moderator(f->s, &a);
	add_moderator(f->s, &b);
	const int64_t NEW = T0 + 30 * 86400;
	int64_t ab[] = {a.id, b.id}, only_a[] = {a.id};

	/* An old photo large enough for overflow pages, a marker every 100
	 * bytes so that any page of it left behind is found. */
	enum { BIG = 20000 };
	static const char big_marker[] = "CIPHER-old-big";
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	memset(big, 0xA5, BIG);
	for (size_t off = 0; off + sizeof(big_marker) <= BIG; off += 100)
		memcpy(big + off, big_marker, sizeof(big_marker) - 1);

	fake_bytes fb[4];
	sl_sealed i1[2] = {
	    fake_item(&fb[0], SL_SEALED_CONTENT, T0, "old-content", ab, 2),
	    fake_item(&fb[1], SL_SEALED_PHOTO, T0, "old-big", ab, 2),
	};
	i1[1].cipher = big;
	i1[1].cipher_len = BIG;
	sl_sealed i2[1] = {
	    fake_item(&fb[2], SL_SEALED_CONTENT, NEW, "new-content", ab, 2)};
	sl_sealed fu =
	    fake_item(&fb[3], SL_SEALED_FOLLOWUP, NEW, "new-followup", only_a, 1);
	sl_report r1 = minimal_report(1700000000), r2 = minimal_report(1700000060);
	r1.n_sealed = 2;
	r1.sealed = i1;
	r2.n_sealed = 1;
	r2.sealed = i2;
	put_one(f->s, &r1, SL_PUT_INSERTED);
	put_one(f->s, &r2, SL_PUT_INSERTED);
	assert_int_equal(sl_store_put_sealed(f->s, r1.id, &fu), SL_OK);

	static const char *const gone[] = {"CIPHER-old-content", "CIPHER-old-big"};
	static const char *const kept[] = {"CIPHER-new-content", "CIPHER-new-followup"};
	char gone_keys[4][48], kept_key[48];
	wrapped_marker(gone_keys[0], 48, "old-content", a.id);
	wrapped_marker(gone_keys[1], 48, "old-content", b.id);
	wrapped_marker(gone_keys[2], 48, "old-big", a.id);
	wrapped_marker(gone_keys[3], 48, "old-big", b.id);
	wrapped_marker(kept_key, 48, "new-content", b.id);
	/* The search finds what is there. */
	for (size_t i = 0; i < 2; i++)
		assert_on_disk(f, gone[i]);
	for (size_t i = 0; i < 4; i++)
		assert_on_disk(f, gone_keys[i]);

	int64_t n = -1;
	assert_int_equal(sl_store_purge_sealed(f->s, NEW, &n), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(count(f->s), 2);

	sl_arena *ar = sl_arena_new(1 << 16);
	assert_non_null(ar);
	sl_report got;
	get_items(f->s, r1.id, a.id, ar, &got, &fu, 1);
	get_items(f->s, r2.id, b.id, ar, &got, i2, 1);
	size_t nk = 99;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(sl_store_keys_since(f->s, 0, a.id, &nk, &ids, &wrapped), SL_OK);
	assert_int_equal(nk, 2);
	assert_int_equal(ids[0], i2[0].id);
	assert_int_equal(ids[1], fu.id);
	free(ids);
	free(wrapped);
	assert_int_equal(sl_store_keys_since(f->s, 0, b.id, &nk, &ids, &wrapped), SL_OK);
	assert_int_equal(nk, 1);
	free(ids);
	free(wrapped);

	/* Gone from both files while the store is still open (the purge
	 * checkpoints), and after. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 2; i++) {
			assert_deleted(f, gone[i]);
			assert_on_disk(f, kept[i]);
		}
		for (size_t i = 0; i < 4; i++)
			assert_deleted(f, gone_keys[i]);
		assert_on_disk(f, kept_key);
		if (pass == 0) {
			/* Nothing more to purge. */
			n = -1;
			assert_int_equal(sl_store_purge_sealed(f->s, NEW, &n), SL_OK);
			assert_int_equal(n, 0);
			assert_int_equal(sl_store_purge_sealed(f->s, 0, NULL), SL_OK);
			assert_int_equal(sl_store_check(f->s), SL_OK);
			sl_store_close(f->s);
			f->s = NULL;
		}
	}

	/* The rest of the reports is intact. */
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	get_items(f->s, r1.id, a.id, ar, &got, &fu, 1);
	assert_report_equal(&r1, &got);
	n = -1;
	assert_int_equal(sl_store_purge_sealed(f->s, NEW + 60, &n), SL_OK);
	assert_int_equal(n, 2);
	get_items(f->s, r2.id, a.id, ar, &got, NULL, 0);
	assert_int_equal(count(f->s), 2);
	sl_arena_free(ar);
	free(big);
}

/* Events found by bounding box: the same rows from a store whose database
 * has PostGIS (its GiST index used) and from one without (PostgreSQL from
 * template0, B-tree on lat and lon), points on the box's edges included;
 * on SQLite, the same answers from its file. */
static const double box_points[][2] = {
    {54.5, 30.4},	 /* inside */
    {54.0, 30.0},	 /* the south-west corner, exactly */
    {55.0, 31.0},	 /* the north-east corner */
    {54.5, 31.0000001}, /* just east */
    {53.9999999, 30.5}, /* just south */
    {52.1, 26.1},	 /* far away */
};

/* Makes the events in the store of dir (a moderator's event has no place
 * until the engine estimates one: set here) and finds those in the box. */
static void boxed_ids(sl_store *s, const char *dir, int64_t *ids, size_t *n)
{
	for (size_t i = 0; i < sizeof(box_points) / sizeof(box_points[0]); i++) {
		sl_event e = {.created_at = T0, .has_category = true,
			      .category = SL_CAT_RAIL_TRANSPORT};
		assert_int_equal(sl_store_event_create(s, &e), SL_OK);
		char sql[160];
		snprintf(sql, sizeof(sql),
			 "UPDATE events SET lat = %.7f, lon = %.7f, uncertainty_m = 100"
			 " WHERE id = %lld",
			 box_points[i][0], box_points[i][1], (long long)e.id);
		teststore_exec(dir, sql);
	}
	sl_event_filter f = {.has_bbox = true, .min_lat = 54, .max_lat = 55, .min_lon = 30,
			     .max_lon = 31, .ascending = true, .limit = 10};
	sl_arena *a = sl_arena_new(1 << 16);
	sl_event *out;
	assert_int_equal(sl_store_find_events(s, &f, a, &out, n), SL_OK);
	for (size_t i = 0; i < *n; i++)
		ids[i] = out[i].id;
	sl_arena_free(a);
}

static void test_bbox_with_and_without_postgis(void **state)
{
	fixture *f = *state;
	char plain[160], buf[64];
	snprintf(plain, sizeof(plain), "%s/plain", f->root);
	sl_store *other;
	assert_int_equal(sl_store_open_url(plain, teststore_url_from(plain, "template0"), &other),
			 SL_OK);
	if (teststore_pg()) {
		const char *geom = "SELECT count(*) FROM information_schema.columns"
				   " WHERE table_name = 'events' AND column_name = 'geom'";
		query_file(f, geom, buf, sizeof(buf));
		assert_string_equal(buf, "1");
		assert_true(teststore_query(plain, geom, buf, sizeof(buf)));
		assert_string_equal(buf, "0");
	}
	int64_t with[10], without[10];
	size_t n_with, n_without;
	boxed_ids(f->s, f->dir, with, &n_with);
	boxed_ids(other, plain, without, &n_without);
	assert_int_equal(n_with, 3);
	assert_int_equal(n_without, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(with[i], without[i]);
		assert_true(with[i] >= 1 && with[i] <= 3); /* the first three made */
	}
	sl_store_close(other);
	teststore_drop(plain);
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
		T(test_text_and_contact_never_stored),
		T(test_moderators),
		T(test_report_with_sealed_items),
		T(test_sealed_rollback),
		T(test_put_sealed_followup),
		T(test_keys_since_and_add_keys),
		T(test_remove_moderator_deletes_keys),
		T(test_purge_sealed),
		T(test_bbox_with_and_without_postgis),
	};
	/* clang-format on */
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
