/*
 * teststore.c — the store a test runs against (teststore.h).
 *
 * For PostgreSQL, every data directory gets a database of its own on the
 * throwaway cluster, "sl_t_PID_N", made from a template that has PostGIS
 * (CREATE DATABASE copies it in a fraction of the time CREATE EXTENSION
 * takes). The data directory's path is the key: a test that reopens a
 * store in the same directory finds the same database, as it would the
 * same SQLite file.
 *
 * Making a database from the template takes about a second on a busy
 * machine, and the store tests make one per test: so a database given up
 * by teststore_drop is emptied (every table and function that is not
 * PostGIS's dropped) and kept for the process's next teststore_url,
 * which then finds what a new copy of the template would hold. They are
 * dropped when the process exits.
 */
#define _GNU_SOURCE /* memmem */
#include "teststore.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#define TEMPLATE "sl_template"
#define MAX_DIRS 64

typedef struct entry {
	char *dir, *db, *url;
	bool reusable; /* a copy of TEMPLATE */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry entries[MAX_DIRS];
static unsigned counter;
/* Emptied copies of TEMPLATE, for the next teststore_url. */
static char *spare[MAX_DIRS];
static int n_spare;
static pid_t spare_pid;

bool teststore_pg(void)
{
	const char *b = getenv("SIGHTLINE_TEST_BACKEND");
	if (!b || strcmp(b, "postgresql") != 0)
		return false;
	const char *url = getenv("SIGHTLINE_TEST_PG");
	if (!url || !*url) {
		fprintf(stderr, "teststore: SIGHTLINE_TEST_BACKEND=postgresql but "
				"SIGHTLINE_TEST_PG is not set (scripts/check starts a "
				"cluster and sets it): skipped\n");
		exit(77);
	}
	return true;
}

/* A connection to database db of the cluster (NULL: its admin database). */
static PGconn *connect_to(const char *db)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s/%s", getenv("SIGHTLINE_TEST_PG"),
		 db ? db : "postgres");
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("teststore: cannot connect to %s: %s", url, msg);
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

