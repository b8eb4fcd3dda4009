/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by rgvt's kselftests: sysfs files, UUIDs, the mdev
 * lifecycle, opening the VFIO device the way a VMM does (group/container
 * API) and loading or unloading the module.
 *
 * Every test program loads the module if it is not loaded (RGVT_TEST_MAIN,
 * and each fixture's setup through rgvt_module_ensure()) and leaves the
 * system as it found it: its vGPUs removed, the tunables it changed restored,
 * the module unloaded again if it was not loaded before. So the programs run
 * alone or in any order (tools/run-kselftests.sh --order).
 *
 * Every helper returns 0 (or a count) on success and -errno on failure, so a
 * test can say EXPECT_EQ(-EINVAL, rgvt_write(...)).
 *
 * The module under test comes from the environment the guest's /init sets:
 *   RGVT_MODULE  module name (default "rgvt")
 *   RGVT_PARENT  mdev parent device (default "sim0")
 *   RGVT_KO      path of the .ko, to insert it (default /lib/modules/rgvt.ko)
 *   RGVT_CONTAINER  the VFIO container the device tests open: "vfio"
 *                (/dev/vfio/vfio, the default), "iommu" (/dev/iommu: iommufd
 *                as a VFIO-compatible container) or a path
 * A stand-in mdev driver (mtty) can be tested with the same binaries; the
 * rgvt-only checks then skip (see rgvt_is_rgvt()).
 */
#ifndef RGVT_SELFTEST_UTIL_H
#define RGVT_SELFTEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/vfio.h>

#define RGVT_SYSFS	"/sys/kernel/rgvt"
#define RGVT_DEBUGFS	"/sys/kernel/debug/rgvt"
#define RGVT_CLASS	"/sys/class/rgvt"
#define MDEV_BUS_CLASS	"/sys/class/mdev_bus"
#define MDEV_DEVICES	"/sys/bus/mdev/devices"
#define VFIO_CONTAINER	"/dev/vfio/vfio"
#define IOMMUFD_DEV	"/dev/iommu"

#define RGVT_UUID_LEN	36
#define RGVT_MAX_TYPES	16
#define RGVT_NAME_LEN	64

static inline const char *rgvt_getenv(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static inline const char *rgvt_module(void)
{
	return rgvt_getenv("RGVT_MODULE", "rgvt");
}

static inline const char *rgvt_parent(void)
{
	return rgvt_getenv("RGVT_PARENT", "sim0");
}

static inline const char *rgvt_ko(void)
{
	return rgvt_getenv("RGVT_KO", "/lib/modules/rgvt.ko");
}

/* False when a stand-in mdev driver (mtty) is under test instead of rgvt. */
static inline bool rgvt_is_rgvt(void)
{
	return !strcmp(rgvt_module(), "rgvt");
}

static inline bool rgvt_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * The container a VMM opens: /dev/vfio/vfio (VFIO's legacy container with the
 * type1 IOMMU backend, or iommufd's emulation of it when the kernel has
 * CONFIG_IOMMUFD_VFIO_CONTAINER) or /dev/iommu (iommufd, which answers the
 * same container ioctls).
 */
static inline const char *rgvt_container(void)
{
	const char *c = rgvt_getenv("RGVT_CONTAINER", "vfio");

	if (!strcmp(c, "vfio"))
		return VFIO_CONTAINER;
	if (!strcmp(c, "iommu"))
		return IOMMUFD_DEV;
	return c;
}

/*
 * The IOMMU backend behind rgvt_container(): /dev/vfio/vfio is type1 when the
 * kernel has it (vfio_iommu_type1, built in or loaded, is in /sys/module),
 * iommufd's emulation otherwise. Any other path is taken for an iommufd.
 */
static inline const char *rgvt_container_backend(void)
{
	if (strcmp(rgvt_container(), VFIO_CONTAINER))
		return "iommufd";
	return rgvt_exists("/sys/module/vfio_iommu_type1") ? "type1" : "iommufd";
}

/* snprintf into a PATH_MAX buffer; a truncated path is a bug in the test. */
static inline char *rgvt_path(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline char *rgvt_path(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		abort();
	return buf;
}

/*
 * Read a whole (small) file into buf, NUL-terminated, without the trailing
 * newline. Returns its length or -errno.
 */
static inline int rgvt_read(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		off += n;
	}
	close(fd);
	buf[off] = '\0';
	if (off && buf[off - 1] == '\n')
		buf[--off] = '\0';
	return off;
}

/* Read a file that holds one decimal integer. */
static inline int rgvt_read_long(const char *path, long *val)
{
	char buf[64], *end;
	int ret;

	ret = rgvt_read(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EBADMSG;
	return 0;
}

/* Write str with one write(2), as "echo str > path" does. */
/* Signals eventfd fd on the device's MSI (VFIO_DEVICE_SET_IRQS); 0 or -errno. */
static inline int rgvt_msi_eventfd(int device, int fd)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} req = {
		.set = {
			.argsz = sizeof(req),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSI_IRQ_INDEX,
			.count = 1,
		},
		.fd = fd,
	};

	return ioctl(device, VFIO_DEVICE_SET_IRQS, &req) ? -errno : 0;
}

static inline int rgvt_write(const char *path, const char *str)
{
	size_t len = strlen(str);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, str, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * Write a line to the kernel log. Around a test that makes the kernel print a
 * backtrace on purpose, write "rgvt-selftest: expect-trace-begin" and
 * "...-end": the host's splat scan (tools/lib-qemu.sh) allows "Call Trace:"
 * between the two (never BUG or WARNING).
 */
static inline int rgvt_kmsg(const char *line)
{
	return rgvt_write("/dev/kmsg", line);
}

/* A random (version 4) UUID in its 36-character text form. */
static inline int rgvt_uuid(char out[RGVT_UUID_LEN + 1])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -errno;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, RGVT_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* mdev ------------------------------------------------------------------ */

static inline char *rgvt_parent_path(char *buf)
{
	return rgvt_path(buf, MDEV_BUS_CLASS "/%s", rgvt_parent());
}

/* The path of attribute attr of mdev type type ("" for the type's directory). */
static inline char *rgvt_type_path(char *buf, const char *type, const char *attr)
{
	return rgvt_path(buf, MDEV_BUS_CLASS "/%s/mdev_supported_types/%s/%s",
			 rgvt_parent(), type, attr);
}

static inline char *rgvt_mdev_path(char *buf, const char *uuid, const char *attr)
{
	return rgvt_path(buf, MDEV_DEVICES "/%s/%s", uuid, attr);
}

static inline int rgvt_cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The parent's mdev types, sorted by name. Returns their number or -errno. */
static inline int rgvt_types(char names[RGVT_MAX_TYPES][RGVT_NAME_LEN])
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	dir = opendir(rgvt_path(path, MDEV_BUS_CLASS "/%s/mdev_supported_types",
				rgvt_parent()));
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < RGVT_MAX_TYPES) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= RGVT_NAME_LEN)
			continue;
		strcpy(names[n++], de->d_name);
	}
	closedir(dir);
	qsort(names, n, RGVT_NAME_LEN, rgvt_cmp_name);
	return n;
}

