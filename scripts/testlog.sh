# Sourced by scripts/check and scripts/check-valgrind: the counts at the end
# of a `meson test` log.
#
# tally LOG RC: sets t_ok, t_bad (failed, timed out, passed unexpectedly)
# and t_skipped from LOG; a run that ran no test (a log without counts:
# "No suitable tests defined", say) or whose meson exited RC non-zero with no
# test failed counts as one failure.
tally() {
	t_ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$1" | tail -n 1)
	if [ -z "$t_ok" ]; then
		t_ok=0 t_bad=1 t_skipped=0
		return
	fi
	t_skipped=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$1" | tail -n 1)
	t_skipped=${t_skipped:-0}
	t_bad=0
	for k in Fail Timeout "Unexpected Pass"; do
		n=$(sed -n "s/^$k: *\([0-9]*\).*/\1/p" "$1" | tail -n 1)
		t_bad=$((t_bad + ${n:-0}))
	done
	if [ "$2" -ne 0 ] && [ "$t_bad" -eq 0 ]; then
		t_bad=1
	fi
}
