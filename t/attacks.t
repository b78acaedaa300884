#!/usr/bin/perl
# Attack rules: every file in t/attacks/ is one attack whose header says what
# it tries and the exact outcome a user must see:
#
#   -- attack: what the rule tries (the test's name)
#   -- expect: the error kind, or ok
#   -- message: a Perl regex the error message must match (optional)
#   -- result: the exact result, as JSON (optional, with expect: ok)
#   -- args: more `moonbox run` options (optional)
#   -- log-bytes-at-most: N / log-dropped: yes (optional)
#   -- runaway: c (the attack is stuck inside C, where no hook fires: only
#      the worker's deadline stops it)
#   -- todo: a known weakness, not fixed yet: its result check is TODO
#
# Each attack also runs in one process with a harmless rule after it, as a
# daemon worker runs invocations: the next invocation must be unaffected.
# Adding an attack is adding a file.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use MB;

# Past the deadline, how long a worker stuck in C may take to be killed and
# reported: the worker's grace, process start-up, sanitizer overhead.
my $KILL_SLACK_S = 1.5;
# Every other attack must end within its deadline and this much more.
my $END_SLACK_S = 2.0;
my $RUNAWAY_TODO = 'a runaway inside C is stopped by the worker deadline '
    . '(moonbox run in a worker)';
my $MSGH_TODO = 'the error text is lost by the message handler (invoke.c '
    . 'inv_msgh adds the luaL_buffinit placeholder instead of the text)';

my $dir = top_srcdir() . '/t/attacks';
my @files = sort glob("$dir/*.lua");
my $runseq = $ENV{RUNSEQ} // top_builddir() . '/t/runseq';
my $canary = write_file(tmpdir() . '/canary.lua',
    "return function() local t = {} for i = 1, 1000 do t[i] = i end\n"
    . "return { sum = #t, rep = ('ab'):rep(3), io = type(io) } end\n");
my $canary_result = { sum => 1000, rep => 'ababab', io => 'nil' };

cmp_ok(scalar @files, '>=', 40, 'there are at least 40 attack rules');

sub header {
	my ($path) = @_;
	my %h = (args => '');
	open my $fh, '<', $path or die "$path: $!";
	while (my $line = <$fh>) {
		last unless $line =~ /^--/;
		$h{$1} = $2 if $line =~ /^--\s*([a-z-]+):\s*(.*?)\s*$/;
	}
	close $fh;
	die "$path: no attack or expect line\n" unless $h{attack} && $h{expect};
	return \%h;
}

