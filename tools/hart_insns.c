/* tools/hart_insns.c: a QEMU TCG plugin (host side, loaded by `make bench`) that counts, per vCPU, the
 * instructions a hart itself executes between marks the guest places (lib/insn_mark.h): the cost of one
 * call on the hart that made it, whatever the other vCPUs did meanwhile.
 *
 * Why: under `-icount` QEMU runs several vCPUs round-robin on one host thread, so a guest's rdtime window
 * around a call also holds the slices of every vCPU that ran in between (tens of ms), and without icount
 * vCPUs share the host's cores; neither clock says what the call cost its own hart. This plugin counts each
 * vCPU's executed instructions on its own, at every privilege level (the kernel, the interrupts it took,
 * the SBI firmware it called), so a window's count is what landed on that hart inside the call.
 *
 * What a sample holds: the instructions after the window's begin mark up to and including its end mark
 * (an empty window counts 1), and apart from them the instructions between poll marks (a lock wait's
 * polls: the hart waiting for another, which under round-robin icount spins its whole budget because the
 * holder cannot run meanwhile) and the `wfi`s executed (a hart asleep executes nothing, so a call that
 * slept hides that wait). The figure reported is the work, instructions minus polls; the total and the
 * polls are reported beside it. At exit it prints per series: calls, work p50, p99, p99.9, max (nearest
 * rank), max/p50, the kind of the call with the most work, how many calls polled and slept and their most,
 * and per kind the calls and their most work, and the atomic instructions (AMO, LR, SC: under
 * multi-threaded TCG each is a locked host operation) of a plain call; then each vCPU's whole count and
 * its atomics; with `profile=1`, for the call with the most work of each
 * series and kind, its instructions summed by translated block (a script maps them to symbols). Output
 * goes to `out=PATH` (default stderr).
 *
 * Counting: a callback per executed translation block adds the block's length to its vCPU's count; a mark
 * subtracts the block's instructions after it, known at translation. A block cut short by an exception
 * (a page fault, an I/O access QEMU re-executes) is counted whole, so a window holding one may be over by
 * a block's length; the guest's calibration window (series 3: interrupts off, a loop of known length)
 * shows whether counts are exact.
 *
 * The declarations below are the part of QEMU's plugin interface (API version 1: QEMU 4.2 to 8.x) this
 * file uses, written out since Debian ships no header for it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- QEMU's plugin interface, version 1 --- */
typedef uint64_t qemu_plugin_id_t;
typedef struct {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus, max_vcpus;
		} system;
	};
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

/* --- the marks (lib/insn_mark.h) --- */
#define MARK_WINDOW_BEGIN 0x700u
#define MARK_POLL_BEGIN 0x701u
#define MARK_POLL_END 0x702u
#define MARK_WINDOW_END 0x710u /* + series * KINDS + kind */
#define SERIES 4
#define KINDS 4
#define INSN_WFI 0x10500073u
#define OPCODE_AMO 0x2fu /* the A extension: AMO*, LR, SC */
#define SLTI_X0_X0 0x2013u /* slti x0, x0, imm: imm << 20 | this */

/* A translated block as its exec callback sees it. Allocated at translation and never freed: blocks are
 * retranslated rarely, and a callback may still run on one QEMU has flushed. */
struct tb_info {
	uint64_t vaddr;
	uint32_t n, atomics; /* instructions; of them AMOs, LRs and SCs */
};

/* The blocks one window executed (profile=1), in order. */
struct tb_log {
	struct {
		uint64_t vaddr, n;
	} *e;
	size_t n, cap;
};

struct sample {
	uint64_t insns, polled;
	uint32_t series_kind; /* series * KINDS + kind */
	uint32_t wfis;
	uint32_t atomics; /* AMOs, LRs and SCs in the window */
};

/* One vCPU's state, touched only by its own callbacks (so no locks even with multi-threaded TCG) and by
 * the exit report once every vCPU has stopped. */
