/*
 * store.h — where reports are kept.
 *
 * An sl_store is an opaque handle over a backend (SQLite, one file; or
 * PostgreSQL, shared by several servers) reached through a table of
 * functions (store_int.h), so callers never know which backend they talk
 * to. Every function is safe to call from any thread. A write returns only
 * after its transaction is committed durably.
 */
#ifndef SIGHTLINE_STORE_H
#define SIGHTLINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/arena.h"
#include "sightline/err.h"
#include "sightline/modkey.h"
#include "sightline/report.h"

typedef struct sl_store sl_store;

/* Opens the store under data_dir (created when missing), applying any
 * pending migrations. The SQLite backend keeps its file at
 * DATA_DIR/sightline.db. Caller closes with sl_store_close. */
sl_err sl_store_open(const char *data_dir, sl_store **out);

/* The same for the store url names: NULL, "" or "sqlite" is the SQLite
 * file in data_dir; "postgresql://..." (or "postgres://...", libpq's URI
 * form) is that PostgreSQL database, its schema migrated at open (docs/
 * STORE.md). data_dir is created either way: it keeps the files that are
 * not the database (the keys). SL_EINVAL for any other url. */
sl_err sl_store_open_url(const char *data_dir, const char *url, sl_store **out);

/* The backend's name: "sqlite" or "postgresql". */
const char *sl_store_backend(const sl_store *s);
void sl_store_close(sl_store *s);

/* What happened to one report given to sl_store_put_reports. */
typedef enum sl_put_result {
	SL_PUT_INSERTED,  /* stored; r->id is set */
	SL_PUT_DUPLICATE, /* not stored: a report with the same ref exists */
} sl_put_result;

/* Stores n reports in one transaction: all of them or, on error, none.
 * Sets reports[i]->id (0 for a duplicate) and results[i]; nothing else of
 * a report is changed. On error the results mean nothing and every id is 0. */
sl_err sl_store_put_reports(sl_store *s, sl_report *const *reports, size_t n,
			    sl_put_result *results /* OUT, n items */);

/* The id (when id is not NULL) and status of the report whose receipt
 * hashes to hash; SL_ENOTFOUND when there is none. */
sl_err sl_store_report_status(sl_store *s, const uint8_t hash[32], int64_t *id,
			      sl_report_status *out);

/* One report by id, its strings in a, with all its sealed items: each item
 * carries only the wrapped key of moderator_id (n_keys 0 when that moderator
 * has none for it; moderator_id 0 asks for no keys). SL_ENOTFOUND. */
sl_err sl_store_get_report(sl_store *s, int64_t id, int64_t moderator_id, sl_arena *a,
			   sl_report *out);

/* Stores one sealed item (a follow-up) for report_id, with its keys, in one
 * transaction; sets item->id. */
sl_err sl_store_put_sealed(sl_store *s, int64_t report_id, sl_sealed *item);

/* The wrapped keys holder_id has for items created at or after since:
 * *n pairs of sealed_ids[i] and wrapped[i * SL_WRAPPED_KEY_BYTES]. Both
 * arrays are malloc'd (caller frees) and NULL when *n is 0. */
sl_err sl_store_keys_since(sl_store *s, int64_t since, int64_t holder_id, size_t *n,
			   int64_t **sealed_ids, uint8_t **wrapped);

/* Gives moderator_id the n wrapped keys in one transaction; a key the
 * moderator already has for an item is kept. */
sl_err sl_store_add_keys(sl_store *s, int64_t moderator_id, size_t n,
			 const int64_t *sealed_ids, const uint8_t *wrapped);

/* Deletes every sealed item created before before, with its keys, then
 * makes the deleted bytes leave the disk as far as the backend can: SQLite
 * checkpoints the WAL (secure_delete has zeroed them in the database
 * file); PostgreSQL vacuums the tables (docs/SCALING.md says what that does
 * not reach). *n gets how many. */
sl_err sl_store_purge_sealed(sl_store *s, int64_t before, int64_t *n);

