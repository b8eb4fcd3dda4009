// SPDX-License-Identifier: GPL-2.0
/*
 * Many guests on one GPU: N VFIO guest drivers (rgvt_gpu.h), each a forked
 * process with its own vGPU of a type whose high GM is shared (S_32: 6 slots
 * of 64 MB each, 32 of them over-commit the 60 slots several times over),
 * submitting at once on rcs0 and bcs0:
 *
 * - GGTT batches placed in the shared high GM, storing through GGTT
 *   addresses in the shared high GM, then PPGTT batches storing through the
 *   guest's own page tables; every value checked in the guest's own memory,
 *   and a canary page (in no table) unchanged: no guest read or wrote
 *   another's pages. The engines resolve GGTT addresses through the
 *   physical GGTT, so a vGPU whose entries were not switched in faults
 *   (debugfs ggtt_foreign), which must stay 0; switches and GTT entries
 *   copied must be > 0 (the slots are shared).
 * - Fairness: three saturating guests with weights 1:2:4 (debugfs
 *   vgpu<N>/weight); their busy time (debugfs vgpu<N>/sched busy_ns) over
 *   a few seconds is within 10% of the ratio.
 * - Removal of vGPUs and unload of the module while the others are queued
 *   and switching.
 *
 * Prints the switches, entries copied and copy time of each run, and the
 * busy times of the fairness run.
 */
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_gpu.h"
#include "kselftest_harness.h"

#define TYPE		"rgvt-S_32"
#define GUEST_PAGES	192
#define SLOT_PAGES	16384		/* 64 MB of GM: one slot */
#define STORES		48		/* per batch */
#define WAIT_MS		60000

/* What one guest reports (in memory shared with the parent). */
struct report {
	int ready;		/* set up, waiting for the start */
	int rounds;		/* rounds checked */
	int timeouts;		/* submissions that did not complete */
	int wrong;		/* values not as written */
	int canary;		/* canary bytes changed */
	int workloads;		/* completed */
	char msg[160];		/* the first failure */
};

