// SPDX-License-Identifier: GPL-2.0
/*
 * gttwalk: a tiny "guest driver" for the rgvt demo, run as a VMM would.
 *
 *   gttwalk UUID [-- CMD [ARGS...]]
 *
 * Opens the vGPU UUID through VFIO (group/container), gives it 64 pages of
 * "guest memory" (VFIO_IOMMU_MAP_DMA, IOVA = guest physical address), reads
 * the PV info page, writes GGTT entries that map the vGPU's first GM pages
 * onto those guest pages in a scrambled order (some entries as two 4-byte
 * halves, one on a frame that was never mapped), writes a pattern through
 * the aperture (BAR2) and checks in its own buffer that every page got
 * exactly what its entry says. Then it unmaps a quarter of the memory and
 * checks that those GM pages fell back to the scratch page. CMD, if given,
 * runs while the device is still open (the demo shows the counters there).
 *
 * Exit status: 0 if every check passed, 1 if one failed, 2 on a setup error.
 * Helpers follow selftests/rgvt/rgvt_util.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "rgvt.h"

#define PAGE		4096UL
#define NPAGES		64		/* guest pages and mapped GM pages */
#define CHUNK		16		/* pages per DMA mapping */
#define NMAPS		(NPAGES / CHUNK)
/* Guest memory above 4 GB, so the high half of each entry matters. */
#define GUEST_BASE	0x100000000ULL
/* A guest frame the VMM never maps. */
#define GUEST_HOLE	0x200000000ULL
#define PTE_PRESENT	1ULL

struct dev {
	int container, group, device;
	uint64_t bar0, bar2, bar2_size;
};

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static void die(const char *what)
{
	fprintf(stderr, "gttwalk: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The guest page GM page i maps to: a fixed scramble (7 is odd). */
static unsigned int guest_page(unsigned int i)
{
	return (7 * i + 3) % NPAGES;
}

/* The 8-byte word w of the pattern written to GM page i in round r. */
static uint64_t pattern(unsigned int r, unsigned int i, unsigned int w)
{
	return 0x5247565400000000ULL | (uint64_t)r << 24 | (uint64_t)i << 12 | w;
}

static int group_of(const char *uuid)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

static uint64_t region_offset(struct dev *d, unsigned int index, uint64_t *size)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &info))
		die("VFIO_DEVICE_GET_REGION_INFO");
	if (size)
		*size = info.size;
	return info.offset;
}

/* The VFIO group/container dance QEMU does for vfio-pci,sysfsdev=... */
static void open_dev(struct dev *d, const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];

	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0)
		die("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(uuid));
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0)
		die(path);
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("VFIO_GROUP_GET_STATUS (viable)");
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (d->device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	d->bar0 = region_offset(d, VFIO_PCI_BAR0_REGION_INDEX, NULL);
	d->bar2 = region_offset(d, VFIO_PCI_BAR2_REGION_INDEX, &d->bar2_size);
}

static void rw(struct dev *d, uint64_t off, void *buf, size_t len, int write)
{
	ssize_t n = write ? pwrite(d->device, buf, len, off) : pread(d->device, buf, len, off);

	if (n != (ssize_t)len) {
		fprintf(stderr, "gttwalk: %s of %zu bytes at %#" PRIx64 ": %s\n",
			write ? "write" : "read", len, off, n < 0 ? strerror(errno) : "short");
		exit(2);
	}
}

static uint64_t mmio_read(struct dev *d, uint64_t reg, size_t len)
{
	uint64_t v = 0;

	rw(d, d->bar0 + reg, &v, len, 0);
	return v;
}

static void ggtt_write(struct dev *d, uint64_t index, uint64_t pte, int halves)
{
	uint64_t off = d->bar0 + RGVT_GGTT_OFFSET + index * RGVT_GGTT_ENTRY_SIZE;
	uint32_t lo = (uint32_t)pte, hi = (uint32_t)(pte >> 32);

	if (halves) {
		rw(d, off, &lo, 4, 1);
		rw(d, off + 4, &hi, 4, 1);
	} else {
		rw(d, off, &pte, 8, 1);
	}
}

