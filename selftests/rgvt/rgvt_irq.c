// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt's VFIO interrupts, IGD configuration space and register model, driven
 * as QEMU's vfio-pci drives them:
 *
 * - VFIO_DEVICE_GET_IRQ_INFO for every index, as kvmgt answers it;
 * - VFIO_DEVICE_SET_IRQS with every malformed request: the errno vfio-pci
 *   gives, and nothing changes (a following good request behaves as if the
 *   bad one never came);
 * - INTx, MSI, ERR and REQ eventfds: loopback triggers (vfio-pci's
 *   DATA_NONE/DATA_BOOL TRIGGER signals the eventfd), INTx disable in the
 *   command register, the INTx unmask eventfd (KVM's resampler, a virqfd),
 *   REQ signalled when the vGPU is removed while the device is open, and
 *   every eventfd released on close;
 * - config space: the capability list, GMCH's GGMS, read-only GMCH, BDSM
 *   and ASLS;
 * - BAR0 registers: write-1-to-clear IIRs, masked registers, GDRST and
 *   RING_RESET_CTL handshakes, untracked offsets counted in debugfs.
 *
 * Self-contained: each test loads the module if it must
 * (rgvt_module_ensure), creates its own vGPU and removes it.
 */
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-V5_8"
#define CFG		VFIO_PCI_CONFIG_REGION_INDEX
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX

#define INTX		VFIO_PCI_INTX_IRQ_INDEX
#define MSI		VFIO_PCI_MSI_IRQ_INDEX
#define MSIX		VFIO_PCI_MSIX_IRQ_INDEX
#define ERR		VFIO_PCI_ERR_IRQ_INDEX
#define REQ		VFIO_PCI_REQ_IRQ_INDEX

#define NONE		VFIO_IRQ_SET_DATA_NONE
#define BOOL		VFIO_IRQ_SET_DATA_BOOL
#define EVENTFD		VFIO_IRQ_SET_DATA_EVENTFD
#define MASK		VFIO_IRQ_SET_ACTION_MASK
#define UNMASK		VFIO_IRQ_SET_ACTION_UNMASK
#define TRIGGER		VFIO_IRQ_SET_ACTION_TRIGGER

/* Registers of a Skylake (i915's names). */
#define GEN8_MASTER_IRQ		0x44200
#define GEN8_MASTER_IRQ_CONTROL	(1U << 31)
#define GEN8_GT_IMR(n)		(0x44304 + 0x10 * (n))
#define GEN8_GT_IIR(n)		(0x44308 + 0x10 * (n))
#define GEN8_GT_IER(n)		(0x4430c + 0x10 * (n))
#define GEN6_GDRST		0x941c
#define RCS_RESET_CTL		0x20d0
#define REQUEST_RESET		(1U << 0)
#define READY_TO_RESET		(1U << 1)
#define CACHE_MODE_0_GEN7	0x7000	/* a masked register */
#define GEN8_FUSE2		0x9120
/* A dword no model covers (display-engine range, nothing there). */
#define UNTRACKED_REG		0x6f0f0

#define PCI_COMMAND_INTX_DISABLE	0x400

FIXTURE(irq) {
	struct rgvt_created created;
	struct rgvt_vfio vfio;
	char uuid[RGVT_UUID_LEN + 1];
	long id;
	int efd[4];
};

FIXTURE_SETUP(irq)
{
	unsigned long long id;
	int ret, i;

	self->vfio = (struct rgvt_vfio)RGVT_VFIO_CLOSED;
	for (i = 0; i < 4; i++)
		self->efd[i] = -1;
	ASSERT_EQ(0, rgvt_module_ensure()) TH_LOG("loading %s", rgvt_ko());
	ASSERT_EQ(0, rgvt_create(&self->created, TYPE, self->uuid));
	ASSERT_EQ(0, rgvt_vgpu_attr(self->uuid, "vgpu_id", &id));
	self->id = id;
	ret = rgvt_vfio_open(self->uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	for (i = 0; i < 4; i++) {
		self->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(irq)
{
	int i;

	rgvt_vfio_close(&self->vfio);
	for (i = 0; i < 4; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
	rgvt_remove_created(&self->created);
}

/*
 * VFIO_DEVICE_SET_IRQS with len bytes of data; argsz is the header and the
 * data unless argsz_fix is nonzero. Returns 0 or -errno.
 */
static int set_irqs_raw(int dev, __u32 argsz_fix, __u32 flags, __u32 index, __u32 start,
			__u32 count, const void *data, size_t len)
{
	struct {
		struct vfio_irq_set set;
		__u8 data[64];
	} req;

	memset(&req, 0, sizeof(req));
	req.set.argsz = argsz_fix ? argsz_fix : sizeof(req.set) + len;
	req.set.flags = flags;
	req.set.index = index;
	req.set.start = start;
	req.set.count = count;
	if (len)
		memcpy(req.data, data, len);
	return ioctl(dev, VFIO_DEVICE_SET_IRQS, &req) ? -errno : 0;
}

/* One eventfd (or -1) for vector 0 of index. */
static int set_fd(int dev, __u32 action, __u32 index, int fd)
{
	__s32 v = fd;

	return set_irqs_raw(dev, 0, EVENTFD | action, index, 0, 1, &v, sizeof(v));
}

/* Loopback: TRIGGER with no data fires the eventfd of vector 0. */
static int loopback(int dev, __u32 index)
{
	return set_irqs_raw(dev, 0, NONE | TRIGGER, index, 0, 1, NULL, 0);
}

static int loopback_bool(int dev, __u32 index, __u8 b)
{
	return set_irqs_raw(dev, 0, BOOL | TRIGGER, index, 0, 1, &b, 1);
}

/* The eventfd's count (reading resets it); 0 when it was not signalled. */
static __u64 efd_take(int fd)
{
	__u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static __u32 cfg_read(FIXTURE_DATA(irq) *self, __u32 off, size_t len)
{
	__u32 v = 0;

	if (rgvt_region_read(self->vfio.device, CFG, off, &v, len) != (ssize_t)len)
		return 0xdeadbeef;
	return v;
}

static ssize_t cfg_write(FIXTURE_DATA(irq) *self, __u32 off, __u32 v, size_t len)
{
	return rgvt_region_write(self->vfio.device, CFG, off, &v, len);
}

static __u32 mmio_read(FIXTURE_DATA(irq) *self, __u32 off)
{
	__u32 v;

	if (rgvt_region_read(self->vfio.device, BAR0, off, &v, 4) != 4)
		return 0xdeadbeef;
	return v;
}

static ssize_t mmio_write(FIXTURE_DATA(irq) *self, __u32 off, __u32 v)
{
	return rgvt_region_write(self->vfio.device, BAR0, off, &v, 4);
}

static unsigned long long counter(FIXTURE_DATA(irq) *self, const char *name)
{
	unsigned long long v = ~0ULL;

	if (rgvt_counter(self->id, name, &v))
		return ~0ULL;
	return v;
}

static void set_intx_disable(FIXTURE_DATA(irq) *self, bool disable)
{
	__u16 cmd = cfg_read(self, 0x04, 2);

	cmd = disable ? cmd | PCI_COMMAND_INTX_DISABLE : cmd & ~PCI_COMMAND_INTX_DISABLE;
	cfg_write(self, 0x04, cmd, 2);
}

/* Interrupt info -------------------------------------------------------- */

TEST_F(irq, irq_info_every_index)
{
	static const struct {
		__u32 flags, count;
	} want[VFIO_PCI_NUM_IRQS] = {
		[INTX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
			   VFIO_IRQ_INFO_AUTOMASKED, 1 },
		[MSI] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1 },
		[MSIX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 0 },
		[ERR] = { VFIO_IRQ_INFO_EVENTFD, 1 },
		[REQ] = { VFIO_IRQ_INFO_EVENTFD, 1 },
	};
	struct vfio_irq_info info;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		info = (struct vfio_irq_info){ .argsz = sizeof(info), .index = i, .count = 99 };
		ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_GET_IRQ_INFO, &info));
		EXPECT_EQ(want[i].flags, info.flags) TH_LOG("index %u", i);
		EXPECT_EQ(want[i].count, info.count) TH_LOG("index %u", i);
	}
	info = (struct vfio_irq_info){ .argsz = sizeof(info), .index = VFIO_PCI_NUM_IRQS };
	EXPECT_EQ(-1, ioctl(self->vfio.device, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info = (struct vfio_irq_info){ .argsz = sizeof(info), .index = ~0U };
	EXPECT_EQ(-1, ioctl(self->vfio.device, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

/* SET_IRQS: bad requests ------------------------------------------------ */

TEST_F(irq, set_irqs_bad_requests_change_nothing)
{
	int dev = self->vfio.device, e0 = self->efd[0], e1 = self->efd[1];
	int notefd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	__s32 fds[2] = { e0, e0 };
	unsigned long long rejected;
	__u8 b = 1;

	ASSERT_LE(0, notefd);
	/* Nothing enabled: a malformed request, or one the state refuses. */
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | BOOL | TRIGGER, INTX, 0, 1, &b, 1));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, BOOL | EVENTFD | TRIGGER, INTX, 0, 1, fds, 4));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, TRIGGER, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, 1U << 6 | NONE | TRIGGER, INTX, 0, 1, NULL, 0));
	/* No action, or several: vfio-pci finds no handler (ENOTTY). */
	EXPECT_EQ(-ENOTTY, set_irqs_raw(dev, 0, EVENTFD, INTX, 0, 1, fds, 4));
	EXPECT_EQ(-ENOTTY, set_irqs_raw(dev, 0, NONE | MASK | UNMASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-ENOTTY, set_irqs_raw(dev, 0, EVENTFD | MASK | TRIGGER, INTX, 0, 1, fds, 4));
	/* Bad index; MSI-X has no vector. */
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, VFIO_PCI_NUM_IRQS, e0));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, ~0U, e0));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, MSIX, e0));
	/* start + count: overflow, past the one vector, start past it. */
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | TRIGGER, INTX, 1, ~0U, NULL, 0));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | TRIGGER, INTX, ~0U, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, EVENTFD | TRIGGER, INTX, 0, 2, fds, 8));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, EVENTFD | TRIGGER, MSI, 1, 1, fds, 4));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, EVENTFD | TRIGGER, REQ, 0, 2, fds, 8));
	/* argsz too small for the data (and for the header). */
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, sizeof(struct vfio_irq_set), EVENTFD | TRIGGER,
					INTX, 0, 1, fds, 4));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, sizeof(struct vfio_irq_set) + 3, EVENTFD | TRIGGER,
					INTX, 0, 1, fds, 4));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, sizeof(struct vfio_irq_set) - 1, NONE | TRIGGER,
					INTX, 0, 1, NULL, 0));
	/* Wrong action for the index: MSI, ERR, REQ only trigger. */
	EXPECT_EQ(-ENOTTY, set_irqs_raw(dev, 0, NONE | MASK, MSI, 0, 1, NULL, 0));
	EXPECT_EQ(-ENOTTY, set_irqs_raw(dev, 0, NONE | UNMASK, ERR, 0, 1, NULL, 0));
	EXPECT_EQ(-ENOTTY, set_fd(dev, UNMASK, REQ, e0));
	/* INTx not enabled: mask, unmask, loopback and an unmask fd refused. */
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | MASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | UNMASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, set_fd(dev, UNMASK, INTX, e1));
	EXPECT_EQ(-EINVAL, loopback(dev, INTX));
	EXPECT_EQ(-EINVAL, loopback(dev, MSI));
	/* ERR/REQ loopback without an eventfd. */
	EXPECT_EQ(-EINVAL, loopback(dev, ERR));
	/* Bad descriptors: not open (EBADF), not an eventfd (EINVAL). */
	EXPECT_EQ(-EBADF, set_fd(dev, TRIGGER, INTX, 1000));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, INTX, notefd));
	EXPECT_EQ(-EBADF, set_fd(dev, TRIGGER, MSI, 1000));
	EXPECT_EQ(-EBADF, set_fd(dev, TRIGGER, REQ, 1000));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, ERR, -2));

	/* None of it enabled anything: INTx is still off, REQ has no fd. */
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | MASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, loopback(dev, REQ));
	EXPECT_EQ(-EINVAL, loopback(dev, MSI));

	/* Enabled INTx: a bad replacement keeps the old trigger. */
	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e0));
	EXPECT_EQ(-EBADF, set_fd(dev, TRIGGER, INTX, 1000));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, INTX, notefd));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, MSI, e1));	/* INTx is on */
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(1ULL, efd_take(e0));
	EXPECT_EQ(0ULL, efd_take(e1));
	/* The unmask fd: a bad one refused, a second one busy. */
	EXPECT_EQ(-EBADF, set_fd(dev, UNMASK, INTX, 1000));
	EXPECT_EQ(-EINVAL, set_fd(dev, UNMASK, INTX, notefd));
	EXPECT_EQ(0, set_fd(dev, UNMASK, INTX, e1));
	EXPECT_EQ(-EBUSY, set_fd(dev, UNMASK, INTX, e1));
	EXPECT_EQ(-EBUSY, set_fd(dev, UNMASK, INTX, self->efd[2]));
	EXPECT_EQ(0, set_fd(dev, UNMASK, INTX, -1));
	EXPECT_EQ(0, set_fd(dev, UNMASK, INTX, self->efd[2]));

	rejected = counter(self, "set_irqs_rejected");
	EXPECT_LE(20ULL, rejected);
	EXPECT_NE(~0ULL, rejected);
	EXPECT_LE(8ULL, counter(self, "set_irqs_bad_fd"));
	close(notefd);
}

