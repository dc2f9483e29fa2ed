# qemu-snp: the userspace half of AMD SEV-SNP certificate requests,
# as an overlay on QEMU 10.0.  See README.md.

.PHONY: all setup qemu snp check demo bench stress fuzz clean

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

# Figures and ratios, never pass/fail (docs/devel/performance.rst).
bench: snp
	build/snp/tests/bench/bench-snp --seconds 1 | tee build/bench.txt

# The lock-race stress, longer than make check's short form.
stress: snp
	build/snp/tests/stress/stress-certs --seconds 20 --threads 8

# Each fuzzer for FUZZ_SECONDS (default 300).
fuzz: snp
	sh scripts/fuzz.sh $${FUZZ_SECONDS:-300}

clean:
	rm -rf build