/* The sum of the "name value" lines of path whose name is name. */
static unsigned long long file_sum(const char *path, const char *name)
{
	char buf[16384], *line, *save = NULL;
	unsigned long long sum = 0;
	size_t len = strlen(name);

	if (rgvt_read(path, buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ')
			line++;
		if (!strncmp(line, name, len) && line[len] == ' ')
			sum += strtoull(line + len + 1, NULL, 10);
	}
	return sum;
}

static unsigned long long gpu_counter(const char *name)
{
	return file_sum(RGVT_DEBUGFS "/gpu", name);
}

static unsigned long long vgpu_counter(long id, const char *file, const char *name)
{
	char path[PATH_MAX];

	return file_sum(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/%s", id, file), name);
}

static __u32 value(int guest, int round, int engine, int kind, int k)
{
	return (__u32)(guest + 1) << 24 | (__u32)(round & 0xffff) << 8 | engine << 7 |
	       kind << 6 | k;
}

static void fail(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->msg[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static void wait_start(int fd)
{
	char c;

	/* The parent closes the pipe: everyone starts at once. */
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/*
 * A guest whose set-up failed (err: -errno, or 0 for a mapping that did
 * not fit): reported, not ready, and waiting for the start as the others do,
 * so the parent's start is not held up. Closes g if it is open.
 */
static void setup_failed(struct report *r, int index, int start, struct rgvt_gpu *g, int err)
{
	if (err)
		fail(r, "guest %d: open: %s", index, strerror(-err));
	else
		fail(r, "guest %d: mapping failed", index);
	r->ready = -1;
	wait_start(start);
	if (g)
		rgvt_gpu_close(g);
}

static const int used[2] = { RGVT_RCS, RGVT_BCS };

/*
 * One guest: GGTT batches and targets in its shared high GM (each in its
 * own slot), PPGTT batches and targets, rounds of both on rcs0 and bcs0 at
 * once, each result checked.
 */
static void guest(int index, const char *uuid, int rounds, int start, struct report *r)
{
	unsigned int bpage[2], tpage[2], canary, i;
	struct rgvt_batch pb[2];
	__u64 bgm[2], tgm[2], pt[2];
	struct rgvt_gpu g;
	int ret, round, e, k;

	ret = rgvt_gpu_open(&g, uuid, GUEST_PAGES);
	if (ret) {
		setup_failed(r, index, start, NULL, ret);
		return;
	}
	canary = rgvt_gpu_alloc(&g, 1);
	memset(rgvt_gpu_host(&g, canary), 0x5a, RGVT_GPU_PAGE);
	for (e = 0; e < 2; e++) {
		bpage[e] = rgvt_gpu_alloc(&g, 1);
		tpage[e] = rgvt_gpu_alloc(&g, 1);
		bgm[e] = rgvt_gpu_map_high(&g, bpage[e], 1, SLOT_PAGES);
		tgm[e] = rgvt_gpu_map_high(&g, tpage[e], 1, SLOT_PAGES);
		pb[e] = rgvt_gpu_batch_ppgtt(&g, 1);
		pt[e] = rgvt_gpu_ppgtt_alloc(&g, 1);
		if (bgm[e] == ~0ULL || tgm[e] == ~0ULL || !pb[e].start || !pt[e]) {
			setup_failed(r, index, start, &g, 0);
			return;
		}
	}
	r->ready = 1;
	wait_start(start);
	for (round = 0; round < rounds; round++) {
		for (int kind = 0; kind < 2; kind++) {
			for (e = 0; e < 2; e++) {
				struct rgvt_batch b = kind == 0 ?
					rgvt_gpu_batch_ggtt(&g, bpage[e], bgm[e]) : pb[e];

				b.cs = b.start;
				for (k = 0; k < STORES; k++)
					rgvt_batch_store(&b, (kind == 0 ? tgm[e] : pt[e]) + 4 * k,
							 value(index, round, e, kind, k), kind == 0);
				rgvt_batch_end(&b);
				if (rgvt_gpu_submit(&g, used[e], b.addr, kind == 0))
					fail(r, "guest %d: ELSP write failed", index);
			}
			for (e = 0; e < 2; e++) {
				__u32 *t;

				if (!rgvt_gpu_wait(&g, used[e], WAIT_MS)) {
					r->timeouts++;
					fail(r, "guest %d round %d: %s %s batch did not complete",
					     index, round, rgvt_gpu_engines[used[e]].name,
					     kind ? "PPGTT" : "GGTT");
					goto out;
				}
				r->workloads++;
				t = kind == 0 ? rgvt_gpu_host(&g, tpage[e]) :
						rgvt_gpu_va_host(&g, pt[e]);
				for (k = 0; k < STORES; k++) {
					__u32 v = __atomic_load_n(&t[k], __ATOMIC_ACQUIRE);

					if (v != value(index, round, e, kind, k)) {
						r->wrong++;
						fail(r, "guest %d round %d %s %s store %d: %#x, not %#x",
						     index, round, rgvt_gpu_engines[used[e]].name,
						     kind ? "PPGTT" : "GGTT", k, v,
						     value(index, round, e, kind, k));
					}
				}
			}
		}
		for (i = 0; i < RGVT_GPU_PAGE; i++)
			if (((unsigned char *)rgvt_gpu_host(&g, canary))[i] != 0x5a)
				r->canary++;
		if (r->canary) {
			fail(r, "guest %d: canary page changed", index);
			goto out;
		}
		r->rounds++;
	}
out:
	rgvt_gpu_close(&g);
}

FIXTURE(multi) {
	struct rgvt_created created;
	char uuid[64][RGVT_UUID_LEN + 1];
	long id[64];
	int n;
	pid_t child[64];
	struct report *reports;
};

FIXTURE_SETUP(multi)
{
	self->reports = mmap(NULL, 64 * sizeof(struct report), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->reports);
	memset(self->reports, 0, 64 * sizeof(struct report));
}

FIXTURE_TEARDOWN(multi)
{
	int i;

	for (i = 0; i < self->n; i++)
		if (self->child[i] > 0) {
			kill(self->child[i], SIGKILL);
			waitpid(self->child[i], NULL, 0);
		}
	if (rgvt_module_loaded())
		rgvt_remove_created(&self->created);
	munmap(self->reports, 64 * sizeof(struct report));
}

/* Creates n vGPUs of TYPE; their ids in self->id. */
static int create(FIXTURE_DATA(multi) *self, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		unsigned long long id;

		ret = rgvt_create(&self->created, TYPE, self->uuid[i]);
		if (ret)
			return ret;
		ret = rgvt_vgpu_attr(self->uuid[i], "vgpu_id", &id);
		if (ret)
			return ret;
		self->id[i] = id;
		self->n = i + 1;
	}
	return 0;
}

/* Forks one process per vGPU running fn; they start when the pipe closes. */
static int spawn(FIXTURE_DATA(multi) *self, int rounds,
		 void (*fn)(int, const char *, int, int, struct report *))
{
	int fds[2], i;

	if (pipe(fds))
		return -errno;
	for (i = 0; i < self->n; i++) {
		self->child[i] = fork();
		if (self->child[i] < 0)
			return -errno;
		if (self->child[i] == 0) {
			close(fds[1]);
			fn(i, self->uuid[i], rounds, fds[0], &self->reports[i]);
			_exit(0);
		}
	}
	close(fds[0]);
	/* Every guest set up (or failed), then all go. */
	for (i = 0; i < self->n; i++)
		while (!__atomic_load_n(&self->reports[i].ready, __ATOMIC_ACQUIRE))
			usleep(1000);
	close(fds[1]);
	return 0;
}

static void reap(FIXTURE_DATA(multi) *self)
{
	int i;

	for (i = 0; i < self->n; i++) {
		waitpid(self->child[i], NULL, 0);
		self->child[i] = 0;
	}
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void run_guests(struct __test_metadata *_metadata, FIXTURE_DATA(multi) *self, int n,
		       int rounds)
{
	unsigned long long sw0, ent0, ns0, foreign0, sw, ent, ns, foreign, vf = 0;
	unsigned long long vsw = 0, vent = 0;
	int i, workloads = 0, failed = 0;
	double t0, ms;

	ASSERT_EQ(0, create(self, n));
	sw0 = gpu_counter("switches");
	ent0 = gpu_counter("switch_entries_copied") + gpu_counter("prefetch_entries_copied");
	ns0 = gpu_counter("copy_ns");
	foreign0 = gpu_counter("ggtt_foreign");
	t0 = now_ms();
	ASSERT_EQ(0, spawn(self, rounds, guest));
	reap(self);
	ms = now_ms() - t0;
	{
		/* The balloon worker's last period: its C is the switches' copy time. */
		char buf[1024], *nl;

		if (rgvt_read(RGVT_DEBUGFS "/balloon", buf, sizeof(buf)) > 0) {
			nl = strchr(buf, '\n');
			if (nl)
				*nl = 0;
			ksft_print_msg("multi: balloon: %s\n", buf);
		}
	}
	for (i = 0; i < n; i++) {
		struct report *r = &self->reports[i];

		workloads += r->workloads;
		vf += vgpu_counter(self->id[i], "engines", "ggtt_foreign");
		vsw += vgpu_counter(self->id[i], "sched", "switches");
		vent += vgpu_counter(self->id[i], "sched", "entries_copied");
		if (r->rounds != rounds || r->wrong || r->canary || r->timeouts) {
			failed++;
			ksft_print_msg("guest %d (vgpu%ld): %d/%d rounds, %d wrong, %d canary, %d timeouts: %s\n",
				       i, self->id[i], r->rounds, rounds, r->wrong, r->canary,
				       r->timeouts, r->msg);
		}
	}
	sw = gpu_counter("switches") - sw0;
	ent = gpu_counter("switch_entries_copied") + gpu_counter("prefetch_entries_copied") - ent0;
	ns = gpu_counter("copy_ns") - ns0;
	foreign = gpu_counter("ggtt_foreign") - foreign0;
	ksft_print_msg("multi: %d guests, %d rounds: %d workloads in %.0f ms (%.0f/s), %llu switches, %llu entries copied (vGPUs: %llu switches, %llu entries), copy %.1f ms (%.0f us/switch), ggtt_foreign %llu\n",
		       n, rounds, workloads, ms, workloads * 1e3 / ms, sw, ent, vsw, vent,
		       ns / 1e6, sw ? ns / 1e3 / sw : 0.0, foreign);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0ULL, foreign);
	EXPECT_EQ(0ULL, vf);
	EXPECT_LT(0ULL, sw);
	EXPECT_LT(0ULL, ent);
	EXPECT_LT(0ULL, vsw);
	EXPECT_LT(0ULL, vent);
}

TEST_F_TIMEOUT(multi, guests_2, 120)
{
	run_guests(_metadata, self, 2, 12);
}

TEST_F_TIMEOUT(multi, guests_8, 180)
{
	run_guests(_metadata, self, 8, 4);
}

TEST_F_TIMEOUT(multi, guests_32, 280)
{
	run_guests(_metadata, self, 32, 2);
}

/* Fairness ------------------------------------------------------------------ */

#define FAIR_STORES	900
#define FAIR_PAGES	4		/* batch pages: 900 stores of 4 dwords */
#define FAIR_CALLS	16		/* at most: the batch called 16 times */
#define FAIR_WORKLOAD_MS 25		/* the engine time aimed at (calibrated) */

/* Set by the parent in shared memory: stop submitting. */
static volatile int *fair_stop;

/*
 * A saturating guest: one long store batch on rcs0, again and again; calls
 * (passed as rounds) is how many times a workload calls the store batch.
 */
static void saturate(int index, const char *uuid, int calls, int start, struct report *r)
{
	struct rgvt_batch b, top;
	struct rgvt_gpu g;
	__u64 t;
	int k, ret;

	ret = rgvt_gpu_open(&g, uuid, GUEST_PAGES);
	if (ret) {
		setup_failed(r, index, start, NULL, ret);
		return;
	}
	b = rgvt_gpu_batch_ppgtt(&g, FAIR_PAGES);
	top = rgvt_gpu_batch_ppgtt(&g, 1);
	t = rgvt_gpu_ppgtt_alloc(&g, 1);
	if (!b.start || !top.start || !t) {
		setup_failed(r, index, start, &g, 0);
		return;
	}
	for (k = 0; k < FAIR_STORES; k++)
		rgvt_batch_store(&b, t + 4 * (k % 1024), k, false);
	rgvt_batch_end(&b);
	/* Long workloads (tens of ms): the guest's own time between two is small. */
	for (k = 0; k < calls; k++) {
		*top.cs++ = MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT | MI_BATCH_2ND_LEVEL;
		*top.cs++ = (__u32)b.addr;
		*top.cs++ = b.addr >> 32;
	}
	rgvt_batch_end(&top);
	r->ready = 1;
	wait_start(start);
	while (!*fair_stop) {
		if (rgvt_gpu_submit(&g, RGVT_RCS, top.addr, false) ||
		    !rgvt_gpu_wait(&g, RGVT_RCS, WAIT_MS)) {
			r->timeouts++;
			fail(r, "guest %d: a workload did not complete", index);
			break;
		}
		r->workloads++;
	}
	rgvt_gpu_close(&g);
}

/*
 * How many calls of the store batch make a workload of about
 * FAIR_WORKLOAD_MS on this kernel (the debug kernel is several times
 * slower): workloads near the balance period's shares (14 ms for weight 1)
 * measure the policy, not the quantum; far longer ones quantize it.
 */
static int calibrate(const char *uuid, long id)
{
	struct rgvt_batch b, top;
	unsigned long long busy;
	struct rgvt_gpu g;
	double per = 0;
	int k, calls;
	__u64 t;

	if (rgvt_gpu_open(&g, uuid, GUEST_PAGES))
		return FAIR_CALLS;
	b = rgvt_gpu_batch_ppgtt(&g, FAIR_PAGES);
	top = rgvt_gpu_batch_ppgtt(&g, 1);
	t = rgvt_gpu_ppgtt_alloc(&g, 1);
	if (b.start && top.start && t) {
		for (k = 0; k < FAIR_STORES; k++)
			rgvt_batch_store(&b, t + 4 * (k % 1024), k, false);
		rgvt_batch_end(&b);
		for (k = 0; k < FAIR_CALLS; k++) {
			*top.cs++ = MI_BATCH_BUFFER_START_GEN8 | MI_BATCH_PPGTT | MI_BATCH_2ND_LEVEL;
			*top.cs++ = (__u32)b.addr;
			*top.cs++ = b.addr >> 32;
		}
		rgvt_batch_end(&top);
		/*
		 * One to warm up (the shadow PPGTT is built), three measured
		 * one by one: the fastest is the engine time of a workload, as
		 * the scheduler charges it. A stall of the test guest (TCG on
		 * a loaded host) only ever lengthens one, and a calibration
		 * from it made workloads so short that the guests' resubmit
		 * time, not the weights, set the shares.
		 */
		for (k = 0; k < 4; k++) {
			busy = vgpu_counter(id, "sched", "busy_ns");
			if (rgvt_gpu_submit(&g, RGVT_RCS, top.addr, false) ||
			    !rgvt_gpu_wait(&g, RGVT_RCS, WAIT_MS))
				break;
			if (k > 0) {
				double ms = (vgpu_counter(id, "sched", "busy_ns") - busy) / 1e6;

				if (ms > 0 && (per <= 0 || ms < per))
					per = ms;
			}
		}
		/* The engine time of one call. */
		if (k == 4)
			per /= FAIR_CALLS;
		else
			per = 0;
	}
	rgvt_gpu_close(&g);
	if (per <= 0)
		return FAIR_CALLS;
	calls = (int)(FAIR_WORKLOAD_MS / per + 0.5);
	return calls < 1 ? 1 : calls > FAIR_CALLS ? FAIR_CALLS : calls;
}

TEST_F_TIMEOUT(multi, fairness_1_2_4, 150)
{
	int calls;

	static const int weight[3] = { 1, 2, 4 };
	unsigned long long b0[3], b1[3];
	double total = 0, share;
	char path[PATH_MAX], w[8];
	unsigned long long got;
	int i;

	fair_stop = (volatile int *)&self->reports[63].ready;
	*fair_stop = 0;
	ASSERT_EQ(0, create(self, 3));
	for (i = 0; i < 3; i++) {
		snprintf(w, sizeof(w), "%d", weight[i]);
		ASSERT_EQ(0, rgvt_write(rgvt_path(path, MDEV_DEVICES "/%s/rgvt/weight",
						  self->uuid[i]), w));
		EXPECT_EQ((unsigned long long)weight[i],
			  vgpu_counter(self->id[i], "sched", "weight"));
		EXPECT_EQ(0, rgvt_vgpu_attr(self->uuid[i], "weight", &got));
		EXPECT_EQ((unsigned long long)weight[i], got);
	}
	calls = calibrate(self->uuid[0], self->id[0]);
	ksft_print_msg("fairness: workloads of %d calls of %d stores\n", calls, FAIR_STORES);
	ASSERT_EQ(0, spawn(self, calls, saturate));
	/*
	 * A second to settle, then ten measured: a stall of the test guest
	 * (TCG on a loaded host) is charged to the vGPU whose workload runs,
	 * and paid back from its next shares; the window must hold that.
	 */
	usleep(1000 * 1000);
	for (i = 0; i < 3; i++)
		b0[i] = vgpu_counter(self->id[i], "sched", "busy_ns");
	usleep(10000 * 1000);
	for (i = 0; i < 3; i++) {
		b1[i] = vgpu_counter(self->id[i], "sched", "busy_ns") - b0[i];
		total += b1[i];
	}
	*fair_stop = 1;
	reap(self);
	{
		char buf[4096];

		if (rgvt_read(RGVT_DEBUGFS "/engines", buf, sizeof(buf)) > 0)
			ksft_print_msg("fairness: engines:\n%s\n", buf);
	}
	for (i = 0; i < 3; i++) {
		struct report *r = &self->reports[i];

		share = b1[i] / total;
		ksft_print_msg("fairness: vgpu%ld weight %d: busy %.1f ms (%.1f%%, want %.1f%%), %d workloads, chosen %llu times%s%s\n",
			       self->id[i], weight[i], b1[i] / 1e6, share * 100,
			       weight[i] * 100.0 / 7, r->workloads,
			       vgpu_counter(self->id[i], "sched", "scheduled"),
			       r->msg[0] ? ": " : "", r->msg);
		EXPECT_EQ(0, r->timeouts);
		EXPECT_GT(0.10, (share > weight[i] / 7.0 ? share - weight[i] / 7.0 :
				 weight[i] / 7.0 - share) / (weight[i] / 7.0));
	}
	EXPECT_LT(5e9, total) TH_LOG("the engine was idle most of the time");
	/* Out of range or malformed weights are refused, counted, change nothing. */
	{
		static const char * const bad[] = { "0", "17", "-1", "2x", "1 2", "99999999999999999999" };
		unsigned long long refused = vgpu_counter(self->id[0], "counters", "sysfs_refused");

		rgvt_path(path, MDEV_DEVICES "/%s/rgvt/weight", self->uuid[0]);
		/*
		 * Braces: EXPECT_EQ() is a statement and its TH_LOG() the body of
		 * a loop of the harness after it, outside a bare for's body.
		 */
		for (unsigned int j = 0; j < ARRAY_SIZE(bad); j++) {
			EXPECT_EQ(-EINVAL, rgvt_write(path, bad[j])) TH_LOG("\"%s\"", bad[j]);
		}
		EXPECT_EQ(refused + ARRAY_SIZE(bad),
			  vgpu_counter(self->id[0], "counters", "sysfs_refused"));
	}
	EXPECT_EQ(1ULL, vgpu_counter(self->id[0], "sched", "weight"));
}

/* Removal and unload ---------------------------------------------------------- */

TEST_F_TIMEOUT(multi, removal_and_unload_while_switching, 120)
{
	int i;

	fair_stop = (volatile int *)&self->reports[63].ready;
	*fair_stop = 0;
	ASSERT_EQ(0, create(self, 6));
	ASSERT_EQ(0, spawn(self, 4, saturate));
	usleep(500 * 1000);
	/* Three guests die with work queued; their vGPUs go while the rest switch. */
	for (i = 0; i < 3; i++) {
		kill(self->child[i], SIGKILL);
		waitpid(self->child[i], NULL, 0);
		self->child[i] = 0;
		EXPECT_EQ(0, rgvt_mdev_remove(self->uuid[i]));
	}
	usleep(300 * 1000);
	for (i = 3; i < 6; i++)
		EXPECT_LT(0, self->reports[i].workloads) TH_LOG("guest %d never completed", i);
	EXPECT_LT(0ULL, gpu_counter("switches"));
	/* The rest die with work queued; the module goes with their vGPUs. */
	for (i = 3; i < 6; i++) {
		kill(self->child[i], SIGKILL);
		waitpid(self->child[i], NULL, 0);
		self->child[i] = 0;
	}
	ASSERT_EQ(0, rgvt_module_unload_settled());
	EXPECT_EQ(0, rgvt_mdev_count());
	ASSERT_EQ(0, rgvt_module_load());
}

RGVT_TEST_MAIN(true)
