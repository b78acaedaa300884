#!/usr/bin/perl
# The manual pages are installed and clean under mandoc -Tlint, and they
# document what the programs and the sources define, no more and no less:
# the options each command prints in its --help, the keywords of the
# configuration tables, the msgpack-RPC methods, the error kinds, and the
# functions and struct fields of libmoonbox.
use strict;
use warnings;
use Test::More;

my $top = $ENV{top_srcdir} // '.';
my $moonbox = $ENV{MOONBOX} // 'src/moonbox';
my $moonboxd = $ENV{MOONBOXD} // 'src/moonboxd';
my @pages = qw(moonbox.1 moonbox-lua.7 moonboxd.8 moonbox.policy.5
    libmoonbox.3);

sub slurp {
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!";
	local $/;
	return <$fh>;
}

sub page { slurp("$top/man/$_[0]") }

# The lines of TEXT from the first that matches START up to, not including,
# the next that matches STOP.
sub region {
	my ($text, $start, $stop) = @_;
	my @out;
	my $in = 0;
	for my $line (split /\n/, $text) {
		if ($in && $line =~ $stop) {
			last;
		}
		$in = 1 if !$in && $line =~ $start;
		push @out, $line if $in;
	}
	return @out;
}

# The `.It` lines of LINES that are items of the outermost list.
sub top_items {
	my $depth = 0;
	my @items;
	for (@_) {
		if (/^\.Bl\b/) { $depth++ }
		elsif (/^\.El\b/) { $depth-- }
		elsif (/^\.It\b/ && $depth == 1) { push @items, $_ }
	}
	return @items;
}

# The names a page documents with MACRO on `.It` lines: `.It Ic listen`,
# `.It Cm syntax , runtime`.
sub it_names {
	my ($macro, @lines) = @_;
	my %names;
	for (@lines) {
		next unless /^\.It\s+\Q$macro\E\s+(.*)/;
		my $rest = $1;
		if ($macro eq 'Cm') {
			# A list of kinds: `.It Cm a , b , c`.
			$names{$_} = 1 for grep { /^[a-z_]+$/ } split /\s*,\s*|\s+/,
			    $rest =~ s/\s+Bq\b.*//r;
		} else {
			$names{$1} = 1 if $rest =~ /^(\S+)/;
		}
	}
	return \%names;
}

# Both ways: every name of WANT (the KINDs of SOURCE) is documented in
# WHERE, and every name documented there is one of them.
sub same_names {
	my ($want, $have, $kind, $source, $where, $verb) = @_;
	$verb //= 'documented';
	for my $n (sort keys %$want) {
		ok($have->{$n}, "the $kind $n of $source is $verb in $where");
	}
	for my $n (sort keys %$have) {
		ok($want->{$n}, "the $kind $n $verb in $where is in $source");
	}
}

# The string entries of a C table: `{ "listen", 1, 5, 0, set_listen },`.
sub c_table {
	my ($file, $table) = @_;
	my $src = slurp("$top/src/$file");
	my ($body) = $src =~ /\b\Q$table\E\[[^\]]*\]\s*=\s*\{(.*?)\n\};/s
	    or die "$file: no table $table";
	my %names = map { $_ => 1 } $body =~ /^\s*(?:\[\w+\]\s*=\s*)?\{\s*"([^"]+)"/mg;
	return \%names;
}

# --- every page is clean under mandoc -Tlint -------------------------------
SKIP: {
	my $mandoc = `command -v mandoc 2>/dev/null`;
	skip 'mandoc is not installed', scalar @pages unless $mandoc;
	for my $p (@pages) {
		my $out = `mandoc -Tlint -Wwarning '$top/man/$p' 2>&1`;
		ok($? == 0 && $out eq '',
		    "$p is clean under mandoc -Tlint -Wwarning") or diag $out;
	}
}

# --- every page is installed -------------------------------------------------
{
	my ($list) = slurp("$top/Makefile.am") =~
	    /^dist_man_MANS\s*=\s*((?:.*\\\n)*.*)$/m;
	my %listed = map { m{^man/(.+)} ? ($1 => 1) : () } split /[\s\\]+/,
	    $list // '';
	opendir my $dh, "$top/man" or die "man: $!";
	my %present = map { $_ => 1 } grep { /\.[1-9]$/ } readdir $dh;
	same_names(\%present, \%listed, 'page', 'man/',
	    'dist_man_MANS of Makefile.am', 'listed');
}

# --- moonbox(1): the options of each command --------------------------------
my $m1 = page('moonbox.1');
my %all_help;
$all_help{$_} = 1 for `'$moonbox' --help` =~ /(--[a-z][a-z-]*)/g;
for my $cmd (qw(run test call ctl policy check replay)) {
	my $help = `'$moonbox' $cmd --help`;
	is($? >> 8, 0, "moonbox $cmd --help exits 0");
	my %in_help = map { $_ => 1 } $help =~ /(--[a-z][a-z-]*)/g;
	ok(keys %in_help >= 3, "moonbox $cmd --help lists its options");
	$all_help{$_} = 1 for keys %in_help;
	my @sect = region($m1, qr/^\.Ss The \Q$cmd\E command$/,
	    qr/^\.(?:Ss The \w+ command|Sh)\b/);
	ok(@sect, "moonbox(1) has a section on the $cmd command");
	my %in_page;
	for (grep { /^\.It\s+Fl\s/ } top_items(@sect)) {
		$in_page{"--$1"} = 1 while /\bFl\s+-([a-z][a-z-]*)/g;
	}
	same_names(\%in_help, \%in_page, 'option', "moonbox $cmd --help",
	    "moonbox(1) under The $cmd command");
}
my %fl = map { ("--$_" => 1) } $m1 =~ /\bFl\s+-([a-z][a-z-]*)/g;
for my $opt (sort keys %fl) {
	ok($all_help{$opt}, "the option $opt, wherever moonbox(1) names it, " .
	    "is printed by some moonbox --help");
}

