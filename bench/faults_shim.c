/* LD_PRELOAD shim for bench/faults.py: count disk writes (or statements sent
 * to PostgreSQL) and fail at the K-th one.
 *
 * Built at run time: gcc -shared -fPIC -O2 -o faults_shim.so faults_shim.c -ldl
 *
 * Environment:
 *   FAULTS_MODE   count | kill | kill_after | enospc
 *                 kill: SIGKILL itself just before the K-th call (it never
 *                 happens); kill_after: just after it returned; enospc: the
 *                 K-th call and every later one fail with ENOSPC (disk full).
 *   FAULTS_AT     K (1-based); counting only when unset.
 *   FAULTS_MATCH  file calls: only regular files whose path starts with this
 *                 (write, pwrite, pwrite64, fsync, fdatasync).
 *   FAULTS_PORT   socket calls instead: send/sendto on a TCP socket whose
 *                 peer port is this (libpq sends one or more whole protocol
 *                 messages per call: one statement, or its Sync/Commit).
 *   FAULTS_COUNT_FILE  where the number of counted calls is written at exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

enum { M_COUNT, M_KILL, M_KILL_AFTER, M_ENOSPC };

static long counter = 0, at = -1;
static int mode = M_COUNT, port = 0, ready = 0;
static char match[4096];
static size_t match_len = 0;
static char count_file[4096];

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);

__attribute__((constructor)) static void faults_init(void) {
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_send = dlsym(RTLD_NEXT, "send");
    real_sendto = dlsym(RTLD_NEXT, "sendto");
    const char *s = getenv("FAULTS_MODE");
    if (s && !strcmp(s, "kill")) mode = M_KILL;
    else if (s && !strcmp(s, "kill_after")) mode = M_KILL_AFTER;
    else if (s && !strcmp(s, "enospc")) mode = M_ENOSPC;
    if ((s = getenv("FAULTS_AT")) && *s) at = atol(s);
    if ((s = getenv("FAULTS_PORT")) && *s) port = atoi(s);
    if ((s = getenv("FAULTS_MATCH")) && *s) {
        strncpy(match, s, sizeof match - 1);
        match_len = strlen(match);
    }
    if ((s = getenv("FAULTS_COUNT_FILE")) && *s) strncpy(count_file, s, sizeof count_file - 1);
    ready = 1;
}

__attribute__((destructor)) static void faults_fini(void) {
    if (!count_file[0]) return;
    int fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", counter);
    if (real_write) real_write(fd, buf, n);
    close(fd);
}

static int file_matches(int fd) {
    if (!ready || port || !match_len) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    return strncmp(path, match, match_len) == 0;
}

static int socket_matches(int fd) {
    if (!ready || !port) return 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
    return 0;
}

/* Before a counted call: 1 when it must fail with ENOSPC. */
static int before_call(void) {
    counter++;
    if (at < 0 || counter < at) return 0;
    if (mode == M_KILL && counter == at) kill(getpid(), SIGKILL);
    if (mode == M_ENOSPC) return 1;
    return 0;
}

static void after_call(void) {
    if (mode == M_KILL_AFTER && counter == at) kill(getpid(), SIGKILL);
}

#define FILE_CALL(check, call, failval)              \
    if (!check) return call;                         \
    if (before_call()) { errno = ENOSPC; return failval; } \
    __typeof__(call) r = call;                       \
    after_call();                                    \
    return r;

ssize_t write(int fd, const void *buf, size_t n) {
    if (!real_write) real_write = dlsym(RTLD_NEXT, "write");
    FILE_CALL(file_matches(fd), real_write(fd, buf, n), -1)
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    if (!real_pwrite) real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    FILE_CALL(file_matches(fd), real_pwrite(fd, buf, n, off), -1)
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
    if (!real_pwrite64) real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    FILE_CALL(file_matches(fd), real_pwrite64(fd, buf, n, off), -1)
}

int fsync(int fd) {
    if (!real_fsync) real_fsync = dlsym(RTLD_NEXT, "fsync");
    FILE_CALL(file_matches(fd), real_fsync(fd), -1)
}

int fdatasync(int fd) {
    if (!real_fdatasync) real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    FILE_CALL(file_matches(fd), real_fdatasync(fd), -1)
}

ssize_t send(int fd, const void *buf, size_t n, int flags) {
    if (!real_send) real_send = dlsym(RTLD_NEXT, "send");
    FILE_CALL(socket_matches(fd), real_send(fd, buf, n, flags), -1)
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
               socklen_t alen) {
    if (!real_sendto) real_sendto = dlsym(RTLD_NEXT, "sendto");
    FILE_CALL(socket_matches(fd), real_sendto(fd, buf, n, flags, a, alen), -1)
}
