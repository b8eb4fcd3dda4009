// SPDX-License-Identifier: GPL-2.0
/*
 * l2i915: runs inside the second-level guest of tools/run-nested.sh, as a
 * user of the stock i915 that drives the vGPU: i915's own uAPI, nothing of
 * rgvt's. Every command it sends reaches rgvt's engines through i915's
 * execlists, the vGPU's ELSP and QEMU.
 *
 *   l2i915 [DEV]        DEV = /dev/dri/renderD128 (default), or card0
 *
 * 1. store-dword: a GEM buffer and a batch with MI_STORE_DWORD_IMM into it
 *    (softpinned in the file's own PPGTT), execbuffer2 on the render
 *    engine, GEM_WAIT, pread: the value is there.
 * 2. blit-copy: two 1 MB GEM buffers, the source filled with a pattern,
 *    XY_SRC_COPY_BLT between them on the blitter engine, GEM_WAIT, pread:
 *    the destination equals the source.
 *
 * 3. The cost of one submission through the stock i915 (a measure, not a
 *    check): ROUNDS store-dword execbuffers on rcs0, each waited for, as
 *    "RGVT-L2-INFO nested: ..." (tools/run-nested.sh prints it next to the
 *    direct cost of rgvt_engine in the test guest).
 *
 * Prints one line per check, "RGVT-L2-CHECK <name> ok|FAIL [detail]", and
 * the time of each execbuffer-to-idle. Exit status: 0 if both passed, 1 if
 * one failed, 2 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <drm/i915_drm.h>

#define MI_INSTR(op, flags)		((uint32_t)(op) << 23 | (flags))
#define MI_BATCH_BUFFER_END		MI_INSTR(0x0a, 0)
#define MI_STORE_DWORD_IMM_GEN4		MI_INSTR(0x20, 2)
#define XY_SRC_COPY_BLT_CMD		(2U << 29 | 0x53U << 22)
#define   BLT_WRITE_RGBA		(3U << 20)
#define   BLT_DEPTH_32			(3U << 24)
#define   BLT_ROP_SRC_COPY		(0xccU << 16)

/* Softpinned addresses in the file's PPGTT (48-bit, page aligned). */
#define VA_TARGET	0x0000000100000000ULL
#define VA_BATCH	0x0000000100100000ULL
#define VA_SRC		0x0000000200000000ULL
#define VA_DST		0x0000000300000000ULL

#define BLT_W		256		/* pixels of 4 bytes: 1 KB a row */
#define BLT_H		1024		/* 1 MB */
#define BLT_SIZE	(BLT_W * 4 * BLT_H)
#define WAIT_NS		(20LL * 1000 * 1000 * 1000)
#define ROUNDS		20

static int fd;

static int xioctl(unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret && (errno == EINTR || errno == EAGAIN));
	return ret ? -errno : 0;
}

static void check(const char *name, int ok, const char *detail)
{
	printf("RGVT-L2-CHECK %s %s%s%s\n", name, ok ? "ok" : "FAIL",
	       detail && *detail ? " " : "", detail ? detail : "");
	fflush(stdout);
}

static uint32_t gem_create(uint64_t size)
{
	struct drm_i915_gem_create c = { .size = size };

	if (xioctl(DRM_IOCTL_I915_GEM_CREATE, &c)) {
		printf("l2i915: GEM_CREATE %llu: %s\n", (unsigned long long)size, strerror(errno));
		exit(2);
	}
	return c.handle;
}

static int gem_pwrite(uint32_t h, uint64_t off, const void *buf, uint64_t len)
{
	struct drm_i915_gem_pwrite p = {
		.handle = h, .offset = off, .size = len, .data_ptr = (uintptr_t)buf,
	};

	return xioctl(DRM_IOCTL_I915_GEM_PWRITE, &p);
}

static int gem_pread(uint32_t h, uint64_t off, void *buf, uint64_t len)
{
	struct drm_i915_gem_pread p = {
		.handle = h, .offset = off, .size = len, .data_ptr = (uintptr_t)buf,
	};

	return xioctl(DRM_IOCTL_I915_GEM_PREAD, &p);
}

