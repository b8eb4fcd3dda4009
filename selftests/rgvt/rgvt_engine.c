// SPDX-License-Identifier: GPL-2.0
/*
 * A user-space GPU driver for rgvt's simulated engines, through VFIO only
 * (no i915 in sight): it programs the vGPU the way i915 programs a real
 * Skylake GT2 in execlist mode, so this file is the specification of what
 * the engine must do. If the engine disagrees with a real GPU, the engine is
 * wrong.
 *
 * Set-up (as i915's intel_execlists_submission.c and intel_lrc.c do it):
 * - guest memory: an anonymous buffer mapped with VFIO_IOMMU_MAP_DMA at
 *   GUEST_IOVA (guest-physical = IOVA), plus a canary page inside it that no
 *   table ever names and a buffer outside it that is never mapped;
 * - per engine: a status page (RING_HWS_PGA, base + 0x80), a 16 KB ring and
 *   a logical ring context (PPHWSP page, then the register state page laid
 *   out by i915's gen9 offset tables: MI_LOAD_REGISTER_IMM headers and
 *   (register, value) pairs, RING_START/HEAD/TAIL/CTL, PDP0 = the PML4),
 *   all in the vGPU's low GM through GGTT entries written in BAR0;
 * - one 4-level PPGTT in guest memory (PML4 -> PDP -> PD -> PT, gen8 entry
 *   format: address | RW | PRESENT), whose batches and targets the test
 *   places at canonical 48-bit addresses that use all four levels;
 * - RING_MODE execlists enable (GFX_RUN_LIST_ENABLE), MI_MODE STOP_RING off,
 *   the CSB pointers reset as reset_csb_pointers() does;
 * - interrupts: an MSI eventfd (VFIO_DEVICE_SET_IRQS), GT IER/IMR for the
 *   user and context-switch events of each engine, the master enable; the
 *   handler acks IIR as gen8_gt_irq_handler does (master off, IIR written
 *   back, master on);
 * - submission: ELSP (base + 0x230), four dword writes (element 1 high and
 *   low, element 0 high and low), the descriptor being LRCA | legacy-64-bit
 *   addressing | PRIVILEGE | VALID with the context ID in the high dword;
 * - completion: context-status events read from the status page's CSB
 *   mirror (dwords 0x10..0x1b, write pointer at dword 0x1f).
 *
 * Every result is checked in the guest page the guest's own page tables
 * name (the test walks its PPGTT itself), so a stale or wrong shadow entry
 * fails it. Bad input (a forbidden LRI, an unknown opcode, a batch outside
 * the guest's memory, an endless loop) must be refused or cut off with a
 * context-status event, counted in debugfs, with nothing written anywhere,
 * and the device must work after a reset.
 *
 * Prints, per run, the cost of one submission (ELSP write to CSB event) and
 * the blitter copy's rate; it asserts nothing about time.
 */
#include <stddef.h>

#include "rgvt_gpu.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-V5_8"
#define GUEST_PAGES	4096		/* 16 MB of guest memory */
#define GUEST_SIZE	(GUEST_PAGES * RGVT_GPU_PAGE)
#define OUTSIDE_SIZE	(16 * PAGE)	/* never mapped for DMA */
#define UNMAPPED_GPA	(GUEST_IOVA + 0x40000000ULL)

#define WAIT_MS			5000
#define HANG_WAIT_MS		30000

/* The driver's names here (rgvt_gpu.h holds the driver). */
#define PAGE		RGVT_GPU_PAGE
#define GUEST_IOVA	RGVT_GPU_IOVA
#define RING_SIZE	RGVT_GPU_RING_SIZE
#define RCS		RGVT_RCS
#define BCS		RGVT_BCS
#define VCS		RGVT_VCS
#define NENGINES	RGVT_NENGINES

FIXTURE(gdrv) {
	struct rgvt_created created;
	struct rgvt_gpu g;	/* the driver: device, guest memory, contexts */
	pid_t owner;		/* the process that opened the device */
	char uuid[RGVT_UUID_LEN + 1];
	unsigned char *outside;
	unsigned int canary_page;
};

/*
 * Every test runs twice: on the sim's own shadow, and on the shadow a real
 * GPU needs (the module's sim_dma parameter, read when the vGPU is made:
 * shadow pages "DMA-mapped" 1:1, leaf entries naming guest pages held
 * pinned and mapped until their last entry goes, an unmap or a close).
 */
FIXTURE_VARIANT(gdrv) {
	bool dma;
};

FIXTURE_VARIANT_ADD(gdrv, sim) {
	.dma = false,
};

FIXTURE_VARIANT_ADD(gdrv, sim_dma) {
	.dma = true,
};

/* Sets the module's sim_dma parameter; 0 or -errno. */
static int set_sim_dma(bool on)
{
	char path[PATH_MAX];

	return rgvt_write(rgvt_path(path, "/sys/module/%s/parameters/sim_dma", rgvt_module()),
			  on ? "Y" : "N");
}

/* Guest memory (through rgvt_gpu.h; out of memory is a bug of the test) */

static void *host(FIXTURE_DATA(gdrv) *self, unsigned int page)
{
	return rgvt_gpu_host(&self->g, page);
}

/* n fresh zeroed guest pages; aborts when out of memory. */
static unsigned int alloc_pages(FIXTURE_DATA(gdrv) *self, unsigned int n)
{
	unsigned int p = rgvt_gpu_alloc(&self->g, n);

	if (p == -1U)
		abort();
	return p;
}

/* Map n guest pages from page at fresh low-GM pages; returns the GM address. */
static __u64 ggtt_map(FIXTURE_DATA(gdrv) *self, unsigned int page, unsigned int n)
{
	return rgvt_gpu_map_low(&self->g, page, n);
}

static __u32 mmio_read(FIXTURE_DATA(gdrv) *self, __u32 off)
{
	return rgvt_gpu_mmio_read(&self->g, off);
}

static int mmio_write(FIXTURE_DATA(gdrv) *self, __u32 off, __u32 v)
{
	return rgvt_gpu_mmio_write(&self->g, off, v);
}

/* Add to *sum the "name value" lines of buf whose name contains a word of words. */
static void sum_lines(char *buf, const char *words, unsigned long long *sum)
{
	char *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], list[128], *w, *wsave = NULL;
		unsigned long long v;

		if (sscanf(line, " %127[^ :]%*[ :]%llu", name, &v) != 2)
			continue;
		snprintf(list, sizeof(list), "%s", words);
		for (w = strtok_r(list, "|", &wsave); w; w = strtok_r(NULL, "|", &wsave))
			if (strstr(name, w)) {
				*sum += v;
				break;
			}
	}
}

/*
 * The sum of the vGPU's debugfs counters (lines "name value", indented or
 * not, in every file of vgpu<id>/) whose name contains one of words
 * ("audit|fault"): vgpu<id>/engines has them per engine
 * (Documentation/rgvt/debugfs.rst).
 */
static unsigned long long debugfs_sum(FIXTURE_DATA(gdrv) *self, const char *words)
{
	char path[PATH_MAX], f[PATH_MAX], buf[16384];
	unsigned long long sum = 0;
	struct dirent *de;
	DIR *dir;

	dir = opendir(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld", self->g.id));
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "ggtt") ||
		    !strcmp(de->d_name, "untracked"))
			continue;
		if (rgvt_read(rgvt_path(f, "%s/%s", path, de->d_name), buf, sizeof(buf)) < 0)
			continue;
		sum_lines(buf, words, &sum);
	}
	closedir(dir);
	return sum;
}

/* The PPGTT ------------------------------------------------------------- */

/* Points the PTE of va at guest-physical addr (tables allocated on the way). */
static void ppgtt_map_gpa(FIXTURE_DATA(gdrv) *self, __u64 va, __u64 addr)
{
	if (rgvt_gpu_ppgtt_map(&self->g, va, addr))
		abort();
}

