#include "daemon/catalog_outbox_queue.h"

#include <utility>

namespace tidewatch::daemon {

StatusOr<std::vector<sinks::Notification>> CatalogOutboxQueue::Claim(std::string_view channel,
                                                                     std::int64_t now,
                                                                     std::int64_t limit,
                                                                     std::int64_t lease_until) {
  StatusOr<std::vector<rules::OutboxEntry>> rows =
      catalog_.ClaimDue(channel, now, limit, lease_until);
  if (!rows.ok()) return rows.status();
  std::vector<sinks::Notification> out;
  out.reserve(rows->size());
  for (rules::OutboxEntry& row : *rows) {
    out.push_back(sinks::Notification{.id = row.id,
                                      .channel = std::move(row.channel),
                                      .ordering_key = std::move(row.ordering_key),
                                      .idempotency_key = std::move(row.idempotency_key),
                                      .payload = std::move(row.payload),
                                      .created_at = row.created_at,
                                      .attempts = row.attempts});
  }
  return out;
}

Status CatalogOutboxQueue::MarkDone(std::int64_t id) { return catalog_.MarkDone(id); }

Status CatalogOutboxQueue::MarkFailed(std::int64_t id, std::string_view error,
                                      std::int64_t next_attempt_at) {
  return catalog_.MarkFailed(id, error, next_attempt_at);
}

Status CatalogOutboxQueue::MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now) {
  return catalog_.MoveToDead(id, reason, now);
}

}  // namespace tidewatch::daemon
