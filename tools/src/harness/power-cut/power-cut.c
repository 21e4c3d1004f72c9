/*
 * Power-cut emulation for one process (LD_PRELOAD): the page cache of the files under one directory
 * lives in this process's memory. What the process write()s to such a file is held here until it
 * fsync()s / fdatasync()s that file; only then is it written to the kernel and really synced. So a
 * SIGKILL of the process loses exactly what a power cut would: the writes not yet synced.
 *
 * Used for the device Redis's AOF (tools/src/harness/redis.ts, `powerCut: true`): POWER_CUT_DIR is the
 * absolute path of its appendonlydir. Redis 7.0 opens the incr AOF with open64(O_WRONLY|O_APPEND|O_CREAT),
 * appends with write(), syncs with fdatasync() (a background thread with appendfsync everysec, the main
 * thread with always), and writes the manifest with open64 + write + fsync + rename.
 *
 * Modelled: open/open64/openat/openat64 (files opened for writing under the dir are tracked by fd),
 * write/writev (held), fsync/fdatasync/sync_file_range (hand over what is held, then sync), fstat/fstat64
 * (st_size includes what is held, as the page cache would show it), close (see below), fork (a child drops
 * its copy of the parent's held writes: they are the parent's).
 *
 * Not modelled (each is written to the kernel unsynced, and so survives a kill -9 although a power cut
 * could lose it; a line on stderr names it when it happens):
 *  - close() of a file with writes held (Redis 7.0 closes the old incr AOF after a rewrite without
 *    syncing it);
 *  - pwrite/lseek/ftruncate on a tracked fd (Redis uses ftruncate only to undo a short write);
 *  - stat() by path, metadata (file creation, rename, directory entries): they are immediate, as if the
 *    directory were synced;
 *  - stdio (fopen/fwrite): glibc calls its internal write, out of reach of LD_PRELOAD. Redis writes the
 *    rewritten base AOF that way and fsyncs it before renaming it into place, so nothing is lost there.
 *
 * Thread-safe: one mutex guards the table; the real fsync runs outside it, so the main thread keeps
 * appending while the background thread syncs (as with a real page cache).
 */
#define _GNU_SOURCE
#define _LARGEFILE64_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536

struct held {
  int tracked;
  char *buf;
  size_t len;
  size_t cap;
};

static struct held table[MAX_FDS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[PATH_MAX];
static size_t dir_len;
static int verbose;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_sync_file_range)(int, off64_t, off64_t, unsigned int);
static int (*real_close)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static off_t (*real_lseek)(int, off_t, int);
static off64_t (*real_lseek64)(int, off64_t, int);
static int (*real_fstat)(int, struct stat *);
static int (*real_fstat64)(int, struct stat64 *);

static void note(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0 && real_write) real_write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void child_after_fork(void) {
  /* The child's copy of the held writes is the parent's data: never write it from here. */
  pthread_mutex_init(&lock, NULL);
  for (int fd = 0; fd < MAX_FDS; fd++) {
    free(table[fd].buf);
    table[fd] = (struct held){0};
  }
}
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void parent_after_fork(void) { pthread_mutex_unlock(&lock); }

