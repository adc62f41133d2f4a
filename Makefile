# sightline — the two commands: `make run` and `make check`.
#
#   make          build build/sightline
#   make run      install what is missing, build, serve 127.0.0.1:8080 with
#                 demo data in var/
#   make check    install what is missing, build, run every test, then again
#                 under ASan+UBSan
#   make bench    intake benchmark against nginx (docs/PERFORMANCE.md)
#   make fuzz     every fuzz target with libFuzzer for FUZZ_SECONDS each
#                 (docs/RELIABILITY.md)
#   make reliability  200 SIGKILL trials, the load tests and the overload
#                 curve (docs/RELIABILITY.md; make check already runs the
#                 integration suite under valgrind)

SHARED_DATA ?= ../shared/data
CIR_CSV     := $(SHARED_DATA)/real/cir-russia-ukraine-monitor-2022.csv
RAIL        := $(SHARED_DATA)/geo/region-rail.geojson
STATIONS    := $(SHARED_DATA)/geo/belarus-stations.tsv
# The tracker routes trains on the real network when the shared data is
# there (docs/TRACKING.md); borders come from node_modules by default.
TRACK_OPTS  := $(if $(wildcard $(RAIL)),--network $(RAIL)) \
               $(if $(wildcard $(STATIONS)),--stations $(STATIONS))
DATA        ?= var/data
LISTEN      ?= 127.0.0.1:8080
MESON_OPTS  := -Dwerror=true

.PHONY: all build deps run check test test-asan bench fuzz reliability clean format

all: build

deps:
	@scripts/install-deps

build/build.ninja:
	meson setup build $(MESON_OPTS)

build: build/build.ninja
	ninja -C build

build-asan/build.ninja:
	meson setup build-asan $(MESON_OPTS) -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug

DEMO_PASS   := var/demo-passphrase

# A fresh var/ gets a demo admin (its passphrase in var/demo-passphrase,
# OUTSIDE the data directory; a real server never keeps one) so that text
# and photos can be sealed, then the demo data.
run: deps build
	@if [ ! -f $(DATA)/.demo-loaded ]; then \
		mkdir -p var && chmod 700 var; \
		if [ ! -f $(DEMO_PASS) ]; then \
			(umask 077; head -c 18 /dev/urandom | base64 > $(DEMO_PASS)); \
			build/sightline moderator add demo --role admin --data $(DATA) \
				--passphrase-file $(DEMO_PASS) >/dev/null || exit 1; \
			echo "demo admin 'demo' created; its passphrase is in $(DEMO_PASS) (demo only)"; \
		fi; \
		if [ -f $(CIR_CSV) ]; then \
			echo "loading the real CIR sightings from $(CIR_CSV)"; \
			build/sightline import --data $(DATA) --format cir-csv --quiet \
				$(TRACK_OPTS) $(CIR_CSV); \
		else \
			echo "$(SHARED_DATA) is absent: loading a generated demo set"; \
			build/sightline import --data $(DATA) --format demo; \
		fi && touch $(DATA)/.demo-loaded; \
	fi
	build/sightline serve --data $(DATA) --listen $(LISTEN) $(TRACK_OPTS)

check: deps
	@scripts/check

test: build
	meson test -C build --print-errorlogs

bench: deps build
	@SIGHTLINE_BIN=build/sightline bench/run

fuzz: deps
	@scripts/fuzz

reliability: deps build
	RELIABILITY=1 meson test -C build --suite reliability --print-errorlogs -t 4
	bench/overload

clean:
	rm -rf build build-asan build-fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
