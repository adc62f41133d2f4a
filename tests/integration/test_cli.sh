#!/bin/sh
# test_cli.sh — the `sightline` command through the real binary.
#
# Import and export: the small CIR CSV with its rejected rows and their line
# numbers, export to jsonl and import of that into a second data directory
# (the two exports must be the same, and carry no sealed field), standard
# input, the demo set twice, bad arguments, and the real CIR file when
# ../shared/data is there. Import seals text and contact to the moderators,
# so a data directory that takes text gets one first; without one, such
# records are refused.
#
# Sealed material: moderator add / list / remove / share, unseal with the
# right and a wrong passphrase, a moderator who joins later (nothing for
# them until an admin shares), purge, media-clean, and the help texts.
#
# Simulate: its reports import with no reject, the same seed gives the
# same bytes, the truth has every ref once, and bad options are refused.
#
# Tracking: export --what tracks, evaluate --tracks on a simulated day, the
# train from Baranavichy to Orsha, summary and its bad options.
#
# The store: a bad --store refused; on PostgreSQL (meson's postgresql
# setup) the commands again with --store on a database of their own.
#
# Under meson's valgrind setup (SIGHTLINE_WRAPPER, tests/meson.build) every
# command runs under valgrind memcheck, each with a log of its own, and a
# log that counts an error or has no summary fails the test.
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

# Every command under the wrapper: BIN becomes a script that runs it so.
if [ -n "${SIGHTLINE_WRAPPER:-}" ]; then
	mkdir "$tmp/wrapped"
	cat >"$tmp/wrapped/sightline" <<EOF
#!/bin/sh
exec $SIGHTLINE_WRAPPER --log-file=$tmp/wrapped/valgrind.%p.log "$BIN" "\$@"
EOF
	chmod 700 "$tmp/wrapped/sightline"
	BIN=$tmp/wrapped/sightline
fi

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

# expect_not_on_disk NAME DIR TEXT: no file of the data directory DIR (the
# database, its WAL) holds TEXT in clear.
expect_not_on_disk() {
	if grep -rlaF -- "$3" "$2" >"$tmp/found" 2>/dev/null; then
		not_ok "$1" "\"$3\" is in clear in: $(tr '\n' ' ' <"$tmp/found")"
	else
		ok "$1"
	fi
}

lines() {
	wc -l <"$1" | tr -d ' '
}

# Passphrase files, private as they should be (Argon2id makes each add or
# unlock cost a few tenths of a second: their number is kept small).
printf 'boss passphrase 1\n' >"$tmp/boss.pass"
printf 'newcomer passphrase 2\n' >"$tmp/new.pass"
printf 'not the passphrase\n' >"$tmp/wrong.pass"
printf 'short\n' >"$tmp/short.pass"
chmod 600 "$tmp/boss.pass" "$tmp/new.pass" "$tmp/wrong.pass" "$tmp/short.pass"

# add_moderator DIR NAME ROLE PASSFILE: adds quietly; a failure counts.
add_moderator() {
	if "$BIN" moderator add "$2" --role "$3" --passphrase-file "$4" --data "$1" \
		>"$tmp/out" 2>"$tmp/err"; then
		ok "moderator add $2 to $(basename "$1")"
	else
		not_ok "moderator add $2 to $(basename "$1")" "stderr: $(cat "$tmp/err")"
	fi
}

# 0. Without a moderator, text and contact have nobody to be sealed to: every
# record that has them is refused, and nothing of them is written.
"$BIN" import --data "$tmp/n" --format cir-csv "$SMALL" 2>"$tmp/err"
expect_status "import without a moderator exits 0" 0 $?
expect_in "without a moderator every record with text is refused" "$tmp/err" \
	"imported 0, duplicates 0, rejected 9 of 9 records"
expect_in "the refusal says why, with its line" "$tmp/err" \
	"small.csv:2: text, contact: there is no moderator to seal them to; add one first (sightline moderator add)"
expect_not_on_disk "refused text is not on disk" "$tmp/n" "heading south"

# 1. The small CSV: three rows stored, six rejected with their lines.
"$BIN" moderator add boss --role admin --passphrase-file "$tmp/boss.pass" --data "$tmp/a" \
	>"$tmp/add.out" 2>"$tmp/err"
expect_status "moderator add exits 0" 0 $?
expect_in "moderator add names the new admin" "$tmp/add.out" "added admin boss"
expect_in "moderator add shows a recovery key" "$tmp/add.out" "recovery key, shown once"
if grep -qE '^  [a-z2-7]{4}(-[a-z2-7]{4}){12}$' "$tmp/add.out"; then
	ok "the recovery key is 13 groups of four base32 symbols"
else
	not_ok "the recovery key is 13 groups of four base32 symbols" "got: $(cat "$tmp/add.out")"
fi
recovery=$(grep -E '^  [a-z2-7]{4}(-[a-z2-7]{4}){12}$' "$tmp/add.out" | tr -d ' ')
expect_not_in "a private passphrase file is not warned about" "$tmp/err" "mode 0600"
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
expect_not_in "export leaves sealed text out" "$tmp/a.jsonl" '"text":'
expect_not_in "export leaves sealed contact out" "$tmp/a.jsonl" '"contact":'
expect_not_in "export holds no plaintext" "$tmp/a.jsonl" "heading south"
expect_not_on_disk "imported text is not on disk in clear" "$tmp/a" "heading south"
expect_not_on_disk "the passphrase is not on disk" "$tmp/a" "boss passphrase 1"
if [ -n "$recovery" ]; then
	expect_not_on_disk "the recovery key is not on disk" "$tmp/a" "$recovery"
fi

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

