/*
 * The test guest's library: strings, formatting, the debug console,
 * checks, exceptions, fw_cfg, the simulator's doorbell, SMP start-up.
 *
 * Copyright (c) 2026 The qemu-snp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "guest.h"
#include "snp-host-abi.h"

/*
 * This host's KVM executes the guest's supervisor code in its instruction
 * emulator, about a microsecond an instruction: the string functions use
 * one string instruction, 8 bytes an iteration where they can.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;

    if (!(((uintptr_t)dst | (uintptr_t)src | n) & 7)) {
        n /= 8;
        asm volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    } else {
        asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;

    if (!(((uintptr_t)dst | n) & 7)) {
        uint64_t v = (uint8_t)c * 0x0101010101010101ULL;

        n /= 8;
        asm volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
    } else {
        asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    if (!(((uintptr_t)a | (uintptr_t)b | n) & 7) && n) {
        const void *p = a, *q = b;
        size_t left = n / 8;

        bool ne;

        /* Find the first differing quadword, then its first byte. */
        asm volatile("repe cmpsq; setne %0"
                     : "=qm"(ne), "+S"(p), "+D"(q), "+c"(left)
                     : : "memory", "cc");
        if (!ne) {
            return 0;
        }
        x = (const uint8_t *)p - 8;
        y = (const uint8_t *)q - 8;
        n = 8;
    }
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return (uint8_t)a[i] < (uint8_t)b[i] ? -1 : 1;
        }
        if (!a[i]) {
            break;
        }
    }
    return 0;
}

bool mem_is(const void *p, uint8_t c, size_t n)
{
    const uint8_t *b = p;

    if (!(((uintptr_t)p | n) & 7) && n) {
        uint64_t v = c * 0x0101010101010101ULL;
        size_t left = n / 8;
        bool ne;

        asm volatile("repe scasq; setne %0"
                     : "=qm"(ne), "+D"(p), "+c"(left) : "a"(v) : "cc");
        return !ne;
    }
    for (size_t i = 0; i < n; i++) {
        if (b[i] != c) {
            return false;
        }
    }
    return true;
}

void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&l->v, __ATOMIC_RELAXED)) {
            cpu_relax();
        }
    }
}

void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* Formatting: %s %c %d %i %u %x %p, flags '0' '-', width, l ll z. */
typedef struct {
    char *buf;
    size_t size, len;
} outbuf;

static void put(outbuf *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void put_num(outbuf *o, uint64_t v, unsigned base, bool neg,
                    int width, bool zero, bool left)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg) {
        if (zero) {
            put(o, '-');
        } else {
            tmp[n++] = '-';
        }
        width--;
    }
    if (!left) {
        for (int i = n; i < width; i++) {
            put(o, zero ? '0' : ' ');
        }
    }
    while (n) {
        put(o, tmp[--n]);
    }
    if (left) {
        for (int i = n; i < width; i++) {
            put(o, ' ');
        }
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    outbuf o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        bool zero = false, left = false, alt = false;
        int width = 0, lng = 0;
        uint64_t u;
        int64_t s;

        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '0') {
                zero = true;
            } else if (*fmt == '-') {
                left = true;
            } else if (*fmt == '#') {
                alt = true;
            } else {
                break;
            }
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            size_t n;

            str = str ? str : "(null)";
            n = strlen(str);
            for (int i = (int)n; !left && i < width; i++) {
                put(&o, ' ');
            }
            for (size_t i = 0; i < n; i++) {
                put(&o, str[i]);
            }
            for (int i = (int)n; left && i < width; i++) {
                put(&o, ' ');
            }
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 'd':
        case 'i':
            s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(&o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10, s < 0,
                    width, zero, left);
            break;
        case 'u':
        case 'x':
            u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            if (alt && *fmt == 'x') {
                put(&o, '0');
                put(&o, 'x');
            }
            put_num(&o, u, *fmt == 'u' ? 10 : 16, false, width, zero, left);
            break;
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width,
                    zero, left);
            break;
        case '%':
            put(&o, '%');
            break;
        default:
            put(&o, '?');
            if (!*fmt) {
                fmt--;
            }
            break;
        }
    }
    if (size) {
        buf[o.len < size ? o.len : size - 1] = 0;
    }
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* The console: one line at a time, whole lines with rep outsb. */
static spinlock_t con_lock;

