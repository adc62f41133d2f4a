/*
 * postgres.c — the PostgreSQL store backend: one database that several
 * sightline servers share (docs/SCALING.md).
 *
 * It answers the same ops as sqlite.c with the same guarantees, over a
 * small pool of libpq connections (PG_POOL, each opened when first
 * needed, each with its own prepared statements). A store function takes a
 * connection for its own duration only and never holds one while it calls
 * back (each_report pages as SQLite's does), so visitors may call back into
 * the store.
 *
 * What SQLite gets from its one writer, this backend gets from advisory
 * locks taken inside the transactions (postgres_int.h):
 *   - PG_LOCK_INTAKE around every report insert, so that report ids are
 *     given out in commit order. Readers page with "id > last seen" (the
 *     engine's mark is one), which is only safe when no smaller id can
 *     still commit after a larger one has been seen.
 *   - PG_LOCK_WRITE around every other write: review, events, the change
 *     log (whose seq the engine pages by in the same way), the audit log
 *     (its seq and prev_hash are checked under it), publication, meta.
 *     These are a few per second at most, and running them one at a time
 *     keeps every read-check-write in them as safe as SQLite's.
 * Durability: synchronous_commit is set on for every session, so a COMMIT
 * returns once the WAL is flushed (and a synchronous standby has it, when
 * one is configured): an acknowledged report survives a crash.
 *
 * Schema. Versioned by the table sightline_schema (one row per step
 * applied): migrations[i] takes it from version i to i+1, each in its own
 * transaction under PG_LOCK_MIGRATE, so that servers starting together
 * apply each step once. A database newer than the program is refused.
 * PostGIS is used when the database has it (CREATE EXTENSION postgis, done
 * by its owner): events then get a generated point column with a GiST
 * index for bounding boxes; without it a B-tree on (lat, lon) serves.
 *
 * Which column holds what is decided in two functions, bind_report and
 * pg_decode_report, as in sqlite.c. Text, contact and photos are never
 * columns of reports: they arrive sealed and go to sealed in the same
 * transaction.
 */
#include "store/postgres_int.h"

#include "sightline/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* each_report copies at most this many rows per query, into an arena of
 * at most this many bytes (as sqlite.c). */
#define PAGE_ROWS 64
#define PAGE_ARENA_CAP ((size_t)4 << 20)

/* The schema, one step per version. Never edit a shipped step: append one.
 * Version 1 is the SQLite schema's version 3 (docs/STORE.md), in
 * PostgreSQL's types: INTEGER is BIGINT, REAL is DOUBLE PRECISION, BLOB is
 * BYTEA; ids are BIGSERIAL, which only grow and are never reused (a
 * refused duplicate or a rolled back insert uses one up). The CHECK lists
 * mirror report.c, as SQLite's do. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE moderators ("
    " id BIGSERIAL PRIMARY KEY,"
    " name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
    " role TEXT NOT NULL CHECK (role IN ('admin', 'moderator')),"
    " created_at BIGINT NOT NULL,"
    " removed_at BIGINT,"
    " public_key BYTEA NOT NULL,"
    " salt BYTEA NOT NULL,"
    " opslimit BIGINT NOT NULL,"
    " memlimit BIGINT NOT NULL,"
    " wrapped BYTEA NOT NULL,"
    " recovery_wrapped BYTEA NOT NULL"
    ");"
    "CREATE UNIQUE INDEX moderators_active_name ON moderators(name)"
    " WHERE removed_at IS NULL;"
    "CREATE TABLE reports ("
    " id BIGSERIAL PRIMARY KEY,"
    " receipt_hash BYTEA UNIQUE"
    "  CHECK (receipt_hash IS NULL OR length(receipt_hash) = 32),"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('received', 'under_review', 'verified', 'rejected')),"
    " received_at BIGINT NOT NULL,"
    " category TEXT NOT NULL CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " observed_at BIGINT NOT NULL,"
    " observed_until BIGINT"
    "  CHECK (observed_until IS NULL OR observed_until >= observed_at),"
    " lat DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),"
    " lon DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),"
    " uncertainty_m DOUBLE PRECISION CHECK (uncertainty_m >= 0),"
    " place TEXT,"
    " heading_deg DOUBLE PRECISION CHECK (heading_deg >= 0 AND heading_deg < 360),"
    " destination TEXT,"
    " equipment TEXT NOT NULL,"
    " language TEXT,"
    " ref TEXT,"
    " grade_reliability TEXT"
    "  CHECK (grade_reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),"
    " grade_credibility INTEGER CHECK (grade_credibility BETWEEN 1 AND 6),"
    " claimed_by BIGINT REFERENCES moderators(id),"
    " claimed_until BIGINT,"
    " reject_reason TEXT,"
    " decided_by BIGINT REFERENCES moderators(id),"
    " decided_at BIGINT,"
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
    "CREATE TABLE sealed ("
    " id BIGSERIAL PRIMARY KEY,"
    " report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL"
    "  CHECK (kind IN ('content', 'photo', 'followup', 'note')),"
    " created_at BIGINT NOT NULL,"
    " cipher BYTEA NOT NULL,"
    " author_id BIGINT REFERENCES moderators(id),"
    " CHECK ((kind = 'note') = (author_id IS NOT NULL))"
    ");"
    "CREATE INDEX sealed_report ON sealed(report_id);"
    "CREATE INDEX sealed_created ON sealed(created_at);"
    "CREATE TABLE sealed_keys ("
    " sealed_id BIGINT NOT NULL REFERENCES sealed(id) ON DELETE CASCADE,"
    " moderator_id BIGINT NOT NULL REFERENCES moderators(id),"
    " wrapped BYTEA NOT NULL CHECK (length(wrapped) = 80),"
    " PRIMARY KEY (sealed_id, moderator_id)"
    ");"
    "CREATE INDEX sealed_keys_moderator ON sealed_keys(moderator_id);"
    /* The audit log: the triggers stop a bug in this program from
     * rewriting history, as SQLite's do; whoever owns the database can
     * drop them, which is what sl_audit_verify is for. */
    "CREATE TABLE audit ("
    " seq BIGINT PRIMARY KEY CHECK (seq >= 1),"
    " at BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " detail TEXT,"
    " prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),"
    " hash BYTEA NOT NULL CHECK (length(hash) = 32),"
    " sig BYTEA NOT NULL CHECK (length(sig) = 64)"
    ");"
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION 'the audit log is append-only'; END$$;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"
    "CREATE TABLE events ("
    " id BIGSERIAL PRIMARY KEY,"
    " category TEXT CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " created_at BIGINT NOT NULL,"
    " created_by BIGINT REFERENCES moderators(id),"
    " decided_by_moderator INTEGER NOT NULL DEFAULT 1"
    "  CHECK (decided_by_moderator IN (0, 1)),"
    " t_start BIGINT,"
    " t_end BIGINT,"
    " lat DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),"
    " lon DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),"
    " uncertainty_m DOUBLE PRECISION CHECK (uncertainty_m >= 0),"
    " heading_deg DOUBLE PRECISION CHECK (heading_deg >= 0 AND heading_deg < 360),"
    " confidence DOUBLE PRECISION CHECK (confidence BETWEEN 0 AND 1),"
    " equipment TEXT,"
    " n_reports BIGINT NOT NULL DEFAULT 0,"
    " updated_at BIGINT"
    ");"
    "CREATE INDEX events_time ON events(t_end);"
    "CREATE INDEX events_point ON events(lat, lon);"
    "CREATE TABLE event_reports ("
    " event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " attached_by BIGINT REFERENCES moderators(id),"
    " attached_at BIGINT NOT NULL,"
    " PRIMARY KEY (event_id, report_id)"
    ");"
    "CREATE INDEX event_reports_report ON event_reports(report_id);"
    "CREATE TABLE event_bans ("
    " event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " banned_by BIGINT REFERENCES moderators(id),"
    " banned_at BIGINT NOT NULL,"
    " PRIMARY KEY (event_id, report_id)"
    ");"
    "CREATE TABLE changes ("
    " seq BIGSERIAL PRIMARY KEY,"
    " report_id BIGINT,"
    " event_id BIGINT"
    ");"
    "CREATE TABLE publish_settings ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " updated_by BIGINT REFERENCES moderators(id)"
    ");"
    "CREATE TABLE event_excerpts ("
    " event_id BIGINT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
    " text TEXT NOT NULL,"
    " approved_by BIGINT REFERENCES moderators(id),"
    " approved_at BIGINT NOT NULL"
    ");"
    "CREATE TABLE webhooks ("
    " id BIGSERIAL PRIMARY KEY,"
    " url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),"
    " secret BYTEA NOT NULL CHECK (length(secret) = 32),"
    " created_at BIGINT NOT NULL,"
    " created_by BIGINT REFERENCES moderators(id),"
    " removed_at BIGINT"
    ");"
    "CREATE TABLE published_events ("
    " event_id BIGINT PRIMARY KEY,"
    " hash BYTEA NOT NULL CHECK (length(hash) = 16),"
    " first_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL"
    ");"
    "CREATE TABLE publications ("
    " seq BIGSERIAL PRIMARY KEY,"
    " event_id BIGINT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('publish', 'update', 'withdraw')),"
    " at BIGINT NOT NULL,"
    " doc TEXT NOT NULL"
    ");"
    "CREATE TABLE webhook_outbox ("
    " webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL REFERENCES publications(seq) ON DELETE CASCADE,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at BIGINT," /* Unix milliseconds; NULL: given up */
    " last_status INTEGER,"
    " PRIMARY KEY (webhook_id, seq)"
    ");"
    "CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at)"
    " WHERE next_at IS NOT NULL;",
    /* 1 -> 2: SQLite's 3 -> 4 and 4 -> 5: tracks (docs/TRACKING.md) with
     * their events in order, the index on events' updated_at the tracker
     * reads by, and the photos approved for the public. */
    "CREATE TABLE tracks ("
    " id BIGSERIAL PRIMARY KEY,"
    " category TEXT NOT NULL CHECK (category IN"
    "  ('rail_transport', 'road_convoy', 'aircraft', 'helicopter', 'troops',"
    "   'air_defence', 'missile_system', 'naval', 'fortification', 'other')),"
    " t_first BIGINT NOT NULL,"
    " t_last BIGINT NOT NULL,"
    " first_lat DOUBLE PRECISION NOT NULL CHECK (first_lat BETWEEN -90 AND 90),"
    " first_lon DOUBLE PRECISION NOT NULL CHECK (first_lon BETWEEN -180 AND 180),"
    " last_lat DOUBLE PRECISION NOT NULL CHECK (last_lat BETWEEN -90 AND 90),"
    " last_lon DOUBLE PRECISION NOT NULL CHECK (last_lon BETWEEN -180 AND 180),"
    " heading_deg DOUBLE PRECISION CHECK (heading_deg >= 0 AND heading_deg < 360),"
    " length_m DOUBLE PRECISION NOT NULL CHECK (length_m >= 0),"
    " confidence DOUBLE PRECISION NOT NULL CHECK (confidence BETWEEN 0 AND 1),"
    " may_continue INTEGER NOT NULL CHECK (may_continue IN (0, 1)),"
    " direction TEXT NOT NULL CHECK (direction IN ('unknown', 'toward_ukraine',"
    "  'away_from_ukraine', 'toward_russia', 'internal')),"
    " direction_confidence DOUBLE PRECISION NOT NULL"
    "  CHECK (direction_confidence BETWEEN 0 AND 1),"
    " ukraine_change_m DOUBLE PRECISION NOT NULL,"
    " russia_change_m DOUBLE PRECISION NOT NULL,"
    " toward_russia INTEGER NOT NULL CHECK (toward_russia IN (0, 1)),"
    " crossing_country INTEGER,"
    " crossing_lat DOUBLE PRECISION, crossing_lon DOUBLE PRECISION,"
    " crossing_distance_m DOUBLE PRECISION,"
    " crossing_name TEXT,"
    " equipment TEXT NOT NULL,"
    " route TEXT NOT NULL,"
    " n_events BIGINT NOT NULL,"
    " n_reports BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL"
    ");"
    "CREATE INDEX tracks_time ON tracks(t_last);"
    "CREATE TABLE track_events ("
    " track_id BIGINT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " PRIMARY KEY (track_id, seq)"
    ");"
    "CREATE INDEX track_events_event ON track_events(event_id);"
    "CREATE INDEX events_updated ON events(updated_at);"
    "CREATE TABLE event_photos ("
    " event_id BIGINT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
    " jpeg BYTEA NOT NULL CHECK (length(jpeg) BETWEEN 4 AND 16777216),"
    " approved_by BIGINT REFERENCES moderators(id),"
    " approved_at BIGINT NOT NULL"
    ");",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* With PostGIS: each event's point as a geometry, kept by the database
 * itself, with a GiST index for bounding boxes. Not a numbered step: it
 * follows the extension, added at open when PostGIS is there and the
 * column is not. */