static void ppgtt_map(FIXTURE_DATA(gdrv) *self, __u64 va, unsigned int page)
{
	ppgtt_map_gpa(self, va, rgvt_gpu_gpa(page));
}

/*
 * The host address of va as the guest's own tables say (NULL when not
 * present or not in guest memory): the check of every result.
 */
static void *va_host(FIXTURE_DATA(gdrv) *self, __u64 va)
{
	return rgvt_gpu_va_host(&self->g, va);
}

static __u32 va_read(FIXTURE_DATA(gdrv) *self, __u64 va)
{
	__u32 *p = va_host(self, va);

	return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0xdeadbeef;
}

/* A fresh range of n pages of PPGTT address space backed by fresh pages. */
static __u64 ppgtt_alloc(FIXTURE_DATA(gdrv) *self, unsigned int n)
{
	__u64 va = rgvt_gpu_ppgtt_alloc(&self->g, n);

	if (!va)
		abort();
	return va;
}

/* Batches --------------------------------------------------------------- */

static struct rgvt_batch batch_new(FIXTURE_DATA(gdrv) *self, unsigned int pages)
{
	struct rgvt_batch b = rgvt_gpu_batch_ppgtt(&self->g, pages);

	if (!b.start)
		abort();
	return b;
}

static __u64 batch_here(const struct rgvt_batch *b)
{
	return b->addr + (b->cs - b->start) * 4;
}

/* MI_STORE_DWORD_IMM of v at PPGTT address va. */
static void emit_store(struct rgvt_batch *b, __u64 va, __u32 v)
{
	rgvt_batch_store(b, va, v, false);
}

static void emit_bb_start(struct rgvt_batch *b, __u64 va, __u32 flags)
{
	*b->cs++ = MI_BATCH_BUFFER_START_GEN8 | flags;
	*b->cs++ = (__u32)va;
	*b->cs++ = va >> 32;
}

/* Engines: context image, ring, submission ------------------------------ */

static __u32 *hwsp(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c)
{
	return rgvt_gpu_hwsp(&self->g, c);
}

static void ring_emit(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c, __u32 dw)
{
	rgvt_gpu_ring_emit(&self->g, c, dw);
}

/* Whether one of the CSB events seen has all of bits, for context id. */
static bool saw_event(const struct rgvt_gpu_done *d, __u32 bits, __u32 id)
{
	unsigned int i;

	for (i = 0; i < d->events && i < 8; i++)
		if ((d->ev_status[i] & bits) == bits && d->ev_id[i] == id)
			return true;
	return false;
}

/* The context goes in: its tail in the image, ELSP element 0. */
static void submit(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c)
{
	rgvt_gpu_ctx_submit(&self->g, c);
}

/* Waits for c's event, and for its MSI (a missing one shows as irqs == 0). */
static struct rgvt_gpu_done wait_ctx(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c,
				     int timeout_ms)
{
	return rgvt_gpu_wait_ctx(&self->g, c, timeout_ms, true);
}

static double ms_since(const struct timespec *t0)
{
	return rgvt_gpu_ms(t0);
}

/* Submit batch va on context c and wait for it. */
static struct rgvt_gpu_done run(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c, __u64 va,
				int timeout_ms)
{
	rgvt_gpu_ring_batch(&self->g, c, va, false);
	submit(self, c);
	return wait_ctx(self, c, timeout_ms);
}

/* The reset i915 does after a hang (GDRST full), then the engines again. */
static int full_reset(FIXTURE_DATA(gdrv) *self)
{
	int i, n;

	for (i = 0; i < NENGINES; i++) {
		__u32 base = self->g.ctx[i].e->base;

		mmio_write(self, base + RING_RESET_CTL, MASKED_ENABLE(REQUEST_RESET));
		for (n = 0; n < 100; n++)
			if (mmio_read(self, base + RING_RESET_CTL) & READY_TO_RESET)
				break;
		if (n == 100)
			return -ETIMEDOUT;
	}
	mmio_write(self, GEN6_GDRST, GEN6_GRDOM_FULL);
	for (n = 0; n < 100 && mmio_read(self, GEN6_GDRST) & GEN6_GRDOM_FULL; n++)
		usleep(1000);
	if (n == 100)
		return -ETIMEDOUT;
	for (i = 0; i < NENGINES; i++) {
		struct rgvt_gpu_ctx *c = &self->g.ctx[i];

		mmio_write(self, c->e->base + RING_RESET_CTL, MASKED_DISABLE(REQUEST_RESET));
		rgvt_gpu_ctx_image_init(&self->g, c);
		if (rgvt_gpu_engine_resume(&self->g, c))
			return -EIO;
	}
	return rgvt_gpu_irq_enable(&self->g);
}

/*
 * Submit batch b on c and wait until one of the debugfs counters words
 * moves (the engine refused the workload or cut it off). The guest is told
 * as a real GPU or GVT-g tells it: the context does not complete (no CSB
 * event; i915's hang check then resets the engine), so the test resets.
 * Returns whether the counter moved; *d says whether an event came anyway.
 */
static bool run_refused(FIXTURE_DATA(gdrv) *self, struct rgvt_gpu_ctx *c, __u64 va, bool ggtt,
			const char *words, int timeout_ms, struct rgvt_gpu_done *d)
{
	unsigned long long before = debugfs_sum(self, words);
	bool moved = false;
	double at;

	rgvt_gpu_ring_batch(&self->g, c, va, ggtt);
	submit(self, c);
	while (ms_since(&self->g.t_submit) < timeout_ms) {
		if (debugfs_sum(self, words) > before) {
			moved = true;
			break;
		}
		usleep(5 * 1000);
	}
	at = ms_since(&self->g.t_submit);
	/* Any event within 200 ms more (none expected; logged if one comes). */
	*d = wait_ctx(self, c, (int)at + 200);
	d->ms = at;	/* when the counter moved */
	return moved;
}

/* Fixture --------------------------------------------------------------- */

FIXTURE_SETUP(gdrv)
{
	int ret;

	self->owner = getpid();
	self->g.vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	self->g.msi = -1;
	self->outside = MAP_FAILED;
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_EQ(0, set_sim_dma(variant->dma));
	ret = rgvt_create(&self->created, TYPE, self->uuid);
	/* Only the creation reads it: back to the default at once. */
	ASSERT_EQ(0, set_sim_dma(false));
	ASSERT_EQ(0, ret);

	self->outside = mmap(NULL, OUTSIDE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->outside);
	memset(self->outside, 0xa5, OUTSIDE_SIZE);
	/*
	 * The driver's set-up (rgvt_gpu_open()): guest memory mapped for DMA at
	 * GUEST_IOVA (page 0 unused: a zero address never names a real page),
	 * the PPGTT root, per engine a status page, ring and context in low GM,
	 * execlists on, interrupts and the MSI.
	 */
	ret = rgvt_gpu_open(&self->g, self->uuid, GUEST_PAGES);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->g.vfio.failed ?: "set-up", strerror(-ret));
	self->canary_page = alloc_pages(self, 1);
	memset(host(self, self->canary_page), 0x5a, PAGE);
}

/*
 * Run once, in the parent of the test's process or (when an ASSERT
 * longjmped out of the test and setjmp clobbered the harness's idea of who
 * is the child, which -O2 does) in the test's process itself: there the
 * device, eventfd and container are closed first, so the removal does not
 * wait for ourselves. In the parent, the child's exit already closed them
 * (and the container's close unmapped and unpinned guest memory).
 */
FIXTURE_TEARDOWN_PARENT(gdrv)
{
	if (getpid() == self->owner)
		rgvt_gpu_close(&self->g);
	rgvt_remove_created(&self->created);
}

