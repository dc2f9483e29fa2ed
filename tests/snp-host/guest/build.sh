#!/bin/sh
# Build the SNP test guest: sh tests/snp-host/guest/build.sh [OBJDIR] [OUT]
# (defaults build/h-guest and build/snp-host/snp-test-guest.bin).  GNU as,
# gcc -ffreestanding and ld from Debian; the uapi headers give the kernel's
# numbers (scripts/fetch-uapi.sh).
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$SRC/../../.." && pwd)
OBJ=${1:-$TOP/build/h-guest}
OUT=${2:-$TOP/build/snp-host/snp-test-guest.bin}
UAPI=${UAPI:-$TOP/build/uapi/usr/include}
CC=${GUEST_CC:-gcc}
LD=${GUEST_LD:-ld}
OBJCOPY=${GUEST_OBJCOPY:-objcopy}

[ -f "$UAPI/linux/kvm.h" ] || {
    echo "build.sh: no uapi headers at $UAPI (run scripts/fetch-uapi.sh)" >&2
    exit 2
}
mkdir -p "$OBJ" "$(dirname "$OUT")"

CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter
 -ffreestanding -fno-builtin -nostdinc -fno-stack-protector -fno-pic
 -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables
 -fno-common -fcf-protection=none -fvisibility=hidden -mcmodel=large
 -isystem $(${CC} -print-file-name=include)
 -isystem $UAPI -isystem $UAPI/x86_64-linux-gnu -I$SRC -I$SRC/.."

objs=
for s in entry.S; do
    o=$OBJ/${s%.S}.o
    $CC $CFLAGS -D__ASSEMBLER__ -c "$SRC/$s" -o "$o"
    objs="$objs $o"
done
for c in lib.c report.c main.c linux.c; do
    o=$OBJ/${c%.c}.o
    $CC $CFLAGS -c "$SRC/$c" -o "$o"
    objs="$objs $o"
done
$CC -E -P -x c -I"$SRC" "$SRC/guest.ld.S" -o "$OBJ/guest.ld"
# shellcheck disable=SC2086
$LD -nostdlib -static --no-dynamic-linker -z noexecstack -z norelro \
    --build-id=none --no-warn-rwx-segments -T "$OBJ/guest.ld" \
    -Map "$OBJ/guest.map" -o "$OBJ/snp-test-guest.elf" $objs
$OBJCOPY -O binary -j .rom "$OBJ/snp-test-guest.elf" "$OUT.tmp"
size=$(stat -c %s "$OUT.tmp")
[ "$size" = 131072 ] || {
    echo "build.sh: image is $size bytes, not 131072" >&2
    exit 1
}
mv "$OUT.tmp" "$OUT"
