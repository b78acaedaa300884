#!/usr/bin/perl
# t/soak.pl: a long run of moonboxd, not part of `make check` (`make soak`
# runs it). One million invocations (SOAK_INVOCATIONS) through a daemon of
# two pools, a third of them with capability calls (kv, log) through the
# broker, from t/chaos-load; every SOAK_EVERY seconds the resident memory
# of the master and of the broker is printed. At the end: every request
# had exactly one reply, and the master's and the broker's memory grew by
# less than SOAK_GROWTH_KB from the end of the first tenth of the run.
#
#   perl t/soak.pl                  the soak
#   perl t/soak.pl --valgrind [N]   instead: N invocations (300) with the
#                                   master under valgrind's memcheck, which
#                                   must find no error and no leak
#
# Run from the build tree with MOONBOXD and top_builddir set, as `make soak`
# does. Prints TAP.
use strict;
use warnings;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use Chaos qw(rss_kb rss_anon_kb load_parse);

$SIG{PIPE} = 'IGNORE';
my $total = $ENV{SOAK_INVOCATIONS} // 1_000_000;
my $every = $ENV{SOAK_EVERY} // 10;
my $allowed = $ENV{SOAK_GROWTH_KB} // 8192;

my %rules = (
	'soak/echo' => 'return function(e) return { n = e.n, ok = true } end',
	'soak/kv' => 'return function(e) kv.incr("soak:n", 1) ' .
	    'return kv.get("soak:n") end',
	'soak/log' => 'return function(e) log.info("soak", { n = e.n }) ' .
	    'print(e.n) return e.n end',
	'other/spin' => 'return function(e) local x = 0 for i = 1, 2000 do ' .
	    'x = x + i end return x end',
);
my $policy = <<'EOF_POLICY';
pool other {
	rules "other/*"
	workers 1 2
	recycle 5000
}
pool soak {
	rules "**"
	workers 2 3
	queue 256
	recycle 5000
}
rule "soak/*" {
	allow kv read write "soak:"
	allow log
}
EOF_POLICY
my @mix = ('-r', 'soak/echo:6', '-r', 'soak/kv:2', '-r', 'soak/log:1',
    '-r', 'other/spin:1');

