#pragma once

#include <atomic>

// Whether ops record graph nodes. Thread-local: each Python thread has its own.

namespace ember {

class GradMode {
 public:
  static bool is_enabled() { return enabled_; }
  static void set_enabled(bool enabled) { enabled_ = enabled; }

 private:
  static thread_local bool enabled_;
};

// torch.autograd.detect_anomaly: after each node, backward checks its
// gradients for NaN and names the node that made one. Process-wide, as torch's.
class AnomalyMode {
 public:
  static bool is_enabled() { return enabled_.load(std::memory_order_relaxed); }
  static bool checks_nan() { return check_nan_.load(std::memory_order_relaxed); }
  static void set_enabled(bool enabled, bool check_nan = true) {
    enabled_.store(enabled);
    check_nan_.store(check_nan);
  }

 private:
  static std::atomic<bool> enabled_, check_nan_;
};

// Sets grad mode for a scope and restores the previous mode on exit.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ember
