/*
 * The test guest's library: port I/O, the debug console, fw_cfg, the
 * simulator's doorbell, checks, and SMP start-up.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define PAGE_SIZE           4096UL
#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))

/* Port I/O. */
static inline void outb(uint16_t port, uint8_t v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outsb(uint16_t port, const void *buf, size_t len)
{
    asm volatile("rep outsb" : "+S"(buf), "+c"(len) : "d"(port) : "memory");
}

static inline void insb(uint16_t port, void *buf, size_t len)
{
    asm volatile("rep insb" : "+D"(buf), "+c"(len) : "d"(port) : "memory");
}

static inline void cpu_relax(void)
{
    asm volatile("pause" : : : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint32_t apic_id(void)
{
    uint32_t a = 1, b, c = 0, d;

    asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return b >> 24;
}

/* Freestanding string functions (lib.c); gcc may call the first three. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
bool mem_is(const void *p, uint8_t c, size_t n);

/* Spin lock. */
typedef struct {
    uint32_t v;
} spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/*
 * The debug console (isa-debugcon, port 0xe9).  say() prints one line
 * (the newline is added) atomically with respect to other vCPUs.
 */
#define DEBUGCON_PORT       0xe9
#define DEBUG_EXIT_PORT     0xf4
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "TAG <hex of buf>" as one line. */
void say_hex(const char *tag, const void *buf, size_t len);

/* Checks: PASS/FAIL lines and their counts. */
void pass(const char *name);
void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool check(bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "DONE pass=N fail=M", then isa-debug-exit.  Never returns. */
void __attribute__((noreturn)) finish(void);
void __attribute__((noreturn)) halt_forever(void);

/* Exceptions: an IDT whose handlers report and end the run. */
void idt_load(void);

/* fw_cfg (I/O port interface). */
bool fwcfg_present(void);
bool fwcfg_find(const char *name, uint16_t *select, uint32_t *size);
void fwcfg_read(uint16_t select, void *buf, size_t len);
uint16_t fwcfg_cpu_count(void);

/*
 * The simulator's doorbell (snp-host-abi.h): RBX, RCX, RDI, RSI in;
 * RAX, RBX, RCX out.
 */
typedef struct {
    uint64_t rax, rbx, rcx, rdi, rsi;
} sim_regs;
void sim_call(uint32_t op, sim_regs *r);
bool sim_present(void);
uint64_t sim_time_ms(void);

/* A busy wait. */
void delay_ms(uint64_t ms);

/* SMP: start every AP at ap_entry(cpu). */
int smp_start(void (*ap_entry)(uint32_t cpu), uint32_t ncpus);
void ap_main(uint32_t cpu);

/* From entry.S and the linker script. */
extern const char tramp_start[], tramp_end[];
extern const uint64_t exc_stubs[32];
extern char bss_start[], bss_end[];
void exception(uint64_t *frame);
void guest_main(void);

#endif /* GUEST_H */
