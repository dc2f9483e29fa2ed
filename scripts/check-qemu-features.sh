#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What the operators' QEMU can run, next to Debian's: for each QEMU line,
# our build/bin/qemu-system-x86_64-LINE must offer every device
# (-device help), network back-end (-netdev help), accelerator
# (-accel help) and machine type (-machine help) that the reference
# offers, and accept -sandbox on (seccomp).  More than the reference is
# fine; what is missing is named, and fails, unless it is one of the
# EXCLUDED below (left out on purpose, each with its reason: printed, not
# failed).
#
# The reference of a line is Debian's qemu-system-x86 of that line where
# the machine's apt sources carry one (bookworm-backports: 10.0), with the
# modules of the packages it recommends (qemu-system-gui,
# qemu-system-modules-spice, qemu-system-modules-opengl, qemu-block-extra):
# the installed one when its version is of the line, else the packages
# and the libraries this machine lacks, fetched with apt-get download and
# unpacked under build/debian-qemu/LINE/ (nothing is installed).  Where
# apt has none (10.2 on Debian 12), it is the same line built the same
# way without our patches (scripts/build-upstream-qemu.sh LINE, which
# make qemu-testsuite builds).  When that binary is not built, the line's
# unpatched source is configured the same way (about a minute, no
# compiling: what make check does) and the two configurations are
# compared instead: every device QEMU's Kconfig selects
# (x86_64-softmmu-config-devices.mak) and every feature configure
# enables (config-host.h) without our patches must be selected and
# enabled with them; the binary's own lists are then compared with
# Debian's binary of another line, said, not failed.
#
#   scripts/check-qemu-features.sh [LINE...]      default: every line
#
# TAP on stdout; exit 1 when something is missing, 0 otherwise.
set -u

BUILD=${BUILD:-build}
TOP=$(pwd)
if [ $# = 0 ]; then
    # shellcheck disable=SC2046
    set -- $(sh scripts/qemu-lines.sh) || exit 2
fi

# Left out on purpose: KIND:NAME and why (docs/devel/packaging.rst).
EXCLUDED='
device:qxl          spice: libspice-server links libssl (no OpenSSL in QEMU, scripts/check-qemu-libs.sh)
device:qxl-vga      spice: libspice-server links libssl (no OpenSSL in QEMU, scripts/check-qemu-libs.sh)
'
KINDS="device netdev accel machine"

say() { echo "# $*"; }

# "pkg=version" for each package apt would install for $@ (what this
# machine lacks), without installing anything.
apt_missing() {
    apt-get install -s --no-install-recommends "$@" 2>/dev/null |
        awk '/^Inst /{ for (i = 3; i <= NF; i++) if ($i ~ /^\(/) {
                 print $2 "=" substr($i, 2); break } }'
}

