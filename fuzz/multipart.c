/*
 * multipart.c — fuzz target: a report with photos as multipart/form-data
 * (POST /api/v1/reports), through the real request path.
 *
 * The parts are cut out of the body by libmicrohttpd's post processor,
 * which exists only inside a connection, so this target runs a real
 * sightline server in its own process (fuzz_server_port: a SQLite store
 * in a temporary directory, one moderator, rate limits off) and sends
 * each input as the body of one request, with the boundary "XX", over
 * loopback. What is fuzzed is everything from the first byte of the body
 * to the answer: the post processor, intake's part handling and caps
 * (on_part), the report part's JSON, validation, photo cleaning, sealing
 * and the commit. Any answer is fine but a 500 or none (fuzz.h).
 *
 * Bodies are capped at 512 KiB: the caps that matter (64 KiB of report,
 * five photos) are smaller, and libvips runs on every photo part.
 */
#include "fuzz.h"

#define MAX_BODY (512u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_BODY)
		return 0;
	fuzz_server_request("POST /api/v1/reports HTTP/1.1\r\nHost: fuzz\r\n"
			    "Content-Type: multipart/form-data; boundary=XX\r\n",
			    data, size);
	return 0;
}
