/*
 * test_seizure.c — what a seized server gives away: security invariants 1-3.
 *
 * The scenario of DESIGN.md: the server is taken, disk and all. The test
 * plays informants whose reports carry canary strings in every place an
 * identifier or a secret could ride along — the text, the contact, a
 * follow-up, the photo's EXIF, XMP and IPTC metadata, the photo's file
 * name, User-Agent, Referer, Cookie, X-Forwarded-For, X-Real-IP, Forwarded,
 * the request path — and then reads every byte of every file under the data
 * directory (database, WAL, SHM, receipt key, the server's own log, which is
 * kept there on purpose, and any temporary file, TMPDIR pointing inside it
 * too) while the server runs and again after it stopped. None of the
 * canaries may be there; "127.0.0.1" only in the log's "listening on" lines.
 *
 * The Telegram bot is played too, against a fake Bot API on loopback
 * (fakebot.h): a whole conversation from a user whose id, names, username
 * and phone number (sent as a contact) are canaries, with the canary photo
 * (a file_id and a file path that are canaries too) and a canary comment
 * and caption; its report is stored, and none of it is on disk — not the
 * ids in decimal nor as the bytes an integer column would hold. So is the
 * web form (/report), with a canary text and file name.
 *
 * On PostgreSQL (tests/teststore.h) the data directory holds no database:
 * then the database server's side is read too, as its seizure would give
 * it — the files of the test's database, the cluster's shared tables, the
 * WAL written since the test began and the server's log — and every row of
 * every table, as text. "127.0.0.1" is looked for in the rows, not in the
 * server's files, which name its own listening address.
 *
 * Then the other side: a moderator with the passphrase can still read the
 * text, the contact, the follow-up and a clean photo (invariant 2 is about
 * the disk, not about losing reports); a moderator added later cannot, until
 * an admin shares on purpose (invariant 3); a wrong passphrase opens
 * nothing; a removed moderator opens nothing; and after the retention purge
 * (purge --all) even the ciphertext is gone from every file.
 *
 * The tests run in order on one server and data directory; each later one
 * needs what the earlier ones made, and skips when that is missing.
 * Assertions name the file and the offset of whatever they find.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "fakebot.h"
#include "harness.h"
#include "teststore.h"

#define REPORTS "/api/v1/reports"

/* ---- canaries ---- */

#define C_TEXT "CANARY-text-4f1a"
#define C_CONTACT "CANARY-contact-8b2c"
#define C_JSON_TEXT "CANARY-jsontext-1d9e"
#define C_JSON_CONTACT "CANARY-jsoncontact-6a7f"
#define C_FOLLOWUP "CANARY-followup-3c5d"
#define C_REJECTED "CANARY-rejected-9e0b"
#define C_MALFORMED "CANARY-malformed-2b8c"
#define C_FILENAME "CANARY-filename-5e3a"
#define C_UA "CANARY-ua-0c7d"
#define C_REFERER "CANARY-referer-7a1e"
#define C_COOKIE "CANARY-cookie-6d3f"
#define C_PATH "CANARY-path-2f9a"
#define C_XFF "203.0.113.99"
#define C_REAL_IP "203.0.113.98"
#define C_FORWARDED "198.51.100.7"
#define C_BOB_TEXT "CANARY-bobtext-5a5a"
#define C_FORM_TEXT "CANARY-formtext-1e2f"
#define C_FORM_FILENAME "CANARY-formfile-7b3c"

/* The Telegram user: ids, names, username and phone are canaries. */
#define C_TG_ID 7319452086LL
#define C_TG_ID_TEXT "7319452086"
#define C_TG_ID_LE "\xb6\xf9\x45\xb4\x01" /* its significant bytes, little end first */
#define C_TG_ID_BE "\x01\xb4\x45\xf9\xb6" /* ... and as SQLite stores an integer */
#define C_TG_FIRST "CANARY-tg-first-71c"
#define C_TG_LAST "CANARY-tg-last-2d4"
#define C_TG_USER "CANARY_tg_user_9e1"
#define C_TG_PHONE "375297654321"
#define C_TG_FILE_ID "CANARY-tg-fileid-5b2"
#define C_TG_PATH "CANARY-tg-path-3a7"
#define C_TG_DOC "CANARY-tg-docname-4e9"
#define C_TG_TEXT "CANARY-tg-text-6f0"
#define C_TG_CAPTION "CANARY-tg-caption-8c1"
#define TG_TOKEN "424242:AAseizureTestTokenOfTheFakeBotApi-_"
#define TG_SECRET "seizure-test-webhook-secret"

/* Written into the photo's metadata with exiftool. */
static const struct {
	const char *arg, *value;
} exif_canaries[] = {
    {"-Comment=", "CANARY-exif-comment-11c"},
    {"-Artist=", "CANARY-exif-artist-7d1"},
    {"-XMP-dc:Description=", "CANARY-xmp-description-2e4"},
    {"-Make=", "CANARY-exif-make-93a"},
    {"-Model=", "CANARY-exif-model-4b6"},
    {"-SerialNumber=", "CANARY-exif-serial-0f8"},
    {"-ImageDescription=", "CANARY-exif-imagedesc-6c2"},
    {"-Copyright=", "CANARY-exif-copyright-1a9"},
    {"-IPTC:Caption-Abstract=", "CANARY-iptc-caption-8d3"},
    {"-IPTC:By-line=", "CANARY-iptc-byline-5f7"},
};
#define N_EXIF (sizeof(exif_canaries) / sizeof(exif_canaries[0]))

/* Needles, each with a label for messages. */
typedef struct needle {
	char label[48];
	char text[160];
} needle;

static struct {
	harness_server srv;
	bool submitted;	 /* the reports are in */
	bool have_photo; /* the multipart report has the canary photo */
	bool bob_added;
	long long r1, r2, r3; /* multipart report, JSON report, report after bob */
	char receipt1[40], receipt2[40];
	char tmpdir[PATH_MAX]; /* the server's TMPDIR, inside the data directory */
	char photo[PATH_MAX];  /* the canary photo, outside the data directory */
	char gps_xmp[2][64];   /* XMP GPS strings written into the photo */
	needle needles[64];
	size_t n_needles;
	/* 32-byte windows of every stored ciphertext, for the purge check */
	uint8_t (*cipher_windows)[32];
	size_t n_windows;
	long long r1_items; /* sealed items of report 1 */
	fakebot *bot;	    /* the fake Bot API */
	char secrets[PATH_MAX];	 /* the bot's token and secret, outside the data */
	long long r_bot, r_form; /* the bot's and the web form's reports */
	bool bot_done, form_done;
} S;

static void add_needle(const char *label, const char *text)
{
	if (S.n_needles == sizeof(S.needles) / sizeof(S.needles[0]))
		fail_msg("too many needles");
	needle *n = &S.needles[S.n_needles++];
	snprintf(n->label, sizeof(n->label), "%s", label);
	snprintf(n->text, sizeof(n->text), "%s", text);
}

/* ---- helpers ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void format_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A valid report with the extra members in extra (",\"text\":..." or ""). */
static char *report_json(const char *extra)
{
	char obs[32];
	format_time(time(NULL) - 3600, obs);
	char *out = NULL;
	if (asprintf(&out,
		     "{\"category\":\"rail_transport\",\"observed_at\":\"%s\","
		     "\"location\":{\"lat\":53.9,\"lon\":27.56}%s}",
		     obs, extra) < 0)
		abort();
	return out;
}

