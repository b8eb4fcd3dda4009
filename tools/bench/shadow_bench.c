// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_bench: the gHyvi comparison in the kernel (issue 11). A VFIO
 * guest driver with its own "VMM", as rgvt_track and rgvt_engine are:
 *
 * - the guest keeps a 4-level PPGTT in its memory (PML4 -> PDP -> PD ->
 *   NPT page-table pages of 512 PTEs, plus one PT page for the batch) and
 *   writes PTEs as a guest driver does;
 * - the VMM learns the frames rgvt tracks through the tracking region
 *   (include/uapi/rgvt.h) and forwards every guest write to one of them
 *   (that is the trap, as a VM exit would be), then reads the generation
 *   and re-reads the list when it moved (the protocol's step 5);
 * - every frame ends with a workload on the render engine: one
 *   MI_STORE_DWORD_IMM through the PPGTT per PT page, at an address whose
 *   PTE the frame rewrote, each result checked in the page the guest's own
 *   tables name (a stale shadow entry fails the run).
 *
 * Traces: "massive" rewrites every PTE of the NPT pages per frame (a
 * remap of the whole range); "normal" writes a few PTEs per frame. Each
 * runs under strict and each hybrid policy (switched through sysfs on the
 * same vGPU, one warm-up frame after each switch), reading the vGPU's
 * debugfs `shadow` counters around the measured frames: traps (forwarded
 * writes), PTEs rebuilt, kernel mediation (trap_ns + reconstruct_ns) and
 * the guest-visible time of a frame (its writes, forwards, submission and
 * completion). Then the floor: debugfs `shadow_floor` reads the guest PT
 * pages, translates and writes the shadow entries with none of the
 * shadow's bookkeeping, timed in the kernel.
 *
 * Both shadows run side by side, each on its own vGPU (the module's
 * sim_dma parameter is read when a vGPU is made): "sim", the sim's shadow
 * (a short pin and unpin per frame translated), and "pinned", a real GPU's
 * shadow (guest pages held pinned and DMA-mapped in the gfn -> DMA books);
 * each vGPU's policy is switched through its own shadow_policy, and each
 * has its floor (the pinned one translates by a lookup in the books).
 *
 * Prints a table, then the rows as JSON between RGVT-JSON-BEGIN and
 * RGVT-JSON-END (tools/bench-shadow.sh writes build/bench/shadow-kernel.json).
 * Reports, never judges: the exit status says whether the runs ran and
 * every workload's results were right.
 *
 *   shadow_bench [-N PT_PAGES] [-m MASSIVE_FRAMES] [-n NORMAL_FRAMES]
 *                [-w NORMAL_WRITES] [-f FLOOR_RUNS] [-r ROUNDS] [-t EXTRA_TREES]
 *                [-s both|sim|pinned]
 *
 * (defaults 64, 6, 120, 8, 5, 3, 4, both). Shadows and policies run round-robin, ROUNDS
 * times, each measured frame preceded by two warm-up frames after the
 * switch, so that the host's load changes fall on every policy alike.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"

#define TYPE		"rgvt-V5_8"
#define PAGE		4096ULL
#define GUEST_IOVA	0x10000000ULL
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX
#define TRACK		RGVT_TRACK_REGION_INDEX
#define GGTT_PTE(gfn)	(((__u64)(gfn) << 12) | 1ULL)
#define PTE(page)	((GUEST_IOVA + (__u64)(page) * PAGE) | PPGTT_RW | PPGTT_PRESENT)
#define RING_SIZE	(4 * PAGE)
#define CTX_PAGES	22		/* the render context image */
#define RCS_BASE	0x2000
#define CCID		0x101
#define WAIT_MS		20000
#define NDATA		1024		/* data pages the PTEs point at */
#define MAX_NPT		480
#define POLICY_PATH	RGVT_SYSFS "/policy"
/* GPU addresses: PML4 slot 1, PDP slot 0; PD slots 0..NPT-1 and the batch's. */
#define VA_BASE		(1ULL << 39)
#define BATCH_PDE	511
#define VA_BATCH	(VA_BASE + ((__u64)BATCH_PDE << 21))

static const char *const policies[] = { "strict", "full", "static", "dynamic", "segmented" };
#define NPOLICIES	(sizeof(policies) / sizeof(policies[0]))

struct bench {
	const char *shadow;	/* "sim" (short pins) or "pinned" (sim_dma) */
	struct rgvt_vfio v;
	char uuid[RGVT_UUID_LEN + 1];
	long id;
	unsigned long long low_base;
	unsigned char *mem;
	unsigned int pages, next_page;
	int msi;
	/* Guest layout (page numbers in guest memory). */
	unsigned int pml4, pdp, pd, pt0, npt, batch_pt, batch, data0;
	unsigned int hwsp, ring, ctx;
	__u64 hwsp_gm, ring_gm, lrca;
	__u32 tail;
	unsigned int csb_head;
	/* The VMM's view of the region. */
	__u64 generation;
	__u32 count;
	__u64 *frames;
	unsigned long long syncs;
	bool tracking;		/* the region is enabled */
	unsigned int extra;	/* trees beside the workload's, for the untracked rows */
	/* Workload checks. */
	unsigned long long stores, bad_stores, lost;
	unsigned int rng;
	char *buf;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *host(struct bench *b, unsigned int page)
{
	return b->mem + (size_t)page * PAGE;
}

static __u64 *table(struct bench *b, unsigned int page)
{
	return host(b, page);
}

static unsigned int alloc_pages(struct bench *b, unsigned int n)
{
	unsigned int p = b->next_page;

	if (p + n > b->pages) {
		fprintf(stderr, "shadow_bench: out of guest memory\n");
		exit(1);
	}
	b->next_page += n;
	memset(host(b, p), 0, n * PAGE);
	return p;
}

static int mmio_write(struct bench *b, __u32 off, __u32 v)
{
	return rgvt_region_write(b->v.device, BAR0, off, &v, 4) == 4 ? 0 : -EIO;
}

static __u32 mmio_read(struct bench *b, __u32 off)
{
	__u32 v;

	return rgvt_region_read(b->v.device, BAR0, off, &v, 4) == 4 ? v : 0xdeadbeef;
}

/* Map n guest pages from page at low GM from gm_page on; the GM address. */
static __u64 ggtt_map(struct bench *b, unsigned int page, unsigned int n, unsigned int gm_page)
{
	__u64 gm = b->low_base + gm_page * PAGE;

	for (unsigned int i = 0; i < n; i++) {
		__u64 pte = GGTT_PTE(GUEST_IOVA / PAGE + page + i);

		if (rgvt_region_write(b->v.device, BAR0, RGVT_GGTT_OFFSET +
				      (gm / PAGE + i) * RGVT_GGTT_ENTRY_SIZE, &pte, 8) != 8)
			return ~0ULL;
	}
	return gm;
}

/* The tracking region ---------------------------------------------------- */

/* Steps 2 and 3: a consistent list, acknowledged. */
static int vmm_sync(struct bench *b)
{
	int d = b->v.device;
	__u64 g0, g1;
	__u32 count;

	do {
		if (rgvt_region_read(d, TRACK, RGVT_TRACK_GENERATION, &g0, 8) != 8 ||
		    rgvt_region_read(d, TRACK, RGVT_TRACK_COUNT, &count, 4) != 4 ||
		    count > RGVT_TRACK_MAX_FRAMES)
			return -EIO;
		if (count && rgvt_region_read(d, TRACK, RGVT_TRACK_FRAMES, b->frames,
					      count * 8) != (ssize_t)(count * 8))
			return -EIO;
		if (rgvt_region_read(d, TRACK, RGVT_TRACK_GENERATION, &g1, 8) != 8)
			return -EIO;
	} while (g0 != g1);
	b->generation = g0;
	b->count = count;
	b->syncs++;
	return rgvt_region_write(d, TRACK, RGVT_TRACK_ACK, &g0, 8) == 8 ? 0 : -EIO;
}

/* Step 5: re-read the list if the generation moved. */
static int vmm_check(struct bench *b)
{
	__u64 g;

	if (!b->tracking)
		return 0;
	if (rgvt_region_read(b->v.device, TRACK, RGVT_TRACK_GENERATION, &g, 8) != 8)
		return -EIO;
	return g == b->generation ? 0 : vmm_sync(b);
}

static bool vmm_tracks(struct bench *b, __u64 gfn)
{
	__u32 lo = 0, hi = b->count;

	while (lo < hi) {
		__u32 mid = (lo + hi) / 2;

		if (b->frames[mid] == gfn)
			return true;
		if (b->frames[mid] < gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The guest writes entry index of table page; a write to a tracked frame traps. */
static int guest_write(struct bench *b, unsigned int page, unsigned int index, __u64 value)
{
	__u64 gfn = GUEST_IOVA / PAGE + page;
	struct rgvt_track_write w = { .gpa = gfn * PAGE + index * 8ULL, .size = 8 };

	table(b, page)[index] = value;
	if (!b->tracking || !vmm_tracks(b, gfn))
		return 0;
	memcpy(w.data, &value, 8);
	if (rgvt_region_write(b->v.device, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w)) !=
	    sizeof(w)) {
		fprintf(stderr, "shadow_bench: forwarded write to %#llx refused\n",
			(unsigned long long)w.gpa);
		return -EIO;
	}
	return vmm_check(b);
}

/* The engine -------------------------------------------------------------- */

static int csb_reset(struct bench *b)
{
	__u32 *s = host(b, b->hwsp);

	for (unsigned int i = 0; i < 2 * CSB_ENTRIES; i++)
		s[I915_HWS_CSB_BUF0_INDEX + i] = ~0U;
	b->csb_head = CSB_ENTRIES - 1;
	__atomic_store_n(&s[I915_HWS_CSB_WRITE_INDEX], CSB_ENTRIES - 1, __ATOMIC_RELEASE);
	return mmio_write(b, RCS_BASE + RING_CONTEXT_STATUS_PTR,
			  0xffffU << 16 | (CSB_ENTRIES - 1) << 8 | (CSB_ENTRIES - 1));
}

static int gpu_init(struct bench *b)
{
	__u32 bits = GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT;
	int ret = 0;

	b->hwsp_gm = ggtt_map(b, b->hwsp, 1, 0);
	b->ring_gm = ggtt_map(b, b->ring, RING_SIZE / PAGE, 1);
	b->lrca = ggtt_map(b, b->ctx, CTX_PAGES, 1 + RING_SIZE / PAGE);
	if (b->hwsp_gm == ~0ULL || b->ring_gm == ~0ULL || b->lrca == ~0ULL)
		return -EIO;
	rgvt_lrc_init(host(b, b->ctx + 1), true, RCS_BASE, (__u32)b->ring_gm, RING_SIZE,
		      GUEST_IOVA + b->pml4 * PAGE);
	ret |= mmio_write(b, RCS_BASE + RING_HWSTAM, ~0U);
	ret |= mmio_write(b, RCS_BASE + RING_MODE_GEN7, MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
	ret |= mmio_write(b, RCS_BASE + RING_MI_MODE, MASKED_DISABLE(STOP_RING));
	ret |= mmio_write(b, RCS_BASE + RING_HWS_PGA, (__u32)b->hwsp_gm);
	ret |= csb_reset(b);
	ret |= mmio_write(b, GEN8_GT_IIR(0), ~0U);
	ret |= mmio_write(b, GEN8_GT_IER(0), bits);
	ret |= mmio_write(b, GEN8_GT_IMR(0), ~bits);
	ret |= mmio_write(b, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
	if (rgvt_msi_eventfd(b->v.device, b->msi))
		ret = -EIO;
	return ret;
}

static void ring_emit(struct bench *b, __u32 dw)
{
	__u32 *ring = host(b, b->ring);

	ring[b->tail / 4] = dw;
	b->tail = (b->tail + 4) % RING_SIZE;
}

static void irq_ack(struct bench *b)
{
	__u32 iir;

	mmio_write(b, GEN8_MASTER_IRQ, 0);
	iir = mmio_read(b, GEN8_GT_IIR(0));
	if (iir && iir != 0xdeadbeef)
		mmio_write(b, GEN8_GT_IIR(0), iir);
	mmio_write(b, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
}

/* Runs the batch at VA_BATCH on the render context; 0 once it completed. */
static int run_batch(struct bench *b)
{
	struct pollfd p = { .fd = b->msi, .events = POLLIN };
	__u32 *s = host(b, b->hwsp), *regs = host(b, b->ctx + 1);
	__u64 desc = rgvt_ctx_desc((__u32)b->lrca, CCID), n;
	uint64_t t0 = now_ns();

	ring_emit(b, MI_ARB_CHECK);
	ring_emit(b, MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT);
	ring_emit(b, (__u32)VA_BATCH);
	ring_emit(b, VA_BATCH >> 32);
	if (b->tail & 7)
		ring_emit(b, MI_NOOP);
	__atomic_store_n(&regs[CTX_RING_TAIL], b->tail, __ATOMIC_RELEASE);
	mmio_write(b, RCS_BASE + RING_ELSP, 0);
	mmio_write(b, RCS_BASE + RING_ELSP, 0);
	mmio_write(b, RCS_BASE + RING_ELSP, desc >> 32);
	mmio_write(b, RCS_BASE + RING_ELSP, (__u32)desc);
	while (now_ns() - t0 < WAIT_MS * 1000000ULL) {
		unsigned int wp;

		if (poll(&p, 1, 10) == 1 && read(b->msi, &n, 8) == 8)
			irq_ack(b);
		wp = __atomic_load_n(&s[I915_HWS_CSB_WRITE_INDEX], __ATOMIC_ACQUIRE) & 7;
		if (wp >= CSB_ENTRIES)
			continue;
		while (b->csb_head != wp) {
			__u32 status, id;

			b->csb_head = (b->csb_head + 1) % CSB_ENTRIES;
			status = s[I915_HWS_CSB_BUF0_INDEX + 2 * b->csb_head];
			id = s[I915_HWS_CSB_BUF0_INDEX + 2 * b->csb_head + 1];
			if (id == CCID && status & (CTX_STATUS_COMPLETE | CTX_STATUS_ACTIVE_IDLE))
				return 0;
		}
	}
	fprintf(stderr, "shadow_bench: the workload did not complete in %d ms\n", WAIT_MS);
	return -ETIMEDOUT;
}

/* The guest's own translation of va (NULL if unmapped): what checks results. */
static __u32 *va_host(struct bench *b, __u64 va)
{
	unsigned int tp = b->pml4;

	for (int level = 3; level >= 0; level--) {
		__u64 e = table(b, tp)[(va >> (12 + 9 * level)) & 511];
		__u64 addr = e & PPGTT_ADDR;

		if (!(e & PPGTT_PRESENT) || addr < GUEST_IOVA ||
		    addr >= GUEST_IOVA + (__u64)b->pages * PAGE)
			return NULL;
		tp = (addr - GUEST_IOVA) / PAGE;
	}
	return (__u32 *)host(b, tp) + (va & (PAGE - 1)) / 4;
}

/*
 * The frame's workload: a store through each PT page, at the entry the
 * frame's stores use (idx[k]), value unique to the frame; checked after.
 */
static int workload(struct bench *b, unsigned int frame, const unsigned int *idx)
{
	__u32 *cs = host(b, b->batch);
	int ret;

	for (unsigned int k = 0; k < b->npt; k++) {
		__u64 va = VA_BASE + ((__u64)k << 21) + ((__u64)idx[k] << 12) + (k * 4) % PAGE;

		*cs++ = MI_STORE_DWORD_IMM_GEN4;
		*cs++ = (__u32)va;
		*cs++ = va >> 32;
		*cs++ = frame << 12 | k;
	}
	*cs++ = MI_BATCH_BUFFER_END;
	*cs++ = MI_NOOP;
	ret = run_batch(b);
	if (ret)
		return ret;
	for (unsigned int k = 0; k < b->npt; k++) {
		__u64 va = VA_BASE + ((__u64)k << 21) + ((__u64)idx[k] << 12) + (k * 4) % PAGE;
		__u32 *p = va_host(b, va);

		b->stores++;
		if (!p || __atomic_load_n(p, __ATOMIC_ACQUIRE) != (frame << 12 | k)) {
			if (!b->bad_stores++)
				fprintf(stderr, "shadow_bench: frame %u store %u to %#llx: read %#x\n",
					frame, k, (unsigned long long)va, p ? *p : 0);
		}
	}
	return 0;
}

/* Traces ------------------------------------------------------------------ */

enum trace { MASSIVE, NORMAL };

/* The data page PTE i of PT page k maps in frame f of the massive trace. */
static unsigned int massive_target(struct bench *b, unsigned int k, unsigned int i,
				   unsigned int f)
{
	return b->data0 + (k * 512 + i + f * 751) % NDATA;
}

/* One frame; the stores go through entries the frame wrote. */
static int frame(struct bench *b, enum trace t, unsigned int f, unsigned int writes)
{
	unsigned int idx[MAX_NPT];
	int ret;

	/* The VMM catches up with what changed since (protections taken at submission). */
	ret = vmm_check(b);
	for (unsigned int k = 0; !ret && k < b->npt; k++) {
		idx[k] = (f * 37 + k * 11) % 512;
		if (t == MASSIVE) {
			for (unsigned int i = 0; !ret && i < 512; i++)
				ret = guest_write(b, b->pt0 + k, i, PTE(massive_target(b, k, i, f)));
		}
	}
	if (t == NORMAL) {
		for (unsigned int w = 0; !ret && w < writes; w++) {
			unsigned int k = rand_r(&b->rng) % b->npt, i = rand_r(&b->rng) % 512;

			ret = guest_write(b, b->pt0 + k, i,
					  PTE(b->data0 + rand_r(&b->rng) % NDATA));
			/* A store goes through the last entry written in each page. */
			idx[k] = i;
		}
	}
	if (!ret)
		ret = vmm_check(b);
	return ret ? ret : workload(b, f, idx);
}

/* Debugfs ----------------------------------------------------------------- */

static const char *const counter_names[] = {
	"traps_region", "trap_ns", "reconstruct_ns", "ptes_rebuilt", "ptes_compared",
	"reconstructions", "frame_resyncs", "full_rebuilds", "to_relaxed", "to_strict",
	"trap_errors", "region_untracked",
};
#define NCOUNTERS	(sizeof(counter_names) / sizeof(counter_names[0]))
enum { TRAPS, TRAP_NS, RECON_NS, REBUILT, COMPARED, RECONS, RESYNCS, FULL, TO_RELAXED,
       TO_STRICT, TRAP_ERRORS, UNTRACKED };

static int counters(struct bench *b, unsigned long long *out)
{
	char path[PATH_MAX];

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/shadow", b->id), b->buf,
		      1 << 20) < 0)
		return -EIO;
	for (size_t i = 0; i < NCOUNTERS; i++) {
		char key[64], *p;

		snprintf(key, sizeof(key), "\n%s ", counter_names[i]);
		p = strstr(b->buf, key);
		if (!p)
			return -ENOENT;
		out[i] = strtoull(p + strlen(key), NULL, 10);
	}
	return 0;
}

static bool effective_is(struct bench *b, const char *policy)
{
	char path[PATH_MAX], want[64];

	snprintf(want, sizeof(want), "policy_effective %s\n", policy);
	return rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/shadow", b->id), b->buf,
			 1 << 20) >= 0 && strstr(b->buf, want);
}

/*
 * One trace under one policy: totals over every measured frame of every
 * round, and each frame's mediation and guest-visible time, whose medians
 * the table shows (TCG runs at whatever speed the host gives it: a frame
 * during which the host preempted QEMU is an outlier, not a cost).
 */
struct row {
	const char *shadow, *trace, *policy;
	unsigned int frames;
	unsigned long long c[NCOUNTERS], guest_ns;
	double *med_samples, *guest_samples;
	/* Per frame, once every round ran: means, and medians of the times. */
	double traps, rebuilt, compared, trap_ns, recon_ns, mediation_ns, guest;
	double mediation_med, guest_med;
};

/* Adds frames measured frames (after warmup ones) of trace t under policy to r. */
static int run_policy(struct bench *b, enum trace t, const char *policy, unsigned int frames,
		      unsigned int warmup, unsigned int writes, unsigned int *fno, struct row *r)
{
	unsigned long long c0[NCOUNTERS], c1[NCOUNTERS];
	int ret;

	char path[PATH_MAX];

	/* The vGPU's own policy: the other shadow's vGPU keeps its own. */
	if (b->tracking &&
	    (rgvt_write(rgvt_path(path, MDEV_DEVICES "/%s/rgvt/shadow_policy", b->uuid), policy) ||
	     !effective_is(b, policy))) {
		fprintf(stderr, "shadow_bench: policy %s not in force\n", policy);
		return -EIO;
	}
	for (unsigned int i = 0; i < warmup; i++)
		if ((ret = frame(b, t, (*fno)++, writes)))
			return ret;
	r->med_samples = realloc(r->med_samples, (r->frames + frames) * sizeof(double));
	r->guest_samples = realloc(r->guest_samples, (r->frames + frames) * sizeof(double));
	if (!r->med_samples || !r->guest_samples)
		return -ENOMEM;
	r->trace = t == MASSIVE ? "massive" : "normal";
	r->policy = policy;
	r->shadow = b->shadow;
	if (!b->tracking)
		r->trace = "untracked";
	for (unsigned int i = 0; i < frames; i++) {
		uint64_t t0, dt;

		if ((ret = counters(b, c0)))
			return ret;
		t0 = now_ns();
		if ((ret = frame(b, t, (*fno)++, writes)))
			return ret;
		dt = now_ns() - t0;
		if ((ret = counters(b, c1)))
			return ret;
		for (size_t k = 0; k < NCOUNTERS; k++)
			r->c[k] += c1[k] - c0[k];
		r->guest_ns += dt;
		r->med_samples[r->frames] = (double)(c1[TRAP_NS] - c0[TRAP_NS]) +
					    (double)(c1[RECON_NS] - c0[RECON_NS]);
		r->guest_samples[r->frames] = (double)dt;
		r->frames++;
		if (c1[TRAP_ERRORS] != c0[TRAP_ERRORS] || c1[UNTRACKED] != c0[UNTRACKED])
			fprintf(stderr, "shadow_bench: %s/%s: %llu trap errors, %llu untracked "
				"forwards\n", r->trace, policy, c1[TRAP_ERRORS] - c0[TRAP_ERRORS],
				c1[UNTRACKED] - c0[UNTRACKED]);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void per_frame(struct row *r)
{
	double f = r->frames;

	r->traps = r->c[TRAPS] / f;
	r->rebuilt = r->c[REBUILT] / f;
	r->compared = r->c[COMPARED] / f;
	r->trap_ns = r->c[TRAP_NS] / f;
	r->recon_ns = r->c[RECON_NS] / f;
	r->mediation_ns = r->trap_ns + r->recon_ns;
	r->guest = r->guest_ns / f;
	r->mediation_med = median(r->med_samples, r->frames);
	r->guest_med = median(r->guest_samples, r->frames);
}

struct floor {
	unsigned long long pages, ptes, ns, copy_ns, misses;
};

/* The best of runs reads of shadow_floor. */
static int floor_run(struct bench *b, unsigned int runs, struct floor *best)
{
	char path[PATH_MAX];

	best->ns = ~0ULL;
	for (unsigned int i = 0; i < runs; i++) {
		struct floor f = { 0 };
		const char *m;

		if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/shadow_floor", b->id), b->buf,
			      4096) < 0 ||
		    sscanf(b->buf, "pages %llu ptes %llu bad_pages %*u ns %llu copy_ns %llu",
			   &f.pages, &f.ptes, &f.ns, &f.copy_ns) != 4) {
			fprintf(stderr, "shadow_bench: shadow_floor: %.80s\n", b->buf);
			return -EIO;
		}
		/* The pinned shadow's translations the books did not hold. */
		m = strstr(b->buf, " misses ");
		if (m)
			f.misses = strtoull(m + 8, NULL, 10);
		if (f.ns < best->ns)
			*best = f;
	}
	return 0;
}

static void print_rows(const struct row *rows, size_t n)
{
	printf("%-7s %-8s %-10s %6s %9s %9s %9s %11s %11s %12s %8s %12s %8s\n", "shadow",
	       "trace", "policy", "frames", "traps/fr", "rebuilt", "compared", "trap_ns",
	       "recon_ns", "mediate_med", "x_strict", "guest_med", "x_strict");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i], *s = r;

		for (size_t j = 0; j < n; j++)
			if (!strcmp(rows[j].shadow, r->shadow) && !strcmp(rows[j].trace, r->trace) &&
			    !strcmp(rows[j].policy, "strict"))
				s = &rows[j];
		printf("%-7s %-8s %-10s %6u %9.0f %9.0f %9.0f %11.0f %11.0f %12.0f %8.3f %12.0f "
		       "%8.3f\n", r->shadow, r->trace, r->policy, r->frames, r->traps, r->rebuilt,
		       r->compared, r->trap_ns, r->recon_ns, r->mediation_med,
		       r->mediation_med / s->mediation_med, r->guest_med, r->guest_med / s->guest_med);
	}
	printf("(traps .. recon_ns: means per frame; mediate_med = trap_ns + recon_ns and "
	       "guest_med: medians of the frames)\n");
}

static void print_json(const struct row *rows, size_t n, const struct floor *fl,
		       const char *const *shadows, size_t nshadows, const char *accel,
		       unsigned int npt, unsigned int writes, const struct row *urows,
		       unsigned int extra)
{
	printf("RGVT-JSON-BEGIN\n{\n  \"bench\": \"shadow-kernel\",\n"
	       "  \"command\": \"tools/bench-shadow.sh\",\n  \"unix_time\": %lld,\n"
	       "  \"accel\": \"%s\",\n  \"pt_pages\": %u,\n  \"normal_writes\": %u,\n"
	       "  \"rows\": [\n", (long long)time(NULL), accel, npt, writes);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("    {\"shadow\": \"%s\", \"trace\": \"%s\", \"policy\": \"%s\", "
		       "\"frames\": %u, "
		       "\"traps\": %.1f, \"ptes_rebuilt\": %.1f, \"ptes_compared\": %.1f, "
		       "\"trap_ns\": %.0f, \"reconstruct_ns\": %.0f, \"mediation_ns\": %.0f, "
		       "\"mediation_mean_ns\": %.0f, \"guest_ns\": %.0f, \"guest_mean_ns\": %.0f, "
		       "\"frame_resyncs\": %llu, \"full_rebuilds\": %llu, "
		       "\"to_relaxed\": %llu, \"to_strict\": %llu}%s\n",
		       r->shadow, r->trace, r->policy, r->frames, r->traps, r->rebuilt, r->compared,
		       r->trap_ns, r->recon_ns, r->mediation_med, r->mediation_ns, r->guest_med,
		       r->guest, r->c[RESYNCS], r->c[FULL], r->c[TO_RELAXED], r->c[TO_STRICT],
		       i + 1 < n ? "," : "");
	}
	printf("  ],\n  \"untracked\": [\n");
	for (size_t s = 0; s < nshadows; s++)
		for (size_t i = 0; i < 2; i++)
			printf("    {\"shadow\": \"%s\", \"trees\": %u, \"frames\": %u, "
			       "\"ptes_compared\": %.1f, \"reconstruct_ns\": %.0f}%s\n", shadows[s],
			       i ? 1 + extra : 1, urows[2 * s + i].frames, urows[2 * s + i].compared,
			       urows[2 * s + i].mediation_med, s + 1 < nshadows || !i ? "," : "");
	printf("  ],\n  \"floors\": [\n");
	for (size_t s = 0; s < nshadows; s++)
		printf("    {\"shadow\": \"%s\", \"translation\": \"%s\", \"pages\": %llu, "
		       "\"ptes\": %llu, \"ns\": %llu, \"ns_per_pte\": %.1f, \"copy_ns\": %llu, "
		       "\"copy_ns_per_pte\": %.1f, \"misses\": %llu}%s\n", shadows[s],
		       strcmp(shadows[s], "sim") ? "books lookup" : "short pin",
		       fl[s].pages, fl[s].ptes, fl[s].ns,
		       fl[s].ptes ? (double)fl[s].ns / fl[s].ptes : 0.0, fl[s].copy_ns,
		       fl[s].ptes ? (double)fl[s].copy_ns / fl[s].ptes : 0.0, fl[s].misses,
		       s + 1 < nshadows ? "," : "");
	printf("  ]\n}\nRGVT-JSON-END\n");
}

/* Untracked ------------------------------------------------------------- */

static int bar0_write32(struct bench *b, __u64 off, __u32 v)
{
	return rgvt_region_write(b->v.device, BAR0, off, &v, 4) == 4 ? 0 : -EIO;
}

/* i915's gen8_ppgtt_notify_vgt: the PML4 in pdp[0], then the 4-level create. */
static int pv_create_root(struct bench *b, unsigned int page)
{
	__u64 pa = GUEST_IOVA + (__u64)page * PAGE;

	if (bar0_write32(b, VGT_PVINFO_PAGE + VGT_IF_PDP, (__u32)pa) ||
	    bar0_write32(b, VGT_PVINFO_PAGE + VGT_IF_PDP + 4, (__u32)(pa >> 32)))
		return -EIO;
	return bar0_write32(b, VGT_PVINFO_PAGE + VGT_IF_G2V_NOTIFY, 4 /* PPGTT L4 create */);
}

/*
 * With nothing trapping (the region off: the vGPU runs full and compares
 * the workload's tree with guest memory before it), the normal trace with
 * the workload's tree alone, then with b->extra more trees of their own
 * pages (attached through the PV page, never used by a workload): the
 * work before a workload must stay that of one tree.
 */
static int run_untracked(struct bench *b, unsigned int frames, unsigned int writes,
			 unsigned int *fno, struct row *alone, struct row *with_extra)
{
	__u32 off = RGVT_TRACK_CTL_DISABLE;
	int ret;

	if (rgvt_region_write(b->v.device, TRACK, RGVT_TRACK_CTL, &off, 4) != 4)
		return -EIO;
	b->tracking = false;
	b->count = 0;
	if (!effective_is(b, "full"))
		return -EIO;
	if ((ret = run_policy(b, NORMAL, "1 tree", frames, 2, writes, fno, alone)))
		return ret;
	for (unsigned int e = 0; e < b->extra; e++) {
		unsigned int pml4 = alloc_pages(b, 1), pdp = alloc_pages(b, 1);
		unsigned int pd = alloc_pages(b, 1), pt = alloc_pages(b, b->npt);

		table(b, pml4)[1] = PTE(pdp);
		table(b, pdp)[0] = PTE(pd);
		for (unsigned int k = 0; k < b->npt; k++) {
			table(b, pd)[k] = PTE(pt + k);
			memcpy(table(b, pt + k), table(b, b->pt0 + k), PAGE);
		}
		if ((ret = pv_create_root(b, pml4)))
			return ret;
	}
	return run_policy(b, NORMAL, "more trees", frames, 2, writes, fno, with_extra);
}

/* Set-up ------------------------------------------------------------------ */

static int setup(struct bench *b)
{
	unsigned long long id;
	long avail;
	int ret;

	b->pages = 64 + b->npt + NDATA + CTX_PAGES + RING_SIZE / PAGE + b->extra * (3 + b->npt);
	b->next_page = 1;	/* page 0 unused: address 0 names nothing */
	b->frames = calloc(RGVT_TRACK_MAX_FRAMES, sizeof(*b->frames));
	b->buf = malloc(1 << 20);
	b->msi = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!b->frames || !b->buf || b->msi < 0)
		return -ENOMEM;
	if (rgvt_available(TYPE, &avail) || avail < 1 || rgvt_uuid(b->uuid) ||
	    rgvt_mdev_create(TYPE, b->uuid)) {
		fprintf(stderr, "shadow_bench: cannot create a %s vGPU\n", TYPE);
		b->uuid[0] = '\0';
		return -EIO;
	}
	if (rgvt_vgpu_attr(b->uuid, "vgpu_id", &id) ||
	    rgvt_vgpu_attr(b->uuid, "low_gm_base", &b->low_base))
		return -EIO;
	b->id = (long)id;
	ret = rgvt_vfio_open(b->uuid, &b->v);
	if (ret) {
		fprintf(stderr, "shadow_bench: %s: %s\n", b->v.failed, strerror(-ret));
		return ret;
	}
	b->mem = mmap(NULL, b->pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b->mem == MAP_FAILED || rgvt_dma_map(&b->v, b->mem, GUEST_IOVA, b->pages * PAGE))
		return -ENOMEM;

	b->pml4 = alloc_pages(b, 1);
	b->pdp = alloc_pages(b, 1);
	b->pd = alloc_pages(b, 1);
	b->batch_pt = alloc_pages(b, 1);
	b->batch = alloc_pages(b, 1);
	b->pt0 = alloc_pages(b, b->npt);
	b->data0 = alloc_pages(b, NDATA);
	b->hwsp = alloc_pages(b, 1);
	b->ring = alloc_pages(b, RING_SIZE / PAGE);
	b->ctx = alloc_pages(b, CTX_PAGES);
	table(b, b->pml4)[1] = PTE(b->pdp);
	table(b, b->pdp)[0] = PTE(b->pd);
	for (unsigned int k = 0; k < b->npt; k++) {
		table(b, b->pd)[k] = PTE(b->pt0 + k);
		for (unsigned int i = 0; i < 512; i++)
			table(b, b->pt0 + k)[i] = PTE(massive_target(b, k, i, 0));
	}
	table(b, b->pd)[BATCH_PDE] = PTE(b->batch_pt);
	table(b, b->batch_pt)[0] = PTE(b->batch);
	if ((ret = gpu_init(b)))
		return ret;
	/* Tracking on before the first workload: its prepare shadows the tree. */
	{
		__u32 on = RGVT_TRACK_CTL_ENABLE;

		if (rgvt_region_write(b->v.device, TRACK, RGVT_TRACK_CTL, &on, 4) != 4)
			return -EIO;
	}
	b->tracking = true;
	return vmm_sync(b);
}

