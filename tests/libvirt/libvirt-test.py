#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The operators' stack, for real: the Debian package of qemu-snp next to
# Debian's own QEMU, started by Debian's libvirt 11.3 from a domain that
# keeps libvirt's <launchSecurity type='sev-snp'> and gives the
# certificate file with one <qemu:commandline> fragment,
# `-global sev-snp-guest.certs-path=FILE`.
#
# Steps (TAP, one check a line; docs/system/i386/sev-snp-operators.rst
# explains what is simulated and configured, and why):
#
#  1. snapshot the machine (packages and apt's automatically-installed
#     marks, users, groups, libvirt's directories, cgroups), install
#     libvirt-daemon, libvirt-daemon-driver-qemu and libvirt-clients from
#     bookworm-backports with apt (refused if that would upgrade anything
#     installed), then `dpkg -i` build/deb/*.deb: dpkg refuses any file
#     that Debian's QEMU (pulled in by libvirt) already owns;
#  2. start libvirt's daemon (virtqemud where the packages have it;
#     Debian's 11.3 ships only libvirtd, which runs the same QEMU driver)
#     with a configuration of the test's own (build/libvirt/root: its run
#     directory, socket, state, cache and logs) in a mount namespace of
#     its own (libvirt-ns.sh);
#  3. libvirt's probe of the emulator, a wrapper that preloads the SNP
#     host simulator: domcapabilities offers sev-snp, and the
#     capabilities cache holds what query-sev-capabilities answered
#     (the simulated PDH certificate and chain, the chip id);
#  4. a plain domain (no SEV, TCG) runs the packaged binary itself;
#  5. the SNP domain (build/libvirt/domain.xml): `virsh start`, the
#     guest's first certificate request is answered from the blob, every
#     table it gets is the blob byte for byte and every report verifies
#     against it; `virsh qemu-monitor-command ... query-sev-snp-certs`
#     shows libvirt's object lsec0 serving the blob; `virsh destroy`;
#  6. the same guest attesting on 4 vCPUs while an updater rotates the
#     simulated firmware's VCEK under `snp-certs lock`: every pair
#     verifies (0 mismatched);
#  7. `virsh destroy` in the middle of that load: afterwards no lock on
#     the blob is left, the exclusive lock is free at once, and QEMU is
#     gone;
#  8. stop the daemon, remove the host directory, purge every package the
#     test installed and no other (no --auto-remove), remove the users,
#     groups, directories and cgroups that appeared: the machine is as it
#     was (checked: packages, apt's marks, users, groups, directories).
#
# Every file QEMU opens (as libvirt-qemu) is in a host directory the test
# makes outside the checkout (/var/tmp/qemu-snp-libvirt-XXXXXX), so that
# the checkout's parents need not let that user through; build/libvirt/
# keeps a copy of it (host/ and the emulator wrapper) after the run.
#
# Ends with one line, "libvirt-check: ...", saying what it showed.
# --download-only fetches what step 1 would install into the apt archive
# directory (--apt-archives) and installs nothing; --offline installs
# from that directory alone (apt never downloads): the nested bed
# (scripts/nested-libvirt.sh) fetches on the host and runs the test in an
# L1 without network.  --slow multiplies the test's fixed waits (the
# daemon's start, virsh, QEMU's exit) for machines where everything runs
# under TCG.
# Exit status 0 when every check passed (or on a SKIP), 1 otherwise.
# --broken drops the certificate fragment (the guest's first request
# must then fail the test); --naive runs the updater without the lock
# (mismatched pairs must then fail it): both prove the test can fail.
#
# Copyright (c) 2026 The qemu-snp authors

import argparse
import base64
import fcntl
import glob
import hashlib
import importlib.util
import json
import os
import pwd
import grp
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rs = load('run_scenarios', os.path.join(TOP, 'tests/snp-host/run-scenarios.py'))
ar = load('attest_race', os.path.join(TOP, 'tests/snp-host/attest-race.py'))

LIBVIRT_SUITE = 'bookworm-backports'
LIBVIRT_VERSION = '11.3'
LIBVIRT_PKGS = ['libvirt-daemon', 'libvirt-daemon-driver-qemu',
                'libvirt-clients']
OUR_PKGS = ['qemu-system-x86-snp', 'snp-certs']
DEBIAN_QEMU_PKGS = ['qemu-system-x86', 'qemu-system-common',
                    'qemu-system-data']
EMULATOR = '/usr/bin/qemu-system-x86_64-snp'
# Directories the packages or libvirt may create; removed at the end
# when they did not exist before.
HOST_PATHS = ['/etc/libvirt', '/var/lib/libvirt', '/var/cache/libvirt',
              '/var/log/libvirt', '/run/libvirt', '/etc/qemu',
              '/var/lib/qemu', '/usr/share/qemu', '/usr/lib/ipxe/qemu',
              '/usr/share/seabios']
# Every file QEMU opens (it runs as libvirt-qemu, or qemu.conf's user)
# lives in a directory the test makes under one of these, never in the
# checkout, whose parents may be closed to that user; it goes at the end.
HOST_DIR_BASES = ['/var/tmp', '/tmp']
HOST_DIR_PREFIX = 'qemu-snp-libvirt-'
CERT_SIZE = 0x824
REPORT_CHIP_ID = 0x1a0
DISK_BYTES = 1 << 20
DOMAIN = 'qemu-snp-libvirt'
PLAIN = 'qemu-snp-plain'
OPERATORS_DOC = 'docs/system/i386/sev-snp-operators.rst'
# --slow: the factor of every fixed wait (seconds) below.
SLOW = 1.0


def wait(seconds):
    """@seconds of a fixed wait, as --slow makes it."""
    return seconds * SLOW


class Tap(rs.Tap):
    def ok(self, good, name, diag=None):
        super().ok(bool(good), name, diag)
        return bool(good)


class Skip(Exception):
    pass


class Abort(Exception):
    """A failed step after which the rest cannot run."""


def run(cmd, check=False, **kw):
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    r = subprocess.run(cmd, **kw)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n"
                           f"{r.stdout}{r.stderr}")
    return r


# ------------------------------------------------------------------
# The machine, before and after
# ------------------------------------------------------------------
def dpkg_state():
    """{package: (version, status)} of every package dpkg knows about."""
    r = run(['dpkg-query', '-W', '-f',
             '${Package}\t${Version}\t${db:Status-Abbrev}\n'], check=True)
    out = {}
    for line in r.stdout.splitlines():
        name, ver, st = (line.split('\t') + ['', ''])[:3]
        st = st.strip()
        if st and st[1] != 'n':            # not "not-installed"
            out[name] = [ver, st]               # as JSON keeps it
    return out


def auto_marks():
    """The installed packages apt marks as automatically installed."""
    return sorted(run(['apt-mark', 'showauto'], check=True).stdout.split())


def libvirt_request(packages):
    """What step 1 asks apt to install, given dpkg_state() @packages:
    libvirt's packages from LIBVIRT_SUITE and, where systemd is installed
    and systemd-container is not, systemd-container at systemd's exact
    version (libvirt-daemon-driver-qemu needs it or sysvinit-core; any
    other version would make apt upgrade systemd, which could not be
    undone).  --download-only fetches the same."""
    want = [f"{p}/{LIBVIRT_SUITE}" for p in LIBVIRT_PKGS]
    sysd = packages.get('systemd')
    if sysd and sysd[1].startswith('ii') and \
            'systemd-container' not in packages:
        want.append(f"systemd-container={sysd[0]}")
    return want


