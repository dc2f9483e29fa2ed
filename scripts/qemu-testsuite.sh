#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# QEMU's own test suite on our build and on the same line built the same
# way without our patches: every test that passes without our patches
# must pass with them.  Suites: QEMU_SUITES (default "unit qtest-x86_64",
# meson test's suites; Debian's debian/rules runs "block", the
# qemu-iotests, in its build).
#
#   scripts/qemu-testsuite.sh [LINE...]     default: the default line
#
# Our build is build/qemu-LINE/build (make qemu configures it: make
# qemu-testsuite does that first); this builds everything in it that the
# suites need (QEMU's tools, its unit tests and qtests), then the same in
# build/qemu-LINE-upstream (scripts/build-upstream-qemu.sh), and runs
# meson test in both, QEMU_TESTSUITE_JOBS (default NINJA_JOBS, else 2)
# tests at a time with timeouts multiplied by
# QEMU_TESTSUITE_TIMEOUT_MULTIPLIER (default 3: 2 cores, TCG);
# QEMU_TESTSUITE_RUN=patched (or upstream) runs one side again and
# compares with the other's last results (none: only compares).  Results:
# build/qemu-testsuite/LINE/{patched,upstream}.json (meson's test log)
# and result.txt.  TAP on stdout: per line, one test per build (its
# counts, which fail there and why) and one that nothing fails with our
# patches that passes without.  Exit 1 when something does.  Not part
# of make check (docs/devel/packaging.rst says how long it takes).
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
JOBS=${NINJA_JOBS:-2}
TJOBS=${QEMU_TESTSUITE_JOBS:-$JOBS}
MULT=${QEMU_TESTSUITE_TIMEOUT_MULTIPLIER:-3}
SUITES=${QEMU_SUITES:-unit qtest-x86_64}
# Which builds to (re)run; the comparison takes the other's last results.
RUN=${QEMU_TESTSUITE_RUN:-patched upstream}
if [ $# = 0 ]; then
    set -- "$(sh scripts/qemu-lines.sh default)"
fi

suite_args=
for s in $SUITES; do
    suite_args="$suite_args --suite $s"
done

now() { date +%s; }

# run_suites NAME BUILD-DIR OUT-DIR: build all, then meson test; the log
# is copied to OUT-DIR/NAME.json, the times to OUT-DIR/NAME.times.
run_suites() {
    name=$1 dir=$2 out=$3
    t0=$(now)
    if ! ninja -j "$JOBS" -C "$dir" > "$out/$name.ninja.log" 2>&1; then
        tail -30 "$out/$name.ninja.log" >&2
        echo "qemu-testsuite: building $dir failed" >&2
        return 1
    fi
    t1=$(now)
    # As debian/rules does before its tests: the staged installation that
    # ninja leaves in qemu-bundle/ would make QEMU look for its firmware
    # there (Debian's sources have no blobs; --disable-install-blobs)
    # instead of in Debian's seabios and ipxe-qemu, and our other tests
    # run this binary too.
    rm -rf "$dir/qemu-bundle"
    rm -f "$dir/meson-logs/testlog.json"
    # meson test exits non-zero when a test fails: the logs say which.
    # shellcheck disable=SC2086
    (cd "$dir" && \
        meson test --no-rebuild $suite_args \
        --num-processes "$TJOBS" -t "$MULT" --print-errorlogs) \
        > "$out/$name.test.log" 2>&1 || true
    t2=$(now)
    cp "$dir/meson-logs/testlog.json" "$out/$name.json"
    echo "build $((t1 - t0)) test $((t2 - t1))" > "$out/$name.times"
}

rc=0 n=0
for line in "$@"; do
    ours=$BUILD/qemu-$line/build
    if [ ! -f "$ours/build.ninja" ]; then
        echo "qemu-testsuite: $ours is not configured (make qemu)" >&2
        exit 2
    fi
    out=$BUILD/qemu-testsuite/$line
    mkdir -p "$out"
    for b in $RUN; do
        rm -f "$out/$b".*
        case $b in
        patched)
            echo "qemu-testsuite: QEMU $line, suites $SUITES: our build" >&2
            run_suites patched "$ours" "$out" ;;
        upstream)
            echo "qemu-testsuite: QEMU $line: the same without our patches" >&2
            sh scripts/build-upstream-qemu.sh "$line" > /dev/null
            run_suites upstream "$BUILD/qemu-$line-upstream/build" "$out" ;;
        none) ;;
        *)  echo "qemu-testsuite: QEMU_TESTSUITE_RUN: '$b'?" >&2; exit 2 ;;
        esac
    done
    for b in patched upstream; do
        if [ ! -f "$out/$b.json" ]; then
            echo "qemu-testsuite: no results of the $b build of $line yet" >&2
            exit 2
        fi
    done
    python3 - "$line" "$out" "$n" > "$out/result.txt" <<'PY' || true
