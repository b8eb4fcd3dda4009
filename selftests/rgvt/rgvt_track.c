// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt_track: the shadow PPGTT under write tracking, driven through the
 * VFIO tracking region as a VMM without KVM drives it (include/uapi/rgvt.h).
 *
 * The test is the VMM and the guest: it keeps 4-level page tables in guest
 * memory (mapped with VFIO_IOMMU_MAP_DMA), creates shadow roots through the
 * PV page (g2v_notify PPGTT L4 create, as i915 does), rewrites page-table
 * entries at random and forwards each write to a frame it knows to be
 * tracked, learning the list (generation, frames) and acknowledging it now
 * and then, as a VMM whose protection lags would. At each submission point
 * it reads debugfs `vgpu<N>/shadow_walk` (unstable debugfs: it brings every
 * tree up to date as the engine does before a workload, then lists every
 * page each tree maps) and compares it with what its own tables say, under
 * each policy, switched between rounds. Then bad input to the region.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-V5_8"
#define PAGE		4096ULL
#define GUEST_PAGES	512
#define GUEST_SIZE	(GUEST_PAGES * PAGE)
#define GUEST_IOVA	0x10000000ULL
#define GUEST_GFN	(GUEST_IOVA / PAGE)
#define OUTSIDE_GFN	(GUEST_GFN + 0x100000)

#define BAR0		VFIO_PCI_BAR0_REGION_INDEX
#define TRACK		RGVT_TRACK_REGION_INDEX

#define PTE_PRESENT	1ULL
#define PTE_RW		2ULL
#define PTE_ADDR_MASK	(((1ULL << 46) - 1) & ~(PAGE - 1))
#define PTE(gfn)	(((__u64)(gfn) << 12) | PTE_PRESENT | PTE_RW)

/* Page numbers in guest memory (frame = GUEST_GFN + page). */
#define ROOT0		1
#define ROOT1		2
#define PDP		3
#define PD		4
#define PT_FIRST	8
#define NR_PT		4
#define DATA_FIRST	64
#define NR_DATA		(GUEST_PAGES - DATA_FIRST)
/* PD entries the test moves its PT pages between. */
#define NR_PDE		6

#define G2V_L4_CREATE	4
/* Submission points per policy and pass (two passes over the five). */
#define ROUNDS		6
#define POLICY_PATH	RGVT_SYSFS "/policy"
#define WINDOW_PATH	RGVT_SYSFS "/relax_window_ns"
/*
 * The write-counting window of the fixture's vGPU: 1 s. A forwarded write
 * costs tens of microseconds under TCG and more under KASAN on a loaded
 * host, so with the default 1 ms whether `threshold` writes fit in one
 * window would depend on the machine.
 */
#define WINDOW_NS	"1000000000"
/* Frames of the massive trace per policy (every PTE of every PT page each). */
#define MASSIVE_FRAMES	3
#define WALK_MAX	(4 << 20)
/* PML4 entries of root 1 the test points at the PDP (root switches). */
#define NR_ROOT1	2
/* Most pages one root maps: every PML4 entry, PD entry and PTE present. */
#define WANT_MAX	((NR_ROOT1 + 1) * NR_PDE * 512)

static const char * const policies[] = { "strict", "full", "static", "dynamic", "segmented" };

/* The VMM's view of the tracking region: the frames it forwards writes to. */
struct vmm {
	__u64 generation;
	__u64 frames[RGVT_TRACK_MAX_FRAMES];
	__u32 count;
};

FIXTURE(track)
{
	struct rgvt_created created;
	char uuid[RGVT_UUID_LEN + 1];
	struct rgvt_vfio vfio;
	unsigned int id;
	__u64 *mem;
	char policy[32];
	char window[32];
	struct vmm *vmm;
	char *walk;
	unsigned int seed;
	pid_t pid;	/* the process that opened the device and allocated */
};

static __u64 *page_of(FIXTURE_DATA(track) *self, unsigned int page)
{
	return self->mem + (size_t)page * 512;
}

static int bar0_write32(int device, __u64 off, __u32 v)
{
	return rgvt_region_write(device, BAR0, off, &v, 4) == 4 ? 0 : -EIO;
}

/* i915's gen8_ppgtt_notify_vgt: the PML4's address in pdp[0], then the notification. */
static int pv_create_root(FIXTURE_DATA(track) *self, unsigned int page)
{
	__u64 pa = (GUEST_GFN + page) * PAGE;
	int d = self->vfio.device;

	if (bar0_write32(d, VGT_PVINFO_PAGE + VGT_IF_PDP, (__u32)pa) ||
	    bar0_write32(d, VGT_PVINFO_PAGE + VGT_IF_PDP + 4, (__u32)(pa >> 32)))
		return -EIO;
	return bar0_write32(d, VGT_PVINFO_PAGE + VGT_IF_G2V_NOTIFY, G2V_L4_CREATE);
}

