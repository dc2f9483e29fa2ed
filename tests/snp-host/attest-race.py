#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The promise, end to end: no guest ever gets a certificate chain that
# does not match the report the firmware signed for it, while an operator
# rotates the firmware's signing key under load.
#
# The real QEMU binary runs the test guest's `attest` scenario on every
# vCPU (report + certificates, flat out, BUSY retried) under the SNP host
# simulator, on the mainline and the legacy ABI.  Meanwhile an updater
# repeatedly does what a firmware/TCB update does: the simulated firmware
# gets a new VCEK (snp-sim-fw rotate --bump), the matching blob is built
# and installed, all inside `snp-certs lock BLOB -- ...` as the kernel
# documentation prescribes.  Every pair a guest received is recorded by
# the simulator as pairs/N.report and pairs/N.certs and verified with
# libsevsnp (snp-sim-fw verify-pairs: chain, signature with the VCEK in
# the table, VCEK TCB = reported TCB, hwID = chip id).
#
# --naive runs the same updater without the lock: the firmware rotates
# while guests may still be served the old blob, and mismatches must show,
# or the proof proves nothing.
#
# A pair the guest got without a chain (an empty table: QEMU's answer to
# a host-side fault or past its BUSY bound) cannot mismatch; verify-pairs
# counts such pairs apart, and so does the summary.
#
# Prints "attest-race: R pairs (C chain-less), K rotations, M mismatched";
# exit status 0 when M is 0 (with --naive: when M > 0), 1 otherwise, 2 on
# set-up errors.  --tap also prints TAP lines for make check.
#
# Copyright (c) 2026 The qemu-snp authors

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    'run_scenarios', os.path.join(HERE, 'run-scenarios.py'))
rs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rs)

# What a real updater spends between changing the firmware and putting the
# matching blob in place (fetching the new VCEK, building the blob): the
# same in both variants, so the lock is the only difference.
UPDATE_GAP_S = 0.15


