#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo: a guest's extended-request sequence against the patched QEMU.
#
# The kernel side is SIMULATED: there is no SNP host here.  QEMU runs under
# -accel qtest, and the test entry point "sev-snp req-certs" (on the qtest
# protocol) runs the very handler a KVM_EXIT_SNP_REQ_CERTS exit runs,
# against the machine's guest RAM; what the guest received is read back
# through the qtest protocol.
#
# Usage: demo.py QEMU SNP_CERTS BLOB FIRMWARE_DIR QEMU_PYTHON_DIR WORKDIR

import json
import os
import subprocess
import sys
import time

QEMU, SNP_CERTS, BLOB, FIRMWARE, PYDIR, WORKDIR = sys.argv[1:7]
sys.path.insert(0, PYDIR)
from qemu.machine.qtest import QEMUQtestMachine  # noqa: E402

GPA = 0x100000          # the guest's request buffer, in low RAM
PAGE = 4096
ENOSPC, EAGAIN, EIO = 28, 11, 5
BUSY_LIMIT_MS = 1500    # certs-busy-limit, short for the demo


def step(title):
    print(f"\n== {title}")


def sev_snp(vm, cmd):
    """A test entry point of the SEV-SNP guest: its result words."""
    reply = vm.qtest(f"sev-snp {cmd}")
    if not reply.startswith('OK'):
        sys.exit(f"demo: sev-snp {cmd}: {reply}")
    return reply.split()[1:]


def map_gpa_range(vm, npages, private):
    """A page state change of the guest (KVM_HC_MAP_GPA_RANGE): ret."""
    ret, = sev_snp(vm, f"map-gpa-range 0 {GPA:#x} {npages} "
                       f"{'private' if private else 'shared'}")
    return int(ret, 0)


def request(vm, npages, hold=False):
    ret, out_npages, in_flight, result = sev_snp(
        vm, f"req-certs 0 {GPA:#x} {npages}" + (" hold" if hold else ""))
    r = {'ret': int(ret, 0), 'npages': int(out_npages),
         'in-flight': in_flight == '1', 'guest-result': result}
    print(f"   guest buffer {npages} page(s) at {GPA:#x}: kernel reads "
          f"ret={r['ret']} npages={r['npages']}; the guest sees "
          f"'{r['guest-result']}'" +
          ("; request in flight, shared locks held" if r['in-flight'] else ""))
    return r


def read_guest(vm, gpa, size):
    reply = vm.qtest(f"read {gpa:#x} {size:#x}")
    assert reply.startswith('OK 0x'), reply
    return bytes.fromhex(reply[5:])


def qemu_mem_fill(vm, gpa, size):
    """Fill the guest buffer with 0xa5, to see what a request writes."""
    vm.qtest(f"memset {gpa:#x} {size:#x} 0xa5")


def locks_state(path):
    """What an updater would get right now: try snp-certs lock, no wait."""
    r = subprocess.run([SNP_CERTS, 'lock', '--timeout', '0', path, '--',
                        'true'], capture_output=True, text=True)
    return 'free' if r.returncode == 0 else 'held by a request'


