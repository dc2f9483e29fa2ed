#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run the SNP test guest's scenarios against the real QEMU binary under
# -accel kvm, with the SNP host simulator preloaded, on each simulated
# kernel; print TAP (ok N - kernel/scenario/check).
#
# The SNP parts of the host kernel and the AMD-SP firmware are SIMULATED
# (tests/snp-host/sim/); QEMU, its vCPU loop and the guest's code are real.
# Where /dev/kvm is unusable this prints a loud SKIP line and a TAP plan of
# zero tests.
#
# Checks, besides the guest's own PASS/FAIL lines: every TABLE the guest
# printed equals the certificate blob byte for byte (the rest of the
# buffer as the guest filled it), every REPORT has the attestation
# report's layout and, when the blob holds the simulated firmware's VCEK,
# a signature that verifies (openssl) against the VCEK in that TABLE; the
# DONE line matches the lines before it and QEMU's isa-debug-exit status;
# `fault` ends with the VM stopped as guest-panicked (QMP); `attest`
# records as many pairs as the guest counted, and snp-sim-fw verify-pairs
# accepts them; in `stop-wait`, QMP `stop` sent while a vCPU waits for
# the blob's lock (an updater holds it) completes within STOP_MAX_S with
# the VM paused, and after `cont` the guest is served and finishes.
#
# Copyright (c) 2026 The qemu-snp authors

import argparse
import json
import os
import pwd
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

KERNELS = ['mainline', 'mainline-no-certs', 'legacy']
# The Linux-guest model's scenarios: the guest asks as Linux's SEV-SNP
# driver does and loses its VMPCK where Linux would (guest/linux.c).
LINUX_SCENARIOS = ['linux-faults', 'linux-busy', 'linux-setcerts',
                   'linux-flood', 'linux-privdrop']
SCENARIOS = ['certs', 'certs-smp', 'convert', 'fault', 'attest',
             'stop-wait'] + LINUX_SCENARIOS