struct vcpu {
	uint64_t insns;                 /* executed so far */
	uint64_t atomics;               /* of them AMO, LR and SC: with several vCPUs QEMU makes each a locked
					 * host operation, so they cost more host time per instruction */
	uint64_t begin, polled, poll_at; /* the open window's: count at its begin, polls so far, the open poll's start */
	uint64_t atomics_begin;          /* atomics at the window's begin */
	uint32_t wfis;
	bool open, polling;
	struct sample *samples;
	size_t n, cap;
	struct tb_log log, worst_log[SERIES * KINDS]; /* profile=1: the open window's blocks; the most work's */
	uint64_t worst[SERIES * KINDS];
	char pad[64];
};

static struct vcpu *vcpus;
static unsigned nr_vcpus;
static FILE *out;
static bool profile;
static uint64_t unpaired, dropped; /* marks out of order; samples lost to a failed allocation */

static void log_add(struct tb_log *l, uint64_t vaddr, uint64_t n)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		void *e = realloc(l->e, cap * sizeof(*l->e));
		if (!e) return;
		l->e = e, l->cap = cap;
	}
	l->e[l->n].vaddr = vaddr, l->e[l->n++].n = n;
}

static void on_tb(unsigned int v, void *ud)
{
	const struct tb_info *tb = ud;
	struct vcpu *c = &vcpus[v];
	c->insns += tb->n;
	c->atomics += tb->atomics;
	if (profile && c->open) log_add(&c->log, tb->vaddr, tb->n);
}

/* A mark's udata: its immediate in the low 12 bits, the block's atomics after it in the next 8, its
 * instructions after it above. The counts up to and including the mark are the vCPU's less those. */
static uint64_t count_at(const struct vcpu *c, uintptr_t ud) { return c->insns - (ud >> 20); }
static uint64_t atomics_at(const struct vcpu *c, uintptr_t ud) { return c->atomics - ((ud >> 12) & 0xff); }

static void on_mark(unsigned int v, void *udp)
{
	uintptr_t ud = (uintptr_t)udp;
	unsigned imm = ud & 0xfff;
	struct vcpu *c = &vcpus[v];
	uint64_t now = count_at(c, ud);
	if (imm == MARK_WINDOW_BEGIN) {
		unpaired += c->open;
		c->begin = now, c->polled = 0, c->wfis = 0, c->open = true, c->polling = false, c->log.n = 0;
		c->atomics_begin = atomics_at(c, ud);
		return;
	}
	if (!c->open) {
		unpaired += imm != MARK_POLL_BEGIN && imm != MARK_POLL_END; /* polls outside windows are fine */
		return;
	}
	if (imm == MARK_POLL_BEGIN) {
		c->poll_at = now, c->polling = true;
		return;
	}
	if (imm == MARK_POLL_END) {
		if (c->polling) c->polled += now - c->poll_at;
		c->polling = false;
		return;
	}
	c->open = false;
	unsigned sk = imm - MARK_WINDOW_END;
	struct sample x = {.insns = now - c->begin, .polled = c->polled, .series_kind = sk, .wfis = c->wfis,
			   .atomics = (uint32_t)(atomics_at(c, ud) - c->atomics_begin)};
	if (profile && x.insns - x.polled > c->worst[sk]) { /* keep this window's log: swap with the old one */
		struct tb_log t = c->worst_log[sk];
		c->worst_log[sk] = c->log, c->log = t;
		c->worst[sk] = x.insns - x.polled;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		struct sample *s = realloc(c->samples, cap * sizeof(*s));
		if (!s) {
			dropped++;
			return;
		}
		c->samples = s, c->cap = cap;
	}
	c->samples[c->n++] = x;
}

