/*
 * A power cut at a chosen flash write, for Espruino's Linux build (loaded with LD_PRELOAD by
 * test/espruino/power-cut.test.ts). The interpreter keeps its flash in ./espruino.flash and writes
 * it with fopen/fseek/fwrite/fclose, one fwrite per flash operation (a word write, a page erase);
 * the IRQMON_CUT_AT'th such fwrite never happens: the process is SIGKILLed just before it, exactly
 * as power failing between two flash operations. Every other write passes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static long cut_at = -1, writes = 0;

static int is_flash(int fd) {
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  size_t len = strlen(path), suffix = strlen("/espruino.flash");
  return len >= suffix && strcmp(path + len - suffix, "/espruino.flash") == 0;
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f) {
  if (!real_fwrite) {
    real_fwrite = (size_t (*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fwrite");
    const char *at = getenv("IRQMON_CUT_AT");
    cut_at = at ? atol(at) : -1;
  }
  if (cut_at > 0 && is_flash(fileno(f)) && ++writes == cut_at) kill(getpid(), SIGKILL);
  return real_fwrite(buf, size, n, f);
}