# --- moonboxd(8): options, keywords, methods, kinds -------------------------
my $m8 = page('moonboxd.8');
{
	my $help = `'$moonboxd' --help`;
	is($? >> 8, 0, 'moonboxd --help exits 0');
	my %in_help;
	for ($help =~ /^\s+(-\w,\s+--[a-z][a-z-]*)/mg) {
		my ($s, $l) = /^(-\w),\s+(\S+)/;
		$in_help{$s} = $in_help{$l} = 1;
	}
	ok(keys %in_help >= 8, 'moonboxd --help lists short and long options');
	my %in_page;
	for (grep { /^\.It\s+Fl\s/ } split /\n/, $m8) {
		$in_page{"-$1"} = 1 while /\bFl\s+(-?[A-Za-z][\w-]*)/g;
	}
	same_names(\%in_help, \%in_page, 'option', 'moonboxd --help',
	    'moonboxd(8)');
}

my @conf = region($m8, qr/^\.Sh CONFIGURATION$/, qr/^\.Sh\b/);
same_names(c_table('settings.c', 'settings_keys'), it_names('Ic', @conf),
    'keyword', 'the table of src/settings.c',
    'moonboxd(8) under CONFIGURATION');
ok(keys %{ it_names('Ic', @conf) } >= 10,
    'moonboxd(8) lists the keywords of moonboxd.conf');

my @methods = top_items(region($m8, qr/^\.Ss Methods$/, qr/^\.S[hs]\b/));
my $rpc = c_table('rpc.c', 'methods');
ok(keys %$rpc >= 4, 'the method table of src/rpc.c can be read');
same_names($rpc, it_names('Cm', @methods), 'method',
    'the table of src/rpc.c', 'moonboxd(8) under Methods');

my @errors = top_items(region($m8, qr/^\.Ss Errors$/, qr/^\.S[hs]\b/));
my $kinds = c_table('kind.c', 'kinds');
delete $kinds->{ok};
ok(keys %$kinds >= 10, 'the kinds of src/kind.c can be read');
same_names($kinds, it_names('Cm', @errors), 'error kind',
    'the table of src/kind.c', 'moonboxd(8) under Errors');

# --- moonbox.policy(5): keywords --------------------------------------------
{
	my $p5 = page('moonbox.policy.5');
	my @pools = (region($p5, qr/^\.Sh POOLS$/, qr/^\.Sh\b/),
	    region($p5, qr/^\.Sh RULE BLOCKS$/, qr/^\.Sh\b/),
	    region($p5, qr/^\.Sh ALLOW STATEMENTS$/, qr/^\.Sh\b/),
	    region($p5, qr/^\.Sh QUOTAS$/, qr/^\.Sh\b/));
	my %keys = (%{ c_table('policy.c', 'policy_keys') },
	    %{ c_table('policy.c', 'pool_keys') },
	    %{ c_table('policy.c', 'rule_keys') });
	ok(keys %keys >= 12, 'the keyword tables of src/policy.c can be read');
	same_names(\%keys, it_names('Ic', @pools), 'keyword',
	    'the tables of src/policy.c',
	    'moonbox.policy(5) under POOLS, RULE BLOCKS, ALLOW STATEMENTS and QUOTAS');
}

# --- libmoonbox(3): functions and struct fields -----------------------------
{
	my $h = slurp("$top/src/moonbox.h");
	(my $code = $h) =~ s{/\*.*?\*/}{}gs;
	my %funcs = map { $_ => 1 } $code =~ /\b(mb_\w+)\s*\(/g;
	ok(keys %funcs >= 8, 'src/moonbox.h declares the functions');
	my $p3 = page('libmoonbox.3');
	my @syn = region($p3, qr/^\.Sh SYNOPSIS$/, qr/^\.Sh\b/);
	my %in_syn = map { /^\.F[no]\s+(\w+)/ ? ($1 => 1) : () } @syn;
	same_names(\%funcs, \%in_syn, 'function', 'src/moonbox.h',
	    'the SYNOPSIS of libmoonbox(3)');
	my @name = region($p3, qr/^\.Sh NAME$/, qr/^\.Sh SYNOPSIS$/);
	my %in_name = map { /^\.Nm\s+(\w+)/ ? ($1 => 1) : () } @name;
	same_names(\%funcs, \%in_name, 'function', 'src/moonbox.h',
	    'the NAME of libmoonbox(3)');

	my %fields;
	for my $body ($code =~ /\bstruct\s+mb_\w+\s*\{(.*?)\};/gs) {
		for my $decl (split /;/, $body) {
			$decl =~ s/^\s*(?:const\s+)?(?:struct\s+)?\w+\s*//;
			for (split /,/, $decl) {
				$fields{$1} = 1 if /(\w+)\s*(?:\[\w*\])?\s*$/;
			}
		}
	}
	ok(keys %fields >= 15, 'src/moonbox.h declares the struct fields');
	my %in_page = map { /^\.It\s+Va\s+(\w+)/ ? ($1 => 1) : () }
	    split /\n/, $p3;
	same_names(\%fields, \%in_page, 'struct field', 'src/moonbox.h',
	    'libmoonbox(3)');
}
done_testing();
