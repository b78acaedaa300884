#!/usr/bin/perl
# A connection that has sent part of a request, or nothing, costs the
# master a few KiB, not a read buffer of 128 KiB (resident or not, 1000
# connections held 128 MiB of its address space): the buffer grows as its
# messages need. And one that sent a large request gives that memory back
# once it is answered.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(sanitized);
use MiniPack qw(mp_pack);

$SIG{PIPE} = 'IGNORE';
plan skip_all => 'heap figures under AddressSanitizer count its quarantine'
    if sanitized();

my $d = daemon_start(rules => { echo => 'return function(e) return #e end' });
my $m = $d->{pid};

# The master's data segment, heap and anonymous maps, touched or not.
sub data_kb {
	open my $fh, '<', "/proc/$m/status" or return 0;
	while (<$fh>) { return $1 if /^VmData:\s+(\d+)/ }
	return 0;
}

sleep 0.2;
my $before = data_kb();
my @conns = map { $d->connect } 1 .. 300;
syswrite($_, "\x94\x00\x01\xa6inv") for @conns;
sleep 0.5;
my $grew = data_kb() - $before;
ok($grew < 300 * 16, "300 connections with half a request each cost the "
    . "master $grew KiB");
my $s = $conns[0];
syswrite($s, "oke" . mp_pack(['echo', 'x' x (4 << 20)]));
my $r = $d->recv_response($s, 20);
is($r && $r->[3]{value}, 4 << 20, 'a 4 MiB request on one of them is answered');
close $_ for @conns;
sleep 0.5;
my $after = data_kb() - $before;
ok($after < 4096, "once they are gone the master holds $after KiB more");
is($d->invoke('echo', 'ok')->[1]{value}, 2, 'and serves on');

done_testing();