def main():
    os.makedirs(WORKDIR, exist_ok=True)
    vm = QEMUQtestMachine(QEMU, args=[
        '-machine', 'q35', '-m', '256M', '-smp', '2', '-nodefaults',
        '-L', FIRMWARE,
        '-object', 'sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,'
                   f'certs-path={BLOB},certs-timeout=100,'
                   f'certs-busy-limit={BUSY_LIMIT_MS}'],
        base_temp_dir=WORKDIR)
    vm.launch()
    try:
        blob_size = os.path.getsize(BLOB)
        need = (blob_size + PAGE - 1) // PAGE

        step("0. Guest RAM starts private; the guest makes its buffer "
             "shared (page state change, KVM_HC_MAP_GPA_RANGE)")
        assert map_gpa_range(vm, need, False) == 0
        m = vm.qmp('query-sev-snp-memory', {'id': 'sev0'})['return']
        print(f"   hypercall.ret=0; shared {m['shared-bytes']} bytes, "
              f"private {m['private-bytes'] // (1024 * 1024)} MiB")

        step("1. snpguest's first call: 0 pages, a size probe")
        r = request(vm, 0)
        assert r['ret'] == ENOSPC and r['npages'] == need, r
        print("   INVALID_LEN with the pages needed: a Linux guest re-issues "
              "a plain request\n   and its caller asks again; nothing was "
              "written")
        print("   (with a 1-page buffer, the same:)")
        r = request(vm, 1)
        assert r['ret'] == ENOSPC and r['npages'] == need, r

        step(f"2. The guest retries with the {need} pages it was told; "
             "the locks are held until the firmware has signed")
        r = request(vm, need, hold=True)
        assert r['ret'] == 0 and r['in-flight'], r
        print(f"   an updater trying the exclusive lock now: "
              f"{locks_state(BLOB)}")
        sev_snp(vm, "complete-req-certs 0")
        print("   completion (immediate_exit, KVM_RUN -> -EINTR): "
              f"locks {locks_state(BLOB)}")

        step("3. A firmware update holds the exclusive lock for 3 s "
             "(snp-certs lock BLOB -- sleep 3),\n   longer than "
             f"certs-busy-limit={BUSY_LIMIT_MS} ms")
        updater = subprocess.Popen([SNP_CERTS, 'lock', BLOB, '--',
                                    'sleep', '3'])
        while locks_state(BLOB) == 'free':
            time.sleep(0.02)
        t0 = time.monotonic()
        qemu_mem_fill(vm, GPA, need * PAGE)
        while True:
            r = request(vm, need)
            if r['ret'] != EAGAIN:
                break
            print("   BUSY: a Linux guest retries in 2 s (the demo: 0.5 s); "
                  "it gives up after 60 s")
            time.sleep(0.5)
        assert r['ret'] == 0, r
        got = read_guest(vm, GPA, 24)
        print(f"   after {time.monotonic() - t0:.1f} s: success with an "
              f"empty table (24 zero bytes: {got == bytes(24)}):\n   the "
              "report comes without a chain, so it cannot mismatch, and "
              "the guest keeps its key")
        updater.wait()

        step("4. The updater is done: the guest gets its certificates")
        qemu_mem_fill(vm, GPA, need * PAGE)
        r = request(vm, need)
        assert r['ret'] == 0 and not r['in-flight'], r
        got = read_guest(vm, GPA, need * PAGE)
        received = os.path.join(WORKDIR, 'received.blob')
        with open(received, 'wb') as f:
            f.write(got[:blob_size])
        with open(BLOB, 'rb') as f:
            same = f.read() == got[:blob_size]
        print(f"   the guest buffer holds the blob byte for byte: {same}; "
              f"the rest of the {need} pages is untouched: "
              f"{got[blob_size:] == bytes([0xa5]) * (need * PAGE - blob_size)}")

        step("5. An operator mistake: the blob is moved away")
        aside = BLOB + '.aside'
        os.rename(BLOB, aside)
        qemu_mem_fill(vm, GPA, need * PAGE)
        r = request(vm, need)
        assert r['ret'] == 0, r
        print("   an empty table again (24 zero bytes: "
              f"{read_guest(vm, GPA, 24) == bytes(24)}), never the generic "
              "error;\n   the operator sees the fault:")
        q = vm.qmp('query-sev-snp-certs', {'id': 'sev0'})['return']
        print(f"   host-faults={q['stats']['host-faults']} "
              f"chainless={q['stats']['chainless']} "
              f"last-error: {q.get('last-error')}")
        os.rename(aside, BLOB)
        r = request(vm, need)
        assert r['ret'] == 0, r
        print("   the blob back: the chain again, byte for byte: "
              f"{read_guest(vm, GPA, blob_size) == open(BLOB, 'rb').read()}")

        step("What the guest received, decoded (snp-certs show)")
        sys.stdout.flush()
        subprocess.run([SNP_CERTS, 'show', received], check=True)

        step("The operator's view: query-sev-snp-certs (QMP)")
        q = vm.qmp('query-sev-snp-certs', {'id': 'sev0'})['return']
        for e in q.get('blob', {}).get('entries', []):
            e.pop('fingerprint', None)
        print(json.dumps(q, indent=2))

        step("The same through HMP: info sev-snp-certs")
        print(vm.cmd('human-monitor-command',
                     command_line='info sev-snp-certs'))

        step("6. The guest takes the buffer back private: its own mistake, "
             "the only one\n   that gets the generic error; nothing is "
             "written")
        assert map_gpa_range(vm, need, True) == 0
        before = read_guest(vm, GPA, need * PAGE)
        r = request(vm, need)
        assert r['ret'] == EIO, r
        print("   guest buffer unchanged: "
              f"{read_guest(vm, GPA, need * PAGE) == before}")
        print(vm.cmd('human-monitor-command',
                     command_line='info sev-snp-memory'))
    finally:
        vm.shutdown()
    print("\nThe kernel side above was SIMULATED (-accel qtest): the exits "
          "were injected,\nbut the handler, the locks, the blob and the "
          "guest RAM were the real ones.")


if __name__ == '__main__':
    main()
