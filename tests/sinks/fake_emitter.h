// FakeEmitter: a scripted sinks::Emitter for the delivery worker tests. It records every
// Send() (entry and completion, in order), answers with a script, and can hold sends at
// a gate to play a stalled endpoint. Eventually() awaits a condition with a deadline.
//
// Thread safety: every member may be called from any thread.
#ifndef TIDEWATCH_TESTS_SINKS_FAKE_EMITTER_H_
#define TIDEWATCH_TESTS_SINKS_FAKE_EMITTER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "sinks/emitter.h"

namespace tidewatch::sinks::testing {

// Polls `condition` until it holds or `timeout` passes; true when it held.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline DeliveryResult Delivered() { return {}; }
inline DeliveryResult Retry(std::string error) {
  return {DeliveryOutcome::kRetry, std::move(error), std::nullopt, 500};
}

class FakeEmitter : public Emitter {
 public:
  using Script = std::function<DeliveryResult(const Notification&)>;

  struct Event {
    bool completed = false;  // false: the send began; true: it returned `outcome`
    Notification notification;
    DeliveryOutcome outcome = DeliveryOutcome::kDelivered;
  };

  explicit FakeEmitter(Script script = [](const Notification&) { return Delivered(); })
      : script_(std::move(script)) {}

  DeliveryResult Send(const Notification& notification) override {
    {
      std::unique_lock lock(mu_);
      events_.push_back({false, notification, DeliveryOutcome::kDelivered});
      ++blocked_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !gate_closed_; });
      --blocked_;
    }
    DeliveryResult result = script_(notification);
    std::lock_guard lock(mu_);
    events_.push_back({true, notification, result.outcome});
    changed_.notify_all();
    return result;
  }

  // Closed: sends wait inside Send() until it opens again.
  void SetGate(bool closed) {
    std::lock_guard lock(mu_);
    gate_closed_ = closed;
    changed_.notify_all();
  }

  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  // Sends begun so far.
  std::size_t sends() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const Event& e : events_) n += e.completed ? 0 : 1;
    return n;
  }
  // Sends waiting at the gate (or about to run the script).
  std::size_t blocked() const {
    std::lock_guard lock(mu_);
    return blocked_;
  }

 private:
  const Script script_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  // Guarded by mu_.
  std::vector<Event> events_;
  std::size_t blocked_ = 0;
  bool gate_closed_ = false;
};

}  // namespace tidewatch::sinks::testing

#endif  // TIDEWATCH_TESTS_SINKS_FAKE_EMITTER_H_
