/*
 * sqlite.c — the SQLite store backend: DATA_DIR/sightline.db.
 *
 * This is where a report becomes durable. Intake (through the group-commit
 * queue, commitq.c) hands over validated reports; the engine and moderation
 * read them back with sl_store_each_report. The settings follow from "an
 * acknowledged report is never lost": WAL journal, synchronous=FULL (a COMMIT
 * returns only after the WAL is fsynced), one transaction per batch.
 *
 * Threading. Every sl_store function may be called from any thread. We keep
 * two connections: one for writes and one for reads, each guarded by its own
 * pthread mutex, so reads proceed while a write transaction is open (WAL lets
 * a reader see the last committed snapshot). Both are opened with
 * SQLITE_OPEN_NOMUTEX. We need our own mutex whatever SQLite does, because
 * what must not interleave spans several SQLite calls: BEGIN ... COMMIT,
 * bind/step/reset of a cached statement, sqlite3_errmsg() after a failure.
 * SQLite's per-connection mutex (FULLMUTEX) only covers one call at a time,
 * so it would be a second lock that protects nothing more.
 * PRAGMA integrity_check, slow and rare, gets a connection of its own.
 *
 * Schema. Versioned by PRAGMA user_version: migrations[i] takes the schema
 * from version i to i+1 and runs in its own transaction at open. Shipped
 * steps are never edited, only appended to. docs/STORE.md describes the
 * tables.
 *
 * Which column holds what is decided in exactly two functions, bind_report
 * and decode_row. Text, contact and photos are never columns of reports:
 * they arrive sealed (sl_report.sealed) and go to the sealed table in the
 * same transaction as their report.
 *
 * Errors are logged to stderr with SQLite's message, which names tables,
 * columns and constraints but never a bound value: no report content ever
 * reaches the log.
 */
#include "store/sqlite_int.h"

#include "sightline/audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>


/* How long a connection waits for another one holding the lock (another
 * process, a checkpoint) before giving up with SQLITE_BUSY. */
#define BUSY_TIMEOUT_MS 5000

/* each_report copies at most this many rows per read transaction, into an
 * arena of at most this many bytes (a report within the model's limits takes
 * under 20 KiB, so a page of them fits comfortably). */
#define PAGE_ROWS 64
#define PAGE_ARENA_CAP ((size_t)4 << 20)

/* The schema, one step per version. Never edit a shipped step: append one.
 *
 * id is AUTOINCREMENT so that an id is never reused, even after the highest
 * report is deleted: readers page through reports by "id > last seen", which
 * is only safe while ids only grow. They are not dense: a report refused as
 * a duplicate uses one up.
 *
 * status and category hold the wire names (sl_status_name ...). Their CHECK
 * lists mirror report.c; adding a name means a migration that rebuilds the
 * table (the SQLite "12 step" ALTER procedure), which test_store catches by
 * storing every name. */
static const char *const migrations[] = {
    /* 0 -> 1: reports and meta. */
    "CREATE TABLE reports ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " receipt_hash BLOB UNIQUE"
    "  CHECK (receipt_hash IS NULL OR length(receipt_hash) = 32),"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('received', 'under_review', 'verified', 'rejected')),"
    " received_at INTEGER NOT NULL,"
    " category TEXT NOT NULL CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " observed_at INTEGER NOT NULL,"
    " observed_until INTEGER"
    "  CHECK (observed_until IS NULL OR observed_until >= observed_at),"
    " lat REAL CHECK (lat BETWEEN -90 AND 90),"
    " lon REAL CHECK (lon BETWEEN -180 AND 180),"
    " uncertainty_m REAL CHECK (uncertainty_m >= 0),"
    " place TEXT,"
    " heading_deg REAL CHECK (heading_deg >= 0 AND heading_deg < 360),"
    " destination TEXT,"
    " equipment TEXT NOT NULL,"
    " language TEXT,"
    " ref TEXT,"
    /* The review (moderators' decisions), beside the informant's report;
     * after ref so that REPORT_COLUMNS keeps its order. */
    " grade_reliability TEXT"
    "  CHECK (grade_reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),"
    " grade_credibility INTEGER CHECK (grade_credibility BETWEEN 1 AND 6),"
    " claimed_by INTEGER REFERENCES moderators(id),"
    " claimed_until INTEGER,"
    " reject_reason TEXT,"
    " decided_by INTEGER REFERENCES moderators(id),"
    " decided_at INTEGER,"
    " CHECK ((lat IS NULL) = (lon IS NULL)"
    "  AND (lat IS NULL) = (uncertainty_m IS NULL)),"
    " CHECK ((grade_reliability IS NULL) = (grade_credibility IS NULL)),"
    " CHECK ((claimed_by IS NULL) = (claimed_until IS NULL))"
    ");"
    "CREATE UNIQUE INDEX reports_ref ON reports(ref) WHERE ref IS NOT NULL;"
    "CREATE TABLE meta ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL"
    ");"
    /* Moderators and their key records (modkey.h). A removed moderator's row
     * stays, so that ids in sealed_keys and, later, the audit log keep their
     * meaning; a name is unique among the active ones only. */
    "CREATE TABLE moderators ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
    " role TEXT NOT NULL CHECK (role IN ('admin', 'moderator')),"
    " created_at INTEGER NOT NULL,"
    " removed_at INTEGER,"
    " public_key BLOB NOT NULL,"
    " salt BLOB NOT NULL,"
    " opslimit INTEGER NOT NULL,"
    " memlimit INTEGER NOT NULL,"
    " wrapped BLOB NOT NULL,"
    " recovery_wrapped BLOB NOT NULL"
    ");"
    "CREATE UNIQUE INDEX moderators_active_name ON moderators(name)"
    " WHERE removed_at IS NULL;"
    /* The sensitive parts of reports, sealed: text and contact (content),
     * photos, follow-ups, moderators' notes. The clear columns of reports
     * never hold them. A note's author is in clear; nothing else is. */
    "CREATE TABLE sealed ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL"
    "  CHECK (kind IN ('content', 'photo', 'followup', 'note')),"
    " created_at INTEGER NOT NULL,"
    " cipher BLOB NOT NULL,"
    " author_id INTEGER REFERENCES moderators(id),"
    " CHECK ((kind = 'note') = (author_id IS NOT NULL))"
    ");"
    "CREATE INDEX sealed_report ON sealed(report_id);"
    "CREATE INDEX sealed_created ON sealed(created_at);"
    /* An item's key wrapped for one moderator: who has no row here cannot
     * open the item, which is how a newcomer is kept from the past. */
    "CREATE TABLE sealed_keys ("
    " sealed_id INTEGER NOT NULL REFERENCES sealed(id) ON DELETE CASCADE,"
    " moderator_id INTEGER NOT NULL REFERENCES moderators(id),"
    " wrapped BLOB NOT NULL CHECK (length(wrapped) = 80),"
    " PRIMARY KEY (sealed_id, moderator_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX sealed_keys_moderator ON sealed_keys(moderator_id);"
    /* The audit log (src/crypto/audit.c, docs/AUDIT.md): a hash chain of
     * signed entries. seq is the chain position, 1, 2, 3 ... without gaps;
     * the store checks it on append, verification relies on nothing here.
     * The triggers only stop a bug in this program from rewriting history:
     * whoever edits the file by hand can drop them, and that is what
     * sl_audit_verify is for. */
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " detail TEXT,"
    " prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
    " hash BLOB NOT NULL CHECK (length(hash) = 32),"
    " sig BLOB NOT NULL CHECK (length(sig) = 64)"
    ");"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    /* Events: a real-world occurrence and the reports supporting it. Those
     * a moderator made or changed carry decided_by_moderator = 1, and the
     * corroboration engine (later) must never undo them; attached_by NULL
     * will mean the engine attached the report. */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " category TEXT CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " created_at INTEGER NOT NULL,"
    " created_by INTEGER REFERENCES moderators(id),"
    " decided_by_moderator INTEGER NOT NULL DEFAULT 1"
    "  CHECK (decided_by_moderator IN (0, 1))"
    ");"
    "CREATE TABLE event_reports ("
    " event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " attached_by INTEGER REFERENCES moderators(id),"
    " attached_at INTEGER NOT NULL,"
    " PRIMARY KEY (event_id, report_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX event_reports_report ON event_reports(report_id);",
    /* 1 -> 2: the corroboration engine (docs/ENGINE.md). Events get the
     * engine's estimate; a moderator's detach leaves a ban the engine
     * respects; every review write leaves a change row that tells the
     * engine (in this process or another) what to look at again. */
    "ALTER TABLE events ADD COLUMN t_start INTEGER;"
    "ALTER TABLE events ADD COLUMN t_end INTEGER;"
    "ALTER TABLE events ADD COLUMN lat REAL CHECK (lat BETWEEN -90 AND 90);"
    "ALTER TABLE events ADD COLUMN lon REAL CHECK (lon BETWEEN -180 AND 180);"
    "ALTER TABLE events ADD COLUMN uncertainty_m REAL CHECK (uncertainty_m >= 0);"
    "ALTER TABLE events ADD COLUMN heading_deg REAL"
    " CHECK (heading_deg >= 0 AND heading_deg < 360);"
    "ALTER TABLE events ADD COLUMN confidence REAL"
    " CHECK (confidence BETWEEN 0 AND 1);"
    "ALTER TABLE events ADD COLUMN equipment TEXT;"
    "ALTER TABLE events ADD COLUMN n_reports INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE events ADD COLUMN updated_at INTEGER;"
    "UPDATE events SET n_reports ="
    " (SELECT count(*) FROM event_reports WHERE event_id = events.id);"
    "CREATE INDEX events_time ON events(t_end);"
    "CREATE TABLE event_bans ("
    " event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " banned_by INTEGER REFERENCES moderators(id),"
    " banned_at INTEGER NOT NULL,"
    " PRIMARY KEY (event_id, report_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE changes ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " report_id INTEGER,"
    " event_id INTEGER"
    ");",
    /* 2 -> 3: publication (docs/PUBLISH.md). Its settings (the policy, the
     * key of public ids), excerpts a moderator approved for the public,
     * webhooks, the publication log (each entry the public form of one
     * event, as published), what is published now (to find changes after
     * a restart), and the webhook deliveries still to make. */
    "CREATE TABLE publish_settings ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " updated_by INTEGER REFERENCES moderators(id)"
    ");"
    "CREATE TABLE event_excerpts ("
    " event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
    " text TEXT NOT NULL,"
    " approved_by INTEGER REFERENCES moderators(id),"
    " approved_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE webhooks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),"
    " secret BLOB NOT NULL CHECK (length(secret) = 32),"
    " created_at INTEGER NOT NULL,"
    " created_by INTEGER REFERENCES moderators(id),"
    " removed_at INTEGER"
    ");"
    "CREATE TABLE published_events ("
    " event_id INTEGER PRIMARY KEY,"
    " hash BLOB NOT NULL CHECK (length(hash) = 16),"
    " first_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE publications ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " event_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('publish', 'update', 'withdraw')),"
    " at INTEGER NOT NULL,"
    " doc TEXT NOT NULL"
    ");"
    "CREATE TABLE webhook_outbox ("
    " webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL REFERENCES publications(seq) ON DELETE CASCADE,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER," /* Unix milliseconds; NULL: given up */
    " last_status INTEGER,"
    " PRIMARY KEY (webhook_id, seq)"
    ") WITHOUT ROWID;"
    "CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at) WHERE next_at IS NOT NULL;",
    /* 3 -> 4: tracks (docs/TRACKING.md). The tracker links events into
     * the tracks of moving units and replaces what changed; track_events
     * keeps each track's events in order. The tracker reads the events
     * updated since its last look: hence the index on updated_at. */
    "CREATE TABLE tracks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " category TEXT NOT NULL CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " t_first INTEGER NOT NULL,"
    " t_last INTEGER NOT NULL,"
    " first_lat REAL NOT NULL CHECK (first_lat BETWEEN -90 AND 90),"
    " first_lon REAL NOT NULL CHECK (first_lon BETWEEN -180 AND 180),"
    " last_lat REAL NOT NULL CHECK (last_lat BETWEEN -90 AND 90),"
    " last_lon REAL NOT NULL CHECK (last_lon BETWEEN -180 AND 180),"
    " heading_deg REAL CHECK (heading_deg >= 0 AND heading_deg < 360),"
    " length_m REAL NOT NULL CHECK (length_m >= 0),"
    " confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),"
    " may_continue INTEGER NOT NULL CHECK (may_continue IN (0, 1)),"
    " direction TEXT NOT NULL CHECK (direction IN ('unknown', 'toward_ukraine',"
    "  'away_from_ukraine', 'toward_russia', 'internal')),"
    " direction_confidence REAL NOT NULL"
    "  CHECK (direction_confidence BETWEEN 0 AND 1),"
    " ukraine_change_m REAL NOT NULL,"
    " russia_change_m REAL NOT NULL,"
    " toward_russia INTEGER NOT NULL CHECK (toward_russia IN (0, 1)),"
    " crossing_country INTEGER,"
    " crossing_lat REAL, crossing_lon REAL, crossing_distance_m REAL,"
    " crossing_name TEXT,"
    " equipment TEXT NOT NULL,"
    " route TEXT NOT NULL,"
    " n_events INTEGER NOT NULL,"
    " n_reports INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX tracks_time ON tracks(t_last);"
    "CREATE TABLE track_events ("
    " track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " PRIMARY KEY (track_id, seq)"
    ") WITHOUT ROWID;"
    "CREATE INDEX track_events_event ON track_events(event_id);"
    "CREATE INDEX events_updated ON events(updated_at);",
    /* 4 -> 5: a photo an admin approved for the public with an event
     * (docs/PUBLISH.md): a report's cleaned photo, opened with the admin's
     * key and kept here in clear because it is meant to be public. */
    "CREATE TABLE event_photos ("
    " event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
    " jpeg BLOB NOT NULL CHECK (length(jpeg) BETWEEN 4 AND 16777216),"
    " approved_by INTEGER REFERENCES moderators(id),"
    " approved_at INTEGER NOT NULL"
    ");",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* A duplicate ref is not an error: the conflict target names the partial
 * index, so DO NOTHING covers it and only it; any other constraint failure
 * (CHECK, a repeated receipt_hash) aborts the statement. RETURNING gives a
 * row only when a row was inserted. */
