// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon worker's C helpers (see acct.h): kthread and cpumask macros,
 * and the run delay of the threads behind a vGPU. With CONFIG_SCHED_INFO a
 * task's sched_info.run_delay is the time it waited on a runqueue, which is
 * what KVM reports to a guest as steal time for a vCPU thread.
 */
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/vfio.h>

#include "acct.h"

struct task_struct *rgvt_kthread_start(int (*fn)(void *), void *data, const char *name)
{
	struct task_struct *task = kthread_create(fn, data, "%s", name);

	if (IS_ERR(task))
		return NULL;
	get_task_struct(task);
	wake_up_process(task);
	return task;
}

void rgvt_kthread_stop(struct task_struct *task)
{
	kthread_stop_put(task);
}

bool rgvt_kthread_sleep(unsigned int ms)
{
	/* The state is set before the check: a kthread_stop() in between wakes us. */
	set_current_state(TASK_INTERRUPTIBLE);
	if (!kthread_should_stop())
		schedule_timeout(msecs_to_jiffies(ms));
	__set_current_state(TASK_RUNNING);
	return kthread_should_stop();
}

unsigned int rgvt_num_online_cpus(void)
{
	return num_online_cpus();
}

static void add_task(struct task_struct *task, struct rgvt_run_time *t)
{
#ifdef CONFIG_SCHED_INFO
	t->delay_ns += READ_ONCE(task->sched_info.run_delay);
#endif
	t->exec_ns += READ_ONCE(task->se.sum_exec_runtime);
	t->threads++;
}

bool rgvt_kvm_vcpu_times(struct vfio_device *vdev, struct rgvt_run_time *t)
{
	struct kvm *kvm = vdev->kvm;
	struct kvm_vcpu *vcpu;
	unsigned long i;

	if (!kvm)
		return false;
	rcu_read_lock();
	kvm_for_each_vcpu(i, vcpu, kvm) {
		struct task_struct *task = pid_task(rcu_dereference(vcpu->pid), PIDTYPE_PID);

		if (task)
			add_task(task, t);
	}
	rcu_read_unlock();
	return true;
}

struct pid *rgvt_current_tgid(void)
{
	return get_task_pid(current, PIDTYPE_TGID);
}

void rgvt_put_pid(struct pid *pid)
{
	put_pid(pid);
}

bool rgvt_tgid_times(struct pid *pid, struct rgvt_run_time *t)
{
	struct task_struct *leader, *task;
	bool found = false;

	rcu_read_lock();
	leader = pid_task(pid, PIDTYPE_TGID);
	if (leader) {
		found = true;
		for_each_thread(leader, task)
			add_task(task, t);
	}
	rcu_read_unlock();
	return found;
}
