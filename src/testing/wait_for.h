// Waiting in tests without sleep-and-hope: poll a condition until a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace lastro::testing {

// Returns true as soon as `condition` holds, false when `timeout` passes first.
inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace lastro::testing
