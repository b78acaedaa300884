#!/usr/bin/perl
# Recordings end to end: moonboxd asked to record an invocation (the record
# option, or record-sample) writes recordings/<id>.json with every
# capability call and its reply, the seed and the outcome, the secrets it
# gave out redacted; `moonbox replay` runs it again and finds the same
# outcome. A killed invocation is recorded with its kind; an unrecorded
# one leaves no file.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use HTTPD;
use MBD;
use MB qw(read_file json_decode capture moonbox);
use MiniPack qw(mp_true mp_false);

$SIG{PIPE} = 'IGNORE';
my ($port) = httpd_start({
	'/echo-auth' => sub { [200, [], $_[0]{headers}{authorization} // ''] },
});

my %rules = (
	'a/full' => 'return function(e) local s = secrets.get("api_key") '
	    . 'local n = kv.incr("n:" .. e.key, 1) '
	    . 'local r = http.request{ url = "http://127.0.0.1:' . $port
	    . '/echo-auth", headers = { Authorization = "Bearer " .. s } } '
	    . 'log.info("sent " .. r.body) '
	    . 'return { n = n, echoed = r.body, roll = math.random(1000000), '
	    . 'at = time.now() } end',
	'a/plain' => 'return function(e) return e end',
	'a/loop' => 'return function() kv.incr("n:loop", 1) while true do end end',
);

my $d = daemon_start(rules => \%rules,
    conf => "state \"state\"\nsecrets \"secrets\"\n", no_start => 1,
    policy => <<"EOF");
pool a {
	rules "a/*"
	workers 1 2
	timeout 5s
}
rule "a/*" {
	allow kv read write "n:"
	allow secret "api_key"
	allow log
	allow http GET "http://127.0.0.1:$port/echo-auth"
}
EOF
$d->file('secrets', "secret api_key \"sk-live-0123456789\"\n");
chmod 0600, "$d->{dir}/secrets";
$d->start;
my $recdir = "$d->{dir}/state/recordings";

# The file appears once the broker has written it, just after the reply.
sub recording {
	my ($id) = @_;
	my $path = "$recdir/$id.json";
	for (1 .. 200) { last if -s $path; sleep 0.025 }
	return -s $path ? $path : undef;
}

# --- a recorded invocation ----------------------------------------------
my $r = $d->invoke('a/full', { key => 'x' }, { record => mp_true });
ok(!defined $r->[0], 'an invocation asked to be recorded runs as usual')
    or diag explain $r;
my $v = $r->[1]{value};
is($v->{echoed}, 'Bearer sk-live-0123456789',
    'the rule used the secret it was given');
my $id = $r->[1]{id};
my $path = recording($id);
ok($path, 'its recording is written as recordings/<invocation id>.json')
    or diag $d->log_text;
is((stat $path)[2] & 0777, 0600, 'mode 0600');
is((stat $recdir)[2] & 0777, 0700, 'in a directory of mode 0700');
my $text = read_file($path);
unlike($text, qr/sk-live-0123456789/, 'the secret value is nowhere in it');
like($text, qr/\[redacted:api_key\]/, 'its place says which secret it was');
my $rec = json_decode($text);
is($rec->{rule}, 'a/full', 'it names the rule');
is($rec->{invocation}, $id, 'and the invocation');
like(join("\n", @{ $rec->{source} }), qr/secrets\.get\("api_key"\)/, 'it holds the source');
is_deeply([map { "$_->{capability}.$_->{method}" } @{ $rec->{calls} }],
    ['secret.get', 'kv.incr', 'http.request', 'log.info', 'time.now'],
    'every capability call, in order') or diag explain $rec->{calls};
is($rec->{outcome}{kind}, 'ok', 'and the outcome');
is($rec->{outcome}{value}{roll}, $v->{roll},
    'the outcome is the value the client got');
ok(defined $rec->{seed}, 'the math.random seed is kept');

my ($st, $out, $err) = capture(undef, moonbox(), 'replay', $path);
is($st >> 8, 0, 'moonbox replay of it exits 0') or diag "$out$err";
like($out, qr/^same outcome/, 'and says the outcome is the same');

# The same invocation does the same on replay though kv has moved on.
$d->invoke('a/full', { key => 'x' });
($st, $out) = capture(undef, moonbox(), 'replay', $path);
is($st >> 8, 0, 'replay answers from the recording, not from the store');

# --- a rule changed since -------------------------------------------------
my $changed = "$d->{dir}/changed.lua";
open my $fh, '>', $changed or die;
print $fh $rules{'a/full'} =~ s/"n:" \.\. e\.key, 1/"n:" .. e.key, 2/r;
close $fh;
($st, $out) = capture(undef, moonbox(), 'replay', '--rule', $changed, $path);
is($st >> 8, 1, 'replay with a changed rule exits 1');
like($out, qr/call 2 differs/, 'and names the call that differs');

# --- killed, not recorded, sampled ---------------------------------------
$r = $d->invoke('a/loop', undef, { record => mp_true, deadline => 300 });
is($r->[0]{kind}, 'timeout', 'a looping rule times out');
$path = recording($r->[0]{id} // '');
ok($path, 'an invocation killed at its deadline is recorded too');
my $lr = json_decode(read_file($path // '/dev/null') || '{}');
is($lr->{outcome}{kind}, 'timeout', 'with the kind it ended with');
is(scalar @{ $lr->{calls} // [] }, 1, 'and the calls it made first');

my $before = () = glob("$recdir/*.json");
$r = $d->invoke('a/plain', 7);
is($r->[1]{value}, 7, 'an invocation without record');
sleep 0.3;
my $after = () = glob("$recdir/*.json");
is($after, $before, 'leaves no recording');
$r = $d->invoke('a/plain', 7, { record => mp_false });
sleep 0.3;
$after = () = glob("$recdir/*.json");
is($after, $before, 'nor does record = false');

($st, $out, $err) = capture(undef, moonbox(), 'call', '--socket', $d->{sock},
    '--record', '--json', '--input', '9', 'a/plain');
my $cr = eval { json_decode($out) } // {};
is($cr->{result}, 9, 'moonbox call --record invokes the rule') or diag $err;
ok(recording($cr->{id} // ''), 'and the daemon records it, by the id it printed');
($st, $out, $err) = capture(undef, moonbox(), 'run', '--record',
    "$d->{dir}/rules/a/plain.lua");
is($st >> 8, 2, 'moonbox run refuses --record: it is an option of call');

$d->stop;
$d->file('moonboxd.conf', read_file("$d->{dir}/moonboxd.conf")
    . "record-sample 1\n");
$d->start;
$r = $d->invoke('a/plain', 8);
ok(recording($r->[1]{id}), 'record-sample 1 records every invocation');

done_testing;
