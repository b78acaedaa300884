#!/usr/bin/perl
# The HTTP/JSON API and the TCP listeners, with curl as a client would use
# them: invoke, the rules, health, Prometheus metrics read back by a strict
# parser of the text format, statuses by error kind, bearer tokens off
# loopback, and msgpack-RPC over TCP with auth.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use MB qw(json_decode moonbox write_file);

if (!`command -v curl 2>/dev/null`) {
	plan skip_all => 'curl is not installed';
}
$SIG{PIPE} = 'IGNORE';

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 1) or die "port: $!";
	my $p = $s->sockport;
	close $s;
	return $p;
}

my ($hport, $rport) = (free_port(), free_port());
my $token = 'T0ken-' . join('', map { ('a'..'z')[rand 26] } 1 .. 24);
my %rules = (
	echo => 'return function(e) return { got = e } end',
	fail => 'return function() error("boom") end',
	loop => 'return function() while true do end end',
	deny => 'return function() return kv.get("x") end',
);
my $d = daemon_start(rules => \%rules, no_start => 1,
    conf => "http \"0.0.0.0\" $hport token-file \"token\"\n" .
    "listen-tcp \"0.0.0.0\" $rport token-file \"token\"\n",
    policy => "pool default {\n\trules \"**\"\n\ttimeout 200ms\n}\n");
$d->file('token', "$token\n");
chmod 0600, "$d->{dir}/token";
$d->start;

my $base = "http://127.0.0.1:$hport";
my @auth = ('-H', "Authorization: Bearer $token");