static const char sql_postgis[] =
    "ALTER TABLE events ADD COLUMN geom geometry(Point, 4326)"
    " GENERATED ALWAYS AS (CASE WHEN lat IS NULL OR lon IS NULL THEN NULL"
    " ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED;"
    "CREATE INDEX events_geom ON events USING gist (geom);";

static const sl_store_ops postgres_ops;

/* ---- parameters and results ---------------------------------------------- */

static char *next_param(pg_params *p)
{
	if (p->n >= PG_MAX_PARAMS)
		abort(); /* a statement with more parameters than the table: a bug */
	p->fmt[p->n] = 0;
	p->len[p->n] = 0;
	return p->num[p->n];
}

void pp_i64(pg_params *p, int64_t v)
{
	char *b = next_param(p);
	snprintf(b, sizeof(p->num[0]), "%" PRId64, v);
	p->v[p->n++] = b;
}

void pp_id(pg_params *p, int64_t v)
{
	pp_opt(p, v != 0, v);
}

void pp_opt(pg_params *p, bool has, int64_t v)
{
	if (has)
		pp_i64(p, v);
	else
		pp_null(p);
}

void pp_f64(pg_params *p, double v)
{
	char *b = next_param(p);
	if (isnan(v))
		snprintf(b, sizeof(p->num[0]), "NaN");
	else if (isinf(v))
		snprintf(b, sizeof(p->num[0]), v > 0 ? "Infinity" : "-Infinity");
	else
		snprintf(b, sizeof(p->num[0]), "%.17g", v);
	p->v[p->n++] = b;
}

void pp_optf(pg_params *p, bool has, double v)
{
	if (has)
		pp_f64(p, v);
	else
		pp_null(p);
}

void pp_bool(pg_params *p, bool v)
{
	next_param(p);
	p->v[p->n++] = v ? "true" : "false";
}

void pp_text(pg_params *p, const char *s)
{
	next_param(p);
	p->v[p->n++] = s;
}

void pp_bytes(pg_params *p, const void *b, size_t n)
{
	next_param(p);
	p->fmt[p->n] = 1;
	p->len[p->n] = (int)n;
	/* libpq wants a non-NULL pointer for a non-NULL value, even empty. */
	p->v[p->n++] = b ? (const char *)b : "";
}

void pp_null(pg_params *p)
{
	next_param(p);
	p->v[p->n++] = NULL;
}

sl_err pg_fail(PGconn *c, const PGresult *r, const char *what)
{
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char line[256];
	if (!msg) {
		/* The connection's own words: the first line only. */
		snprintf(line, sizeof(line), "%s", c ? PQerrorMessage(c) : "no connection");
		line[strcspn(line, "\n")] = '\0';
		msg = line[0] ? line : "unknown error";
	}
	fprintf(stderr, PG_LOG "%s: %s (SQLSTATE %s)\n", what, msg, state ? state : "-");
	return SL_ESTORE;
}

bool pg_isnull(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) != 0;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	if (pg_isnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_f64(const PGresult *r, int row, int col)
{
	if (pg_isnull(r, row, col))
		return 0;
	return strtod(PQgetvalue(r, row, col), NULL);
}

bool pg_bool(const PGresult *r, int row, int col)
{
	return !pg_isnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

sl_err pg_str(const PGresult *r, int row, int col, sl_arena *a, const char **out)
{
	*out = NULL;
	if (pg_isnull(r, row, col))
		return SL_OK;
	*out = sl_arena_strndup(a, PQgetvalue(r, row, col),
				(size_t)PQgetlength(r, row, col));
	return *out ? SL_OK : SL_ENOMEM;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length a bytea's hex text ("\x0a1b...") decodes to; -1 when it is
 * not that. */
static long hex_len(const PGresult *r, int row, int col)
{
	if (pg_isnull(r, row, col))
		return -1;
	const char *v = PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);
	if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2)
		return -1;
	return (n - 2) / 2;
}

static bool hex_decode(const PGresult *r, int row, int col, uint8_t *dst, long n)
{
	const char *v = PQgetvalue(r, row, col) + 2;
	for (long i = 0; i < n; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool pg_blob_into(const PGresult *r, int row, int col, void *dst, size_t size)
{
	long n = hex_len(r, row, col);
	return n == (long)size && hex_decode(r, row, col, dst, n);
}

sl_err pg_blob(const PGresult *r, int row, int col, sl_arena *a, const uint8_t **out,
	       size_t *len)
{
	*out = NULL;
	*len = 0;
	if (pg_isnull(r, row, col))
		return SL_OK;
	long n = hex_len(r, row, col);
	if (n < 0)
		return SL_ESTORE;
	if (n == 0)
		return SL_OK;
	uint8_t *copy = sl_arena_alloc(a, (size_t)n);
	if (!copy)
		return SL_ENOMEM;
	if (!hex_decode(r, row, col, copy, n))
		return SL_ESTORE;
	*out = copy;
	*len = (size_t)n;
	return SL_OK;
}

/* ---- statements ------------------------------------------------------------ */

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_slots;

/* The slot of st, given out on first use. */
static int slot_of(pg_stmt *st)
{
	int slot = __atomic_load_n(&st->slot, __ATOMIC_ACQUIRE);
	if (slot)
		return slot;
	pthread_mutex_lock(&slot_lock);
	if (!st->slot) {
		if (n_slots + 1 >= PG_MAX_STMTS)
			abort(); /* more statements than PG_MAX_STMTS: raise it */
		__atomic_store_n(&st->slot, ++n_slots, __ATOMIC_RELEASE);
	}
	slot = st->slot;
	pthread_mutex_unlock(&slot_lock);
	return slot;
}

/* Prepares st on c unless it is already. */
static sl_err ready(pg_conn *c, pg_stmt *st, int slot)
{
	if (c->prepared[slot])
		return SL_OK;
	char name[16];
	snprintf(name, sizeof(name), "s%d", slot);
	PGresult *r = PQprepare(c->pg, name, st->sql, 0, NULL);
	sl_err err = PQresultStatus(r) == PGRES_COMMAND_OK ? SL_OK
							   : pg_fail(c->pg, r, "prepare");
	PQclear(r);
	if (!err)
		c->prepared[slot] = true;
	return err;
}

/* A result that says the statement worked (rows or none), else NULL and
 * *err after logging; r is cleared then. */
static PGresult *checked(PGconn *c, PGresult *r, const char *what, sl_err *err)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	*err = pg_fail(c, r, what);
	PQclear(r);
	return NULL;
}

PGresult *pg_run(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what,
		 sl_err *err)
{
	int slot = slot_of(st);
	if ((*err = ready(c, st, slot)))
		return NULL;
	char name[16];
	snprintf(name, sizeof(name), "s%d", slot);
	PGresult *r = PQexecPrepared(c->pg, name, p ? p->n : 0, p ? p->v : NULL,
				     p ? p->len : NULL, p ? p->fmt : NULL, 0);
	return checked(c->pg, r, what, err);
}

PGresult *pg_run_sql(pg_conn *c, const char *sql, const pg_params *p, const char *what,
		     sl_err *err)
{
	*err = SL_OK;
	PGresult *r = p ? PQexecParams(c->pg, sql, p->n, NULL, p->v, p->len, p->fmt, 0)
			: PQexec(c->pg, sql);
	return checked(c->pg, r, what, err);
}

sl_err pg_do(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what,
	     int64_t *changed)
{
	sl_err err;
	PGresult *r = pg_run(c, st, p, what, &err);
	if (!r)
		return err;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return SL_OK;
}

sl_err pg_change(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what)
{
	int64_t n = 0;
	sl_err err = pg_do(c, st, p, what, &n);
	return err ? err : n == 0 ? SL_ENOTFOUND : SL_OK;
}

/* ---- pipelines ------------------------------------------------------------- */

sl_err pg_pipe_start(pg_pipe *p, pg_conn *c, const char *what,
			 sl_err (*on_result)(void *, int, const PGresult *), void *ud)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->what = what;
	p->on_result = on_result;
	p->ud = ud;
	if (PQenterPipelineMode(c->pg) != 1)
		p->err = pg_fail(c->pg, NULL, "enter pipeline mode");
	return p->err;
}

/* Reads the results of what was queued, up to and including the sync. */
sl_err pg_pipe_sync(pg_pipe *p)
{
	if (p->queued == 0)
		return p->err;
	PGconn *pg = p->c->pg;
	if (PQpipelineSync(pg) != 1) {
		p->err = pg_fail(pg, NULL, p->what);
		return p->err;
	}
	for (int i = 0; i < p->queued; i++) {
		PGresult *r = PQgetResult(pg);
		if (!r) {
			if (!p->err)
				p->err = pg_fail(pg, NULL, p->what);
			return p->err;
		}
		ExecStatusType st = PQresultStatus(r);
		bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
		if (!ok && p->prepares[i])
			p->c->prepared[p->prepares[i]] = false;
		if (!ok && !p->err)
			p->err = st == PGRES_PIPELINE_ABORTED ? SL_ESTORE
							      : pg_fail(pg, r, p->what);
		if (ok && !p->err && p->tags[i] >= 0 && p->on_result)
			p->err = p->on_result(p->ud, p->tags[i], r);
		PQclear(r);
		while ((r = PQgetResult(pg)) != NULL) /* the end of this one */
			PQclear(r);
	}
	PGresult *r = PQgetResult(pg);
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && !p->err)
		p->err = pg_fail(pg, r, p->what);
	PQclear(r);
	p->queued = 0;
	return p->err;
}

