#!/bin/sh
# test_cli.sh — `sightline import` and `sightline export` through the real
# binary: the small CIR CSV with its rejected rows and their line numbers,
# export to jsonl and import of that into a second data directory (the two
# exports must be the same), standard input, the demo set twice, bad
# arguments, and the real CIR file when ../shared/data is there.
#
# Needs SIGHTLINE_BIN (meson sets it, with TEST_DATA and SHARED_DATA).
# Prints "N passed, M failed" last and exits non-zero if any failed.

set -u

BIN=${SIGHTLINE_BIN:?SIGHTLINE_BIN is not set: run through meson test}
DATA=${TEST_DATA:-$(dirname "$0")/../data}
SMALL=$DATA/import/small.csv

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sl-test-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	for line in "$@"; do
		echo "    $line"
	done
}

# expect_status NAME WANT GOT: WANT is 0 or "nonzero".
expect_status() {
	if [ "$2" = nonzero ]; then
		if [ "$3" -ne 0 ]; then ok "$1"; else not_ok "$1" "exit status 0, want non-zero"; fi
	elif [ "$3" -eq "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit status $3, want $2" "stderr: $(cat "$tmp/err" 2>/dev/null)"
	fi
}

# expect_in NAME FILE TEXT: FILE holds the fixed string TEXT.
expect_in() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "want: $3" "got:  $(cat "$2")"
	fi
}

# expect_not_in NAME FILE TEXT
expect_not_in() {
	if grep -qF -- "$3" "$2"; then
		not_ok "$1" "unwanted: $3" "got: $(cat "$2")"
	else
		ok "$1"
	fi
}

# expect_same NAME FILE1 FILE2: the two are the same apart from report ids.
expect_same() {
	sed 's/"id":[0-9]*,//' "$2" >"$tmp/same1"
	sed 's/"id":[0-9]*,//' "$3" >"$tmp/same2"
	if cmp -s "$tmp/same1" "$tmp/same2"; then
		ok "$1"
	else
		not_ok "$1" "$(diff "$tmp/same1" "$tmp/same2" | head -n 6)"
	fi
}

lines() {
	wc -l <"$1" | tr -d ' '
}

# 1. The small CSV: three rows stored, six rejected with their lines.
"$BIN" import --data "$tmp/a" --format cir-csv "$SMALL" 2>"$tmp/err"
expect_status "import cir-csv exits 0" 0 $?
expect_in "import cir-csv summary" "$tmp/err" \
	"imported 3, duplicates 0, rejected 6 of 9 records"
expect_in "bad date rejected with its line" "$tmp/err" \
	"small.csv:4: date: \"2022-13-45\" is not a date (YYYY-MM-DD)"
expect_in "blank date rejected with its line" "$tmp/err" "small.csv:5: date: is empty"
expect_in "bad lat after a multi-line record, with its line" "$tmp/err" \
	"small.csv:6: lat: \"abc\" is not a number"
expect_in "lat out of range rejected with its line" "$tmp/err" \
	"small.csv:9: lat: \"91.5\" is outside -90..90"
expect_in "short record rejected with its line" "$tmp/err" \
	"small.csv:13: record has 3 fields; the header has 15"

# 2. Again, quietly: all duplicates, no per-record lines.
"$BIN" import --data "$tmp/a" --format cir-csv --quiet "$SMALL" 2>"$tmp/err"
expect_status "reimport exits 0" 0 $?
expect_in "reimport stores nothing" "$tmp/err" \
	"imported 0, duplicates 3, rejected 6 of 9 records"
expect_not_in "--quiet prints no record lines" "$tmp/err" "small.csv:"

# 3. Export, import the export elsewhere, export again: the same.
"$BIN" export --data "$tmp/a" --what reports --format jsonl --out "$tmp/a.jsonl" 2>"$tmp/err"
expect_status "export exits 0" 0 $?
if [ -f "$tmp/a.jsonl" ] && [ "$(lines "$tmp/a.jsonl")" = 3 ]; then
	ok "export writes one line per report"
else
	not_ok "export writes one line per report" "got: $(cat "$tmp/a.jsonl" 2>/dev/null)"
fi
expect_in "export carries the CIR ref" "$tmp/a.jsonl" '"ref":"UW9001"'

