#!/bin/sh
# A private apt configuration under build/apt for what Debian 12 itself
# does not carry: newer source packages (QEMU 11.1.x) and the released
# kernel uapi headers (linux-libc-dev >= 7.0).  It reads the Debian mirror
# the machine already uses and never touches the system's own apt state:
# nothing from sid or trixie-backports is ever installed.
#
#   sh scripts/apt-extra.sh            prepare (once) and print the options
#   apt-get $(sh scripts/apt-extra.sh) source ...   use them
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
DIR=$TOP/$BUILD/apt

mirror() {
    for f in /etc/apt/sources.list.d/debian.sources \
             /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        u=$(sed -n 's|^URIs: *\([^ ]*/debian\)/*$|\1|p' "$f" | head -1)
        [ -n "$u" ] && { echo "$u"; return; }
    done
    sed -n 's|^deb \(\[[^]]*\] \)*\([^ ]*/debian\)/* .*|\2|p' \
        /etc/apt/sources.list 2>/dev/null | head -1
}

OPTS="-o Dir::State::Lists=$DIR/lists -o Dir::Cache=$DIR/cache \
-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$DIR/sources \
-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=$DIR/prefs \
-o Dir::State::status=/dev/null -o APT::Architecture=amd64 \
-o APT::Sandbox::User=root"

if [ ! -f "$DIR/.updated" ]; then
    m=$(mirror)
    if [ -z "$m" ]; then
        echo "apt-extra: no Debian apt source configured on this machine" >&2
        exit 1
    fi
    mkdir -p "$DIR/lists/partial" "$DIR/cache/archives/partial" \
             "$DIR/sources" "$DIR/prefs"
    cat > "$DIR/sources/extra.sources" <<SRC
Types: deb deb-src
URIs: $m
Suites: sid trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    # shellcheck disable=SC2086
    apt-get $OPTS update -q >"$DIR/update.log" 2>&1 || {
        tail -5 "$DIR/update.log" >&2
        exit 1
    }
    touch "$DIR/.updated"
fi
echo "$OPTS"