# (b took the export without a moderator: it has no text to seal.)

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
add_moderator "$tmp/e" mod moderator "$tmp/boss.pass"
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
	add_moderator "$tmp/g" mod moderator "$tmp/boss.pass"
	"$BIN" import --data "$tmp/g" --format cir-csv --quiet "$REAL" 2>"$tmp/err"
	expect_status "real CIR file imports" 0 $?
	expect_in "real CIR file: every row read" "$tmp/err" "of 6650 records"
	cat "$tmp/err"
	# What the engine groups in Belarus (docs/ENGINE.md, "The CIR
	# sightings"): the two sightings of one train at Rechytsa on 21 January
	# and of one at Berezki on 18 April are one event each; the tanks
	# gathered at Rechytsa that day are not the train, and the two trains
	# at Orsha on 16 October (2S5 guns; BMP-2s, 2.3 km apart) stay apart.
	"$BIN" export --data "$tmp/g" --what events --out "$tmp/cir-events.jsonl" 2>"$tmp/err"
	expect_status "real CIR events export" 0 $?
	together() { grep "\"$1\"" "$tmp/cir-events.jsonl" | grep -q "\"$2\""; }
	while read -r a b want; do
		if together "$a" "$b"; then got=together; else got=apart; fi
		if [ "$got" = "$want" ]; then ok "CIR: $a and $b are $want"; else
			not_ok "CIR: $a and $b are $want" "they are $got"; fi
	done <<-'PAIRS'
		UW0001 UW0010 together
		UW5744 UW5875 together
		UW0001 UW0004 apart
		UW14629 UW14687 apart
	PAIRS
else
	echo "skip - real CIR file: $REAL is missing"
fi

# 9. Moderators: list, a name used twice, a bad role, a short passphrase.
"$BIN" moderator list --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "moderator list exits 0" 0 $?
if grep -qE '^1 +boss +admin ' "$tmp/out"; then
	ok "moderator list shows the admin"
else
	not_ok "moderator list shows the admin" "want: a line 1 boss admin ..." "got:  $(cat "$tmp/out")"
fi
"$BIN" moderator add boss --role admin --passphrase-file "$tmp/boss.pass" --data "$tmp/a" \
	>"$tmp/out" 2>"$tmp/err"
expect_status "adding a name twice fails" nonzero $?
expect_in "adding a name twice says so" "$tmp/err" "moderator add: boss exists already"
expect_not_in "adding a name twice shows no recovery key" "$tmp/out" "recovery key"
"$BIN" moderator add eve --role king --passphrase-file "$tmp/new.pass" --data "$tmp/a" \
	>"$tmp/out" 2>"$tmp/err"
expect_status "a bad --role fails" nonzero $?
expect_in "a bad --role is named" "$tmp/err" "--role \"king\" is not admin or moderator"
"$BIN" moderator add eve --passphrase-file "$tmp/short.pass" --data "$tmp/a" \
	>"$tmp/out" 2>"$tmp/err"
expect_status "a short passphrase fails" nonzero $?
expect_in "a short passphrase is told" "$tmp/err" "8 to 1024 bytes"
"$BIN" moderator list --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_not_in "failed adds add nobody" "$tmp/out" "eve"

# 10. unseal: the admin's passphrase opens report 1 (UW9001); a wrong one
# does not, and a passphrase file open to others is warned about.
"$BIN" unseal --moderator boss --passphrase-file "$tmp/boss.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal exits 0" 0 $?
expect_in "unseal shows the text" "$tmp/out" \
	'"text": "Train with 12 T-72 tanks\nSeen at the station,\nheading south'
expect_in "unseal shows the clear fields too" "$tmp/out" '"ref": "UW9001"'
chmod 644 "$tmp/wrong.pass"
"$BIN" unseal --moderator boss --passphrase-file "$tmp/wrong.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal with a wrong passphrase fails" nonzero $?
expect_in "unseal with a wrong passphrase says so" "$tmp/err" "wrong passphrase for boss"
expect_not_in "unseal with a wrong passphrase shows nothing" "$tmp/out" "Train with"
expect_in "a passphrase file open to others is warned about" "$tmp/err" \
	"should be mode 0600"
chmod 600 "$tmp/wrong.pass"
"$BIN" unseal --moderator nobody --passphrase-file "$tmp/boss.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal for an unknown moderator fails" nonzero $?
expect_in "unseal names the unknown moderator" "$tmp/err" "no active moderator nobody"
"$BIN" unseal --moderator boss --passphrase-file "$tmp/boss.pass" --data "$tmp/a" abc \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal of a non-number fails" nonzero $?
expect_in "unseal of a non-number says what it wants" "$tmp/err" "REPORT_ID"

# 11. A moderator added after the import cannot read what came before ...
add_moderator "$tmp/a" newcomer moderator "$tmp/new.pass"
"$BIN" unseal --moderator newcomer --passphrase-file "$tmp/new.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal by a newcomer exits 0 (the clear fields)" 0 $?
expect_in "the newcomer sees the clear fields" "$tmp/out" '"ref": "UW9001"'
expect_not_in "the newcomer gets no text" "$tmp/out" '"text"'
expect_in "the newcomer is told nothing was sealed to them" "$tmp/err" \
	"was sealed to newcomer"

# ... until an admin shares it; only an admin can.
"$BIN" moderator share newcomer --since 2000-01-01 --admin newcomer \
	--passphrase-file "$tmp/new.pass" --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "share by a non-admin fails" nonzero $?
expect_in "share by a non-admin says so" "$tmp/err" "newcomer is not an admin"
"$BIN" moderator share newcomer --since 2000-01-01 --admin boss \
	--passphrase-file "$tmp/boss.pass" --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "moderator share exits 0" 0 $?
expect_in "share counts what it shared" "$tmp/out" "shared 3 sealed items since 2000-01-01 with newcomer"
"$BIN" unseal --moderator newcomer --passphrase-file "$tmp/new.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal by the newcomer after share exits 0" 0 $?
expect_in "after share the newcomer sees the text" "$tmp/out" \
	'"text": "Train with 12 T-72 tanks'

