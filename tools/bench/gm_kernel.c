// SPDX-License-Identifier: GPL-2.0
/*
 * gm_kernel: gBalloon's comparison in the kernel, on rgvt's sim engines.
 *
 * Each guest is a process with its own rgvt-S_32 vGPU, opened through VFIO
 * as a VMM opens it, running the small gen9 driver of
 * selftests/rgvt/rgvt_gpu.h (guest memory mapped for DMA, a status page,
 * ring and logical ring context per engine in its low GM, execlists, the
 * engines' interrupts through MSI, so that a guest sleeps until its
 * workload's context-status event). Its "buffers" live in its high GM:
 * each takes a span of 16 MB (SPANS_PER_SLOT to a slot) of graphics address
 * space in one of the slots the PV balloon fields say it may use (which
 * ballooning changes), and is bound by writing the GGTT entries of its
 * first PAGES_PER_BUF pages (trapped 8-byte BAR0 writes, each pinning the
 * guest page); the rest of the span stays on scratch (binding cost scaled
 * down, the address-space pressure kept). A workload touches TOUCH buffers
 * of the guest's working set in turn: a batch in low GM (privileged) of
 * MI_STORE_DWORD_IMM through the GGTT to every bound page; after the
 * context-complete event the guest checks that each value is in the guest
 * page its own GGTT entry names. A buffer that is not bound is bound first; when no
 * span is free the least recently used buffer is unbound (an eviction).
 *
 * Guests: -g of them (default 3 of 15) have a working set that grows from 5
 * to 13 slots over the run (gBalloon's "valley"), the others small constant
 * ones of 1 to 5 slots (2D and 3D games of the paper's mix). An S_32 holds 6 slots (384
 * MB) of the GPU's shared high GM.
 *
 * Four configurations, one after the other, each for -t seconds (20), and
 * static-384 once more at the end (how much the machine drifted meanwhile):
 *   static-384   balloon off, every vGPU at its type's 6 slots;
 *   static-1024  every vGPU grown to 16 slots first (balloon on, T1 = T2 =
 *                2.0: every request granted), then balloon off;
 *   balloon      balloon on at the default thresholds, period PERIOD_MS; a
 *                growing guest asks for up to two slots more after
 *                EVICT_ASK evictions (RGVT_PV_BALLOON_*, as
 *                selftests/rgvt/rgvt_balloon.c), acknowledges grants and
 *                rejections, and on a release request unbinds the buffers in
 *                the slots it loses and acknowledges;
 *   balloon-grow the same with W_max = C_max = 1.0 and T1 = T2 = 2.0, so Φ
 *                stays below T1 and the worker grants what it can (what
 *                ballooning does on a host with headroom: on 2 TCG vCPUs
 *                the measured W and C are above the default W_max 0.5 and
 *                C_max 0.1, Φ is near 2 and nearly every expansion is
 *                rejected).
 * Per configuration: GTT entries copied per second and ns per switch
 * (debugfs gpu: the copies of HostGgtt::switch_in and its predictive copy,
 * which the engines make before each vGPU's work), workloads per second per guest (min, median, max),
 * evictions, grants and releases (debugfs balloon), results that were wrong.
 *
 * Then the scale test: with the module reloaded with sim_aperture_mb=512 (so
 * that 64 S_32 fit in low GM) and max_vgpus 64, 8, 15, 32, 48, 64 vGPUs each run SCALE_WL
 * workloads at once, every result checked; it stops at the first count that
 * fails (a vGPU not created, a workload not completed, a wrong result).
 *
 * Prints tables, asserts nothing (the exit status says whether it ran); the
 * last line "RGVT-GM-JSON {...}" is what tools/bench-gm.sh keeps.
 *
 *   gm_kernel [-t SECS] [-n GUESTS] [-g GROWING] [--no-scale] [--scale-only]
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "rgvt.h"
#include "rgvt_util.h"
#include "rgvt_gpu.h"

#define TYPE		"rgvt-S_32"
#define PAGE		RGVT_GPU_PAGE
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX

#define MAX_GUESTS	64
#define SPANS_PER_SLOT	4		/* 16 MB spans in a 64 MB slot */
#define MAX_SLOTS	256		/* the PV slot map's bits */
#define PAGES_PER_BUF	2
#define MAX_BUFS	64		/* 16 slots of working set */
#define TOUCH		4		/* buffers per workload */
#define GUEST_PAGES	(64 + MAX_BUFS * PAGES_PER_BUF + 8)
#define WAIT_MS		30000
#define EVICT_ASK	4
#define PERIOD_MS	100
#define GROW_FROM	5
#define GROW_TO		13
#define STATIC_BIG	16		/* slots: 1024 MB */
#define SCALE_WL	10
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define RGVT_STR_(x)	#x
#define RGVT_STR(x)	RGVT_STR_(x)

static const unsigned int small_slots[] = { 5, 4, 5, 4, 2, 2, 1, 2, 5, 4, 5, 2, 1, 2 };

