#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo, under KVM: the real QEMU binary serves certificates to an SNP
# guest through its real vCPU loop.  The SNP parts of the host kernel and
# the AMD-SP firmware are SIMULATED (tests/snp-host/sim/, preloaded at the
# ioctl boundary): there is no SNP hardware here.  QEMU, its vCPU threads,
# our exit handlers and the guest's code are real.
#
# Usage: demo-kvm.py BUILD_DIR WORKDIR
# Exit status 0, or 1 when a step did not go as it must.

import os
import re
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'snp-host'))
import importlib.util  # noqa: E402
_spec = importlib.util.spec_from_file_location(
    'run_scenarios', os.path.join(TOP, 'tests', 'snp-host',
                                  'run-scenarios.py'))
rs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rs)

BUILD, WORK = sys.argv[1:3]
QEMU = os.path.join(BUILD, 'bin', 'qemu-system-x86_64')
SNP_CERTS = os.path.join(BUILD, 'bin', 'snp-certs')
SIM = os.path.join(BUILD, 'snp-host', 'libsnp-host-sim.so')
GUEST = os.path.join(BUILD, 'snp-host', 'snp-test-guest.bin')
FW_TOOL = os.path.join(BUILD, 'snp-host', 'snp-sim-fw')
failed = []


def step(title):
    print(f"\n== {title}", flush=True)


def run(args, check=True, show=True, indent='   '):
    r = subprocess.run(args, capture_output=True, text=True)
    if show:
        for line in (r.stdout + r.stderr).splitlines():
            print(indent + line)
    if check and r.returncode:
        failed.append(' '.join(args))
    return r


def qemu(kernel, scenario, smp, blob, fwdir, cbit, d):
    os.makedirs(d, exist_ok=True)
    opts = [('-accel', 'kvm'),
            ('-machine', 'q35,confidential-guest-support=sev0'),
            ('-object', f'sev-snp-guest,id=sev0,cbitpos={cbit},'
             f'reduced-phys-bits=1,certs-path={blob}'),
            ('-smp', str(smp)), ('-m', '256M'), ('-bios', GUEST),
            ('-fw_cfg', f'name={rs.FW_CFG_NAME},string=' +
             scenario.replace(',', ',,')),
            ('-debugcon', f'file:{d}/console.log'),
            ('-device', 'isa-debug-exit,iobase=0xf4,iosize=4'),
            ('-display', 'none'), ('-nodefaults',), ('-no-user-config',)]
    args = [QEMU] + [w for o in opts for w in o]
    env = dict(os.environ, LD_PRELOAD=os.path.abspath(SIM),
               SNP_HOST_SIM_KERNEL=kernel, SNP_HOST_SIM_FW=fwdir,
               SNP_HOST_SIM_CERTS=blob,
               SNP_HOST_SIM_LOG=os.path.join(d, 'sim.log'))
    shown = ' \\\n      '.join(' '.join(o) for o in opts)
    print(f"   SNP_HOST_SIM_KERNEL={kernel} LD_PRELOAD=libsnp-host-sim.so "
          f"\\\n   {os.path.basename(QEMU)} {shown}")
    t0 = time.monotonic()
    p = subprocess.run(args, env=env, capture_output=True, text=True,
                       timeout=180)
    secs = time.monotonic() - t0
    noise = ("host doesn't support requested feature", 'kvmvapic.bin',
             'exceeds the recommended cpus')
    for line in p.stderr.splitlines():
        if not any(n in line for n in noise):
            print(f"   qemu: {line}")
    with open(os.path.join(d, 'console.log'), errors='replace') as f:
        console = f.read().splitlines()
    print(f"   (QEMU exited with status {p.returncode} after {secs:.1f} s: "
          f"the guest ends it through isa-debug-exit)")
    return console


def guest_view(console):
    """The guest's own lines, the long hex ones shortened."""
    print("   the guest's view (its debug console):")
    for line in console:
        if line.startswith(('TABLE ', 'REPORT ')):
            word, hexs = line.split(' ', 1)
            print(f"     {word} <{len(hexs) // 2} bytes>")
        else:
            print(f"     {line}")


def table_extent(buf):
    """The certificate table at the start of a guest buffer."""
    end = 0
    for off in range(0, len(buf) - 23, 24):
        e = buf[off:off + 24]
        if e == bytes(24):
            return buf[:max(end, off + 24)]
        o = int.from_bytes(e[16:20], 'little')
        n = int.from_bytes(e[20:24], 'little')
        end = max(end, o + n)
    return None