def cgroup_dirs():
    return sorted(glob.glob('/sys/fs/cgroup/machine*') +
                  glob.glob('/sys/fs/cgroup/*/machine*'))


def open_to_everyone(path):
    """Does every directory from / down to @path let any user through?"""
    p = os.path.realpath(path)
    while True:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return False
        if p == '/':
            return True
        p = os.path.dirname(p)


def host_dir_base():
    """The first of HOST_DIR_BASES that any user can reach, on a file
    system that allows executing (the emulator wrapper and the simulator
    it preloads live there), or None."""
    for base in HOST_DIR_BASES:
        try:
            if os.path.isdir(base) and open_to_everyone(base) and \
                    not os.statvfs(base).f_flag & os.ST_NOEXEC:
                return base
        except OSError:
            pass
    return None


def host_dirs():
    """The test's host directories (Test.make_host_dir) that exist."""
    return sorted(d for b in HOST_DIR_BASES
                  for d in glob.glob(os.path.join(b, HOST_DIR_PREFIX + '*')))


def remove_stale_host_dir(record):
    """The host directory named in @record (one a killed run left, or the
    one just removed), and the record."""
    try:
        with open(record) as f:
            old = f.read().strip()
    except OSError:
        return
    if os.path.dirname(old) in HOST_DIR_BASES and \
            os.path.basename(old).startswith(HOST_DIR_PREFIX):
        shutil.rmtree(old, ignore_errors=True)
    os.unlink(record)


def snapshot():
    return {
        'packages': dpkg_state(),
        'auto': auto_marks(),
        'users': sorted(p.pw_name for p in pwd.getpwall()),
        'groups': sorted(g.gr_name for g in grp.getgrall()),
        'paths': [p for p in HOST_PATHS if os.path.lexists(p)] +
                 host_dirs(),
        'cgroups': cgroup_dirs(),
    }


def differences(before, after):
    out = []
    bp, ap = before['packages'], after['packages']
    for n in sorted(set(bp) | set(ap)):
        if bp.get(n) != ap.get(n):
            out.append(f"package {n}: {bp.get(n)} -> {ap.get(n)}")
    # apt's marks of the packages there before and after (one that came or
    # went is named above); a state file of an older run may lack them.
    if 'auto' in before and 'auto' in after:
        ba, aa = set(before['auto']), set(after['auto'])
        for n in sorted(n for n in ba ^ aa if n in bp and n in ap):
            was, now = (('automatically', 'manually') if n in ba else
                         ('manually', 'automatically'))
            out.append(f"package {n}: marked {now} installed, was {was}")
    for k in ('users', 'groups', 'paths', 'cgroups'):
        b, a = set(before[k]), set(after[k])
        out += [f"{k}: {x} appeared" for x in sorted(a - b)]
        out += [f"{k}: {x} disappeared" for x in sorted(b - a)]
    return out


class Machine:
    """What the test installs, recorded so that an interrupted run is
    undone by the next one."""

    def __init__(self, state_file, tap, apt_dir, offline=False):
        self.state_file = state_file
        self.tap = tap
        self.apt_dir = apt_dir
        self.offline = offline
        self.before = None

    def save(self):
        with open(self.state_file, 'w') as f:
            json.dump(self.before, f)

    def begin(self):
        if os.path.exists(self.state_file):
            with open(self.state_file) as f:
                old = json.load(f)
            self.tap.note('a previous run did not finish: restoring the '
                          'machine it found first')
            self.before = old
            self.restore(quiet=True)
        self.before = snapshot()
        self.before['test-installs'] = []
        self.save()

    def apt(self, *args):
        os.makedirs(os.path.join(self.apt_dir, 'partial'), exist_ok=True)
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        # --offline: the packages come from apt_dir alone; apt fails
        # rather than download one that is missing there.
        offline = ['--no-download'] if self.offline else []
        return run(['apt-get', '-q', '-y', '-o', 'DPkg::Lock::Timeout=600',
                    '-o', 'DPkg::Options::=--force-unsafe-io',
                    '-o', f'Dir::Cache::archives={self.apt_dir}',
                    '--no-install-recommends'] + offline + list(args),
                   env=env)

    def plan_libvirt(self, packages):
        """libvirt_request(@packages) and the packages apt would install
        for it, checked: offered, installable, nothing upgraded."""
        r = run(['apt-cache', 'policy', 'libvirt-daemon'])
        if f"{LIBVIRT_VERSION}." not in r.stdout or LIBVIRT_SUITE not in \
                r.stdout:
            raise Skip(f"libvirt {LIBVIRT_VERSION} is not offered by apt "
                       f"from {LIBVIRT_SUITE} (make setup adds that source)")
        want = libvirt_request(packages)
        sim = self.apt('-s', 'install', *want)
        if sim.returncode:
            raise Skip('apt cannot install libvirt here: ' +
                       (sim.stdout + sim.stderr).strip().splitlines()[-1])
        upgrades = re.findall(r'^Inst (\S+) \[', sim.stdout, re.M)
        if upgrades:
            raise Skip('installing libvirt would upgrade installed packages '
                       f"({', '.join(upgrades)}), which the test could not "
                       'undo')
        plan = [n.split(':')[0]
                for n in re.findall(r'^Inst (\S+) ', sim.stdout, re.M)]
        return want, plan

    def download_libvirt(self):
        """--download-only: every package step 1 would install on this
        machine, fetched into apt_dir; nothing installed."""
        want, plan = self.plan_libvirt(dpkg_state())
        r = self.apt('install', '--download-only', *want)
        if r.returncode:
            raise RuntimeError('apt-get install --download-only: ' +
                               (r.stdout + r.stderr).strip()[-800:])
        have = set(os.path.basename(f).split('_')[0] for f in
                   glob.glob(os.path.join(self.apt_dir, '*.deb')))
        missing = sorted(set(plan) - have)
        if missing:
            raise RuntimeError(f"not in {self.apt_dir} after the download: "
                               f"{' '.join(missing)}")
        return want, plan

    def install_libvirt(self):
        """Debian's libvirt 11.3 from bookworm-backports, nothing upgraded."""
        want, plan = self.plan_libvirt(self.before['packages'])
        # What apt is about to install, kept before it does (a run killed
        # in the middle is undone by the next); narrowed afterwards to what
        # did appear.
        self.installing(plan)
        t0 = time.monotonic()
        pre = dpkg_state()
        r = self.apt('install', *want)
        post = dpkg_state()
        new = sorted(n for n in plan if post.get(n) != pre.get(n))
        self.installing(new, replace=plan)
        if r.returncode:
            raise Skip('apt-get install of libvirt failed: ' +
                       (r.stdout + r.stderr).strip()[-800:])
        self.tap.note(f"installed {len(new)} packages in "
                      f"{time.monotonic() - t0:.0f} s: {' '.join(new)}")
        return new

    def installing(self, pkgs, replace=()):
        """Note @pkgs as the test's own (in place of @replace), in the
        state file too: restore() takes away these and no other."""
        mine = [n for n in self.before.get('test-installs', [])
                if n not in replace]
        self.before['test-installs'] = sorted(set(mine) | set(pkgs))
        self.save()

    def purge(self, pkgs):
        """Purge exactly @pkgs with apt.  No --auto-remove: that takes every
        package apt thinks unneeded, the machine's own among them.  apt's
        plan is looked at first and refused if it would remove a package
        that is not in @pkgs (the check against the snapshot then names
        what is left)."""
        sim = self.apt('-s', 'purge', *pkgs)
        plan = set(re.findall(r'^(?:Purg|Remv) ([^\s:]+)', sim.stdout, re.M))
        extra = sorted(plan - set(pkgs))
        if sim.returncode or extra:
            self.tap.note('not purging the packages the test installed: '
                          + (f"apt would also remove {' '.join(extra)}"
                             if extra else
                             (sim.stdout + sim.stderr).strip()[-400:]))
            return []
        return [self.apt('purge', *pkgs)]

    def restore(self, quiet=False):
        """Back to self.before: purge the packages the test installed
        (those alone: a package that was there before stays, wanted by
        anything or not, and so does one that something else installed
        meanwhile, which the check then names), remove the users, groups,
        directories and cgroups that appeared."""
        before = self.before
        now = dpkg_state()
        appeared = [n for n in now if n not in before['packages']]
        mine = before.get('test-installs')
        if mine is None:            # a state file of an older run
            mine = appeared
        new = [n for n in appeared if n in mine]
        others = [n for n in appeared if n not in mine]
        if others and not quiet:
            self.tap.note('packages that appeared but that the test did not '
                          f"install are left: {' '.join(others)}")
        # Packages that were only configuration files before go back to
        # that state (removed, not purged).
        back_to_rc = [n for n in now if n in before['packages'] and n in mine
                      and before['packages'][n][1].startswith('rc') and
                      now[n][1].startswith('ii')]
        log = []
        if new:
            ours = [n for n in new if n in OUR_PKGS]
            if ours:
                log.append(run(['dpkg', '--purge'] + ours))
            rest = [n for n in new if n not in OUR_PKGS]
            if rest:
                log += self.purge(rest)
        if back_to_rc:
            log.append(run(['dpkg', '--remove'] + back_to_rc))
        # Users and groups the packages' scripts made and kept.
        for u in sorted(set(p.pw_name for p in pwd.getpwall()) -
                        set(before['users'])):
            log.append(run(['userdel', u]))
        for g in sorted(set(x.gr_name for x in grp.getgrall()) -
                        set(before['groups'])):
            log.append(run(['groupdel', g]))
        for p in HOST_PATHS + host_dirs():
            if os.path.lexists(p) and p not in before['paths']:
                shutil.rmtree(p, ignore_errors=True)
        # The cgroups libvirt made (cgroup directories go with rmdir,
        # innermost first; one still in use stays, and is reported).
        for c in cgroup_dirs():
            if c in before['cgroups']:
                continue
            for d, _, _ in os.walk(c, topdown=False):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        after = snapshot()
        diff = differences(before, after)
        if not diff and os.path.exists(self.state_file):
            os.unlink(self.state_file)
        elif diff:
            # The next run tries again, on what is left of the test's own.
            before['test-installs'] = sorted(
                n for n in mine if n in after['packages'] and
                n not in before['packages'])
            self.save()
        if diff and not quiet:
            for r in log:
                if r.returncode:
                    self.tap.note(f"{' '.join(r.args)}: exit {r.returncode}:"
                                  f" {(r.stdout + r.stderr)[-400:]}")
        return diff