static void pipe_queued(pg_pipe *p, int sent, int tag, int prepare)
{
	if (sent != 1) {
		if (!p->err)
			p->err = pg_fail(p->c->pg, NULL, p->what);
		return;
	}
	p->tags[p->queued] = tag;
	p->prepares[p->queued] = prepare;
	p->queued++;
}

/* Queues st with pp (copied now); its result goes to on_result with tag
 * (-1: only checked). */
void pg_pipe_send(pg_pipe *p, pg_stmt *st, const pg_params *pp, int tag)
{
	if (p->queued >= PG_PIPE_CHUNK - 1)
		pg_pipe_sync(p);
	int slot = slot_of(st);
	char name[16];
	snprintf(name, sizeof(name), "s%d", slot);
	if (!p->c->prepared[slot]) {
		p->c->prepared[slot] = true; /* undone if the prepare fails */
		pipe_queued(p, PQsendPrepare(p->c->pg, name, st->sql, 0, NULL), -1, slot);
	}
	pipe_queued(p,
		    PQsendQueryPrepared(p->c->pg, name, pp ? pp->n : 0, pp ? pp->v : NULL,
					pp ? pp->len : NULL, pp ? pp->fmt : NULL, 0),
		    tag, 0);
}

/* Queues SQL without parameters (BEGIN, COMMIT, a lock). */
void pg_pipe_sql(pg_pipe *p, const char *sql)
{
	if (p->queued >= PG_PIPE_CHUNK - 1)
		pg_pipe_sync(p);
	pipe_queued(p, PQsendQueryParams(p->c->pg, sql, 0, NULL, NULL, NULL, NULL, 0), -1,
		    0);
}

/* Reads what is left and leaves pipeline mode. */
sl_err pg_pipe_end(pg_pipe *p)
{
	pg_pipe_sync(p);
	if (PQexitPipelineMode(p->c->pg) != 1 && !p->err)
		p->err = pg_fail(p->c->pg, NULL, "leave pipeline mode");
	return p->err;
}

/* ---- connections ------------------------------------------------------------ */

/* Notices (NOTICE, WARNING sent to the client) are dropped: libpq would
 * print them, and nothing in them is ours to show. */
static void drop_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *pg_connect(const pg_store *s)
{
	/* Our defaults first: the URL's own settings, expanded from dbname,
	 * override them. Keepalives and a TCP user timeout, so that a dead
	 * database host is noticed in seconds rather than hours. */
	const char *const keys[] = {"connect_timeout",	  "application_name",
				    "keepalives_idle",	  "keepalives_interval",
				    "keepalives_count",	  "tcp_user_timeout",
				    "dbname",		  NULL};
	const char *const values[] = {"10", "sightline", "10", "5", "3", "30000", s->url, NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);
	if (!c) {
		fprintf(stderr, PG_LOG "connect: out of memory\n");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		pg_fail(c, NULL, "connect");
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, drop_notice, NULL);
	/* synchronous_commit: a COMMIT returns once the WAL is flushed,
	 * whatever the server's default. The timeouts bound every wait: for a
	 * lock another server holds, and for a transaction a stuck client
	 * left open. extra_float_digits: doubles come back exactly. */
	PGresult *r = PQexec(c, "SET synchronous_commit = on;"
				"SET lock_timeout = '30s';"
				"SET statement_timeout = '600s';"
				"SET idle_in_transaction_session_timeout = '60s';"
				"SET extra_float_digits = 3;"
				"SET bytea_output = 'hex';"
				"SET client_encoding = 'UTF8';"
				"SET client_min_messages = 'warning'");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c, r, "set up connection");
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

PGresult *pg_query(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
		   sl_err *err)
{
	pg_conn *c;
	if ((*err = pg_get(s, &c)))
		return NULL;
	PGresult *r = pg_run(c, st, p, what, err);
	pg_put(s, c);
	return r;
}

sl_err pg_get(pg_store *s, pg_conn **out)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PG_POOL_WAIT_MS / 1000;
	pthread_mutex_lock(&s->pool_lock);
	pg_conn *got = NULL, *empty = NULL;
	for (;;) {
		for (int i = 0; i < PG_POOL && !got; i++) {
			if (s->conns[i].busy)
				continue;
			if (s->conns[i].pg)
				got = &s->conns[i];
			else if (!empty)
				empty = &s->conns[i];
		}
		if (!got && empty)
			got = empty;
		if (got)
			break;
		if (pthread_cond_timedwait(&s->pool_free, &s->pool_lock, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&s->pool_lock);
			fprintf(stderr, PG_LOG "no free connection within %d ms\n",
				PG_POOL_WAIT_MS);
			return SL_EBUSY;
		}
	}
	got->busy = true;
	pthread_mutex_unlock(&s->pool_lock);
	if (!got->pg) {
		memset(got->prepared, 0, sizeof(got->prepared));
		if (!(got->pg = pg_connect(s))) {
			pg_put(s, got);
			return SL_ESTORE;
		}
	}
	*out = got;
	return SL_OK;
}

void pg_put(pg_store *s, pg_conn *c)
{
	/* A broken connection, or one a failure left inside a transaction or a
	 * pipeline, is closed (the server rolls back what it left open); the
	 * next caller opens a new one. */
	if (c->pg && (PQstatus(c->pg) != CONNECTION_OK ||
		      PQtransactionStatus(c->pg) != PQTRANS_IDLE ||
		      PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF)) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	pthread_mutex_lock(&s->pool_lock);
	c->busy = false;
	pthread_cond_signal(&s->pool_free);
	pthread_mutex_unlock(&s->pool_lock);
}

/* ---- transactions ----------------------------------------------------------- */

sl_err pg_begin(pg_conn *c, int lock_key)
{
	char sql[96];
	if (lock_key)
		snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)",
			 PG_LOCK_NS, lock_key);
	else
		snprintf(sql, sizeof(sql), "BEGIN");
	sl_err err;
	PGresult *r = pg_run_sql(c, sql, NULL, "begin", &err);
	PQclear(r);
	return err;
}

sl_err pg_commit(pg_conn *c)
{
	sl_err err;
	PGresult *r = pg_run_sql(c, "COMMIT", NULL, "commit", &err);
	/* A COMMIT of a failed transaction answers ROLLBACK, not an error. */
	if (r && strcmp(PQcmdStatus(r), "COMMIT") != 0)
		err = pg_fail(c->pg, NULL, "commit (rolled back)");
	PQclear(r);
	return err;
}

void pg_rollback(pg_conn *c)
{
	if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return;
	PQclear(PQexec(c->pg, "ROLLBACK"));
}

sl_err pg_in_tx(pg_store *s, int lock_key, pg_body body, void *ud)
{
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	err = pg_begin(c, lock_key);
	if (!err)
		err = body(s, c, ud);
	if (!err)
		err = pg_commit(c);
	if (err)
		pg_rollback(c);
	pg_put(s, c);
	return err;
}

sl_err pg_in_read(pg_store *s, pg_body body, void *ud)
{
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	sl_err e2;
	PQclear(pg_run_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL,
			   "begin read", &err));
	if (!err)
		err = body(s, c, ud);
	PQclear(pg_run_sql(c, "COMMIT", NULL, "end read", &e2));
	if (!err)
		err = e2;
	if (err)
		pg_rollback(c);
	pg_put(s, c);
	return err;
}

/* ---- schema ----------------------------------------------------------------- */