/* INTx ---------------------------------------------------------------- */

TEST_F(irq, intx_loopback_mask_and_command_disable)
{
	int dev = self->vfio.device, e0 = self->efd[0], e1 = self->efd[1];

	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e0));
	EXPECT_EQ(0ULL, efd_take(e0)) TH_LOG("enabling with the line low fired");
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(1ULL, efd_take(e0));
	EXPECT_EQ(0, loopback_bool(dev, INTX, 0));
	EXPECT_EQ(0ULL, efd_take(e0));
	EXPECT_EQ(0, loopback_bool(dev, INTX, 1));
	EXPECT_EQ(1ULL, efd_take(e0));

	/* Mask and unmask are accepted (DATA_NONE and DATA_BOOL). */
	EXPECT_EQ(0, set_irqs_raw(dev, 0, NONE | MASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(0, set_irqs_raw(dev, 0, NONE | UNMASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(0, set_irqs_raw(dev, 0, BOOL | MASK, INTX, 0, 1, "\1", 1));
	EXPECT_EQ(0, set_irqs_raw(dev, 0, BOOL | UNMASK, INTX, 0, 1, "\1", 1));
	EXPECT_EQ(-ENOTTY, set_fd(dev, MASK, INTX, e1));	/* no mask eventfd */

	/* The guest's INTx disable: nothing is signalled, even on loopback. */
	set_intx_disable(self, true);
	EXPECT_EQ((__u32)PCI_COMMAND_INTX_DISABLE, cfg_read(self, 0x04, 2) & PCI_COMMAND_INTX_DISABLE);
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(0ULL, efd_take(e0));
	set_intx_disable(self, false);
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(1ULL, efd_take(e0));

	/* Swap the trigger: the old eventfd is no longer signalled. */
	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e1));
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(0ULL, efd_take(e0));
	EXPECT_EQ(1ULL, efd_take(e1));
	/* fd -1 keeps INTx enabled without a trigger. */
	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, -1));
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(0ULL, efd_take(e1));
	EXPECT_EQ(0, set_irqs_raw(dev, 0, NONE | MASK, INTX, 0, 1, NULL, 0));

	/* count 0 disables INTx: mask is refused again, MSI can be enabled. */
	ASSERT_EQ(0, set_irqs_raw(dev, 0, NONE | TRIGGER, INTX, 0, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, set_irqs_raw(dev, 0, NONE | MASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(0, set_fd(dev, TRIGGER, MSI, e0));
	EXPECT_LE(3ULL, counter(self, "intx_eventfd_signals"));
}

/*
 * With the master interrupt and every GT interrupt enabled and nothing
 * latched (no engine runs yet), the line stays low: no spurious INTx.
 */
TEST_F(irq, intx_no_spurious_interrupt_from_enables)
{
	int dev = self->vfio.device, e0 = self->efd[0];
	int n;

	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e0));
	for (n = 0; n < 4; n++) {
		EXPECT_EQ(4, mmio_write(self, GEN8_GT_IMR(n), 0));
		EXPECT_EQ(4, mmio_write(self, GEN8_GT_IER(n), ~0U));
	}
	EXPECT_EQ(4, mmio_write(self, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL));
	EXPECT_EQ(GEN8_MASTER_IRQ_CONTROL, mmio_read(self, GEN8_MASTER_IRQ));
	EXPECT_EQ(0ULL, efd_take(e0));
	EXPECT_EQ(0ULL, counter(self, "intx_signals"));
}

