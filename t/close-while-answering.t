#!/usr/bin/perl
# A connection that moonboxd closes while it answers a batch of pipelined
# requests (a token socket's client that never authenticates, a client
# past max-pending) is closed from the event loop, after the request being
# answered is done with it: nothing touches the connection once it is
# freed (the sanitizer build sees to that), the client gets at most the
# replies sent before, then end of file, and the daemon serves others.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;
use MiniPack qw(mp_pack);

$SIG{PIPE} = 'IGNORE';
my $port = 20000 + $$ % 20000;
my $d = daemon_start(no_start => 1,
    conf => "listen-tcp \"127.0.0.1\" $port token-file \"token\"\n" .
    "max-pending 4K\n",
    rules => { echo => 'return function(e) return e end' });
$d->file('token', "T0ken-abcdefghijklmnopqrstu\n");
chmod 0600, "$d->{dir}/token";
$d->start;

my $eof = 0;
for (1 .. 20) {
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or
	    BAIL_OUT("connect: $!");
	syswrite($s, join '', map { mp_pack([0, $_, 'ping', []]) } 1 .. 50);
	my $r = $d->recv_response($s, 5);
	my $after = $d->recv_response($s, 5);
	$eof++ if $r && ($r->[2]{kind} // '') eq 'denied' && !defined $after;
	close $s;
}
is($eof, 20, 'fifty pings before auth get one denied, then end of file');

my $slow = $d->connect;
syswrite($slow, join '', map { mp_pack([0, $_, 'rules', []]) } 1 .. 2000);
my $n = 0;
$n++ while defined $d->recv_response($slow, 3);
ok($n < 2000, "a client past max-pending in one batch is cut off ($n replies)");
close $slow;

is($d->invoke('echo', 'fine')->[1]{value}, 'fine', 'the daemon serves others');
is($d->stop('TERM'), 0, 'and exits 0');

done_testing();