enum cfg { STATIC_384, STATIC_1024, BALLOON, BALLOON_LOW, SCALE, NCONFIGS = SCALE };
static const char *const cfg_name[] = { "static-384", "static-1024", "balloon", "balloon-grow",
					"scale" };

/* What a guest reports to the parent (shared memory). */
struct gres {
	int setup_err;			/* -errno of the set-up, 0 when it ran */
	char why[96];
	long id;
	bool growing;
	unsigned long long done, wrong, timeouts, failures, evictions, binds;
	unsigned long long requests, granted, rejected, released;
	unsigned int slots_start, slots_end, slots_max;
	double secs;
};

/* Shared by the parent and the guests (MAP_SHARED); the flags are read with __atomic. */
struct shared {
	int ready, go, stop;
	struct gres r[MAX_GUESTS];
};

struct buf {
	int span;			/* -1 when not bound */
	unsigned int page;		/* first of PAGES_PER_BUF guest pages */
	unsigned long long lru;
};

struct guest {
	int idx;
	enum cfg cfg;
	struct rgvt_gpu gpu;
	unsigned int batch_page;
	__u64 batch_gm;
	__u64 slot_base, slot_size;
	__u32 map[8];
	short span_buf[MAX_SLOTS * SPANS_PER_SLOT];	/* buffer in a span, or -1 */
	struct buf bufs[MAX_BUFS];
	unsigned long long tick;
	__u32 seq, req_seq, handled_seq;
	bool inflight;
	double inflight_at;
	unsigned int evict_since_req;
	struct gres *r;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Guest memory, BAR0 ---------------------------------------------------- */

static __u32 mmio_read(struct guest *g, __u32 off)
{
	return rgvt_gpu_mmio_read(&g->gpu, off);
}

static int mmio_write(struct guest *g, __u32 off, __u32 v)
{
	return rgvt_gpu_mmio_write(&g->gpu, off, v);
}

static __u32 pv(struct guest *g, __u32 off)
{
	return mmio_read(g, VGT_PVINFO_PAGE + off);
}

static int pv_write(struct guest *g, __u32 off, __u32 v)
{
	return mmio_write(g, VGT_PVINFO_PAGE + off, v);
}

/* The engine ------------------------------------------------------------ */

/* The batch, then its context-status event (rgvt_gpu_wait sleeps on the MSI). */
static int submit_and_wait(struct guest *g)
{
	int ret = rgvt_gpu_submit(&g->gpu, RGVT_RCS, g->batch_gm, true);

	if (ret)
		return ret;
	return rgvt_gpu_wait(&g->gpu, RGVT_RCS, WAIT_MS) ? 0 : -ETIMEDOUT;
}

/* High GM: slots, spans, buffers ----------------------------------------- */

static bool in_map(const __u32 map[8], unsigned int s)
{
	return map[s / 32] & (1U << (s % 32));
}

static unsigned int slots_in(const __u32 map[8])
{
	unsigned int i, n = 0;

	for (i = 0; i < 8; i++)
		n += __builtin_popcount(map[i]);
	return n;
}

static void read_map(struct guest *g)
{
	int i;

	for (i = 0; i < 8; i++)
		g->map[i] = pv(g, RGVT_PV_BALLOON_SLOT_MAP + 4 * i);
	g->r->slots_end = slots_in(g->map);
	if (g->r->slots_end > g->r->slots_max)
		g->r->slots_max = g->r->slots_end;
}

static __u64 span_gm(struct guest *g, int span)
{
	return g->slot_base + (span / SPANS_PER_SLOT) * g->slot_size +
	       (span % SPANS_PER_SLOT) * (g->slot_size / SPANS_PER_SLOT);
}

static int unbind(struct guest *g, int b)
{
	struct buf *bf = &g->bufs[b];
	__u64 index = span_gm(g, bf->span) / PAGE;
	int p, ret = 0;

	for (p = 0; p < PAGES_PER_BUF; p++)
		ret |= rgvt_gpu_ggtt_set(&g->gpu, (index + p) * PAGE, 0);
	g->span_buf[bf->span] = -1;
	bf->span = -1;
	return ret;
}

/*
 * Binds buffer b in a free span of a slot the guest may use; when there is
 * none, unbinds the least recently used buffer not in keep[] first.
 */
static int bind(struct guest *g, int b, const int *keep, int nkeep)
{
	int span, best = -1, i, k, p, ret = 0;
	__u64 index;

	for (span = 0; span < MAX_SLOTS * SPANS_PER_SLOT; span++)
		if (in_map(g->map, span / SPANS_PER_SLOT) && g->span_buf[span] < 0)
			break;
	if (span == MAX_SLOTS * SPANS_PER_SLOT) {
		for (i = 0; i < MAX_BUFS; i++) {
			bool kept = false;

			if (g->bufs[i].span < 0)
				continue;
			for (k = 0; k < nkeep; k++)
				kept |= keep[k] == i;
			if (!kept && (best < 0 || g->bufs[i].lru < g->bufs[best].lru))
				best = i;
		}
		if (best < 0)
			return -ENOSPC;
		span = g->bufs[best].span;
		ret = unbind(g, best);
		g->r->evictions++;
		g->evict_since_req++;
	}
	index = span_gm(g, span) / PAGE;
	for (p = 0; p < PAGES_PER_BUF; p++)
		ret |= rgvt_gpu_ggtt_set(&g->gpu, (index + p) * PAGE,
					 RGVT_GPU_PTE(rgvt_gpu_gpa(g->bufs[b].page + p) / PAGE));
	g->bufs[b].span = span;
	g->span_buf[span] = b;
	g->r->binds++;
	return ret;
}

/* The balloon protocol, guest side --------------------------------------- */

static int notify(struct guest *g, __u32 what)
{
	return pv_write(g, VGT_IF_G2V_NOTIFY, what);
}

static int request(struct guest *g, __u32 slots, __u32 evictions)
{
	g->req_seq++;
	g->r->requests++;
	g->inflight = true;
	g->inflight_at = now_s();
	return pv_write(g, RGVT_PV_BALLOON_REQ_SLOTS, slots) ?:
	       pv_write(g, RGVT_PV_BALLOON_REQ_EVICTIONS, evictions) ?:
	       pv_write(g, RGVT_PV_BALLOON_REQ_SEQ, g->req_seq) ?:
	       notify(g, RGVT_G2V_BALLOON_REQUEST);
}

static int ack(struct guest *g, __u32 seq)
{
	return pv_write(g, RGVT_PV_BALLOON_ACK_SEQ, seq) ?: notify(g, RGVT_G2V_BALLOON_ACK);
}

/*
 * Answers whatever the host said since the last look: a grant or a
 * rejection is acknowledged (the slot map re-read), a release request is
 * met (the buffers in the slots not kept are unbound) and acknowledged.
 */
static int balloon_poll(struct guest *g)
{
	__u32 status = pv(g, RGVT_PV_BALLOON_STATUS), seq;
	int ret = 0, s;

	if (g->inflight && now_s() - g->inflight_at > 5)
		g->inflight = false;	/* a request the host saw as a repeat */
	if (status == RGVT_BALLOON_IDLE || status == ~0U)
		return 0;
	seq = pv(g, RGVT_PV_BALLOON_SEQ);
	if (seq == g->handled_seq)
		return 0;
	g->handled_seq = seq;
	switch (status) {
	case RGVT_BALLOON_GRANTED:
		g->r->granted++;
		g->inflight = false;
		read_map(g);
		break;
	case RGVT_BALLOON_REJECTED:
		g->r->rejected++;
		g->inflight = false;
		break;
	case RGVT_BALLOON_RELEASE:
		read_map(g);	/* the slots kept */
		for (s = 0; s < MAX_SLOTS * SPANS_PER_SLOT; s++)
			if (g->span_buf[s] >= 0 && !in_map(g->map, s / SPANS_PER_SLOT))
				ret |= unbind(g, g->span_buf[s]);
		g->r->released++;
		break;
	default:
		return 0;
	}
	return ret ?: ack(g, seq);
}

/* One guest -------------------------------------------------------------- */

/* The working set in slots at time t of total (growing guests grow). */
static unsigned int demand(struct guest *g, double t, double total)
{
	if (g->r->growing) {
		/* One slot more every total / 9 seconds: 5, 6, ..., 13. */
		unsigned int step = total > 0 ? (unsigned int)(t / total * (GROW_TO - GROW_FROM + 1)) :
				    GROW_TO - GROW_FROM;

		return GROW_FROM + (step < GROW_TO - GROW_FROM ? step : GROW_TO - GROW_FROM);
	}
	if (g->cfg == SCALE)
		return 4;
	return small_slots[g->idx % ARRAY_SIZE(small_slots)];
}

/* One workload over the next TOUCH buffers of a working set of ws; checked. */
static int workload(struct guest *g, unsigned int ws, unsigned int *cursor)
{
	int touched[TOUCH], i, p, ret;
	struct rgvt_batch b;
	__u32 value;

	if (ws > MAX_BUFS)
		ws = MAX_BUFS;
	g->seq++;
	for (i = 0; i < TOUCH; i++) {
		touched[i] = (*cursor + i) % ws;
		if (g->bufs[touched[i]].span < 0) {
			ret = bind(g, touched[i], touched, i);
			if (ret)
				return ret;
		}
		g->bufs[touched[i]].lru = ++g->tick;
	}
	*cursor = (*cursor + TOUCH) % ws;
	b = rgvt_gpu_batch_ggtt(&g->gpu, g->batch_page, g->batch_gm);
	for (i = 0; i < TOUCH; i++) {
		__u64 gm = span_gm(g, g->bufs[touched[i]].span);

		for (p = 0; p < PAGES_PER_BUF; p++) {
			__u64 a = gm + p * PAGE + (g->seq % 1024) * 4;

			value = (__u32)(g->idx + 1) << 24 ^ g->seq << 8 ^ (touched[i] << 1 | p);
			rgvt_batch_store(&b, a, value, true);
		}
	}
	rgvt_batch_end(&b);
	ret = submit_and_wait(g);
	if (ret == -ETIMEDOUT) {
		g->r->timeouts++;
		return ret;
	}
	if (ret)
		return ret;
	for (i = 0; i < TOUCH; i++) {
		for (p = 0; p < PAGES_PER_BUF; p++) {
			__u32 *w = rgvt_gpu_host(&g->gpu, g->bufs[touched[i]].page + p);

			value = (__u32)(g->idx + 1) << 24 ^ g->seq << 8 ^ (touched[i] << 1 | p);
			if (__atomic_load_n(&w[g->seq % 1024], __ATOMIC_ACQUIRE) != value)
				g->r->wrong++;
		}
	}
	g->r->done++;
	return 0;
}

/* Why a workload did not complete: the vGPU's engine counters that moved. */
static void dump_engines(struct guest *g)
{
	char path[PATH_MAX], buf[16384], *line, *save = NULL, *engine = "";

	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/engines", g->r->id), buf,
		      sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ')
			engine = line;
		else if (strncmp(engine, "rcs", 3) == 0 && !strstr(line, " 0"))
			printf("guest %d (vgpu%ld) %s:%s\n", g->idx, g->r->id, engine, line);
	}
	if (rgvt_read(rgvt_path(path, RGVT_DEBUGFS "/vgpu%ld/sched", g->r->id), buf,
		      sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("guest %d (vgpu%ld) sched: %s\n", g->idx, g->r->id, line);
}

static int guest_setup(struct guest *g, const char *uuid)
{
	int ret, i;

	ret = rgvt_gpu_open(&g->gpu, uuid, GUEST_PAGES);
	if (ret) {
		snprintf(g->r->why, sizeof(g->r->why), "rgvt_gpu_open");
		return ret;
	}
	g->batch_page = rgvt_gpu_alloc(&g->gpu, 1);
	g->batch_gm = g->batch_page == -1U ? ~0ULL :
		      rgvt_gpu_map_low(&g->gpu, g->batch_page, 1);
	if (g->batch_gm == ~0ULL) {
		snprintf(g->r->why, sizeof(g->r->why), "batch page");
		return -ENOMEM;
	}
	for (i = 0; i < MAX_BUFS; i++) {
		g->bufs[i].span = -1;
		g->bufs[i].page = rgvt_gpu_alloc(&g->gpu, PAGES_PER_BUF);
		if (g->bufs[i].page == -1U) {
			snprintf(g->r->why, sizeof(g->r->why), "guest memory");
			return -ENOMEM;
		}
	}
	for (i = 0; i < MAX_SLOTS * SPANS_PER_SLOT; i++)
		g->span_buf[i] = -1;
	/* The worker publishes the balloon fields every period. */
	for (i = 0; i < 300 && pv(g, RGVT_PV_BALLOON_VERSION) != 1; i++)
		usleep(10 * 1000);
	if (pv(g, RGVT_PV_BALLOON_VERSION) != 1) {
		snprintf(g->r->why, sizeof(g->r->why), "PV balloon fields never published");
		return -ENODEV;
	}
	g->slot_base = pv(g, RGVT_PV_BALLOON_SLOT_BASE);
	g->slot_size = pv(g, RGVT_PV_BALLOON_SLOT_SIZE);
	read_map(g);
	g->r->slots_start = g->r->slots_end;
	g->handled_seq = pv(g, RGVT_PV_BALLOON_SEQ);
	return 0;
}

/* static-1024: grow to STATIC_BIG slots while every request is granted. */
static int grow_to(struct guest *g, unsigned int want)
{
	double t0 = now_s();

	while (slots_in(g->map) < want && now_s() - t0 < 30) {
		if (!g->inflight && request(g, want - slots_in(g->map), 0))
			return -EIO;
		usleep(5 * 1000);
		if (balloon_poll(g))
			return -EIO;
	}
	return slots_in(g->map) >= want ? 0 : -ENOSPC;
}

static void guest_main(struct shared *sh, int idx, enum cfg cfg, const char *uuid, double secs,
		       int growing)
{
	struct guest *g = calloc(1, sizeof(*g));
	unsigned int cursor = 0, ws;
	double t0, t;
	int ret;

	if (!g)
		_exit(1);
	g->idx = idx;
	g->cfg = cfg;
	g->r = &sh->r[idx];
	g->r->growing = cfg != SCALE && idx < growing;
	ret = guest_setup(g, uuid);
	if (!ret && cfg == STATIC_1024)
		ret = grow_to(g, STATIC_BIG);
	g->r->setup_err = ret;
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	if (ret)
		_exit(1);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	t0 = now_s();
	for (;;) {
		t = now_s() - t0;
		if (cfg == SCALE ? g->r->done + g->r->failures >= SCALE_WL :
				   __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;
		ws = demand(g, t, secs) * SPANS_PER_SLOT;
		ret = workload(g, ws, &cursor);
		if (ret) {
			if (!g->r->failures)
				dump_engines(g);
			g->r->failures++;
			if (!g->r->why[0])
				snprintf(g->r->why, sizeof(g->r->why), "workload %llu: %s",
					 g->r->done + 1, strerror(-ret));
			if (ret != -ETIMEDOUT || g->r->timeouts > 3)
				break;
		}
		if (cfg == BALLOON || cfg == BALLOON_LOW) {
			balloon_poll(g);
			if (g->r->growing && !g->inflight && g->evict_since_req >= EVICT_ASK &&
			    slots_in(g->map) < demand(g, t, secs)) {
				unsigned int more = demand(g, t, secs) - slots_in(g->map);

				request(g, more > 2 ? 2 : more, g->evict_since_req);
				g->evict_since_req = 0;
			}
		}
	}
	g->r->secs = now_s() - t0;
	/* Answer what is in flight, so nothing waits on a gone guest. */
	balloon_poll(g);
	rgvt_gpu_close(&g->gpu);
	_exit(0);
}

/* The parent: debugfs, tunables, the runs ---------------------------------- */

struct gpu_counters {
	unsigned long long switches, switches_free, entries, prefetch, sync, copy_ns;
};

static unsigned long long field(const char *buf, const char *name)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "%s ", name);
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, strlen(key)))
			return strtoull(p + strlen(key), NULL, 10);
	return 0;
}

