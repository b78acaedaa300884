#!/usr/bin/perl
# moonboxd as a client sees it: a daemon on a temporary socket, real
# msgpack-RPC requests, and the behaviours of its pools: dispatch, queues
# and overload, deadlines that kill runaways, replacement of dead workers,
# recycling, reload without losing a request, and draining on SIGTERM.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX qw(WIFEXITED WEXITSTATUS);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use MB qw(moonbox);

$SIG{PIPE} = 'IGNORE';

my %rules = (
	echo => 'return function(e, ctx) print("echo", ctx.rule) ' .
	    'return { x = e, rule = ctx.rule, id = ctx.invocation } end',
	spin => 'return function(e) local n = 0 for i = 1, e.n do n = n + 1 end ' .
	    'return n end',
	'pay/backtrack' => 'return function() return string.find(("a"):rep(300000), ' .
	    '".-.-.-.-x") end',
	'pay/loop' => 'return function() while true do end end',
	'pay/ok' => 'return function(e) return "paid" end',
	version => 'return function() return 1 end',
);
my $policy = <<'EOF';
pool pay {
	rules "pay/*"
	workers 1 1
	queue 1
	timeout 300ms
	grace 100ms
}
pool default {
	rules "**"
	workers 2 3
	queue 8
	recycle 5
}
EOF

sub rss {
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/status" or return 0;
	while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
	return 0;
}

my $d = daemon_start(policy => $policy, rules => \%rules);

# --- basic calls -----------------------------------------------------------
my $r = $d->invoke('echo', { a => 1, list => [1, 2, 3] });
is($r->[0], undef, 'invoke of a rule answers without an error');
is_deeply($r->[1]{value}{x}, { a => 1, list => [1, 2, 3] },
    'the rule gets the input as its event and its value comes back');
is($r->[1]{value}{rule}, 'echo', 'ctx.rule is the rule name');
like($r->[1]{id}, qr/^[0-9a-f]{16}$/, 'the reply carries the invocation id');
is($r->[1]{value}{id}, $r->[1]{id}, 'ctx.invocation is that id');
is_deeply($r->[1]{log}, ["echo\techo"], 'print lines come back in the log');
ok(exists $r->[1]{usage}{memory} && $r->[1]{usage}{memory} > 0,
    'the reply carries usage figures');

my $p = $d->call('ping', []);
is($p->[3], 'pong', 'ping answers pong');

# --- the command line client ----------------------------------------------
my $out = `'${\ moonbox()}' call echo --socket '$d->{sock}' --input '{"k":"v"}' 2>/dev/null`;
is($? >> 8, 0, 'moonbox call exits 0 on success');
like($out, qr/"x":\{"k":"v"\}/, 'moonbox call prints the value as JSON');
$out = `'${\ moonbox()}' call nosuch --socket '$d->{sock}' 2>&1`;
is($? >> 8, 2, 'moonbox call of an unknown rule exits 2');
like($out, qr/^moonbox: not_found: /m, 'and says not_found');

# --- errors a client meets --------------------------------------------------
$r = $d->invoke('nosuch', undef);
is($r->[0]{kind}, 'not_found', 'an unknown rule is not_found');
$r = $d->invoke('../etc/passwd', undef);
is($r->[0]{kind}, 'bad_request', 'a rule name with .. is refused as bad_request');
$r = $d->call('invoke', ['echo']);
is($r->[2]{kind}, 'bad_request', 'invoke with one param is bad_request');
$r = $d->call('invoke', [42, undef]);
is($r->[2]{kind}, 'bad_request', 'a rule name that is not a string is bad_request');
$r = $d->call('invoke', ['echo', undef, { bogus => 1 }]);
is($r->[2]{kind}, 'bad_request', 'an unknown option is bad_request');
like($r->[2]{message}, qr/unknown option 'bogus'/, 'and names the option');
$r = $d->call('invoke', ['echo', undef, { deadline => 'soon' }]);
is($r->[2]{kind}, 'bad_request', 'an option of the wrong type is bad_request');
$r = $d->call('frobnicate', []);
is($r->[2]{kind}, 'bad_request', 'an unknown method is bad_request');
like($r->[2]{message}, qr/unknown method 'frobnicate'/, 'and names it');
$r = $d->call('reload', []);
like($r->[2]{message}, qr/only available on the control socket/,
    'control methods are refused on the client socket');
$r = $d->call('invoke', 'echo');
is($r->[2]{kind}, 'bad_request', 'params that are not an array are bad_request');

# --- many in flight, answered out of order ----------------------------------
{
	my $s = $d->connect;
	$d->send_request($s, 7, 'invoke', ['spin', { n => 3_000_000 }]);
	$d->send_request($s, 8, 'invoke', ['echo', 'fast']);
	my $first = $d->recv_response($s);
	my $second = $d->recv_response($s);
	is($first->[1], 8, 'a fast invocation is answered before a slow one sent earlier');
	is($second->[1], 7, 'and the slow one is answered after, by its msgid');
	is($second->[3]{value}, 3_000_000, 'with its own value');
	close $s;
}

