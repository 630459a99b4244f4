#include "ingest/ticket_table.h"

#include <cassert>

namespace tidewatch::ingest {

TicketTable::TicketTable(std::uint32_t table_index, std::uint32_t capacity)
    : index_(table_index),
      capacity_(capacity),
      pending_(std::make_unique<std::atomic<std::uint32_t>[]>(capacity)) {
  assert(table_index >= 1 && table_index < kMaxTicketTables);
  assert(capacity >= 1 && capacity <= kMaxTicketSlots);
  free_.reserve(capacity);
  // Lowest slots on top of the stack: tickets are reused while still in cache.
  for (std::uint32_t slot = capacity; slot > 0; --slot) free_.push_back(slot - 1);
}

std::optional<Ticket> TicketTable::Take(std::uint32_t points) {
  if (free_.empty()) return std::nullopt;
  const std::uint32_t slot = free_.back();
  free_.pop_back();
  // Relaxed: workers learn of the ticket only through ring entries pushed after this,
  // and the ring's release/acquire publishes the count along with them.
  pending_[slot].store(points, std::memory_order_relaxed);
  return (index_ << kTicketSlotBits) | slot;
}

void TicketTable::Release(Ticket t) {
  assert(Done(t));
  free_.push_back(TicketSlot(t));
}

}  // namespace tidewatch::ingest