# chaos-load in the background; its summary and progress go to files.
sub load {
	my ($sock, @args) = @_;
	my $prog = ($ENV{top_builddir} // '.') . '/t/chaos-load';
	my $h = { out => "/tmp/soak-$$.out", err => "/tmp/soak-$$.err" };
	$h->{pid} = fork // die "fork: $!";
	if ($h->{pid} == 0) {
		open STDOUT, '>', $h->{out} or die;
		open STDERR, '>', $h->{err} or die;
		{ exec($prog, '-s', $sock, @args) }
		POSIX::_exit(127);
	}
	return $h;
}

sub finish {
	my ($h) = @_;
	if (!defined $h->{status}) {
		waitpid($h->{pid}, 0);
		$h->{status} = $?;
	}
	my $status = $h->{status} >> 8;
	open my $fh, '<', $h->{out} or return { status => $status };
	my $r = load_parse(scalar <$fh> // '');
	$r->{status} = $status;
	unlink $h->{out}, $h->{err};
	return $r;
}

sub answered {
	my ($h) = @_;
	open my $fh, '<', $h->{err} or return 0;
	my $n = 0;
	while (<$fh>) { $n = $1 if /answered=(\d+)/ }
	return $n;
}

if (@ARGV && $ARGV[0] eq '--valgrind') {
	valgrind_run($ARGV[1] // 300);
	done_testing();
	exit;
}

my $d = daemon_start(policy => $policy, rules => \%rules,
    conf => "state \"state\"\n");
my $broker = $d->ctl('stats')->{broker_pid};
my $h = load($d->{sock}, '-c', 8, '-d', 8, '-n', $total, '-t', 0, '-w', 60,
    '-p', 1, @mix);
diag(sprintf "%8s %10s %8s %12s %12s %12s", 'seconds', 'answered', 'per s',
    'master KiB', 'broker KiB', 'of it anon');
my $t0 = time;
my @samples;
for (;;) {
	for (1 .. $every * 10) {
		last if waitpid($h->{pid}, WNOHANG) == $h->{pid} &&
		    defined($h->{status} = $?);
		sleep 0.1;
	}
	last if defined $h->{status};
	my $s = { t => time - $t0, n => answered($h),
	    master => rss_kb($d->{pid}), broker => rss_kb($broker),
	    anon => rss_anon_kb($broker) };
	push @samples, $s;
	diag(sprintf "%8.0f %10d %8.0f %12d %12d %12d", $s->{t}, $s->{n},
	    $s->{n} / ($s->{t} || 1), $s->{master}, $s->{broker}, $s->{anon});
}
my $res = finish($h);
diag("load: $res->{line}");
is($res->{status}, 0, "$total invocations, each with exactly one reply");
is($res->{sent}, $total, 'all of them were sent');
is($d->ctl('stats')->{broker_pid}, $broker, 'the broker never restarted');
my ($base) = grep { $_->{n} >= $total / 10 } @samples;
$base //= $samples[0];
my $last = $samples[-1];
my ($gm, $gb) = ($last->{master} - $base->{master},
    $last->{broker} - $base->{broker});
diag("from $base->{n} invocations on: master $base->{master} -> " .
    "$last->{master} KiB ($gm), broker $base->{broker} -> $last->{broker} " .
    "KiB ($gb)");
ok($gm < $allowed, "the master's memory is flat (grew $gm KiB)");
ok($gb < $allowed, "the broker's memory is flat (grew $gb KiB)");
my @odd = grep { / (warning|error): / } split /^/, $d->log_text;
diag("the daemon's warnings and errors:\n", @odd[0 .. ($#odd < 30 ? $#odd : 29)])
    if @odd;
is($d->stop('TERM', 30), 0, 'moonboxd exits 0 after it');
done_testing();

# The master under memcheck; the helpers it starts are programs of their
# own (fexecve), which valgrind does not follow, so the workers' seccomp
# filter and the spawner's forks run as they always do.
sub valgrind_run {
	my ($n) = @_;
	plan skip_all => 'no valgrind' if system('valgrind --version >/dev/null 2>&1');
	my $d = daemon_start(policy => $policy, rules => \%rules,
	    conf => "state \"state\"\n", no_start => 1);
	my $vlog = "$d->{dir}/valgrind.log";
	$d->file('under-valgrind', "#!/bin/sh\nexec valgrind -q " .
	    "--tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect " .
	    "--errors-for-leak-kinds=definite,indirect --error-exitcode=99 " .
	    "--log-file='$vlog' '" . MBD::moonboxd() . "' \"\$@\"\n");
	chmod 0755, "$d->{dir}/under-valgrind";
	{
		local $ENV{MOONBOXD} = "$d->{dir}/under-valgrind";
		$d->start;
	}
	like(readlink("/proc/$d->{pid}/exe") // '', qr/memcheck|valgrind/,
	    'the master runs under memcheck');
	my $h = load($d->{sock}, '-c', 4, '-d', 4, '-n', $n, '-t', 0, '-w', 60,
	    @mix);
	my $res = finish($h);
	diag("load: $res->{line}");
	is($res->{status}, 0, "$n invocations under valgrind, each with one reply");
	my $r = $d->invoke('soak/kv', undef);
	ok($r && !defined $r->[0], 'capability calls work under valgrind');
	kill 'HUP', $d->{pid};
	sleep 1;
	$r = $d->invoke('soak/echo', { n => 1 });
	ok($r && !defined $r->[0], 'and after a reload');
	my $st = $d->stop('TERM', 60);
	ok(defined $st && WIFEXITED($st) && WEXITSTATUS($st) == 0,
	    'the master exits 0: memcheck found no error and no leak')
	    or diag(defined $st ? "exit status " . ($st >> 8) : 'no exit');
	my $report = do { local (@ARGV, $/) = ($vlog); <> } // '';
	is($report, '', 'memcheck says nothing') or diag($report);
}
