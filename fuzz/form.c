/*
 * form.c — fuzz target: the informant's web form (POST /report and POST
 * /report/status), through the real request path as multipart.c does
 * (a server in this process, one request per input).
 *
 * The input's first byte chooses the page and the encoding — bit 0:
 * /report/status instead of /report; bit 1: multipart/form-data
 * (boundary "XX") instead of application/x-www-form-urlencoded; bits
 * 2-3: the language of Accept-Language — and the rest is the body. What
 * is fuzzed is the post processor's field decoding, the form's field
 * table and caps (sl_form_part), reading each field into the report
 * (places through the gazetteer, local times, counts, headings), the
 * validator's reasons mapped back to fields, the pages built from what
 * was sent (every value escaped), photos, and follow-ups by receipt.
 */
#include <stdio.h>

#include "fuzz.h"

#define MAX_BODY (512u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > MAX_BODY)
		return 0;
	static const char *const langs[] = {"ru", "be", "uk", "en-US,en;q=0.5"};
	unsigned sel = data[0];
	char head[512];
	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: fuzz\r\nContent-Type: %s\r\n"
		 "Accept-Language: %s\r\nSec-Fetch-Site: same-origin\r\n",
		 sel & 1 ? "/report/status" : "/report",
		 sel & 2 ? "multipart/form-data; boundary=XX"
			 : "application/x-www-form-urlencoded",
		 langs[(sel >> 2) & 3]);
	fuzz_server_request(head, data + 1, size - 1);
	return 0;
}
