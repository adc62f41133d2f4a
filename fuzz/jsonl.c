/*
 * jsonl.c — fuzz target: `sightline import --format jsonl` (one report's
 * JSON per line, as export writes them; the line reader and its caps),
 * into a store in memory that checks every report it is given.
 */
#include "import.h"
#include "sightline/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import(data, size, SL_IMPORT_JSONL);
	return 0;
}
