// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded random-traffic soak of one rgvt vGPU through VFIO, driven as a
 * hostile VMM would drive it: SOAK_THREADS threads on one open device do
 * region reads and writes of every size and offset (configuration space,
 * BAR0 registers and the PV info page, GGTT entries and halves naming guest
 * frames inside and outside the mapped guest memory, BAR2 inside, across and
 * outside the vGPU's low GM), every device ioctl with random arguments
 * (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS with real eventfds,
 * RESET), DMA unmap and remap of chunks of guest memory, ELSP submissions
 * of random command streams and random context images to the engines, and
 * thread 0 now and then closes and reopens the device fd or resets the
 * device alone (a writer-preferring rwlock: the others hold it shared for
 * every operation, so the fd they use stays valid).
 *
 * The engines' traffic lives in memory of its own (ENG_IOVA, mapped once),
 * reached through a range of low GM that the random GGTT traffic leaves
 * alone (ENG_GM_FIRST) and per-engine 4-level PPGTTs whose entries name only
 * that memory, frames outside guest memory, or nothing: each thread drives
 * one engine (thread 0 also vecs0), writing a context image (mostly as
 * i915 does, sometimes with fields fuzzed), a ring and PPGTT batches of
 * random commands (stores, qword stores, GGTT stores, LRIs to allowed and
 * forbidden registers, SRM, PIPE_CONTROL and MI_FLUSH_DW post-syncs,
 * chained, second-level, self-looping and stray batch starts, satisfied
 * and (rarely) unreleased semaphores, small blits, unknown or malformed
 * headers), then ELSP (four dwords; the descriptor valid, or junk). Every
 * value a command writes is made of the bytes W1 and W2, so even a store
 * that some entry sent into the soak's own pages keeps their invariant.
 *
 *   RGVT_SOAK_SEED  the seed (default SOAK_DEFAULT_SEED; "random" picks one
 *                   and prints it)
 *   RGVT_SOAK_OPS   operations in all (default SOAK_DEFAULT_OPS)
 *   RGVT_SOAK_ELSP  ELSP submissions per 1000 operations (default
 *                   SOAK_DEFAULT_ELSP, at most 200; 0: none)
 *
 * The seed fixes every thread's sequence of operations; how the threads
 * interleave is up to the scheduler, so the invariants below hold for every
 * interleaving, and the errno table may differ by a few between runs.
 *
 * Invariants, checked as it goes:
 *  - every operation succeeds or fails with an errno of its allowed set
 *    (allowed[] below: EINVAL for out-of-range or malformed requests, ENOTTY
 *    for SET_IRQS actions the index does not support, EBADF for a SET_IRQS
 *    descriptor that is not open, ERANGE for MSI enabled with no vector and
 *    EBUSY for a second INTx unmask eventfd (both as vfio-pci answers),
 *    EFAULT only for the bad pointers the test passes on purpose; DMA map
 *    and unmap, resets and reopens must succeed: the test tracks which
 *    chunks are mapped, so EEXIST or ENOENT would be a bug);
 *  - BAR2 reads return only bytes the guest memory can hold (a page's tag,
 *    a byte the test writes through BAR2) or 0 (the scratch page);
 *  - after each exclusive reset the device works: a GGTT entry reads back
 *    and a BAR2 write lands in the guest page it names and reads back, and
 *    a valid workload on rcs0 (a store through the PPGTT) completes with a
 *    context-status event and its value lands where the PTE says;
 *  - after each close, pins_now is 0.
 * And at the end: pins_now = pins_total - unpins_total, pins_now is 0 once
 * the device is closed, guest page p holds only its tag and the bytes
 * written through BAR2, and a canary buffer that is never mapped for DMA is
 * unchanged. The module unloads afterwards (RGVT_TEST_MAIN).
 *
 * Prints the seed, operations, operations per second, and per operation the
 * count of successes and of each errno.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-V5_8"
#define PAGE		4096ULL
#define GUEST_PAGES	64
#define CHUNK_PAGES	8
#define NCHUNKS		(GUEST_PAGES / CHUNK_PAGES)
#define GUEST_SIZE	(GUEST_PAGES * PAGE)
#define CANARY_SIZE	(16 * PAGE)
#define GUEST_IOVA	0x10000000ULL
#define GUEST_GFN	(GUEST_IOVA / PAGE)
#define UNMAPPED_GFN	(GUEST_GFN + 0x10000)
/* The low-GM pages the random traffic uses (more would rarely hit a mapped entry). */
#define WINDOW		128

#define CFG		VFIO_PCI_CONFIG_REGION_INDEX
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX
#define BAR2		VFIO_PCI_BAR2_REGION_INDEX

#define PTE(gfn)	(((__u64)(gfn) << 12) | 1ULL)

/* The engines' traffic: memory of its own, a low-GM range, PPGTT addresses. */
#define NENG			4
#define ENG_IOVA		0x14000000ULL
#define ENG_PAGES_EACH		32
#define ENG_SIZE		(NENG * ENG_PAGES_EACH * PAGE)
#define ENG_GM_FIRST		1024	/* low-GM page of engine 0's range */
#define ENG_GM_EACH		16
#define ENG_GM_PAGES		(NENG * ENG_GM_EACH)
#define ENG_VA			0x0000512345600000ULL
#define ENG_RING_SIZE		(4 * PAGE)
/* An engine's pages (EP_*) and its low-GM range: HWSP, ring, context, batches. */
enum {
	EP_HWSP = 0, EP_RING = 1, EP_CTX = 5, EP_PML4 = 7, EP_PDP = 8, EP_PD = 9, EP_PT = 10,
	EP_BATCH = 12, EP_NBATCH = 8, EP_TARGET = 20, EP_NTARGET = 8,
};
enum { EG_HWSP = 0, EG_RING = 1, EG_CTX = 5, EG_BATCH = 7, EG_TARGET = 15 };
/* The check workload's dword (target page 7, never a random store target). */
#define CHECK_TARGET		7
#define SEMA_VALUE		0x5a5ac3c3

static const __u32 eng_base[NENG] = { 0x2000, 0x22000, 0x12000, 0x1a000 };

#define SOAK_THREADS		3
#define SOAK_DEFAULT_SEED	0x72677674736f616bULL	/* "rgvtsoak" */
#define SOAK_DEFAULT_OPS	100000
#define SOAK_DEFAULT_ELSP	10
#define BUF_SIZE		(64 * 1024)
#define NEFD			4
#define MAX_ERRNO		134

/* The byte guest page p holds until the test writes through BAR2. */
static unsigned char tag(unsigned int p)
{
	return 0x10 + p;
}

/* The bytes BAR2 writes carry. */
#define W1	0x5a
#define W2	0xc3

enum op {
	OP_CFG_RD, OP_CFG_WR, OP_MMIO_RD, OP_MMIO_WR, OP_PV_RD, OP_PV_WR,
	OP_GGTT_RD, OP_GGTT_WR, OP_GGTT_HALF, OP_BAR2_RD, OP_BAR2_WR, OP_BAD_PTR,
	OP_GET_INFO, OP_REGION_INFO, OP_IRQ_INFO, OP_SET_IRQS, OP_RESET,
	OP_DMA_UNMAP, OP_DMA_MAP, OP_X_RESET, OP_REOPEN, OP_ELSP, NOPS
};

static const char *const op_name[NOPS] = {
	"cfg_read", "cfg_write", "mmio_read", "mmio_write", "pv_read", "pv_write",
	"ggtt_read", "ggtt_write", "ggtt_half", "bar2_read", "bar2_write", "bad_pointer",
	"get_info", "region_info", "irq_info", "set_irqs", "reset",
	"dma_unmap", "dma_map", "excl_reset", "reopen", "elsp",
};

#define E(x)	(1ULL << (x))
/* The errnos each operation may return (0, success, is always allowed). */
static const unsigned long long allowed[NOPS] = {
	[OP_CFG_RD] = E(EINVAL), [OP_CFG_WR] = E(EINVAL),
	[OP_MMIO_RD] = E(EINVAL), [OP_MMIO_WR] = E(EINVAL),
	[OP_PV_RD] = E(EINVAL), [OP_PV_WR] = E(EINVAL),
	[OP_GGTT_RD] = E(EINVAL), [OP_GGTT_WR] = E(EINVAL), [OP_GGTT_HALF] = E(EINVAL),
	[OP_BAR2_RD] = E(EINVAL), [OP_BAR2_WR] = E(EINVAL),
	[OP_BAD_PTR] = E(EFAULT) | E(EINVAL),
	[OP_GET_INFO] = E(EINVAL),
	[OP_REGION_INFO] = E(EINVAL),
	[OP_IRQ_INFO] = E(EINVAL),
	[OP_SET_IRQS] = E(EINVAL) | E(ENOTTY) | E(EBADF) | E(ERANGE) | E(EBUSY),
	[OP_RESET] = 0, [OP_DMA_UNMAP] = 0, [OP_DMA_MAP] = 0,
	[OP_X_RESET] = 0, [OP_REOPEN] = 0, [OP_ELSP] = 0,
};

struct soak {
	struct rgvt_vfio vfio;
	char uuid[RGVT_UUID_LEN + 1];
	int group_fd;
	long id;
	unsigned long long low_base, low_size, high_base, high_size;
	unsigned char *mem, *canary, *bad;	/* bad: a PROT_NONE page */
	unsigned char *emem;			/* the engines' memory, at ENG_IOVA */
	unsigned int reset_gen;			/* resets and reopens so far */
	unsigned int eng_gen[NENG];		/* reset_gen when engine e was set up */
	__u32 eng_tail[NENG];
	unsigned long long engine_failures;	/* the check workload did not run */
	unsigned long long engine_checks;	/* check workloads that ran */
	unsigned long long elsp_submits, elsp_junk_desc;
	unsigned int elsp_permille;		/* RGVT_SOAK_ELSP */
	int efd[NEFD];
	pthread_rwlock_t lock;			/* shared: any op; exclusive: close, reset */
	pthread_mutex_t dma_lock;
	bool mapped[NCHUNKS];
	unsigned long long count[NOPS][MAX_ERRNO + 1];
	unsigned long long unexpected;
	unsigned long long bad_bytes;		/* BAR2 reads of bytes never written */
	unsigned long long reset_failures, close_failures;
	unsigned long long ops_per_thread;
	__u64 seed;
	bool error_noted;
	char first_error[256];
};

struct worker {
	struct soak *s;
	unsigned int idx;
	__u64 rng;
	unsigned char *buf;
};

static __u64 rnd(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 below(struct worker *w, __u64 n)
{
	return n ? rnd(w) % n : 0;
}

static void note_error(struct soak *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note_error(struct soak *s, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&s->error_noted, true, __ATOMIC_ACQ_REL))
		return;
	va_start(ap, fmt);
	vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
	va_end(ap);
}

/* Count the result (a byte count, 0, or -errno) of op; false if not allowed. */
static bool account(struct soak *s, enum op op, long ret)
{
	int err = ret < 0 ? (int)-ret : 0;

	if (err > MAX_ERRNO)
		err = MAX_ERRNO;
	__atomic_fetch_add(&s->count[op][err], 1, __ATOMIC_RELAXED);
	if (err && !(allowed[op] & E(err))) {
		__atomic_fetch_add(&s->unexpected, 1, __ATOMIC_RELAXED);
		note_error(s, "%s returned %s", op_name[op], strerror(err));
		return false;
	}
	return true;
}

static long ioctl_ret(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

/* An access size: 1/2/4/8 mostly, odd or large now and then. */
static size_t rnd_size(struct worker *w, size_t large)
{
	static const size_t small[] = { 1, 2, 4, 8, 4, 8, 3, 5, 6, 7, 12, 16 };
	__u64 r = below(w, 16);

	if (r < 12)
		return small[r];
	if (r < 14)
		return 1 + below(w, 300);
	return 1 + below(w, large);
}

static bool byte_ok(unsigned char b)
{
	return !b || b == W1 || b == W2 || (b >= tag(0) && b < tag(GUEST_PAGES));
}

static void fill_w(struct worker *w, size_t len)
{
	unsigned char v = rnd(w) & 1 ? W1 : W2;
	size_t i;

	for (i = 0; i < len; i++)
		w->buf[i] = (i & 64) ? v : (v ^ W1 ^ W2);
}

static __u64 ggtt_off(__u64 index)
{
	return RGVT_GGTT_OFFSET + index * RGVT_GGTT_ENTRY_SIZE;
}

/*
 * The engines' low-GM range is theirs: an index that falls in it moves past
 * it (so the engines write only their own memory and the soak's pages keep
 * their invariant).
 */
static __u64 avoid_engines(struct soak *s, __u64 index)
{
	__u64 first = s->low_base / PAGE + ENG_GM_FIRST;

	return index >= first && index < first + ENG_GM_PAGES ? index + ENG_GM_PAGES : index;
}

/* A random GGTT index: mostly the window of low GM, else anywhere. */
static __u64 rnd_index(struct worker *w)
{
	struct soak *s = w->s;
	__u64 r = below(w, 10);

	if (r < 7)
		return s->low_base / PAGE + below(w, WINDOW);
	if (r == 7)
		return avoid_engines(s, s->low_base / PAGE + below(w, s->low_size / PAGE));
	if (r == 8 && s->high_size)
		return s->high_base / PAGE + below(w, s->high_size / PAGE);
	return avoid_engines(s, below(w, (RGVT_BAR0_SIZE - RGVT_GGTT_OFFSET) / 8 + 4));
}

/* A random entry: mapped guest frames mostly, unmapped ones, junk. */
static __u64 rnd_pte(struct worker *w)
{
	__u64 r = below(w, 10);

	if (r < 6)
		return PTE(GUEST_GFN + below(w, GUEST_PAGES));
	if (r == 6)
		return PTE(UNMAPPED_GFN + below(w, 1024));
	if (r == 7)
		return PTE(GUEST_GFN + below(w, GUEST_PAGES)) & ~1ULL;
	if (r == 8)
		return PTE(below(w, 1ULL << 34));
	return rnd(w);
}

/* A region write of len random bytes, or a read of len bytes. */
static ssize_t rnd_rw(struct worker *w, int dev, unsigned int index, __u64 off,
		      size_t len, bool wr)
{
	if (!wr)
		return rgvt_region_read(dev, index, off, w->buf, len);
	for (size_t i = 0; i < len; i++)
		w->buf[i] = rnd(w);
	return rgvt_region_write(dev, index, off, w->buf, len);
}

static void op_region(struct worker *w, unsigned int kind)
{
	struct soak *s = w->s;
	int dev = s->vfio.device;
	__u64 off, end;
	size_t len;
	ssize_t ret;
	enum op op;
	bool wr = rnd(w) & 1;

	switch (kind) {
	case 0:		/* configuration space, a little past its end now and then */
		op = wr ? OP_CFG_WR : OP_CFG_RD;
		len = rnd_size(w, 512);
		off = below(w, 20) ? below(w, 256) : below(w, 8192);
		/* Writes keep the BARs and the command register as they are. */
		if (wr && off < 0x40 && !below(w, 4))
			off = 0x40 + below(w, 0xc0);
		ret = rnd_rw(w, dev, CFG, off, len, wr);
		break;
	case 1:		/* BAR0 registers */
		op = wr ? OP_MMIO_WR : OP_MMIO_RD;
		len = rnd_size(w, 64);
		off = below(w, 50) ? below(w, 0x80000) & ~(below(w, 4) ? 3ULL : 0) :
				     RGVT_BAR0_SIZE - below(w, 16) + below(w, 32);
		ret = rnd_rw(w, dev, BAR0, off, len, wr);
		break;
	case 2:		/* the PV info page */
		op = wr ? OP_PV_WR : OP_PV_RD;
		len = rnd_size(w, 32);
		off = VGT_PVINFO_PAGE + (below(w, 0x1000) & ~(below(w, 3) ? 3ULL : 0));
		ret = rnd_rw(w, dev, BAR0, off, len, wr);
		break;
	case 3:		/* GGTT entries, whole */
		off = ggtt_off(rnd_index(w));
		if (wr) {
			__u64 v = rnd_pte(w);

			op = OP_GGTT_WR;
			ret = rgvt_region_write(dev, BAR0, off, &v, 8);
		} else {
			op = OP_GGTT_RD;
			len = below(w, 4) ? 8 : rnd_size(w, 64);
			ret = rgvt_region_read(dev, BAR0, off, w->buf, len);
		}
		break;
	case 4: {	/* GGTT halves, or odd pieces of an entry */
		__u64 v = rnd_pte(w);
		bool high = rnd(w) & 1;
		__u32 half = high ? v >> 32 : (__u32)v;

		op = OP_GGTT_HALF;
		off = ggtt_off(rnd_index(w));
		if (below(w, 8)) {
			ret = rgvt_region_write(dev, BAR0, off + (high ? 4 : 0), &half, 4);
		} else {
			len = rnd_size(w, 16);
			memcpy(w->buf, &v, 8);
			ret = rgvt_region_write(dev, BAR0, off + below(w, 8), w->buf, len);
		}
		break;
	}
	default:	/* BAR2: the window, across the end of low GM, outside */
		op = wr ? OP_BAR2_WR : OP_BAR2_RD;
		len = rnd_size(w, BUF_SIZE);
		end = s->low_base + s->low_size;
		switch (below(w, 8)) {
		case 0:
			off = end - below(w, 2 * len + 1);
			break;
		case 1:
			off = below(w, 2) ? end + below(w, 1ULL << 24) :
					    below(w, s->low_base + 1);
			break;
		default:
			off = s->low_base + below(w, WINDOW * PAGE);
			break;
		}
		if (wr) {
			fill_w(w, len);
			ret = rgvt_region_write(dev, BAR2, off, w->buf, len);
		} else {
			memset(w->buf, 0, len);
			ret = rgvt_region_read(dev, BAR2, off, w->buf, len);
			for (ssize_t i = 0; i < ret; i++) {
				if (byte_ok(w->buf[i]))
					continue;
				__atomic_fetch_add(&s->bad_bytes, 1, __ATOMIC_RELAXED);
				note_error(s, "BAR2 read at 0x%llx+%zd: byte 0x%02x never written",
					   (unsigned long long)off, i, w->buf[i]);
				break;
			}
		}
		break;
	}
	account(s, op, ret);
}

/* pread/pwrite/ioctls with a buffer the kernel cannot touch. */
static void op_bad_pointer(struct worker *w)
{
	struct soak *s = w->s;
	int dev = s->vfio.device;
	long ret;

	switch (below(w, 6)) {
	case 0:
		ret = rgvt_region_read(dev, CFG, 0, s->bad, 4);
		break;
	case 1:
		ret = rgvt_region_write(dev, BAR0, ggtt_off(s->low_base / PAGE), s->bad, 8);
		break;
	case 2:
		ret = rgvt_region_read(dev, BAR2, s->low_base, s->bad, 1 + below(w, PAGE));
		break;
	case 3:
		ret = ioctl_ret(dev, VFIO_DEVICE_GET_INFO, s->bad);
		break;
	case 4:
		ret = ioctl_ret(dev, VFIO_DEVICE_GET_REGION_INFO, s->bad);
		break;
	default:
		ret = ioctl_ret(dev, VFIO_DEVICE_SET_IRQS, s->bad);
		break;
	}
	account(s, OP_BAD_PTR, ret);
}

static __u32 rnd_argsz(struct worker *w, __u32 want)
{
	switch (below(w, 8)) {
	case 0:
		return below(w, want);
	case 1:
		return want + below(w, 256);
	default:
		return want;
	}
}

static void op_ioctl(struct worker *w)
{
	struct soak *s = w->s;
	int dev = s->vfio.device;
	long ret;

	memset(w->buf, 0, 4096);
	switch (below(w, 10)) {
	case 0: {
		struct vfio_device_info *i = (void *)w->buf;

		i->argsz = rnd_argsz(w, sizeof(*i));
		ret = ioctl_ret(dev, VFIO_DEVICE_GET_INFO, i);
		account(s, OP_GET_INFO, ret);
		break;
	}
	case 1:
	case 2: {
		struct vfio_region_info *r = (void *)w->buf;

		r->argsz = rnd_argsz(w, sizeof(*r));
		r->index = below(w, 4) ? below(w, 12) : (__u32)rnd(w);
		ret = ioctl_ret(dev, VFIO_DEVICE_GET_REGION_INFO, r);
		account(s, OP_REGION_INFO, ret);
		break;
	}
	case 3: {
		struct vfio_irq_info *i = (void *)w->buf;

		i->argsz = rnd_argsz(w, sizeof(*i));
		i->index = below(w, 4) ? below(w, 7) : (__u32)rnd(w);
		ret = ioctl_ret(dev, VFIO_DEVICE_GET_IRQ_INFO, i);
		account(s, OP_IRQ_INFO, ret);
		break;
	}
	case 9:
		if (!below(w, 20)) {
			account(s, OP_RESET, ioctl_ret(dev, VFIO_DEVICE_RESET, NULL));
			__atomic_fetch_add(&s->reset_gen, 1, __ATOMIC_ACQ_REL);
			break;
		}
		/* fall through */
	default: {
		static const __u32 data[] = {
			VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD,
		};
		static const __u32 action[] = {
			VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK,
			VFIO_IRQ_SET_ACTION_TRIGGER,
		};
		struct vfio_irq_set *set = (void *)w->buf;
		__s32 *fds = (__s32 *)set->data;
		__u32 n;

		set->flags = data[below(w, 3)] | action[below(w, 3)];
		if (!below(w, 16))
			set->flags = rnd(w);
		set->index = below(w, 8) ? below(w, 5) : below(w, 1000);
		set->start = below(w, 4) ? 0 : below(w, 4);
		set->count = below(w, 3) ? below(w, 3) : below(w, 8);
		if (!below(w, 32))
			set->count = rnd(w);
		n = set->count < 8 ? set->count : 8;
		for (__u32 i = 0; i < n; i++) {
			switch (below(w, 6)) {
			case 0:
				fds[i] = -1;
				break;
			case 1:
				fds[i] = below(w, 1000);
				break;
			default:
				fds[i] = s->efd[below(w, NEFD)];
				break;
			}
		}
		if (set->flags & VFIO_IRQ_SET_DATA_BOOL)
			for (__u32 i = 0; i < n; i++)
				((__u8 *)set->data)[i] = below(w, 2);
		set->argsz = rnd_argsz(w, sizeof(*set) + 4 * n);
		ret = ioctl_ret(dev, VFIO_DEVICE_SET_IRQS, set);
		account(s, OP_SET_IRQS, ret);
		break;
	}
	}
}

/* Unmap a mapped chunk of guest memory or map an unmapped one. */
static void op_dma(struct worker *w)
{
	struct soak *s = w->s;
	unsigned int c = below(w, NCHUNKS);
	__u64 iova = GUEST_IOVA + c * CHUNK_PAGES * PAGE;

	pthread_mutex_lock(&s->dma_lock);
	if (s->mapped[c]) {
		if (account(s, OP_DMA_UNMAP, rgvt_dma_unmap(&s->vfio, iova, CHUNK_PAGES * PAGE)))
			s->mapped[c] = false;
	} else {
		if (account(s, OP_DMA_MAP, rgvt_dma_map(&s->vfio, s->mem + c * CHUNK_PAGES * PAGE,
							iova, CHUNK_PAGES * PAGE)))
			s->mapped[c] = true;
	}
	pthread_mutex_unlock(&s->dma_lock);
}

/*
 * The sum over the engines of counter name in vgpu<id>/engines (indented
 * "name value" lines); ~0 if the file is not there.
 */
static unsigned long long engines_sum(struct soak *s, const char *name)
{
	char path[PATH_MAX], buf[8192], *line, *save = NULL, n[64];
	unsigned long long sum = 0, v;

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/engines", s->id), buf, sizeof(buf)) < 0)
		return ~0ULL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, " %63s %llu", n, &v) == 2 && !strcmp(n, name))
			sum += v;
	return sum;
}

