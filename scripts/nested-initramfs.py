#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Copyright (c) 2026 The qemu-snp authors
#
# The initramfs of scripts/nested-kvm.sh's L1 guest: a static busybox,
# the kernel modules it needs (with every module they depend on, found
# in the modules' own .modinfo, decompressed so that busybox's insmod
# takes them, in load order) and an init script.
#
# Usage: nested-initramfs.py MODDIR BUSYBOX INIT OUT MODULE...
#   MODDIR   lib/modules/VERSION of the unpacked kernel package
#   BUSYBOX  a static busybox binary
#   INIT     the script that becomes /init
#   OUT      the initramfs written (newc cpio, uncompressed)
#   MODULE   module names (kvm-amd, 9p, ...): they and their dependencies
#            are put in /lib/modules and listed, in load order, in
#            /modules.list

import lzma
import os
import stat
import sys


def modinfo_depends(data):
    """The depends= field of a module's .modinfo, as a list of names."""
    key = b'\0depends='
    i = data.find(key)
    if i < 0:
        return []
    start = i + len(key)
    val = data[start:data.index(b'\0', start)].decode()
    return [d for d in val.split(',') if d]


def norm(name):
    return name.replace('-', '_')


def index_modules(moddir):
    found = {}
    for root, _dirs, files in os.walk(moddir):
        for f in files:
            for ext in ('.ko.xz', '.ko'):
                if f.endswith(ext):
                    found[norm(f[:-len(ext)])] = os.path.join(root, f)
    return found


def load(path):
    with open(path, 'rb') as fp:
        data = fp.read()
    if path.endswith('.xz'):
        data = lzma.decompress(data)
    return data


def closure(index, wanted):
    order, seen, blobs = [], set(), {}

    def visit(name, chain):
        name = norm(name)
        if name in seen:
            return
        if name in chain:
            sys.exit(f"nested-initramfs: dependency loop at {name}")
        if name not in index:
            sys.exit(f"nested-initramfs: no module {name} in the package")
        data = load(index[name])
        for dep in modinfo_depends(data):
            visit(dep, chain | {name})
        seen.add(name)
        order.append(name)
        blobs[name] = data

    for w in wanted:
        visit(w, frozenset())
    return order, blobs


class Cpio:
    """A newc cpio archive, what the kernel unpacks as an initramfs."""

    def __init__(self, fp):
        self.fp = fp
        self.ino = 1

    def _entry(self, name, mode, data=b'', nlink=1):
        name_b = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08X' % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0,
            len(name_b), 0))
        self.ino += 1
        out = hdr.encode() + name_b
        out += b'\0' * (-len(out) % 4)
        out += data
        out += b'\0' * (-len(out) % 4)
        self.fp.write(out)

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def trailer(self):
        self._entry('TRAILER!!!', 0)


def main():
    if len(sys.argv) < 6:
        sys.exit("usage: nested-initramfs.py MODDIR BUSYBOX INIT OUT "
                 "MODULE...")
    moddir, busybox, init, out = sys.argv[1:5]
    order, blobs = closure(index_modules(moddir), sys.argv[5:])
    tmp = out + '.tmp'
    with open(tmp, 'wb') as fp:
        c = Cpio(fp)
        for d in ('bin', 'dev', 'proc', 'sys', 'newroot', 'lib',
                  'lib/modules'):
            c.dir(d)
        with open(busybox, 'rb') as b:
            c.file('bin/busybox', b.read(), 0o755)
        c.symlink('bin/sh', 'busybox')
        with open(init, 'rb') as i:
            c.file('init', i.read(), 0o755)
        for name in order:
            c.file(f'lib/modules/{name}.ko', blobs[name])
        c.file('modules.list', ''.join(f'{n}\n' for n in order).encode())
        c.trailer()
    os.replace(tmp, out)
    print(f"nested-initramfs: {out}: modules {' '.join(order)}")


if __name__ == '__main__':
    main()
