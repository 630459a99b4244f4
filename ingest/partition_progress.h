// PartitionProgress: the committable offset of one Kafka partition.
//
// Messages of a partition are consumed in offset order but completed in any order
// (their points go to several rings and workers). An offset may be committed only past
// the longest prefix of messages that are all complete: the low watermark. This keeps,
// per partition, the in-flight messages in offset order with their tickets.
//
// Thread safety: not thread-safe; owned by the source's consumer thread.
#ifndef TIDEWATCH_INGEST_PARTITION_PROGRESS_H_
#define TIDEWATCH_INGEST_PARTITION_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "ingest/ticket_table.h"

namespace tidewatch::ingest {

class PartitionProgress {
 public:
  // Records message `offset` as in flight under `ticket`.
  // REQUIRES: offset greater than every offset added before.
  void Add(std::int64_t offset, Ticket ticket) { in_flight_.push_back({offset, ticket}); }

  // Retires every leading message whose ticket is done (releasing the ticket) and
  // returns the new committable offset (one past the last retired message) if it
  // moved, else nullopt.
  std::optional<std::int64_t> Advance(TicketTable& tickets);

  // The committable offset so far, or nullopt if no message has been retired.
  std::optional<std::int64_t> committable() const { return committable_; }
  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Message {
    std::int64_t offset;
    Ticket ticket;
  };
  std::deque<Message> in_flight_;
  std::optional<std::int64_t> committable_;
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_PARTITION_PROGRESS_H_