static unsigned long long counter(struct soak *s, const char *name)
{
	unsigned long long v;

	return rgvt_counter(s->id, name, &v) ? ~0ULL : v;
}

/* ELSP traffic -------------------------------------------------------------- */

static __u32 *eng_page(struct soak *s, unsigned int e, unsigned int p)
{
	return (__u32 *)(s->emem + (e * ENG_PAGES_EACH + p) * PAGE);
}

static __u64 eng_gpa(unsigned int e, unsigned int p)
{
	return ENG_IOVA + (e * ENG_PAGES_EACH + p) * PAGE;
}

static __u64 eng_gm(struct soak *s, unsigned int e, unsigned int k)
{
	return s->low_base + (ENG_GM_FIRST + e * ENG_GM_EACH + k) * PAGE;
}

/* A PPGTT address of engine e's PT slot i (all four levels in use). */
static __u64 eng_va(unsigned int e, unsigned int i)
{
	return ENG_VA + ((__u64)e << 39) + i * PAGE;
}

static long mmio_wr(struct soak *s, __u32 off, __u32 v)
{
	return rgvt_region_write(s->vfio.device, BAR0, off, &v, 4);
}

/* The first failure of a series of region writes (a byte count or -errno). */
static void keep_err(long *ret, long r)
{
	if (*ret >= 0 && r < 0)
		*ret = r;
}