static uint64_t ggtt_read(struct dev *d, uint64_t index)
{
	return mmio_read(d, RGVT_GGTT_OFFSET + index * RGVT_GGTT_ENTRY_SIZE, 8);
}

static void dma(struct dev *d, int map, void *vaddr, uint64_t iova, uint64_t size)
{
	if (map) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
		};
		if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &m))
			die("VFIO_IOMMU_MAP_DMA");
	} else {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = iova, .size = size,
		};
		if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &u))
			die("VFIO_IOMMU_UNMAP_DMA");
	}
}

/* Writes round r's pattern to GM pages [0, n) through the aperture. */
static void write_pages(struct dev *d, uint64_t low_base, unsigned int r, unsigned int n)
{
	static uint64_t page[PAGE / 8];

	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int w = 0; w < PAGE / 8; w++)
			page[w] = pattern(r, i, w);
		rw(d, d->bar2 + low_base + i * PAGE, page, PAGE, 1);
	}
}

/* Whether guest page g holds round r's pattern of GM page i. */
static int holds(const uint64_t *mem, unsigned int g, unsigned int r, unsigned int i)
{
	for (unsigned int w = 0; w < PAGE / 8; w++)
		if (mem[g * PAGE / 8 + w] != pattern(r, i, w))
			return 0;
	return 1;
}

/* Whether GM page i reads back as zeroes through the aperture (scratch). */
static int reads_zero(struct dev *d, uint64_t low_base, unsigned int i)
{
	static uint64_t page[PAGE / 8];

	rw(d, d->bar2 + low_base + i * PAGE, page, PAGE, 0);
	for (unsigned int w = 0; w < PAGE / 8; w++)
		if (page[w])
			return 0;
	return 1;
}

static void run(char **argv)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s exited with status %d", argv[0], status);
}

