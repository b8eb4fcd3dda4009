// SPDX-License-Identifier: GPL-2.0
/*
 * manyguests: many guests on one GPU, for the rgvt demo.
 *
 *   manyguests [-t SECS] UUID... [-- CMD [ARGS...]]
 *
 * One process per vGPU, each a small VFIO guest driver
 * (selftests/rgvt/rgvt_gpu.h): its batch (STORES store-dwords, GGTT
 * addresses) and its target page are bound in its high GM, each in a
 * different 64 MB slot, and those slots are shared with other vGPUs (S_32),
 * so the engines run a guest's work only after the GPU-wide scheduler has
 * switched its GTT entries in. Every guest submits on rcs0, back to back,
 * for SECS seconds (5), and after each completion checks all DWORDS values
 * in its own page (each workload writes different ones: a stale or foreign
 * value is caught). A workload writes the page PASSES times over, each pass
 * other values, so that it takes the engine a while (the scheduler's shares
 * follow the weights when the guests keep the GPU busy) and a pass run out
 * of order shows.
 *
 * Prints, per guest, its workloads and whether every result was right; per
 * vGPU its engine time during the run (debugfs vgpu<N>/sched busy_ns), its
 * share and the share its weight asks for; and the GPU's switches and GTT
 * entries copied during the run (debugfs gpu). CMD, if given, runs halfway
 * through, while the guests are submitting (the demo shows the slots there).
 *
 * Exit status: 0 if every result of every guest was right and every
 * workload completed, 1 otherwise, 2 on a setup error.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "rgvt_gpu.h"

#define MAX_GUESTS	16
#define GUEST_PAGES	160
#define SLOT_PAGES	16384		/* 64 MB of GM: one slot */
#define DWORDS		1024		/* the target: one 4 KB page */
#define PASSES		8
#define STORES		(DWORDS * PASSES)	/* per workload */
#define BATCH_PAGES	(STORES * 16 / 4096 + 1)	/* 4 dwords a store, and the end */
#define WAIT_MS		60000

/* What one guest reports (in memory shared with the parent). */
struct report {
	int ready;		/* 1 set up, -1 failed */
	int workloads;		/* completed and checked */
	long long results;	/* values checked */
	long long wrong;	/* values not as written */
	int timeouts;		/* workloads that did not complete */
	char msg[160];		/* the first failure */
};

static volatile int *stop;

static __u32 value(int guest, int workload, int pass, int k)
{
	return (__u32)(guest + 1) << 28 ^ (__u32)workload * 1031u ^ (__u32)pass << 24 ^
	       (__u32)k << 12 ^ (__u32)k;
}