__attribute__((constructor)) static void init(void) {
  real_open = dlsym(RTLD_NEXT, "open");
  real_open64 = dlsym(RTLD_NEXT, "open64");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_openat64 = dlsym(RTLD_NEXT, "openat64");
  real_write = dlsym(RTLD_NEXT, "write");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  real_sync_file_range = dlsym(RTLD_NEXT, "sync_file_range");
  real_close = dlsym(RTLD_NEXT, "close");
  real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
  real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
  real_lseek = dlsym(RTLD_NEXT, "lseek");
  real_lseek64 = dlsym(RTLD_NEXT, "lseek64");
  real_fstat = dlsym(RTLD_NEXT, "fstat");
  real_fstat64 = dlsym(RTLD_NEXT, "fstat64");
  const char *d = getenv("POWER_CUT_DIR");
  verbose = getenv("POWER_CUT_VERBOSE") != NULL;
  if (d && d[0] == '/' && strlen(d) < sizeof dir - 1) {
    strcpy(dir, d);
    dir_len = strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/') dir[--dir_len] = '\0';
    note("power-cut: writes under %s are held until fsync/fdatasync\n", dir);
  } else {
    note("power-cut: POWER_CUT_DIR unset or not absolute: nothing is held\n");
  }
  pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

/* Is `path` (relative to dirfd) inside the directory? Lexical: Redis names its files plainly. */
static int under_dir(int dirfd, const char *path) {
  if (!dir_len || !path) return 0;
  char full[PATH_MAX * 2];
  if (path[0] == '/') {
    snprintf(full, sizeof full, "%s", path);
  } else {
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
      if (!getcwd(base, sizeof base)) return 0;
    } else {
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
      ssize_t n = readlink(link, base, sizeof base - 1);
      if (n < 0) return 0;
      base[n] = '\0';
    }
    snprintf(full, sizeof full, "%s/%s", base, path);
  }
  /* "./x" and "a//b" as Redis never writes them, but cheap to allow */
  char clean[PATH_MAX * 2];
  size_t j = 0;
  for (size_t i = 0; full[i] && j < sizeof clean - 1; i++) {
    if (full[i] == '/' && j > 0 && clean[j - 1] == '/') continue;
    if (full[i] == '.' && j > 0 && clean[j - 1] == '/' && (full[i + 1] == '/' || full[i + 1] == '\0')) {
      i += full[i + 1] == '/';
      continue;
    }
    clean[j++] = full[i];
  }
  clean[j] = '\0';
  return strncmp(clean, dir, dir_len) == 0 && clean[dir_len] == '/';
}

static void track(int fd, int dirfd, const char *path, int flags) {
  if (fd < 0 || fd >= MAX_FDS) return;
  int writing = (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
  int yes = writing && under_dir(dirfd, path);
  pthread_mutex_lock(&lock);
  free(table[fd].buf);
  table[fd] = (struct held){.tracked = yes};
  pthread_mutex_unlock(&lock);
  if (yes && verbose) note("power-cut: fd %d %s held\n", fd, path);
}

static int append_held(struct held *h, const void *data, size_t n) {
  if (h->len + n > h->cap) {
    size_t cap = h->cap ? h->cap : 64 * 1024;
    while (cap < h->len + n) cap *= 2;
    char *b = realloc(h->buf, cap);
    if (!b) return -1;
    h->buf = b;
    h->cap = cap;
  }
  memcpy(h->buf + h->len, data, n);
  h->len += n;
  return 0;
}

/* Writes what is held for fd to the kernel; the caller holds the lock. 0, or -1 with errno. */
static int hand_over(int fd) {
  struct held *h = &table[fd];
  size_t off = 0;
  while (off < h->len) {
    ssize_t w = real_write(fd, h->buf + off, h->len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      /* keep what was not written: a later sync tries again (as a kernel would report EIO) */
      memmove(h->buf, h->buf + off, h->len - off);
      h->len -= off;
      return -1;
    }
    off += (size_t)w;
  }
  h->len = 0;
  return 0;
}

static int is_tracked(int fd) { return fd >= 0 && fd < MAX_FDS && table[fd].tracked; }

/* An operation the shim does not model: what is held goes to the kernel unsynced first. */
static void unmodelled(int fd, const char *op) {
  if (!is_tracked(fd)) return;
  pthread_mutex_lock(&lock);
  size_t n = table[fd].len;
  if (n) hand_over(fd);
  pthread_mutex_unlock(&lock);
  if (n) note("power-cut: %s on fd %d: %zu held bytes written unsynced (not modelled)\n", op, fd, n);
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open(path, flags, mode);
  track(fd, AT_FDCWD, path, flags);
  return fd;
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_open64(path, flags, mode);
  track(fd, AT_FDCWD, path, flags);
  return fd;
}

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat(dirfd, path, flags, mode);
  track(fd, dirfd, path, flags);
  return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  int fd = real_openat64(dirfd, path, flags, mode);
  track(fd, dirfd, path, flags);
  return fd;
}

