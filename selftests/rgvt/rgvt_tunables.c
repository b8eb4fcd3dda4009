// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt's sysfs: every tunable under /sys/kernel/rgvt (documented default,
 * good values stick and read back normalised, bad ones fail with EINVAL and
 * keep the old value; T1 <= T2 across the two files), and the capacity of
 * the parent (available_instances per type, 32 rgvt-S_32 vGPUs at once, the
 * next create refused cleanly).
 *
 * Ranges and defaults are the ones of Documentation/ABI/testing/
 * sysfs-kernel-rgvt. Loads the rgvt module if it is not loaded; needs no
 * vGPUs to exist; every test restores the tunables it changed.
 */
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define MAX_VGPUS	RGVT_SYSFS "/max_vgpus"
#define T1		RGVT_SYSFS "/balloon_t1"
#define T2		RGVT_SYSFS "/balloon_t2"
#define MB		(1ULL << 20)

/* A value written and how the file shows it afterwards. */
struct good {
	const char *in;
	const char *shown;
};

struct tunable {
	const char *name;
	const char *def;
	struct good good[12];	/* up to an entry with in == NULL */
	const char *bad[20];	/* up to NULL */
};

/* Numbers past 64 bits, and past 32 bits that a truncation would wrap into range. */
#define HUGE		"99999999999999999999999"
#define U64_MAX_PLUS1	"18446744073709551616"

