/*
 * engine.h — corroboration: reports grouped into events (docs/ENGINE.md).
 *
 * Ten people may report the same train; the engine puts their reports into
 * one event, estimates where, when and what it was, and says how sure it is.
 * It works incrementally: each new report joins the best compatible event
 * or starts one, and a report that bridges two events may merge them. An
 * event is one occurrence at one place: the same train seen at the next
 * station an hour later is another event (linking those is tracking's job).
 *
 * An sl_engine lives in memory. Used alone (sl_engine_add ...), it clusters
 * a stream of reports, as the benchmark and the tests do. Attached to a
 * store (sl_engine_load, sl_engine_sync), it rebuilds its state from the
 * events saved there, takes in new reports and moderators' changes, and
 * saves what changed. Moderators' decisions (events they made, reports they
 * attached, detached, merged or split) are binding: the engine never undoes
 * them.
 *
 * An sl_engine is not thread-safe: one thread drives it (the server's
 * engine thread, or a command).
 */
#ifndef SIGHTLINE_ENGINE_H
#define SIGHTLINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/report.h"
#include "sightline/store.h"

typedef struct sl_engine sl_engine;

/* How far apart, in space and time, two sightings of one occurrence may be,
 * per category. */
typedef struct sl_engine_gate {
	double slack_m; /* added to the combined uncertainty: how far apart
			   observers of one passage stand along the line */
	int64_t gap_s;	/* the most time between a sighting and an event */
	int64_t span_s; /* the longest an event may last (member mid-times) */
	bool moving;	/* headings must agree */
} sl_engine_gate;

typedef struct sl_engine_params {
	double sigmas;		/* how many combined standard deviations apart
				   two sightings of one place may be */
	double min_sigma_m;	/* a report's uncertainty is at least this */
	double heading_max_deg; /* moving categories: most heading difference */
	sl_engine_gate gate[SL_CAT_COUNT];
} sl_engine_params;

/* The defaults, documented in docs/ENGINE.md. */
void sl_engine_params_default(sl_engine_params *p /* OUT */);

/* A new, empty engine with params p (NULL: the defaults). Caller frees
 * with sl_engine_free. */
sl_err sl_engine_new(const sl_engine_params *p, sl_engine **out /* OUT */);
void sl_engine_free(sl_engine *e);

/* Adds report it->report.id, or updates it when the engine has it: a report
 * whose place, time, category, grade or status changed is taken out of its
 * event and placed again. Reports without a point are kept but never put in
 * an event by the engine; rejected reports leave their engine event. Does
 * not keep it. */
sl_err sl_engine_add(sl_engine *e, const sl_queue_item *it);

/* Adds or updates n reports at once, as sl_engine_add does each, but
 * placed in the order of their times rather than given: the grouping is
 * what adding them one by one in time order gives, many times faster
 * (docs/ENGINE.md, "Batches"). */
sl_err sl_engine_add_batch(sl_engine *e, const sl_queue_item *items, size_t n);

/* The number of reports and of live events the engine holds. */
size_t sl_engine_report_count(const sl_engine *e);
size_t sl_engine_event_count(const sl_engine *e);

/* Bytes of memory the engine holds for its reports, events and index. */
size_t sl_engine_memory(const sl_engine *e);

/* The in-memory event the report is in (the engine's placement or a
 * moderator's first link); *key is 0 when it is in none. Keys are the
 * engine's own, stable while the engine lives; a stored event's id is in
 * the sl_event given to sl_engine_each_event. SL_ENOTFOUND for a report
 * the engine does not have. */
sl_err sl_engine_event_of(const sl_engine *e, int64_t report_id, int64_t *key /* OUT */);

/* Calls visit for every live event with its estimate and all its reports
 * (report_ids; refs NULL), in no particular order. ev->id is the store's
 * id, or (never saved) the negated in-memory key. The event and its arrays
 * are valid until visit returns. Stops at the first non-SL_OK. */
typedef sl_err (*sl_engine_visit)(void *ud, const sl_event *ev);
sl_err sl_engine_each_event(sl_engine *e, sl_engine_visit visit, void *ud);

/* Attached to a store. sl_engine_load reads the saved events, links, bans
 * and every report, and places the reports not placed yet; sl_engine_sync
 * takes in moderators' changes and new reports since, then saves every
 * event that changed (one transaction). *changed (may be NULL) gets how
 * many events were saved. The store must outlive the engine. */
sl_err sl_engine_load(sl_engine *e, sl_store *s, int64_t now);
sl_err sl_engine_sync(sl_engine *e, int64_t now, size_t *changed /* OUT */);

/* Brings the events of store s up to date once: takes the engine's lock,
 * loads, syncs and frees the engine. *ran is false (and nothing done) when
 * another process holds the lock, such as a running server, whose own
 * engine does the work. */
sl_err sl_engine_catch_up(sl_store *s, int64_t now, bool *ran /* OUT */);

#endif