# linux-busy: an updater holds the blob's lock past the guest's own 60 s
# budget; QEMU's BUSY bound (certs-busy-limit) is set low so that the
# scenario is quick.  The guest's retry clock (2 s, 60 s) is never changed.
LINUX_BUSY_LIMIT_MS = 1000
# The VCEK's GUID as the table holds it (wire order).
VCEK_GUID = bytes.fromhex('63da758de6644564adc5f4b93be8accd')
LINUX_HOLD_MS = 70000
# linux-flood: a low rate limit, which the APs' flood keeps exhausted.
FLOOD_RATE = 2
FLOOD_BURST = 2
# linux-privdrop: the user QEMU drops to (-run-with user=).
PRIVDROP_USER = 'nobody'
# stop-wait: how long the updater holds the lock, the lock wait allowed
# (certs-timeout at its bound), when QMP stop comes into the wait and how
# long it may take.
STOP_WAIT_HOLD_MS = 8000
STOP_WAIT_TIMEOUT_MS = 10000
STOP_AFTER_S = 1.0
STOP_MAX_S = 2.0
FW_CFG_NAME = 'opt/qemu-snp/scenario'
PAGE = 4096
FILL = 0xa5                 # what the guest fills its buffer with
# An entry of a GUID no parser knows: carried through, and it makes the
# blob need more than one page.
EXTRA_GUID = '4d696c61-6e41-524b-8000-000000000001'
VCEK_GUID = bytes.fromhex('63da758de6644564adc5f4b93be8accd')
VLEK_GUID = bytes.fromhex('a8074bc2a25a483eaae639c045a0b8a1')
REPORT_SIZE = 1184

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, good, name, diag=None):
        self.n += 1
        if not good:
            self.failed += 1
        print(f"{'ok' if good else 'not ok'} {self.n} - {name}", flush=True)
        if diag and not good:
            for line in str(diag).splitlines():
                print(f"#   {line}")

    @staticmethod
    def note(text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def plan(self):
        print(f"1..{self.n}", flush=True)


def kvm_usable(probe=None):
    """None where /dev/kvm can carry the simulated SNP host, else one line
    naming what is missing (build/snp-host/snp-host-probe asks KVM through
    the simulator for all that QEMU's SNP guest needs)."""
    probe = probe or os.path.join(TOP, 'build', 'snp-host', 'snp-host-probe')
    if not os.path.exists('/dev/kvm'):
        return "/dev/kvm: No such file or directory"
    p = subprocess.run([probe], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    line = (p.stdout.strip().splitlines() or ['(no output)'])[-1]
    if p.returncode == 0:
        return None
    if p.returncode != 1:
        raise RuntimeError(f"{probe}: exit status {p.returncode}: {line}")
    return line


def kvm_note(probe=None):
    """What the probe says of a usable /dev/kvm (where guest_memfd comes
    from), for the log."""
    probe = probe or os.path.join(TOP, 'build', 'snp-host', 'snp-host-probe')
    p = subprocess.run([probe], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    return p.stdout.strip()


def cpuid_cbitpos():
    """CPUID 0x8000001F EBX[5:0] as QEMU's host_cpuid() sees it."""
    try:
        fd = os.open('/dev/cpu/0/cpuid', os.O_RDONLY)
    except OSError:
        return None
    try:
        regs = struct.unpack('<4I', os.pread(fd, 16, 0x8000001f))
    except OSError:
        return None
    finally:
        os.close(fd)
    return regs[1] & 0x3f


class QmpError(OSError):
    """QEMU answered a command with an error."""


class Qmp:
    """The QMP monitor, JSON lines over a unix socket."""

    def __init__(self, path, timeout=10):
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.f = self.sock.makefile('rw')
        json.loads(self.f.readline())
        self.call('qmp_capabilities')

    def call(self, cmd, args=None):
        msg = {'execute': cmd}
        if args:
            msg['arguments'] = args
        self.f.write(json.dumps(msg) + '\n')
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise OSError('QMP connection closed')
            r = json.loads(line)
            if 'return' in r:
                return r['return']
            if 'error' in r:
                raise QmpError(f"QMP {cmd}: {r['error'].get('desc')}")
            if 'event' in r:
                self.events.append(r)

    def close(self):
        self.sock.close()


def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b


def ecdsa_sig_der(report):
    """The report's signature (r, s little-endian, 72 bytes each) as DER."""
    r = report[0x2a0:0x2a0 + 72][::-1]
    s = report[0x2e8:0x2e8 + 72][::-1]
    body = der_int(r) + der_int(s)
    return b'\x30' + bytes([len(body)]) + body


def table_entries(buf):
    out = []
    for i in range(0, len(buf) - 23, 24):
        e = buf[i:i + 24]
        if e == bytes(24):
            return out
        off, ln = struct.unpack('<II', e[16:24])
        out.append((e[:16], off, ln))
    return None


class Runner:
    def __init__(self, a, tap):
        self.a = a
        self.tap = tap
        self.work = a.workdir
        self.fwdir = None
        self.blob = None
        self.sigcheck = None    # why signatures are not checked, or None
        self.times = []

    # -- set-up --------------------------------------------------------
    def setup(self):
        a = self.a
        os.makedirs(self.work, exist_ok=True)
        missing = [p for p in (a.qemu, a.sim, a.guest, a.snp_certs)
                   if not os.path.exists(p)]
        if missing:
            self.tap.ok(False, 'setup/build-products',
                        'missing: ' + ', '.join(missing))
            return False
        self.blob = os.path.join(self.work, 'certs.blob')
        if os.path.exists(self.blob):
            os.unlink(self.blob)
        fwtool = a.fw_tool if a.fw_tool and os.path.exists(a.fw_tool) \
            else None
        if fwtool:
            # The simulated firmware's own chain: reports then verify.
            self.fwdir = os.path.join(self.work, 'fw')
            shutil.rmtree(self.fwdir, ignore_errors=True)
            r = subprocess.run([fwtool, 'create', self.fwdir],
                               capture_output=True, text=True)
            if r.returncode:
                self.tap.ok(False, 'setup/firmware', r.stderr)
                return False
            fw = self.fwdir
            src = [f'--ark={fw}/ark.pem', f'--ask={fw}/ask.pem',
                   f'--vcek={fw}/vcek.der']
        else:
            d = a.data
            src = [f'--ark={d}/milan-ark.pem', f'--ask={d}/milan-ask.pem',
                   f'--vcek={d}/milan-vcek.der']
            self.sigcheck = ('no snp-sim-fw: the blob holds the Milan VCEK, '
                             'not the simulated firmware\'s signing key')
        r = subprocess.run([a.snp_certs, 'build'] + src +
                           [f'--entry={EXTRA_GUID}={a.data}/milan-ark.pem',
                            '-o', self.blob], capture_output=True, text=True)
        self.tap.ok(r.returncode == 0, 'setup/blob', r.stderr)
        if r.returncode:
            return False
        with open(self.blob, 'rb') as f:
            self.blob_bytes = f.read()
        self.need = (len(self.blob_bytes) + PAGE - 1) // PAGE
        if not shutil.which('openssl') and not self.sigcheck:
            self.sigcheck = 'no openssl command'
        chain = 'the simulated firmware\'s chain' if fwtool else 'Milan chain'
        self.tap.note(f"blob {len(self.blob_bytes)} bytes ({self.need} "
                      f"pages), {chain}")
        if self.sigcheck:
            self.tap.note(f"report signatures not verified: {self.sigcheck}")
        return True

    def cbitpos(self):
        c = cpuid_cbitpos()
        if c is not None:
            return c
        # No /dev/cpu/*/cpuid: QEMU names the host's value when it differs.
        r = subprocess.run(
            [self.a.qemu, '-accel', 'kvm', '-machine',
             'q35,confidential-guest-support=sev0', '-nodefaults',
             '-display', 'none', '-S', '-bios', self.a.guest, '-object',
             'sev-snp-guest,id=sev0,cbitpos=63,reduced-phys-bits=1'],
            env=self.env('mainline', os.path.join(self.work, 'probe.log')),
            capture_output=True, text=True, timeout=60)
        m = re.search(r"cbitpos check failed, host '(\d+)'", r.stderr)
        return int(m.group(1)) if m else 63

    def env(self, kernel, simlog, pairs=None, blob=None, fwdir=None):
        e = dict(os.environ)
        e['LD_PRELOAD'] = os.path.abspath(self.a.sim) + \
            (' ' + e['LD_PRELOAD'] if e.get('LD_PRELOAD') else '')
        e['SNP_HOST_SIM_KERNEL'] = kernel
        e['SNP_HOST_SIM_LOG'] = simlog
        e['SNP_HOST_SIM_CERTS'] = blob or self.blob
        if fwdir or self.fwdir:
            e['SNP_HOST_SIM_FW'] = fwdir or self.fwdir
        if pairs:
            e['SNP_HOST_SIM_PAIRS'] = pairs
        return e

    def qemu_has(self, prop):
        """Does this QEMU's sev-snp-guest have the property @prop?"""
        if not hasattr(self, '_props'):
            r = subprocess.run([self.a.qemu, '-object', 'sev-snp-guest,help'],
                               capture_output=True, text=True, timeout=60)
            self._props = r.stdout + r.stderr
        return re.search(rf'^\s*{re.escape(prop)}=', self._props, re.M) \
            is not None

    # -- one run -------------------------------------------------------
    def qemu_args(self, d, kernel, scenario, arg, smp, mem, blob=None,
                  obj_extra='', extra=()):
        args = [self.a.qemu, '-accel', 'kvm', '-nodefaults', '-display',
                'none', '-no-user-config', '-m', mem, '-smp', str(smp),
                '-bios', self.a.guest,
                '-fw_cfg', f"name={FW_CFG_NAME},string=" +
                arg.replace(',', ',,'),
                '-debugcon', f"file:{d}/console.log",
                '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
                '-qmp', f"unix:{d}/qmp.sock,server=on,wait=off",
                # A memory fault QEMU cannot satisfy is a guest panic
                # (`fault`): pause, so that QMP shows the VM stopped.
                '-action', 'panic=pause']
        if kernel is None:
            return args + ['-machine', 'q35']
        # certs-abi is left at auto on every kernel: QEMU must find the
        # ABI from the kernel's KVM_X86_SEV_SNP_REQ_CERTS attribute.
        obj = (f'sev-snp-guest,id=sev0,cbitpos={self.cbit},'
               f'reduced-phys-bits=1,certs-path={blob or self.blob}')
        if scenario == 'stop-wait':
            obj += f',certs-timeout={STOP_WAIT_TIMEOUT_MS}'
        obj += obj_extra
        return args + ['-machine', 'q35,confidential-guest-support=sev0',
                       '-object', obj] + list(extra)

    def run(self, kernel, scenario):
        a = self.a
        kname = kernel or 'plain'
        tag = f"{kname}/{scenario}"
        d = os.path.join(self.work, kname, scenario)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        empty = kernel == 'mainline-no-certs'
        expect = 'expect=empty' if empty else f'expect=certs,need={self.need}'
        smp, mem, timeout = 1, '256M', a.timeout
        pairs = lx = None
        if scenario == 'boot':
            arg, smp = 'boot', 2
        elif scenario == 'certs':
            arg = f'certs:{expect}'
        elif scenario == 'certs-smp':
            arg, smp = f'certs-smp:{expect},loops={a.loops}', a.smp
        elif scenario == 'convert':
            arg, mem = 'convert', '3G'
        elif scenario == 'fault':
            arg = 'fault'
        elif scenario == 'stop-wait':
            if empty:
                # KVM answers without asking QEMU: no lock wait to stop.
                return
            arg = f'stop-wait:hold={STOP_WAIT_HOLD_MS}'
        elif scenario == 'attest':
            arg, smp = f'attest:{a.attest_seconds}', a.smp
            timeout += a.attest_seconds
            pairs = os.path.join(d, 'pairs')
            os.makedirs(pairs)
        elif scenario in LINUX_SCENARIOS:
            lx = LinuxRun(self, kernel, scenario, d, expect)
            if not lx.prepare():
                return
            arg, smp, pairs = lx.arg, lx.smp, lx.pairs
        else:
            raise ValueError(scenario)
        simlog = os.path.join(d, 'sim.log')
        env = dict(os.environ) if kernel is None else \
            self.env(kernel, simlog, pairs, lx and lx.sim_certs(),
                     lx and lx.fwdir)
        args = self.qemu_args(d, kernel, scenario, arg, smp, mem,
                              lx and lx.blob, lx.obj_extra if lx else '',
                              lx.extra_args if lx else ())
        with open(os.path.join(d, 'cmdline'), 'w') as f:
            f.write(' '.join(args) + '\n')
        pass_fds = ()
        if lx:
            # The simulator's step pipe: requests from it, answers to it.
            req_r, req_w = os.pipe()
            ans_r, ans_w = os.pipe()
            env['SNP_HOST_SIM_STEP_FDS'] = f"{ans_r},{req_w}"
            pass_fds = (ans_r, req_w)
        t0 = time.monotonic()
        err = open(os.path.join(d, 'qemu.err'), 'w')
        p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                             stdout=err, stderr=err, pass_fds=pass_fds)
        for fd in pass_fds:
            os.close(fd)
        stopped = None
        try:
            if scenario == 'fault':
                stopped = self.wait_stopped(p, d, timeout)
            elif scenario == 'stop-wait':
                stopped = self.stop_during_wait(p, d, timeout)
            elif lx:
                lx.serve(p, req_r, ans_w, t0 + timeout)
            p.wait(timeout=max(1, timeout - (time.monotonic() - t0)))
            timed_out = False
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            timed_out = True
        if lx:
            os.close(req_r)
            os.close(ans_w)
            lx.close()
        err.close()
        secs = time.monotonic() - t0
        self.times.append((tag, secs))
        self.tap.note(f"{tag}: {secs:.1f} s, QEMU exit status "
                      f"{p.returncode}")
        self.check_output(tag, d, kernel, scenario, p.returncode, timed_out,
                          stopped, pairs)
        if lx:
            lx.check(tag)

    def wait_stopped(self, p, d, timeout):
        """fault: once the guest announced it, the VM must stop."""
        t0 = time.monotonic()
        con = os.path.join(d, 'console.log')
        while time.monotonic() - t0 < timeout and p.poll() is None:
            try:
                with open(con, errors='replace') as f:
                    if 'EXPECT ' in f.read():
                        break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            return 'the guest never announced the stop'
        status = None
        try:
            q = Qmp(os.path.join(d, 'qmp.sock'))
            while time.monotonic() - t0 < timeout:
                status = q.call('query-status')['status']
                if status != 'running':
                    break
                time.sleep(0.1)
            try:
                q.call('quit')
            except OSError:
                pass
            q.close()
        except OSError as e:
            return f"QMP: {e}"
        return status

    def stop_during_wait(self, p, d, timeout):
        """stop-wait: QMP stop a second into the vCPU's lock wait."""
        t0 = time.monotonic()
        con = os.path.join(d, 'console.log')
        while time.monotonic() - t0 < timeout and p.poll() is None:
            try:
                with open(con, errors='replace') as f:
                    if 'stop-wait: requesting' in f.read():
                        break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            return {'why': 'the guest never started its request'}
        time.sleep(STOP_AFTER_S)
        r = {}
        try:
            q = Qmp(os.path.join(d, 'qmp.sock'), timeout=30)
            t = time.monotonic()
            q.call('stop')
            r['stop_s'] = time.monotonic() - t
            r['status'] = q.call('query-status')['status']
            t = time.monotonic()
            info = q.call('query-sev-snp-certs')
            r['query_s'] = time.monotonic() - t
            r['blob_busy'] = info.get('blob-busy')
            r['interrupted'] = info['stats'].get('interrupted')
            time.sleep(0.5)
            q.call('cont')
            q.close()
        except OSError as e:
            r['why'] = f"QMP: {e}"
        return r

    def check_stop_wait(self, tag, r):
        tap = self.tap
        if 'stop_s' in r:
            tap.note(f"{tag}: QMP stop {STOP_AFTER_S:.0f} s into the lock "
                     f"wait completed in {r['stop_s'] * 1000:.0f} ms, "
                     f"status {r.get('status')}; query-sev-snp-certs "
                     f"{r.get('query_s', 0) * 1000:.0f} ms, blob-busy "
                     f"{r.get('blob_busy')}, interrupted "
                     f"{r.get('interrupted')}")
        tap.ok('why' not in r and r['stop_s'] < STOP_MAX_S and
               r.get('status') == 'paused',
               f"{tag}/stop-leaves-lock-wait",
               r.get('why') or f"stop took {r['stop_s']:.2f} s (at most "
               f"{STOP_MAX_S} s), status {r.get('status')!r}")
        tap.ok('why' not in r and r.get('interrupted', 0) >= 1 and
               r.get('blob_busy') is True and r.get('query_s', 9) < 1,
               f"{tag}/wait-interrupted-query-busy",
               r.get('why') or f"interrupted {r.get('interrupted')}, "
               f"blob-busy {r.get('blob_busy')!r}, query "
               f"{r.get('query_s', 0):.2f} s")

    # -- what the guest said ---------------------------------------------
    def check_output(self, tag, d, kernel, scenario, rc, timed_out, stopped,
                     pairs):
        tap = self.tap
        try:
            with open(os.path.join(d, 'console.log'), errors='replace') as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        npass = nfail = 0
        done = None
        expect = None
        recorded = 0
        tables = reports = 0
        for line in lines:
            word, _, rest = line.partition(' ')
            if word == 'PASS':
                npass += 1
                tap.ok(True, f"{tag}/{rest}")
            elif word == 'FAIL':
                nfail += 1
                name, _, why = rest.partition(': ')
                tap.ok(False, f"{tag}/{name}", why)
            elif word == 'TABLE':
                tables += 1
                why = self.check_table(kernel, rest)
                tap.ok(why is None, f"{tag}/table-{tables}-matches-blob", why)
            elif word == 'REPORT':
                reports += 1
                why = self.check_report(rest, self.last_table)
                tap.ok(why is None, f"{tag}/report-{reports}-layout"
                       f"{'' if self.sigcheck else '-and-signature'}", why)
            elif word == 'DONE':
                done = rest
            elif word == 'EXPECT':
                expect = rest
            elif word == 'INFO':
                m = re.search(r'recorded=(\d+)', rest)
                if m:
                    recorded += int(m.group(1))
                if scenario != 'convert':
                    tap.note(f"{tag}: {rest}")
        if timed_out:
            tap.ok(False, f"{tag}/finished", f"timed out after "
                   f"{self.a.timeout} s; console tail:\n" +
                   '\n'.join(lines[-5:]) + self.tails(d))
            return
        if kernel is not None:
            self.check_sim_log(tag, d, scenario, expect)
            self.check_abi_warning(tag, d, kernel)
        if scenario == 'stop-wait':
            self.check_stop_wait(tag, stopped)
        if scenario == 'fault':
            tap.ok(expect is not None and stopped == 'guest-panicked',
                   f"{tag}/vm-stopped-guest-panicked",
                   f"EXPECT line: {expect!r}; QMP status: {stopped!r}" +
                   self.tails(d))
            return
        want = f"pass={npass} fail={nfail}"
        tap.ok(done == want and rc == (3 if nfail else 1),
               f"{tag}/done", f"DONE line {done!r}, counted {want}, QEMU "
               f"exit status {rc}" + self.tails(d))
        if pairs is not None and done is not None:
            self.check_pairs(tag, pairs, recorded)

    # What certs-abi=auto must decide, and say, on each simulated kernel:
    # mainline advertises KVM_X86_SEV_SNP_REQ_CERTS (attribute 2) = 1 and
    # answers attribute 1 (KVM_X86_SNP_POLICY_BITS) with the policy bits;
    # the others have no such attribute, and QEMU warns once.
    ABI_WARNING = 'certs-abi=auto: the kernel has no KVM_X86_SEV_SNP_REQ_CERTS'

    def check_abi_warning(self, tag, d, kernel):
        try:
            with open(os.path.join(d, 'qemu.err'), errors='replace') as f:
                err = f.read()
        except OSError as e:
            self.tap.ok(False, f"{tag}/abi-detection", str(e))
            return
        n = err.count(self.ABI_WARNING)
        want = 0 if kernel == 'mainline' else 1
        self.tap.ok(n == want, f"{tag}/abi-detection",
                    f"{n} start-up warnings about the ABI, want {want}:\n" +
                    err[-2000:])

    def check_sim_log(self, tag, d, scenario, expect):
        """What the simulated kernel saw: no protocol violation by QEMU."""
        try:
            with open(os.path.join(d, 'sim.log'), errors='replace') as f:
                log = f.read().splitlines()
        except OSError as e:
            self.tap.ok(False, f"{tag}/sim-log", str(e))
            return
        bad = [ln for ln in log if re.match(
            r'\S+ \S+ (lock-violation|ret-invalid|ret-poisoned|error|'
            r'iv-reuse) ', ln)]
        self.tap.ok(not bad, f"{tag}/sim-log-no-violations",
                    '\n'.join(bad[:10]))
        if os.environ.get('SNP_HOST_SIM_EMULATE_GMEM') == '1':
            # The forced set must have run on the simulator's guest_memfd.
            made = [ln for ln in log if re.match(
                r'\S+ \S+ gmem fd=\d+ create .* emulated=1$', ln)]
            mode = [ln for ln in log if ' gmem mode=' in ln]
            self.tap.ok(bool(made) and all(' mode=emulated ' in ln
                                           for ln in mode),
                        f"{tag}/guest_memfd-emulated",
                        f"{len(made)} emulated guest_memfds created; "
                        f"decision: {mode[:1]}")
        if scenario == 'fault':
            faults = [ln for ln in log if ' kind=memory-fault ' in ln]
            m = re.search(r'access at (0x[0-9a-f]+)', expect or '')
            last = m and any(f"gpa={m.group(1)} private=1" in ln
                             for ln in faults)
            self.tap.ok(len(faults) >= 5 and last,
                        f"{tag}/memory-fault-exits",
                        f"{len(faults)} KVM_EXIT_MEMORY_FAULT exits, the "
                        f"unsatisfiable one {'seen' if last else 'missing'}")

    def tails(self, d):
        out = ''
        for name in ('qemu.err', 'sim.log'):
            try:
                with open(os.path.join(d, name), errors='replace') as f:
                    t = f.read().splitlines()[-8:]
            except OSError:
                continue
            out += f"\n{name}:\n" + '\n'.join(t)
        return out

    last_table = None

    def check_table(self, kernel, hexstr):
        try:
            t = bytes.fromhex(hexstr)
        except ValueError:
            return 'not hex'
        self.last_table = t
        if len(t) % PAGE:
            return f"{len(t)} bytes: not whole pages"
        if kernel == 'mainline-no-certs':
            if t[:24] != bytes(24):
                return 'not an empty table (first 24 bytes not zero)'
            return None
        b = self.blob_bytes
        if len(t) < len(b):
            return f"{len(t)} bytes, the blob has {len(b)}"
        if t[:len(b)] != b:
            i = next(i for i in range(len(b)) if t[i] != b[i])
            return f"differs from the blob at byte {i}"
        if t[len(b):] != bytes([FILL]) * (len(t) - len(b)):
            return 'bytes after the blob were written'
        return None

    def check_report(self, hexstr, table):
        try:
            r = bytes.fromhex(hexstr)
        except ValueError:
            return 'not hex'
        if len(r) != REPORT_SIZE:
            return f"{len(r)} bytes, not {REPORT_SIZE}"
        version, = struct.unpack_from('<I', r, 0)
        vmpl, algo = struct.unpack_from('<II', r, 0x30)
        if version < 2:
            return f"version {version}"
        if vmpl != 0 or algo != 1:
            return f"vmpl {vmpl}, signature_algo {algo}"
        if r[0x50:0x90] == bytes(64):
            return 'report_data is zero'
        if r[0x1a0:0x1e0] == bytes(64):
            return 'chip_id is zero'
        for off in (0x2a0, 0x2e8):
            comp = r[off:off + 72]
            if comp[:48] == bytes(48) or comp[48:] != bytes(24):
                return f"signature component at {off:#x} is not a P-384 value"
        if r[0x2a0 + 144:] != bytes(REPORT_SIZE - 0x2a0 - 144):
            return 'bytes after the signature are not zero'
        if self.sigcheck:
            return None
        return self.verify_signature(r, table)

    def verify_signature(self, report, table):
        """Against the VCEK the guest got, or the firmware's (no table)."""
        ents = table_entries(table) if table else None
        if ents:
            ek = [(o, n) for g, o, n in ents if g in (VCEK_GUID, VLEK_GUID)]
            if not ek:
                return 'no VCEK/VLEK in the table'
            off, n = ek[0]
            vcek = table[off:off + n]
        else:
            with open(os.path.join(self.fwdir, 'vcek.der'), 'rb') as f:
                vcek = f.read()
        with tempfile.TemporaryDirectory(dir=self.work) as t:
            files = {'vcek.der': vcek,
                     'sig.der': ecdsa_sig_der(report),
                     'data': report[:0x2a0]}
            for k, v in files.items():
                with open(os.path.join(t, k), 'wb') as f:
                    f.write(v)
            r = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-in',
                                f'{t}/vcek.der', '-pubkey', '-noout', '-out',
                                f'{t}/pub.pem'], capture_output=True,
                               text=True)
            if r.returncode:
                return f"the VCEK does not parse: {r.stderr.strip()}"
            r = subprocess.run(['openssl', 'dgst', '-sha384', '-verify',
                                f'{t}/pub.pem', '-signature', f'{t}/sig.der',
                                f'{t}/data'], capture_output=True, text=True)
            if r.returncode:
                return ('the signature does not verify against the VCEK in '
                        f"the table: {(r.stdout + r.stderr).strip()}")
        return None

    def check_pairs(self, tag, pairs, recorded):
        n = len([f for f in os.listdir(pairs) if f.endswith('.report')])
        self.tap.ok(n == recorded and n > 0, f"{tag}/pairs-recorded",
                    f"{n} pairs on disk, the guest recorded {recorded}")
        if self.fwdir and self.a.fw_tool and n:
            # Every pair matching (its chain verifies its report) or
            # chain-less (no chain given, none can mismatch).
            r = subprocess.run([self.a.fw_tool, 'verify-pairs', pairs,
                                '--quiet'], capture_output=True, text=True)
            self.tap.ok(r.returncode == 0, f"{tag}/pairs-verify",
                        r.stdout + r.stderr)
            if r.stdout.strip():
                self.tap.note(f"{tag}: {r.stdout.strip()}")


