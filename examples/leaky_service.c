/* leaky_service: a toy request handler with a slow leak, for the demo and
   the soak-gate example. Every request gets a buffer, its headers parsed,
   a response cached in a small bounded cache; parse_header forgets to free
   the copy it makes of one header. Runs until SIGINT/SIGTERM or until
   --seconds have passed, then exits cleanly.

   usage: leaky_service [--rate REQUESTS_PER_SECOND] [--seconds N] */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_SLOTS 256

static volatile sig_atomic_t stopping;
static char* response_cache[CACHE_SLOTS];

static void on_stop(int sig) { (void)sig; stopping = 1; }

/* The bug: the copy of the trace header is kept nowhere and never freed. */
__attribute__((noinline)) static size_t parse_header(const char* line) {
  const char* colon = strchr(line, ':');
  if (colon == NULL) return 0;
  size_t len = strlen(colon + 1);
  char* value = malloc(512);
  memcpy(value, colon + 1, len < 511 ? len + 1 : 511);
  value[511] = '\0';
  return strlen(value);
}

__attribute__((noinline)) static void cache_response(unsigned request, size_t size) {
  unsigned slot = request % CACHE_SLOTS;  /* bounded: old entries are replaced */
  free(response_cache[slot]);
  response_cache[slot] = malloc(size);
  memset(response_cache[slot], 'r', size);
}

__attribute__((noinline)) static void handle_request(unsigned request) {
  char* buffer = malloc(4096);
  snprintf(buffer, 4096, "GET /item/%u HTTP/1.1\r\nX-Trace: req-%u-abcdef\r\n\r\n", request, request);
  size_t total = 0;
  for (char* line = strtok(buffer, "\r\n"); line != NULL; line = strtok(NULL, "\r\n"))
    if (strncmp(line, "X-Trace", 7) == 0) total += parse_header(line);
  cache_response(request, 256 + total);
  free(buffer);
}

int main(int argc, char** argv) {
  long rate = 20000, seconds = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atol(argv[++i]);
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--rate REQUESTS_PER_SECOND] [--seconds N]\n", argv[0]);
      return 2;
    }
  }
  if (rate <= 0) rate = 1;
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  printf("leaky_service: pid %d, %ld requests/s\n", (int)getpid(), rate);
  fflush(stdout);
  const long batch = rate / 100 > 0 ? rate / 100 : 1; /* 100 batches a second */
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  unsigned request = 0;
  while (!stopping) {
    for (long i = 0; i < batch; ++i) handle_request(request++);
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* Whole seconds of the clock would end the run up to a second early. */
    const long long elapsed_ns =
        (long long)(now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec);
    if (seconds > 0 && elapsed_ns >= seconds * 1000000000LL) break;
  }
  for (int i = 0; i < CACHE_SLOTS; ++i) free(response_cache[i]);
  printf("leaky_service: served %u requests\n", request);
  return 0;
}