static const char sql_insert[] =
    "INSERT INTO reports (receipt_hash, status, received_at, category, observed_at,"
    " observed_until, lat, lon, uncertainty_m, place, heading_deg, destination,"
    " equipment, language, ref)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    " ON CONFLICT (ref) WHERE ref IS NOT NULL DO NOTHING"
    " RETURNING id";


static const sl_store_ops sqlite_ops;

/* Logs what failed with SQLite's own words; the caller holds db's mutex so
 * the message is the one for its call. Returns SL_ESTORE for convenience. */
sl_err sq_fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, LOG_PREFIX "%s: %s (code %d)\n", what, sqlite3_errmsg(db),
		sqlite3_extended_errcode(db));
	return SL_ESTORE;
}

/* Makes st reusable and drops its bindings, which may point into a caller's
 * report. Its error (already reported by sqlite3_step) is not looked at. */
void sq_done_with(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows (BEGIN, COMMIT ...). */
sl_err sq_run(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sl_err err = rc == SQLITE_DONE || rc == SQLITE_ROW ? SL_OK : sq_fail(db, what);
	sq_done_with(st);
	return err;
}

/* Runs a PRAGMA (or any SQL) and, when want is not NULL, checks that its
 * first row's first column says want, case-insensitively (journal_mode
 * answers with the mode it actually got). */
static sl_err pragma(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_fail(db, sql);
	int rc = sqlite3_step(st);
	sl_err err = SL_OK;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = sq_fail(db, sql);
	} else if (want) {
		const char *got =
		    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (!got || sqlite3_stricmp(got, want) != 0) {
			fprintf(stderr, LOG_PREFIX "%s: got \"%s\", want \"%s\"\n", sql,
				got ? got : "(nothing)", want);
			err = SL_ESTORE;
		}
	}
	sqlite3_finalize(st);
	return err;
}

sl_err sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) !=
	    SQLITE_OK)
		return sq_fail(db, "prepare");
	return SL_OK;
}

/* Opens one connection to path with our settings. SQLite hands back a handle
 * even when opening fails; it is closed here then. */
static sl_err open_conn(const char *path, int flags, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!db)
			return SL_ENOMEM;
		sq_fail(db, "open");
		sqlite3_close(db);
		return SL_ESTORE;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	*out = db;
	return SL_OK;
}

/* Brings the schema of db up to the newest version, one transaction per
 * step. The version is read inside the transaction, so two processes opening
 * the same new file at once apply each step once. A file newer than this
 * program is refused rather than misread. */
static sl_err migrate(sqlite3 *db)
{
	for (;;) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return sq_fail(db, "begin migration");
		sqlite3_stmt *st;
		int version = -1;
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		    SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				version = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		if (version < 0) {
			sq_fail(db, "read user_version");
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return SL_ESTORE;
		}
		if (version >= N_MIGRATIONS) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			if (version == N_MIGRATIONS)
				return SL_OK;
			fprintf(stderr,
				LOG_PREFIX "schema version %d is newer than this program "
					   "knows (%d); refusing to open\n",
				version, N_MIGRATIONS);
			return SL_ESTORE;
		}
		char bump[48];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version + 1);
		if (sqlite3_exec(db, migrations[version], NULL, NULL, NULL) !=
			SQLITE_OK ||
		    sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, LOG_PREFIX "migration to version %d failed\n",
				version + 1);
			sq_fail(db, "migrate");
			if (!sqlite3_get_autocommit(db))
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return SL_ESTORE;
		}
	}
}

