#!/bin/sh
# bench/run.sh: the runtime benchmark (see bench/README.md). Runs plain
# lua5.4 and the sandbox's modes in turn, round after round, in one run on one
# machine, takes medians per invocation over all rounds, prints one table and
# writes the figures as JSON.
#
# usage: bench/run.sh [-r ROUNDS] [-s SBXBENCH] [-k HOOKCOST] [-o FILE.json]
#   -r ROUNDS    rounds of every mode (default 9)
#   -s SBXBENCH  the sandbox's driver (default bench/sbxbench)
#   -k HOOKCOST  the bare-Lua hook driver (default bench/hookcost; "" skips it)
#   -o FILE      where the JSON goes (default bench/results.json)
#   LUA=...      the plain interpreter (default lua5.4)
# shellcheck disable=SC2046 # set -- $(...) splits the figures on purpose
set -eu

here=$(cd "$(dirname "$0")" && pwd)
rounds=9
sbx=bench/sbxbench
hooks=bench/hookcost
out=bench/results.json
lua=${LUA:-lua5.4}

while getopts r:s:k:o: c; do
	case $c in
	r) rounds=$OPTARG ;;
	s) sbx=$OPTARG ;;
	k) hooks=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '7,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done

calls=24	# calls of a cpu-bound workload per process
fixed=400	# invocations of the trivial rule per process
warm=3		# the first calls of each process are not counted
budget=1000000000	# an exact instruction budget too big to be hit

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# median: "median min" of the numbers on standard input.
median() {
	sort -n | awk '{ v[NR] = $1 }
	END { if (NR == 0) { print "- -"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%.1f %.1f\n", m, v[1] }'
}

# keep FILE SERIES COL=NAME...: the columns of FILE's lines past the warm-up
# join the samples of SERIES.NAME; COL may be A+B, the sum of two columns.
keep() {
	f=$1 s=$2
	shift 2
	for spec in "$@"; do
		awk -v w="$warm" -v c="${spec%%=*}" 'NR > w { n = split(c, k, "+")
		    v = 0; for (i = 1; i <= n; i++) v += $k[i]; print v }' "$f" \
		    >>"$tmp/$s.${spec#*=}"
	done
}

# roundmed FILE COL: this round's median of a column, for the ratios.
roundmed() {
	awk -v w="$warm" -v c="$2" 'NR > w { print $c }' "$1" | median |
	    cut -d' ' -f1
}

# same FILE COL WANT WHAT: every result of a mode must be plain lua5.4's.
same() {
	awk -v w="$warm" -v c="$2" -v want="$3" -v what="$4" '
	    NR > w && $c != want { bad = 1 }
	    END { if (bad) printf "run.sh: %s returned %s, plain lua5.4 %s\n",
	    what, $c, want > "/dev/stderr"; exit bad }' "$1"
}

# workload NAME RULE: plain, then the sandbox under time+memory limits, then
# with an exact budget; one ratio to plain per round and mode.
workload() {
	name=$1 rule=$here/$2
	"$lua" "$here/cpu-plain.lua" "$rule" "$calls" >"$tmp/o.plain"
	keep "$tmp/o.plain" "$name-plain" 3=call 4=run
	want=$(awk 'NR == 1 { print $5 }' "$tmp/o.plain")
	plain=$(roundmed "$tmp/o.plain" 4)
	if [ -n "$hooks" ]; then	# the same call from C, on liblua5.4.so
		"$hooks" "$rule" "$calls" none >"$tmp/o.bare"
		keep "$tmp/o.bare" "$name-bare" 3=run
		echo "$(roundmed "$tmp/o.bare" 3) $(roundmed "$tmp/o.plain" 3)" \
		    >>"$tmp/ratio.$name-bare"
	fi
	for mode in limits budget; do
		set -- --label "$mode"
		[ "$mode" = budget ] && set -- "$@" --instructions "$budget"
		"$sbx" --count "$calls" "$@" "$rule" >"$tmp/o.$mode"
		same "$tmp/o.$mode" 6 "$want" "$2 ($name)"
		keep "$tmp/o.$mode" "$name-$mode" 3=run 2+3=total 5=instructions
		echo "$(roundmed "$tmp/o.$mode" 3) $plain" \
		    >>"$tmp/ratio.$name-$mode"
	done
}

echo "bench: $rounds rounds of every mode, interleaved" >&2
r=1
while [ "$r" -le "$rounds" ]; do
	printf '  round %d/%d\r' "$r" "$rounds" >&2
	workload cpu cpu.lua
	"$lua" "$here/cpu-plain.lua" "$here/cpu-metered.lua" "$calls" \
	    >"$tmp/o.metered"
	same "$tmp/o.metered" 5 "$want" "cpu-metered.lua"
	keep "$tmp/o.metered" cpu-metered 4=run
	echo "$(roundmed "$tmp/o.metered" 4) $plain" >>"$tmp/ratio.cpu-metered"
	workload coro coro.lua

	for prep in ahead inline; do
		"$sbx" --count "$fixed" --prepare "$prep" --clock wall \
		    --label "$prep" "$here/trivial.lua" >"$tmp/o.$prep"
		keep "$tmp/o.$prep" "fixed-$prep" 2=prepare 3=run 4=request
	done
	for rule in cpu rule50; do
		"$sbx" --count "$fixed" --measure compile --clock wall \
		    "$here/$rule.lua" >"$tmp/o.compile"
		keep "$tmp/o.compile" "compile-$rule" 2=text 3=bytecode
	done

	if [ -n "$hooks" ]; then
		# Four turns of every variant; the first is the warm-up.
		"$hooks" "$here/cpu.lua" 4 | awk -v t="$tmp" '
		    { seen[$2]++ } seen[$2] > 1 {
		    print $3 >> (t "/hook." $2); print $4 >> (t "/hooks." $2) }'
	fi
	r=$((r + 1))
done
echo >&2

# The figures: "median min" of a series; a ratio is the median (and range)
# over the rounds of that round's mode median over its plain median.
fig() { if [ -f "$tmp/$1" ]; then median <"$tmp/$1"; else echo "- -"; fi; }
med() { fig "$1" | cut -d' ' -f1; }
mn() { fig "$1" | cut -d' ' -f2; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }
ratio() {
	awk '{ print $1 / $2 }' "$tmp/ratio.$1" | sort -n | awk '{ v[NR] = $1 }
	END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null |
    head -n 1)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
kernel=$(uname -sr)
luav=$("$lua" -v 2>&1 | awk '{ print $1, $2; exit }')
libv=$(dpkg-query -W -f='${Version}' liblua5.4-0 2>/dev/null || echo "?")

row() {	# LABEL SERIES RATIO: compile+call, with a fresh state, ratio
	printf '%-40s %9s (%7s) %9s (%7s)  %s\n' "$1" "$(med "$2.run")" \
	    "$(mn "$2.run")" "$(med "$2.total")" "$(mn "$2.total")" "$3"
}
ratiorow() { set -- "$1" "$2" $(ratio "$2"); row "$1" "$2" "$3 ($4-$5)"; }

{
printf 'machine: %s, %s cores, %s, %s (Debian liblua5.4-0 %s)\n' \
    "${cpu_model:-?}" "$cores" "$kernel" "$luav" "$libv"
printf 'rounds: %s, modes interleaved; microseconds per invocation, ' "$rounds"
printf 'median (min)\n'
for w in cpu coro; do
	printf '\n%-40s %19s %19s  %s\n' "$w.lua (CPU time)" "compile+call" \
	    "with fresh state" "ratio to plain (rounds)"
	row "plain lua5.4" "$w-plain" "1"
	[ -n "$hooks" ] && ratiorow "C host on liblua5.4, no moonbox *" "$w-bare"
	ratiorow "sandbox, time+memory limits" "$w-limits"
	ratiorow "sandbox, + exact instruction budget" "$w-budget"
	[ "$w" = cpu ] && ratiorow "plain lua5.4 on cpu-metered.lua" cpu-metered
	printf '%-40s %9s\n' "VM instructions per call" \
	    "$(med "$w-budget.instructions" | sed 's/\.0$//')"
done
[ -n "$hooks" ] && printf '%s\n' \
    "* call only, ratio to plain lua5.4's call only (hookcost none)"
printf '\n%-40s %19s %19s %19s\n' "trivial.lua (wall time)" "prepare" \
    "compile+call" "request path"
for prep in ahead inline; do
	printf '%-40s %9s (%7s) %9s (%7s) %9s (%7s)\n' "sandbox, prepare $prep" \
	    "$(med "fixed-$prep.prepare")" "$(mn "fixed-$prep.prepare")" \
	    "$(med "fixed-$prep.run")" "$(mn "fixed-$prep.run")" \
	    "$(med "fixed-$prep.request")" "$(mn "fixed-$prep.request")"
done
printf '\n%-40s %19s %19s\n' "compile only (wall time)" "from text" \
    "own bytecode"
for rule in cpu rule50; do
	printf '%-40s %9s (%7s) %9s (%7s)\n' "$rule.lua ($(wc -l \
	    <"$here/$rule.lua" | tr -d ' ') lines)" \
	    "$(med "compile-$rule.text")" "$(mn "compile-$rule.text")" \
	    "$(med "compile-$rule.bytecode")" "$(mn "compile-$rule.bytecode")"
done
if [ -n "$hooks" ]; then
	none=$(med hook.none)
	printf '\n%-40s %19s %9s  %s\n' "cpu.lua, bare liblua5.4, no moonbox" \
	    "call" "hooks" "ratio to none; to plain"
	for v in none count:1 count:100 count:10000 count:max line call \
	    timer:1000 timer:100; do
		printf '%-40s %9s (%7s) %9s  %s; %s\n' "$v" "$(med "hook.$v")" \
		    "$(mn "hook.$v")" "$(med "hooks.$v" | sed 's/\.0$//')" \
		    "$(div "$(med "hook.$v")" "$none")" \
		    "$(div "$(med "hook.$v")" "$(med cpu-plain.call)")"
	done
fi
} | tee "$tmp/table"

# JSON: the machine, the ratios, and every series as {"median", "min"}.
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
	printf '{\n  "machine": {"cpu": %s, "cores": %s, "kernel": %s,\n' \
	    "$(jstr "${cpu_model:-?}")" "$(jstr "$cores")" "$(jstr "$kernel")"
	printf '    "lua": %s, "liblua": %s},\n' "$(jstr "$luav")" "$(jstr "$libv")"
	printf '  "rounds": %s,\n  "unit": "microseconds",\n' "$rounds"
	printf '  "ratios_to_plain": {'
	sep=
	for f in "$tmp"/ratio.*; do
		set -- $(ratio "${f#*/ratio.}")
		printf '%s\n    %s: {"median": %s, "min": %s, "max": %s}' "$sep" \
		    "$(jstr "${f#*/ratio.}")" "$1" "$2" "$3"
		sep=,
	done
	printf '\n  },\n  "series": {'
	sep=
	for f in "$tmp"/*.*; do
		s=${f##*/}
		case $s in ratio.* | o.*) continue ;; esac
		set -- $(fig "$s")
		printf '%s\n    %s: {"median": %s, "min": %s}' "$sep" \
		    "$(jstr "$s")" "$1" "$2"
		sep=,
	done
	printf '\n  },\n  "table": ['
	awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "%s\n    \"%s\"",
	    (NR > 1 ? "," : ""), $0 }' "$tmp/table"
	printf '\n  ]\n}\n'
} >"$tmp/json"
mkdir -p "$(dirname "$out")"
cp "$tmp/json" "$out"
echo "figures written to $out" >&2