# --- overload and queue ------------------------------------------------------
{
	my @s = map { $d->connect } 1 .. 3;
	$d->send_request($s[$_], $_, 'invoke', ['pay/loop', undef]) for 0 .. 2;
	my @r = map { $d->recv_response($s[$_]) } 0 .. 2;
	my @kinds = sort map { $_->[2]{kind} // 'ok' } @r;
	is_deeply(\@kinds, [qw(overloaded timeout timeout)],
	    'a pool of one worker and a queue of one refuses the third at once');
	my ($over) = grep { ($_->[2]{kind} // '') eq 'overloaded' } @r;
	like($over->[2]{message}, qr/pool pay is at capacity/,
	    'overloaded names the pool');
	close $_ for @s;
}

# --- deadlines -------------------------------------------------------------
my $t0 = time;
$r = $d->invoke('pay/loop', undef);
is($r->[0]{kind}, 'timeout', 'a rule that loops in Lua times out');
$r = $d->invoke('pay/backtrack', undef);
is($r->[0]{kind}, 'timeout', 'a rule stuck inside C times out');
like($r->[0]{message}, qr/worker was killed/, 'because its worker was killed');
ok(time - $t0 < 3, 'both within their deadlines plus grace');
$r = $d->invoke('pay/ok', undef);
is($r->[1]{value}, 'paid', 'the pool runs the next rule on a new worker');
$r = $d->invoke('echo', 1, { deadline => 1 });
ok(!defined $r->[0] || $r->[0]{kind} eq 'timeout',
    'a deadline option lowers the pool\'s');
$r = $d->invoke('spin', { n => 50_000_000 }, { deadline => 50 });
is($r->[0]{kind}, 'timeout', 'a client deadline shorter than the pool\'s applies');
$r = $d->invoke('spin', { n => 1000 }, { instructions => 100 });
is($r->[0]{kind}, 'instructions', 'an instruction budget option applies');

my $st = $d->ctl('stats');
my ($pay) = grep { $_->{name} eq 'pay' } @{ $st->{pools} };
ok($pay->{kills} >= 1, 'stats count the workers killed at a deadline');
my ($bt) = grep { $_->{name} eq 'pay/backtrack' } @{ $st->{rules} };
is($bt->{kills}, 1, 'stats name the rule that took a worker down');
is($bt->{outcomes}{timeout}, 1, 'and count its outcome by kind');

# --- a worker that dies is replaced, its invocation answered ----------------
{
	my $s = $d->connect;
	$d->send_request($s, 1, 'invoke', ['spin', { n => 200_000_000 }]);
	my ($busy);
	for (1 .. 100) {
		($busy) = grep { $_->{state} eq 'busy' } @{ $d->ctl('workers') };
		last if $busy;
		sleep 0.01;
	}
	ok($busy, 'a busy worker shows in ctl workers') and
	    kill 'KILL', $busy->{pid};
	my $res = $d->recv_response($s);
	is($res->[2]{kind}, 'killed', 'an invocation whose worker dies is answered killed');
	like($res->[2]{message}, qr/signal 9/, 'with how the worker died');
	close $s;
	sleep 0.2;
	$r = $d->invoke('echo', 2);
	is($r->[1]{value}{x}, 2, 'the pool keeps serving after a worker died');
}

# --- workers are contained --------------------------------------------------
for my $w (grep { $_->{pid} } @{ $d->ctl('workers') }) {
	open my $fh, '<', "/proc/$w->{pid}/status" or next;
	my $status = do { local $/; <$fh> };
	like($status, qr/^NoNewPrivs:\s*1$/m, "worker $w->{id} has no_new_privs");
	like($status, qr/^Seccomp:\s*2$/m, "worker $w->{id} runs under a seccomp filter");
	like($status, qr/^PPid:\s*$d->{pid}$/m, "worker $w->{id} is a child of "
	    . "the master, which reaps it, not of the spawner");
	if ($> == 0) {
		unlike($status, qr/^Uid:\s*0\b/m, "worker $w->{id} does not run as root");
	}
	my @fds = glob("/proc/$w->{pid}/fd/*");
	is(scalar @fds, 2, "worker $w->{id} holds two descriptors, its channels "
	    . "to the master and the broker");
	last;
}

# --- recycling ---------------------------------------------------------------
{
	my %pids;
	for (1 .. 12) {
		$d->invoke('echo', $_);
		$pids{$_->{pid}}++ for grep { $_->{pool} eq 'default' }
		    @{ $d->ctl('workers') };
	}
	ok(keys %pids > 2, 'workers are recycled after their invocations');
	my ($def) = grep { $_->{name} eq 'default' } @{ $d->ctl('stats')->{pools} };
	ok($def->{recycled} >= 1, 'stats count recycled workers');
}

# --- reload ----------------------------------------------------------------
{
	my $s = $d->connect;
	$d->send_request($s, 1, 'invoke', ['spin', { n => 20_000_000 }]);
	sleep 0.05;
	$d->rule('version', 'return function() return 2 end');
	$d->rule('added', 'return function() return "new" end');
	kill 'HUP', $d->{pid};
	my $res = $d->recv_response($s);
	is($res->[2], undef, 'an invocation running across a reload finishes');
	is($res->[3]{value}, 20_000_000, 'with its value');
	close $s;
	sleep 0.2;
	is($d->invoke('version', undef)->[1]{value}, 2,
	    'after SIGHUP invocations run the new rule');
	is($d->invoke('added', undef)->[1]{value}, 'new', 'and see added rules');
	$d->file('policy.conf', "pool broken {\n\tworkers 9 1\n}\n");
	my $rr = $d->call('reload', [], control => 1);
	is($rr->[2]{kind}, 'bad_request', 'reload of an invalid policy fails');
	like($rr->[2]{message}, qr/policy\.conf:2:\d+: /,
	    'and says file:line:column');
	is($d->invoke('version', undef)->[1]{value}, 2,
	    'the old configuration keeps serving');
	$d->file('policy.conf', $policy);
	$rr = $d->call('reload', [], control => 1);
	is($rr->[2], undef, 'ctl reload of a valid configuration succeeds');
	ok($rr->[3]{generation} >= 3, 'and names the new generation');
}

# --- hostile clients ---------------------------------------------------------
{
	my $g = $d->connect;
	syswrite($g, "\xc1\xc1\xc1garbage");
	my $eof = !defined $d->recv_response($g, 2);
	ok($eof, 'a connection that sends garbage is closed');
	close $g;
	my $h = $d->connect;
	syswrite($h, "\x94\x00\x01\xa6invoke");	# a request cut short
	my $other = $d->invoke('echo', 'still');
	is($other->[1]{value}{x}, 'still', 'a stalled half request holds up no one');
	close $h;
	my $rss0 = rss($d->{pid});
	my @big = map { $d->connect } 1 .. 20;
	syswrite($_, "\xdd\x7f\xff\xff\xff") for @big;	# 2^31 elements each
	is($d->invoke('echo', 'up')->[1]{value}{x}, 'up',
	    'arrays that claim billions of elements do not stop the daemon');
	ok(rss($d->{pid}) - $rss0 < 16 * 1024,
	    'and are not allocated (the master grew less than 16 MiB)');
	close $_ for @big;
	my $n = $d->connect;
	syswrite($n, MiniPack::mp_pack([2, 'note', []]));
	$d->send_request($n, 5, 'ping', []);
	my $pong = $d->recv_response($n);
	is($pong->[1], 5, 'a notification is ignored and the connection goes on');
	close $n;
	ok($d->alive, 'the daemon survives hostile clients');
}

# --- a slow client ---------------------------------------------------------
{
	my $e = daemon_start(conf => "max-pending 8K\n", rules => \%rules);
	my $slow = $e->connect;
	my $req = MiniPack::mp_pack([0, 1, 'rules', []]);
	syswrite($slow, $req) for 1 .. 3000;
	my $ok = $e->invoke('echo', 'fine');
	is($ok->[1]{value}{x}, 'fine', 'a client that does not read its replies blocks no one');
	my $closed = 0;
	while (1) {
		my $resp = $e->recv_response($slow, 5);
		if (!defined $resp) { $closed = 1; last }
	}
	ok($closed, 'and is disconnected once its unread replies pass max-pending');
	like($e->log_text, qr/client too slow/, 'which the log says');
	close $slow;
	is($e->stop('TERM'), 0, 'that daemon exits 0 too');
}

# --- drain on SIGTERM --------------------------------------------------------
{
	my $s = $d->connect;
	$d->send_request($s, 1, 'invoke', ['spin', { n => 20_000_000 }]);
	sleep 0.05;
	kill 'TERM', $d->{pid};
	my $res = $d->recv_response($s);
	is($res->[2], undef, 'an invocation in flight at SIGTERM still gets its answer');
	my $status = $d->stop('TERM');
	ok(defined $status && WIFEXITED($status) && WEXITSTATUS($status) == 0,
	    'moonboxd exits 0 after draining');
	ok(!-e $d->{sock}, 'and removes its socket');
}

# --- configuration check -----------------------------------------------------
{
	my $c = daemon_start(policy => "pool p {\n\trules \"**\"\n\tqueue lots\n}\n",
	    no_start => 1);
	my $msg = `'${\ MBD::moonboxd()}' -n -f '$c->{dir}/moonboxd.conf' 2>&1`;
	isnt($? >> 8, 0, 'moonboxd -n fails on an invalid policy');
	like($msg, qr/policy\.conf:3:\d+: 'queue': lots: expected a whole number/,
	    'with file:line:column and what was expected');
	$c->file('policy.conf', "pool p {\n\trules \"**\"\n}\n");
	$msg = `'${\ MBD::moonboxd()}' -n -f '$c->{dir}/moonboxd.conf' 2>&1`;
	is($? >> 8, 0, 'moonboxd -n accepts a valid configuration');
}

done_testing();
