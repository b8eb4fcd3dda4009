// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt vGPU lifecycle: the module's mdev types, creating and removing vGPUs
 * by UUID, opening one through VFIO as a VMM does, refusing bad input, and
 * the tunables under /sys/kernel/rgvt.
 *
 * Loads the module if it is not loaded. Each test removes the vGPUs it
 * created and restores the tunables it changed.
 */
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define MAX_VGPUS	RGVT_SYSFS "/max_vgpus"
#define POLICY		RGVT_SYSFS "/policy"
#define VGPUS		RGVT_DEBUGFS "/vgpus"

FIXTURE(lifecycle) {
	char types[RGVT_MAX_TYPES][RGVT_NAME_LEN];
	int ntypes;
	/* The type with the most instances available. */
	char type[RGVT_NAME_LEN];
	long available;
	struct rgvt_created created;
	/* Tunables as they were before the test, restored by the teardown. */
	char max_vgpus[32];
	char policy[32];
};

FIXTURE_SETUP(lifecycle)
{
	long n;
	int i;

	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	self->ntypes = rgvt_types(self->types);
	ASSERT_LT(0, self->ntypes) TH_LOG("no mdev types under %s", rgvt_parent());
	self->available = -1;
	for (i = 0; i < self->ntypes; i++) {
		if (rgvt_available(self->types[i], &n) == 0 && n > self->available) {
			self->available = n;
			strcpy(self->type, self->types[i]);
		}
	}
	ASSERT_LT(0, self->available) TH_LOG("no type has an instance available");
	if (rgvt_read(MAX_VGPUS, self->max_vgpus, sizeof(self->max_vgpus)) < 0)
		self->max_vgpus[0] = '\0';
	if (rgvt_read(POLICY, self->policy, sizeof(self->policy)) < 0)
		self->policy[0] = '\0';
}

FIXTURE_TEARDOWN(lifecycle)
{
	rgvt_remove_created(&self->created);
	if (self->max_vgpus[0])
		rgvt_write(MAX_VGPUS, self->max_vgpus);
	if (self->policy[0])
		rgvt_write(POLICY, self->policy);
}

/* The rgvt-only checks skip when a stand-in driver is under test. */
#define SKIP_UNLESS_RGVT() do {						\
		if (!rgvt_is_rgvt())					\
			SKIP(return, "%s is not rgvt", rgvt_module());	\
	} while (0)

TEST_F(lifecycle, module_loaded)
{
	char path[PATH_MAX];

	EXPECT_TRUE(rgvt_exists(rgvt_parent_path(path))) TH_LOG("%s", path);
	if (!rgvt_is_rgvt())
		return;
	EXPECT_TRUE(rgvt_exists(rgvt_path(path, RGVT_CLASS "/%s", rgvt_parent())))
		TH_LOG("%s", path);
	EXPECT_TRUE(rgvt_exists(RGVT_SYSFS));
	EXPECT_TRUE(rgvt_exists(RGVT_DEBUGFS));
}

TEST_F(lifecycle, types_have_attributes)
{
	char path[PATH_MAX], buf[512];
	int i, complete = 0;
	long n;

	for (i = 0; i < self->ntypes; i++) {
		const char *t = self->types[i];
		bool ok = true;

		TH_LOG("type %s", t);
		ok &= rgvt_read(rgvt_type_path(path, t, "name"), buf, sizeof(buf)) > 0;
		EXPECT_TRUE(ok) TH_LOG("%s: no name", t);
		if (ok && rgvt_is_rgvt()) {
			/* GVT-g's naming: directory "<driver>-<name>". */
			EXPECT_EQ(0, strncmp(t, "rgvt-", 5));
			EXPECT_STREQ(t + 5, buf);
		}

		ok &= rgvt_available(t, &n) == 0 && n >= 0;
		EXPECT_TRUE(ok) TH_LOG("%s: bad available_instances", t);

		ok &= rgvt_read(rgvt_type_path(path, t, "device_api"), buf, sizeof(buf)) > 0 &&
		      !strcmp(buf, "vfio-pci");
		EXPECT_TRUE(ok) TH_LOG("%s: device_api is '%s'", t, buf);

		ok &= rgvt_exists(rgvt_type_path(path, t, "create"));
		EXPECT_TRUE(ok) TH_LOG("%s: no create", t);

		/* mtty has no description; rgvt's reads like GVT-g's. */
		if (!rgvt_is_rgvt()) {
			complete += ok;
			continue;
		}
		ok &= rgvt_read(rgvt_type_path(path, t, "description"), buf, sizeof(buf)) > 0;
		EXPECT_TRUE(ok) TH_LOG("%s: no description", t);
		EXPECT_NE(NULL, strstr(buf, "low_gm_size: ")) TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, "high_gm_size: ")) TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, "fence: ")) TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, "resolution: ")) TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, "weight: ")) TH_LOG("%s", buf);
		complete += ok;
	}
	EXPECT_LT(0, complete);
}