ssize_t write(int fd, const void *data, size_t n) {
  if (!is_tracked(fd)) return real_write(fd, data, n);
  pthread_mutex_lock(&lock);
  int r = table[fd].tracked ? append_held(&table[fd], data, n) : 1;
  pthread_mutex_unlock(&lock);
  if (r == 1) return real_write(fd, data, n); /* closed meanwhile: let the kernel answer */
  if (r < 0) {
    errno = ENOSPC;
    return -1;
  }
  return (ssize_t)n;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
  if (!is_tracked(fd)) return real_writev(fd, iov, count);
  ssize_t total = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < count && total >= 0; i++) {
    if (append_held(&table[fd], iov[i].iov_base, iov[i].iov_len) < 0) total = -1;
    else total += (ssize_t)iov[i].iov_len;
  }
  pthread_mutex_unlock(&lock);
  if (total < 0) errno = ENOSPC;
  return total;
}

/* Hand over under the lock, sync outside it (the main thread may append meanwhile). */
static int sync_with(int fd, int (*real_sync)(int)) {
  if (is_tracked(fd)) {
    pthread_mutex_lock(&lock);
    int r = hand_over(fd);
    pthread_mutex_unlock(&lock);
    if (r < 0) return -1;
  }
  return real_sync(fd);
}

int fsync(int fd) { return sync_with(fd, real_fsync); }
int fdatasync(int fd) { return sync_with(fd, real_fdatasync); }

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  if (is_tracked(fd)) {
    pthread_mutex_lock(&lock);
    int r = hand_over(fd);
    pthread_mutex_unlock(&lock);
    if (r < 0) return -1;
  }
  return real_sync_file_range(fd, offset, nbytes, flags);
}

int close(int fd) {
  if (is_tracked(fd)) {
    pthread_mutex_lock(&lock);
    size_t n = table[fd].len;
    if (n) hand_over(fd);
    free(table[fd].buf);
    table[fd] = (struct held){0};
    pthread_mutex_unlock(&lock);
    if (n) note("power-cut: close of fd %d with %zu held bytes: written unsynced (not modelled)\n", fd, n);
  }
  return real_close(fd);
}

ssize_t pwrite(int fd, const void *data, size_t n, off_t offset) {
  unmodelled(fd, "pwrite");
  return real_pwrite(fd, data, n, offset);
}

ssize_t pwrite64(int fd, const void *data, size_t n, off64_t offset) {
  unmodelled(fd, "pwrite64");
  return real_pwrite64(fd, data, n, offset);
}

int ftruncate(int fd, off_t length) {
  unmodelled(fd, "ftruncate");
  return real_ftruncate(fd, length);
}

int ftruncate64(int fd, off64_t length) {
  unmodelled(fd, "ftruncate64");
  return real_ftruncate64(fd, length);
}

off_t lseek(int fd, off_t offset, int whence) {
  unmodelled(fd, "lseek");
  return real_lseek(fd, offset, whence);
}

off64_t lseek64(int fd, off64_t offset, int whence) {
  unmodelled(fd, "lseek64");
  return real_lseek64(fd, offset, whence);
}

static size_t held_len(int fd) {
  if (!is_tracked(fd)) return 0;
  pthread_mutex_lock(&lock);
  size_t n = table[fd].len;
  pthread_mutex_unlock(&lock);
  return n;
}

int fstat(int fd, struct stat *st) {
  int r = real_fstat(fd, st);
  if (r == 0) st->st_size += (off_t)held_len(fd);
  return r;
}

int fstat64(int fd, struct stat64 *st) {
  int r = real_fstat64(fd, st);
  if (r == 0) st->st_size += (off64_t)held_len(fd);
  return r;
}
