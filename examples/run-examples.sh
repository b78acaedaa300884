#!/bin/sh
# The quick start's examples: `make examples`. Each rule that needs no
# capability runs once on its event (events/NAME.json) with `moonbox run`;
# then every rule's tests run under the examples' policy with
# `moonbox test`, capabilities mocked.
# usage: run-examples.sh MOONBOX EXAMPLES_DIR
set -u
moonbox=$1 dir=$2 status=0
for event in "$dir"/events/*.json; do
	name=$(basename "$event" .json)
	printf '== moonbox run %s\n' "$name"
	"$moonbox" run "$dir/rules/$name.lua" --input-file "$event" --stats ||
	    status=1
done
printf '== moonbox test\n'
"$moonbox" test "$dir/rules" --policy "$dir/policy.conf" || status=1
exit $status