static bool all_bytes(const void *p, unsigned char v, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* Why a workload did not complete: what vgpu<id>/engines says was refused. */
static void print_refused(FIXTURE_DATA(gdrv) *self)
{
	char path[PATH_MAX], buf[16384], *line, *save = NULL, *engine = "";

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/engines", self->g.id), buf,
		      sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ')
			engine = line;
		else if ((strstr(line, "last_refused") && !strstr(line, " -")) ||
			 ((strstr(line, "audit") || strstr(line, "fault") || strstr(line, "hang")) &&
			  !strstr(line, " 0")))
			ksft_print_msg("%s%s\n", engine, line);
	}
}

/* Nothing landed outside: the canary page and the never-mapped buffer. */
#define EXPECT_NOTHING_OUTSIDE() do {						\
	EXPECT_TRUE(all_bytes(host(self, self->canary_page), 0x5a, PAGE))	\
		TH_LOG("the canary page (in guest memory, in no table) changed"); \
	EXPECT_TRUE(all_bytes(self->outside, 0xa5, OUTSIDE_SIZE))		\
		TH_LOG("memory never mapped for DMA changed");			\
} while (0)

#define ASSERT_DONE(d, what) do {						\
	if (!(d).complete)							\
		print_refused(self);						\
	ASSERT_TRUE((d).complete) TH_LOG("%s: no context-complete event in %.0f ms " \
					 "(%u CSB events, %u interrupts)",	\
					 what, (d).ms, (d).events, (d).irqs);	\
} while (0)

/* Tests: the set-up ----------------------------------------------------- */

/*
 * The execlist registers hold what the driver wrote, and an empty workload
 * (a batch that only ends) completes on every engine: the CSB event for the
 * context, the context-switch interrupt through MSI, RING_HEAD saved in the
 * context image.
 */
TEST_F(gdrv, empty_batch_completes_on_every_engine)
{
	int i;

	for (i = 0; i < NENGINES; i++) {
		struct rgvt_gpu_ctx *c = &self->g.ctx[i];
		struct rgvt_batch b = batch_new(self, 1);
		struct rgvt_gpu_done d;

		EXPECT_EQ(GFX_RUN_LIST_ENABLE,
			  mmio_read(self, c->e->base + RING_MODE_GEN7) & GFX_RUN_LIST_ENABLE)
			TH_LOG("%s RING_MODE", c->e->name);
		rgvt_batch_end(&b);
		d = run(self, c, b.addr, WAIT_MS);
		ASSERT_DONE(d, c->e->name);
		EXPECT_LE(1U, d.irqs) TH_LOG("%s: no MSI", c->e->name);
		EXPECT_NE(0U, d.iir & GT_CONTEXT_SWITCH_INTERRUPT)
			TH_LOG("%s: IIR bits 0x%x", c->e->name, d.iir);
		EXPECT_EQ(c->tail, rgvt_gpu_ctx_reg(&self->g, c, CTX_RING_HEAD) & (RING_SIZE - 4))
			TH_LOG("%s: RING_HEAD not saved in the context image", c->e->name);
		/*
		 * gen9 from idle: IDLE_ACTIVE first, then the context out with
		 * COMPLETE and ACTIVE_IDLE (the engine idles), its ID in the
		 * upper dword.
		 */
		EXPECT_LE(2U, d.events);
		EXPECT_NE(0U, d.ev_status[0] & CTX_STATUS_IDLE_ACTIVE)
			TH_LOG("%s: first CSB event 0x%x", c->e->name, d.ev_status[0]);
		EXPECT_TRUE(saw_event(&d, CTX_STATUS_COMPLETE | CTX_STATUS_ACTIVE_IDLE, c->ccid))
			TH_LOG("%s: completion status 0x%x", c->e->name, d.status);
		/* The MMIO copy of the CSB agrees with the status page. */
		{
			__u32 ptr = mmio_read(self, c->e->base + RING_CONTEXT_STATUS_PTR);
			__u32 *hw = hwsp(self, c);
			unsigned int k = hw[I915_HWS_CSB_WRITE_INDEX] & 7;

			EXPECT_EQ(hw[I915_HWS_CSB_WRITE_INDEX] & 7, ptr & 7)
				TH_LOG("%s: CSB write pointer: register 0x%x, status page %u",
				       c->e->name, ptr, hw[I915_HWS_CSB_WRITE_INDEX]);
			if (k < CSB_ENTRIES) {
				EXPECT_EQ(hw[I915_HWS_CSB_BUF0_INDEX + 2 * k],
					  mmio_read(self, c->e->base + RING_CONTEXT_STATUS_BUF + 8 * k));
				EXPECT_EQ(hw[I915_HWS_CSB_BUF0_INDEX + 2 * k + 1],
					  mmio_read(self, c->e->base + RING_CONTEXT_STATUS_BUF + 8 * k + 4));
			}
		}
		ksft_print_msg("%s: ELSP to CSB %.3f ms, %u events, %u interrupts\n",
			       c->e->name, d.ms, d.events, d.irqs);
	}
	EXPECT_NOTHING_OUTSIDE();
}

/* Stores ---------------------------------------------------------------- */

#define NSTORES	256

/*
 * MI_STORE_DATA_IMM to NSTORES PPGTT addresses spread over many page-table
 * pages (PML4, PDP, PD and PT slots all vary): each value lands in the page
 * the guest's own PTE names, nothing elsewhere.
 */
TEST_F_TIMEOUT(gdrv, stores_land_where_the_guest_ptes_say, 60)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	struct rgvt_batch b = batch_new(self, 2);
	__u64 va[NSTORES];
	unsigned int target = alloc_pages(self, NSTORES), i, bad = 0;
	struct rgvt_gpu_done d;

	for (i = 0; i < NSTORES; i++) {
		/* Strides in every level: bits 12.., 21.., 30.., 39.. */
		va[i] = 0x0000200000000000ULL + ((__u64)(i % 4) << 39) + ((__u64)(i % 7) << 30) +
			((__u64)(i % 13) << 21) + ((__u64)i << 12) + (i * 8 % PAGE);
		/* Pages in a scrambled order: VA order is not memory order. */
		ppgtt_map(self, va[i] & ~(PAGE - 1), target + (i * 97) % NSTORES);
		emit_store(&b, va[i], 0xc0de0000 | i);
	}
	rgvt_batch_end(&b);
	d = run(self, c, b.addr, WAIT_MS);
	ASSERT_DONE(d, "stores");
	for (i = 0; i < NSTORES; i++) {
		if (va_read(self, va[i]) != (0xc0de0000 | i)) {
			if (!bad++)
				TH_LOG("store %u to 0x%llx: read 0x%x", i,
				       (unsigned long long)va[i], va_read(self, va[i]));
		}
	}
	EXPECT_EQ(0U, bad);
	/* The rest of every target page is untouched. */
	for (i = 0, bad = 0; i < NSTORES; i++) {
		__u32 *p = host(self, target + i);
		unsigned int w, n = 0;

		for (w = 0; w < PAGE / 4; w++)
			n += p[w] != 0;
		bad += n != 1;
	}
	EXPECT_EQ(0U, bad) TH_LOG("stores landed in more than one place per page");
	EXPECT_NOTHING_OUTSIDE();
}

/*
 * The guest changes a PTE between two workloads: the second store lands in
 * the new page and the old page keeps the first value. A shadow PPGTT that
 * is not rebuilt (or tracked) fails this.
 */