class Updater(threading.Thread):
    def __init__(self, a, fwdir, blob, work, interval, naive):
        super().__init__(daemon=True)
        self.a = a
        self.fwdir = fwdir
        self.blob = blob
        self.new = os.path.join(work, 'new.blob')
        self.interval = interval
        self.naive = naive
        self.rotations = 0
        self.errors = []
        self.stop = threading.Event()

    def build_install(self):
        """The new blob: the firmware's chain plus the unknown entry the
        scenarios carry through, installed in place."""
        fw = self.fwdir
        return (f"{self.a.snp_certs} build --ark={fw}/ark.pem "
                f"--ask={fw}/ask.pem --vcek={fw}/vcek.der "
                f"--entry={rs.EXTRA_GUID}={self.a.data}/milan-ark.pem "
                f"-o {self.new} && {self.a.snp_certs} install {self.new} "
                f"{self.blob}")

    def rotate_once(self):
        rotate = f"{self.a.fw_tool} rotate --bump {self.fwdir}"
        gap = f"sleep {UPDATE_GAP_S}"
        if self.naive:
            # Firmware first, blob later, no lock held across the two.
            cmd = ['sh', '-c', f"{rotate} && {gap} && {self.build_install()}"]
        else:
            cmd = [self.a.snp_certs, 'lock', '--timeout', '10', self.blob,
                   '--', 'sh', '-c',
                   f"{rotate} && {gap} && {self.build_install()}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            self.errors.append(f"{' '.join(cmd)}: {r.stderr.strip()}")
        else:
            self.rotations += 1

    def run(self):
        # On a fixed schedule, whatever one rotation takes.
        t0 = time.monotonic()
        k = 1
        while not self.stop.wait(max(0, t0 + k * self.interval -
                                     time.monotonic())):
            self.rotate_once()
            k += 1


class Quiet(rs.Tap):
    """Without --tap: only failures are said, on stderr."""

    def ok(self, good, name, diag=None):
        self.n += 1
        if not good:
            self.failed += 1
            print(f"attest-race: FAILED {name}\n{diag or ''}",
                  file=sys.stderr)

    @staticmethod
    def note(text):
        print(f"# {text}", flush=True)


def run_abi(a, tap, kernel, pairs_all, offset):
    """One QEMU run on @kernel; returns (pairs, rotations) or None."""
    work = os.path.join(a.workdir, kernel)
    shutil.rmtree(work, ignore_errors=True)
    ra = argparse.Namespace(**vars(a))
    ra.workdir = work
    r = rs.Runner(ra, tap)
    if not r.setup():
        return None
    if not r.fwdir:
        tap.ok(False, f"attest-race/{kernel}/setup",
               'snp-sim-fw is needed: the updater rotates its firmware')
        return None
    r.cbit = r.cbitpos()
    d = os.path.join(work, 'run')
    os.makedirs(d)
    pairs = os.path.join(d, 'pairs')
    os.makedirs(pairs)
    simlog = os.path.join(d, 'sim.log')
    args = r.qemu_args(d, kernel, 'attest', f'attest:{a.seconds}', a.smp,
                       '256M')
    with open(os.path.join(d, 'cmdline'), 'w') as f:
        f.write(' '.join(args) + '\n')
    interval = a.seconds / (a.min_rotations + 1.5)
    up = Updater(a, r.fwdir, r.blob, work, interval, a.naive)
    err = open(os.path.join(d, 'qemu.err'), 'w')
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=r.env(kernel, simlog, pairs),
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    up.start()
    try:
        p.wait(timeout=a.seconds + a.timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    up.stop.set()
    up.join()
    err.close()
    secs = time.monotonic() - t0
    with open(os.path.join(d, 'console.log'), errors='replace') as f:
        console = f.read()
    done = re.search(r'^DONE pass=(\d+) fail=(\d+)', console, re.M)
    tap.ok(done is not None and done.group(2) == '0' and p.returncode == 1,
           f"attest-race/{kernel}/guest",
           f"QEMU exit status {p.returncode}, DONE line "
           f"{done.group(0) if done else None}" + r.tails(d))
    tap.ok(not up.errors, f"attest-race/{kernel}/updater",
           '\n'.join(up.errors[:5]))
    with open(simlog, errors='replace') as f:
        violations = sum(1 for ln in f if ' lock-violation ' in ln)
    names = sorted(int(n[:-7]) for n in os.listdir(pairs)
                   if n.endswith('.report'))
    for i, n in enumerate(names):
        for ext in ('.report', '.certs'):
            os.replace(os.path.join(pairs, f"{n}{ext}"),
                       os.path.join(pairs_all, f"{offset + i}{ext}"))
    for m in re.findall(r'^INFO attest cpu \d+: .*$', console, re.M):
        tap.note(f"{kernel}: {m[5:]}")
    tap.note(f"{kernel}: {len(names)} pairs in {secs:.1f} s, "
             f"{up.rotations} rotations, {violations} lock violations "
             f"seen by the firmware at signing")
    return len(names), up.rotations, violations


def main():
    b = os.path.join(rs.TOP, 'build')
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--qemu', default=f'{b}/bin/qemu-system-x86_64')
    ap.add_argument('--sim', default=f'{b}/snp-host/libsnp-host-sim.so')
    ap.add_argument('--guest', default=f'{b}/snp-host/snp-test-guest.bin')
    ap.add_argument('--snp-certs', default=f'{b}/bin/snp-certs')
    ap.add_argument('--fw-tool', default=f'{b}/snp-host/snp-sim-fw')
    ap.add_argument('--data', default=os.path.join(rs.TOP, 'tests', 'data'))
    ap.add_argument('--workdir', default=f'{b}/attest-race')
    ap.add_argument('--kernel', action='append',
                    choices=['mainline', 'legacy'])
    ap.add_argument('--seconds', type=int, default=20)
    ap.add_argument('--min-rotations', type=int, default=10)
    ap.add_argument('--smp', type=int, default=4)
    ap.add_argument('--timeout', type=int, default=120)
    ap.add_argument('--naive', action='store_true')
    ap.add_argument('--tap', action='store_true')
    a = ap.parse_args()
    kernels = a.kernel or ['mainline', 'legacy']
    if a.smp < 4:
        ap.error('--smp must be at least 4')

    tap = rs.Tap() if a.tap else Quiet()
    why = rs.kvm_usable()
    if why:
        print(f"SKIP: attest-race needs a usable /dev/kvm: {why}")
        if a.tap:
            print('1..0 # SKIP /dev/kvm unusable')
        return 0
    os.makedirs(a.workdir, exist_ok=True)
    pairs_all = os.path.join(a.workdir, 'pairs')
    shutil.rmtree(pairs_all, ignore_errors=True)
    os.makedirs(pairs_all)

    total = rotations = violations = 0
    for k in kernels:
        res = run_abi(a, tap, k, pairs_all, total)
        if res is None:
            return 2
        total += res[0]
        rotations += res[1]
        violations += res[2]

    r = subprocess.run([a.fw_tool, 'verify-pairs', '--quiet', pairs_all],
                       capture_output=True, text=True)
    m = re.search(r'^pairs (\d+) matching (\d+) chainless (\d+) '
                  r'mismatched (\d+)$', r.stdout, re.M)
    if not m or int(m.group(1)) != total:
        print(f"attest-race: verify-pairs failed: {r.stdout}{r.stderr}",
              file=sys.stderr)
        return 2
    chainless = int(m.group(3))
    bad = int(m.group(4))
    for line in r.stdout.splitlines():
        if line.startswith('mismatch '):
            tap.note(line)
    want_rot = a.min_rotations * len(kernels)
    if a.tap:
        tap.ok(total > 0 and rotations >= want_rot,
               'attest-race/load', f"{total} pairs, {rotations} rotations, "
               f"want at least {want_rot}")
        if a.naive:
            tap.ok(bad > 0, 'attest-race/naive-updater-shows-mismatches',
                   'an updater without the lock produced no mismatch')
        else:
            tap.ok(bad == 0 and violations == 0,
                   'attest-race/no-mismatched-pair',
                   f"{bad} mismatched pairs, {violations} lock violations")
        tap.plan()
    print(f"attest-race: {total} pairs ({chainless} chain-less), "
          f"{rotations} rotations, {bad} mismatched" +
          (' (naive updater, no lock)' if a.naive else ''))
    ok = (bad > 0) if a.naive else (bad == 0 and violations == 0)
    return 0 if ok and rotations >= want_rot and tap.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
