/*
 * data_files.h — where unit tests find their files: TEST_DATA (tests/data)
 * and SHARED_DATA (../shared/data, which may be absent: tests that need it
 * skip), as meson's test environment sets them; and a monotonic clock for
 * the timings tests print.
 */
#ifndef SIGHTLINE_TEST_DATA_FILES_H
#define SIGHTLINE_TEST_DATA_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* dir-from-env/name in one of four rotating static buffers. */
static inline const char *data_path(const char *env, const char *fallback,
				    const char *name)
{
	static char buf[4][1024];
	static int k;
	const char *dir = getenv(env);
	char *b = buf[k++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", dir ? dir : fallback, name);
	return b;
}

static inline const char *test_data(const char *name)
{
	return data_path("TEST_DATA", "tests/data", name);
}

/* A file of the shared data, or NULL when it is absent. */
static inline const char *shared(const char *name)
{
	const char *p = data_path("SHARED_DATA", "../shared/data", name);
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	fclose(f);
	return p;
}

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