/* Applies pending steps, one transaction each. */
static sl_err migrate(pg_conn *c)
{
	for (;;) {
		sl_err err = pg_begin(c, PG_LOCK_MIGRATE);
		PGresult *r = NULL;
		if (!err)
			PQclear(pg_run_sql(c,
					   "CREATE TABLE IF NOT EXISTS sightline_schema ("
					   " version INTEGER PRIMARY KEY,"
					   " applied_at BIGINT NOT NULL)",
					   NULL, "schema table", &err));
		if (!err)
			r = pg_run_sql(c, "SELECT coalesce(max(version), 0) FROM sightline_schema",
				       NULL, "read schema version", &err);
		if (err) {
			pg_rollback(c);
			return err;
		}
		int version = (int)pg_i64(r, 0, 0);
		PQclear(r);
		if (version >= N_MIGRATIONS) {
			pg_rollback(c);
			if (version == N_MIGRATIONS)
				return SL_OK;
			fprintf(stderr,
				PG_LOG "schema version %d is newer than this program "
				       "knows (%d); refusing to open\n",
				version, N_MIGRATIONS);
			return SL_ESTORE;
		}
		pg_params p = {0};
		pp_i64(&p, version + 1);
		pp_i64(&p, (int64_t)time(NULL));
		PQclear(pg_run_sql(c, migrations[version], NULL, "migrate", &err));
		if (!err)
			PQclear(pg_run_sql(c,
					   "INSERT INTO sightline_schema (version, applied_at)"
					   " VALUES ($1::integer, $2::bigint)",
					   &p, "migrate", &err));
		if (!err)
			err = pg_commit(c);
		if (err) {
			fprintf(stderr, PG_LOG "migration to version %d failed\n", version + 1);
			pg_rollback(c);
			return err;
		}
	}
}

/* Uses PostGIS when the database has it: adds the point column once.
 * Sets s->postgis. */
static sl_err follow_postgis(pg_store *s, pg_conn *c)
{
	sl_err err = pg_begin(c, PG_LOCK_MIGRATE);
	PGresult *r = NULL;
	if (!err)
		r = pg_run_sql(c,
			       "SELECT EXISTS (SELECT 1 FROM pg_extension"
			       "  WHERE extname = 'postgis'),"
			       " EXISTS (SELECT 1 FROM information_schema.columns"
			       "  WHERE table_schema = current_schema()"
			       "  AND table_name = 'events' AND column_name = 'geom')",
			       NULL, "look for PostGIS", &err);
	if (err) {
		pg_rollback(c);
		return err;
	}
	bool have = pg_bool(r, 0, 0), column = pg_bool(r, 0, 1);
	PQclear(r);
	if (have && !column)
		PQclear(pg_run_sql(c, sql_postgis, NULL, "add PostGIS column", &err));
	if (!err)
		err = pg_commit(c);
	if (err) {
		pg_rollback(c);
		return err;
	}
	s->postgis = have;
	return SL_OK;
}

/* ---- open and close --------------------------------------------------------- */

static void destroy(pg_store *s)
{
	pg_engine_release(s);
	for (int i = 0; i < PG_POOL; i++)
		if (s->conns[i].pg)
			PQfinish(s->conns[i].pg);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_free);
	pthread_mutex_destroy(&s->engine_lock);
	free(s->url);
	free(s);
}

sl_err sl_store_postgres_open(const char *data_dir, const char *url, sl_store **out)
{
	if (!data_dir || !url || !out)
		return SL_EINVAL;
	*out = NULL;
	if (!PQisthreadsafe()) {
		fprintf(stderr, PG_LOG "libpq was built without thread support\n");
		return SL_ESTORE;
	}
	sl_err err = store_make_data_dir(data_dir);
	if (err)
		return err;
	pg_store *s = calloc(1, sizeof(*s));
	if (!s)
		return SL_ENOMEM;
	s->url = strdup(url);
	if (!s->url) {
		free(s);
		return SL_ENOMEM;
	}
	s->base.ops = &postgres_ops;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_free, NULL);
	pthread_mutex_init(&s->engine_lock, NULL);
	pg_conn *c;
	if (!(err = pg_get(s, &c))) {
		if (!(err = migrate(c)))
			err = follow_postgis(s, c);
		pg_put(s, c);
	}
	if (err) {
		destroy(s);
		return err;
	}
	*out = &s->base;
	return SL_OK;
}

static void op_close(sl_store *base)
{
	destroy((pg_store *)base);
}

/* ---- reports ---------------------------------------------------------------- */

/* A duplicate ref is not an error: the conflict target names the partial
 * index, so DO NOTHING covers it and only it; any other constraint failure
 * (CHECK, a repeated receipt_hash) aborts the batch. */
static pg_stmt st_insert = PG_STMT(
    "INSERT INTO reports (receipt_hash, status, received_at, category, observed_at,"
    " observed_until, lat, lon, uncertainty_m, place, heading_deg, destination,"
    " equipment, language, ref)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    " ON CONFLICT (ref) WHERE ref IS NOT NULL DO NOTHING"
    " RETURNING id");
static pg_stmt st_insert_sealed =
    PG_STMT("INSERT INTO sealed (report_id, kind, created_at, cipher, author_id)"
	    " VALUES ($1, $2, $3, $4, $5) RETURNING id");
/* Only for a moderator still active: a report sealed just before a removal
 * must not give the removed one a key after it. The item is the one just
 * inserted on this connection, or $3 when given. */
static pg_stmt st_insert_key = PG_STMT(
    "INSERT INTO sealed_keys (sealed_id, moderator_id, wrapped)"
    " SELECT coalesce($3::bigint, currval('sealed_id_seq')), $1::bigint, $2::bytea"
    " WHERE EXISTS (SELECT 1 FROM moderators WHERE id = $1::bigint"
    "  AND removed_at IS NULL)"
    " ON CONFLICT DO NOTHING");

/* Binds every column of r for st_insert; the bindings borrow r's strings
 * and equipment_json. The one place (with pg_decode_report) that knows
 * which column holds what. */
static void bind_report(pg_params *p, const sl_report *r, const char *equipment_json)
{
	if (r->has_receipt)
		pp_bytes(p, r->receipt_hash, sizeof(r->receipt_hash));
	else
		pp_null(p);
	/* An out-of-range enum becomes "?", which the CHECK refuses. */
	pp_text(p, sl_status_name(r->status));
	pp_i64(p, r->received_at);
	pp_text(p, sl_category_name(r->category));
	pp_i64(p, r->observed_at);
	pp_opt(p, r->has_until, r->observed_until);
	const sl_location *l = &r->location;
	pp_optf(p, l->has_point, l->lat);
	pp_optf(p, l->has_point, l->lon);
	pp_optf(p, l->has_point, l->uncertainty_m);
	pp_text(p, l->place);
	pp_optf(p, r->has_heading, r->heading_deg);
	pp_text(p, r->destination);
	pp_text(p, equipment_json);
	/* r->text and r->contact are never bound: they reach the disk only
	 * sealed, as r->sealed items. */
	pp_text(p, r->language);
	pp_text(p, r->ref);
}

static void bind_sealed(pg_params *p, int64_t report_id, const sl_sealed *item)
{
	pp_i64(p, report_id);
	pp_text(p, sl_sealed_kind_name(item->kind));
	pp_i64(p, item->created_at);
	pp_bytes(p, item->cipher, item->cipher_len);
	pp_id(p, item->author_id);
}

static void bind_key(pg_params *p, int64_t sealed_id, int64_t moderator_id,
		     const uint8_t *wrapped)
{
	pp_i64(p, moderator_id);
	pp_bytes(p, wrapped, SL_WRAPPED_KEY_BYTES);
	pp_id(p, sealed_id);
}

static bool sealed_ok(const sl_sealed *item)
{
	return (unsigned)item->kind < SL_SEALED_KIND_COUNT && item->cipher &&
	       item->cipher_len <= INT32_MAX;
}

/* The batch being stored: results come back by tag, a report's index for
 * its insert, (index << 8 | item) + 1 for a sealed item's. */
typedef struct put_ctx {
	sl_report *const *reports;
	size_t n;
	sl_put_result *results;
} put_ctx;

static sl_err put_result(void *ud, int tag, const PGresult *r)
{
	put_ctx *x = ud;
	if (tag < (int)x->n) {
		sl_report *rep = x->reports[tag];
		bool inserted = PQntuples(r) == 1;
		rep->id = inserted ? pg_i64(r, 0, 0) : 0;
		x->results[tag] = inserted ? SL_PUT_INSERTED : SL_PUT_DUPLICATE;
		return SL_OK;
	}
	int k = tag - (int)x->n;
	sl_report *rep = x->reports[k >> 8];
	if (PQntuples(r) != 1)
		return SL_ESTORE;
	rep->sealed[k & 0xff].id = pg_i64(r, 0, 0);
	return SL_OK;
}

/* Two round trips for the whole batch: the reports (their ids decide
 * what follows), then their sealed items, keys and the COMMIT. */
static sl_err put_batch(pg_conn *c, put_ctx *x)
{
	pg_pipe p;
	if (pg_pipe_start(&p, c, "store reports", put_result, x))
		return p.err;
	char lock[64];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)", PG_LOCK_NS,
		 PG_LOCK_INTAKE);
	pg_pipe_sql(&p, "BEGIN");
	pg_pipe_sql(&p, lock);
	for (size_t i = 0; i < x->n && !p.err; i++) {
		char *eq = NULL;
		if ((p.err = store_equipment_json(x->reports[i], &eq)))
			break;
		pg_params pp = {0};
		bind_report(&pp, x->reports[i], eq);
		pg_pipe_send(&p, &st_insert, &pp, (int)i);
		free(eq);
	}
	pg_pipe_sync(&p);
	for (size_t i = 0; i < x->n && !p.err; i++) {
		sl_report *r = x->reports[i];
		if (x->results[i] != SL_PUT_INSERTED)
			continue;
		for (size_t k = 0; k < r->n_sealed && !p.err; k++) {
			const sl_sealed *item = &r->sealed[k];
			pg_params pp = {0};
			bind_sealed(&pp, r->id, item);
			pg_pipe_send(&p, &st_insert_sealed, &pp, (int)(x->n + (i << 8 | k)));
			for (size_t m = 0; m < item->n_keys; m++) {
				pg_params kp = {0};
				bind_key(&kp, 0, item->moderator_ids[m],
					 item->wrapped + m * SL_WRAPPED_KEY_BYTES);
				pg_pipe_send(&p, &st_insert_key, &kp, -1);
			}
		}
	}
	pg_pipe_sql(&p, "COMMIT");
	sl_err err = pg_pipe_end(&p);
	/* A COMMIT the server skipped (after a failure) leaves the
	 * transaction open: then it did not commit. */
	if (!err && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		err = pg_fail(c->pg, NULL, "commit reports");
	return err;
}

