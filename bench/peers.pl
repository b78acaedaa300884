#!/usr/bin/perl
# bench/peers.pl: moonboxd against its peers, side by side (bench/README.md).
#
# Starts a moonboxd and a redis-server of its own on unix sockets in a
# temporary directory, drives both with bench/loadgen, round after round,
# the engines interleaved, and takes medians of rounds; ratios are taken
# per round and their median reported. Then the daemon's own figures: the
# replacement of a killed worker (bench/mbprobe), idle memory, a quiet
# pool beside a flooded one, throughput while reloading. With --runtime it
# first runs bench/run.sh, the runtime benchmark, and adds its table and
# figures. Prints one table; writes every figure as JSON.
#
# usage: perl bench/peers.pl [--builddir DIR] [--rounds N] [--seconds S]
#            [--runtime] [--only LIST] [-o FILE.json]
#   --builddir DIR  where moonboxd, moonbox, loadgen, mbprobe were built (.)
#   --rounds N      rounds of every run (default 3)
#   --seconds S     measured seconds of one run (default 2), after a warm-up
#                   of a quarter of that
#   --runtime       run bench/run.sh first (make bench does)
#   --only LIST     comma-separated parts: peers, pipeline, tcp, cost,
#                   replace, memory, isolation, reload (default all)
#   -o FILE         where the JSON goes (default bench/results.json)
#   REDIS_SERVER, LUA: other redis-server and lua5.4 binaries
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Getopt::Long;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(PF_INET SOCK_STREAM inet_aton pack_sockaddr_in
    unpack_sockaddr_in);
use Time::HiRes qw(sleep time);

my $here = abs_path(dirname($0));
my %o = (builddir => '.', rounds => 3, seconds => 2, out => 'bench/results.json',
    only => 'peers,pipeline,tcp,cost,replace,memory,isolation,reload');
GetOptions('builddir=s' => \$o{builddir}, 'rounds=i' => \$o{rounds},
    'seconds=f' => \$o{seconds}, 'runtime' => \$o{runtime},
    'only=s' => \$o{only}, 'o=s' => \$o{out})
    or die "usage: see the head of $0\n";
my %only = map { $_ => 1 } split /,/, $o{only};
my $bd = abs_path($o{builddir});
my %bin = (moonboxd => "$bd/src/moonboxd", moonbox => "$bd/src/moonbox",
    loadgen => "$bd/bench/loadgen", mbprobe => "$bd/bench/mbprobe");
-x $bin{$_} or die "peers.pl: $bin{$_} is not built\n" for keys %bin;
my $redis_server = $ENV{REDIS_SERVER} // 'redis-server';
my $lua = $ENV{LUA} // 'lua5.4';
my $warmup = $o{seconds} / 4;
$SIG{PIPE} = 'IGNORE';

# --- the workloads -----------------------------------------------------------
# Each: the moonbox rule file and its input; the Redis script, its keys and
# arguments. The same computation on both sides; see bench/README.md for
# what differs.
my @workloads = (
	{ name => 'trivial', rule => 'trivial.lua', redis => 'trivial.lua' },
	{ name => 'rule', rule => 'rule.lua', input => 'rule-event.json',
	  redis => 'rule.lua', args => ['@rule-event.json'] },
	{ name => 'cpu', rule => 'cpu.lua', redis => 'cpu.lua' },
	{ name => 'json', rule => 'json.lua', input => 'json-doc.json',
	  redis => 'json.lua', args => ['@json-doc.json'] },
	{ name => 'capability', rule => 'capability.lua', redis => 'capability.lua',
	  keys => ['bench:key'], pools => ['cap1', 'cap2'] },
);
my @engines = (
	{ name => 'redis', label => 'redis EVALSHA' },
	{ name => 'mb1', label => 'moonbox, 1 worker', pool => 1 },
	{ name => 'mb2', label => 'moonbox, 2 workers', pool => 2 },
);
# Over TCP on 127.0.0.1 (moonboxd's listen-tcp with a token, presented with
# auth on each connection), beside the same over the unix socket.
my @tcp_engines = (
	{ name => 'redis-tcp', label => 'redis EVALSHA, TCP', tcp => 1 },
	{ name => 'redis', label => 'redis EVALSHA' },
	{ name => 'mb2-tcp', label => 'moonbox, 2 w, TCP', pool => 2, tcp => 1 },
	{ name => 'mb2', label => 'moonbox, 2 workers', pool => 2 },
);

# The pools. w1/w2 run every workload but capability with the defaults but
# for the queue; cap1/cap2 run capability with recycle 0: see README.md,
# "A bug found on the way". kill: the replacement probe. quiet/flood and
# flood2: a quiet pool beside a flooded one.
my $policy = <<'EOF';
pool w1 {
	rules "w1/*"
	workers 1 1
	queue 10000
}
pool w2 {
	rules "w2/*"
	workers 2 2
	queue 10000
}
pool cap1 {
	rules "cap1/*"
	workers 1 1
	queue 10000
	recycle 0
}
pool cap2 {
	rules "cap2/*"
	workers 2 2
	queue 10000
	recycle 0
}
pool kill {
	rules "kill/*"
	workers 1 1
	queue 8
	grace 1ms
}
pool quiet {
	rules "quiet/*"
	workers 1 1
	queue 64
}
pool flood {
	rules "flood/*"
	workers 1 1
	queue 8
	timeout 50ms
}
pool flood2 {
	rules "flood2/*"
	workers 2 2
	queue 8
	timeout 50ms
}
rule "cap1/*" "cap2/*" {
	allow kv read write "bench:"
}
EOF