/* Runs sql on c; false with the message in why. */
static bool run(PGconn *c, const char *sql, char *why, size_t size)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok && why)
		snprintf(why, size, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* Makes the template once per cluster (any test process may be first;
 * one that loses the race finds it made). */
static void make_template(PGconn *admin)
{
	char why[512];
	PGresult *r = PQexec(admin, "SELECT 1 FROM pg_database WHERE datname = '" TEMPLATE "'");
	bool have = PQntuples(r) == 1;
	PQclear(r);
	if (have)
		return;
	if (!run(admin, "CREATE DATABASE " TEMPLATE "_new TEMPLATE template0", why,
		 sizeof(why))) {
		if (strstr(why, "already exists"))
			return; /* another process is making it */
		fail_msg("teststore: create template: %s", why);
	}
	PGconn *t = connect_to(TEMPLATE "_new");
	bool ok = run(t, "CREATE EXTENSION IF NOT EXISTS postgis", why, sizeof(why));
	PQfinish(t);
	if (!ok)
		fprintf(stderr, "teststore: no PostGIS in the template (%s); the tests "
				"run without it\n", why);
	if (!run(admin, "ALTER DATABASE " TEMPLATE "_new RENAME TO " TEMPLATE, why,
		 sizeof(why)) &&
	    !strstr(why, "already exists"))
		fail_msg("teststore: rename template: %s", why);
}

static void drop_database(PGconn *admin, const char *db)
{
	char sql[160], why[512];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	if (!run(admin, sql, why, sizeof(why)))
		fprintf(stderr, "teststore: %s: %s\n", sql, why);
}

static void drop_spares(void)
{
	if (getpid() != spare_pid || !n_spare)
		return;
	PGconn *admin = connect_to(NULL);
	for (int i = 0; i < n_spare; i++) {
		drop_database(admin, spare[i]);
		free(spare[i]);
	}
	n_spare = 0;
	PQfinish(admin);
}

/* Everything a store or a test made in db, dropped: what is left is the
 * template's (PostGIS, a member of its extension). Other sessions (a
 * server that was killed) are ended first. False when it did not work. */
static const char sql_empty[] =
    "DO $$ DECLARE r record; BEGIN"
    " PERFORM pg_terminate_backend(pid) FROM pg_stat_activity"
    "  WHERE datname = current_database() AND pid <> pg_backend_pid();"
    " FOR r IN SELECT c.relname, CASE c.relkind WHEN 'v' THEN 'VIEW'"
    "  WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind"
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
    "  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
    "  ORDER BY c.relkind DESC" /* views, then tables, then what is left */
    " LOOP EXECUTE 'DROP ' || r.kind || ' IF EXISTS ' || quote_ident(r.relname)"
    "  || ' CASCADE'; END LOOP;"
    " FOR r IN SELECT p.oid::regprocedure::text AS f FROM pg_proc p"
    "  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
    "  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
    " LOOP EXECUTE 'DROP FUNCTION IF EXISTS ' || r.f || ' CASCADE'; END LOOP;"
    " END $$";

static bool empty_database(const char *db)
{
	char why[512];
	PGconn *c = connect_to(db);
	bool ok = run(c, sql_empty, why, sizeof(why));
	if (!ok)
		fprintf(stderr, "teststore: cannot empty %s: %s\n", db, why);
	PQfinish(c);
	return ok;
}

static entry *find(const char *dir)
{
	for (int i = 0; i < MAX_DIRS; i++)
		if (entries[i].dir && strcmp(entries[i].dir, dir) == 0)
			return &entries[i];
	return NULL;
}

const char *teststore_url_from(const char *dir, const char *template_name)
{
	if (!teststore_pg())
		return NULL;
	pthread_mutex_lock(&lock);
	entry *e = find(dir);
	if (e) {
		pthread_mutex_unlock(&lock);
		return e->url;
	}
	for (int i = 0; i < MAX_DIRS && !e; i++)
		if (!entries[i].dir)
			e = &entries[i];
	if (!e) {
		pthread_mutex_unlock(&lock);
		fail_msg("teststore: more than %d databases at once", MAX_DIRS);
	}
	char db[64], sql[160], why[512];
	if (!template_name && n_spare) {
		char url[1024];
		char *name = spare[--n_spare];
		snprintf(url, sizeof(url), "%s/%s", getenv("SIGHTLINE_TEST_PG"), name);
		e->dir = strdup(dir);
		e->db = name;
		e->url = strdup(url);
		e->reusable = true;
		pthread_mutex_unlock(&lock);
		return e->url;
	}
	snprintf(db, sizeof(db), "sl_t_%ld_%u", (long)getpid(), ++counter);
	PGconn *admin = connect_to(NULL);
	const char *tmpl = template_name ? template_name : TEMPLATE;
	if (!template_name)
		make_template(admin);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", db, tmpl);
	/* The template is busy while another process copies it: try again. */
	bool ok = false;
	for (int attempt = 0; attempt < 100 && !ok; attempt++) {
		ok = run(admin, sql, why, sizeof(why));
		/* Another process is copying the template, or still making it. */
		if (!ok && !strstr(why, "is being accessed by other users") &&
		    !strstr(why, "does not exist"))
			break;
		if (!ok)
			usleep(50 * 1000);
	}
	PQfinish(admin);
	if (!ok) {
		pthread_mutex_unlock(&lock);
		fail_msg("teststore: %s: %s", sql, why);
	}
	char url[1024];
	snprintf(url, sizeof(url), "%s/%s", getenv("SIGHTLINE_TEST_PG"), db);
	e->dir = strdup(dir);
	e->db = strdup(db);
	e->url = strdup(url);
	e->reusable = !template_name;
	pthread_mutex_unlock(&lock);
	return e->url;
}

const char *teststore_url(const char *dir)
{
	return teststore_url_from(dir, NULL);
}

sl_err teststore_open(const char *dir, sl_store **out)
{
	return sl_store_open_url(dir, teststore_url(dir), out);
}

void teststore_drop(const char *dir)
{
	if (!teststore_pg())
		return;
	pthread_mutex_lock(&lock);
	entry *e = find(dir);
	if (e && e->reusable && n_spare < MAX_DIRS && empty_database(e->db)) {
		if (spare_pid != getpid()) {
			spare_pid = getpid();
			atexit(drop_spares);
		}
		spare[n_spare++] = e->db;
		e->db = NULL;
	} else if (e) {
		PGconn *admin = connect_to(NULL);
		drop_database(admin, e->db);
		PQfinish(admin);
	}
	if (e) {
		free(e->dir);
		free(e->db);
		free(e->url);
		memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&lock);
}

/* dir's database name (PostgreSQL), made when missing. */
static const char *db_of(const char *dir)
{
	teststore_url(dir);
	pthread_mutex_lock(&lock);
	entry *e = find(dir);
	const char *db = e ? e->db : NULL;
	pthread_mutex_unlock(&lock);
	return db;
}

static void sqlite_path(const char *dir, const char *suffix, char *buf, size_t size)
{
	snprintf(buf, size, "%s/sightline.db%s", dir, suffix);
}

bool teststore_query(const char *dir, const char *sql, char *buf, size_t size)
{
	if (teststore_pg()) {
		PGconn *c = connect_to(db_of(dir));
		PGresult *r = PQexec(c, sql);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
		if (ok)
			snprintf(buf, size, "%s", PQgetvalue(r, 0, 0));
		else
			snprintf(buf, size, "%s",
				 PQresultStatus(r) == PGRES_TUPLES_OK ? "no row"
								      : PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		return ok;
	}
	char path[PATH_MAX];
	sqlite_path(dir, "", path, sizeof(path));
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			snprintf(buf, size, "%s", v ? v : "");
			ok = true;
		}
	}
	if (!ok)
		snprintf(buf, size, "%s", db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

bool teststore_try_exec(const char *dir, const char *sql, char *why, size_t size)
{
	if (teststore_pg()) {
		PGconn *c = connect_to(db_of(dir));
		bool ok = run(c, sql, why, size);
		PQfinish(c);
		return ok;
	}
	char path[PATH_MAX];
	sqlite_path(dir, "", path, sizeof(path));
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	}
	snprintf(why, size, "%s", err ? err : db ? sqlite3_errmsg(db) : "");
	sqlite3_free(err);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

void teststore_exec(const char *dir, const char *sql)
{
	char why[512];
	if (!teststore_try_exec(dir, sql, why, sizeof(why)))
		fail_msg("teststore: %s on the store of %s: %s", sql, dir, why);
}

long long teststore_integer(const char *dir, const char *sql)
{
	char buf[512];
	if (!teststore_query(dir, sql, buf, sizeof(buf)))
		fail_msg("\"%s\" on the store of %s: %s", sql, dir, buf);
	return strtoll(buf, NULL, 10);
}

/* ---- what is on disk ---- */

/* True when the file at path holds needle (a missing file holds nothing). */
static bool file_has(const char *path, const void *needle, size_t n)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		if (errno != ENOENT)
			fail_msg("cannot open %s: %s", path, strerror(errno));
		return false;
	}
	size_t cap = (size_t)1 << 16, len = 0, got;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(fp);
	bool found = len >= n && memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

static __thread char where[PATH_MAX + 64];

/* Calls visit for every regular file under path (or path itself);
 * pg_wal segments named before wal_from are left out. */
static void walk(const char *path, const char *wal_from,
		 void (*visit)(void *ud, const char *path), void *ud)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		const char *name = slash ? slash + 1 : path;
		if (wal_from && strlen(name) == 24 && strcmp(name, wal_from) < 0)
			return;
		visit(ud, path);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		walk(sub, wal_from, visit, ud);
	}
	closedir(d);
}