# ------------------------------------------------------------------
# libvirt's daemon
# ------------------------------------------------------------------
DAEMON_CONF = '''\
# @NAME@ of the qemu-snp libvirt test (tests/libvirt/libvirt-test.py).
# The socket is root's only, without authentication: there is no polkit
# daemon on a test machine.
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_filters = "1:qemu 1:security 1:util.cgroup 1:util.command 3:*"
log_outputs = "1:file:/var/log/libvirt/@NAME@.log"
'''

QEMU_CONF = '''\
# qemu.conf of the qemu-snp libvirt test.  Everything else is libvirt's
# default (QEMU runs as libvirt-qemu, in its own mount namespace, with
# libvirt's cgroups and DAC labels).
#
# QEMU's output goes to /var/log/libvirt/qemu/DOMAIN.log directly: the
# test starts no virtlogd.
stdio_handler = "file"
'''


class Daemon:
    """libvirt's QEMU driver in a daemon of the test's own: virtqemud
    where the packages have it, else libvirtd with the same driver
    (Debian's 11.3 in bookworm-backports ships only libvirtd)."""

    def __init__(self, root, tap):
        self.root = root
        self.tap = tap
        self.proc = None
        for name, sock in (('virtqemud', 'virtqemud-sock'),
                           ('libvirtd', 'libvirt-sock')):
            path = f"/usr/sbin/{name}"
            if os.path.exists(path):
                break
        self.name, self.path = name, path
        self.sock = os.path.join(root, 'run', sock)
        self.uri = f"qemu:///system?socket={self.sock}"

    def stop_stale(self):
        """A daemon (and its domains) left by a run that was killed."""
        pidfile = os.path.join(self.root, 'daemon.pid')
        try:
            with open(pidfile) as f:
                pid = int(f.read())
            with open(f"/proc/{pid}/cmdline", 'rb') as f:
                cmd = f.read()
        except (OSError, ValueError):
            return
        if self.path.encode() in cmd:
            self.tap.note(f"stopping {self.name} (pid {pid}) of a run that "
                          'did not finish')
            for name, qpid in self.qemu_pids().items():
                if is_qemu(qpid):
                    os.kill(qpid, signal.SIGKILL)
            os.kill(pid, signal.SIGTERM)
            for _ in range(int(wait(100))):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        os.unlink(pidfile)

    def configure(self):
        for d in ('etc', 'run', 'lib', 'cache', 'log'):
            shutil.rmtree(os.path.join(self.root, d), ignore_errors=True)
            os.makedirs(os.path.join(self.root, d))
        with open(os.path.join(self.root, 'etc', f"{self.name}.conf"),
                  'w') as f:
            f.write(DAEMON_CONF.replace('@NAME@', self.name))
        with open(os.path.join(self.root, 'etc', 'qemu.conf'), 'w') as f:
            f.write(QEMU_CONF)

    def start(self):
        if not os.path.exists(self.path):
            raise Skip('neither virtqemud nor libvirtd after installing '
                       'libvirt-daemon and libvirt-daemon-driver-qemu')
        self.errf = open(os.path.join(self.root, 'daemon.err'), 'w')
        self.proc = subprocess.Popen(
            ['unshare', '--mount', '--propagation', 'private', 'sh',
             os.path.join(HERE, 'libvirt-ns.sh'), self.root, self.path],
            stdin=subprocess.DEVNULL, stdout=self.errf, stderr=self.errf,
            start_new_session=True)
        with open(os.path.join(self.root, 'daemon.pid'), 'w') as f:
            f.write(str(self.proc.pid))
        t0 = time.monotonic()
        while time.monotonic() - t0 < wait(30):
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.sock) and \
                    self.virsh('version').returncode == 0:
                return True
            time.sleep(0.2)
        return False

    def dev_problems(self):
        """What is wrong with the /dev the daemon sees (libvirt-ns.sh):
        /dev/sev must be a character device, which libvirt mknods into
        an SEV domain's own /dev, and /dev/kvm, where the host has one,
        the host's device."""
        dev = f"/proc/{self.proc.pid}/root/dev"
        out = []
        try:
            st = os.stat(f"{dev}/sev")
            if not stat.S_ISCHR(st.st_mode):
                out.append(f"/dev/sev is not a character device "
                           f"(mode {st.st_mode:o})")
        except OSError as e:
            out.append(f"/dev/sev: {e.strerror}")
        try:
            host = os.stat('/dev/kvm')
        except OSError:
            return '; '.join(out)
        try:
            st = os.stat(f"{dev}/kvm")
            if not stat.S_ISCHR(st.st_mode) or st.st_rdev != host.st_rdev:
                out.append(f"/dev/kvm is {os.major(st.st_rdev)}:"
                           f"{os.minor(st.st_rdev)} mode {st.st_mode:o}, "
                           f"the host's {os.major(host.st_rdev)}:"
                           f"{os.minor(host.st_rdev)}")
        except OSError as e:
            out.append(f"/dev/kvm: {e.strerror}, the host has one")
        return '; '.join(out)

    def virsh(self, *args, timeout=120):
        return run(['virsh', '-c', self.uri] + list(args),
                   timeout=wait(timeout))

    def qemu_pids(self):
        """{domain: QEMU's pid} from libvirt's pid files of our domains
        (run/qemu/driver.pid is the daemon's own)."""
        pids = {}
        for name in (DOMAIN, PLAIN):
            try:
                with open(os.path.join(self.root, 'run', 'qemu',
                                       f"{name}.pid")) as fh:
                    pids[name] = int(fh.read().strip())
            except (OSError, ValueError):
                pass
        return pids

    def stop(self):
        """Every domain destroyed, the daemon stopped, nothing left."""
        if not self.proc:
            return []
        left = []
        if self.proc.poll() is None:
            r = self.virsh('list', '--all', '--name', timeout=30)
            for name in r.stdout.split():
                self.virsh('destroy', name, timeout=60)
                self.virsh('undefine', name, '--nvram', timeout=30)
        for name, pid in self.qemu_pids().items():
            if is_qemu(pid):
                left.append(f"QEMU of {name} (pid {pid})")
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=wait(20))
            except subprocess.TimeoutExpired:
                left.append(f"{self.name} (pid {self.proc.pid})")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.errf.close()
        try:
            os.unlink(os.path.join(self.root, 'daemon.pid'))
        except OSError:
            pass
        return left

    def log_tail(self, n=15):
        out = []
        for f in [os.path.join(self.root, 'daemon.err')] + \
                glob.glob(os.path.join(self.root, 'log', 'qemu', '*.log')):
            try:
                with open(f, errors='replace') as fh:
                    lines = fh.read().splitlines()[-n:]
            except OSError:
                continue
            if lines:
                out.append(f"{os.path.relpath(f, self.root)}:\n" +
                           '\n'.join(lines))
        return '\n'.join(out)