# curl(ARGS): (status, body)
sub curl {
	my @args = @_;
	open(my $fh, '-|', 'curl', '-s', '-w', '\n%{http_code}', @args)
	    or die "curl: $!";
	my $out = do { local $/; <$fh> };
	close $fh;
	my ($body, $code) = $out =~ /\A(.*)\n(\d+)\z/s;
	return ($code // 0, $body // '');
}

# --- tokens ----------------------------------------------------------------
my ($code, $body) = curl("$base/healthz");
is($code, 401, 'a listener off loopback refuses a request without its token');
($code) = curl('-H', 'Authorization: Bearer wrong-token-wrong-token', "$base/healthz");
is($code, 401, 'and one with a wrong token');
($code, $body) = curl(@auth, "$base/healthz");
is($code, 200, 'and answers one with the token');
is(json_decode($body)->{status}, 'ok', 'GET /healthz says ok');

# --- invoke ------------------------------------------------------------------
($code, $body) = curl(@auth, '-X', 'POST', '-d', '{"input":{"a":[1,2.5,"x"]}}',
    "$base/v1/rules/echo:invoke");
is($code, 200, 'POST /v1/rules/{name}:invoke answers 200 for a rule that returns');
my $r = json_decode($body);
is_deeply($r->{value}, { got => { a => [1, 2.5, 'x'] } },
    'with the rule\'s value, from the JSON input');
ok(exists $r->{usage}{memory} && defined $r->{id}, 'and the usage figures and id');
($code, $body) = curl(@auth, '-X', 'POST', "$base/v1/rules/echo:invoke");
is($code, 200, 'an empty body is a null input');
is_deeply(json_decode($body)->{value}, {}, 'so the rule sees nil');
my %want = (fail => [422, 'runtime'], loop => [504, 'timeout'],
    deny => [403, 'denied'], nosuch => [404, 'not_found']);
for my $rule (sort keys %want) {
	($code, $body) = curl(@auth, '-X', 'POST', "$base/v1/rules/$rule:invoke");
	is($code, $want{$rule}[0], "a $want{$rule}[1] answers $want{$rule}[0]");
	is(json_decode($body)->{error}{kind}, $want{$rule}[1],
	    "with the kind in the error object");
}
($code, $body) = curl(@auth, '-X', 'POST', '-d', '{"input":', "$base/v1/rules/echo:invoke");
is($code, 400, 'a body that is not JSON is 400');
($code, $body) = curl(@auth, '-X', 'POST', '-d', '{"options":{"frob":1}}',
    "$base/v1/rules/echo:invoke");
is($code, 400, 'an unknown option is 400');
like(json_decode($body)->{error}{message}, qr/unknown option 'frob'/, 'and named');
($code, $body) = curl(@auth, '-X', 'POST', '-d', '{"options":{"instructions":10}}',
    "$base/v1/rules/loop:invoke");
is(json_decode($body)->{error}{kind}, 'instructions',
    'options lower the pool\'s limits');
($code) = curl(@auth, "$base/v1/rules/echo:invoke");
is($code, 400, 'invoke with GET is refused');
($code) = curl(@auth, "$base/nowhere");
is($code, 404, 'an unknown path is 404');
($code, $body) = curl(@auth, "$base/v1/rules");
is($code, 200, 'GET /v1/rules answers');
is_deeply([map { $_->{name} } @{ json_decode($body)->{rules} }],
    [qw(deny echo fail loop)], 'with every rule');

# --- metrics, read by a strict parser of the text format ---------------------
($code, $body) = curl(@auth, "$base/metrics");
is($code, 200, 'GET /metrics answers');
my %m = parse_prometheus($body);
ok(!$m{errors}, 'the metrics parse as the Prometheus text format')
    or diag join("\n", @{ $m{error_list} });
is($m{value}{'moonbox_up'}, 1, 'moonbox_up is 1');
is($m{value}{'moonbox_invocations_total{rule="echo",outcome="ok"}'}, 2,
    'invocations are counted by rule and outcome');
ok(defined $m{value}{'moonbox_workers{pool="default",state="idle"}'},
    'workers are counted by pool and state');
is($m{type}{moonbox_rule_duration_seconds}, 'histogram', 'latency is a histogram');
is($m{value}{'moonbox_rule_duration_seconds_count{rule="echo"}'},
    $m{value}{'moonbox_rule_duration_seconds_bucket{rule="echo",le="+Inf"}'},
    'whose +Inf bucket is its count');
ok($m{value}{'moonbox_worker_kills_total{pool="default"}'} >= 0,
    'kills are counted per pool');

# --- msgpack-RPC over TCP ----------------------------------------------------
my $out = `'${\ moonbox()}' call echo --socket tcp:127.0.0.1:$rport 2>&1`;
like($out, qr/needs a token/, 'msgpack-RPC over TCP refuses a client without the token');
write_file("$d->{dir}/client-token", "$token\n");
chmod 0600, "$d->{dir}/client-token";
$out = `'${\ moonbox()}' call echo --socket tcp:127.0.0.1:$rport --token-file '$d->{dir}/client-token' --input 7 2>&1`;
like($out, qr/"got":7/, 'and serves one that presents it');
write_file("$d->{dir}/bad-token", "not-the-token-at-all\n");
chmod 0600, "$d->{dir}/bad-token";
$out = `'${\ moonbox()}' call echo --socket tcp:127.0.0.1:$rport --token-file '$d->{dir}/bad-token' 2>&1`;
like($out, qr/wrong token/, 'and refuses a wrong one');

is($d->stop('TERM'), 0, 'the daemon exits 0') or diag $d->log_text;

# --- a listener off loopback without a token refuses to start ----------------
my $e = daemon_start(no_start => 1, conf => "http \"0.0.0.0\" " . free_port() . "\n");
my $msg = `'${\ MBD::moonboxd()}' -d -f '$e->{dir}/moonboxd.conf' 2>&1`;
isnt($? >> 8, 0, 'an HTTP listener off loopback without a token-file is refused');
like($msg, qr/not a loopback address: give it a token-file/, 'and says why');

done_testing();

# A strict reader of the Prometheus text format 0.0.4: every line is a
# HELP, a TYPE, or a sample of a family declared before it; names and
# labels are well formed; values are numbers; histograms have cumulative
# buckets ending in +Inf that equals _count, and a _sum.
sub parse_prometheus {
	my ($text) = @_;
	my (%type, %value, @err, %hist);
	my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
	my $labels_re = qr/\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,(?!\}))?)*\}/;
	push @err, 'no final newline' unless $text =~ /\n\z/;
	for my $line (split /\n/, $text) {
		if ($line =~ /^# HELP ($name_re) (.*)$/) {
			next;
		} elsif ($line =~ /^# TYPE ($name_re) (counter|gauge|histogram|summary|untyped)$/) {
			push @err, "TYPE $1 twice" if $type{$1};
			$type{$1} = $2;
		} elsif ($line =~ /^($name_re)($labels_re)? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$/) {
			my ($n, $l, $v) = ($1, $2 // '', $3);
			(my $fam = $n) =~ s/_(bucket|sum|count)$//;
			my $t = $type{$n} // $type{$fam};
			push @err, "sample of undeclared family: $line" unless $t;
			push @err, "sample twice: $n$l" if exists $value{"$n$l"};
			$value{"$n$l"} = $v;
			if (($t // '') eq 'histogram' && $n =~ /_bucket$/) {
				my ($le) = $l =~ /[{,]le="([^"]*)"/;
				(my $series = $l) =~ s/,le="[^"]*"//;
				$series =~ s/\{le="[^"]*",?/{/;
				push @{ $hist{"$fam$series"} }, [$le, $v];
			}
		} else {
			push @err, "not a valid line: '$line'";
		}
	}
	for my $s (keys %hist) {
		my @b = @{ $hist{$s} };
		push @err, "$s: last bucket is not +Inf" unless $b[-1][0] eq '+Inf';
		for my $i (1 .. $#b) {
			push @err, "$s: buckets not cumulative"
			    if $b[$i][1] < $b[$i - 1][1];
		}
	}
	return (type => \%type, value => \%value, errors => scalar @err,
	    error_list => \@err);
}