def main():
    why = rs.kvm_usable()
    if why:
        print(f"demo: /dev/kvm is unusable ({why}): falling back to the "
              f"qtest demo")
        return 3
    for p in (QEMU, SNP_CERTS, SIM, GUEST, FW_TOOL):
        if not os.path.exists(p):
            print(f"demo: {p} is missing: falling back to the qtest demo")
            return 3
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    fwdir = os.path.join(WORK, 'firmware')
    blob = os.path.join(WORK, 'certs.blob')

    step("A real AMD Milan attestation report verifies against AMD's "
         "real chain (snp-certs report verify)")
    data = os.path.join(TOP, 'tests', 'data')
    run([SNP_CERTS, 'report', 'verify', f'{data}/milan-report.hex',
         '--ark', f'{data}/milan-ark.pem', '--ask', f'{data}/milan-ask.pem',
         '--vcek', f'{data}/milan-vcek.der', '--product', 'Milan'])

    step("The simulated host's firmware (SIMULATED AMD-SP: a test ARK, "
         "ASK and VCEK with AMD's extensions, made here)")
    run([FW_TOOL, 'create', fwdir])
    run([FW_TOOL, 'show', fwdir])

    step("snp-certs builds the blob the host serves (the firmware's chain, "
         "plus an entry of a GUID no guest knows, which must be carried "
         "through), checks it and installs it under the exclusive lock")
    new = os.path.join(WORK, 'new.blob')
    run([SNP_CERTS, 'build', '--ark', f'{fwdir}/ark.pem', '--ask',
         f'{fwdir}/ask.pem', '--vcek', f'{fwdir}/vcek.der',
         f'--entry={rs.EXTRA_GUID}={data}/genoa-ark.pem', '-o', new])
    run([SNP_CERTS, 'verify', new])
    run([SNP_CERTS, 'install', new, blob])

    cbit = rs.cpuid_cbitpos()
    if cbit is None:
        # No /dev/cpu/*/cpuid (the cpuid module): QEMU names the host's
        # value when the one asked for differs.
        r = subprocess.run(
            [QEMU, '-accel', 'kvm', '-machine',
             'q35,confidential-guest-support=sev0', '-nodefaults',
             '-display', 'none', '-S', '-bios', GUEST, '-object',
             'sev-snp-guest,id=sev0,cbitpos=63,reduced-phys-bits=1'],
            env=dict(os.environ, LD_PRELOAD=os.path.abspath(SIM),
                     SNP_HOST_SIM_KERNEL='mainline',
                     SNP_HOST_SIM_LOG=os.path.join(WORK, 'probe.log')),
            capture_output=True, text=True, timeout=60)
        m = re.search(r"cbitpos check failed, host '(\d+)'", r.stderr)
        cbit = int(m.group(1)) if m else 51
    step("QEMU under -accel kvm on a simulated Linux >= 7.0 host "
         "(KVM_EXIT_SNP_REQ_CERTS): the guest asks with 1 page, is told "
         "how many, asks again, and then with its buffer made private")
    d = os.path.join(WORK, 'mainline')
    console = qemu('mainline', 'certs', 1, blob, fwdir, cbit, d)
    guest_view(console)
    if not any(ln.startswith('DONE pass=') and ln.endswith('fail=0')
               for ln in console):
        failed.append('mainline certs scenario')
    tables = [ln.split(' ', 1)[1] for ln in console
              if ln.startswith('TABLE ')]
    reports = [ln.split(' ', 1)[1] for ln in console
               if ln.startswith('REPORT ')]
    if tables and reports:
        t = table_extent(bytes.fromhex(tables[0]))
        tpath = os.path.join(d, 'received.certs')
        rpath = os.path.join(d, 'received.report')
        with open(tpath, 'wb') as f:
            f.write(t or b'')
        with open(rpath, 'wb') as f:
            f.write(bytes.fromhex(reports[0]))
        with open(blob, 'rb') as f:
            same = f.read() == t
        step("What the guest received: the certificate table (byte for "
             f"byte the blob: {'yes' if same else 'NO'})")
        if not same:
            failed.append('table differs from the blob')
        run([SNP_CERTS, 'show', tpath])
        step("... the report the (simulated) firmware signed for it")
        r = run([SNP_CERTS, 'report', 'show', rpath], show=False)
        keep = ('version:', 'product:', 'signature-algo:', '  signing-key:',
                'report-data:', 'reported-tcb:', 'chip-id:',
                'current-version:')
        block = False
        for line in r.stdout.splitlines():
            if line.startswith(keep) or (block and line.startswith('  ')):
                print('   ' + line)
                block = line.startswith('reported-tcb:') or \
                    (block and line.startswith('  '))
            else:
                block = False
        step("... and the chain it got verifies that report "
             "(snp-certs report verify --blob)")
        run([SNP_CERTS, 'report', 'verify', rpath, '--blob', tpath])
    else:
        failed.append('no TABLE/REPORT from the guest')

    step("Four vCPUs request concurrently; then an updater holds the "
         "blob's exclusive lock for 500 ms: BUSY, retry, success")
    d = os.path.join(WORK, 'smp')
    console = qemu('mainline', 'certs-smp:expect=certs,loops=10', 4, blob,
                   fwdir, cbit, d)
    for ln in console:
        if ln.startswith(('INFO cpu', 'DONE')):
            print(f"     {ln}")
    if not any(ln.startswith('DONE pass=') and ln.endswith('fail=0')
               for ln in console):
        failed.append('certs-smp scenario')
    with open(os.path.join(d, 'sim.log'), errors='replace') as f:
        log = f.read()
    print(f"   the simulated firmware checked the blob's shared locks at "
          f"each of {log.count(' lock-ok ')} signatures: "
          f"{log.count(' lock-violation ')} violations")

    step("The same guest on a simulated AMD legacy kernel "
         "(KVM_EXIT_VMGEXIT): certs-abi=auto falls back and says so")
    d = os.path.join(WORK, 'legacy')
    console = qemu('legacy', 'certs', 1, blob, fwdir, cbit, d)
    for ln in console:
        if ln.startswith(('INFO answer', 'DONE')):
            print(f"     {ln}")
    if not any(ln.startswith('DONE pass=') and ln.endswith('fail=0')
               for ln in console):
        failed.append('legacy certs scenario')

    print("\nThe SNP parts of the host kernel and of the AMD-SP firmware "
          "were SIMULATED\n(tests/snp-host/sim, docs/devel/snp-host-sim.rst); "
          "QEMU, its vCPU loop and our exit\nhandlers ran for real under "
          "KVM.")
    if failed:
        print("\ndemo: FAILED: " + '; '.join(failed))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
