#!/usr/bin/perl
# `moonbox check` as a user sees it: diagnostics as compilers print them
# (file:line:col: warning|error: message, one per line), for undefined
# globals with a suggestion, writes to globals, fields the sandbox's
# libraries lack, scopes that must not give false positives, syntax errors
# with their column, every Lua 5.4 construct read without a warning; with
# --policy, calls the policy never allows; --json for tools; exit statuses
# 0 (no error), 1 (errors, or warnings with --strict), 2 (a wrong command).
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd abs_path);
use MB;

my $top = abs_path(top_srcdir());
my $fix = "$top/t/check";
my $dir = tmpdir();

# `moonbox check ARGS` from directory CWD (default: here).
sub check {
	my $o = ref $_[-1] eq 'HASH' ? pop : {};
	my $here = getcwd();
	chdir $o->{cwd} or die "$o->{cwd}: $!" if $o->{cwd};
	my ($st, $out, $err) = MB::capture(undef, moonbox(), 'check', @_);
	chdir $here;
	my $code = $st & 127 ? 128 + ($st & 127) : $st >> 8;
	return { status => $code, out => $out, err => $err,
	    res => scalar eval { json_decode($out) } };
}

# The diagnostics of a fixture, its path left out: "line:col: text".
sub diags {
	my ($name, @args) = @_;
	my $r = check("$fix/$name", @args);
	my @lines = map { s/^\Q$fix\/$name\E://r } split /\n/, $r->{out};
	return ($r, @lines);
}

# --- clean files ---------------------------------------------------------------
for my $clean (qw(every_construct.lua scopes_clean.lua)) {
	my ($r, @d) = diags($clean);
	is($r->{status}, 0, "$clean: exit status 0");
	is_deeply(\@d, [], "$clean: not one diagnostic") or diag $r->{out};
	is($r->{err}, '', "$clean: nothing on stderr") or diag $r->{err};
}

# --- undefined globals ---------------------------------------------------------
{
	my ($r, @d) = diags('undefined_globals.lua');
	is($r->{status}, 0, 'warnings alone exit 0');
	is_deeply(\@d, [
	    "6:2: warning: undefined global 'prnt'; did you mean 'print'?",
	    "7:12: warning: undefined global 'fooo'; did you mean 'foo'?",
	    "8:12: warning: undefined global 'tabel'; did you mean 'table'?",
	    "9:12: warning: undefined global 'strng'; did you mean 'string'?",
	    "10:12: warning: undefined global 'helpr'; did you mean 'helper'?",
	    "11:12: warning: undefined global 'nonsense_without_a_neighbour'",
	], 'undefined globals, each with the close name of a sandbox global '
	    . 'or a local when there is one') or diag $r->{out};
}

# --- writes to globals -------------------------------------------------------
{
	my ($r, @d) = diags('global_writes.lua');
	is_deeply(\@d, [
	    "3:1: warning: assignment to global 'count'; declare it 'local' "
	    . "(globals do not survive an invocation)",
	    "4:10: warning: global function 'helper'; declare it 'local "
	    . "function helper' (globals do not survive an invocation)",
	    "5:6: warning: assignment to global 'total'; declare it 'local' "
	    . "(globals do not survive an invocation)",
	    "6:4: warning: assignment to global 'grand'; declare it 'local' "
	    . "(globals do not survive an invocation)",
	    "10:2: warning: assignment to global 'count'; declare it 'local' "
	    . "(globals do not survive an invocation)",
	], 'writes to globals, through _ENV and _G too; reading them is not '
	    . 'also reported') or diag $r->{out};
}

# --- scopes --------------------------------------------------------------------
{
	my ($r, @d) = diags('scopes_out_of_scope.lua');
	is_deeply(\@d, [
	    "6:11: warning: undefined global 'x'",
	    "7:27: warning: undefined global 'later'",
	    "10:9: warning: undefined global 'inner'",
	    "10:16: warning: undefined global 'i'",
	], 'a local is not visible in its own initialiser, before it is '
	    . 'declared, after its block or after its loop') or diag $r->{out};
}

{
	my ($r, @d) = diags('env_replaced.lua');
	is_deeply(\@d, [], 'a chunk that assigns _ENV is not checked for '
	    . 'globals') or diag $r->{out};
}

# --- fields of the sandbox's libraries -----------------------------------------
{
	my ($r, @d) = diags('undefined_fields.lua');
	is_deeply(\@d, [
	    "5:17: warning: undefined field 'flor' of 'math'; did you mean 'floor'?",
	    "6:18: warning: undefined field 'insrt' of 'table'; did you mean 'insert'?",
	    "7:15: warning: undefined field 'gte' of 'kv'; did you mean 'get'?",
	    "9:12: warning: undefined global 'os'",
	], 'fields a library lacks, capabilities too; not of a library the '
	    . 'file adds to; os is not in the sandbox') or diag $r->{out};
}

# --- the rule's function -------------------------------------------------------
{
	my ($r, @d) = diags('returns_nothing.lua');
	like($d[0] // '', qr/^\d+:\d+: warning: the rule returns nothing; it must end with 'return function\(event, ctx\) \.\.\. end'$/,
	    'a rule that returns nothing');
	($r, @d) = diags('returns_a_table.lua');
	is_deeply(\@d, ['2:1: warning: the rule returns a table value; it must '
	    . 'return a function(event, ctx)'], 'a rule that returns a table');
}

# --- syntax errors ---------------------------------------------------------------
{
	my ($r, @d) = diags('syntax_error.lua');
	is($r->{status}, 1, 'a syntax error exits 1');
	is_deeply(\@d, ["3:12: error: syntax error: unexpected symbol near '='"],
	    'a syntax error with its line and column') or diag $r->{out};
	($r, @d) = diags('syntax_unfinished_string.lua');
	is_deeply(\@d, ["3:9: error: syntax error: unfinished string near '\"abc'"],
	    'an unfinished string, at the string') or diag $r->{out};
	($r, @d) = diags('syntax_missing_end.lua');
	is_deeply(\@d, ["6:1: error: syntax error: 'end' expected (to close "
	    . "'function' at line 2) near <eof>"],
	    'a missing end, at the end of the file') or diag $r->{out};
	($r, @d) = diags('syntax_goto.lua');
	is_deeply(\@d, ["4:3: error: syntax error: no visible label 'nowhere' "
	    . "for <goto> at line 4"], 'a goto without its label, at the goto')
	    or diag $r->{out};
	my $luac = check("$fix/bytecode.luac");
	is($luac->{status}, 1, 'bytecode exits 1');
	like($luac->{out}, qr/bytecode\.luac:1:1: error: syntax error: precompiled chunks are refused/,
	    'bytecode is refused, as the sandbox refuses it');
}

# --- every rule of the source tree ---------------------------------------------------
{
	my @examples = glob("$top/examples/rules/*.lua");
	my $r = check(@examples, '--strict');
	ok(@examples >= 3, 'there are example rules');
	is($r->{status}, 0, 'the example rules are clean') or diag $r->{out};
	my @suites = map { glob("$top/t/$_/*.lua") } qw(attacks isolation luabugs
	    replay);
	$r = check(@suites, '--json');
	ok(@suites >= 50, 'there are the rules of the test suites');
	my @bad = grep { $_->{code} =~ /^(?:internal|syntax)$/ }
	    @{ $r->{res}{diagnostics} // [] };
	ok($r->{res} && !@bad, 'every rule of the test suites is read without '
	    . 'a fault of the checker') or diag explain \@bad;
	my @dump = grep { $_->{message} =~ /^undefined field 'dump' of 'string'/ }
	    @{ $r->{res}{diagnostics} // [] };
	ok(@dump >= 1, 'and the attacks on string.dump are found out');
}

# --- exit statuses and options ------------------------------------------------------
{
	my $r = check("$fix/undefined_globals.lua", '--strict');
	is($r->{status}, 1, '--strict: warnings exit 1');
	$r = check("$fix/undefined_globals.lua", '-Werror');
	is($r->{status}, 1, '-Werror is --strict');
	$r = check("$fix/scopes_clean.lua", '--strict');
	is($r->{status}, 0, '--strict: a clean file exits 0');
	$r = check("$fix/syntax_error.lua", "$fix/undefined_globals.lua",
	    "$fix/every_construct.lua");
	is($r->{status}, 1, 'several files: an error in one exits 1');
	my @files = map { m{^\Q$fix\E/([^:]+):} ? $1 : () } split /\n/, $r->{out};
	is_deeply([sort keys %{ { map { $_ => 1 } @files } }],
	    [qw(syntax_error.lua undefined_globals.lua)],
	    'each file with its own diagnostics');
	$r = check("$dir/none.lua");
	is($r->{status}, 1, 'a file that is not there exits 1');
	like($r->{out}, qr/^\Q$dir\E\/none\.lua: error: No such file or directory$/m,
	    'with FILE: error: why');
	$r = check();
	is($r->{status}, 2, 'no rules exit 2');
	like($r->{err}, qr/^usage: moonbox check/, 'with the usage');
	$r = check('--bogus', "$fix/scopes_clean.lua");
	is($r->{status}, 2, 'an unknown option exits 2');
	like($r->{err}, qr/unknown option --bogus/, 'naming it');
	$r = check('-Wall', "$fix/scopes_clean.lua");
	is($r->{status}, 2, '-W takes only error');
	$r = check('--help');
	is($r->{status}, 0, '--help exits 0');
	like($r->{out}, qr/--rules DIR.*--policy FILE.*--strict.*--json/s,
	    '--help lists the options');
}

# --- --json ------------------------------------------------------------------------
{
	my $r = check("$fix/undefined_globals.lua", "$fix/syntax_error.lua",
	    '--json');
	is($r->{status}, 1, '--json: the same exit status');
	ok(ref $r->{res} eq 'HASH', '--json: one JSON object') or diag $r->{out};
	is(($r->{out} =~ tr/\n//), 1, '--json: on one line');
	is($r->{res}{errors}, 1, '--json: the number of errors');
	is($r->{res}{warnings}, 6, '--json: the number of warnings');
	is_deeply($r->{res}{diagnostics}[0], {
	    file => "$fix/undefined_globals.lua",
	    rule => "$fix/undefined_globals" =~ s{^\./}{}r,
	    line => 6, col => 2, severity => 'warning',
	    code => 'undefined-global',
	    message => "undefined global 'prnt'; did you mean 'print'?",
	}, '--json: a diagnostic with file, rule, line, col, severity, code '
	    . 'and message') or diag explain $r->{res}{diagnostics}[0];
	is($r->{res}{diagnostics}[6]{code}, 'syntax',
	    '--json: a syntax error has the code syntax');
}

# --- --policy --------------------------------------------------------------------
{
	my $r = check('--policy', 'policy.conf', '--rules', 'rules',
	    'rules/payments/fraud.lua', { cwd => $fix });
	is($r->{status}, 1, '--policy: calls never allowed exit 1');
	my $p = 'rules/payments/fraud.lua';
	my $w = 'is never allowed for rule payments/fraud';
	is_deeply([split /\n/, $r->{out}], [
	    "$p:7:15: error: http GET https://evil.example/ $w (no allow http "
	    . "of policy.conf matches it: line 11)",
	    "$p:8:15: error: http DELETE https://api.stripe.com/v1/charges $w "
	    . "(no allow http of policy.conf matches it: line 11)",
	    "$p:9:14: error: http https://evil.example/x with any method $w "
	    . "(no allow http of policy.conf matches it: line 11)",
	    "$p:11:16: error: kv get \"other:\" .. \xe2\x80\xa6 $w (no allow kv read "
	    . "of policy.conf matches it: line 12)",
	    "$p:13:2: error: kv set \"payments:seen\" $w (no allow kv write of "
	    . "policy.conf matches it: line 13)",
	    "$p:16:14: error: secret \"aws_key\" $w (no allow secret of "
	    . "policy.conf matches it: line 14)",
	    "$p:17:2: error: log info $w (policy.conf has no allow log for it)",
	], 'each call the policy never allows, with a constant URL, method, '
	    . 'key prefix or secret; calls allowed, a prefix that could be, and '
	    . 'arguments that are not constants are not reported')
	    or diag $r->{out};
}
{
	my $r = check('--policy', 'policy.conf', '--rules', 'rules',
	    { cwd => $fix });
	my %files = map { m{^(rules/[^:]+):} ? ($1 => 1) : () }
	    split /\n/, $r->{out};
	is_deeply([sort keys %files], ['rules/payments/fraud.lua'],
	    '--rules DIR alone checks every rule of DIR; clean ones say '
	    . 'nothing, test files are skipped') or diag $r->{out};
	$r = check('--policy', '../policy.conf', 'payments/clean.lua',
	    'notify/hook.lua', { cwd => "$fix/rules" });
	is($r->{status}, 0, 'without --rules a rule is named by its path as '
	    . 'given, as moonbox run names it') or diag $r->{out};
	$r = check('--policy', 'policy.conf', '--rules', 'rules',
	    "$top/t/check/scopes_clean.lua", { cwd => $fix });
	like($r->{out}, qr/scopes_clean\.lua: error: not under the rules directory rules \(--rules\)/,
	    'a file outside --rules DIR is an error') or diag $r->{out};
	$r = check('--policy', "$fix/policy.conf", "$fix/scopes_clean.lua");
	like($r->{out}, qr/scopes_clean\.lua: error: '[^']*scopes_clean' is not a rule name the policy can judge; give --rules DIR/,
	    'a path that is no rule name is an error, saying what to do')
	    or diag $r->{out};
	write_file("$dir/lonely.lua", read_file("$fix/scopes_clean.lua"));
	$r = check('--policy', "$fix/policy.conf", 'lonely.lua', { cwd => $dir });
	like($r->{out}, qr/^lonely\.lua: error: no pool of .*policy\.conf runs rule lonely$/m,
	    'a rule no pool runs is an error') or diag $r->{out};
	$r = check('--policy', "$dir/nope.conf", "$fix/scopes_clean.lua");
	is($r->{status}, 2, 'a policy file that is not there exits 2');
	like($r->{err}, qr/nope\.conf/, 'naming it');
	my $bad = write_file("$dir/bad.conf", "rule \"x\" {\n\tallow telepathy\n}\n");
	$r = check('--policy', $bad, "$fix/scopes_clean.lua");
	is($r->{status}, 2, 'an invalid policy exits 2');
	like($r->{err}, qr/bad\.conf:2:/, 'with its line');
}

# --- test files ------------------------------------------------------------------
{
	my $t = write_file("$dir/fee_test.lua", "local fee = rule()\n"
	    . "describe('fee', function()\n"
	    . "\tit('adds', function()\n"
	    . "\t\tmock.kv{ a = 1 }\n"
	    . "\t\texpect(fee(1)).to_succeed()\n"
	    . "\t\texpect_calls(fee(1), {})\n"
	    . "\tend)\n"
	    . "end)\n");
	my $r = check('--strict', $t);
	is($r->{status}, 0, 'a test file is read against the test API, and '
	    . 'need not return a function') or diag $r->{out};
	$r = check('--strict', '--policy', "$fix/policy.conf", '--rules', $dir, $t);
	is($r->{status}, 0, 'and --policy does not judge it') or diag $r->{out};
	$t = write_file("$dir/cap_test.lua", "it('x', function() return kv.get('a') end)\n");
	$r = check($t);
	like($r->{out}, qr/^\Q$t\E:1:27: warning: undefined global 'kv'/m,
	    'a capability module is no global of a test file') or diag $r->{out};
	$t = write_file("$dir/plain.lua", "describe('x', function() end)\n");
	$r = check($t);
	like($r->{out}, qr/undefined global 'describe'/,
	    'the test API is no global of a rule') or diag $r->{out};
}

done_testing();
