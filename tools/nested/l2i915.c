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
 * 4. Phases driven by the first-level job (issue 11), in the same file and
 *    so the same i915 context and PPGTT as 1-3: l2i915 prints
 *    "RGVT-L2-SYNC <n>" and reads a line from its console, the name of
 *    the phase (the first-level job set the shadow policy it names, or
 *    "switching": it flips the policy while the phase runs), or "end".
 *    Each phase, after the context's first execbuffers:
 *    - rebind: REBIND_OBJS new objects softpinned at addresses of a page
 *      table the shadow already holds (evicting the previous phase's
 *      objects there: i915 rewrites those PTEs), one in a new page table
 *      of an existing directory (a PDE rewrite), and a new batch at the
 *      previous batch's address; a store-dword into each. Each lands in its
 *      new object, and the previous phase's objects keep their values (a
 *      stale shadow entry would have sent the store there):
 *      "RGVT-L2-CHECK rebind-<phase> ok|FAIL".
 *    - bench: two BIG_SIZE objects bound in turn at one address (each bind
 *      evicts the other: the PPGTT's page tables for BIG_SIZE rewritten),
 *      a store-dword into every 4 KB page, BIG_ROUNDS times (three times as
 *      many for "switching", so that the policy changes mid-phase); every page's
 *      value checked after each round, the execbuffer-to-idle time summed:
 *      "RGVT-L2-INFO bench-l2 <phase> ..." (the first-level job adds its side:
 *      traps, PTEs rebuilt, mediation time). A wrong value fails
 *      rebind-<phase> too.
 *    Then "RGVT-L2-PHASE-END <n>".
 *
 * Prints one line per check, "RGVT-L2-CHECK <name> ok|FAIL [detail]", and
 * the time of each execbuffer-to-idle. Exit status: 0 if every check
 * passed, 1 if one failed, 2 on a setup error.
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

/*
 * The phases' addresses. VA_TARGET's page table (2 MB from VA_TARGET) holds
 * the rebind objects and both phase batches, so the shadow has it from the
 * first execbuffer on; VA_NEWPT is in VA_TARGET's page directory, one new
 * page table per phase; VA_BIG is 2 MB aligned (whole page tables).
 */
#define VA_REBIND	(VA_TARGET + 0x10000)
#define VA_BIG_BATCH	(VA_TARGET + 0x40000)
#define VA_PHASE_BATCH	(VA_TARGET + 0x180000)
#define VA_NEWPT	(VA_TARGET + 0x4000000)
#define VA_BIG		0x0000000400000000ULL
#define REBIND_OBJS	8
#define BIG_SIZE	(8 << 20)
#define BIG_PAGES	(BIG_SIZE / 4096)
#define BIG_ROUNDS	4
#define BIG_BATCH_SIZE	((BIG_PAGES * 4 + 2) * 4 + 4095) / 4096 * 4096
#define MAX_PHASES	16

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

static void gem_close(uint32_t h)
{
	struct drm_gem_close c = { .handle = h };

	xioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

/* MI_STORE_DWORD_IMM of v at va, into cs; returns the dwords written. */
static int sdi(uint32_t *cs, uint64_t va, uint32_t v)
{
	cs[0] = MI_STORE_DWORD_IMM_GEN4;
	cs[1] = (uint32_t)va;
	cs[2] = va >> 32;
	cs[3] = v;
	return 4;
}

static uint32_t rebind_value(int phase, int k)
{
	return 0x5a000000U | (uint32_t)phase << 8 | (uint32_t)k;
}

/* The previous phase's rebind objects (kept open: their values are checked). */
static uint32_t prev_objs[REBIND_OBJS + 2];
static int prev_phase;

/*
 * The rebind check of phase n: 0, or 1 with why filled in.
 * Objects: REBIND_OBJS targets at VA_REBIND + k pages, one at VA_NEWPT + n
 * page tables, a new batch at VA_PHASE_BATCH.
 */
static int rebind(int n, char *why, size_t whylen)
{
	struct drm_i915_gem_exec_object2 objs[REBIND_OBJS + 2];
	uint32_t h[REBIND_OBJS + 2], cs[4 * (REBIND_OBJS + 1) + 2], got[8];
	uint64_t newpt = VA_NEWPT + (uint64_t)n * 0x200000;
	static const uint32_t zero[8];
	int len = 0, k, ret;
	double ms;

	for (k = 0; k < REBIND_OBJS + 2; k++) {
		h[k] = gem_create(4096);
		if (k <= REBIND_OBJS && gem_pwrite(h[k], 0, zero, sizeof(zero)))
			return snprintf(why, whylen, "pwrite: %s", strerror(errno)), 1;
	}
	for (k = 0; k < REBIND_OBJS; k++) {
		len += sdi(cs + len, VA_REBIND + k * 4096ULL + 16, rebind_value(n, k));
		obj(&objs[k], h[k], VA_REBIND + k * 4096ULL, 1);
	}
	len += sdi(cs + len, newpt + 16, rebind_value(n, 0xff));
	obj(&objs[REBIND_OBJS], h[REBIND_OBJS], newpt, 1);
	cs[len++] = MI_BATCH_BUFFER_END;
	cs[len++] = 0;
	if (gem_pwrite(h[REBIND_OBJS + 1], 0, cs, len * 4))
		return snprintf(why, whylen, "pwrite batch: %s", strerror(errno)), 1;
	obj(&objs[REBIND_OBJS + 1], h[REBIND_OBJS + 1], VA_PHASE_BATCH, 0);
	ret = exec_wait(objs, REBIND_OBJS + 2, I915_EXEC_RENDER, len * 4, h[REBIND_OBJS + 1],
			&ms, why, whylen);
	if (ret)
		return 1;
	for (k = 0; k <= REBIND_OBJS; k++) {
		uint32_t want = rebind_value(n, k < REBIND_OBJS ? k : 0xff);

		if ((ret = gem_pread(h[k], 0, got, sizeof(got))))
			return snprintf(why, whylen, "pread: %s", strerror(-ret)), 1;
		if (got[4] != want || got[0] || got[5])
			return snprintf(why, whylen, "object %d: 0x%08x (dword 0 0x%x), want 0x%08x",
					k, got[4], got[0], want), 1;
	}
	/* The previous phase's objects, evicted from the same addresses: untouched. */
	for (k = 0; prev_phase && k <= REBIND_OBJS; k++) {
		uint32_t want = rebind_value(prev_phase, k < REBIND_OBJS ? k : 0xff);

		if ((ret = gem_pread(prev_objs[k], 0, got, sizeof(got))))
			return snprintf(why, whylen, "pread: %s", strerror(-ret)), 1;
		if (got[4] != want)
			return snprintf(why, whylen,
					"phase %d's object %d: 0x%08x, want 0x%08x (written through a stale entry?)",
					prev_phase, k, got[4], want), 1;
	}
	for (k = 0; prev_phase && k < REBIND_OBJS + 2; k++)
		gem_close(prev_objs[k]);
	memcpy(prev_objs, h, sizeof(h));
	prev_phase = n;
	snprintf(why, whylen, "(%d objects at shadowed PTEs, 1 new page table, %.1f ms)",
		 REBIND_OBJS, ms);
	return 0;
}

static uint32_t big_value(int phase, int round, int page)
{
	return (uint32_t)phase << 24 | (uint32_t)round << 16 | (uint32_t)page;
}

/*
 * The bench of phase n: BIG_ROUNDS binds of big[round % 2] at VA_BIG, each
 * evicting the other, a store-dword into each page. 0, or 1 with why.
 */
static int bench(int n, const char *name, int rounds, uint32_t big[2], uint32_t batch,
		 uint32_t *cs, uint32_t *buf, char *why, size_t whylen)
{
	struct drm_i915_gem_exec_object2 objs[2];
	double ms, sum = 0, lo = 1e9, hi = 0;
	int r, i, len, ret;

	for (r = 0; r < rounds; r++) {
		uint32_t h = big[r % 2];

		for (i = 0, len = 0; i < BIG_PAGES; i++)
			len += sdi(cs + len, VA_BIG + i * 4096ULL, big_value(n, r, i));
		cs[len++] = MI_BATCH_BUFFER_END;
		cs[len++] = 0;
		if (gem_pwrite(batch, 0, cs, len * 4))
			return snprintf(why, whylen, "pwrite batch: %s", strerror(errno)), 1;
		obj(&objs[0], h, VA_BIG, 1);
		obj(&objs[1], batch, VA_BIG_BATCH, 0);
		if (exec_wait(objs, 2, I915_EXEC_RENDER, len * 4, batch, &ms, why, whylen))
			return 1;
		sum += ms;
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
		if ((ret = gem_pread(h, 0, buf, BIG_SIZE)))
			return snprintf(why, whylen, "pread: %s", strerror(-ret)), 1;
		for (i = 0; i < BIG_PAGES; i++) {
			if (buf[i * 1024] != big_value(n, r, i) || buf[i * 1024 + 1])
				return snprintf(why, whylen,
						"bench round %d page %d: 0x%08x, want 0x%08x", r, i,
						buf[i * 1024], big_value(n, r, i)), 1;
		}
	}
	printf("RGVT-L2-INFO bench-l2 %s: rounds=%d ptes_per_round=%d l2_ms=%.2f "
	       "per_round_ms=%.2f min=%.2f max=%.2f\n", name, rounds, BIG_PAGES, sum,
	       sum / rounds, lo, hi);
	fflush(stdout);
	return 0;
}

/* The phases of issue 11, as the first-level job names them on stdin. */
static int phases(void)
{
	uint32_t big[2], batch, *cs = malloc(BIG_BATCH_SIZE), *buf = malloc(BIG_SIZE);
	char line[64], name[64], why[200], check_name[96];
	int n, failed = 0;

	if (!cs || !buf)
		return 2;
	big[0] = gem_create(BIG_SIZE);
	big[1] = gem_create(BIG_SIZE);
	batch = gem_create(BIG_BATCH_SIZE);
	for (n = 1; n <= MAX_PHASES; n++) {
		printf("RGVT-L2-SYNC %d\n", n);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) || sscanf(line, "%63s", name) != 1) {
			printf("l2i915: phase %d: nothing on stdin\n", n);
			break;
		}
		if (!strcmp(name, "end"))
			break;
		snprintf(check_name, sizeof(check_name), "rebind-%s", name);
		why[0] = 0;
		if (rebind(n, why, sizeof(why)) ||
		    bench(n, name, strcmp(name, "switching") ? BIG_ROUNDS : 3 * BIG_ROUNDS, big,
			  batch, cs, buf, why, sizeof(why))) {
			check(check_name, 0, why);
			failed = 1;
		} else {
			check(check_name, 1, why);
		}
		printf("RGVT-L2-PHASE-END %d\n", n);
		fflush(stdout);
	}
	printf("RGVT-L2-PHASES-DONE %d\n", n - 1);
	fflush(stdout);
	free(cs);
	free(buf);
	return failed;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/dri/renderD128";
	struct drm_i915_getparam gp;
	int chipset = 0, has_softpin = 0, a, b, c;

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
	/* The phases only on a working device (the first-level job waits for SYNC 1). */
	c = a || b ? 0 : phases();
	close(fd);
	return a > 1 || b > 1 || c > 1 ? 2 : a || b || c;
}