TEST_F(gdrv, changed_pte_takes_effect_on_the_next_workload)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 va = 0x00007f0012345000ULL + 0x40;
	unsigned int old = alloc_pages(self, 1), new = alloc_pages(self, 1);
	struct rgvt_batch b1 = batch_new(self, 1), b2 = batch_new(self, 1);
	struct rgvt_gpu_done d;

	ppgtt_map(self, va & ~(PAGE - 1), old);
	emit_store(&b1, va, 0x11111111);
	rgvt_batch_end(&b1);
	d = run(self, c, b1.addr, WAIT_MS);
	ASSERT_DONE(d, "first store");
	EXPECT_EQ(0x11111111U, ((__u32 *)host(self, old))[0x10]);

	ppgtt_map(self, va & ~(PAGE - 1), new);
	emit_store(&b2, va, 0x22222222);
	rgvt_batch_end(&b2);
	d = run(self, c, b2.addr, WAIT_MS);
	ASSERT_DONE(d, "second store");
	EXPECT_EQ(0x22222222U, ((__u32 *)host(self, new))[0x10])
		TH_LOG("the store did not reach the page the new PTE names");
	EXPECT_EQ(0x11111111U, ((__u32 *)host(self, old))[0x10])
		TH_LOG("the store went to the old page: a stale shadow entry");

	/* And the PTE removed: the store faults, nothing lands in either page. */
	*rgvt_gpu_pte_of(&self->g, va, false) = 0;
	{
		struct rgvt_batch b3 = batch_new(self, 1);

		emit_store(&b3, va, 0x33333333);
		rgvt_batch_end(&b3);
		EXPECT_TRUE(run_refused(self, c, b3.addr, false, "fault", WAIT_MS, &d))
			TH_LOG("a store to a removed PTE: no fault counted");
	}
	EXPECT_EQ(0x22222222U, ((__u32 *)host(self, new))[0x10]);
	EXPECT_EQ(0x11111111U, ((__u32 *)host(self, old))[0x10]);
	EXPECT_NOTHING_OUTSIDE();
}

/* A line "name value" of debugfs vgpu<id>/shadow; -1 if there is none. */
static long long shadow_value(FIXTURE_DATA(gdrv) *self, const char *name)
{
	char path[PATH_MAX], buf[32768], *line, *save = NULL;
	size_t len = strlen(name);

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/shadow", self->g.id), buf,
		      sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 10);
	return -1;
}

/*
 * A real GPU's shadow (the sim_dma variant) holds the guest pages its
 * entries name pinned and mapped: the VMM's unmap of guest memory takes
 * them all back at once (the shadow's lock untouched), the next workload
 * rebuilds the shadow and pins afresh, and closing the device gives every
 * page back. The sim's own shadow holds none (no dma_* lines).
 */
TEST_F_TIMEOUT(gdrv, shadow_guest_pages_released_on_unmap_and_close, 60)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 va = 0x0000300000000000ULL;
	unsigned int target = alloc_pages(self, 4), i;
	struct rgvt_batch b1 = batch_new(self, 1), b2 = batch_new(self, 1);
	long long mapped, rebuilds;
	struct rgvt_gpu_done d;

	if (!variant->dma) {
		EXPECT_EQ(-1, shadow_value(self, "dma_mapped"))
			TH_LOG("the sim's own shadow shows DMA books");
		return;
	}
	for (i = 0; i < 4; i++) {
		ppgtt_map(self, va + i * PAGE, target + i);
		emit_store(&b1, va + i * PAGE, 0xd0000000 | i);
		emit_store(&b2, va + i * PAGE + 4, 0xe0000000 | i);
	}
	rgvt_batch_end(&b1);
	rgvt_batch_end(&b2);
	d = run(self, c, b1.addr, WAIT_MS);
	ASSERT_DONE(d, "stores before the unmap");
	mapped = shadow_value(self, "dma_mapped");
	/* At least the four targets (the batch and ring are GGTT pages). */
	EXPECT_LE(4, mapped) TH_LOG("guest pages held for the shadow: %lld", mapped);
	EXPECT_EQ(0, shadow_value(self, "dma_stale"));
	rebuilds = shadow_value(self, "dma_stale_rebuilds");

	/* The VMM unmaps all guest memory: nothing of it stays held. */
	ASSERT_EQ(0, rgvt_dma_unmap(&self->g.vfio, GUEST_IOVA, GUEST_SIZE));
	EXPECT_EQ(0, shadow_value(self, "dma_mapped"));
	EXPECT_EQ(0, shadow_value(self, "dma_pins_out"));
	EXPECT_EQ(1, shadow_value(self, "dma_stale"));
	EXPECT_LE(mapped, shadow_value(self, "dma_invalidated"));

	/*
	 * Mapped again (the unmap also put the GGTT entries on scratch: the
	 * driver sets them up again), the next workload drops the stale trees
	 * and pins afresh.
	 */
	ASSERT_EQ(0, rgvt_dma_map(&self->g.vfio, self->g.mem, GUEST_IOVA, GUEST_SIZE));
	ASSERT_EQ(0, rgvt_gpu_reinit(&self->g));
	d = run(self, c, b2.addr, WAIT_MS);
	ASSERT_DONE(d, "stores after the unmap");
	for (i = 0; i < 4; i++) {
		__u32 *p = host(self, target + i);

		EXPECT_EQ(0xd0000000U | i, p[0]);
		EXPECT_EQ(0xe0000000U | i, p[1]);
	}
	EXPECT_EQ(rebuilds + 1, shadow_value(self, "dma_stale_rebuilds"));
	EXPECT_EQ(0, shadow_value(self, "dma_stale"));
	EXPECT_LE(4, shadow_value(self, "dma_mapped"));

	/* Closed: every page back, none released without a device. */
	rgvt_vfio_close(&self->g.vfio);
	EXPECT_EQ(0, shadow_value(self, "dma_mapped"));
	EXPECT_EQ(0, shadow_value(self, "dma_orphaned"));
	EXPECT_EQ(0, shadow_value(self, "trees"));
	EXPECT_NOTHING_OUTSIDE();
}

/* A qword store, a GGTT store from the (privileged) ring, and SRM. */
TEST_F(gdrv, qword_ggtt_and_register_stores)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 va = ppgtt_alloc(self, 1);
	struct rgvt_batch b = batch_new(self, 1);
	__u32 *page = va_host(self, va);
	__u32 *s = hwsp(self, c);
	struct rgvt_gpu_done d;

	*b.cs++ = MI_STORE_QWORD_IMM_GEN8;
	*b.cs++ = (__u32)va;
	*b.cs++ = va >> 32;
	*b.cs++ = 0x89abcdef;
	*b.cs++ = 0x01234567;
	/* RING_MODE into the page: the engine's own register, as it reads. */
	*b.cs++ = MI_STORE_REGISTER_MEM_GEN8;
	*b.cs++ = c->e->base + RING_MODE_GEN7;
	*b.cs++ = (__u32)(va + 16);
	*b.cs++ = (va + 16) >> 32;
	rgvt_batch_end(&b);
	/* A GGTT store in the ring itself, to the status page's free dword. */
	ring_emit(self, c, MI_STORE_DWORD_IMM_GEN4 | MI_USE_GGTT);
	ring_emit(self, c, (__u32)c->hwsp_gm + HWSP_SCRATCH * 4);
	ring_emit(self, c, 0);
	ring_emit(self, c, 0x600d600d);
	d = run(self, c, b.addr, WAIT_MS);
	ASSERT_DONE(d, "stores");
	EXPECT_EQ(0x89abcdefU, page[0]);
	EXPECT_EQ(0x01234567U, page[1]);
	EXPECT_EQ(GFX_RUN_LIST_ENABLE, page[4] & GFX_RUN_LIST_ENABLE)
		TH_LOG("SRM of RING_MODE wrote 0x%x", page[4]);
	EXPECT_EQ(0x600d600dU, s[HWSP_SCRATCH]);
	EXPECT_NOTHING_OUTSIDE();
}

/* Batches --------------------------------------------------------------- */

/*
 * A chain of first-level batches (BB_START without returning), a
 * second-level batch that returns to its caller on BATCH_BUFFER_END, and a
 * GGTT batch started from the ring: every store of each lands, in order.
 */
