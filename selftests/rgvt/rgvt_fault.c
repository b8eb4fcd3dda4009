// SPDX-License-Identifier: GPL-2.0
/*
 * Failing allocations: each of rgvt's allocations in an operation fails in
 * turn, and each time the operation either returns a clean error (ENOMEM)
 * and leaves nothing behind, or succeeds; the kernel neither crashes nor
 * warns, the module still unloads, and nothing leaks (the host's run scans
 * kmemleak after the tests and after the last unload: tools/guest/lib.sh).
 *
 * The operations: module load (insmod, from this task, which includes the
 * vGPU type registration), vGPU create (sysfs), device open (VFIO), the first
 * GGTT write of an open device (which pins a guest page), and the first
 * submission (first_submission_*): an ELSP write only latches it, and the
 * engine's worker (another task, out of fail-nth's reach) audits and runs
 * the workload, so that one uses the attributes' interval with the task
 * filter off (see "The first submission" below).
 *
 * How: /proc/thread-self/fail-nth (Documentation/fault-injection) fails the
 * N-th allocation of this task only: slab (failslab) and page allocations
 * (fail_page_alloc, from order 0), with the debugfs knobs that would exempt
 * GFP_KERNEL allocations (ignore-gfp-wait) turned off. With the stack-trace
 * filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER), only allocations with a
 * module's code on the stack count (require-start: the end of the kernel
 * image's symbols in /proc/kallsyms), so N walks rgvt's own allocations and
 * the kernel calls rgvt makes, one site at a time. Allocations under
 * vfio_create_group() are not failed (reject-start/-end): in 6.12 its error
 * path puts a group whose iommu_group is still set, and vfio_group_release()
 * warns (WARN_ON(group->iommu_group), drivers/vfio/group.c), a VFIO defect
 * any mdev driver's probe reaches. For N = 1, 2, ... until the operation runs
 * without reaching an N-th allocation (fail-nth still armed afterwards): that
 * last run must succeed. Allocations the debugging tools make (kmemleak's
 * records, KASAN's stack depot) count too and are mostly tolerated; the
 * numbering can shift by one between runs when the stack depot needs a page.
 *
 * The load, the slow loop (an insmod per N), runs with the smallest sim GPU
 * (LOAD_PARAMS): the default one's 8 MB GGTT array is vmalloc'ed in batches
 * of pages (each batch, and each page of its KASAN shadow, a counted
 * allocation that only repeats the same site), and does not fail kmemleak's
 * records; every other test runs on the default module.
 *
 * Skips when the kernel has no fault injection (the base test kernel); runs on
 * the debug kernel (tools/kernel.sh --debug). Injected page allocation
 * failures print a backtrace ("page allocation failure"): each injection is
 * wrapped in the rgvt-selftest expect-trace markers (which name the test and
 * N), which allow "Call Trace:" and nothing else. To look at one site:
 * RGVT_FAULT_FIRST=N starts each loop at N, RGVT_FAULT_VERBOSE=2 prints the
 * stack of each injected failure (fault-injection's "verbose").
 */
#include <sys/mman.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc"
#define FAIL_NTH	"/proc/thread-self/fail-nth"
/* More counted allocations than this in one operation is a runaway loop. */
#define MAX_NTH		2000U

#define TYPE		"rgvt-V5_8"
/* The smallest sim GPU rgvt accepts (rust/backend/sim.rs). */
#define LOAD_PARAMS	"sim_gm_mb=512 sim_aperture_mb=128"
#define PAGE_SZ		4096ULL
#define GUEST_IOVA	0x10000000ULL
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX

/* A debugfs knob of a fault attribute, set for the test and restored after. */
struct knob {
	const char *dir;
	const char *name;
	char saved[64];
	bool set;
};

FIXTURE(fault) {
	struct knob knobs[48];
	int nknobs;
	int nth;		/* this thread's fail-nth, O_RDWR */
	bool filtered;		/* the stack-trace filter is on */
	struct rgvt_created created;
	struct rgvt_vfio vfio;
	char path[PATH_MAX];
	/* One phase's tally. */
	int injected, tolerated, errs[256];
	unsigned int first;	/* RGVT_FAULT_FIRST */
};

static int knob_set(FIXTURE_DATA(fault) *self, const char *dir, const char *name,
		    const char *value)
{
	struct knob *k = &self->knobs[self->nknobs];
	char path[PATH_MAX];
	int ret;

	if (self->nknobs >= (int)ARRAY_SIZE(self->knobs))
		return -ENOSPC;
	k->dir = dir;
	k->name = name;
	ret = rgvt_read(rgvt_path(path, "%s/%s", dir, name), k->saved, sizeof(k->saved));
	if (ret < 0)
		return ret;
	ret = rgvt_write(path, value);
	if (ret)
		return ret;
	k->set = true;
	self->nknobs++;
	return 0;
}