TEST_F(lifecycle, create_and_remove)
{
	char uuid[RGVT_UUID_LEN + 1], path[PATH_MAX], buf[4096], link[PATH_MAX];
	long after, id;
	ssize_t len;

	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	TH_LOG("created %s of type %s", uuid, self->type);
	EXPECT_TRUE(rgvt_mdev_exists(uuid));
	ASSERT_EQ(0, rgvt_available(self->type, &after));
	EXPECT_EQ(self->available - 1, after);

	len = readlink(rgvt_mdev_path(path, uuid, "mdev_type"), link, sizeof(link) - 1);
	ASSERT_LT(0, len);
	link[len] = '\0';
	EXPECT_STREQ(self->type, strrchr(link, '/') + 1);
	EXPECT_LE(0, rgvt_mdev_group(uuid));

	if (rgvt_is_rgvt()) {
		EXPECT_EQ(0, rgvt_read_long(rgvt_mdev_path(path, uuid, "rgvt/vgpu_id"), &id));
		EXPECT_LE(1, id);
		EXPECT_LT(0, rgvt_read(VGPUS, buf, sizeof(buf)));
		EXPECT_NE(NULL, strstr(buf, uuid)) TH_LOG("%s", buf);
	}

	EXPECT_EQ(0, rgvt_mdev_remove(uuid));
	EXPECT_FALSE(rgvt_mdev_exists(uuid));
	ASSERT_EQ(0, rgvt_available(self->type, &after));
	EXPECT_EQ(self->available, after);
	if (rgvt_is_rgvt()) {
		EXPECT_LE(0, rgvt_read(VGPUS, buf, sizeof(buf)));
		EXPECT_EQ(NULL, strstr(buf, uuid)) TH_LOG("%s", buf);
	}
}

TEST_F(lifecycle, vgpu_ids_are_distinct)
{
	char a[RGVT_UUID_LEN + 1], b[RGVT_UUID_LEN + 1], path[PATH_MAX];
	long ida, idb;

	SKIP_UNLESS_RGVT();
	ASSERT_LE(2, self->available);
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, a));
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, b));
	EXPECT_EQ(0, rgvt_read_long(rgvt_mdev_path(path, a, "rgvt/vgpu_id"), &ida));
	EXPECT_EQ(0, rgvt_read_long(rgvt_mdev_path(path, b, "rgvt/vgpu_id"), &idb));
	EXPECT_LE(1, ida);
	EXPECT_LE(1, idb);
	EXPECT_NE(ida, idb);
}

