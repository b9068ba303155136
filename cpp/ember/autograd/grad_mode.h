#pragma once

#include <atomic>

// Whether ops record graph nodes. Thread-local: each Python thread has its own.

namespace ember {

class GradMode {
 public:
  static bool is_enabled() { return enabled_; }
  // For scopes inside ember (GradModeGuard): the user's own mode is unchanged.
  static void set_enabled(bool enabled) { enabled_ = enabled; }
  // The user's switch (no_grad, set_grad_enabled): sets both.
  static void set_user_enabled(bool enabled) { enabled_ = user_enabled_ = enabled; }
  // The mode the user asked for, which ember's internal no-grad scopes leave
  // alone: a view an op makes inside such a scope is not "made in no_grad"
  // (Note [Views that refuse in-place ops]).
  static bool user_enabled() { return user_enabled_; }

 private:
  static thread_local bool enabled_;
  static thread_local bool user_enabled_;
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

// Sets grad mode for a scope inside ember and restores both modes on exit
// (user code run in the scope, such as a hook, may switch the user's mode).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled)
      : previous_(GradMode::is_enabled()), previous_user_(GradMode::user_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~GradModeGuard() {
    GradMode::set_user_enabled(previous_user_);
    GradMode::set_enabled(previous_);
  }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_, previous_user_;
};

}  // namespace ember
