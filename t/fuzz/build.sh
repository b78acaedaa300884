#!/bin/sh
# t/fuzz/build.sh: build the libFuzzer harnesses (`make fuzz` runs it from
# the top of the build tree; see t/fuzz/README.md). Every source the
# harnesses link is compiled again with clang's coverage and sanitizers into
# t/fuzz/obj/, only when it or a header is newer than its object, so that
# the fuzzer sees our code's edges and ASan and UBSan watch every byte of
# it.
#
#   build.sh -c CC -f CFLAGS -p CPPFLAGS -s SRCDIR -l LIBS -- SOURCES...
# SOURCES are paths from the top directory, found in SRCDIR or, when built
# (src/stdlib_lua.c), in the build tree; the harnesses are t/fuzz/fuzz-*.c.
set -eu

cc=clang cflags= cppflags= srcdir=. libs=
while getopts c:f:p:s:l: o; do
	case $o in
	c) cc=$OPTARG ;; f) cflags=$OPTARG ;; p) cppflags=$OPTARG ;;
	s) srcdir=$OPTARG ;; l) libs=$OPTARG ;; *) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1-}" = -- ] && shift

if [ -z "$cc" ]; then
	echo "make fuzz: no clang with -fsanitize=fuzzer was found by configure;" >&2
	echo "install the Debian package clang (apt-get install clang) and run configure again," >&2
	echo "or run it with FUZZ_CC=/path/to/clang" >&2
	exit 1
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
san="$san -fno-omit-frame-pointer -g -O1"
# clang finds fields left out of libseccomp's own initializer macros.
cflags="$cflags -Wno-missing-field-initializers"
mkdir -p t/fuzz/obj

# The newest header: an object older than it is compiled again too (a
# struct that changed size must not meet code built for the old one).
newest=$(ls -t "$srcdir"/src/*.h "$srcdir"/t/fuzz/*.h config.h 2>/dev/null |
    head -1)

# compile SRC OBJ EXTRA: only when the object is older than the source or
# than a header.
compile() {
	if [ ! -f "$2" ] || [ "$1" -nt "$2" ] || [ "$newest" -nt "$2" ]; then
		echo "  FUZZCC   $2"
		$cc $cppflags $cflags $san $3 -c "$1" -o "$2"
	fi
}

find_src() {
	if [ -f "$1" ]; then echo "$1"; else echo "$srcdir/$1"; fi
}

objs=
for s in "$@"; do
	case $s in *.c) ;; *) continue ;; esac
	o=t/fuzz/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
	compile "$(find_src "$s")" "$o" -fsanitize=fuzzer-no-link
	objs="$objs $o"
done
rm -f t/fuzz/obj/libfuzzed.a
ar rc t/fuzz/obj/libfuzzed.a $objs
compile "$srcdir/t/fuzz/fuzz.c" t/fuzz/obj/fuzz.o -fsanitize=fuzzer-no-link

for h in rpc msg conv json policy; do
	compile "$srcdir/t/fuzz/fuzz-$h.c" "t/fuzz/obj/fuzz-$h.o" \
	    -fsanitize=fuzzer-no-link
	echo "  FUZZLD   t/fuzz/fuzz-$h"
	$cc $san -fsanitize=fuzzer -o "t/fuzz/fuzz-$h" "t/fuzz/obj/fuzz-$h.o" \
	    t/fuzz/obj/fuzz.o t/fuzz/obj/libfuzzed.a $libs
done
