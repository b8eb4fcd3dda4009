// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime ballooning: a VFIO "guest driver" speaking rgvt's PV balloon
 * protocol (include/uapi/rgvt.h, RGVT_PV_BALLOON_*) with the balloon worker.
 *
 * - a request is granted under low Φ (T1 = T2 = 2.0): avail_rs and the
 *   slot map grow by the slot, a GGTT entry in it is taken, and the grant
 *   is logged in debugfs balloon with its inputs;
 * - at Φ >= T2 (T1 = T2 = 0) an expansion is rejected and nothing changes;
 * - at Φ >= T2 a vGPU above its minimum is asked to release two slots: a
 *   guest that never acknowledges keeps them (the release is withdrawn
 *   after balloon_shrink_timeout periods and counted), one that
 *   acknowledges loses them at once, with the entries and pins in them;
 * - vGPUs are removed and the module unloaded while the worker runs and a
 *   guest keeps asking.
 *
 * Φ is forced through the thresholds (Φ is in [0, 2]); the period is 20 ms.
 * Every test puts the tunables back.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-S_32"
#define PAGE		4096ULL
#define GUEST_PAGES	16
#define GUEST_IOVA	0x10000000ULL
#define GUEST_GFN	(GUEST_IOVA / PAGE)
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX
#define PTE(gfn)	(((__u64)(gfn) << 12) | 1ULL)
#define BALLOON_LOG	RGVT_DEBUGFS "/balloon"

/* enum rgvt_balloon_status as the u32 the guest reads. */
#define IDLE		((__u32)RGVT_BALLOON_IDLE)
#define GRANTED		((__u32)RGVT_BALLOON_GRANTED)
#define REJECTED	((__u32)RGVT_BALLOON_REJECTED)
#define RELEASE		((__u32)RGVT_BALLOON_RELEASE)

/* The tunables a test changes, with their defaults, restored in teardown. */
static const char *const tunable_defaults[][2] = {
	{ "balloon", "1" },
	{ "balloon_period_ms", "500" },
	{ "balloon_w_max", "0.5" },
	{ "balloon_c_max", "0.1" },
	{ "balloon_shrink_slots", "2" },
	{ "balloon_shrink_timeout", "4" },
};

static int set(const char *name, const char *value)
{
	char path[PATH_MAX];

	return rgvt_write(rgvt_path(path, RGVT_SYSFS "/%s", name), value);
}

/* T1 <= T2 holds after every write: T1 to 0 first, then T2, then T1. */
static int thresholds(const char *t1, const char *t2)
{
	return set("balloon_t1", "0") ?: set("balloon_t2", t2) ?: set("balloon_t1", t1);
}

FIXTURE(balloon) {
	struct rgvt_created created;
	struct rgvt_vfio vfio;
	char uuid[RGVT_UUID_LEN + 1];
	long id;
	unsigned char *mem;
};

static __u32 pv(FIXTURE_DATA(balloon) *self, __u32 off)
{
	__u32 v;

	if (rgvt_region_read(self->vfio.device, BAR0, VGT_PVINFO_PAGE + off, &v, 4) != 4)
		return ~0U;
	return v;
}

static int pv_write(FIXTURE_DATA(balloon) *self, __u32 off, __u32 v)
{
	return rgvt_region_write(self->vfio.device, BAR0, VGT_PVINFO_PAGE + off, &v, 4) == 4
		? 0 : -1;
}

static __u64 ggtt_offset(__u64 index)
{
	return RGVT_GGTT_OFFSET + index * RGVT_GGTT_ENTRY_SIZE;
}

static int ggtt_write(FIXTURE_DATA(balloon) *self, __u64 index, __u64 v)
{
	return rgvt_region_write(self->vfio.device, BAR0, ggtt_offset(index), &v, 8) == 8
		? 0 : -1;
}

static __u64 ggtt_read(FIXTURE_DATA(balloon) *self, __u64 index)
{
	__u64 v;

	if (rgvt_region_read(self->vfio.device, BAR0, ggtt_offset(index), &v, 8) != 8)
		return ~0ULL;
	return v;
}