my $min_workers = 0;
$min_workers += $1 while $policy =~ /^\s*workers (\d+)/mg;

my %extra_rules = (
	'kill/runaway' => "-- backtracks inside string.find: only a kill stops it\n" .
	    "return function() return string.find((\"a\"):rep(300000), " .
	    "\".-.-.-.-x\") end\n",
	'kill/trivial' => "return function() return true end\n",
	'flood/spin' => "return function() while true do end end\n",
	'flood2/spin' => "return function() while true do end end\n",
);

# --- helpers -----------------------------------------------------------------
sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub slurp {
	my ($path) = @_;
	open my $fh, '<', $path or return undef;
	local $/;
	return scalar <$fh>;
}

sub spew {
	my ($path, $text) = @_;
	make_path(dirname($path));
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh or die "$path: $!";
}

sub run_capture {	# the standard output of a command, dying if it fails
	my @cmd = @_;
	open my $fh, '-|', @cmd or die "$cmd[0]: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh;
	die "peers.pl: @cmd: exit " . ($? >> 8) . "\n" if $? != 0 && $? >> 8 != 3;
	return $out;
}

# loadgen's line as a hash
sub parse_lg {
	my ($line) = @_;
	my %r;
	chomp $line;
	my ($value) = $line =~ / value=(.*)$/;
	$line =~ s/ value=.*$//;
	for (split ' ', $line) {
		my ($k, $v) = split /=/, $_, 2;
		$r{$k} = $v;
	}
	$r{value} = $value;
	return \%r;
}

my $tmp = tempdir('/tmp/mbpeers-XXXXXX', CLEANUP => 1);
my @children;	# pids we started, ended at exit
our ($mb, $redis);	# the daemons
END { kill 'KILL', $_ for @children; waitpid($_, 0) for @children; }
$SIG{INT} = $SIG{TERM} = sub { exit 1 };

sub spawn {	# fork and exec, output to a log file; the pid
	my ($log, @cmd) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log or die;
		open STDERR, '>&', \*STDOUT or die;
		exec @cmd or POSIX::_exit(127);
	}
	push @children, $pid;
	return $pid;
}

sub reap {
	my ($pid, $sig) = @_;
	kill $sig // 'TERM', $pid;
	waitpid($pid, 0);
	@children = grep { $_ != $pid } @children;
}