static void on_wfi(unsigned int v, void *ud)
{
	(void)ud;
	if (vcpus[v].open) vcpus[v].wfis++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct tb_info *info = malloc(sizeof(*info));
	if (!info) abort(); /* the host is out of memory: no count could be trusted */
	*info = (struct tb_info){.vaddr = qemu_plugin_tb_vaddr(tb), .n = (uint32_t)n};
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS, info);
	for (size_t i = 0; i < n; i++) { /* first the block's atomics, so a mark knows how many follow it */
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint32_t w;
		if (qemu_plugin_insn_size(insn) != 4) continue;
		memcpy(&w, qemu_plugin_insn_data(insn), 4);
		info->atomics += (w & 0x7f) == OPCODE_AMO;
	}
	uint32_t atomics_after = info->atomics;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		if (qemu_plugin_insn_size(insn) != 4) continue;
		uint32_t w, imm;
		memcpy(&w, qemu_plugin_insn_data(insn), 4);
		imm = w >> 20;
		atomics_after -= (w & 0x7f) == OPCODE_AMO;
		if (w == INSN_WFI) {
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_wfi, QEMU_PLUGIN_CB_NO_REGS, NULL);
		} else if ((w & 0xfffff) == SLTI_X0_X0 &&
			   (imm == MARK_WINDOW_BEGIN || imm == MARK_POLL_BEGIN || imm == MARK_POLL_END ||
			    (imm >= MARK_WINDOW_END && imm < MARK_WINDOW_END + SERIES * KINDS))) {
			uint32_t a = atomics_after < 0xff ? atomics_after : 0xff; /* a block holds a few at most */
			uintptr_t ud = (uintptr_t)(n - 1 - i) << 20 | (uintptr_t)a << 12 | imm;
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)ud);
		}
	}
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least permille/1000 of the n sorted values at or below it. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned permille)
{
	size_t rank = (n * permille + 999) / 1000;
	return v[rank ? rank - 1 : 0];
}

static const char *const kind_names[KINDS] = {"plain", "refill", "purge", "other"};

/* The call with the most work of series s and kind k, its instructions summed by block address:
 * `hart_insns: profile series=S kind=K vcpu=V work=N`, then `hart_insns: block 0x... insns=N` lines. */
static void print_profile(unsigned s, unsigned k)
{
	unsigned sk = s * KINDS + k, best = 0;
	for (unsigned v = 1; v < nr_vcpus; v++)
		if (vcpus[v].worst[sk] > vcpus[best].worst[sk]) best = v;
	struct tb_log *l = &vcpus[best].worst_log[sk];
	if (!vcpus[best].worst[sk]) return;
	fprintf(out, "hart_insns: profile series=%u kind=%s vcpu=%u work=%lu\n", s, kind_names[k], best,
		(unsigned long)vcpus[best].worst[sk]);
	qsort(l->e, l->n, sizeof(*l->e), by_value); /* by vaddr, the entry's first member */
	for (size_t i = 0; i < l->n;) {
		uint64_t a = l->e[i].vaddr, sum = 0;
		for (; i < l->n && l->e[i].vaddr == a; i++) sum += l->e[i].n;
		fprintf(out, "hart_insns: block 0x%lx insns=%lu\n", (unsigned long)a, (unsigned long)sum);
	}
}