static void destroy(sqlite_store *s)
{
	/* sqlite3_finalize(NULL) is a no-op: a half-done setup is fine. */
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->insert);
	sqlite3_finalize(s->insert_sealed);
	sqlite3_finalize(s->insert_key);
	sqlite3_finalize(s->meta_set);
	sqlite3_finalize(s->status);
	sqlite3_finalize(s->page);
	sqlite3_finalize(s->count);
	sqlite3_finalize(s->meta_get);
	/* Reader first: the last connection to close checkpoints the WAL into
	 * the main file and removes it, which a read-only one cannot do. */
	if (s->rdb && sqlite3_close(s->rdb) != SQLITE_OK)
		sq_fail(s->rdb, "close reader");
	if (s->wdb && sqlite3_close(s->wdb) != SQLITE_OK)
		sq_fail(s->wdb, "close writer");
	pthread_mutex_destroy(&s->rlock);
	pthread_mutex_destroy(&s->wlock);
	if (s->engine_lock_fd >= 0)
		close(s->engine_lock_fd); /* releases the engine's lock */
	free(s->path);
	free(s);
}

static sl_err setup(sqlite_store *s)
{
	const char *path = s->path;
	sl_err err;
	if ((err = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->wdb)))
		return err;
	/* WAL: readers never block the writer nor the writer them. FULL: the
	 * WAL is fsynced at every commit, so "committed" means on disk (NORMAL
	 * would only keep the file consistent). secure_delete: freed pages are
	 * zeroed, so content removed later does not linger in the file. */
	if ((err = pragma(s->wdb, "PRAGMA journal_mode = WAL", "wal")) ||
	    (err = pragma(s->wdb, "PRAGMA synchronous = FULL", NULL)) ||
	    (err = pragma(s->wdb, "PRAGMA foreign_keys = ON", NULL)) ||
	    (err = pragma(s->wdb, "PRAGMA secure_delete = ON", NULL)) ||
	    (err = migrate(s->wdb)))
		return err;

	/* Opened after migrating so it never sees a half-made schema; read-only
	 * so that a bug cannot write through it. */
	if ((err = open_conn(path, SQLITE_OPEN_READONLY, &s->rdb)) ||
	    (err = pragma(s->rdb, "PRAGMA foreign_keys = ON", NULL)))
		return err;

	if ((err = sq_prepare(s->wdb, "BEGIN IMMEDIATE", &s->begin)) ||
	    (err = sq_prepare(s->wdb, "COMMIT", &s->commit)) ||
	    (err = sq_prepare(s->wdb, "ROLLBACK", &s->rollback)) ||
	    (err = sq_prepare(s->wdb, sql_insert, &s->insert)) ||
	    (err = sq_prepare(s->wdb,
			   "INSERT INTO sealed (report_id, kind, created_at, cipher,"
			   " author_id) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
			   &s->insert_sealed)) ||
	    (err = sq_prepare(s->wdb,
			   /* Only for a moderator still active: a report sealed
			    * just before a removal must not give the removed one a
			    * key after it. */
			   "INSERT INTO sealed_keys (sealed_id, moderator_id, wrapped)"
			   " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM moderators"
			   "  WHERE id = ?2 AND removed_at IS NULL)"
			   " ON CONFLICT DO NOTHING",
			   &s->insert_key)) ||
	    (err = sq_prepare(s->wdb,
			   "INSERT INTO meta (key, value) VALUES (?1, ?2)"
			   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			   &s->meta_set)) ||
	    (err =
		 sq_prepare(s->rdb, "SELECT status, id FROM reports WHERE receipt_hash = ?1",
			 &s->status)) ||
	    (err = sq_prepare(s->rdb,
			   "SELECT " REPORT_COLUMNS " FROM reports WHERE id > ?1"
			   " ORDER BY id LIMIT ?2",
			   &s->page)) ||
	    (err = sq_prepare(s->rdb, "SELECT count(*) FROM reports", &s->count)) ||
	    (err =
		 sq_prepare(s->rdb, "SELECT value FROM meta WHERE key = ?1", &s->meta_get)))
		return err;
	/* The column enum, REPORT_COLUMNS and sql_insert must agree. */
	if (sqlite3_column_count(s->page) != COL_COUNT ||
	    sqlite3_bind_parameter_count(s->insert) != COL_COUNT - 1) {
		fprintf(stderr, LOG_PREFIX "report columns out of step (a bug)\n");
		return SL_ESTORE;
	}
	return SL_OK;
}

sl_err sl_store_sqlite_open(const char *data_dir, sl_store **out)
{
	if (!data_dir || !out)
		return SL_EINVAL;
	*out = NULL;
	if (!sqlite3_threadsafe()) {
		fprintf(stderr, LOG_PREFIX "SQLite was built without thread support\n");
		return SL_ESTORE;
	}
	sl_err err = store_make_data_dir(data_dir);
	if (err)
		return err;

	size_t len = strlen(data_dir) + sizeof("/sightline.db");
	sqlite_store *s = calloc(1, sizeof(*s));
	char *path = malloc(len);
	if (!path || !s) {
		free(path);
		free(s);
		return SL_ENOMEM;
	}
	snprintf(path, len, "%s/sightline.db", data_dir);
	s->path = path;
	s->engine_lock_fd = -1;
	s->base.ops = &sqlite_ops;
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->rlock, NULL);

	err = setup(s);
	if (err) {
		destroy(s);
		return err;
	}
	*out = &s->base;
	return SL_OK;
}

static void op_close(sl_store *base)
{
	destroy((sqlite_store *)base);
}

int sq_bind_text(sqlite3_stmt *st, int col, const char *s)
{
	return s ? sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(st, col);
}

/* Binds every column of r to the insert statement. The bindings borrow r's
 * strings and equipment_json until the statement is reset. The one place
 * (with decode_row) that knows which column holds what. */
static int bind_report(sqlite3_stmt *st, const sl_report *r, const char *equipment_json)
{
	int rc = SQLITE_OK;
#define B(call)                                                                          \
	do {                                                                             \
		if (rc == SQLITE_OK)                                                     \
			rc = (call);                                                     \
	} while (0)
	if (r->has_receipt)
		B(sqlite3_bind_blob(st, COL_RECEIPT_HASH, r->receipt_hash,
				    sizeof(r->receipt_hash), SQLITE_STATIC));
	else
		B(sqlite3_bind_null(st, COL_RECEIPT_HASH));
	/* An out-of-range enum becomes "?", which the CHECK refuses. */
	B(sqlite3_bind_text(st, COL_STATUS, sl_status_name(r->status), -1,
			    SQLITE_STATIC));
	B(sqlite3_bind_int64(st, COL_RECEIVED_AT, r->received_at));
	B(sqlite3_bind_text(st, COL_CATEGORY, sl_category_name(r->category), -1,
			    SQLITE_STATIC));
	B(sqlite3_bind_int64(st, COL_OBSERVED_AT, r->observed_at));
	if (r->has_until)
		B(sqlite3_bind_int64(st, COL_OBSERVED_UNTIL, r->observed_until));
	else
		B(sqlite3_bind_null(st, COL_OBSERVED_UNTIL));
	if (r->location.has_point) {
		B(sqlite3_bind_double(st, COL_LAT, r->location.lat));
		B(sqlite3_bind_double(st, COL_LON, r->location.lon));
		B(sqlite3_bind_double(st, COL_UNCERTAINTY_M, r->location.uncertainty_m));
	} else {
		B(sqlite3_bind_null(st, COL_LAT));
		B(sqlite3_bind_null(st, COL_LON));
		B(sqlite3_bind_null(st, COL_UNCERTAINTY_M));
	}
	B(sq_bind_text(st, COL_PLACE, r->location.place));
	if (r->has_heading)
		B(sqlite3_bind_double(st, COL_HEADING_DEG, r->heading_deg));
	else
		B(sqlite3_bind_null(st, COL_HEADING_DEG));
	B(sq_bind_text(st, COL_DESTINATION, r->destination));
	B(sq_bind_text(st, COL_EQUIPMENT, equipment_json));
	/* r->text and r->contact are never bound: they reach the disk only
	 * sealed, as r->sealed items (insert_sealed). */
	B(sq_bind_text(st, COL_LANGUAGE, r->language));
	B(sq_bind_text(st, COL_REF, r->ref));
#undef B
	return rc;
}

/* Gives moderator_id the wrapped key of item sealed_id, inside the open
 * transaction. */
static sl_err insert_key(sqlite_store *s, int64_t sealed_id, int64_t moderator_id,
			 const uint8_t *wrapped)
{
	sqlite3_stmt *st = s->insert_key;
	sl_err err = SL_OK;
	if (sqlite3_bind_int64(st, 1, sealed_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, moderator_id) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, wrapped, SL_WRAPPED_KEY_BYTES, SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "insert sealed key");
	sq_done_with(st);
	return err;
}

