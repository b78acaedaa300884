#!/usr/bin/perl
# Workers started while the master has frames queued for the broker (BEGIN
# and END of the invocations in flight) still get their broker channel: it
# travels in order after those frames instead of being refused. Before,
# such a worker ran its whole life without a broker, and every capability
# call of its rules failed with "the broker is not available".
use strict;
use warnings;
use Test::More;

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(load_start load_wait);

$SIG{PIPE} = 'IGNORE';

# Recycled after every second invocation: new workers start all the time,
# while every invocation sends BEGIN and END to the broker.
my $d = daemon_start(rules => {
	'spawn/kv' => 'return function(e) return kv.incr("spawn:n", 1) end',
}, conf => "state \"state\"\n", policy => <<'EOF_POLICY');
pool default {
	rules "**"
	workers 3 3
	queue 128
	recycle 2
	timeout 20s
}
rule "spawn/kv" {
	allow kv read write "spawn:"
}
EOF_POLICY

my $n0 = $d->invoke('spawn/kv', undef)->[1]{value} // -1;
# Deadlines out of the way (slow builds): what is tested is the channels.
my $res = load_wait(load_start($d->{sock}, '-c', 4, '-d', 4, '-t', 3,
    '-r', 'spawn/kv'), 60);
ok($res, 'a load of capability calls on workers recycled fast finishes');
diag("load: $res->{line}") if $res;
ok($res && $res->{sent} > 100, 'many invocations ran');
is($res && $res->{kinds}{internal} // 0, 0,
    'none failed for want of a broker channel')
    or diag(grep { /warning|error|internal|killed/ } split /^/, $d->log_text);
ok($res && ($res->{kinds}{ok} // 0) == $res->{sent},
    'every one of them succeeded')
    or diag(grep { /warning|error|killed/ } split /^/, $d->log_text);
unlike($d->log_text, qr/starts without a broker/,
    'no worker started without a broker');
my $n = $d->invoke('spawn/kv', undef)->[1]{value};
ok(defined $n && $res && $n - $n0 == ($res->{kinds}{ok} // 0) + 1,
    'the counter counted every call') or diag("counter from $n0 to $n");

done_testing();
