#!/usr/bin/perl
# `moonbox policy check` and `moonbox policy explain` as an operator uses
# them: what they print and how they exit (0 allowed or valid, 1 denied,
# 2 bad usage or an invalid file), on the shipped policies and on small
# ones written here.
use strict;
use warnings;
use Test::More;
use MB;

my $top = top_srcdir();
my $example = "$top/policy/example.policy";

sub policy {
	my ($st, $out, $err) = MB::capture(undef, moonbox(), 'policy', @_);
	my $code = $st & 127 ? 128 + ($st & 127) : $st >> 8;
	return { status => $code, out => $out, err => $err };
}

sub why_call {
	my ($file, $rule, $call) = @_;
	return policy('explain', $file, '--rule', $rule, '--call', $call);
}

my $small = write_file(tmpdir() . '/small.policy', <<'EOF');
pool pay {
	rules "pay/*"
	quota http 100 per 1h
}
rule "pay/*" {
	allow http GET "https://api.example.com/v1/*"
	allow http POST "http://10.0.0.5/hooks/*"
	allow kv read "pay:"
	allow secret "key"
	quota http 5 per invocation
}
EOF

# ---- check ----

for my $f ('example.policy', 'default.policy') {
	my $r = policy('check', "$top/policy/$f");
	is($r->{status}, 0, "policy check accepts the shipped $f");
	like($r->{out}, qr/^\Q$top\E\/policy\/\Q$f\E: ok: \d+ pools?, \d+ rule blocks?, \d+ allow statements?, \d+ quotas?\n\z/,
	    "policy check of $f prints a one-line summary");
}
my $r = policy('check', $example);
like($r->{out}, qr/: ok: 2 pools, [1-9]\d* rule blocks/,
    'the example policy has two pools and rule blocks');

my $bad = write_file(tmpdir() . '/bad.policy',
    "pool p {\n\trules \"**\"\n}\nrule \"a/*\" {\n\tallow http GET \"ftp://x.example/\"\n}\n");
$r = policy('check', $bad);
is($r->{status}, 2, 'policy check of an invalid file exits 2');
like($r->{err}, qr/^\Q$bad\E:5:17: 'allow': ftp:\/\/x.example\/: a URL pattern starts with http:\/\/ or https:\/\/\n\z/,
    'the error is file:line:col and says what was expected');
is($r->{out}, '', 'an invalid file prints no summary');

$r = policy('check', tmpdir() . '/missing.policy');
is($r->{status}, 2, 'policy check of a missing file exits 2');
like($r->{err}, qr/missing\.policy: No such file or directory/,
    'and says the file is missing');

$r = policy('check');
is($r->{status}, 2, 'policy check without a file exits 2');
$r = policy('frobnicate');
is($r->{status}, 2, 'an unknown policy command exits 2');
like($r->{err}, qr/usage: moonbox policy check FILE/, 'and prints the usage');
$r = policy('--help');
is($r->{status}, 0, 'policy --help exits 0');
like($r->{out}, qr/moonbox policy explain FILE --rule NAME --call CALL/,
    'policy --help shows explain');

# ---- explain ----

$r = why_call($small, 'pay/charge',
    'http.request{method="GET", url="https://API.example.com:443/v1/x#f"}');
is($r->{status}, 0, 'explain of an allowed call exits 0');
like($r->{out}, qr/^pool: pay \(\Q$small\E:1\)$/m, 'explain names the pool the rule runs in');
like($r->{out}, qr/^url: https:\/\/api\.example\.com\/v1\/x$/m,
    'explain shows the URL as it will be requested');
like($r->{out}, qr/^decision: allowed$/m, 'explain prints the decision');
like($r->{out}, qr/^line: \Q$small\E:6: allow http GET "https:\/\/api\.example\.com\/v1\/\*"$/m,
    'explain prints the deciding line as file:line: statement');
like($r->{out}, qr/^quota: \Q$small\E:10: quota http 5 per invocation \(each invocation of the rule\)$/m,
    'explain lists the rule block\'s quota');
like($r->{out}, qr/^quota: \Q$small\E:3: quota http 100 per 1h \(pool pay: all its rules together\)$/m,
    'explain lists the pool\'s quota');
unlike($r->{out}, qr/allow_private/, 'a name pattern does not allow private addresses');

$r = why_call($small, 'pay/charge', 'http.request{url="https://api.example.com/v1/x"}');
is($r->{status}, 0, 'an http call without a method is a GET');

$r = why_call($small, 'pay/charge', 'http.request{method="POST", url="http://10.0.0.5/hooks/a"}');
is($r->{status}, 0, 'a call to a literal private address in the pattern is allowed');
like($r->{out}, qr/^allow_private: yes/m, 'and explain says allow_private');