# ------------------------------------------------------------------
# The domains
# ------------------------------------------------------------------
def is_qemu(pid):
    """Is @pid (still) a QEMU process?"""
    try:
        with open(f"/proc/{pid}/cmdline", 'rb') as f:
            return b'qemu-system-x86_64' in f.read()
    except OSError:
        return False


def render(template, values):
    out = template
    for k, v in values.items():
        out = out.replace(f"@{k}@", v)
    left = re.findall(r'@[A-Z]+@', out)
    if left:
        raise ValueError(f"unfilled {left}")
    return out


def xml_escape(s):
    return (s.replace('&', '&amp;').replace('<', '&lt;')
            .replace('>', '&gt;').replace("'", '&apos;'))


def wait_console(path, word, timeout, proc_alive):
    """Until a line starting with @word is in @path; its text or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with open(path, errors='replace') as f:
                for line in f:
                    if line.startswith(word):
                        return line.strip()
        except OSError:
            pass
        if not proc_alive():
            time.sleep(0.5)
            break
        time.sleep(0.2)
    return None


def blob_locks(blob):
    """The locks /proc/locks lists on @blob's inode: [(pid, kind, type)]
    (an OFD lock shows pid -1).  Matched by inode number: the device
    /proc/locks names is the superblock's, which on some file systems
    (btrfs) is not stat()'s st_dev."""
    ino = os.stat(blob).st_ino
    out = []
    with open('/proc/locks') as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[1] == '->':
                parts = parts[:1] + parts[2:]
            try:
                if int(parts[5].split(':')[2]) != ino:
                    continue
            except (IndexError, ValueError):
                continue
            out.append((parts[4], parts[1], parts[3]))
    return out


