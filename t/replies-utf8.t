#!/usr/bin/perl
# Every string moonboxd sends a client is valid UTF-8, even when it echoes
# bytes that were not: a rule's error message, the name of an unknown
# method or option a client sent, a cut in the middle of a character. A
# client that decodes strings as text (the Python example of moonboxd(8))
# would otherwise fail on the whole reply, msgid and all. Bytes that are not
# UTF-8 become '?', as in log lines.
use strict;
use warnings;
use Test::More;

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;

$SIG{PIPE} = 'IGNORE';

# Whether every str in a raw msgpack reply is UTF-8: MiniPack decodes
# bytes as they are, so check them here.
sub utf8_ok {
	my ($v) = @_;
	return !grep { !utf8_ok($_) } @$v if ref $v eq 'ARRAY';
	return !grep { !utf8_ok($_) } %$v if ref $v eq 'HASH';
	return 1 if !defined $v || ref $v;
	my $copy = $v;
	return utf8::decode($copy) ? 1 : 0;
}

my $d = daemon_start(rules => {
	bytes => 'return function() error("bad \255 byte") end',
	cut => 'return function() error("x" .. ("\u{e9}"):rep(2000)) end',
});

my $r = $d->invoke('bytes', undef);
is($r->[0]{kind}, 'runtime', 'a rule that raises bytes fails with runtime');
ok(utf8_ok($r->[0]{message}), 'and its message is valid UTF-8');
like($r->[0]{message}, qr/bad \? byte/, 'with the byte shown as ?');

$r = $d->invoke('cut', undef);
ok(utf8_ok($r->[0]{message}),
    'a long message cut to its limit is still valid UTF-8');

my $s = $d->connect;
$d->send_request($s, 3, "\xff\xfe", []);
my $x = $d->recv_response($s);
is($x->[1], 3, 'an unknown method that is not UTF-8 is answered');
ok(utf8_ok($x->[2]{message}), 'with a message that is valid UTF-8');
like($x->[2]{message}, qr/unknown method '\?\?'/, 'naming it with ?');

$d->send_request($s, 4, 'invoke', ['bytes', undef, { "d\xc3" => 1 }]);
$x = $d->recv_response($s);
is($x->[2]{kind}, 'bad_request', 'an unknown option that is not UTF-8 is bad_request');
ok(utf8_ok($x->[2]{message}), 'with a message that is valid UTF-8');

$d->send_request($s, 5, 'invoke',
    ['bytes', undef, { ("x" . "\x{e9}" x 40) => 1 }]);
$x = $d->recv_response($s);
ok(utf8_ok($x->[2]{message}),
    'an option name cut in the middle of a character is still UTF-8');
close $s;

done_testing();