# 12. A removed moderator opens nothing.
"$BIN" moderator remove newcomer --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "moderator remove exits 0" 0 $?
expect_in "moderator remove says what it did" "$tmp/out" "removed newcomer"
"$BIN" moderator list --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
if grep -qE '^2 +newcomer +moderator +[0-9T:Z-]+ +[0-9]{4}-' "$tmp/out"; then
	ok "moderator list shows the removal"
else
	not_ok "moderator list shows the removal" "got: $(cat "$tmp/out")"
fi
"$BIN" unseal --moderator newcomer --passphrase-file "$tmp/new.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal by a removed moderator fails" nonzero $?
expect_in "unseal by a removed moderator says why" "$tmp/err" "no active moderator newcomer"
expect_not_in "a removed moderator gets no text" "$tmp/out" "Train with"
"$BIN" moderator remove newcomer --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "removing twice fails" nonzero $?
expect_in "removing twice says so" "$tmp/err" "no active moderator newcomer"

# 13. purge: with 0 days, every sealed item goes; the reports stay.
"$BIN" purge --all --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "purge exits 0" 0 $?
expect_in "purge counts what it deleted" "$tmp/out" "purged 3 sealed items"
"$BIN" unseal --moderator boss --passphrase-file "$tmp/boss.pass" --data "$tmp/a" 1 \
	>"$tmp/out" 2>"$tmp/err"
expect_status "unseal after purge exits 0" 0 $?
expect_in "after purge the report is still there" "$tmp/out" '"ref": "UW9001"'
expect_not_in "after purge there is no text" "$tmp/out" '"text"'
"$BIN" purge --all --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_in "a second purge finds nothing" "$tmp/out" "purged 0 sealed items"
"$BIN" purge --retention-days 0 --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "purge with retention off (0) refuses" nonzero $?
expect_in "and says to use --all" "$tmp/err" "--all"
"$BIN" purge --retention-days -1 --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "purge with a negative retention fails" nonzero $?
expect_in "the bad retention is named" "$tmp/err" "--retention-days"

# 14. media-clean: the GPS position goes; a broken file is refused.
EXIF=${SHARED_DATA:-$(dirname "$0")/../../../shared/data}/exif-samples
if [ -f "$EXIF/jpg_gps_DSCN0010.jpg" ]; then
	"$BIN" media-clean "$EXIF/jpg_gps_DSCN0010.jpg" "$tmp/clean.jpg" >"$tmp/out" 2>"$tmp/err"
	expect_status "media-clean exits 0" 0 $?
	magic=$(od -An -tx1 -N3 "$tmp/clean.jpg" 2>/dev/null | tr -d ' \n')
	if [ "$magic" = ffd8ff ]; then
		ok "media-clean writes a JPEG"
	else
		not_ok "media-clean writes a JPEG" "first bytes: \"$magic\", want \"ffd8ff\""
	fi
	if command -v exiftool >/dev/null 2>&1; then
		before=$(exiftool -GPSLatitude -s3 "$EXIF/jpg_gps_DSCN0010.jpg")
		after=$(exiftool -GPSLatitude -s3 "$tmp/clean.jpg")
		if [ -n "$before" ] && [ -z "$after" ]; then
			ok "media-clean drops the GPS position"
		else
			not_ok "media-clean drops the GPS position" \
				"GPSLatitude before: \"$before\" (want one)" \
				"GPSLatitude after:  \"$after\" (want none)"
		fi
	else
		echo "skip - media-clean drops the GPS position: exiftool is not installed"
	fi
	"$BIN" media-clean "$EXIF/jpg_corrupted.jpg" "$tmp/broken.jpg" >"$tmp/out" 2>"$tmp/err"
	expect_status "media-clean of a broken file fails" nonzero $?
	expect_in "media-clean names the broken file" "$tmp/err" "jpg_corrupted.jpg"
	if [ -e "$tmp/broken.jpg" ]; then
		not_ok "media-clean of a broken file writes nothing" "$tmp/broken.jpg exists"
	else
		ok "media-clean of a broken file writes nothing"
	fi
else
	echo "skip - media-clean: $EXIF/jpg_gps_DSCN0010.jpg is missing"
fi
"$BIN" media-clean "$tmp/only-one.jpg" >"$tmp/out" 2>"$tmp/err"
expect_status "media-clean with one argument fails" nonzero $?
expect_in "media-clean says what it wants" "$tmp/err" "give IN and OUT"

# 15. Help: every command is listed, and each explains itself.
"$BIN" help >"$tmp/help" 2>"$tmp/err"
expect_status "help exits 0" 0 $?
for c in "moderator add" "moderator list" "moderator remove" "moderator share" \
	unseal purge media-clean import export; do
	if grep -qE "^  $c( |\$)" "$tmp/help"; then
		ok "help lists $c"
	else
		not_ok "help lists $c" "want: a line \"  $c ...\"" "got:  $(cat "$tmp/help")"
	fi
	# shellcheck disable=SC2086 # "moderator add" is two words on purpose
	"$BIN" $c --help >"$tmp/out" 2>"$tmp/err"
	expect_status "$c --help exits 0" 0 $?
	expect_in "$c --help shows its usage" "$tmp/out" "usage: sightline $c"
done
"$BIN" moderator add --help >"$tmp/out" 2>"$tmp/err"
expect_in "moderator add --help names --passphrase-file" "$tmp/out" "--passphrase-file FILE"
expect_in "moderator add --help names --role" "$tmp/out" "--role admin|moderator"

# 16. The audit log: every command above that changed who can read what, or
# read sealed text, is in it, in an intact chain; an edit made behind the
# program's back with the sqlite3 shell is found and named; cutting entries
# off the end is found only against a head noted before; and an unseal that
# cannot be recorded shows nothing.
"$BIN" audit verify --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
expect_status "audit verify exits 0 after the commands above" 0 $?
if grep -qE '^audit log intact: [1-9][0-9]* entries, head [0-9a-f]{64}$' "$tmp/out"; then
	ok "audit verify counts the entries and prints the head"