/* The unmask eventfd (KVM's resampler): a virqfd that unmasks INTx. */
TEST_F(irq, intx_unmask_eventfd)
{
	int dev = self->vfio.device, e0 = self->efd[0], rs = self->efd[1];
	__u64 one = 1;
	int i;

	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e0));
	ASSERT_EQ(0, set_fd(dev, UNMASK, INTX, rs));
	EXPECT_EQ(0ULL, counter(self, "unmask_fd_signals"));
	ASSERT_EQ(8, write(rs, &one, 8));
	/* The virqfd's callback runs from a workqueue. */
	for (i = 0; i < 100 && counter(self, "unmask_fd_signals") == 0; i++)
		usleep(10 * 1000);
	EXPECT_EQ(1ULL, counter(self, "unmask_fd_signals"));
	/* The virqfd consumed the count. */
	EXPECT_EQ(0ULL, efd_take(rs));

	/* The VMM closes the eventfd: the virqfd goes, a new one can come. */
	close(rs);
	self->efd[1] = -1;
	for (i = 0; i < 100; i++) {
		if (!set_fd(dev, UNMASK, INTX, self->efd[2]))
			break;
		usleep(10 * 1000);
	}
	EXPECT_GT(100, i) TH_LOG("a closed unmask eventfd still blocks a new one");
	ASSERT_EQ(8, write(self->efd[2], &one, 8));
	for (i = 0; i < 100 && counter(self, "unmask_fd_signals") < 2; i++)
		usleep(10 * 1000);
	EXPECT_EQ(2ULL, counter(self, "unmask_fd_signals"));

	/* Disabling INTx removes it: signals no longer reach the vGPU. */
	ASSERT_EQ(0, set_irqs_raw(dev, 0, NONE | TRIGGER, INTX, 0, 0, NULL, 0));
	ASSERT_EQ(8, write(self->efd[2], &one, 8));
	usleep(200 * 1000);
	EXPECT_EQ(2ULL, counter(self, "unmask_fd_signals"));
	EXPECT_EQ(1ULL, efd_take(self->efd[2]));
}