/* GEM_WAIT until the buffer is idle; 0, -ETIME, or another -errno. */
static int gem_wait(uint32_t h)
{
	struct drm_i915_gem_wait w = { .bo_handle = h, .timeout_ns = WAIT_NS };

	return xioctl(DRM_IOCTL_I915_GEM_WAIT, &w);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * execbuffer2 of objs (the batch last) on ring, every object softpinned at
 * its offset; waits for wait_on. Returns 0 or -errno, with the time taken.
 */
static int exec_wait(struct drm_i915_gem_exec_object2 *objs, unsigned int n, uint64_t ring,
		     uint32_t batch_len, uint32_t wait_on, double *ms, char *why, size_t whylen)
{
	struct drm_i915_gem_execbuffer2 eb = {
		.buffers_ptr = (uintptr_t)objs,
		.buffer_count = n,
		.batch_len = batch_len,
		.flags = ring | I915_EXEC_NO_RELOC,
	};
	double t0 = now_ms();
	int ret;

	ret = xioctl(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb);
	if (ret) {
		snprintf(why, whylen, "execbuffer2: %s", strerror(-ret));
		return ret;
	}
	ret = gem_wait(wait_on);
	*ms = now_ms() - t0;
	if (ret)
		snprintf(why, whylen, "GEM_WAIT: %s after %.0f ms", strerror(-ret), *ms);
	return ret;
}

static void obj(struct drm_i915_gem_exec_object2 *o, uint32_t h, uint64_t va, int write)
{
	memset(o, 0, sizeof(*o));
	o->handle = h;
	o->offset = va;
	o->flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_SUPPORTS_48B_ADDRESS |
		   (write ? EXEC_OBJECT_WRITE : 0);
}

static int store_dword(void)
{
	struct drm_i915_gem_exec_object2 objs[2];
	uint32_t target = gem_create(4096), batch = gem_create(4096);
	uint32_t cs[8], got[4] = { 0 }, zero[4] = { 0 };
	double ms = 0, sum = 0, lo = 1e9, hi = 0;
	char why[128] = "";
	int n = 0, ret, i;

	gem_pwrite(target, 0, zero, sizeof(zero));
	cs[n++] = MI_STORE_DWORD_IMM_GEN4;
	cs[n++] = (uint32_t)(VA_TARGET + 8);
	cs[n++] = (VA_TARGET + 8) >> 32;
	cs[n++] = 0x600dcafe;
	cs[n++] = MI_BATCH_BUFFER_END;
	cs[n++] = 0;
	if (gem_pwrite(batch, 0, cs, n * 4)) {
		printf("l2i915: pwrite batch: %s\n", strerror(errno));
		return 2;
	}
	obj(&objs[0], target, VA_TARGET, 1);
	obj(&objs[1], batch, VA_BATCH, 0);
	ret = exec_wait(objs, 2, I915_EXEC_RENDER, n * 4, target, &ms, why, sizeof(why));
	if (!ret && (ret = gem_pread(target, 0, got, sizeof(got))))
		snprintf(why, sizeof(why), "pread: %s", strerror(-ret));
	if (!ret && got[2] != 0x600dcafe) {
		snprintf(why, sizeof(why), "read 0x%08x, want 0x600dcafe", got[2]);
		ret = -1;
	}
	if (!ret)
		snprintf(why, sizeof(why), "(rcs0, %.1f ms execbuffer to idle)", ms);
	check("store-dword", !ret, why);
	if (ret)
		return 1;
	/* The measure: the same execbuffer again and again, each waited for. */
	for (i = 0; i < ROUNDS; i++) {
		if (exec_wait(objs, 2, I915_EXEC_RENDER, n * 4, target, &ms, why, sizeof(why))) {
			printf("RGVT-L2-INFO nested: round %d: %s\n", i, why);
			return 0;
		}
		sum += ms;
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	printf("RGVT-L2-INFO nested: rcs0 store-dword through i915, execbuffer to idle: "
	       "%.2f ms on average over %d (min %.2f, max %.2f)\n", sum / ROUNDS, ROUNDS, lo, hi);
	return 0;
}

static int blit_copy(void)
{
	struct drm_i915_gem_exec_object2 objs[3];
	uint32_t src = gem_create(BLT_SIZE), dst = gem_create(BLT_SIZE), batch = gem_create(4096);
	uint32_t *pat = malloc(BLT_SIZE), *got = malloc(BLT_SIZE), cs[16];
	char why[160] = "";
	double ms = 0;
	int n = 0, ret;
	unsigned int i;

	if (!pat || !got)
		return 2;
	for (i = 0; i < BLT_SIZE / 4; i++)
		pat[i] = i * 2654435761U | 1;
	memset(got, 0xee, BLT_SIZE);
	if (gem_pwrite(src, 0, pat, BLT_SIZE) || gem_pwrite(dst, 0, got, BLT_SIZE)) {
		printf("l2i915: pwrite: %s\n", strerror(errno));
		return 2;
	}
	cs[n++] = XY_SRC_COPY_BLT_CMD | BLT_WRITE_RGBA | (10 - 2);
	cs[n++] = BLT_DEPTH_32 | BLT_ROP_SRC_COPY | BLT_W * 4;
	cs[n++] = 0;				/* dst y1, x1 */
	cs[n++] = BLT_H << 16 | BLT_W;		/* dst y2, x2 */
	cs[n++] = (uint32_t)VA_DST;
	cs[n++] = VA_DST >> 32;
	cs[n++] = 0;				/* src y1, x1 */
	cs[n++] = BLT_W * 4;			/* src pitch */
	cs[n++] = (uint32_t)VA_SRC;
	cs[n++] = VA_SRC >> 32;
	cs[n++] = MI_BATCH_BUFFER_END;
	cs[n++] = 0;
	if (gem_pwrite(batch, 0, cs, n * 4))
		return 2;
	obj(&objs[0], src, VA_SRC, 0);
	obj(&objs[1], dst, VA_DST, 1);
	obj(&objs[2], batch, VA_BATCH, 0);
	ret = exec_wait(objs, 3, I915_EXEC_BLT, n * 4, dst, &ms, why, sizeof(why));
	memset(got, 0, BLT_SIZE);
	if (!ret && (ret = gem_pread(dst, 0, got, BLT_SIZE)))
		snprintf(why, sizeof(why), "pread: %s", strerror(-ret));
	if (!ret) {
		for (i = 0; i < BLT_SIZE / 4 && got[i] == pat[i]; i++)
			;
		if (i < BLT_SIZE / 4) {
			snprintf(why, sizeof(why), "dword %u: 0x%08x, want 0x%08x", i, got[i],
				 pat[i]);
			ret = -1;
		}
	}
	if (!ret)
		snprintf(why, sizeof(why), "(bcs0, %d KB, %.1f ms execbuffer to idle)",
			 BLT_SIZE / 1024, ms);
	check("blit-copy", !ret, why);
	free(pat);
	free(got);
	return !!ret;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/dri/renderD128";
	struct drm_i915_getparam gp;
	int chipset = 0, has_softpin = 0, a, b;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0 && argc <= 1)
		fd = open(dev = "/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("l2i915: open %s: %s\n", dev, strerror(errno));
		check("store-dword", 0, "no DRM device");
		check("blit-copy", 0, "no DRM device");
		return 2;
	}
	gp = (struct drm_i915_getparam){ .param = I915_PARAM_CHIPSET_ID, .value = &chipset };
	xioctl(DRM_IOCTL_I915_GETPARAM, &gp);
	gp = (struct drm_i915_getparam){ .param = I915_PARAM_HAS_EXEC_SOFTPIN,
					 .value = &has_softpin };
	xioctl(DRM_IOCTL_I915_GETPARAM, &gp);
	printf("l2i915: %s: chipset 0x%04x, softpin %d\n", dev, chipset, has_softpin);
	fflush(stdout);
	a = store_dword();
	b = blit_copy();
	close(fd);
	return a > 1 || b > 1 ? 2 : a || b;
}
