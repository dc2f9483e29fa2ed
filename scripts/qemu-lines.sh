#!/bin/sh
# The QEMU lines of subprojects/packagefiles/qemu-lines.
#
#   scripts/qemu-lines.sh            every line, the default first
#   scripts/qemu-lines.sh default    the default line
set -eu
LINES=subprojects/packagefiles/qemu-lines
all=$(sed -e 's/#.*//' "$LINES" | awk 'NF')
def=$(echo "$all" | awk '$2 == "default" {print $1}')
if [ "$(echo "$def" | grep -c .)" != 1 ]; then
    echo "qemu-lines: $LINES must mark exactly one line 'default'" >&2
    exit 1
fi
case "${1:-}" in
default) echo "$def" ;;
"") echo "$def"; echo "$all" | awk '$2 != "default" {print $1}' ;;
*) echo "usage: qemu-lines.sh [default]" >&2; exit 2 ;;
esac
