// CatalogOutboxQueue: the SQLite catalog's outbox (rules::Catalog ClaimDue, MarkDone,
// MarkFailed, MoveToDead) as the sinks::OutboxQueue the delivery worker drains. The
// contract is the catalog's; this class only maps OutboxEntry to sinks::Notification,
// so sinks/ stays free of rules/.
//
// Thread safety: as rules::Catalog, every call from any thread.
#ifndef TIDEWATCH_DAEMON_CATALOG_OUTBOX_QUEUE_H_
#define TIDEWATCH_DAEMON_CATALOG_OUTBOX_QUEUE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "rules/catalog.h"
#include "sinks/outbox_queue.h"
#include "store/status.h"

namespace tidewatch::daemon {

class CatalogOutboxQueue : public sinks::OutboxQueue {
 public:
  // REQUIRES: catalog outlives this queue.
  explicit CatalogOutboxQueue(rules::Catalog& catalog) : catalog_(catalog) {}

  StatusOr<std::vector<sinks::Notification>> Claim(std::string_view channel, std::int64_t now,
                                                   std::int64_t limit,
                                                   std::int64_t lease_until) override;
  Status MarkDone(std::int64_t id) override;
  Status MarkFailed(std::int64_t id, std::string_view error, std::int64_t next_attempt_at) override;
  Status MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now) override;

 private:
  rules::Catalog& catalog_;
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_CATALOG_OUTBOX_QUEUE_H_