TEST_F(gdrv, chained_and_second_level_batches)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 out = ppgtt_alloc(self, 1);
	struct rgvt_batch b1 = batch_new(self, 1), b2 = batch_new(self, 1), sub = batch_new(self, 1);
	unsigned int gpage = alloc_pages(self, 1);
	__u64 ggtt_batch = ggtt_map(self, gpage, 1);
	__u32 *o = va_host(self, out);
	struct rgvt_gpu_done d;

	/* b1: store 1, chain to b2 (never comes back). */
	emit_store(&b1, out, 1);
	emit_bb_start(&b1, b2.addr, MI_BATCH_PPGTT);
	emit_store(&b1, out + 60, 0xbad);	/* not reached */
	rgvt_batch_end(&b1);
	/* b2: store 2, call sub (second level), store 4 after it returns. */
	emit_store(&b2, out + 4, 2);
	emit_bb_start(&b2, sub.addr, MI_BATCH_PPGTT | MI_BATCH_2ND_LEVEL);
	emit_store(&b2, out + 12, 4);
	rgvt_batch_end(&b2);
	emit_store(&sub, out + 8, 3);
	rgvt_batch_end(&sub);
	d = run(self, c, b1.addr, WAIT_MS);
	ASSERT_DONE(d, "chained batches");
	EXPECT_EQ(1U, o[0]);
	EXPECT_EQ(2U, o[1]);
	EXPECT_EQ(3U, o[2]) TH_LOG("the second-level batch did not run");
	EXPECT_EQ(4U, o[3]) TH_LOG("no return from the second-level batch");
	EXPECT_EQ(0U, o[15]) TH_LOG("the chained batch came back to its caller");

	/* A batch in the GGTT (privileged, from the ring: bit 8 clear). */
	{
		struct rgvt_batch gb = rgvt_gpu_batch_ggtt(&self->g, gpage, ggtt_batch);

		*gb.cs++ = MI_STORE_DWORD_IMM_GEN4;	/* PPGTT target */
		*gb.cs++ = (__u32)(out + 20);
		*gb.cs++ = (out + 20) >> 32;
		*gb.cs++ = 5;
		rgvt_batch_end(&gb);
		rgvt_gpu_ring_batch(&self->g, c, ggtt_batch, true);
		submit(self, c);
		d = wait_ctx(self, c, WAIT_MS);
		ASSERT_DONE(d, "GGTT batch");
		EXPECT_EQ(5U, o[5]);
	}
	EXPECT_NOTHING_OUTSIDE();
}

/* Post-sync writes and interrupts --------------------------------------- */

/*
 * The breadcrumbs of i915: after the batch, from the (privileged) ring, a
 * PIPE_CONTROL (render) or MI_FLUSH_DW (blitter) with a post-sync write to
 * the status page through the GGTT, then MI_USER_INTERRUPT: the values land
 * and the user-interrupt bit arrives through MSI. Inside the batches the
 * same commands write PPGTT addresses.
 */
TEST_F(gdrv, post_sync_writes_and_user_interrupt)
{
	struct rgvt_gpu_ctx *r = &self->g.ctx[RCS], *bc = &self->g.ctx[BCS];
	struct rgvt_batch b = batch_new(self, 1), bb = batch_new(self, 1);
	__u64 out = ppgtt_alloc(self, 1);
	__u32 *o = va_host(self, out), gm;
	struct rgvt_gpu_done d;

	*b.cs++ = GFX_OP_PIPE_CONTROL(6);
	*b.cs++ = PIPE_CONTROL_QW_WRITE | PIPE_CONTROL_CS_STALL;
	*b.cs++ = (__u32)out;
	*b.cs++ = out >> 32;
	*b.cs++ = 0xfeed0003;
	*b.cs++ = 0xfeed0004;
	rgvt_batch_end(&b);
	ring_emit(self, r, MI_ARB_CHECK);
	ring_emit(self, r, MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT);
	ring_emit(self, r, (__u32)b.addr);
	ring_emit(self, r, b.addr >> 32);
	gm = (__u32)r->hwsp_gm + HWSP_SCRATCH * 4;
	ring_emit(self, r, GFX_OP_PIPE_CONTROL(6));
	ring_emit(self, r, PIPE_CONTROL_QW_WRITE | PIPE_CONTROL_GLOBAL_GTT_IVB |
		  PIPE_CONTROL_CS_STALL);
	ring_emit(self, r, gm);
	ring_emit(self, r, 0);
	ring_emit(self, r, 0xfeed0001);
	ring_emit(self, r, 0xfeed0002);
	ring_emit(self, r, MI_USER_INTERRUPT);
	ring_emit(self, r, MI_NOOP);
	submit(self, r);
	d = wait_ctx(self, r, WAIT_MS);
	ASSERT_DONE(d, "PIPE_CONTROL");
	EXPECT_EQ(0xfeed0001U, hwsp(self, r)[HWSP_SCRATCH]);
	EXPECT_EQ(0xfeed0002U, hwsp(self, r)[HWSP_SCRATCH + 1]);
	EXPECT_EQ(0xfeed0003U, o[0]) TH_LOG("PIPE_CONTROL post-sync to a PPGTT address");
	EXPECT_EQ(0xfeed0004U, o[1]);
	EXPECT_NE(0U, d.iir & GT_RENDER_USER_INTERRUPT) TH_LOG("RCS IIR bits 0x%x", d.iir);

	*bb.cs++ = (MI_FLUSH_DW | MI_FLUSH_DW_OP_STOREDW) + 1;
	*bb.cs++ = (__u32)out + 16;		/* PPGTT (no USE_GTT) */
	*bb.cs++ = (out + 16) >> 32;
	*bb.cs++ = 0xf1a50002;
	rgvt_batch_end(&bb);
	ring_emit(self, bc, MI_ARB_CHECK);
	ring_emit(self, bc, MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT);
	ring_emit(self, bc, (__u32)bb.addr);
	ring_emit(self, bc, bb.addr >> 32);
	gm = (__u32)bc->hwsp_gm + HWSP_SCRATCH * 4;
	ring_emit(self, bc, (MI_FLUSH_DW | MI_FLUSH_DW_OP_STOREDW) + 1);
	ring_emit(self, bc, gm | MI_FLUSH_DW_USE_GTT);
	ring_emit(self, bc, 0);
	ring_emit(self, bc, 0xf1a50001);
	ring_emit(self, bc, MI_USER_INTERRUPT);
	ring_emit(self, bc, MI_NOOP);
	submit(self, bc);
	d = wait_ctx(self, bc, WAIT_MS);
	ASSERT_DONE(d, "MI_FLUSH_DW");
	EXPECT_EQ(0xf1a50001U, hwsp(self, bc)[HWSP_SCRATCH]);
	EXPECT_EQ(0xf1a50002U, o[4]) TH_LOG("MI_FLUSH_DW post-sync to a PPGTT address");
	EXPECT_NE(0U, d.iir & GT_RENDER_USER_INTERRUPT) TH_LOG("BCS IIR bits 0x%x", d.iir);
	EXPECT_LE(1ULL, debugfs_sum(self, "interrupt"))
		TH_LOG("no interrupt counted in debugfs");
	EXPECT_NOTHING_OUTSIDE();
}

/*
 * MI_SEMAPHORE_WAIT (poll, equal) on a PPGTT dword: the store after it
 * waits until the CPU writes the value, then runs.
 */
TEST_F(gdrv, semaphore_released_by_the_cpu)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 sema = ppgtt_alloc(self, 1);
	struct rgvt_batch b = batch_new(self, 1);
	__u32 *sp = va_host(self, sema);
	struct rgvt_gpu_done d;

	*b.cs++ = MI_SEMAPHORE_WAIT | MI_SEMAPHORE_POLL | MI_SEMAPHORE_SAD_EQ_SDD;
	*b.cs++ = 0x5e3a;
	*b.cs++ = (__u32)sema;
	*b.cs++ = sema >> 32;
	emit_store(&b, sema + 4, 0xafe7);
	rgvt_batch_end(&b);
	rgvt_gpu_ring_batch(&self->g, c, b.addr, false);
	submit(self, c);
	usleep(20 * 1000);
	EXPECT_EQ(0U, __atomic_load_n(&sp[1], __ATOMIC_ACQUIRE))
		TH_LOG("the store after the semaphore ran before its release");
	__atomic_store_n(&sp[0], 0x5e3a, __ATOMIC_RELEASE);
	d = wait_ctx(self, c, WAIT_MS);
	ASSERT_DONE(d, "semaphore");
	EXPECT_EQ(0xafe7U, sp[1]);
}

