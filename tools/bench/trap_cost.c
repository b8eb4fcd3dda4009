// SPDX-License-Identifier: GPL-2.0
/*
 * trap_cost: what one trapped access to a vGPU costs from user space, the
 * way a VMM pays it (a pread/pwrite on the VFIO device fd).
 *
 * Creates an rgvt-V5_8 vGPU, opens it through VFIO, maps guest memory and
 * times, one operation at a time with clock_gettime(CLOCK_MONOTONIC):
 *
 *   ggtt_write   8-byte pwrite of a GGTT entry in BAR0 (a present entry:
 *                the guest frame is pinned, the old one released)
 *   mmio_write   4-byte pwrite of an MMIO register in BAR0
 *   bar2_read    4-byte pread through BAR2 (the aperture), through the
 *                vGPU's GGTT entry to the pinned guest page
 *
 * and prints the median, p90 and mean per operation in ns. Reports, never
 * judges: the exit status only says whether the measurement ran.
 *
 *   trap_cost [-n OPS]        (default 100000 of each)
 *
 * RGVT_ACCEL (set by tools/bench-trap.sh) names the accelerator, for the
 * header line. Built static by tools/bench-trap.sh; reuses the selftests'
 * helpers (selftests/rgvt/rgvt_util.h) and the uapi header.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"

#define TYPE		"rgvt-V5_8"
#define PAGE		4096ULL
#define GUEST_PAGES	64
#define GUEST_IOVA	0x10000000ULL
#define SCRATCH_REG	0x4000
#define WARMUP		1000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, const char *what, uint64_t *ns, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += ns[i];
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%-12s %8zu %10llu %10llu %10llu   %s\n", name, n,
	       (unsigned long long)ns[n / 2], (unsigned long long)ns[n * 9 / 10],
	       (unsigned long long)(sum / n), what);
}

struct bench {
	struct rgvt_vfio v;
	unsigned long long low_base;
	uint64_t *ns;
	size_t n;
};

enum op { GGTT_WRITE, MMIO_WRITE, BAR2_READ, CLOCK_ONLY };

/* One operation number i of kind op; returns 0 or -errno. */
static int do_op(struct bench *b, enum op op, size_t i)
{
	__u64 pte, index;
	__u32 v = (__u32)i;
	ssize_t r;

	switch (op) {
	case GGTT_WRITE:
		/* Entry i % 64 of the low GM, a mapped guest frame each time. */
		index = b->low_base / PAGE + i % GUEST_PAGES;
		pte = ((GUEST_IOVA / PAGE + (i * 7 + 1) % GUEST_PAGES) << 12) | 1;
		r = rgvt_region_write(b->v.device, VFIO_PCI_BAR0_REGION_INDEX,
				      RGVT_GGTT_OFFSET + index * RGVT_GGTT_ENTRY_SIZE, &pte, 8);
		return r == 8 ? 0 : r < 0 ? (int)r : -EIO;
	case MMIO_WRITE:
		r = rgvt_region_write(b->v.device, VFIO_PCI_BAR0_REGION_INDEX, SCRATCH_REG, &v, 4);
		return r == 4 ? 0 : r < 0 ? (int)r : -EIO;
	case BAR2_READ:
		r = rgvt_region_read(b->v.device, VFIO_PCI_BAR2_REGION_INDEX,
				     b->low_base + (i % GUEST_PAGES) * PAGE + (i * 4) % PAGE, &v, 4);
		return r == 4 ? 0 : r < 0 ? (int)r : -EIO;
	case CLOCK_ONLY:
		return 0;
	}
	return -EINVAL;
}

static int run(struct bench *b, enum op op, const char *name, const char *what)
{
	size_t i;
	int ret;

	for (i = 0; i < WARMUP; i++) {
		ret = do_op(b, op, i);
		if (ret) {
			fprintf(stderr, "trap_cost: %s: %s\n", name, strerror(-ret));
			return ret;
		}
	}
	for (i = 0; i < b->n; i++) {
		uint64_t t0 = now_ns();

		ret = do_op(b, op, i);
		b->ns[i] = now_ns() - t0;
		if (ret) {
			fprintf(stderr, "trap_cost: %s #%zu: %s\n", name, i, strerror(-ret));
			return ret;
		}
	}
	report(name, what, b->ns, b->n);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .v = RGVT_VFIO_CLOSED, .n = 100000 };
	const char *accel = rgvt_getenv("RGVT_ACCEL", "unknown");
	char uuid[RGVT_UUID_LEN + 1], path[PATH_MAX];
	unsigned long long pins;
	long id, avail;
	void *mem;
	int ret, status = 1;

	if (argc == 3 && !strcmp(argv[1], "-n"))
		b.n = strtoul(argv[2], NULL, 10);
	if (!b.n || argc == 2 || argc > 3) {
		fprintf(stderr, "usage: %s [-n OPS]\n", argv[0]);
		return 2;
	}
	if (!rgvt_module_loaded()) {
		fprintf(stderr, "trap_cost: module %s is not loaded\n", rgvt_module());
		return 4;
	}
	b.ns = calloc(b.n, sizeof(*b.ns));
	if (!b.ns || rgvt_available(TYPE, &avail) || avail < 1 || rgvt_uuid(uuid) ||
	    rgvt_mdev_create(TYPE, uuid)) {
		fprintf(stderr, "trap_cost: cannot create a %s vGPU\n", TYPE);
		return 1;
	}
	if (rgvt_read_u64(rgvt_mdev_path(path, uuid, "rgvt/low_gm_base"), &b.low_base) ||
	    rgvt_read_long(rgvt_mdev_path(path, uuid, "rgvt/vgpu_id"), &id))
		goto out_remove;
	ret = rgvt_vfio_open(uuid, &b.v);
	if (ret) {
		fprintf(stderr, "trap_cost: %s: %s\n", b.v.failed, strerror(-ret));
		goto out_remove;
	}
	mem = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || rgvt_dma_map(&b.v, mem, GUEST_IOVA, GUEST_PAGES * PAGE)) {
		fprintf(stderr, "trap_cost: cannot map guest memory\n");
		goto out_close;
	}
	memset(mem, 0x5a, GUEST_PAGES * PAGE);

	printf("rgvt trap cost: %zu operations each, one %s vGPU, QEMU accel %s\n",
	       b.n, TYPE, accel);
	if (strcmp(accel, "kvm"))
		printf("NOTE: QEMU TCG emulates every guest instruction: these numbers are inflated many times over native (and KVM); compare them with each other, not with hardware.\n");
	printf("%-12s %8s %10s %10s %10s\n", "op", "n", "median_ns", "p90_ns", "mean_ns");
	if (run(&b, CLOCK_ONLY, "clock_pair", "two clock_gettime calls, no access (timer overhead)") ||
	    run(&b, GGTT_WRITE, "ggtt_write", "pwrite 8 B, BAR0 GGTT entry (pin new frame, unpin old)") ||
	    run(&b, MMIO_WRITE, "mmio_write", "pwrite 4 B, BAR0 MMIO register") ||
	    run(&b, BAR2_READ, "bar2_read", "pread 4 B, BAR2 through a pinned GGTT entry"))
		goto out_close;
	if (!rgvt_counter(id, "pins_now", &pins))
		printf("pins_now %llu after the run (%d entries written)\n", pins, GUEST_PAGES);
	status = 0;
out_close:
	rgvt_vfio_close(&b.v);
out_remove:
	rgvt_mdev_remove(uuid);
	free(b.ns);
	return status;
}