static sl_err op_put_reports(sl_store *base, sl_report *const *reports, size_t n,
			     sl_put_result *results)
{
	pg_store *s = (pg_store *)base;
	if (!reports || !results)
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!reports[i] || reports[i]->n_sealed > 256)
			return SL_EINVAL;
		for (size_t k = 0; k < reports[i]->n_sealed; k++)
			if (!sealed_ok(&reports[i]->sealed[k]))
				return SL_EINVAL;
	}
	if (n > (size_t)(INT32_MAX >> 9))
		return SL_EINVAL;
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	put_ctx x = {reports, n, results};
	err = put_batch(c, &x);
	if (err) {
		pg_rollback(c);
		for (size_t i = 0; i < n; i++)
			reports[i]->id = 0;
	}
	pg_put(s, c);
	return err;
}

static pg_stmt st_status = PG_STMT("SELECT status, id FROM reports WHERE receipt_hash = $1");

static sl_err op_report_status(sl_store *base, const uint8_t hash[32], int64_t *id,
			       sl_report_status *out)
{
	pg_store *s = (pg_store *)base;
	if (!hash || !out)
		return SL_EINVAL;
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	pg_params p = {0};
	pp_bytes(&p, hash, 32);
	PGresult *r = pg_run(c, &st_status, &p, "report status", &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	else if (r) {
		if (!sl_status_from_name(PQgetvalue(r, 0, 0), out)) {
			fprintf(stderr, PG_LOG "unknown status in reports\n");
			err = SL_ESTORE;
		}
		if (id)
			*id = pg_i64(r, 0, 1);
	}
	PQclear(r);
	pg_put(s, c);
	return err;
}

sl_err pg_decode_report(const PGresult *res, int row, sl_arena *a, sl_report *r)
{
	memset(r, 0, sizeof(*r));
	r->id = pg_i64(res, row, COL_ID);
	if (!pg_isnull(res, row, COL_RECEIPT_HASH)) {
		if (!pg_blob_into(res, row, COL_RECEIPT_HASH, r->receipt_hash, 32))
			goto corrupt;
		r->has_receipt = true;
	}
	if (!sl_status_from_name(PQgetvalue(res, row, COL_STATUS), &r->status) ||
	    !sl_category_from_name(PQgetvalue(res, row, COL_CATEGORY), &r->category))
		goto corrupt;
	r->received_at = pg_i64(res, row, COL_RECEIVED_AT);
	r->observed_at = pg_i64(res, row, COL_OBSERVED_AT);
	if (!pg_isnull(res, row, COL_OBSERVED_UNTIL)) {
		r->has_until = true;
		r->observed_until = pg_i64(res, row, COL_OBSERVED_UNTIL);
	}
	if (!pg_isnull(res, row, COL_LAT)) {
		r->location.has_point = true;
		r->location.lat = pg_f64(res, row, COL_LAT);
		r->location.lon = pg_f64(res, row, COL_LON);
		r->location.uncertainty_m = pg_f64(res, row, COL_UNCERTAINTY_M);
	}
	if (!pg_isnull(res, row, COL_HEADING_DEG)) {
		r->has_heading = true;
		r->heading_deg = pg_f64(res, row, COL_HEADING_DEG);
	}
	sl_err err;
	if ((err = pg_str(res, row, COL_PLACE, a, &r->location.place)) ||
	    (err = pg_str(res, row, COL_DESTINATION, a, &r->destination)) ||
	    (err = pg_str(res, row, COL_LANGUAGE, a, &r->language)) ||
	    (err = pg_str(res, row, COL_REF, a, &r->ref)))
		return err;
	if (pg_isnull(res, row, COL_EQUIPMENT))
		goto corrupt;
	err = store_equipment_parse(PQgetvalue(res, row, COL_EQUIPMENT),
				    (size_t)PQgetlength(res, row, COL_EQUIPMENT), a, r);
	if (err == SL_ESTORE)
		goto corrupt;
	return err;

corrupt:
	fprintf(stderr, PG_LOG "report %lld: malformed row\n", (long long)r->id);
	return SL_ESTORE;
}

/* Decodes the rows of r (a page of at most limit) into page (elements of
 * elem bytes), strings in a: *n how many, *more false when the query had
 * no more. A page is cut short when a fills up; on a row that does not
 * decode, *n still counts the good rows before it. (As read_rows in
 * sqlite.c.) */
static sl_err decode_rows(const PGresult *r, int limit, pg_row_decoder decode, void *page,
			  size_t elem, sl_arena *a, size_t *n, bool *more)
{
	int rows = PQntuples(r);
	*n = 0;
	*more = rows == limit;
	for (int i = 0; i < rows; i++) {
		sl_err err = decode(r, i, a, (char *)page + *n * elem);
		if (err == SL_ENOMEM && *n > 0) {
			*more = true;
			return SL_OK;
		}
		if (err)
			return err;
		(*n)++;
	}
	return SL_OK;
}

static sl_err decode_report_row(const PGresult *r, int row, sl_arena *a, void *out)
{
	return pg_decode_report(r, row, a, out);
}

sl_err pg_read_page(pg_store *s, pg_stmt *st, int64_t after, int rows,
		    pg_row_decoder decode, void *page, size_t elem, sl_arena *a,
		    const char *what, size_t *n, bool *more)
{
	*n = 0;
	*more = false;
	pg_params p = {0};
	pp_i64(&p, after);
	pp_i64(&p, rows);
	sl_err err;
	PGresult *r = pg_query(s, st, &p, what, &err);
	if (r)
		err = decode_rows(r, rows, decode, page, elem, a, n, more);
	PQclear(r);
	return err;
}

static pg_stmt st_page = PG_STMT("SELECT " REPORT_COLUMNS " FROM reports WHERE id > $1"
				 " ORDER BY id LIMIT $2");

/* Pages through the table as sqlite.c does, for the same reasons: no
 * connection is held while visit runs. */
static sl_err op_each_report(sl_store *base, int64_t after_id, sl_report_visit visit,
			     void *ud)
{
	pg_store *s = (pg_store *)base;
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
		err = pg_read_page(s, &st_page, cursor, PAGE_ROWS, decode_report_row, page, sizeof(*page),
				a, "read reports", &n, &more);
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

sl_err pg_one_int(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
		  int64_t *out)
{
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	PGresult *r = pg_run(c, st, p, what, &err);
	if (r)
		*out = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	pg_put(s, c);
	return err;
}

static pg_stmt st_count = PG_STMT("SELECT count(*) FROM reports");

static sl_err op_count_reports(sl_store *base, int64_t *out)
{
	if (!out)
		return SL_EINVAL;
	return pg_one_int((pg_store *)base, &st_count, NULL, "count reports", out);
}

/* ---- meta ------------------------------------------------------------------- */

/* Runs st (one text column, one row at most) and copies its value into a
 * malloc'd *out; SL_ENOTFOUND when there is no row. */
static sl_err one_text(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
		       char **out)
{
	*out = NULL;
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (err)
		return err;
	PGresult *r = pg_run(c, st, p, what, &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	else if (r && !(*out = strdup(PQgetvalue(r, 0, 0))))
		err = SL_ENOMEM;
	PQclear(r);
	pg_put(s, c);
	return err;
}

static pg_stmt st_meta_get = PG_STMT("SELECT value FROM meta WHERE key = $1");

static sl_err op_meta_get(sl_store *base, const char *key, char **out)
{
	if (!key || !out)
		return SL_EINVAL;
	pg_params p = {0};
	pp_text(&p, key);
	return one_text((pg_store *)base, &st_meta_get, &p, "meta get", out);
}

static pg_stmt st_meta_set =
    PG_STMT("INSERT INTO meta (key, value) VALUES ($1, $2)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value");

/* Runs one statement with p in its own write transaction. */
typedef struct one_args {
	pg_stmt *st;
	const pg_params *p;
	const char *what;
	bool must_change; /* SL_ENOTFOUND when no row changed */
} one_args;

static sl_err one_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	one_args *a = ud;
	return a->must_change ? pg_change(c, a->st, a->p, a->what)
			      : pg_do(c, a->st, a->p, a->what, NULL);
}

static sl_err write_one(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
			bool must_change)
{
	one_args a = {st, p, what, must_change};
	return pg_in_tx(s, PG_LOCK_WRITE, one_body, &a);
}

static sl_err op_meta_set(sl_store *base, const char *key, const char *value)
{
	if (!key || !value)
		return SL_EINVAL;
	pg_params p = {0};
	pp_text(&p, key);
	pp_text(&p, value);
	return write_one((pg_store *)base, &st_meta_set, &p, "meta set", false);
}

/* ---- check ------------------------------------------------------------------- */

/* Every index of our tables valid (a failed CREATE INDEX CONCURRENTLY or
 * a REINDEX leaves one that is not), amcheck's structural check of each
 * B-tree when the extension is installed, and the counts the store keeps
 * true. Names of what is wrong are logged, never row content. */
static sl_err check_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	(void)ud;
	sl_err err;
	PGresult *r = pg_run_sql(c,
				 "SELECT i.indexrelid::regclass::text FROM pg_index i"
				 " JOIN pg_class t ON t.oid = i.indrelid"
				 " WHERE t.relnamespace = current_schema()::regnamespace"
				 " AND NOT (i.indisvalid AND i.indisready)",
				 NULL, "check indexes", &err);
	if (!r)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		fprintf(stderr, PG_LOG "check: index %s is not valid\n", PQgetvalue(r, i, 0));
		err = SL_ESTORE;
	}
	PQclear(r);
	sl_err e2;
	r = pg_run_sql(c, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')",
		       NULL, "look for amcheck", &e2);
	bool amcheck = r && pg_bool(r, 0, 0);
	PQclear(r);
	if (amcheck) {
		r = pg_run_sql(c,
			       "SELECT count(bt_index_check(i.indexrelid)) FROM pg_index i"
			       " JOIN pg_class x ON x.oid = i.indexrelid"
			       " JOIN pg_am am ON am.oid = x.relam"
			       " WHERE x.relnamespace = current_schema()::regnamespace"
			       " AND am.amname = 'btree'",
			       NULL, "check B-trees", &e2);
		if (!r && !err)
			err = e2; /* amcheck found damage */
		PQclear(r);
	}
	r = pg_run_sql(c,
		       "SELECT e.id FROM events e WHERE e.n_reports <> (SELECT count(*)"
		       " FROM event_reports er WHERE er.event_id = e.id) LIMIT 10",
		       NULL, "check event counts", &e2);
	if (!r)
		return err ? err : e2;
	for (int i = 0; i < PQntuples(r); i++) {
		fprintf(stderr, PG_LOG "check: event %s: n_reports is wrong\n",
			PQgetvalue(r, i, 0));
		err = SL_ESTORE;
	}
	PQclear(r);
	return err;
}