/* Stores one sealed item of report_id and its keys, inside the open
 * transaction; sets item->id. */
static sl_err insert_sealed(sqlite_store *s, int64_t report_id, sl_sealed *item)
{
	sqlite3_stmt *st = s->insert_sealed;
	sl_err err = SL_OK;
	if ((unsigned)item->kind >= SL_SEALED_KIND_COUNT || !item->cipher ||
	    item->cipher_len > INT32_MAX)
		return SL_EINVAL;
	if (sqlite3_bind_int64(st, 1, report_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, sl_sealed_kind_name(item->kind), -1,
			      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, item->created_at) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, item->cipher, (int)item->cipher_len,
			      SQLITE_STATIC) != SQLITE_OK ||
	    (item->author_id ? sqlite3_bind_int64(st, 5, item->author_id)
			     : sqlite3_bind_null(st, 5)) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		err = sq_fail(s->wdb, "insert sealed");
	} else {
		item->id = sqlite3_column_int64(st, 0);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = sq_fail(s->wdb, "insert sealed");
	}
	sq_done_with(st);
	for (size_t k = 0; k < item->n_keys && !err; k++)
		err = insert_key(s, item->id, item->moderator_ids[k],
				 item->wrapped + k * SL_WRAPPED_KEY_BYTES);
	return err;
}

/* Inserts one report inside the open transaction. */
static sl_err insert_one(sqlite_store *s, sl_report *r, sl_put_result *result)
{
	char *eq = NULL;
	sl_err err = store_equipment_json(r, &eq);
	if (err)
		return err;
	sqlite3_stmt *st = s->insert;
	if (bind_report(st, r, eq) != SQLITE_OK) {
		err = sq_fail(s->wdb, "bind report");
	} else {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			r->id = sqlite3_column_int64(st, 0);
			*result = SL_PUT_INSERTED;
			rc = sqlite3_step(st);
		} else if (rc == SQLITE_DONE) {
			r->id = 0;
			*result = SL_PUT_DUPLICATE;
		}
		if (rc != SQLITE_DONE)
			err = sq_fail(s->wdb, "insert report");
	}
	sq_done_with(st);
	free(eq);
	if (!err && *result == SL_PUT_INSERTED)
		for (size_t i = 0; i < r->n_sealed && !err; i++)
			err = insert_sealed(s, r->id, &r->sealed[i]);
	return err;
}

static sl_err op_put_reports(sl_store *base, sl_report *const *reports, size_t n,
			     sl_put_result *results)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!reports || !results)
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!reports[i])
			return SL_EINVAL;

	pthread_mutex_lock(&s->wlock);
	sl_err err = sq_run(s->wdb, s->begin, "begin");
	for (size_t i = 0; i < n && !err; i++)
		err = insert_one(s, reports[i], &results[i]);
	if (!err)
		err = sq_run(s->wdb, s->commit, "commit");
	if (err) {
		/* SQLite may have rolled back already (I/O error, full disk);
		 * a failed COMMIT leaves the transaction open. */
		if (!sqlite3_get_autocommit(s->wdb))
			sq_run(s->wdb, s->rollback, "rollback");
		for (size_t i = 0; i < n; i++)
			reports[i]->id = 0;
	}
	pthread_mutex_unlock(&s->wlock);
	return err;
}

static sl_err op_report_status(sl_store *base, const uint8_t hash[32], int64_t *id,
			       sl_report_status *out)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!hash || !out)
		return SL_EINVAL;
	pthread_mutex_lock(&s->rlock);
	sqlite3_stmt *st = s->status;
	sl_err err = SL_OK;
	int rc = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (!sl_status_from_name(name, out)) {
			fprintf(stderr, LOG_PREFIX "unknown status in reports\n");
			err = SL_ESTORE;
		}
		if (id)
			*id = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		err = SL_ENOTFOUND;
	} else {
		err = sq_fail(s->rdb, "report status");
	}
	sq_done_with(st);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Copies text column col into a, or NULL when it is NULL. */
sl_err sq_column_str(sqlite3_stmt *st, int col, sl_arena *a, const char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return SL_OK;
	const char *t = (const char *)sqlite3_column_text(st, col);
	if (!t)
		return SL_ENOMEM;
	*out = sl_arena_strndup(a, t, (size_t)sqlite3_column_bytes(st, col));
	return *out ? SL_OK : SL_ENOMEM;
}

/* Decodes the current row of a SELECT REPORT_COLUMNS into r, its strings in
 * a. SL_ENOMEM when a is full, SL_ESTORE when the row holds something we never
 * write. The other place that knows the columns (see bind_report). */
sl_err sq_decode_row(sqlite3_stmt *st, sl_arena *a, sl_report *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, COL_ID);

	if (sqlite3_column_type(st, COL_RECEIPT_HASH) != SQLITE_NULL) {
		const void *h = sqlite3_column_blob(st, COL_RECEIPT_HASH);
		if (!h || sqlite3_column_bytes(st, COL_RECEIPT_HASH) != 32)
			goto corrupt;
		memcpy(r->receipt_hash, h, 32);
		r->has_receipt = true;
	}
	if (!sl_status_from_name((const char *)sqlite3_column_text(st, COL_STATUS),
				 &r->status) ||
	    !sl_category_from_name((const char *)sqlite3_column_text(st, COL_CATEGORY),
				   &r->category))
		goto corrupt;
	r->received_at = sqlite3_column_int64(st, COL_RECEIVED_AT);
	r->observed_at = sqlite3_column_int64(st, COL_OBSERVED_AT);
	if (sqlite3_column_type(st, COL_OBSERVED_UNTIL) != SQLITE_NULL) {
		r->has_until = true;
		r->observed_until = sqlite3_column_int64(st, COL_OBSERVED_UNTIL);
	}
	if (sqlite3_column_type(st, COL_LAT) != SQLITE_NULL) {
		r->location.has_point = true;
		r->location.lat = sqlite3_column_double(st, COL_LAT);
		r->location.lon = sqlite3_column_double(st, COL_LON);
		r->location.uncertainty_m = sqlite3_column_double(st, COL_UNCERTAINTY_M);
	}
	if (sqlite3_column_type(st, COL_HEADING_DEG) != SQLITE_NULL) {
		r->has_heading = true;
		r->heading_deg = sqlite3_column_double(st, COL_HEADING_DEG);
	}

	sl_err err;
	if ((err = sq_column_str(st, COL_PLACE, a, &r->location.place)) ||
	    (err = sq_column_str(st, COL_DESTINATION, a, &r->destination)) ||
	    (err = sq_column_str(st, COL_LANGUAGE, a, &r->language)) ||
	    (err = sq_column_str(st, COL_REF, a, &r->ref)))
		return err;

	const char *eq = (const char *)sqlite3_column_text(st, COL_EQUIPMENT);
	if (!eq)
		goto corrupt;
	err = store_equipment_parse(eq, (size_t)sqlite3_column_bytes(st, COL_EQUIPMENT), a, r);
	if (err == SL_ESTORE)
		goto corrupt;
	return err;

corrupt:
	fprintf(stderr, LOG_PREFIX "report %lld: malformed row\n", (long long)r->id);
	return SL_ESTORE;
}

/* Decodes the current row of a statement into the element at out. */
typedef sl_err (*row_decoder)(sqlite3_stmt *st, sl_arena *a, void *out);

/* Steps st (bound to ?1 = after, ?2 = PAGE_ROWS by the caller, who holds
 * the read lock) and decodes up to PAGE_ROWS rows into page, elements of
 * elem bytes, strings in a. *n is how many; *more is false when there are
 * no more rows after them. A page is cut short when a fills up (a row that
 * alone does not fit is SL_ENOMEM). On a row that does not decode, *n
 * still counts the good rows before it. */
static sl_err read_rows(sqlite3 *db, sqlite3_stmt *st, row_decoder decode, void *page,
			size_t elem, sl_arena *a, const char *what, size_t *n, bool *more)
{
	sl_err err = SL_OK;
	while (*n < PAGE_ROWS) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			err = sq_fail(db, what);
			break;
		}
		err = decode(st, a, (char *)page + *n * elem);
		if (err == SL_ENOMEM && *n > 0) {
			err = SL_OK;
			*more = true;
			break;
		}
		if (err)
			break;
		(*n)++;
	}
	if (*n == PAGE_ROWS)
		*more = true;
	return err;
}

static sl_err decode_report_row(sqlite3_stmt *st, sl_arena *a, void *out)
{
	return sq_decode_row(st, a, out);
}

/* Reads up to PAGE_ROWS reports with id > after into page, strings in a, in
 * one read transaction (see read_rows). */