static void gpu_read(struct gpu_counters *c)
{
	static char buf[16384];

	memset(c, 0, sizeof(*c));
	if (rgvt_read(RGVT_DEBUGFS "/gpu", buf, sizeof(buf)) < 0)
		return;
	c->switches = field(buf, "switches");
	c->switches_free = field(buf, "switches_free");
	c->entries = field(buf, "switch_entries_copied");
	c->prefetch = field(buf, "prefetch_entries_copied");
	c->sync = field(buf, "sync_entries_copied");
	c->copy_ns = field(buf, "copy_ns");
}

/* "vgpu<id>.<name> <n>" in debugfs balloon, or 0. */
static long long balloon_counter(const char *buf, long id, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "vgpu%ld.%s ", id, name);
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* Φ, W and C of the latest balloon period ("phi <x>; w <x>; c <x>"); false if none. */
static bool balloon_phi(double *phi, double *w, double *c)
{
	static char buf[64 * 1024];
	const char *p, *q, *r;

	if (rgvt_read(RGVT_DEBUGFS "/balloon", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "; phi ");
	q = strstr(buf, "; w ");
	r = strstr(buf, "; c ");
	if (!p || !q || !r)
		return false;
	*phi = strtod(p + 6, NULL);
	*w = strtod(q + 4, NULL);
	*c = strtod(r + 4, NULL);
	return true;
}

static int set(const char *name, const char *value)
{
	char path[PATH_MAX];
	int ret = rgvt_write(rgvt_path(path, RGVT_SYSFS "/%s", name), value);

	if (ret)
		fprintf(stderr, "gm_kernel: %s=%s: %s\n", name, value, strerror(-ret));
	return ret;
}

static int thresholds(const char *t1, const char *t2)
{
	return set("balloon_t1", "0") ?: set("balloon_t2", t2) ?: set("balloon_t1", t1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct outcome {
	enum cfg cfg;
	const char *label;
	int n, started, failed_setup;
	double secs;
	double entries_per_s, ns_per_switch, switches_per_s;
	double wl_min, wl_med, wl_max, wl_growing_med;
	unsigned long long done, wrong, timeouts, failures, evictions, binds;
	unsigned long long requests, granted, granted_slots, rejected, releases, released,
			   released_slots, withdrawn;
	unsigned int slots_min, slots_max, slots_growing_end;
	double phi_mean, w_mean, c_mean;
	char why[128];
};

/*
 * Creates n vGPUs, starts a guest on each, lets them run secs (or SCALE_WL
 * workloads each), and collects what they and debugfs say.
 */
static int run(enum cfg cfg, int n, int growing, double secs, struct outcome *o)
{
	static char bbuf[64 * 1024];
	struct rgvt_created created = { 0 };
	char uuids[MAX_GUESTS][RGVT_UUID_LEN + 1];
	pid_t pids[MAX_GUESTS];
	struct gpu_counters c0, c1;
	struct shared *sh;
	double rates[MAX_GUESTS], grow_rates[MAX_GUESTS], t0, phi_sum = 0, w_sum = 0, c_sum = 0;
	int i, ngrow = 0, nrates = 0, phi_n = 0, status;
	unsigned long long id;

	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->label = cfg_name[cfg];
	o->n = n;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -ENOMEM;
	memset(sh, 0, sizeof(*sh));
	if (set("balloon", cfg == STATIC_384 || cfg == SCALE ? "0" : "1") ||
	    set("balloon_w_max", cfg == BALLOON_LOW ? "1.0" : "0.5") ||
	    set("balloon_c_max", cfg == BALLOON_LOW ? "1.0" : "0.1") ||
	    (cfg == STATIC_1024 || cfg == BALLOON_LOW ? thresholds("2.0", "2.0") :
	     thresholds("0.5", "1.0")))
		return -EIO;
	for (i = 0; i < n; i++) {
		int ret = rgvt_create(&created, TYPE, uuids[i]);

		if (ret) {
			snprintf(o->why, sizeof(o->why), "vGPU %d of %d not created: %s", i + 1, n,
				 strerror(-ret));
			n = i;
			break;
		}
		sh->r[i].id = rgvt_vgpu_attr(uuids[i], "vgpu_id", &id) ? -1 : (long)id;
	}
	o->started = n;
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			guest_main(sh, i, cfg, uuids[i], secs, growing);
		if (pids[i] < 0) {
			snprintf(o->why, sizeof(o->why), "fork: %s", strerror(errno));
			n = i;
			break;
		}
	}
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < n)
		usleep(10 * 1000);
	for (i = 0; i < n; i++)
		if (sh->r[i].setup_err) {
			o->failed_setup++;
			if (!o->why[0])
				snprintf(o->why, sizeof(o->why), "guest %d set-up: %s: %s", i,
					 sh->r[i].why, strerror(-sh->r[i].setup_err));
		}
	if (cfg == STATIC_1024) {
		set("balloon", "0");
		thresholds("0.5", "1.0");
	}
	gpu_read(&c0);
	t0 = now_s();
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	if (cfg == SCALE) {
		for (i = 0; i < n; i++)
			waitpid(pids[i], &status, 0);
	} else {
		while (now_s() - t0 < secs) {
			usleep(500 * 1000);
			if (cfg == BALLOON || cfg == BALLOON_LOW) {
				double phi, w, c;

				if (balloon_phi(&phi, &w, &c)) {
					phi_sum += phi;
					w_sum += w;
					c_sum += c;
					phi_n++;
				}
			}
		}
		__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
		for (i = 0; i < n; i++)
			waitpid(pids[i], &status, 0);
	}
	o->secs = now_s() - t0;
	gpu_read(&c1);
	if (rgvt_read(RGVT_DEBUGFS "/balloon", bbuf, sizeof(bbuf)) < 0)
		bbuf[0] = 0;
	o->switches_per_s = (c1.switches - c0.switches) / o->secs;
	o->entries_per_s = (c1.entries + c1.prefetch + c1.sync - c0.entries - c0.prefetch -
			    c0.sync) / o->secs;
	o->ns_per_switch = c1.switches > c0.switches ?
			   (double)(c1.copy_ns - c0.copy_ns) / (c1.switches - c0.switches) : 0;
	o->phi_mean = phi_n ? phi_sum / phi_n : -1;
	o->w_mean = phi_n ? w_sum / phi_n : -1;
	o->c_mean = phi_n ? c_sum / phi_n : -1;
	o->slots_min = ~0U;
	for (i = 0; i < n; i++) {
		struct gres *r = &sh->r[i];

		if (r->setup_err)
			continue;
		o->done += r->done;
		o->wrong += r->wrong;
		o->timeouts += r->timeouts;
		o->failures += r->failures;
		if (r->failures && !o->why[0])
			snprintf(o->why, sizeof(o->why), "guest %d: %s", i, r->why);
		o->evictions += r->evictions;
		o->binds += r->binds;
		o->requests += balloon_counter(bbuf, r->id, "requests");
		o->granted += balloon_counter(bbuf, r->id, "granted");
		o->granted_slots += balloon_counter(bbuf, r->id, "granted_slots");
		o->rejected += balloon_counter(bbuf, r->id, "rejected");
		o->releases += balloon_counter(bbuf, r->id, "releases");
		o->released += balloon_counter(bbuf, r->id, "released");
		o->released_slots += balloon_counter(bbuf, r->id, "released_slots");
		o->withdrawn += balloon_counter(bbuf, r->id, "withdrawn");
		if (r->slots_end < o->slots_min)
			o->slots_min = r->slots_end;
		if (r->slots_end > o->slots_max)
			o->slots_max = r->slots_end;
		if (r->growing && r->slots_end > o->slots_growing_end)
			o->slots_growing_end = r->slots_end;
		rates[nrates++] = r->secs > 0 ? r->done / r->secs : 0;
		if (r->growing)
			grow_rates[ngrow++] = r->secs > 0 ? r->done / r->secs : 0;
	}
	if (nrates) {
		qsort(rates, nrates, sizeof(double), cmp_double);
		o->wl_min = rates[0];
		o->wl_med = rates[nrates / 2];
		o->wl_max = rates[nrates - 1];
	} else {
		o->slots_min = 0;
	}
	if (ngrow) {
		qsort(grow_rates, ngrow, sizeof(double), cmp_double);
		o->wl_growing_med = grow_rates[ngrow / 2];
	}
	rgvt_remove_created(&created);
	munmap(sh, sizeof(*sh));
	return 0;
}

static bool scale_ok(const struct outcome *o)
{
	return o->started == o->n && !o->failed_setup && !o->wrong && !o->failures &&
	       o->done == (unsigned long long)o->n * SCALE_WL;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void table(const struct outcome *o, int k)
{
	const struct outcome *b = &o[0];
	int i;

	printf("\n%-34s", "configuration");
	for (i = 0; i < k; i++)
		printf(" %14s", o[i].label);
	printf("\n");
#define ROW(label, fmt, expr) do {					\
		printf("%-34s", label);					\
		for (i = 0; i < k; i++)					\
			printf(" " fmt, (expr));			\
		printf("\n");						\
	} while (0)
/* A row of field, then the row of its ratio to the first configuration's. */
#define ROW_RATIO(label, fmt, field) do {				\
		ROW(label, fmt, o[i].field);				\
		ROW("  ratio vs static-384", "%14.2f", ratio(o[i].field, b->field)); \
	} while (0)
	ROW("vGPUs running", "%14d", o[i].started - o[i].failed_setup);
	ROW("seconds", "%14.1f", o[i].secs);
	ROW("high-GM slots per vGPU at end min", "%14u", o[i].slots_min);
	ROW("                              max", "%14u", o[i].slots_max);
	ROW("growing guests' slots at end", "%14u", o[i].slots_growing_end);
	ROW_RATIO("GTT entries copied / s", "%14.0f", entries_per_s);
	ROW("switches / s", "%14.1f", o[i].switches_per_s);
	ROW_RATIO("switch time (ns per switch)", "%14.0f", ns_per_switch);
	ROW("workloads / s per guest  min", "%14.1f", o[i].wl_min);
	ROW("                      median", "%14.1f", o[i].wl_med);
	ROW("                         max", "%14.1f", o[i].wl_max);
	ROW("  median ratio vs static-384", "%14.2f", ratio(o[i].wl_med, b->wl_med));
	ROW_RATIO("growing guests' median wl/s", "%14.1f", wl_growing_med);
	ROW("workloads completed", "%14llu", o[i].done);
	ROW("wrong results", "%14llu", o[i].wrong);
	ROW("workloads timed out", "%14llu", o[i].timeouts);
	ROW("workloads failed (any error)", "%14llu", o[i].failures);
	ROW_RATIO("evictions", "%14llu", evictions);
	ROW("balloon requests", "%14llu", o[i].requests);
	ROW("grants", "%14llu", o[i].granted);
	ROW("  slots granted", "%14llu", o[i].granted_slots);
	ROW("rejections", "%14llu", o[i].rejected);
	ROW("releases asked", "%14llu", o[i].releases);
	ROW("releases acknowledged", "%14llu", o[i].released);
	ROW("  slots released", "%14llu", o[i].released_slots);
	ROW("releases withdrawn", "%14llu", o[i].withdrawn);
	ROW("mean phi (ballooning only)", "%14.2f", o[i].phi_mean);
	ROW("  mean W", "%14.3f", o[i].w_mean);
	ROW("  mean C", "%14.3f", o[i].c_mean);
#undef ROW_RATIO
#undef ROW
	for (i = 0; i < k; i++)
		if (o[i].why[0])
			printf("%s: %s\n", o[i].label, o[i].why);
}