/* Engine e's low-GM entries: status page, ring, context, batches, target 0. */
static long eng_ggtt(struct soak *s, unsigned int e)
{
	static const unsigned char page_of[ENG_GM_EACH] = {
		EP_HWSP, EP_RING, EP_RING + 1, EP_RING + 2, EP_RING + 3, EP_CTX, EP_CTX + 1,
		EP_BATCH, EP_BATCH + 1, EP_BATCH + 2, EP_BATCH + 3, EP_BATCH + 4,
		EP_BATCH + 5, EP_BATCH + 6, EP_BATCH + 7, EP_TARGET,
	};
	long ret = 0;
	unsigned int k;

	for (k = 0; k < ENG_GM_EACH; k++) {
		__u64 pte = PTE(eng_gpa(e, page_of[k]) / PAGE);

		keep_err(&ret, rgvt_region_write(s->vfio.device, BAR0,
						 ggtt_off(eng_gm(s, e, k) / PAGE), &pte, 8));
	}
	return ret;
}

/* Engine e's PPGTT: PT slots 0-7 the batches, 8-15 the targets, the rest empty. */
static void eng_tables(struct soak *s, unsigned int e)
{
	__u64 va = eng_va(e, 0), *t;
	unsigned int i;

	memset(eng_page(s, e, EP_PML4), 0, 4 * PAGE);
	t = (__u64 *)eng_page(s, e, EP_PML4);
	t[(va >> 39) & 511] = eng_gpa(e, EP_PDP) | 3;
	t = (__u64 *)eng_page(s, e, EP_PDP);
	t[(va >> 30) & 511] = eng_gpa(e, EP_PD) | 3;
	t = (__u64 *)eng_page(s, e, EP_PD);
	t[(va >> 21) & 511] = eng_gpa(e, EP_PT) | 3;
	t = (__u64 *)eng_page(s, e, EP_PT);
	for (i = 0; i < EP_NBATCH + EP_NTARGET; i++)
		t[((va >> 12) & 511) + i] = eng_gpa(e, EP_BATCH + i) | 3;
}