static void knobs_restore(FIXTURE_DATA(fault) *self)
{
	char path[PATH_MAX];

	while (self->nknobs > 0) {
		struct knob *k = &self->knobs[--self->nknobs];

		if (k->set)
			rgvt_write(rgvt_path(path, "%s/%s", k->dir, k->name), k->saved);
	}
}

/*
 * From /proc/kallsyms: the highest address of a kernel-image symbol (the
 * lines without a "[module]"), above which every module's code lies (x86-64
 * puts the modules after the kernel image), and the range of function
 * reject (from its address to the next symbol's). Zeros when addresses are
 * hidden or the function is not there.
 */
static void kallsyms_ranges(const char *reject, unsigned long long *image_end,
			    unsigned long long *rej_start, unsigned long long *rej_end)
{
	unsigned long long addr, start = 0, end = ~0ULL;
	char line[512], name[256];
	FILE *f;

	*image_end = *rej_start = *rej_end = 0;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '['))
			continue;
		if (sscanf(line, "%llx %*s %255s", &addr, name) != 2)
			continue;
		if (addr > *image_end)
			*image_end = addr;
		if (!strcmp(name, reject))
			start = addr;
	}
	if (start) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			addr = strtoull(line, NULL, 16);
			if (addr > start && addr < end)
				end = addr;
		}
		if (end != ~0ULL) {
			*rej_start = start;
			*rej_end = end;
		}
	}
	fclose(f);
}

/* Arm fail-nth: the n-th counted allocation of this thread fails. */
static int nth_arm(FIXTURE_DATA(fault) *self, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(self->nth, buf, len, 0) == len ? 0 : -errno;
}

/*
 * Disarm fail-nth; returns true if the failure was injected (the count ran
 * out), false if the operation made fewer than n counted allocations.
 */
static bool nth_disarm(FIXTURE_DATA(fault) *self)
{
	char buf[16] = "";
	ssize_t n;

	n = pread(self->nth, buf, sizeof(buf) - 1, 0);
	if (pwrite(self->nth, "0", 1, 0) != 1)
		abort();	/* still armed: every later allocation is at risk */
	if (n <= 0)
		abort();
	buf[n] = '\0';
	return atoi(buf) == 0;
}

/*
 * The errno of an injected failure, counted; false unless it is ENOMEM or
 * also_ok. (The driver core answers EINVAL when it cannot allocate the
 * /sys/module/<name>/drivers directory: module_add_driver() in 6.12's
 * drivers/base/module.c.)
 */
static bool tally(FIXTURE_DATA(fault) *self, int ret, int also_ok)
{
	if (!ret) {
		self->tolerated++;
		return true;
	}
	self->injected++;
	self->errs[-ret & 255]++;
	return ret == -ENOMEM || ret == -also_ok;
}

static void tally_print(FIXTURE_DATA(fault) *self, const char *what, unsigned int n)
{
	char buf[512] = "";
	size_t len = 0;
	int e;

	for (e = 1; e < 256; e++)
		if (self->errs[e])
			len += snprintf(buf + len, sizeof(buf) - len, " %s x%d", strerrorname_np(e) ?: "?",
					self->errs[e]);
	ksft_print_msg("%s: %d allocations failed in turn (%d tolerated), errors:%s; succeeded at N=%u\n",
		       what, self->injected + self->tolerated, self->tolerated,
		       self->injected ? buf : " none", n);
	self->injected = self->tolerated = 0;
	memset(self->errs, 0, sizeof(self->errs));
}

/*
 * Allocations with function fn on the stack are not failed (reject-start/-end
 * of both attributes, until the teardown restores them). Returns false if fn
 * is not in /proc/kallsyms.
 */
static bool reject_under(FIXTURE_DATA(fault) *self, const char *fn)
{
	static const char * const attrs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	unsigned long long end, rej_start, rej_end;
	char rej[2][32];
	unsigned int i;

	kallsyms_ranges(fn, &end, &rej_start, &rej_end);
	if (!rej_start)
		return false;
	snprintf(rej[0], sizeof(rej[0]), "0x%llx", rej_start);
	snprintf(rej[1], sizeof(rej[1]), "0x%llx", rej_end);
	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		if (knob_set(self, attrs[i], "reject-start", rej[0]) ||
		    knob_set(self, attrs[i], "reject-end", rej[1]))
			return false;
	return true;
}

