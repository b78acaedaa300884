#!/usr/bin/perl
# moonboxd under load and faults at once. While t/chaos-load keeps
# invocations in flight on many connections, workers and the broker are
# killed with SIGKILL again and again, clients stall (half a request, or
# requests whose replies they never read), a pool's queue is filled past
# its bound, and the daemon is told to reload. Every request still gets
# exactly one reply, a result or an error of a documented kind; no client
# waits forever; the master's memory and descriptors come back to where
# they were; no child is left a zombie; and SIGTERM still ends it cleanly.
#
# `make check` runs it for CHAOS_SECONDS=5; `make chaos` for 300.
use strict;
use warnings;
use Test::More;
use IO::Socket::UNIX;
use POSIX qw(WIFEXITED WEXITSTATUS);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(rss_kb fd_count children zombies load_start load_wait
    documented_kinds sanitized);
use MiniPack qw(mp_pack);

$SIG{PIPE} = 'IGNORE';
my $seconds = $ENV{CHAOS_SECONDS} // 5;

my %rules = (
	'chaos/echo' => 'return function(e) return e end',
	'chaos/spin' => 'return function(e) local x = 0 ' .
	    'for i = 1, 20000 + (e.n % 7) * 20000 do x = x + i end return x end',
	'chaos/kv' => 'return function(e) return kv.incr("chaos:n", 1) end',
	'chaos/log' => 'return function(e) print("n", e.n) return e.n end',
	'tiny/slow' => 'return function(e) local x = 0 ' .
	    'for i = 1, 400000 do x = x + i end return x end',
);
my $policy = <<'EOF_POLICY';
pool tiny {
	rules "tiny/*"
	workers 1 1
	queue 2
	timeout 3s
}
pool chaos {
	rules "**"
	workers 2 4
	queue 64
	timeout 5s
	recycle 200
	idle 1s
}
rule "chaos/kv" {
	allow kv read write "chaos:"
}
EOF_POLICY

my $d = daemon_start(policy => $policy, rules => \%rules);
my $master = $d->{pid};
# Pool tiny is filled by bursts of its own (below), not by the load.
my @mix = ('-r', 'chaos/echo:6', '-r', 'chaos/spin:3', '-r', 'chaos/kv:2',
    '-r', 'chaos/log:1');

# The master's descriptors once the connections of the last ctl call are
# closed on its side too.
sub quiet_fds {
	sleep 0.5;
	return fd_count($master);
}