else
	not_ok "audit verify counts the entries and prints the head" "got: $(cat "$tmp/out")"
fi
head=$(sed -n 's/^audit log intact: .* head \([0-9a-f]*\)$/\1/p' "$tmp/out")
"$BIN" audit show --data "$tmp/a" --limit 0 >"$tmp/show" 2>"$tmp/err"
expect_status "audit show exits 0" 0 $?
if grep -qE '^1 [0-9T:-]+Z cli moderator_add moderator:boss \{"role":"admin"\}$' "$tmp/show"; then
	ok "audit show lists the first moderator_add"
else
	not_ok "audit show lists the first moderator_add" "got: $(cat "$tmp/show")"
fi
expect_in "audit show lists the unseal by boss" "$tmp/show" \
	'boss unseal report:1 {"items_opened":1}'
expect_in "audit show lists the newcomer's unseal of nothing" "$tmp/show" \
	'newcomer unseal report:1 {"items_opened":0}'
expect_in "audit show lists the share" "$tmp/show" \
	'boss moderator_share moderator:newcomer {"since":"2000-01-01","admin":"boss","items":3}'
expect_in "audit show lists the removal" "$tmp/show" "cli moderator_remove moderator:newcomer"
expect_in "audit show lists the purge" "$tmp/show" 'cli purge sealed {"items":3,"all":true}'
expect_not_in "an unseal by an unknown moderator records nothing" "$tmp/show" "nobody"
"$BIN" audit show --data "$tmp/a" --limit 2 >"$tmp/out" 2>"$tmp/err"
if [ "$(lines "$tmp/out")" = 2 ]; then
	ok "audit show --limit 2 shows two"
else
	not_ok "audit show --limit 2 shows two" "got: $(cat "$tmp/out")"
fi
"$BIN" audit verify --data "$tmp/a" --expect-head "$head" >"$tmp/out" 2>"$tmp/err"
expect_status "audit verify --expect-head with the current head exits 0" 0 $?
"$BIN" audit verify --data "$tmp/a" --expect-head nothex >"$tmp/out" 2>"$tmp/err"
expect_status "a bad --expect-head fails" nonzero $?
expect_in "a bad --expect-head is named" "$tmp/err" '--expect-head "nothex"'
"$BIN" audit verify --data "$tmp/a" --expect-head "$head" --limit 3 >"$tmp/out" 2>"$tmp/err"
expect_status "audit verify refuses another command's option" nonzero $?
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$tmp/a/sightline.db" "UPDATE audit SET actor = 'x' WHERE seq = 2" \
		>/dev/null 2>"$tmp/err"
	expect_status "the audit table refuses an UPDATE through SQL" nonzero $?
	sqlite3 "$tmp/a/sightline.db" "DROP TRIGGER audit_no_delete;" \
		"DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)" 2>"$tmp/err"
	"$BIN" audit verify --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
	expect_status "a log cut short at the end still verifies on its own" 0 $?
	"$BIN" audit verify --data "$tmp/a" --expect-head "$head" >"$tmp/out" 2>"$tmp/err"
	expect_status "... but not against the head noted before" 1 $?
	expect_in "... which says the noted head is gone" "$tmp/out" \
		"the noted head is not the hash of any entry"
	sqlite3 "$tmp/a/sightline.db" "DROP TRIGGER audit_no_update;" \
		"UPDATE audit SET actor = 'mallory' WHERE seq = 2" 2>"$tmp/err"
	"$BIN" audit verify --data "$tmp/a" >"$tmp/out" 2>"$tmp/err"
	expect_status "audit verify exits 1 after an edit" 1 $?
	expect_in "audit verify names the edited entry" "$tmp/out" \
		"audit log damaged at entry 2: edited"

	# An unseal that cannot be recorded shows nothing (here the database
	# refuses the insert; a full disk would do the same).
	"$BIN" unseal --moderator mod --passphrase-file "$tmp/boss.pass" --data "$tmp/e" 1 \
		>"$tmp/out" 2>"$tmp/err"
	expect_status "unseal in the demo set exits 0" 0 $?
	sqlite3 "$tmp/e/sightline.db" \
		"CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END" \
		2>"$tmp/err"
	"$BIN" unseal --moderator mod --passphrase-file "$tmp/boss.pass" --data "$tmp/e" 1 \
		>"$tmp/out" 2>"$tmp/err"
	expect_status "an unseal that cannot be recorded fails" nonzero $?
	if [ -s "$tmp/out" ]; then
		not_ok "an unseal that cannot be recorded shows nothing" "got: $(head -c 300 "$tmp/out")"
	else
		ok "an unseal that cannot be recorded shows nothing"
	fi
	expect_in "and says why" "$tmp/err" "cannot record unseal of report:1 in the audit log"
else
	echo "skip - audit tampering: the sqlite3 shell is not installed"
fi
# Simulate: a day on the generated network imports with no reject; the
# same seed gives the same bytes; the truth has one line per report; the
# real network, stations and airfields when ../shared/data is there; bad
# options are refused naming the option.
"$BIN" simulate --seed 5 --hours 24 --out "$tmp/sim.jsonl" --truth "$tmp/truth.jsonl" \
	2>"$tmp/err"
expect_status "simulate exits 0" 0 $?
expect_in "simulate sums up what it made" "$tmp/err" "sightline: simulated"
if [ "$(lines "$tmp/sim.jsonl")" -ge 1000 ] && [ "$(lines "$tmp/sim.jsonl")" = "$(lines "$tmp/truth.jsonl")" ]; then
	ok "simulate writes a day of reports and one truth line each"