/* The blitter ------------------------------------------------------------ */

#define BLT_W		1024	/* pixels, 32 bpp: 4 KB a row */
#define BLT_H		1024	/* 4 MB */

/*
 * XY_SRC_COPY_BLT of 4 MB on BCS between two PPGTT buffers whose pages are
 * scattered in guest memory: the destination equals the source, byte for
 * byte, where the guest's PTEs put them.
 */
TEST_F_TIMEOUT(gdrv, blitter_copy_4mb, 120)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[BCS];
	unsigned int npages = BLT_W * 4 * BLT_H / PAGE, i, bad = 0;
	__u64 src = 0x0000300000000000ULL, dst = 0x0000310000000000ULL;
	unsigned int sp = alloc_pages(self, npages), dp = alloc_pages(self, npages);
	struct rgvt_batch b = batch_new(self, 1);
	struct rgvt_gpu_done d;

	for (i = 0; i < npages; i++) {
		unsigned int w;
		__u32 *p;

		/* Pages in reverse order: contiguous VA, scattered memory. */
		ppgtt_map(self, src + i * PAGE, sp + npages - 1 - i);
		ppgtt_map(self, dst + i * PAGE, dp + (i * 7) % npages);
		p = va_host(self, src + i * PAGE);
		for (w = 0; w < PAGE / 4; w++)
			p[w] = i << 12 | w | 0x80000000;
		memset(va_host(self, dst + i * PAGE), 0xee, PAGE);
	}
	*b.cs++ = XY_SRC_COPY_BLT_CMD | BLT_WRITE_RGBA | (10 - 2);
	*b.cs++ = BLT_DEPTH_32 | BLT_ROP_SRC_COPY | BLT_W * 4;
	*b.cs++ = 0;				/* dst y1, x1 */
	*b.cs++ = BLT_H << 16 | BLT_W;		/* dst y2, x2 */
	*b.cs++ = (__u32)dst;
	*b.cs++ = dst >> 32;
	*b.cs++ = 0;				/* src y1, x1 */
	*b.cs++ = BLT_W * 4;			/* src pitch */
	*b.cs++ = (__u32)src;
	*b.cs++ = src >> 32;
	rgvt_batch_end(&b);
	d = run(self, c, b.addr, 60000);
	ASSERT_DONE(d, "blit");
	for (i = 0; i < npages; i++) {
		if (memcmp(va_host(self, src + i * PAGE), va_host(self, dst + i * PAGE), PAGE)) {
			if (!bad++)
				TH_LOG("page %u of the copy differs", i);
		}
	}
	EXPECT_EQ(0U, bad);
	ksft_print_msg("blitter: %u KB in %.1f ms (%.1f MB/s, ELSP to CSB)\n",
		       BLT_W * 4 * BLT_H / 1024, d.ms, BLT_W * 4.0 * BLT_H / 1e6 / (d.ms / 1e3));
	EXPECT_NOTHING_OUTSIDE();
}

/* Two contexts ----------------------------------------------------------- */

/*
 * ELSP with both elements (two contexts with their own rings), as
 * execlists_submit_ports() writes it: both run, both complete.
 */
TEST_F(gdrv, two_elements_in_one_elsp)
{
	struct rgvt_gpu_ctx *c0 = &self->g.ctx[RCS], c1 = *c0;
	__u64 out = ppgtt_alloc(self, 1);
	__u32 *o = va_host(self, out);
	struct rgvt_batch b0 = batch_new(self, 1), b1 = batch_new(self, 1);
	struct rgvt_gpu_done d;

	/* A second context on RCS: its own ring and image, same status page. */
	c1.ccid = c0->ccid + 1;
	c1.ring_page = alloc_pages(self, RING_SIZE / PAGE);
	c1.ctx_page = alloc_pages(self, c1.ctx_pages);
	c1.ring_gm = ggtt_map(self, c1.ring_page, RING_SIZE / PAGE);
	c1.lrca = ggtt_map(self, c1.ctx_page, c1.ctx_pages);
	rgvt_gpu_ctx_image_init(&self->g, &c1);

	emit_store(&b0, out, 0xe0);
	rgvt_batch_end(&b0);
	emit_store(&b1, out + 4, 0xe1);
	rgvt_batch_end(&b1);
	rgvt_gpu_ring_batch(&self->g, c0, b0.addr, false);
	rgvt_gpu_ring_batch(&self->g, &c1, b1.addr, false);
	rgvt_gpu_ctx_reg_set(&self->g, c0, CTX_RING_TAIL, c0->tail);
	rgvt_gpu_ctx_reg_set(&self->g, &c1, CTX_RING_TAIL, c1.tail);
	rgvt_gpu_elsp(&self->g, c0, rgvt_gpu_ctx_desc(&c1), rgvt_gpu_ctx_desc(c0));
	/* Both events come through the same CSB: wait for element 1's. */
	c1.csb_head = c0->csb_head;
	d = wait_ctx(self, &c1, WAIT_MS);
	ASSERT_DONE(d, "element 1");
	EXPECT_EQ(0xe0U, o[0]) TH_LOG("element 0 did not run");
	EXPECT_EQ(0xe1U, o[1]) TH_LOG("element 1 did not run");
	/* Element 0 out with ELEMENT_SWITCH (the engine goes on to element 1). */
	EXPECT_TRUE(saw_event(&d, CTX_STATUS_COMPLETE | CTX_STATUS_ELEMENT_SWITCH, c0->ccid))
		TH_LOG("no element-switch event for element 0 (%u events: 0x%x 0x%x 0x%x)",
		       d.events, d.ev_status[0], d.ev_status[1], d.ev_status[2]);
	c0->csb_head = c1.csb_head;
}

/*
 * Two contexts with two PPGTTs (two PML4s) on one engine, the same virtual
 * address in both naming different pages: each context's store lands in
 * its own page, also when they alternate (shadow trees kept by root, or
 * rebuilt, must never mix them).
 */
TEST_F(gdrv, two_address_spaces_same_va)
{
	struct rgvt_gpu_ctx *ca = &self->g.ctx[RCS], cb = *ca;
	__u64 va = 0x00006a0000000000ULL + 0x40;
	unsigned int pa = alloc_pages(self, 1), pb = alloc_pages(self, 1);
	unsigned int root_a = self->g.pml4_page, root_b = alloc_pages(self, 1);
	struct rgvt_batch a1 = batch_new(self, 1), a2 = batch_new(self, 1), b1;
	__u32 *wa = host(self, pa), *wb = host(self, pb);
	struct rgvt_gpu_done d;

	ppgtt_map(self, va & ~(PAGE - 1), pa);
	/* Context B: its own root, ring and image, the same status page. */
	self->g.pml4_page = root_b;
	ppgtt_map(self, va & ~(PAGE - 1), pb);
	b1 = batch_new(self, 1);
	cb.ccid = ca->ccid + 2;
	cb.ring_page = alloc_pages(self, RING_SIZE / PAGE);
	cb.ctx_page = alloc_pages(self, cb.ctx_pages);
	cb.ring_gm = ggtt_map(self, cb.ring_page, RING_SIZE / PAGE);
	cb.lrca = ggtt_map(self, cb.ctx_page, cb.ctx_pages);
	rgvt_gpu_ctx_image_init(&self->g, &cb);
	self->g.pml4_page = root_a;

	emit_store(&a1, va, 0xaaaa0001);
	rgvt_batch_end(&a1);
	emit_store(&b1, va, 0xbbbb0001);
	rgvt_batch_end(&b1);
	emit_store(&a2, va, 0xaaaa0002);
	rgvt_batch_end(&a2);

	d = run(self, ca, a1.addr, WAIT_MS);
	ASSERT_DONE(d, "context A");
	EXPECT_EQ(0xaaaa0001U, wa[0x10]);
	cb.csb_head = ca->csb_head;
	d = run(self, &cb, b1.addr, WAIT_MS);
	ASSERT_DONE(d, "context B");
	ca->csb_head = cb.csb_head;
	EXPECT_EQ(0xbbbb0001U, wb[0x10]) TH_LOG("B's store did not reach B's page");
	EXPECT_EQ(0xaaaa0001U, wa[0x10]) TH_LOG("B's store went through A's tables");
	d = run(self, ca, a2.addr, WAIT_MS);
	ASSERT_DONE(d, "context A again");
	EXPECT_EQ(0xaaaa0002U, wa[0x10]) TH_LOG("A's second store did not reach A's page");
	EXPECT_EQ(0xbbbb0001U, wb[0x10]) TH_LOG("A's store went through B's tables");
	EXPECT_NOTHING_OUTSIDE();
}