static const struct tunable tunables[] = {
	{
		.name = "max_vgpus", .def = "32",
		.good = { { "1", "1" }, { "64", "64" }, { "7\n", "7" }, { "32\n", "32" } },
		.bad = { "0", "65", "-1", "+5", "abc", "3x", "0x10", "1.0", "\n", " ",
			 "4294967328", U64_MAX_PLUS1, HUGE },
	},
	{
		/* Every policy; a vGPU runs "full" until a write tracker traps. */
		.name = "policy", .def = "full",
		.good = { { "full", "full" }, { "full\n", "full" }, { " full ", "full" },
			  { "strict", "strict" }, { "static", "static" },
			  { "dynamic\n", "dynamic" }, { "segmented", "segmented" },
			  { "full", "full" } },
		.bad = { "bogus", "STRICT", "Full", "stric", "segmented2", "strict full",
			 "0", "\n" },
	},
	{
		.name = "relax_threshold", .def = "8",
		.good = { { "1", "1" }, { "512", "512" }, { "100\n", "100" } },
		.bad = { "0", "513", "-1", "1.5", "0x10", "abc", "\n", "4294967304",
			 U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "relax_window_ns", .def = "1000000",
		.good = { { "1000", "1000" }, { "60000000000", "60000000000" },
			  { "5000000\n", "5000000" } },
		.bad = { "0", "999", "60000000001", "-1000", "1e6", "\n",
			 "18446744073709551615", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "static_pages", .def = "200",
		.good = { { "0", "0" }, { "65536", "65536" }, { "17\n", "17" } },
		.bad = { "65537", "-1", "abc", "\n", "4294967496", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "pool_pages", .def = "8192",
		.good = { { "1", "1" }, { "65536", "65536" }, { "4096\n", "4096" } },
		.bad = { "0", "65537", "-1", "\n", "4294967297", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "max_shadow_pages", .def = "16384",
		.good = { { "1", "1" }, { "1048576", "1048576" }, { "100\n", "100" } },
		.bad = { "0", "1048577", "-1", "\n", "4294967297", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "balloon", .def = "1",
		.good = { { "0", "0" }, { "1", "1" }, { "n", "0" }, { "y", "1" },
			  { "no", "0" }, { "yes", "1" }, { "off", "0" }, { "on", "1" },
			  { "OFF\n", "0" }, { "Y\n", "1" } },
		.bad = { "2", "-1", "10", "yess", "o", "onn", "true", "\n" },
	},
	{
		.name = "balloon_period_ms", .def = "500",
		.good = { { "10", "10" }, { "60000", "60000" }, { "250\n", "250" } },
		.bad = { "0", "9", "60001", "-1", "1.5", "\n", "4294967796", U64_MAX_PLUS1,
			 HUGE },
	},
	{
		/* At most balloon_t2, whose default is 1.0. */
		.name = "balloon_t1", .def = "0.5",
		.good = { { "0", "0.0" }, { "0.001", "0.001" }, { "1.0", "1.0" },
			  { "1", "1.0" }, { "0.25\n", "0.25" }, { "0.750", "0.75" } },
		.bad = { "1.001", "1.5", "2.5", "-0.1", "0.0001", ".5", "1.", "0,5", "1e-1",
			 "abc", "\n", "4294967.295", HUGE },
	},
	{
		/* At least balloon_t1 (default 0.5), at most 2.0. */
		.name = "balloon_t2", .def = "1.0",
		.good = { { "2", "2.0" }, { "2.000", "2.0" }, { "0.5", "0.5" },
			  { "1.25\n", "1.25" } },
		.bad = { "0.499", "0", "2.001", "3", "-1", "0.0001", "\n", HUGE },
	},
	{
		.name = "balloon_w_max", .def = "0.5",
		.good = { { "0.001", "0.001" }, { "1.0", "1.0" }, { "1", "1.0" },
			  { "0.3\n", "0.3" } },
		.bad = { "0", "0.0", "1.001", "2", "-0.5", "0.0005", "\n", HUGE },
	},
	{
		.name = "balloon_c_max", .def = "0.1",
		.good = { { "0.001", "0.001" }, { "1.0", "1.0" }, { "0.25\n", "0.25" } },
		.bad = { "0", "0.000", "1.001", "2", "-0.1", "0.0005", "\n", HUGE },
	},
	{
		.name = "balloon_shrink_slots", .def = "2",
		.good = { { "1", "1" }, { "8", "8" }, { "3\n", "3" } },
		.bad = { "0", "9", "-1", "1.5", "\n", "4294967298", U64_MAX_PLUS1 },
	},
	{
		.name = "balloon_shrink_timeout", .def = "4",
		.good = { { "1", "1" }, { "4294967295", "4294967295" }, { "10\n", "10" } },
		.bad = { "0", "-1", "1.5", "\n", "4294967296", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "slots_scattered", .def = "0",
		.good = { { "1", "1" }, { "off", "0" }, { "y\n", "1" }, { "0", "0" } },
		.bad = { "2", "-1", "maybe", "\n" },
	},
	{
		/* At least 1 us, at most the balance period (default 100 ms). */
		.name = "sched_time_slice_us", .def = "1000",
		.good = { { "1", "1" }, { "100000", "100000" }, { "2500\n", "2500" } },
		.bad = { "0", "100001", "10000001", "-1", "1.5", "1ms", "\n", U64_MAX_PLUS1,
			 HUGE },
	},
	{
		/* At least the slice (1 ms) and the idle grace (10 ms), at most 10 s. */
		.name = "sched_balance_period_ms", .def = "100",
		.good = { { "10", "10" }, { "10000", "10000" }, { "250\n", "250" } },
		.bad = { "0", "1", "9", "10001", "-1", "1.5", "\n", U64_MAX_PLUS1, HUGE },
	},
	{
		.name = "sched_max_workloads", .def = "16",
		.good = { { "1", "1" }, { "4096", "4096" }, { "8\n", "8" } },
		.bad = { "0", "4097", "-1", "1.5", "\n", "4294967297", U64_MAX_PLUS1, HUGE },
	},
	{
		/* At most the balance period (100 ms). */
		.name = "sched_idle_grace_us", .def = "10000",
		.good = { { "0", "0" }, { "100000", "100000" }, { "3000\n", "3000" } },
		.bad = { "100001", "-1", "1.5", "\n", U64_MAX_PLUS1, HUGE },
	},
};

#define NR_TUNABLES ARRAY_SIZE(tunables)

static char *tunable_path(char *buf, const char *name)
{
	return rgvt_path(buf, RGVT_SYSFS "/%s", name);
}

/* Write every saved value back; twice, since T1 <= T2 may refuse one order. */
static void restore(char saved[][64])
{
	char path[PATH_MAX];
	unsigned int pass, i;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < NR_TUNABLES; i++)
			if (saved[i][0])
				rgvt_write(tunable_path(path, tunables[i].name), saved[i]);
}

FIXTURE(tunables) {
	char saved[NR_TUNABLES][64];
	char path[PATH_MAX];
};

FIXTURE_VARIANT(tunables) {
	unsigned int index;
};

#define TUNABLE(i, tname)					\
	FIXTURE_VARIANT_ADD(tunables, tname) { .index = i }
TUNABLE(0, max_vgpus);
TUNABLE(1, policy);
TUNABLE(2, relax_threshold);
TUNABLE(3, relax_window_ns);
TUNABLE(4, static_pages);
TUNABLE(5, pool_pages);
TUNABLE(6, max_shadow_pages);
TUNABLE(7, balloon);
TUNABLE(8, balloon_period_ms);
TUNABLE(9, balloon_t1);
TUNABLE(10, balloon_t2);
TUNABLE(11, balloon_w_max);
TUNABLE(12, balloon_c_max);
TUNABLE(13, balloon_shrink_slots);
TUNABLE(14, balloon_shrink_timeout);
TUNABLE(15, slots_scattered);
TUNABLE(16, sched_time_slice_us);
TUNABLE(17, sched_balance_period_ms);
TUNABLE(18, sched_max_workloads);
TUNABLE(19, sched_idle_grace_us);

FIXTURE_SETUP(tunables)
{
	char path[PATH_MAX];
	unsigned int i;

	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_EQ(20U, NR_TUNABLES);
	ASSERT_GT(NR_TUNABLES, variant->index);
	for (i = 0; i < NR_TUNABLES; i++)
		if (rgvt_read(tunable_path(path, tunables[i].name), self->saved[i],
			      sizeof(self->saved[i])) < 0)
			self->saved[i][0] = '\0';
	tunable_path(self->path, tunables[variant->index].name);
	ASSERT_TRUE(rgvt_exists(self->path)) TH_LOG("%s", self->path);
	/* max_vgpus cannot go below the live vGPUs: start with none. */
	ASSERT_EQ(0, rgvt_mdev_count());
}

FIXTURE_TEARDOWN(tunables)
{
	restore(self->saved);
}

TEST_F(tunables, default_value)
{
	const struct tunable *t = &tunables[variant->index];
	char buf[64];

	ASSERT_LT(0, rgvt_read(self->path, buf, sizeof(buf)));
	EXPECT_STREQ(t->def, buf);
}

TEST_F(tunables, good_values_stick)
{
	const struct tunable *t = &tunables[variant->index];
	const struct good *g;
	char buf[64];

	for (g = t->good; g->in; g++) {
		EXPECT_EQ(0, rgvt_write(self->path, g->in)) TH_LOG("'%s'", g->in);
		ASSERT_LT(0, rgvt_read(self->path, buf, sizeof(buf)));
		EXPECT_STREQ(g->shown, buf) TH_LOG("after '%s'", g->in);
	}
	/* And back to the default. */
	EXPECT_EQ(0, rgvt_write(self->path, t->def));
	ASSERT_LT(0, rgvt_read(self->path, buf, sizeof(buf)));
	EXPECT_STREQ(t->def, buf);
}

TEST_F(tunables, bad_values_refused)
{
	const struct tunable *t = &tunables[variant->index];
	const char *const *b;
	char before[64], buf[64];
	int ret;

	/* From a value other than the default, so "kept" means something. */
	ASSERT_EQ(0, rgvt_write(self->path, t->good[0].in));
	ASSERT_LT(0, rgvt_read(self->path, before, sizeof(before)));
	for (b = t->bad; *b; b++) {
		EXPECT_EQ(-EINVAL, rgvt_write(self->path, *b)) TH_LOG("'%s'", *b);
		ASSERT_LT(0, rgvt_read(self->path, buf, sizeof(buf)));
		EXPECT_STREQ(before, buf) TH_LOG("after '%s'", *b);
	}
	/* An empty write never reaches the module (sysfs): the value stays. */
	ret = rgvt_write(self->path, "");
	EXPECT_TRUE(ret == 0 || ret == -EINVAL) TH_LOG("empty write: %d", ret);
	ASSERT_LT(0, rgvt_read(self->path, buf, sizeof(buf)));
	EXPECT_STREQ(before, buf);
}

/* The directory has the 20 documented files and nothing else. */
TEST(tunable_files)
{
	struct dirent *de;
	unsigned int i, n = 0;
	DIR *dir;

	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	dir = opendir(RGVT_SYSFS);
	ASSERT_NE(NULL, dir);
	while ((de = readdir(dir))) {
		bool known = false;

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < NR_TUNABLES; i++)
			known |= !strcmp(de->d_name, tunables[i].name);
		EXPECT_TRUE(known) TH_LOG("undocumented %s/%s", RGVT_SYSFS, de->d_name);
		n++;
	}
	closedir(dir);
	EXPECT_EQ(NR_TUNABLES, n);
}

FIXTURE(thresholds) {
	char saved[NR_TUNABLES][64];
};

FIXTURE_SETUP(thresholds)
{
	char path[PATH_MAX];
	unsigned int i;

	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	for (i = 0; i < NR_TUNABLES; i++)
		if (rgvt_read(tunable_path(path, tunables[i].name), self->saved[i],
			      sizeof(self->saved[i])) < 0)
			self->saved[i][0] = '\0';
	ASSERT_TRUE(rgvt_exists(T1));
	ASSERT_TRUE(rgvt_exists(T2));
}

FIXTURE_TEARDOWN(thresholds)
{
	restore(self->saved);
}

TEST_F(thresholds, t1_never_above_t2)
{
	char buf[64];

	ASSERT_EQ(0, rgvt_write(T1, "0.5"));
	ASSERT_EQ(0, rgvt_write(T2, "0.8"));
	/* T1 > T2: refused, T1 kept. */
	EXPECT_EQ(-EINVAL, rgvt_write(T1, "0.9"));
	EXPECT_EQ(-EINVAL, rgvt_write(T1, "0.801"));
	ASSERT_LT(0, rgvt_read(T1, buf, sizeof(buf)));
	EXPECT_STREQ("0.5", buf);
	/* T1 == T2 is fine. */
	EXPECT_EQ(0, rgvt_write(T1, "0.8"));
	ASSERT_LT(0, rgvt_read(T1, buf, sizeof(buf)));
	EXPECT_STREQ("0.8", buf);
	/* T2 below T1: refused, T2 kept. */
	EXPECT_EQ(-EINVAL, rgvt_write(T2, "0.7"));
	EXPECT_EQ(-EINVAL, rgvt_write(T2, "0.799"));
	ASSERT_LT(0, rgvt_read(T2, buf, sizeof(buf)));
	EXPECT_STREQ("0.8", buf);
	/* Moving both up needs T2 first. */
	EXPECT_EQ(-EINVAL, rgvt_write(T1, "1.5"));
	EXPECT_EQ(0, rgvt_write(T2, "2.0"));
	EXPECT_EQ(0, rgvt_write(T1, "1.5"));
	EXPECT_EQ(-EINVAL, rgvt_write(T2, "1.0"));
	ASSERT_LT(0, rgvt_read(T1, buf, sizeof(buf)));
	EXPECT_STREQ("1.5", buf);
	ASSERT_LT(0, rgvt_read(T2, buf, sizeof(buf)));
	EXPECT_STREQ("2.0", buf);
}

/* Capacity --------------------------------------------------------------- */

FIXTURE(capacity) {
	struct rgvt_created created;
	char max_vgpus[32];
};

FIXTURE_SETUP(capacity)
{
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_EQ(0, rgvt_mdev_count()) TH_LOG("vGPUs left over by an earlier test");
	ASSERT_LT(0, rgvt_read(MAX_VGPUS, self->max_vgpus, sizeof(self->max_vgpus)));
	ASSERT_STREQ("32", self->max_vgpus);
}

FIXTURE_TEARDOWN(capacity)
{
	rgvt_remove_created(&self->created);
	rgvt_write(MAX_VGPUS, self->max_vgpus);
}

static long avail(const char *type)
{
	long n;

	return rgvt_available(type, &n) ? -1 : n;
}

TEST_F(capacity, available_instances_of_an_idle_gpu)
{
	/* 192 MB of low GM for vGPUs, max_vgpus 32. */
	EXPECT_EQ(3, avail("rgvt-V5_8"));
	EXPECT_EQ(1, avail("rgvt-V5_4"));
	EXPECT_EQ(0, avail("rgvt-V5_2"));
	EXPECT_EQ(0, avail("rgvt-V5_1"));
	EXPECT_EQ(32, avail("rgvt-S_32"));
	EXPECT_EQ(24, avail("rgvt-S_16"));
}

TEST_F(capacity, available_follows_low_gm)
{
	char uuid[RGVT_UUID_LEN + 1];

	ASSERT_EQ(0, rgvt_create(&self->created, "rgvt-V5_4", uuid));
	/* 64 MB of low GM left. */
	EXPECT_EQ(0, avail("rgvt-V5_4"));
	EXPECT_EQ(1, avail("rgvt-V5_8"));
	EXPECT_EQ(16, avail("rgvt-S_32"));
	EXPECT_EQ(8, avail("rgvt-S_16"));
	EXPECT_EQ(-ENOSPC, rgvt_mdev_create("rgvt-V5_4", "00000000-0000-4000-8000-000000000001"));
	ASSERT_EQ(0, rgvt_create(&self->created, "rgvt-V5_8", uuid));
	EXPECT_EQ(0, avail("rgvt-V5_8"));
	EXPECT_EQ(0, avail("rgvt-S_32"));
	EXPECT_EQ(0, avail("rgvt-S_16"));
	EXPECT_EQ(2, rgvt_mdev_count());
}

TEST_F_TIMEOUT(capacity, s32_until_none_available, 180)
{
	char uuid[RGVT_UUID_LEN + 1], types[RGVT_MAX_TYPES][RGVT_NAME_LEN], buf[64];
	char path[PATH_MAX];
	unsigned long long v, ids = 0;
	int i, n, created = 0, ret;

	for (i = 0; i < 40; i++) {
		long a = avail("rgvt-S_32");

		ASSERT_LE(0, a);
		if (!a)
			break;
		EXPECT_EQ(32 - created, a);
		ret = rgvt_create(&self->created, "rgvt-S_32", uuid);
		ASSERT_EQ(0, ret) TH_LOG("create #%d: %s", created + 1, strerror(-ret));
		created++;

		ASSERT_EQ(0, rgvt_vgpu_attr(uuid, "vgpu_id", &v));
		EXPECT_TRUE(v >= 1 && v <= 64 && !(ids & (1ULL << (v - 1)))) TH_LOG("id %llu", v);
		ids |= 1ULL << ((v - 1) & 63);
		EXPECT_EQ(0, rgvt_vgpu_attr(uuid, "low_gm_size", &v));
		EXPECT_EQ(4 * MB, v);
		EXPECT_EQ(0, rgvt_vgpu_attr(uuid, "high_gm_size", &v));
		EXPECT_EQ(384 * MB, v);
		EXPECT_LT(0, rgvt_read(rgvt_mdev_path(path, uuid, "rgvt/slots"), buf, sizeof(buf)));
	}
	TH_LOG("%d rgvt-S_32 vGPUs at once", created);
	EXPECT_EQ(32, created);
	EXPECT_EQ(0, avail("rgvt-S_32"));
	n = rgvt_types(types);
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, avail(types[i])) TH_LOG("%s", types[i]);

	/* The next create fails cleanly: ENOSPC, nothing created. */
	ASSERT_EQ(0, rgvt_uuid(uuid));
	EXPECT_EQ(-ENOSPC, rgvt_mdev_create("rgvt-S_32", uuid));
	EXPECT_FALSE(rgvt_mdev_exists(uuid));
	EXPECT_EQ(-ENOSPC, rgvt_mdev_create("rgvt-S_16", uuid));
	EXPECT_FALSE(rgvt_mdev_exists(uuid));
	EXPECT_EQ(32, rgvt_mdev_count());

	/* max_vgpus cannot go below the live vGPUs. */
	EXPECT_EQ(-EINVAL, rgvt_write(MAX_VGPUS, "31"));
	/* Above, the low GM bounds S_32: 192 MB / 4 MB = 48, 32 live. */
	EXPECT_EQ(0, rgvt_write(MAX_VGPUS, "64"));
	EXPECT_EQ(16, avail("rgvt-S_32"));
	EXPECT_EQ(0, rgvt_write(MAX_VGPUS, "32"));
	EXPECT_EQ(0, avail("rgvt-S_32"));

	/* One removed, one available, and creatable again. */
	ASSERT_EQ(32, self->created.n);
	EXPECT_EQ(0, rgvt_mdev_remove(self->created.uuid[5]));
	EXPECT_EQ(1, avail("rgvt-S_32"));
	EXPECT_EQ(0, rgvt_create(&self->created, "rgvt-S_32", uuid));
	EXPECT_EQ(0, avail("rgvt-S_32"));

	rgvt_remove_created(&self->created);
	EXPECT_EQ(0, rgvt_mdev_count());
	EXPECT_EQ(32, avail("rgvt-S_32"));
	EXPECT_EQ(3, avail("rgvt-V5_8"));
}

RGVT_TEST_MAIN(true)