FIXTURE_SETUP(fault)
{
	unsigned long long end, rej_start, rej_end;
	const char *verbose = rgvt_getenv("RGVT_FAULT_VERBOSE", "1");
	static const char * const attrs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	char path[PATH_MAX], start[32];
	unsigned int i;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	self->nth = -1;
	if (!rgvt_exists(FAIL_NTH) || !rgvt_exists(FAILSLAB) || !rgvt_exists(FAIL_PAGE_ALLOC))
		SKIP(return, "no fault injection in this kernel (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS: the debug kernel has them)");
	ASSERT_EQ(0, rgvt_module_ensure());

	/* Stack-trace filter: count only allocations with a module on the stack. */
	end = 0;
	if (rgvt_exists(FAILSLAB "/require-start"))
		kallsyms_ranges("", &end, &rej_start, &rej_end);
	self->filtered = end != 0;
	snprintf(start, sizeof(start), "0x%llx", end + 1);
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		ASSERT_EQ(0, knob_set(self, attrs[i], "ignore-gfp-wait", "N"));
		ASSERT_EQ(0, knob_set(self, attrs[i], "verbose", verbose));
		if (self->filtered) {
			ASSERT_EQ(0, knob_set(self, attrs[i], "stacktrace-depth", "32"));
			ASSERT_EQ(0, knob_set(self, attrs[i], "require-end", "0xfffffffffffff000"));
			ASSERT_EQ(0, knob_set(self, attrs[i], "require-start", start));
		}
	}
	ASSERT_EQ(0, knob_set(self, FAIL_PAGE_ALLOC, "min-order", "0"));
	ASSERT_EQ(0, knob_set(self, FAIL_PAGE_ALLOC, "ignore-gfp-highmem", "N"));
	/* The upstream VFIO defect described at the top. */
	if (self->filtered && reject_under(self, "vfio_create_group"))
		ksft_print_msg("allocations under vfio_create_group are not failed\n");
	self->first = atoi(rgvt_getenv("RGVT_FAULT_FIRST", "1")) ?: 1;
	self->nth = open(rgvt_path(path, FAIL_NTH), O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth) TH_LOG("%s: %s", FAIL_NTH, strerror(errno));
	ksft_print_msg("fail-nth counts %s\n", self->filtered ?
		       "allocations with module code on the stack" :
		       "every allocation of the task (no stack-trace filter)");
}

FIXTURE_TEARDOWN(fault)
{
	if (self->nth >= 0) {
		if (pwrite(self->nth, "0", 1, 0) != 1)
			TH_LOG("could not disarm fail-nth");
		close(self->nth);
	}
	rgvt_vfio_close(&self->vfio);
	knobs_restore(self);
	if (!rgvt_module_loaded())
		rgvt_module_load();
	rgvt_remove_created(&self->created);
}

static void mark(const char *what, const char *test, unsigned int n)
{
	char line[128];

	snprintf(line, sizeof(line), "rgvt-selftest: expect-trace-%s (fault.%s N=%u)",
		 what, test, n);
	rgvt_kmsg(line);
}

/* Around each injection: the backtraces of page allocation failures are expected. */
#define INJECT(self, n, ret, op) do {						\
		mark("begin", _metadata->name, n);				\
		ASSERT_EQ(0, nth_arm(self, n));					\
		ret = (op);							\
		injected = nth_disarm(self);					\
		mark("end", _metadata->name, n);				\
	} while (0)

/* Nothing of the module is left (as rgvt_unload's expect_nothing_left). */
static void expect_no_module(struct __test_metadata *_metadata, unsigned int n)
{
	char path[PATH_MAX];

	EXPECT_FALSE(rgvt_module_loaded()) TH_LOG("N=%u", n);
	EXPECT_FALSE(rgvt_exists(rgvt_parent_path(path))) TH_LOG("N=%u: %s", n, path);
	EXPECT_FALSE(rgvt_exists(RGVT_SYSFS)) TH_LOG("N=%u", n);
	EXPECT_FALSE(rgvt_exists(RGVT_DEBUGFS)) TH_LOG("N=%u", n);
	EXPECT_FALSE(rgvt_exists(RGVT_CLASS)) TH_LOG("N=%u", n);
}

/*
 * insmod, with the types' registration: a failure leaves no trace of the
 * module. A load that succeeds although an allocation failed must work and
 * unload; the mdev core tolerates a failed compatibility link
 * (/sys/class/mdev_bus/<parent>), so the parent is looked for in rgvt's class.
 */