# Debian's binary of LINE: sets REF (a command prefix), REF_NAME.
debian_reference() {
    dl=$1
    re="1:$(echo "$dl" | sed 's/\./\\./g')\\."
    inst=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
    if echo "$inst" | grep -q "^$re" && [ -x /usr/bin/qemu-system-x86_64 ]; then
        REF="env /usr/bin/qemu-system-x86_64"
        REF_NAME="Debian's qemu-system-x86 $inst (installed)"
        return 0
    fi
    dir=$TOP/$BUILD/debian-qemu/$dl
    if [ ! -x "$dir/root/usr/bin/qemu-system-x86_64" ]; then
        want="qemu-system-x86 qemu-system-gui qemu-system-modules-spice \
              qemu-system-modules-opengl qemu-block-extra"
        pkgs=
        for t in "-t bookworm-backports" ""; do
            # shellcheck disable=SC2086
            p=$(apt_missing $t $want)
            if echo "$p" | grep -q "^qemu-system-x86=$re"; then
                pkgs=$p
                break
            fi
        done
        [ -n "$pkgs" ] || return 1
        rm -rf "$dir"
        mkdir -p "$dir/debs" "$dir/root.tmp"
        # As root apt-get download warns that _apt cannot write here.
        # shellcheck disable=SC2086
        (cd "$dir/debs" && apt-get download $pkgs 2>&1 |
            grep -v 'unsandboxed' | grep -E '^(E|W):' >&2)
        for pv in $pkgs; do
            f=$(find "$dir/debs" -name "${pv%%=*}_*.deb" | head -n 1)
            if [ -z "$f" ]; then
                say "apt-get download ${pv} failed"
                rm -rf "$dir"
                return 1
            fi
            dpkg-deb -x "$f" "$dir/root.tmp"
        done
        echo "$pkgs" > "$dir/root.tmp/.packages"
        mv "$dir/root.tmp" "$dir/root"
    fi
    r=$dir/root
    v=$(sed -n 's/^qemu-system-x86=//p' "$r/.packages")
    REF="env LD_LIBRARY_PATH=$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu \
QEMU_MODULE_DIR=$r/usr/lib/x86_64-linux-gnu/qemu $r/usr/bin/qemu-system-x86_64"
    REF_NAME="Debian's qemu-system-x86 $v (unpacked under $BUILD/debian-qemu/$dl)"
}

# The unpatched build of LINE, configured as ours.
upstream_reference() {
    dl=$1
    bin=$BUILD/qemu-$dl-upstream/build/qemu-system-x86_64
    [ -x "$bin" ] || return 1
    REF="env $bin"
    REF_NAME="QEMU $dl without our patches, configured as ours ($bin)"
}

# Configuration KIND of the build directory $2: "devices" (the CONFIG_
# symbols Kconfig selected) or "features" (those configure defined).
config_list() {
    case $1 in
    devices) sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' \
                 "$2/x86_64-softmmu-config-devices.mak" ;;
    features) sed -n 's/^#define \(CONFIG_[A-Z0-9_]*\)\( 1\)*$/\1/p' \
                  "$2/config-host.h" ;;
    esac | sort -u
}

# names KIND: the names QEMU lists for KIND on stdin.
names() {
    case $1 in
    device) sed -n 's/^name "\([^"]*\)".*/\1/p' ;;
    netdev) sed -n '/^Available netdev backend types:/,$p' | sed 1d ;;
    accel) sed -n '/^Accelerators supported in QEMU binary:/,$p' | sed 1d ;;
    machine) sed -n '/^Supported machines are:/,$p' | sed 1d |
             awk '{print $1}' ;;
    esac | sed 's/[[:space:]]*$//' | awk 'NF' | sort -u
}

list() { # list KIND QEMU-COMMAND...
    kind=$1; shift
    "$@" -nodefaults -display none "-$kind" help 2>/dev/null | names "$kind"
}

sandbox_ok() {
    printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
        timeout 60 "$@" -sandbox on -machine none -nodefaults -display none \
            -qmp stdio > /dev/null 2>&1
}