/* MSI, ERR, REQ -------------------------------------------------------- */

TEST_F(irq, msi_err_req_triggers)
{
	int dev = self->vfio.device, e0 = self->efd[0], e1 = self->efd[1], e2 = self->efd[2];

	ASSERT_EQ(0, set_fd(dev, TRIGGER, MSI, e0));
	EXPECT_EQ(-EINVAL, set_fd(dev, TRIGGER, INTX, e1));	/* MSI is on */
	EXPECT_EQ(0, loopback(dev, MSI));
	EXPECT_EQ(1ULL, efd_take(e0));
	EXPECT_EQ(0, loopback_bool(dev, MSI, 0));
	EXPECT_EQ(0ULL, efd_take(e0));
	/* Disabled: loopback refused, INTx can be enabled again. */
	ASSERT_EQ(0, set_irqs_raw(dev, 0, NONE | TRIGGER, MSI, 0, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, loopback(dev, MSI));
	EXPECT_EQ(-ERANGE, set_irqs_raw(dev, 0, EVENTFD | TRIGGER, MSI, 0, 0, NULL, 0));
	EXPECT_EQ(0, set_fd(dev, TRIGGER, INTX, e1));
	EXPECT_EQ(0ULL, efd_take(e0));

	ASSERT_EQ(0, set_fd(dev, TRIGGER, ERR, e1));
	ASSERT_EQ(0, set_fd(dev, TRIGGER, REQ, e2));
	EXPECT_EQ(0, loopback(dev, ERR));
	EXPECT_EQ(0, loopback(dev, REQ));
	EXPECT_EQ(0, loopback(dev, REQ));
	EXPECT_EQ(1ULL, efd_take(e1));
	EXPECT_EQ(2ULL, efd_take(e2));
	/* fd -1 releases them. */
	ASSERT_EQ(0, set_fd(dev, TRIGGER, ERR, -1));
	ASSERT_EQ(0, set_fd(dev, TRIGGER, REQ, -1));
	EXPECT_EQ(-EINVAL, loopback(dev, ERR));
	EXPECT_EQ(-EINVAL, loopback(dev, REQ));
	EXPECT_EQ(1ULL, counter(self, "err_eventfd_signals"));
	EXPECT_EQ(2ULL, counter(self, "req_eventfd_signals"));
	EXPECT_EQ(1ULL, counter(self, "msi_eventfd_signals"));
}

/* Close and reset ------------------------------------------------------ */

TEST_F(irq, close_releases_every_eventfd)
{
	int e0 = self->efd[0], e1 = self->efd[1], e2 = self->efd[2], rs = self->efd[3];
	unsigned long long before;
	__u64 one = 1;
	int ret;

	ASSERT_EQ(0, set_fd(self->vfio.device, TRIGGER, INTX, e0));
	ASSERT_EQ(0, set_fd(self->vfio.device, UNMASK, INTX, rs));
	ASSERT_EQ(0, set_fd(self->vfio.device, TRIGGER, ERR, e1));
	ASSERT_EQ(0, set_fd(self->vfio.device, TRIGGER, REQ, e2));
	rgvt_vfio_close(&self->vfio);

	/* The unmask virqfd is gone: signalling it reaches nothing. */
	before = counter(self, "unmask_fd_signals");
	ASSERT_EQ(8, write(rs, &one, 8));
	usleep(200 * 1000);
	EXPECT_EQ(before, counter(self, "unmask_fd_signals"));
	EXPECT_EQ(1ULL, efd_take(rs));

	/* Reopened: nothing enabled, no eventfd kept. */
	ret = rgvt_vfio_open(self->uuid, &self->vfio);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->vfio.failed, strerror(-ret));
	EXPECT_EQ(-EINVAL, set_irqs_raw(self->vfio.device, 0, NONE | MASK, INTX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, loopback(self->vfio.device, ERR));
	EXPECT_EQ(-EINVAL, loopback(self->vfio.device, REQ));
	/* The same eventfds can be set up again. */
	EXPECT_EQ(0, set_fd(self->vfio.device, TRIGGER, INTX, e0));
	EXPECT_EQ(0, set_fd(self->vfio.device, UNMASK, INTX, rs));
}

TEST_F(irq, reset_keeps_triggers_and_clears_intx_disable)
{
	int dev = self->vfio.device, e0 = self->efd[0];

	ASSERT_EQ(0, set_fd(dev, TRIGGER, INTX, e0));
	set_intx_disable(self, true);
	ASSERT_EQ(0, ioctl(dev, VFIO_DEVICE_RESET));
	EXPECT_EQ(0U, cfg_read(self, 0x04, 2) & PCI_COMMAND_INTX_DISABLE);
	/* As vfio-pci: the VMM's set-up survives a reset. */
	EXPECT_EQ(0, loopback(dev, INTX));
	EXPECT_EQ(1ULL, efd_take(e0));
}

/* REQ when the vGPU is removed while open ------------------------------- */

struct remover {
	const char *uuid;
	int ret;
	volatile int done;
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	r->ret = rgvt_mdev_remove(r->uuid);
	r->done = 1;
	return NULL;
}

TEST_F_TIMEOUT(irq, req_asks_the_vmm_to_release_on_remove, 60)
{
	struct remover r = { .uuid = self->uuid };
	struct pollfd p = { .fd = self->efd[2], .events = POLLIN };
	pthread_t t;
	int i;

	ASSERT_EQ(0, set_fd(self->vfio.device, TRIGGER, REQ, self->efd[2]));
	ASSERT_EQ(0, pthread_create(&t, NULL, remove_thread, &r));
	/* VFIO calls the request callback at once, then every 10 s. */
	EXPECT_EQ(1, poll(&p, 1, 5000)) TH_LOG("no REQ within 5 s of the remove");
	EXPECT_LE(1ULL, efd_take(self->efd[2]));
	EXPECT_EQ(0, r.done) TH_LOG("remove returned while the device was open");
	/* The VMM lets go: the remove completes. */
	rgvt_vfio_close(&self->vfio);
	for (i = 0; i < 300 && !r.done; i++)
		usleep(50 * 1000);
	EXPECT_EQ(1, r.done) TH_LOG("remove did not complete after the close");
	pthread_join(t, NULL);
	EXPECT_EQ(0, r.ret);
	EXPECT_FALSE(rgvt_mdev_exists(self->uuid));
}

/* Config space ---------------------------------------------------------- */

TEST_F(irq, config_space_msi_cap_and_gmch)
{
	unsigned long long high_base, high_size, dropped;
	__u32 gmch, ggms, bdsm, asls;
	__u8 pos, id, next;
	__u64 gm;
	int caps = 0, msi = 0;

	/* Status: capability list; walk it. */
	EXPECT_EQ(0x10U, cfg_read(self, 0x06, 2) & 0x10);
	pos = cfg_read(self, 0x34, 1);
	while (pos && caps < 48) {
		ASSERT_EQ(0, pos & 3);
		ASSERT_LE(0x40, pos);
		id = cfg_read(self, pos, 1);
		next = cfg_read(self, pos + 1, 1);
		if (id == 0x05)
			msi = pos;
		caps++;
		pos = next;
	}
	EXPECT_EQ(0xac, msi);
	EXPECT_EQ(1, caps);
	/* One vector, 32-bit, no masking; enable is writable. */
	EXPECT_EQ(0U, cfg_read(self, 0xac + 2, 2) & ~1U);
	EXPECT_EQ(2, cfg_write(self, 0xac + 2, 0xffff, 2));
	EXPECT_EQ(1U, cfg_read(self, 0xac + 2, 2));
	EXPECT_EQ(2, cfg_write(self, 0xac + 2, 0, 2));

	/* GGMS covers the vGPU's whole GM range. */
	gmch = cfg_read(self, 0x50, 2);
	ggms = (gmch >> 6) & 3;
	ASSERT_NE(0U, ggms) TH_LOG("GGMS 0: i915 fails to map the GGTT");
	gm = ((1ULL << ggms) << 20) / 8 * 4096;
	ASSERT_EQ(0, rgvt_vgpu_attr(self->uuid, "high_gm_base", &high_base));
	ASSERT_EQ(0, rgvt_vgpu_attr(self->uuid, "high_gm_size", &high_size));
	EXPECT_LE(high_base + high_size, gm);

	/* GMCH, BDSM and ASLS are read-only; the writes are counted. */
	bdsm = cfg_read(self, 0x5c, 4);
	asls = cfg_read(self, 0xfc, 4);
	dropped = counter(self, "cfg_ro_dropped");
	EXPECT_EQ(2, cfg_write(self, 0x50, 0xffff, 2));
	EXPECT_EQ(4, cfg_write(self, 0x5c, 0xfff00000, 4));
	EXPECT_EQ(4, cfg_write(self, 0xfc, 0x12345000, 4));
	EXPECT_EQ(gmch, cfg_read(self, 0x50, 2));
	EXPECT_EQ(bdsm, cfg_read(self, 0x5c, 4));
	EXPECT_EQ(asls, cfg_read(self, 0xfc, 4));
	EXPECT_LE(dropped + 3, counter(self, "cfg_ro_dropped"));
	/* A reset keeps them. */
	ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_RESET));
	EXPECT_EQ(gmch, cfg_read(self, 0x50, 2));
	EXPECT_EQ(0xacU, cfg_read(self, 0x34, 1));
}