static const char *body_of(const harness_response *r)
{
	return r->body ? r->body : "(no body)";
}

static void expect_status(const char *ctx, const harness_response *r, long want)
{
	if (r->status != want)
		fail_msg("%s: HTTP %ld, expected %ld; body: %.2000s", ctx, r->status,
			 want, body_of(r));
}

/* id and receipt of a 201. */
static void created(const char *ctx, const harness_response *r, long long *id,
		    char receipt[40])
{
	expect_status(ctx, r, 201);
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	json_t *jid = json_object_get(j, "id");
	const char *rc = json_string_value(json_object_get(j, "receipt"));
	bool ok = json_is_integer(jid) && rc && strlen(rc) < 40;
	if (ok) {
		*id = json_integer_value(jid);
		if (receipt)
			snprintf(receipt, 40, "%s", rc);
	}
	json_decref(j);
	if (!ok)
		fail_msg("%s: 201 without id and receipt: %.2000s", ctx, body_of(r));
}

/* Headers that name a client, on every request the informants make. */
static const char *const client_headers[] = {
    "User-Agent: Mozilla/5.0 (" C_UA ")",
    "X-Forwarded-For: " C_XFF,
    "X-Real-IP: " C_REAL_IP,
    "Forwarded: for=" C_FORWARDED ";proto=https",
    "Referer: https://" C_REFERER ".example/form",
    "Cookie: session=" C_COOKIE,
    NULL,
};

/* client_headers plus "Content-Type: type". */
static void request_with_ids(const char *method, const char *path, const char *type,
			     const void *body, size_t len, harness_response *out)
{
	const char *h[16];
	size_t n = 0;
	char ct[256];
	if (type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", type);
		h[n++] = ct;
	}
	for (size_t i = 0; client_headers[i]; i++)
		h[n++] = client_headers[i];
	h[n] = NULL;
	harness_request(&S.srv, method, path, h, body, len, out);
}

/* ---- scanning ---- */

typedef struct scan {
	const char *log; /* the server log's path: 127.0.0.1 allowed there */
	bool db_server;	 /* reading the database server's files (PostgreSQL) */
	size_t db_files;
	char found[8192];
	size_t files;
	char listing[4096];
	bool saw_wal, saw_shm;
	/* extra binary needles (ciphertext windows) */
	const uint8_t (*windows)[32];
	size_t n_windows;
} scan;

