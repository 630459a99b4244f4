#include "ingest/partition_progress.h"

namespace tidewatch::ingest {

std::optional<std::int64_t> PartitionProgress::Advance(TicketTable& tickets) {
  bool moved = false;
  while (!in_flight_.empty() && tickets.Done(in_flight_.front().ticket)) {
    tickets.Release(in_flight_.front().ticket);
    committable_ = in_flight_.front().offset + 1;
    in_flight_.pop_front();
    moved = true;
  }
  return moved ? committable_ : std::nullopt;
}

}  // namespace tidewatch::ingest
