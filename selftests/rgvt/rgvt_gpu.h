/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small user-space gen9 GPU driver for rgvt's simulated engines, through
 * VFIO only: one vGPU, its guest memory, GGTT entries in low and high GM,
 * one 4-level PPGTT, one execlist context per engine, batches, submission
 * and completion. It programs the vGPU as i915 programs a Skylake GT2 in
 * execlist mode (rgvt_engine.c states the details and checks each of them);
 * it is shared by the tests that run many guests at once (rgvt_multi.c) and
 * by the benchmarks, so the API is kept small:
 *
 *   struct rgvt_gpu g;
 *   rgvt_gpu_open(&g, uuid, pages);      VFIO open, guest memory, contexts,
 *                                        execlists on every engine
 *   p  = rgvt_gpu_alloc(&g, n);          n zeroed guest pages (an index)
 *   gm = rgvt_gpu_map_low(&g, p, n);     GGTT entries in low GM (aperture)
 *   gm = rgvt_gpu_map_high(&g, p, n);    GGTT entries in high GM
 *   va = rgvt_gpu_ppgtt_alloc(&g, n);    n fresh pages at a PPGTT address
 *   rgvt_gpu_host(&g, p) / rgvt_gpu_va_host(&g, va)   the CPU's view
 *   b  = rgvt_gpu_batch_ggtt(&g, p, gm)  a batch in page p at GGTT gm
 *   b  = rgvt_gpu_batch_ppgtt(&g, n)     a batch of n pages in the PPGTT
 *   rgvt_batch_store(&b, addr, v, ggtt); rgvt_batch_end(&b);
 *   rgvt_gpu_submit(&g, engine, b.addr, b.ggtt);   ring + ELSP
 *   rgvt_gpu_wait(&g, engine, ms)        1: complete, 0: not within ms of
 *                                        the ELSP write
 *   rgvt_gpu_close(&g);
 *
 * For the tests that check the driver's every step (rgvt_engine.c), the
 * steps are also there one by one: rgvt_gpu_ppgtt_map() / rgvt_gpu_pte_of()
 * (the guest's own PTEs), rgvt_gpu_ctx_image_init(), rgvt_gpu_engine_resume()
 * and rgvt_gpu_irq_enable() (after an engine reset), rgvt_gpu_reinit() (after
 * a device reset or a DMA unmap), rgvt_gpu_ring_emit() / rgvt_gpu_ring_batch()
 * / rgvt_gpu_ctx_submit() / rgvt_gpu_elsp() (ring and ELSP), and
 * rgvt_gpu_wait_ctx(), which records every context-status event and
 * interrupt it saw (struct rgvt_gpu_done).
 *
 * Errors are returned as -errno (or ~0ULL for addresses); nothing here
 * asserts, so it can run in forked children. Completion is read from the
 * context-status mirror in the status page, woken by the MSI (an eventfd;
 * the GT interrupts of every engine unmasked, acked as i915 acks them).
 */
#ifndef RGVT_GPU_H
#define RGVT_GPU_H

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"

#define RGVT_GPU_PAGE		4096ULL
#define RGVT_GPU_IOVA		0x10000000ULL
#define RGVT_GPU_RING_SIZE	(4 * RGVT_GPU_PAGE)
#define RGVT_GPU_PTE(gfn)	(((__u64)(gfn) << 12) | 1ULL)	/* GGTT, present */

enum { RGVT_RCS, RGVT_BCS, RGVT_VCS, RGVT_VECS, RGVT_NENGINES };

struct rgvt_gpu_engine {
	const char *name;
	__u32 base;
	bool rcs;
	unsigned int bank;	/* GT interrupt bank */
	unsigned int shift;	/* the engine's bits in it: IIR >> shift & 0xffff */
};

static const struct rgvt_gpu_engine rgvt_gpu_engines[RGVT_NENGINES] = {
	[RGVT_RCS] = { "rcs0", 0x2000, true, 0, 0 },
	[RGVT_BCS] = { "bcs0", 0x22000, false, 0, 16 },
	[RGVT_VCS] = { "vcs0", 0x12000, false, 1, 0 },
	[RGVT_VECS] = { "vecs0", 0x1a000, false, 3, 0 },
};

/* One logical ring context on one engine, with its ring and status page. */
struct rgvt_gpu_ctx {
	const struct rgvt_gpu_engine *e;
	unsigned int hwsp_page, ring_page, ctx_page, ctx_pages;
	__u64 hwsp_gm, ring_gm, lrca;
	__u32 ccid;
	__u32 tail;		/* ring offset of the next command */
	unsigned int csb_head;	/* last CSB entry read */
};

struct rgvt_gpu {
	struct rgvt_vfio vfio;
	long id;			/* vgpu_id: debugfs vgpu<id>/ */
	unsigned long long low_base, low_size, high_base, high_size;
	unsigned char *mem;		/* guest memory, at RGVT_GPU_IOVA */
	unsigned int pages, next_page;
	__u64 next_low, next_high;	/* next free GM page of each range */
	unsigned int pml4_page;
	__u64 next_va;
	struct rgvt_gpu_ctx ctx[RGVT_NENGINES];
	int msi;			/* eventfd of the MSI, -1 if none */
	struct timespec t_submit;	/* the last ELSP write */
};

/* What rgvt_gpu_wait_ctx() saw of one submission. */
struct rgvt_gpu_done {
	bool complete;		/* a COMPLETE / ACTIVE_IDLE event for the context */
	__u32 status;		/* its status dword */
	unsigned int events;	/* CSB entries read */
	__u32 ev_status[8], ev_id[8];	/* the first 8 of them */
	unsigned int irqs;	/* MSI signals */
	__u32 iir;		/* GT IIR bits of the engine seen while waiting */
	double ms;		/* ELSP write to the event */
};

static inline __u64 rgvt_gpu_gpa(unsigned int page)
{
	return RGVT_GPU_IOVA + page * RGVT_GPU_PAGE;
}

/* The CPU's view of guest page page. */
static inline void *rgvt_gpu_host(struct rgvt_gpu *g, unsigned int page)
{
	return g->mem + page * RGVT_GPU_PAGE;
}

/* n fresh zeroed guest pages (a bump allocator); -1U when out of memory. */
static inline unsigned int rgvt_gpu_alloc(struct rgvt_gpu *g, unsigned int n)
{
	unsigned int p = g->next_page;

	if (p + n > g->pages)
		return -1U;
	g->next_page += n;
	memset(rgvt_gpu_host(g, p), 0, n * RGVT_GPU_PAGE);
	return p;
}

static inline int rgvt_gpu_mmio_write(struct rgvt_gpu *g, __u32 off, __u32 v)
{
	return rgvt_region_write(g->vfio.device, VFIO_PCI_BAR0_REGION_INDEX, off, &v, 4) == 4 ?
	       0 : -EIO;
}

static inline __u32 rgvt_gpu_mmio_read(struct rgvt_gpu *g, __u32 off)
{
	__u32 v;

	if (rgvt_region_read(g->vfio.device, VFIO_PCI_BAR0_REGION_INDEX, off, &v, 4) != 4)
		return 0xdeadbeef;
	return v;
}

/* Writes the GGTT entry of GM address gm (BAR0's GGTT window). */
static inline int rgvt_gpu_ggtt_set(struct rgvt_gpu *g, __u64 gm, __u64 pte)
{
	__u64 off = RGVT_GGTT_OFFSET + gm / RGVT_GPU_PAGE * RGVT_GGTT_ENTRY_SIZE;

	return rgvt_region_write(g->vfio.device, VFIO_PCI_BAR0_REGION_INDEX, off, &pte, 8) == 8 ?
	       0 : -EIO;
}

static inline __u64 rgvt_gpu_map_at(struct rgvt_gpu *g, __u64 gm, unsigned int page,
				    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (rgvt_gpu_ggtt_set(g, gm + i * RGVT_GPU_PAGE,
				      RGVT_GPU_PTE(rgvt_gpu_gpa(page + i) / RGVT_GPU_PAGE)))
			return ~0ULL;
	return gm;
}

/* Maps n guest pages from page at fresh low-GM pages; the GM address. */
static inline __u64 rgvt_gpu_map_low(struct rgvt_gpu *g, unsigned int page, unsigned int n)
{
	__u64 gm = g->low_base + g->next_low * RGVT_GPU_PAGE;

	if ((g->next_low + n) * RGVT_GPU_PAGE > g->low_size)
		return ~0ULL;
	g->next_low += n;
	return rgvt_gpu_map_at(g, gm, page, n);
}

/*
 * Maps n guest pages from page at fresh high-GM pages; the GM address.
 * stride spreads successive calls over the range (each call starts stride
 * pages after the previous one), so they land in different slots.
 */
static inline __u64 rgvt_gpu_map_high(struct rgvt_gpu *g, unsigned int page, unsigned int n,
				      unsigned int stride)
{
	__u64 gm = g->high_base + g->next_high * RGVT_GPU_PAGE;

	if ((g->next_high + n) * RGVT_GPU_PAGE > g->high_size)
		return ~0ULL;
	g->next_high += n > stride ? n : stride;
	return rgvt_gpu_map_at(g, gm, page, n);
}

/* The PPGTT --------------------------------------------------------------- */

static inline __u64 *rgvt_gpu_pt_slot(struct rgvt_gpu *g, unsigned int tp, __u64 va, int level)
{
	return (__u64 *)rgvt_gpu_host(g, tp) + ((va >> (12 + 9 * level)) & 511);
}

/* The PTE of va, allocating tables on the way when alloc; NULL if absent. */
static inline __u64 *rgvt_gpu_pte_of(struct rgvt_gpu *g, __u64 va, bool alloc)
{
	unsigned int tp = g->pml4_page;
	int level;

	for (level = 3; level > 0; level--) {
		__u64 *e = rgvt_gpu_pt_slot(g, tp, va, level);

		if (!(*e & PPGTT_PRESENT)) {
			unsigned int p;

			if (!alloc)
				return NULL;
			p = rgvt_gpu_alloc(g, 1);
			if (p == -1U)
				return NULL;
			*e = rgvt_gpu_gpa(p) | PPGTT_RW | PPGTT_PRESENT;
		}
		tp = ((*e & PPGTT_ADDR) - RGVT_GPU_IOVA) / RGVT_GPU_PAGE;
	}
	return rgvt_gpu_pt_slot(g, tp, va, 0);
}

/*
 * Points the PTE of va at guest-physical addr (gen8: address | RW |
 * PRESENT), allocating the tables on the way; 0 or -ENOMEM.
 */
static inline int rgvt_gpu_ppgtt_map(struct rgvt_gpu *g, __u64 va, __u64 addr)
{
	__u64 *pte = rgvt_gpu_pte_of(g, va, true);

	if (!pte)
		return -ENOMEM;
	*pte = addr | PPGTT_RW | PPGTT_PRESENT;
	return 0;
}

/* The CPU's view of PPGTT address va, as the guest's own tables say. */
static inline void *rgvt_gpu_va_host(struct rgvt_gpu *g, __u64 va)
{
	__u64 *pte = rgvt_gpu_pte_of(g, va, false), addr;

	if (!pte || !(*pte & PPGTT_PRESENT))
		return NULL;
	addr = *pte & PPGTT_ADDR;
	if (addr < RGVT_GPU_IOVA || addr >= RGVT_GPU_IOVA + g->pages * RGVT_GPU_PAGE)
		return NULL;
	return g->mem + (addr - RGVT_GPU_IOVA) + (va & (RGVT_GPU_PAGE - 1));
}

/* n fresh pages at a fresh PPGTT address (a hole after each); 0 on failure. */
static inline __u64 rgvt_gpu_ppgtt_alloc(struct rgvt_gpu *g, unsigned int n)
{
	__u64 va = g->next_va;
	unsigned int p = rgvt_gpu_alloc(g, n), i;

	if (p == -1U)
		return 0;
	for (i = 0; i < n; i++)
		if (rgvt_gpu_ppgtt_map(g, va + i * RGVT_GPU_PAGE, rgvt_gpu_gpa(p + i)))
			return 0;
	g->next_va += (n + 1) * RGVT_GPU_PAGE;
	return va;
}

/* Batches ----------------------------------------------------------------- */

struct rgvt_batch {
	__u64 addr;		/* GPU address of the first command */
	bool ggtt;		/* in the GGTT (privileged, from the ring) */
	__u32 *start, *cs;
};

/* A batch in guest page page, mapped at GGTT address gm. */
static inline struct rgvt_batch rgvt_gpu_batch_ggtt(struct rgvt_gpu *g, unsigned int page,
						    __u64 gm)
{
	struct rgvt_batch b = { .addr = gm, .ggtt = true };

	b.start = b.cs = rgvt_gpu_host(g, page);
	return b;
}

/* A batch of n fresh pages in the PPGTT (start NULL on failure). */
static inline struct rgvt_batch rgvt_gpu_batch_ppgtt(struct rgvt_gpu *g, unsigned int n)
{
	struct rgvt_batch b = { .addr = rgvt_gpu_ppgtt_alloc(g, n) };

	b.start = b.cs = b.addr ? rgvt_gpu_va_host(g, b.addr) : NULL;
	return b;
}

/* MI_STORE_DWORD_IMM of v at addr, a GGTT address when ggtt. */
static inline void rgvt_batch_store(struct rgvt_batch *b, __u64 addr, __u32 v, bool ggtt)
{
	*b->cs++ = MI_STORE_DWORD_IMM_GEN4 | (ggtt ? MI_USE_GGTT : 0);
	*b->cs++ = (__u32)addr;
	*b->cs++ = addr >> 32;
	*b->cs++ = v;
}

static inline void rgvt_batch_end(struct rgvt_batch *b)
{
	*b->cs++ = MI_BATCH_BUFFER_END;
	if ((b->cs - b->start) & 1)
		*b->cs++ = MI_NOOP;
}

/* Contexts and submission ---------------------------------------------------- */

static inline __u32 *rgvt_gpu_hwsp(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c)
{
	return rgvt_gpu_host(g, c->hwsp_page);
}

/*
 * A fresh context image (rgvt_lrc_init(): the ring, PDP0 = the PPGTT root
 * g->pml4_page) and an empty ring.
 */
static inline void rgvt_gpu_ctx_image_init(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c)
{
	memset(rgvt_gpu_host(g, c->ctx_page), 0, c->ctx_pages * RGVT_GPU_PAGE);
	rgvt_lrc_init(rgvt_gpu_host(g, c->ctx_page + 1), c->e->rcs, c->e->base, (__u32)c->ring_gm,
		      RGVT_GPU_RING_SIZE, rgvt_gpu_gpa(g->pml4_page));
	c->tail = 0;
}

/*
 * enable_execlists() and the CSB pointers as reset_csb_pointers() leaves
 * them, for one engine; -EIO if a write failed or RING_HWS_PGA does not
 * read back.
 */
static inline int rgvt_gpu_engine_resume(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c)
{
	__u32 base = c->e->base, *s = rgvt_gpu_hwsp(g, c);
	unsigned int i;
	int ret = 0;

	ret |= rgvt_gpu_mmio_write(g, base + RING_HWSTAM, ~0U);
	ret |= rgvt_gpu_mmio_write(g, base + RING_MODE_GEN7, MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
	ret |= rgvt_gpu_mmio_write(g, base + RING_MI_MODE, MASKED_DISABLE(STOP_RING));
	ret |= rgvt_gpu_mmio_write(g, base + RING_HWS_PGA, (__u32)c->hwsp_gm);
	if (rgvt_gpu_mmio_read(g, base + RING_HWS_PGA) != (__u32)c->hwsp_gm)
		ret = -EIO;
	for (i = 0; i < 2 * CSB_ENTRIES; i++)
		s[I915_HWS_CSB_BUF0_INDEX + i] = ~0U;
	c->csb_head = CSB_ENTRIES - 1;
	__atomic_store_n(&s[I915_HWS_CSB_WRITE_INDEX], CSB_ENTRIES - 1, __ATOMIC_RELEASE);
	ret |= rgvt_gpu_mmio_write(g, base + RING_CONTEXT_STATUS_PTR,
				   0xffffU << 16 | (CSB_ENTRIES - 1) << 8 | (CSB_ENTRIES - 1));
	return ret ? -EIO : 0;
}

/* A zeroed status page and ring, a fresh context image, execlists on. */
static inline int rgvt_gpu_engine_init(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c)
{
	memset(rgvt_gpu_hwsp(g, c), 0, RGVT_GPU_PAGE);
	memset(rgvt_gpu_host(g, c->ring_page), 0, RGVT_GPU_RING_SIZE);
	rgvt_gpu_ctx_image_init(g, c);
	return rgvt_gpu_engine_resume(g, c);
}

/* gen8_gt_irq_postinstall for the four engines (IIR cleared, IER, IMR, master). */
static inline int rgvt_gpu_irq_enable(struct rgvt_gpu *g)
{
	__u32 bits = GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT;
	__u32 want[4] = { bits | bits << 16, bits, 0, bits };
	int n, ret = 0;

	for (n = 0; n < 4; n++) {
		ret |= rgvt_gpu_mmio_write(g, GEN8_GT_IIR(n), ~0U);
		ret |= rgvt_gpu_mmio_write(g, GEN8_GT_IER(n), want[n]);
		ret |= rgvt_gpu_mmio_write(g, GEN8_GT_IMR(n), ~want[n]);
	}
	ret |= rgvt_gpu_mmio_write(g, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
	return ret ? -EIO : 0;
}

/*
 * The MSI on g->msi (an eventfd, made here the first time) and the GT
 * interrupts (rgvt_gpu_irq_enable()).
 */
static inline int rgvt_gpu_irq_init(struct rgvt_gpu *g)
{
	int ret;

	if (g->msi < 0)
		g->msi = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->msi < 0)
		return -errno;
	ret = rgvt_msi_eventfd(g->vfio.device, g->msi);
	return ret ? ret : rgvt_gpu_irq_enable(g);
}

/*
 * gen8_gt_irq_handler's ack of one bank: master off, IIR written back, on.
 * Returns the bank's IIR (0 if unreadable).
 */
static inline __u32 rgvt_gpu_irq_ack(struct rgvt_gpu *g, unsigned int bank)
{
	__u32 iir;

	rgvt_gpu_mmio_write(g, GEN8_MASTER_IRQ, 0);
	iir = rgvt_gpu_mmio_read(g, GEN8_GT_IIR(bank));
	if (iir && iir != 0xdeadbeef)
		rgvt_gpu_mmio_write(g, GEN8_GT_IIR(bank), iir);
	rgvt_gpu_mmio_write(g, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
	return iir == 0xdeadbeef ? 0 : iir;
}

static inline void rgvt_gpu_close(struct rgvt_gpu *g)
{
	rgvt_vfio_close(&g->vfio);
	if (g->msi >= 0)
		close(g->msi);
	g->msi = -1;
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, g->pages * RGVT_GPU_PAGE);
	g->mem = NULL;
}

/*
 * Opens vGPU uuid through VFIO with pages of guest memory (page 0 unused,
 * so no address is 0), and sets up a context per engine in low GM and the
 * PPGTT root. Returns 0 or -errno (everything closed).
 */
static inline int rgvt_gpu_open(struct rgvt_gpu *g, const char *uuid, unsigned int pages)
{
	unsigned long long id;
	int i, ret;

	memset(g, 0, sizeof(*g));
	g->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	g->msi = -1;
	g->pages = pages;
	if ((ret = rgvt_vgpu_attr(uuid, "vgpu_id", &id)) ||
	    (ret = rgvt_vgpu_attr(uuid, "low_gm_base", &g->low_base)) ||
	    (ret = rgvt_vgpu_attr(uuid, "low_gm_size", &g->low_size)) ||
	    (ret = rgvt_vgpu_attr(uuid, "high_gm_base", &g->high_base)) ||
	    (ret = rgvt_vgpu_attr(uuid, "high_gm_size", &g->high_size)))
		return ret;
	g->id = id;
	ret = rgvt_vfio_open(uuid, &g->vfio);
	if (ret)
		return ret;
	g->mem = mmap(NULL, pages * RGVT_GPU_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	ret = rgvt_dma_map(&g->vfio, g->mem, RGVT_GPU_IOVA, pages * RGVT_GPU_PAGE);
	if (ret)
		goto fail;
	g->next_page = 1;
	g->pml4_page = rgvt_gpu_alloc(g, 1);
	/* PML4 slot 0x24, PDP slot 0x1d, PD slot 0x123: all four levels used. */
	g->next_va = 0x0000123456000000ULL;
	ret = -ENOMEM;
	for (i = 0; i < RGVT_NENGINES; i++) {
		struct rgvt_gpu_ctx *c = &g->ctx[i];

		c->e = &rgvt_gpu_engines[i];
		c->ccid = 0x100 + i * 0x10 + 1;
		c->ctx_pages = c->e->rcs ? 22 : 2;
		c->hwsp_page = rgvt_gpu_alloc(g, 1);
		c->ring_page = rgvt_gpu_alloc(g, RGVT_GPU_RING_SIZE / RGVT_GPU_PAGE);
		c->ctx_page = rgvt_gpu_alloc(g, c->ctx_pages);
		if (c->hwsp_page == -1U || c->ring_page == -1U || c->ctx_page == -1U)
			goto fail;
		c->hwsp_gm = rgvt_gpu_map_low(g, c->hwsp_page, 1);
		c->ring_gm = rgvt_gpu_map_low(g, c->ring_page, RGVT_GPU_RING_SIZE / RGVT_GPU_PAGE);
		c->lrca = rgvt_gpu_map_low(g, c->ctx_page, c->ctx_pages);
		ret = -EIO;
		if (c->hwsp_gm == ~0ULL || c->ring_gm == ~0ULL || c->lrca == ~0ULL)
			goto fail;
		ret = rgvt_gpu_engine_init(g, c);
		if (ret)
			goto fail;
	}
	ret = rgvt_gpu_irq_init(g);
	if (ret)
		goto fail;
	return 0;
fail:
	rgvt_gpu_close(g);
	return ret;
}

/*
 * Everything a driver sets up again after a device reset (or after the VMM
 * unmapped guest memory, which puts the GGTT on scratch): the GGTT entries
 * of the status pages, rings and contexts at their low-GM addresses, every
 * engine afresh, interrupts and the MSI. 0 or -EIO.
 */
static inline int rgvt_gpu_reinit(struct rgvt_gpu *g)
{
	int i, ret = 0;

	for (i = 0; i < RGVT_NENGINES; i++) {
		struct rgvt_gpu_ctx *c = &g->ctx[i];

		if (rgvt_gpu_map_at(g, c->hwsp_gm, c->hwsp_page, 1) == ~0ULL ||
		    rgvt_gpu_map_at(g, c->ring_gm, c->ring_page,
				    RGVT_GPU_RING_SIZE / RGVT_GPU_PAGE) == ~0ULL ||
		    rgvt_gpu_map_at(g, c->lrca, c->ctx_page, c->ctx_pages) == ~0ULL)
			return -EIO;
		ret |= rgvt_gpu_engine_init(g, c);
	}
	ret |= rgvt_gpu_irq_init(g);
	return ret ? -EIO : 0;
}

static inline void rgvt_gpu_ring_emit(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, __u32 dw)
{
	__u32 *ring = rgvt_gpu_host(g, c->ring_page);

	ring[c->tail / 4] = dw;
	c->tail = (c->tail + 4) % RGVT_GPU_RING_SIZE;
}

/* Ring commands that run the batch at addr (PPGTT unless ggtt), tail qword aligned. */
static inline void rgvt_gpu_ring_batch(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, __u64 addr,
				       bool ggtt)
{
	rgvt_gpu_ring_emit(g, c, MI_ARB_CHECK);
	rgvt_gpu_ring_emit(g, c, MI_BATCH_BUFFER_START_GEN8 | (ggtt ? 0 : MI_BATCH_PPGTT));
	rgvt_gpu_ring_emit(g, c, (__u32)addr);
	rgvt_gpu_ring_emit(g, c, addr >> 32);
	if (c->tail & 7)
		rgvt_gpu_ring_emit(g, c, MI_NOOP);
}

/* The context's word idx of its register state page, as the engine saved it. */
static inline __u32 rgvt_gpu_ctx_reg(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, int idx)
{
	__u32 *regs = rgvt_gpu_host(g, c->ctx_page + 1);

	return __atomic_load_n(&regs[idx], __ATOMIC_ACQUIRE);
}

static inline void rgvt_gpu_ctx_reg_set(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, int idx,
					__u32 v)
{
	__u32 *regs = rgvt_gpu_host(g, c->ctx_page + 1);

	__atomic_store_n(&regs[idx], v, __ATOMIC_RELEASE);
}

static inline __u64 rgvt_gpu_ctx_desc(const struct rgvt_gpu_ctx *c)
{
	return rgvt_ctx_desc((__u32)c->lrca, c->ccid);
}

/*
 * ELSP of engine c->e (as execlists_submit_ports() writes it): element 1's
 * descriptor d1 (0: none), then element 0's d0. Notes the time in
 * g->t_submit.
 */
static inline int rgvt_gpu_elsp(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, __u64 d1, __u64 d0)
{
	__u32 elsp = c->e->base + RING_ELSP;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &g->t_submit);
	ret |= rgvt_gpu_mmio_write(g, elsp, d1 >> 32);
	ret |= rgvt_gpu_mmio_write(g, elsp, (__u32)d1);
	ret |= rgvt_gpu_mmio_write(g, elsp, d0 >> 32);
	ret |= rgvt_gpu_mmio_write(g, elsp, (__u32)d0);
	return ret ? -EIO : 0;
}

/*
 * lrc_update_regs() for context c going in (its ring tail in the image),
 * then ELSP with c in element 0 and nothing in element 1.
 */
static inline int rgvt_gpu_ctx_submit(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c)
{
	rgvt_gpu_ctx_reg_set(g, c, CTX_RING_TAIL, c->tail);
	return rgvt_gpu_elsp(g, c, 0, rgvt_gpu_ctx_desc(c));
}

/*
 * Runs the batch at addr (a GGTT address when ggtt) on engine: ring
 * commands, the context's tail in its image, ELSP with the context in
 * element 0. Completion: rgvt_gpu_wait().
 */
static inline int rgvt_gpu_submit(struct rgvt_gpu *g, int engine, __u64 addr, bool ggtt)
{
	struct rgvt_gpu_ctx *c = &g->ctx[engine];

	rgvt_gpu_ring_batch(g, c, addr, ggtt);
	return rgvt_gpu_ctx_submit(g, c);
}

static inline double rgvt_gpu_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* One MSI, if it came within timeout_ms: counted and acked, c's IIR bits noted. */
static inline void rgvt_gpu_poll_msi(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c, int timeout_ms,
				     struct rgvt_gpu_done *d)
{
	struct pollfd p = { .fd = g->msi, .events = POLLIN };
	__u64 n;

	if (poll(&p, 1, timeout_ms) == 1 && read(g->msi, &n, 8) == 8) {
		d->irqs += n;
		d->iir |= rgvt_gpu_irq_ack(g, c->e->bank) >> c->e->shift & 0xffff;
	}
}

/* Up to 10 ms for an MSI (rgvt_gpu_poll_msi()); 200 us without one. */
static inline void rgvt_gpu_sleep_msi(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c,
				      struct rgvt_gpu_done *d)
{
	if (g->msi >= 0)
		rgvt_gpu_poll_msi(g, c, 10, d);
	else
		usleep(200);
}

/*
 * Waits until timeout_ms after the last ELSP write (g->t_submit) for the
 * context-status event that takes context c out (COMPLETE or ACTIVE_IDLE
 * with its ID), reading the CSB mirror as process_csb() does, on each MSI
 * and every 10 ms anyway (an interrupt may be shared, or missing: that
 * shows as irqs == 0 rather than a hang). Returns what it saw.
 *
 * With want_irq (rgvt_engine.c, which checks the interrupts), every MSI is
 * taken before the CSB is read and an event that came before its MSI waits
 * up to 100 ms more for it; without (rgvt_gpu_wait()), the CSB is read first
 * and the MSI only wakes the wait, for the least latency.
 */
static inline struct rgvt_gpu_done rgvt_gpu_wait_ctx(struct rgvt_gpu *g, struct rgvt_gpu_ctx *c,
						     int timeout_ms, bool want_irq)
{
	struct rgvt_gpu_done d = { 0 };
	__u32 *s = rgvt_gpu_hwsp(g, c);

	while (rgvt_gpu_ms(&g->t_submit) < timeout_ms) {
		unsigned int wp;

		if (want_irq)
			rgvt_gpu_sleep_msi(g, c, &d);
		wp = __atomic_load_n(&s[I915_HWS_CSB_WRITE_INDEX], __ATOMIC_ACQUIRE) & 7;
		while (wp < CSB_ENTRIES && c->csb_head != wp) {
			__u32 status, id;

			c->csb_head = (c->csb_head + 1) % CSB_ENTRIES;
			status = s[I915_HWS_CSB_BUF0_INDEX + 2 * c->csb_head];
			id = s[I915_HWS_CSB_BUF0_INDEX + 2 * c->csb_head + 1];
			if (d.events < 8) {
				d.ev_status[d.events] = status;
				d.ev_id[d.events] = id;
			}
			d.events++;
			if (id == c->ccid &&
			    status & (CTX_STATUS_COMPLETE | CTX_STATUS_ACTIVE_IDLE)) {
				d.complete = true;
				d.status = status;
			}
		}
		if (d.complete) {
			d.ms = rgvt_gpu_ms(&g->t_submit);
			/* The interrupt may trail the status page by a moment. */
			if (want_irq && !d.irqs && g->msi >= 0)
				rgvt_gpu_poll_msi(g, c, 100, &d);
			return d;
		}
		if (!want_irq)
			rgvt_gpu_sleep_msi(g, c, &d);
	}
	d.ms = rgvt_gpu_ms(&g->t_submit);
	return d;
}

/*
 * Waits up to timeout_ms after the last ELSP write for engine's context to
 * go out (rgvt_gpu_wait_ctx()). Returns 1 when it did, 0 on timeout.
 */
static inline int rgvt_gpu_wait(struct rgvt_gpu *g, int engine, int timeout_ms)
{
	return rgvt_gpu_wait_ctx(g, &g->ctx[engine], timeout_ms, false).complete;
}

#endif /* RGVT_GPU_H */