static int track_ctl(FIXTURE_DATA(track) *self, __u32 v)
{
	ssize_t n = rgvt_region_write(self->vfio.device, TRACK, RGVT_TRACK_CTL, &v, 4);

	return n == 4 ? 0 : (int)n;
}

/* Step 2 and 3 of the protocol: learn the list (consistently) and acknowledge it. */
static int vmm_sync(FIXTURE_DATA(track) *self, bool ack)
{
	int d = self->vfio.device;
	__u64 g0, g1;
	__u32 count;

	do {
		if (rgvt_region_read(d, TRACK, RGVT_TRACK_GENERATION, &g0, 8) != 8 ||
		    rgvt_region_read(d, TRACK, RGVT_TRACK_COUNT, &count, 4) != 4 ||
		    count > RGVT_TRACK_MAX_FRAMES)
			return -EIO;
		if (count && rgvt_region_read(d, TRACK, RGVT_TRACK_FRAMES, self->vmm->frames,
					      count * 8) != (ssize_t)(count * 8))
			return -EIO;
		if (rgvt_region_read(d, TRACK, RGVT_TRACK_GENERATION, &g1, 8) != 8)
			return -EIO;
	} while (g0 != g1);
	self->vmm->generation = g0;
	self->vmm->count = count;
	if (ack && rgvt_region_write(d, TRACK, RGVT_TRACK_ACK, &g0, 8) != 8)
		return -EIO;
	return 0;
}

static bool vmm_tracks(FIXTURE_DATA(track) *self, __u64 gfn)
{
	__u32 lo = 0, hi = self->vmm->count;

	while (lo < hi) {
		__u32 mid = (lo + hi) / 2;

		if (self->vmm->frames[mid] == gfn)
			return true;
		if (self->vmm->frames[mid] < gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static ssize_t forward(FIXTURE_DATA(track) *self, __u64 gpa, const void *data, __u32 size)
{
	struct rgvt_track_write w = { .gpa = gpa, .size = size };

	memcpy(w.data, data, size);
	return rgvt_region_write(self->vfio.device, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w));
}

/*
 * A forwarded write was refused: fine if the frame left the list since the
 * VMM last read it (the page relaxed), as a VMM learns by reading it again.
 */
static int forward_refused(FIXTURE_DATA(track) *self, unsigned int page, ssize_t n)
{
	if (n != -EINVAL || vmm_sync(self, false))
		return (int)n;
	return vmm_tracks(self, GUEST_GFN + page) ? -EINVAL : 0;
}

/*
 * The guest writes entry `index` of `page` (whole, or as two 4-byte halves,
 * low first or high first); the VMM forwards each write if it traps that frame.
 */
static int guest_write(FIXTURE_DATA(track) *self, unsigned int page, unsigned int index,
		       __u64 value, int halves)
{
	__u64 gpa = (GUEST_GFN + page) * PAGE + index * 8ULL;
	bool trapped = vmm_tracks(self, GUEST_GFN + page);
	__u32 lo = (__u32)value, hi = (__u32)(value >> 32);
	__u32 *p = (__u32 *)&page_of(self, page)[index];
	ssize_t n;

	if (!halves) {
		page_of(self, page)[index] = value;
		if (!trapped)
			return 0;
		n = forward(self, gpa, &value, 8);
		return n == sizeof(struct rgvt_track_write) ? 0 : forward_refused(self, page, n);
	}
	for (int k = 0; k < 2; k++) {
		bool low = (halves == 1) == (k == 0);

		p[low ? 0 : 1] = low ? lo : hi;
		if (!trapped)
			continue;
		n = forward(self, gpa + (low ? 0 : 4), low ? &lo : &hi, 4);
		if (n != sizeof(struct rgvt_track_write) && forward_refused(self, page, n))
			return (int)n;
	}
	return 0;
}

static bool in_guest(__u64 entry)
{
	__u64 gfn = (entry & PTE_ADDR_MASK) >> 12;

	return (entry & PTE_PRESENT) && gfn >= GUEST_GFN && gfn < GUEST_GFN + GUEST_PAGES;
}

/* What the guest's own tables map from `root`: "va gfn" pairs, in address order. */
static size_t expected(FIXTURE_DATA(track) *self, unsigned int root, __u64 (*out)[2], size_t max)
{
	size_t n = 0;

	for (unsigned int a = 0; a < 512; a++) {
		__u64 e4 = page_of(self, root)[a];

		if (!in_guest(e4))
			continue;
		for (unsigned int b = 0; b < 512; b++) {
			__u64 e3 = page_of(self, ((e4 & PTE_ADDR_MASK) >> 12) - GUEST_GFN)[b];

			if (!in_guest(e3))
				continue;
			for (unsigned int c = 0; c < 512; c++) {
				__u64 e2 = page_of(self, ((e3 & PTE_ADDR_MASK) >> 12) - GUEST_GFN)[c];

				if (!in_guest(e2))
					continue;
				for (unsigned int d = 0; d < 512; d++) {
					__u64 e1 = page_of(self,
						((e2 & PTE_ADDR_MASK) >> 12) - GUEST_GFN)[d];

					if (!in_guest(e1) || n == max)
						continue;
					out[n][0] = ((__u64)a << 39) | ((__u64)b << 30) |
						    ((__u64)c << 21) | ((__u64)d << 12);
					out[n][1] = (e1 & PTE_ADDR_MASK) >> 12;
					n++;
				}
			}
		}
	}
	return n;
}

static int read_walk(FIXTURE_DATA(track) *self)
{
	char path[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = open(rgvt_path(path, RGVT_DEBUGFS "/vgpu%u/shadow_walk", self->id), O_RDONLY);
	if (fd < 0)
		return -errno;
	while (off < WALK_MAX - 1 && (n = read(fd, self->walk + off, WALK_MAX - 1 - off)) > 0)
		off += n;
	close(fd);
	self->walk[off] = '\0';
	return 0;
}

/*
 * A submission point: the shadow of each root must map exactly what the
 * guest's tables map. Returns the number of mismatching roots (0 = exact).
 */
static int check_roots(struct __test_metadata *_metadata, FIXTURE_DATA(track) *self,
		       const char *when)
{
	static __u64 want[WANT_MAX][2];
	static const unsigned int roots[] = { ROOT0, ROOT1 };
	int bad = 0;

	if (read_walk(self))
		return -1;
	if (strstr(self->walk, "error ")) {
		TH_LOG("%s: walk failed: %.200s", when, self->walk);
		return -1;
	}
	for (unsigned int r = 0; r < 2; r++) {
		char head[64], *line, *end;
		size_t n = expected(self, roots[r], want, WANT_MAX), i = 0;

		snprintf(head, sizeof(head), "root %#llx\n", GUEST_GFN + roots[r]);
		line = strstr(self->walk, head);
		if (!line) {
			TH_LOG("%s: no tree for root %u", when, roots[r]);
			bad++;
			continue;
		}
		line += strlen(head);
		end = strstr(line, "root ");
		for (; *line && line != end; i++) {
			unsigned long long va, gfn;

			if (sscanf(line, "%llx %llx", &va, &gfn) != 2)
				break;
			if (i >= n || want[i][0] != va || want[i][1] != gfn) {
				TH_LOG("%s: root %u entry %zu: shadow %#llx -> %#llx, guest %#llx -> %#llx",
				       when, roots[r], i, va, gfn, i < n ? want[i][0] : 0ULL,
				       i < n ? want[i][1] : 0ULL);
				bad++;
				break;
			}
			line = strchr(line, '\n');
			if (!line)
				break;
			line++;
		}
		if (!bad && i != n) {
			TH_LOG("%s: root %u: shadow maps %zu pages, guest %zu", when, roots[r], i, n);
			bad++;
		}
	}
	return bad;
}

/* One counter of debugfs `vgpu<N>/shadow`, -1 if absent. */
static long long shadow_counter(FIXTURE_DATA(track) *self, const char *name)
{
	char path[PATH_MAX], key[64], *buf = self->walk, *p;
	long long v = -1;

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%u/shadow", self->id), buf,
		      WALK_MAX) < 0)
		return -1;
	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(buf, key);
	if (p)
		sscanf(p + strlen(key), "%lld", &v);
	return v;
}

static bool shadow_says(FIXTURE_DATA(track) *self, const char *line)
{
	char path[PATH_MAX];

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%u/shadow", self->id), self->walk,
		      WALK_MAX) < 0)
		return false;
	return strstr(self->walk, line) != NULL;
}