/* What enable_execlists() and reset_csb_pointers() write. */
static long eng_regs(struct soak *s, unsigned int e)
{
	__u32 b = eng_base[e], *hwsp = eng_page(s, e, EP_HWSP);
	long ret = 0;

	__atomic_store_n(&hwsp[I915_HWS_CSB_WRITE_INDEX], CSB_ENTRIES - 1, __ATOMIC_RELEASE);
	keep_err(&ret, mmio_wr(s, b + RING_HWSTAM, ~0U));
	keep_err(&ret, mmio_wr(s, b + RING_MODE_GEN7, MASKED_ENABLE(GFX_RUN_LIST_ENABLE)));
	keep_err(&ret, mmio_wr(s, b + RING_MI_MODE, MASKED_DISABLE(STOP_RING)));
	keep_err(&ret, mmio_wr(s, b + RING_HWS_PGA, (__u32)eng_gm(s, e, EG_HWSP)));
	keep_err(&ret, mmio_wr(s, b + RING_CONTEXT_STATUS_PTR,
			       0xffffU << 16 | (CSB_ENTRIES - 1) << 8 | (CSB_ENTRIES - 1)));
	return ret;
}

/* Engine e from scratch (after a reset or reopen): entries, tables, registers. */
static long eng_setup(struct soak *s, unsigned int e)
{
	long ret = 0;

	keep_err(&ret, eng_ggtt(s, e));
	eng_tables(s, e);
	keep_err(&ret, eng_regs(s, e));
	s->eng_tail[e] = 0;
	s->eng_gen[e] = __atomic_load_n(&s->reset_gen, __ATOMIC_ACQUIRE);
	return ret;
}

/* A dword of the bytes W1 and W2 only: what every random store writes. */
static __u32 wval(struct worker *w)
{
	__u32 r = rnd(w), v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v |= (__u32)(r >> i & 1 ? W1 : W2) << (8 * i);
	return v;
}

