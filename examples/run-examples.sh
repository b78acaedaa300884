#!/bin/sh
# Run every example rule on its event: `make examples`.
# usage: run-examples.sh MOONBOX EXAMPLES_DIR
set -u
moonbox=$1 dir=$2 status=0
for rule in "$dir"/rules/*.lua; do
	name=$(basename "$rule" .lua)
	printf '== %s\n' "$name"
	"$moonbox" run "$rule" --input-file "$dir/events/$name.json" --stats ||
	    status=1
done
exit $status