static int request(FIXTURE_DATA(balloon) *self, __u32 seq, __u32 slots, __u32 evictions)
{
	return pv_write(self, RGVT_PV_BALLOON_REQ_SLOTS, slots) ?:
	       pv_write(self, RGVT_PV_BALLOON_REQ_EVICTIONS, evictions) ?:
	       pv_write(self, RGVT_PV_BALLOON_REQ_SEQ, seq) ?:
	       pv_write(self, VGT_IF_G2V_NOTIFY, RGVT_G2V_BALLOON_REQUEST);
}

static int ack(FIXTURE_DATA(balloon) *self, __u32 seq)
{
	return pv_write(self, RGVT_PV_BALLOON_ACK_SEQ, seq) ?:
	       pv_write(self, VGT_IF_G2V_NOTIFY, RGVT_G2V_BALLOON_ACK);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the PV status until it is want (within ms); returns whether it was. */
static bool wait_status(FIXTURE_DATA(balloon) *self, __u32 want, long ms)
{
	long end = now_ms() + ms;

	do {
		if (pv(self, RGVT_PV_BALLOON_STATUS) == want)
			return true;
		usleep(2000);
	} while (now_ms() < end);
	return false;
}

/* The slots the guest may use, from the PV slot map. */
static void slot_map(FIXTURE_DATA(balloon) *self, __u32 map[8])
{
	int i;

	for (i = 0; i < 8; i++)
		map[i] = pv(self, RGVT_PV_BALLOON_SLOT_MAP + 4 * i);
}

static int slots_in(const __u32 map[8])
{
	int i, n = 0;

	for (i = 0; i < 8; i++)
		n += __builtin_popcount(map[i]);
	return n;
}

static bool in_map(const __u32 map[8], int s)
{
	return map[s / 32] & (1U << (s % 32));
}

/* GGTT index of the first entry of slot s. */
static __u64 slot_index(FIXTURE_DATA(balloon) *self, int s)
{
	return ((__u64)pv(self, RGVT_PV_BALLOON_SLOT_BASE) +
		(__u64)s * pv(self, RGVT_PV_BALLOON_SLOT_SIZE)) / PAGE;
}

/*
 * A number in debugfs balloon: "vgpu<id>.<name> <n>" among "; "-separated
 * pairs. Returns -1 when absent.
 */
static long long log_counter(long id, const char *name)
{
	static char buf[64 * 1024];
	char key[64], *p;

	if (rgvt_read(BALLOON_LOG, buf, sizeof(buf)) < 0)
		return -1;
	snprintf(key, sizeof(key), "vgpu%ld.%s ", id, name);
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Whether debugfs balloon has a log row "<period> <id> <decision> ...". */
static bool log_has(long id, const char *decision)
{
	static char buf[64 * 1024];
	char *line, *save = NULL, word[32];
	long period, vgpu;

	if (rgvt_read(BALLOON_LOG, buf, sizeof(buf)) < 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%ld %ld %31s", &period, &vgpu, word) == 3 && vgpu == id &&
		    !strcmp(word, decision))
			return true;
	return false;
}

FIXTURE_SETUP(balloon)
{
	unsigned long long id;
	int ret;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	self->mem = MAP_FAILED;
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_TRUE(rgvt_exists(BALLOON_LOG)) TH_LOG("no balloon worker in debugfs");
	ASSERT_EQ(0, set("balloon_period_ms", "20"));
	ASSERT_EQ(0, set("balloon_w_max", "1.0"));
	ASSERT_EQ(0, set("balloon_c_max", "1.0"));
	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, self->uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(self->uuid, "vgpu_id", &id));
	self->id = id;
	ret = rgvt_vfio_open(self->uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	self->mem = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0x5a, GUEST_PAGES * PAGE);
	ASSERT_EQ(0, rgvt_dma_map(&self->vfio, self->mem, GUEST_IOVA, GUEST_PAGES * PAGE));
	/* The worker publishes the balloon fields every period. */
	ASSERT_TRUE(({
		long end = now_ms() + 2000;
		while (pv(self, RGVT_PV_BALLOON_VERSION) != 1 && now_ms() < end)
			usleep(2000);
		pv(self, RGVT_PV_BALLOON_VERSION) == 1;
	})) TH_LOG("PV balloon version never published");
	ASSERT_EQ(IDLE, pv(self, RGVT_PV_BALLOON_STATUS));
}

FIXTURE_TEARDOWN(balloon)
{
	size_t i;

	rgvt_vfio_close(&self->vfio);
	if (self->mem != MAP_FAILED)
		munmap(self->mem, GUEST_PAGES * PAGE);
	if (!rgvt_module_loaded())
		rgvt_module_load();
	rgvt_remove_created(&self->created);
	thresholds("0.5", "1.0");
	for (i = 0; i < sizeof(tunable_defaults) / sizeof(tunable_defaults[0]); i++)
		set(tunable_defaults[i][0], tunable_defaults[i][1]);
}

TEST_F(balloon, request_granted_under_low_phi)
{
	__u32 before[8], after[8], size0, seq;
	char buf[4096];
	__u64 index = 0;
	int s, added = -1;

	ASSERT_EQ(0, thresholds("2.0", "2.0"));
	size0 = pv(self, VGT_IF_NONMAPPABLE_SIZE);
	slot_map(self, before);
	ASSERT_EQ(6, slots_in(before));
	ASSERT_EQ(size0, 6 * pv(self, RGVT_PV_BALLOON_SLOT_SIZE));

	ASSERT_EQ(0, request(self, 1, 1, 50));
	ASSERT_TRUE(wait_status(self, GRANTED, 3000));
	seq = pv(self, RGVT_PV_BALLOON_SEQ);
	slot_map(self, after);
	EXPECT_EQ(7, slots_in(after));
	EXPECT_EQ(size0 + pv(self, RGVT_PV_BALLOON_SLOT_SIZE),
		  pv(self, VGT_IF_NONMAPPABLE_SIZE));
	for (s = 0; s < 256; s++)
		if (in_map(after, s) && !in_map(before, s))
			added = s;
	ASSERT_LE(0, added);
	/* The granted slot is the guest's: an entry there is kept and reads back. */
	index = slot_index(self, added) + 3;
	EXPECT_EQ(0, ggtt_write(self, index, PTE(GUEST_GFN + 1)));
	EXPECT_EQ(PTE(GUEST_GFN + 1), ggtt_read(self, index));

	ASSERT_EQ(0, ack(self, seq));
	EXPECT_EQ(IDLE, pv(self, RGVT_PV_BALLOON_STATUS));
	EXPECT_EQ(1, log_counter(self->id, "requests"));
	EXPECT_EQ(1, log_counter(self->id, "granted"));
	EXPECT_EQ(1, log_counter(self->id, "granted_slots"));
	EXPECT_TRUE(log_has(self->id, "grant"));
	/* W came from this process's threads: it opened the device, no KVM. */
	ASSERT_LT(0, rgvt_read(BALLOON_LOG, buf, sizeof(buf)));
	EXPECT_TRUE(strstr(buf, "w_from vmm;") != NULL) TH_LOG("%s", buf);
	EXPECT_TRUE(strstr(buf, "source measured;") != NULL) TH_LOG("%s", buf);
	/* A repeated notification of the same request is not a new one. */
	ASSERT_EQ(0, request(self, 1, 1, 50));
	usleep(100 * 1000);
	EXPECT_EQ(IDLE, pv(self, RGVT_PV_BALLOON_STATUS));
	EXPECT_EQ(7, ({ __u32 m[8]; slot_map(self, m); slots_in(m); }));
}

TEST_F(balloon, expansion_rejected_at_phi_over_t2)
{
	__u32 size0 = pv(self, VGT_IF_NONMAPPABLE_SIZE);

	ASSERT_EQ(0, thresholds("0", "0"));
	ASSERT_EQ(0, request(self, 7, 2, 1000));
	ASSERT_TRUE(wait_status(self, REJECTED, 3000));
	EXPECT_EQ(size0, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	EXPECT_EQ(1, log_counter(self->id, "rejected"));
	EXPECT_EQ(0, log_counter(self->id, "granted"));
	EXPECT_TRUE(log_has(self->id, "reject"));
	/* At its type's minimum: nothing to take from it either. */
	usleep(200 * 1000);
	EXPECT_EQ(0, log_counter(self->id, "releases"));
	EXPECT_EQ(size0, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	/* A request that can never be met (more than the GPU's slots) is rejected at once. */
	ASSERT_EQ(0, thresholds("2.0", "2.0"));
	ASSERT_EQ(0, ack(self, pv(self, RGVT_PV_BALLOON_SEQ)));
	ASSERT_EQ(0, request(self, 8, 1000, 0));
	EXPECT_EQ(REJECTED, pv(self, RGVT_PV_BALLOON_STATUS));
	EXPECT_EQ(2, log_counter(self->id, "rejected"));
}

TEST_F_TIMEOUT(balloon, release_only_after_ack, 60)
{
	__u32 map[8], keep[8], seq, size2, slot_size;
	unsigned long long pins_before, pins_after;
	int s, released = 0;

	/* Two slots above the minimum of six. */
	ASSERT_EQ(0, thresholds("2.0", "2.0"));
	ASSERT_EQ(0, request(self, 1, 2, 10));
	ASSERT_TRUE(wait_status(self, GRANTED, 3000));
	ASSERT_EQ(0, ack(self, pv(self, RGVT_PV_BALLOON_SEQ)));
	slot_map(self, map);
	ASSERT_EQ(8, slots_in(map));
	size2 = pv(self, VGT_IF_NONMAPPABLE_SIZE);
	slot_size = pv(self, RGVT_PV_BALLOON_SLOT_SIZE);
	/* One pinned entry in every slot held. */
	for (s = 0; s < 256; s++)
		if (in_map(map, s))
			ASSERT_EQ(0, ggtt_write(self, slot_index(self, s), PTE(GUEST_GFN + 2)));
	ASSERT_EQ(0, rgvt_counter(self->id, "pins_now", &pins_before));
	ASSERT_LE(8ULL, pins_before);

	/* Φ >= T2: asked to release two; this guest never answers. */
	ASSERT_EQ(0, set("balloon_shrink_timeout", "3"));
	ASSERT_EQ(0, thresholds("0", "0"));
	ASSERT_TRUE(wait_status(self, RELEASE, 3000));
	EXPECT_EQ(size2 - 2 * slot_size, pv(self, RGVT_PV_BALLOON_KEEP_SIZE));
	seq = pv(self, RGVT_PV_BALLOON_SEQ);
	/* Withdrawn after three periods (the next release has a later number). */
	{
		long end = now_ms() + 3000;

		while (pv(self, RGVT_PV_BALLOON_SEQ) == seq && now_ms() < end)
			usleep(2000);
	}
	EXPECT_NE(seq, pv(self, RGVT_PV_BALLOON_SEQ));
	EXPECT_LE(1, log_counter(self->id, "withdrawn"));
	EXPECT_TRUE(log_has(self->id, "withdrawn"));
	EXPECT_EQ(0, log_counter(self->id, "released"));
	EXPECT_EQ(size2, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	for (s = 0; s < 256; s++)
		if (in_map(map, s))
			EXPECT_EQ(PTE(GUEST_GFN + 2), ggtt_read(self, slot_index(self, s)));

	/* Now one that acknowledges: the slots go at once, with their entries. */
	ASSERT_EQ(0, set("balloon_shrink_timeout", "100000"));
	/* From here no release times out: the one in flight is this guest's to answer. */
	ASSERT_TRUE(wait_status(self, RELEASE, 3000));
	seq = pv(self, RGVT_PV_BALLOON_SEQ);
	slot_map(self, keep);
	ASSERT_EQ(6, slots_in(keep));
	EXPECT_EQ(size2, pv(self, VGT_IF_NONMAPPABLE_SIZE)) TH_LOG("nothing taken before the ack");
	ASSERT_EQ(0, ack(self, seq));
	EXPECT_EQ(size2 - 2 * slot_size, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	EXPECT_EQ(IDLE, pv(self, RGVT_PV_BALLOON_STATUS));
	EXPECT_EQ(1, log_counter(self->id, "released"));
	EXPECT_EQ(2, log_counter(self->id, "released_slots"));
	EXPECT_TRUE(log_has(self->id, "released"));
	for (s = 0; s < 256; s++) {
		if (!in_map(map, s))
			continue;
		if (in_map(keep, s)) {
			EXPECT_EQ(PTE(GUEST_GFN + 2), ggtt_read(self, slot_index(self, s)));
		} else {
			released++;
			EXPECT_EQ(0ULL, ggtt_read(self, slot_index(self, s))) TH_LOG("slot %d", s);
		}
	}
	EXPECT_EQ(2, released);
	ASSERT_EQ(0, rgvt_counter(self->id, "pins_now", &pins_after));
	EXPECT_EQ(pins_before - 2, pins_after);
	/* Back at its minimum: no more releases; a stale ack changes nothing. */
	ASSERT_EQ(0, ack(self, seq));
	usleep(200 * 1000);
	EXPECT_EQ(size2 - 2 * slot_size, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	EXPECT_EQ(1, log_counter(self->id, "releases") - log_counter(self->id, "withdrawn"));
}

TEST_F(balloon, off_keeps_sizes_fixed)
{
	__u32 size0 = pv(self, VGT_IF_NONMAPPABLE_SIZE);

	ASSERT_EQ(0, thresholds("2.0", "2.0"));
	ASSERT_EQ(0, set("balloon", "0"));
	ASSERT_EQ(0, request(self, 1, 1, 99));
	ASSERT_TRUE(wait_status(self, REJECTED, 3000));
	EXPECT_EQ(size0, pv(self, VGT_IF_NONMAPPABLE_SIZE));
	EXPECT_EQ(0, log_counter(self->id, "granted"));
}

/* A guest in a child process that keeps asking and acknowledging. */
static void asker(FIXTURE_DATA(balloon) *self)
{
	__u32 seq = 100;

	for (;; seq++) {
		request(self, seq, 1 + seq % 3, seq);
		usleep(1000);
		ack(self, pv(self, RGVT_PV_BALLOON_SEQ));
	}
}

TEST_F_TIMEOUT(balloon, removal_and_unload_while_the_worker_runs, 120)
{
	struct rgvt_created more = { 0 };
	char uuid[RGVT_UUID_LEN + 1];
	pid_t child;
	int i, status;

	ASSERT_EQ(0, set("balloon_period_ms", "10"));
	ASSERT_EQ(0, thresholds("0.3", "0.6"));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		asker(self);
		_exit(0);
	}
	/* vGPUs come and go (closed and open) while the worker answers. */
	for (i = 0; i < 6; i++) {
		struct rgvt_vfio v;

		ASSERT_EQ(0, rgvt_create(&more, TYPE, uuid));
		if (i % 2 == 0 && rgvt_vfio_open(uuid, &v) == 0) {
			usleep(30 * 1000);
			rgvt_vfio_close(&v);
		}
		usleep(20 * 1000);
		ASSERT_EQ(0, rgvt_mdev_remove(uuid));
	}
	/* Φ high: releases and rejections; then the guest goes away. */
	ASSERT_EQ(0, thresholds("0", "0"));
	usleep(200 * 1000);
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	rgvt_vfio_close(&self->vfio);
	munmap(self->mem, GUEST_PAGES * PAGE);
	self->mem = MAP_FAILED;
	/* Removal, then unload, with the worker running and a vGPU left. */
	ASSERT_EQ(0, rgvt_create(&more, TYPE, uuid));
	ASSERT_EQ(0, rgvt_mdev_remove(self->uuid));
	ASSERT_EQ(0, rgvt_module_unload_settled());
	EXPECT_FALSE(rgvt_exists(BALLOON_LOG));
	EXPECT_EQ(0, rgvt_mdev_count());
	ASSERT_EQ(0, rgvt_module_load());
	EXPECT_TRUE(rgvt_exists(BALLOON_LOG));
}

RGVT_TEST_MAIN(true)