static void json_outcome(FILE *f, const struct outcome *o)
{
	fprintf(f, "{\"config\":\"%s\",\"vgpus\":%d,\"running\":%d,\"seconds\":%.2f,"
		"\"entries_per_s\":%.1f,\"switches_per_s\":%.2f,\"ns_per_switch\":%.1f,"
		"\"wl_per_s_min\":%.2f,\"wl_per_s_median\":%.2f,\"wl_per_s_max\":%.2f,"
		"\"wl_per_s_growing_median\":%.2f,\"workloads\":%llu,\"wrong\":%llu,"
		"\"timeouts\":%llu,\"failures\":%llu,\"evictions\":%llu,\"binds\":%llu,"
		"\"requests\":%llu,"
		"\"grants\":%llu,\"granted_slots\":%llu,\"rejections\":%llu,\"releases\":%llu,"
		"\"released\":%llu,\"released_slots\":%llu,\"withdrawn\":%llu,"
		"\"slots_min\":%u,\"slots_max\":%u,\"growing_slots_end\":%u,\"phi_mean\":%.3f,"
		"\"w_mean\":%.3f,\"c_mean\":%.3f}",
		o->label, o->n, o->started - o->failed_setup, o->secs, o->entries_per_s,
		o->switches_per_s, o->ns_per_switch, o->wl_min, o->wl_med, o->wl_max,
		o->wl_growing_med, o->done, o->wrong, o->timeouts, o->failures, o->evictions, o->binds,
		o->requests, o->granted, o->granted_slots, o->rejected, o->releases, o->released,
		o->released_slots, o->withdrawn, o->slots_min, o->slots_max,
		o->slots_growing_end, o->phi_mean, o->w_mean, o->c_mean);
}

