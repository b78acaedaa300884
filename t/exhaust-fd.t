#!/usr/bin/perl
# moonboxd at its descriptor limit (RLIMIT_NOFILE): connections past what
# it can hold are refused at once, not left waiting unaccepted with the
# master spinning on a listener that stays ready; connections it holds keep
# being served; a worker that dies meanwhile is replaced once descriptors
# are free again; and when clients go, it serves new ones as before.
use strict;
use warnings;
use Test::More;
use IO::Select;
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(fd_count);
use MiniPack qw(mp_pack);

$SIG{PIPE} = 'IGNORE';
my $limit = 100;

# moonboxd under a low limit, through a wrapper that sets it.
my $real = MBD::moonboxd();
my $d = daemon_start(no_start => 1, conf => "state \"state\"\n",
    rules => { echo => 'return function(e) return e end' },
    policy => "pool default {\n\trules \"**\"\n\tworkers 1 1\n\ttimeout 2s\n}\n");
$d->file('limited', "#!/bin/sh\nulimit -n $limit\nexec '$real' \"\$@\"\n");
chmod 0755, "$d->{dir}/limited";
{
	local $ENV{MOONBOXD} = "$d->{dir}/limited";
	$d->file('limited-64', "#!/bin/sh\nulimit -n 64\nexec '$real' \"\$@\"\n");
	chmod 0755, "$d->{dir}/limited-64";
	my $out = `'$d->{dir}/limited-64' -n -f '$d->{dir}/moonboxd.conf' 2>&1`;
	is($? >> 8, 0, 'moonboxd -n checks a configuration under any limit');
	$out = `'$d->{dir}/limited-64' -d -f '$d->{dir}/moonboxd.conf' 2>&1`;
	is($? >> 8, 1, 'under a limit of 64 open files moonboxd does not start');
	like($out, qr/limit of open files is too low: ulimit -n must be above 64/,
	    'and says why');
	$d->start;
}
my $master = $d->{pid};
my ($w) = grep { $_->{pid} } @{ $d->ctl('workers') };
my $fds0 = fd_count($master);
ok($fds0 > 0 && $fds0 < $limit, "the master starts with $fds0 of $limit descriptors");

sub cpu_ticks {
	open my $fh, '<', "/proc/$_[0]/stat" or return 0;
	my @f = split ' ', (<$fh> =~ s/^.*\) //r);
	return $f[11] + $f[12];		# utime + stime
}

# Twice as many connections as the master can hold, each asking for a pong.
my @conns = map { $d->connect } 1 .. 2 * $limit;
syswrite($_, mp_pack([0, 1, 'ping', []])) for @conns;
my (@served, @refused, @waiting);
my $deadline = time + 5;
my %left = map { $_ => $conns[$_] } 0 .. $#conns;
while (%left && time < $deadline) {
	my $sel = IO::Select->new(values %left);
	for my $s ($sel->can_read(0.2)) {
		my ($i) = grep { $left{$_} == $s } keys %left;
		my $n = sysread($s, my $buf, 64);
		if ($n) { push @served, $i } else { push @refused, $i }
		delete $left{$i};
	}
}
@waiting = keys %left;
ok(@served > 5, scalar(@served) . ' connections within the limit are served');
ok(@refused > 0, scalar(@refused) . ' past it are refused');
is(scalar @waiting, 0, 'none is left waiting, neither served nor refused');
my $t0 = cpu_ticks($master);
sleep 1;
ok(cpu_ticks($master) - $t0 < 30,
    'at the limit the master does not spin (' . (cpu_ticks($master) - $t0) .
    ' ticks of CPU in a second)');
my @warn = grep { /out of file descriptors/ } split /^/, $d->log_text;
ok(@warn >= 1 && @warn <= 10, 'the log says why, a few times (' .
    scalar(@warn) . ' lines), not once per refusal');

# A connection it holds is still served, capabilities of workers aside.
my $keep = $conns[$served[0]];
$d->send_request($keep, 2, 'invoke', ['echo', 'held']);
my $r = $d->recv_response($keep, 5);
is($r->[3]{value}, 'held', 'a connection held at the limit is still served');

# A worker killed now cannot be replaced until descriptors are free.
kill 'KILL', $w->{pid};
sleep 0.5;

# Clients go: everything comes back.
close $conns[$_] for 0 .. $#conns;
my $back = 0;
for (1 .. 100) {
	my $x = eval { $d->invoke('echo', 'again') };
	if ($x && defined $x->[1] && ($x->[1]{value} // '') eq 'again') {
		$back = 1;
		last;
	}
	sleep 0.1;
}
ok($back, 'once clients go, new connections are served and a new worker runs');
my ($nw) = grep { $_->{pid} } @{ $d->ctl('workers') };
ok($nw && $nw->{pid} != $w->{pid}, 'the worker killed at the limit was replaced');
sleep 0.5;
my $fds1 = fd_count($master);
ok($fds1 <= $fds0 + 1, "the master's descriptors come back ($fds0 then $fds1)");
is($d->stop('TERM'), 0, 'and it exits 0 on SIGTERM');

done_testing();