static size_t count_in(const char *hay, size_t n, const char *needle, size_t nl,
		       size_t *first)
{
	size_t count = 0;
	const char *p = hay, *end = hay + n;
	while ((p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
		if (count == 0 && first)
			*first = (size_t)(p - hay);
		count++;
		p += 1;
	}
	return count;
}

/* Up to 60 bytes around off, printable. */
static void context_at(const char *data, size_t len, size_t off, char *out, size_t size)
{
	size_t from = off > 20 ? off - 20 : 0, to = off + 40 < len ? off + 40 : len,
	       o = 0;
	for (size_t i = from; i < to && o + 5 < size; i++) {
		unsigned char c = (unsigned char)data[i];
		o += (size_t)snprintf(out + o, size - o,
				      c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	out[o] = '\0';
}

static void found(scan *s, const char *what, const char *path, size_t off, size_t count,
		  const char *data, size_t len)
{
	char ctx[400];
	context_at(data, len, off, ctx, sizeof(ctx));
	size_t o = strlen(s->found);
	snprintf(s->found + o, sizeof(s->found) - o,
		 "\n  %s in %s at offset %zu (%zu time%s): ...%s...", what, path, off,
		 count, count == 1 ? "" : "s", ctx);
}

/* Looks for every needle in the len bytes at data, which path names. */
static void scan_data(scan *s, const char *path, const char *data, size_t len)
{
	for (size_t i = 0; i < S.n_needles; i++) {
		const needle *n = &S.needles[i];
		size_t first = 0;
		size_t c = count_in(data, len, n->text, strlen(n->text), &first);
		if (c) {
			char what[256];
			snprintf(what, sizeof(what), "%s \"%s\"", n->label, n->text);
			found(s, what, path, first, c, data, len);
		}
	}
	/* 127.0.0.1: only in the log, only in its "listening on" lines. */
	size_t first = 0;
	size_t addr = s->db_server ? 0 : count_in(data, len, "127.0.0.1", 9, &first);
	bool is_log = s->log && strcmp(path, s->log) == 0;
	size_t allowed =
	    is_log ? count_in(data, len, "listening on http://127.0.0.1:", 30, NULL) : 0;
	if (addr != allowed) {
		char what[160];
		snprintf(
		    what, sizeof(what),
		    "\"127.0.0.1\" (%zu times, %zu of them in \"listening on\" lines)",
		    addr, allowed);
		/* Point at the first one outside a "listening on" line. */
		const char *p = data, *end = data + len;
		while ((p = memmem(p, (size_t)(end - p), "127.0.0.1", 9)) != NULL) {
			if (!(is_log && (size_t)(p - data) >= 21 &&
			      memcmp(p - 21, "listening on http://", 20) == 0)) {
				first = (size_t)(p - data);
				break;
			}
			p++;
		}
		found(s, what, path, first, addr, data, len);
	}
	for (size_t i = 0; i < s->n_windows; i++) {
		const char *p = memmem(data, len, s->windows[i], 32);
		if (p) {
			char what[96];
			snprintf(what, sizeof(what),
				 "32 bytes of purged ciphertext (item window %zu)", i);
			found(s, what, path, (size_t)(p - data), 1, data, len);
		}
	}
}

static void scan_file(void *ud, const char *path)
{
	scan *s = ud;
	size_t len;
	char *data = harness_read_file(path, &len);
	if (s->db_server) {
		s->db_files++;
	} else {
		s->files++;
		size_t lo = strlen(s->listing);
		const char *slash = strrchr(path, '/');
		const char *name = slash ? slash + 1 : path;
		snprintf(s->listing + lo, sizeof(s->listing) - lo, "%s%s (%zu bytes)",
			 lo ? ", " : "", name, len);
		size_t nl = strlen(name);
		if (nl > 4 && strcmp(name + nl - 4, "-wal") == 0)
			s->saw_wal = true;
		if (nl > 4 && strcmp(name + nl - 4, "-shm") == 0)
			s->saw_shm = true;
	}
	scan_data(s, path, data, len);
	free(data);
}

/* PostgreSQL: the database server's files (its WAL when with_wal) and
 * every row of the test's database. Nothing for SQLite, whose files are
 * in the data directory. */
static void scan_db_server(scan *s, bool with_wal)
{
	if (!teststore_pg())
		return;
	s->db_server = true;
	teststore_files(S.srv.dir, with_wal, scan_file, s);
	s->db_server = false;
	size_t len;
	char *rows = teststore_dump(S.srv.dir, &len);
	scan_data(s, "the rows of the database", rows, len);
	free(rows);
}

/* Scans every regular file under the data directory (and, on PostgreSQL,
 * the database server's: scan_db_server, its WAL unless after_purge);
 * fails naming each find. */
static void scan_data_dir(const char *when, bool want_wal, bool after_purge)
{
	scan s = {
	    .log = S.srv.log, .windows = S.cipher_windows, .n_windows = S.n_windows};
	harness_walk_files(S.srv.dir, scan_file, &s);
	scan_db_server(&s, !after_purge);
	print_message("scan %s: %zu files: %s; %zu of the database server\n", when,
		      s.files, s.listing, s.db_files);
	if (s.found[0])
		fail_msg("scan %s: found on disk:%s", when, s.found);
	if (teststore_pg()) {
		if (strstr(s.listing, "sightline.db") || !strstr(s.listing, "sightline.json ") ||
		    !strstr(s.listing, "server.log ") || s.db_files == 0)
			fail_msg("scan %s: expected the config and the log in the data "
				 "directory, no database file there, and the database "
				 "server's files (%zu): %s",
				 when, s.db_files, s.listing);
		return;
	}
	if (want_wal && (!s.saw_wal || !s.saw_shm))
		fail_msg(
		    "scan %s: expected the WAL and SHM files to be there (WAL %s, SHM "
		    "%s): %s",
		    when, s.saw_wal ? "seen" : "missing", s.saw_shm ? "seen" : "missing",
		    s.listing);
	if (!strstr(s.listing, "sightline.db ") || !strstr(s.listing, "server.log "))
		fail_msg("scan %s: the database or the log was not among the files: %s",
			 when, s.listing);
}

/* Fails when any needle is in the n bytes at data (what a command printed,
 * a photo written for a moderator). */
static void assert_no_needles(const char *ctx, const char *data, size_t n,
			      const char *const *only, size_t n_only)
{
	for (size_t i = 0; i < n_only; i++) {
		size_t first = 0;
		if (count_in(data, n, only[i], strlen(only[i]), &first)) {
			char c[400];
			context_at(data, n, first, c, sizeof(c));
			fail_msg("%s: \"%s\" at offset %zu: ...%s...", ctx, only[i],
				 first, c);
		}
	}
}

/* ---- unseal ---- */

static json_t *unseal_json(const char *ctx, const char *who, const char *pass_file,
			   const char *photos, long long id, harness_proc *p)
{
	harness_unseal(&S.srv, who, pass_file, photos, id, p);
	harness_proc_expect(ctx, p, 0);
	json_error_t err;
	json_t *j = json_loadb(p->out, p->out_len, 0, &err);
	if (!json_is_object(j))
		fail_msg("%s: not a JSON object (%s): %.2000s", ctx, err.text, p->out);
	return j;
}

static void check_str(const char *ctx, json_t *j, const char *key, const char *want)
{
	json_t *v = json_object_get(j, key);
	const char *got = json_string_value(v);
	bool ok = want ? got && strcmp(got, want) == 0 : (!v || json_is_null(v));
	if (!ok) {
		char *dump = json_dumps(j, JSON_COMPACT);
		char msg[3000];
		snprintf(msg, sizeof(msg), "%s: \"%s\" is %s, expected %s; all: %.2000s",
			 ctx, key, got ? got : (v ? "not a string" : "absent"),
			 want ? want : "absent", dump ? dump : "?");
		free(dump);
		fail_msg("%s", msg);
	}
}

static long long int_of(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static size_t array_len(json_t *j, const char *key)
{
	return json_array_size(json_object_get(j, key));
}

static void fresh_dir(const char *prefix, char *path, size_t size)
{
	snprintf(path, size, "%s/%s-XXXXXX", S.srv.root, prefix);
	if (!mkdtemp(path))
		fail_msg("mkdtemp %s: %s", path, strerror(errno));
}

static void count_one(void *ud, const char *path)
{
	(void)path;
	(*(size_t *)ud)++;
}

/* Regular files under dir. */
static size_t count_files(const char *dir)
{
	size_t n = 0;
	harness_walk_files(dir, count_one, &n);
	return n;
}

static long long db(const char *sql)
{
	return harness_db_integer(&S.srv, sql);
}

/* ---- setup: the canary photo ---- */

/* Copies the sample photo outside the data directory and writes the
 * metadata canaries into it. False (with a message) when the sample or
 * exiftool is missing. */
static bool make_canary_photo(void)
{
	const char *shared = getenv("SHARED_DATA");
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s/exif-samples/jpg_gps_DSCN0010.jpg",
		 shared ? shared : "");
	if (!shared || !*shared || access(src, R_OK) != 0) {
		print_message("no %s (SHARED_DATA): the photo canaries are left out\n",
			      src);
		return false;
	}
	snprintf(S.photo, sizeof(S.photo), "%s/canary-photo.jpg", S.srv.root);
	size_t len;
	char *data = harness_read_file(src, &len);
	harness_write_file(S.photo, data, len);
	free(data);

	const char *argv[N_EXIF + 8];
	char args[N_EXIF][128];
	size_t n = 0;
	argv[n++] = "exiftool";
	argv[n++] = "-q";
	argv[n++] = "-overwrite_original";
	for (size_t i = 0; i < N_EXIF; i++) {
		snprintf(args[i], sizeof(args[i]), "%s%s", exif_canaries[i].arg,
			 exif_canaries[i].value);
		argv[n++] = args[i];
	}
	argv[n++] = "-XMP-exif:GPSLatitude=43.467448";
	argv[n++] = "-XMP-exif:GPSLongitude=11.885127";
	argv[n++] = S.photo;
	argv[n] = NULL;
	harness_proc p;
	if (!harness_run(argv, &p)) {
		print_message(
		    "exiftool is not installed: the photo canaries are left out\n");
		return false;
	}
	harness_proc_expect("exiftool writing the canaries", &p, 0);
	harness_proc_free(&p);

	/* Each canary must really be in the file, or finding none proves
	 * nothing. */
	data = harness_read_file(S.photo, &len);
	for (size_t i = 0; i < N_EXIF; i++)
		if (!memmem(data, len, exif_canaries[i].value,
			    strlen(exif_canaries[i].value))) {
			free(data);
			fail_msg("exiftool did not write %s into %s",
				 exif_canaries[i].value, S.photo);
		}
	/* The XMP GPS strings as exiftool wrote them ("43,28.04688N"). */
	static const char *const tags[] = {"GPSLatitude>", "GPSLongitude>"};
	for (size_t t = 0; t < 2; t++) {
		const char *p0 = memmem(data, len, tags[t], strlen(tags[t]));
		const char *v = p0 ? p0 + strlen(tags[t]) : NULL;
		const char *e = v ? memchr(v, '<', (size_t)(data + len - v)) : NULL;
		if (!e || e - v < 6 || e - v > 40) {
			free(data);
			fail_msg("no XMP %s...< in %s after exiftool wrote it", tags[t],
				 S.photo);
		}
		snprintf(S.gps_xmp[t], sizeof(S.gps_xmp[t]), "%.*s", (int)(e - v), v);
	}
	free(data);
	return true;
}

/* ---- group ---- */

static int group_setup(void **state)
{
	(void)state;
	static char token_file[PATH_MAX + 16], secret_file[PATH_MAX + 16];
	fakebot_write_secrets(S.secrets, sizeof(S.secrets), TG_TOKEN, TG_SECRET,
			      token_file, secret_file, sizeof(token_file));
	S.bot = fakebot_start(TG_TOKEN);
	const char *args[] = {"--rate-per-client",
			      "0",
			      "--rate-global",
			      "0",
			      "--telegram-token-file",
			      token_file,
			      "--telegram-secret-file",
			      secret_file,
			      "--telegram-api-base",
			      fakebot_url(S.bot),
			      NULL};
	harness_server_init(&S.srv, args);
	teststore_mark_wal(S.srv.dir);
	/* The log inside the data directory, to be scanned with the rest. */
	if (strlen(S.srv.dir) + sizeof("/server.log") > sizeof(S.srv.log))
		fail_msg("data directory path too long: %s", S.srv.dir);
	snprintf(S.srv.log, sizeof(S.srv.log), "%.*s/server.log",
		 (int)(sizeof(S.srv.log) - sizeof("/server.log")), S.srv.dir);
	snprintf(S.tmpdir, sizeof(S.tmpdir), "%s/tmp", S.srv.dir);
	if (mkdir(S.tmpdir, 0700) != 0)
		fail_msg("mkdir %s: %s", S.tmpdir, strerror(errno));
	harness_moderator_add(&S.srv, "alice", "admin");
	char pass[256];
	harness_passphrase("alice", pass, sizeof(pass));
	add_needle("alice's passphrase", pass);
	harness_passphrase("bob", pass, sizeof(pass));
	add_needle("bob's passphrase", pass);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&S.srv);
	fakebot_stop(S.bot);
	fakebot_remove_secrets(S.secrets);
	free(S.cipher_windows);
	harness_thread_done();
	return 0;
}

/* Starts the server with TMPDIR inside the data directory, so that a
 * temporary file of the server or of libvips is scanned too. */
static void launch(void)
{
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("TMPDIR", S.tmpdir, 1);
	harness_server_launch(&S.srv);
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}

/* ---- the tests ---- */

static void test_submit(void **state)
{
	(void)state;
	uint64_t t0 = mono_ms();
	add_needle("text", C_TEXT);
	add_needle("contact", C_CONTACT);
	add_needle("JSON report text", C_JSON_TEXT);
	add_needle("JSON report contact", C_JSON_CONTACT);
	add_needle("follow-up", C_FOLLOWUP);
	add_needle("text of a refused report", C_REJECTED);
	add_needle("text of a malformed report", C_MALFORMED);
	add_needle("photo file name", C_FILENAME);
	add_needle("User-Agent", C_UA);
	add_needle("Referer", C_REFERER);
	add_needle("Cookie", C_COOKIE);
	add_needle("request path", C_PATH);
	add_needle("X-Forwarded-For", C_XFF);
	add_needle("X-Real-IP", C_REAL_IP);
	add_needle("Forwarded", C_FORWARDED);
	S.have_photo = make_canary_photo();
	if (S.have_photo) {
		for (size_t i = 0; i < N_EXIF; i++)
			add_needle("photo metadata", exif_canaries[i].value);
		add_needle("photo XMP GPS latitude", S.gps_xmp[0]);
		add_needle("photo XMP GPS longitude", S.gps_xmp[1]);
	}
	/* The scanner finds what it looks for: a control file outside the
	 * data directory with a canary, and the canary photo itself. */
	{
		char control[PATH_MAX];
		snprintf(control, sizeof(control), "%s/control.bin", S.srv.root);
		static const char ctl[] = "\x00\x01" C_CONTACT "\xff 127.0.0.1";
		harness_write_file(control, ctl, sizeof(ctl) - 1);
		scan s = {0};
		scan_file(&s, control);
		if (!strstr(s.found, C_CONTACT) || !strstr(s.found, "127.0.0.1"))
			fail_msg("the scanner missed the canaries in %s: \"%s\"", control,
				 s.found);
		if (S.have_photo) {
			s.found[0] = '\0';
			scan_file(&s, S.photo);
			for (size_t i = 0; i < N_EXIF; i++)
				if (!strstr(s.found, exif_canaries[i].value))
					fail_msg("the scanner missed %s in %s",
						 exif_canaries[i].value, S.photo);
			if (!strstr(s.found, S.gps_xmp[0]))
				fail_msg(
				    "the scanner missed the XMP GPS latitude %s in %s",
				    S.gps_xmp[0], S.photo);
		}
	}
	launch();

	/* 1: multipart, with the canary photo under a canary file name. */
	harness_multipart m;
	harness_multipart_init(&m);
	char *report =
	    report_json(",\"text\":\"" C_TEXT "\",\"contact\":\"" C_CONTACT "\"");
	harness_multipart_part(&m, "report", NULL, "application/json", report,
			       strlen(report));
	free(report);
	if (S.have_photo) {
		size_t len;
		char *photo = harness_read_file(S.photo, &len);
		harness_multipart_part(&m, "photo", C_FILENAME ".jpg", "image/jpeg",
				       photo, len);
		free(photo);
	}
	harness_multipart_end(&m);
	char ct[160];
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", m.boundary);
	harness_response r;
	request_with_ids("POST", REPORTS, ct, m.data, m.len, &r);
	harness_multipart_free(&m);
	created("multipart report with canaries", &r, &S.r1, S.receipt1);
	harness_response_free(&r);

	/* 2: JSON. */
	report = report_json(",\"text\":\"" C_JSON_TEXT "\",\"contact\":\"" C_JSON_CONTACT
			     "\"");
	request_with_ids("POST", REPORTS, "application/json", report, strlen(report), &r);
	free(report);
	created("JSON report with canaries", &r, &S.r2, S.receipt2);
	harness_response_free(&r);

	/* A follow-up to the first. */
	char path[256];
	snprintf(path, sizeof(path), REPORTS "/%s/followups", S.receipt1);
	static const char fu[] = "{\"text\":\"" C_FOLLOWUP "\"}";
	request_with_ids("POST", path, "application/json", fu, strlen(fu), &r);
	expect_status("follow-up with a canary", &r, 201);
	harness_response_free(&r);

	/* Refusals, where error paths like to log what they refused. */
	report =
	    report_json(",\"text\":\"" C_REJECTED "\",\"heading\":\"" C_REJECTED "\"");
	request_with_ids("POST", REPORTS, "application/json", report, strlen(report), &r);
	free(report);
	expect_status("invalid report with a canary", &r, 422);
	harness_response_free(&r);
	static const char malformed[] = "{\"text\":\"" C_MALFORMED "\",";
	request_with_ids("POST", REPORTS, "application/json", malformed,
			 strlen(malformed), &r);
	expect_status("malformed report with a canary", &r, 400);
	harness_response_free(&r);
	request_with_ids("GET", "/" C_PATH, NULL, NULL, 0, &r);
	expect_status("unknown path with a canary", &r, 404);
	harness_response_free(&r);
	snprintf(path, sizeof(path), REPORTS "/%s", S.receipt1);
	request_with_ids("GET", path, NULL, NULL, 0, &r);
	expect_status("receipt lookup", &r, 200);
	harness_response_free(&r);
	if (S.have_photo) {
		/* The canary photo cut short: refused, metadata and all. */
		size_t len;
		char *photo = harness_read_file(S.photo, &len);
		harness_multipart_init(&m);
		report = report_json(",\"text\":\"" C_REJECTED "\"");
		harness_multipart_part(&m, "report", NULL, NULL, report, strlen(report));
		free(report);
		harness_multipart_part(&m, "photo", C_FILENAME "-cut.jpg", "image/jpeg",
				       photo, len * 2 / 3);
		free(photo);
		harness_multipart_end(&m);
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", m.boundary);
		request_with_ids("POST", REPORTS, ct, m.data, m.len, &r);
		harness_multipart_free(&m);
		expect_status("truncated canary photo", &r, 422);
		harness_response_free(&r);
	}
	harness_server_assert_alive(&S.srv);

	/* The receipts are stored only as keyed hashes: their text is a
	 * canary too. */
	add_needle("receipt of report 1", S.receipt1);
	add_needle("receipt of report 2", S.receipt2);
	char bare[40];
	size_t b = 0;
	for (size_t i = 0; S.receipt1[i]; i++)
		if (S.receipt1[i] != '-')
			bare[b++] = S.receipt1[i];
	bare[b] = '\0';
	add_needle("receipt of report 1 without dashes", bare);

	long long reports = db("SELECT count(*) FROM reports");
	if (reports != 2)
		fail_msg("%lld reports stored, expected 2 (the refused ones must not be)",
			 reports);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sealed WHERE report_id = %lld",
		 S.r1);
	S.r1_items = db(sql);
	long long want = S.have_photo ? 3 : 2;
	if (S.r1_items != want)
		fail_msg(
		    "report 1 (id %lld) has %lld sealed items, expected %lld (content, "
		    "%sfollow-up)",
		    S.r1, S.r1_items, want, S.have_photo ? "photo, " : "");
	S.submitted = true;
	print_message("submitted in %llu ms\n", (unsigned long long)(mono_ms() - t0));
}

static void need(bool what, const char *msg)
{
	if (!what) {
		print_message("skipped: %s\n", msg);
		skip();
	}
}

/* ---- the bot and the form ---- */

static long long next_update = 90000;
static size_t bot_cursor;

static void bot_post(char *update)
{
	char sh[128];
	snprintf(sh, sizeof(sh), "X-Telegram-Bot-Api-Secret-Token: %s", TG_SECRET);
	const char *h[] = {"Content-Type: application/json", sh, NULL};
	harness_response r;
	harness_request(&S.srv, "POST", "/telegram/webhook", h, update, strlen(update),
			&r);
	expect_status("an update to the webhook", &r, 200);
	harness_response_free(&r);
	free(update);
}

/* The bot's next message to u; fails unless it holds want. */
static json_t *bot_reply(tg_user *u, const char *want)
{
	json_t *m = fakebot_wait(S.bot, "sendMessage", u->id, &bot_cursor, 15000);
	const char *text = m ? json_string_value(json_object_get(m, "text")) : NULL;
	if (!text || (want && !strstr(text, want)))
		fail_msg("the bot said \"%s\", expected \"%s\"",
			 text ? text : "(nothing)", want ? want : "");
	return m;
}

static void bot_tap(tg_user *u, const char *data, const char *want)
{
	bot_post(fakebot_button(next_update++, u, 1, data));
	bot_reply(u, want);
}

static void bot_say(tg_user *u, const char *text, const char *want)
{
	bot_post(fakebot_text(next_update++, u, text));
	bot_reply(u, want);
}

/* A whole conversation from a user whose every identifier is a canary. */
static void test_bot_conversation(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	add_needle("Telegram id", C_TG_ID_TEXT);
	add_needle("Telegram id, bytes little-endian", C_TG_ID_LE);
	add_needle("Telegram id, bytes big-endian", C_TG_ID_BE);
	add_needle("Telegram first name", C_TG_FIRST);
	add_needle("Telegram last name", C_TG_LAST);
	add_needle("Telegram username", C_TG_USER);
	add_needle("Telegram contact's phone", C_TG_PHONE);
	add_needle("Telegram file_id", C_TG_FILE_ID);
	add_needle("Telegram file path", C_TG_PATH);
	add_needle("Telegram document's file name", C_TG_DOC);
	add_needle("Telegram comment", C_TG_TEXT);
	add_needle("Telegram caption", C_TG_CAPTION);
	add_needle("the fake Bot API's file_unique_id", "AQADfakeUniq");
	add_needle("the bot's token", TG_TOKEN);
	add_needle("the webhook's secret", TG_SECRET);
	char path[64];
	snprintf(path, sizeof(path), "photos/%s.jpg", C_TG_PATH);
	if (S.have_photo) {
		size_t len;
		char *photo = harness_read_file(S.photo, &len);
		fakebot_add_file(S.bot, C_TG_FILE_ID, path, photo, len);
		free(photo);
	}
	tg_user u = {.id = C_TG_ID,
		     .first_name = C_TG_FIRST,
		     .last_name = C_TG_LAST,
		     .username = C_TG_USER,
		     .language_code = "be",
		     .next_message = 100};
	long long before = db("SELECT count(*) FROM reports");
	bot_say(&u, "/start", "Вітаем");
	bot_tap(&u, "c:rail_transport", "Дзе гэта было?");
	bot_post(fakebot_contact(next_update++, &u, "+" C_TG_PHONE));
	bot_reply(&u, "Не дасылайце нумары");
	bot_post(fakebot_location(next_update++, &u, 54.5081, 30.4172, 40));
	bot_reply(&u, "Калі?");
	bot_tap(&u, "t:15", "Што менавіта");
	bot_tap(&u, "e:tank", "колькі?");
	bot_say(&u, "12", "Запісана");
	bot_tap(&u, "m:next", "Ёсць фота?");
	if (S.have_photo) {
		bot_post(
		    fakebot_photo(next_update++, &u, C_TG_FILE_ID, 50000, C_TG_CAPTION));
		bot_reply(&u, "Фота 1 атрымана");
	}
	bot_post(fakebot_document(next_update++, &u, "BQACno", C_TG_DOC ".jpg",
				  "image/jpeg", 100));
	bot_reply(&u, "не падыходзіць");
	bot_say(&u, C_TG_TEXT, "Запісана");
	bot_tap(&u, "p:done", "Праверце");
	bot_tap(&u, "s:send", "Ваша квітанцыя");
	if (db("SELECT count(*) FROM reports") != before + 1)
		fail_msg("the bot's report was not stored");
	S.r_bot = db("SELECT max(id) FROM reports");
	/* The receipt the bot gave is a needle like the others. */
	json_t *last = fakebot_call(S.bot, bot_cursor - 1, NULL);
	const char *t = json_string_value(json_object_get(last, "text"));
	const char *c = t ? strstr(t, "<code>") : NULL;
	if (c) {
		char receipt[64];
		snprintf(receipt, sizeof(receipt), "%.*s", (int)strcspn(c + 6, "<"),
			 c + 6);
		add_needle("receipt the bot gave", receipt);
	}
	S.bot_done = true;
}

/* The web form, with a canary text and photo file name. */
static void test_form_report(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	add_needle("web form text", C_FORM_TEXT);
	add_needle("web form photo file name", C_FORM_FILENAME);
	time_t t = time(NULL) - 3600 + 3 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M", &tm);
	harness_multipart m;
	harness_multipart_init(&m);
	static const char *const f[][2] = {{"lang", "ru"},
					   {"category", "road_convoy"},
					   {"place", "Бобруйск"},
					   {"text", C_FORM_TEXT}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		harness_multipart_part(&m, f[i][0], NULL, NULL, f[i][1], strlen(f[i][1]));
	harness_multipart_part(&m, "observed_at", NULL, NULL, when, strlen(when));
	if (S.have_photo) {
		size_t len;
		char *photo = harness_read_file(S.photo, &len);
		harness_multipart_part(&m, "photo", C_FORM_FILENAME ".jpg", "image/jpeg",
				       photo, len);
		free(photo);
	}
	harness_multipart_end(&m);
	char ct[160];
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", m.boundary);
	harness_response r;
	long long before = db("SELECT count(*) FROM reports");
	request_with_ids("POST", "/report", ct, m.data, m.len, &r);
	harness_multipart_free(&m);
	expect_status("the web form with canaries", &r, 200);
	const char *c = r.body ? strstr(r.body, "<code id=\"receipt\">") : NULL;
	if (!c)
		fail_msg("no receipt on the form's page: %.1000s", body_of(&r));
	char receipt[64];
	c += strlen("<code id=\"receipt\">");
	snprintf(receipt, sizeof(receipt), "%.*s", (int)strcspn(c, "<"), c);
	add_needle("receipt the form gave", receipt);
	harness_response_free(&r);
	if (db("SELECT count(*) FROM reports") != before + 1)
		fail_msg("the form's report was not stored");
	S.r_form = db("SELECT max(id) FROM reports");
	S.form_done = true;
}

static void test_scan_while_running(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	harness_server_assert_alive(&S.srv);
	scan_data_dir("while the server runs", true, false);
}

static void test_scan_after_stop(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	harness_server_stop_ok(&S.srv);
	scan_data_dir("after SIGTERM", false, false);
}

static void test_moderator_reads(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	char dir[PATH_MAX];
	fresh_dir("photos-alice", dir, sizeof(dir));
	harness_proc p;
	json_t *j = unseal_json("unseal 1 as alice", "alice", NULL, dir, S.r1, &p);
	check_str("unseal 1 as alice", j, "text", C_TEXT);
	check_str("unseal 1 as alice", j, "contact", C_CONTACT);
	if (int_of(j, "sealed_items_not_for_you") != 0)
		fail_msg(
		    "unseal 1 as alice: sealed_items_not_for_you is %lld, expected 0",
		    int_of(j, "sealed_items_not_for_you"));
	json_t *f = json_array_get(json_object_get(j, "followups"), 0);
	if (array_len(j, "followups") != 1 ||
	    !json_string_value(json_object_get(f, "text")) ||
	    strcmp(json_string_value(json_object_get(f, "text")), C_FOLLOWUP) != 0)
		fail_msg(
		    "unseal 1 as alice: followups are not [{\"text\":\"%s\"}]: %.2000s",
		    C_FOLLOWUP, p.out);
	/* What unseal prints may quote the informant's words, but never
	 * anything that names them. */
	const char *ids[] = {C_UA,	 C_XFF,	   C_REAL_IP, C_FORWARDED,
			     C_FILENAME, C_COOKIE, C_REFERER};
	assert_no_needles("unseal 1 as alice, stdout", p.out, p.out_len, ids, 7);
	if (S.have_photo) {
		json_t *ph = json_array_get(json_object_get(j, "photos"), 0);
		const char *file = json_string_value(json_object_get(ph, "file"));
		if (array_len(j, "photos") != 1 || !file)
			fail_msg("unseal 1 as alice: photos are not one file: %.2000s",
				 p.out);
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s", file);
		size_t len;
		char *data = harness_read_file(path, &len);
		if (len != (size_t)int_of(ph, "bytes")) {
			free(data);
			fail_msg("unseal: %s has %zu bytes, the output says %lld", path,
				 len, int_of(ph, "bytes"));
		}
		if (strstr(path, C_FILENAME))
			fail_msg(
			    "unseal wrote the photo under the informant's file name: %s",
			    path);
		for (size_t i = 0; i < S.n_needles; i++) {
			size_t first = 0;
			if (count_in(data, len, S.needles[i].text,
				     strlen(S.needles[i].text), &first)) {
				free(data);
				fail_msg(
				    "photo given back by unseal (%s) has %s \"%s\" at "
				    "offset %zu",
				    path, S.needles[i].label, S.needles[i].text, first);
			}
		}
		free(data);
		char why[2048];
		if (!harness_photo_is_clean(path, why, sizeof(why)))
			fail_msg("photo given back by unseal (%s) is not clean: %s", path,
				 why);
	}
	json_decref(j);
	harness_proc_free(&p);

	j = unseal_json("unseal 2 as alice", "alice", NULL, NULL, S.r2, &p);
	check_str("unseal 2 as alice", j, "text", C_JSON_TEXT);
	check_str("unseal 2 as alice", j, "contact", C_JSON_CONTACT);
	json_decref(j);
	harness_proc_free(&p);
}

/* Alice reads the bot's and the form's reports: the text and the photo,
 * clean; and nothing of the Telegram user anywhere in what unseal prints. */
static void test_moderator_reads_bot_and_form(void **state)
{
	(void)state;
	need(S.bot_done && S.form_done, "the bot's or the form's report is missing");
	char dir[PATH_MAX];
	fresh_dir("photos-bot", dir, sizeof(dir));
	harness_proc p;
	json_t *j =
	    unseal_json("unseal the bot's report", "alice", NULL, dir, S.r_bot, &p);
	const char *text = json_string_value(json_object_get(j, "text"));
	if (!text || !strstr(text, C_TG_TEXT) ||
	    (S.have_photo && !strstr(text, C_TG_CAPTION)))
		fail_msg("the bot's report's text: %.2000s", p.out);
	const char *ids[] = {C_TG_ID_TEXT, C_TG_FIRST,	 C_TG_LAST, C_TG_USER,
			     C_TG_PHONE,   C_TG_FILE_ID, C_TG_PATH, C_TG_DOC};
	assert_no_needles("unseal the bot's report", p.out, p.out_len, ids, 8);
	if (S.have_photo) {
		char photo[PATH_MAX + 64], why[1024];
		snprintf(photo, sizeof(photo), "%s/report-%lld-photo-0.jpg", dir,
			 S.r_bot);
		if (!harness_photo_is_clean(photo, why, sizeof(why)))
			fail_msg("the bot's photo: %s", why);
		size_t len;
		char *data = harness_read_file(photo, &len);
		for (size_t i = 0; i < N_EXIF; i++)
			if (memmem(data, len, exif_canaries[i].value,
				   strlen(exif_canaries[i].value)))
				fail_msg("the bot's photo still holds %s",
					 exif_canaries[i].value);
		free(data);
	}
	json_decref(j);
	harness_proc_free(&p);
	j = unseal_json("unseal the form's report", "alice", NULL, NULL, S.r_form, &p);
	check_str("unseal the form's report", j, "text", C_FORM_TEXT);
	json_decref(j);
	harness_proc_free(&p);
}

/* A moderator added after the reports: nothing of them opens for them. */
static void test_newcomer_cannot_read_old(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	harness_moderator_add(&S.srv, "bob", "moderator");
	S.bob_added = true;
	long long keys =
	    db("SELECT count(*) FROM sealed_keys WHERE moderator_id = "
	       "(SELECT id FROM moderators WHERE name = 'bob' AND removed_at IS NULL)");
	if (keys != 0)
		fail_msg("bob, added after the reports, has %lld keys to sealed items",
			 keys);

	char dir[PATH_MAX];
	fresh_dir("photos-bob", dir, sizeof(dir));
	harness_proc p;
	json_t *j = unseal_json("unseal 1 as bob (newcomer)", "bob", NULL, dir, S.r1, &p);
	const char *secrets[] = {C_TEXT, C_CONTACT, C_FOLLOWUP};
	assert_no_needles("unseal 1 as bob, stdout", p.out, p.out_len, secrets, 3);
	assert_no_needles("unseal 1 as bob, stderr", p.err, p.err_len, secrets, 3);
	check_str("unseal 1 as bob", j, "text", NULL);
	check_str("unseal 1 as bob", j, "contact", NULL);
	if (!strstr(p.err, "bob"))
		fail_msg(
		    "unseal 1 as bob (newcomer): stderr does not tell him why he sees "
		    "nothing: \"%.1000s\"",
		    p.err);
	if (array_len(j, "followups") != 0 || array_len(j, "photos") != 0)
		fail_msg("unseal 1 as bob lists follow-ups or photos: %.2000s", p.out);
	if (count_files(dir) != 0)
		fail_msg("unseal 1 as bob (newcomer) wrote %zu file(s) to %s",
			 count_files(dir), dir);
	long long locked = int_of(j, "sealed_items_not_for_you");
	json_decref(j);
	char out[2048];
	snprintf(out, sizeof(out), "%s", p.out);
	harness_proc_free(&p);
	j = unseal_json("unseal 2 as bob (newcomer)", "bob", NULL, NULL, S.r2, &p);
	check_str("unseal 2 as bob", j, "text", NULL);
	long long locked2 = int_of(j, "sealed_items_not_for_you");
	json_decref(j);
	harness_proc_free(&p);
	if (locked != S.r1_items)
		fail_msg(
		    "unseal 1 as bob: sealed_items_not_for_you is %lld, expected %lld "
		    "(every sealed item of the report: content, %sfollow-up): %s",
		    locked, S.r1_items, S.have_photo ? "photo, " : "", out);
	if (locked2 != 1)
		fail_msg(
		    "unseal 2 as bob: sealed_items_not_for_you is %lld, expected 1 (its "
		    "content)",
		    locked2);
}

/* What is sealed after bob joined is sealed to him too. */
static void test_newcomer_reads_new(void **state)
{
	(void)state;
	need(S.bob_added, "bob was not added");
	/* A restart reads the moderators at once (the running server would
	 * within 2 s). */
	launch();
	char *report = report_json(",\"text\":\"" C_BOB_TEXT "\"");
	harness_response r;
	request_with_ids("POST", REPORTS, "application/json", report, strlen(report), &r);
	free(report);
	created("report after bob joined", &r, &S.r3, NULL);
	harness_response_free(&r);
	harness_server_stop_ok(&S.srv);
	harness_proc p;
	json_t *j = unseal_json("unseal 3 as bob", "bob", NULL, NULL, S.r3, &p);
	check_str("unseal 3 as bob", j, "text", C_BOB_TEXT);
	if (int_of(j, "sealed_items_not_for_you") != 0)
		fail_msg("unseal 3 as bob: sealed_items_not_for_you is %lld, expected 0",
			 int_of(j, "sealed_items_not_for_you"));
	json_decref(j);
	harness_proc_free(&p);
	j = unseal_json("unseal 3 as alice", "alice", NULL, NULL, S.r3, &p);
	check_str("unseal 3 as alice", j, "text", C_BOB_TEXT);
	json_decref(j);
	harness_proc_free(&p);
}

/* An admin shares the past with bob on purpose. */
static void test_share(void **state)
{
	(void)state;
	need(S.bob_added, "bob was not added");
	char alice_pass[PATH_MAX];
	harness_passphrase_path(&S.srv, "alice", alice_pass, sizeof(alice_pass));
	const char *args[] = {
	    "moderator", "share", "bob",    "--since", "2000-01-01",
	    "--admin",	 "alice", "--data", S.srv.dir, "--passphrase-file",
	    alice_pass,	 NULL};
	harness_proc p;
	harness_cli(args, &p);
	harness_proc_expect("moderator share bob --since 2000-01-01 --admin alice", &p,
			    0);
	harness_proc_free(&p);
	char dir[PATH_MAX];
	fresh_dir("photos-bob-shared", dir, sizeof(dir));
	json_t *j =
	    unseal_json("unseal 1 as bob after share", "bob", NULL, dir, S.r1, &p);
	check_str("unseal 1 as bob after share", j, "text", C_TEXT);
	check_str("unseal 1 as bob after share", j, "contact", C_CONTACT);
	if (array_len(j, "followups") != 1 ||
	    array_len(j, "photos") != (S.have_photo ? 1u : 0u) ||
	    int_of(j, "sealed_items_not_for_you") != 0)
		fail_msg(
		    "unseal 1 as bob after share: expected 1 follow-up, %d photo(s), "
		    "0 items not for him: %.2000s",
		    S.have_photo ? 1 : 0, p.out);
	json_decref(j);
	harness_proc_free(&p);
	j = unseal_json("unseal 2 as bob after share", "bob", NULL, NULL, S.r2, &p);
	check_str("unseal 2 as bob after share", j, "text", C_JSON_TEXT);
	json_decref(j);
	harness_proc_free(&p);
}

/* A wrong passphrase opens nothing and says so. */
static void test_wrong_passphrase(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	char wrong[PATH_MAX];
	snprintf(wrong, sizeof(wrong), "%s/passphrase-wrong", S.srv.root);
	harness_write_passphrase(wrong, "correct horse battery staple of mallory");
	const char *secrets[] = {C_TEXT, C_CONTACT, C_FOLLOWUP, C_JSON_TEXT,
				 C_JSON_CONTACT};
	const struct {
		const char *who;
		long long id;
	} tries[] = {{"alice", S.r1}, {"alice", S.r2}, {"bob", S.r1}};
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (strcmp(tries[i].who, "bob") == 0 && !S.bob_added)
			continue;
		char ctx[128], dir[PATH_MAX];
		snprintf(ctx, sizeof(ctx), "unseal %lld as %s with a wrong passphrase",
			 tries[i].id, tries[i].who);
		fresh_dir("photos-wrong", dir, sizeof(dir));
		harness_proc p;
		harness_unseal(&S.srv, tries[i].who, wrong, dir, tries[i].id, &p);
		if (p.exit_code == 0 || p.exit_code < 0)
			harness_proc_expect(ctx, &p, 2);
		if (!strstr(p.err, "wrong passphrase"))
			fail_msg("%s: stderr does not say \"wrong passphrase\": %.2000s",
				 ctx, p.err);
		assert_no_needles(ctx, p.out, p.out_len, secrets, 5);
		assert_no_needles(ctx, p.err, p.err_len, secrets, 5);
		if (strstr(p.out, "\"text\""))
			fail_msg("%s: printed a text: %.2000s", ctx, p.out);
		harness_proc_free(&p);
		if (count_files(dir) != 0)
			fail_msg("%s: wrote %zu file(s) to %s", ctx, count_files(dir),
				 dir);
	}
	/* Nor does a wrong admin passphrase share anything. */
	if (S.bob_added) {
		const char *args[] = {
		    "moderator", "share", "bob",    "--since", "2000-01-01",
		    "--admin",	 "alice", "--data", S.srv.dir, "--passphrase-file",
		    wrong,	 NULL};
		harness_proc p;
		harness_cli(args, &p);
		if (p.exit_code == 0 || !strstr(p.err, "wrong passphrase"))
			fail_msg(
			    "moderator share with a wrong admin passphrase: exit %d, "
			    "stderr: %.2000s",
			    p.exit_code, p.err);
		harness_proc_free(&p);
	}
}

/* A removed moderator opens nothing any more, not even with the right
 * passphrase, and their keys are gone from the disk. */
static void test_removed_moderator(void **state)
{
	(void)state;
	need(S.bob_added, "bob was not added");
	long long bob_id = db("SELECT id FROM moderators WHERE name = 'bob'");
	const char *args[] = {"moderator", "remove", "bob", "--data", S.srv.dir, NULL};
	harness_proc p;
	harness_cli(args, &p);
	harness_proc_expect("moderator remove bob", &p, 0);
	harness_proc_free(&p);
	char dir[PATH_MAX];
	fresh_dir("photos-removed", dir, sizeof(dir));
	harness_unseal(&S.srv, "bob", NULL, dir, S.r1, &p);
	const char *secrets[] = {C_TEXT, C_CONTACT, C_FOLLOWUP};
	if (p.exit_code == 0)
		fail_msg("unseal 1 as removed bob: exit 0, expected a failure; stdout: "
			 "%.2000s",
			 p.out);
	assert_no_needles("unseal as removed bob", p.out, p.out_len, secrets, 3);
	harness_proc_free(&p);
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM sealed_keys WHERE moderator_id = %lld", bob_id);
	long long keys = db(sql);
	if (keys != 0)
		fail_msg("removed bob (id %lld) still has %lld wrapped item keys", bob_id,
			 keys);
}

typedef struct windows {
	size_t items, *item_of;
} windows;

/* Four 32-byte windows of one ciphertext into S.cipher_windows. */
static void add_windows(void *ud, const uint8_t *b, size_t n)
{
	windows *w = ud;
	if (n < 32 || !b)
		return;
	size_t at[4] = {16, n / 3, n / 2, n - 48};
	for (size_t k = 0; k < 4; k++)
		if (at[k] > n - 32)
			at[k] = n - 32;
	void *grown = realloc(S.cipher_windows, (S.n_windows + 4) * 32);
	void *grown2 = realloc(w->item_of, (S.n_windows + 4) * sizeof(*w->item_of));
	if (!grown || !grown2)
		abort();
	S.cipher_windows = grown;
	w->item_of = grown2;
	for (size_t k = 0; k < 4; k++) {
		w->item_of[S.n_windows] = w->items;
		memcpy(S.cipher_windows[S.n_windows++], b + at[k], 32);
	}
	w->items++;
}

/* After the retention purge nothing sealed is left, ciphertext included. */
static void test_retention_purge(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	/* 32 bytes from the middle of every ciphertext, to look for after.
	 * Four windows per item: a large blob spans overflow pages, and a
	 * window across a page boundary is not contiguous in the file. */
	windows w = {0};
	teststore_each_blob(S.srv.dir, "SELECT cipher FROM sealed", add_windows, &w);
	size_t items = w.items, *item_of = w.item_of;
	if (items == 0)
		fail_msg("no ciphertext of 32 bytes or more in sealed before the purge");
	/* Control: keep the windows that are in the files now; every item must
	 * keep at least one, or the check after the purge proves nothing. */
	size_t kept = 0;
	bool *item_seen = calloc(items, sizeof(bool));
	for (size_t i = 0; i < S.n_windows; i++) {
		scan c = {.windows = &S.cipher_windows[i], .n_windows = 1};
		harness_walk_files(S.srv.dir, scan_file, &c);
		scan_db_server(&c, true);
		if (strstr(c.found, "purged ciphertext")) {
			memmove(S.cipher_windows[kept], S.cipher_windows[i], 32);
			item_seen[item_of[i]] = true;
			item_of[kept++] = item_of[i];
		}
	}
	S.n_windows = kept;
	size_t unseen = 0;
	for (size_t i = 0; i < items; i++)
		unseen += !item_seen[i];
	free(item_seen);
	free(item_of);
	if (unseen)
		fail_msg("%zu of %zu sealed items have none of their ciphertext windows "
			 "in the "
			 "data directory's files before the purge",
			 unseen, items);
	print_message("%zu ciphertext windows of %zu sealed items to look for after the "
		      "purge\n",
		      kept, items);

	/* Items are dated to the minute, rounded down, and the purge takes
	 * what is older than its cutoff (now, with --all): not in the very
	 * second a minute starts. */
	if (time(NULL) % 60 == 0)
		sleep(1);
	/* --retention-days 0 means "keep for ever", as for serve: it purges
	 * nothing and says how to. */
	const char *off[] = {"purge", "--retention-days", "0", "--data", S.srv.dir, NULL};
	harness_proc p;
	harness_cli(off, &p);
	if (p.exit_code == 0 || !strstr(p.err, "--all"))
		fail_msg(
		    "purge --retention-days 0: exit %d, expected a refusal naming --all; "
		    "stderr: %.1000s",
		    p.exit_code, p.err);
	harness_proc_free(&p);
	if (db("SELECT count(*) FROM sealed") == 0)
		fail_msg("purge --retention-days 0 purged the sealed items");
	const char *args[] = {"purge", "--all", "--data", S.srv.dir, NULL};
	harness_cli(args, &p);
	harness_proc_expect("purge --all", &p, 0);
	harness_proc_free(&p);
	long long sealed = db("SELECT count(*) FROM sealed");
	long long keys = db("SELECT count(*) FROM sealed_keys");
	if (sealed != 0 || keys != 0)
		fail_msg("after purge --all: %lld sealed items and %lld item keys "
			 "left, expected none",
			 sealed, keys);
	json_t *j = unseal_json("unseal 1 as alice after the purge", "alice", NULL, NULL,
				S.r1, &p);
	check_str("unseal 1 as alice after the purge", j, "text", NULL);
	check_str("unseal 1 as alice after the purge", j, "contact", NULL);
	if (array_len(j, "followups") != 0 || array_len(j, "photos") != 0)
		fail_msg(
		    "unseal 1 after the purge still lists follow-ups or photos: %.2000s",
		    p.out);
	json_decref(j);
	harness_proc_free(&p);
	/* The reports themselves stay (the engine's fields). */
	long long want_reports = 3 + S.bot_done + S.form_done;
	if (db("SELECT count(*) FROM reports") != want_reports)
		fail_msg("the purge removed reports: %lld left, expected %lld",
			 db("SELECT count(*) FROM reports"), want_reports);
	/* Neither a canary nor a byte of the ciphertext anywhere (on
	 * PostgreSQL: but in the WAL, which keeps what was written until its
	 * segment is recycled, docs/SECURITY.md). */
	scan_data_dir("after the purge", false, true);
}

/* Nothing was left behind in the server's TMPDIR. */
static void test_no_temporary_files(void **state)
{
	(void)state;
	need(S.submitted, "the reports were not submitted");
	size_t n = count_files(S.tmpdir);
	if (n)
		fail_msg("the server left %zu file(s) in its TMPDIR %s", n, S.tmpdir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_submit),
	    cmocka_unit_test(test_bot_conversation),
	    cmocka_unit_test(test_form_report),
	    cmocka_unit_test(test_scan_while_running),
	    cmocka_unit_test(test_scan_after_stop),
	    cmocka_unit_test(test_moderator_reads),
	    cmocka_unit_test(test_moderator_reads_bot_and_form),
	    cmocka_unit_test(test_newcomer_cannot_read_old),
	    cmocka_unit_test(test_newcomer_reads_new),
	    cmocka_unit_test(test_share),
	    cmocka_unit_test(test_wrong_passphrase),
	    cmocka_unit_test(test_removed_moderator),
	    cmocka_unit_test(test_retention_purge),
	    cmocka_unit_test(test_no_temporary_files),
	};
	return cmocka_run_group_tests_name("seizure", tests, group_setup, group_teardown);
}