FIXTURE_SETUP(track)
{
	unsigned long long id;
	long avail;
	int ret;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	self->mem = MAP_FAILED;
	self->pid = getpid();
	self->seed = (unsigned int)strtoul(rgvt_getenv("RGVT_TRACK_SEED", "11"), NULL, 0);
	self->vmm = calloc(1, sizeof(*self->vmm));
	self->walk = malloc(WALK_MAX);
	ASSERT_NE(NULL, self->vmm);
	ASSERT_NE(NULL, self->walk);
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_LT(0, rgvt_read(POLICY_PATH, self->policy, sizeof(self->policy)));
	ASSERT_LT(0, rgvt_read(WINDOW_PATH, self->window, sizeof(self->window)));
	ASSERT_EQ(0, rgvt_write(WINDOW_PATH, WINDOW_NS));
	ASSERT_EQ(0, rgvt_available(TYPE, &avail));
	ASSERT_LE(1, avail) TH_LOG("no %s available", TYPE);
	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, self->uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(self->uuid, "vgpu_id", &id));
	self->id = id;
	ret = rgvt_vfio_open(self->uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	self->mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0, GUEST_SIZE);
	ASSERT_EQ(0, rgvt_dma_map(&self->vfio, self->mem, GUEST_IOVA, GUEST_SIZE));

	/* Two roots sharing one PDP and PD; PT pages at PD entries 0..NR_PT-1. */
	page_of(self, ROOT0)[0] = PTE(GUEST_GFN + PDP);
	page_of(self, ROOT1)[0] = PTE(GUEST_GFN + PDP);
	page_of(self, ROOT1)[1] = PTE(GUEST_GFN + PDP);
	page_of(self, PDP)[0] = PTE(GUEST_GFN + PD);
	for (unsigned int i = 0; i < NR_PT; i++) {
		page_of(self, PD)[i] = PTE(GUEST_GFN + PT_FIRST + i);
		for (unsigned int k = 0; k < 512; k += 7)
			page_of(self, PT_FIRST + i)[k] =
				PTE(GUEST_GFN + DATA_FIRST + (i * 512 + k) % NR_DATA);
	}
}