static sl_err read_page(sqlite_store *s, int64_t after, sl_arena *a, sl_report *page,
			size_t *n, bool *more)
{
	*n = 0;
	*more = false;
	sl_err err = SL_OK;
	pthread_mutex_lock(&s->rlock);
	sqlite3_stmt *st = s->page;
	if (sqlite3_bind_int64(st, 1, after) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, PAGE_ROWS) != SQLITE_OK)
		err = sq_fail(s->rdb, "bind page");
	else
		err = read_rows(s->rdb, st, decode_report_row, page, sizeof(*page), a,
				"read reports", n, more);
	sq_done_with(st);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Pages through the table rather than holding one statement open across
 * visits: no lock is held while visit runs, so visit may call back into the
 * store (even each_report) without deadlock, and no read transaction stays
 * open for as long as a slow visitor takes (which would stop checkpoints and
 * grow the WAL). Rows committed meanwhile with a higher id are seen; ids are
 * given out in commit order, so none is skipped. A report's strings stay
 * valid until visit returns. */
static sl_err op_each_report(sl_store *base, int64_t after_id, sl_report_visit visit,
			     void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!visit)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new(PAGE_ARENA_CAP);
	sl_report *page = calloc(PAGE_ROWS, sizeof(*page));
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	int64_t cursor = after_id;
	while (!err) {
		size_t n;
		bool more;
		sl_arena_reset(a);
		err = read_page(s, cursor, a, page, &n, &more);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (err || !more)
			break;
		cursor = page[n - 1].id;
	}
	free(page);
	sl_arena_free(a);
	return err;
}

static sl_err op_count_reports(sl_store *base, int64_t *out)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!out)
		return SL_EINVAL;
	pthread_mutex_lock(&s->rlock);
	sl_err err = SL_OK;
	if (sqlite3_step(s->count) == SQLITE_ROW)
		*out = sqlite3_column_int64(s->count, 0);
	else
		err = sq_fail(s->rdb, "count reports");
	sq_done_with(s->count);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

static sl_err op_meta_get(sl_store *base, const char *key, char **out)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!key || !out)
		return SL_EINVAL;
	pthread_mutex_lock(&s->rlock);
	sqlite3_stmt *st = s->meta_get;
	sl_err err = SL_OK;
	int rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		char *copy = v ? malloc(len + 1) : NULL;
		if (copy) {
			memcpy(copy, v, len);
			copy[len] = '\0';
			*out = copy;
		} else {
			err = SL_ENOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err = SL_ENOTFOUND;
	} else {
		err = sq_fail(s->rdb, "meta get");
	}
	sq_done_with(st);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

static sl_err op_meta_set(sl_store *base, const char *key, const char *value)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!key || !value)
		return SL_EINVAL;
	pthread_mutex_lock(&s->wlock);
	sqlite3_stmt *st = s->meta_set;
	sl_err err;
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) != SQLITE_OK) {
		err = sq_fail(s->wdb, "bind meta");
		sq_done_with(st);
	} else {
		err = sq_run(s->wdb, st, "meta set"); /* its own durable transaction */
	}
	pthread_mutex_unlock(&s->wlock);
	return err;
}

/* PRAGMA integrity_check answers one row "ok", or rows describing damage
 * (page numbers, index names; never row content), logged here. It reads the
 * whole file, so it runs on a connection of its own: neither writes nor the
 * reads of other threads wait for it. */
static sl_err op_check(sl_store *base)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3 *db;
	sl_err err = open_conn(s->path, SQLITE_OPEN_READONLY, &db);
	if (err)
		return err;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		err = sq_fail(db, "integrity check");
		sqlite3_close(db);
		return err;
	}
	int rc, rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		rows++;
		if (rows == 1 && line && strcmp(line, "ok") == 0)
			continue;
		err = SL_ESTORE;
		if (rows <= 10)
			fprintf(stderr, LOG_PREFIX "integrity check: %s\n",
				line ? line : "?");
	}
	if (rc != SQLITE_DONE)
		err = sq_fail(db, "integrity check");
	else if (rows == 0)
		err = SL_ESTORE;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return err;
}

/* The rarer operations below (moderators, sharing, purging, one report)
 * prepare their statements per call: they run a few times a day, and the
 * cached statements stay the hot path's. */

/* Prepares sql on db; logs and returns SL_ESTORE on failure. */
sl_err sq_prepare_once(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return sq_fail(db, "prepare");
	return SL_OK;
}

/* Copies blob column col into a (NULL and 0 for an empty blob). */
static sl_err column_blob(sqlite3_stmt *st, int col, sl_arena *a, const uint8_t **out,
			  size_t *len)
{
	int n = sqlite3_column_bytes(st, col);
	const void *b = sqlite3_column_blob(st, col);
	*out = NULL;
	*len = 0;
	if (n <= 0 || !b)
		return SL_OK;
	uint8_t *copy = sl_arena_alloc(a, (size_t)n);
	if (!copy)
		return SL_ENOMEM;
	memcpy(copy, b, (size_t)n);
	*out = copy;
	*len = (size_t)n;
	return SL_OK;
}

/* The sealed items of report r->id into r->sealed, each with moderator_id's
 * wrapped key when there is one. Caller holds rlock. */
static sl_err read_sealed(sqlite_store *s, int64_t moderator_id, sl_arena *a,
			  sl_report *r)
{
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(
	    s->rdb,
	    "SELECT s.id, s.kind, s.created_at, s.cipher, k.wrapped, s.author_id"
	    " FROM sealed s LEFT JOIN sealed_keys k"
	    "  ON k.sealed_id = s.id AND k.moderator_id = ?2"
	    " WHERE s.report_id = ?1 ORDER BY s.id",
	    &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, moderator_id);
	size_t cap = 0;
	int rc;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->n_sealed == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			sl_sealed *grown = sl_arena_alloc(a, ncap * sizeof(*grown));
			if (!grown) {
				err = SL_ENOMEM;
				break;
			}
			if (cap)
				memcpy(grown, r->sealed, cap * sizeof(*grown));
			r->sealed = grown;
			cap = ncap;
		}
		sl_sealed *it = &r->sealed[r->n_sealed];
		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->created_at = sqlite3_column_int64(st, 2);
		it->author_id = sqlite3_column_int64(st, 5);
		if (!sl_sealed_kind_from_name((const char *)sqlite3_column_text(st, 1),
					      &it->kind)) {
			err = SL_ESTORE;
			break;
		}
		err = column_blob(st, 3, a, &it->cipher, &it->cipher_len);
		if (!err && sqlite3_column_type(st, 4) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 4) == SL_WRAPPED_KEY_BYTES) {
			size_t len;
			int64_t *mid = sl_arena_alloc(a, sizeof(*mid));
			err = mid ? column_blob(st, 4, a, &it->wrapped, &len) : SL_ENOMEM;
			if (!err) {
				*mid = moderator_id;
				it->moderator_ids = mid;
				it->n_keys = 1;
			}
		}
		if (!err)
			r->n_sealed++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read sealed");
	sqlite3_finalize(st);
	return err;
}

static sl_err op_get_report(sl_store *base, int64_t id, int64_t moderator_id,
			    sl_arena *a, sl_report *out)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	/* One read transaction, so the report and its items agree. */
	sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
	sl_err err = sq_prepare_once(s->rdb,
				  "SELECT " REPORT_COLUMNS " FROM reports WHERE id = ?1", &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = sq_decode_row(st, a, out);
		else if (rc == SQLITE_DONE)
			err = SL_ENOTFOUND;
		else
			err = sq_fail(s->rdb, "get report");
		sqlite3_finalize(st);
	}
	if (!err)
		err = read_sealed(s, moderator_id, a, out);
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Runs body(s, ud) inside one write transaction, rolled back on error. */
sl_err sq_in_write_tx(sqlite_store *s, sl_err (*body)(sqlite_store *, void *),
			  void *ud)
{
	pthread_mutex_lock(&s->wlock);
	sl_err err = sq_run(s->wdb, s->begin, "begin");
	if (!err)
		err = body(s, ud);
	if (!err)
		err = sq_run(s->wdb, s->commit, "commit");
	if (err && !sqlite3_get_autocommit(s->wdb))
		sq_run(s->wdb, s->rollback, "rollback");
	pthread_mutex_unlock(&s->wlock);
	return err;
}

typedef struct put_sealed_args {
	int64_t report_id;
	sl_sealed *item;
} put_sealed_args;

static sl_err put_sealed_body(sqlite_store *s, void *ud)
{
	put_sealed_args *a = ud;
	return insert_sealed(s, a->report_id, a->item);
}

static sl_err op_put_sealed(sl_store *base, int64_t report_id, sl_sealed *item)
{
	if (!item)
		return SL_EINVAL;
	put_sealed_args a = {report_id, item};
	return sq_in_write_tx((sqlite_store *)base, put_sealed_body, &a);
}