typedef enum sl_role { SL_ROLE_MODERATOR, SL_ROLE_ADMIN } sl_role;

#define SL_MODERATOR_NAME_MAX 64

/* A moderator or admin and their key record (modkey.h: public, and useless
 * without their passphrase or recovery key). */
typedef struct sl_moderator {
	int64_t id;
	char name[SL_MODERATOR_NAME_MAX + 1];
	sl_role role;
	int64_t created_at; /* Unix seconds */
	int64_t removed_at; /* 0 while active */
	sl_modkey_record key;
} sl_moderator;

/* Adds m (name, role, created_at, key); sets m->id. SL_EVALID when an active
 * moderator already has the name. */
sl_err sl_store_add_moderator(sl_store *s, sl_moderator *m);

/* The active moderator called name; SL_ENOTFOUND when there is none. */
sl_err sl_store_get_moderator(sl_store *s, const char *name, sl_moderator *out);

/* Every moderator (removed ones too when all), in order of joining. *out is
 * malloc'd (caller frees); NULL when *n is 0. */
sl_err sl_store_list_moderators(sl_store *s, bool all, sl_moderator **out, size_t *n);

/* Marks the active moderator name removed at now and deletes every wrapped
 * key they held, so that not even an old copy of their passphrase opens
 * anything through this store from now on. SL_ENOTFOUND. */
sl_err sl_store_remove_moderator(sl_store *s, const char *name, int64_t now);

/* Calls visit for every report with id > after_id, in id order, each decoded
 * into a scratch arena; its strings are valid until visit returns (copy what
 * you keep). visit may call other store functions.
 * Stops at the first non-SL_OK from visit and returns it. */
typedef sl_err (*sl_report_visit)(void *ud, const sl_report *r);
sl_err sl_store_each_report(sl_store *s, int64_t after_id, sl_report_visit visit,
			    void *ud);

/* The number of reports stored. */
sl_err sl_store_count_reports(sl_store *s, int64_t *out);

/* The audit log (audit.h says what it is for; sl_audit_append and
 * sl_audit_verify are its users, these are its storage). sl_audit_entry is
 * defined in audit.h; C11 allows the typedef to be repeated there. */
typedef struct sl_audit_entry sl_audit_entry;

/* Stores e (every field set, detail may be NULL) as the new last entry, in
 * one durable transaction that also checks, under the database's write lock,
 * that e->seq is one more than the last stored seq (1 when there is none)
 * and e->prev_hash is the last entry's hash (32 zero bytes for the first).
 * SL_EVALID when either is not so: another thread or process appended first,
 * and the caller should read the last entry again and rebuild e. Because
 * the check and the insert are one transaction, two appenders can never
 * fork the chain. Does not keep e. */
sl_err sl_store_audit_append(sl_store *s, const sl_audit_entry *e);

/* The last (highest seq) entry, its strings in a. SL_ENOTFOUND when the
 * log is empty. */
sl_err sl_store_audit_last(sl_store *s, sl_audit_entry *out, sl_arena *a);

/* Calls visit for every entry with seq > after_seq, in seq order, paging
 * through the table like sl_store_each_report: no lock is held while visit
 * runs, and an entry's strings are valid until visit returns. Stops at the
 * first non-SL_OK from visit and returns it. A row the log never writes
 * (a string with a NUL in it, a hash that is not 32 bytes) stops the walk
 * with SL_ESTORE, after the entries before it were visited. */
typedef sl_err (*sl_audit_visit)(void *ud, const sl_audit_entry *e);
sl_err sl_store_each_audit(sl_store *s, int64_t after_seq, sl_audit_visit visit,
			   void *ud);

/* ---- review: what moderators decide about reports (docs/API.md, "Review
 * API"). Every write below is one durable transaction. ---- */

#define SL_CLAIM_SECONDS (15 * 60) /* how long a claim lasts */
#define SL_QUEUE_MAX 500	   /* the most reports one queue read returns */