static inline int rgvt_available(const char *type, long *n)
{
	char path[PATH_MAX];

	return rgvt_read_long(rgvt_type_path(path, type, "available_instances"), n);
}

static inline int rgvt_mdev_create(const char *type, const char *uuid)
{
	char path[PATH_MAX];

	return rgvt_write(rgvt_type_path(path, type, "create"), uuid);
}

static inline int rgvt_mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	return rgvt_write(rgvt_mdev_path(path, uuid, "remove"), "1");
}

static inline bool rgvt_mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	return rgvt_exists(rgvt_path(path, MDEV_DEVICES "/%s", uuid));
}

/* How many mdev devices exist (of any parent). */
static inline int rgvt_mdev_count(void)
{
	struct dirent *de;
	int n = 0;
	DIR *dir;

	dir = opendir(MDEV_DEVICES);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The number of the device's IOMMU group (/dev/vfio/<N>) or -errno. */
static inline int rgvt_mdev_group(const char *uuid)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	n = readlink(rgvt_mdev_path(path, uuid, "iommu_group"), link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

/* The mdev devices a test created, so its teardown removes what is left. */
#define RGVT_MAX_CREATED 64
struct rgvt_created {
	char uuid[RGVT_MAX_CREATED][RGVT_UUID_LEN + 1];
	int n;
};

/* Create an mdev of type with a fresh UUID (returned in uuid); remember it. */
static inline int rgvt_create(struct rgvt_created *c, const char *type,
			      char uuid[RGVT_UUID_LEN + 1])
{
	int ret;

	if (c->n >= RGVT_MAX_CREATED)
		return -ENOSPC;
	ret = rgvt_uuid(uuid);
	if (ret)
		return ret;
	ret = rgvt_mdev_create(type, uuid);
	if (!ret)
		strcpy(c->uuid[c->n++], uuid);
	return ret;
}

/* Remove every remembered mdev that still exists. */
static inline void rgvt_remove_created(struct rgvt_created *c)
{
	while (c->n > 0) {
		const char *uuid = c->uuid[--c->n];

		if (rgvt_mdev_exists(uuid))
			rgvt_mdev_remove(uuid);
	}
}

/* VFIO ------------------------------------------------------------------ */

/* The file descriptors a VMM holds for one device; -1 when not open. */
struct rgvt_vfio {
	int container;
	int group;
	int device;
	int iommu_type;		/* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
	const char *failed;	/* the step that failed, for the test's log */
};

#define RGVT_VFIO_CLOSED { .container = -1, .group = -1, .device = -1 }

static inline void rgvt_vfio_close(struct rgvt_vfio *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->device = v->group = v->container = -1;
}

/*
 * Open the mdev device through the VFIO group/container API, as QEMU does
 * with vfio-pci,sysfsdev=...: container (rgvt_container()), group viable,
 * group into container,
 * type1 IOMMU (v2 preferred), device fd by UUID. On failure everything is
 * closed, v->failed names the step and -errno is returned.
 */
static inline int rgvt_vfio_open(const char *uuid, struct rgvt_vfio *v)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int group, ret;

	*v = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
#define STEP(what, expr) do {			\
		v->failed = what;		\
		if ((expr) < 0)			\
			goto fail;		\
	} while (0)
	STEP("open the container",
	     v->container = open(rgvt_container(), O_RDWR | O_CLOEXEC));
	STEP("VFIO_GET_API_VERSION", ret = ioctl(v->container, VFIO_GET_API_VERSION));
	if (ret != VFIO_API_VERSION) {
		errno = EPROTO;
		goto fail;
	}
	v->failed = "VFIO_CHECK_EXTENSION(TYPE1)";
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		v->iommu_type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		v->iommu_type = VFIO_TYPE1_IOMMU;
	else {
		errno = ENODEV;
		goto fail;
	}
	STEP("read iommu_group link", group = rgvt_mdev_group(uuid));
	STEP("open /dev/vfio/<group>",
	     v->group = open(rgvt_path(path, "/dev/vfio/%d", group), O_RDWR | O_CLOEXEC));
	STEP("VFIO_GROUP_GET_STATUS", ioctl(v->group, VFIO_GROUP_GET_STATUS, &status));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		v->failed = "group not viable";
		errno = EBUSY;
		goto fail;
	}
	STEP("VFIO_GROUP_SET_CONTAINER",
	     ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container));
	STEP("VFIO_SET_IOMMU", ioctl(v->container, VFIO_SET_IOMMU, v->iommu_type));
	STEP("VFIO_GROUP_GET_DEVICE_FD",
	     v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, uuid));