class LinuxRun:
    """One run of a Linux-guest model scenario (guest/linux.c): the
    host-side steps the guest asks for over the simulator's step pipe
    (the runner does them: file actions as root, QMP commands), the QMP
    monitor and its events, and the checks of what the guest received.

    Steps: blob:delete|corrupt|truncate|fifo|directory|restore (the blob
    in service, changed behind QEMU's back; restore reinstalls it with
    snp-certs install), blob:replace-unreadable|replace-readable (a valid
    blob renamed over it, mode 0600 or 0644, root-owned),
    qmp:set-certs-bad|set-certs-other|set-certs-back (sev-snp-set-certs to
    a file that is no blob, which must be refused, to another valid blob,
    and back), qmp:stats|done (query-sev-snp-certs).
    """

    def __init__(self, runner, kernel, scenario, d, expect):
        self.r = runner
        self.tap = runner.tap
        self.kernel = kernel
        self.scenario = scenario
        self.d = d
        self.expect = expect
        self.empty = kernel == 'mainline-no-certs'
        self.blob = runner.blob
        self.fwdir = runner.fwdir
        self.pairs = os.path.join(d, 'pairs')
        self.smp = 1
        self.obj_extra = ''
        self.extra_args = ()
        self.known = {'blob': runner.blob_bytes}
        self.phases = []        # (step, pairs recorded before it)
        self.steps = []         # (step, None or why it failed)
        self.qmp = None
        self.qmp_why = None
        self.stats = None
        self.uid = None
        self.busy_limit = runner.qemu_has('certs-busy-limit')

    # -- set-up ----------------------------------------------------------
    def write(self, path, data, mode=0o644):
        tmp = path + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def prepare(self):
        r, sc = self.r, self.scenario
        os.makedirs(self.pairs)
        # Each run starts from the blob in service, whatever an earlier
        # run left behind.
        self.remove(self.blob)
        self.write(self.blob, r.blob_bytes)
        self.orig = os.path.join(self.d, 'orig.blob')
        self.write(self.orig, r.blob_bytes)
        args = [self.expect]
        if sc in ('linux-busy', 'linux-flood'):
            if self.busy_limit:
                self.obj_extra += f',certs-busy-limit={LINUX_BUSY_LIMIT_MS}'
                args.append(f'busy={LINUX_BUSY_LIMIT_MS}')
            self.tap.ok(self.busy_limit,
                        f"{self.tag()}/qemu-has-certs-busy-limit",
                        f"{self.r.a.qemu} has no sev-snp-guest property "
                        "certs-busy-limit: run with QEMU's default bound")
        if sc == 'linux-busy':
            args.append(f'hold={LINUX_HOLD_MS}')
        if sc == 'linux-flood':
            self.smp = max(self.r.a.smp, 2)
            self.obj_extra += (f',certs-rate-limit={FLOOD_RATE},'
                               f'certs-rate-burst={FLOOD_BURST}')
        if sc == 'linux-setcerts':
            self.other = os.path.join(self.d, 'other.blob')
            if not self.build_other():
                return False
            self.bad = os.path.join(self.d, 'bad.blob')
            self.write(self.bad, b'this is no certificate blob\n' * 64)
        if sc == 'linux-privdrop':
            return self.prepare_privdrop(args)
        self.arg = f"{sc}:{','.join(args)}"
        return True

    def tag(self):
        return f"{self.kernel}/{self.scenario}"

    def sim_certs(self):
        """SNP_HOST_SIM_CERTS: the files QEMU may serve, the first the
        one the simulator's updater locks."""
        if self.scenario == 'linux-setcerts':
            return f"{self.blob}:{self.other}"
        return self.blob

    def build_other(self):
        """Another valid blob: the same chain, the unknown entry left
        out, so its bytes differ."""
        fw = self.fwdir
        if not fw:
            src = [f'--ark={self.r.a.data}/milan-ark.pem',
                   f'--ask={self.r.a.data}/milan-ask.pem',
                   f'--vcek={self.r.a.data}/milan-vcek.der']
        else:
            src = [f'--ark={fw}/ark.pem', f'--ask={fw}/ask.pem',
                   f'--vcek={fw}/vcek.der']
        p = subprocess.run([self.r.a.snp_certs, 'build'] + src +
                           ['-o', self.other], capture_output=True,
                           text=True)
        self.tap.ok(p.returncode == 0, f"{self.tag()}/setup-other-blob",
                    p.stderr)
        if p.returncode:
            return False
        with open(self.other, 'rb') as f:
            self.known['other'] = f.read()
        return True

    def prepare_privdrop(self, args):
        """QEMU drops to PRIVDROP_USER; the blob is root's, mode 0600.
        What the simulator itself reads after the drop (its firmware) is
        made readable, and the pairs directory writable, for that user."""
        try:
            pw = pwd.getpwnam(PRIVDROP_USER)
        except KeyError:
            self.tap.note(f"{self.tag()}: SKIP: no user {PRIVDROP_USER}")
            return False
        if os.geteuid() != 0:
            self.tap.note(f"{self.tag()}: SKIP: -run-with user= needs root")
            return False
        self.target_uid = pw.pw_uid
        bdir = os.path.join(self.d, 'blob')
        os.makedirs(bdir)
        os.chmod(bdir, 0o755)
        self.blob = os.path.join(bdir, 'certs.blob')
        self.write(self.blob, self.r.blob_bytes, 0o600)
        if self.fwdir:
            self.fwdir = os.path.join(self.d, 'fw')
            shutil.copytree(self.r.fwdir, self.fwdir)
            for root, dirs, files in os.walk(self.fwdir):
                os.chmod(root, 0o755)
                for f in files:
                    os.chmod(os.path.join(root, f), 0o644)
        os.chmod(self.pairs, 0o777)
        os.chmod(self.d, 0o755)
        self.extra_args = ('-run-with', f'user={PRIVDROP_USER}')
        self.arg = f"{self.scenario}:{','.join(args)}"
        return True

    # -- the steps ---------------------------------------------------------
    def n_pairs(self):
        return len([f for f in os.listdir(self.pairs)
                    if f.endswith('.report')])

    def connect(self, p, deadline):
        sock = os.path.join(self.d, 'qmp.sock')
        while p.poll() is None and time.monotonic() < deadline:
            try:
                self.qmp = Qmp(sock, timeout=30)
                return
            except OSError as e:
                self.qmp_why = str(e)
                time.sleep(0.05)

    def serve(self, p, rfd, wfd, deadline):
        """Until QEMU exits: do each step the guest asks for."""
        self.pid = p.pid
        self.connect(p, min(deadline, time.monotonic() + 20))
        buf = b''
        while p.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([rfd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                name = line.decode(errors='replace').removeprefix('step ')
                self.phases.append((name, self.n_pairs()))
                try:
                    why = self.step(name)
                except (OSError, subprocess.SubprocessError) as e:
                    why = f"{type(e).__name__}: {e}"
                self.steps.append((name, why))
                answer = 'ok' if why is None else \
                    'fail ' + why.replace('\n', ' ')[:200]
                os.write(wfd, answer.encode() + b'\n')

    def close(self):
        if self.qmp:
            try:
                self.qmp.close()
            except OSError:
                pass

    def step(self, name):
        """Do @name: None, or why it could not be done."""
        if self.uid is None:
            self.uid = self.qemu_uid()
        kind, _, what = name.partition(':')
        if kind == 'blob':
            return self.blob_step(what)
        if kind == 'qmp':
            return self.qmp_step(what)
        return f"unknown step {name!r}"

    def qemu_uid(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                m = re.search(r'^Uid:\s+\d+\s+(\d+)', f.read(), re.M)
            return int(m.group(1)) if m else -1
        except OSError:
            return -1

    @staticmethod
    def remove(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)

    def blob_step(self, what):
        b = self.blob
        if what == 'delete':
            os.unlink(b)
        elif what == 'corrupt':
            # In place, same size, the table itself: the VCEK entry's
            # length made to reach past the blob's end (the table's
            # VCEK entry, wherever it is: the blob also holds entries of
            # other types).  Bytes changed inside a certificate are no
            # fault of the table: QEMU serves them as installed.
            with open(b, 'r+b') as f:
                table = f.read()
                at = None
                for i in range(0, len(table) - 23, 24):
                    guid, off, ln = struct.unpack_from('<16sII', table, i)
                    if guid == bytes(16):
                        break
                    if guid == VCEK_GUID:
                        at = i + 20
                if at is None:
                    return "blob:corrupt: the blob has no VCEK entry"
                f.seek(at)
                f.write(struct.pack('<I', len(table)))
        elif what == 'truncate':
            os.truncate(b, os.path.getsize(b) // 2)
        elif what == 'fifo':
            os.mkfifo(b + '.fifo')
            os.replace(b + '.fifo', b)
        elif what == 'directory':
            os.unlink(b)
            os.mkdir(b)
        elif what == 'restore':
            # What an operator does: the blob put back with snp-certs.
            if not os.path.isfile(b) or os.path.islink(b):
                self.remove(b)
            r = subprocess.run([self.r.a.snp_certs, 'install', self.orig,
                                b], capture_output=True, text=True,
                               timeout=60)
            if r.returncode:
                return f"snp-certs install: {r.stderr.strip()}"
        elif what in ('replace-unreadable', 'replace-readable'):
            # A new valid blob renamed over the one in service.
            self.write(b, self.r.blob_bytes,
                       0o600 if what == 'replace-unreadable' else 0o644)
        else:
            return f"unknown blob step {what!r}"
        return None

    def qmp_step(self, what):
        if not self.qmp:
            return f"no QMP monitor: {self.qmp_why}"
        q = self.qmp
        if what == 'set-certs-bad':
            try:
                q.call('sev-snp-set-certs', {'id': 'sev0',
                                             'certs-path': self.bad})
            except QmpError as e:
                self.refused = str(e)
                return None
            return 'sev-snp-set-certs accepted a file that is no blob'
        if what in ('set-certs-other', 'set-certs-back'):
            path = self.other if what == 'set-certs-other' else self.blob
            try:
                q.call('sev-snp-set-certs', {'id': 'sev0',
                                             'certs-path': path})
            except QmpError as e:
                return str(e)
            return None
        if what in ('stats', 'done'):
            self.stats = q.call('query-sev-snp-certs', {'id': 'sev0'})
            return None
        return f"unknown QMP step {what!r}"

    # -- the checks ----------------------------------------------------------
    def expected(self, step):
        """What the pairs recorded after @step may hold."""
        if self.empty:
            return 'chainless'
        faults = ('blob:delete', 'blob:corrupt', 'blob:truncate',
                  'blob:fifo', 'blob:directory', 'blob:replace-unreadable')
        if step in faults:
            return 'chainless'
        if step == 'qmp:set-certs-other':
            return 'other'
        if self.scenario in ('linux-busy', 'linux-flood'):
            return 'any'
        return 'blob'

    def classify(self, data):
        """chainless, a known blob's name, or why it is neither."""
        if not data:
            return 'chainless'
        rest = None
        if data[:24] == bytes(24):
            kind, rest = 'chainless', data[24:]
        else:
            for name, b in self.known.items():
                if data[:len(b)] == b:
                    kind, rest = name, data[len(b):]
                    break
        if rest is None:
            return 'a table that is none of the blobs served'
        if rest != bytes([FILL]) * len(rest):
            return f"{kind}, but the host wrote past it"
        return kind

    def check_pairs(self, tag):
        names = sorted(int(f[:-6]) for f in os.listdir(self.pairs)
                       if f.endswith('.certs'))
        bounds = [(n, step) for step, n in self.phases]
        bad = []
        count = {}
        for n in names:
            step = None
            for at, st in bounds:
                if at <= n:
                    step = st
            want = self.expected(step)
            with open(os.path.join(self.pairs, f"{n}.certs"), 'rb') as f:
                got = self.classify(f.read())
            count[got] = count.get(got, 0) + 1
            if got not in ('chainless', 'blob', 'other') or \
                    (want != 'any' and got != want):
                bad.append(f"pair {n} (after {step or 'the start'}): "
                           f"{got}, want {want}")
        self.tap.note(f"{tag}: pairs by table: " + ', '.join(
            f"{k} {v}" for k, v in sorted(count.items())))
        self.tap.ok(names and not bad, f"{tag}/pairs-hold-what-was-served",
                    '\n'.join(bad[:10]) or 'no pairs')

    def events(self, reason):
        evs = self.qmp.events if self.qmp else []
        return [e for e in evs if e.get('event') == 'SEV_SNP_CERTS_ERROR'
                and e.get('data', {}).get('reason') == reason]

    def check(self, tag):
        tap = self.tap
        for i, (name, why) in enumerate(self.steps):
            tap.ok(why is None, f"{tag}/step-{i + 1}-{name}", why)
        if os.path.isdir(self.pairs):
            self.check_pairs(tag)
        st = (self.stats or {}).get('stats', {})
        sc = self.scenario
        if self.stats is not None:
            tap.note(f"{tag}: query-sev-snp-certs stats: " + ', '.join(
                f"{k} {v}" for k, v in sorted(st.items())))
        if sc == 'linux-faults' and not self.empty:
            tap.ok(st.get('host-faults', 0) >= 5 and
                   st.get('chainless', 0) >= 5,
                   f"{tag}/qmp-host-faults-and-chainless-counted",
                   f"stats {st}: want host-faults and chainless >= 5 (five "
                   "host-side faults, each answered without a chain)")
            tap.ok(len(self.events('host-fault')) > 0,
                   f"{tag}/qmp-event-host-fault",
                   'no SEV_SNP_CERTS_ERROR with reason host-fault; events: ' +
                   json.dumps(self.qmp.events if self.qmp else None)[:1500])
        if sc == 'linux-busy' and not self.empty:
            tap.ok(st.get('busy-limit', 0) >= 2 and st.get('busy', 0) > 0,
                   f"{tag}/qmp-busy-limit-counted",
                   f"stats {st}: want busy-limit >= 2 (two answers after "
                   "the bound) and busy > 0")
            tap.ok(len(self.events('busy-limit')) > 0,
                   f"{tag}/qmp-event-busy-limit",
                   'no SEV_SNP_CERTS_ERROR with reason busy-limit')
        if sc == 'linux-flood' and not self.empty:
            tap.ok(st.get('rate-limited', 0) > 0,
                   f"{tag}/qmp-rate-limited-counted", f"stats {st}")
        if sc == 'linux-setcerts':
            tap.ok(self.stats is not None and
                   self.stats.get('certs-path') == self.blob,
                   f"{tag}/qmp-back-to-the-blob",
                   f"certs-path {(self.stats or {}).get('certs-path')!r}, "
                   f"want {self.blob!r}")
        if sc == 'linux-privdrop':
            want = getattr(self, 'target_uid', None)
            tap.ok(self.uid == want, f"{tag}/qemu-runs-as-{PRIVDROP_USER}",
                   f"QEMU's uid {self.uid}, want {want}")


def main():
    b = os.path.join(TOP, 'build')
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--qemu', default=f'{b}/bin/qemu-system-x86_64')
    ap.add_argument('--sim', default=f'{b}/snp-host/libsnp-host-sim.so')
    ap.add_argument('--guest', default=f'{b}/snp-host/snp-test-guest.bin')
    ap.add_argument('--snp-certs', default=f'{b}/bin/snp-certs')
    ap.add_argument('--fw-tool', default=f'{b}/snp-host/snp-sim-fw',
                    help='snp-sim-fw (optional: without it the blob is '
                         'the Milan chain and signatures go unchecked)')
    ap.add_argument('--data', default=os.path.join(TOP, 'tests', 'data'))
    ap.add_argument('--workdir', default=f'{b}/snp-host/scenarios')
    ap.add_argument('--kernel', action='append', choices=KERNELS)
    ap.add_argument('--scenario', action='append', choices=SCENARIOS)
    ap.add_argument('--smp', type=int, default=4)
    ap.add_argument('--loops', type=int, default=50)
    ap.add_argument('--attest-seconds', type=int, default=5)
    ap.add_argument('--timeout', type=int, default=180,
                    help='seconds per QEMU run')
    ap.add_argument('--no-boot', action='store_true',
                    help='skip the plain boot run (fw_cfg, e820, SMP '
                         'bring-up without SNP)')
    a = ap.parse_args()

    tap = Tap()
    why = kvm_usable()
    if why:
        print(f"SKIP snp-host scenarios: {why}: the SNP guest runs under "
              f"-accel kvm only; nothing of it was tested", flush=True)
        print(f"1..0 # SKIP {why}")
        return 0
    tap.note(kvm_note())
    r = Runner(a, tap)
    if r.setup():
        # The guest alone, without SNP: fw_cfg, e820, SMP bring-up.
        if not a.no_boot:
            r.run(None, 'boot')
        r.cbit = r.cbitpos()
        tap.note(f"cbitpos {r.cbit} (host CPUID 0x8000001F)")
        for k in a.kernel or KERNELS:
            for s in a.scenario or SCENARIOS:
                r.run(k, s)
        tap.note('run times: ' + ', '.join(f"{t} {s:.1f} s"
                                           for t, s in r.times))
    tap.plan()
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
