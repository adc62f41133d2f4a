/*
 * import_int.h — what the import readers (cir.c, demo.c, the jsonl reader in
 * import.c) share with the batching in import.c.
 *
 * Every reader turns its input into reports one record at a time, each
 * decoded into a scratch arena it resets per record, and hands each usable
 * report to a batch. The batch copies the report into its own arena and
 * stores it with the others in one transaction, so a reader never has to
 * think about the store, and the store sees few, large transactions.
 */
#ifndef SIGHTLINE_IMPORT_INT_H
#define SIGHTLINE_IMPORT_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "sightline/arena.h"
#include "sightline/import.h"

/* Reports per sl_store_put_reports transaction. */
#define SL_IMPORT_BATCH 500

/* The cap on one record's input: a jsonl line, a CSV record (all its lines).
 * A longer one is rejected, never read whole. */
#define SL_IMPORT_MAX_RECORD (1024 * 1024)

/* The cap on a scratch arena that decodes one record. */
#define SL_IMPORT_SCRATCH_CAP (4 * SL_IMPORT_MAX_RECORD)

/* How many reports the demo set has. */
#define SL_DEMO_COUNT 500

typedef struct sl_import_batch sl_import_batch;

/* Counts one record read (stats->records). */
void sl_import_batch_count(sl_import_batch *b);

/* Copies r (and every string it points to) into the batch and seals its
 * text and contact to the moderators (sealing.h); stores the batch when it
 * is full, counting each report as imported or duplicate (the store also
 * finds a ref repeated within one batch). A report with text or contact but
 * no moderator to seal them to is rejected at line. Fails only when the
 * store fails or memory runs out. */
sl_err sl_import_batch_add(sl_import_batch *b, const sl_report *r, long line);

/* Tells on_reject about line, counting nothing: for what is wrong with the
 * file rather than a record (a bad header). */
void sl_import_batch_tell(sl_import_batch *b, long line, const char *why);

/* Tells on_reject about the record at line and counts it as rejected. */
void sl_import_batch_reject(sl_import_batch *b, long line, const char *why);

/* The same, with the reasons formatted by sl_problems_format. */
void sl_import_batch_reject_problems(sl_import_batch *b, long line,
				     const sl_problems *why);

/* A line reader with a cap: reads the next line of in (without its "\n" or
 * "\r\n") into a buffer it owns. Lines longer than max are consumed to
 * their end but not kept: too_long is set and len is 0. */
typedef struct sl_line_reader {
	FILE *in;
	size_t max;
	char *buf; /* NUL-terminated; may hold NUL bytes before len */
	size_t len, size;
	long line; /* 1-based number of the line last read */
	bool too_long;
	bool ended_with_newline;
} sl_line_reader;

void sl_line_reader_init(sl_line_reader *lr, FILE *in, size_t max);
void sl_line_reader_free(sl_line_reader *lr);

/* 1 when a line was read, 0 at the end of input, -1 (SL_EIO or SL_ENOMEM in
 * *err) on failure. */
int sl_line_reader_next(sl_line_reader *lr, sl_err *err);

/* The readers. Each stops only on a read or store failure. */
sl_err sl_import_cir_csv(sl_import_batch *b, FILE *in, int64_t now);
sl_err sl_import_demo(sl_import_batch *b, int64_t now);

#endif
