/*
 * store_int.h — what a store backend implements.
 *
 * A backend allocates a struct that begins with `struct sl_store` and fills
 * in ops; store.c forwards each public sl_store_* call to it. Adding a
 * backend (PostgreSQL) means one more ops table and one more branch in
 * sl_store_open, nothing for callers.
 */
#ifndef SIGHTLINE_STORE_INT_H
#define SIGHTLINE_STORE_INT_H

#include "sightline/store.h"

typedef struct sl_store_ops {
	const char *name; /* "sqlite" */
	void (*close)(sl_store *s);
	sl_err (*put_reports)(sl_store *s, sl_report *const *reports, size_t n,
			      sl_put_result *results);
	sl_err (*report_status)(sl_store *s, const uint8_t hash[32],
				sl_report_status *out);
	sl_err (*each_report)(sl_store *s, int64_t after_id,
			      sl_report_visit visit, void *ud);
	sl_err (*count_reports)(sl_store *s, int64_t *out);
	sl_err (*meta_get)(sl_store *s, const char *key, char **out);
	sl_err (*meta_set)(sl_store *s, const char *key, const char *value);
	sl_err (*check)(sl_store *s);
} sl_store_ops;

struct sl_store {
	const sl_store_ops *ops;
};

/* The SQLite backend: DATA_DIR/sightline.db. */
sl_err sl_store_sqlite_open(const char *data_dir, sl_store **out);

#endif
