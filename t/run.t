#!/usr/bin/perl
# `moonbox run` as a user sees it: the result on stdout, errors as
# `moonbox: KIND: MESSAGE` with an exit status by kind, the --json object
# other tools parse (tested key by key and type by type), the options and
# their values, the limits and their usage figures, the log, and the
# conversion of input and result values end to end.
#
# Tests in TODO blocks show bugs in files this suite's author may not
# change; each names the file. They pass as expected failures now and
# turn the run red (an unexpected pass) once fixed: then drop the TODO.
use strict;
use warnings;
use B ();
use Test::More;
use Time::HiRes qw(time);
use MB;

my $dir = tmpdir();
my $n = 0;

# A rule file named NAME.lua (or a fresh name) holding SRC; its path.
sub rule {
	my ($src, $name) = @_;
	$name //= 'r' . ++$n;
	return write_file("$dir/$name.lua", $src);
}

sub plain { return (@_, { plain => 1 }) }

# What JSON type a decoded value had: JSON::PP gives integers IV, reals NV.
sub jtype {
	my ($v) = @_;
	return 'null' unless defined $v;
	return 'boolean' if JSON::PP::is_bool($v);
	return 'array' if ref $v eq 'ARRAY';
	return 'object' if ref $v eq 'HASH';
	my $f = B::svref_2object(\$v)->FLAGS;
	return 'string' if ($f & B::SVp_POK) && !($f & (B::SVp_IOK | B::SVp_NOK));
	return 'integer' if ($f & B::SVp_IOK) && !($f & B::SVp_NOK);
	return 'real';
}