class Test:
    def __init__(self, a, tap):
        self.a = a
        self.tap = tap
        self.work = os.path.abspath(a.workdir)
        self.findings = []          # for the last line
        self.host = self.run_dir = self.wrapper = None
        self.host_record = os.path.join(self.work, 'host-dir')
        self.vsock_noted = False

    def ok(self, good, name, diag=None):
        self.tap.ok(good, name, diag)
        return good

    # -- set-up of the simulated host --------------------------------
    def setup_host(self):
        a = self.a
        # Everything QEMU opens, in a directory of the test's own outside
        # the checkout (whose parents QEMU's user may not pass, a checkout
        # under mktemp -d or a home directory): the emulator wrapper, the
        # simulator it preloads, and host/ (the firmware's state, the
        # blob, the test guest, the scenarios, the consoles and logs).
        self.make_host_dir()
        self.run_dir = os.path.join(self.host, 'host')
        os.makedirs(self.run_dir)
        ns = argparse.Namespace(
            qemu=EMULATOR, sim=a.sim, guest=a.guest, snp_certs=a.snp_certs,
            fw_tool=a.fw_tool, data=a.data, workdir=self.run_dir,
            timeout=a.timeout)
        self.r = rs.Runner(ns, self.tap)
        if not self.r.setup() or not self.r.fwdir:
            raise RuntimeError('the simulated firmware and its blob')
        self.blob = self.r.blob
        # QEMU runs as libvirt-qemu: what it reads and writes must let it.
        self.sim = os.path.join(self.host, os.path.basename(a.sim))
        shutil.copy(a.sim, self.sim)
        os.chmod(self.sim, 0o644)
        self.loader = os.path.join(self.run_dir, 'snp-test-guest.bin')
        shutil.copy(a.guest, self.loader)
        self.simlog = os.path.join(self.run_dir, 'sim.log')
        self.pairs = os.path.join(self.run_dir, 'pairs')
        os.makedirs(self.pairs)
        open(self.simlog, 'w').close()
        # The domain's virtio disk: a small raw image.
        self.disk = os.path.join(self.run_dir, 'disk.raw')
        with open(self.disk, 'wb') as f:
            f.truncate(DISK_BYTES)
        for root, dirs, files in os.walk(self.run_dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o777)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        os.chmod(self.disk, 0o666)
        os.chmod(self.run_dir, 0o777)
        os.chmod(self.simlog, 0o666)
        # The emulator libvirt runs: the packaged QEMU with the simulator.
        # libvirt starts QEMU (and its capability probe) with a clean
        # environment, so the wrapper sets it.
        self.wrapper = os.path.join(self.host, 'qemu-system-x86_64-snp-sim')
        env = {
            'LD_PRELOAD': self.sim,
            'SNP_HOST_SIM_KERNEL': 'mainline',
            'SNP_HOST_SIM_LOG': self.simlog,
            'SNP_HOST_SIM_FW': self.r.fwdir,
            'SNP_HOST_SIM_CERTS': self.blob,
            'SNP_HOST_SIM_PAIRS': self.pairs,
        }
        with open(self.wrapper, 'w') as f:
            f.write('#!/bin/sh\n# The packaged QEMU on the simulated SNP '
                    'host (tests/libvirt/libvirt-test.py).\n')
            for k, v in env.items():
                f.write(f"export {k}='{v}'\n")
            f.write(f'exec {EMULATOR} "$@"\n')
        os.chmod(self.wrapper, 0o755)
        with open(os.path.join(HERE, 'domain.xml.in')) as f:
            self.template = f.read()

    def make_host_dir(self):
        base = host_dir_base()
        if base is None:
            raise RuntimeError(
                f"none of {', '.join(HOST_DIR_BASES)} is a directory every "
                "user can reach on a file system that allows executing: "
                "no place for the files QEMU opens")
        self.host = tempfile.mkdtemp(prefix=HOST_DIR_PREFIX, dir=base)
        with open(self.host_record, 'w') as f:
            f.write(self.host + '\n')
        os.chmod(self.host, 0o755)

    def remove_host_dir(self):
        """The run's files are copied to the work directory (host/ and the
        wrapper, as build/libvirt/ keeps them), the host directory goes."""
        if not self.host:
            return
        keep = os.path.join(self.work, 'host')
        shutil.rmtree(keep, ignore_errors=True)
        try:
            if self.run_dir:
                shutil.copytree(self.run_dir, keep, symlinks=True)
            if self.wrapper:
                shutil.copy(self.wrapper, self.work)
        except (OSError, shutil.Error) as e:
            self.tap.note(f"the run's files were not all kept in {keep}: "
                          f"{str(e)[:300]}")
        shutil.rmtree(self.host, ignore_errors=True)
        self.host = None
        remove_stale_host_dir(self.host_record)

    def sim_lines(self, start):
        with open(self.simlog, errors='replace') as f:
            f.seek(start)
            return f.read().splitlines()

    def scenario_file(self, name, scenario):
        """The guest's scenario, as a file for libvirt's fwcfg entry
        (libvirt does not escape a comma in its string= form)."""
        path = os.path.join(self.run_dir, f"{name}.scenario")
        with open(path, 'w') as f:
            f.write(scenario)
        return path

    def domain_xml(self, name, vcpus, scenario, console):
        values = {
            'NAME': name, 'VCPUS': str(vcpus), 'LOADER': self.loader,
            'SCENARIO': self.scenario_file(name, scenario),
            'EMULATOR': self.wrapper,
            'CERTS': self.blob, 'CONSOLE': console, 'DISK': self.disk,
        }
        xml = self.host_devices(render(self.template, values))
        return self.drop_certs_fragment(xml) if self.a.broken else xml

    def host_devices(self, xml):
        """The domain's vsock device needs the host's vhost-vsock (libvirt
        opens /dev/vhost-vsock for QEMU): where the host has none, the
        domain goes without it, said once."""
        if os.path.exists('/dev/vhost-vsock'):
            return xml
        if not self.vsock_noted:
            self.tap.note('no /dev/vhost-vsock on this host (module '
                          'vhost_vsock not loaded): the domains run '
                          'without their <vsock> device')
            self.vsock_noted = True
        out = re.sub(r"\s*<vsock .*?</vsock>", '', xml, flags=re.S)
        assert out != xml
        return out

    def devices_created(self, lv, name, tag):
        """Every device of the domain, created by QEMU as libvirt asked:
        its type, and the virtio ones behind the IOMMU's DMA API
        (iommu_platform, what <driver iommu='on'> gives and an SEV guest
        needs, its memory being private by default)."""
        want = [('virtio-disk0', 'virtio-blk-pci'),
                ('net0', 'virtio-net-pci'), ('rng0', 'virtio-rng-pci'),
                ('serial0', 'isa-serial')]
        if os.path.exists('/dev/vhost-vsock'):
            want.append(('vsock0', 'vhost-vsock-pci'))

        def qom_get(path, prop):
            r = lv.virsh('qemu-monitor-command', name, json.dumps(
                {'execute': 'qom-get',
                 'arguments': {'path': path, 'property': prop}}))
            try:
                return json.loads(r.stdout)['return']
            except (ValueError, KeyError):
                return f"(error: {(r.stdout + r.stderr).strip()[:200]})"
        bad, seen = [], []
        for alias, typ in want:
            path = f"/machine/peripheral/{alias}"
            got = qom_get(path, 'type')
            if got != typ:
                bad.append(f"{alias}: type {got!r}, want {typ}")
                continue
            if typ.startswith(('virtio-', 'vhost-')):
                iommu = qom_get(path + '/virtio-backend', 'iommu_platform')
                if iommu is not True:
                    bad.append(f"{alias}: iommu_platform {iommu!r}")
                    continue
            seen.append(typ)
        self.ok(not bad, f"{tag}/qemu-created-every-device",
                '\n'.join(bad))
        if not bad:
            self.tap.note(f"{name}: QEMU created {', '.join(seen)} "
                          '(virtio ones with iommu_platform=on)')
        return not bad

    @staticmethod
    def drop_certs_fragment(xml):
        out = re.sub(r"\s*<qemu:arg value='-global'/>\s*<qemu:arg "
                     r"value='sev-snp-guest\.certs-path=[^']*'/>", '', xml)
        assert out != xml
        return out

    def start(self, lv, name, xml):
        path = os.path.join(self.work, f"{name}.xml")
        with open(path, 'w') as f:
            f.write(xml)
        lv.virsh('destroy', name)
        lv.virsh('undefine', name)
        r = lv.virsh('define', path)
        if not self.ok(r.returncode == 0, f"{name}/define",
                       r.stdout + r.stderr):
            return None
        r = lv.virsh('start', name, timeout=180)
        if not self.ok(r.returncode == 0, f"{name}/virsh-start",
                       r.stdout + r.stderr + '\n' + lv.log_tail()):
            return None
        pid = lv.qemu_pids().get(name)
        return pid

    @staticmethod
    def alive(pid):
        return lambda: pid is not None and is_qemu(pid)

    def destroy(self, lv, name, pid):
        r = lv.virsh('destroy', name)
        t0 = time.monotonic()
        while pid and is_qemu(pid) and time.monotonic() - t0 < wait(10):
            time.sleep(0.1)
        gone = not pid or not is_qemu(pid)
        lv.virsh('undefine', name)
        return r.returncode == 0 and gone, r.stdout + r.stderr

    # -- 3. libvirt's probe ------------------------------------------
    def check_probe(self, lv):
        r = lv.virsh('domcapabilities', '--emulatorbin', self.wrapper,
                     '--arch', 'x86_64', '--machine', 'q35', '--virttype',
                     'kvm')
        caps = r.stdout
        m = re.search(r"<launchSecurity supported='yes'>.*?</launchSecurity>",
                      caps, re.S)
        snp = m is not None and '<value>sev-snp</value>' in m.group(0)
        self.ok(r.returncode == 0 and snp, 'probe/domcapabilities-sev-snp',
                (r.stdout + r.stderr)[-1500:] + lv.log_tail())
        # libvirt's cache of the probe: one file per emulator path, named
        # by its SHA-256 (virFileCacheGetFileName()).
        cache = os.path.join(
            lv.root, 'cache', 'qemu', 'capabilities',
            hashlib.sha256(self.wrapper.encode()).hexdigest() + '.xml')
        try:
            with open(cache) as f:
                sev = re.search(r'<sev>.*?</sev>', f.read(), re.S)
        except OSError:
            sev = None
        if not self.ok(sev is not None, 'probe/capabilities-cache-sev',
                       f"no <sev> in {cache}, libvirt's cached capabilities "
                       f"of {self.wrapper}"):
            return None
        s = sev.group(0)

        def field(n):
            mm = re.search(f'<{n}>([^<]*)</{n}>', s)
            return mm.group(1) if mm else None
        pdh = base64.b64decode(field('pdh') or '')
        chain = base64.b64decode(field('certChain') or '')
        cpu0 = base64.b64decode(field('cpu0Id') or '')
        usage = [struct.unpack_from('<I', c, 8)[0] if len(c) >= 12 else None
                 for c in (pdh, chain[:CERT_SIZE],
                           chain[CERT_SIZE:2 * CERT_SIZE],
                           chain[2 * CERT_SIZE:])]
        self.ok(len(pdh) == CERT_SIZE and len(chain) == 3 * CERT_SIZE and
                usage == [0x1003, 0x1002, 0x1001, 0x1004],
                'probe/query-sev-capabilities-certificates',
                f"pdh {len(pdh)} bytes, cert-chain {len(chain)} bytes, "
                f"usages {usage}")
        self.ok(len(cpu0) == 64 and field('reducedPhysBits') == '1' and
                field('cbitpos') is not None,
                'probe/query-sev-capabilities-platform',
                f"cpu0Id {len(cpu0)} bytes, cbitpos {field('cbitpos')}, "
                f"reducedPhysBits {field('reducedPhysBits')}")
        self.tap.note(f"libvirt's probe: cbitpos {field('cbitpos')}, "
                      f"reduced-phys-bits {field('reducedPhysBits')}, PDH "
                      f"and PEK/OCA/CEK chain, chip id {cpu0.hex()[:16]}...")
        return cpu0

    # -- 4. a plain domain: the packaged binary itself ------------------
    def check_plain(self, lv):
        console = os.path.join(self.run_dir, 'plain-console.log')
        xml = render(self.template, {
            'NAME': PLAIN, 'VCPUS': '2', 'LOADER': self.loader,
            'SCENARIO': self.scenario_file(PLAIN, 'boot'),
            'EMULATOR': EMULATOR, 'CERTS': self.blob,
            'CONSOLE': console, 'DISK': self.disk})
        xml = self.host_devices(xml)
        xml = xml.replace("<domain type='kvm'", "<domain type='qemu'")
        xml = re.sub(r"\s*<launchSecurity.*?</launchSecurity>", '', xml,
                     flags=re.S)
        xml = self.drop_certs_fragment(xml)
        pid = self.start(lv, PLAIN, xml)
        if pid is None:
            return False
        done = wait_console(console, 'DONE ', self.a.timeout,
                            self.alive(pid))
        with open(console, errors='replace') as f:
            text = f.read()
        good = self.ok(done is not None and done.endswith(' fail=0'),
                       'plain/boot-under-libvirt-tcg',
                       f"DONE line {done!r}\n{text[-800:]}\n" +
                       lv.log_tail())
        ok, out = self.destroy(lv, PLAIN, pid)
        self.ok(ok, 'plain/virsh-destroy', out)
        return good

    # -- 5. the first request ---------------------------------------
    def check_guest_lines(self, tag, console, tables_too=True):
        """PASS/FAIL as TAP; every TABLE against the blob, every REPORT
        against the TABLE before it (not while an updater changes the
        blob: the recorded pairs are checked then).  Returns (lines,
        tables, reports)."""
        with open(console, errors='replace') as f:
            lines = f.read().splitlines()
        tables = reports = 0
        for line in lines:
            word, _, rest = line.partition(' ')
            if word == 'PASS':
                self.ok(True, f"{tag}/guest/{rest}")
            elif word == 'FAIL':
                name, _, why = rest.partition(': ')
                self.ok(False, f"{tag}/guest/{name}", why)
            elif word in ('TABLE', 'REPORT') and not tables_too:
                continue
            elif word == 'TABLE':
                tables += 1
                why = self.r.check_table('mainline', rest)
                self.ok(why is None, f"{tag}/table-{tables}-is-the-blob", why)
            elif word == 'REPORT':
                reports += 1
                why = self.r.check_report(rest, self.r.last_table)
                self.ok(why is None,
                        f"{tag}/report-{reports}-verifies-against-it", why)
                self.last_report = bytes.fromhex(rest)
        return lines, tables, reports

    def first_request_xml(self):
        """The SNP domain of step 5, also kept as build/libvirt/domain.xml
        (written as soon as the host is set up, so a SKIP keeps it too)."""
        console = os.path.join(self.run_dir, 'console.log')
        xml = self.domain_xml(DOMAIN, 1,
                              f"certs:expect=certs,need={self.r.need}",
                              console)
        with open(os.path.join(self.work, 'domain.xml'), 'w') as f:
            f.write(xml)
        return xml, console

    def check_first_request(self, lv, chip_id):
        tag = 'first-request'
        need = self.r.need
        xml, console = self.first_request_xml()
        mark = os.path.getsize(self.simlog)
        self.last_report = None
        pid = self.start(lv, DOMAIN, xml)
        if pid is None:
            return False
        devices = self.devices_created(lv, DOMAIN, tag)
        done = wait_console(console, 'DONE ', self.a.timeout,
                            self.alive(pid))
        lines, tables, reports = self.check_guest_lines(tag, console)
        good = self.ok(done is not None and done.endswith(' fail=0') and
                       tables >= 1 and reports >= 1 and devices,
                       f"{tag}/guest-done",
                       f"DONE line {done!r}, {tables} tables, {reports} "
                       f"reports\n" + '\n'.join(lines[-5:]) + '\n' +
                       lv.log_tail())
        # The first request the guest made (one page) was answered from
        # the blob: INVALID_LEN with the blob's page count, not the empty
        # table a guest gets before the file is given.
        first = next((ln for ln in lines if ln.startswith(
            ('PASS too-small-required-pages', 'FAIL too-small',
             'FAIL one-page'))), None)
        self.ok(first == 'PASS too-small-required-pages',
                f"{tag}/first-request-answered-from-the-blob",
                f"first answer: {first!r} (the blob needs {need} pages)")
        sim = self.sim_lines(mark)
        exits = [ln for ln in sim if ' exit ' in ln and 'req-certs' in ln]
        bad = [ln for ln in sim if re.match(
            r'\S+ \S+ (lock-violation|ret-invalid|ret-poisoned|error|'
            r'kvm-answered) ', ln)]
        self.ok(exits and not bad, f"{tag}/sim-log",
                f"{len(exits)} certificate exits; " + '\n'.join(bad[:5]))
        if chip_id is not None and self.last_report:
            got = self.last_report[REPORT_CHIP_ID:REPORT_CHIP_ID + 64]
            self.ok(got == chip_id, f"{tag}/report-chip-id-is-the-probed-one",
                    f"report {got.hex()[:16]}..., libvirt's probe "
                    f"{chip_id.hex()[:16]}...")
        # What QEMU says, through libvirt.
        r = lv.virsh('qemu-monitor-command', DOMAIN,
                     '{"execute": "query-sev-snp-certs"}')
        try:
            info = json.loads(r.stdout)['return']
        except (ValueError, KeyError):
            info = {}
        with open(self.blob, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        st = info.get('stats', {})
        self.ok(info.get('id') == 'lsec0' and
                info.get('certs-path') == self.blob and
                info.get('blob', {}).get('sha256') == digest and
                info.get('abi') == 'req-certs' and
                st.get('served', 0) >= 1 and st.get('too-small', 0) >= 1,
                f"{tag}/query-sev-snp-certs-through-virsh",
                r.stdout + r.stderr)
        if info:
            self.tap.note(f"query-sev-snp-certs: id {info.get('id')}, "
                          f"certs-path {info.get('certs-path')}, abi "
                          f"{info.get('abi')} ({info.get('abi-source')}), "
                          f"requests {st.get('requests')}, served "
                          f"{st.get('served')}, too-small "
                          f"{st.get('too-small')}, errors {st.get('errors')}")
        ok, out = self.destroy(lv, DOMAIN, pid)
        self.ok(ok, f"{tag}/virsh-destroy", out)
        locks = blob_locks(self.blob)
        self.ok(not locks, f"{tag}/no-lock-left", str(locks))
        return good

    # -- 6. attestation under rotations --------------------------------
    def check_attest(self, lv):
        tag = 'attest'
        a = self.a
        console = os.path.join(self.run_dir, 'attest-console.log')
        for f in glob.glob(os.path.join(self.pairs, '*')):
            os.unlink(f)
        xml = self.domain_xml(DOMAIN, 4, f"attest:{a.seconds}", console)
        mark = os.path.getsize(self.simlog)
        rotator = argparse.Namespace(snp_certs=a.snp_certs,
                                     fw_tool=a.fw_tool, data=a.data)
        up = ar.Updater(rotator, self.r.fwdir, self.blob, self.run_dir,
                        a.seconds / (a.min_rotations + 1.5), a.naive)
        pid = self.start(lv, DOMAIN, xml)
        if pid is None:
            return None
        up.start()
        done = wait_console(console, 'DONE ', a.seconds + a.timeout,
                            self.alive(pid))
        up.stop.set()
        up.join()
        lines, _, _ = self.check_guest_lines(tag, console, False)
        for ln in lines:
            if ln.startswith('INFO attest cpu'):
                self.tap.note(ln[5:])
        self.ok(done is not None and done.endswith(' fail=0'),
                f"{tag}/guest-done", f"DONE line {done!r}\n" +
                '\n'.join(lines[-5:]) + '\n' + lv.log_tail())
        self.ok(not up.errors and up.rotations >= a.min_rotations,
                f"{tag}/updater-rotated-under-snp-certs-lock",
                f"{up.rotations} rotations (want {a.min_rotations}); " +
                '\n'.join(up.errors[:3]))
        ok, out = self.destroy(lv, DOMAIN, pid)
        self.ok(ok, f"{tag}/virsh-destroy", out)
        for f in os.listdir(self.pairs):
            if f.endswith('.tmp'):
                os.unlink(os.path.join(self.pairs, f))
        n = len([f for f in os.listdir(self.pairs) if f.endswith('.report')])
        r = run([a.fw_tool, 'verify-pairs', '--quiet', self.pairs])
        # snp-sim-fw verify-pairs' last line, as attest-race.py reads it.
        m = re.search(r'^pairs (\d+) matching (\d+) chainless (\d+) '
                      r'mismatched (\d+)$', r.stdout, re.M)
        bad = int(m.group(4)) if m else None
        chainless = int(m.group(3)) if m else None
        violations = sum(1 for ln in self.sim_lines(mark)
                         if ' lock-violation ' in ln)
        self.ok(m is not None and n > 0 and int(m.group(1)) == n and
                bad == 0 and violations == 0,
                f"{tag}/no-mismatched-pair",
                f"{n} pairs, verify-pairs: {r.stdout.strip()} "
                f"{r.stderr.strip()}; {violations} lock violations at "
                'signing')
        self.tap.note(f"attest: {n} pairs ({chainless} chain-less), "
                      f"{up.rotations} rotations, {bad} mismatched, "
                      f"{violations} lock violations")
        return n, up.rotations, bad

    # -- 7. destroy under load -----------------------------------------
    def check_destroy_under_load(self, lv):
        tag = 'destroy-under-load'
        console = os.path.join(self.run_dir, 'load-console.log')
        xml = self.domain_xml(DOMAIN, 4, 'attest:600', console)
        mark = os.path.getsize(self.simlog)
        pid = self.start(lv, DOMAIN, xml)
        if pid is None:
            return False
        # Under load: the firmware signs, and QEMU's shared locks (OFD and
        # flock; nobody else locks the blob now) show in /proc/locks.
        reports = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.a.timeout and self.alive(pid)():
            reports = sum(1 for ln in self.sim_lines(mark)
                          if ' fw-report ' in ln)
            if reports >= 20:
                break
            time.sleep(0.2)
        seen = []
        t0 = time.monotonic()
        while not seen and time.monotonic() - t0 < wait(5) and \
                self.alive(pid)():
            seen = blob_locks(self.blob)
        self.ok(reports >= 20 and seen,
                f"{tag}/qemu-holds-shared-locks-under-load",
                f"{reports} reports signed; locks seen: {seen}")
        ok, out = self.destroy(lv, DOMAIN, pid)
        self.ok(ok, f"{tag}/virsh-destroy-qemu-gone", out)
        locks = blob_locks(self.blob)
        self.ok(not locks, f"{tag}/no-lock-left-on-the-blob", str(locks))
        r = run([self.a.snp_certs, 'lock', '--timeout', '0', self.blob,
                 '--', 'true'])
        self.ok(r.returncode == 0, f"{tag}/exclusive-lock-free-at-once",
                r.stdout + r.stderr)
        return ok and not locks and r.returncode == 0


def download_only(apt_dir):
    """--download-only: step 1's packages into @apt_dir, for a machine
    like this one (the same packages installed) without network."""
    if os.geteuid() != 0:
        print('libvirt-check: --download-only needs root (apt-get)')
        return 1
    machine = Machine(None, Tap(), apt_dir)
    try:
        want, plan = machine.download_libvirt()
    except (Skip, RuntimeError) as e:
        print(f"libvirt-check: cannot fetch libvirt's packages: {e}")
        return 1
    print(f"libvirt-check: {len(plan)} packages for apt-get install "
          f"{' '.join(want)} are in {apt_dir}: {' '.join(sorted(plan))}")
    return 0


def main():
    b = os.path.join(TOP, 'build')
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--debs', default=f'{b}/deb')
    ap.add_argument('--sim', default=f'{b}/snp-host/libsnp-host-sim.so')
    ap.add_argument('--guest', default=f'{b}/snp-host/snp-test-guest.bin')
    ap.add_argument('--snp-certs', default=f'{b}/bin/snp-certs')
    ap.add_argument('--fw-tool', default=f'{b}/snp-host/snp-sim-fw')
    ap.add_argument('--data', default=os.path.join(TOP, 'tests', 'data'))
    ap.add_argument('--workdir', default=f'{b}/libvirt')
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--min-rotations', type=int, default=3)
    ap.add_argument('--timeout', type=int, default=180)
    ap.add_argument('--apt-archives',
                    help="apt's archive directory, where the packages of "
                    'step 1 are kept (default: WORKDIR/apt-archives)')
    ap.add_argument('--download-only', action='store_true',
                    help='fetch the packages step 1 would install into '
                    '--apt-archives; install nothing, run nothing else')
    ap.add_argument('--offline', action='store_true',
                    help='install from --apt-archives alone, never '
                    'download')
    ap.add_argument('--slow', type=float, default=1.0,
                    help="multiply the fixed waits (the daemon's start, "
                    "virsh, QEMU's exit) by this factor")
    ap.add_argument('--broken', action='store_true',
                    help='leave out the certificate fragment')
    ap.add_argument('--naive', action='store_true',
                    help='rotate without snp-certs lock')
    a = ap.parse_args()
    for k in ('sim', 'guest', 'snp_certs', 'fw_tool', 'data', 'debs'):
        setattr(a, k, os.path.abspath(getattr(a, k)))
    global SLOW
    SLOW = max(a.slow, 1.0)
    apt_dir = os.path.abspath(a.apt_archives or
                              os.path.join(a.workdir, 'apt-archives'))
    if a.download_only:
        return download_only(apt_dir)

    # Killed (make check's timeout, ^C): still stop what was started and
    # restore the machine.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    tap = Tap()
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)

    def skip(why, shown=''):
        print(f"SKIP: libvirt-check: {why}", flush=True)
        tap.plan()
        print(f"libvirt-check: SKIP ({why}){shown}")
        return 0

    # The operators' page shows the domain this test defines, verbatim.
    with open(os.path.join(HERE, 'domain.xml.in')) as f:
        block = '\n'.join(('    ' + ln) if ln else ''
                          for ln in f.read().rstrip('\n').split('\n'))
    with open(os.path.join(TOP, OPERATORS_DOC)) as f:
        tap.ok(block in f.read(), 'docs/operators-page-shows-the-domain',
               f"{OPERATORS_DOC} does not show tests/libvirt/domain.xml.in "
               'verbatim (indented by 4 spaces)')

    if os.geteuid() != 0:
        return skip('needs root: it installs and removes packages and '
                    "starts libvirt's daemon")
    debs = sorted(glob.glob(os.path.join(a.debs, '*.deb')))
    names = sorted(os.path.basename(d).split('_')[0] for d in debs)
    if names != sorted(OUR_PKGS):
        tap.ok(False, 'setup/debs', f"{a.debs}: {names}, run make deb")
        tap.plan()
        return 1
    for p in (a.sim, a.guest, a.snp_certs, a.fw_tool):
        if not os.path.exists(p):
            tap.ok(False, 'setup/build-products', f"missing {p}")
            tap.plan()
            return 1
    for tool in ('unshare', 'apt-get', 'dpkg'):
        if not shutil.which(tool):
            return skip(f"no {tool}")

    # One run at a time on a machine (from any worktree): packages are
    # global.  The lock is on the /run/lock directory itself, so that no
    # lock file is left behind.
    lock = os.open('/run/lock', os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        tap.note('another libvirt-check runs on this machine: waiting')
        fcntl.flock(lock, fcntl.LOCK_EX)
    machine = Machine(os.path.join(work, 'installed.json'), tap, apt_dir,
                      a.offline)
    lv = Daemon(os.path.join(work, 'root'), tap)
    t = Test(a, tap)
    shown = []
    skipped = None
    results = {}
    t_start = time.monotonic()
    try:
        lv.stop_stale()
        remove_stale_host_dir(t.host_record)
        machine.begin()
        # 1. libvirt, Debian's QEMU with it, and our packages next to it.
        try:
            new = machine.install_libvirt()
        except Skip as e:
            skipped = str(e)
            raise
        debian_qemu = [p for p in DEBIAN_QEMU_PKGS if p in dpkg_state()]
        machine.installing([n for n in OUR_PKGS
                            if n not in machine.before['packages']])
        r = run(['dpkg', '-i'] + debs)
        if not tap.ok(r.returncode == 0, 'package/dpkg-i-next-to-debian-qemu',
                      r.stdout + r.stderr):
            raise Abort()
        ours = run(['dpkg', '-L'] + OUR_PKGS).stdout.split('\n')
        theirs = run(['dpkg', '-L'] + debian_qemu).stdout.split('\n')
        shared = sorted(f for f in set(ours) & set(theirs)
                        if f and not os.path.isdir(f))
        tap.ok(debian_qemu and not shared,
               'package/no-file-of-debian-qemu-replaced',
               f"Debian QEMU packages {debian_qemu}; shared files {shared}")
        deps = run(['dpkg-query', '-W', '-f', '${Depends}',
                    'qemu-system-x86-snp']).stdout
        tap.ok('libssl' not in deps and 'libcrypto' not in deps,
               'package/qemu-links-no-openssl',
               f"qemu-system-x86-snp Depends: {deps} (GPL-2.0-only QEMU "
               'must not link OpenSSL)')
        vq = run(['dpkg-query', '-W', '-f', '${Version}', 'qemu-system-x86'])
        vl = run(['dpkg-query', '-W', '-f', '${Version}',
                  'libvirt-daemon-driver-qemu'])
        r = run([EMULATOR, '--version'])
        tap.ok(r.returncode == 0 and 'qemu-snp' in r.stdout,
               'package/qemu-system-x86_64-snp-runs', r.stdout + r.stderr)
        tap.note(f"installed: libvirt {vl.stdout}, Debian QEMU "
                 f"{vq.stdout}, {os.path.basename(debs[0])}, "
                 f"{os.path.basename(debs[1])}")
        shown.append(f"package next to Debian's QEMU {vq.stdout}")

        # 2. libvirt's daemon, of our own.
        t.setup_host()
        t.first_request_xml()
        lv.configure()
        if not lv.start():
            skipped = (f"{lv.name} did not start:\n" + lv.log_tail())
            raise Skip(skipped)
        tap.ok(True, f"{lv.name}/started-with-its-own-socket")
        why = lv.dev_problems()
        tap.ok(not why, f"{lv.name}/dev-has-sev-node-and-hosts-kvm", why)
        r = lv.virsh('version')
        tap.note(r.stdout.strip().replace('\n', '; '))

        # 4. the plain domain (needs no KVM).
        results['plain'] = t.check_plain(lv)

        # 3, 5, 6, 7: the SNP host needs KVM underneath.
        why = rs.kvm_usable()
        if why:
            skipped = (f"{why}: the SNP host simulator runs over /dev/kvm; "
                       "libvirt's SEV probe and the SNP domain were not run")
            raise Skip(skipped)
        chip = t.check_probe(lv)
        results['first'] = t.check_first_request(lv, chip)
        results['attest'] = t.check_attest(lv)
        results['destroy'] = t.check_destroy_under_load(lv)
    except (Skip, Abort):
        pass
    except Exception as e:          # report, then restore the machine
        tap.ok(False, 'libvirt-check/unexpected-error', repr(e))
    finally:
        left = lv.stop()
        tap.ok(not left, 'teardown/nothing-left-running', ', '.join(left))
        t.remove_host_dir()
        diff = machine.restore()
        tap.ok(not diff, 'teardown/machine-as-it-was', '\n'.join(diff))
        tap.note(f"{time.monotonic() - t_start:.0f} s in all")

    tap.plan()
    if results.get('plain'):
        shown.append('libvirt runs it (plain domain, TCG)')
    if results.get('first'):
        shown.append("<launchSecurity type='sev-snp'> + -global "
                     'certs-path: first request answered from the blob, '
                     'tables byte for byte, reports verified')
    att = results.get('attest')
    if att:
        shown.append(f"{att[0]} pairs under {att[1]} key rotations, "
                     f"{att[2]} mismatched")
    if results.get('destroy'):
        shown.append('virsh destroy under load released every lock')
    if not tap.failed:
        shown.append('machine restored')
    summary = '; '.join(shown) or 'nothing'
    if skipped:
        print(f"SKIP: libvirt-check: {skipped.splitlines()[0]}", flush=True)
        print(f"libvirt-check: SKIP ({skipped.splitlines()[0]}); shown: "
              f"{summary}; {tap.failed} failed")
    else:
        print(f"libvirt-check: {summary}; {tap.n - tap.failed} passed, "
              f"{tap.failed} failed")
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