import json, sys

line, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
BAD = ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS')

def load(name):
    tests = {}
    with open(f'{out}/{name}.json') as f:
        for l in f:
            if l.strip():
                t = json.loads(l)
                tests[t['name']] = t
    times = dict(zip(*[iter(open(f'{out}/{name}.times').read().split())] * 2))
    return tests, times

def reason(t):
    """The first failing TAP line and what follows it, else the last
    lines of the output."""
    text = (t.get('stdout') or '') + '\n' + (t.get('stderr') or '')
    lines = [l for l in text.splitlines() if l.strip()]
    if t['result'] == 'TIMEOUT':
        return f"timed out after {t.get('duration', 0):.0f} s"
    for i, l in enumerate(lines):
        if l.startswith('not ok'):
            more = [m.strip() for m in lines[i + 1:i + 3] if m.startswith('#')]
            return ' '.join([l.strip()] + more)[:300]
        if l.startswith('Bail out'):
            # glib names a test case when it passes: say which passed last.
            last = [m for m in lines[:i] if m.startswith('ok ')][-1:]
            return (l.strip() + (f' (after "{last[0].strip()}")' if last
                                 else ''))[:300]
    for l in reversed(lines):
        if 'ERROR' in l or 'assert' in l or 'error' in l.lower():
            return l.strip()[:300]
    return (lines[-1].strip() if lines else f"exit status {t.get('returncode')}")[:300]

def mmss(s):
    s = int(s)
    return f'{s // 60}m{s % 60:02d}s'

res = {}
for name in ('patched', 'upstream'):
    tests, times = load(name)
    res[name] = tests
    count = {}
    for t in tests.values():
        count[t['result']] = count.get(t['result'], 0) + 1
    bad = sorted(k for k, t in tests.items() if t['result'] in BAD)
    n += 1
    summary = ', '.join(f'{v} {k.lower()}' for k, v in sorted(count.items()))
    what = 'with our patches' if name == 'patched' else 'without our patches'
    print(f'ok {n} - qemu-{line} {what}: {len(tests)} tests: {summary} '
          f'(build {mmss(times["build"])}, tests {mmss(times["test"])})')
    for k in bad:
        print(f'#   {name} {tests[k]["result"]}: {k}: {reason(tests[k])}')

p, u = res['patched'], res['upstream']
only = sorted(k for k, t in p.items()
              if t['result'] in BAD and k in u and u[k]['result'] not in BAD)
both = sorted(k for k, t in p.items()
              if t['result'] in BAD and k in u and u[k]['result'] in BAD)
lost = sorted(k for k in u if k not in p)
ours = sorted(k for k in p if k not in u)
n += 1
if only or lost:
    print(f'not ok {n} - qemu-{line}: fails only with our patches: '
          + ' '.join(only) + (f'; not run with them: {" ".join(lost)}' if lost else ''))
    for k in only:
        print(f'#   {k}: {reason(p[k])}')
    rc = 1
else:
    print(f'ok {n} - qemu-{line}: every test that passes without our patches '
          f'passes with them ({len(both)} fail in both)')
    rc = 0
for k in both:
    print(f'#   fails in both: {k}: {reason(u[k])}')
if ours:
    print(f'#   ours only: {" ".join(ours)}: ' + ', '.join(
        f'{k} {p[k]["result"].lower()}' for k in ours))
sys.exit(rc)
PY
    cat "$out/result.txt"
    ! grep -q '^not ok' "$out/result.txt" || rc=1
    n=$((n + $(grep -Ec '^(not )?ok ' "$out/result.txt")))
done
echo "1..$n"
exit $rc