# Settled: every pool at its minimum of idle workers, nothing running.
sub settle {
	my $deadline = time + 20;
	while (time < $deadline) {
		my $w = eval { $d->ctl('workers') } // [];
		my %n;
		$n{$_->{pool}}++ for grep { $_->{state} eq 'idle' } @$w;
		return 1 if @$w == 3 && ($n{tiny} // 0) == 1 &&
		    ($n{chaos} // 0) == 2;
		sleep 0.1;
	}
	return 0;
}

# --- a warm-up, then the figures to come back to ---------------------------
my $warm = load_wait(load_start($d->{sock}, '-c', 4, '-d', 4, '-t', 2, @mix),
    60);
ok($warm && $warm->{status} == 0, 'a warm-up load is answered in full')
    or diag($warm ? $warm->{line} : 'the load did not finish');
ok(settle(), 'the pools settle at their minimum of workers');
my ($fds0, $rss0) = (quiet_fds(), rss_kb($master));
diag("master before: RSS $rss0 KiB, $fds0 descriptors");

# --- the chaos ---------------------------------------------------------------
# 48 in flight: within what pool chaos holds (4 workers, 64 queued).
my $load = load_start($d->{sock}, '-c', 8, '-d', 6, '-t', $seconds,
    '-w', 30, @mix);
my (%did, @stalled, $broker_kill_at);
my $end = time + $seconds;
while (time < $end) {
	my $what = int(rand(10));
	if ($what <= 3) {		# a worker, busy or idle
		my $all = eval { $d->ctl("workers") } // [];
		my @w = grep { $_->{pid} } @$all;
		if (@w) {
			kill 'KILL', $w[rand @w]{pid};
			$did{'worker killed'}++;
		}
	} elsif ($what == 4 && (!$broker_kill_at || time - $broker_kill_at > 13)) {
		# The master restarts the broker, five times a minute at most.
		my $st = eval { $d->ctl('stats') };
		if ($st && $st->{broker_pid}) {
			kill 'KILL', $st->{broker_pid};
			$broker_kill_at = time;
			$did{'broker killed'}++;
		}
	} elsif ($what == 5) {		# half a request, then nothing
		my $s = $d->connect;
		syswrite($s, substr(mp_pack([0, 1, 'invoke', ['chaos/echo', 1]]),
		    0, 7));
		push @stalled, $s;
		$did{'client stalled mid-request'}++;
	} elsif ($what == 6) {		# requests whose replies it never reads
		my $s = $d->connect;
		syswrite($s, mp_pack([0, $_, 'invoke', ['chaos/echo', $_]]))
		    for 1 .. 50;
		push @stalled, $s;
		$did{'client never reads'}++;
	} elsif ($what == 7) {		# past the queue of pool tiny
		$did{'burst'}++;
		my $s = $d->connect;
		$d->send_request($s, $_, 'invoke', ['tiny/slow', undef]) for 1 .. 8;
		my %seen;
		for (1 .. 8) {
			my $r = $d->recv_response($s, 30) // last;
			$seen{$r->[1]}++;
			$did{'queue filled'}++ if ($r->[2]{kind} // '') eq 'overloaded';
		}
		$did{'burst lost a reply'}++ unless keys %seen == 8 &&
		    !grep { $_ != 1 } values %seen;
		close $s;
	} elsif ($what == 8) {
		kill 'HUP', $master;
		$did{'reload'}++;
	} else {
		close(shift @stalled) if @stalled > 6;
	}
	sleep 0.05 + rand(0.25);
}
my $res = load_wait($load, 120);
diag('faults: ' . join(', ', map { "$_ $did{$_}" } sort keys %did));
ok($res, 'the load finished: no client waited forever')
    or BAIL_OUT('the load hung');
diag("load: $res->{line}");
ok($res->{sent} > 0, "requests were sent ($res->{sent})");
is($res->{answered}, $res->{sent}, 'every request sent got a reply');
is($res->{duplicate} + $res->{unknown}, 0,
    'no request got two replies, and no reply came for no request');
is($res->{lost} + $res->{refused}, 0,
    'no connection was closed with requests in flight');
is($res->{unanswered}, 0, 'none was still waiting after the drain time');
is($res->{bad}, 0, 'every reply was a well-formed response');
my %documented = map { $_ => 1 } documented_kinds();
my @odd = grep { !$documented{$_} } keys %{ $res->{kinds} };
is_deeply(\@odd, [], 'every reply was a result or an error of a documented kind');
ok(($res->{kinds}{ok} // 0) > 0, 'and many succeeded');
ok(!$did{'burst lost a reply'}, 'a burst past a queue got one reply per request');
ok(!$did{burst} || $did{'queue filled'},
    'a burst past a full queue is answered overloaded');

# --- afterwards ----------------------------------------------------------------
close $_ for @stalled;
my $r = $d->invoke('chaos/echo', { after => 1 });
is_deeply($r->[1]{value}, { after => 1 }, 'the daemon serves after the chaos');
$r = $d->invoke('chaos/kv', undef);
ok(!defined $r->[0], 'capability calls work again through a broker')
    or diag(explain($r->[0]), grep { /broker/ } split /^/, $d->log_text);
ok(settle(), 'the pools settle again at their minimum of workers');
my ($fds1, $rss1) = (quiet_fds(), rss_kb($master));
diag("master after: RSS $rss1 KiB, $fds1 descriptors");
is($fds1, $fds0, 'the master holds as many descriptors as before');
SKIP: {
	skip 'RSS under AddressSanitizer counts its quarantine', 1
	    if sanitized();
	ok($rss1 - $rss0 < 4096 + $rss0 / 10,
	    "the master's memory is flat (grew ${\ ($rss1 - $rss0)} KiB)");
}
my @z;
for (1 .. 20) {
	last unless @z = zombies($master);
	sleep 0.1;
}
is(scalar @z, 0, 'no child of the master is left a zombie')
    or diag("zombies: @z");
my $status = $d->stop('TERM', 30);
ok(defined $status && WIFEXITED($status) && WEXITSTATUS($status) == 0,
    'moonboxd exits 0 on SIGTERM after it all') or diag($d->log_text);

done_testing();
