package MiniPack;
# A small msgpack encoder and decoder for the tests, so they can speak
# msgpack-RPC to moonboxd byte by byte (Debian's Perl has no msgpack
# module). Perl values: undef is nil, MiniPack::true/false are booleans,
# numbers that look like integers are integers, MiniPack::float(x) forces a
# float, MiniPack::bin(s) a binary string, other scalars are strings,
# array and hash references are arrays and maps (map keys in sorted order).
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(mp_pack mp_unpack mp_true mp_false mp_float mp_bin);

sub mp_true  { bless \(my $x = 1), 'MiniPack::Bool' }
sub mp_false { bless \(my $x = 0), 'MiniPack::Bool' }
sub mp_float { bless \(my $x = $_[0]), 'MiniPack::Float' }
sub mp_bin   { bless \(my $x = $_[0]), 'MiniPack::Bin' }

sub _int {
	my ($v) = @_;
	return pack('C', $v) if $v >= 0 && $v < 128;
	return pack('C', $v & 0xff) if $v < 0 && $v >= -32;
	return pack('CC', 0xcc, $v) if $v >= 0 && $v < 256;
	return pack('Cn', 0xcd, $v) if $v >= 0 && $v < 65536;
	return pack('CN', 0xce, $v) if $v >= 0 && $v < 4294967296;
	return pack('CQ>', 0xcf, $v) if $v >= 0;
	return pack('Cq>', 0xd3, $v);
}

sub _len {
	my ($n, $fix, $fixmax, $c16, $c32) = @_;
	return pack('C', $fix | $n) if defined $fix && $n <= $fixmax;
	return pack('Cn', $c16, $n) if $n < 65536;
	return pack('CN', $c32, $n);
}

sub mp_pack {
	my ($v) = @_;
	return "\xc0" unless defined $v;
	my $r = ref $v;
	if ($r eq 'MiniPack::Bool') { return $$v ? "\xc3" : "\xc2" }
	if ($r eq 'MiniPack::Float') { return pack('Cd>', 0xcb, $$v) }
	if ($r eq 'MiniPack::Bin') {
		my $n = length $$v;
		return ($n < 256 ? pack('CC', 0xc4, $n) : $n < 65536 ?
		    pack('Cn', 0xc5, $n) : pack('CN', 0xc6, $n)) . $$v;
	}
	if ($r eq 'ARRAY') {
		return _len(scalar @$v, 0x90, 15, 0xdc, 0xdd) .
		    join('', map { mp_pack($_) } @$v);
	}
	if ($r eq 'HASH') {
		return _len(scalar keys %$v, 0x80, 15, 0xde, 0xdf) .
		    join('', map { mp_pack("$_") . mp_pack($v->{$_}) }
		    sort keys %$v);
	}
	return _int($v) if $v =~ /\A-?[0-9]{1,18}\z/;
	my $s = "$v";
	utf8::encode($s) if utf8::is_utf8($s);
	my $n = length $s;
	return ($n < 32 ? pack('C', 0xa0 | $n) : $n < 256 ?
	    pack('CC', 0xd9, $n) : $n < 65536 ? pack('Cn', 0xda, $n) :
	    pack('CN', 0xdb, $n)) . $s;
}

# mp_unpack(BYTES): (value, bytes used), or () if incomplete.
sub mp_unpack {
	my ($buf) = @_;
	my $pos = 0;
	my $v = eval { _un(\$buf, \$pos) };
	return () if $@ && $@ =~ /^short/;
	die $@ if $@;
	return ($v, $pos);
}

sub _take {
	my ($b, $p, $n) = @_;
	die "short\n" if $$p + $n > length $$b;
	my $s = substr($$b, $$p, $n);
	$$p += $n;
	return $s;
}

sub _un {
	my ($b, $p) = @_;
	my $c = ord _take($b, $p, 1);
	return $c if $c < 0x80;
	return $c - 256 if $c >= 0xe0;
	return _map($b, $p, $c & 15) if $c <= 0x8f;
	return _arr($b, $p, $c & 15) if $c <= 0x9f;
	return _take($b, $p, $c & 31) if $c <= 0xbf;
	my %fixed = (0xcc => 'C', 0xcd => 'n', 0xce => 'N', 0xcf => 'Q>',
	    0xd0 => 'c', 0xd1 => 's>', 0xd2 => 'l>', 0xd3 => 'q>',
	    0xca => 'f>', 0xcb => 'd>');
	my %size = (C => 1, n => 2, N => 4, 'Q>' => 8, c => 1, 's>' => 2,
	    'l>' => 4, 'q>' => 8, 'f>' => 4, 'd>' => 8);
	return undef if $c == 0xc0;
	return 0 if $c == 0xc2;
	return 1 if $c == 0xc3;
	if (my $f = $fixed{$c}) {
		return unpack($f, _take($b, $p, $size{$f}));
	}
	my %str = (0xd9 => 'C', 0xda => 'n', 0xdb => 'N',
	    0xc4 => 'C', 0xc5 => 'n', 0xc6 => 'N');
	if (my $f = $str{$c}) {
		my $n = unpack($f, _take($b, $p, $size{$f}));
		return _take($b, $p, $n);
	}
	return _arr($b, $p, unpack('n', _take($b, $p, 2))) if $c == 0xdc;
	return _arr($b, $p, unpack('N', _take($b, $p, 4))) if $c == 0xdd;
	return _map($b, $p, unpack('n', _take($b, $p, 2))) if $c == 0xde;
	return _map($b, $p, unpack('N', _take($b, $p, 4))) if $c == 0xdf;
	die sprintf("unsupported msgpack byte 0x%02x\n", $c);
}

sub _arr {
	my ($b, $p, $n) = @_;
	return [ map { _un($b, $p) } 1 .. $n ];
}

sub _map {
	my ($b, $p, $n) = @_;
	my %h;
	for (1 .. $n) {
		my $k = _un($b, $p);
		$h{$k} = _un($b, $p);
	}
	return \%h;
}

1;