/*
 * In the parent, so that it runs after a failed ASSERT too (the harness's
 * child may lose track of itself across the longjmp); the test's process
 * has exited by then, closing the device. Run in the test's own process
 * (no fork), the device is closed first.
 */
FIXTURE_TEARDOWN_PARENT(track)
{
	if (getpid() == self->pid) {
		rgvt_vfio_close(&self->vfio);
		if (self->mem != MAP_FAILED)
			munmap(self->mem, GUEST_SIZE);
		free(self->vmm);
		free(self->walk);
	}
	rgvt_remove_created(&self->created);
	if (self->policy[0])
		rgvt_write(POLICY_PATH, self->policy);
	if (self->window[0])
		rgvt_write(WINDOW_PATH, self->window);
}

TEST_F(track, region_info_has_type_capability)
{
	struct {
		struct vfio_region_info info;
		struct vfio_region_info_cap_type cap;
	} big = { .info = { .argsz = sizeof(big), .index = TRACK } };
	struct vfio_region_info small = { .argsz = sizeof(small), .index = TRACK };
	__u32 v;

	ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_GET_REGION_INFO, &small));
	EXPECT_NE(0U, small.flags & VFIO_REGION_INFO_FLAG_CAPS);
	EXPECT_EQ(sizeof(big), small.argsz);
	EXPECT_EQ(0U, small.cap_offset);
	EXPECT_EQ((__u64)RGVT_TRACK_REGION_SIZE, small.size);
	EXPECT_EQ(RGVT_REGION_OFFSET(TRACK), small.offset);

	ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_GET_REGION_INFO, &big));
	EXPECT_EQ(sizeof(big.info), big.info.cap_offset);
	EXPECT_EQ(VFIO_REGION_INFO_CAP_TYPE, big.cap.header.id);
	EXPECT_EQ(1, big.cap.header.version);
	EXPECT_EQ(0U, big.cap.header.next);
	EXPECT_EQ((__u32)RGVT_TRACK_TYPE, big.cap.type);
	EXPECT_EQ((__u32)RGVT_TRACK_SUBTYPE, big.cap.subtype);

	ASSERT_EQ(4, rgvt_region_read(self->vfio.device, TRACK, RGVT_TRACK_VERSION, &v, 4));
	EXPECT_EQ((__u32)RGVT_TRACK_VERSION_1, v);
	ASSERT_EQ(4, rgvt_region_read(self->vfio.device, TRACK, RGVT_TRACK_MAX, &v, 4));
	EXPECT_EQ((__u32)RGVT_TRACK_MAX_FRAMES, v);
}

/* Without a tracker the vGPU runs "full" whatever is configured, and is exact. */
TEST_F(track, untracked_runs_full)
{
	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "strict"));
	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	EXPECT_TRUE(shadow_says(self, "policy strict\n"));
	EXPECT_TRUE(shadow_says(self, "policy_effective full\n"));
	EXPECT_TRUE(shadow_says(self, "tracking none\n"));
	/* Writes nobody forwards: seen at the next submission point all the same. */
	page_of(self, PT_FIRST + 2)[5] = PTE(GUEST_GFN + DATA_FIRST + 300);
	page_of(self, PD)[NR_PT] = PTE(GUEST_GFN + PT_FIRST);
	EXPECT_EQ(0, check_roots(_metadata, self, "untracked"));
}