static sl_err op_keys_since(sl_store *base, int64_t since, int64_t holder_id, size_t *n,
			    int64_t **sealed_ids, uint8_t **wrapped)
{
	sqlite_store *s = (sqlite_store *)base;
	*n = 0;
	*sealed_ids = NULL;
	*wrapped = NULL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb,
				  "SELECT k.sealed_id, k.wrapped FROM sealed_keys k"
				  " JOIN sealed s ON s.id = k.sealed_id"
				  " WHERE k.moderator_id = ?1 AND s.created_at >= ?2"
				  " ORDER BY k.sealed_id",
				  &st);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	if (!err) {
		sqlite3_bind_int64(st, 1, holder_id);
		sqlite3_bind_int64(st, 2, since);
	}
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != SL_WRAPPED_KEY_BYTES) {
			err = SL_ESTORE;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *ids = realloc(*sealed_ids, cap * sizeof(*ids));
			if (ids)
				*sealed_ids = ids;
			uint8_t *w = realloc(*wrapped, cap * SL_WRAPPED_KEY_BYTES);
			if (w)
				*wrapped = w;
			if (!ids || !w) {
				err = SL_ENOMEM;
				break;
			}
		}
		(*sealed_ids)[*n] = sqlite3_column_int64(st, 0);
		memcpy(*wrapped + *n * SL_WRAPPED_KEY_BYTES, sqlite3_column_blob(st, 1),
		       SL_WRAPPED_KEY_BYTES);
		(*n)++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "keys since");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
	if (err) {
		free(*sealed_ids);
		free(*wrapped);
		*sealed_ids = NULL;
		*wrapped = NULL;
		*n = 0;
	}
	return err;
}

typedef struct add_keys_args {
	int64_t moderator_id;
	size_t n;
	const int64_t *sealed_ids;
	const uint8_t *wrapped;
} add_keys_args;

static sl_err add_keys_body(sqlite_store *s, void *ud)
{
	add_keys_args *a = ud;
	sl_err err = SL_OK;
	for (size_t i = 0; i < a->n && !err; i++)
		err = insert_key(s, a->sealed_ids[i], a->moderator_id,
				 a->wrapped + i * SL_WRAPPED_KEY_BYTES);
	return err;
}

static sl_err op_add_keys(sl_store *base, int64_t moderator_id, size_t n,
			  const int64_t *sealed_ids, const uint8_t *wrapped)
{
	add_keys_args a = {moderator_id, n, sealed_ids, wrapped};
	return sq_in_write_tx((sqlite_store *)base, add_keys_body, &a);
}

/* After a delete of secrets (purged items, a removed moderator's keys), the
 * database file still holds the old pages until a checkpoint writes the
 * zeroed ones (secure_delete) over them, and the WAL holds them as well. A
 * TRUNCATE checkpoint does both at once and empties the WAL. It waits for
 * readers, so it may report busy: then the next one (or close) finishes the
 * job. Caller holds wlock, outside a transaction. */
static void forget_deleted(sqlite_store *s)
{
	if (sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) !=
	    SQLITE_OK)
		sq_fail(s->wdb, "checkpoint after delete");
}

static sl_err op_purge_sealed(sl_store *base, int64_t before, int64_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->wlock);
	sl_err err = sq_prepare_once(s->wdb, "DELETE FROM sealed WHERE created_at < ?1", &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, before);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = sq_fail(s->wdb, "purge sealed");
		else if (n)
			*n = sqlite3_changes64(s->wdb);
		sqlite3_finalize(st);
	}
	if (!err)
		forget_deleted(s);
	pthread_mutex_unlock(&s->wlock);
	return err;
}

static const char moderator_columns[] =
	"id, name, role, created_at, removed_at, public_key, salt, opslimit, memlimit,"
	" wrapped, recovery_wrapped";

/* Copies a blob column into a fixed-size field; false when the size differs. */
static bool blob_into(sqlite3_stmt *st, int col, void *dst, size_t size)
{
	if (sqlite3_column_bytes(st, col) != (int)size)
		return false;
	const void *b = sqlite3_column_blob(st, col);
	if (!b)
		return false;
	memcpy(dst, b, size);
	return true;
}

static sl_err decode_moderator(sqlite3_stmt *st, sl_moderator *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	const char *name = (const char *)sqlite3_column_text(st, 1);
	const char *role = (const char *)sqlite3_column_text(st, 2);
	if (!name || !role || strlen(name) > SL_MODERATOR_NAME_MAX)
		return SL_ESTORE;
	memcpy(m->name, name, strlen(name) + 1);
	m->role = strcmp(role, "admin") == 0 ? SL_ROLE_ADMIN : SL_ROLE_MODERATOR;
	m->created_at = sqlite3_column_int64(st, 3);
	m->removed_at = sqlite3_column_int64(st, 4);
	m->key.opslimit = (uint64_t)sqlite3_column_int64(st, 7);
	m->key.memlimit = (uint64_t)sqlite3_column_int64(st, 8);
	if (!blob_into(st, 5, m->key.public_key, sizeof(m->key.public_key)) ||
	    !blob_into(st, 6, m->key.salt, sizeof(m->key.salt)) ||
	    !blob_into(st, 9, m->key.wrapped, sizeof(m->key.wrapped)) ||
	    !blob_into(st, 10, m->key.recovery_wrapped, sizeof(m->key.recovery_wrapped)))
		return SL_ESTORE;
	return SL_OK;
}

static sl_err add_moderator_body(sqlite_store *s, void *ud)
{
	sl_moderator *m = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(
		s->wdb,
		"INSERT INTO moderators (name, role, created_at, public_key, salt,"
		" opslimit, memlimit, wrapped, recovery_wrapped)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (name) WHERE removed_at IS NULL DO NOTHING RETURNING id",
		&st);
	if (err)
		return err;
	const sl_modkey_record *k = &m->key;
	sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->role == SL_ROLE_ADMIN ? "admin" : "moderator", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, m->created_at);
	sqlite3_bind_blob(st, 4, k->public_key, sizeof(k->public_key), SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, k->salt, sizeof(k->salt), SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)k->opslimit);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)k->memlimit);
	sqlite3_bind_blob(st, 8, k->wrapped, sizeof(k->wrapped), SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, k->recovery_wrapped, sizeof(k->recovery_wrapped),
			  SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		m->id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		err = SL_EVALID; /* an active moderator has the name */
	else
		err = sq_fail(s->wdb, "add moderator");
	sqlite3_finalize(st);
	return err;
}

static sl_err op_add_moderator(sl_store *base, sl_moderator *m)
{
	if (!m || !m->name[0])
		return SL_EINVAL;
	return sq_in_write_tx((sqlite_store *)base, add_moderator_body, m);
}

/* Runs a moderators SELECT (bound by bind) on the reader; collects rows. */
static sl_err query_moderators(sqlite_store *s, const char *where, const char *name,
			       sl_moderator **out, size_t *n)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT %s FROM moderators %s ORDER BY id",
		 moderator_columns, where);
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb, sql, &st);
	if (!err && name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			sl_moderator *grown = realloc(*out, cap * sizeof(*grown));
			if (!grown) {
				err = SL_ENOMEM;
				break;
			}
			*out = grown;
		}
		err = decode_moderator(st, &(*out)[*n]);
		if (!err)
			(*n)++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read moderators");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

static sl_err op_get_moderator(sl_store *base, const char *name, sl_moderator *out)
{
	sl_moderator *list;
	size_t n;
	sl_err err = query_moderators((sqlite_store *)base,
				      "WHERE name = ?1 AND removed_at IS NULL", name, &list,
				      &n);
	if (err)
		return err;
	if (n == 0)
		err = SL_ENOTFOUND;
	else
		*out = list[0];
	free(list);
	return err;
}

static sl_err op_list_moderators(sl_store *base, bool all, sl_moderator **out, size_t *n)
{
	return query_moderators((sqlite_store *)base, all ? "" : "WHERE removed_at IS NULL",
				NULL, out, n);
}

typedef struct remove_args {
	const char *name;
	int64_t now;
} remove_args;

static sl_err remove_body(sqlite_store *s, void *ud)
{
	remove_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb,
				  "UPDATE moderators SET removed_at = ?2"
				  " WHERE name = ?1 AND removed_at IS NULL RETURNING id",
				  &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->now);
	int64_t id = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		err = SL_ENOTFOUND;
	else
		err = sq_fail(s->wdb, "remove moderator");
	sqlite3_finalize(st);
	if (err)
		return err;
	if ((err = sq_prepare_once(s->wdb, "DELETE FROM sealed_keys WHERE moderator_id = ?1",
				&st)))
		return err;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "remove moderator keys");
	sqlite3_finalize(st);
	return err;
}