/*
 * A lite restore, as i915 does it all the time on a vGPU: the running
 * context submitted again with a new tail while it waits on a semaphore.
 * The engine goes on to the new tail: both batches run, in order, and the
 * context completes once.
 */
TEST_F(gdrv, lite_restore_extends_the_running_context)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 out = ppgtt_alloc(self, 1);
	__u32 *o = va_host(self, out);
	struct rgvt_batch b1 = batch_new(self, 1), b2 = batch_new(self, 1);
	struct rgvt_gpu_done d;

	*b1.cs++ = MI_SEMAPHORE_WAIT | MI_SEMAPHORE_POLL | MI_SEMAPHORE_SAD_EQ_SDD;
	*b1.cs++ = 1;
	*b1.cs++ = (__u32)out;
	*b1.cs++ = out >> 32;
	emit_store(&b1, out + 4, 0x111);
	rgvt_batch_end(&b1);
	emit_store(&b2, out + 8, 0x222);
	rgvt_batch_end(&b2);
	rgvt_gpu_ring_batch(&self->g, c, b1.addr, false);
	submit(self, c);
	usleep(20 * 1000);
	/* Same descriptor, new tail: a lite restore. */
	rgvt_gpu_ring_batch(&self->g, c, b2.addr, false);
	submit(self, c);
	usleep(20 * 1000);
	EXPECT_EQ(0U, o[1]) TH_LOG("the semaphore did not hold the first batch");
	EXPECT_EQ(0U, o[2]) TH_LOG("the second batch ran before the first");
	__atomic_store_n(&o[0], 1, __ATOMIC_RELEASE);
	d = wait_ctx(self, c, WAIT_MS);
	ASSERT_DONE(d, "lite restore");
	/* The first completion may have been the lite restore's: wait for the tail. */
	while (o[2] != 0x222 && ms_since(&self->g.t_submit) < WAIT_MS)
		usleep(1000);
	EXPECT_EQ(0x111U, o[1]);
	EXPECT_EQ(0x222U, o[2]) TH_LOG("the new tail was not run");
	while ((rgvt_gpu_ctx_reg(&self->g, c, CTX_RING_HEAD) & (RING_SIZE - 4)) != c->tail &&
	       ms_since(&self->g.t_submit) < WAIT_MS)
		usleep(1000);
	EXPECT_EQ(c->tail, rgvt_gpu_ctx_reg(&self->g, c, CTX_RING_HEAD) & (RING_SIZE - 4))
		TH_LOG("RING_HEAD in the image is not the new tail");
	ksft_print_msg("lite restore: %u CSB events: 0x%x 0x%x 0x%x 0x%x\n", d.events,
		       d.ev_status[0], d.ev_status[1], d.ev_status[2], d.ev_status[3]);
	/*
	 * Every ELSP write is acknowledged: a gen9 GPU reports the lite
	 * restore as a PREEMPTED | LITE_RESTORE event of the context (GVT-g's
	 * emulate_execlist_schedule_in does the same). i915's process_csb()
	 * promotes its pending submission only on IDLE_ACTIVE or PREEMPTED:
	 * without the event it never does, and stalls.
	 */
	EXPECT_TRUE(saw_event(&d, CTX_STATUS_PREEMPTED | CTX_STATUS_LITE_RESTORE, c->ccid))
		TH_LOG("no lite-restore event (PREEMPTED | LITE_RESTORE) for the resubmission");
}

/* Bad input --------------------------------------------------------------- */

/*
 * A workload that must be refused whole: a store before the bad commands
 * and one after. Audit before effect: neither store lands, the refusal is
 * counted, nothing is written anywhere else, and after a reset the engines
 * work.
 */
static void bad_workload(struct __test_metadata *_metadata, FIXTURE_DATA(gdrv) *self,
			 struct rgvt_gpu_ctx *c, const __u32 *bad, unsigned int n, const char *words,
			 const char *what)
{
	__u64 out = ppgtt_alloc(self, 1);
	__u32 *o = va_host(self, out);
	struct rgvt_batch b = batch_new(self, 1);
	struct rgvt_gpu_done d;
	unsigned int i;

	emit_store(&b, out, 0xbef0);
	for (i = 0; i < n; i++)
		*b.cs++ = bad[i];
	emit_store(&b, out + 4, 0xaf7e);
	rgvt_batch_end(&b);
	EXPECT_TRUE(run_refused(self, c, b.addr, false, words, WAIT_MS, &d))
		TH_LOG("%s: no \"%s\" counter moved in debugfs", what, words);
	EXPECT_EQ(0U, o[0]) TH_LOG("%s: the store before the bad command ran", what);
	EXPECT_EQ(0U, o[1]) TH_LOG("%s: the store after the bad command ran", what);
	EXPECT_NOTHING_OUTSIDE();
	ksft_print_msg("%s: counted %.1f ms after the ELSP write%s\n", what, d.ms,
		       d.complete ? " (and a context-complete event came)" : "");
	ASSERT_EQ(0, full_reset(self));
}

/* After a reset, a store on every engine works. */
static void works_after_reset(struct __test_metadata *_metadata, FIXTURE_DATA(gdrv) *self)
{
	int i;

	for (i = 0; i < NENGINES; i++) {
		struct rgvt_gpu_ctx *c = &self->g.ctx[i];
		__u64 out = ppgtt_alloc(self, 1);
		struct rgvt_batch b = batch_new(self, 1);
		struct rgvt_gpu_done d;

		emit_store(&b, out, 0x0c0c0000 | i);
		rgvt_batch_end(&b);
		d = run(self, c, b.addr, WAIT_MS);
		EXPECT_TRUE(d.complete) TH_LOG("%s after reset: no completion", c->e->name);
		EXPECT_EQ(0x0c0c0000U | i, va_read(self, out)) TH_LOG("%s after reset", c->e->name);
	}
}

TEST_F_TIMEOUT(gdrv, forbidden_lri_is_refused, 90)
{
	/* GDRST, the GT master interrupt control, a GT interrupt enable. */
	static const __u32 regs[] = { GEN6_GDRST, GEN8_MASTER_IRQ, GEN8_GT_IER(0) };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		__u32 bad[] = { MI_NOOP, MI_LOAD_REGISTER_IMM(1), regs[i], 0xffffffff };
		char what[64];

		snprintf(what, sizeof(what), "LRI to 0x%x", regs[i]);
		bad_workload(_metadata, self, &self->g.ctx[RCS], bad, 4, "audit", what);
	}
	/* The registers themselves are untouched. */
	EXPECT_EQ(GEN8_MASTER_IRQ_CONTROL, mmio_read(self, GEN8_MASTER_IRQ) & GEN8_MASTER_IRQ_CONTROL);
	works_after_reset(_metadata, self);
}