/* A report's review state, beside the report itself. */
typedef struct sl_review {
	char reliability;	   /* grade 'A'..'F'; 0 when not graded */
	int credibility;	   /* grade 1..6; 0 when not graded */
	int64_t claimed_by;	   /* moderator id; 0 when not claimed */
	int64_t claimed_until;	   /* Unix seconds; the claim is live while now < it */
	const char *reject_reason; /* NULL unless rejected */
	int64_t decided_by;	   /* moderator of the last verify/reject; 0 */
	int64_t decided_at;	   /* Unix seconds; 0 */
} sl_review;

/* One row of the moderation queue: clear columns only, no sealed item. */
typedef struct sl_queue_item {
	sl_report report; /* n_sealed 0 */
	sl_review review;
	int urgency;	 /* 3 aircraft/helicopter seen in the last 2 h, 2 rail in
			    the last 6 h, 1 anything in the last 24 h, else 0 */
	size_t n_photos; /* sealed photo items */
	bool has_text;	 /* a sealed content item (text or contact) exists */
} sl_queue_item;

/* At most limit (1..SL_QUEUE_MAX) reports, open ones only (received,
 * under_review) when open_only, by urgency at now, then newest received
 * first. *out is in a, with its strings; *n how many. */
sl_err sl_store_queue(sl_store *s, bool open_only, int64_t now, size_t limit, sl_arena *a,
		      sl_queue_item **out /* OUT */, size_t *n /* OUT */);

/* The review state of report id, its strings in a. SL_ENOTFOUND. */
sl_err sl_store_get_review(sl_store *s, int64_t id, sl_arena *a, sl_review *out);

/* Sets report id's status, as decided by moderator_id at now; reason is
 * kept for SL_STATUS_REJECTED and cleared otherwise. SL_ENOTFOUND. */
sl_err sl_store_set_status(sl_store *s, int64_t id, sl_report_status status,
			   const char *reason, int64_t moderator_id, int64_t now);

/* Grades report id: reliability 'A'..'F', credibility 1..6 (SL_EINVAL
 * otherwise). SL_ENOTFOUND. */
sl_err sl_store_set_grade(sl_store *s, int64_t id, char reliability, int credibility);

/* Claims report id for moderator_id until until (a claim of theirs is
 * extended); a received report becomes under_review. SL_EBUSY, with the
 * holder in *held_by (may be NULL), when another moderator's claim is live
 * at now. SL_ENOTFOUND. */
sl_err sl_store_claim(sl_store *s, int64_t id, int64_t moderator_id, int64_t now,
		      int64_t until, int64_t *held_by /* OUT */);

/* Drops moderator_id's claim on report id (nothing to drop is fine).
 * SL_EBUSY when another moderator's claim is live at now. SL_ENOTFOUND. */
sl_err sl_store_release(sl_store *s, int64_t id, int64_t moderator_id, int64_t now);

/* Writes the clear, editable columns of r (category, observed_at and
 * _until, location, heading, destination, equipment) over report r->id;
 * r must be valid (sl_report_validate). Nothing else changes. SL_ENOTFOUND. */
sl_err sl_store_update_report(sl_store *s, const sl_report *r);

/* ---- events: real-world occurrences and the reports that support them
 * (docs/ENGINE.md). The corroboration engine makes and updates events; a
 * moderator may make, attach, detach, merge and split them. What a
 * moderator decided is binding: the engine never removes a report a
 * moderator attached, never puts back one a moderator detached (a "ban"),
 * never deletes or merges away an event a moderator decided. ---- */

/* One item of an event's equipment estimate: the most likely count and the
 * range the reports support. */
typedef struct sl_event_item {
	sl_equipment_type type;
	int32_t count;
	int32_t count_min, count_max;
} sl_event_item;

#define SL_EVENT_MAX_ITEMS SL_EQ_COUNT

/* An event. Events made or changed by a moderator have by_moderator; the
 * estimate (has_estimate) is the engine's, from the reports. */
