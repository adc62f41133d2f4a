/*
 * track_net.c — the way between two events along the rail network, for the
 * tracker (track_int.h).
 *
 * The tracker asks for the network distance of every candidate link, many
 * thousands of times a step, so for a network of up to TNET_APSP_MAX_NODES
 * nodes (the region network has 740) it keeps the distance between every
 * two nodes (a Dijkstra from each, a few tens of milliseconds once; 4 bytes
 * a pair) and answers in constant time: a way from a place on edge A to a
 * place on edge B leaves A by one of its ends and enters B by one of its
 * ends, or stays on the edge. Which ends it uses tells the direction of
 * travel leaving and arriving, which the link costs compare with the
 * reported headings and the track's own direction. A larger network (an
 * OpenStreetMap extract) is asked through sl_network_distance's bounded A*
 * instead, and directions then come from straight-line bearings.
 */
#include "engine/track_int.h"

#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"
#include "sightline/geo.h"

bool sl_theap_push(theap *h, double d, uint32_t v)
{
	if (!sl_grow((void **)&h->a, &h->cap, h->n + 1, sizeof(theap_item)))
		return false;
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h->a[p].d <= d)
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = (theap_item){d, v};
	return true;
}

theap_item sl_theap_pop(theap *h)
{
	theap_item top = h->a[0], last = h->a[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d)
			c++;
		if (h->a[c].d >= last.d)
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = last;
	return top;
}

/* Distances from every node to every node, into n->apsp. */
static sl_err all_pairs(tnet *n)
{
	size_t N = n->n_nodes, E = n->n_edges;
	uint32_t *start = calloc(N + 1, sizeof(*start));
	uint32_t *adj = malloc((2 * E + 1) * sizeof(*adj)); /* edge << 1 | 1: from `to` */
	double *d = malloc(N * sizeof(*d));
	uint8_t *done = malloc(N);
	theap h = {0};
	n->apsp = malloc(N * N * sizeof(float));
	if (!start || !adj || !d || !done || !n->apsp) {
		free(start), free(adj), free(d), free(done);
		free(n->apsp);
		n->apsp = NULL;
		return SL_ENOMEM;
	}
	for (size_t e = 0; e < E; e++)
		start[n->e_from[e] + 1]++, start[n->e_to[e] + 1]++;
	for (size_t v = 0; v < N; v++)
		start[v + 1] += start[v];
	uint32_t *fill = malloc((N + 1) * sizeof(*fill));
	if (!fill) {
		free(start), free(adj), free(d), free(done);
		free(n->apsp);
		n->apsp = NULL;
		return SL_ENOMEM;
	}
	memcpy(fill, start, (N + 1) * sizeof(*fill));
	for (size_t e = 0; e < E; e++) {
		adj[fill[n->e_from[e]]++] = (uint32_t)(e << 1);
		adj[fill[n->e_to[e]]++] = (uint32_t)(e << 1 | 1);
	}
	free(fill);
	sl_err err = SL_OK;
	for (size_t s = 0; s < N && !err; s++) {
		for (size_t v = 0; v < N; v++)
			d[v] = INFINITY;
		memset(done, 0, N);
		h.n = 0;
		d[s] = 0;
		if (!sl_theap_push(&h, 0, (uint32_t)s))
			err = SL_ENOMEM;
		while (h.n && !err) {
			theap_item it = sl_theap_pop(&h);
			if (done[it.v])
				continue;
			done[it.v] = 1;
			for (uint32_t k = start[it.v]; k < start[it.v + 1]; k++) {
				uint32_t e = adj[k] >> 1;
				uint32_t w = (adj[k] & 1) ? n->e_from[e] : n->e_to[e];
				double nd = it.d + n->e_len[e];
				if (nd < d[w] && !done[w]) {
					d[w] = nd;
					if (!sl_theap_push(&h, nd, w))
						err = SL_ENOMEM;
				}
			}
		}
		float *row = n->apsp + s * N;
		for (size_t v = 0; v < N; v++)
			row[v] = (float)d[v];
	}
	free(start), free(adj), free(d), free(done), free(h.a);
	if (err) {
		free(n->apsp);
		n->apsp = NULL;
	}
	return err;
}

sl_err sl_tnet_init(tnet *n, const sl_network *net)
{
	memset(n, 0, sizeof(*n));
	n->net = net;
	n->n_nodes = sl_network_node_count(net);
	n->n_edges = sl_network_edge_count(net);
	size_t E = n->n_edges ? n->n_edges : 1;
	n->e_from = malloc(E * sizeof(*n->e_from));
	n->e_to = malloc(E * sizeof(*n->e_to));
	n->e_len = malloc(E * sizeof(*n->e_len));
	if (!n->e_from || !n->e_to || !n->e_len) {
		sl_tnet_free(n);
		return SL_ENOMEM;
	}
	for (size_t e = 0; e < n->n_edges; e++) {
		sl_network_edge_info ei;
		sl_network_edge(net, (uint32_t)e, &ei);
		n->e_from[e] = ei.from, n->e_to[e] = ei.to, n->e_len[e] = ei.length_m;
	}
	if (n->n_nodes <= TNET_APSP_MAX_NODES) {
		sl_err err = all_pairs(n);
		if (err) {
			sl_tnet_free(n);
			return err;
		}
	}
	return SL_OK;
}