int main(int argc, char **argv)
{
	struct dev d;
	uint64_t *mem, magic, low_base, low_size, high_base, high_size, first;
	unsigned int i, k, halves = 0, ok = 0, gone = 0, kept = 0;
	char tag[9] = { 0 };

	if (argc < 2 || (argc > 2 && strcmp(argv[2], "--"))) {
		fprintf(stderr, "usage: %s UUID [-- CMD [ARGS...]]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	open_dev(&d, argv[1]);
	printf("opened %s through VFIO: BAR0 at fd offset %#" PRIx64 ", BAR2 (aperture, %" PRIu64 " MB) at %#" PRIx64 "\n",
	       argv[1], d.bar0, d.bar2_size >> 20, d.bar2);

	/* The PV info page, as i915's intel_vgt_detect() reads it. */
	magic = mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_MAGIC, 8);
	memcpy(tag, &magic, 8);
	low_base = mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_MAPPABLE_BASE, 4);
	low_size = mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_MAPPABLE_SIZE, 4);
	high_base = mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_NONMAPPABLE_BASE, 4);
	high_size = mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_NONMAPPABLE_SIZE, 4);
	printf("PV info page (BAR0 %#x): magic %#" PRIx64 " (\"%s\"), version %u.%u, vgt_id %u, fences %u\n",
	       VGT_PVINFO_PAGE, magic, tag,
	       (unsigned int)mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_VERSION_MAJOR, 2),
	       (unsigned int)mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_VERSION_MINOR, 2),
	       (unsigned int)mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_VGT_ID, 4),
	       (unsigned int)mmio_read(&d, VGT_PVINFO_PAGE + VGT_IF_FENCE_NUM, 4));
	printf("  low GM  (mappable):     %#010" PRIx64 " + %" PRIu64 " MB\n", low_base, low_size >> 20);
	printf("  high GM (non-mappable): %#010" PRIx64 " + %" PRIu64 " MB\n", high_base, high_size >> 20);
	if (magic != VGT_MAGIC)
		fail("PV info magic %#" PRIx64 ", want %#llx", magic, VGT_MAGIC);
	if (low_size < (NPAGES + 1) * PAGE) {
		fprintf(stderr, "gttwalk: low GM too small\n");
		return 2;
	}

	/* Guest memory: NMAPS DMA mappings, so part of it can be unmapped later. */
	mem = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memset(mem, 0, NPAGES * PAGE);
	for (k = 0; k < NMAPS; k++)
		dma(&d, 1, (char *)mem + k * CHUNK * PAGE, GUEST_BASE + k * CHUNK * PAGE, CHUNK * PAGE);
	printf("guest memory: %d pages at guest physical %#llx (%d DMA mappings of %d pages)\n",
	       NPAGES, GUEST_BASE, NMAPS, CHUNK);

	/* GGTT entries: GM page i -> guest page guest_page(i); every 4th in halves. */
	first = low_base / PAGE;
	for (i = 0; i < NPAGES; i++) {
		int half = i % 4 == 1;

		ggtt_write(&d, first + i, (GUEST_BASE + guest_page(i) * PAGE) | PTE_PRESENT, half);
		halves += half;
	}
	/* One more entry, on a guest frame the VMM never mapped. */
	ggtt_write(&d, first + NPAGES, GUEST_HOLE | PTE_PRESENT, 0);
	printf("GGTT: wrote %d entries through BAR0 (%u of them as two 4-byte halves), GM page %d -> unmapped frame %#llx\n",
	       NPAGES + 1, halves, NPAGES, GUEST_HOLE);
	for (i = 0; i < 3; i++)
		printf("  entry %#" PRIx64 " (GM %#010" PRIx64 ") = %#018" PRIx64 " -> guest page %u\n",
		       first + i, (first + i) * PAGE, ggtt_read(&d, first + i), guest_page(i));
	printf("  ...\n");
	for (i = 0; i < NPAGES; i++)
		if (ggtt_read(&d, first + i) != ((GUEST_BASE + guest_page(i) * PAGE) | PTE_PRESENT))
			fail("entry %u reads back %#" PRIx64, i, ggtt_read(&d, first + i));

	/* A pattern through the aperture lands where each entry says. */
	write_pages(&d, low_base, 1, NPAGES + 1);
	for (i = 0; i < NPAGES; i++) {
		if (holds(mem, guest_page(i), 1, i))
			ok++;
		else
			fail("guest page %u does not hold GM page %u's data", guest_page(i), i);
	}
	printf("aperture: wrote %d pages through BAR2; %u pages verified in guest memory (GM page i -> guest page 7i+3 mod 64)\n",
	       NPAGES + 1, ok);
	if (reads_zero(&d, low_base, NPAGES))
		printf("  GM page %d (entry on the unmapped frame): scratch page, reads zeroes, the write went nowhere\n",
		       NPAGES);
	else
		fail("GM page %d does not read as scratch", NPAGES);

	/* The VMM takes the last quarter of guest memory away. */
	dma(&d, 0, NULL, GUEST_BASE + (NMAPS - 1) * CHUNK * PAGE, CHUNK * PAGE);
	write_pages(&d, low_base, 2, NPAGES);
	for (i = 0; i < NPAGES; i++) {
		unsigned int g = guest_page(i);

		if (g >= (NMAPS - 1) * CHUNK) {
			/* Unmapped: scratch; guest memory keeps round 1. */
			if (reads_zero(&d, low_base, i) && holds(mem, g, 1, i))
				gone++;
			else
				fail("GM page %u still reaches unmapped guest page %u", i, g);
		} else if (holds(mem, g, 2, i)) {
			kept++;
		} else {
			fail("GM page %u lost guest page %u after the unmap", i, g);
		}
	}
	printf("unmap: guest pages %d-%d unmapped (VFIO_IOMMU_UNMAP_DMA); %u GM pages fell back to scratch, %u still verified\n",
	       (NMAPS - 1) * CHUNK, NPAGES - 1, gone, kept);
	printf("  the guest's entries keep their values: entry %#" PRIx64 " reads %#018" PRIx64 "\n",
	       first, ggtt_read(&d, first));

	if (argc > 3)
		run(argv + 3);
	close(d.device);
	close(d.group);
	close(d.container);
	printf("%s\n", failures ? "gttwalk: FAILED" : "gttwalk: all checks passed");
	return failures ? 1 : 0;
}