TEST_F_TIMEOUT(fault, load, 280)
{
	bool injected = false;
	unsigned int n;
	int ret;

	/*
	 * kmemleak's own record of each allocation is not rgvt's: failing it
	 * only sends kmemleak to its reserve pool. The load is the slow loop
	 * (an insmod per N), where those records double the count.
	 */
	if (self->filtered && reject_under(self, "__alloc_object"))
		ksft_print_msg("load: kmemleak's records (__alloc_object) are not failed\n");
	ASSERT_EQ(0, rgvt_module_unload_settled());
	for (n = self->first; n <= MAX_NTH; n++) {
		INJECT(self, n, ret, rgvt_module_load_params(LOAD_PARAMS));
		if (!injected) {
			ASSERT_EQ(0, ret) TH_LOG("load without an injected failure: %s", strerror(-ret));
			break;
		}
		EXPECT_TRUE(tally(self, ret, EINVAL)) TH_LOG("N=%u: load returned %d", n, ret);
		if (ret) {
			expect_no_module(_metadata, n);
			if (rgvt_module_loaded())
				ASSERT_EQ(0, rgvt_module_unload_settled());
			continue;
		}
		/* Loaded although an allocation failed: it must work and unload. */
		EXPECT_TRUE(rgvt_exists(rgvt_path(self->path, RGVT_CLASS "/%s", rgvt_parent())))
			TH_LOG("N=%u", n);
		ASSERT_EQ(0, rgvt_module_unload_settled()) TH_LOG("N=%u", n);
		expect_no_module(_metadata, n);
	}
	ASSERT_GE(MAX_NTH, n);
	tally_print(self, "load", n);
	/* The module loaded last works: a vGPU can be created. */
	{
		char types[RGVT_MAX_TYPES][RGVT_NAME_LEN], uuid[RGVT_UUID_LEN + 1];
		int i, ntypes;
		long avail = 0;

		ntypes = rgvt_types(types);
		ASSERT_LT(0, ntypes);
		for (i = 0; i < ntypes; i++)
			if (!rgvt_available(types[i], &avail) && avail > 0)
				break;
		ASSERT_GT(ntypes, i) TH_LOG("no type has an instance available");
		ASSERT_EQ(0, rgvt_create(&self->created, types[i], uuid)) TH_LOG("%s", types[i]);
		ASSERT_EQ(0, rgvt_mdev_remove(uuid));
		self->created.n--;
	}
	/* Back to the default module for the other tests. */
	ASSERT_EQ(0, rgvt_module_unload_settled());
	ASSERT_EQ(0, rgvt_module_load());
}

/* vGPU create: a failure leaves no mdev and the instance available. */
TEST_F_TIMEOUT(fault, create, 280)
{
	char uuid[RGVT_UUID_LEN + 1];
	bool injected = false;
	long avail, now;
	unsigned int n;
	int ret;

	ASSERT_EQ(0, rgvt_available(TYPE, &avail));
	ASSERT_LT(0, avail);
	for (n = self->first; n <= MAX_NTH; n++) {
		ASSERT_EQ(0, rgvt_uuid(uuid));
		INJECT(self, n, ret, rgvt_mdev_create(TYPE, uuid));
		if (!ret)
			strcpy(self->created.uuid[self->created.n++], uuid);
		if (!injected) {
			ASSERT_EQ(0, ret) TH_LOG("create without an injected failure: %s",
						 strerror(-ret));
			break;
		}
		EXPECT_TRUE(tally(self, ret, ENOMEM)) TH_LOG("N=%u: create returned %d", n, ret);
		if (ret) {
			EXPECT_FALSE(rgvt_mdev_exists(uuid)) TH_LOG("N=%u", n);
		} else {
			ASSERT_TRUE(rgvt_mdev_exists(uuid));
			ASSERT_EQ(0, rgvt_mdev_remove(uuid)) TH_LOG("N=%u", n);
			self->created.n--;
		}
		ASSERT_EQ(0, rgvt_available(TYPE, &now));
		EXPECT_EQ(avail, now) TH_LOG("N=%u: an instance was lost", n);
	}
	ASSERT_GE(MAX_NTH, n);
	tally_print(self, "create", n);
	ASSERT_EQ(0, rgvt_mdev_remove(uuid));
	self->created.n--;
	ASSERT_EQ(0, rgvt_available(TYPE, &now));
	EXPECT_EQ(avail, now);
}

/* VFIO device open (rgvt's open_device): a failure leaves the device closable and openable. */
TEST_F_TIMEOUT(fault, open, 280)
{
	char uuid[RGVT_UUID_LEN + 1];
	bool injected = false;
	unsigned int n;
	int ret, fd;

	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, uuid));
	ret = rgvt_vfio_open(uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	close(self->vfio.device);
	self->vfio.device = -1;
	for (n = self->first; n <= MAX_NTH; n++) {
		INJECT(self, n, fd, ioctl(self->vfio.group, VFIO_GROUP_GET_DEVICE_FD, uuid));
		ret = fd < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		if (!injected) {
			ASSERT_EQ(0, ret) TH_LOG("open without an injected failure: %s", strerror(-ret));
			break;
		}
		EXPECT_TRUE(tally(self, ret, ENOMEM)) TH_LOG("N=%u: open returned %d", n, ret);
	}
	ASSERT_GE(MAX_NTH, n);
	tally_print(self, "open", n);
	rgvt_vfio_close(&self->vfio);
	/* Every failed open released its module reference. */
	ASSERT_EQ(0, rgvt_mdev_remove(uuid));
	self->created.n--;
	ASSERT_EQ(0, rgvt_module_unload_settled());
	ASSERT_EQ(0, rgvt_module_load());
}

/*
 * The first GGTT write of an open device, which pins the guest page: after a
 * failure no page stays pinned and the entry is not present. Each try opens
 * the device afresh, so each one is a first write.
 */