"$BIN" import --data "$tmp/b" --format jsonl "$tmp/a.jsonl" 2>"$tmp/err"
expect_status "import jsonl exits 0" 0 $?
expect_in "import jsonl summary" "$tmp/err" \
	"imported 3, duplicates 0, rejected 0 of 3 records"
"$BIN" export --data "$tmp/b" --what reports --format jsonl --out "$tmp/b.jsonl" 2>"$tmp/err"
expect_status "second export exits 0" 0 $?
expect_same "export, import, export gives the same reports" "$tmp/a.jsonl" "$tmp/b.jsonl"

# To standard output, too.
"$BIN" export --data "$tmp/b" --what reports --format jsonl >"$tmp/b2.jsonl" 2>"$tmp/err"
expect_status "export to stdout exits 0" 0 $?
expect_same "export to stdout is the same" "$tmp/b.jsonl" "$tmp/b2.jsonl"

# 4. From standard input.
"$BIN" import --data "$tmp/c" --format jsonl - <"$tmp/a.jsonl" 2>"$tmp/err"
expect_status "import from stdin exits 0" 0 $?
expect_in "import from stdin summary" "$tmp/err" \
	"imported 3, duplicates 0, rejected 0 of 3 records"

# 5. Bad jsonl lines are told with their numbers; the good ones stay.
{
	head -n 1 "$tmp/a.jsonl"
	echo '{"category": "road_convoy",'
	echo '{"category":"spaceship","observed_at":"2022-06-01T10:00:00Z","location":{"lat":52.4,"lon":31.0}}'
	echo
	sed -n 2,3p "$tmp/a.jsonl"
} >"$tmp/bad.jsonl"
"$BIN" import --data "$tmp/d" --format jsonl "$tmp/bad.jsonl" 2>"$tmp/err"
expect_status "import with bad lines exits 0" 0 $?
expect_in "bad jsonl summary" "$tmp/err" "imported 3, duplicates 0, rejected 2 of 5 records"
expect_in "malformed JSON told with its line" "$tmp/err" "bad.jsonl:2: "
expect_in "invalid field told with its line" "$tmp/err" "bad.jsonl:3: category"

# 6. The demo set, twice.
"$BIN" import --data "$tmp/e" --format demo 2>"$tmp/err"
expect_status "import demo exits 0" 0 $?
expect_in "demo imports 500" "$tmp/err" "imported 500, duplicates 0, rejected 0 of 500 records"
"$BIN" import --data "$tmp/e" --format demo 2>"$tmp/err"
expect_in "demo again stores nothing" "$tmp/err" \
	"imported 0, duplicates 500, rejected 0 of 500 records"

# 7. Bad arguments: a non-zero exit and a message saying what was wrong.
"$BIN" import --data "$tmp/f" --format xml "$SMALL" 2>"$tmp/err"
expect_status "unknown import format fails" nonzero $?
expect_in "unknown import format is named" "$tmp/err" "xml"
"$BIN" import --data "$tmp/f" --format cir-csv "$tmp/no-such-file.csv" 2>"$tmp/err"
expect_status "missing input file fails" nonzero $?
expect_in "missing input file is named" "$tmp/err" "no-such-file.csv"
"$BIN" import --data "$tmp/f" --format cir-csv 2>"$tmp/err"
expect_status "import without a file fails" nonzero $?
"$BIN" export --data "$tmp/a" --what reports --format xml 2>"$tmp/err"
expect_status "unknown export format fails" nonzero $?
expect_in "unknown export format is named" "$tmp/err" "xml"
printf 'entry,date,title\nX1,2022-01-01,t\n' >"$tmp/badheader.csv"
"$BIN" import --data "$tmp/f" --format cir-csv "$tmp/badheader.csv" 2>"$tmp/err"
expect_status "a CSV without the CIR columns fails" nonzero $?
expect_in "the missing column is named" "$tmp/err" \
	"badheader.csv:1: header: has no column \"brief description\""

# 8. The real CIR file, when the shared data is there.
REAL=${SHARED_DATA:-$(dirname "$0")/../../../shared/data}/real/cir-russia-ukraine-monitor-2022.csv
if [ -f "$REAL" ]; then
	"$BIN" import --data "$tmp/g" --format cir-csv --quiet "$REAL" 2>"$tmp/err"
	expect_status "real CIR file imports" 0 $?
	expect_in "real CIR file: every row read" "$tmp/err" "of 6650 records"
	cat "$tmp/err"
else
	echo "skip - real CIR file: $REAL is missing"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
