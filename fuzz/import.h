/*
 * import.h — what the two import targets (cir_csv.c, jsonl.c) share: the
 * input as the file `sightline import` reads, into a store in memory.
 */
#ifndef SIGHTLINE_FUZZ_IMPORT_H
#define SIGHTLINE_FUZZ_IMPORT_H

#include "fuzz.h"

/* Imports data as fmt through sl_import, as `sightline import --format`
 * does, into a fuzz_mem_store (which checks every report it is given),
 * and checks the counts: every record read is imported, a duplicate or
 * rejected — with a reason, and nothing else. */
void fuzz_import(const uint8_t *data, size_t size, int fmt);

#endif
