// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading rgvt: with a vGPU still existing the module tears it down and
 * leaves nothing behind; while a VMM holds the VFIO device open, rmmod is
 * refused and succeeds once the device is closed.
 *
 * Each test inserts the module again ($RGVT_KO) so the tests that run after
 * this program find it loaded. Run it last.
 */
#include "rgvt_util.h"
#include "kselftest_harness.h"

FIXTURE(unload) {
	char type[RGVT_NAME_LEN];
	struct rgvt_created created;
	struct rgvt_vfio vfio;
};

FIXTURE_SETUP(unload)
{
	char types[RGVT_MAX_TYPES][RGVT_NAME_LEN];
	int i, n;
	long avail;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	ASSERT_TRUE(rgvt_module_loaded());
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

int main(int argc, char **argv)
{
	if (!rgvt_module_loaded())
		ksft_exit_skip("module %s is not loaded\n", rgvt_module());
	return test_harness_run(argc, argv);
}
