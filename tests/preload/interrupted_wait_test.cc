// InterruptedInARestartedWait against the kernel: a signal sent to a thread
// waiting in read or accept (restarted after the handler under SA_RESTART)
// and to threads that are running or waiting in calls that are not
// restarted, the answer taken inside the handler.
#include "preload/snapshot/interrupted_wait.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>

namespace leaktrace::preload {
namespace {

std::atomic<int> g_answer{-1};

void OnSignal(int, siginfo_t*, void* ucontext) { g_answer.store(InterruptedInARestartedWait(ucontext) ? 1 : 0); }

// Runs `wait` on a thread, lets it get there, signals that thread and
// returns what the handler found; then `release` lets the thread go.
int AnswerWhileWaiting(const std::function<void()>& wait, const std::function<void()>& release) {
  struct sigaction action = {};
  action.sa_sigaction = OnSignal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  struct sigaction old = {};
  EXPECT_EQ(sigaction(SIGUSR1, &action, &old), 0);
  g_answer.store(-1);
  pthread_t thread;
  auto* fn = new std::function<void()>(wait);
  pthread_create(
      &thread, nullptr,
      [](void* arg) -> void* {
        auto* f = static_cast<std::function<void()>*>(arg);
        (*f)();
        delete f;
        return nullptr;
      },
      fn);
  usleep(100 * 1000);  // into its wait
  pthread_kill(thread, SIGUSR1);
  for (int i = 0; i < 2000 && g_answer.load() < 0; ++i) usleep(1000);
  release();
  pthread_join(thread, nullptr);
  sigaction(SIGUSR1, &old, nullptr);
  return g_answer.load();
}

TEST(InterruptedWait, AReadIsOne) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int answer = AnswerWhileWaiting(
      [&] {
        char c;
        EXPECT_EQ(read(fds[0], &c, 1), 1) << "the read was restarted, not cut short";
      },
      [&] { EXPECT_EQ(write(fds[1], "x", 1), 1); });
  EXPECT_EQ(answer, 1);
  close(fds[0]);
  close(fds[1]);
}

TEST(InterruptedWait, AnAcceptIsOne) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int answer = AnswerWhileWaiting(
      [&] {
        const int fd = accept(listener, nullptr, nullptr);
        EXPECT_GE(fd, 0);
        if (fd >= 0) close(fd);
      },
      [&] {
        const int client = socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        close(client);
      });
  EXPECT_EQ(answer, 1);
  close(listener);
}

TEST(InterruptedWait, ASleepIsZero) {
  // nanosleep is not restarted: the kernel leaves the thread after the call.
  const int answer = AnswerWhileWaiting(
      [] {
        timespec t = {0, 300 * 1000 * 1000};
        while (nanosleep(&t, &t) != 0) {
        }
      },
      [] {});
  EXPECT_EQ(answer, 0);
}

TEST(InterruptedWait, APollIsZero) {
  const int answer = AnswerWhileWaiting([] { poll(nullptr, 0, 300); }, [] {});
  EXPECT_EQ(answer, 0);
}

TEST(InterruptedWait, RunningCodeIsZero) {
  std::atomic<bool> stop{false};
  const int answer = AnswerWhileWaiting(
      [&] {
        while (!stop.load(std::memory_order_relaxed)) {
        }
      },
      [&] { stop.store(true); });
  EXPECT_EQ(answer, 0);
}

TEST(InterruptedWait, NoContextIsZero) { EXPECT_FALSE(InterruptedInARestartedWait(nullptr)); }

}  // namespace
}  // namespace leaktrace::preload
