/*
 * workload N: the guest's fixed cast of processes that introspection programs are checked against.
 *   N sleepers            comm "vmsleep-<i>" (i = 1..N), blocked in pause()
 *   a threaded process    comm "vmthreads", main thread + 3 threads, all blocked
 *   a zombie              comm "vmzombie", exited; its parent "vmzombie-par" never reaps it
 *   a child PID namespace "vmns-init" is PID 1 of a new PID namespace, with a child "vmns-child"
 * Every process stays until the guest stops. The launcher writes what it started to
 * /run/vmsight-workload (lines "<role> <pid> <comm>", PIDs as seen from the initial namespace)
 * once everything is in place, then exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 3

static void name_self(const char *name)
{
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

static void block_forever(void)
{
    for (;;) pause();
}

static void *thread_main(void *arg)
{
    (void)arg;
    block_forever();
    return NULL;
}

/* Forks a child that names itself and runs body; returns the child's PID. */
static pid_t spawn(const char *name, void (*body)(void))
{
    pid_t pid = fork();
    if (pid < 0) { perror("workload: fork"); exit(1); }
    if (pid == 0) {
        name_self(name);
        body();
        _exit(0);
    }
    return pid;
}

static void threaded_body(void)
{
    pthread_t t;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t, NULL, thread_main, NULL) != 0) { perror("workload: pthread_create"); _exit(1); }
    block_forever();
}

static void zombie_body(void) { _exit(0); }

static int zombie_pipe[2];

static void zombie_parent_body(void)
{
    pid_t child = spawn("vmzombie", zombie_body);
    /* Tell the launcher the zombie's PID; never wait for it. */
    if (write(zombie_pipe[1], &child, sizeof child) != sizeof child) _exit(1);
    block_forever();
}

static void ns_child_body(void) { block_forever(); }

static void ns_init_body(void)
{
    spawn("vmns-child", ns_child_body);
    block_forever();
}

static void pidns_body(void)
{
    /* The first child after unshare(CLONE_NEWPID) becomes PID 1 of the new namespace. */
    if (unshare(CLONE_NEWPID) != 0) { perror("workload: unshare(CLONE_NEWPID)"); _exit(1); }
    pid_t init = spawn("vmns-init", ns_init_body);
    if (write(zombie_pipe[1], &init, sizeof init) != sizeof init) _exit(1);
    block_forever();
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    const char *out = argc > 2 ? argv[2] : "/run/vmsight-workload";
    char name[32];
    FILE *f;

    if (n < 0 || n > 10000) { fprintf(stderr, "workload: N must be 0..10000\n"); return 2; }
    if (pipe(zombie_pipe) != 0) { perror("workload: pipe"); return 1; }
    f = fopen(out, "w");
    if (!f) { perror(out); return 1; }

    for (int i = 1; i <= n; i++) {
        snprintf(name, sizeof name, "vmsleep-%d", i);
        fprintf(f, "sleeper %d %s\n", (int)spawn(name, block_forever), name);
    }
    fprintf(f, "threaded %d vmthreads\n", (int)spawn("vmthreads", threaded_body));

    pid_t zparent = spawn("vmzombie-par", zombie_parent_body), zombie;
    if (read(zombie_pipe[0], &zombie, sizeof zombie) != sizeof zombie) { perror("workload: zombie pid"); return 1; }
    fprintf(f, "zombie-parent %d vmzombie-par\n", (int)zparent);
    fprintf(f, "zombie %d vmzombie\n", (int)zombie);

    pid_t holder = spawn("vmns-holder", pidns_body), nsinit;
    if (read(zombie_pipe[0], &nsinit, sizeof nsinit) != sizeof nsinit) { perror("workload: pidns pid"); return 1; }
    fprintf(f, "pidns-holder %d vmns-holder\n", (int)holder);
    fprintf(f, "pidns-init %d vmns-init\n", (int)nsinit);

    /* Wait until the zombie really is one, so readers never see it half-way. */
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)zombie);
    for (int tries = 0; tries < 500; tries++) {
        FILE *s = fopen(path, "r");
        int is_zombie = 0;
        if (s) {
            if (fgets(stat, sizeof stat, s)) {
                char *close = strrchr(stat, ')');
                is_zombie = close && close[1] == ' ' && close[2] == 'Z';
            }
            fclose(s);
        }
        if (is_zombie) break;
        usleep(10000);
    }
    if (fclose(f) != 0) { perror(out); return 1; }
    return 0;
}