/* The register model through BAR0 -------------------------------------- */

TEST_F(irq, registers_w1c_masked_and_handshakes)
{
	unsigned long long gdrst, resets;
	__u32 fuse;

	/* IIR: i915 clears with all-ones and must then read 0. */
	EXPECT_EQ(4, mmio_write(self, GEN8_GT_IIR(0), ~0U));
	EXPECT_EQ(0U, mmio_read(self, GEN8_GT_IIR(0)));
	/* IMR and IER are plain. */
	EXPECT_EQ(4, mmio_write(self, GEN8_GT_IMR(1), 0x12345678));
	EXPECT_EQ(0x12345678U, mmio_read(self, GEN8_GT_IMR(1)));

	/* Masked: the upper half selects, reads show 0 there. */
	EXPECT_EQ(4, mmio_write(self, CACHE_MODE_0_GEN7, 0x00030003));
	EXPECT_EQ(0x3U, mmio_read(self, CACHE_MODE_0_GEN7));
	EXPECT_EQ(4, mmio_write(self, CACHE_MODE_0_GEN7, 0x0000fff0));	/* no select */
	EXPECT_EQ(0x3U, mmio_read(self, CACHE_MODE_0_GEN7));
	EXPECT_EQ(4, mmio_write(self, CACHE_MODE_0_GEN7, 0x00010000));	/* clear bit 0 */
	EXPECT_EQ(0x2U, mmio_read(self, CACHE_MODE_0_GEN7));

	/* GDRST: the reset completes at once. */
	gdrst = counter(self, "gdrst");
	EXPECT_EQ(4, mmio_write(self, GEN6_GDRST, 1));
	EXPECT_EQ(0U, mmio_read(self, GEN6_GDRST));
	EXPECT_EQ(gdrst + 1, counter(self, "gdrst"));

	/* RING_RESET_CTL: request -> ready; release -> not ready. */
	resets = counter(self, "engine_resets");
	EXPECT_EQ(0U, mmio_read(self, RCS_RESET_CTL) & READY_TO_RESET);
	EXPECT_EQ(4, mmio_write(self, RCS_RESET_CTL, REQUEST_RESET << 16 | REQUEST_RESET));
	EXPECT_EQ(REQUEST_RESET | READY_TO_RESET, mmio_read(self, RCS_RESET_CTL));
	EXPECT_EQ(resets + 1, counter(self, "engine_resets"));
	EXPECT_EQ(4, mmio_write(self, RCS_RESET_CTL, REQUEST_RESET << 16));
	EXPECT_EQ(0U, mmio_read(self, RCS_RESET_CTL));

	/* Fuses are read-only and not zero (FUSE2 = 0 WARNs in i915). */
	fuse = mmio_read(self, GEN8_FUSE2);
	EXPECT_NE(0U, fuse);
	EXPECT_EQ(4, mmio_write(self, GEN8_FUSE2, 0));
	EXPECT_EQ(fuse, mmio_read(self, GEN8_FUSE2));

	/* A reset puts registers back. */
	EXPECT_EQ(4, mmio_write(self, GEN8_GT_IMR(1), 0x1));
	ASSERT_EQ(0, ioctl(self->vfio.device, VFIO_DEVICE_RESET));
	EXPECT_EQ(0U, mmio_read(self, GEN8_GT_IMR(1)));
	EXPECT_EQ(0U, mmio_read(self, CACHE_MODE_0_GEN7));
}