static void report_series(unsigned s, uint64_t *vals)
{
	size_t n = 0, calls[KINDS] = {0}, polled = 0, slept = 0, harts = 0;
	uint64_t worst[KINDS] = {0}, polled_max = 0, slept_max = 0, total_max = 0, max = 0;
	unsigned max_kind = 0;
	for (unsigned v = 0; v < nr_vcpus; v++) {
		size_t before = n;
		for (size_t i = 0; i < vcpus[v].n; i++) {
			const struct sample *x = &vcpus[v].samples[i];
			if (x->series_kind / KINDS != s) continue;
			unsigned k = x->series_kind % KINDS;
			uint64_t work = x->insns - x->polled;
			vals[n++] = work;
			calls[k]++;
			if (work > worst[k]) worst[k] = work;
			if (work > max) max = work, max_kind = k;
			if (x->insns > total_max) total_max = x->insns;
			if (x->polled) polled++, polled_max = x->polled > polled_max ? x->polled : polled_max;
			if (x->wfis) slept++, slept_max = work > slept_max ? work : slept_max;
		}
		harts += n > before;
	}
	if (!n) return;
	qsort(vals, n, sizeof(*vals), by_value);
	uint64_t p50 = percentile(vals, n, 500), r100 = p50 ? max * 100 / p50 : 0;
	fprintf(out, "hart_insns: series=%u harts=%zu calls=%zu work p50=%lu p99=%lu p99.9=%lu max=%lu max/p50=%lu.%02lu "
		"max_call=%s; polled calls=%zu max_polls=%lu; slept calls=%zu max_work=%lu; most instructions with polls=%lu\n",
		s, harts, n, (unsigned long)p50, (unsigned long)percentile(vals, n, 990),
		(unsigned long)percentile(vals, n, 999), (unsigned long)max, (unsigned long)(r100 / 100),
		(unsigned long)(r100 % 100), kind_names[max_kind], polled, (unsigned long)polled_max, slept,
		(unsigned long)slept_max, (unsigned long)total_max);
	fprintf(out, "hart_insns: series=%u work by kind:", s);
	for (unsigned k = 0; k < KINDS; k++)
		if (calls[k]) fprintf(out, " %s calls=%zu max=%lu;", kind_names[k], calls[k], (unsigned long)worst[k]);
	fprintf(out, "\n");
	/* The atomics of each call (what multi-threaded TCG turns into locked host operations), plain calls
	 * apart: a refill's or a purge's would blur the common path's figure. */
	size_t m = 0;
	uint64_t sum = 0, amax = 0;
	for (unsigned v = 0; v < nr_vcpus; v++)
		for (size_t i = 0; i < vcpus[v].n; i++) {
			const struct sample *x = &vcpus[v].samples[i];
			if (x->series_kind != s * KINDS) continue; /* kind 0: plain */
			vals[m++] = x->atomics;
			sum += x->atomics;
			if (x->atomics > amax) amax = x->atomics;
		}
	if (m) {
		qsort(vals, m, sizeof(*vals), by_value);
		uint64_t mean100 = sum * 100 / m;
		fprintf(out, "hart_insns: series=%u atomics per plain call: p50=%lu mean=%lu.%02lu max=%lu\n", s,
			(unsigned long)percentile(vals, m, 500), (unsigned long)(mean100 / 100),
			(unsigned long)(mean100 % 100), (unsigned long)amax);
	}
	if (profile)
		for (unsigned k = 0; k < KINDS; k++) print_profile(s, k);
}

static void report(qemu_plugin_id_t id, void *ud)
{
	(void)id, (void)ud;
	size_t total = 0;
	for (unsigned v = 0; v < nr_vcpus; v++) total += vcpus[v].n;
	uint64_t *vals = malloc((total ? total : 1) * sizeof(*vals));
	if (!vals) {
		fprintf(out, "hart_insns: out of memory for the report\n");
		return;
	}
	for (unsigned s = 0; s < SERIES; s++) report_series(s, vals);
	for (unsigned v = 0; v < nr_vcpus; v++)
		if (vcpus[v].insns)
			fprintf(out, "hart_insns: vcpu=%u insns=%lu atomics=%lu\n", v, (unsigned long)vcpus[v].insns,
				(unsigned long)vcpus[v].atomics);
	fprintf(out, "hart_insns: marks out of order=%lu samples dropped=%lu\n", (unsigned long)unpaired,
		(unsigned long)dropped);
	fflush(out);
	free(vals);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	out = stderr;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "profile=1") == 0) {
			profile = true;
		} else if (strncmp(argv[i], "out=", 4) == 0) {
			if (!(out = fopen(argv[i] + 4, "w"))) {
				fprintf(stderr, "hart_insns: cannot open %s\n", argv[i] + 4);
				return -1;
			}
		} else {
			fprintf(stderr, "hart_insns: unknown argument %s (out=PATH, profile=1)\n", argv[i]);
			return -1;
		}
	}
	if (!info->system_emulation || strcmp(info->target_name, "riscv64") != 0) {
		fprintf(stderr, "hart_insns: needs qemu-system-riscv64 (got %s)\n", info->target_name);
		return -1;
	}
	nr_vcpus = (unsigned)info->system.max_vcpus;
	if (!(vcpus = calloc(nr_vcpus, sizeof(*vcpus)))) return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, report, NULL);
	return 0;
}
