# qemu-snp: the minimal x86_64 device set (used with --without-default-devices)
CONFIG_Q35=y
CONFIG_I440FX=y
CONFIG_SEV=y
CONFIG_SGX=n
CONFIG_HYPERV=n
CONFIG_ISA_DEBUG=y