static void teardown(struct bench *b)
{
	rgvt_vfio_close(&b->v);
	if (b->uuid[0])
		rgvt_mdev_remove(b->uuid);
	if (b->msi >= 0)
		close(b->msi);
	free(b->frames);
	free(b->buf);
}

/* The module's sim_dma parameter: read when a vGPU is made (its shadow's kind). */
static int set_sim_dma(bool on)
{
	char path[PATH_MAX];

	return rgvt_write(rgvt_path(path, "/sys/module/%s/parameters/sim_dma", rgvt_module()),
			  on ? "Y" : "N");
}

#define NSHADOWS	2

int main(int argc, char **argv)
{
	static const char *const shadow_names[NSHADOWS] = { "sim", "pinned" };
	struct bench bs[NSHADOWS];
	unsigned int massive = 6, normal = 120, writes = 8, floor_runs = 5, rounds = 3;
	unsigned int fno[NSHADOWS] = { 1, 1 }, npt = 64, extra = 4;
	const char *shadows[NSHADOWS];
	struct row urows[2 * NSHADOWS];
	const char *accel = rgvt_getenv("RGVT_ACCEL", "unknown"), *which = "both";
	struct row rows[NSHADOWS * 2 * NPOLICIES];
	char saved[32] = "", saved_dma[8] = "", path[PATH_MAX];
	struct floor fl[NSHADOWS] = { 0 };
	size_t nrows = 0, ns = 0;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "N:m:n:w:f:r:t:s:")) != -1) {
		switch (opt) {
		case 'N': npt = strtoul(optarg, NULL, 0); break;
		case 'm': massive = strtoul(optarg, NULL, 0); break;
		case 'n': normal = strtoul(optarg, NULL, 0); break;
		case 'w': writes = strtoul(optarg, NULL, 0); break;
		case 'f': floor_runs = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 0); break;
		case 't': extra = strtoul(optarg, NULL, 0); break;
		case 's': which = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-N PT_PAGES] [-m MASSIVE_FRAMES] "
				"[-n NORMAL_FRAMES] [-w NORMAL_WRITES] [-f FLOOR_RUNS] [-r ROUNDS] "
				"[-t EXTRA_TREES] [-s both|sim|pinned]\n",
				argv[0]);
			return 2;
		}
	}
	if (!npt || npt > MAX_NPT || !rounds || massive < rounds || normal < rounds ||
	    !floor_runs || !extra || extra > 16) {
		fprintf(stderr, "shadow_bench: -N 1..%d, -t 1..16, at least one frame per round "
			"and one floor run\n", MAX_NPT);
		return 2;
	}
	for (size_t s = 0; s < NSHADOWS; s++)
		if (!strcmp(which, "both") || !strcmp(which, shadow_names[s]))
			shadows[ns++] = shadow_names[s];
	if (!ns) {
		fprintf(stderr, "shadow_bench: -s both, sim or pinned\n");
		return 2;
	}
	if (!rgvt_module_loaded()) {
		fprintf(stderr, "shadow_bench: module %s is not loaded\n", rgvt_module());
		return 4;
	}
	rgvt_read(POLICY_PATH, saved, sizeof(saved));
	rgvt_read(rgvt_path(path, "/sys/module/%s/parameters/sim_dma", rgvt_module()), saved_dma,
		  sizeof(saved_dma));
	for (size_t s = 0; s < NSHADOWS; s++)
		bs[s] = (struct bench){ .v = RGVT_VFIO_CLOSED, .npt = npt, .msi = -1, .rng = 11,
					.extra = extra, .shadow = shadows[s] };
	/* One vGPU per shadow: sim_dma is read when the vGPU is made. */
	for (size_t s = 0; s < ns && !ret; s++) {
		ret = set_sim_dma(strcmp(shadows[s], "sim") != 0);
		if (ret)
			fprintf(stderr, "shadow_bench: cannot set sim_dma: %s\n", strerror(-ret));
		else
			ret = setup(&bs[s]);
		if (ret)
			fprintf(stderr, "shadow_bench: %s set-up failed: %s\n", shadows[s],
				strerror(-ret));
	}
	if (ret)
		goto out;
	printf("rgvt shadow bench (kernel): one %s vGPU per shadow (%s) through the tracking "
	       "region, QEMU accel %s\n", TYPE,
	       ns > 1 ? "sim: short pins; pinned: sim_dma, guest pages held in the books" :
	       shadows[0], accel);
	printf("massive: every PTE of %u PT pages rewritten per frame (%u PTEs), %u frames; "
	       "normal: %u PTE writes per frame, %u frames; a workload of %u stores per frame; "
	       "shadows and policies round-robin in %u rounds, 2 warm-up frames after each "
	       "switch\n", npt, npt * 512, massive / rounds * rounds, writes,
	       normal / rounds * rounds, npt, rounds);
	if (strcmp(accel, "kvm"))
		printf("NOTE: QEMU TCG inflates every time; compare rows with each other.\n");
	/*
	 * Shadows and policies round-robin, rounds times, so that a change in
	 * the host's load (TCG runs at whatever speed the host gives it) falls
	 * on every row alike.
	 */
	memset(rows, 0, sizeof(rows));
	memset(urows, 0, sizeof(urows));
	for (int t = MASSIVE; t <= NORMAL && !ret; t++) {
		unsigned int per_round = (t == MASSIVE ? massive : normal) / rounds;

		for (unsigned int round = 0; round < rounds && !ret; round++)
			for (size_t s = 0; s < ns && !ret; s++)
				for (size_t p = 0; p < NPOLICIES && !ret; p++)
					ret = run_policy(&bs[s], t, policies[p], per_round, 2, writes,
							 &fno[s],
							 &rows[(s * 2 + t) * NPOLICIES + p]);
		/* The floor over the pages the massive trace rewrites, as they are now. */
		for (size_t s = 0; s < ns && !ret && t == MASSIVE; s++)
			ret = floor_run(&bs[s], floor_runs, &fl[s]);
	}
	for (size_t s = 0; s < ns && !ret; s++)
		ret = run_untracked(&bs[s], normal / rounds, writes, &fno[s], &urows[2 * s],
				    &urows[2 * s + 1]);
	nrows = ns * 2 * NPOLICIES;
	for (size_t i = 0; !ret && i < nrows; i++)
		per_frame(&rows[i]);
	for (size_t i = 0; !ret && i < 2 * ns; i++)
		per_frame(&urows[i]);
	if (ret) {
		fprintf(stderr, "shadow_bench: stopped: %s\n", strerror(-ret));
		goto out;
	}
	print_rows(rows, nrows);
	for (size_t s = 0; s < ns; s++)
		printf("floor %-6s (translation: %s): %llu PT pages, %llu PTEs read, translated "
		       "and written in %llu ns: %.1f ns/PTE (without the translation: %.1f ns/PTE"
		       "; %llu not held)\n", shadows[s],
		       strcmp(shadows[s], "sim") ? "books lookup, a cache hit" : "short pin",
		       fl[s].pages, fl[s].ptes, fl[s].ns, (double)fl[s].ns / fl[s].ptes,
		       (double)fl[s].copy_ns / fl[s].ptes, fl[s].misses);
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].traps > 0)
			printf("%-7s %-8s %-10s per trap: %.1f ns in the kernel, %.1f ns "
			       "guest-visible\n", rows[i].shadow, rows[i].trace, rows[i].policy,
			       rows[i].trap_ns / rows[i].traps, rows[i].guest / rows[i].traps);
	/* The median frame's, traps included (segmented's are 2% of its time). */
	for (size_t i = 0; i < nrows; i++) {
		size_t s = i / (2 * NPOLICIES);
		double floor_pte = (double)fl[s].ns / fl[s].ptes;

		if (!strcmp(rows[i].trace, "massive") && rows[i].rebuilt > 0)
			printf("%-7s massive %-10s mediation per PTE rebuilt %.1f ns = %.2fx floor\n",
			       rows[i].shadow, rows[i].policy, rows[i].mediation_med / rows[i].rebuilt,
			       rows[i].mediation_med / rows[i].rebuilt / floor_pte);
	}
	for (size_t s = 0; s < ns; s++) {
		printf("%s, untracked (region off: full, the workload's tree compared before it), "
		       "normal trace, %u frames:\n", shadows[s], urows[2 * s].frames);
		for (size_t i = 0; i < 2; i++)
			printf("  %u tree%s: %.0f PTEs compared and %.0f ns reconstructing per frame "
			       "(median)\n", i ? 1 + extra : 1, i ? "s" : "",
			       urows[2 * s + i].compared, urows[2 * s + i].mediation_med);
	}
	for (size_t s = 0; s < ns; s++) {
		printf("%s workloads: %llu stores checked, %llu wrong; %llu list syncs\n", shadows[s],
		       bs[s].stores, bs[s].bad_stores, bs[s].syncs);
		if (bs[s].bad_stores)
			ret = -EIO;
	}
	print_json(rows, nrows, fl, shadows, ns, accel, npt, writes, urows, extra);
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].med_samples);
		free(rows[i].guest_samples);
	}
	for (size_t i = 0; i < 2 * ns; i++) {
		free(urows[i].med_samples);
		free(urows[i].guest_samples);
	}
out:
	for (size_t s = 0; s < ns; s++)
		teardown(&bs[s]);
	if (saved[0])
		rgvt_write(POLICY_PATH, saved);
	if (saved_dma[0])
		set_sim_dma(saved_dma[0] == 'Y');
	return ret ? 1 : 0;
}
