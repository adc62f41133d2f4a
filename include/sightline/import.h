/*
 * import.h — bulk intake from files, and export.
 *
 * Formats: "jsonl" (one API report JSON per line, as export writes it),
 * "cir-csv" (the Centre for Information Resilience Russia-Ukraine Monitor
 * CSV, mapped to categories and equipment by the words of its title and
 * description), and "demo" (a generated, deterministic demo set; no file).
 * Imported reports carry no receipt: there is no informant to give it to.
 * A report whose ref is already stored is skipped, so importing a file twice
 * stores it once.
 */
#ifndef SIGHTLINE_IMPORT_H
#define SIGHTLINE_IMPORT_H

#include <stdio.h>

#include "sightline/report.h"
#include "sightline/store.h"

typedef enum sl_import_format {
	SL_IMPORT_JSONL,
	SL_IMPORT_CIR_CSV,
	SL_IMPORT_DEMO,
} sl_import_format;

/* "jsonl", "cir-csv", "demo"; false for an unknown name. */
bool sl_import_format_from_name(const char *name, sl_import_format *out);

typedef struct sl_import_stats {
	size_t records;   /* records read (CSV rows, lines, generated) */
	size_t imported;  /* stored */
	size_t duplicate; /* skipped: ref already stored */
	size_t rejected;  /* unusable; each one reported through on_reject */
} sl_import_stats;

/* Told about each record that cannot be used: the line it starts on (1 is
 * the first line of the file) and why. */
typedef void (*sl_import_reject)(void *ud, long line, const char *why);

/* Reads records from in (ignored for SL_IMPORT_DEMO) and stores the usable
 * ones in batches. now is the clock for validation. A bad record never stops
 * the import; only a store or read failure does, and then what was committed
 * before stays. */
sl_err sl_import(sl_store *s, sl_import_format fmt, FILE *in, int64_t now,
		 sl_import_reject on_reject, void *ud, sl_import_stats *stats);

/* Maps one CIR CSV record (fields in the file's column order, as named by
 * the header) to a report. Exposed for tests and fuzzing. */
typedef struct sl_cir_columns {
	int entry, date, title, description, lat, lon, country, province,
	    district, town, arms, link;
} sl_cir_columns;

/* Finds the columns by header name; SL_EPARSE naming the first missing one. */
sl_err sl_cir_columns_from_header(const char *const *fields, size_t n,
				  sl_cir_columns *out, sl_problems *why);

sl_err sl_cir_record_to_report(const sl_cir_columns *cols,
			       const char *const *fields, size_t n,
			       int64_t now, sl_arena *a, sl_report *out,
			       sl_problems *why);

/* Writes every report as one JSON line (with id, status, received_at) to
 * out. *count gets the number written. */
sl_err sl_export_reports_jsonl(sl_store *s, FILE *out, size_t *count);

#endif
