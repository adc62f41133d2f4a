/*
 * teststore.h — the store a test runs against: SQLite, or a real
 * PostgreSQL server.
 *
 * Every test that opens a store does it through teststore_open, so that
 * the same test runs against both backends: SQLite in the data directory
 * by default; PostgreSQL when SIGHTLINE_TEST_BACKEND=postgresql (meson's
 * "postgresql" test setup, which scripts/check runs). Then
 * SIGHTLINE_TEST_PG is the throwaway cluster's admin URL
 * ("postgresql://postgres@127.0.0.1:PORT"), SIGHTLINE_TEST_PGDATA its data
 * directory, and each data directory a test uses gets a fresh database of
 * its own, made from the template sl_template (PostGIS installed; made
 * here on first use), and dropped by teststore_drop. A test asked to run
 * on PostgreSQL without a cluster exits 77 (skipped), saying why.
 *
 * The helpers fail the test (cmocka) rather than return errors, except
 * where a result says otherwise.
 */
#ifndef SIGHTLINE_TESTSTORE_H
#define SIGHTLINE_TESTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/store.h"

/* True when this test process runs against PostgreSQL. */
bool teststore_pg(void);

/* The --store URL for data directory dir: NULL for SQLite; for
 * PostgreSQL the URL of dir's database, created on the first call for dir
 * (later calls give the same one). The string lives until
 * teststore_drop(dir). */
const char *teststore_url(const char *dir);

/* The same, the database made from template instead (PostgreSQL only;
 * "template0" gives one without PostGIS). */
const char *teststore_url_from(const char *dir, const char *template_name);

/* sl_store_open_url(dir, teststore_url(dir), out). */
sl_err teststore_open(const char *dir, sl_store **out);

/* Drops dir's database (PostgreSQL) and forgets it; the next
 * teststore_url(dir) makes a new, empty one. Nothing for SQLite (the
 * caller removes the directory). Safe for a dir never opened. */
void teststore_drop(const char *dir);

/* Runs sql on dir's database with a connection of its own. */
void teststore_exec(const char *dir, const char *sql);
/* The same; false, with the database's message in why, when it fails. */
bool teststore_try_exec(const char *dir, const char *sql, char *why, size_t size);

/* The first column of the first row of sql on dir's database, as text in
 * buf. False, with the database's message in buf, when it fails or has
 * no row. */
bool teststore_query(const char *dir, const char *sql, char *buf, size_t size);

/* teststore_query as an integer; fails the test when it does not work. */
long long teststore_integer(const char *dir, const char *sql);

enum {
	TESTSTORE_FILES = 1, /* the bytes of the database's files on disk */
	TESTSTORE_ROWS = 2,  /* any row of any table (PostgreSQL), as text */
};

/* Where the n bytes at needle are in what a seized database server would
 * hold (what: TESTSTORE_FILES, TESTSTORE_ROWS or both): for SQLite,
 * sightline.db, its WAL and shared memory (rows are in those); for PostgreSQL, the files
 * of dir's database, the cluster's WAL and its server log (after a
 * CHECKPOINT), and every row of every table of the database (bytea
 * decoded). Returns the name of the first place that holds them, or NULL. */
const char *teststore_holds(const char *dir, const void *needle, size_t n, int what);

/* PostgreSQL only (nothing for SQLite): what a seized database server
 * holds of dir's database, as files and as rows. teststore_mark_wal notes
 * the cluster's current WAL segment, so that teststore_files leaves out
 * the WAL written before (by other tests' databases). teststore_files
 * runs a CHECKPOINT, then calls visit for every file of the database, of
 * the cluster's global tables, its server log and (with_wal) its WAL.
 * teststore_dump gives every row of every table as text (caller frees;
 * NULL for SQLite). */
void teststore_mark_wal(const char *dir);
void teststore_files(const char *dir, bool with_wal,
		     void (*visit)(void *ud, const char *path), void *ud);
char *teststore_dump(const char *dir, size_t *len);

/* Calls visit with the first column (a blob) of every row of sql on dir's
 * database; returns how many rows. */
size_t teststore_each_blob(const char *dir, const char *sql,
			   void (*visit)(void *ud, const uint8_t *b, size_t n), void *ud);

#endif
