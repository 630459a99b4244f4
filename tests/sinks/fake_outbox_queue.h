// FakeOutboxQueue: an in-memory sinks::OutboxQueue with the catalog's contract
// (rules/catalog.h ClaimDue/MarkDone/MarkFailed/MoveToDead): Claim hands out due rows of
// one channel in id order, skipping any row with an earlier pending row of the same
// (channel, ordering key); a claim counts an attempt and leases the row by setting its
// next attempt to `lease_until`; the other calls fail with kNotFound unless the row is
// pending. It also records what the tests look at (the order rows were marked done)
// and can fail the next Claims on purpose.
//
// Thread safety: every member may be called from any thread (one mutex).
#ifndef TIDEWATCH_TESTS_SINKS_FAKE_OUTBOX_QUEUE_H_
#define TIDEWATCH_TESTS_SINKS_FAKE_OUTBOX_QUEUE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sinks/outbox_queue.h"

namespace tidewatch::sinks::testing {

class FakeOutboxQueue : public OutboxQueue {
 public:
  enum class State { kPending, kDone, kDead };

  struct Row {
    Notification notification;
    State state = State::kPending;
    std::int64_t next_attempt_at = 0;
    std::string last_error;
    std::string dead_reason;
    std::int64_t dead_at = 0;
  };

  // Enqueues a row due at `created_at`; its idempotency key is "idem-<id>". Ids start
  // at 1 and increase (commit order).
  std::int64_t Add(std::string channel, std::string ordering_key, std::int64_t created_at = 0,
                   std::string payload = "{}") {
    std::lock_guard lock(mu_);
    const std::int64_t id = static_cast<std::int64_t>(rows_.size()) + 1;
    Row& row = rows_[id];
    row.notification = Notification{.id = id,
                                    .channel = std::move(channel),
                                    .ordering_key = std::move(ordering_key),
                                    .idempotency_key = "idem-" + std::to_string(id),
                                    .payload = std::move(payload),
                                    .created_at = created_at,
                                    .attempts = 0};
    row.next_attempt_at = created_at;
    return id;
  }

  StatusOr<std::vector<Notification>> Claim(std::string_view channel, std::int64_t now,
                                            std::int64_t limit, std::int64_t lease_until) override {
    std::lock_guard lock(mu_);
    ++claims_;
    if (fail_claims_ > 0) {
      --fail_claims_;
      return Status(StatusCode::kUnavailable, "injected claim failure");
    }
    std::vector<Notification> out;
    std::map<std::string, bool> key_blocked;  // an earlier pending row of the key exists
    for (auto& [id, row] : rows_) {
      if (static_cast<std::int64_t>(out.size()) >= limit) break;
      if (row.notification.channel != channel || row.state != State::kPending) continue;
      bool& blocked = key_blocked[row.notification.ordering_key];
      const bool due = row.next_attempt_at <= now && !blocked;
      blocked = true;
      if (!due) continue;
      row.notification.attempts += 1;
      row.next_attempt_at = lease_until;
      out.push_back(row.notification);
    }
    return out;
  }

  Status MarkDone(std::int64_t id) override {
    std::lock_guard lock(mu_);
    Row* row = Pending(id);
    if (row == nullptr) return NotPending(id);
    row->state = State::kDone;
    row->last_error.clear();
    done_order_.push_back(id);
    return Status::Ok();
  }

  Status MarkFailed(std::int64_t id, std::string_view error,
                    std::int64_t next_attempt_at) override {
    std::lock_guard lock(mu_);
    Row* row = Pending(id);
    if (row == nullptr) return NotPending(id);
    row->last_error = error;
    row->next_attempt_at = next_attempt_at;
    return Status::Ok();
  }

  Status MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now) override {
    std::lock_guard lock(mu_);
    Row* row = Pending(id);
    if (row == nullptr) return NotPending(id);
    row->state = State::kDead;
    row->dead_reason = reason;
    row->dead_at = now;
    return Status::Ok();
  }

  // -- for the tests.
  Row Get(std::int64_t id) const {
    std::lock_guard lock(mu_);
    return rows_.at(id);
  }
  std::int64_t Count(State state) const {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (const auto& [id, row] : rows_) n += row.state == state ? 1 : 0;
    return n;
  }
  std::vector<std::int64_t> done_order() const {
    std::lock_guard lock(mu_);
    return done_order_;
  }
  std::int64_t claims() const {
    std::lock_guard lock(mu_);
    return claims_;
  }
  void FailNextClaims(int n) {
    std::lock_guard lock(mu_);
    fail_claims_ = n;
  }

 private:
  Row* Pending(std::int64_t id) {
    auto it = rows_.find(id);
    return it != rows_.end() && it->second.state == State::kPending ? &it->second : nullptr;
  }
  static Status NotPending(std::int64_t id) {
    return Status(StatusCode::kNotFound, "outbox row " + std::to_string(id) + " is not pending");
  }

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<std::int64_t, Row> rows_;
  std::vector<std::int64_t> done_order_;
  std::int64_t claims_ = 0;
  int fail_claims_ = 0;
};

}  // namespace tidewatch::sinks::testing

#endif  // TIDEWATCH_TESTS_SINKS_FAKE_OUTBOX_QUEUE_H_