/* A PPGTT address a command writes: a target dword mostly, else a hole or junk. */
static __u64 rnd_target(struct worker *w, unsigned int e)
{
	switch (below(w, 10)) {
	case 0:
		return eng_va(e, EP_NBATCH + EP_NTARGET + below(w, 64)) + below(w, 1024) * 4;
	case 1:
		return rnd(w) & 0x0000fffffffffffcULL;
	default:	/* target pages 0-6, never the semaphore dword */
		return eng_va(e, EP_NBATCH + below(w, CHECK_TARGET)) + 4 + below(w, 1023) * 4;
	}
}

/* A register for an LRI or SRM: harmless, forbidden, or anywhere but the engines'. */
static __u32 rnd_reg(struct worker *w)
{
	static const __u32 regs[] = {
		0x7000, 0x7004, 0x20c0, 0xe194, 0x2580, GEN6_GDRST, GEN8_MASTER_IRQ,
		GEN8_GT_IER(0), GEN8_GT_IMR(1), 0x2000 + RING_MI_MODE, 0x2000 + RING_MODE_GEN7,
		0x9120, 0x101000, 0x145000,
	};

	if (below(w, 4))
		return regs[below(w, ARRAY_SIZE(regs))];
	return 0x40000 + below(w, 0x40000) * 4;
}

/* Random commands for engine e into cs (at most max - 16 dwords); returns the count. */
static unsigned int gen_cmds(struct worker *w, unsigned int e, __u32 *cs, unsigned int max,
			     bool ring)
{
	unsigned int n = 0, ncmd = 1 + below(w, 16), i, k;
	__u64 a, b;

	for (i = 0; i < ncmd && n + 16 <= max; i++) {
		switch (below(w, 17)) {
		case 0: case 1: case 2:		/* store dword, PPGTT */
			a = rnd_target(w, e);
			cs[n++] = MI_STORE_DWORD_IMM_GEN4;
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			cs[n++] = wval(w);
			break;
		case 3:				/* store dword through the GGTT */
			a = below(w, 4) ? eng_gm(w->s, e, EG_TARGET) + 4 + below(w, 1023) * 4 :
					  (rnd(w) & 0xfffffffcULL);
			cs[n++] = MI_STORE_DWORD_IMM_GEN4 | MI_USE_GGTT;
			cs[n++] = (__u32)a;
			cs[n++] = 0;
			cs[n++] = wval(w);
			break;
		case 4:				/* store qword */
			a = rnd_target(w, e) & ~7ULL;
			cs[n++] = MI_STORE_QWORD_IMM_GEN8;
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			cs[n++] = wval(w);
			cs[n++] = wval(w);
			break;
		case 5:				/* LRI of 1-3 registers */
			k = 1 + below(w, 3);
			cs[n++] = MI_LOAD_REGISTER_IMM(k);
			while (k--) {
				cs[n++] = rnd_reg(w);
				cs[n++] = rnd(w);
			}
			break;
		case 6:				/* SRM into a target */
			a = rnd_target(w, e);
			cs[n++] = MI_STORE_REGISTER_MEM_GEN8;
			cs[n++] = rnd_reg(w);
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			break;
		case 7:				/* a batch: another, itself, or nowhere */
			switch (below(w, 8)) {
			case 0:
				a = rnd(w) & 0x0000fffffffffffcULL;
				break;
			case 1:
				a = ring ? 0 : eng_va(e, 0);	/* itself if at the start */
				break;
			default:
				a = eng_va(e, below(w, EP_NBATCH));
				break;
			}
			cs[n++] = MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT |
				  (below(w, 2) ? MI_BATCH_2ND_LEVEL : 0);
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			break;
		case 8:				/* semaphore: satisfied, or rarely never */
			a = eng_va(e, EP_NBATCH);
			cs[n++] = MI_SEMAPHORE_WAIT | MI_SEMAPHORE_POLL | MI_SEMAPHORE_SAD_EQ_SDD;
			cs[n++] = below(w, 256) ? SEMA_VALUE : SEMA_VALUE + 1;
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			break;
		case 9:				/* PIPE_CONTROL post-sync, PPGTT or GGTT */
			a = below(w, 2) ? rnd_target(w, e) & ~7ULL :
					  eng_gm(w->s, e, EG_TARGET) + 8 * below(w, 512);
			cs[n++] = GFX_OP_PIPE_CONTROL(6);
			cs[n++] = PIPE_CONTROL_QW_WRITE | PIPE_CONTROL_CS_STALL |
				  (a >> 32 ? 0 : PIPE_CONTROL_GLOBAL_GTT_IVB * below(w, 2));
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			cs[n++] = wval(w);
			cs[n++] = wval(w);
			break;
		case 10:			/* MI_FLUSH_DW post-sync */
			a = rnd_target(w, e);
			cs[n++] = (MI_FLUSH_DW | MI_FLUSH_DW_OP_STOREDW) + 1;
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			cs[n++] = wval(w);
			break;
		case 11:			/* a small blit between targets */
			a = eng_va(e, EP_NBATCH + 1 + below(w, 3));
			b = below(w, 8) ? eng_va(e, EP_NBATCH + 4 + below(w, 3)) :
					  rnd(w) & 0x0000fffffffff000ULL;
			cs[n++] = XY_SRC_COPY_BLT_CMD | BLT_WRITE_RGBA | (10 - 2);
			cs[n++] = BLT_DEPTH_32 | BLT_ROP_SRC_COPY | 256;
			cs[n++] = 0;
			cs[n++] = (1 + below(w, 8)) << 16 | (1 + below(w, 64));
			cs[n++] = (__u32)b;
			cs[n++] = b >> 32;
			cs[n++] = 0;
			cs[n++] = 256;
			cs[n++] = (__u32)a;
			cs[n++] = a >> 32;
			break;
		case 12:			/* an unknown or malformed header */
			switch (below(w, 4)) {
			case 0:
				cs[n++] = 7U << 29 | (rnd(w) & 0x1fffffff);
				break;
			case 1:
				cs[n++] = MI_INSTR(0x3f, below(w, 64));
				break;
			case 2:				/* a store with a wrong length */
				cs[n++] = MI_INSTR(0x20, below(w, 64));
				cs[n++] = 0;
				cs[n++] = 0;
				break;
			default:			/* some 2D command with junk after it */
				cs[n++] = 2U << 29 | (rnd(w) & 0x1fc0000f);
				cs[n++] = rnd(w);
				break;
			}
			break;
		case 13:
			cs[n++] = MI_ARB_CHECK;
			break;
		case 14:
			cs[n++] = MI_USER_INTERRUPT;
			break;
		default:
			cs[n++] = MI_NOOP;
			break;
		}
	}
	if (below(w, 16))
		cs[n++] = MI_BATCH_BUFFER_END;
	return n;
}

/* Ring dwords at engine e's tail (wrapping), privileged. */
static void ring_put(struct soak *s, unsigned int e, __u32 dw)
{
	__u32 *ring = eng_page(s, e, EP_RING);

	ring[s->eng_tail[e] / 4] = dw;
	s->eng_tail[e] = (s->eng_tail[e] + 4) % ENG_RING_SIZE;
}