typedef struct sl_event {
	int64_t id; /* 0 until stored */
	bool has_category;
	sl_category category;
	int64_t created_at; /* Unix seconds */
	int64_t created_by; /* moderator id; 0 for the engine */
	bool by_moderator;
	size_t n_reports;
	const int64_t *report_ids; /* ascending when read back */
	const char *const *refs;   /* when asked for: refs[i] of report_ids[i],
				      NULL for a report without one */
	/* The estimate. */
	bool has_estimate;
	int64_t t_start, t_end; /* the time window, Unix seconds */
	bool has_point;
	double lat, lon, uncertainty_m; /* location and radius, metres */
	bool has_heading;
	double heading_deg;
	double confidence; /* 0..1 */
	size_t n_items;
	const sl_event_item *items;
	int64_t updated_at;
} sl_event;

/* Stores e with its reports (each attached by created_by at created_at), as
 * a moderator's event; sets e->id. SL_ENOTFOUND when a report does not
 * exist (nothing stored). */
sl_err sl_store_event_create(sl_store *s, sl_event *e);

/* A moderator attaches report_id to event_id (again is fine) / detaches it
 * (not attached is fine). Either makes the event the moderator's; a detach
 * also bans the report from the event, an attach lifts such a ban.
 * SL_ENOTFOUND when either does not exist. */
sl_err sl_store_event_attach(sl_store *s, int64_t event_id, int64_t report_id,
			     int64_t moderator_id, int64_t now);
sl_err sl_store_event_detach(sl_store *s, int64_t event_id, int64_t report_id,
			     int64_t moderator_id, int64_t now);

/* A moderator merges event from into event into: every report of from is
 * attached to into by moderator_id, and from is deleted. SL_ENOTFOUND when
 * either does not exist, SL_EINVAL when they are the same. */
sl_err sl_store_event_merge(sl_store *s, int64_t into, int64_t from, int64_t moderator_id,
			    int64_t now);

/* A moderator splits the n reports (each must be in event from, n >= 1 and
 * fewer than all of them) out of from into a new event of the same
 * category, *new_id; they are detached from and banned from from.
 * SL_ENOTFOUND when from or a report does not exist, SL_EVALID when a report
 * is not in from or would leave from empty. */
sl_err sl_store_event_split(sl_store *s, int64_t from, const int64_t *report_ids,
			    size_t n, int64_t moderator_id, int64_t now,
			    int64_t *new_id /* OUT */);

#define SL_EVENTS_MAX 1000 /* the most events one read returns */
#define SL_ORIGIN_ENGINE 1
#define SL_ORIGIN_MODERATOR 2

/* Which events to read: all conditions given must hold. */
typedef struct sl_event_filter {
	int64_t id;    /* only this one; 0 for any */
	bool has_bbox; /* its location inside the box */
	double min_lat, min_lon, max_lat, max_lon;
	bool has_from; /* its window ends at or after from */
	int64_t from;
	bool has_to; /* its window starts at or before to */
	int64_t to;
	bool has_category;
	sl_category category;
	int64_t min_reports; /* at least this many reports (0: any) */
	int origin;	     /* 0 any, SL_ORIGIN_ENGINE or SL_ORIGIN_MODERATOR */
	bool ascending;	     /* id order; newest (highest id) first otherwise */
	int64_t cursor;	     /* ids after (ascending) or before it; 0 none */
	bool with_refs;	     /* fill refs */
	size_t limit;	     /* 1..SL_EVENTS_MAX */
} sl_event_filter;

/* The events matching f, in a; *n how many (0 is fine). */
sl_err sl_store_find_events(sl_store *s, const sl_event_filter *f, sl_arena *a,
			    sl_event **out /* OUT */, size_t *n /* OUT */);

/* Event id, or (id 0) the newest limit events, newest first, in a; *n is 0
 * when event id does not exist. */
sl_err sl_store_events(sl_store *s, int64_t id, size_t limit, sl_arena *a,
		       sl_event **out /* OUT */, size_t *n /* OUT */);