static sl_err op_check(sl_store *base)
{
	return pg_in_read((pg_store *)base, check_body, NULL);
}

/* ---- one report and its sealed items ---------------------------------------- */

static pg_stmt st_get_report =
    PG_STMT("SELECT " REPORT_COLUMNS " FROM reports WHERE id = $1");
static pg_stmt st_read_sealed =
    PG_STMT("SELECT s.id, s.kind, s.created_at, s.cipher, k.wrapped, s.author_id"
	    " FROM sealed s LEFT JOIN sealed_keys k"
	    "  ON k.sealed_id = s.id AND k.moderator_id = $2"
	    " WHERE s.report_id = $1 ORDER BY s.id");

typedef struct get_args {
	int64_t id, moderator_id;
	sl_arena *a;
	sl_report *out;
} get_args;

/* The sealed items of r->id into r->sealed, each with moderator_id's
 * wrapped key when there is one. */
static sl_err read_sealed(pg_conn *c, int64_t moderator_id, sl_arena *a, sl_report *r)
{
	pg_params p = {0};
	pp_i64(&p, r->id);
	pp_i64(&p, moderator_id);
	sl_err err;
	PGresult *res = pg_run(c, &st_read_sealed, &p, "read sealed", &err);
	if (!res)
		return err;
	int n = PQntuples(res);
	r->sealed = n ? sl_arena_alloc(a, (size_t)n * sizeof(*r->sealed)) : NULL;
	if (n && !r->sealed)
		err = SL_ENOMEM;
	for (int i = 0; i < n && !err; i++) {
		sl_sealed *it = &r->sealed[i];
		memset(it, 0, sizeof(*it));
		it->id = pg_i64(res, i, 0);
		it->created_at = pg_i64(res, i, 2);
		it->author_id = pg_i64(res, i, 5);
		if (!sl_sealed_kind_from_name(PQgetvalue(res, i, 1), &it->kind)) {
			err = SL_ESTORE;
			break;
		}
		err = pg_blob(res, i, 3, a, &it->cipher, &it->cipher_len);
		if (!err && hex_len(res, i, 4) == SL_WRAPPED_KEY_BYTES) {
			size_t len;
			int64_t *mid = sl_arena_alloc(a, sizeof(*mid));
			err = mid ? pg_blob(res, i, 4, a, &it->wrapped, &len) : SL_ENOMEM;
			if (!err) {
				*mid = moderator_id;
				it->moderator_ids = mid;
				it->n_keys = 1;
			}
		}
		if (!err)
			r->n_sealed++;
	}
	PQclear(res);
	return err;
}

static sl_err get_report_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	get_args *g = ud;
	pg_params p = {0};
	pp_i64(&p, g->id);
	sl_err err;
	PGresult *r = pg_run(c, &st_get_report, &p, "get report", &err);
	if (!r)
		return err;
	err = PQntuples(r) == 0 ? SL_ENOTFOUND : pg_decode_report(r, 0, g->a, g->out);
	PQclear(r);
	return err ? err : read_sealed(c, g->moderator_id, g->a, g->out);
}

static sl_err op_get_report(sl_store *base, int64_t id, int64_t moderator_id,
			    sl_arena *a, sl_report *out)
{
	/* One read transaction, so the report and its items agree. */
	get_args g = {id, moderator_id, a, out};
	return pg_in_read((pg_store *)base, get_report_body, &g);
}

/* Stores one sealed item of report_id and its keys inside the open
 * transaction; sets item->id. */
static sl_err insert_sealed(pg_conn *c, int64_t report_id, sl_sealed *item)
{
	if (!sealed_ok(item))
		return SL_EINVAL;
	pg_params p = {0};
	bind_sealed(&p, report_id, item);
	sl_err err;
	PGresult *r = pg_run(c, &st_insert_sealed, &p, "insert sealed", &err);
	if (!r)
		return err;
	item->id = pg_i64(r, 0, 0);
	PQclear(r);
	for (size_t k = 0; k < item->n_keys && !err; k++) {
		pg_params kp = {0};
		bind_key(&kp, item->id, item->moderator_ids[k],
			 item->wrapped + k * SL_WRAPPED_KEY_BYTES);
		err = pg_do(c, &st_insert_key, &kp, "insert sealed key", NULL);
	}
	return err;
}

typedef struct put_sealed_args {
	int64_t report_id;
	sl_sealed *item;
} put_sealed_args;

static sl_err put_sealed_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	put_sealed_args *a = ud;
	return insert_sealed(c, a->report_id, a->item);
}

static sl_err op_put_sealed(sl_store *base, int64_t report_id, sl_sealed *item)
{
	if (!item)
		return SL_EINVAL;
	put_sealed_args a = {report_id, item};
	sl_err err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, put_sealed_body, &a);
	if (err)
		item->id = 0;
	return err;
}

static pg_stmt st_keys_since = PG_STMT("SELECT k.sealed_id, k.wrapped FROM sealed_keys k"
				       " JOIN sealed s ON s.id = k.sealed_id"
				       " WHERE k.moderator_id = $1 AND s.created_at >= $2"
				       " ORDER BY k.sealed_id");

static sl_err op_keys_since(sl_store *base, int64_t since, int64_t holder_id, size_t *n,
			    int64_t **sealed_ids, uint8_t **wrapped)
{
	pg_store *s = (pg_store *)base;
	*n = 0;
	*sealed_ids = NULL;
	*wrapped = NULL;
	pg_params p = {0};
	pp_i64(&p, holder_id);
	pp_i64(&p, since);
	sl_err err;
	PGresult *r = pg_query(s, &st_keys_since, &p, "keys since", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows) {
		*sealed_ids = malloc(rows * sizeof(**sealed_ids));
		*wrapped = malloc(rows * SL_WRAPPED_KEY_BYTES);
		if (!*sealed_ids || !*wrapped)
			err = SL_ENOMEM;
	}
	for (size_t i = 0; i < rows && !err; i++) {
		(*sealed_ids)[i] = pg_i64(r, (int)i, 0);
		if (!pg_blob_into(r, (int)i, 1, *wrapped + i * SL_WRAPPED_KEY_BYTES,
				  SL_WRAPPED_KEY_BYTES))
			err = SL_ESTORE;
	}
	PQclear(r);
	if (err) {
		free(*sealed_ids);
		free(*wrapped);
		*sealed_ids = NULL;
		*wrapped = NULL;
	} else {
		*n = rows;
	}
	return err;
}

typedef struct add_keys_args {
	int64_t moderator_id;
	size_t n;
	const int64_t *sealed_ids;
	const uint8_t *wrapped;
} add_keys_args;

static sl_err add_keys_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	add_keys_args *a = ud;
	pg_pipe p;
	if (pg_pipe_start(&p, c, "add keys", NULL, NULL))
		return p.err;
	for (size_t i = 0; i < a->n && !p.err; i++) {
		pg_params kp = {0};
		bind_key(&kp, a->sealed_ids[i], a->moderator_id,
			 a->wrapped + i * SL_WRAPPED_KEY_BYTES);
		pg_pipe_send(&p, &st_insert_key, &kp, -1);
	}
	return pg_pipe_end(&p);
}

static sl_err op_add_keys(sl_store *base, int64_t moderator_id, size_t n,
			  const int64_t *sealed_ids, const uint8_t *wrapped)
{
	add_keys_args a = {moderator_id, n, sealed_ids, wrapped};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, add_keys_body, &a);
}

/* After a delete of secrets (purged items, a removed moderator's keys):
 * VACUUM removes the dead rows from the tables' pages so that their space
 * is reused, sooner than autovacuum would. It cannot run in a transaction,
 * nor zero the bytes (docs/SCALING.md: what PostgreSQL keeps after a
 * delete); a failure (not the owner) is logged and not an error. */
static void forget_deleted(pg_store *s, const char *tables)
{
	pg_conn *c;
	if (pg_get(s, &c))
		return;
	char sql[96];
	snprintf(sql, sizeof(sql), "VACUUM %s", tables);
	sl_err err;
	PQclear(pg_run_sql(c, sql, NULL, "vacuum after delete", &err));
	pg_put(s, c);
}

static pg_stmt st_purge = PG_STMT("DELETE FROM sealed WHERE created_at < $1");

typedef struct purge_args {
	int64_t before, n;
} purge_args;

static sl_err purge_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	purge_args *a = ud;
	pg_params p = {0};
	pp_i64(&p, a->before);
	return pg_do(c, &st_purge, &p, "purge sealed", &a->n);
}

static sl_err op_purge_sealed(sl_store *base, int64_t before, int64_t *n)
{
	pg_store *s = (pg_store *)base;
	purge_args a = {before, 0};
	sl_err err = pg_in_tx(s, PG_LOCK_WRITE, purge_body, &a);
	if (!err) {
		if (n)
			*n = a.n;
		forget_deleted(s, "sealed_keys, sealed");
	}
	return err;
}

/* ---- moderators -------------------------------------------------------------- */

#define MODERATOR_COLUMNS                                                                \
	"id, name, role, created_at, removed_at, public_key, salt, opslimit, memlimit,"  \
	" wrapped, recovery_wrapped"