/* Under a minute under TCG: every submission point reads the whole walk. */
TEST_F_TIMEOUT(track, random_writes_every_policy, 200)
{
	unsigned int seed = self->seed;
	long long traps;
	int rounds = 0;

	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	ASSERT_EQ(0, track_ctl(self, RGVT_TRACK_CTL_ENABLE));
	ASSERT_EQ(0, vmm_sync(self, true));
	EXPECT_TRUE(shadow_says(self, "tracking region\n"));
	/* Under "full" (the default) only the directories stay protected. */
	EXPECT_LE(4U, self->vmm->count) TH_LOG("frames listed");
	ASSERT_EQ(0, check_roots(_metadata, self, "start"));

	for (unsigned int p = 0; p < 2 * ARRAY_SIZE(policies); p++) {
		const char *policy = policies[p % ARRAY_SIZE(policies)];
		char want[64];

		/* Switched at any time: between writes, before the VMM re-syncs. */
		ASSERT_EQ(0, rgvt_write(POLICY_PATH, policy));
		snprintf(want, sizeof(want), "policy_effective %s\n", policy);
		EXPECT_TRUE(shadow_says(self, want)) TH_LOG("%s", policy);
		for (int round = 0; round < ROUNDS; round++, rounds++) {
			int writes = 1 + rand_r(&seed) % 40;

			for (int w = 0; w < writes; w++) {
				unsigned int r = rand_r(&seed) % 100;
				unsigned int pt = rand_r(&seed) % NR_PT;
				unsigned int idx = rand_r(&seed) % 512;
				int halves = rand_r(&seed) % 4 == 0 ? 1 + rand_r(&seed) % 2 : 0;
				__u64 v;

				if (r < 70)		/* remap a page */
					v = PTE(GUEST_GFN + DATA_FIRST + rand_r(&seed) % NR_DATA);
				else if (r < 80)	/* unmap it */
					v = 0;
				else if (r < 85)	/* a frame the guest does not own */
					v = PTE(OUTSIDE_GFN + rand_r(&seed) % 64);
				else
					v = ~0ULL;	/* garbage: handled, not trusted */
				if (r >= 95) {
					/* Move a PT page to another PD slot, or unmap a slot. */
					unsigned int pde = rand_r(&seed) % NR_PDE;

					v = rand_r(&seed) % 3 ? PTE(GUEST_GFN + PT_FIRST + pt) : 0;
					ASSERT_EQ(0, guest_write(self, PD, pde, v, halves));
					continue;
				}
				if (v == ~0ULL)
					v = PTE(GUEST_GFN + DATA_FIRST) | (1ULL << 7) | (1ULL << 11);
				ASSERT_EQ(0, guest_write(self, PT_FIRST + pt, idx, v, halves));
			}
			/* The VMM learns the list now and then, acknowledging or not. */
			if (rand_r(&seed) % 3)
				ASSERT_EQ(0, vmm_sync(self, rand_r(&seed) % 4 != 0));
			/* A root switch: the PML4 entry of root 1 moves. */
			if (rand_r(&seed) % 5 == 0)
				ASSERT_EQ(0, guest_write(self, ROOT1, 1 + rand_r(&seed) % (NR_ROOT1 - 1),
							 rand_r(&seed) % 2 ? PTE(GUEST_GFN + PDP) : 0,
							 0));
			ASSERT_EQ(0, check_roots(_metadata, self, policy)) TH_LOG("round %d", rounds);
		}
	}
	traps = shadow_counter(self, "traps_region");
	EXPECT_LT(0, traps);
	EXPECT_LT(0, shadow_counter(self, "reconstructions"));
	EXPECT_LT(0, shadow_counter(self, "to_relaxed"));
	EXPECT_LT(0, shadow_counter(self, "to_strict"));
	EXPECT_LT(0, shadow_counter(self, "policy_changes"));
	EXPECT_LT(0, shadow_counter(self, "trap_ns"));
	EXPECT_LT(0, shadow_counter(self, "reconstruct_ns"));
	EXPECT_EQ(0, shadow_counter(self, "track_full"));
	TH_LOG("%d rounds, %lld forwarded writes, %lld frame resyncs, %lld full rebuilds",
	       rounds, traps, shadow_counter(self, "frame_resyncs"),
	       shadow_counter(self, "full_rebuilds"));

	/* Strict: nothing stays relaxed once the policy changed. */
	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "strict"));
	EXPECT_EQ(0, shadow_counter(self, "relaxed_pages"));
	ASSERT_EQ(0, check_roots(_metadata, self, "strict at the end"));

	/* Disabled: back to "full", still exact with writes nobody forwards. */
	ASSERT_EQ(0, track_ctl(self, RGVT_TRACK_CTL_DISABLE));
	EXPECT_TRUE(shadow_says(self, "policy_effective full\n"));
	page_of(self, PT_FIRST)[9] = PTE(GUEST_GFN + DATA_FIRST + 9);
	EXPECT_EQ(0, check_roots(_metadata, self, "disabled"));
}

/* The vGPU's own policy file, /sys/bus/mdev/devices/<uuid>/rgvt/shadow_policy. */
static char *own_policy_path(FIXTURE_DATA(track) *self, char *path)
{
	return rgvt_path(path, MDEV_DEVICES "/%s/rgvt/shadow_policy", self->uuid);
}

static int own_policy_write(FIXTURE_DATA(track) *self, const char *value)
{
	char path[PATH_MAX];

	return rgvt_write(own_policy_path(self, path), value);
}

static bool own_policy_is(FIXTURE_DATA(track) *self, const char *want)
{
	char path[PATH_MAX], buf[64];

	/* rgvt_read drops the one trailing newline the file ends with. */
	return rgvt_read(own_policy_path(self, path), buf, sizeof(buf)) >= 0 &&
	       !strcmp(buf, want);
}

/* debugfs vgpu<N>/counters: sysfs_refused, -1 if absent. */
static long long sysfs_refused(FIXTURE_DATA(track) *self)
{
	char path[PATH_MAX], *p;
	long long v = -1;

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%u/counters", self->id), self->walk,
		      WALK_MAX) < 0)
		return -1;
	p = strstr(self->walk, "\nsysfs_refused ");
	if (p)
		sscanf(p + strlen("\nsysfs_refused "), "%lld", &v);
	return v;
}

