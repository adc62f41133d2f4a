/*
 * mod_api.c — fuzz target: the JSON bodies of the moderators' and admins'
 * API (review.c, publish_admin.c), sent by a signed-in admin to a real
 * server in this process: edits, grades, notes, verify and reject,
 * events made, merged and split, the publication policy, an event's
 * excerpt and photo. A stolen moderator account is in the threat model,
 * so what it sends is outside input too.
 *
 * The first byte of an input picks the endpoint, the rest is the body.
 * Before the first input the admin signs in and one report with text and
 * one event of it exist, so that the handlers get past "no such report".
 * Inputs change the store (a grade, a note, a merge): they may make later
 * answers differ, never a 500 or no answer (fuzz_server_request). A
 * webhook registered here is called when something is published: the URL
 * is whatever the input says, which the delivery thread must survive too
 * (it never blocks a request; no network in the fuzz runs but loopback).
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

static const struct {
	const char *method, *path;
} endpoints[] = {
    {"PATCH", "/api/v1/mod/reports/1"},
    {"POST", "/api/v1/mod/reports/1/grade"},
    {"POST", "/api/v1/mod/reports/1/notes"},
    {"POST", "/api/v1/mod/reports/1/verify"},
    {"POST", "/api/v1/mod/reports/1/reject"},
    {"POST", "/api/v1/mod/reports/1/attach"},
    {"POST", "/api/v1/mod/reports/1/claim"},
    {"POST", "/api/v1/mod/events"},
    {"POST", "/api/v1/mod/events/1/merge"},
    {"POST", "/api/v1/mod/events/1/split"},
    {"PUT", "/api/v1/mod/admin/publish/policy"},
    {"PUT", "/api/v1/mod/admin/events/1/excerpt"},
    {"PUT", "/api/v1/mod/admin/events/1/photo"},
    {"POST", "/api/v1/mod/admin/webhooks"},
};
#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

static char session[600];

static void request(unsigned which, const uint8_t *body, size_t len)
{
	char head[1024];
	snprintf(
	    head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s",
	    endpoints[which].method, endpoints[which].path, session);
	fuzz_server_request(head, body, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_server_admin(session, sizeof(session));
	static const char report[] =
	    "{\"category\":\"rail_transport\",\"observed_at\":\"2022-10-10T08:30:00Z\","
	    "\"location\":{\"lat\":54.5081,\"lon\":30.4172,\"uncertainty_m\":300},"
	    "\"equipment\":[{\"type\":\"tank\",\"count\":12}],\"text\":\"fuzz\"}";
	int s = fuzz_server_request("POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				    "Content-Type: application/json\r\n",
				    (const uint8_t *)report, strlen(report));
	static const char event[] = "{\"report_ids\":[1]}";
	request(7, (const uint8_t *)event, strlen(event));
	if (s != 201)
		fuzz_fail("the first report was not taken: HTTP %d", s);
	return 0;
}

void fuzz_cleanup(void)
{
	fuzz_server_stop();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	request(data[0] % N_ENDPOINTS, data + 1, size - 1);
	return 0;
}
