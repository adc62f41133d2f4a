/*
 * cir_csv.c — fuzz target: the CIR Russia–Ukraine Monitor CSV as
 * `sightline import --format cir-csv` reads it (libcsv, the header's
 * columns, each record's words mapped to a report), into a store in
 * memory that checks every report it is given.
 */
#include "import.h"
#include "sightline/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import(data, size, SL_IMPORT_CIR_CSV);
	return 0;
}