/* The ids of the events report_id belongs to, ascending, in a. */
sl_err sl_store_report_events(sl_store *s, int64_t report_id, sl_arena *a,
			      int64_t **ids /* OUT */, size_t *n /* OUT */);

/* ---- what the engine reads and writes (src/engine/, docs/ENGINE.md) ---- */

/* Calls visit for every report with id > after_id in id order, with its
 * review and photo count (a queue item without urgency), paging like
 * sl_store_each_report. */
typedef sl_err (*sl_item_visit)(void *ud, const sl_queue_item *it);
sl_err sl_store_each_item(sl_store *s, int64_t after_id, sl_item_visit visit, void *ud);

/* The same for one report. SL_ENOTFOUND. */
sl_err sl_store_get_item(sl_store *s, int64_t id, sl_arena *a, sl_queue_item *out);

/* Something a moderator changed that the engine must look at again: a
 * report's clear fields, grade or status (report_id), or an event's reports
 * (event_id, with report_id when one report is concerned). Every review
 * write appends one in its own transaction. */
typedef struct sl_change {
	int64_t seq;
	int64_t report_id; /* 0 when none */
	int64_t event_id;  /* 0 when none */
} sl_change;

/* Up to max changes with seq > after, in seq order, into out; *n. */
sl_err sl_store_changes(sl_store *s, int64_t after, size_t max, sl_change *out,
			size_t *n /* OUT */);

/* One report in one event: who attached it (0: the engine). As a ban: the
 * moderator who detached it. */
typedef struct sl_event_link {
	int64_t event_id, report_id;
	int64_t by;
} sl_event_link;

/* Every event with its category and whether it is a moderator's (only the
 * moderators' events unless engine_links), every link (only the moderators'
 * unless engine_links) and every ban, read
 * in one transaction, and the newest change seq then. The arrays are
 * malloc'd: free with sl_engine_state_free. */
typedef struct sl_engine_state {
	size_t n_events;
	sl_event *events; /* no reports, no estimate */
	size_t n_links;
	sl_event_link *links;
	size_t n_bans;
	sl_event_link *bans;
	int64_t last_change;
	int64_t last_report; /* the engine's mark: reports after it are new */
} sl_engine_state;

sl_err sl_store_engine_state(sl_store *s, bool engine_links, sl_engine_state *out);
void sl_engine_state_free(sl_engine_state *st);

/* What the engine writes after a step, in one transaction: for each event
 * its estimate and the reports the engine put in it (a new event when its
 * id is 0: the id is set), the engine events it no longer has (deleted
 * unless a moderator decided them meanwhile), and its marks. */
typedef struct sl_engine_save {
	size_t n_events;
	sl_event *events; /* report_ids: the engine's reports only */
	size_t n_deleted;
	const int64_t *deleted;
	int64_t last_report, last_change;
	int64_t now;
} sl_engine_save;

sl_err sl_store_engine_save(sl_store *s, sl_engine_save *save);

/* Takes the engine's lock, which one process at a time holds (the SQLite
 * backend: a lock on DATA_DIR/engine.lock; PostgreSQL: a session advisory
 * lock on a connection of its own), released when the store is closed or
 * the process dies. *got is false when another holds it. Called again by
 * its holder, it checks that the lock is still held (a PostgreSQL session
 * can be cut off): *got false then means it was lost, and this store's
 * engine saves are refused from then on (SL_EBUSY) until it takes the lock
 * again. */
sl_err sl_store_engine_lock(sl_store *s, bool *got /* OUT */);

/* ---- publication (src/publish/, docs/PUBLISH.md): what the publication
 * policy reads, its settings, approved excerpts, webhooks and the
 * publication log with its webhook outbox. Every write is one durable
 * transaction. ---- */

/* An event as publication reads it: the estimate, and how many of its
 * reports a moderator verified and how many are not rejected. */