TEST_F_TIMEOUT(fault, first_ggtt_write, 280)
{
	unsigned long long low_base, id, pins;
	char uuid[RGVT_UUID_LEN + 1];
	bool injected = false;
	__u64 pte, off, back;
	unsigned int n;
	ssize_t wret;
	void *mem;
	int ret;

	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(uuid, "low_gm_base", &low_base));
	ASSERT_EQ(0, rgvt_vgpu_attr(uuid, "vgpu_id", &id));
	mem = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x5a, PAGE_SZ);
	off = RGVT_GGTT_OFFSET + low_base / PAGE_SZ * RGVT_GGTT_ENTRY_SIZE;
	pte = GUEST_IOVA | 1;
	for (n = self->first; n <= MAX_NTH; n++) {
		ret = rgvt_vfio_open(uuid, &self->vfio);
		ASSERT_EQ(0, ret) TH_LOG("N=%u: %s: %s", n, self->vfio.failed, strerror(-ret));
		ASSERT_EQ(0, rgvt_dma_map(&self->vfio, mem, GUEST_IOVA, PAGE_SZ));
		INJECT(self, n, wret, rgvt_region_write(self->vfio.device, BAR0, off, &pte, 8));
		ret = wret == 8 ? 0 : wret < 0 ? (int)wret : -EIO;
		ASSERT_EQ(0, rgvt_counter(id, "pins_now", &pins));
		back = 0;
		ASSERT_EQ(8, rgvt_region_read(self->vfio.device, BAR0, off, &back, 8));
		if (!injected) {
			ASSERT_EQ(0, ret) TH_LOG("write without an injected failure: %s", strerror(-ret));
			EXPECT_EQ(1ULL, pins);
			EXPECT_EQ(pte, back);
			rgvt_vfio_close(&self->vfio);
			break;
		}
		EXPECT_TRUE(tally(self, ret, ENOMEM)) TH_LOG("N=%u: write returned %d", n, ret);
		if (ret) {
			EXPECT_EQ(0ULL, pins) TH_LOG("N=%u: a failed write left a page pinned", n);
			EXPECT_EQ(0ULL, back & 1) TH_LOG("N=%u: a failed write left the entry present", n);
		}
		rgvt_vfio_close(&self->vfio);
		ASSERT_EQ(0, rgvt_counter(id, "pins_now", &pins));
		EXPECT_EQ(0ULL, pins) TH_LOG("N=%u: pins left after close", n);
	}
	ASSERT_GE(MAX_NTH, n);
	tally_print(self, "first GGTT write", n);
	munmap(mem, PAGE_SZ);
}

/* The first submission ------------------------------------------------------ */

/*
 * The engine's worker, not this task, audits and runs a workload, so
 * fail-nth cannot reach it. Instead the attribute's own counters, with the
 * task filter off: probability 100, times 1, and the stack filter limited to
 * rgvt's code (require-start/-end), so only allocations with rgvt on the
 * stack count, in any task. The N-th of them fails through interval: the
 * kernel counts the eligible allocations in attr->count (only while interval
 * > 1 and times > 0) and fails the first one where count % interval == 0, so
 * with the count at C, interval C + N fails the N-th from now. The count is
 * not readable: the test keeps it in a file of the boot's /tmp (the same
 * program runs in several passes), and after the last try (no failure: the
 * count stopped short of the interval) it opens the device until the pending
 * failure fires, which puts the count back on the interval.
 */
#define SUB_PAGES	10	/* status page, ring, context (2), tables (4), batch, target */
enum { SP_HWSP, SP_RING, SP_CTX, SP_PML4 = 4, SP_PDP, SP_PD, SP_PT, SP_BATCH, SP_TARGET };
#define SUB_VA		0x0000123456000000ULL
#define RCS_BASE	0x2000U
#define SUB_WAIT_MS	5000

struct sub {
	struct rgvt_vfio *vfio;
	unsigned char *mem;
	unsigned long long low_base;
	long id;
	__u32 tail;
};

static __u32 *sub_page(struct sub *s, unsigned int p)
{
	return (__u32 *)(s->mem + p * PAGE_SZ);
}

static __u64 sub_gpa(unsigned int p)
{
	return GUEST_IOVA + p * PAGE_SZ;
}

static long sub_mmio(struct sub *s, __u32 off, __u32 v)
{
	return rgvt_region_write(s->vfio->device, BAR0, off, &v, 4) == 4 ? 0 : -EIO;
}

