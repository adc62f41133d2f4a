#!/usr/bin/env bash
# bench/engine.sh — the corroboration engine against PostGIS
# (docs/PERFORMANCE.md, "Corroboration"). Run by bench/run; alone:
#   bench/engine.sh [BUILD_DIR]        (default build)
#
# 1. bench_engine has the simulator make a year of reports in memory
#    (BENCH_ENGINE_SCALE x the default volume, BENCH_ENGINE_HOURS hours:
#    about 1.2 million) and clusters them: batch (sl_engine_add_batch, timed
#    as a whole), incremental (each sl_engine_add timed: p50/p99), memory.
# 2. The same points go into a throwaway PostgreSQL 15 + PostGIS cluster on
#    127.0.0.1 (scripts/pgtemp), projected to metres (UTM 35N), and
#    ST_ClusterDBSCAN with the engine's rail distance (eps BENCH_ENGINE_EPS
#    metres, minpoints 1) runs over them partitioned by category and hour,
#    the closest a spatial clusterer comes to the engine's space-and-time
#    gates. Loading is not timed; the query is, best of two.
# 3. Then the same query partitioned by category only — density clustering
#    in space alone, as ST_ClusterDBSCAN is made for and as the issue's goal
#    names it (>= 20x) — which takes about 11 minutes on a year of points
#    (every report ever made at one station is one dense neighbourhood);
#    BENCH_ENGINE_SPATIAL_ONLY=0 leaves it out.
# Prints each and its ratio to the batch. Skips the PostGIS half (saying so) when the server or the
# extension is missing.
set -u
set -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
SCALE=${BENCH_ENGINE_SCALE:-1.1}
HOURS=${BENCH_ENGINE_HOURS:-8760}
EPS=${BENCH_ENGINE_EPS:-1500}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sightline-bench-engine.XXXXXX") || exit 1
cleanup() {
	"$ROOT/scripts/pgtemp" stop "$TMP" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$BUILD/bench_engine" ] || { echo "bench: no $BUILD/bench_engine (build it)" >&2; exit 1; }
"$BUILD/bench_engine" --sim "$SCALE" "$HOURS" "$TMP/points.csv" >"$TMP/engine.txt" ||
	{ echo "bench: bench_engine failed" >&2; exit 1; }
val() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/engine.txt"; }
N=$(val reports)
BATCH=$(val batch_s)
printf 'reports %s (simulated: scale %s, %s h), events %s\n' "$N" "$SCALE" "$HOURS" "$(val events)"
printf '%-34s %10s\n' "sightline batch (s)" "$BATCH"
printf '%-34s %10s\n' "sightline batch reports/s" "$(val batch_per_s)"
printf '%-34s %10s\n' "incremental p50 (us)" "$(val incr_p50_us)"
printf '%-34s %10s\n' "incremental p99 (us)" "$(val incr_p99_us)"
printf '%-34s %10s\n' "incremental p99.9 (us)" "$(val incr_p999_us)"
printf '%-34s %10s\n' "memory per report (B, counted)" "$(val bytes_per_report)"
printf '%-34s %10s\n' "memory per report (B, resident)" "$(val rss_per_report)"

if ! "$ROOT/scripts/pgtemp" start "$TMP" >"$TMP/pg.port" 2>"$TMP/pg.err"; then
	echo "PostGIS baseline skipped: $(head -n 1 "$TMP/pg.err")"
	exit 0
fi
chmod 755 "$TMP" && chmod 644 "$TMP/points.csv"
psqlq() { "$ROOT/scripts/pgtemp" psql "$TMP" "$@"; }
if ! psqlq -c "CREATE EXTENSION postgis" >/dev/null 2>"$TMP/pg.err"; then
	echo "PostGIS baseline skipped: $(head -n 1 "$TMP/pg.err") (apt-get install postgresql-15-postgis-3)"
	exit 0
fi
psqlq >/dev/null <<SQL || { echo "bench: loading PostGIS failed" >&2; exit 1; }
CREATE TABLE raw (id bigint, cat smallint, lon double precision, lat double precision, t bigint);
\copy raw FROM '$TMP/points.csv' WITH (FORMAT csv)
CREATE TABLE pts AS SELECT id, cat, t / 3600 AS tb,
  ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 32635) AS g FROM raw;
ANALYZE pts;
SQL
QUERY="SELECT max(cid) FROM (SELECT ST_ClusterDBSCAN(g, eps := $EPS, minpoints := 1)
  OVER (PARTITION BY cat, tb) AS cid FROM pts) x"
BEST=
for i in 1 2; do
	ms=$(psqlq -c '\timing on' -c "$QUERY" | awk '/^Time:/ { print $2 }')
	[ -n "$ms" ] || { echo "bench: the PostGIS query failed" >&2; exit 1; }
	BEST=$(awk -v a="$BEST" -v b="$ms" 'BEGIN { print (a == "" || b < a) ? b : a }')
done
PG_S=$(awk -v m="$BEST" 'BEGIN { printf "%.3f", m / 1000 }')
printf '%-34s %10s\n' "PostGIS by category+hour (s)" "$PG_S"
printf '%-34s %10s\n' "PostGIS by category+hour / sl" \
	"$(awk -v a="$PG_S" -v b="$BATCH" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')"
if [ "${BENCH_ENGINE_SPATIAL_ONLY:-1}" = 1 ]; then
	ms=$(psqlq -c '\timing on' -c "SELECT max(cid) FROM (SELECT ST_ClusterDBSCAN(g,
	  eps := $EPS, minpoints := 1) OVER (PARTITION BY cat) AS cid FROM pts) x" |
		awk '/^Time:/ { print $2 }')
	SP_S=$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')
	printf '%-34s %10s\n' "PostGIS by category, goal's (s)" "$SP_S"
	printf '%-34s %10s\n' "PostGIS by category / sl (>= 20)" \
		"$(awk -v a="$SP_S" -v b="$BATCH" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }')"
fi