void sl_tnet_free(tnet *n)
{
	free(n->apsp);
	free(n->e_from);
	free(n->e_to);
	free(n->e_len);
	memset(n, 0, sizeof(*n));
}

void sl_tnet_snap(const tnet *n, double snap_m, tev *e)
{
	sl_network_pos pos;
	e->flags &= (uint8_t)~TE_SNAPPED;
	if (sl_network_snap(n->net, e->lat, e->lon, snap_m, &pos) != SL_OK)
		return;
	sl_network_edge_info ei;
	if (sl_network_edge(n->net, pos.edge, &ei) != SL_OK || ei.n_points < 2)
		return;
	/* The bearing of the edge's segment holding the place. */
	double cum = 0, brg = 0;
	for (size_t i = 0; i + 1 < ei.n_points; i++) {
		double seg =
		    sl_geo_distance_m(ei.lat[i], ei.lon[i], ei.lat[i + 1], ei.lon[i + 1]);
		brg = sl_geo_bearing_deg(ei.lat[i], ei.lon[i], ei.lat[i + 1],
					 ei.lon[i + 1]);
		if (cum + seg >= pos.offset_m)
			break;
		cum += seg;
	}
	e->flags |= TE_SNAPPED;
	e->edge = pos.edge;
	e->off = (float)pos.offset_m;
	e->snap_m = (float)pos.distance_m;
	e->edge_brg = (float)brg;
}

static double bearing_on(const tev *e, int dir)
{
	double b = e->edge_brg + (dir < 0 ? 180.0 : 0.0);
	return b >= 360 ? b - 360 : b;
}

bool sl_tnet_way(const tnet *n, const tev *a, const tev *b, double bound_m, way *out)
{
	memset(out, 0, sizeof(*out));
	if (!n->apsp) {
		sl_network_pos pa = {
		    .edge = a->edge, .offset_m = a->off, .lat = a->lat, .lon = a->lon};
		sl_network_pos pb = {
		    .edge = b->edge, .offset_m = b->off, .lat = b->lat, .lon = b->lon};
		double d;
		if (sl_network_distance(n->net, &pa, &pb, bound_m, &d) != SL_OK)
			return false;
		out->m = d;
		return true;
	}
	size_t N = n->n_nodes;
	uint32_t ea = a->edge, eb = b->edge;
	double best = INFINITY;
	int dep = 0, arr = 0;
	if (ea == eb) {
		best = fabs((double)a->off - (double)b->off);
		dep = arr = b->off > a->off ? 1 : b->off < a->off ? -1 : 0;
	}
	const uint32_t xa[2] = {n->e_from[ea], n->e_to[ea]};
	const double ca[2] = {a->off, n->e_len[ea] - a->off};
	const uint32_t yb[2] = {n->e_from[eb], n->e_to[eb]};
	const double cb[2] = {b->off, n->e_len[eb] - b->off};
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			double d =
			    ca[i] + (double)n->apsp[(size_t)xa[i] * N + yb[j]] + cb[j];
			if (d < best) {
				best = d;
				dep = i ? 1 : -1; /* leaving by `to` runs with the edge */
				arr = j ? -1 : 1; /* entering by `from` runs with it */
			}
		}
	if (!(best <= bound_m))
		return false;
	out->m = best;
	out->on_network = dep != 0;
	out->dep_dir = (int8_t)dep;
	out->arr_dir = (int8_t)arr;
	out->dep_brg = dep ? bearing_on(a, dep) : NAN;
	out->arr_brg = arr ? bearing_on(b, arr) : NAN;
	return true;
}

double sl_tnet_ahead(const tnet *n, const tev *e, int dir, const sl_border_crossing *x)
{
	if (!n->apsp || dir == 0)
		return INFINITY;
	size_t N = n->n_nodes;
	double best = INFINITY;
	if (x->edge == e->edge &&
	    (dir > 0 ? x->offset_m >= e->off : x->offset_m <= e->off))
		best = fabs(x->offset_m - e->off);
	uint32_t v = dir > 0 ? n->e_to[e->edge] : n->e_from[e->edge];
	double cv = dir > 0 ? n->e_len[e->edge] - e->off : e->off;
	double d1 = cv + n->apsp[(size_t)v * N + n->e_from[x->edge]] + x->offset_m;
	double d2 = cv + n->apsp[(size_t)v * N + n->e_to[x->edge]] +
		    (n->e_len[x->edge] - x->offset_m);
	return fmin(best, fmin(d1, d2));
}