else
	not_ok "simulate writes a day of reports and one truth line each" \
		"reports: $(lines "$tmp/sim.jsonl"), truth: $(lines "$tmp/truth.jsonl")"
fi
"$BIN" simulate --seed 5 --hours 24 --out "$tmp/sim2.jsonl" --truth "$tmp/truth2.jsonl" \
	--quiet 2>"$tmp/err"
if cmp -s "$tmp/sim.jsonl" "$tmp/sim2.jsonl" && cmp -s "$tmp/truth.jsonl" "$tmp/truth2.jsonl"; then
	ok "simulate: the same seed gives the same bytes"
else
	not_ok "simulate: the same seed gives the same bytes"
fi
"$BIN" import --data "$tmp/s" --format jsonl "$tmp/sim.jsonl" 2>"$tmp/err"
expect_status "import of simulated reports exits 0" 0 $?
n=$(lines "$tmp/sim.jsonl")
expect_in "every simulated report imports" "$tmp/err" \
	"imported $n, duplicates 0, rejected 0 of $n records"
if [ "$(sed 's/.*"ref":"\([^"]*\)".*/\1/' "$tmp/truth.jsonl" | sort -u | wc -l | tr -d ' ')" = "$n" ]; then
	ok "every ref is in the truth once"
else
	not_ok "every ref is in the truth once"
fi
expect_in "the truth names real objects" "$tmp/truth.jsonl" '"kind":"rail"'
expect_in "and false reports" "$tmp/truth.jsonl" '"object":null,"occurrence":null,"kind":"false"'
printf '{"seed": 9, "hours": 2, "quiet": true}\n' >"$tmp/sim.json"
"$BIN" simulate --config "$tmp/sim.json" --out "$tmp/sim3.jsonl" 2>"$tmp/err"
expect_status "simulate takes options from a config file" 0 $?
expect_in "the config's seed is used" "$tmp/sim3.jsonl" '"ref":"sim-9-0000001"'
GEO=${SHARED_DATA:-$(dirname "$0")/../../../shared/data}/geo
if [ -f "$GEO/belarus-rail.geojson" ]; then
	"$BIN" simulate --seed 3 --hours 12 --network "$GEO/belarus-rail.geojson" \
		--stations "$GEO/belarus-stations.tsv" --airfields "$GEO/belarus-airfields.csv" \
		--out "$tmp/real.jsonl" --truth "$tmp/realt.jsonl" 2>"$tmp/err"
	expect_status "simulate on the real network exits 0" 0 $?
	"$BIN" import --data "$tmp/s2" --format jsonl "$tmp/real.jsonl" 2>"$tmp/err"
	n=$(lines "$tmp/real.jsonl")
	expect_in "every report of the real network imports" "$tmp/err" \
		"imported $n, duplicates 0, rejected 0 of $n records"
	expect_in "reports name real stations" "$tmp/real.jsonl" "Орша"
else
	echo "skip - simulate on the real network: $GEO is missing"
fi
for bad in "--hours 0|--hours: \"0\" is not a number of hours" \
	"--seed x1|--seed: \"x1\" is not a whole number" \
	"--scale 1e9|--scale: \"1e9\" is not a number above 0" \
	"--start yesterday|--start: \"yesterday\" is not an RFC 3339" \
	"--network $tmp/none.geojson|--network $tmp/none.geojson: cannot read" \
	"--objects $tmp/sim.json|--objects $tmp/sim.json: line 1: kind: expected" \
	"--speed 3|unknown option or missing value: --speed"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	"$BIN" simulate ${bad%%|*} --out "$tmp/bad.jsonl" 2>"$tmp/err"
	rc=$?
	expect_status "simulate ${bad%%|*} fails" 2 $rc
	expect_in "simulate ${bad%%|*} says why" "$tmp/err" "${bad#*|}"
done
"$BIN" simulate --help >"$tmp/out" 2>"$tmp/err"
expect_in "simulate --help shows its usage" "$tmp/out" "usage: sightline simulate"
expect_in "simulate --help lists --truth" "$tmp/out" "--truth FILE"

"$BIN" help >"$tmp/help" 2>"$tmp/err"
for c in "audit verify" "audit show"; do
	if grep -qE "^  $c( |\$)" "$tmp/help"; then
		ok "help lists $c"
	else
		not_ok "help lists $c" "got: $(cat "$tmp/help")"
	fi
	# shellcheck disable=SC2086 # "audit verify" is two words on purpose
	"$BIN" $c --help >"$tmp/out" 2>"$tmp/err"
	expect_in "$c --help shows its usage" "$tmp/out" "usage: sightline $c"
done

# 17. Corroboration: import corroborates, export --what events writes one
# event per line with the refs of its reports, evaluate scores a grouping
# against ground truth, and refuses what it cannot read with the file and
# line.
cat >"$tmp/train.jsonl" <<'JSONL'
{"ref":"t1","category":"rail_transport","observed_at":"2022-10-10T08:30:00Z","location":{"lat":54.5095,"lon":30.4233,"uncertainty_m":300},"heading":"NE","equipment":[{"type":"tank","count":12}]}
{"ref":"t2","category":"rail_transport","observed_at":"2022-10-10T08:32:00Z","location":{"lat":54.5101,"lon":30.4245,"uncertainty_m":200},"heading":"NE","equipment":[{"type":"tank","count":13}]}
{"ref":"t3","category":"rail_transport","observed_at":"2022-10-10T08:31:00Z","location":{"lat":54.5089,"lon":30.4221,"uncertainty_m":400},"equipment":[{"type":"tank","count":14}]}
{"ref":"n1","category":"rail_transport","observed_at":"2022-10-10T09:40:00Z","location":{"lat":54.7,"lon":30.9,"uncertainty_m":300},"heading":"NE","equipment":[{"type":"tank","count":12}]}
{"ref":"a1","category":"aircraft","observed_at":"2022-10-10T08:30:00Z","location":{"lat":53.6,"lon":27.3,"uncertainty_m":1000}}
JSONL
"$BIN" import --data "$tmp/ev" --format jsonl "$tmp/train.jsonl" 2>"$tmp/err"
expect_status "import of five reports exits 0" 0 $?
"$BIN" export --data "$tmp/ev" --what events --out "$tmp/events.jsonl" 2>"$tmp/err"
expect_status "export --what events exits 0" 0 $?
expect_in "export counts the events" "$tmp/err" "exported 3 events"
expect_in "one event holds the three sightings at Orsha" "$tmp/events.jsonl" \
	'"reports":["t1","t2","t3"]'
expect_in "its tank count is the median, with the range" "$tmp/events.jsonl" \
	'"equipment":[{"type":"tank","count":13,"count_min":12,"count_max":14}]'
expect_in "the next station is an event of its own" "$tmp/events.jsonl" '"reports":["n1"]'
cat >"$tmp/truth.jsonl" <<'JSONL'
{"ref":"t1","object":"train-1","occurrence":"train-1#1","kind":"rail"}
{"ref":"t2","object":"train-1","occurrence":"train-1#1","kind":"rail"}
{"ref":"t3","object":"train-1","occurrence":"train-1#1","kind":"rail"}
{"ref":"n1","object":"train-1","occurrence":"train-1#2","kind":"rail"}
{"ref":"a1","object":null,"occurrence":null,"kind":"false"}
JSONL
"$BIN" evaluate --truth "$tmp/truth.jsonl" --events "$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_status "evaluate exits 0" 0 $?
expect_in "a perfect grouping scores 1" "$tmp/out" \
	"pairwise  precision 1.0000  recall 1.0000  F1 1.0000"
sed 's/train-1#2/train-1#1/' "$tmp/truth.jsonl" >"$tmp/truth2.jsonl"
"$BIN" evaluate --truth "$tmp/truth2.jsonl" --events "$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_in "a split occurrence lowers recall" "$tmp/out" \
	"pairwise  precision 1.0000  recall 0.5000  F1 0.6667"
printf '{"ref":"t1","occurrence":"x"}\nnot json\n' >"$tmp/bad.jsonl"
"$BIN" evaluate --truth "$tmp/bad.jsonl" --events "$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_status "evaluate of a broken truth file exits 2" 2 $?
expect_in "and names the file and line" "$tmp/err" "truth:2:"
"$BIN" evaluate --events "$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_status "evaluate without --truth exits 2" 2 $?
expect_in "and says so" "$tmp/err" "--truth FILE is required"
"$BIN" export --data "$tmp/ev" --what tanks >"$tmp/out" 2>"$tmp/err"
expect_status "export --what tanks exits 2" 2 $?
expect_in "and names what it knows" "$tmp/err" "(reports, events, tracks)"

# 18. Tracking: import linked the simulated day's events into tracks too;
# export --what tracks writes one track per line with its events, the refs
# of its reports, its route and direction; evaluate --tracks scores them
# against the truth; the train from Baranavichy to Orsha is one track away
# from Ukraine toward Russia; summary counts movements; bad options are
# refused naming them.
ATLAS=${WORLD_ATLAS:-}
"$BIN" simulate --seed 5 --hours 24 --out "$tmp/sim5.jsonl" --truth "$tmp/sim5-truth.jsonl" \
	--quiet 2>"$tmp/err"
"$BIN" export --data "$tmp/s" --what tracks --out "$tmp/tracks.jsonl" 2>"$tmp/err"
expect_status "export --what tracks exits 0" 0 $?
expect_in "export counts the tracks" "$tmp/err" "sightline: exported"
for field in '"events":[' '"reports":["sim-5-' '"event_reports":[[' '"route":[[' \
	'"direction":{"class":' '"first":{"time":' '"heading":'; do
	expect_in "a track line has $field" "$tmp/tracks.jsonl" "$field"
done
"$BIN" evaluate --truth "$tmp/sim5-truth.jsonl" --tracks "$tmp/tracks.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_status "evaluate --tracks exits 0" 0 $?
expect_in "evaluate --tracks prints purity and completeness" "$tmp/out" "tracks    purity"
if awk '/^tracks    purity/ { exit !($3 >= 0.85 && $5 >= 0.85) }' "$tmp/out"; then
	ok "a simulated day's tracks are at least 0.85 pure and complete"
else
	not_ok "a simulated day's tracks are at least 0.85 pure and complete" "$(cat "$tmp/out")"
fi
"$BIN" evaluate --truth "$tmp/sim5-truth.jsonl" --tracks "$tmp/bad.jsonl" >"$tmp/out" 2>"$tmp/err"
expect_status "evaluate --tracks of a broken file exits 2" 2 $?
expect_in "and names the file and line" "$tmp/err" "tracks:1:"
cat >"$tmp/echelon.jsonl" <<'JSONL'
{"id":"echelon","kind":"rail","route":["Барановичи","Орша"],"start":"2022-10-10T04:00:00Z","destination":"Орша","equipment":[{"type":"tank","model":"T-72B3","count":24},{"type":"truck","count":6}]}
JSONL
"$BIN" simulate --seed 2 --objects "$tmp/echelon.jsonl" --out "$tmp/ech.jsonl" \
	--truth "$tmp/ech-truth.jsonl" --quiet 2>"$tmp/err"
if [ -n "$ATLAS" ] && [ -f "$ATLAS" ]; then
	"$BIN" import --data "$tmp/bo" --format jsonl --borders "$ATLAS" "$tmp/ech.jsonl" 2>"$tmp/err"
	expect_status "import with --borders exits 0" 0 $?
	"$BIN" export --data "$tmp/bo" --what tracks --borders "$ATLAS" --out "$tmp/ech-tracks.jsonl" \
		2>"$tmp/err"
	if grep '"class":"away_from_ukraine"' "$tmp/ech-tracks.jsonl" | grep -q '"toward_russia":true'; then
		ok "the train from Baranavichy to Orsha moves away from Ukraine toward Russia"
	else
		not_ok "the train from Baranavichy to Orsha moves away from Ukraine toward Russia" \
			"$(head -c 600 "$tmp/ech-tracks.jsonl")"
	fi
	"$BIN" evaluate --truth "$tmp/ech-truth.jsonl" --tracks "$tmp/ech-tracks.jsonl" >"$tmp/out"
	expect_in "and it is one track" "$tmp/out" "rail    purity 1.0000  completeness 1.0000"
	# --train-speed: at 20 km/h at most, the same train cannot have gone
	# from one station to the next in the time it took.
	"$BIN" import --data "$tmp/slow" --format jsonl --borders "$ATLAS" --train-speed 20 \
		"$tmp/ech.jsonl" 2>"$tmp/err"
	expect_status "import --train-speed 20 exits 0" 0 $?
	"$BIN" export --data "$tmp/slow" --what tracks --borders "$ATLAS" --train-speed 20 \
		--out "$tmp/slow-tracks.jsonl" 2>"$tmp/err"
	"$BIN" evaluate --truth "$tmp/ech-truth.jsonl" --tracks "$tmp/slow-tracks.jsonl" >"$tmp/out"
	expect_in "the slow train's tracks are scored" "$tmp/out" "rail    purity"
	expect_not_in "at --train-speed 20 it is not one track" "$tmp/out" \
		"rail    purity 1.0000  completeness 1.0000"
	"$BIN" summary --data "$tmp/bo" --borders "$ATLAS" >"$tmp/out" 2>"$tmp/err"
	expect_status "summary exits 0" 0 $?
	expect_in "summary counts rail movements by day" "$tmp/out" "rail_transport movements by day"
	expect_in "and by direction" "$tmp/out" "away_from_ukraine"
else
	echo "skip - tracks' directions: WORLD_ATLAS (node_modules/world-atlas) is missing"
fi
"$BIN" summary --data "$tmp/s" --period week --format json >"$tmp/out" 2>"$tmp/err"
expect_status "summary --format json exits 0" 0 $?
expect_in "summary answers the API's JSON" "$tmp/out" '"period":"week","category":"rail_transport"'
for bad in "--period fortnight|--period: \"fortnight\" is not day, week or month" \
	"--from yesterday|--from: \"yesterday\" is not an RFC 3339 time" \
	"--category tanks|--category: \"tanks\" is not a category" \
	"--from 2022-10-11T00:00:00Z --to 2022-10-10T00:00:00Z|--to: is not after --from" \
	"--from 1990-01-01T00:00:00Z --to 2022-01-01T00:00:00Z|the range holds more than 1000 days" \
	"--train-speed 5|--train-speed: \"5\" is not a speed in 10..400 km/h" \
	"--train-speed fast|--train-speed: \"fast\" is not a speed in 10..400 km/h"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	"$BIN" summary --data "$tmp/s" ${bad%%|*} >"$tmp/out" 2>"$tmp/err"
	rc=$?
	expect_status "summary ${bad%%|*} fails" 2 $rc
	expect_in "summary ${bad%%|*} says why" "$tmp/err" "${bad#*|}"
done
"$BIN" import --data "$tmp/s" --format jsonl --network "$tmp/none.geojson" "$tmp/train.jsonl" 2>"$tmp/err"
expect_status "import with a missing --network fails" 2 $?
expect_in "and names the file" "$tmp/err" "--network $tmp/none.geojson: cannot read"
printf '{"borders": "none"}\n' >"$tmp/track.json"
"$BIN" export --data "$tmp/s" --config "$tmp/track.json" --what tracks --out "$tmp/t2.jsonl" 2>"$tmp/err"
expect_status "tracking options come from a config file" 0 $?
"$BIN" summary --help >"$tmp/out" 2>"$tmp/err"
expect_in "summary --help shows its usage" "$tmp/out" "usage: sightline summary"

# 19. Accuracy on the default scenario: a simulated day (seed 1) imported,
# corroborated and scored against its truth keeps pairwise F1 >= 0.9, the
# goal of docs/ENGINE.md, and its tracks 0.9 purity and completeness
# (docs/TRACKING.md); a change that costs accuracy fails here.
"$BIN" simulate --seed 1 --hours 24 --out "$tmp/day.jsonl" --truth "$tmp/day-truth.jsonl" \
	--quiet 2>"$tmp/err"
expect_status "simulate a day exits 0" 0 $?
"$BIN" import --data "$tmp/day" --format jsonl --quiet "$tmp/day.jsonl" 2>"$tmp/err"
expect_status "import of the day exits 0" 0 $?
"$BIN" export --data "$tmp/day" --what events --out "$tmp/day-events.jsonl" 2>"$tmp/err"
"$BIN" evaluate --truth "$tmp/day-truth.jsonl" --events "$tmp/day-events.jsonl" \
	>"$tmp/out" 2>"$tmp/err"
f1=$(awk '$1 == "pairwise" { print $7 }' "$tmp/out")
if awk -v f="$f1" 'BEGIN { exit !(f != "" && f >= 0.9) }'; then
	ok "pairwise F1 on the default scenario is $f1 (>= 0.9)"
else
	not_ok "pairwise F1 on the default scenario is ${f1:-missing}, want >= 0.9" "$(cat "$tmp/out")"
fi
"$BIN" export --data "$tmp/day" --what tracks --out "$tmp/day-tracks.jsonl" 2>"$tmp/err"
"$BIN" evaluate --truth "$tmp/day-truth.jsonl" --tracks "$tmp/day-tracks.jsonl" \
	>"$tmp/out" 2>"$tmp/err"
if awk '/^tracks    purity/ { exit !($3 >= 0.9 && $5 >= 0.9) }' "$tmp/out"; then
	ok "the default scenario's tracks are at least 0.9 pure and complete"
else
	not_ok "the default scenario's tracks are at least 0.9 pure and complete" "$(cat "$tmp/out")"
fi

# 19. A --store that is neither sqlite nor a postgresql:// URL, or a
# database that cannot be reached, is refused with the reason, and nothing
# is made in its place.
"$BIN" import --data "$tmp/badstore" --store mysql://x --format jsonl "$tmp/day.jsonl" \
	2>"$tmp/err"
expect_status "import --store mysql:// exits non-zero" nonzero $?
expect_in "--store mysql:// says what it takes" "$tmp/err" 'postgresql://'
if [ -e "$tmp/badstore/sightline.db" ]; then
	not_ok "--store mysql:// made no SQLite file instead"
else
	ok "--store mysql:// made no SQLite file instead"
fi
"$BIN" moderator list --data "$tmp/badstore" \
	--store "postgresql://sightline@127.0.0.1:1/none?connect_timeout=2" 2>"$tmp/err"
expect_status "a database that cannot be reached exits non-zero" nonzero $?
expect_in "an unreachable database is named as the store" "$tmp/err" \
	"cannot open the store given by --store"

# 20. On PostgreSQL (meson test --setup postgresql, with the cluster
# scripts/check starts): the same commands with --store on a database of
# their own give what they gave on SQLite above, and the data directory
# holds the keys but no database and no text.
if [ "${SIGHTLINE_TEST_BACKEND:-}" = postgresql ] && [ -n "${SIGHTLINE_TEST_PG:-}" ]; then
	pgdb=sl_cli_$$
	psql -X -q "$SIGHTLINE_TEST_PG/postgres" -c "CREATE DATABASE $pgdb" >"$tmp/err" 2>&1
	expect_status "create the test database" 0 $?
	pg="$SIGHTLINE_TEST_PG/$pgdb"
	"$BIN" moderator add boss --role admin --passphrase-file "$tmp/boss.pass" \
		--data "$tmp/p" --store "$pg" >"$tmp/out" 2>"$tmp/err"
	expect_status "moderator add --store postgresql:// exits 0" 0 $?
	"$BIN" import --data "$tmp/p" --store "$pg" --format cir-csv "$SMALL" 2>"$tmp/err"
	expect_in "import --store postgresql:// summary" "$tmp/err" \
		"imported 3, duplicates 0, rejected 6 of 9 records"
	"$BIN" import --data "$tmp/p" --store "$pg" --format cir-csv --quiet "$SMALL" 2>"$tmp/err"
	expect_in "reimport --store postgresql:// stores nothing" "$tmp/err" \
		"imported 0, duplicates 3, rejected 6 of 9 records"
	"$BIN" export --data "$tmp/p" --store "$pg" --what reports --format jsonl \
		--out "$tmp/p.jsonl" 2>"$tmp/err"
	# (each import stamps received_at with its own minute: the two may be
	# a minute apart)
	sed 's/"received_at":"[^"]*",//' "$tmp/a.jsonl" >"$tmp/a-nr.jsonl"
	sed 's/"received_at":"[^"]*",//' "$tmp/p.jsonl" >"$tmp/p-nr.jsonl"
	expect_same "export --store postgresql:// gives SQLite's reports" "$tmp/a-nr.jsonl" \
		"$tmp/p-nr.jsonl"
	"$BIN" unseal --moderator boss --passphrase-file "$tmp/boss.pass" --data "$tmp/p" \
		--store "$pg" 1 >"$tmp/out" 2>"$tmp/err"
	expect_status "unseal --store postgresql:// exits 0" 0 $?
	expect_in "unseal --store postgresql:// opens the text" "$tmp/out" "heading south"
	"$BIN" moderator list --data "$tmp/p" --store "$pg" >"$tmp/out" 2>"$tmp/err"
	expect_in "moderator list --store postgresql:// names boss" "$tmp/out" "boss"
	"$BIN" export --data "$tmp/p" --store "$pg" --what tracks --out "$tmp/p-tracks.jsonl" \
		2>"$tmp/err"
	expect_status "export --what tracks --store postgresql:// exits 0" 0 $?
	"$BIN" audit verify --data "$tmp/p" --store "$pg" >"$tmp/out" 2>"$tmp/err"
	expect_status "audit verify --store postgresql:// exits 0" 0 $?
	if [ -e "$tmp/p/sightline.db" ]; then
		not_ok "with --store postgresql:// there is no SQLite file"
	else
		ok "with --store postgresql:// there is no SQLite file"
	fi
	expect_not_on_disk "with --store postgresql:// no text in the data directory" \
		"$tmp/p" "heading south"
	psql -X -q "$SIGHTLINE_TEST_PG/postgres" -c "DROP DATABASE $pgdb WITH (FORCE)" \
		>/dev/null 2>&1
fi

# Under the wrapper: every command's valgrind log has a summary of no error.
if [ -n "${SIGHTLINE_WRAPPER:-}" ]; then
	logs=0
	nbad=0
	bad=""
	for log in "$tmp"/wrapped/valgrind.*.log; do
		[ -e "$log" ] || continue
		logs=$((logs + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
			nbad=$((nbad + 1))
			bad="$bad $(basename "$log")"
			# the first three in full, the others by name
			[ "$nbad" -gt 3 ] || { echo "---- $log"; head -n 80 "$log"; }
		fi
	done
	if [ "$logs" -eq 0 ]; then
		not_ok "commands ran under the wrapper" "no valgrind log in $tmp/wrapped"
	elif [ -n "$bad" ]; then
		not_ok "$logs commands under valgrind, no error" \
			"$nbad with errors or no summary:$bad"
	else
		ok "$logs commands under valgrind, no error"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