n=0 rc=0
tap() { # tap OK|FAIL|SKIP text
    n=$((n + 1))
    case $1 in
    OK) echo "ok $n - $2" ;;
    SKIP) echo "ok $n - $2" ;;
    *) echo "not ok $n - $2"; rc=1 ;;
    esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for line in "$@"; do
    ours=$BUILD/bin/qemu-system-x86_64-$line
    REF='' REF_NAME='' DEBIAN=''
    if debian_reference "$line"; then
        DEBIAN=1
    else
        upstream_reference "$line" || true
    fi
    if [ ! -x "$ours" ]; then
        for k in $KINDS sandbox; do
            tap FAIL "qemu-$line $k: $ours is not built"
        done
        continue
    fi
    if [ -z "$REF" ]; then
        say "qemu-$line: no Debian binary of the line and no unpatched binary: comparing configurations"
        if ! up=$(sh scripts/build-upstream-qemu.sh "$line" none 2>"$tmp/up.err" | tail -n 1); then
            sed 's/^/# /' "$tmp/up.err"
            tap FAIL "qemu-$line: configuring the unpatched source failed"
            up=
        fi
        for k in devices features; do
            [ -n "$up" ] || break
            config_list "$k" "$BUILD/qemu-$line/build" > "$tmp/ours"
            config_list "$k" "$up" > "$tmp/ref"
            if [ ! -s "$tmp/ref" ] || [ ! -s "$tmp/ours" ]; then
                tap FAIL "qemu-$line $k: no configuration to compare"
                continue
            fi
            missing=$(comm -13 "$tmp/ours" "$tmp/ref" | tr '\n' ' ')
            extra=$(comm -23 "$tmp/ours" "$tmp/ref" | tr '\n' ' ')
            total=$(wc -l < "$tmp/ref")
            [ -z "$extra" ] || say "qemu-$line $k: only with our patches: $extra"
            if [ -n "$missing" ]; then
                tap FAIL "qemu-$line $k: missing with our patches: $missing(of the unpatched configuration's $total)"
            else
                tap OK "qemu-$line $k: all $total of the unpatched configuration"
            fi
        done
    else
        say "qemu-$line: reference $REF_NAME"
        for k in $KINDS; do
            list "$k" "$ours" > "$tmp/ours"
            # shellcheck disable=SC2086
            list "$k" $REF > "$tmp/ref"
            if [ ! -s "$tmp/ref" ] || [ ! -s "$tmp/ours" ]; then
                tap FAIL "qemu-$line -$k help: no list from $([ -s "$tmp/ours" ] && echo the reference || echo ours)"
                continue
            fi
            missing=$(comm -13 "$tmp/ours" "$tmp/ref")
            extra=$(comm -23 "$tmp/ours" "$tmp/ref")
            bad='' excused=''
            for m in $missing; do
                why=$(echo "$EXCLUDED" | awk -v k="$k:$m" '$1 == k { $1 = ""; sub(/^ /, ""); print }')
                if [ -n "$why" ]; then
                    excused="$excused $m"
                    say "qemu-$line -$k: $m left out on purpose: $why"
                else
                    bad="$bad $m"
                fi
            done
            [ -z "$extra" ] ||
                say "qemu-$line -$k: more than the reference: $(echo "$extra" | tr '\n' ' ')"
            total=$(wc -l < "$tmp/ref")
            if [ -n "$bad" ]; then
                say "qemu-$line -$k: MISSING:$bad"
                tap FAIL "qemu-$line -$k help: missing$bad (of the reference's $total)"
            else
                nx=$(echo "$extra" | awk 'NF' | wc -l)
                if [ -n "$excused" ]; then
                    tap OK "qemu-$line -$k help: the reference's $total but$excused (left out on purpose), $nx more"
                else
                    tap OK "qemu-$line -$k help: all the reference's $total, $nx more"
                fi
            fi
        done
    fi
    # Where the line has no Debian binary here, what Debian's binary of
    # another line has that ours lacks: said, not failed (QEMU itself
    # adds and removes devices between lines).
    if [ -z "$DEBIAN" ]; then
        for other in $(sh scripts/qemu-lines.sh); do
            [ "$other" != "$line" ] || continue
            REF=
            debian_reference "$other" 2>/dev/null || continue
            for k in $KINDS; do
                list "$k" "$ours" > "$tmp/ours"
                # shellcheck disable=SC2086
                list "$k" $REF > "$tmp/ref"
                m=$(comm -13 "$tmp/ours" "$tmp/ref" | tr '\n' ' ')
                say "qemu-$line -$k: of $REF_NAME, not in ours: ${m:-nothing}"
            done
            break
        done
    fi
    if sandbox_ok "$ours"; then
        tap OK "qemu-$line -sandbox on: accepted (seccomp)"
    else
        tap FAIL "qemu-$line -sandbox on: refused (no seccomp)"
    fi
done
echo "1..$n"
exit $rc
