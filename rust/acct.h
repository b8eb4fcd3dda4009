/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for the balloon worker (see acct.c): a kernel thread, the
 * clock of online CPUs, and the scheduler's run delay of the threads that
 * run a vGPU's guest. Each is a few lines of C; the logic lives in Rust.
 */
#ifndef RGVT_ACCT_H
#define RGVT_ACCT_H

#include <linux/types.h>

struct pid;
struct task_struct;
struct vfio_device;

/* A thread's (or a set of threads') time, from its sched_info and CFS. */
struct rgvt_run_time {
	/* Time runnable but waiting for a CPU (sched_info.run_delay), ns. */
	u64 delay_ns;
	/* Time running (se.sum_exec_runtime), ns. */
	u64 exec_ns;
	/* Threads summed. */
	u32 threads;
};

/* kthread_run(fn, data, "%s", name) with a reference on the task; NULL on error. */
struct task_struct *rgvt_kthread_start(int (*fn)(void *), void *data, const char *name);
/* kthread_stop_put(task). */
void rgvt_kthread_stop(struct task_struct *task);
/* Sleeps up to ms milliseconds or until kthread_stop(); returns kthread_should_stop(). */
bool rgvt_kthread_sleep(unsigned int ms);
unsigned int rgvt_num_online_cpus(void);

/*
 * The vCPU threads of the VM vdev is bound to (vdev->kvm), summed into *t.
 * vdev must be open (VFIO holds its kvm reference from before open_device
 * to after close_device). Returns false when the device has no VM.
 */
bool rgvt_kvm_vcpu_times(struct vfio_device *vdev, struct rgvt_run_time *t);
/* A reference on the calling thread's thread group (the VMM). */
struct pid *rgvt_current_tgid(void);
void rgvt_put_pid(struct pid *pid);
/* Every live thread of the thread group pid, summed into *t; false if it exited. */
bool rgvt_tgid_times(struct pid *pid, struct rgvt_run_time *t);

#endif /* RGVT_ACCT_H */