#undef STEP
	v->failed = NULL;
	return 0;
fail:
	ret = -errno;
	rgvt_vfio_close(v);
	return ret;
}

/* Guest memory: what a VMM maps with VFIO_IOMMU_MAP_DMA (IOVA = guest physical). */
static inline int rgvt_dma_map(const struct rgvt_vfio *v, void *vaddr, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (__u64)(unsigned long)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static inline int rgvt_dma_unmap(const struct rgvt_vfio *v, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	return ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

/*
 * pread/pwrite of len bytes at offset off of VFIO region index (vfio-pci's
 * layout: index << 40). Returns the byte count or -errno.
 */
static inline ssize_t rgvt_region_read(int device, unsigned int index, __u64 off,
				       void *buf, size_t len)
{
	ssize_t n = pread(device, buf, len, (off_t)(((__u64)index << 40) + off));

	return n < 0 ? -errno : n;
}

static inline ssize_t rgvt_region_write(int device, unsigned int index, __u64 off,
					const void *buf, size_t len)
{
	ssize_t n = pwrite(device, buf, len, (off_t)(((__u64)index << 40) + off));

	return n < 0 ? -errno : n;
}

/* rgvt's per-vGPU files ------------------------------------------------- */

/* Read a file that holds one integer in any base strtoull accepts (0x...). */
static inline int rgvt_read_u64(const char *path, unsigned long long *val)
{
	char buf[64], *end;
	int ret;

	ret = rgvt_read(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EBADMSG;
	return 0;
}

/* Attribute attr of the vGPU's rgvt/ group (vgpu_id, low_gm_base, ...). */
static inline int rgvt_vgpu_attr(const char *uuid, const char *attr, unsigned long long *val)
{
	char path[PATH_MAX];

	return rgvt_read_u64(rgvt_path(path, MDEV_DEVICES "/%s/rgvt/%s", uuid, attr), val);
}

/*
 * Counter name of /sys/kernel/debug/rgvt/vgpu<id>/counters (lines "name
 * value"). Returns 0, -ENOENT when the file has no such line, or -errno.
 */
static inline int rgvt_counter(long id, const char *name, unsigned long long *val)
{
	char path[PATH_MAX], buf[4096], *line, *save = NULL;
	size_t len = strlen(name);
	int ret;

	ret = rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/counters", id), buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, name, len) || line[len] != ' ')
			continue;
		*val = strtoull(line + len + 1, NULL, 10);
		return 0;
	}
	return -ENOENT;
}

/* gen9 GPU formats ------------------------------------------------------ */

/*
 * What a Skylake GT2 driver writes, with i915's names (gt/intel_engine_regs.h,
 * gt/intel_gt_regs.h, gt/intel_gpu_commands.h, gt/intel_lrc.c): for the
 * tests that drive rgvt's engines as a guest driver would (rgvt_engine,
 * rgvt_soak). Engine registers are relative to the engine's base.
 */
#define RING_HWS_PGA		0x80
#define RING_HWSTAM		0x98
#define RING_MI_MODE		0x9c
#define   STOP_RING		(1U << 8)
#define RING_RESET_CTL		0xd0
#define   REQUEST_RESET		(1U << 0)
#define   READY_TO_RESET	(1U << 1)
#define RING_ELSP		0x230
#define RING_EXECLIST_STATUS_LO	0x234
#define RING_MODE_GEN7		0x29c
#define   GFX_RUN_LIST_ENABLE	(1U << 15)
#define RING_CONTEXT_STATUS_BUF	0x370	/* 6 entries of two dwords */
#define RING_CONTEXT_STATUS_PTR	0x3a0
#define GEN6_GDRST		0x941c
#define   GEN6_GRDOM_FULL	(1U << 0)
#define GEN8_MASTER_IRQ		0x44200
#define   GEN8_MASTER_IRQ_CONTROL (1U << 31)
#define GEN8_GT_IMR(n)		(0x44304 + 0x10 * (n))
#define GEN8_GT_IIR(n)		(0x44308 + 0x10 * (n))
#define GEN8_GT_IER(n)		(0x4430c + 0x10 * (n))
#define GT_RENDER_USER_INTERRUPT	(1U << 0)
#define GT_CONTEXT_SWITCH_INTERRUPT	(1U << 8)
#define MASKED_ENABLE(b)	((b) << 16 | (b))
#define MASKED_DISABLE(b)	((b) << 16)

/* Status page (HWSP) layout: the CSB mirror (intel_engine.h). */
#define I915_HWS_CSB_BUF0_INDEX		0x10
#define I915_HWS_CSB_WRITE_INDEX	0x1f
#define CSB_ENTRIES			6
#define HWSP_SCRATCH			0x30	/* a free dword for our post-syncs */

/* CSB status bits (intel_execlists_submission.c). */
#define CTX_STATUS_IDLE_ACTIVE		(1U << 0)
#define CTX_STATUS_PREEMPTED		(1U << 1)
#define CTX_STATUS_ELEMENT_SWITCH	(1U << 2)
#define CTX_STATUS_ACTIVE_IDLE		(1U << 3)
#define CTX_STATUS_COMPLETE		(1U << 4)
#define CTX_STATUS_LITE_RESTORE		(1U << 15)

/* Context descriptor (intel_lrc.h). */
#define CTX_VALID		(1U << 0)
#define CTX_PRIVILEGE		(1U << 8)
#define CTX_ADDRESSING_SHIFT	3
#define LEGACY_64B_CONTEXT	3

/* Register state context (intel_lrc_reg.h): indices of values. */
#define CTX_CONTEXT_CONTROL	(0x02 + 1)
#define CTX_RING_HEAD		(0x04 + 1)
#define CTX_RING_TAIL		(0x06 + 1)
#define CTX_RING_START		(0x08 + 1)
#define CTX_RING_CTL		(0x0a + 1)
#define CTX_PDP0_UDW		(0x30 + 1)
#define CTX_PDP0_LDW		(0x32 + 1)
#define CTX_MI_MODE		(0x54 + 1)
#define CTX_CTRL_INHIBIT_SYN_CTX_SWITCH		(1U << 3)
#define CTX_CTRL_ENGINE_CTX_RESTORE_INHIBIT	(1U << 0)
#define CTX_CTRL_ENGINE_CTX_SAVE_INHIBIT	(1U << 2)
#define CTX_CTRL_RS_CTX_ENABLE			(1U << 1)
#define RING_VALID		1U

/* Commands (intel_gpu_commands.h, and the gen9 PRM for bit 22 of BB_START). */
#define MI_INSTR(op, flags)	((__u32)(op) << 23 | (flags))
#define MI_NOOP			0U
#define MI_USER_INTERRUPT	MI_INSTR(0x02, 0)
#define MI_ARB_CHECK		MI_INSTR(0x05, 0)
#define MI_BATCH_BUFFER_END	MI_INSTR(0x0a, 0)
#define MI_SEMAPHORE_WAIT	MI_INSTR(0x1c, 2)
#define   MI_SEMAPHORE_GLOBAL_GTT	(1U << 22)
#define   MI_SEMAPHORE_POLL	(1U << 15)
#define   MI_SEMAPHORE_SAD_EQ_SDD	(4U << 12)
#define MI_STORE_DWORD_IMM_GEN4	MI_INSTR(0x20, 2)
#define MI_STORE_QWORD_IMM_GEN8	(MI_INSTR(0x20, 3) | 1U << 21)
#define   MI_USE_GGTT		(1U << 22)
#define MI_LOAD_REGISTER_IMM(n)	MI_INSTR(0x22, 2 * (n) - 1)
#define MI_STORE_REGISTER_MEM_GEN8 MI_INSTR(0x24, 2)
#define MI_FLUSH_DW		MI_INSTR(0x26, 1)
#define   MI_FLUSH_DW_OP_STOREDW	(1U << 14)
#define   MI_FLUSH_DW_USE_GTT	(1U << 2)
#define MI_BATCH_BUFFER_START_GEN8 MI_INSTR(0x31, 1)
#define   MI_BATCH_PPGTT	(1U << 8)
#define   MI_BATCH_2ND_LEVEL	(1U << 22)
#define GFX_OP_PIPE_CONTROL(len) (3U << 29 | 3U << 27 | 2U << 24 | ((len) - 2))
#define   PIPE_CONTROL_GLOBAL_GTT_IVB	(1U << 24)
#define   PIPE_CONTROL_CS_STALL	(1U << 20)
#define   PIPE_CONTROL_QW_WRITE	(1U << 14)
#define XY_SRC_COPY_BLT_CMD	(2U << 29 | 0x53U << 22)
#define   BLT_WRITE_RGBA	(3U << 20)
#define   BLT_DEPTH_32		(3U << 24)
#define   BLT_ROP_SRC_COPY	(0xccU << 16)

/* gen8 PPGTT entries. */
#define PPGTT_PRESENT		1ULL
#define PPGTT_RW		2ULL
#define PPGTT_ADDR		0x0000fffffffff000ULL


/*
 * i915's gen9 register-state offset tables (intel_lrc.c, gen9_rcs_offsets
 * and gen9_xcs_offsets), in the same compact encoding, laid out by the same
 * set_offsets(): the register state page is a batch of LRI commands.
 */
#define NOP(x)		(0x80 | (x))
#define LRI(count, flags) ((flags) << 6 | (count))
#define POSTED		1
#define REG(x)		((x) >> 2)
#define REG16(x)	(((x) >> 9) | 0x80), (((x) >> 2) & 0x7f)
#define LRC_TAIL \
	NOP(13), LRI(44, POSTED), REG(0x28), REG(0x9c), REG(0xc0), REG(0x178), \
	REG(0x17c), REG16(0x358), REG(0x170), REG(0x150), REG(0x154), REG(0x158), \
	REG16(0x41c), REG16(0x600), REG16(0x604), REG16(0x608), REG16(0x60c), \
	REG16(0x610), REG16(0x614), REG16(0x618), REG16(0x61c), REG16(0x620), \
	REG16(0x624), REG16(0x628), REG16(0x62c), REG16(0x630), REG16(0x634), \
	REG16(0x638), REG16(0x63c), REG16(0x640), REG16(0x644), REG16(0x648), \
	REG16(0x64c), REG16(0x650), REG16(0x654), REG16(0x658), REG16(0x65c), \
	REG16(0x660), REG16(0x664), REG16(0x668), REG16(0x66c), REG16(0x670), \
	REG16(0x674), REG16(0x678), REG16(0x67c), REG(0x68), 0
#define LRC_HEAD \
	NOP(1), LRI(14, POSTED), REG16(0x244), REG(0x34), REG(0x30), REG(0x38), \
	REG(0x3c), REG(0x168), REG(0x140), REG(0x110), REG(0x11c), REG(0x114), \
	REG(0x118), REG(0x1c0), REG(0x1c4), REG(0x1c8), \
	NOP(3), LRI(9, POSTED), REG16(0x3a8), REG16(0x28c), REG16(0x288), \
	REG16(0x284), REG16(0x280), REG16(0x27c), REG16(0x278), REG16(0x274), \
	REG16(0x270)

static const __u8 gen9_rcs_offsets[] = {
	LRC_HEAD, NOP(13), LRI(1, 0), REG(0xc8), LRC_TAIL
};

static const __u8 gen9_xcs_offsets[] = {
	LRC_HEAD, NOP(13), LRI(1, POSTED), REG16(0x200), LRC_TAIL
};

static inline void rgvt_set_offsets(__u32 *regs, const __u8 *data, __u32 base)
{
	while (*data) {
		__u8 count, flags;

		if (*data & 0x80) {
			regs += *data++ & 0x7f;
			continue;
		}
		count = *data & 0x3f;
		flags = *data >> 6;
		data++;
		*regs++ = MI_LOAD_REGISTER_IMM(count) | (flags & POSTED ? 1U << 12 : 0);
		do {
			__u32 offset = 0;
			__u8 v;

			do {
				v = *data++;
				offset = offset << 7 | (v & 0x7f);
			} while (v & 0x80);
			regs[0] = base + (offset << 2);
			regs += 2;
		} while (--count);
	}
	*regs = MI_BATCH_BUFFER_END;
}

/*
 * The register state page of a fresh context as __lrc_init_regs() leaves it
 * (no restore inhibit) for a context with a 4-level PPGTT: the LRI layout,
 * CONTEXT_CONTROL, the ring registers (empty ring at ring_gm), the PML4 in
 * PDP0, STOP_RING cleared in the saved MI_MODE.
 */
static inline void rgvt_lrc_init(__u32 *regs, bool rcs, __u32 base, __u32 ring_gm,
				 __u32 ring_size, __u64 pml4)
{
	memset(regs, 0, 4096);
	rgvt_set_offsets(regs, rcs ? gen9_rcs_offsets : gen9_xcs_offsets, base);
	regs[CTX_CONTEXT_CONTROL] = MASKED_ENABLE(CTX_CTRL_INHIBIT_SYN_CTX_SWITCH) |
				    MASKED_DISABLE(CTX_CTRL_ENGINE_CTX_RESTORE_INHIBIT) |
				    MASKED_DISABLE(CTX_CTRL_ENGINE_CTX_SAVE_INHIBIT |
						   CTX_CTRL_RS_CTX_ENABLE);
	regs[CTX_RING_START] = ring_gm;
	regs[CTX_RING_HEAD] = 0;
	regs[CTX_RING_TAIL] = 0;
	regs[CTX_RING_CTL] = (ring_size - 4096) | RING_VALID;
	regs[CTX_PDP0_UDW] = pml4 >> 32;
	regs[CTX_PDP0_LDW] = (__u32)pml4;
	regs[CTX_MI_MODE] = STOP_RING << 16;
}

/* The context descriptor lrc_descriptor() makes, with the context ID above. */
static inline __u64 rgvt_ctx_desc(__u32 lrca, __u32 ccid)
{
	return (__u64)ccid << 32 | (lrca & ~4095U) | LEGACY_64B_CONTEXT << CTX_ADDRESSING_SHIFT |
	       CTX_PRIVILEGE | CTX_VALID;
}

/* Modules --------------------------------------------------------------- */

static inline bool rgvt_module_loaded(void)
{
	char path[PATH_MAX];

	return rgvt_exists(rgvt_path(path, "/sys/module/%s", rgvt_module()));
}

/* rmmod: delete_module(2), which does not wait for users to go away. */
static inline int rgvt_module_unload(void)
{
	return syscall(__NR_delete_module, rgvt_module(), O_NONBLOCK) ? -errno : 0;
}

/*
 * rmmod once the last users are gone: a file descriptor closed a moment ago
 * may still hold its module reference for a short while. Gives up after a
 * second (a reference that leaked).
 */
static inline int rgvt_module_unload_settled(void)
{
	int i, ret = 0;

	for (i = 0; i < 20; i++) {
		ret = rgvt_module_unload();
		if (ret != -EAGAIN && ret != -EBUSY)
			break;
		usleep(50 * 1000);
	}
	return ret;
}

/* insmod $RGVT_KO with module parameters params ("a=1 b=2"): finit_module(2). */
static inline int rgvt_module_load_params(const char *params)
{
	int fd, ret;

	fd = open(rgvt_ko(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* insmod $RGVT_KO. */
static inline int rgvt_module_load(void)
{
	return rgvt_module_load_params("");
}

/*
 * Make sure the module under test is loaded: insert $RGVT_KO unless
 * /sys/module/<name> exists. Loading races with nothing but another loader,
 * whose EEXIST means the same. Returns 0 or -errno.
 */
static inline int rgvt_module_ensure(void)
{
	int ret;

	if (rgvt_module_loaded())
		return 0;
	ret = rgvt_module_load();
	return ret == -EEXIST ? 0 : ret;
}

/*
 * Put the module back as main() found it: unloaded again if the program
 * loaded it, loaded again if a test unloaded it. Returns 0 or -errno.
 */
static inline int rgvt_module_restore(bool was_loaded)
{
	if (was_loaded && !rgvt_module_loaded())
		return rgvt_module_ensure();
	if (!was_loaded && rgvt_module_loaded())
		return rgvt_module_unload_settled();
	return 0;
}

/*
 * The main() of every rgvt selftest: load the module if it is not loaded
 * (skip, exit 4, when $RGVT_KO is not there), skip when only_rgvt and the
 * module is a stand-in such as mtty, run the tests, then leave the module as
 * it was found (rgvt_module_restore()). test_harness_run() ends with exit(),
 * so the restore is an atexit handler, which the tests' forked children
 * (they leave with _exit()) do not run; a failure to restore fails the
 * program.
 */
#define RGVT_TEST_MAIN(only_rgvt)						\
static pid_t rgvt_main_pid;							\
static bool rgvt_was_loaded;							\
										\
static void rgvt_at_exit(void)							\
{										\
	int err;								\
										\
	if (getpid() != rgvt_main_pid)						\
		return;								\
	err = rgvt_module_restore(rgvt_was_loaded);				\
	if (!err)								\
		return;								\
	ksft_print_msg("could not %s %s again: %s\n",				\
		       rgvt_was_loaded ? "load" : "unload", rgvt_module(),	\
		       strerror(-err));						\
	fflush(stdout);								\
	_exit(KSFT_FAIL);							\
}										\
										\
int main(int argc, char **argv)							\
{										\
	int ret;								\
										\
	if ((only_rgvt) && !rgvt_is_rgvt())					\
		ksft_exit_skip("%s is not rgvt\n", rgvt_module());		\
	rgvt_main_pid = getpid();						\
	rgvt_was_loaded = rgvt_module_loaded();					\
	ret = rgvt_module_ensure();						\
	if (ret == -ENOENT)							\
		ksft_exit_skip("module %s is not loaded and %s is missing\n",	\
			       rgvt_module(), rgvt_ko());			\
	if (ret)								\
		ksft_exit_fail_msg("loading %s: %s\n", rgvt_ko(), strerror(-ret)); \
	if (atexit(rgvt_at_exit))						\
		ksft_exit_fail_msg("atexit\n");				\
	ksft_print_msg("module %s %s; container %s (%s)\n", rgvt_module(),	\
		       rgvt_was_loaded ? "was loaded" : "loaded by this program", \
		       rgvt_container(), rgvt_container_backend());		\
	return test_harness_run(argc, argv);					\
}

#endif /* RGVT_SELFTEST_UTIL_H */
