// SPDX-License-Identifier: GPL-2.0
/*
 * l2bars: runs inside the second-level guest of tools/run-nested.sh, on the
 * vGPU that QEMU passes through, as a guest driver would use it.
 *
 *   l2bars DEVDIR       DEVDIR = /sys/bus/pci/devices/0000:00:SS.F
 *
 * Enables the device, mmaps BAR0 (resource0) and BAR2 (resource2),
 * reads the PV info page at 0x78000 for the vGPU's mappable GM range, points
 * GGTT entries (BAR0 + 8 MB + index * 8) of that range at pages of its own
 * locked memory (physical addresses from /proc/self/pagemap), writes
 * through BAR2 at those graphics addresses and checks that the data landed
 * in its own pages; then writes its pages and reads them back through BAR2.
 * The entries it changed are restored at the end. Every access goes
 * through QEMU to rgvt in the first-level guest.
 *
 * Exit status: 0 if every check passed, 1 if one failed, 2 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rgvt.h"

#define PAGE		4096UL
#define NPAGES		8		/* GM pages mapped onto our own pages */
#define WORDS		9		/* 8-byte words checked per page */
#define PTE_PRESENT	((uint64_t)1)
#define PTE_ADDR_MASK	((uint64_t)0x0000007ffffff000)	/* gen8 GGTT PTE bits 12..38 */

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("l2bars: FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

static void die(const char *what)
{
	printf("l2bars: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void write_file(const char *dir, const char *name, const char *val)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		die(path);
	close(fd);
}

static volatile uint8_t *map_bar(const char *dir, int bar, size_t *size)
{
	char path[512];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%d", dir, bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st))
		die(path);
	*size = st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die(path);
	close(fd);
	return p;
}

static uint64_t rd64(volatile uint8_t *b, uint64_t off)
{
	return *(volatile uint64_t *)(b + off);
}

static uint32_t rd32(volatile uint8_t *b, uint64_t off)
{
	return *(volatile uint32_t *)(b + off);
}

static void wr64(volatile uint8_t *b, uint64_t off, uint64_t v)
{
	*(volatile uint64_t *)(b + off) = v;
}

/* The physical address of the (locked, present) page at p. */
static uint64_t phys_of(int pagemap, void *p)
{
	uint64_t e;

	if (pread(pagemap, &e, 8, (uintptr_t)p / PAGE * 8) != 8)
		die("pagemap");
	if (!(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1)))
		return 0;
	return (e & ((1ULL << 55) - 1)) * PAGE;
}

/* The word w of page i in round r: distinct per page, word and round. */
static uint64_t pattern(unsigned int r, unsigned int i, unsigned int w)
{
	return 0x7267767400000000ULL ^ ((uint64_t)r << 28) ^ ((uint64_t)i << 16) ^ (w * 0x1111ULL);
}

static uint64_t word_off(unsigned int w)
{
	/* Spread over the page; the last word is the page's last 8 bytes. */
	return w + 1 < WORDS ? w * (PAGE / (WORDS - 1)) : PAGE - 8;
}

static int check(const char *dir)
{
	size_t bar0_size, bar2_size;
	volatile uint8_t *bar0, *bar2;
	uint64_t saved[NPAGES], phys[NPAGES], base, size, magic;
	uint8_t *mem;
	unsigned int i, w;
	int pagemap;

	write_file(dir, "enable", "1");
	bar0 = map_bar(dir, 0, &bar0_size);
	bar2 = map_bar(dir, 2, &bar2_size);
	printf("l2bars: BAR0 %zu MB, BAR2 %zu MB\n", bar0_size >> 20, bar2_size >> 20);
	if (bar0_size < RGVT_BAR0_SIZE) {
		fail("BAR0 is %zu bytes, want %llu", bar0_size, RGVT_BAR0_SIZE);
		return 1;
	}

	magic = rd64(bar0, VGT_PVINFO_PAGE + VGT_IF_MAGIC);
	if (magic != VGT_MAGIC) {
		fail("PV magic %#" PRIx64 ", want %#llx", magic, VGT_MAGIC);
		return 1;
	}
	base = rd32(bar0, VGT_PVINFO_PAGE + VGT_IF_MAPPABLE_BASE);
	size = rd32(bar0, VGT_PVINFO_PAGE + VGT_IF_MAPPABLE_SIZE);
	printf("l2bars: PV magic ok, version %u.%u, mappable GM %#" PRIx64 " + %" PRIu64 " MB\n",
	       *(volatile uint16_t *)(bar0 + VGT_PVINFO_PAGE + VGT_IF_VERSION_MAJOR),
	       *(volatile uint16_t *)(bar0 + VGT_PVINFO_PAGE + VGT_IF_VERSION_MINOR),
	       base, size >> 20);
	if (size < NPAGES * PAGE || base + size > bar2_size) {
		fail("mappable range %#" PRIx64 "+%#" PRIx64 " does not fit BAR2 (%zu)",
		     base, size, bar2_size);
		return 1;
	}

	mem = aligned_alloc(PAGE, NPAGES * PAGE);
	if (!mem || mlock(mem, NPAGES * PAGE))
		die("locked memory");
	memset(mem, 0, NPAGES * PAGE);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		die("/proc/self/pagemap");
	for (i = 0; i < NPAGES; i++) {
		phys[i] = phys_of(pagemap, mem + i * PAGE);
		if (!phys[i] || phys[i] & ~PTE_ADDR_MASK) {
			fail("page %u: no usable physical address (%#" PRIx64 ")", i, phys[i]);
			return 1;
		}
	}
	close(pagemap);

	/* GM page i (from the end of the mappable range: i915 used its start) -> our page i. */
	base += size - NPAGES * PAGE;
	for (i = 0; i < NPAGES; i++) {
		uint64_t entry = RGVT_GGTT_OFFSET + ((base >> 12) + i) * RGVT_GGTT_ENTRY_SIZE;

		saved[i] = rd64(bar0, entry);
		wr64(bar0, entry, phys[i] | PTE_PRESENT);
		if (rd64(bar0, entry) != (phys[i] | PTE_PRESENT))
			fail("GGTT entry %#" PRIx64 " reads %#" PRIx64 ", wrote %#" PRIx64,
			     (base >> 12) + i, rd64(bar0, entry), (uint64_t)(phys[i] | PTE_PRESENT));
	}

	/* Aperture -> our memory. */
	for (i = 0; i < NPAGES; i++)
		for (w = 0; w < WORDS; w++)
			wr64(bar2, base + i * PAGE + word_off(w), pattern(1, i, w));
	for (i = 0; i < NPAGES; i++)
		for (w = 0; w < WORDS; w++) {
			uint64_t got = *(volatile uint64_t *)(mem + i * PAGE + word_off(w));

			if (got != pattern(1, i, w))
				fail("page %u word %#" PRIx64 ": memory has %#" PRIx64 ", BAR2 wrote %#" PRIx64,
				     i, word_off(w), got, pattern(1, i, w));
		}

	/* Our memory -> aperture. */
	for (i = 0; i < NPAGES; i++)
		for (w = 0; w < WORDS; w++)
			*(volatile uint64_t *)(mem + i * PAGE + word_off(w)) = pattern(2, i, w);
	for (i = 0; i < NPAGES; i++)
		for (w = 0; w < WORDS; w++) {
			uint64_t got = rd64(bar2, base + i * PAGE + word_off(w));

			if (got != pattern(2, i, w))
				fail("GM %#" PRIx64 ": BAR2 reads %#" PRIx64 ", memory has %#" PRIx64,
				     base + i * PAGE + word_off(w), got, pattern(2, i, w));
		}

	for (i = 0; i < NPAGES; i++)
		wr64(bar0, RGVT_GGTT_OFFSET + ((base >> 12) + i) * RGVT_GGTT_ENTRY_SIZE, saved[i]);
	printf("l2bars: %u GM pages at %#" PRIx64 " -> own pages, %u words each way: %s\n",
	       NPAGES, base, NPAGES * WORDS, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: l2bars /sys/bus/pci/devices/DDDD:BB:SS.F\n");
		return 2;
	}
	return check(argv[1]);
}