static sl_err decode_moderator(const PGresult *r, int row, sl_moderator *m)
{
	memset(m, 0, sizeof(*m));
	m->id = pg_i64(r, row, 0);
	const char *name = PQgetvalue(r, row, 1);
	const char *role = PQgetvalue(r, row, 2);
	if (strlen(name) > SL_MODERATOR_NAME_MAX)
		return SL_ESTORE;
	memcpy(m->name, name, strlen(name) + 1);
	m->role = strcmp(role, "admin") == 0 ? SL_ROLE_ADMIN : SL_ROLE_MODERATOR;
	m->created_at = pg_i64(r, row, 3);
	m->removed_at = pg_i64(r, row, 4);
	m->key.opslimit = (uint64_t)pg_i64(r, row, 7);
	m->key.memlimit = (uint64_t)pg_i64(r, row, 8);
	sl_modkey_record *k = &m->key;
	if (!pg_blob_into(r, row, 5, k->public_key, sizeof(k->public_key)) ||
	    !pg_blob_into(r, row, 6, k->salt, sizeof(k->salt)) ||
	    !pg_blob_into(r, row, 9, k->wrapped, sizeof(k->wrapped)) ||
	    !pg_blob_into(r, row, 10, k->recovery_wrapped, sizeof(k->recovery_wrapped)))
		return SL_ESTORE;
	return SL_OK;
}

static pg_stmt st_add_moderator = PG_STMT(
    "INSERT INTO moderators (name, role, created_at, public_key, salt,"
    " opslimit, memlimit, wrapped, recovery_wrapped)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (name) WHERE removed_at IS NULL DO NOTHING RETURNING id");

static sl_err add_moderator_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	sl_moderator *m = ud;
	const sl_modkey_record *k = &m->key;
	pg_params p = {0};
	pp_text(&p, m->name);
	pp_text(&p, m->role == SL_ROLE_ADMIN ? "admin" : "moderator");
	pp_i64(&p, m->created_at);
	pp_bytes(&p, k->public_key, sizeof(k->public_key));
	pp_bytes(&p, k->salt, sizeof(k->salt));
	pp_i64(&p, (int64_t)k->opslimit);
	pp_i64(&p, (int64_t)k->memlimit);
	pp_bytes(&p, k->wrapped, sizeof(k->wrapped));
	pp_bytes(&p, k->recovery_wrapped, sizeof(k->recovery_wrapped));
	sl_err err;
	PGresult *r = pg_run(c, &st_add_moderator, &p, "add moderator", &err);
	if (!r)
		return err;
	if (PQntuples(r) == 1)
		m->id = pg_i64(r, 0, 0);
	else
		err = SL_EVALID; /* an active moderator has the name */
	PQclear(r);
	return err;
}

static sl_err op_add_moderator(sl_store *base, sl_moderator *m)
{
	if (!m || !m->name[0])
		return SL_EINVAL;
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, add_moderator_body, m);
}

static pg_stmt st_moderators_all =
    PG_STMT("SELECT " MODERATOR_COLUMNS " FROM moderators ORDER BY id");
static pg_stmt st_moderators_active = PG_STMT(
    "SELECT " MODERATOR_COLUMNS " FROM moderators WHERE removed_at IS NULL ORDER BY id");
static pg_stmt st_moderator_named =
    PG_STMT("SELECT " MODERATOR_COLUMNS " FROM moderators"
	    " WHERE name = $1 AND removed_at IS NULL ORDER BY id");

/* Runs a moderators SELECT; collects its rows into a malloc'd array. */
static sl_err query_moderators(pg_store *s, pg_stmt *st, const char *name,
			       sl_moderator **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pg_params p = {0};
	if (name)
		pp_text(&p, name);
	sl_err err;
	PGresult *r = pg_query(s, st, &p, "read moderators", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows && !(*out = calloc(rows, sizeof(**out))))
		err = SL_ENOMEM;
	for (size_t i = 0; i < rows && !err; i++)
		err = decode_moderator(r, (int)i, &(*out)[i]);
	PQclear(r);
	if (err) {
		free(*out);
		*out = NULL;
	} else {
		*n = rows;
	}
	return err;
}

static sl_err op_get_moderator(sl_store *base, const char *name, sl_moderator *out)
{
	sl_moderator *list;
	size_t n;
	if (!name)
		return SL_EINVAL;
	sl_err err = query_moderators((pg_store *)base, &st_moderator_named, name, &list, &n);
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
	return query_moderators((pg_store *)base,
				all ? &st_moderators_all : &st_moderators_active, NULL, out, n);
}

static pg_stmt st_remove_moderator =
    PG_STMT("UPDATE moderators SET removed_at = $2"
	    " WHERE name = $1 AND removed_at IS NULL RETURNING id");
static pg_stmt st_remove_keys = PG_STMT("DELETE FROM sealed_keys WHERE moderator_id = $1");

typedef struct remove_args {
	const char *name;
	int64_t now;
} remove_args;

static sl_err remove_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	remove_args *a = ud;
	pg_params p = {0};
	pp_text(&p, a->name);
	pp_i64(&p, a->now);
	sl_err err;
	PGresult *r = pg_run(c, &st_remove_moderator, &p, "remove moderator", &err);
	if (!r)
		return err;
	int64_t id = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (!id)
		return SL_ENOTFOUND;
	pg_params k = {0};
	pp_i64(&k, id);
	return pg_do(c, &st_remove_keys, &k, "remove moderator keys", NULL);
}

static sl_err op_remove_moderator(sl_store *base, const char *name, int64_t now)
{
	pg_store *s = (pg_store *)base;
	if (!name)
		return SL_EINVAL;
	remove_args a = {name, now};
	sl_err err = pg_in_tx(s, PG_LOCK_WRITE, remove_body, &a);
	if (!err)
		forget_deleted(s, "sealed_keys");
	return err;
}

/* ---- the audit log ------------------------------------------------------------ */

#define AUDIT_COLUMNS "seq, at, actor, action, subject, detail, prev_hash, hash, sig"

/* Decodes a row of SELECT AUDIT_COLUMNS into e, its strings in a.
 * SL_ESTORE for a row the log never writes (logged with its seq only).
 * PostgreSQL's text cannot hold a NUL, so that damage cannot occur here. */
static sl_err decode_audit(const PGresult *r, int row, sl_arena *a, void *out)
{
	sl_audit_entry *e = out;
	memset(e, 0, sizeof(*e));
	e->seq = pg_i64(r, row, 0);
	e->at = pg_i64(r, row, 1);
	sl_err err;
	if ((err = pg_str(r, row, 2, a, &e->actor)) ||
	    (err = pg_str(r, row, 3, a, &e->action)) ||
	    (err = pg_str(r, row, 4, a, &e->subject)) ||
	    (err = pg_str(r, row, 5, a, &e->detail)))
		return err;
	if (!e->actor || !e->action || !e->subject ||
	    !pg_blob_into(r, row, 6, e->prev_hash, sizeof(e->prev_hash)) ||
	    !pg_blob_into(r, row, 7, e->hash, sizeof(e->hash)) ||
	    !pg_blob_into(r, row, 8, e->sig, sizeof(e->sig))) {
		fprintf(stderr, PG_LOG "audit entry %lld: malformed row\n",
			(long long)e->seq);
		return SL_ESTORE;
	}
	return SL_OK;
}

static pg_stmt st_audit_last =
    PG_STMT("SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq DESC LIMIT 1");
static pg_stmt st_audit_head =
    PG_STMT("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
static pg_stmt st_audit_insert = PG_STMT("INSERT INTO audit (" AUDIT_COLUMNS ")"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");

static sl_err audit_append_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	const sl_audit_entry *e = ud;
	/* Under PG_LOCK_WRITE: no other writer, on this server or another,
	 * comes between this read and the insert below. */
	sl_err err;
	PGresult *r = pg_run(c, &st_audit_head, NULL, "read last audit entry", &err);
	if (!r)
		return err;
	int64_t last = 0;
	uint8_t last_hash[SL_AUDIT_HASH_BYTES] = {0};
	if (PQntuples(r)) {
		last = pg_i64(r, 0, 0);
		if (!pg_blob_into(r, 0, 1, last_hash, sizeof(last_hash)))
			err = SL_ESTORE;
	}
	PQclear(r);
	if (err)
		return err;
	if (e->seq != last + 1 || memcmp(e->prev_hash, last_hash, sizeof(last_hash)) != 0)
		return SL_EVALID;
	pg_params p = {0};
	pp_i64(&p, e->seq);
	pp_i64(&p, e->at);
	pp_text(&p, e->actor);
	pp_text(&p, e->action);
	pp_text(&p, e->subject);
	pp_text(&p, e->detail);
	pp_bytes(&p, e->prev_hash, sizeof(e->prev_hash));
	pp_bytes(&p, e->hash, sizeof(e->hash));
	pp_bytes(&p, e->sig, sizeof(e->sig));
	return pg_do(c, &st_audit_insert, &p, "append audit entry", NULL);
}

static sl_err op_audit_append(sl_store *base, const sl_audit_entry *e)
{
	if (!e || !e->actor || !e->action || !e->subject || e->seq < 1)
		return SL_EINVAL;
	/* The body only reads e; the ud of pg_in_tx is not const. */
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, audit_append_body, (void *)e);
}

static sl_err op_audit_last(sl_store *base, sl_audit_entry *out, sl_arena *a)
{
	pg_store *s = (pg_store *)base;
	if (!out || !a)
		return SL_EINVAL;
	sl_err err;
	PGresult *r = pg_query(s, &st_audit_last, NULL, "read last audit entry", &err);
	if (r)
		err = PQntuples(r) ? decode_audit(r, 0, a, out) : SL_ENOTFOUND;
	PQclear(r);
	return err;
}

static pg_stmt st_audit_page = PG_STMT("SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > $1"
				       " ORDER BY seq LIMIT $2");

/* Pages like op_each_report. A malformed row ends the walk with
 * SL_ESTORE, but only after the good entries before it were visited. */