/* Random PTE rewrites in the PT pages, forwarded as a VMM does; 0 or -errno. */
static int rewrite_ptes(FIXTURE_DATA(track) *self, unsigned int *seed, int writes)
{
	for (int w = 0; w < writes; w++) {
		unsigned int pt = rand_r(seed) % NR_PT, idx = rand_r(seed) % 512;
		__u64 v = rand_r(seed) % 8 ? PTE(GUEST_GFN + DATA_FIRST + rand_r(seed) % NR_DATA) : 0;
		int ret = guest_write(self, PT_FIRST + pt, idx, v, 0);

		if (ret)
			return ret;
	}
	return vmm_sync(self, true);
}

/*
 * The per-vGPU policy (sysfs shadow_policy) wins over the global one;
 * "default" follows the global one again; bad values are refused with
 * EINVAL, counted, and change nothing. Switched between forwarded writes,
 * the shadow stays exact.
 */
TEST_F(track, per_vgpu_policy_overrides_global)
{
	static const char * const bad[] = {
		"\n", "bogus", "strict2", "Strict", "default x", "segmented\nstrict", "defaul",
		"full full", "0", "-1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	unsigned int seed = self->seed;
	long long refused;
	char want[64];

	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	ASSERT_EQ(0, track_ctl(self, RGVT_TRACK_CTL_ENABLE));
	ASSERT_EQ(0, vmm_sync(self, true));
	EXPECT_TRUE(own_policy_is(self, "default"));
	EXPECT_TRUE(shadow_says(self, "policy_override default\n"));

	/* The global one runs while the vGPU has none of its own. */
	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "strict"));
	EXPECT_TRUE(shadow_says(self, "policy strict\n"));
	EXPECT_TRUE(shadow_says(self, "policy_effective strict\n"));
	ASSERT_EQ(0, rewrite_ptes(self, &seed, 40));
	ASSERT_EQ(0, check_roots(_metadata, self, "global strict"));

	/* Its own wins, at once and over later global writes. */
	ASSERT_EQ(0, own_policy_write(self, "segmented\n"));
	EXPECT_TRUE(own_policy_is(self, "segmented"));
	EXPECT_TRUE(shadow_says(self, "policy segmented\n"));
	EXPECT_TRUE(shadow_says(self, "policy_effective segmented\n"));
	EXPECT_TRUE(shadow_says(self, "policy_override segmented\n"));
	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "full"));
	EXPECT_TRUE(shadow_says(self, "policy segmented\n"));
	ASSERT_EQ(0, rewrite_ptes(self, &seed, 60));
	ASSERT_EQ(0, check_roots(_metadata, self, "own segmented"));

	/* Every policy of its own, switched between forwarded writes. */
	for (unsigned int p = 0; p < 2 * ARRAY_SIZE(policies); p++) {
		const char *policy = policies[p % ARRAY_SIZE(policies)];

		ASSERT_EQ(0, rewrite_ptes(self, &seed, 1 + rand_r(&seed) % 30));
		ASSERT_EQ(0, own_policy_write(self, policy));
		snprintf(want, sizeof(want), "policy_effective %s\n", policy);
		EXPECT_TRUE(shadow_says(self, want)) TH_LOG("%s", policy);
		ASSERT_EQ(0, rewrite_ptes(self, &seed, 1 + rand_r(&seed) % 30));
		ASSERT_EQ(0, check_roots(_metadata, self, policy));
	}

	/* Bad values: EINVAL, counted, nothing changes. */
	ASSERT_EQ(0, own_policy_write(self, "dynamic"));
	refused = sysfs_refused(self);
	ASSERT_LE(0, refused);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, own_policy_write(self, bad[i])) TH_LOG("\"%s\"", bad[i]);
	}
	EXPECT_EQ(refused + (long long)ARRAY_SIZE(bad), sysfs_refused(self));
	EXPECT_TRUE(own_policy_is(self, "dynamic"));
	EXPECT_TRUE(shadow_says(self, "policy dynamic\n"));

	/* "default": the global one again, and its later changes. */
	ASSERT_EQ(0, own_policy_write(self, " default\n"));
	EXPECT_TRUE(own_policy_is(self, "default"));
	EXPECT_TRUE(shadow_says(self, "policy full\n"));
	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "strict"));
	EXPECT_TRUE(shadow_says(self, "policy strict\n"));
	EXPECT_EQ(0, shadow_counter(self, "relaxed_pages"));
	ASSERT_EQ(0, rewrite_ptes(self, &seed, 40));
	ASSERT_EQ(0, check_roots(_metadata, self, "default again"));
	EXPECT_LT(0, shadow_counter(self, "policy_changes"));
}

