#!/usr/bin/perl
# moonboxd's master when memory allocation fails, through t/libfailalloc
# (an LD_PRELOAD shim; the helpers the master starts run without it).
# At start-up, with the Nth allocation failing for N across the whole
# start: moonboxd either starts and serves, or exits 1 with a message; it
# never crashes or hangs. While serving, with allocations failing again
# and again: each request still gets exactly one reply (internal when its
# own memory failed), no connection is dropped once accepted (one whose own
# memory failed as it was accepted is closed at once: the client is
# refused, not left waiting), the daemon lives on and exits 0 on SIGTERM.
use strict;
use warnings;
use Test::More;
use POSIX qw(WIFEXITED WEXITSTATUS WIFSIGNALED WTERMSIG);
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(load_start load_wait sanitized);

$SIG{PIPE} = 'IGNORE';
my $shim = ($ENV{top_builddir} // '.') . '/t/.libs/libfailalloc.so';
plan skip_all => 'AddressSanitizer must come first: no LD_PRELOAD shim'
    if sanitized();
plan skip_all => "no $shim" unless -r $shim;

my $d = daemon_start(no_start => 1, conf => "state \"state\"\n",
    rules => { echo => 'return function(e) return e end' },
    policy => "pool default {\n\trules \"**\"\n\tworkers 1 2\n}\n");
my $report = "$d->{dir}/failalloc";

sub daemon_log {
	open my $fh, '<', "$d->{dir}/log" or return '';
	local $/;
	return <$fh>;
}

# One run: start with the settings, wait for it to serve or to go, then
# ask it something and stop it. Returns what happened.
sub run {
	my (%env) = @_;
	unlink $report, $d->{sock}, $d->{ctl};
	my %r;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		# The daemon only: not this test, not its load.
		$ENV{LD_PRELOAD} = $shim;
		$ENV{MB_FAILALLOC_REPORT} = $report;
		$ENV{MB_FAILALLOC} = $env{at} // 0;
		$ENV{MB_FAILALLOC_EVERY} = $env{every} // 0;
		$ENV{MB_FAILALLOC_TRACE} = $env{trace} // 0;
		open STDERR, '>', "$d->{dir}/log" or die;
		{ exec(MBD::moonboxd(), '-d', '-f', "$d->{dir}/moonboxd.conf") }
		POSIX::_exit(127);
	}
	$d->{pid} = $pid;
	my $deadline = time + 10;
	while (time < $deadline) {
		if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
			$r{status} = $?;
			last;
		}
		if (-S $d->{ctl} && eval { $d->ready }) {
			$r{ready} = 1;
			last;
		}
		sleep 0.02;
	}
	if ($r{ready}) {
		if ($env{load}) {
			$r{load} = load_wait(load_start($d->{sock}, @{ $env{load} }),
			    90);
		} else {
			my $x = eval { $d->invoke('echo', 'x') };
			$r{answered} = $x && (defined $x->[0] || defined $x->[1]);
			$r{reply} = $x ? explain($x) : $@ || 'no reply';
			# A connection whose own memory failed is closed at once:
			# the client is refused (and the log says so), not left
			# waiting.
			$r{answered} ||= daemon_log() =~
			    /connection refused: out of memory/;
		}
		$r{status} = $d->stop('TERM', 20);
	}
	if (!defined $r{status}) {
		$r{hung} = 1;
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	delete $d->{pid};
	$r{log} = daemon_log();
	if (open my $fh, '<', $report) {
		($r{calls}, $r{failed}) = <$fh> =~ /calls=(\d+) failed=(\d+)/;
	}
	return \%r;
}

# How many allocations a start, one call and a stop take.
my $clean = run();
ok($clean->{ready} && $clean->{answered}, 'with the shim and no failure, it serves');
my $total = $clean->{calls} // 0;
ok($total > 100, "a start, a call and a stop allocate $total times");

# --- at start-up -------------------------------------------------------------
my $samples = $ENV{EXHAUST_SAMPLES} // 60;
my $step = int($total / $samples) || 1;
my (%seen, @bad);
for (my $n = 1; $n <= $total; $n += $n < 40 ? 1 : $step) {
	my $r = run(at => $n);
	my $st = $r->{status};
	my $what = $r->{hung} ? 'hung' :
	    WIFSIGNALED($st) ? 'signal ' . WTERMSIG($st) :
	    $r->{ready} ? ($r->{answered} ? 'served' : 'did not answer') :
	    WEXITSTATUS($st) == 1 && $r->{log} =~ /\S/ ? 'exited 1' :
	    'exited ' . WEXITSTATUS($st) . ' without a message';
	$seen{$what =~ /^(served|exited 1)$/ ? $what : 'bad'}++;
	next if $what =~ /^(served|exited 1)$/;
	# Again, with the stack of the allocation that failed.
	my $t = run(at => $n, trace => 1);
	my ($trace) = $t->{log} =~ /(failalloc: .*?)(?:\n[^\/\n][^\n]*|\z)/s;
	push @bad, "allocation $n: $what\n" . ($r->{reply} // '') . "\n" .
	    ($trace // substr($t->{log}, -1500));
}
diag(join(', ', map { "$_: $seen{$_}" } sort keys %seen));
is_deeply(\@bad, [], 'whichever allocation fails at start-up, moonboxd '
    . 'starts and serves or exits 1 with a message; it never crashes or hangs')
    or diag(join("\n", @bad));
ok($seen{'exited 1'}, 'some failures stop the start, with a message');
ok($seen{served}, 'others are absorbed and it serves');

# --- while serving -------------------------------------------------------------
for my $every (97, 13) {
	my $r = run(at => $total, every => $every,
	    load => ['-c', 4, '-d', 4, '-t', 2, '-r', 'echo']);
	my $l = $r->{load};
	ok($l, "with every ${every}th allocation failing, a load finishes")
	    or next;
	diag("every $every: $l->{line}; allocations $r->{calls}, failed " .
	    ($r->{failed} // '?'));
	ok($l->{sent} > 0 && $l->{answered} + $l->{refused} == $l->{sent} &&
	    $l->{duplicate} + $l->{unknown} + $l->{bad} == 0,
	    "every ${every}th failing: each request gets exactly one reply, "
	    . 'but on a connection refused at once');
	is($l->{lost}, 0, "every ${every}th failing: no connection is dropped")
	    or diag(grep { !/ (debug|info): / || /client closed/ } split /^/,
	    $r->{log});
	ok(($l->{kinds}{internal} // 0) > 0 && ($l->{kinds}{ok} // 0) > 0,
	    "every ${every}th failing: requests whose memory failed are "
	    . 'internal, the others succeed');
	my $st = $r->{status};
	ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
	    "every ${every}th failing: it exits 0 on SIGTERM")
	    or diag(substr($r->{log}, -2000));
}

# Every other allocation failing: replies may not fit at all, and then the
# connection is closed rather than left waiting; the master survives.
my $r = run(at => $total, every => 2,
    load => ['-c', 2, '-d', 2, '-t', 1, '-w', 10, '-r', 'echo']);
ok($r->{load} && $r->{load}{unanswered} == 0 && $r->{load}{duplicate} == 0,
    'with every other allocation failing, no client is left waiting');
ok(defined $r->{status} && !WIFSIGNALED($r->{status}),
    'and the master neither crashes nor hangs');

done_testing();
