// TicketTable: completion tracking for at-least-once ingest.
//
// A source takes a ticket for each message it consumes, with the number of points the
// message decoded to; every point carries the ticket through the field rings; the
// evaluation worker that has stored a point (and run the rules on it) completes it.
// When a ticket's count reaches zero the message is done, and the source may move its
// partition's committable offset past it (see PartitionProgress).
//
// Tickets are slots of a fixed-size table: taking one never allocates, and a full
// table is backpressure (the source stops consuming until messages complete).
//
// Thread safety: Take() and Release() are for the owning source thread only (they
// manage the free list without synchronisation). Complete() may be called from any
// thread. Done() may be called from any thread; the owner uses it.
#ifndef TIDEWATCH_INGEST_TICKET_TABLE_H_
#define TIDEWATCH_INGEST_TICKET_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace tidewatch::ingest {

// A ticket as carried by FieldEntry (store/field_rings.h): the table's index in the
// top 8 bits, the slot in the low 24.
using Ticket = std::uint32_t;
inline constexpr int kTicketSlotBits = 24;
inline constexpr std::uint32_t kMaxTicketTables = 1u << (32 - kTicketSlotBits);
inline constexpr std::uint32_t kMaxTicketSlots = 1u << kTicketSlotBits;

inline std::uint32_t TicketTableIndex(Ticket t) { return t >> kTicketSlotBits; }
inline std::uint32_t TicketSlot(Ticket t) { return t & (kMaxTicketSlots - 1); }

class TicketTable {
 public:
  // REQUIRES: 1 <= table_index < kMaxTicketTables (index 0 is reserved, so ticket 0
  // means "not tracked"), 1 <= capacity <= kMaxTicketSlots.
  TicketTable(std::uint32_t table_index, std::uint32_t capacity);
  TicketTable(const TicketTable&) = delete;
  TicketTable& operator=(const TicketTable&) = delete;

  // A free ticket whose count is `points`, or nullopt when every ticket is in use.
  // A ticket with 0 points is done at once.
  std::optional<Ticket> Take(std::uint32_t points);

  // Subtracts n completed points. REQUIRES: t is taken and at least n points pending.
  void Complete(Ticket t, std::uint32_t n = 1) {
    // Release: the work done on these points (stored, evaluated) happens before the
    // owner sees the count reach zero with its acquire load in Done().
    pending_[TicketSlot(t)].fetch_sub(n, std::memory_order_release);
  }

  // True when every point of the ticket has been completed.
  bool Done(Ticket t) const { return pending_[TicketSlot(t)].load(std::memory_order_acquire) == 0; }

  // Returns a done ticket to the free list. REQUIRES: Done(t), owner thread.
  void Release(Ticket t);

  std::uint32_t in_use() const { return capacity_ - static_cast<std::uint32_t>(free_.size()); }
  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t index() const { return index_; }

 private:
  const std::uint32_t index_;
  const std::uint32_t capacity_;
  const std::unique_ptr<std::atomic<std::uint32_t>[]> pending_;
  std::vector<std::uint32_t> free_;  // owner thread only
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_TICKET_TABLE_H_