/* The context image: valid (as i915 writes it), or with 1-3 fields fuzzed. */
static void eng_image(struct worker *w, unsigned int e, __u32 head, bool fuzz)
{
	struct soak *s = w->s;
	__u32 *regs = eng_page(s, e, EP_CTX + 1);
	unsigned int k;

	rgvt_lrc_init(regs, e == 0, eng_base[e], (__u32)eng_gm(s, e, EG_RING), ENG_RING_SIZE,
		      eng_gpa(e, EP_PML4));
	regs[CTX_RING_HEAD] = head;
	regs[CTX_RING_TAIL] = s->eng_tail[e];
	if (!fuzz)
		return;
	for (k = 1 + below(w, 3); k; k--) {
		static const int idx[] = {
			CTX_RING_HEAD, CTX_RING_TAIL, CTX_RING_START, CTX_RING_CTL, CTX_PDP0_LDW,
			CTX_PDP0_UDW, CTX_CONTEXT_CONTROL, 1, CTX_MI_MODE, 0,
		};
		int i = idx[below(w, ARRAY_SIZE(idx))];

		if (i == CTX_PDP0_LDW && below(w, 2))
			regs[i] = (__u32)eng_gpa(e, EP_TARGET + below(w, EP_NTARGET));
		else
			regs[i] = below(w, 2) ? rnd(w) : (__u32)rnd(w) & 0x3ffff;
	}
}

/* Fuzz one PPGTT entry of engine e, or put the tables back. */
static void eng_fuzz_tables(struct worker *w, unsigned int e)
{
	struct soak *s = w->s;
	__u64 *t;

	if (below(w, 2)) {
		eng_tables(s, e);
		return;
	}
	t = (__u64 *)eng_page(s, e, EP_PML4 + below(w, 4));
	switch (below(w, 4)) {
	case 0:
		t[below(w, 512)] = 0;
		break;
	case 1:
		t[below(w, 512)] = (UNMAPPED_GFN + below(w, 1024)) << 12 | 3;
		break;
	case 2:
		t[below(w, 512)] = eng_gpa(e, below(w, ENG_PAGES_EACH)) | 3;
		break;
	default:
		t[below(w, 512)] = (rnd(w) & 0x0000fffffffff000ULL) | (rnd(w) & 3);
		break;
	}
}

/*
 * One ELSP submission on the thread's engine: a batch of random commands
 * (or commands in the ring itself), the image, the tables, then ELSP.
 */
static void op_elsp(struct worker *w)
{
	struct soak *s = w->s;
	unsigned int e = w->idx == 0 && below(w, 2) ? 3 : w->idx % NENG;
	unsigned int bpage = below(w, EP_NBATCH), n, i;
	__u32 head = s->eng_tail[e], *batch = eng_page(s, e, EP_BATCH + bpage), hi, lo;
	__u32 elsp = eng_base[e] + RING_ELSP, ccid = 0x1000 | e;
	__u64 d0, d1 = 0;
	long ret = 0;

	if (s->eng_gen[e] != __atomic_load_n(&s->reset_gen, __ATOMIC_ACQUIRE)) {
		keep_err(&ret, eng_setup(s, e));
		head = 0;
	}
	__atomic_store_n(eng_page(s, e, EP_TARGET), SEMA_VALUE, __ATOMIC_RELEASE);
	n = gen_cmds(w, e, batch, PAGE / 4, false);
	if (!below(w, 16)) {
		/* Commands in the ring itself (privileged). */
		__u32 cmds[64];

		n = gen_cmds(w, e, cmds, 64, true);
		for (i = 0; i < n; i++)
			ring_put(s, e, cmds[i]);
	} else {
		bool ggtt = !below(w, 4);
		__u64 va = ggtt ? eng_gm(s, e, EG_BATCH + bpage) : eng_va(e, bpage);

		ring_put(s, e, MI_ARB_CHECK);
		ring_put(s, e, MI_BATCH_BUFFER_START_GEN8 | (ggtt ? 0 : MI_BATCH_PPGTT));
		ring_put(s, e, (__u32)va);
		ring_put(s, e, va >> 32);
	}
	if (s->eng_tail[e] & 7)
		ring_put(s, e, MI_NOOP);
	eng_image(w, e, head, !below(w, 4));
	if (!below(w, 4))
		eng_fuzz_tables(w, e);
	d0 = rgvt_ctx_desc((__u32)eng_gm(s, e, EG_CTX), ccid);
	switch (below(w, 16)) {
	case 0:
		d0 = rnd(w);
		__atomic_fetch_add(&s->elsp_junk_desc, 1, __ATOMIC_RELAXED);
		break;
	case 1:
		d1 = d0;	/* the same context in both elements */
		break;
	case 2:		/* an LRCA outside low GM */
		d0 = rgvt_ctx_desc((__u32)(s->low_base + s->low_size + below(w, 1024) * PAGE), ccid);
		break;
	default:
		break;
	}
	hi = d1 >> 32;
	lo = (__u32)d1;
	keep_err(&ret, mmio_wr(s, elsp, hi));
	keep_err(&ret, mmio_wr(s, elsp, lo));
	keep_err(&ret, mmio_wr(s, elsp, d0 >> 32));
	keep_err(&ret, mmio_wr(s, elsp, (__u32)d0));
	__atomic_fetch_add(&s->elsp_submits, 1, __ATOMIC_RELAXED);
	account(s, OP_ELSP, ret);
}

/*
 * After a reset, alone on the device: every engine set up again, and a
 * valid workload on rcs0 (a store of a fresh value through the PPGTT)
 * completes with a context-status event and lands in the page the PTE
 * names. The engine may still be cutting off older work for a moment.
 */
