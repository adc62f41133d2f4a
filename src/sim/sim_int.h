/*
 * sim_int.h — what the simulator's files share: a real object as the
 * objects file gives it (objects.c reads it, sim.c runs it).
 */
#ifndef SIGHTLINE_SIM_INT_H
#define SIGHTLINE_SIM_INT_H

#include "sightline/sim.h"

#define SIM_MAX_ITEMS 8
#define SIM_NAME_MAX 96

/* One kind of equipment an object carries. model points at a static string
 * or into the objects' own storage. */
typedef struct sim_item {
	sl_equipment_type type;
	const char *model;
	int32_t count;
} sim_item;

/* One real object of the objects file. The route is either points
 * (lon/lat pairs) or station names (names[i]), never both. */
typedef struct sim_spec {
	char id[SIM_NAME_MAX];
	sl_sim_kind kind;
	sl_category category;
	size_t n_route;
	double *lon, *lat;  /* n_route each, or NULL */
	char **names;	    /* n_route, or NULL */
	int64_t start, end; /* end 0 = not given */
	char origin[SIM_NAME_MAX], destination[SIM_NAME_MAX];
	size_t n_items;
	sim_item items[SIM_MAX_ITEMS];
	char models[SIM_MAX_ITEMS][48];
} sim_spec;

struct sl_sim_objects {
	size_t n;
	sim_spec *spec;
};

#endif
