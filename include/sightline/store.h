/*
 * store.h — where reports are kept.
 *
 * An sl_store is an opaque handle over a backend (SQLite now; PostgreSQL
 * later) reached through a table of functions (store_int.h), so callers never
 * know which backend they talk to. Every function is safe to call from any
 * thread. A write returns only after its transaction is committed durably.
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
sl_err sl_store_get_report(sl_store *s, int64_t id, int64_t moderator_id,
			   sl_arena *a, sl_report *out);

/* Stores one sealed item (a follow-up) for report_id, with its keys, in one
 * transaction; sets item->id. */
sl_err sl_store_put_sealed(sl_store *s, int64_t report_id, sl_sealed *item);

/* The wrapped keys holder_id has for items created at or after since:
 * *n pairs of sealed_ids[i] and wrapped[i * SL_WRAPPED_KEY_BYTES]. Both
 * arrays are malloc'd (caller frees) and NULL when *n is 0. */
sl_err sl_store_keys_since(sl_store *s, int64_t since, int64_t holder_id,
			   size_t *n, int64_t **sealed_ids, uint8_t **wrapped);

/* Gives moderator_id the n wrapped keys in one transaction; a key the
 * moderator already has for an item is kept. */
sl_err sl_store_add_keys(sl_store *s, int64_t moderator_id, size_t n,
			 const int64_t *sealed_ids, const uint8_t *wrapped);

/* Deletes every sealed item created before before, with its keys, then
 * checkpoints the WAL so the deleted bytes leave it too (secure_delete has
 * zeroed them in the database file). *n gets how many. */
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
sl_err sl_store_each_report(sl_store *s, int64_t after_id,
			    sl_report_visit visit, void *ud);

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

/* An event: one real-world occurrence and the reports that support it.
 * Events made here are decided by a moderator; the corroboration engine
 * must never undo them. */
typedef struct sl_event {
	int64_t id; /* 0 until stored */
	bool has_category;
	sl_category category;
	int64_t created_at; /* Unix seconds */
	int64_t created_by; /* moderator id */
	size_t n_reports;
	const int64_t *report_ids; /* ascending when read back */
} sl_event;

/* Stores e with its reports (each attached by created_by at created_at);
 * sets e->id. SL_ENOTFOUND when a report does not exist (nothing stored). */
sl_err sl_store_event_create(sl_store *s, sl_event *e);

/* Attaches report_id to event_id (again is fine) / detaches it (not
 * attached is fine). SL_ENOTFOUND when either does not exist. */
sl_err sl_store_event_attach(sl_store *s, int64_t event_id, int64_t report_id,
			     int64_t moderator_id, int64_t now);
sl_err sl_store_event_detach(sl_store *s, int64_t event_id, int64_t report_id);

/* Event id, or (id 0) the newest limit events, newest first, in a; *n is 0
 * when event id does not exist. */
sl_err sl_store_events(sl_store *s, int64_t id, size_t limit, sl_arena *a,
		       sl_event **out /* OUT */, size_t *n /* OUT */);

/* The ids of the events report_id belongs to, ascending, in a. */
sl_err sl_store_report_events(sl_store *s, int64_t report_id, sl_arena *a,
			      int64_t **ids /* OUT */, size_t *n /* OUT */);

/* Small named settings kept with the data (schema facts, flags). get returns
 * SL_ENOTFOUND when the key is unset; *out is malloc'd, caller frees. */
sl_err sl_store_meta_get(sl_store *s, const char *key, char **out);
sl_err sl_store_meta_set(sl_store *s, const char *key, const char *value);

/* Runs the backend's own consistency check (SQLite: PRAGMA
 * integrity_check). SL_ESTORE when it finds damage. */
sl_err sl_store_check(sl_store *s);

#endif
