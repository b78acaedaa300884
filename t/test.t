#!/usr/bin/perl
# `moonbox test` as a rule's author uses it, on the suites in t/tester/:
# a passing suite and a failing one (its diffs with their paths and
# file:line), usage bounds, mocks (never called, missing, optional, the kv
# store, secrets, the clock), the policy in tests (denials, quotas, the
# opt-outs), coverage figures on a known file, TAP read back by automake's
# driver, the --json object, --filter, --jobs, a file that does not load,
# tests that loop or allocate forever or stick inside C, rules that look
# for a way into the tester, the options, and the examples.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use MB;

my $top = top_srcdir();
my $fx = "$top/t/tester";
my $dir = tmpdir();

# moonbox test ARGS: {status, out, err, res (the --json object, if any)}.
my @reports;	# sanitizer reports, from any run
sub mbtest {
	my @args = @_;
	my ($st, $out, $err) = MB::capture(undef, moonbox(), 'test', @args);
	push @reports, "moonbox test @args:\n$err"
	    if $err =~ /AddressSanitizer|runtime error:|LeakSanitizer/;
	my $code = $st & 127 ? 128 + ($st & 127) : $st >> 8;
	my $res = eval { json_decode($out) };
	return { status => $code, out => $out, err => $err, res => $res };
}

# The tests of a --json run by name: name => test object.
sub by_name {
	my ($r) = @_;
	return {} unless ref $r->{res} eq 'HASH';
	return { map { $_->{name} => $_ } @{ $r->{res}{tests} } };
}

# Every test of a --json run named "fails: ..." failed, and every other
# passed (or was skipped, when listed in SKIPS).
sub statuses_ok {
	my ($r, $what, @skips) = @_;
	my %skip = map { $_ => 1 } @skips;
	my $tests = by_name($r);
	ok(keys %$tests > 0, "$what: tests were reported") or diag $r->{err};
	for my $name (sort keys %$tests) {
		my $t = $tests->{$name};
		my $want = $skip{$name} ? 'skip' :
		    $name =~ /\bfails: / ? 'fail' : 'pass';
		is($t->{status}, $want, "$what: $name: $want") or
		    diag $t->{message} // '';
	}
}