# --- the machine ---------------------------------------------------------------
my ($cpu) = (slurp('/proc/cpuinfo') // '') =~ /^model name\s*:\s*(.*)$/m;
chomp(my $cores = `getconf _NPROCESSORS_ONLN 2>/dev/null` || '?');
chomp(my $kernel = `uname -sr`);
chomp(my $luav = `$lua -v 2>&1 | awk '{ print \$1, \$2; exit }'`);
chomp(my $redisv = `$redis_server --version 2>/dev/null` || '');
($redisv) = $redisv =~ /v=(\S+)/ ? ("Redis $1") : ('no redis-server');
my $machine = sprintf('%s, %s cores, %s, %s, %s', $cpu // '?', $cores,
    $kernel, $luav, $redisv);
my $have_redis = $redisv ne 'no redis-server';

# What else ran: the machine's busy time from /proc/stat, less our own.
sub busy_ticks {
	my ($l) = (slurp('/proc/stat') // '') =~ /^cpu\s+(.*)$/m;
	my @f = split ' ', $l // '';
	return (($f[0] // 0) + ($f[1] // 0) + ($f[2] // 0) + ($f[5] // 0) +
	    ($f[6] // 0) + ($f[7] // 0), eval { my $s = 0; $s += $_ for @f; $s });
}
my @busy0 = busy_ticks();
my $load0 = (split ' ', slurp('/proc/loadavg') // '0')[0];

# --- the runtime benchmark, before any daemon runs ---------------------------------
my ($runtime_json, $runtime_table);
if ($o{runtime}) {
	print STDERR "bench: the runtime (run.sh)\n";
	$runtime_table = run_capture('sh', "$here/run.sh", '-s',
	    "$bd/bench/sbxbench", '-k', "$bd/bench/hookcost", '-o',
	    "$tmp/runtime.json");
	$runtime_json = decode_json(slurp("$tmp/runtime.json"));
}

# --- the daemons -------------------------------------------------------------------
sub free_port {	# a TCP port on 127.0.0.1 that nothing listens on now
	socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
	bind($s, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
	my ($port) = unpack_sockaddr_in(getsockname($s));
	close $s;
	return $port;
}
my $token = join '', map { sprintf '%02x', int rand 256 } 1 .. 16;
my ($mb_port, $redis_port) = (free_port(), free_port());

sub start_moonboxd {
	my $dir = "$tmp/mb";
	spew("$dir/token", "$token\n");
	chmod 0600, "$dir/token";
	spew("$dir/moonboxd.conf", "listen \"mb.sock\"\ncontrol \"ctl.sock\"\n" .
	    "rules \"rules\"\npolicy \"policy.conf\"\nstate \"state\"\n" .
	    "listen-tcp \"127.0.0.1\" $mb_port token-file \"token\"\n");
	spew("$dir/policy.conf", $policy);
	for my $w (@workloads) {
		for my $p (@{ $w->{pools} // ['w1', 'w2'] }) {
			make_path("$dir/rules/$p");
			copy("$here/$w->{rule}", "$dir/rules/$p/$w->{name}.lua")
			    or die "copy: $!";
		}
	}
	for my $p ('cap1', 'cap2') {
		copy("$here/capability-set.lua", "$dir/rules/$p/capability-set.lua")
		    or die "copy: $!";
	}
	spew("$dir/rules/quiet/rule.lua", slurp("$here/rule.lua"));
	spew("$dir/rules/$_.lua", $extra_rules{$_}) for keys %extra_rules;
	my $pid = spawn("$dir/moonboxd.log", $bin{moonboxd}, '-F', '-f',
	    "$dir/moonboxd.conf");
	my $mb = { dir => $dir, pid => $pid, sock => "$dir/mb.sock",
	    ctl => "$dir/ctl.sock", log => "$dir/moonboxd.log" };
	for (1 .. 400) {
		return $mb if -S $mb->{ctl} && workers_ready($mb);
		die "moonboxd exited:\n" . slurp("$dir/moonboxd.log")
		    if waitpid($pid, WNOHANG) == $pid;
		sleep 0.025;
	}
	die "moonboxd did not start:\n" . slurp("$dir/moonboxd.log");
}

sub ctl_json {
	my ($mb, $what) = @_;
	my $out = `'$bin{moonbox}' ctl --json --socket '$mb->{ctl}' $what 2>/dev/null`;
	return $? == 0 ? decode_json($out) : undef;
}

sub workers_ready {	# every current worker idle, and each pool at its minimum
	my ($mb) = @_;
	my $w = ctl_json($mb, 'workers') or return 0;
	my $gen = 0;
	$gen = $_->{generation} > $gen ? $_->{generation} : $gen for @$w;
	my @cur = grep { $_->{generation} == $gen } @$w;
	return @cur >= $min_workers && !grep { $_->{state} ne 'idle' } @cur;
}

sub start_redis {
	my $dir = "$tmp/redis";
	make_path($dir);
	my $pid = spawn("$dir/redis.log", $redis_server, '--unixsocket',
	    "$dir/redis.sock", '--unixsocketperm', '700', '--port', $redis_port,
	    '--bind', '127.0.0.1',
	    '--save', '', '--appendonly', 'no', '--daemonize', 'no',
	    '--dir', $dir);
	for (1 .. 200) {
		last if -S "$dir/redis.sock";
		die "redis-server exited:\n" . slurp("$dir/redis.log")
		    if waitpid($pid, WNOHANG) == $pid;
		sleep 0.025;
	}
	my $r = { dir => $dir, pid => $pid, sock => "$dir/redis.sock",
	    log => "$dir/redis.log" };
	# bench:key for the capability workload, with a script so no redis-cli
	# is needed
	spew("$dir/set.lua", "redis.call('SET', KEYS[1], ARGV[1]) " .
	    "return redis.call('GET', KEYS[1])\n");
	run_capture($bin{loadgen}, '-n', '1', '-R', $r->{sock}, '-e',
	    "$dir/set.lua", '-k', '1', 'bench:key', 'value-0123456789');
	return $r;
}

# A daemon that is gone: restarted if something outside killed it (on a
# machine shared with other work, something may), fatal if it died by
# itself. Returns 1 when one was restarted.
my @restarts;
sub check_daemons {
	my $again = 0;
	for my $d (grep { defined } $mb, $redis) {
		next unless waitpid($d->{pid}, WNOHANG) == $d->{pid};
		my $st = $?;
		@children = grep { $_ != $d->{pid} } @children;
		my $what = $d == $mb ? 'moonboxd' : 'redis-server';
		die "peers.pl: $what exited by itself (status $st):\n" .
		    (slurp($d->{log}) // '') unless ($st & 127) == 9 || ($st & 127) == 15;
		push @restarts, "$what killed by signal " . ($st & 127) .
		    ' from outside; restarted';
		print STDERR "peers.pl: $restarts[-1]\n";
		if ($d == $mb) { $mb = start_moonboxd(); set_up_capability() }
		else { $redis = start_redis() }
		$again = 1;
	}
	return $again;
}

# One loadgen run; the parsed figures.
sub loadgen {
	my (%a) = @_;
	for my $try (1 .. 3) {
		my @cmd = ($bin{loadgen}, '-c', $a{conns}, '-P', $a{depth} // 1);
		push @cmd, defined $a{count} ? ('-n', $a{count}) :
		    ('-d', $a{seconds} // $o{seconds}, '-w', $a{warmup} // $warmup);
		push @cmd, @{ ref $a{target} eq 'CODE' ? $a{target}->() :
		    $a{target} };
		my $out = eval { run_capture(@cmd) };
		return parse_lg($out) if defined $out && !check_daemons();
		die $@ if !defined $out && !check_daemons();
	}
	die "peers.pl: the daemons keep being killed from outside\n";
}

sub target {	# the loadgen arguments of a workload on an engine
	my ($w, $e, $mb, $redis) = @_;
	if ($e->{name} =~ /^redis/) {
		my @t = ('-R', $e->{tcp} ? "127.0.0.1:$redis_port" : $redis->{sock},
		    '-e', "$here/redis/$w->{redis}");
		push @t, '-k', scalar @{ $w->{keys} } if $w->{keys};
		push @t, @{ $w->{keys} // [] };
		push @t, map { s/^@/\@$here\//r } @{ $w->{args} // [] };
		return \@t;
	}
	my $pool = ($w->{pools} // ['w1', 'w2'])->[$e->{pool} - 1];
	my @t = ('-m', $e->{tcp} ? "127.0.0.1:$mb_port" : $mb->{sock}, '-r',
	    "$pool/$w->{name}");
	push @t, '-T', $token if $e->{tcp};
	push @t, '-i', "\@$here/$w->{input}" if $w->{input};
	return \@t;
}

# --- the runs -------------------------------------------------------------------------
my %R = (machine => $machine, rounds => $o{rounds}, seconds => $o{seconds},
    warmup_seconds => $warmup, unit => 'microseconds');
my @table;
sub out { push @table, sprintf(shift, @_) }

sub set_up_capability {
	for my $p ('cap1', 'cap2') {
		my $r = parse_lg(run_capture($bin{loadgen}, '-n', 1, '-m',
		    $mb->{sock}, '-r', "$p/capability-set"));
		die "capability set-up failed\n" unless $r->{errors} == 0;
	}
}
$mb = start_moonboxd();
$redis = $have_redis ? start_redis() : undef;
set_up_capability();

# Every engine on every workload at 1 and 64 connections, engines interleaved
# (their order turns with each round).
sub matrix {
	my ($what, $depth, $engines, @wl) = @_;
	my @active = grep { $_->{name} !~ /^redis/ || $have_redis } @$engines;
	my %cells;
	for my $round (1 .. $o{rounds}) {
		my @order = (@active[($round - 1) % @active .. $#active],
		    @active[0 .. ($round - 1) % @active - 1]);
		for my $w (@wl) {
			for my $conns (1, 64) {
				printf STDERR "  %s round %d/%d: %-10s %2d conns\r",
				    $what, $round, $o{rounds}, $w->{name}, $conns;
				for my $e (@order) {
					my $r = loadgen(conns => $conns, depth => $depth,
					    target => sub { target($w, $e, $mb, $redis) });
					push @{ $cells{"$w->{name}/$conns/$e->{name}"} }, $r;
				}
			}
		}
	}
	print STDERR "\n";
	return \%cells;
}

sub summarize {	# medians over rounds, ratios to redis per round
	my ($cells, $depth, $engines, @wl) = @_;
	my @rows;
	for my $w (@wl) {
		for my $conns (1, 64) {
			for my $e (@$engines) {
				my $base = $cells->{"$w->{name}/$conns/" .
				    ($e->{tcp} ? 'redis-tcp' : 'redis')};
				my $c = $cells->{"$w->{name}/$conns/$e->{name}"} or next;
				my %row = (workload => $w->{name}, conns => $conns,
				    depth => $depth, engine => $e->{name},
				    rounds => $c);
				for my $k (qw(rps p50 p90 p99 p999 max)) {
					$row{$k} = median(map { $_->{$k} } @$c);
				}
				$row{errors} = 0;
				$row{errors} += $_->{errors} + $_->{mismatches} for @$c;
				$row{value} = $c->[0]{value};
				if ($base && $e->{name} !~ /^redis/) {
					$row{rps_ratio} = median(map { $c->[$_]{rps} /
					    $base->[$_]{rps} } 0 .. $#$c);
					$row{p50_ratio} = median(map { $c->[$_]{p50} /
					    $base->[$_]{p50} } 0 .. $#$c);
					$row{p99_ratio} = median(map { $c->[$_]{p99} /
					    $base->[$_]{p99} } 0 .. $#$c);
					# Redis answers a Lua true with the integer 1
					$row{same_value} = ($row{value} eq 'true' ? '1' :
					    $row{value}) eq $base->[0]{value} ? JSON::PP::true :
					    JSON::PP::false;
				}
				push @rows, \%row;
			}
		}
	}
	return \@rows;
}

sub fmt { defined $_[0] ? sprintf($_[1] // '%.1f', $_[0]) : '-' }

sub print_rows {
	my ($title, $rows) = @_;
	out('');
	out('%s', $title);
	out('%-11s %5s %-19s %9s %8s %8s %8s %8s %6s  %s', 'workload', 'conns',
	    'engine', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'errors',
	    'x redis: req/s, p50');
	for my $r (@$rows) {
		my ($e) = grep { $_->{name} eq $r->{engine} } @engines, @tcp_engines;
		out('%-11s %5d %-19s %9.0f %8s %8s %8s %8s %6d  %s', $r->{workload},
		    $r->{conns}, $e->{label}, $r->{rps}, fmt($r->{p50}),
		    fmt($r->{p90}), fmt($r->{p99}), fmt($r->{p999}), $r->{errors},
		    $r->{engine} =~ /^redis/ ? '1, 1' : defined $r->{rps_ratio} ?
		    sprintf('%.3f, %.2f', $r->{rps_ratio}, $r->{p50_ratio}) : '-');
	}
}

out('machine: %s', $machine);
if ($only{peers}) {
	print STDERR "bench: moonboxd and redis, $o{rounds} rounds\n";
	my $rows = summarize(matrix('peers', 1, \@engines, @workloads), 1,
	    \@engines, @workloads);
	$R{peers} = $rows;
	print_rows("moonboxd vs redis-server EVALSHA on unix sockets, one request " .
	    "in flight per connection; $o{rounds} rounds of $o{seconds} s, " .
	    "interleaved, medians; latency in us", $rows);
	for my $r (@$rows) {
		die "peers.pl: $r->{workload}: moonbox and redis returned " .
		    "different values\n" if defined $r->{same_value} &&
		    !$r->{same_value};
	}
}
if ($only{pipeline}) {
	my @wl = grep { $_->{name} eq 'trivial' || $_->{name} eq 'rule' } @workloads;
	my $rows = summarize(matrix('pipelined', 8, \@engines, @wl), 8,
	    \@engines, @wl);
	$R{pipelined} = $rows;
	print_rows("the same with 8 requests in flight per connection", $rows);
}
if ($only{tcp}) {
	my @wl = grep { $_->{name} eq 'trivial' || $_->{name} eq 'rule' } @workloads;
	my $rows = summarize(matrix('tcp', 1, \@tcp_engines, @wl), 1,
	    \@tcp_engines, @wl);
	$R{tcp} = $rows;
	print_rows("over TCP on 127.0.0.1 (moonbox with a token: auth first on " .
	    "each connection), beside the unix socket; x redis over the same " .
	    "transport", $rows);
}

# plain lua5.4 on the cpu workload: its calls, against moonbox's through the
# daemon (one connection, end to end) and redis's.
if ($only{peers}) {
	my @plain;
	for (1 .. $o{rounds}) {
		my @calls = map { (split ' ')[3] } grep { /^plain / }
		    split /\n/, run_capture($lua, "$here/cpu-plain.lua",
		    "$here/cpu.lua", 24);
		push @plain, median(@calls[3 .. $#calls]);
	}
	my $plain = median(@plain);
	my %p50 = map { $_->{engine} => $_->{p50} }
	    grep { $_->{workload} eq 'cpu' && $_->{conns} == 1 } @{ $R{peers} };
	$R{cpu_plain} = { plain_us => $plain, rounds => \@plain,
	    map { ($_ => $p50{$_}, "${_}_ratio" => $p50{$_} / $plain) } keys %p50 };
	out('');
	out('cpu workload, one connection: p50 end to end against plain lua5.4\'s ' .
	    'compile+call (CPU time)');
	out('  plain lua5.4 %.1f us; %s', $plain, join('; ', map {
	    sprintf('%s %.1f us = %.3fx', $_, $p50{$_}, $p50{$_} / $plain) }
	    sort keys %p50));
}

# Where the CPU goes: each process's CPU time over a run at 64 connections,
# per answer. moonboxd's workers are children of the master (a subreaper):
# those alive are read from /proc, those that exited (recycled) are in the
# master's cutime; the spawner's short-lived middle children in its own.
my $hz = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
sub cpu_of {	# [self, waited-for children] in seconds
	my ($pid) = @_;
	my $t = slurp("/proc/$pid/stat") // return [0, 0];
	$t =~ s/^.*\)\s+//s;
	my @f = split ' ', $t;	# from field 3, state
	return [($f[11] + $f[12]) / $hz, ($f[13] + $f[14]) / $hz];
}
sub mb_cpu {	# role => seconds
	my %c = (master => cpu_of($mb->{pid})->[0], workers =>
	    cpu_of($mb->{pid})->[1], broker => 0, spawner => 0);
	for (split /\n/, `ps -o pid=,args= --ppid $mb->{pid}`) {
		my ($pid, $args) = /^\s*(\d+)\s+(.*)$/ or next;
		my $x = cpu_of($pid);
		if ($args =~ /--broker/) { $c{broker} += $x->[0] + $x->[1] }
		elsif ($args eq 'moonboxd --spawner' && !$c{spawner_seen}++) {
			$c{spawner} += $x->[0] + $x->[1];	# the first: the spawner
		} else { $c{workers} += $x->[0] }
	}
	delete $c{spawner_seen};
	return \%c;
}
if ($only{cost}) {
	print STDERR "bench: CPU per answer\n";
	my @rows;
	for my $w (grep { $_->{name} ne 'cpu' } @workloads) {
		for my $e (grep { $_->{name} ne 'mb2' } @engines) {
			next if $e->{name} eq 'redis' && !$have_redis;
			my ($before, $after, @t0, @t1);
			$before = $e->{name} eq 'redis' ? cpu_of($redis->{pid}) : mb_cpu();
			@t0 = times;
			my $r = loadgen(conns => 64, warmup => 0,
			    target => sub { target($w, $e, $mb, $redis) });
			@t1 = times;
			$after = $e->{name} eq 'redis' ? cpu_of($redis->{pid}) : mb_cpu();
			my $n = $r->{answers} || 1;
			my %row = (workload => $w->{name}, engine => $e->{name},
			    rps => $r->{rps}, client_us => (($t1[2] + $t1[3]) -
			    ($t0[2] + $t0[3])) * 1e6 / $n);
			if ($e->{name} eq 'redis') {
				$row{redis_us} = ($after->[0] - $before->[0]) * 1e6 / $n;
			} else {
				$row{"${_}_us"} = ($after->{$_} - $before->{$_}) * 1e6 / $n
				    for keys %$after;
			}
			push @rows, \%row;
		}
	}
	$R{cost} = \@rows;
	out('');
	out('CPU per answer at 64 connections, us (one run of %g s each; ' .
	    '1/%d s clock ticks)', $o{seconds}, $hz);
	out('%-11s %-19s %9s %8s %8s %8s %8s %8s %8s', 'workload', 'engine',
	    'req/s', 'client', 'server', 'master', 'workers', 'broker',
	    'spawner');
	for my $r (@rows) {
		my ($e) = grep { $_->{name} eq $r->{engine} } @engines;
		my $server = $r->{redis_us} // ($r->{master_us} + $r->{workers_us} +
		    $r->{broker_us} + $r->{spawner_us});
		out('%-11s %-19s %9.0f %8.1f %8.1f %8s %8s %8s %8s', $r->{workload},
		    $e->{label}, $r->{rps}, $r->{client_us}, $server,
		    map { fmt($r->{"${_}_us"}) } qw(master workers broker spawner));
	}
}

# A killed worker's replacement: from the kill's answer to the next success.
if ($only{replace}) {
	print STDERR "bench: replacing killed workers\n";
	my (@client, @daemon);
	for my $round (1 .. $o{rounds}) {
		for (split /\n/, run_capture($bin{mbprobe}, $mb->{sock},
		    'kill/runaway', 'kill/trivial', 10, 20, 1)) {
			next unless /^replace (\S+) (\S+)/;
			push @client, $1;
			push @daemon, $2;
		}
	}
	my %rep;
	for (['client', \@client], ['daemon', \@daemon]) {
		my @s = sort { $a <=> $b } @{ $_->[1] };
		$rep{$_->[0]} = { ms => $_->[1], p50 => median(@s), min => $s[0],
		    max => $s[-1], p90 => $s[int(0.9 * $#s)] };
	}
	$R{replace} = \%rep;
	out('');
	out('killed worker replaced (deadline 20 ms, grace 1 ms), %d kills, ms:',
	    scalar @client);
	out('  %-62s p50 %5.2f  p90 %5.2f  min %5.2f  max %5.2f', @$_) for
	    map { my $x = $rep{$_->[0]}; [$_->[1], @$x{qw(p50 p90 min max)}] }
	    (['daemon', 'the next invocation\'s wait in the queue, less 21 ms'],
	    ['client', 'from the timeout answer to the next success, at the client']);
}

# Idle memory from /proc/PID/smaps_rollup.
sub mem_of {
	my ($pid) = @_;
	my $t = slurp("/proc/$pid/smaps_rollup") // '';
	my ($rss) = $t =~ /^Rss:\s+(\d+)/m;
	my ($pss) = $t =~ /^Pss:\s+(\d+)/m;
	return { rss_kib => $rss, pss_kib => $pss };
}
if ($only{memory}) {
	my @w = grep { $_->{state} eq 'idle' && $_->{pool} =~ /^w[12]$/ }
	    @{ ctl_json($mb, 'workers') // [] };
	my @m = map { mem_of($_->{pid}) } @w;
	my $rss = median(map { $_->{rss_kib} } @m);
	my $pss = median(map { $_->{pss_kib} } @m);
	my %proc = (master => $mb->{pid});
	for (split /\n/, `ps -o pid=,args= --ppid $mb->{pid}`) {
		$proc{broker} = $1 if /^\s*(\d+)\s+moonboxd --broker/;
		$proc{spawner} = $1 if /^\s*(\d+)\s+moonboxd --spawner$/;
	}
	$proc{redis} = $redis->{pid} if $redis;
	my %pm = map { $_ => mem_of($proc{$_}) } keys %proc;
	$R{memory} = { idle_worker => { rss_kib => $rss, pss_kib => $pss,
	    workers => scalar @m, each => \@m }, %pm };
	out('');
	out('idle memory, KiB (smaps_rollup): worker RSS %s PSS %s (median of %d ' .
	    'invoked workers); %s', fmt($rss, '%d'), fmt($pss, '%d'), scalar @m,
	    join('; ', map { sprintf('%s RSS %s PSS %s', $_,
	    fmt($pm{$_}{rss_kib}, '%d'), fmt($pm{$_}{pss_kib}, '%d')) }
	    sort keys %pm));
}

# A quiet pool (one worker, the rule workload, one connection) alone, then
# while a neighbour pool is kept full of `while true do end` invocations
# that each run to their 50 ms deadline.
sub flood_start {
	my ($pool, $conns) = @_;
	my $pid = spawn("$tmp/flood.log", $bin{loadgen}, '-c', $conns, '-d',
	    3600, '-m', $mb->{sock}, '-r', "$pool/spin");
	sleep 0.3;
	return $pid;
}
if ($only{isolation}) {
	print STDERR "bench: a quiet pool beside a flooded one\n";
	my @quiet = (conns => 1, target => ['-m', $mb->{sock}, '-r', 'quiet/rule',
	    '-i', "\@$here/rule-event.json"]);
	my %iso;
	for my $round (1 .. $o{rounds}) {
		push @{ $iso{alone} }, loadgen(@quiet);
		for my $f (['flood', 8], ['flood2', 8]) {
			my $pid = flood_start(@$f);
			push @{ $iso{$f->[0]} }, loadgen(@quiet);
			reap($pid, 'INT');
			sleep 0.2;
		}
	}
	my %s;
	for my $k (keys %iso) {
		$s{$k} = { map { my $q = $_; ($q => median(map { $_->{$q} }
		    @{ $iso{$k} })) } qw(rps p50 p90 p99 p999) };
		$s{$k}{errors} = 0;
		$s{$k}{errors} += $_->{errors} for @{ $iso{$k} };
		$s{$k}{rounds} = $iso{$k};
	}
	for my $k ('flood', 'flood2') {
		$s{$k}{p99_ratio} = median(map { $iso{$k}[$_]{p99} /
		    $iso{alone}[$_]{p99} } 0 .. $o{rounds} - 1);
		$s{$k}{p50_ratio} = median(map { $iso{$k}[$_]{p50} /
		    $iso{alone}[$_]{p50} } 0 .. $o{rounds} - 1);
	}
	# a flooding rule the worker should stop by itself at its deadline;
	# it is killed when the worker got no CPU in time to
	my $st = ctl_json($mb, 'stats');
	my %kills = map { $_->{name} => $_->{kills} } @{ $st ? $st->{pools} : [] };
	$s{$_}{kills} = $kills{$_} for 'flood', 'flood2';
	$R{isolation} = \%s;
	out('');
	out('quiet pool (1 worker, rule workload, 1 connection) beside a flooded ' .
	    'pool (8 connections of while-true rules, 50 ms deadline):');
	out('%-44s %9s %8s %8s %8s %8s  %s', '', 'req/s', 'p50', 'p90', 'p99',
	    'p99.9', 'p99, p50 x alone');
	for (['alone', 'alone'], ['flood', 'flooded pool of 1 worker'],
	    ['flood2', 'flooded pool of 2 workers (more than cores)']) {
		my $x = $s{$_->[0]};
		out('%-44s %9.0f %8s %8s %8s %8s  %s', $_->[1], $x->{rps},
		    fmt($x->{p50}), fmt($x->{p90}), fmt($x->{p99}), fmt($x->{p999}),
		    defined $x->{p99_ratio} ? sprintf('%.2f, %.2f', $x->{p99_ratio},
		    $x->{p50_ratio}) : '1, 1');
	}
	out('  flood workers killed at deadline + grace (starved of CPU before ' .
	    'their own timer stopped the rule): %s with 1 worker, %s with 2',
	    $s{flood}{kills} // '?', $s{flood2}{kills} // '?');
}

# Throughput while reloading: SIGHUP every 200 ms during a run.
if ($only{reload}) {
	print STDERR "bench: reloading under load\n";
	my @t = (conns => 64, seconds => 2 * $o{seconds}, target => ['-m',
	    $mb->{sock}, '-r', 'w2/rule', '-i', "\@$here/rule-event.json"]);
	my %rl;
	for my $round (1 .. $o{rounds}) {
		push @{ $rl{steady} }, loadgen(@t);
		my $hup = fork // die "fork: $!";
		if ($hup == 0) {
			$SIG{TERM} = sub { POSIX::_exit(0) };
			while (1) { sleep 0.2; kill 'HUP', $mb->{pid} }
		}
		push @children, $hup;
		push @{ $rl{reload} }, loadgen(@t);
		reap($hup);
		sleep 0.5 until workers_ready($mb);
	}
	my %s;
	for my $k (keys %rl) {
		$s{$k} = { map { my $q = $_; ($q => median(map { $_->{$q} }
		    @{ $rl{$k} })) } qw(rps p50 p99 p999) };
		$s{$k}{errors} = 0;
		$s{$k}{errors} += $_->{errors} + $_->{mismatches} for @{ $rl{$k} };
		$s{$k}{rounds} = $rl{$k};
	}
	$s{reload}{rps_ratio} = median(map { $rl{reload}[$_]{rps} /
	    $rl{steady}[$_]{rps} } 0 .. $o{rounds} - 1);
	my $st = ctl_json($mb, 'stats');
	$s{reloads} = $st ? $st->{reloads} : undef;
	$R{reload} = \%s;
	out('');
	out('reloading under load (rule workload, 2 workers, 64 connections, ' .
	    'runs of %g s; SIGHUP every 200 ms):', 2 * $o{seconds});
	for (['steady', 'no reload'], ['reload', 'SIGHUP every 200 ms']) {
		my $x = $s{$_->[0]};
		out('  %-20s %9.0f req/s  p50 %s  p99 %s  p99.9 %s us  errors %d%s',
		    $_->[1], $x->{rps}, fmt($x->{p50}), fmt($x->{p99}),
		    fmt($x->{p999}), $x->{errors}, $_->[0] eq 'reload' ?
		    sprintf('  (%.3fx; %d reloads in all)', $x->{rps_ratio},
		    $s{reloads} // 0) : '');
	}
}

# --- goals -------------------------------------------------------------------------------
sub best {	# the better moonbox row (more req/s) for a workload and conns
	my ($wl, $conns, $key) = @_;
	my @r = grep { $_->{workload} eq $wl && $_->{conns} == $conns &&
	    $_->{engine} ne 'redis' } @{ $R{peers} // [] };
	return undef unless @r;
	@r = sort { $b->{rps} <=> $a->{rps} } @r if $key eq 'rps_ratio';
	@r = sort { $a->{p50} <=> $b->{p50} } @r if $key eq 'p50_ratio';
	return $r[0];
}
my @goals;
sub goal {
	my ($what, $target, $v, $le, $fmt, $note) = @_;
	return unless defined $v;
	my $met = $le ? $v <= $target : $v >= $target;
	my $by = $met ? '' : $le ? sprintf(' (%.2fx over)', $v / $target) :
	    sprintf(' (%.2fx short)', $target / $v);
	push @goals, { goal => $what, target => $target, measured => $v,
	    met => $met ? JSON::PP::true : JSON::PP::false, note => $note };
	out('%-52s %s %-6s %-10s %s%s', $what, $le ? '<=' : '>=',
	    sprintf($fmt, $target), sprintf($fmt, $v), $met ? 'met' : 'missed',
	    $by . ($note ? "; $note" : ''));
}
out('');
out('goals                                                target     measured');
for (['trivial', 1.0], ['rule', 1.5]) {
	my $r = best($_->[0], 64, 'rps_ratio') or next;
	goal("$_->[0], 64 connections: req/s x redis", $_->[1], $r->{rps_ratio},
	    0, '%.3f', ($r->{engine} eq 'mb1' ? '1 worker' : '2 workers'));
}
for ('trivial', 'rule') {
	my $r = best($_, 1, 'p50_ratio') or next;
	goal("$_, 1 connection: p50 x redis", 2.5, $r->{p50_ratio}, 1, '%.2f',
	    ($r->{engine} eq 'mb1' ? '1 worker' : '2 workers'));
}
if ($runtime_json) {
	my $x = $runtime_json->{ratios_to_plain}{'cpu-limits'};
	goal('cpu: sandbox x plain lua5.4, in process (run.sh)', 1.10,
	    $x->{median}, 1, '%.3f', 'CPU time') if $x;
}
if ($R{cpu_plain}) {
	my $x = $R{cpu_plain}{mb1_ratio};
	goal('cpu: moonboxd p50 x plain lua5.4, end to end', 1.10, $x, 1, '%.3f',
	    'wall vs CPU time');
}
goal('killed worker replaced, p50 (ms)', 2, $R{replace}{client}{p50}, 1,
    '%.2f', sprintf('max %.2f ms, at the client; %.2f as the daemon counts it',
    $R{replace}{client}{max}, $R{replace}{daemon}{p50})) if $R{replace};
goal('quiet pool p99 x alone, neighbour flooded', 1.5,
    $R{isolation}{flood}{p99_ratio}, 1, '%.2f', '1-worker flood pool')
    if $R{isolation};
$R{goals} = \@goals;

if ($runtime_table) {
	out('');
	out('the runtime (bench/run.sh):');
	push @table, grep { !/^machine: / } split /\n/, $runtime_table;
	$R{runtime} = $runtime_json;
}

# --- out ----------------------------------------------------------------------------------
reap($mb->{pid});
reap($redis->{pid}) if $redis;
{
	my @busy1 = busy_ticks();
	my @t = times;
	my $ours = ($t[0] + $t[1] + $t[2] + $t[3]) * $hz;
	my $all = $busy1[1] - $busy0[1] || 1;
	my $other = ($busy1[0] - $busy0[0] - $ours) / $all;
	$other = 0 if $other < 0;
	my $load1 = (split ' ', slurp('/proc/loadavg') // '0')[0];
	$R{machine_load} = { other_processes_share => $other,
	    loadavg_start => $load0, loadavg_end => $load1,
	    restarts => \@restarts };
	splice @table, 1, 0, sprintf('load: other processes kept %.0f%% of the ' .
	    'CPUs busy during the run; load average %s at the start, %s at the ' .
	    'end%s', 100 * $other, $load0, $load1, @restarts ? '; ' .
	    join('; ', @restarts) : '');
}
print "$_\n" for @table;
$R{table} = \@table;
make_path(dirname($o{out}));
spew($o{out}, JSON::PP->new->canonical->pretty->encode(\%R));
print STDERR "figures written to $o{out}\n";
