#!/usr/bin/perl
# `moonbox replay` as a user sees it: a recording (made by t/rec-make the
# way the daemon makes one, or written by hand) runs again with its input,
# seed and recorded replies and says "same outcome" (exit 0); a new version
# of the rule given with --rule that returns something else, or calls
# differently, says "outcome differs" with what differs (exit 1); secrets
# never reach the file and come back with --secrets; bad files and bad
# options are refused (exit 2).
use strict;
use warnings;
use Test::More;
use MB;

my $top = top_srcdir();
my $fix = "$top/t/replay";
my $recmake = top_builddir() . '/t/rec-make';
my $dir = tmpdir();

# A recording of RULE (under t/replay) named NAME, with INPUT and REPLIES
# (fixture names or undef) and SECRETS (NAME=VALUE); its path.
sub record {
	my ($rule, $name, $input, $replies, @secrets) = @_;
	my $out = "$dir/$rule.json";
	my @args = ("$fix/$rule.lua", $name, $out);
	push @args, $input ? "$fix/$input" : "$dir/null.json";
	push @args, $replies ? "$fix/$replies" : "$dir/none.json";
	system($recmake, @args, @secrets) == 0
	    or BAIL_OUT("rec-make $rule failed: $?");
	return $out;
}

# `moonbox replay ARGS`: status, stdout, stderr, and stdout as JSON.
sub replay {
	my ($st, $out, $err) = MB::capture(undef, moonbox(), 'replay', @_);
	my $code = $st & 127 ? 128 + ($st & 127) : $st >> 8;
	return { status => $code, out => $out, err => $err,
	    res => scalar eval { json_decode($out) } };
}

write_file("$dir/null.json", "null");
write_file("$dir/none.json", "[]");
my $fraud = record('fraud', 'payments/fraud', 'fraud.input.json',
    'fraud.replies.json', 'stripe_key=sk_live_abc');
my $text = read_file($fraud);