static char wal_mark[32];

void teststore_mark_wal(const char *dir)
{
	if (!teststore_pg())
		return;
	PGconn *c = connect_to(db_of(dir));
	PGresult *r = PQexec(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		snprintf(wal_mark, sizeof(wal_mark), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

void teststore_files(const char *dir, bool with_wal,
		     void (*visit)(void *ud, const char *path), void *ud)
{
	const char *data = getenv("SIGHTLINE_TEST_PGDATA");
	if (!teststore_pg() || !data || !*data)
		return;
	PGconn *c = connect_to(db_of(dir));
	/* What the server has in memory reaches the files. */
	PQclear(PQexec(c, "CHECKPOINT"));
	PGresult *r = PQexec(c, "SELECT oid FROM pg_database WHERE datname = current_database()");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/base/%s", data, PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	walk(path, NULL, visit, ud);
	static const char *const shared[] = {"global", "server.log", "pg_wal"};
	for (size_t i = 0; i < (with_wal ? 3u : 2u); i++) {
		snprintf(path, sizeof(path), "%s/%s", data, shared[i]);
		walk(path, i == 2 && wal_mark[0] ? wal_mark : NULL, visit, ud);
	}
}

typedef struct has_ctx {
	const void *needle;
	size_t n;
	bool found;
} has_ctx;

static void has_visit(void *ud, const char *path)
{
	has_ctx *h = ud;
	if (!h->found && file_has(path, h->needle, h->n)) {
		h->found = true;
		snprintf(where, sizeof(where), "%s", path);
	}
}

/* Every row of every table of c's database, as text, bytea as hex. */
static char *dump_rows(PGconn *c, size_t *len)
{
	PGresult *t = PQexec(c, "SELECT quote_ident(tablename) FROM pg_tables"
				" WHERE schemaname = current_schema() ORDER BY 1");
	if (PQresultStatus(t) != PGRES_TUPLES_OK)
		fail_msg("teststore: list tables: %s", PQresultErrorMessage(t));
	size_t cap = 1 << 16, o = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	for (int i = 0; i < PQntuples(t); i++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "SELECT coalesce(string_agg(x::text, E'\\n'), '') FROM %s x",
			 PQgetvalue(t, i, 0));
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("teststore: %s: %s", sql, PQresultErrorMessage(r));
		size_t n = (size_t)PQgetlength(r, 0, 0);
		while (o + n + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + o, PQgetvalue(r, 0, 0), n);
		o += n;
		out[o++] = '\n';
		PQclear(r);
	}
	PQclear(t);
	*len = o;
	return out;
}

char *teststore_dump(const char *dir, size_t *len)
{
	*len = 0;
	if (!teststore_pg())
		return NULL;
	PGconn *c = connect_to(db_of(dir));
	char *rows = dump_rows(c, len);
	PQfinish(c);
	return rows;
}

size_t teststore_each_blob(const char *dir, const char *sql,
			   void (*visit)(void *ud, const uint8_t *b, size_t n), void *ud)
{
	size_t rows = 0;
	if (teststore_pg()) {
		PGconn *c = connect_to(db_of(dir));
		PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("teststore: %s: %s", sql, PQresultErrorMessage(r));
		for (int i = 0; i < PQntuples(r); i++, rows++)
			visit(ud, (const uint8_t *)PQgetvalue(r, i, 0),
			      (size_t)PQgetlength(r, i, 0));
		PQclear(r);
		PQfinish(c);
		return rows;
	}
	char path[PATH_MAX];
	sqlite_path(dir, "", path, sizeof(path));
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		fail_msg("teststore: %s on %s: %s", sql, path, msg);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		visit(ud, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rows;
}

const char *teststore_holds(const char *dir, const void *needle, size_t n, int what)
{
	if (!teststore_pg()) {
		static const char *const suffixes[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			sqlite_path(dir, suffixes[i], where, sizeof(where));
			if (file_has(where, needle, n))
				return where;
		}
		return NULL;
	}
	PGconn *c = connect_to(db_of(dir));
	const char *found = NULL;
	if (what & TESTSTORE_ROWS) {
		size_t len;
		char *rows = dump_rows(c, &len);
		char *hex = malloc(2 * n + 1);
		assert_non_null(hex);
		for (size_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)needle)[i]);
		if (memmem(rows, len, needle, n) || memmem(rows, len, hex, 2 * n)) {
			snprintf(where, sizeof(where), "a row of database %s", db_of(dir));
			found = where;
		}
		free(hex);
		free(rows);
	}
	PQfinish(c);
	if (!found && (what & TESTSTORE_FILES)) {
		has_ctx h = {needle, n, false};
		teststore_files(dir, true, has_visit, &h);
		found = h.found ? where : NULL;
	}
	return found;
}