/* What a driver sets up for rcs0: GGTT entries, PPGTT, execlists, CSB pointers. */
static int sub_setup(struct sub *s)
{
	static const unsigned char gm_page[] = { SP_HWSP, SP_RING, SP_CTX, SP_CTX + 1 };
	__u64 *t, va = SUB_VA;
	unsigned int k;
	long ret = 0;

	memset(s->mem, 0, SUB_PAGES * PAGE_SZ);
	for (k = 0; k < ARRAY_SIZE(gm_page); k++) {
		__u64 pte = sub_gpa(gm_page[k]) | 1;

		if (rgvt_region_write(s->vfio->device, BAR0, RGVT_GGTT_OFFSET +
				      (s->low_base / PAGE_SZ + k) * RGVT_GGTT_ENTRY_SIZE, &pte, 8) != 8)
			return -EIO;
	}
	t = (__u64 *)sub_page(s, SP_PML4);
	t[(va >> 39) & 511] = sub_gpa(SP_PDP) | 3;
	t = (__u64 *)sub_page(s, SP_PDP);
	t[(va >> 30) & 511] = sub_gpa(SP_PD) | 3;
	t = (__u64 *)sub_page(s, SP_PD);
	t[(va >> 21) & 511] = sub_gpa(SP_PT) | 3;
	t = (__u64 *)sub_page(s, SP_PT);
	t[(va >> 12) & 511] = sub_gpa(SP_BATCH) | 3;
	t[((va >> 12) & 511) + 1] = sub_gpa(SP_TARGET) | 3;
	sub_page(s, SP_HWSP)[I915_HWS_CSB_WRITE_INDEX] = CSB_ENTRIES - 1;
	s->tail = 0;
	ret |= sub_mmio(s, RCS_BASE + RING_HWSTAM, ~0U);
	ret |= sub_mmio(s, RCS_BASE + RING_MODE_GEN7, MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
	ret |= sub_mmio(s, RCS_BASE + RING_MI_MODE, MASKED_DISABLE(STOP_RING));
	ret |= sub_mmio(s, RCS_BASE + RING_HWS_PGA, (__u32)s->low_base);
	ret |= sub_mmio(s, RCS_BASE + RING_CONTEXT_STATUS_PTR,
			0xffffU << 16 | (CSB_ENTRIES - 1) << 8 | (CSB_ENTRIES - 1));
	return ret ? -EIO : 0;
}

/* A store of v to the target page through the PPGTT, in the ring and image (no ELSP yet). */
static void sub_prepare(struct sub *s, __u32 v)
{
	__u32 *b = sub_page(s, SP_BATCH), *ring = sub_page(s, SP_RING), *regs;
	__u32 head = s->tail;

	__atomic_store_n(sub_page(s, SP_TARGET), 0, __ATOMIC_RELEASE);
	b[0] = MI_STORE_DWORD_IMM_GEN4;
	b[1] = (__u32)(SUB_VA + PAGE_SZ);
	b[2] = (SUB_VA + PAGE_SZ) >> 32;
	b[3] = v;
	b[4] = MI_BATCH_BUFFER_END;
	b[5] = MI_NOOP;
	ring[s->tail / 4] = MI_ARB_CHECK;
	ring[s->tail / 4 + 1] = MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT;
	ring[s->tail / 4 + 2] = (__u32)SUB_VA;
	ring[s->tail / 4 + 3] = SUB_VA >> 32;
	s->tail = (s->tail + 16) % PAGE_SZ;
	regs = sub_page(s, SP_CTX + 1);
	rgvt_lrc_init(regs, true, RCS_BASE, (__u32)s->low_base + PAGE_SZ, PAGE_SZ, sub_gpa(SP_PML4));
	regs[CTX_RING_HEAD] = head;
	regs[CTX_RING_TAIL] = s->tail;
}

/* ELSP with the context in element 0: 0, or the first write's error. */
static long sub_elsp(struct sub *s)
{
	__u64 d0 = rgvt_ctx_desc((__u32)s->low_base + 2 * PAGE_SZ, 0x1000);
	__u32 dw[4] = { 0, 0, d0 >> 32, (__u32)d0 };
	long ret = 0;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		ssize_t r = rgvt_region_write(s->vfio->device, BAR0, RCS_BASE + RING_ELSP,
					      &dw[i], 4);

		if (!ret && r != 4)
			ret = r < 0 ? r : -EIO;
	}
	return ret;
}

/* The store landed and a context-status event came. */
static bool sub_done(struct sub *s, __u32 v)
{
	return __atomic_load_n(sub_page(s, SP_TARGET), __ATOMIC_ACQUIRE) == v &&
	       __atomic_load_n(&sub_page(s, SP_HWSP)[I915_HWS_CSB_WRITE_INDEX],
			       __ATOMIC_ACQUIRE) != CSB_ENTRIES - 1;
}

static double sub_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * The sum of rcs0's failure counters in vgpu<id>/engines (a workload refused,
 * stopped or failed: every way the engine reports that it gave up), or ~0 if
 * the file cannot be read.
 */
static unsigned long long sub_failures(long id)
{
	static const char * const words[] = {
		"submit_refused", "audit_failures", "faults", "access_faults", "hangs",
		"stale", "cancelled", "backend_errors", "ctx_failed", "ctx_dropped",
		"hwsp_faults", "writeback_faults", "schedule_out_errors",
	};
	char path[PATH_MAX], buf[16384], *line, *save = NULL;
	unsigned long long sum = 0;
	bool rcs = false;

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/engines", id), buf, sizeof(buf)) < 0)
		return ~0ULL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long v;
		unsigned int i;

		if (line[0] != ' ' && line[0] != '\t') {
			rcs = !strncmp(line, "rcs0:", 5);
			continue;
		}
		if (!rcs || sscanf(line, " %63[^ :]%*[ :]%llu", name, &v) != 2)
			continue;
		for (i = 0; i < ARRAY_SIZE(words); i++)
			if (!strcmp(name, words[i]))
				sum += v;
	}
	return sum;
}

