/*
 * arena.c — a bump allocator in chained blocks, with a hard cap.
 *
 * Requests decode informants' text into arenas, so what an arena held is
 * overwritten before its memory goes back to malloc: a later allocation, a
 * core dump or a swapped page must not show it.
 */
#include "sightline/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN 4096

typedef struct block {
	struct block *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
} block;

struct sl_arena {
	block *head;   /* the block being filled; older ones follow */
	size_t total;  /* bytes of all blocks' data */
	size_t cap;
};

sl_arena *sl_arena_new(size_t cap)
{
	sl_arena *a = calloc(1, sizeof(*a));
	if (a)
		a->cap = cap;
	return a;
}

void sl_arena_free(sl_arena *a)
{
	if (!a)
		return;
	block *b = a->head;
	while (b) {
		block *next = b->next;
		explicit_bzero(b->data, b->used);
		free(b);
		b = next;
	}
	free(a);
}

void sl_arena_reset(sl_arena *a)
{
	if (!a->head)
		return;
	/* Keep the oldest block (the last in the chain): it is the first one a
	 * new request needs, and usually the only one. */
	block *b = a->head, *keep = NULL;
	while (b) {
		block *next = b->next;
		explicit_bzero(b->data, b->used);
		if (!next)
			keep = b;
		else
			free(b);
		b = next;
	}
	keep->used = 0;
	a->head = keep;
	a->total = keep->size;
}

void *sl_arena_alloc(sl_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	size_t need = (n + align - 1) & ~(align - 1);
	if (need < n)
		return NULL;
	block *b = a->head;
	if (!b || b->size - b->used < need) {
		size_t size = need > BLOCK_MIN ? need : BLOCK_MIN;
		if (b && size < b->size * 2)
			size = b->size * 2;
		if (a->total + size > a->cap) {
			size = need > BLOCK_MIN ? need : BLOCK_MIN;
			if (a->total + size > a->cap || a->total + size < a->total)
				return NULL;
		}
		b = malloc(sizeof(block) + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
		a->total += size;
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

char *sl_arena_strndup(sl_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = sl_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *sl_arena_strdup(sl_arena *a, const char *s)
{
	return s ? sl_arena_strndup(a, s, strlen(s)) : NULL;
}
