#!/usr/bin/perl
# http.request's engine (src/http.c) against a small HTTP server of our own
# on 127.0.0.1, driven through t/http-probe: private addresses are refused
# after resolution unless allowed, redirects are followed only as the check
# allows, time and size are capped, bad requests never connect, and a
# cancelled call never calls back. Only 127.0.0.1 and names under .invalid
# are used: the machine may have no outside network.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

my $probe = ($ENV{top_builddir} // '.') . '/t/http-probe';
my $dir = tempdir('moonbox-http-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $log = "$dir/requests.log";

# The server: one process per connection, keep-alive, routes below.

sub unescape { my ($s) = @_; $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s }

sub read_request {
	my ($c) = @_;
	local $/ = "\r\n";
	my $line = <$c>;
	return undef unless defined $line;
	$line =~ s/\r\n\z//;
	my ($method, $target) = split / /, $line;
	my (@headers, %h);
	while (defined(my $l = <$c>)) {
		$l =~ s/\r\n\z//;
		last if $l eq '';
		push @headers, $l;
		$h{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*)$/;
	}
	my $body = '';
	read($c, $body, $h{'content-length'}) if $h{'content-length'};
	my ($path, $query) = split /\?/, $target // '', 2;
	my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, unescape($v // '')) }
	    split /&/, $query // '';
	return { method => $method, target => $target, path => $path,
	    q => \%q, headers => \@headers, body => $body };
}

sub respond {
	my ($c, $r, $code, $hdrs, $body) = @_;
	my $out = "HTTP/1.1 $code Whatever\r\n" . join('', map { "$_\r\n" } @$hdrs) .
	    'Content-Length: ' . length($body) . "\r\n\r\n";
	$out .= $body unless $r->{method} eq 'HEAD';
	print $c $out;
	return 1;
}

sub big {
	my ($c, $r) = @_;
	my $total = ($r->{q}{mb} // 8) << 20;
	my $chunk = 'x' x 65536;
	print $c "HTTP/1.1 200 OK\r\nConnection: close\r\n" .
	    ($r->{q}{len} ? "Content-Length: $total\r\n" : '') . "\r\n";
	for (my $n = 0; $n < $total; $n += length $chunk) {
		print $c $chunk or last;
	}
	return 0;
}

my %routes = (
	'/ok' => sub { respond(@_, 200, ['X-Mixed-Case: Yes'], 'ok') },
	'/slow' => sub {
		sleep(($_[1]{q}{ms} // 2000) / 1000);
		respond(@_, 200, [], 'slow');
	},
	'/big' => \&big,
	'/redirect' => sub {
		respond(@_, $_[1]{q}{code} // 302, ["Location: $_[1]{q}{to}",
		    $_[1]{q}{cookie} ? ('Set-Cookie: session=1; Path=/') : ()], '');
	},
	'/loop' => sub {
		respond(@_, 302, ['Location: /loop?n=' . (($_[1]{q}{n} // 0) + 1)], '');
	},
	'/headers' => sub {
		respond(@_, 200, [], join('', map { "$_\n" } @{ $_[1]{headers} }));
	},
	'/post' => sub { respond(@_, 200, [], "$_[1]{method}\n$_[1]{body}") },
	'/nul' => sub {
		respond(@_, 200, ["X-Nul: a\0location: /evil", 'X-After: kept'], 'nul');
	},
	'/many' => sub {
		respond(@_, 200, [map { "X-H-$_: $_" } 1 .. $_[1]{q}{n}], 'many');
	},
);

sub handle {
	my ($c) = @_;
	$c->autoflush(1);
	while (my $r = read_request($c)) {
		open my $fh, '>>', $log or die "$log: $!";
		print $fh "$r->{method} $r->{target}\n";
		close $fh;
		my $route = $routes{ $r->{path} } //
		    sub { respond(@_, 404, [], 'no such route') };
		last unless $route->($c, $r);
	}
	close $c;
}

my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 128, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $port = $srv->sockport;
my $base = "http://127.0.0.1:$port";
my $server = fork // die "fork: $!";
if ($server == 0) {
	setpgrp(0, 0);
	$SIG{CHLD} = 'IGNORE';
	while (1) {
		my $c = $srv->accept or next;
		my $pid = fork;
		if (defined $pid && $pid == 0) {
			close $srv;
			handle($c);
			POSIX::_exit(0);
		}
		close $c;
	}
}
close $srv;
END {
	local $?;
	if ($server) {
		kill 'KILL', -$server, $server;
		waitpid($server, 0);
	}
}

# Running the probe.

sub probe {
	my (@args) = @_;
	open(my $fh, '-|', $probe, @args) or die "$probe: $!";
	my @lines = <$fh>;
	close $fh;
	my $st = $?;
	my @objs = map { decode_json($_) } grep { /^\{/ } @lines;
	my @done = grep { exists $_->{error} } @objs;
	diag("http-probe exited with status $st:\n", @lines) if $st != 0;
	return { status => $st, objs => \@objs, done => \@done,
	    by => { map { ($_->{name} => $_) } @done },
	    order => [map { $_->{name} } @done],
	    end => (grep { $_->{end} } @objs)[0] // {} };
}

# One call: its outcome, or a failure every test on it sees.
sub call {
	my ($spec) = @_;
	my $p = probe("name=x $spec");
	return $p->{by}{x} // { error => 'no callback' } if $p->{status} == 0;
	return { error => "probe exited with status $p->{status}" };
}

sub seen {
	my ($what) = @_;
	open my $fh, '<', $log or return 0;
	my $n = grep { index($_, $what) >= 0 } <$fh>;
	close $fh;
	return $n;
}

# Egress.

my $r = call("url=$base/ok?t=deny1");
is($r->{error}, 'denied',
    'a call to 127.0.0.1 is denied when private addresses are not allowed');
like($r->{message}, qr/connection to 127\.0\.0\.1 refused: loopback \(127\.0\.0\.0\/8\)/,
    'the denial names the address and its range');
is(seen('/ok?t=deny1'), 0, 'a denied call never reaches the server');

$r = call("url=$base/ok?t=allow private=1");
ok($r->{error} eq 'ok' && $r->{status} == 200 && $r->{body} eq 'ok',
    'with allow_private the same call gets the server\'s answer')
    or diag explain $r;
is($r->{headers}{'x-mixed-case'}, 'Yes', 'response header names come lowercased');
is($r->{remote_ip}, '127.0.0.1', 'the response names the address connected to');
ok($r->{sent} > 20 && $r->{received} > 40 && $r->{received} < 400,
    'bytes sent and received are counted') or diag "$r->{sent} $r->{received}";

my $p = probe("name=name url=http://localhost:$port/ok?t=lh",
    "name=decimal url=$base/redirect?to=http://2130706433:$port/ok?t=dec "
    . 'private=1 follow=all',
    "name=octal url=$base/redirect?to=http://0177.0.0.1:$port/ok?t=oct "
    . 'private=1 follow=all',
    "name=mapped url=http://[::ffff:127.0.0.1]:$port/ok?t=map",
    "name=v6 url=http://[::1]:$port/ok?t=v6",
    "name=zero url=http://0.0.0.0:$port/ok?t=zero");
like($p->{by}{name}{message}, qr/refused: loopback/,
    'a name that resolves to loopback is denied after resolution');
# The hop may reuse the first hop's connection: either line catches it.
like($p->{by}{decimal}{message}, qr/(connection|request) to 127\.0\.0\.1 refused/,
    'a decimal IPv4 literal is judged by the address it means');
like($p->{by}{octal}{message}, qr/(connection|request) to 127\.0\.0\.1 refused/,
    'an octal IPv4 literal is judged by the address it means');
is_deeply([$p->{by}{decimal}{asked}[0], $p->{by}{octal}{asked}[0]],
    ["GET http://127.0.0.1:$port/ok?t=dec", "GET http://127.0.0.1:$port/ok?t=oct"],
    'and the redirect check is asked about the address spelt out');
like($p->{by}{mapped}{message}, qr/IPv4-mapped address embedding 127\.0\.0\.1/,
    'an IPv4-mapped IPv6 literal is judged by the IPv4 address it embeds');
like($p->{by}{v6}{message}, qr/::1 refused: loopback/, 'IPv6 loopback is denied');
like($p->{by}{zero}{message}, qr/0\.0\.0\.0 refused: unspecified/,
    '0.0.0.0 is denied');
is(seen('t=lh') + seen('GET /ok?t=dec') + seen('GET /ok?t=oct') +
    seen('t=map') + seen('t=zero'), 0, 'none of them reaches the server');

$p = probe("name=a url=$base/ok?t=reuseA private=1",
    "name=b after=a url=$base/ok?t=reuseB");
is($p->{by}{a}{error}, 'ok', 'a call allowed private addresses leaves a '
    . 'connection open to 127.0.0.1');
like($p->{by}{b}{message}, qr/request to 127\.0\.0\.1 refused before sending: loopback/,
    'a later call without that allowance reusing the connection is denied '
    . 'before sending');
is(seen('t=reuseB'), 0, 'and its request never reaches the server');

# Redirects.

$r = call("url=$base/redirect?to=/ok private=1");
ok($r->{error} eq 'ok' && $r->{status} == 302 &&
    $r->{headers}{location} eq '/ok',
    'without a redirect check a 3xx is the response') or diag explain $r;

$r = call("url=$base/redirect?to=/ok private=1 follow=prefix:$base/");
ok($r->{error} eq 'ok' && $r->{status} == 200 && $r->{body} eq 'ok' &&
    $r->{final_url} eq "$base/ok",
    'a redirect the check allows is followed, resolved against the current URL')
    or diag explain $r;
is_deeply($r->{asked}, ["GET $base/ok"],
    'the check is asked with the method and the absolute URL');

$r = call("url=$base/redirect?to=/ok?t=rdeny private=1 follow=deny");
is($r->{error}, 'denied', 'a redirect the check refuses ends the call as denied');
like($r->{message}, qr/redirect to \Q$base\E\/ok\?t=rdeny refused by the policy/,
    'the denial names the URL');
is(seen('GET /ok?t=rdeny'), 0, 'a refused redirect is never fetched');

$r = call("url=$base/redirect?to=http://127.0.0.2:$port/ok?t=r2 private=1 "
    . 'follow=all');
ok($r->{error} eq 'denied' && $r->{message} =~ /127\.0\.0\.2 refused: loopback/,
    'a redirect to a refused address is denied, naming the address')
    or diag explain $r;

$p = probe("name=file url=$base/redirect?to=file:///etc/passwd private=1 "
    . 'follow=private',
    "name=gopher url=$base/redirect?to=gopher://127.0.0.1:$port/x private=1 "
    . 'follow=private');
ok($p->{by}{file}{error} eq 'denied' &&
    $p->{by}{file}{message} =~ m{file:///etc/passwd refused: only http and https},
    'a redirect to file:// is refused whatever the check says')
    or diag explain $p->{by}{file};
ok($p->{by}{gopher}{error} eq 'denied' && !@{ $p->{by}{gopher}{asked} },
    'a redirect to gopher:// is refused before the check is asked');

$r = call("url=$base/loop?n=0 private=1 follow=prefix:$base/ redirects=3");
ok($r->{error} eq 'failed' && $r->{message} =~ /more than 3 redirects/,
    'a redirect loop stops at max_redirects') or diag explain $r;
is(seen('GET /loop'), 4, 'after the first request and max_redirects more');

$p = probe("name=303 method=POST body=hello url=$base/redirect?code=303&to=/post "
    . "private=1 follow=private",
    "name=303get body=hello url=$base/redirect?code=303&to=/post "
    . "private=1 follow=private",
    "name=307 method=POST body=hello url=$base/redirect?code=307&to=/post "
    . "private=1 follow=private");
ok($p->{by}{303}{body} eq "GET\n" && $p->{by}{303}{asked}[0] eq "GET $base/post",
    '303 turns a POST into a GET without a body') or diag explain $p->{by}{303};
is($p->{by}{'303get'}{body}, "GET\n", 'and a GET sent with a body loses it');
ok($p->{by}{307}{body} eq "POST\nhello",
    '307 repeats the POST with its body') or diag explain $p->{by}{307};

$p = probe("name=same header=Authorization:Bearer%20s3cret "
    . "url=$base/redirect?to=/headers private=1 follow=private",
    "name=other header=Authorization:Bearer%20s3cret header=Cookie:c=1 "
    . "url=$base/redirect?to=http://localhost:$port/headers private=1 "
    . 'follow=private');
like($p->{by}{same}{body}, qr/^Authorization: Bearer s3cret$/m,
    'Authorization follows a redirect to the same origin');
ok($p->{by}{other}{status} == 200 && $p->{by}{other}{body} !~ /s3cret|Cookie/,
    'Authorization and Cookie are dropped on a redirect to another origin')
    or diag explain $p->{by}{other};

# Time and size.

$p = probe("name=slow url=$base/slow?ms=3000 timeout=800 private=1",
    map { "name=fast$_ url=$base/ok?t=fast$_ private=1" } 1 .. 4);
is($p->{order}[-1], 'slow', 'calls started with a slow one on the same loop '
    . 'all finish before it');
ok(!grep({ $p->{by}{"fast$_"}{error} ne 'ok' ||
    $p->{by}{"fast$_"}{ms} > 500 } 1 .. 4),
    'and promptly, while the slow one waits') or diag explain $p->{done};
ok($p->{by}{slow}{error} eq 'timeout' && $p->{by}{slow}{ms} >= 750 &&
    $p->{by}{slow}{ms} < 1600, 'a slow server times out within timeout_ms')
    or diag explain $p->{by}{slow};
like($p->{by}{slow}{message}, qr/within 800 ms: raise timeout_ms/,
    'the timeout says what to do');

$r = call("url=$base/redirect?to=/slow?ms=3000 timeout=800 private=1 "
    . 'follow=private');
ok($r->{error} eq 'timeout' && $r->{ms} < 1600,
    'timeout_ms covers the whole exchange, redirects included')
    or diag explain $r;

$p = probe("name=stream url=$base/big?mb=32 max=100000 private=1",
    "name=length url=$base/big?mb=32&len=1 max=100000 private=1");
ok($p->{by}{stream}{error} eq 'too_large' && $p->{by}{stream}{ms} < 3000 &&
    $p->{by}{stream}{bodylen} == 0,
    'a body streamed past max_response is cut with HTTP_TOO_LARGE')
    or diag explain $p->{by}{stream};
like($p->{by}{stream}{message}, qr/max_response \(100000 bytes\)/,
    'the cut names the limit');
ok($p->{by}{length}{error} eq 'too_large' &&
    $p->{by}{length}{received} < 1000000,
    'a Content-Length past max_response is refused before the body')
    or diag explain $p->{by}{length};

$r = call("url=$base/nul private=1");
# libcurl 7.88 fails the transfer; http.c would skip the line otherwise.
ok(($r->{error} eq 'failed' && $r->{message} =~ /Nul byte/i) ||
    ($r->{error} eq 'ok' && !exists $r->{headers}{'x-nul'} &&
    !exists $r->{headers}{location} && $r->{headers}{'x-after'} eq 'kept'),
    'a response header holding a NUL byte cannot forge another header')
    or diag explain $r;

$p = probe("name=fit url=$base/many?n=50 private=1",
    "name=many url=$base/many?n=150 private=1");
ok($p->{by}{fit}{error} eq 'ok' && $p->{by}{fit}{headers}{'x-h-50'} eq '50',
    'fifty response headers are all kept');
ok($p->{by}{many}{error} eq 'too_large' &&
    $p->{by}{many}{message} =~ /100 headers/,
    'more response headers than the limit end the call');

# Requests refused before any connection.

my %bad = (
    crlf_value => 'header=X-A:foo%0d%0aX-Injected:%201',
    lf_value => 'header=X-A:foo%0aX-Injected:%201',
    cr_value => 'header=X-A:foo%0d',
    crlf_name => 'header=X-A%0d%0aX-Injected:1',
    space_name => 'header=X%20A:1',
    colon_name => 'header=X%3aA:1',
    empty_name => 'header=:1',
    ctl_value => 'header=X-A:a%01b',
    host => 'header=Host:internal.example',
    length => 'header=Content-Length:0',
    te => 'header=Transfer-Encoding:chunked',
    connection => 'header=Connection:close',
    method_space => 'method=G%20T',
    method_crlf => 'method=GET%0d%0aX:',
    method_digit => 'method=G3T',
    method_empty => 'method=',
);
$p = probe(map { "name=$_ $bad{$_} url=$base/ok?t=bad_$_ private=1" } sort keys %bad);
for my $k (sort keys %bad) {
	is($p->{by}{$k}{error}, 'bad_request', "a request with $k is refused")
	    or diag explain $p->{by}{$k};
}
is(scalar(grep { seen("t=bad_$_") } keys %bad), 0,
    'and none of them connects to the server');
like($p->{by}{crlf_value}{message}, qr/header X-A refused: its value holds CR, LF/,
    'CR/LF in a value is named as such');
like($p->{by}{space_name}{message}, qr/header name "X A" refused: a name is a token/,
    'a name that is not a token is named as such');
like($p->{by}{host}{message}, qr/header Host refused: it comes from the URL/,
    'Host is refused, saying why');

my %schemes = (file => 'file:///etc/passwd', ftp => "ftp://127.0.0.1:$port/x",
    gopher => "gopher://127.0.0.1:$port/x", dict => "dict://127.0.0.1:$port/x");
$p = probe(map { "name=$_ url=$schemes{$_} private=1" } sort keys %schemes);
for my $k (sort keys %schemes) {
	ok($p->{by}{$k}{error} eq 'bad_request' &&
	    $p->{by}{$k}{message} =~ /only http and https URLs are allowed, not $k:/,
	    "a $k:// URL is refused") or diag explain $p->{by}{$k};
}

$p = probe("name=cred url=http://user:pw\@127.0.0.1:$port/ok?t=cred private=1",
    "name=noscheme url=127.0.0.1:$port/ok?t=nos private=1",
    "name=space url=http://127.0.0.1:$port/o%20k private=1");
like($p->{by}{cred}{message}, qr/credentials: send them in an Authorization header/,
    'a URL carrying credentials is refused');
like($p->{by}{noscheme}{message}, qr/not valid|no scheme/,
    'a URL without a scheme is refused');
like($p->{by}{space}{message}, qr/space or a control character/,
    'a URL with a space is refused');

# A URL is judged as written, so it must be written as it is fetched.

$p = probe("name=dots url=$base/x/../ok?t=dots private=1",
    "name=frag url=http://nonexistent.invalid#\@127.0.0.1:$port/ok?t=frag private=1",
    "name=decimal url=http://2130706433:$port/ok?t=decimal private=1",
    "name=noslash url=http://127.0.0.1:$port private=1");
like($p->{by}{dots}{message}, qr{the URL reads as \Q$base\E/ok\?t=dots: write it that way},
    'a URL with dot segments is refused, naming the URL it would fetch');
like($p->{by}{frag}{message}, qr{reads as http://nonexistent\.invalid/},
    'a URL whose fragment hides its host is refused, naming the real host');
like($p->{by}{decimal}{message}, qr{reads as http://127\.0\.0\.1:$port/},
    'a numeric host not spelt out is refused, spelt out');
like($p->{by}{noslash}{message}, qr{reads as http://127\.0\.0\.1:$port/:},
    'even a missing slash is named');
is(seen('t=dots') + seen('t=frag') + seen('t=decimal'), 0,
    'none of them connects');

open(my $cfh, '-|', $probe, '-c', 'HTTPS://api.example.com',
    'http://a.example/x/./y/../z#frag', 'http://evil.example#@a.example/',
    'http://0x7f.1/', 'ftp://a.example/', 'http://u:p@a.example/')
    or die "$probe: $!";
my @canon = map { decode_json($_) } <$cfh>;
close $cfh;
is_deeply([map { $_->{out} // "refused: $_->{refused}" } @canon],
    ['https://api.example.com/', 'http://a.example/x/z',
     'http://evil.example/', 'http://127.0.0.1/',
     'refused: only http and https URLs are allowed, not ftp:',
     'refused: the URL carries credentials: send them in an Authorization '
     . 'header instead'],
    'http_url_canonical gives the broker the URL the engine will fetch');

# What libcurl would take from the environment or keep between hops.

{
	local $ENV{http_proxy} = 'http://127.0.0.1:1/';
	local $ENV{HTTP_PROXY} = 'http://127.0.0.1:1/';
	local $ENV{ALL_PROXY} = 'http://127.0.0.1:1/';
	local $ENV{HOME} = $dir;
	open my $fh, '>', "$dir/.netrc" or die "$dir/.netrc: $!";
	print $fh "machine 127.0.0.1 login someone password s3cret\n";
	close $fh;
	chmod 0600, "$dir/.netrc";
	$r = call("url=$base/headers?t=env private=1");
}
ok($r->{error} eq 'ok' && $r->{status} == 200,
    'a proxy named in the environment is not used') or diag explain $r;
unlike($r->{body}, qr/^Authorization:/mi, 'nor is ~/.netrc');

$r = call("url=$base/redirect?to=/headers&cookie=1 private=1 follow=private");
ok($r->{status} == 200 && $r->{body} !~ /^Cookie:/mi,
    'a cookie set by a response is not sent on the next hop')
    or diag explain $r;

$r = call('url=http://nonexistent.invalid/ timeout=8000');
ok($r->{error} eq 'failed' && $r->{message} =~ /nonexistent\.invalid/,
    'a name that does not resolve is reported as HTTP_FAILED, naming it')
    or diag explain $r;

# TLS: verification is always on.

sub tls_server {
	my $openssl = (grep { -x "$_/openssl" } split /:/, $ENV{PATH})[0];
	return undef unless $openssl;
	system("$openssl/openssl req -x509 -newkey ec -pkeyopt "
	    . "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 "
	    . "-keyout $dir/key.pem -out $dir/cert.pem >/dev/null 2>&1") == 0
	    or return undef;
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 1, ReuseAddr => 1) or return undef;
	my $tls_port = $s->sockport;
	close $s;
	my $pid = fork // return undef;
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', '/dev/null';
		open STDERR, '>', '/dev/null';
		{ exec "$openssl/openssl", 's_server', '-accept',
		    "127.0.0.1:$tls_port", '-cert', "$dir/cert.pem", '-key',
		    "$dir/key.pem", '-www' }
		POSIX::_exit(127);
	}
	for (1 .. 50) {
		return ($pid, $tls_port) if IO::Socket::INET->new(
		    PeerAddr => "127.0.0.1:$tls_port");
		sleep 0.05;
	}
	kill 'KILL', $pid;
	return undef;
}

SKIP: {
	my ($tls, $tls_port) = tls_server();
	skip 'openssl cannot serve TLS here', 1 unless $tls;
	$r = call("url=https://127.0.0.1:$tls_port/ private=1");
	kill 'KILL', $tls;
	waitpid($tls, 0);
	ok($r->{error} eq 'failed' && $r->{message} =~ /certificate/i,
	    'a self-signed certificate fails verification')
	    or diag explain $r;
}

# Methods, bodies, headers sent.

$p = probe("name=hdr header=X-Test:hello header=X-Empty: url=$base/headers private=1",
    "name=post method=POST body=x url=$base/headers private=1",
    "name=put method=PUT body=abc url=$base/post private=1",
    "name=del method=DELETE url=$base/post private=1",
    "name=head method=HEAD url=$base/ok private=1");
like($p->{by}{hdr}{body}, qr/^X-Test: hello$/m, 'request headers reach the server');
like($p->{by}{hdr}{body}, qr/^X-Empty:\s*$/m, 'a header with an empty value is sent empty');
unlike($p->{by}{post}{body}, qr/^(Expect|Content-Type):/mi,
    'a POST carries no Expect and no Content-Type the caller did not give');
is($p->{by}{put}{body}, "PUT\nabc", 'PUT sends its body');
is($p->{by}{del}{body}, "DELETE\n", 'DELETE without a body sends none');
ok($p->{by}{head}{error} eq 'ok' && $p->{by}{head}{status} == 200 &&
    $p->{by}{head}{bodylen} == 0 && $p->{by}{head}{ms} < 1000,
    'HEAD returns without waiting for a body') or diag explain $p->{by}{head};

# Cancelling.

$p = probe("name=slow url=$base/slow?ms=1500&t=cancel private=1 cancel=100",
    "name=fast url=$base/ok?t=cancelfast private=1",
    "name=bad url=file:///x cancel=0",
    "name=now url=$base/ok?t=cancelnow private=1 cancel=0");
is_deeply($p->{order}, ['fast'], 'a cancelled call never calls back, '
    . 'whether in flight, refused or just started') or diag explain $p->{objs};
is(scalar(grep { $_->{cancelled} } @{ $p->{objs} }), 3, 'all three were cancelled');
is($p->{status}, 0, 'and the program ends cleanly (under ASan: leaks nothing)');

$p = probe('-f', 200, "name=a url=$base/slow?ms=1500 private=1",
    "name=b url=$base/slow?ms=1500 private=1", "name=c url=http://127.0.0.1:1/");
ok(!@{ $p->{done} } || (@{ $p->{done} } == 1 && $p->{order}[0] eq 'c'),
    'freeing the engine with calls pending calls none of them back')
    or diag explain $p->{objs};
is($p->{status}, 0, 'and frees everything');

done_testing();
