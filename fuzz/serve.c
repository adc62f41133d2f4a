/*
 * serve.c — the set-up and clean-up of the targets that talk to a real
 * server in their own process (multipart.c, form.c; fuzz.h): the server
 * starts before the first input, so that its start is never counted as
 * an input's time, and stops after the last (replay.c), so that a leak
 * check sees only what a request lost.
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_server_port();
	return 0;
}

void fuzz_cleanup(void)
{
	fuzz_server_stop();
}