$r = why_call($small, 'pay/charge', 'http.request{method="DELETE", url="https://api.example.com/v1/x"}');
is($r->{status}, 1, 'explain of a denied call exits 1');
like($r->{out}, qr/^decision: denied$/m, 'explain prints denied');
like($r->{out}, qr/^line: none/m, 'a default denial has no deciding line');
like($r->{out}, qr/^why: denied by default: no allow http statement for rule pay\/charge matches; nearest: line 6 wants method GET, not DELETE$/m,
    'the reason names the nearest statement and the failed constraint');
unlike($r->{out}, qr/^quota:/m, 'a denied call lists no quotas');

$r = why_call($small, 'pay/charge', 'http.request{url="https://api.example.com.evil.net/v1/x"}');
like($r->{out}, qr/wants host api\.example\.com, not api\.example\.com\.evil\.net/,
    'a host with the trusted name as its prefix is denied');
$r = why_call($small, 'pay/charge', 'http.request{url="https://api.example.com@evil.net/v1/x"}');
is($r->{status}, 1, 'a URL with userinfo is denied');
like($r->{out}, qr/^why: denied: bad URL: userinfo/m, 'and explain says why');
$r = why_call($small, 'pay/charge', "http.request{url=\"https://api.example.com/v1/x\\0\"}");
is($r->{status}, 1, 'a URL with a NUL byte is denied');
like($r->{out}, qr/NUL/, 'and explain names the NUL');

$r = why_call($small, 'pay/charge', 'kv.get("pay:1")');
is($r->{status}, 0, 'kv.get under a read prefix is allowed');
like($r->{out}, qr/^call: kv\.get "pay:1" \(a read\)$/m, 'explain shows the kv call');
for my $w ('kv.set("pay:1", 2)', 'kv.del("pay:1")', 'kv.incr("pay:1")') {
	$r = why_call($small, 'pay/charge', $w);
	is($r->{status}, 1, "$w is a write and denied by a read prefix");
}
$r = why_call($small, 'pay/charge', 'secrets.get("key")');
is($r->{status}, 0, 'a named secret is allowed');
$r = why_call($small, 'pay/charge', 'secrets.get("key2")');
is($r->{status}, 1, 'another secret is denied');
$r = why_call($small, 'pay/charge', 'log.info("hello")');
is($r->{status}, 1, 'log without an allow log is denied');
like($r->{out}, qr/^why: denied by default: no allow statement for log matches rule pay\/charge$/m,
    'and the reason names the capability and the rule');

$r = why_call($small, 'other/x', 'kv.get("pay:1")');
like($r->{out}, qr/^pool: none: /m, 'a rule no pool runs is said to run nowhere');

$r = why_call($example, 'payments/charge',
    'http.request{method="POST", url="https://api.stripe.com/v1/charges"}');
is($r->{status}, 0, 'the example policy allows a payment rule to charge');
like($r->{out}, qr/^pool: payments /m, 'in the payments pool');

my $plain = write_file(tmpdir() . '/plain.policy', <<'EOF');
pool all { rules "**" }
rule "**" {
	allow log  ; allow secret "odd\"name"   # comments are not kept
}
EOF
$r = why_call($plain, 'a/b', 'log.warn("x")');
like($r->{out}, qr/^quota: none$/m, 'explain says when no quota applies');
$r = why_call($plain, 'a/b', 'secrets.get("odd\\"name")');
is($r->{status}, 0, 'a secret name with a quote is allowed by its statement');
like($r->{out}, qr/^line: \Q$plain\E:3: allow secret "odd\\"name"$/m,
    'the deciding statement is printed as it could be written, escapes and all');

# ---- bad usage ----

for my $call ('x = 1', 'kv.get("a") kv.get("b")', 'while true do end',
    'os.exit(1)', 'kv.get(1)', 'http.request("https://x.example/")',
    'http.request{method="GET"}', 'kv.set("k")', 'this is not lua') {
	$r = why_call($small, 'pay/charge', $call);
	is($r->{status}, 2, "a CALL like '$call' is bad usage");
	like($r->{err}, qr/^moonbox: bad_request: --call: /, "and says what is wrong with '$call'");
}
$r = policy('explain', $small, '--call', 'kv.get("a")');
is($r->{status}, 2, 'explain without --rule exits 2');
$r = policy('explain', $small, '--rule', 'a//b', '--call', 'kv.get("a")');
is($r->{status}, 2, 'explain of an invalid rule name exits 2');
$r = policy('explain', $bad, '--rule', 'a/b', '--call', 'kv.get("a")');
is($r->{status}, 2, 'explain on an invalid policy exits 2');
like($r->{err}, qr/^\Q$bad\E:5:17: /, 'and prints its error');
$r = policy('explain', $small, '--rule', 'a/b', '--call', 'kv.get("a")', '--bogus');
is($r->{status}, 2, 'explain with an unknown option exits 2');

my ($st, $out) = MB::capture(undef, moonbox(), '--help');
like($out, qr/^\s+policy\s+check a policy file/m, 'moonbox --help lists the policy command');

done_testing();
