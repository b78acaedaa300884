#!/usr/bin/perl
# The broker's memory stays flat over many capability calls: log lines
# with fields, kv writes and reads. (Each log call with fields leaked its
# fields' JSON text, some 30 bytes a call, until brcap_free freed it; the
# million-invocation soak, t/soak.pl, found it.)
use strict;
use warnings;
use Test::More;

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(load_start load_wait rss_anon_kb sanitized);

$SIG{PIPE} = 'IGNORE';
plan skip_all => 'heap figures under AddressSanitizer count its quarantine'
    if sanitized();

my $d = daemon_start(conf => "state \"state\"\n", rules => {
	'flat/log' => 'return function(e) log.info("n", { n = e.n, ' .
	    'tag = "some text to make the fields longer" }) return e.n end',
	'flat/kv' => 'return function(e) kv.set("flat:k", { n = e.n }) ' .
	    'return kv.get("flat:k") end',
}, policy => <<'EOF_POLICY');
pool flat {
	rules "**"
	workers 2 2
	recycle 100000
}
rule "flat/*" {
	allow kv read write "flat:"
	allow log
}
EOF_POLICY
my $broker = $d->ctl('stats')->{broker_pid};

my @heap;
for my $round (1 .. 3) {
	my $r = load_wait(load_start($d->{sock}, '-c', 4, '-d', 8, '-n', 10000,
	    '-t', 0, '-r', 'flat/log:3', '-r', 'flat/kv:1'), 120);
	ok($r && $r->{status} == 0, "round $round: 10000 invocations answered")
	    or diag($r ? $r->{line} : 'no end');
	push @heap, rss_anon_kb($broker);
}
diag("broker heap after each round: @heap KiB");
ok($heap[2] - $heap[0] < 128, 'the broker does not grow from the first '
    . 'round on (' . ($heap[2] - $heap[0]) . ' KiB)');
is($d->ctl('stats')->{broker_pid}, $broker, 'the same broker served them all');

done_testing();