/* The module unloaded (if it was loaded) and loaded again with params. */
static int module_reload(const char *params)
{
	int ret = rgvt_module_unload_settled();

	if (ret && ret != -ENOENT)
		return ret;
	return rgvt_module_load_params(params);
}

int main(int argc, char **argv)
{
	static const int counts[] = { 8, 15, 32, 48, 64 };
	/* static-384 again last: how much the machine drifted meanwhile. */
	static const enum cfg order[] = { STATIC_384, STATIC_1024, BALLOON, BALLOON_LOW, STATIC_384 };
	struct outcome o[ARRAY_SIZE(order)], sc[5];
	double secs = 20;
	int n = 15, growing = 3, i, k = 0, nsc = 0, largest = 0;
	bool scale = true, configs = true;
	const char *stop_why = "";

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-g") && i + 1 < argc)
			growing = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-scale"))
			scale = false;
		else if (!strcmp(argv[i], "--scale-only"))
			configs = false;
		else {
			fprintf(stderr, "usage: gm_kernel [-t SECS] [-n GUESTS] [-g GROWING] "
				"[--no-scale] [--scale-only]\n");
			return 2;
		}
	}
	if (n < 1 || n > MAX_GUESTS || secs <= 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rgvt_module_ensure()) {
		fprintf(stderr, "gm_kernel: cannot load %s\n", rgvt_ko());
		return 1;
	}
	if (set("balloon_period_ms", RGVT_STR(PERIOD_MS)))
		return 1;
	printf("gm_kernel: %d guests (%d growing from %d to %d slots of 64 MB, the others %s), "
	       "%.0f s per configuration,\n  %d buffers of %d MB per slot (%d pages bound each), "
	       "%d buffers a workload (store-dwords through the GGTT, each checked),\n"
	       "  balloon period %d ms, T1 0.5, T2 1.0, W_max 0.5, C_max 0.1 (balloon-grow: 2.0, 2.0, "
	       "1.0, 1.0); type %s (6 slots)\n",
	       n, growing, GROW_FROM, GROW_TO, "1-5 slots", secs, SPANS_PER_SLOT,
	       64 / SPANS_PER_SLOT, PAGES_PER_BUF, TOUCH, PERIOD_MS, TYPE);
	if (configs) {
		for (k = 0; k < (int)ARRAY_SIZE(order); k++) {
			printf("running %s ...\n", cfg_name[order[k]]);
			if (run(order[k], n, growing, secs, &o[k]))
				return 1;
			if (k && order[k] == STATIC_384)
				o[k].label = "static-384 #2";
		}
		table(o, k);
	}
	if (scale) {
		printf("\nscale: reloading the module with sim_aperture_mb=512 (64 S_32 in low GM), "
		       "max_vgpus 64, balloon off, %d workloads per vGPU, all at once\n", SCALE_WL);
		if (module_reload("sim_aperture_mb=512") || set("max_vgpus", "64")) {
			fprintf(stderr, "gm_kernel: module reload failed\n");
			return 1;
		}
		printf("%8s %8s %10s %8s %8s %10s %14s  %s\n", "vGPUs", "running", "workloads",
		       "wrong", "timeout", "seconds", "entries/s", "");
		for (nsc = 0; nsc < 5; nsc++) {
			struct outcome *s = &sc[nsc];
			bool ok;

			if (run(SCALE, counts[nsc], 0, 0, s))
				return 1;
			ok = scale_ok(s);
			printf("%8d %8d %10llu %8llu %8llu %10.1f %14.0f  %s %s\n", counts[nsc],
			       s->started - s->failed_setup, s->done, s->wrong, s->timeouts,
			       s->secs, s->entries_per_s, ok ? "ok" : "FAILED", s->why);
			if (!ok) {
				stop_why = s->why[0] ? s->why : "wrong or missing results";
				nsc++;
				break;
			}
			largest = counts[nsc];
		}
		printf("largest number of vGPUs submitting at once with correct results: %d "
		       "(tried 8, 15, 32, 48, 64; goal >= 32, gScale 15, GVT-g 8)\n", largest);
		if (module_reload("")) {
			fprintf(stderr, "gm_kernel: module reload failed\n");
			return 1;
		}
	}
	printf("RGVT-GM-JSON {\"guests\":%d,\"growing\":%d,\"seconds\":%.1f,\"period_ms\":%d,"
	       "\"configs\":[", n, growing, secs, PERIOD_MS);
	for (i = 0; i < k; i++) {
		if (i)
			printf(",");
		json_outcome(stdout, &o[i]);
	}
	printf("],\"scale\":{\"tried\":[");
	for (i = 0; i < nsc; i++) {
		if (i)
			printf(",");
		printf("{\"vgpus\":%d,\"ok\":%s,\"workloads\":%llu,\"wrong\":%llu,"
		       "\"timeouts\":%llu,\"seconds\":%.2f}", sc[i].n,
		       scale_ok(&sc[i]) ? "true" : "false", sc[i].done, sc[i].wrong,
		       sc[i].timeouts, sc[i].secs);
	}
	printf("],\"largest\":%d,\"stopped\":\"%s\"}}\n", largest, stop_why);
	set("balloon", "1");
	thresholds("0.5", "1.0");
	set("balloon_w_max", "0.5");
	set("balloon_c_max", "0.1");
	set("balloon_period_ms", "500");
	return 0;
}