static sl_err op_each_audit(sl_store *base, int64_t after_seq, sl_audit_visit visit,
			    void *ud)
{
	pg_store *s = (pg_store *)base;
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
		sl_err read_err = pg_read_page(s, &st_audit_page, cursor, PAGE_ROWS, decode_audit, page,
					    sizeof(*page), a, "read audit log", &n, &more);
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

/* ---- review -------------------------------------------------------------------- */

sl_err pg_decode_review(const PGresult *r, int row, int col0, sl_arena *a, sl_review *out)
{
	memset(out, 0, sizeof(*out));
	if (!pg_isnull(r, row, col0)) {
		out->reliability = PQgetvalue(r, row, col0)[0];
		out->credibility = (int)pg_i64(r, row, col0 + 1);
	}
	out->claimed_by = pg_i64(r, row, col0 + 2);
	out->claimed_until = pg_i64(r, row, col0 + 3);
	out->decided_by = pg_i64(r, row, col0 + 5);
	out->decided_at = pg_i64(r, row, col0 + 6);
	return pg_str(r, row, col0 + 4, a, &out->reject_reason);
}

sl_err pg_decode_item(const PGresult *r, int row, sl_arena *a, sl_queue_item *it)
{
	memset(it, 0, sizeof(*it));
	sl_err err = pg_decode_report(r, row, a, &it->report);
	if (!err)
		err = pg_decode_review(r, row, COL_COUNT, a, &it->review);
	if (err)
		return err;
	it->n_photos = (size_t)pg_i64(r, row, COL_COUNT + 7);
	it->has_text = pg_bool(r, row, COL_COUNT + 8);
	return SL_OK;
}

/* Urgency is computed by the database so that the sort and the limit
 * happen there (as in sqlite.c). */
static pg_stmt st_queue = PG_STMT(
    "SELECT " ITEM_COLUMNS ","
    " CASE"
    "  WHEN category IN ('aircraft', 'helicopter')"
    "   AND coalesce(observed_until, observed_at) >= $1 - 7200 THEN 3"
    "  WHEN category = 'rail_transport'"
    "   AND coalesce(observed_until, observed_at) >= $1 - 21600 THEN 2"
    "  WHEN coalesce(observed_until, observed_at) >= $1 - 86400 THEN 1"
    "  ELSE 0 END AS urgency"
    " FROM reports r"
    " WHERE NOT $2::boolean OR status IN ('received', 'under_review')"
    " ORDER BY urgency DESC, received_at DESC, id DESC LIMIT $3");

static sl_err op_queue(sl_store *base, bool open_only, int64_t now, size_t limit,
		       sl_arena *a, sl_queue_item **out, size_t *n)
{
	pg_store *s = (pg_store *)base;
	*out = NULL;
	*n = 0;
	sl_queue_item *items = sl_arena_alloc(a, limit * sizeof(*items));
	if (!items)
		return SL_ENOMEM;
	pg_params p = {0};
	pp_i64(&p, now);
	pp_bool(&p, open_only);
	pp_i64(&p, (int64_t)limit);
	sl_err err;
	PGresult *r = pg_query(s, &st_queue, &p, "read queue", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	for (size_t i = 0; i < rows && i < limit && !err; i++) {
		if ((err = pg_decode_item(r, (int)i, a, &items[i])))
			break;
		items[i].urgency = (int)pg_i64(r, (int)i, COL_COUNT + 9);
		(*n)++;
	}
	PQclear(r);
	if (err)
		*n = 0;
	else
		*out = items;
	return err;
}

static pg_stmt st_get_review =
    PG_STMT("SELECT " REVIEW_COLUMNS " FROM reports WHERE id = $1");

static sl_err op_get_review(sl_store *base, int64_t id, sl_arena *a, sl_review *out)
{
	pg_store *s = (pg_store *)base;
	pg_params p = {0};
	pp_i64(&p, id);
	sl_err err;
	PGresult *r = pg_query(s, &st_get_review, &p, "get review", &err);
	if (r)
		err = PQntuples(r) ? pg_decode_review(r, 0, 0, a, out) : SL_ENOTFOUND;
	PQclear(r);
	return err;
}

static pg_stmt st_note_change =
    PG_STMT("INSERT INTO changes (report_id, event_id) VALUES ($1, $2)");

sl_err pg_note_change(pg_conn *c, int64_t report_id, int64_t event_id)
{
	pg_params p = {0};
	pp_id(&p, report_id);
	pp_id(&p, event_id);
	return pg_do(c, &st_note_change, &p, "note change", NULL);
}

/* A review write: one UPDATE of report id (must exist), then its change
 * row, in one write transaction. */
typedef struct review_args {
	pg_stmt *st;
	pg_params p;
	int64_t id;
	const char *what;
} review_args;

static sl_err review_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	review_args *a = ud;
	sl_err err = pg_change(c, a->st, &a->p, a->what);
	return err ? err : pg_note_change(c, a->id, 0);
}

static pg_stmt st_set_status =
    PG_STMT("UPDATE reports SET status = $2, reject_reason = $3,"
	    " decided_by = $4, decided_at = $5 WHERE id = $1");

static sl_err op_set_status(sl_store *base, int64_t id, sl_report_status status,
			    const char *reason, int64_t moderator_id, int64_t now)
{
	review_args a = {.st = &st_set_status, .id = id, .what = "set status"};
	pp_i64(&a.p, id);
	pp_text(&a.p, sl_status_name(status));
	pp_text(&a.p, status == SL_STATUS_REJECTED ? reason : NULL);
	pp_id(&a.p, moderator_id);
	pp_i64(&a.p, now);
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, review_body, &a);
}

static pg_stmt st_set_grade = PG_STMT("UPDATE reports SET grade_reliability = $2,"
				      " grade_credibility = $3 WHERE id = $1");

static sl_err op_set_grade(sl_store *base, int64_t id, char reliability, int credibility)
{
	char rel[2] = {reliability, '\0'};
	review_args a = {.st = &st_set_grade, .id = id, .what = "set grade"};
	pp_i64(&a.p, id);
	pp_text(&a.p, rel);
	pp_i64(&a.p, credibility);
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, review_body, &a);
}

typedef struct claim_args {
	int64_t id, moderator_id, now, until; /* until 0: release */
	int64_t *held_by;
} claim_args;

static pg_stmt st_read_claim =
    PG_STMT("SELECT claimed_by, claimed_until FROM reports WHERE id = $1");
static pg_stmt st_claim = PG_STMT(
    "UPDATE reports SET claimed_by = $2, claimed_until = $3,"
    " status = CASE status WHEN 'received' THEN 'under_review' ELSE status END"
    " WHERE id = $1");
static pg_stmt st_release =
    PG_STMT("UPDATE reports SET claimed_by = NULL, claimed_until = NULL WHERE id = $1");

/* Claim and release: read the current claim under the write lock, refuse
 * another's live one, then write. */
static sl_err claim_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	claim_args *a = ud;
	pg_params p = {0};
	pp_i64(&p, a->id);
	sl_err err;
	PGresult *r = pg_run(c, &st_read_claim, &p, "read claim", &err);
	if (!r)
		return err;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return SL_ENOTFOUND;
	}
	int64_t by = pg_i64(r, 0, 0), until = pg_i64(r, 0, 1);
	PQclear(r);
	if (by && by != a->moderator_id && until > a->now) {
		if (a->held_by)
			*a->held_by = by;
		return SL_EBUSY;
	}
	if (!a->until)
		return pg_change(c, &st_release, &p, "release");
	pp_i64(&p, a->moderator_id);
	pp_i64(&p, a->until);
	return pg_change(c, &st_claim, &p, "claim");
}

static sl_err op_claim(sl_store *base, int64_t id, int64_t moderator_id, int64_t now,
		       int64_t until, int64_t *held_by)
{
	claim_args a = {id, moderator_id, now, until, held_by};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, claim_body, &a);
}

static sl_err op_release(sl_store *base, int64_t id, int64_t moderator_id, int64_t now)
{
	claim_args a = {id, moderator_id, now, 0, NULL};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, claim_body, &a);
}

static pg_stmt st_update_report = PG_STMT(
    "UPDATE reports SET category = $2, observed_at = $3, observed_until = $4,"
    " lat = $5, lon = $6, uncertainty_m = $7, place = $8, heading_deg = $9,"
    " destination = $10, equipment = $11 WHERE id = $1");

static sl_err op_update_report(sl_store *base, const sl_report *r)
{
	char *eq = NULL;
	sl_err err = store_equipment_json(r, &eq);
	if (err)
		return err;
	review_args a = {.st = &st_update_report, .id = r->id, .what = "update report"};
	pp_i64(&a.p, r->id);
	pp_text(&a.p, sl_category_name(r->category));
	pp_i64(&a.p, r->observed_at);
	pp_opt(&a.p, r->has_until, r->observed_until);
	const sl_location *l = &r->location;
	pp_optf(&a.p, l->has_point, l->lat);
	pp_optf(&a.p, l->has_point, l->lon);
	pp_optf(&a.p, l->has_point, l->uncertainty_m);
	pp_text(&a.p, l->place);
	pp_optf(&a.p, r->has_heading, r->heading_deg);
	pp_text(&a.p, r->destination);
	pp_text(&a.p, eq);
	err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, review_body, &a);
	free(eq);
	return err;
}

static const sl_store_ops postgres_ops = {
    .name = "postgresql",
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
    .event_create = pg_event_create,
    .event_attach = pg_event_attach,
    .event_detach = pg_event_detach,
    .event_merge = pg_event_merge,
    .event_split = pg_event_split,
    .find_events = pg_find_events,
    .report_events = pg_report_events,
    .each_item = pg_each_item,
    .get_item = pg_get_item,
    .changes = pg_changes,
    .engine_state = pg_engine_state,
    .engine_save = pg_engine_save,
    .engine_lock = pg_engine_lock,
    .pub_sources = pg_pub_sources,
    .pub_fingerprint = pg_pub_fingerprint,
    .pub_setting_get = pg_pub_setting_get,
    .pub_setting_set = pg_pub_setting_set,
    .excerpt_set = pg_excerpt_set,
    .webhook_add = pg_webhook_add,
    .webhooks = pg_webhooks,
    .webhook_remove = pg_webhook_remove,
    .pub_record = pg_pub_record,
    .pub_state = pg_pub_state,
    .deliveries_due = pg_deliveries_due,
    .delivery_result = pg_delivery_result,
    .meta_get = op_meta_get,
    .meta_set = op_meta_set,
    .check = op_check,
    .photo_set = pg_photo_set,
    .photo_get = pg_photo_get,
    .tracks_save = pg_tracks_save,
    .find_tracks = pg_find_tracks,
    .each_event = pg_each_event,
    .count_events = pg_count_events,
};
