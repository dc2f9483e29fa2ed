# qemu-snp: the userspace half of AMD SEV-SNP certificate requests,
# as an overlay on QEMU 10.0.  See README.md.

.PHONY: all setup qemu snp check demo clean

all: qemu snp

setup:
	sh scripts/setup-deps.sh

qemu: setup
	sh scripts/build-qemu.sh

snp: setup
	sh scripts/build-snp.sh

check: all
	sh scripts/check.sh

demo: all
	sh scripts/demo.sh

clean:
	rm -rf build
