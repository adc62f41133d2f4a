/*
 * arena.h — per-request memory.
 *
 * One arena belongs to one request (or one imported line): everything parsed
 * from it is allocated here and freed at once by sl_arena_free. Allocation is
 * bounded by a cap given at creation, so input can never grow memory beyond it.
 */
#ifndef SIGHTLINE_ARENA_H
#define SIGHTLINE_ARENA_H

#include <stddef.h>

typedef struct sl_arena sl_arena;

/* A new arena that refuses to hold more than cap bytes in all. Caller frees
 * with sl_arena_free. NULL when out of memory. */
sl_arena *sl_arena_new(size_t cap);

/* Frees the arena and everything allocated from it. NULL is allowed. */
void sl_arena_free(sl_arena *a);

/* Forgets every allocation but keeps the first block for reuse. */
void sl_arena_reset(sl_arena *a);

/* n bytes aligned for any type, zeroed; NULL when the cap is reached. */
void *sl_arena_alloc(sl_arena *a, size_t n);

/* A copy of the n bytes at s with a NUL after them; NULL when over the cap. */
char *sl_arena_strndup(sl_arena *a, const char *s, size_t n);

/* A copy of a NUL-terminated string; NULL in, NULL out. */
char *sl_arena_strdup(sl_arena *a, const char *s);

#endif