/* The count of attribute dir kept for this boot (see above). */
static char *count_path(char *buf, const char *dir)
{
	return rgvt_path(buf, "%s/rgvt-fault-count.%s", rgvt_getenv("TMPDIR", "/tmp"),
			 strrchr(dir, '/') + 1);
}

static unsigned long long count_load(const char *dir)
{
	unsigned long long c = 0;
	char path[PATH_MAX];

	rgvt_read_u64(count_path(path, dir), &c);
	return c;
}

static void count_save(const char *dir, unsigned long long c)
{
	char path[PATH_MAX], buf[32];
	int fd, len;

	mkdir(rgvt_getenv("TMPDIR", "/tmp"), 0755);
	len = snprintf(buf, sizeof(buf), "%llu", c);
	fd = open(count_path(path, dir), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != len)
		ksft_print_msg("%s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int attr_write(const char *dir, const char *name, unsigned long long v)
{
	char path[PATH_MAX], buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return rgvt_write(rgvt_path(path, "%s/%s", dir, name), buf);
}

/* Whether attribute dir's pending failure fired (times is 0). */
static bool attr_fired(const char *dir)
{
	char path[PATH_MAX];
	long times = -1;

	rgvt_read_long(rgvt_path(path, "%s/times", dir), &times);
	return times == 0;
}

/*
 * rgvt's text: from the lowest to past the highest function of the module in
 * /proc/kallsyms (its .text and the .text.* sections next to it). Zeros when
 * addresses are hidden.
 */
static void module_text(unsigned long long *start, unsigned long long *end)
{
	char line[512], mod[80], type;
	unsigned long long addr;
	FILE *f;

	*start = ~0ULL;
	*end = 0;
	snprintf(mod, sizeof(mod), "[%s]", rgvt_module());
	f = fopen("/proc/kallsyms", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[256], owner[80];

			if (sscanf(line, "%llx %c %255s %79s", &addr, &type, name, owner) != 4 ||
			    strcmp(owner, mod) || (type != 't' && type != 'T') || !addr)
				continue;
			if (addr < *start)
				*start = addr;
			if (addr > *end)
				*end = addr;
		}
		fclose(f);
	}
	if (!*end) {
		*start = 0;
		return;
	}
	/* Past the last function: the end of its page and one more. */
	*end = (*end | 4095) + 4097;
}

/*
 * The first submission of a freshly opened device, with the N-th allocation
 * under rgvt (of any task) failing, for attribute dir (failslab or
 * fail_page_alloc; the other one stays quiet).
 */
static void first_submission(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
			     const char *dir)
{
	static const char * const attrs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	unsigned long long text_start, text_end, count, pins, id;
	unsigned int n, completed = 0, failed = 0, refused = 0, i;
	char uuid[RGVT_UUID_LEN + 1], buf[32];
	struct sub s = { .vfio = &self->vfio };
	bool fired = false;
	__u32 v;

	if (!self->filtered)
		SKIP(return, "no stack-trace filter: without the task filter every allocation of the system would be at risk");
	module_text(&text_start, &text_end);
	ASSERT_NE(0ULL, text_start) TH_LOG("no %s functions in /proc/kallsyms", rgvt_module());
	ksft_print_msg("%s: allocations with %s's text (0x%llx-0x%llx) on the stack, of any task\n",
		       dir, rgvt_module(), text_start, text_end);
	if (reject_under(self, "__alloc_object"))
		ksft_print_msg("kmemleak's records (__alloc_object) are not failed\n");
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		/* Quiet first (times 0), then the filter, then the rest. */
		ASSERT_EQ(0, knob_set(self, attrs[i], "times", "0"));
		snprintf(buf, sizeof(buf), "0x%llx", text_start);
		ASSERT_EQ(0, knob_set(self, attrs[i], "require-start", buf));
		snprintf(buf, sizeof(buf), "0x%llx", text_end);
		ASSERT_EQ(0, knob_set(self, attrs[i], "require-end", buf));
		ASSERT_EQ(0, knob_set(self, attrs[i], "task-filter", "N"));
		ASSERT_EQ(0, knob_set(self, attrs[i], "space", "0"));
		ASSERT_EQ(0, knob_set(self, attrs[i], "interval", "1"));
		ASSERT_EQ(0, knob_set(self, attrs[i], "probability", "0"));
	}
	ASSERT_EQ(0, knob_set(self, dir, "probability", "100"));
	count = count_load(dir);

	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(uuid, "low_gm_base", &s.low_base));
	ASSERT_EQ(0, rgvt_vgpu_attr(uuid, "vgpu_id", &id));
	s.id = id;
	s.mem = mmap(NULL, SUB_PAGES * PAGE_SZ, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s.mem);
	for (n = self->first; n <= MAX_NTH; n++) {
		unsigned long long before, after;
		struct timespec t0;
		bool done = false;
		long elsp;
		int ret;

		ret = rgvt_vfio_open(uuid, &self->vfio);
		ASSERT_EQ(0, ret) TH_LOG("N=%u: %s: %s", n, self->vfio.failed, strerror(-ret));
		ASSERT_EQ(0, rgvt_dma_map(&self->vfio, s.mem, GUEST_IOVA, SUB_PAGES * PAGE_SZ));
		ASSERT_EQ(0, sub_setup(&s)) TH_LOG("N=%u: set-up", n);
		v = 0x5ab00000 | n;
		sub_prepare(&s, v);
		before = sub_failures(s.id);
		ASSERT_NE(~0ULL, before);

		mark("begin", _metadata->name, n);
		ASSERT_EQ(0, attr_write(dir, "interval", count + n));
		ASSERT_EQ(0, attr_write(dir, "times", 1));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		elsp = sub_elsp(&s);
		/* Only memory is polled while armed: no rgvt code runs in this task. */
		while (sub_ms(&t0) < SUB_WAIT_MS) {
			done = sub_done(&s, v);
			if (done)
				break;
			usleep(5000);
		}
		fired = attr_fired(dir);
		ASSERT_EQ(0, attr_write(dir, "times", 0));
		mark("end", _metadata->name, n);
		if (fired && count + n > 1)
			count += n;	/* the kernel's count reached the interval */
		count_save(dir, count);

		if (!fired) {
			EXPECT_TRUE(done) TH_LOG("N=%u: no failure injected and the workload did not complete", n);
			rgvt_vfio_close(&self->vfio);
			break;
		}
		after = sub_failures(s.id);
		if (done) {
			completed++;
		} else if (elsp) {
			/* The ELSP write itself was refused: the guest sees it. */
			EXPECT_EQ(-ENOMEM, elsp) TH_LOG("N=%u: ELSP write returned %ld", n, elsp);
			refused++;
		} else {
			/* Not completed: the engine must say it gave up. */
			EXPECT_LT(before, after) TH_LOG("N=%u: the workload neither completed (target 0x%08x) nor was counted as failed in vgpu%ld/engines",
						      n, *sub_page(&s, SP_TARGET), s.id);
			failed++;
		}
		/* The device still works after a reset. */
		ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_RESET)) TH_LOG("N=%u", n);
		ASSERT_EQ(0, sub_setup(&s)) TH_LOG("N=%u: set-up after the reset", n);
		sub_prepare(&s, v ^ 0xffff);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		sub_elsp(&s);
		while (!sub_done(&s, v ^ 0xffff) && sub_ms(&t0) < SUB_WAIT_MS)
			usleep(5000);
		EXPECT_TRUE(sub_done(&s, v ^ 0xffff)) TH_LOG("N=%u: no workload completes after the reset", n);
		rgvt_vfio_close(&self->vfio);
		ASSERT_EQ(0, rgvt_counter(s.id, "pins_now", &pins));
		EXPECT_EQ(0ULL, pins) TH_LOG("N=%u: pins left after close", n);
	}
	ASSERT_GE(MAX_NTH, n);
	ksft_print_msg("%s, first submission: %u allocations failed in turn: %u workloads completed anyway, %u failed (counted), %u ELSP writes refused; completed with no failure at N=%u\n",
		       dir, completed + failed + refused, completed, failed, refused, n);

	/*
	 * The last try stopped short of the interval: the pending failure (of
	 * the count + n-th) fires in a device open (which fails cleanly,
	 * fault.open), and the count is known again.
	 */
	ASSERT_EQ(0, attr_write(dir, "times", 1));
	for (i = 0; i < 4 * MAX_NTH && !attr_fired(dir); i++) {
		mark("begin", _metadata->name, n);
		if (!rgvt_vfio_open(uuid, &self->vfio))
			rgvt_vfio_close(&self->vfio);
		mark("end", _metadata->name, n);
	}
	fired = attr_fired(dir);
	ASSERT_EQ(0, attr_write(dir, "times", 0));
	count_save(dir, !fired ? 0 : count + n > 1 ? count + n : count);
	EXPECT_TRUE(fired) TH_LOG("the count of %s could not be brought back to the interval", dir);
	ASSERT_EQ(0, rgvt_counter(s.id, "pins_now", &pins));
	EXPECT_EQ(0ULL, pins);
	munmap(s.mem, SUB_PAGES * PAGE_SZ);
	/* Nothing held the module. */
	ASSERT_EQ(0, rgvt_mdev_remove(uuid));
	self->created.n--;
	ASSERT_EQ(0, rgvt_module_unload_settled());
	ASSERT_EQ(0, rgvt_module_load());
}

TEST_F_TIMEOUT(fault, first_submission_slab, 600)
{
	first_submission(_metadata, self, FAILSLAB);
}

TEST_F_TIMEOUT(fault, first_submission_pages, 600)
{
	first_submission(_metadata, self, FAIL_PAGE_ALLOC);
}

RGVT_TEST_MAIN(true)
