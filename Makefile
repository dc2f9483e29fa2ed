# qemu-snp: the userspace half of AMD SEV-SNP certificate requests,
# as an overlay on Debian's QEMU source packages.  See README.md.

.PHONY: all setup qemu snp check demo bench stress fuzz clean attest-race \
	deb libvirt-check nested-check nested-libvirt-check

all: qemu snp

setup:
	sh scripts/setup-deps.sh

# Every QEMU line of subprojects/packagefiles/qemu-lines (or only
# QEMU_LINES="10.0 ..."): build/bin/qemu-system-x86_64-LINE, and
# build/bin/qemu-system-x86_64 for the default line.
qemu: setup
	sh scripts/build-qemu.sh $(QEMU_LINES)

snp: setup
	sh scripts/build-snp.sh

check: all
	sh scripts/check.sh

demo: all
	sh scripts/demo.sh

# Figures and ratios, never pass/fail (docs/devel/performance.rst).
# The conversion rows compare with the default QEMU line built without
# our patches (scripts/build-upstream-qemu.sh, once, under build/).
bench: all
	build/snp/tests/bench/bench-snp --seconds 1 | tee build/bench.txt
	up=$$(sh scripts/build-upstream-qemu.sh | tail -n 1) && \
	    python3 tests/bench/convert-bench.py --upstream "$$up" | \
	    tee -a build/bench.txt

# The lock-race stress, longer than make check's short form.
stress: snp
	build/snp/tests/stress/stress-certs --seconds 20 --threads 8

# The promise end to end: guests on 4 vCPUs request reports with
# certificates flat out while an updater rotates the (simulated) firmware's
# VCEK under snp-certs lock, on both ABIs; every pair must verify.
# NAIVE=1: the same updater without the lock, which must show mismatches.
# ATTEST_SECONDS (default 20) per ABI.
attest-race: all
	python3 tests/snp-host/attest-race.py --seconds $${ATTEST_SECONDS:-20} \
	    $(if $(NAIVE),--naive)

# Each fuzzer for FUZZ_SECONDS (default 300).
fuzz: snp
	sh scripts/fuzz.sh $${FUZZ_SECONDS:-300}

# Debian binary packages of the built tree, with dpkg-buildpackage and
# debhelper (packaging/debian/): build/deb/qemu-system-x86-snp_*.deb
# (the QEMU binaries under their -snp names) and build/deb/snp-certs_*.deb;
# lintian's findings in build/deb/lintian.txt.  docs/devel/packaging.rst.
deb: all
	sh scripts/build-deb.sh

# The operators' stack for real (root; installs and removes packages):
# the package from make deb next to Debian's QEMU, Debian's libvirt from
# bookworm-backports, a virtqemud of the test's own, a domain with
# <launchSecurity type='sev-snp'> on the simulated SNP host; the machine
# is left as it was.  Keeps the domain XML in build/libvirt/domain.xml.
libvirt-check: all
	sh scripts/libvirt-check.sh

# The patch series for QEMU's maintainers, for every QEMU line:
# build/patches/qemu-LINE/NNNN-*.patch against that line's Debian source
# (docs/devel/upstreaming.rst).  make patches-build applies the default
# line's (or QEMU_LINES') to the pristine release with git am, runs
# QEMU's ordinary configure with the documentation on, builds it and
# QEMU's docs, then runs its qtests (BISECT=1: every step built too);
# make check does both.
.PHONY: patches patches-build
patches: setup
	for line in $$(sh scripts/qemu-lines.sh); do \
	    sh scripts/make-patches.sh $$line || exit 1; \
	done

patches-build: patches
	sh scripts/build-patches.sh $(QEMU_LINES)

# Every KVM part of make check, inside an L1 Linux under TCG that has a
# (nested) /dev/kvm: for machines without one (docs/devel/snp-host-sim.rst,
# "Without /dev/kvm").  Two beds, one after the other: the KVM parts in
# an L1 whose root is this machine's, read-only; then the libvirt test
# with its SNP half (nested-libvirt-check), in an L1 of its own whose
# root it may install packages in.  About 15 and 8 minutes on 2 cores;
# not part of make check.
nested-check: all
	st=0; \
	sh scripts/nested-kvm.sh sh scripts/nested-check.sh || st=1; \
	sh scripts/nested-libvirt.sh || st=1; \
	exit $$st

# make libvirt-check's SNP half where there is no /dev/kvm: the whole
# libvirt test inside the nested L1 (root; fetches libvirt's packages
# into build/nested-libvirt/archives, installs nothing on this machine).
nested-libvirt-check: all
	sh scripts/nested-libvirt.sh

# QEMU's own test suite (meson test --suite unit --suite qtest-x86_64)
# on our build of each QEMU line given (QEMU_LINES, default the default
# line) and on the same line built the same way without our patches
# (scripts/build-upstream-qemu.sh): every test that passes without our
# patches must pass with them; results in build/qemu-testsuite/LINE/.
# Builds QEMU's tools and tests in both build trees: about 3700 CPU
# seconds for 10.2 on top of make qemu (100 minutes on 2 busy cores);
# not part of make check (docs/devel/packaging.rst).
# make qemu-features: the built binaries' devices, network back-ends,
# accelerators, machines and seccomp next to Debian's binary of the line.
.PHONY: qemu-testsuite qemu-features
qemu-testsuite: qemu
	sh scripts/qemu-testsuite.sh $(QEMU_LINES)

qemu-features: qemu
	sh scripts/check-qemu-features.sh $(QEMU_LINES)

clean:
	rm -rf build

# make install [PREFIX=/usr/local] [DESTDIR=]: snp-certs, its man page
# (rendered by Debian's rst2man) and the patched QEMU binaries under
# names of their own, qemu-system-x86_64-snp*, so that a distribution
# QEMU is never overwritten.  The QEMU binaries look for firmware in
# Debian's seabios and ipxe-qemu directories (their built-in firmware
# path).  install-files installs what is built, without building.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
RST2MAN ?= /usr/bin/rst2man
SNP_CERTS_BIN ?= build/bin/snp-certs
QEMU_BINS ?= $(wildcard build/bin/qemu-system-x86_64*)

.PHONY: install install-files
install: all
	$(MAKE) install-files

install-files:
	@test -x "$(SNP_CERTS_BIN)" || \
	    { echo "make install: $(SNP_CERTS_BIN) is not built (run make)" >&2; exit 1; }
	@test -n "$(QEMU_BINS)" || \
	    { echo "make install: no build/bin/qemu-system-x86_64* (run make)" >&2; exit 1; }
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	install -m 0755 "$(SNP_CERTS_BIN)" "$(DESTDIR)$(BINDIR)/snp-certs"
	for q in $(QEMU_BINS); do \
	    n=$$(basename "$$q"); \
	    install -m 0755 "$$q" \
	        "$(DESTDIR)$(BINDIR)/qemu-system-x86_64-snp$${n#qemu-system-x86_64}" || exit 1; \
	done
	$(RST2MAN) --exit-status=2 docs/tools/snp-certs.rst > "$(DESTDIR)$(MANDIR)/man1/snp-certs.1"
	gzip -9nf "$(DESTDIR)$(MANDIR)/man1/snp-certs.1"