static sl_err op_remove_moderator(sl_store *base, const char *name, int64_t now)
{
	sqlite_store *s = (sqlite_store *)base;
	remove_args a = {name, now};
	sl_err err = sq_in_write_tx(s, remove_body, &a);
	if (!err) {
		pthread_mutex_lock(&s->wlock);
		forget_deleted(s);
		pthread_mutex_unlock(&s->wlock);
	}
	return err;
}

/* ---- the audit log ------------------------------------------------------ */

#define AUDIT_COLUMNS "seq, at, actor, action, subject, detail, prev_hash, hash, sig"

/* Copies NOT NULL text column col into a; false when it is NULL or holds a
 * NUL byte (the log never writes one, and a C string would hide what comes
 * after it from verification). */
static bool audit_text(sqlite3_stmt *st, int col, sl_arena *a, const char **out,
		       sl_err *err)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	if (!t)
		return false;
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (strlen(t) != n)
		return false;
	if (!(*out = sl_arena_strndup(a, t, n)))
		*err = SL_ENOMEM;
	return true;
}

/* Decodes the current row of a SELECT AUDIT_COLUMNS into e, its strings in
 * a. SL_ESTORE for a row the log never writes (logged with its seq only). */
static sl_err decode_audit(sqlite3_stmt *st, sl_arena *a, sl_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	sl_err err = SL_OK;
	e->seq = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	bool ok = audit_text(st, 2, a, &e->actor, &err) &&
		  audit_text(st, 3, a, &e->action, &err) &&
		  audit_text(st, 4, a, &e->subject, &err) &&
		  (sqlite3_column_type(st, 5) == SQLITE_NULL ||
		   audit_text(st, 5, a, &e->detail, &err)) &&
		  blob_into(st, 6, e->prev_hash, sizeof(e->prev_hash)) &&
		  blob_into(st, 7, e->hash, sizeof(e->hash)) &&
		  blob_into(st, 8, e->sig, sizeof(e->sig));
	if (err)
		return err;
	if (!ok) {
		fprintf(stderr, LOG_PREFIX "audit entry %lld: malformed row\n",
			(long long)e->seq);
		return SL_ESTORE;
	}
	return SL_OK;
}

static sl_err audit_append_body(sqlite_store *s, void *ud)
{
	const sl_audit_entry *e = ud;
	sqlite3_stmt *st;
	/* Inside BEGIN IMMEDIATE: no other connection, in this process or
	 * another, can write between this read and the insert below. */
	sl_err err = sq_prepare_once(s->wdb,
				  "SELECT seq, hash FROM audit"
				  " ORDER BY seq DESC LIMIT 1",
				  &st);
	if (err)
		return err;
	int64_t last = 0;
	uint8_t last_hash[SL_AUDIT_HASH_BYTES] = {0};
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		if (!blob_into(st, 1, last_hash, sizeof(last_hash)))
			err = SL_ESTORE;
	} else if (rc != SQLITE_DONE) {
		err = sq_fail(s->wdb, "read last audit entry");
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (e->seq != last + 1 || memcmp(e->prev_hash, last_hash, sizeof(last_hash)) != 0)
		return SL_EVALID;

	if ((err = sq_prepare_once(s->wdb,
				"INSERT INTO audit (" AUDIT_COLUMNS ")"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				&st)))
		return err;
	if (sqlite3_bind_int64(st, 1, e->seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, e->at) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, e->actor, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, e->action, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 5, e->subject, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sq_bind_text(st, 6, e->detail) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 7, e->prev_hash, sizeof(e->prev_hash), SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_bind_blob(st, 8, e->hash, sizeof(e->hash), SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_bind_blob(st, 9, e->sig, sizeof(e->sig), SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "append audit entry");
	sqlite3_finalize(st);
	return err;
}

static sl_err op_audit_append(sl_store *base, const sl_audit_entry *e)
{
	if (!e || !e->actor || !e->action || !e->subject || e->seq < 1)
		return SL_EINVAL;
	/* The body only reads e; in_write_tx's ud is not const. */
	return sq_in_write_tx((sqlite_store *)base, audit_append_body, (void *)e);
}

static sl_err op_audit_last(sl_store *base, sl_audit_entry *out, sl_arena *a)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!out || !a)
		return SL_EINVAL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb,
				  "SELECT " AUDIT_COLUMNS " FROM audit"
				  " ORDER BY seq DESC LIMIT 1",
				  &st);
	if (!err) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = decode_audit(st, a, out);
		else if (rc == SQLITE_DONE)
			err = SL_ENOTFOUND;
		else
			err = sq_fail(s->rdb, "read last audit entry");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Reads up to PAGE_ROWS entries with seq > after into page, strings in a;
 * as read_page does for reports. */
static sl_err decode_audit_row(sqlite3_stmt *st, sl_arena *a, void *out)
{
	return decode_audit(st, a, out);
}

static sl_err read_audit_page(sqlite_store *s, int64_t after, sl_arena *a,
			      sl_audit_entry *page, size_t *n, bool *more)
{
	*n = 0;
	*more = false;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb,
				  "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ?1"
				  " ORDER BY seq LIMIT ?2",
				  &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int(st, 2, PAGE_ROWS);
		err = read_rows(s->rdb, st, decode_audit_row, page, sizeof(*page), a,
				"read audit log", n, more);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Pages like op_each_report, for the same reasons. A malformed row ends the
 * walk with SL_ESTORE, but only after the good entries before it in its
 * page were visited, so that a verifier knows where the damage starts. */
static sl_err op_each_audit(sl_store *base, int64_t after_seq, sl_audit_visit visit,
			    void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	if (!visit)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new(PAGE_ARENA_CAP);
	sl_audit_entry *page = calloc(PAGE_ROWS, sizeof(*page));
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	int64_t cursor = after_seq;
	while (!err) {
		size_t n;
		bool more;
		sl_arena_reset(a);
		sl_err read_err = read_audit_page(s, cursor, a, page, &n, &more);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (!err)
			err = read_err;
		if (err || !more)
			break;
		cursor = page[n - 1].seq;
	}
	free(page);
	sl_arena_free(a);
	return err;
}

/* ---- review ------------------------------------------------------------- */


/* Decodes the REVIEW_COLUMNS starting at column col0, strings in a. */
sl_err sq_decode_review(sqlite3_stmt *st, int col0, sl_arena *a, sl_review *out)
{
	memset(out, 0, sizeof(*out));
	const char *rel = (const char *)sqlite3_column_text(st, col0);
	if (rel) {
		out->reliability = rel[0];
		out->credibility = sqlite3_column_int(st, col0 + 1);
	}
	out->claimed_by = sqlite3_column_int64(st, col0 + 2);
	out->claimed_until = sqlite3_column_int64(st, col0 + 3);
	out->decided_by = sqlite3_column_int64(st, col0 + 5);
	out->decided_at = sqlite3_column_int64(st, col0 + 6);
	return sq_column_str(st, col0 + 4, a, &out->reject_reason);
}

sl_err sq_decode_item(sqlite3_stmt *st, sl_arena *a, sl_queue_item *it)
{
	memset(it, 0, sizeof(*it));
	sl_err err = sq_decode_row(st, a, &it->report);
	if (!err)
		err = sq_decode_review(st, COL_COUNT, a, &it->review);
	if (err)
		return err;
	it->n_photos = (size_t)sqlite3_column_int64(st, COL_COUNT + 7);
	it->has_text = sqlite3_column_int(st, COL_COUNT + 8) != 0;
	return SL_OK;
}

/* Urgency is computed by SQLite so that the sort and the limit happen
 * there: the time an observation ended (or began) against now (?1). */
static const char sql_queue[] =
    "SELECT " ITEM_COLUMNS ","
    " CASE"
    "  WHEN category IN ('aircraft', 'helicopter')"
    "   AND coalesce(observed_until, observed_at) >= ?1 - 7200 THEN 3"
    "  WHEN category = 'rail_transport'"
    "   AND coalesce(observed_until, observed_at) >= ?1 - 21600 THEN 2"
    "  WHEN coalesce(observed_until, observed_at) >= ?1 - 86400 THEN 1"
    "  ELSE 0 END AS urgency"
    " FROM reports r"
    " WHERE ?2 = 0 OR status IN ('received', 'under_review')"
    " ORDER BY urgency DESC, received_at DESC, id DESC LIMIT ?3";

static sl_err op_queue(sl_store *base, bool open_only, int64_t now, size_t limit,
		       sl_arena *a, sl_queue_item **out, size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*out = NULL;
	*n = 0;
	sl_queue_item *items = sl_arena_alloc(a, limit * sizeof(*items));
	if (!items)
		return SL_ENOMEM;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb, sql_queue, &st);
	int rc = SQLITE_DONE;
	if (!err) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, open_only ? 1 : 0);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	}
	while (!err && *n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sl_queue_item *it = &items[*n];
		if ((err = sq_decode_item(st, a, it)))
			break;
		it->urgency = sqlite3_column_int(st, COL_COUNT + 9);
		(*n)++;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sq_fail(s->rdb, "read queue");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
	if (err)
		*n = 0;
	else
		*out = items;
	return err;
}