# --- the recording -------------------------------------------------------------
{
	my $rec = json_decode($text);
	is($rec->{moonbox}, 'recording', 'the file says it is a recording');
	is($rec->{version}, 1, 'of version 1');
	is($rec->{rule}, 'payments/fraud', 'it names the rule');
	is(scalar @{ $rec->{calls} }, 5, 'it holds every capability call');
	is_deeply([map { "$_->{capability}.$_->{method}" } @{ $rec->{calls} }],
	    [qw(kv.get secret.get time.now log.info http.request)],
	    'in the order the rule made them');
	is_deeply($rec->{calls}[0]{args}, ['payments:ann'],
	    'with their arguments');
	is($rec->{calls}[2]{reply}{value}, 1700000000123,
	    'time.now() is recorded like any capability');
	is(ref $rec->{seed}, 'ARRAY', 'it holds the math.random seed');
	unlike($text, qr/sk_live_abc/, 'the secret value is nowhere in the file');
	is($rec->{calls}[1]{reply}{value}, '[redacted:stripe_key]',
	    "secrets.get's reply is the placeholder");
	is($rec->{calls}[4]{args}[0]{headers}{Authorization},
	    'Bearer [redacted:stripe_key]',
	    'a secret inside an argument is redacted');
	is($rec->{calls}[4]{reply}{value}{body}, 'echo [redacted:stripe_key]',
	    'and inside a reply');
	is_deeply($rec->{redacted}, ['stripe_key'], 'the file names the secret');
	my @st = stat $fraud;
	is($st[2] & 0777, 0600, 'the file is readable by its owner only');
	like($text, qr/^  "source": \[\n    "-- fraud.lua/m,
	    'the source is in the file, a line a string');
}

# --- the same outcome ----------------------------------------------------------
{
	my $r = replay($fraud);
	is($r->{status}, 0, 'a recording replays with exit status 0');
	is($r->{out}, "same outcome (ok; 5 capability calls as recorded)\n",
	    'and says "same outcome"') or diag $r->{err};
	is(replay($fraud)->{out}, $r->{out}, 'again and again');
	my $j = replay($fraud, '--json');
	is($j->{status}, 0, '--json: exit status 0');
	ok($j->{res} && JSON::PP::is_bool($j->{res}{same}) && $j->{res}{same},
	    '--json: "same" is true') or diag $j->{out};
	is_deeply($j->{res}{calls}, { recorded => 5, made => 5 },
	    '--json: the calls recorded and made');
	is_deeply($j->{res}{differences}, [], '--json: no differences');
}
{
	my $rnd = record('random', 't/random');
	my $r = replay($rnd);
	is($r->{out}, "same outcome (ok; 0 capability calls as recorded)\n",
	    'math.random gives the recorded numbers, after a reseed too')
	    or diag $r->{out};
}
{
	my $fails = record('fails', 't/fails', undef, 'fails.replies.json');
	my $rec = json_decode(read_file($fails));
	is($rec->{outcome}{kind}, 'runtime', 'a failed invocation is recorded');
	is($rec->{calls}[0]{reply}{kind}, 'denied', 'with a denied call');
	my $r = replay($fails);
	is($r->{status}, 0, 'it replays to the same error');
	like($r->{out}, qr/^same outcome \(runtime; 2 capability calls/,
	    'and says so');
}
{
	my $r = replay("$fix/hello.json");
	is($r->{status}, 0, 'a recording written by hand replays');
	is($r->{out}, "same outcome (ok; 1 capability call as recorded)\n",
	    'to the same outcome') or diag "$r->{out}$r->{err}";
}

# --- a new version of the rule -------------------------------------------------
{
	my $r = replay($fraud, '--rule', "$fix/fraud_new_value.lua");
	is($r->{status}, 1, '--rule: another result exits 1');
	is($r->{out}, "outcome differs:\n" .
	    "  value.status: recorded 200, now 201\n",
	    'and names what differs, path by path') or diag $r->{out};
	my $j = replay($fraud, '--rule', "$fix/fraud_new_value.lua", '--json');
	ok($j->{res} && !$j->{res}{same}, '--json: "same" is false');
	is_deeply($j->{res}{differences}, [{ what => 'value',
	    text => 'value.status: recorded 200, now 201',
	    recorded => 200, now => 201 }],
	    '--json: the difference with both values');
}
{
	my $r = replay($fraud, '--rule', "$fix/fraud_new_call.lua");
	is($r->{status}, 1, '--rule: a different call exits 1');
	like($r->{out}, qr/^  call 1 differs: recorded kv\.get\("payments:ann"\), now kv\.get\("pay:ann"\)$/m,
	    'and names the first call that differs, both ways')
	    or diag $r->{out};
	like($r->{out}, qr/^  kind: recorded ok, now internal$/m,
	    'the rule got an error for it');
	like($r->{out}, qr/^  message: recorded "", now "replay: call 1 differs/m,
	    'whose message says so');
}
{
	my $r = replay($fraud, '--rule', "$fix/fraud_fewer_calls.lua");
	is($r->{status}, 1, 'calls not made are a difference');
	like($r->{out}, qr/^  calls 4 to 5 of the recording were not made, the first: log\.info\("user ann has 3", null\)$/m,
	    'naming them') or diag $r->{out};
	$r = replay($fraud, '--rule', "$fix/fraud_more_calls.lua");
	is($r->{status}, 1, 'a call the recording does not have is a difference');
	like($r->{out}, qr/^  call 6 was not recorded \(the recording has 5\): now kv\.set\("payments:seen:ann", true, null\)$/m,
	    'naming it') or diag $r->{out};
}
{
	my $r = replay($fraud, '--rule', "$dir/no-such-rule.lua");
	is($r->{status}, 2, '--rule with a file that is not there exits 2');
	like($r->{err}, qr/^moonbox: bad_request: .*no-such-rule\.lua: No such file/,
	    'saying so');
}

# --- secrets -------------------------------------------------------------------
{
	my $sv = record('secret_value', 't/secret_value', undef,
	    'secret_value.replies.json', 'stripe_key=sk_live_abc');
	unlike(read_file($sv), qr/sk_live_abc/, 'a secret is redacted');
	my $secrets = write_file("$dir/secrets", qq{secret stripe_key "sk_live_abc"\n});
	chmod 0600, $secrets;
	my $r = replay($sv, '--secrets', $secrets);
	is($r->{status}, 0, '--secrets gives the rule the value: the same outcome')
	    or diag $r->{out};
	$r = replay($sv);
	is($r->{status}, 1, 'without it the rule gets the placeholder');
	like($r->{out}, qr/^  value\.length: recorded 11, now 21$/m,
	    'and its outcome differs') or diag $r->{out};
	$r = replay($fraud, '--secrets', $secrets);
	is($r->{status}, 0, 'a value given is redacted again before calls '
	    . 'are compared') or diag $r->{out};
	chmod 0644, $secrets;
	$r = replay($sv, '--secrets', $secrets);
	is($r->{status}, 2, 'a secrets file others can read is refused');
	like($r->{err}, qr/readable by others \(mode 0644\): chmod 600 it/,
	    'saying what to do');
}

# --- bad recordings and options -----------------------------------------------
{
	my $r = replay("$fix/hello_version2.json");
	is($r->{status}, 2, 'a recording of a newer version exits 2');
	like($r->{err}, qr/hello_version2\.json: a recording of version 2; this moonbox reads version 1/,
	    'saying which versions');
	$r = replay("$fix/hello_bad_kind.json");
	is($r->{status}, 2, 'a malformed recording exits 2');
	like($r->{err}, qr/hello_bad_kind\.json: calls\[0\]\.reply: "kind" must be an error kind/,
	    'saying where and what');
	my $junk = write_file("$dir/junk.json", "{\"moonbox\": ");
	$r = replay($junk);
	is($r->{status}, 2, 'a file that is not JSON exits 2');
	like($r->{err}, qr/junk\.json:1:\d+: not valid JSON/,
	    'with the line and column');
	$r = replay("$dir/none-such.json");
	is($r->{status}, 2, 'a file that is not there exits 2');
	$r = replay($fraud, '--bogus');
	is($r->{status}, 2, 'an unknown option exits 2');
	like($r->{err}, qr/unknown option --bogus/, 'naming it');
	$r = replay();
	is($r->{status}, 2, 'no recording exits 2');
	like($r->{err}, qr/^usage: moonbox replay/, 'with the usage');
	$r = replay('--help');
	is($r->{status}, 0, '--help exits 0');
	like($r->{out}, qr/--rule FILE.*--secrets FILE.*--json/s,
	    '--help lists the options');
}
{
	my $rec = json_decode(read_file("$fix/hello.json"));
	delete $rec->{seed};
	my $noseed = write_file("$dir/noseed.json", json_encode($rec));
	my $r = replay($noseed);
	is($r->{status}, 0, 'a recording without a seed replays');
	like($r->{err}, qr/has no seed: math\.random gives other numbers/,
	    'with a warning about math.random');
}

done_testing();
