#!/bin/sh
# t/fuzz/run.sh: run built harnesses for a while each, on their seeds
# (`make fuzz-smoke`; see t/fuzz/README.md). New inputs go to
# t/fuzz/runs/NAME/ in the build tree, crashes to t/fuzz/runs/NAME-crash-*.
#
#   run.sh [-s SRCDIR] [-t SECONDS] HARNESS...
# Exits 1 if any harness found a crash, a leak or a timeout.
set -u

srcdir=. seconds=60
while getopts s:t: o; do
	case $o in
	s) srcdir=$OPTARG ;; t) seconds=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

status=0
for h in "$@"; do
	name=${h##*/fuzz-}
	work=t/fuzz/runs/$name
	mkdir -p "$work"
	dict=
	[ -f "$srcdir/t/fuzz/dict/$name.dict" ] &&
	    dict=-dict=$srcdir/t/fuzz/dict/$name.dict
	echo "  FUZZ     $name for ${seconds}s"
	if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	    "$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 \
	    -artifact_prefix="$work-" $dict "$work" \
	    "$srcdir/t/fuzz/corpus/$name" >"$work.log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^Done' "$work.log" |
		    tail -1 | sed "s/^/  $name: /"
	else
		echo "  $name: FAILED; see $work.log:"
		grep -E 'ERROR|SUMMARY|assertion failed|artifact' "$work.log" |
		    head -20
		status=1
	fi
done
exit $status