static void vsay(const char *fmt, va_list ap)
{
    char line[512];
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);

    if (n > (int)sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    spin_lock(&con_lock);
    outsb(DEBUGCON_PORT, line, n);
    spin_unlock(&con_lock);
}

void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

void say_hex(const char *tag, const void *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *b = buf;
    uint16_t chunk[1024];

    spin_lock(&con_lock);
    outsb(DEBUGCON_PORT, tag, strlen(tag));
    outsb(DEBUGCON_PORT, " ", 1);
    while (len) {
        size_t n = len < ARRAY_SIZE(chunk) ? len : ARRAY_SIZE(chunk);

        for (size_t i = 0; i < n; i++) {
            chunk[i] = digits[b[i] >> 4] | digits[b[i] & 15] << 8;
        }
        outsb(DEBUGCON_PORT, chunk, 2 * n);
        b += n;
        len -= n;
    }
    outsb(DEBUGCON_PORT, "\n", 1);
    spin_unlock(&con_lock);
}

/* Checks. */
static uint32_t n_pass, n_fail;

void pass(const char *name)
{
    __atomic_fetch_add(&n_pass, 1, __ATOMIC_RELAXED);
    say("PASS %s", name);
}

static void vfail(const char *name, const char *fmt, va_list ap)
{
    char why[400];

    vsnprintf(why, sizeof(why), fmt, ap);
    __atomic_fetch_add(&n_fail, 1, __ATOMIC_RELAXED);
    say("FAIL %s: %s", name, why);
}

void fail(const char *name, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(name, fmt, ap);
    va_end(ap);
}

bool check(bool ok, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        pass(name);
        return true;
    }
    va_start(ap, fmt);
    vfail(name, fmt, ap);
    va_end(ap);
    return false;
}

void halt_forever(void)
{
    for (;;) {
        asm volatile("cli; hlt");
    }
}

void finish(void)
{
    say("DONE pass=%u fail=%u", n_pass, n_fail);
    /* isa-debug-exit: QEMU exits with (value << 1) | 1. */
    outl(DEBUG_EXIT_PORT, n_fail ? 1 : 0);
    halt_forever();
}

/* Exceptions. */
struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, rsvd;
} __attribute__((packed));

static struct idt_gate idt[32];

void idt_load(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

    if (!idt[0].type) {
        for (int i = 0; i < 32; i++) {
            uint64_t a = exc_stubs[i];

            idt[i] = (struct idt_gate) {
                .off_lo = a, .sel = SEL_CODE64, .type = 0x8e,
                .off_mid = a >> 16, .off_hi = a >> 32,
            };
        }
    }
    asm volatile("lidt %0" : : "m"(idtr));
}

void exception(uint64_t *frame)
{
    uint64_t cr2;

    asm volatile("mov %%cr2, %0" : "=r"(cr2));
    fail("exception", "vector %lu error 0x%lx at rip 0x%lx (cr2 0x%lx) on "
         "cpu %u", frame[0], frame[1], frame[2], cr2, apic_id());
    finish();
}

/* fw_cfg: the I/O port interface (selector 0x510, data 0x511). */
#define FW_CFG_PORT_SEL     0x510
#define FW_CFG_PORT_DATA    0x511
#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_NB_CPUS      0x05
#define FW_CFG_FILE_DIR     0x19

void fwcfg_read(uint16_t select, void *buf, size_t len)
{
    outw(FW_CFG_PORT_SEL, select);
    insb(FW_CFG_PORT_DATA, buf, len);
}

