// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading rgvt: with a vGPU still existing the module tears it down and
 * leaves nothing behind; while a VMM holds the VFIO device open, rmmod is
 * refused and succeeds once the device is closed.
 *
 * Each test loads the module if it is not loaded and inserts it again
 * ($RGVT_KO) after unloading it; main() leaves it as it found it.
 */
#include <sys/mman.h>

#include "rgvt_util.h"
#include "kselftest_harness.h"

FIXTURE(unload) {
	char type[RGVT_NAME_LEN];
	struct rgvt_created created;
	struct rgvt_vfio vfio;
	char path[PATH_MAX];
};

FIXTURE_SETUP(unload)
{
	char types[RGVT_MAX_TYPES][RGVT_NAME_LEN];
	int i, n;
	long avail;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_TRUE(rgvt_exists(rgvt_ko())) TH_LOG("%s", rgvt_ko());
	n = rgvt_types(types);
	ASSERT_LT(0, n);
	self->type[0] = '\0';
	for (i = 0; i < n && !self->type[0]; i++)
		if (rgvt_available(types[i], &avail) == 0 && avail > 0)
			strcpy(self->type, types[i]);
	ASSERT_NE(0, self->type[0]) TH_LOG("no type has an instance available");
}

FIXTURE_TEARDOWN(unload)
{
	rgvt_vfio_close(&self->vfio);
	if (rgvt_module_loaded())
		rgvt_remove_created(&self->created);
	else
		rgvt_module_load();
}

/* Nothing of the module may be left once it is gone. */
static void expect_nothing_left(struct __test_metadata *_metadata)
{
	char path[PATH_MAX];

	EXPECT_FALSE(rgvt_module_loaded());
	EXPECT_FALSE(rgvt_exists(rgvt_parent_path(path))) TH_LOG("%s", path);
	EXPECT_EQ(0, rgvt_mdev_count());
	if (!rgvt_is_rgvt())
		return;
	EXPECT_FALSE(rgvt_exists(RGVT_SYSFS));
	EXPECT_FALSE(rgvt_exists(RGVT_DEBUGFS));
	EXPECT_FALSE(rgvt_exists(RGVT_CLASS));
}

static void expect_loaded_again(struct __test_metadata *_metadata)
{
	char path[PATH_MAX];

	ASSERT_EQ(0, rgvt_module_load());
	EXPECT_TRUE(rgvt_module_loaded());
	EXPECT_TRUE(rgvt_exists(rgvt_parent_path(path))) TH_LOG("%s", path);
	EXPECT_EQ(-EEXIST, rgvt_module_load());
}

TEST_F_TIMEOUT(unload, with_vgpu_tears_it_down, 120)
{
	char uuid[RGVT_UUID_LEN + 1];

	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ASSERT_TRUE(rgvt_mdev_exists(uuid));
	EXPECT_EQ(0, rgvt_module_unload());
	EXPECT_FALSE(rgvt_mdev_exists(uuid));
	expect_nothing_left(_metadata);
	expect_loaded_again(_metadata);
}

/*
 * Several vGPUs of different types, one of which a VMM used (entries pinned
 * guest pages, then it closed the device): rmmod removes them all.
 */
TEST_F_TIMEOUT(unload, with_several_vgpus_tears_them_down, 120)
{
	static const char * const types[] = { "rgvt-V5_8", "rgvt-S_32", "rgvt-S_16" };
	char uuid[ARRAY_SIZE(types)][RGVT_UUID_LEN + 1];
	unsigned long long low_base;
	unsigned int i;
	void *mem;
	__u64 pte;
	int ret;

	if (!rgvt_is_rgvt())
		SKIP(return, "%s is not rgvt", rgvt_module());
	for (i = 0; i < ARRAY_SIZE(types); i++)
		ASSERT_EQ(0, rgvt_create(&self->created, types[i], uuid[i])) TH_LOG("type %u", i);

	/* A VMM maps guest memory and points a GGTT entry at it. */
	ret = rgvt_vfio_open(uuid[0], &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x5a, 4096);
	ASSERT_EQ(0, rgvt_dma_map(&self->vfio, mem, 0x100000, 4096));
	ASSERT_EQ(0, rgvt_read_u64(rgvt_mdev_path(self->path, uuid[0], "rgvt/low_gm_base"),
				   &low_base));
	pte = 0x100000 | 1;
	ASSERT_EQ(8, rgvt_region_write(self->vfio.device, VFIO_PCI_BAR0_REGION_INDEX,
				       (8 << 20) + low_base / 4096 * 8, &pte, 8));
	rgvt_vfio_close(&self->vfio);
	munmap(mem, 4096);

	EXPECT_EQ(0, rgvt_module_unload());
	for (i = 0; i < ARRAY_SIZE(types); i++)
		EXPECT_FALSE(rgvt_mdev_exists(uuid[i]));
	expect_nothing_left(_metadata);
	expect_loaded_again(_metadata);
	/* A fresh module: no vGPU, every tunable at its default. */
	EXPECT_EQ(0, rgvt_mdev_count());
}

TEST_F_TIMEOUT(unload, refused_while_vfio_device_open, 120)
{
	char uuid[RGVT_UUID_LEN + 1];
	int ret;

	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ret = rgvt_vfio_open(uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));

	/* The open device holds a module reference: EWOULDBLOCK (EAGAIN). */
	ret = rgvt_module_unload();
	EXPECT_TRUE(ret == -EAGAIN || ret == -EBUSY) TH_LOG("rmmod: %d", ret);
	EXPECT_TRUE(rgvt_module_loaded());
	EXPECT_TRUE(rgvt_mdev_exists(uuid));

	rgvt_vfio_close(&self->vfio);
	EXPECT_EQ(0, rgvt_module_unload());
	expect_nothing_left(_metadata);
	expect_loaded_again(_metadata);
}

RGVT_TEST_MAIN(false)