sub timeout_s {
	my ($args) = @_;
	return 1.0 unless $args =~ /--timeout\s+(\d+)(ms|s)?/;
	return ($2 // 's') eq 'ms' ? $1 / 1000 : $1;
}

sub kind_of {
	my ($res) = @_;
	return 'no JSON' unless ref $res eq 'HASH';
	return $res->{ok} ? 'ok' : $res->{error}{kind} // 'no kind';
}

# The message's text (not its traceback) must match; marked TODO while the
# message handler drops the text.
sub check_message {
	my ($name, $res, $re) = @_;
	my $msg = ref $res eq 'HASH' ? $res->{error}{message} // '' : '';
	my ($text) = $msg =~ /\A(.*?)(?:\nstack traceback:|\z)/s;
	local $TODO = $text eq '' ? $MSGH_TODO : undef;
	like($text, qr/$re/, "$name: the message says so");
}

sub check_run {
	my ($name, $h, $r, $took) = @_;
	my $res = $r->{res};
	my $kind = kind_of($res);
	my $limit = timeout_s($h->{args});

	if (($h->{runaway} // '') eq 'c') {
		my $stuck = $kind ne 'timeout' || $took > $limit + $KILL_SLACK_S;
		local $TODO = $stuck ? $RUNAWAY_TODO : undef;
		ok(!$stuck, "$name: fails with timeout within its deadline")
		    or diag sprintf("kind %s after %.2f s", $kind, $took);
		return;
	}
	is($kind, $h->{expect}, "$name: fails with $h->{expect}")
	    or diag "status $r->{status}\nout: $r->{out}\nerr: $r->{err}";
	cmp_ok($took, '<', $limit + $END_SLACK_S,
	    "$name: ends within its deadline");
	is($r->{status}, $h->{expect} eq 'ok' ? 0 : 1,
	    "$name: exits with the status of its kind");
	check_message($name, $res, $h->{message}) if defined $h->{message};
	if (defined $h->{result}) {
		local $TODO = $h->{todo};
		is_deeply($res->{result}, json_decode($h->{result}),
		    "$name: returns the expected result");
	}
	if (defined $h->{'log-bytes-at-most'}) {
		my $bytes = 0;
		$bytes += length for @{ $res->{log} // [] };
		cmp_ok($bytes, '<=', $h->{'log-bytes-at-most'},
		    "$name: keeps the log under its limit");
	}
	if (($h->{'log-dropped'} // '') eq 'yes') {
		cmp_ok($res->{usage}{log_dropped} // 0, '>', 0,
		    "$name: counts the dropped lines");
	}
}

# The attack then a harmless rule, in one process: the second is unaffected.
# The process gets its deadline and a few seconds: no hook may be needed
# from outside, as a worker's master would.
sub check_next {
	my ($name, $path, $h) = @_;
	my @args = split ' ', $h->{args};
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		exec($runseq, @args, $path, $canary) or die "$runseq: $!";
	}
	my @lines;
	eval {
		local $SIG{ALRM} = sub { die "stuck\n" };
		alarm(int(timeout_s($h->{args}) + 10));
		@lines = <$fh>;
		alarm(0);
	};
	kill('KILL', $pid) if $@;
	close $fh;
	my $first = eval { json_decode($lines[0] // '') };
	my $next = eval { json_decode($lines[1] // '') };
	is(kind_of($first), $h->{expect},
	    "$name: fails with $h->{expect} in a worker's process too")
	    or diag($@ ? 'the process was stuck and killed' : "status $?");
	ok($next && $next->{ok} &&
	    eq_deeply_json($next->{result}, $canary_result),
	    "$name: the next invocation in that process is unaffected")
	    or diag "status $?: @lines";
}

sub eq_deeply_json {
	my ($a, $b) = @_;
	return json_encode($a) eq json_encode($b);
}

for my $path (@files) {
	my ($base) = $path =~ m{([^/]+)\.lua\z};
	my $h = header($path);
	my $name = "$base ($h->{attack})";
	my $t0 = time;
	my $r = run_rule($path, split(' ', $h->{args}));
	my $took = time - $t0;

	unlike($r->{err}, qr/AddressSanitizer|runtime error:|LeakSanitizer/,
	    "$base: no sanitizer report");
	check_run($name, $h, $r, $took);
	check_next($base, $path, $h) unless ($h->{runaway} // '') eq 'c';
}

# A precompiled chunk as the rule file: refused before Lua sees it. The
# bytes are a real Lua 5.4 chunk (string.dump of `return 1`), header first.
{
	my $chunk = pack('H*', '1b4c7561540019930d0a1a0a040808785600000000'
	    . '0000000000000028774001808080000102845100000001000080460002014600'
	    . '010180810100008080808080');
	my $path = write_file(tmpdir() . '/bytecode.lua', $chunk);
	my $r = run_rule($path);
	is(kind_of($r->{res}), 'syntax',
	    'a precompiled chunk as the rule file fails with syntax');
	like($r->{res}{error}{message} // '', qr/precompiled chunks are refused/,
	    'a precompiled chunk as the rule file: the message says why');
	$path = write_file(tmpdir() . '/bytecode-shebang.lua', "#!/x\n$chunk");
	$r = run_rule($path);
	is(kind_of($r->{res}), 'syntax',
	    'a precompiled chunk after a #! line fails with syntax');
}

done_testing();