/* Step 5 of the protocol: the list again if the generation moved. */
static int vmm_follow(FIXTURE_DATA(track) *self)
{
	__u64 g;

	if (rgvt_region_read(self->vfio.device, TRACK, RGVT_TRACK_GENERATION, &g, 8) != 8)
		return -EIO;
	return g == self->vmm->generation ? 0 : vmm_sync(self, true);
}

/*
 * One frame of the massive trace: every PTE of every PT page rewritten,
 * each write forwarded if its frame is listed and the list followed after
 * it (a page that relaxed stops trapping at once, as with KVM), then a
 * submission point where the shadow must map what the guest's tables map.
 */
static int massive_frame(struct __test_metadata *_metadata, FIXTURE_DATA(track) *self,
			 unsigned int frame)
{
	int ret = vmm_sync(self, true);

	for (unsigned int pt = 0; !ret && pt < NR_PT; pt++)
		for (unsigned int i = 0; !ret && i < 512; i++) {
			__u64 v = PTE(GUEST_GFN + DATA_FIRST + (pt * 512 + i + frame * 37) % NR_DATA);

			ret = guest_write(self, PT_FIRST + pt, i, v, 0);
			if (!ret)
				ret = vmm_follow(self);
		}
	if (!ret)
		ret = vmm_sync(self, true);
	if (ret)
		return ret;
	return check_roots(_metadata, self, "massive") ? -EINVAL : 0;
}

/*
 * The same massive trace through the region under strict and under
 * segmented: strict traps every write; segmented relaxes a page after a
 * few and rebuilds it at the submission point, so it must trap far fewer
 * (the bound is generous: with threshold 8 it traps about 8 per page
 * instead of 512). Both stay exact.
 */
TEST_F_TIMEOUT(track, counters_fall_under_segmented, 200)
{
	static const char * const pair[] = { "strict", "segmented" };
	long long traps[2], rebuilt[2], relaxed[2];
	unsigned int frame = 0;

	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	ASSERT_EQ(0, track_ctl(self, RGVT_TRACK_CTL_ENABLE));
	ASSERT_EQ(0, vmm_sync(self, true));
	for (unsigned int p = 0; p < 2; p++) {
		long long t0, r0, x0;

		ASSERT_EQ(0, rgvt_write(POLICY_PATH, pair[p]));
		/* A warm-up frame: pages change mode and the VMM learns the list. */
		ASSERT_EQ(0, massive_frame(_metadata, self, frame++)) TH_LOG("%s", pair[p]);
		t0 = shadow_counter(self, "traps_region");
		r0 = shadow_counter(self, "ptes_rebuilt");
		x0 = shadow_counter(self, "to_relaxed");
		for (int f = 0; f < MASSIVE_FRAMES; f++) {
			ASSERT_EQ(0, massive_frame(_metadata, self, frame++))
				TH_LOG("%s frame %d", pair[p], f);
		}
		traps[p] = shadow_counter(self, "traps_region") - t0;
		rebuilt[p] = shadow_counter(self, "ptes_rebuilt") - r0;
		relaxed[p] = shadow_counter(self, "to_relaxed") - x0;
	}
	TH_LOG("%d frames of %d PTE writes: strict %lld traps, %lld rebuilt; "
	       "segmented %lld traps, %lld rebuilt, %lld pages relaxed",
	       MASSIVE_FRAMES, NR_PT * 512, traps[0], rebuilt[0], traps[1], rebuilt[1],
	       relaxed[1]);
	/* Strict: every write is a trap, nothing relaxes. */
	EXPECT_EQ((long long)MASSIVE_FRAMES * NR_PT * 512, traps[0]);
	EXPECT_EQ(0, relaxed[0]);
	/* Segmented: each page relaxes once a frame and is rebuilt instead. */
	EXPECT_LT(traps[1] * 2, traps[0]);
	EXPECT_LE((long long)MASSIVE_FRAMES * NR_PT, relaxed[1]);
	EXPECT_LT(0, rebuilt[1]);
	EXPECT_EQ(0, shadow_counter(self, "region_untracked"));
	EXPECT_EQ(0, shadow_counter(self, "trap_errors"));
}

/*
 * debugfs shadow_floor (for tools/bench-shadow.sh) reads, translates and
 * writes every PT page the shadow has, and changes nothing the GPU walks.
 */
TEST_F(track, floor_reads_every_pt_page)
{
	char path[PATH_MAX], buf[256];
	unsigned long long pages, ptes, bad, ns, copy_ns;

	rgvt_path(path, RGVT_DEBUGFS "/vgpu%u/shadow_floor", self->id);
	/* No tree yet: nothing to read. */
	ASSERT_LT(0, rgvt_read(path, buf, sizeof(buf)));
	ASSERT_EQ(5, sscanf(buf, "pages %llu ptes %llu bad_pages %llu ns %llu copy_ns %llu",
			    &pages, &ptes, &bad, &ns, &copy_ns)) TH_LOG("%s", buf);
	EXPECT_EQ(0ULL, pages);
	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	/* The two roots share the PDP, the PD and its NR_PT PT pages. */
	ASSERT_LT(0, rgvt_read(path, buf, sizeof(buf)));
	ASSERT_EQ(5, sscanf(buf, "pages %llu ptes %llu bad_pages %llu ns %llu copy_ns %llu",
			    &pages, &ptes, &bad, &ns, &copy_ns)) TH_LOG("%s", buf);
	EXPECT_EQ((unsigned long long)NR_PT, pages);
	EXPECT_EQ((unsigned long long)NR_PT * 512, ptes);
	EXPECT_EQ(0ULL, bad);
	EXPECT_LT(0ULL, ns);
	EXPECT_LT(0ULL, copy_ns);
	EXPECT_EQ(0, check_roots(_metadata, self, "after the floor"));
}