/* The debugfs line of offset off in vgpu<id>/untracked, or -ENOENT. */
static int untracked_line(long id, __u32 off, unsigned long long *reads,
			  unsigned long long *writes)
{
	char path[PATH_MAX], buf[16384], *line, *save = NULL;
	unsigned int o;
	int ret;

	ret = rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/untracked", id), buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%x %llu %llu", &o, reads, writes) == 3 && o == off)
			return 0;
	}
	return -ENOENT;
}

TEST_F(irq, untracked_register_in_debugfs)
{
	unsigned long long reads = 0, writes = 0;

	EXPECT_EQ(-ENOENT, untracked_line(self->id, UNTRACKED_REG, &reads, &writes));
	EXPECT_EQ(4, mmio_write(self, UNTRACKED_REG, 0xabcd));
	EXPECT_EQ(0xabcdU, mmio_read(self, UNTRACKED_REG));	/* plain storage */
	EXPECT_EQ(0xabcdU, mmio_read(self, UNTRACKED_REG));
	ASSERT_EQ(0, untracked_line(self->id, UNTRACKED_REG, &reads, &writes));
	EXPECT_EQ(2ULL, reads);
	EXPECT_EQ(1ULL, writes);
	/* Modelled registers are not listed. */
	mmio_read(self, GEN6_GDRST);
	EXPECT_EQ(-ENOENT, untracked_line(self->id, GEN6_GDRST, &reads, &writes));
}

RGVT_TEST_MAIN(true)
