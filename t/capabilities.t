#!/usr/bin/perl
# Capabilities end to end, as a rule sees them through moonboxd and its
# broker: kv per pool with TTLs, secrets, log, time, http to a server on the
# loopback address, denials that reach the client as kind denied, quotas,
# the calls limit, redaction of secrets, and the broker replaced when it
# dies.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use HTTPD;
use MBD;
use MB qw(read_file json_decode);

$SIG{PIPE} = 'IGNORE';
my ($port, $httplog) = httpd_start({
	'/ok' => sub { [200, ['X-Answer: 42'], "hello $_[0]{method}"] },
	'/echo-auth' => sub { [200, [], $_[0]{headers}{authorization} // ''] },
	'/redirect-out' => sub { [302, ['Location: http://127.0.0.1:1/evil'], ''] },
	'/redirect-in' => sub { [302, ["Location: /ok"], ''] },
});

my %rules = (
	'a/counter' => 'return function(e) return kv.incr("n:" .. e.key, 1) end',
	'b/counter' => 'return function(e) return kv.incr("n:" .. e.key, 1) end',
	'a/ttl' => 'return function(e) if e.set then kv.set("n:t", "v", 200) end '
	    . 'return kv.get("n:t") end',
	'a/values' => 'return function(e) kv.set("n:v", { list = { 1, 2.5, "x" } }) '
	    . 'local v = kv.get("n:v") local gone = kv.del("n:v") '
	    . 'return { v = v, gone = gone, after = kv.get("n:v") == nil } end',
	'b/mixed' => 'return function() '
	    . 'local a = kv.incr("n:m1", 5) local ga = kv.get("n:m1") '
	    . 'kv.incr("n:m1", 7) local gb = kv.get("n:m1") '
	    . 'kv.set("n:m2", 5) local c = kv.incr("n:m2", 1) '
	    . 'kv.set("n:m3", -48) local d = kv.incr("n:m3", -1) '
	    . 'kv.set("n:m4", 5.0) local ok4, e4 = pcall(kv.incr, "n:m4", 1) '
	    . 'kv.set("n:m5", "12") local ok5 = pcall(kv.incr, "n:m5", 1) '
	    . 'return { a = a, ga = ga, gb = gb, c = c, d = d, '
	    . 'f = math.type(kv.get("n:m4")), s = math.type(kv.get("n:m3")), '
	    . 'str = kv.get("n:m5"), ok4 = ok4, kind4 = e4.kind, ok5 = ok5 } end',
	'a/outside' => 'return function() return kv.get("secret:x") end',
	'a/caught' => 'return function() local ok, err = pcall(kv.get, "secret:x") '
	    . 'return { ok = ok, kind = err.kind, cap = err.capability, '
	    . 'changed = pcall(function() err.kind = "ok" end) } end',
	'a/secret' => 'return function() local s = secrets.get("api_key") '
	    . 'log.info("using " .. s) '
	    . 'local r = http.request{ url = "http://127.0.0.1:' . $port
	    . '/echo-auth", headers = { Authorization = "Bearer " .. s } } '
	    . 'return { len = #s, echoed = r.body == "Bearer " .. s } end',
	'a/nosecret' => 'return function() return secrets.get("other") end',
	'a/log' => 'return function() log.info("hello", { n = 1 }) log.warn("careful") '
	    . 'return true end',
	'b/log' => 'return function() log.info("not allowed") return true end',
	'a/time' => 'return function() return time.now() end',
	'a/http' => 'return function(e) local r = http.request{ method = e.method, '
	    . 'url = "http://127.0.0.1:' . $port . '" .. e.path } '
	    . 'return { status = r.status, body = r.body, answer = r.headers["x-answer"] } end',
	'a/twice' => 'return function() http.request{ url = "http://127.0.0.1:' . $port
	    . '/ok" } return http.request{ url = "http://127.0.0.1:' . $port
	    . '/ok" }.status end',
	'a/many' => 'return function() for i = 1, 10 do kv.get("n:" .. i) end return 1 end',
);

my $d = daemon_start(rules => \%rules, conf => "state \"state\"\nsecrets \"secrets\"\n",
    no_start => 1, policy => <<"EOF");
pool a {
	rules "a/*"
	workers 1 2
	calls 6
}
pool b {
	rules "b/*"
	workers 1 1
}
rule "a/*" "b/*" {
	allow kv read write "n:"
}
rule "a/*" {
	allow secret "api_key"
	allow log
	allow http GET POST "http://127.0.0.1:$port/ok"
	allow http GET "http://127.0.0.1:$port/echo-auth"
	allow http GET "http://127.0.0.1:$port/redirect-*"
}
rule "a/twice" {
	quota http 1 per invocation
}
EOF
$d->file('secrets', "secret api_key \"sk-live-0123456789\"\n");
chmod 0600, "$d->{dir}/secrets";
$d->start;

sub value { my $r = $d->invoke(@_); return $r->[1]{value} }
sub error { my $r = $d->invoke(@_); return $r->[0] // {} }

# --- kv -------------------------------------------------------------------
is(value('a/counter', { key => 'x' }), 1, 'kv.incr starts a counter at 1');
is(value('a/counter', { key => 'x' }), 2, 'and counts across invocations');
is(value('b/counter', { key => 'x' }), 1,
    'another pool has its own namespace: the same key starts at 1 there');
is(value('a/ttl', { set => 1 }), 'v', 'kv.set with a ttl stores the value');
sleep 0.4;
is(value('a/ttl', {}), undef, 'and it is gone once the ttl has passed');
is_deeply(value('a/values'), { v => { list => [1, 2.5, 'x'] }, gone => 1,
    after => 1 }, 'kv values keep their structure; del says the key was there');
is_deeply(value('b/mixed'), { a => 5, ga => 5, gb => 12, c => 6, d => -49,
    f => 'float', s => 'integer', str => '12', ok4 => 0, kind4 => 'runtime',
    ok5 => 0 }, 'kv.get reads what kv.incr wrote, kv.incr counts what '
    . 'kv.set stored, an integer stays an integer and a float or string '
    . 'is no counter');
my $e = error('a/outside');
is($e->{kind}, 'denied', 'a key outside the granted prefixes fails the '
    . 'invocation with kind denied');
like($e->{message}, qr/^kv\.get: /, 'the message names the capability');
is_deeply(value('a/caught'), { ok => 0, kind => 'denied', cap => 'kv',
    changed => 0 }, 'a rule can catch a denial, read its kind, and not change it');

# --- secrets, and their redaction -------------------------------------------
is_deeply(value('a/secret'), { len => 18, echoed => 1 },
    'secrets.get gives a granted secret, usable in an http header');
is(error('a/nosecret')->{kind}, 'denied', 'a secret not granted is denied');
my $audit = read_file("$d->{dir}/state/audit.log");
unlike($audit, qr/sk-live/, 'the secret never appears in the audit log');
unlike($d->log_text, qr/sk-live/, 'nor in the daemon\'s log');
like($audit, qr/"capability":"secret\.get"/, 'the secret\'s use is audited');

# --- log and time -----------------------------------------------------------
my $r = $d->invoke('a/log');
is_deeply($r->[1]{log}, ['[info] hello', '[warn] careful'],
    'log lines come back in the invocation\'s log with their level');
like($d->log_text, qr/invocation [0-9a-f]{16} rule a\/log pool a: hello \{"n":1\}/,
    'and go to the daemon\'s log tagged with rule, invocation and pool');
is(error('b/log')->{kind}, 'denied', 'log needs an allow statement too');
my $t = value('a/time');
ok(abs($t - time) < 5, 'time.now is the wall clock, in seconds');

# --- http -------------------------------------------------------------------
is_deeply(value('a/http', { method => 'GET', path => '/ok' }),
    { status => 200, body => 'hello GET', answer => '42' },
    'http.request reaches an allowed URL and returns status, headers, body');
is(value('a/http', { method => 'POST', path => '/ok' })->{body}, 'hello POST',
    'with the method asked for');
$e = error('a/http', { method => 'DELETE', path => '/ok' });
is($e->{kind}, 'denied', 'a method not granted is denied');
$e = error('a/http', { method => 'GET', path => '/private' });
is($e->{kind}, 'denied', 'a path not granted is denied');
my $before = () = read_file($httplog) =~ /\/private/g;
is($before, 0, 'and never reaches the server');
is(value('a/http', { method => 'GET', path => '/redirect-in' })->{body},
    'hello GET', 'a redirect to an allowed URL is followed');
$e = error('a/http', { method => 'GET', path => '/redirect-out' });
is($e->{kind}, 'denied', 'a redirect to a URL not granted is denied');

# --- quotas and the calls limit ----------------------------------------------
$e = error('a/twice');
is($e->{kind}, 'denied', 'a second http call over a per-invocation quota is denied');
like($e->{message}, qr/quota/, 'and the message says it is the quota');
$e = error('a/many');
is($e->{kind}, 'denied', 'the pool\'s calls limit stops the seventh call');
like($e->{message}, qr/calls limit/, 'and says so');

# --- the broker is replaced when it dies ------------------------------------
my $old = $d->ctl('stats')->{broker_pid};
ok($old > 0, 'stats name the broker\'s pid');
kill 'KILL', $old;
my ($new, $ok);
for (1 .. 100) {
	sleep 0.05;
	$new = $d->ctl('stats')->{broker_pid};
	next unless $new && $new != $old;
	my $v = value('a/counter', { key => 'after' });
	if (defined $v && $v == 1) { $ok = 1; last }
}
isnt($new, $old, 'the master starts another broker');
ok($ok, 'and capability calls work again through it');
is(value('a/counter', { key => 'x' }), 3, 'the kv store kept its counts');

is($d->stop('TERM'), 0, 'the daemon exits 0');
done_testing();