TEST_F(track, bad_input_is_refused_and_counted)
{
	int d = self->vfio.device;
	__u64 pt_gpa = (GUEST_GFN + PT_FIRST) * PAGE, gen, v64;
	struct rgvt_track_write w = { 0 };
	__u32 v = 2;
	__u16 two = 0x1234;
	char buf[16];

	ASSERT_EQ(0, rgvt_write(POLICY_PATH, "strict"));
	ASSERT_EQ(0, pv_create_root(self, ROOT0));
	ASSERT_EQ(0, pv_create_root(self, ROOT1));
	/* Forwarding before enabling: protocol misuse. */
	v64 = PTE(GUEST_GFN + DATA_FIRST);
	EXPECT_EQ(-EPERM, forward(self, pt_gpa, &v64, 8));
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_ACK, &v64, 8));
	ASSERT_EQ(0, track_ctl(self, RGVT_TRACK_CTL_ENABLE));
	ASSERT_EQ(0, vmm_sync(self, true));
	ASSERT_EQ(0, check_roots(_metadata, self, "enabled"));

	/* Bad control value, offsets, sizes, read-only fields. */
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_CTL, &v, 4));
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_GENERATION, &v64, 8));
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_FRAMES, &v64, 8));
	EXPECT_EQ(-EINVAL, rgvt_region_read(d, TRACK, 0x30, buf, 4));
	EXPECT_EQ(-EINVAL, rgvt_region_read(d, TRACK, RGVT_TRACK_FRAMES + 4, buf, 8));
	EXPECT_EQ(-EINVAL, rgvt_region_read(d, TRACK, RGVT_TRACK_REGION_SIZE - 8, buf, 16));
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_WRITE, buf, 16));
	/* Acknowledging a generation from the future, or going back. */
	ASSERT_EQ(8, rgvt_region_read(d, TRACK, RGVT_TRACK_GENERATION, &gen, 8));
	v64 = gen + 1;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_ACK, &v64, 8));
	v64 = gen - 1;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_ACK, &v64, 8));

	/* Records: size 0, 9, flags, crossing a page. */
	w.gpa = pt_gpa;
	w.size = 0;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w)));
	w.size = 9;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w)));
	w.size = 8;
	w.flags = 1;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w)));
	w.flags = 0;
	w.gpa = pt_gpa + PAGE - 4;
	EXPECT_EQ(-EINVAL, rgvt_region_write(d, TRACK, RGVT_TRACK_WRITE, &w, sizeof(w)));
	/* Frames not tracked: a data page, a frame outside guest memory. */
	v64 = PTE(GUEST_GFN + DATA_FIRST + 1);
	EXPECT_EQ(-EINVAL, forward(self, (GUEST_GFN + DATA_FIRST) * PAGE, &v64, 8));
	EXPECT_EQ(-EINVAL, forward(self, OUTSIDE_GFN * PAGE, &v64, 8));

	/*
	 * Odd sizes and offsets on a tracked page: the guest did write them, the
	 * shadow refuses to guess and rebuilds those entries from guest memory.
	 */
	page_of(self, PT_FIRST)[0] = (page_of(self, PT_FIRST)[0] & ~0xffffULL) | two;
	EXPECT_EQ(-EINVAL, forward(self, pt_gpa, &two, 2));
	memcpy((char *)&page_of(self, PT_FIRST)[1] + 2, &v, 4);
	EXPECT_EQ(-EINVAL, forward(self, pt_gpa + 8 + 2, &v, 4));
	v64 = PTE(GUEST_GFN + DATA_FIRST + 77);
	page_of(self, PT_FIRST)[2] = v64;
	EXPECT_EQ(-EINVAL, forward(self, pt_gpa + 16 + 4, (char *)&v64 + 4, 3));
	EXPECT_EQ(0, check_roots(_metadata, self, "after bad writes"));

	EXPECT_LE(4, shadow_counter(self, "region_bad_record"));
	EXPECT_LE(7, shadow_counter(self, "region_bad_access"));
	EXPECT_LE(2, shadow_counter(self, "region_untracked"));
	EXPECT_LE(3, shadow_counter(self, "region_protocol"));
	EXPECT_LE(3, shadow_counter(self, "trap_errors"));
	EXPECT_LE(3, shadow_counter(self, "rejected_writes"));
}

RGVT_TEST_MAIN(true)