bool fwcfg_present(void)
{
    char sig[4];

    fwcfg_read(FW_CFG_SIGNATURE, sig, 4);
    return !memcmp(sig, "QEMU", 4);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

bool fwcfg_find(const char *name, uint16_t *select, uint32_t *size)
{
    uint8_t count[4], ent[64];
    uint32_t n;

    fwcfg_read(FW_CFG_FILE_DIR, count, 4);
    n = be32(count);
    for (uint32_t i = 0; i < n; i++) {
        insb(FW_CFG_PORT_DATA, ent, sizeof(ent));
        ent[63] = 0;
        if (!strncmp((const char *)ent + 8, name, 56)) {
            *size = be32(ent);
            *select = ent[4] << 8 | ent[5];
            return true;
        }
    }
    return false;
}

uint16_t fwcfg_cpu_count(void)
{
    uint8_t v[2];

    fwcfg_read(FW_CFG_NB_CPUS, v, 2);
    return v[0] | v[1] << 8;
}

/* The doorbell: OUT to its port; arguments RBX, RCX, RDI, RSI. */
void sim_call(uint32_t op, sim_regs *r)
{
    uint64_t rax = op, rbx = r->rbx, rcx = r->rcx, rsi = r->rsi;
    uint64_t rdi = r->rdi;

    asm volatile("outl %%eax, %%dx"
                 : "+a"(rax), "+b"(rbx), "+c"(rcx), "+S"(rsi), "+D"(rdi)
                 : "d"(SNP_SIM_DOORBELL_PORT)
                 : "memory");
    r->rax = rax;
    r->rbx = rbx;
    r->rcx = rcx;
}

static int sim_state;   /* 0 unknown, 1 present, -1 absent */

bool sim_present(void)
{
    if (!sim_state) {
        sim_regs r = { 0 };

        /* Nothing claims the port without the simulator: RAX stays. */
        sim_call(SNP_SIM_OP_TIME_MS, &r);
        sim_state = r.rax == SNP_SIM_OP_TIME_MS ? -1 : 1;
    }
    return sim_state > 0;
}

uint64_t sim_time_ms(void)
{
    sim_regs r = { 0 };

    sim_call(SNP_SIM_OP_TIME_MS, &r);
    return r.rax;
}

void delay_ms(uint64_t ms)
{
    if (sim_present()) {
        uint64_t end = sim_time_ms() + ms;

        /* A clock read is an exit: a few hundred pauses between them. */
        while (sim_time_ms() < end) {
            for (int i = 0; i < 256; i++) {
                cpu_relax();
            }
        }
    } else {
        /* No clock: assume at most 4 GHz. */
        uint64_t end = rdtsc() + ms * 4000000;

        while (rdtsc() < end) {
            cpu_relax();
        }
    }
}

/* SMP: INIT-SIPI-SIPI to all but self; the APs run the trampoline. */
#define APIC_BASE           0xfee00000UL
#define APIC_SVR            0xf0
#define APIC_ICR_LO         0x300
#define APIC_ICR_HI         0x310
#define ICR_ALL_BUT_SELF    (3U << 18)
#define ICR_LEVEL_ASSERT    (1U << 14)
#define ICR_BUSY            (1U << 12)
#define ICR_INIT            (5U << 8)
#define ICR_SIPI            (6U << 8)

static uint32_t cpus_up;
static void (*ap_fn)(uint32_t cpu);

static inline volatile uint32_t *apic_reg(unsigned off) /* MMIO */
{
    return (volatile uint32_t *)(APIC_BASE + off); /* MMIO */
}

static void apic_ipi(uint32_t lo)
{
    *apic_reg(APIC_ICR_HI) = 0;
    *apic_reg(APIC_ICR_LO) = lo;
    while (*apic_reg(APIC_ICR_LO) & ICR_BUSY) {
        cpu_relax();
    }
}

void ap_main(uint32_t cpu)
{
    void (*fn)(uint32_t cpu);

    idt_load();
    __atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
    while (!(fn = __atomic_load_n(&ap_fn, __ATOMIC_ACQUIRE))) {
        cpu_relax();
    }
    fn(cpu);
    halt_forever();
}

int smp_start(void (*ap_entry)(uint32_t cpu), uint32_t ncpus)
{
    uint64_t waited = 0;

    memcpy((void *)TRAMPOLINE_BASE, tramp_start, tramp_end - tramp_start);
    __atomic_store_n(&cpus_up, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ap_fn, ap_entry, __ATOMIC_RELEASE);
    *apic_reg(APIC_SVR) |= 0x100;
    apic_ipi(ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_INIT);
    delay_ms(10);
    for (int i = 0; i < 2; i++) {
        apic_ipi(ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_SIPI |
                 TRAMPOLINE_VECTOR);
        delay_ms(1);
    }
    while (__atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE) < ncpus &&
           waited < 5000) {
        delay_ms(10);
        waited += 10;
    }
    return __atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE);
}