# The --json object has exactly the documented shape.
sub json_shape_ok {
	my ($r, $what) = @_;
	my $res = $r->{res};
	my $ok = ref $res eq 'HASH';
	my @top = $ok ? sort keys %$res : ();
	my @want = $ok && JSON::PP::is_bool($res->{ok}) && $res->{ok} ?
	    qw(log ok result usage) : qw(error log ok usage);
	my $u = $ok ? $res->{usage} : undef;

	subtest "$what: the --json object has its documented shape" => sub {
		ok($ok, 'stdout is one JSON object') or diag $r->{out};
		return unless $ok;
		is(($r->{out} =~ tr/\n//), 1, 'on one line');
		is_deeply(\@top, \@want, 'its keys are ' . join(',', @want));
		is(jtype($res->{ok}), 'boolean', 'ok is a boolean');
		if (!$res->{ok}) {
			is(jtype($res->{error}), 'object', 'error is an object');
			is_deeply([sort keys %{ $res->{error} }],
			    [qw(kind message)], 'error has kind and message');
			is(jtype($res->{error}{kind}), 'string', 'kind is a string');
			is(jtype($res->{error}{message}), 'string',
			    'message is a string');
		}
		is(jtype($u), 'object', 'usage is an object');
		is_deeply([sort keys %$u],
		    [qw(calls cpu_ms instructions log_dropped memory wall_ms)],
		    'usage has instructions, memory, cpu_ms, wall_ms, calls, log_dropped');
		like(jtype($u->{instructions}), qr/^(integer|null)$/,
		    'usage.instructions is an integer or null');
		is(jtype($u->{memory}), 'integer', 'usage.memory is an integer');
		is(jtype($u->{log_dropped}), 'integer',
		    'usage.log_dropped is an integer');
		for my $k (qw(cpu_ms wall_ms)) {
			like(jtype($u->{$k}), qr/^(real|integer)$/,
			    "usage.$k is a number");
			ok($u->{$k} >= 0, "usage.$k is not negative");
		}
		is(jtype($res->{log}), 'array', 'log is an array');
		is(scalar(grep { jtype($_) ne 'string' } @{ $res->{log} }), 0,
		    'every log entry is a string');
		is($r->{err}, '', 'nothing is written to stderr');
	};
}

# A failure with --json: status, kind, message (a regexp or a string).
sub fails_with {
	my ($r, $kind, $msg, $what) = @_;
	my $status = { not_found => 2, bad_request => 2 }->{$kind} // 1;
	my $e = ref $r->{res} eq 'HASH' ? $r->{res}{error} : undef;

	subtest "$what" => sub {
		is($r->{status}, $status, "exit status $status");
		ok(ref $r->{res} eq 'HASH' && !$r->{res}{ok}, 'ok is false')
		    or diag "out: $r->{out}\nerr: $r->{err}";
		is($e && $e->{kind}, $kind, "kind $kind");
		if (ref $msg eq 'Regexp') {
			like($e && $e->{message}, $msg, 'its message');
		} elsif (defined $msg) {
			is($e && $e->{message}, $msg, 'its message');
		}
	};
}

# A success with --json, and its result.
sub succeeds {
	my ($r, $want, $what) = @_;
	subtest "$what" => sub {
		is($r->{status}, 0, 'exit status 0') or diag $r->{out} . $r->{err};
		ok(ref $r->{res} eq 'HASH' && $r->{res}{ok}, 'ok is true');
		is_deeply($r->{res} && $r->{res}{result}, $want, 'its result');
	};
}

# --- A run: the result on stdout, or an error on stderr. ----------------

my $echo = rule('return function(event) return event end', 'echo');
my $loop = rule('return function() while true do end end', 'loop');
my $r = run_rule($echo, plain('--input', '{"x":[1,2.5],"y":"z"}'));
is($r->{out}, qq({"x":[1,2.5],"y":"z"}\n),
    'a rule\'s result is printed on stdout as compact JSON');
is($r->{status}, 0, 'a rule that succeeds exits with status 0');
is($r->{err}, '', 'a rule that succeeds and prints nothing writes nothing on stderr');

$r = run_rule($echo, plain());
is($r->{out}, "null\n", 'without --input the event is nil and the result null');
$r = run_rule(rule('return function() end'), plain());
is($r->{out}, "null\n", 'a rule that returns nothing prints null');
$r = run_rule(rule('return function() return 1, 2 end'), plain());
is($r->{out}, "1\n", 'only the first of several results is printed');

my $ctx = rule('return function(e, ctx) return ctx end', 'ctxrule');
my ($c1, $c2) = map { run_rule($ctx)->{res}{result} } 1 .. 2;
is($c1->{rule}, "$dir/ctxrule", 'ctx.rule is the rule\'s path without .lua');
like($c1->{invocation}, qr/^[0-9a-f]{16}$/, 'ctx.invocation is 16 hex digits');
isnt($c1->{invocation}, $c2->{invocation}, 'every invocation has its own id');

my $in = write_file("$dir/in.json", qq({"from":"file"}\n));
$r = run_rule($echo, plain('--input-file', $in));
is($r->{out}, qq({"from":"file"}\n), '--input-file reads the event from a file');
$r = run_rule($echo, '--input-file', '-', { stdin => '[1,"stdin"]', plain => 1 });
is($r->{out}, qq([1,"stdin"]\n), '--input-file - reads the event from standard input');

$r = run_rule(rule('return function() error("boom") end'), plain());
is($r->{out}, '', 'a failed rule prints nothing on stdout');
like($r->{err}, qr/^moonbox: runtime: /, 'a failure is "moonbox: KIND: MESSAGE" on stderr');
is($r->{status}, 1, 'a rule that fails exits with status 1');

# --- Every kind a user can meet, with its exit status. -----------------

my %kinds = (
	not_found => [ "$dir/no-such-rule.lua", [], 2,
	    qr/^\Q$dir\E\/no-such-rule\.lua: no such rule file$/ ],
	bad_request => [ $dir, [], 2, qr/^\Q$dir\E: Is a directory$/ ],
	syntax => [ rule("return function(\n end"), [], 1,
	    qr/^\Q$dir\E\/r\d+\.lua:2: .* expected near 'end'$/ ],
	runtime => [ rule('return 42'), [], 1,
	    qr/the rule must return a function/ ],
	memory => [ rule('return function() local t = {} '
	    . 'for i = 1, 1e8 do t[i] = i end end'), [ '--memory', '1M' ], 1,
	    'memory limit of 1048576 bytes exceeded' ],
	instructions => [ rule('return function() while true do end end'),
	    [ '--instructions', '1000' ], 1,
	    'instruction budget of 1000 exhausted' ],
	timeout => [ rule('return function() while true do end end'),
	    [ '--timeout', '100ms' ], 1, 'deadline of 100 ms passed' ],
	output => [ rule('return function() return {f = print} end'), [], 1,
	    'result.f: a function cannot be converted' ],
);
for my $kind (sort keys %kinds) {
	my ($path, $args, $status, $msg) = @{ $kinds{$kind} };
	my $plain = run_rule($path, @$args, { plain => 1 });
	my $json = run_rule($path, @$args);

	is($plain->{status}, $status, "kind $kind exits with status $status");
	like($plain->{err}, qr/^moonbox: $kind: /m,
	    "kind $kind is reported as 'moonbox: $kind: …' on stderr");
	is($plain->{out}, '', "kind $kind prints nothing on stdout");
	fails_with($json, $kind, $msg, "kind $kind with --json");
	json_shape_ok($json, "kind $kind");
	is($json->{status}, $status, "kind $kind with --json exits with status $status too");
}

$r = run_rule($echo, plain('--input', "\"\xff\""));
like($r->{err}, qr/^moonbox: bad_request: input is not valid JSON: /,
    'input that is not UTF-8 is a bad_request');
$r = run_rule($echo, plain('--input', '{"a":'));
is($r->{status}, 2, 'input that is not JSON exits with status 2');
like($r->{err}, qr/^moonbox: bad_request: input is not valid JSON: .*line 1/,
    'input that is not JSON is a bad_request saying where');
$r = run_rule($echo, plain('--input-file', "$dir/no-such-input.json"));
is($r->{status}, 2, 'a missing input file exits with status 2');
like($r->{err}, qr/^moonbox: bad_request: --input-file \Q$dir\E\/no-such-input\.json: No such file/,
    'a missing input file is a bad_request naming it');

# --- --json: one object, always the same shape. -------------------------

$r = run_rule(rule('return function(e) print("hello", 1) return {e, 2.5} end'),
    '--input', '"x"');
json_shape_ok($r, 'a success');
succeeds($r, [ 'x', 2.5 ], 'a success with --json has ok true and the result');
is_deeply($r->{res}{log}, [ "hello\t1" ], 'with --json, print goes to the log array');
is($r->{res}{usage}{instructions}, undef,
    'usage.instructions is null when no budget was given');
ok($r->{res}{usage}{memory} > 0 && $r->{res}{usage}{memory} <= 8 << 20,
    'usage.memory is the peak, under the default 8M limit');
is($r->{res}{usage}{log_dropped}, 0, 'usage.log_dropped is 0 when nothing was dropped');

$r = run_rule("$dir/none.lua");
json_shape_ok($r, 'a missing rule');
is($r->{res}{usage}{memory}, 0, 'a rule that never ran used no memory');

$r = run_rule("$dir/bad\xffname.lua");
json_shape_ok($r, 'a file name that is not UTF-8');
like($r->{res}{error}{message}, qr/^\Q$dir\E\/bad\?name\.lua: no such rule file$/,
    'a message that is not UTF-8 keeps its error object, bad bytes as ?');

$r = run_rule($echo, '--memory', 'lots');
ok(ref $r->{res} eq 'HASH', '--json prints its object even for a bad option value')
    or diag "out: '$r->{out}' err: '$r->{err}'";
$r = run_rule($echo, '--input', '{');
ok(ref $r->{res} eq 'HASH', '--json prints its object even for bad input JSON');

# --- Options. -----------------------------------------------------------

$r = run_rule($echo, plain('--help'));
is($r->{status}, 0, 'run --help exits with status 0');
like($r->{out}, qr/^usage: moonbox run RULE\.lua/, 'run --help prints the usage on stdout');
for my $opt (qw(--input --input-file --memory --instructions --timeout
    --output-limit --log-limit --json --stats --help --version)) {
	like($r->{out}, qr/^\s+\Q$opt\E\b/m, "run --help describes $opt");
}
$r = run_rule($echo, plain('--version'));
like($r->{out}, qr/^moonbox \d+\.\d+\.\d+\n\z/, 'run --version prints the version');
is($r->{status}, 0, 'run --version exits with status 0');

my ($st, $out, $err) = MB::capture(undef, moonbox(), '--version');
like($out, qr/^moonbox \d+\.\d+\.\d+\n\z/, 'moonbox --version prints the version');
($st, $out, $err) = MB::capture(undef, moonbox(), '--help');
like($out, qr/^usage: moonbox COMMAND.*\n  run /s, 'moonbox --help lists the run command');
($st, $out, $err) = MB::capture(undef, moonbox());
is($st >> 8, 2, 'moonbox without a command exits with status 2');
like($err, qr/^usage: moonbox/, '... and prints the usage on stderr');
($st, $out, $err) = MB::capture(undef, moonbox(), 'frobnicate');
is($st >> 8, 2, 'an unknown command exits with status 2');
like($err, qr/^moonbox: bad_request: unknown command 'frobnicate'/,
    'an unknown command is a bad_request naming it');
($st, $out, $err) = MB::capture(undef, moonbox(), 'run');
is($st >> 8, 2, 'run without a rule exits with status 2');
like($err, qr/^usage: moonbox run/, 'run without a rule prints the usage on stderr');
($st, $out, $err) = MB::capture(undef, moonbox(), 'run', $echo, $echo);
is($st >> 8, 2, 'run with two rules exits with status 2');

$r = run_rule('--json', $echo);
ok($r->{res} && $r->{res}{ok}, 'options may come before the rule (getopt_long)');
$r = run_rule($loop, '--instr', '100');
is($r->{res} && $r->{res}{usage}{instructions}, 100,
    'a long option may be abbreviated (--instr for --instructions)');

my @bad = (
	[ '--memory', '0' ], [ '--memory', '16Q' ], [ '--memory', '-1' ],
	[ '--memory', '' ], [ '--memory', '1.5M' ], [ '--memory', '1025G' ],
	[ '--memory', '99999999999999999999' ],
	[ '--instructions', '-1' ], [ '--instructions', '1e3' ],
	[ '--instructions', '10K' ], [ '--instructions', 'many' ],
	[ '--instructions', '18446744073709551616' ],
	[ '--timeout', '0' ], [ '--timeout', '2h' ], [ '--timeout', '3601s' ],
	[ '--timeout', '-5' ], [ '--timeout', 'soon' ], [ '--timeout', '5 ms' ],
	[ '--output-limit', '0' ], [ '--output-limit', 'big' ],
	[ '--log-limit', '-1' ], [ '--log-limit', '1X' ],
);
for my $b (@bad) {
	my ($opt, $val) = @$b;
	$r = run_rule($echo, plain($opt, $val));
	is($r->{status}, 2, "$opt '$val' is refused with exit status 2");
	like($r->{err}, qr/^moonbox: bad_request: \Q$opt $val\E: expected /,
	    "$opt '$val' is a bad_request naming the option and value");
}
my @good = (
	[ '--memory', '16M' ], [ '--memory', '1GiB' ], [ '--memory', '64k' ],
	[ '--memory', '65536' ], [ '--memory', '1024G' ],
	[ '--timeout', '200ms' ], [ '--timeout', '2s' ], [ '--timeout', '1500' ],
	[ '--timeout', '500000us' ], [ '--timeout', '3600s' ],
	[ '--instructions', '0' ], [ '--instructions', '1000000' ],
	[ '--output-limit', '1M' ], [ '--log-limit', '0' ], [ '--log-limit', '1K' ],
);
for my $g (@good) {
	my ($opt, $val) = @$g;
	$r = run_rule($echo, $opt, $val);
	is($r->{status}, 0, "$opt '$val' is accepted");
}
$r = run_rule($echo, plain('--bogus'));
is($r->{status}, 2, 'an unknown option exits with status 2');
like($r->{err}, qr/^moonbox: bad_request: unknown option --bogus/,
    'an unknown option is a bad_request naming it');
$r = run_rule($echo, plain('-x'));
like($r->{err}, qr/^moonbox: bad_request: unknown option -x/,
    'an unknown short option is a bad_request naming it');
$r = run_rule($echo, plain('--stats', '-xy'));
like($r->{err}, qr/^moonbox: bad_request: unknown option -x/,
    'an unknown short option in a cluster is named, not the option before it');
$r = run_rule($echo, plain('--json=yes'));
like($r->{err}, qr/^moonbox: bad_request: --json takes no value/,
    'a flag given a value is a bad_request');
$r = run_rule($echo, plain('--memory'));
is($r->{status}, 2, 'an option without its value exits with status 2');
like($r->{err}, qr/^moonbox: bad_request: --memory needs a value/,
    'an option without its value is a bad_request saying so');

# --memory 1024G is accepted; just below 2^64 it was accepted too and
# wrapped limit.c's reserve, turning a plain error() into kind memory.
$r = run_rule(rule('return function() error("plain") end'), '--memory', '1024G');
is($r->{res}{error}{kind}, 'runtime', 'a huge memory limit leaves a plain error a runtime error');

# --- Syntax and the chunk. -----------------------------------------------

my $bc = "$dir/bytecode.lua";
write_file($bc, "\x1bLua\x54\x00\x19\x93\r\n\x1a\n");
fails_with(run_rule($bc), 'syntax',
    "$bc: precompiled chunks are refused; send the rule's source text",
    'a chunk starting with "\\27Lua" (bytecode) is refused as syntax');
SKIP: {
	my $luac = `command -v luac5.4 2>/dev/null` || `command -v luac 2>/dev/null`;
	chomp $luac;
	skip 'no luac to make real bytecode', 1 unless $luac;
	my $src = rule('return function() return "compiled" end');
	system($luac, '-o', "$dir/real.luac", $src) == 0 or skip 'luac failed', 1;
	fails_with(run_rule("$dir/real.luac"), 'syntax', qr/precompiled chunks are refused/,
	    'real luac output is refused as syntax');
}
fails_with(run_rule(rule('return 42')), 'runtime',
    qr/^\Q$dir\E\/r\d+\.lua: the rule must return a function \(it returned a number value\)$/,
    'a rule whose chunk does not return a function is a runtime error');
fails_with(run_rule(rule('')), 'runtime', qr/it returned a nil value/,
    'an empty rule file is a runtime error: it returns no function');
fails_with(run_rule(rule('error("at load")')), 'runtime', qr/stack traceback:/,
    'an error while the chunk runs is a runtime error');

# --- Runtime errors: file:line and a short traceback. -------------------

my $rt = rule(<<'EOF', 'rterr');
local function f(x)
  error("boom " .. x)
end
return function(e)
  f(e)
end
EOF
$r = run_rule($rt, '--input', '3');
my $msg = $r->{res}{error}{message} // '';
like($msg, qr/\nstack traceback:\n\t\Q$dir\E\/rterr\.lua:2: in function 'f'\n\t\Q$dir\E\/rterr\.lua:5: in function <\Q$dir\E\/rterr\.lua:4>/,
    'a runtime error carries a traceback of file:line frames');
like($msg, qr/^\Q$dir\E\/rterr\.lua:2: boom 3\n/,
    'a runtime error message starts with file:line: and the error text');
$r = run_rule(rule('return function() error({message = "structured"}) end'));
like($r->{res}{error}{message} // '', qr/^structured/,
    'an error table with a message field reports that message');
$r = run_rule(rule('return function() error({code = 7}) end'));
like($r->{res}{error}{message} // '', qr/^\(error object is a table value\)/,
    'another error table is reported by its type');
$r = run_rule(rule('return function() return {} .. "x" end'));
like($r->{res}{error}{message} // '', qr/^\Q$dir\E\/r\d+\.lua:1: attempt to concatenate/,
    'a Lua error says file:line: what went wrong');
$r = run_rule(rule(<<'EOF'));
local function down(n) if n == 0 then error("deep") end return down(n - 1) + 1 end
return function() return down(50) end
EOF
my @frames = ($r->{res}{error}{message} // '') =~ /^\t/mg;
ok(@frames >= 1 && @frames <= 8, 'a traceback is short: at most 8 frames')
    or diag $r->{res}{error}{message};
$r = run_rule(rule("\n\nerror('top')\n"));
like($r->{res}{error}{message}, qr/:3: in main chunk/, 'a traceback names the main chunk');

# --- Instruction budgets are exact. -------------------------------------

my $one = rule('return function() return 1 end');
my $sum = rule('return function() local s = 0 for i = 1, 10 do s = s + i end return s end');
# Counted by the VM's count hook, which does not see the main chunk's
# VARARGPREP: the chunk runs CLOSURE and RETURN. The one-liner adds LOADI
# and RETURN1 (4); the loop 4 LOADI, FORPREP, 10 x (ADD, FORLOOP; the
# MMBIN after ADD is skipped) and RETURN1 (2 + 26 = 28).
$r = run_rule($one, '--instructions', '1000000');
is($r->{res}{usage}{instructions}, 4,
    'a rule returning 1 takes exactly 4 instructions (CLOSURE, RETURN; LOADI, RETURN1)');
$r = run_rule($sum, '--instructions', '1000000');
is($r->{res}{usage}{instructions}, 28, 'a loop summing 1..10 takes exactly 28 instructions');
is($r->{res}{result}, 55, '... and computes 55');
$r = run_rule($sum, '--instructions', '27');
fails_with($r, 'instructions', 'instruction budget of 27 exhausted',
    'a budget one short of what a rule needs stops it');
is($r->{res}{usage}{instructions}, 27, '... having counted the 27 it had');
$r = run_rule($sum, '--instructions', '28');
ok($r->{res}{ok}, 'a rule that needs exactly 28 instructions succeeds with a budget of 28');
$r = run_rule($sum, '--instructions', '29');
ok($r->{res}{ok}, 'a budget above what a rule needs lets it finish');
is($r->{res}{usage}{instructions}, 28, '... and usage says what it used, not the budget');

for my $budget (1, 2, 100, 12345, 1000000) {
	$r = run_rule($loop, '--instructions', $budget);
	is($r->{res}{usage}{instructions}, $budget,
	    "an endless loop with a budget of $budget stops at exactly $budget");
}
$r = run_rule($loop, '--instructions', '1000', '--stats', { plain => 1 });
like($r->{err}, qr/^moonbox: usage: instructions=1000 memory=\d+ cpu=[\d.]+ms wall=[\d.]+ms$/m,
    '--stats prints the usage figures on stderr');
$r = run_rule($one, '--stats', { plain => 1 });
like($r->{err}, qr/^moonbox: usage: instructions=- /m, '--stats shows - for uncounted instructions');
is($r->{out}, "1\n", '--stats leaves the result on stdout');

my $busy = rule('return function() local s = 0 for i = 1, 300000 do s = s + i end return s end');
$r = run_rule($busy, '--instructions', '0');
ok($r->{res}{ok}, '--instructions 0 means no instruction budget');
is($r->{res}{usage}{instructions}, undef, '... and usage.instructions is null');
$r = run_rule(rule(<<'EOF'), '--instructions', '5000');
return function()
  local co = coroutine.wrap(function() while true do coroutine.yield() end end)
  while true do co() end
end
EOF
is($r->{res}{usage}{instructions}, 5000, 'instructions run in coroutines count against the budget');
$r = run_rule(rule('return function() pcall(function() while true do end end) return "swallowed" end'),
    '--instructions', '5000');
fails_with($r, 'instructions', undef, 'pcall cannot swallow a spent instruction budget');

# --- Memory and time. ---------------------------------------------------

my $grow = rule('return function(e) local t = {} for i = 1, e do t[i] = i end return #t end');
$r = run_rule($grow, '--input', '200000', '--memory', '1M');
fails_with($r, 'memory', 'memory limit of 1048576 bytes exceeded', 'a rule over --memory fails with kind memory');
ok($r->{res}{usage}{memory} <= 1 << 20, '... and its peak stays within the limit');
$r = run_rule($grow, '--input', '200000', '--memory', '16M');
succeeds($r, 200000, 'the same rule fits in --memory 16M');
$r = run_rule($grow, '--input', '200000', '--memory', '16777216');
succeeds($r, 200000, '--memory takes a plain number of bytes');
fails_with(run_rule($echo, '--memory', '1K'), 'memory', qr/^memory limit of 1024 bytes is below the \d+ bytes the sandbox itself needs$/,
    'a memory limit below what the sandbox needs is kind memory, saying so');
$r = run_rule(rule('return function() pcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end) return "swallowed" end'));
fails_with($r, 'memory', undef, 'pcall cannot swallow the memory limit');

my $t0 = time;
$r = run_rule($loop, '--timeout', '200ms');
my $took = time - $t0;
fails_with($r, 'timeout', 'deadline of 200 ms passed', 'an endless loop stops at --timeout 200ms');
ok($r->{res}{usage}{wall_ms} >= 190 && $took < 5, '... after about 200 ms of wall time')
    or diag "wall_ms $r->{res}{usage}{wall_ms}, took $took s";
fails_with(run_rule($loop, '--timeout', '150'), 'timeout', 'deadline of 150 ms passed',
    'a bare --timeout is in milliseconds');
fails_with(run_rule(rule('return function() pcall(function() while true do end end) return "swallowed" end'),
    '--timeout', '100ms'), 'timeout', undef, 'pcall cannot swallow the deadline');
# In C a conversion sees neither hook: a value of 2^30 shared leaves.
$t0 = time;
$r = run_rule(rule('return function() local t = 1 for i = 1, 30 do t = {t, t} end return #json.encode(t) end'),
    '--timeout', '200ms');
$took = time - $t0;
ok(!$r->{res}{ok} && $took < 5, 'json.encode of a huge shared value stops within the limits')
    or diag "took $took s: $r->{out}";

# --- The log. ------------------------------------------------------------

my $talk = rule('return function() print("one") print("two", 2, nil, true) return "done" end');
$r = run_rule($talk, plain());
is($r->{err}, "one\ntwo\t2\tnil\ttrue\n", 'without --json, print goes to stderr, tab-separated');
is($r->{out}, "\"done\"\n", '... and the result still goes to stdout');
$r = run_rule($talk);
is_deeply($r->{res}{log}, [ 'one', "two\t2\tnil\ttrue" ], 'with --json, each print is one log entry');
$r = run_rule(rule('return function() print("caf\u{e9} \255") return 1 end'));
is_deeply($r->{res}{log}, [ 'caf?? ?' ], 'a log line that is not UTF-8 shows its high bytes as ?');
$r = run_rule(rule('return function() print("a\0b") return 1 end'), plain());
is($r->{err}, "a\0b\n", 'a log line with a NUL byte is written whole on stderr');
my $chatty = rule('return function() for i = 1, 10 do print(string.rep("y", 10)) end return true end');
$r = run_rule($chatty, '--log-limit', '35');
is(scalar @{ $r->{res}{log} }, 3, 'log lines over --log-limit are dropped (3 of 10 fit in 35 bytes)');
is($r->{res}{usage}{log_dropped}, 7, '... and counted in usage.log_dropped');
ok($r->{res}{ok}, '... and the rule still succeeds');
$r = run_rule($chatty, '--log-limit', '35', { plain => 1 });
like($r->{err}, qr/^moonbox: 7 log lines dropped over the log limit$/m,
    'without --json the dropped lines are counted on stderr');
$r = run_rule($chatty, '--log-limit', '0');
is_deeply([ scalar @{ $r->{res}{log} }, $r->{res}{usage}{log_dropped} ], [ 0, 10 ],
    '--log-limit 0 keeps no log line and counts them all');

# --- Output. -------------------------------------------------------------

my $hundred = rule('return function() return string.rep("x", 100) end');
# A 100-byte string packs to 102 bytes of msgpack (str 8 header).
succeeds(run_rule($hundred, '--output-limit', '102'), 'x' x 100,
    'a result of exactly --output-limit bytes is returned');
fails_with(run_rule($hundred, '--output-limit', '101'), 'output',
    'result: value is larger than the output limit of 101 bytes',
    'a result one byte over --output-limit is kind output');
fails_with(run_rule(rule('return function() return string.rep("x", 70000) end')), 'output',
    'result: value is larger than the output limit of 65536 bytes',
    'the default output limit is 64K');

# --- Values: conversions end to end. ------------------------------------

$r = run_rule($echo, plain('--input', '[1,1.0,-0.0,0,0.5,9007199254740992,9007199254740992.0,1e300,5e-324,9223372036854775807,-9223372036854775808]'));
is($r->{out}, "[1,1.0,-0.0,0,0.5,9007199254740992,9007199254740992.0,1e300,5e-324,9223372036854775807,-9223372036854775808]\n",
    'integers and floats survive input -> Lua -> result exactly (1 vs 1.0, -0.0, 2^53)');
$r = run_rule(rule('return function(e) local r = {} for i, v in ipairs(e) do r[i] = math.type(v) end return r end'),
    '--input', '[1, 1.0, -0.0, 1e2, 9007199254740992]');
is_deeply($r->{res}{result}, [qw(integer float float float integer)],
    'the rule sees JSON integers as Lua integers and reals as floats');
$r = run_rule(rule('return function() return {3 // 1, 3 / 1, 2^53, math.tointeger(2^53), -0.0, 2^63, math.maxinteger} end'), plain());
is($r->{out}, "[3,3.0,9007199254740992.0,9007199254740992,-0.0,9.223372036854776e18,9223372036854775807]\n",
    'Lua integers print as integers and floats keep a fraction or exponent');
$r = run_rule($echo, plain('--input', '9223372036854775808'));
like($r->{err}, qr/^moonbox: bad_request: input is not valid JSON: too big integer/,
    'an integer beyond 64 bits is refused as input');
$r = run_rule($echo, plain('--input', '1e400'));
like($r->{err}, qr/^moonbox: bad_request: input is not valid JSON: real number overflow/,
    'a real beyond a double is refused as input');

$r = run_rule($echo, plain('--input', '{"a":[],"b":{},"c":[[]],"d":[{}]}'));
is($r->{out}, qq({"a":[],"b":{},"c":[[]],"d":[{}]}\n), 'an empty array survives as [] and an empty object as {}');
$r = run_rule(rule('return function() return {json.array({}), {}, {json.array({})}} end'), plain());
is($r->{out}, "[[],{},[[]]]\n", 'json.array({}) is returned as [] and {} as {}');
$r = run_rule(rule('return function(e) return {getmetatable(e), #e} end'), '--input', '[]');
is_deeply($r->{res}{result}, [ 'json.array', 0 ], 'an empty input array carries the json.array marker');
$r = run_rule(rule('return function(e) return {e[1] == json.null, e[2], e.x} end'),
    '--input', '[null, 2]');
is_deeply($r->{res}{result}, [ JSON::PP::true, 2 ], 'a null inside the input is json.null');
$r = run_rule($echo, plain('--input', '{"x":null,"y":[null]}'));
is($r->{out}, qq({"x":null,"y":[null]}\n), 'json.null survives the round trip as null');
$r = run_rule($echo, plain('--input', '"a\u0000b\u00e9\ud83d\ude00"'));
is($r->{out}, qq("a\\u0000b\x{c3}\x{a9}\x{f0}\x{9f}\x{98}\x{80}"\n), 'strings with NUL and any character survive');
$r = run_rule($echo, plain('--input', '{"b":1,"a":2,"B":3,"aa":4}'));
is($r->{out}, qq({"B":3,"a":2,"aa":4,"b":1}\n), 'object keys are printed in byte order');
$r = run_rule(rule('return function() return {[1] = "a", [3] = "c", [-1] = "m"} end'), plain());
is($r->{out}, qq({"-1":"m","1":"a","3":"c"}\n), 'a table with integer keys that is not a sequence is an object');

my @refused = (
	[ 'local t = {} t.self = t return {items = {1, 2, t}}', 'result.items[3].self: table contains itself (a cycle)', 'a cycle' ],
	[ 'return {items = {1, 2, 3, {f = print}}}', 'result.items[4].f: a function cannot be converted', 'a function' ],
	[ 'return {p = lpeg.P("a")}', 'result.p: a userdata cannot be converted', 'a userdata' ],
	[ 'return {co = coroutine.create(print)}', 'result.co: a thread cannot be converted', 'a thread' ],
	[ 'return {n = {0/0}}', 'result.n[1]: NaN cannot be converted', 'NaN' ],
	[ 'return {big = math.huge}', 'result.big: infinity cannot be converted', 'infinity' ],
	[ 'return {[true] = 1}', 'result[boolean]: a boolean key cannot be converted (keys are strings or integers)', 'a boolean key' ],
	[ 'return {x = {[2.5] = 1}}', 'result.x[number]: a number key cannot be converted (keys are strings or integers)', 'a float key' ],
	[ 'return {[{}] = 1}', 'result[table]: a table key cannot be converted (keys are strings or integers)', 'a table key' ],
	[ 'return {s = "\255"}', 'result.s: string is not valid UTF-8 (encode bytes with base64)', 'a string that is not UTF-8' ],
	[ 'return {["\255"] = 1}', 'result["?"]: key is not valid UTF-8', 'a key that is not UTF-8' ],
	[ 'return {["two words"] = print}', 'result["two words"]: a function cannot be converted', 'a value under a key that is not a name' ],
	[ 'return {[1] = "int", ["1"] = "str"}', 'result: the key "1" appears twice (integer keys become strings in JSON)', 'an integer key and its string' ],
	[ 'local t = {} for i = 1, 64 do t = {t} end return t', qr/^result(\[1\])+: nesting is deeper than 64 levels$/, '65 nested tables' ],
);
for my $x (@refused) {
	my ($body, $msg, $what) = @$x;
	fails_with(run_rule(rule("return function() $body end")), 'output', $msg,
	    "$what in the result is refused with kind output and its path");
}
$r = run_rule(rule('return function() local t = {} for i = 1, 63 do t = {t} end return t end'));
ok($r->{res}{ok}, 'a result of exactly 64 nested tables is returned');
$r = run_rule(rule('return function() return setmetatable({}, {__index = {hidden = 1}}) end'), plain());
is($r->{out}, "{}\n", 'a result is read raw: no metamethod runs');

my $deep = '[' x 64 . ']' x 64;
$r = run_rule($echo, plain('--input', $deep));
is($r->{out}, "$deep\n", 'an input of exactly 64 nested arrays is accepted');
for my $x ([ '[' x 65 . ']' x 65, 'arrays, the innermost empty' ],
    [ '[' x 65 . '1' . ']' x 65, 'arrays around a number' ],
    [ '{"a":' x 64 . '{}' . '}' x 64, 'objects, the innermost empty' ]) {
	$r = run_rule($echo, plain('--input', $x->[0]));
	like($r->{err}, qr/^moonbox: bad_request: input is not valid JSON: nesting is deeper than 64 levels$/,
	    "an input of 65 nested $x->[1] is refused");
}

$r = run_rule(rule('return function() local ok, e = pcall(json.encode, {list = {1, print}}) return e end'));
is($r->{res}{result}, 'json.encode: value.list[2]: a function cannot be converted',
    'json.encode refuses what a result refuses, with the path from "value"');
$r = run_rule(rule('return function() return json.decode(json.encode({1, 1.0, -0.0, {}, json.array({})})) end'), plain());
is($r->{out}, "[1,1.0,-0.0,{},[]]\n", 'json.encode and json.decode keep integer vs float and [] vs {}');

done_testing();
