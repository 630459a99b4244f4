// OutboxQueue: the durable outbox as the delivery worker sees it. The daemon adapts
// rules::Catalog's outbox to it (sinks/ depends on nothing project-internal); tests use
// an in-memory fake with the same contract.
//
// Contract (the catalog's): Claim hands out due rows (next attempt <= now) of one
// channel in commit order, at most one pending row per ordering key (a later row of an
// instance waits until the earlier one is done or dead), and leases them until
// `lease_until` so a second Claim does not hand them out again; a crashed sender's rows
// come back when the lease runs out. Each claim counts an attempt.
//
// Thread safety: every call may come from any thread.
#ifndef TIDEWATCH_SINKS_OUTBOX_QUEUE_H_
#define TIDEWATCH_SINKS_OUTBOX_QUEUE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "sinks/emitter.h"
#include "store/status.h"

namespace tidewatch::sinks {

class OutboxQueue {
 public:
  virtual ~OutboxQueue() = default;
  virtual StatusOr<std::vector<Notification>> Claim(std::string_view channel, std::int64_t now,
                                                    std::int64_t limit,
                                                    std::int64_t lease_until) = 0;
  virtual Status MarkDone(std::int64_t id) = 0;
  virtual Status MarkFailed(std::int64_t id, std::string_view error,
                            std::int64_t next_attempt_at) = 0;
  virtual Status MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now) = 0;
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_OUTBOX_QUEUE_H_
