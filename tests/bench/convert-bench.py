#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Conversion cost, measured (make bench): 4 KiB and 2 MiB shared/private
# conversions through the real vCPU loop, under the SNP host simulator,
# on a guest of several GiB whose memory is not touched, side by side in
# one run:
#   ours      qemu-snp's QEMU (build/bin/qemu-system-x86_64)
#   upstream  the same QEMU line from the same source without our patches
#             (scripts/build-upstream-qemu.sh)
#   floor     the bare KVM_SET_MEMORY_ATTRIBUTES + discard a conversion
#             needs, in a loop, no exit (tests/bench/convert-floor.c)
# The test guest (scenario convert-bench) converts at 1 GiB, to shared and
# back, for --seconds per size, timing itself with the simulator's clock.
# Each configuration runs --runs times, interleaved; the medians are
# printed, with ratios: figures, never pass/fail.  Without a usable
# /dev/kvm every row says SKIP and why.
#
# Copyright (c) 2026 The qemu-snp authors

import argparse
import fcntl
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KVM_GET_API_VERSION = 0xae00
SIZES = [('convert-4k', '4 KiB'), ('convert-2m', '2 MiB')]


def kvm_usable():
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return "/dev/kvm: KVM_GET_API_VERSION is not 12"
    except OSError as e:
        return f"/dev/kvm: KVM_GET_API_VERSION: {e.strerror}"
    finally:
        os.close(fd)
    return None


def cbitpos(qemu, env, guest):
    """The host's C-bit position, which QEMU checks cbitpos against."""
    try:
        fd = os.open('/dev/cpu/0/cpuid', os.O_RDONLY)
        try:
            return struct.unpack('<4I', os.pread(fd, 16, 0x8000001f))[1] & 0x3f
        finally:
            os.close(fd)
    except OSError:
        pass
    r = subprocess.run([qemu, '-accel', 'kvm', '-machine',
                        'q35,confidential-guest-support=sev0', '-nodefaults',
                        '-display', 'none', '-S', '-bios', guest, '-object',
                        'sev-snp-guest,id=sev0,cbitpos=63,reduced-phys-bits=1'],
                       env=env, capture_output=True, text=True, timeout=60)
    m = re.search(r"cbitpos check failed, host '(\d+)'", r.stderr)
    return int(m.group(1)) if m else 63


def run_guest(a, qemu, env, cbit, work):
    """Per conversion microseconds by name, from the guest's BENCH lines."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    console = os.path.join(work, 'console.log')
    args = [qemu, '-accel', 'kvm', '-nodefaults', '-display', 'none',
            '-no-user-config', '-m', a.mem, '-smp', '1', '-bios', a.guest,
            '-machine', 'q35,confidential-guest-support=sev0',
            '-object', f'sev-snp-guest,id=sev0,cbitpos={cbit},'
            'reduced-phys-bits=1',
            '-fw_cfg', f'name=opt/qemu-snp/scenario,'
            f'string=convert-bench:{a.seconds}',
            '-debugcon', f'file:{console}',
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=4']
    try:
        r = subprocess.run(args, env=env, capture_output=True, text=True,
                           timeout=60 + 4 * a.seconds)
        err = r.stderr
    except subprocess.TimeoutExpired:
        err = 'timed out'
    text = open(console, errors='replace').read() \
        if os.path.exists(console) else ''
    got = {}
    for m in re.finditer(r'^BENCH (\S+) n=(\d+) ms=(\d+) nonzero=(\d+)',
                         text, re.M):
        name, n, ms, nonzero = m.group(1), *map(int, m.groups()[1:])
        if n:
            got[name] = (ms * 1000.0 / n, nonzero, n)
    if 'convert-2m' not in got:
        tail = (text.strip().splitlines() or ['(no console output)'])[-3:]
        raise RuntimeError(f"{qemu}: no figures: {err.strip()[-300:]} "
                           f"{' | '.join(tail)}")
    return got


def run_floor(a, env):
    r = subprocess.run([a.floor, str(a.seconds)], env=env,
                       capture_output=True, text=True,
                       timeout=60 + 4 * a.seconds)
    got = {}
    for m in re.finditer(r'^FLOOR (\S+) n=(\d+) ns=(\d+)', r.stdout, re.M):
        got[m.group(1)] = int(m.group(3)) / 1000.0 / int(m.group(2))
    if len(got) != len(SIZES):
        raise RuntimeError(f"convert-floor: {r.stderr.strip()}")
    return got


def main():
    b = os.path.join(TOP, 'build')
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--qemu', default=os.path.join(b, 'bin',
                                                  'qemu-system-x86_64'))
    p.add_argument('--upstream', required=True)
    p.add_argument('--sim', default=os.path.join(b, 'snp-host',
                                                 'libsnp-host-sim.so'))
    p.add_argument('--guest', default=os.path.join(b, 'snp-host',
                                                   'snp-test-guest.bin'))
    p.add_argument('--floor', default=os.path.join(
        b, 'snp', 'tests', 'bench', 'convert-floor'))
    p.add_argument('--seconds', type=int, default=2)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--mem', default='8G')
    a = p.parse_args()

    why = kvm_usable()
    if why:
        for _, label in SIZES:
            print(f"convert {label}: SKIP ({why}: conversions run through "
                  f"the real vCPU loop)")
        return 0
    env = dict(os.environ)
    env['LD_PRELOAD'] = os.path.abspath(a.sim)
    env['SNP_HOST_SIM_KERNEL'] = 'mainline'
    env.pop('SNP_HOST_SIM_LOG', None)
    cbit = cbitpos(a.qemu, env, a.guest)
    work = tempfile.mkdtemp(prefix='convert-bench-')
    res = {'ours': [], 'upstream': [], 'floor': []}
    try:
        for _ in range(a.runs):
            res['ours'].append(run_guest(a, a.qemu, env, cbit,
                                         os.path.join(work, 'ours')))
            res['upstream'].append(run_guest(a, a.upstream, env, cbit,
                                             os.path.join(work, 'upstream')))
            res['floor'].append(run_floor(a, env))
    except RuntimeError as e:
        for _, label in SIZES:
            print(f"convert {label}: FAILED ({e})")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(who, name):
        v = [r[name][0] if who != 'floor' else r[name] for r in res[who]]
        return statistics.median(v)

    for name, label in SIZES:
        ours, up, fl = med('ours', name), med('upstream', name), \
            med('floor', name)
        print(f"convert {label}: ours {ours:.1f} us, upstream {up:.1f} us, "
              f"floor {fl:.1f} us: {ours / up:.2f}x upstream, "
              f"{ours / fl:.2f}x floor")
    bad = sum(r[n][1] for r in res['ours'] for n, _ in SIZES)
    print(f"  (median of {a.runs} runs of {a.seconds} s, -m {a.mem}; a guest "
          f"exit that QEMU does not see costs {med('ours', 'exit'):.1f} us "
          f"here; floor: KVM_SET_MEMORY_ATTRIBUTES and the discard alone"
          + (f"; {bad} of ours answered an error!" if bad else "") + ")")
    return 0


if __name__ == '__main__':
    sys.exit(main())