static void wait_start(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void guest(int idx, const char *uuid, int start, struct report *r)
{
	unsigned int bpage, tpage;
	struct rgvt_batch b;
	struct rgvt_gpu g;
	__u64 bgm, tgm;
	int ret, k, w;

	ret = rgvt_gpu_open(&g, uuid, GUEST_PAGES);
	if (ret) {
		snprintf(r->msg, sizeof(r->msg), "open: %s", strerror(-ret));
		r->ready = -1;
		return;
	}
	bpage = rgvt_gpu_alloc(&g, BATCH_PAGES);
	tpage = rgvt_gpu_alloc(&g, 1);
	bgm = bpage == -1U ? ~0ULL : rgvt_gpu_map_high(&g, bpage, BATCH_PAGES, SLOT_PAGES);
	tgm = tpage == -1U ? ~0ULL : rgvt_gpu_map_high(&g, tpage, 1, SLOT_PAGES);
	if (bgm == ~0ULL || tgm == ~0ULL) {
		snprintf(r->msg, sizeof(r->msg), "high GM mapping failed");
		r->ready = -1;
		rgvt_gpu_close(&g);
		return;
	}
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	wait_start(start);
	for (w = 0; !*stop; w++) {
		__u32 *t = rgvt_gpu_host(&g, tpage);

		memset(t, 0, RGVT_GPU_PAGE);
		b = rgvt_gpu_batch_ggtt(&g, bpage, bgm);
		for (k = 0; k < STORES; k++)
			rgvt_batch_store(&b, tgm + 4 * (k % DWORDS),
					 value(idx, w, k / DWORDS, k % DWORDS), true);
		rgvt_batch_end(&b);
		if (rgvt_gpu_submit(&g, RGVT_RCS, b.addr, true) ||
		    !rgvt_gpu_wait(&g, RGVT_RCS, WAIT_MS)) {
			r->timeouts++;
			snprintf(r->msg, sizeof(r->msg), "workload %d did not complete", w);
			break;
		}
		/* The last pass's values. */
		for (k = 0; k < DWORDS; k++) {
			__u32 v = __atomic_load_n(&t[k], __ATOMIC_ACQUIRE);
			__u32 want = value(idx, w, PASSES - 1, k);

			r->results++;
			if (v != want && !r->wrong++)
				snprintf(r->msg, sizeof(r->msg),
					 "workload %d dword %d at GM %#llx: %#x, not %#x", w, k,
					 (unsigned long long)tgm + 4 * k, v, want);
		}
		r->workloads++;
	}
	rgvt_gpu_close(&g);
}

/* The value of the "name value" line of a debugfs file; 0 if none. */
static unsigned long long counter(const char *path, const char *name)
{
	char buf[16384], *line, *save = NULL;
	size_t len = strlen(name);

	if (rgvt_read(path, buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtoull(line + len + 1, NULL, 10);
	return 0;
}

static unsigned long long sched(long id, const char *name)
{
	char path[PATH_MAX];

	return counter(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/sched", id), name);
}

static unsigned long long gpu(const char *name)
{
	return counter(RGVT_DEBUGFS "/gpu", name);
}

int main(int argc, char **argv)
{
	unsigned long long busy0[MAX_GUESTS], busy[MAX_GUESTS], weight[MAX_GUESTS];
	unsigned long long sw0, ent0, sw, ent, total = 0, wsum = 0;
	pid_t child[MAX_GUESTS];
	long id[MAX_GUESTS];
	struct report *r;
	double secs = 5;
	int n, i, fds[2], bad = 0, setup = 0, first = 1;
	char **cmd = NULL;
	pid_t pid;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		secs = atof(argv[2]);
		first = 3;
	}
	for (n = 0; first + n < argc; n++)
		if (!strcmp(argv[first + n], "--")) {
			cmd = &argv[first + n + 1];
			break;
		}
	if (n < 1 || n > MAX_GUESTS || secs <= 0 || (cmd && !*cmd)) {
		fprintf(stderr, "usage: manyguests [-t SECS] UUID... [-- CMD [ARGS...]] (at most %d UUIDs)\n",
			MAX_GUESTS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		unsigned long long v;

		if (rgvt_vgpu_attr(argv[first + i], "vgpu_id", &v)) {
			fprintf(stderr, "manyguests: %s: no such vGPU\n", argv[first + i]);
			return 2;
		}
		id[i] = v;
	}
	r = mmap(NULL, MAX_GUESTS * sizeof(*r) + sizeof(int), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED || pipe(fds))
		return 2;
	memset(r, 0, MAX_GUESTS * sizeof(*r) + sizeof(int));
	stop = (volatile int *)&r[MAX_GUESTS];
	for (i = 0; i < n; i++) {
		child[i] = fork();
		if (child[i] < 0)
			return 2;
		if (child[i] == 0) {
			close(fds[1]);
			guest(i, argv[first + i], fds[0], &r[i]);
			_exit(0);
		}
	}
	close(fds[0]);
	for (i = 0; i < n; i++)
		while (!__atomic_load_n(&r[i].ready, __ATOMIC_ACQUIRE))
			usleep(1000);
	for (i = 0; i < n; i++) {
		weight[i] = sched(id[i], "weight");
		busy0[i] = sched(id[i], "busy_ns");
		if (r[i].ready < 0) {
			printf("guest %d on vGPU %ld: setup failed: %s\n", i, id[i], r[i].msg);
			setup = 1;
		}
	}
	sw0 = gpu("switches");
	ent0 = gpu("switch_entries_copied") + gpu("prefetch_entries_copied");
	/* Every guest is set up: all go at once. */
	close(fds[1]);
	if (cmd) {
		usleep((useconds_t)(secs / 2 * 1e6));
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execvp(cmd[0], cmd);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &i, 0) < 0 || !WIFEXITED(i) || WEXITSTATUS(i)) {
			printf("manyguests: '%s' failed\n", cmd[0]);
			setup = 1;
		}
		usleep((useconds_t)(secs / 2 * 1e6));
	} else {
		usleep((useconds_t)(secs * 1e6));
	}
	*stop = 1;
	for (i = 0; i < n; i++) {
		busy[i] = sched(id[i], "busy_ns") - busy0[i];
		total += busy[i];
		wsum += weight[i];
	}
	sw = gpu("switches") - sw0;
	ent = gpu("switch_entries_copied") + gpu("prefetch_entries_copied") - ent0;
	for (i = 0; i < n; i++)
		waitpid(child[i], NULL, 0);

	printf("%d guests, %.0f s, each: GGTT batches of %d store-dwords (%d passes over a page) in its shared high GM, the page checked after each\n",
	       n, secs, STORES, PASSES);
	for (i = 0; i < n; i++) {
		if (r[i].ready < 0)
			continue;
		if (!r[i].wrong && !r[i].timeouts && r[i].workloads > 0) {
			printf("guest %d on vGPU %-2ld: %4d workloads, all %lld results right\n", i,
			       id[i], r[i].workloads, r[i].results);
		} else {
			printf("guest %d on vGPU %-2ld: %4d workloads, %lld of %lld results WRONG, %d not completed: %s\n",
			       i, id[i], r[i].workloads, r[i].wrong, r[i].results, r[i].timeouts,
			       r[i].msg[0] ? r[i].msg : "no workload ran");
			bad = 1;
		}
	}
	printf("engine time during the run (debugfs vgpu<N>/sched busy_ns; the shares follow the weights while each guest keeps work queued):\n");
	for (i = 0; i < n; i++)
		printf("  vGPU %-2ld weight %llu: busy %6.0f ms = %4.1f%% of their total (the weights' share: %4.1f%%)\n",
		       id[i], weight[i], busy[i] / 1e6, total ? busy[i] * 100.0 / total : 0.0,
		       wsum ? weight[i] * 100.0 / wsum : 0.0);
	printf("GTT switches during the run (debugfs gpu): %llu, GTT entries copied: %llu\n", sw, ent);
	return setup ? 2 : bad;
}