typedef struct sl_pub_source {
	int64_t id;
	sl_category category;
	int64_t t_start, t_end;
	double lat, lon, uncertainty_m;
	bool has_heading;
	double heading_deg;
	double confidence;
	size_t n_items;
	const sl_event_item *items;
	int64_t n_verified;    /* reports a moderator verified */
	int64_t n_independent; /* reports not rejected */
	const char *excerpt;   /* approved for publication, or NULL */
	bool has_photo;	       /* an approved photo (sl_store_photo_get) */
} sl_pub_source;

/* Calls visit for every event with a category, a time window, a point and
 * at least one verified report, in one read transaction (so counts and
 * estimates agree), in no particular order. Strings and items live until visit
 * returns. Stops at the first non-SL_OK from visit and returns it. */
typedef sl_err (*sl_pub_source_visit)(void *ud, const sl_pub_source *src);
sl_err sl_store_pub_sources(sl_store *s, sl_pub_source_visit visit, void *ud);

/* Numbers that change when anything publication reads may have changed:
 * the newest change seq ever given, the number of events, their newest
 * updated_at, the newest excerpt approval; and the newest change the
 * corroboration engine has taken in (engine_change < change_seq: the
 * engine has not caught up with the moderators yet). */
typedef struct sl_pub_fingerprint {
	int64_t change_seq, n_events, events_updated, excerpts_updated;
	int64_t engine_change;
} sl_pub_fingerprint;
sl_err sl_store_pub_fingerprint(sl_store *s, sl_pub_fingerprint *out /* OUT */);

/* Publication's own settings (the policy, the id key). get: SL_ENOTFOUND
 * when unset, *out malloc'd. set records who (0: the server) and when. */
sl_err sl_store_pub_setting_get(sl_store *s, const char *key, char **out);
sl_err sl_store_pub_setting_set(sl_store *s, const char *key, const char *value,
				int64_t moderator_id, int64_t now);

/* Approves text as event_id's public excerpt (NULL withdraws it).
 * SL_ENOTFOUND when there is no such event. */
/* Approves jpeg (len bytes, a cleaned photo: what intake sealed) as
 * event_id's public photo, replacing any; NULL withdraws it. SL_ENOTFOUND
 * when there is no such event, SL_EINVAL for a photo over
 * SL_PUB_PHOTO_MAX. get: the approved photo, malloc'd (caller frees);
 * SL_ENOTFOUND when there is none. */
#define SL_PUB_PHOTO_MAX (16u << 20)
sl_err sl_store_photo_set(sl_store *s, int64_t event_id, const uint8_t *jpeg, size_t len,
			  int64_t moderator_id, int64_t now);
sl_err sl_store_photo_get(sl_store *s, int64_t event_id, uint8_t **out /* OUT */,
			  size_t *len /* OUT */);

sl_err sl_store_excerpt_set(sl_store *s, int64_t event_id, const char *text,
			    int64_t moderator_id, int64_t now);

#define SL_WEBHOOK_URL_MAX 2000
#define SL_WEBHOOK_SECRET_BYTES 32

/* A URL each publication is POSTed to, signed with its secret. */
typedef struct sl_webhook {
	int64_t id;
	char url[SL_WEBHOOK_URL_MAX + 1];
	uint8_t secret[SL_WEBHOOK_SECRET_BYTES];
	int64_t created_at, created_by;
	int64_t removed_at; /* 0 while active */
	int64_t pending;    /* deliveries waiting or being retried */
	int64_t failed;	    /* deliveries given up on */
} sl_webhook;

/* Adds w (url, secret, created_at, created_by); sets w->id. */
sl_err sl_store_webhook_add(sl_store *s, sl_webhook *w);
/* The webhooks (removed ones too when all), oldest first; *out malloc'd
 * (caller frees, wiping the secrets), NULL when *n is 0. */
sl_err sl_store_webhooks(sl_store *s, bool all, sl_webhook **out, size_t *n);
/* Marks webhook id removed at now and drops its pending deliveries.
 * SL_ENOTFOUND when there is no active one. */
sl_err sl_store_webhook_remove(sl_store *s, int64_t id, int64_t now);

/* One entry of the publication log: an event published for the first
 * time, changed, or withdrawn (no longer in the public picture). doc is
 * its public form (JSON), written by the publication policy. */