TEST_F_TIMEOUT(gdrv, unknown_opcode_is_refused, 90)
{
	__u32 mi[] = { MI_INSTR(0x3f, 0), MI_NOOP };
	__u32 client7[] = { 7U << 29 | 0x1234, MI_NOOP };

	bad_workload(_metadata, self, &self->g.ctx[RCS], mi, 2, "audit", "MI opcode 0x3f");
	bad_workload(_metadata, self, &self->g.ctx[BCS], client7, 2, "audit", "command type 7");
	works_after_reset(_metadata, self);
}

TEST_F_TIMEOUT(gdrv, batch_outside_guest_memory_is_refused, 90)
{
	__u64 hole = 0x0000400000000000ULL, away = 0x0000410000000000ULL;
	__u64 gm_out = self->g.low_base + self->g.low_size + 16 * PAGE;
	__u32 to_hole[] = { MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT | MI_BATCH_2ND_LEVEL,
			    (__u32)hole, hole >> 32, MI_NOOP };
	__u32 to_away[] = { MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT | MI_BATCH_2ND_LEVEL,
			    (__u32)away, away >> 32, MI_NOOP };
	struct rgvt_gpu_done d;

	/* A PTE that names a guest frame outside guest memory. */
	ppgtt_map_gpa(self, away, UNMAPPED_GPA);
	bad_workload(_metadata, self, &self->g.ctx[RCS], to_hole, 4, "audit|fault",
		     "batch at an unmapped PPGTT address");
	bad_workload(_metadata, self, &self->g.ctx[RCS], to_away, 4, "audit|fault",
		     "batch in a frame outside guest memory");

	/* From the ring (privileged): a GGTT batch beyond the vGPU's GM range. */
	EXPECT_TRUE(run_refused(self, &self->g.ctx[VCS], gm_out, true, "audit|fault", WAIT_MS, &d))
		TH_LOG("GGTT batch out of range: no audit or fault counted");
	ASSERT_EQ(0, full_reset(self)) TH_LOG("reset");

	/*
	 * Stores to such addresses fault while the workload runs (no audit
	 * can know a PTE): counted, and they land nowhere.
	 */
	{
		struct rgvt_batch b = batch_new(self, 1);

		emit_store(&b, hole, 0xdead0001);
		emit_store(&b, away, 0xdead0002);
		rgvt_batch_end(&b);
		EXPECT_TRUE(run_refused(self, &self->g.ctx[RCS], b.addr, false, "fault", WAIT_MS, &d))
			TH_LOG("stores to unmapped addresses: no fault counted");
		ASSERT_EQ(0, full_reset(self));
	}
	EXPECT_NOTHING_OUTSIDE();
	works_after_reset(_metadata, self);
}

TEST_F_TIMEOUT(gdrv, endless_loop_is_cut_off, 120)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 out = ppgtt_alloc(self, 1), sema = ppgtt_alloc(self, 1);
	struct rgvt_batch b = batch_new(self, 1), s = batch_new(self, 1);
	struct rgvt_gpu_done d;

	/*
	 * A BB_START to itself. The store before it may run (a hang, not an
	 * audit failure).
	 */
	emit_store(&b, out, 1);
	emit_bb_start(&b, batch_here(&b), MI_BATCH_PPGTT);
	rgvt_batch_end(&b);
	EXPECT_TRUE(run_refused(self, c, b.addr, false, "hang", HANG_WAIT_MS, &d))
		TH_LOG("the endless batch was not cut off (no hang counted) in %d s",
		       HANG_WAIT_MS / 1000);
	ksft_print_msg("endless loop: hang counted %.1f ms after the ELSP write\n", d.ms);
	ASSERT_EQ(0, full_reset(self));

	/* A semaphore nobody releases: cut off too. */
	*s.cs++ = MI_SEMAPHORE_WAIT | MI_SEMAPHORE_POLL | MI_SEMAPHORE_SAD_EQ_SDD;
	*s.cs++ = 1;
	*s.cs++ = (__u32)sema;
	*s.cs++ = sema >> 32;
	rgvt_batch_end(&s);
	EXPECT_TRUE(run_refused(self, c, s.addr, false, "hang", HANG_WAIT_MS, &d))
		TH_LOG("the semaphore wait was not cut off (no hang counted)");
	ksft_print_msg("unreleased semaphore: hang counted %.1f ms after the ELSP write\n", d.ms);
	ASSERT_EQ(0, full_reset(self));
	EXPECT_NOTHING_OUTSIDE();
	works_after_reset(_metadata, self);
}

/* A VFIO reset (as QEMU does at guest reboot): the driver sets up again. */
TEST_F_TIMEOUT(gdrv, works_after_device_reset, 60)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	struct rgvt_batch b = batch_new(self, 1);
	struct rgvt_gpu_done d;

	rgvt_batch_end(&b);
	d = run(self, c, b.addr, WAIT_MS);
	ASSERT_DONE(d, "before the reset");
	ASSERT_EQ(0, ioctl(self->g.vfio.device, VFIO_DEVICE_RESET));
	EXPECT_EQ(0U, mmio_read(self, c->e->base + RING_MODE_GEN7) & GFX_RUN_LIST_ENABLE)
		TH_LOG("RING_MODE survived the reset");
	ASSERT_EQ(0, rgvt_gpu_reinit(&self->g));
	works_after_reset(_metadata, self);
	EXPECT_NOTHING_OUTSIDE();
}

/* Throughput (printed, not asserted) ------------------------------------- */

TEST_F_TIMEOUT(gdrv, throughput, 120)
{
	struct rgvt_gpu_ctx *c = &self->g.ctx[RCS];
	__u64 out = ppgtt_alloc(self, 4);
	struct timespec t0;
	double total = 0, ms;
	int i, n = 50, stores = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		struct rgvt_batch b = batch_new(self, 1);
		struct rgvt_gpu_done d;
		int k;

		for (k = 0; k < 200; k++)
			emit_store(&b, out + (k % 1024) * 4 + (i & 3) * PAGE, i << 16 | k);
		stores += 200;
		rgvt_batch_end(&b);
		d = run(self, c, b.addr, WAIT_MS);
		ASSERT_DONE(d, "throughput");
		total += d.ms;
	}
	ms = ms_since(&t0);
	EXPECT_EQ((__u32)((n - 1) << 16 | 199), va_read(self, out + 199 * 4 + ((n - 1) & 3) * PAGE));
	ksft_print_msg("throughput: %d workloads in %.0f ms: %.0f workloads/s, %.0f stores/s, "
		       "%.3f ms ELSP to CSB on average\n", n, ms, n / (ms / 1e3),
		       stores / (ms / 1e3), total / n);

	/*
	 * One submission: a workload of one store, as l2i915's through the
	 * stock i915 (tools/run-nested.sh prints the two side by side).
	 */
	{
		double lo = 1e9, hi = 0;
		struct rgvt_batch b = batch_new(self, 1);

		emit_store(&b, out, 0x1234);
		rgvt_batch_end(&b);
		for (i = 0, total = 0; i < 20; i++) {
			struct rgvt_gpu_done d = run(self, c, b.addr, WAIT_MS);

			ASSERT_DONE(d, "one store");
			total += d.ms;
			lo = d.ms < lo ? d.ms : lo;
			hi = d.ms > hi ? d.ms : hi;
		}
		EXPECT_EQ(0x1234U, va_read(self, out));
		ksft_print_msg("throughput: rcs0 one-store workload, ELSP write to CSB event: "
			       "%.2f ms on average over 20 (min %.2f, max %.2f)\n", total / 20, lo, hi);
	}
}

RGVT_TEST_MAIN(true)