static bool engine_check(struct worker *w)
{
	struct soak *s = w->s;
	char path[PATH_MAX];
	__u32 *batch = eng_page(s, 0, EP_BATCH), *hwsp = eng_page(s, 0, EP_HWSP);
	__u32 *target = eng_page(s, 0, EP_TARGET + CHECK_TARGET), v = wval(w), wp0, head;
	__u64 va = eng_va(0, EP_NBATCH + CHECK_TARGET), d0;
	unsigned int e, i;
	long ret = 0;

	for (e = 0; e < NENG; e++)
		keep_err(&ret, eng_setup(s, e));
	if (ret < 0) {
		s->engine_failures++;
		note_error(s, "engine set-up after reset: %s", strerror(-ret));
		return false;
	}
	/* A module without engines (no vgpu<N>/engines in debugfs): nothing to check. */
	if (!rgvt_exists(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/engines", s->id)))
		return true;
	/* One failure says it; the next resets need not wait for it again. */
	if (s->engine_failures)
		return false;
	__atomic_store_n(target, 0, __ATOMIC_RELEASE);
	batch[0] = MI_STORE_DWORD_IMM_GEN4;
	batch[1] = (__u32)va;
	batch[2] = va >> 32;
	batch[3] = v;
	batch[4] = MI_BATCH_BUFFER_END;
	batch[5] = MI_NOOP;
	head = s->eng_tail[0];
	ring_put(s, 0, MI_ARB_CHECK);
	ring_put(s, 0, MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT);
	ring_put(s, 0, (__u32)eng_va(0, 0));
	ring_put(s, 0, eng_va(0, 0) >> 32);
	eng_image(w, 0, head, false);
	wp0 = __atomic_load_n(&hwsp[I915_HWS_CSB_WRITE_INDEX], __ATOMIC_ACQUIRE);
	d0 = rgvt_ctx_desc((__u32)eng_gm(s, 0, EG_CTX), 0x1000);
	mmio_wr(s, eng_base[0] + RING_ELSP, 0);
	mmio_wr(s, eng_base[0] + RING_ELSP, 0);
	mmio_wr(s, eng_base[0] + RING_ELSP, d0 >> 32);
	mmio_wr(s, eng_base[0] + RING_ELSP, (__u32)d0);
	for (i = 0; i < 500; i++) {
		if (__atomic_load_n(target, __ATOMIC_ACQUIRE) == v &&
		    __atomic_load_n(&hwsp[I915_HWS_CSB_WRITE_INDEX], __ATOMIC_ACQUIRE) != wp0) {
			s->engine_checks++;
			return true;
		}
		usleep(10 * 1000);
	}
	s->engine_failures++;
	note_error(s, "after reset: the store on rcs0 %s (target 0x%08x, want 0x%08x; CSB write pointer %u)",
		   *target == v ? "landed but no context-status event came" : "did not land",
		   *target, v, hwsp[I915_HWS_CSB_WRITE_INDEX]);
	return false;
}

/*
 * Alone on the device (lock held exclusive): reset it, then check it works:
 * the last low-GM page's entry names a mapped guest page, reads back, and a
 * BAR2 write lands there and reads back.
 */
static void op_exclusive_reset(struct worker *w)
{
	struct soak *s = w->s;
	int dev = s->vfio.device;
	__u64 k = s->low_size / PAGE - 1, idx = s->low_base / PAGE + k, pte, back = 0;
	unsigned int c, p, o;
	unsigned char data[8], got[8];

	if (!account(s, OP_X_RESET, ioctl_ret(dev, VFIO_DEVICE_RESET, NULL)))
		return;
	__atomic_fetch_add(&s->reset_gen, 1, __ATOMIC_ACQ_REL);
	for (c = 0; c < NCHUNKS && !s->mapped[c]; c++)
		;
	if (c == NCHUNKS) {
		if (!account(s, OP_DMA_MAP, rgvt_dma_map(&s->vfio, s->mem, GUEST_IOVA,
							 CHUNK_PAGES * PAGE)))
			return;
		s->mapped[c = 0] = true;
	}
	p = c * CHUNK_PAGES + below(w, CHUNK_PAGES);
	o = below(w, PAGE - 8);
	pte = PTE(GUEST_GFN + p);
	memset(data, rnd(w) & 1 ? W1 : W2, sizeof(data));
	data[3] = data[5] = W1 ^ W2 ^ data[0];
	if (rgvt_region_write(dev, BAR0, ggtt_off(idx), &pte, 8) != 8 ||
	    rgvt_region_read(dev, BAR0, ggtt_off(idx), &back, 8) != 8 || back != pte ||
	    rgvt_region_write(dev, BAR2, s->low_base + k * PAGE + o, data, 8) != 8 ||
	    rgvt_region_read(dev, BAR2, s->low_base + k * PAGE + o, got, 8) != 8 ||
	    memcmp(data, got, 8) || memcmp(data, s->mem + p * PAGE + o, 8)) {
		s->reset_failures++;
		note_error(s, "after reset: GGTT entry 0x%llx -> page %u did not round-trip (read 0x%llx)",
			   (unsigned long long)idx, p, (unsigned long long)back);
	}
	pte = 0;
	rgvt_region_write(dev, BAR0, ggtt_off(idx), &pte, 8);
	engine_check(w);
}

/* Alone on the device: close its fd (pins_now must drop to 0) and reopen it. */
static void op_reopen(struct worker *w)
{
	struct soak *s = w->s;
	unsigned long long pins;
	int fd;

	close(s->vfio.device);
	s->vfio.device = -1;
	pins = counter(s, "pins_now");
	if (pins) {
		s->close_failures++;
		note_error(s, "pins_now %llu after close", pins);
	}
	fd = ioctl(s->vfio.group, VFIO_GROUP_GET_DEVICE_FD, s->uuid);
	if (account(s, OP_REOPEN, fd < 0 ? -errno : 0))
		s->vfio.device = fd;
	__atomic_fetch_add(&s->reset_gen, 1, __ATOMIC_ACQ_REL);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct soak *s = w->s;
	unsigned long long i;

	for (i = 0; i < s->ops_per_thread; i++) {
		__u64 r = below(w, 1000);

		if (w->idx == 0 && r < 4) {
			pthread_rwlock_wrlock(&s->lock);
			if (s->vfio.device >= 0) {
				if (r < 2)
					op_reopen(w);
				else
					op_exclusive_reset(w);
			}
			pthread_rwlock_unlock(&s->lock);
			continue;
		}
		pthread_rwlock_rdlock(&s->lock);
		if (s->vfio.device < 0)
			;	/* a reopen failed: counted, nothing left to drive */
		else if (r < 90)
			op_region(w, 0);
		else if (r < 200)
			op_region(w, 1);
		else if (r < 260)
			op_region(w, 2);
		else if (r < 400)
			op_region(w, 3);
		else if (r < 480)
			op_region(w, 4);
		else if (r < 760)
			op_region(w, 5);
		else if (r < 770)
			op_bad_pointer(w);
		else if (r < 980 - s->elsp_permille)
			op_ioctl(w);
		else if (r < 980)
			op_elsp(w);
		else
			op_dma(w);
		pthread_rwlock_unlock(&s->lock);
	}
	return NULL;
}

static __u64 soak_seed(void)
{
	const char *v = rgvt_getenv("RGVT_SOAK_SEED", NULL);
	__u64 seed;

	if (!v)
		return SOAK_DEFAULT_SEED;
	if (!strcmp(v, "random")) {
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = time(NULL);
		return seed;
	}
	return strtoull(v, NULL, 0);
}

static void print_table(struct soak *s)
{
	char line[1024];
	int n;

	ksft_print_msg("%-12s %9s  errors (errno: count)\n", "operation", "ok");
	for (int op = 0; op < NOPS; op++) {
		n = 0;
		line[0] = '\0';
		for (int e = 1; e <= MAX_ERRNO; e++)
			if (s->count[op][e] && n < (int)sizeof(line) - 64)
				n += snprintf(line + n, sizeof(line) - n, " %s:%llu",
					      strerrorname_np(e) ? strerrorname_np(e) : "?",
					      s->count[op][e]);
		ksft_print_msg("%-12s %9llu %s\n", op_name[op], s->count[op][0], line);
	}
}

FIXTURE(soak) {
	struct rgvt_created created;
	struct soak *s;
};

FIXTURE_SETUP(soak)
{
	self->s = calloc(1, sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	self->s->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	for (int i = 0; i < NEFD; i++)
		self->s->efd[i] = -1;
}

/* What a failed assertion left behind. */
FIXTURE_TEARDOWN(soak)
{
	if (!self->s)
		return;
	rgvt_vfio_close(&self->s->vfio);
	for (int i = 0; i < NEFD; i++)
		if (self->s->efd[i] >= 0)
			close(self->s->efd[i]);
	rgvt_remove_created(&self->created);
}

/*
 * The harness's own timeout (30 s by default) would cut the long run short:
 * 10^6 operations take about 80 s under TCG; the runner's limit ("settings")
 * is 300 s for the whole program.
 */
TEST_F_TIMEOUT(soak, random_traffic, 290)
{
	struct worker w[SOAK_THREADS];
	pthread_t th[SOAK_THREADS];
	pthread_rwlockattr_t attr;
	struct rgvt_created *created = &self->created;
	unsigned long long id, ops, pins, total, unpins;
	struct timespec t0, t1;
	struct soak *s;
	double secs;
	unsigned int i, p, o;
	int ret;

	s = self->s;
	s->seed = soak_seed();
	ops = strtoull(rgvt_getenv("RGVT_SOAK_OPS", "0"), NULL, 0);
	if (!ops)
		ops = SOAK_DEFAULT_OPS;
	s->ops_per_thread = (ops + SOAK_THREADS - 1) / SOAK_THREADS;
	s->elsp_permille = SOAK_DEFAULT_ELSP;
	if (getenv("RGVT_SOAK_ELSP"))
		s->elsp_permille = strtoul(getenv("RGVT_SOAK_ELSP"), NULL, 0);
	if (s->elsp_permille > 200)
		s->elsp_permille = 200;
	ksft_print_msg("soak: seed 0x%016llx, %llu operations, %d threads, %u ELSP per 1000\n",
		       (unsigned long long)s->seed, s->ops_per_thread * SOAK_THREADS,
		       SOAK_THREADS, s->elsp_permille);

	ASSERT_EQ(0, rgvt_module_ensure());
	ASSERT_EQ(0, rgvt_create(created, TYPE, s->uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(s->uuid, "vgpu_id", &id));
	s->id = id;
	ASSERT_EQ(0, rgvt_vgpu_attr(s->uuid, "low_gm_base", &s->low_base));
	ASSERT_EQ(0, rgvt_vgpu_attr(s->uuid, "low_gm_size", &s->low_size));
	ASSERT_EQ(0, rgvt_vgpu_attr(s->uuid, "high_gm_base", &s->high_base));
	ASSERT_EQ(0, rgvt_vgpu_attr(s->uuid, "high_gm_size", &s->high_size));
	ASSERT_LE((unsigned long long)WINDOW * PAGE * 2, s->low_size);
	ASSERT_LE((ENG_GM_FIRST + ENG_GM_PAGES + 16ULL) * PAGE, s->low_size);

	s->mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->canary = mmap(NULL, CANARY_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->emem = mmap(NULL, ENG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s->emem);
	ASSERT_NE(MAP_FAILED, s->mem);
	ASSERT_NE(MAP_FAILED, s->canary);
	ASSERT_NE(MAP_FAILED, s->bad);
	for (p = 0; p < GUEST_PAGES; p++)
		memset(s->mem + p * PAGE, tag(p), PAGE);
	for (o = 0; o < CANARY_SIZE; o++)
		s->canary[o] = (unsigned char)(o * 131 + 7);
	for (i = 0; i < NEFD; i++) {
		s->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, s->efd[i]);
	}

	ret = rgvt_vfio_open(s->uuid, &s->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", s->vfio.failed, strerror(-ret));
	for (i = 0; i < NCHUNKS; i++) {
		ASSERT_EQ(0, rgvt_dma_map(&s->vfio, s->mem + i * CHUNK_PAGES * PAGE,
					  GUEST_IOVA + i * CHUNK_PAGES * PAGE, CHUNK_PAGES * PAGE));
		s->mapped[i] = true;
	}
	ASSERT_EQ(0, rgvt_dma_map(&s->vfio, s->emem, ENG_IOVA, ENG_SIZE));
	for (i = 0; i < NENG; i++)
		ASSERT_LE(0, eng_setup(s, i));

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &attr);
	pthread_mutex_init(&s->dma_lock, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < SOAK_THREADS; i++) {
		w[i] = (struct worker){ .s = s, .idx = i,
					.rng = (s->seed ^ (0x9e3779b97f4a7c15ULL * (i + 1))) | 1 };
		w[i].buf = malloc(BUF_SIZE);
		ASSERT_NE(NULL, w[i].buf);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker, &w[i]));
	}
	for (i = 0; i < SOAK_THREADS; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	print_table(s);
	ksft_print_msg("soak: seed 0x%016llx, %llu operations in %.2f s, %.0f ops/s\n",
		       (unsigned long long)s->seed, s->ops_per_thread * SOAK_THREADS, secs,
		       s->ops_per_thread * SOAK_THREADS / secs);

	EXPECT_EQ(0ULL, s->unexpected) TH_LOG("%s", s->first_error);
	EXPECT_EQ(0ULL, s->bad_bytes) TH_LOG("%s", s->first_error);
	EXPECT_EQ(0ULL, s->reset_failures) TH_LOG("%s", s->first_error);
	EXPECT_EQ(0ULL, s->close_failures) TH_LOG("%s", s->first_error);
	EXPECT_EQ(0ULL, s->engine_failures) TH_LOG("%s", s->first_error);
	ksft_print_msg("soak: %llu ELSP submissions (%llu with a junk descriptor); engine checks after reset: %llu ran, %llu failed\n",
		       s->elsp_submits, s->elsp_junk_desc, s->engine_checks, s->engine_failures);
	ksft_print_msg("soak: engines (vgpu<N>/engines at the end): submissions %llu workloads %llu completed %llu audit_failures %llu faults %llu hangs %llu csb_events %llu\n",
		       engines_sum(s, "submissions"), engines_sum(s, "workloads"),
		       engines_sum(s, "completed"), engines_sum(s, "audit_failures"),
		       engines_sum(s, "faults"), engines_sum(s, "hangs"),
		       engines_sum(s, "csb_events"));
	ASSERT_LE(0, s->vfio.device);

	/* The pins balance with the entries the traffic left in place. */
	pins = counter(s, "pins_now");
	total = counter(s, "pins_total");
	unpins = counter(s, "unpins_total");
	ksft_print_msg("soak: pins_now %llu pins_total %llu unpins_total %llu\n",
		       pins, total, unpins);
	EXPECT_NE(~0ULL, pins);
	EXPECT_EQ(total - unpins, pins);

	/* The device still works after all that, engines included. */
	op_exclusive_reset(&w[0]);
	EXPECT_EQ(0ULL, s->reset_failures) TH_LOG("%s", s->first_error);
	EXPECT_EQ(0ULL, s->engine_failures) TH_LOG("%s", s->first_error);
	close(s->vfio.device);
	s->vfio.device = -1;
	EXPECT_EQ(0ULL, counter(s, "pins_now"));
	EXPECT_EQ(counter(s, "pins_total"), counter(s, "unpins_total"));

	/* Guest memory holds only what the test wrote; the canary nothing new. */
	for (p = 0; p < GUEST_PAGES; p++) {
		for (o = 0; o < PAGE; o++) {
			unsigned char b = s->mem[p * PAGE + o];

			if (b != tag(p) && b != W1 && b != W2)
				break;
		}
		EXPECT_EQ(PAGE, (unsigned long long)o)
			TH_LOG("guest page %u byte %u: 0x%02x", p, o, s->mem[p * PAGE + o]);
	}
	for (o = 0; o < CANARY_SIZE; o++)
		if (s->canary[o] != (unsigned char)(o * 131 + 7))
			break;
	EXPECT_EQ(CANARY_SIZE, (unsigned long long)o) TH_LOG("canary changed at %u", o);

	rgvt_vfio_close(&s->vfio);
	for (i = 0; i < NEFD; i++) {
		close(s->efd[i]);
		s->efd[i] = -1;
	}
	rgvt_remove_created(created);
}

RGVT_TEST_MAIN(true)
