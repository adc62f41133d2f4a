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

#include <stddef.h>
#include <stdint.h>

#include "sightline/arena.h"
#include "sightline/err.h"
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

/* The status of the report whose receipt hashes to hash; SL_ENOTFOUND when
 * there is none. */
sl_err sl_store_report_status(sl_store *s, const uint8_t hash[32],
			      sl_report_status *out);

/* Calls visit for every report with id > after_id, in id order, each decoded
 * into a scratch arena; its strings are valid until visit returns (copy what
 * you keep). visit may call other store functions.
 * Stops at the first non-SL_OK from visit and returns it. */
typedef sl_err (*sl_report_visit)(void *ud, const sl_report *r);
sl_err sl_store_each_report(sl_store *s, int64_t after_id,
			    sl_report_visit visit, void *ud);

/* The number of reports stored. */
sl_err sl_store_count_reports(sl_store *s, int64_t *out);

/* Small named settings kept with the data (schema facts, flags). get returns
 * SL_ENOTFOUND when the key is unset; *out is malloc'd, caller frees. */
sl_err sl_store_meta_get(sl_store *s, const char *key, char **out);
sl_err sl_store_meta_set(sl_store *s, const char *key, const char *value);

/* Runs the backend's own consistency check (SQLite: PRAGMA
 * integrity_check). SL_ESTORE when it finds damage. */
sl_err sl_store_check(sl_store *s);

#endif
