// Catalog: the notification outbox as the sinks drive it (claim, done, failed, dead).
#include <string>

#include "rules/catalog.h"
#include "rules/catalog_statements.h"
#include "rules/internal/sqlite_db.h"

namespace tidewatch::rules {

using internal::RequireChange;
using internal::SqliteCursor;
using internal::SqliteTransaction;

namespace {

OutboxEntry ReadOutbox(const SqliteCursor& c) {
  return OutboxEntry{.id = c.Int(0),
                     .channel = c.Text(1),
                     .rule_id = c.Int(2),
                     .instance_key = c.Text(3),
                     .ordering_key = c.Text(4),
                     .sequence = c.Int(5),
                     .idempotency_key = c.Text(6),
                     .payload = c.Text(7),
                     .created_at = c.Int(8),
                     .attempts = c.Int(9),
                     .next_attempt_at = c.Int(10),
                     .last_error = c.Text(11)};
}

std::string NotPending(std::int64_t id) {
  return "outbox row " + std::to_string(id) + " is not pending";
}

}  // namespace

// The outbox's own bookkeeping needs no fsync (see the file comment of catalog.h).
// Under kFull `op` runs at synchronous=NORMAL; FULL comes back after it, and if that
// fails, before the next transition (RestoreFullSync), which would refuse to commit
// rather than commit unsynced. REQUIRES: mu_ held, no transaction open.
template <typename Op>
auto Catalog::WithoutFsync(Op op) -> decltype(op()) {
  if (options_.durability != Durability::kFull) return op();
  if (Status s = db_->Exec("PRAGMA synchronous = NORMAL"); !s.ok()) return s;
  sync_relaxed_ = true;
  auto result = op();
  if (Status s = RestoreFullSync(); !s.ok()) return s;
  return result;
}

Status Catalog::RestoreFullSync() {
  if (!sync_relaxed_) return Status::Ok();
  if (Status s = db_->Exec("PRAGMA synchronous = FULL"); !s.ok()) return s;
  sync_relaxed_ = false;
  return Status::Ok();
}

StatusOr<std::vector<OutboxEntry>> Catalog::ClaimDue(std::string_view channel, std::int64_t now,
                                                     std::int64_t limit, std::int64_t lease_until) {
  std::lock_guard lock(mu_);
  return WithoutFsync([&]() -> StatusOr<std::vector<OutboxEntry>> {
    SqliteTransaction tx(*db_);
    if (Status s = tx.Begin(); !s.ok()) return s;
    StatusOr<std::vector<OutboxEntry>> due =
        statements_->select_due.QueryAll(ReadOutbox, channel, now, limit);
    if (!due.ok()) return due;
    for (OutboxEntry& row : *due) {
      if (Status s = statements_->lease_row.Run(row.id, lease_until); !s.ok()) return s;
      row.attempts += 1;
      row.next_attempt_at = lease_until;
    }
    if (Status s = tx.Commit(); !s.ok()) return s;
    return due;
  });
}

Status Catalog::MarkDone(std::int64_t id) {
  std::lock_guard lock(mu_);
  return WithoutFsync(
      [&] { return RequireChange(*db_, statements_->mark_done.Run(id), NotPending(id)); });
}

Status Catalog::MarkFailed(std::int64_t id, std::string_view error, std::int64_t next_attempt_at) {
  std::lock_guard lock(mu_);
  return WithoutFsync([&] {
    return RequireChange(*db_, statements_->mark_failed.Run(id, error, next_attempt_at),
                         NotPending(id));
  });
}

Status Catalog::MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now) {
  std::lock_guard lock(mu_);
  return WithoutFsync([&] {
    SqliteTransaction tx(*db_);
    if (Status s = tx.Begin(); !s.ok()) return s;
    if (Status s =
            RequireChange(*db_, statements_->copy_to_dead.Run(id, now, reason), NotPending(id));
        !s.ok()) {
      return s;
    }
    if (Status s = statements_->delete_pending.Run(id); !s.ok()) return s;
    return tx.Commit();
  });
}

StatusOr<PruneStep> Catalog::PruneDone(std::int64_t before, std::int64_t now, std::int64_t after,
                                       std::int64_t limit) {
  std::lock_guard lock(mu_);
  struct Row {
    std::int64_t id;
    std::int64_t created_at;
  };
  StatusOr<std::vector<Row>> window = statements_->prune_window.QueryAll(
      [](const SqliteCursor& c) {
        return Row{c.Int(0), c.Int(1)};
      },
      after, limit);
  if (!window.ok()) return window.status();
  PruneStep step{
      .deleted = 0, .next = after, .finished = window->size() < static_cast<std::size_t>(limit)};
  for (const Row& row : *window) {
    if (row.created_at >= before && row.created_at <= now) {
      step.finished = true;
      break;
    }
    step.next = row.id;
  }
  if (step.next == after) return step;
  return WithoutFsync([&]() -> StatusOr<PruneStep> {
    if (Status s = statements_->prune_done.Run(after, step.next, before); !s.ok()) return s;
    step.deleted = db_->changes();
    return step;
  });
}

StatusOr<OutboxCounts> Catalog::CountOutbox(std::string_view channel) {
  std::lock_guard lock(mu_);
  auto counts = statements_->count_outbox.QueryOne(
      [](const SqliteCursor& c) {
        return OutboxCounts{.pending = c.Int(0), .done = c.Int(1), .dead = c.Int(2)};
      },
      channel);
  if (!counts.ok()) return counts.status();
  return counts->value_or(OutboxCounts{});
}

StatusOr<std::int64_t> Catalog::ReleaseLeases(std::int64_t now) {
  std::lock_guard lock(mu_);
  if (Status s = statements_->release_leases.Run(now); !s.ok()) return s;
  return db_->changes();
}

StatusOr<std::vector<std::string>> Catalog::PendingChannels() {
  std::lock_guard lock(mu_);
  return statements_->pending_channels.QueryAll([](const SqliteCursor& c) { return c.Text(0); });
}

StatusOr<std::int64_t> Catalog::MoveChannelToDead(std::string_view channel, std::string_view reason,
                                                  std::int64_t now) {
  std::lock_guard lock(mu_);
  SqliteTransaction tx(*db_);
  if (Status s = tx.Begin(); !s.ok()) return s;
  if (Status s = statements_->copy_channel_to_dead.Run(channel, now, reason); !s.ok()) return s;
  const std::int64_t moved = db_->changes();
  if (Status s = statements_->delete_channel_pending.Run(channel); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  return moved;
}

StatusOr<std::vector<OutboxEntry>> Catalog::LatestPerInstance(std::string_view channel) {
  std::lock_guard lock(mu_);
  return statements_->latest_per_instance.QueryAll(ReadOutbox, channel);
}

}  // namespace tidewatch::rules