TEST_F(lifecycle, vfio_open_group_container)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info reg = {
		.argsz = sizeof(reg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	struct rgvt_vfio v = RGVT_VFIO_CLOSED;
	char uuid[RGVT_UUID_LEN + 1];
	unsigned short id[2];
	int ret;

	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ret = rgvt_vfio_open(uuid, &v);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", v.failed, strerror(-ret));
	TH_LOG("device fd %d, iommu %s", v.device,
	       v.iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");

	ASSERT_EQ(0, ioctl(v.device, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(!!(info.flags & VFIO_DEVICE_FLAGS_PCI)) TH_LOG("flags %#x", info.flags);
	EXPECT_LE((__u32)VFIO_PCI_NUM_REGIONS, info.num_regions);

	ASSERT_EQ(0, ioctl(v.device, VFIO_DEVICE_GET_REGION_INFO, &reg));
	/* A PCI header at least; an Intel GPU's config space is 256 bytes or more. */
	EXPECT_LE(rgvt_is_rgvt() ? 256ULL : 64ULL, reg.size);
	EXPECT_TRUE(!!(reg.flags & VFIO_REGION_INFO_FLAG_READ));
	/* What a VMM reads first: the vendor and device IDs. */
	if (pread(v.device, id, sizeof(id), reg.offset) == sizeof(id))
		TH_LOG("config space: vendor %04x device %04x", id[0], id[1]);
	else
		TH_LOG("config space read: %s", strerror(errno));

	rgvt_vfio_close(&v);
	EXPECT_EQ(0, rgvt_mdev_remove(uuid));
}

TEST_F(lifecycle, bad_uuid_refused)
{
	static const char * const bad[] = {
		"not-a-uuid",
		"123",
		"0123456789abcdef0123456789abcdef0123",
		"01234567-89ab-cdef-0123-456789abcdeg",
		"01234567+89ab-cdef-0123-456789abcdef",
		"\n",
	};
	char uuid[RGVT_UUID_LEN + 1];
	unsigned int i;
	int before;

	before = rgvt_mdev_count();
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, rgvt_mdev_create(self->type, bad[i])) TH_LOG("bad[%u]", i);
	EXPECT_EQ(before, rgvt_mdev_count());

	/* A UUID that is taken is refused too. */
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	EXPECT_EQ(-EEXIST, rgvt_mdev_create(self->type, uuid));
	EXPECT_EQ(before + 1, rgvt_mdev_count());
}

TEST_F(lifecycle, over_limit_refused)
{
	char uuid[RGVT_UUID_LEN + 1];
	long n, limit = -1;
	int i, created = 0, ret;

	if (rgvt_is_rgvt()) {
		limit = 2;
		ASSERT_EQ(0, rgvt_write(MAX_VGPUS, "2"));
	}
	for (i = 0; i < RGVT_MAX_CREATED; i++) {
		ASSERT_EQ(0, rgvt_available(self->type, &n));
		if (!n)
			break;
		ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
		created++;
	}
	TH_LOG("created %d of %s before it ran out", created, self->type);
	ASSERT_EQ(0, rgvt_available(self->type, &n));
	EXPECT_EQ(0, n);
	ret = rgvt_create(&self->created, self->type, uuid);
	EXPECT_NE(0, ret);
	TH_LOG("one more: %s", strerror(-ret));
	EXPECT_FALSE(rgvt_mdev_exists(uuid));

	if (limit < 0)
		return;
	EXPECT_GE(limit, created);
	if (created < limit)
		return;
	/* At the limit, no type has an instance left. */
	for (i = 0; i < self->ntypes; i++) {
		EXPECT_EQ(0, rgvt_available(self->types[i], &n));
		EXPECT_EQ(0, n) TH_LOG("%s", self->types[i]);
	}
}

TEST_F(lifecycle, tunable_defaults)
{
	SKIP_UNLESS_RGVT();
	EXPECT_STREQ("32", self->max_vgpus);
	/* The default: correct with or without a write tracker. */
	EXPECT_STREQ("full", self->policy);
}

TEST_F(lifecycle, max_vgpus_rejects_bad_values)
{
	static const char * const bad[] = {
		"0", "65", "-1", "abc", "3x", "\n", "99999999999999999999",
	};
	static const char * const good[] = { "1", "64", "7\n" };
	char uuid[RGVT_UUID_LEN + 1], buf[32];
	unsigned int i;
	long n = 0;
	int ret;

	SKIP_UNLESS_RGVT();
	ASSERT_NE(0, self->max_vgpus[0]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, rgvt_write(MAX_VGPUS, bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_LT(0, rgvt_read(MAX_VGPUS, buf, sizeof(buf)));
		EXPECT_STREQ(self->max_vgpus, buf);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		EXPECT_EQ(0, rgvt_write(MAX_VGPUS, good[i])) TH_LOG("'%s'", good[i]);
		EXPECT_EQ(0, rgvt_read_long(MAX_VGPUS, &n));
		EXPECT_EQ(strtol(good[i], NULL, 10), n);
	}

	/* Not below the number of vGPUs that exist: refused, value kept. */
	ASSERT_EQ(0, rgvt_write(MAX_VGPUS, "4"));
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ret = rgvt_write(MAX_VGPUS, "1");
	EXPECT_TRUE(ret == -EINVAL || ret == -EBUSY) TH_LOG("got %d", ret);
	EXPECT_EQ(0, rgvt_read_long(MAX_VGPUS, &n));
	EXPECT_EQ(4, n);
}

TEST_F(lifecycle, policy_rejects_bad_values)
{
	/* The five policies are accepted (each vGPU runs "full" until a tracker traps). */
	static const char * const bad[] = {
		"bogus", "strict full", "STRICT", "\n", "segmented2",
	};
	static const char * const good[] = { "full", "full\n", " full " };
	char buf[32];
	unsigned int i;

	SKIP_UNLESS_RGVT();
	ASSERT_NE(0, self->policy[0]);
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		EXPECT_EQ(0, rgvt_write(POLICY, good[i])) TH_LOG("'%s'", good[i]);
		EXPECT_LT(0, rgvt_read(POLICY, buf, sizeof(buf)));
		EXPECT_STREQ("full", buf);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, rgvt_write(POLICY, bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_LT(0, rgvt_read(POLICY, buf, sizeof(buf)));
		EXPECT_STREQ("full", buf);
	}
}

TEST_F(lifecycle, debugfs_lists_vgpus)
{
	char uuid[2][RGVT_UUID_LEN + 1], path[PATH_MAX], buf[8192], *line;
	int i, lines = 0, want;
	long id;

	SKIP_UNLESS_RGVT();
	ASSERT_LE(2, self->available);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid[i]));
	want = rgvt_mdev_count();
	ASSERT_LT(0, rgvt_read(VGPUS, buf, sizeof(buf)));
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		lines++;
	EXPECT_EQ(1 + want, lines) TH_LOG("a header and one line per vGPU");

	ASSERT_LT(0, rgvt_read(VGPUS, buf, sizeof(buf)));
	for (i = 0; i < 2; i++) {
		char *at = strstr(buf, uuid[i]), *eol, *start = at, idstr[24];

		ASSERT_NE(NULL, at) TH_LOG("%s missing", uuid[i]);
		while (start > buf && start[-1] != '\n')
			start--;
		eol = strchr(at, '\n');
		if (eol)
			*eol = '\0';
		EXPECT_EQ(0, rgvt_read_long(rgvt_mdev_path(path, uuid[i], "rgvt/vgpu_id"), &id));
		snprintf(idstr, sizeof(idstr), "%ld", id);
		EXPECT_NE(NULL, strstr(start, idstr)) TH_LOG("id %ld: %s", id, start);
		/* The type, as its directory or its name. */
		EXPECT_NE(NULL, strstr(start, self->type + 5)) TH_LOG("%s", start);
		if (eol)
			*eol = '\n';
	}
}

/*
 * The kernel's shadow PPGTT against a synthetic guest (until the engine
 * drives it from real workloads): every check passes, and the guest PTE a
 * "workload" sees after a change is the new one.
 */
TEST_F(lifecycle, shadow_selfcheck)
{
	char buf[8192];
	unsigned int passed = 0, failed = 1;
	char *sum;

	SKIP_UNLESS_RGVT();
	ASSERT_LT(0, rgvt_read(RGVT_DEBUGFS "/shadow_selfcheck", buf, sizeof(buf)));
	EXPECT_EQ(NULL, strstr(buf, "FAIL")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "ok pte_change_seen_after_prepare\n")) TH_LOG("%s", buf);
	sum = strstr(buf, "shadow selfcheck: ");
	ASSERT_NE(NULL, sum) TH_LOG("%s", buf);
	ASSERT_EQ(2, sscanf(sum, "shadow selfcheck: %u passed, %u failed", &passed, &failed));
	EXPECT_EQ(0U, failed);
	EXPECT_LE(20U, passed);
}

/* A new vGPU's shadow: full policy, no tree, no page, nothing rebuilt. */
TEST_F(lifecycle, debugfs_shows_shadow)
{
	char uuid[RGVT_UUID_LEN + 1], path[PATH_MAX], buf[8192];
	static const char * const want[] = {
		"policy full\n", "trees 0\n", "store_pages 0\n", "rebuilds 0\n",
		"pages_now 0\n", "bad_frames 0\n", "pv_l4_creates 0\n", "root refs last_use",
	};
	unsigned int i;
	long id;

	SKIP_UNLESS_RGVT();
	ASSERT_LE(1, self->available);
	ASSERT_EQ(0, rgvt_create(&self->created, self->type, uuid));
	ASSERT_EQ(0, rgvt_read_long(rgvt_mdev_path(path, uuid, "rgvt/vgpu_id"), &id));
	ASSERT_LT(0, rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/shadow", id),
			       buf, sizeof(buf)));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		EXPECT_TRUE(strstr(buf, want[i]) != NULL) TH_LOG("line %u missing in:\n%s", i, buf);
}

RGVT_TEST_MAIN(false)