static sl_err op_get_review(sl_store *base, int64_t id, sl_arena *a, sl_review *out)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb, "SELECT " REVIEW_COLUMNS " FROM reports WHERE id = ?1", &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = sq_decode_review(st, 0, a, out);
		else if (rc == SQLITE_DONE)
			err = SL_ENOTFOUND;
		else
			err = sq_fail(s->rdb, "get review");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Runs an UPDATE or DELETE prepared by the caller (bindings done) inside
 * the open transaction; SL_ENOTFOUND when it touched no row. Finalizes st. */
sl_err sq_change_rows(sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	sl_err err = SL_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, what);
	else if (sqlite3_changes64(s->wdb) == 0)
		err = SL_ENOTFOUND;
	sqlite3_finalize(st);
	return err;
}

typedef struct status_args {
	int64_t id;
	sl_report_status status;
	const char *reason;
	int64_t moderator_id, now;
} status_args;

static sl_err set_status_body(sqlite_store *s, void *ud)
{
	status_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb,
				  "UPDATE reports SET status = ?2, reject_reason = ?3,"
				  " decided_by = ?4, decided_at = ?5 WHERE id = ?1",
				  &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, sl_status_name(a->status), -1, SQLITE_STATIC);
	sq_bind_text(st, 3, a->status == SL_STATUS_REJECTED ? a->reason : NULL);
	if (a->moderator_id)
		sqlite3_bind_int64(st, 4, a->moderator_id);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, a->now);
	err = sq_change_rows(s, st, "set status");
	return err ? err : sq_note_change(s, a->id, 0);
}

static sl_err op_set_status(sl_store *base, int64_t id, sl_report_status status,
			    const char *reason, int64_t moderator_id, int64_t now)
{
	status_args a = {id, status, reason, moderator_id, now};
	return sq_in_write_tx((sqlite_store *)base, set_status_body, &a);
}

typedef struct grade_args {
	int64_t id;
	char reliability;
	int credibility;
} grade_args;

static sl_err set_grade_body(sqlite_store *s, void *ud)
{
	grade_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb,
				  "UPDATE reports SET grade_reliability = ?2,"
				  " grade_credibility = ?3 WHERE id = ?1",
				  &st);
	if (err)
		return err;
	char rel[2] = {a->reliability, '\0'};
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, rel, 1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, a->credibility);
	err = sq_change_rows(s, st, "set grade");
	return err ? err : sq_note_change(s, a->id, 0);
}

static sl_err op_set_grade(sl_store *base, int64_t id, char reliability, int credibility)
{
	grade_args a = {id, reliability, credibility};
	return sq_in_write_tx((sqlite_store *)base, set_grade_body, &a);
}

typedef struct claim_args {
	int64_t id, moderator_id, now, until; /* until 0: release */
	int64_t *held_by;
} claim_args;

/* Claim and release: read the current claim under the write lock, refuse
 * another's live one, then write. */
static sl_err claim_body(sqlite_store *s, void *ud)
{
	claim_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(
	    s->wdb, "SELECT claimed_by, claimed_until FROM reports WHERE id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->id);
	int rc = sqlite3_step(st);
	int64_t by = 0, until = 0;
	if (rc == SQLITE_ROW) {
		by = sqlite3_column_int64(st, 0);
		until = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		err = SL_ENOTFOUND;
	} else {
		err = sq_fail(s->wdb, "read claim");
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (by && by != a->moderator_id && until > a->now) {
		if (a->held_by)
			*a->held_by = by;
		return SL_EBUSY;
	}
	if (a->until) {
		err = sq_prepare_once(
		    s->wdb,
		    "UPDATE reports SET claimed_by = ?2, claimed_until = ?3,"
		    " status = CASE status WHEN 'received' THEN 'under_review'"
		    "  ELSE status END WHERE id = ?1",
		    &st);
		if (err)
			return err;
		sqlite3_bind_int64(st, 2, a->moderator_id);
		sqlite3_bind_int64(st, 3, a->until);
	} else {
		err = sq_prepare_once(s->wdb,
				   "UPDATE reports SET claimed_by = NULL,"
				   " claimed_until = NULL WHERE id = ?1",
				   &st);
		if (err)
			return err;
	}
	sqlite3_bind_int64(st, 1, a->id);
	return sq_change_rows(s, st, a->until ? "claim" : "release");
}

static sl_err op_claim(sl_store *base, int64_t id, int64_t moderator_id, int64_t now,
		       int64_t until, int64_t *held_by)
{
	claim_args a = {id, moderator_id, now, until, held_by};
	return sq_in_write_tx((sqlite_store *)base, claim_body, &a);
}

static sl_err op_release(sl_store *base, int64_t id, int64_t moderator_id, int64_t now)
{
	claim_args a = {id, moderator_id, now, 0, NULL};
	return sq_in_write_tx((sqlite_store *)base, claim_body, &a);
}

typedef struct update_args {
	const sl_report *r;
	const char *equipment_json;
} update_args;

static sl_err update_body(sqlite_store *s, void *ud)
{
	update_args *a = ud;
	const sl_report *r = a->r;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(
	    s->wdb,
	    "UPDATE reports SET category = ?2, observed_at = ?3, observed_until = ?4,"
	    " lat = ?5, lon = ?6, uncertainty_m = ?7, place = ?8, heading_deg = ?9,"
	    " destination = ?10, equipment = ?11 WHERE id = ?1",
	    &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_text(st, 2, sl_category_name(r->category), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->observed_at);
	if (r->has_until)
		sqlite3_bind_int64(st, 4, r->observed_until);
	if (r->location.has_point) {
		sqlite3_bind_double(st, 5, r->location.lat);
		sqlite3_bind_double(st, 6, r->location.lon);
		sqlite3_bind_double(st, 7, r->location.uncertainty_m);
	}
	sq_bind_text(st, 8, r->location.place);
	if (r->has_heading)
		sqlite3_bind_double(st, 9, r->heading_deg);
	sq_bind_text(st, 10, r->destination);
	sq_bind_text(st, 11, a->equipment_json);
	err = sq_change_rows(s, st, "update report");
	return err ? err : sq_note_change(s, r->id, 0);
}

static sl_err op_update_report(sl_store *base, const sl_report *r)
{
	update_args a = {r, NULL};
	char *eq = NULL;
	sl_err err = store_equipment_json(r, &eq);
	if (err)
		return err;
	a.equipment_json = eq;
	err = sq_in_write_tx((sqlite_store *)base, update_body, &a);
	free(eq);
	return err;
}

static const sl_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = op_close,
    .put_reports = op_put_reports,
    .report_status = op_report_status,
    .get_report = op_get_report,
    .put_sealed = op_put_sealed,
    .keys_since = op_keys_since,
    .add_keys = op_add_keys,
    .purge_sealed = op_purge_sealed,
    .add_moderator = op_add_moderator,
    .get_moderator = op_get_moderator,
    .list_moderators = op_list_moderators,
    .remove_moderator = op_remove_moderator,
    .each_report = op_each_report,
    .count_reports = op_count_reports,
    .audit_append = op_audit_append,
    .audit_last = op_audit_last,
    .each_audit = op_each_audit,
    .queue = op_queue,
    .get_review = op_get_review,
    .set_status = op_set_status,
    .set_grade = op_set_grade,
    .claim = op_claim,
    .release = op_release,
    .update_report = op_update_report,
    .event_create = sq_event_create,
    .event_attach = sq_event_attach,
    .event_detach = sq_event_detach,
    .event_merge = sq_event_merge,
    .event_split = sq_event_split,
    .find_events = sq_find_events,
    .report_events = sq_report_events,
    .each_item = sq_each_item,
    .get_item = sq_get_item,
    .changes = sq_changes,
    .engine_state = sq_engine_state,
    .engine_save = sq_engine_save,
    .engine_lock = sq_engine_lock,
    .pub_sources = sq_pub_sources,
    .pub_fingerprint = sq_pub_fingerprint,
    .pub_setting_get = sq_pub_setting_get,
    .pub_setting_set = sq_pub_setting_set,
    .excerpt_set = sq_excerpt_set,
    .photo_set = sq_photo_set,
    .photo_get = sq_photo_get,
    .webhook_add = sq_webhook_add,
    .webhooks = sq_webhooks,
    .webhook_remove = sq_webhook_remove,
    .pub_record = sq_pub_record,
    .pub_state = sq_pub_state,
    .deliveries_due = sq_deliveries_due,
    .delivery_result = sq_delivery_result,
    .meta_get = op_meta_get,
    .meta_set = op_meta_set,
    .check = op_check,
    .tracks_save = sq_tracks_save,
    .find_tracks = sq_find_tracks,
    .each_event = sq_each_event,
    .count_events = sq_count_events,
};