# --- a passing suite ---------------------------------------------------------
{
	my $r = mbtest("$fx/pass");
	is($r->{status}, 0, 'a passing suite exits 0') or diag $r->{out}, $r->{err};
	like($r->{out}, qr/^5 passed, 0 failed, 1 skipped in [\d.]+ s$/m,
	    'the summary counts passed, failed and skipped tests');
	like($r->{out}, qr{^\Q$fx/pass/shop/cart_test.lua\E\n  cart\n    shipping\n      ok   costs 4\.50 under 50 \(\d+ ms\)$}m,
	    'tests are nested by describe under their file');
	unlike($r->{out}, qr/[\x{2713}\x{2717}]|\e\[/,
	    'not on a terminal: no check marks, no colour');
	like($r->{out}, qr/^    skip applies coupons \(skipped\)$/m,
	    'a skipped test is shown as skipped');
	my $j = mbtest("$fx/pass", '--json');
	statuses_ok($j, 'the passing suite', 'cart applies coupons');
	is(by_name($j)->{'cart names itself and its items'}{line}, 24,
	    'a test is reported with the line of its it()');
}

# --- a failing suite ---------------------------------------------------------
{
	my $r = mbtest("$fx/fail");
	my $f = "$fx/fail/order_test.lua";
	is($r->{status}, 1, 'a failing suite exits 1');
	like($r->{out}, qr/^\s+\Q$f\E:5: r\.value\.items\[3\]\.price: expected 10, got 12$/m,
	    'a deep difference is shown with its path and the expect line');
	like($r->{out}, qr/^\s+\Q$f\E:10: expected order\{\}\.value\.status to be "closed", got "open"$/m,
	    'a to_be failure names the expression, the want and the got');
	like($r->{out}, qr/\Q$f\E:14: order\{\}\.value differs from what was expected in 5 places:\n\s+order\{\}\.value\.extra: expected true, got nil\n\s+order\{\}\.value\.items\[1\]: expected nil, got \{price = 10\}\n/,
	    'several differences are listed, each with its path');
	like($r->{out}, qr/\Q$f\E:22: expect\(\.\.\.\)\.to_bee: no such matcher; there are not_, to_be, /,
	    'a matcher that does not exist is named, with the ones that do');
	like($r->{out}, qr/\Q$f\E:27: rule order failed \(memory: memory limit of 1024 bytes is below the \d+ bytes the sandbox itself needs\), so it has no value/,
	    'reading the value of a failed invocation says why it failed');
	like($r->{out}, qr/^1 passed, 5 failed, 0 skipped/m, 'the summary counts');
}

# --- usage bounds ------------------------------------------------------------
{
	my $r = mbtest("$fx/usage", '--json');
	my $t = by_name($r);
	is($r->{status}, 1, 'a test over its usage bound fails the run');
	is($t->{'is cheap for a small n'}{status}, 'pass',
	    'an invocation under its bound passes');
	is($t->{'is too slow for a large n'}{status}, 'fail',
	    'an invocation over its instruction bound fails');
	like($t->{'is too slow for a large n'}{message},
	    qr/slow_test\.lua:10: rule slow went over its usage bounds: instructions: used \d{6,}, at most 100000$/,
	    'the failure gives the usage and the bound');
	is($t->{'runs out of its budget'}{status}, 'pass',
	    'a per-call instruction budget stops the rule as production would');
	ok($t->{'is too slow for a large n'}{usage}{instructions} > 100000,
	    'the test reports the instructions of its invocations');
}

# --- mocks --------------------------------------------------------------------
{
	my $r = mbtest("$fx/mocks", '--json', '--policy', "$fx/mocks/policy.conf");
	statuses_ok($r, 'mocks');
	my $t = by_name($r);
	like($t->{'http fails: a mock never called'}{message},
	    qr/client_test\.lua:37: mock\.http for DELETE https:\/\/api\.example\/\* was never called; drop it, or give it optional = true/,
	    'a mock never called fails the test, at the line that declared it');
	like($t->{'http fails: a call no mock answers'}{message},
	    qr/client_test\.lua:47: no mock answers http GET https:\/\/api\.example\/v2\/b \(rule client\); add mock\.http/,
	    'a call no mock answers fails the test and says what to add');
	like($t->{'http fails: a mock called fewer times than it says'}{message},
	    qr/was called 1 of its 2 times/, 'a mock called too few times fails');
	like($t->{'secrets and the clock fails: a secret no mock gives'}{message},
	    qr/no mock gives the secret api_key/, 'a missing secret fails the test');
}

# --- the policy ----------------------------------------------------------------
{
	my $r = mbtest("$fx/policy", '--json', '--policy', "$fx/policy/policy.conf");
	statuses_ok($r, 'the policy');
	like(by_name($r)->{'fails: a call the policy denies, though the rule catches it'}{message},
	    qr/fetch_test\.lua:14: the policy denies http GET https:\/\/evil\.example\/a to rule fetch: .*grant it in the policy, or say policy\.expect_denial\(\)/,
	    'a denied call fails the test, though the rule caught the error');
	my $n = mbtest("$fx/policy", '--json');
	is(by_name($n)->{'makes a call the policy allows'}{status}, 'fail',
	    'without --policy every call is denied, as in a default-deny production');
	is(by_name($n)->{'can ignore the policy'}{status}, 'pass',
	    'policy.ignore() is the explicit way out');
}

# --- coverage ------------------------------------------------------------------
{
	my $lcov = "$dir/sign.lcov";
	my $r = mbtest("$fx/coverage", '--coverage-file', $lcov);
	is($r->{status}, 0, '--coverage-file implies --coverage; the suite passes');
	like($r->{out}, qr{^\Q$fx/coverage/sign.lua\E\s+10\s+8\s+80\.0$}m,
	    'the table gives the file, its lines, those hit and the percentage');
	my $text = -e $lcov ? read_file($lcov) : '';
	like($text, qr{^SF:\Q$fx/coverage/sign.lua\E$}m, 'lcov: the rule file');
	like($text, qr/^LF:10\nLH:8\nend_of_record$/m,
	    'lcov: 10 executable lines, 8 of them run');
	my %da = $text =~ /^DA:(\d+),(\d+)$/mg;
	is_deeply([sort { $a <=> $b } keys %da], [3, 4, 5, 6, 8, 9, 12, 13, 16, 17],
	    'lcov: the executable lines are those of the compiled chunk');
	is_deeply([@da{3, 4, 6, 8, 12, 16}], [3, 0, 2, 1, 0, 3],
	    'lcov: each line with the times it ran');
	my $j = mbtest("$fx/coverage", '--json', '--coverage-file', "$dir/j.lcov");
	is_deeply([@{ $j->{res}{coverage} }{qw(lines hit)}], [10, 8],
	    '--json carries the coverage figures');
}

# --- TAP, read back by automake's driver ----------------------------------------
SKIP: {
	my $driver = "$top/build-aux/tap-driver.sh";
	skip 'build-aux/tap-driver.sh is not there (run autoreconf -fi)', 5
	    unless -r $driver;
	my @cmd = ('env', 'AM_TAP_AWK=awk', 'sh', $driver, '--test-name',
	    'tester', '--log-file', "$dir/tap.log", '--trs-file',
	    "$dir/tap.trs", '--color-tests', 'no', '--', moonbox(), 'test',
	    "$fx/fail", "$fx/pass", '--tap');
	my ($st) = MB::capture(undef, @cmd);
	my $trs = -e "$dir/tap.trs" ? read_file("$dir/tap.trs") : '';
	my %n;
	$n{$1}++ while $trs =~ /^:test-result: (\w+)/mg;
	is($n{PASS} // 0, 6, 'the driver reads 6 passing tests');
	is($n{FAIL} // 0, 5, 'the driver reads 5 failing tests');
	is($n{SKIP} // 0, 1, 'the driver reads 1 skipped test');
	is($n{ERROR} // 0, 1, 'and one error: moonbox test exited 1');
	like($trs, qr/^:global-test-result: ERROR$/m, 'the global result');
	my $tap = mbtest("$fx/fail", '--tap')->{out};
	like($tap, qr/^TAP version 13\n/, 'TAP output starts with its version');
	like($tap, qr/^not ok 1 - \Q$fx\E\/fail\/order_test\.lua: prices every item\n  ---\n  at: \Q$fx\E\/fail\/order_test\.lua:3\n/m,
	    'a failure comes with a YAML block: where, and the message');
	like($tap, qr/^1\.\.6$/m, 'the plan comes last');
}

# --- the --json object ----------------------------------------------------------
{
	my $r = mbtest("$fx/pass", "$fx/syntax", '--json');
	my $res = $r->{res};
	is(($r->{out} =~ tr/\n//), 1, '--json prints one line');
	is_deeply([sort keys %$res], [qw(errors tests totals)],
	    '--json has tests, errors and totals');
	is_deeply([sort keys %{ $res->{totals} }],
	    [qw(duration_ms errors failed passed skipped)], 'the totals');
	my $t = $res->{tests}[0];
	is_deeply([sort keys %$t], [qw(duration_ms file line log message name
	    status suite test usage)], 'a test has its documented keys');
	is_deeply([sort keys %{ $t->{usage} }],
	    [qw(instructions invocations memory wall_ms)], 'and usage figures');
	is_deeply($t->{suite}, ['cart', 'shipping'], 'suite: its describe blocks');
	is($t->{name}, 'cart shipping costs 4.50 under 50',
	    'name: the describe names and the test name, space-joined');
	is($res->{errors}[0]{file}, "$fx/syntax/broken_test.lua",
	    'a file that does not load is an error, with its file');
}

# --- --filter and --jobs ---------------------------------------------------------
{
	my $r = mbtest("$fx/pass", '--json', '--filter', 'shipping');
	is_deeply([sort keys %{ by_name($r) }],
	    ['cart shipping costs 4.50 under 50', 'cart shipping is free from 50'],
	    '--filter: tests whose full name holds the text');
	$r = mbtest("$fx/pass", '--json', '--filter', '^cart.*50$');
	is(scalar keys %{ by_name($r) }, 2, '--filter: or matches it as a Lua pattern');
	$r = mbtest("$fx/pass", '--filter', 'nothing like this');
	is($r->{status}, 2, '--filter matching no test exits 2');
	like($r->{err}, qr/no test matches --filter nothing like this/, 'and says so');

	my @suites = map { "$fx/$_" } qw(pass fail usage mocks);
	my $clean = sub {
		my ($res) = @_;
		return [map { my %t = %$_; delete @t{qw(duration_ms usage)}; \%t }
		    @{ $res->{tests} }];
	};
	my $one = mbtest(@suites, '--json', '--jobs', '1');
	my $two = mbtest(@suites, '--json', '--jobs', '2');
	is($two->{status}, $one->{status}, '--jobs 2 exits as --jobs 1');
	is_deeply($clean->($two->{res}), $clean->($one->{res}),
	    '--jobs 2 gives the same results in the same order');
}

# --- files that do not load, tests that never end ----------------------------------
{
	my $r = mbtest("$fx/syntax");
	is($r->{status}, 2, 'a test file that does not load exits 2');
	like($r->{out}, qr/the file does not load\n\s+\Q$fx\E\/syntax\/broken_test\.lua:5: unexpected symbol near 'end'/,
	    'its syntax error is reported with file:line');
	like($r->{out}, qr/ok   still runs/, 'the other files still run');

	my $t0 = time;
	$r = mbtest("$fx/loop", '--json', '--test-timeout', '1s',
	    '--test-memory', '8M');
	my $t = by_name($r);
	ok(time - $t0 < 20, 'tests that never end are stopped');
	like($t->{'loops forever'}{message},
	    qr/spin_test\.lua:3: the test ran past its deadline of 1000 ms \(--test-timeout\)/,
	    'a test that loops forever fails at its deadline, with its line');
	is($t->{'runs after the loop'}{status}, 'pass', 'the next test runs');
	like($t->{'recurses forever'}{message}, qr/own sandbox \(--test-memory\)/,
	    'a test that recurses forever hits its own memory limit');
	like($t->{'allocates forever'}{message}, qr/own sandbox \(--test-memory\)/,
	    'a test that allocates forever hits its own memory limit');

	$r = mbtest("$fx/stuck", '--json', '--test-timeout', '200ms');
	$t = by_name($r);
	like($t->{'is stuck inside string.find'}{message},
	    qr/c_test\.lua:1: the test ran past its deadline of 200 ms inside a library function, where no hook fires, and its worker was killed/,
	    'a test stuck inside C is killed with its worker');
	is($t->{'runs in a new worker afterwards'}{status}, 'pass',
	    'the rest of its file runs in a new worker');
}

# --- rules looking for a way into the tester ----------------------------------------
{
	my $r = mbtest("$fx/escape", '--json');
	statuses_ok($r, 'escape attempts');
	like(by_name($r)->{'fails: cannot be given a function'}{message},
	    qr/the event cannot be sent: event\.f: a function cannot be converted/,
	    'only values cross to the rule');
}

# --- options ------------------------------------------------------------------------
{
	my $r = mbtest('--help');
	is($r->{status}, 0, 'moonbox test --help exits 0');
	like($r->{out}, qr/^usage: moonbox test \[OPTIONS\] \[PATH\.\.\.\]/,
	    'and prints the usage');
	for my $bad (['--jobs', '0'], ['--test-timeout', 'soon'],
	    ['--memory', 'lots'], ['--nosuch']) {
		$r = mbtest(@$bad, "$fx/pass");
		is($r->{status}, 2, "moonbox test @$bad exits 2");
		like($r->{err}, qr/^moonbox: bad_request: /, "and says what is wrong");
	}
	$r = mbtest("$dir/none");
	is($r->{status}, 2, 'a path that does not exist exits 2');
	$r = mbtest("$fx/pass", '--policy', "$dir/none.conf");
	is($r->{status}, 2, 'a policy that cannot be read exits 2');
	$r = mbtest($dir);
	like($r->{err}, qr/no test files \(NAME_test\.lua\) in /,
	    'a directory without tests is a usage error');
	$r = mbtest("$fx/pass/shop/cart.lua", '--rules', "$fx/pass");
	is($r->{status}, 0, 'a rule file stands for the tests beside it');
}

# --- the examples -------------------------------------------------------------------
{
	my $r = mbtest("$top/examples/rules", '--policy',
	    "$top/examples/policy.conf", '--json');
	is($r->{status}, 0, 'the examples pass under their policy') or
	    diag $r->{out};
	ok(@{ $r->{res}{tests} // [] } >= 20, 'the examples have their tests');
}

is(scalar @reports, 0, 'no sanitizer report from any run') or diag @reports;
done_testing();