typedef enum sl_pub_kind { SL_PUB_PUBLISH, SL_PUB_UPDATE, SL_PUB_WITHDRAW } sl_pub_kind;

typedef struct sl_pub_record {
	int64_t event_id;
	sl_pub_kind kind;
	uint8_t hash[16]; /* of the public form, kept to find changes */
	const char *doc;
} sl_pub_record;

/* Appends the n records at now, keeps what is published (published_events:
 * event id and hash; a withdrawal deletes its row) and queues one delivery
 * per active webhook, all in one transaction. A record that published_events
 * already agrees with (another server sharing the database recorded it
 * first: a publish or update of the hash it holds, a withdrawal of an event
 * it does not hold) is skipped, so that each change is logged and delivered
 * once however many servers publish. */
sl_err sl_store_pub_record(sl_store *s, const sl_pub_record *recs, size_t n, int64_t now);

/* Calls visit(ud, event_id, hash) for every event recorded as published. */
typedef sl_err (*sl_pub_state_visit)(void *ud, int64_t event_id, const uint8_t hash[16]);
sl_err sl_store_pub_state(sl_store *s, sl_pub_state_visit visit, void *ud);

/* A delivery due: one publication for one webhook. */
typedef struct sl_delivery {
	int64_t webhook_id, seq;
	int attempts;
	sl_pub_kind kind;
	int64_t at;	 /* of the publication */
	const char *url; /* in the arena */
	uint8_t secret[SL_WEBHOOK_SECRET_BYTES];
	const char *doc;
} sl_delivery;

/* At most max deliveries due at now_ms (Unix milliseconds: next_at <=
 * now_ms), oldest first, in a. Each is leased to the caller for
 * SL_DELIVERY_LEASE_MS (its next_at moves on by that much), so that servers
 * sharing the database do not make the same delivery at once; the result
 * (sl_store_delivery_result) replaces the lease. */
#define SL_DELIVERY_LEASE_MS (5 * 60 * 1000)
sl_err sl_store_deliveries_due(sl_store *s, int64_t now_ms, size_t max, sl_arena *a,
			       sl_delivery **out /* OUT */, size_t *n /* OUT */);

/* After a try: done deletes the delivery; otherwise it is tried again at
 * next_at (Unix milliseconds) with attempts, or given up on (kept, failed) when next_at
 * is 0. status is the HTTP status (0: none). */
sl_err sl_store_delivery_result(sl_store *s, int64_t webhook_id, int64_t seq, bool done,
				int attempts, int64_t next_at, int status);
/* ---- tracks: events linked into the path of one moving unit
 * (docs/TRACKING.md). The tracker (track.h) makes them from the events and
 * replaces them as events change; nothing else writes them. ---- */

/* Where a track is going, relative to Belarus's borders. */
typedef enum sl_direction {
	SL_DIR_UNKNOWN,		  /* one sighting without a heading */
	SL_DIR_TOWARD_UKRAINE,	  /* closing on the Ukrainian border */
	SL_DIR_AWAY_FROM_UKRAINE, /* leaving it (toward Russia or not: see
				    russia_change_m) */
	SL_DIR_TOWARD_RUSSIA,	  /* closing on the Russian border, level with
				     the Ukrainian one */
	SL_DIR_INTERNAL,	  /* neither */
	SL_DIR_COUNT
} sl_direction;

/* "unknown", "toward_ukraine", "away_from_ukraine", "toward_russia",
 * "internal". */
const char *sl_direction_name(sl_direction d);
bool sl_direction_from_name(const char *name, sl_direction *out /* OUT */);

#define SL_TRACK_ROUTE_MAX 5000 /* points of a track's route at most */
#define SL_TRACK_NAME_MAX 95	/* bytes of a crossing's name */

