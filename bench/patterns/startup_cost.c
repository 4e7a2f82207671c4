// The fixed cost of starting a process under leaktrace (issue 12, item 5):
// a program that does nothing, started ROUNDS times in each variant,
// alternating the variants round by round (plain, default, default without
// the exit dump, exact, ...), each start timed from posix_spawn to waitpid.
// Prints, per variant, the median start in microseconds and the medians of
// the per-round differences and ratios against plain: the difference is the
// figure the target is written in (<= 0.5 ms per process).
//
//   cc -O2 -o startup_cost bench/patterns/startup_cost.c
//   ./startup_cost [-n ROUNDS] [-c] [-d DIR] build/preload/libleaktrace.so [OTHER.so]
//
// The do-nothing program is this binary itself, started with argv[1] ==
// "--nothing": it links libc only and returns from main at once. Dumps go to
// a temporary directory (under /tmp, or DIR), emptied every round and
// removed at the end. -c prints one CSV line per (round, variant) on stdout
// for a script to read. With a second library (another build, to compare
// with), every round runs its four variants too ("B ..."), interleaved with
// the first library's ("A ...").
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

struct Variant {
  const char* name;
  const char* env[4];  // added to the environment; LD_PRELOAD added when preload is set
  int preload;         // 0: plain; 1: the first library; 2: the second
};

static struct Variant kVariants[] = {
    {"plain", {NULL}, 0},
    {"default", {NULL}, 1},
    {"default, LEAKTRACE_ON_EXIT=0", {"LEAKTRACE_ON_EXIT=0", NULL}, 1},
    {"exact", {"LEAKTRACE_SAMPLE=1", NULL}, 1},
    {"exact, LEAKTRACE_ON_EXIT=0", {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=0", NULL}, 1},
    {"B default", {NULL}, 2},
    {"B default, LEAKTRACE_ON_EXIT=0", {"LEAKTRACE_ON_EXIT=0", NULL}, 2},
    {"B exact", {"LEAKTRACE_SAMPLE=1", NULL}, 2},
    {"B exact, LEAKTRACE_ON_EXIT=0", {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=0", NULL}, 2},
};
enum { kOneLibraryVariants = 5, kTwoLibraryVariants = sizeof kVariants / sizeof kVariants[0] };
static int kVariantCount = kOneLibraryVariants;

static double NowUs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int CompareDoubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double Median(double* v, int n) {
  qsort(v, (size_t)n, sizeof *v, CompareDoubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The environment of one variant: ours minus any LD_PRELOAD / LEAKTRACE_*,
// plus the variant's settings.
static char** MakeEnv(const struct Variant* v, const char* preload, const char* dir) {
  size_t n = 0;
  while (environ[n]) ++n;
  char** env = calloc(n + 8, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i)
    if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "LEAKTRACE_", 10) != 0) env[k++] = environ[i];
  if (v->preload) {
    char* p;
    if (asprintf(&p, "LD_PRELOAD=%s", preload) < 0) exit(1);
    env[k++] = p;
    if (asprintf(&p, "LEAKTRACE_DIR=%s", dir) < 0) exit(1);
    env[k++] = p;
  }
  for (int i = 0; v->env[i]; ++i) env[k++] = (char*)v->env[i];
  env[k] = NULL;
  return env;
}

static void EmptyDir(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) return;
  struct dirent* e;
  char path[4096];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--nothing") == 0) return 0;
  int rounds = 200, csv = 0, opt;
  const char* parent = "/tmp";
  while ((opt = getopt(argc, argv, "n:cd:")) != -1) {
    if (opt == 'n') rounds = atoi(optarg);
    else if (opt == 'c') csv = 1;
    else if (opt == 'd') parent = optarg;
    else return 2;
  }
  if ((optind + 1 != argc && optind + 2 != argc) || rounds < 1) {
    fprintf(stderr, "usage: %s [-n ROUNDS] [-c] [-d DIR] path/to/libleaktrace.so [other/libleaktrace.so]\n", argv[0]);
    return 2;
  }
  char preload[2][4096];
  for (int i = 0; optind + i < argc; ++i) {
    if (!realpath(argv[optind + i], preload[i])) {
      perror(argv[optind + i]);
      return 2;
    }
  }
  if (optind + 2 == argc) {
    kVariantCount = kTwoLibraryVariants;
    for (int v = 1; v < kOneLibraryVariants; ++v) {  // "A ...": which is which
      char* name;
      if (asprintf(&name, "A %s", kVariants[v].name) < 0) return 1;
      kVariants[v].name = name;
    }
  }
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return 1;
  self[len] = '\0';
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/leaktrace-startup-XXXXXX", parent);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }

  char** envs[kTwoLibraryVariants];
  for (int v = 0; v < kVariantCount; ++v)
    envs[v] = MakeEnv(&kVariants[v], preload[kVariants[v].preload == 2 ? 1 : 0], dir);
  double* us = calloc((size_t)rounds * kVariantCount, sizeof *us);
  char* child_argv[] = {self, "--nothing", NULL};

  for (int warm = 0; warm < 3; ++warm)
    for (int v = 0; v < kVariantCount; ++v) {
      pid_t pid;
      if (posix_spawn(&pid, self, NULL, NULL, child_argv, envs[v]) == 0) waitpid(pid, NULL, 0);
    }
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < kVariantCount; ++i) {
      const int v = (r + i) % kVariantCount;  // rotate the order: no variant always runs first
      pid_t pid;
      int status = 0;
      const double t0 = NowUs();
      if (posix_spawn(&pid, self, NULL, NULL, child_argv, envs[v]) != 0 || waitpid(pid, &status, 0) != pid ||
          !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "variant '%s' failed to run\n", kVariants[v].name);
        return 1;
      }
      us[r * kVariantCount + v] = NowUs() - t0;
      if (csv) printf("%d,%s,%.1f\n", r, kVariants[v].name, us[r * kVariantCount + v]);
    }
    EmptyDir(dir);
  }
  EmptyDir(dir);
  rmdir(dir);

  FILE* out = csv ? stderr : stdout;
  fprintf(out, "do-nothing program, %d rounds, medians (paired: per-round difference / ratio vs plain)\n", rounds);
  fprintf(out, "%-30s %10s %12s %8s\n", "variant", "start us", "extra us", "ratio");
  double* col = calloc((size_t)rounds, sizeof *col);
  for (int v = 0; v < kVariantCount; ++v) {
    for (int r = 0; r < rounds; ++r) col[r] = us[r * kVariantCount + v];
    const double start = Median(col, rounds);
    for (int r = 0; r < rounds; ++r) col[r] = us[r * kVariantCount + v] - us[r * kVariantCount];
    const double extra = Median(col, rounds);
    for (int r = 0; r < rounds; ++r) col[r] = us[r * kVariantCount + v] / us[r * kVariantCount];
    const double ratio = Median(col, rounds);
    fprintf(out, "%-30s %10.0f %12.0f %8.2f\n", kVariants[v].name, start, extra, ratio);
  }
  return 0;
}