typedef struct sl_track {
	int64_t id; /* 0 until stored */
	sl_category category;
	int64_t t_first, t_last; /* mid-times of its first and last events */
	double first_lat, first_lon, last_lat, last_lon;
	bool has_heading;
	double heading_deg; /* of travel at the last sighting */
	double length_m;    /* along its route */
	double confidence;  /* 0..1: that it is one real movement */
	bool may_continue;  /* its first event could also continue another
			       track: two tracks may be one movement */
	sl_direction direction;
	double direction_confidence; /* 0..1 */
	/* Change of the distance to each border from first to last place,
	 * metres (negative: closer). */
	double ukraine_change_m, russia_change_m;
	bool toward_russia; /* closing on the Russian border, whatever the class */
	/* The border crossing its route leads to, when one is known. */
	bool has_crossing;
	int crossing_country; /* ISO 3166 numeric: 804 Ukraine, 643 Russia */
	double crossing_lat, crossing_lon;
	double crossing_distance_m; /* from the last place, ahead */
	const char *crossing_name;  /* a station near it, or "" */
	size_t n_items;
	const sl_event_item *items; /* the equipment estimate */
	size_t n_events;
	const int64_t *event_ids; /* in time order */
	size_t n_reports;
	/* The route along the network (or straight legs), first to last. */
	size_t n_route;
	const double *route_lat, *route_lon;
	/* When read with_refs: the refs of its reports, event by event: those
	 * of event i are refs[ref_start[i] .. ref_start[i + 1] - 1]. */
	size_t n_refs;
	const char *const *refs;
	const size_t *ref_start;
	int64_t updated_at;
} sl_track;

/* What the tracker writes after a step, in one transaction: each track
 * (a new one when its id is 0: the id is set) with its events in order,
 * and the tracks it no longer has. */
typedef struct sl_tracks_save {
	size_t n_tracks;
	sl_track *tracks;
	size_t n_deleted;
	const int64_t *deleted;
	int64_t now;
} sl_tracks_save;

sl_err sl_store_tracks_save(sl_store *s, sl_tracks_save *save);

#define SL_TRACKS_MAX 1000 /* the most tracks one read returns */

typedef struct sl_track_filter {
	int64_t id;    /* only this one; 0 for any */
	bool has_from; /* last seen at or after from */
	int64_t from;
	bool has_to; /* first seen at or before to */
	int64_t to;
	bool has_category;
	sl_category category;
	bool has_direction;
	sl_direction direction;
	int64_t min_events; /* at least this many events (0: any) */
	bool ascending;	    /* id order; newest (highest id) first otherwise */
	int64_t cursor;	    /* ids after (ascending) or before it; 0 none */
	bool with_route;    /* fill the route */
	bool with_refs;	    /* fill refs */
	size_t limit;	    /* 1..SL_TRACKS_MAX */
} sl_track_filter;

/* The tracks matching f, in a; *n how many (0 is fine). */
sl_err sl_store_find_tracks(sl_store *s, const sl_track_filter *f, sl_arena *a,
			    sl_track **out /* OUT */, size_t *n /* OUT */);

/* Calls visit for every event updated at or after since (0: every event),
 * in id order, without its reports (n_reports is set, report_ids is NULL),
 * paging like sl_store_each_report. What the tracker reads. */
typedef sl_err (*sl_event_visit)(void *ud, const sl_event *ev);
sl_err sl_store_each_event(sl_store *s, int64_t since, sl_event_visit visit, void *ud);

/* The number of events stored, whatever their reports. */
sl_err sl_store_count_events(sl_store *s, int64_t *out /* OUT */);

/* Small named settings kept with the data (schema facts, flags). get returns
 * SL_ENOTFOUND when the key is unset; *out is malloc'd, caller frees. */
sl_err sl_store_meta_get(sl_store *s, const char *key, char **out);
sl_err sl_store_meta_set(sl_store *s, const char *key, const char *value);

/* Runs the backend's own consistency check (SQLite: PRAGMA
 * integrity_check; PostgreSQL: every index valid, amcheck's
 * bt_index_check on each when amcheck is installed, events' report counts
 * true). SL_ESTORE when it finds damage. */
sl_err sl_store_check(sl_store *s);

#endif
