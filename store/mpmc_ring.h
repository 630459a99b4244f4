// A bounded, lock-free, multi-producer multi-consumer ring of trivially copyable
// values (Dmitry Vyukov's bounded MPMC queue, with Disruptor-style batch claims).
//
// Thread safety: every member function may be called concurrently from any number of
// threads. The ring owns its slots; it never blocks and never allocates after
// construction.
//
// How it works. There are `capacity()` slots, a power of two. Each slot carries a
// sequence number `seq` that says what the slot is waiting for:
//   seq == p          the slot is free for the producer that claims position p;
//   seq == p + 1      it holds the value written at position p, ready for the consumer
//                     that claims position p;
//   seq == p + cap    the consumer of position p is done; the slot is free for the
//                     producer of position p + cap (the first case, one lap later).
// Producers claim positions by advancing `enqueue_pos_`, consumers by advancing
// `dequeue_pos_`; both are 64-bit counters that never wrap in practice (2^64
// operations), so there is no ABA problem. A position is claimed with one CAS; a batch
// of positions [pos, pos + n) with one CAS too, after checking that each of the n
// slots is in the right state. That check is stable: a free slot for position p can
// only be written by the producer that owns p, and ownership of p requires the CAS
// from `pos` to succeed, so nobody can change a checked slot between the check and a
// successful CAS (the same argument holds for consumers and full slots).
//
// Memory ordering, each choice:
//   - slot.seq is stored with release after the value is copied in (producer) or out
//     (consumer), and loaded with acquire before the value is touched. That pair is
//     what publishes the value to the consumer and the free slot back to the producer.
//   - the cursors are only used to hand out positions; the data they protect is
//     published through slot.seq, so their loads and CASes are relaxed.
//   - counters are relaxed: they are statistics, not synchronisation.
//
// Counters are free on the fast path: pushed and popped are derived from the cursors;
// only the rare events (a rejected push, a dropped value) touch a counter of their own.
//
// Progress. TryPush/TryPop never wait for another thread: a slot still held by a
// thread that claimed it but has not finished copying makes them report full/empty,
// exactly as Vyukov's queue does. The one exception is kDropOldest: a producer that
// finds too little room evicts just enough of the oldest values, in one claim, and
// retries; if the room is only in transit (claimed by a consumer still copying out)
// it yields and retries rather than drop anything.
#ifndef TIDEWATCH_STORE_MPMC_RING_H_
#define TIDEWATCH_STORE_MPMC_RING_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace tidewatch::store {

// What a push does when the ring is full.
enum class OverflowPolicy {
  kReject,      // The push fails; the caller backs off (pauses its source). Default.
  kDropOldest,  // The oldest value is discarded and counted; the push succeeds.
                // Only for fields explicitly configured as lossy.
};

// A snapshot of a ring's counters. Taken without stopping the ring, so under
// concurrency the fields are each exact but not mutually consistent.
struct RingCounters {
  std::uint64_t pushed = 0;    // values accepted by the ring
  std::uint64_t popped = 0;    // values handed to consumers
  std::uint64_t rejected = 0;  // pushes refused because the ring was full (kReject), per
                               // value and attempt: a value retried k times counts k
  std::uint64_t dropped = 0;   // values discarded by kDropOldest
};

// Distance that keeps two hot atomics from false sharing. 128, not 64: Intel's
// adjacent-line prefetcher pulls cache lines in pairs.
inline constexpr std::size_t kFalseSharingRange = 128;

template <class T>
class MpmcRing {
  static_assert(std::is_trivially_copyable_v<T>, "MpmcRing holds trivially copyable values");
  static_assert(std::is_default_constructible_v<T>, "MpmcRing slots are default constructed");

 public:
  // REQUIRES: capacity is a power of two, at least 2.
  // Throws std::invalid_argument otherwise (construction is a startup-time edge).
  explicit MpmcRing(std::size_t capacity, OverflowPolicy policy = OverflowPolicy::kReject)
      : mask_(CheckedCapacity(capacity) - 1),
        policy_(policy),
        slots_(std::make_unique<Slot[]>(capacity)) {
    for (std::size_t i = 0; i < capacity; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }

  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  // Appends one value. Returns false only under kReject when the ring is full
  // (nothing is written; `rejected` is counted). Under kDropOldest it always succeeds.
  bool TryPush(const T& item) { return TryPushN(&item, 1) == 1; }

  // Removes the oldest value into `out`. Returns false when the ring is empty.
  bool TryPop(T& out) { return TryPopN(&out, 1) == 1; }

  // Appends items[0, k) with a single claim, so they are contiguous in the ring and in
  // order, and returns k. Under kReject, k is the number that fit (0 <= k <= n); the
  // n - k that did not fit are counted as rejected and the caller keeps them. Under
  // kDropOldest, k == n: just enough of the oldest values are dropped (in one claim)
  // to make room; if n > capacity, the call's own first n - capacity items are dropped
  // without entering the ring. Every dropped value is counted.
  std::size_t TryPushN(const T* items, std::size_t n) {
    if (n == 0) return 0;
    if (policy_ == OverflowPolicy::kReject) {
      const std::size_t k = ClaimAndWrite(items, n, /*all_or_nothing=*/false);
      if (k < n) rejected_.fetch_add(n - k, std::memory_order_relaxed);
      return k;
    }
    const std::size_t total = n;
    if (n > capacity()) {  // only the newest `capacity` items can survive
      skipped_.fetch_add(n - capacity(), std::memory_order_relaxed);
      items += n - capacity();
      n = capacity();
    }
    while (n > 0 && ClaimAndWrite(items, n, /*all_or_nothing=*/true) == 0) DropOldestToFit(n);
    return total;
  }

  // Removes up to `max` oldest values into out[0, k) with a single claim and returns k
  // (0 when empty). The k values are consecutive in ring order.
  std::size_t TryPopN(T* out, std::size_t max) {
    if (max == 0) return 0;
    std::uint64_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t k = CountReady(pos, max, /*want_full=*/true);
      if (k == 0) {
        // Either empty, or another consumer moved the cursor: re-read to tell.
        const std::uint64_t now = dequeue_pos_.load(std::memory_order_relaxed);
        if (now == pos) return 0;
        pos = now;
        continue;
      }
      if (dequeue_pos_.compare_exchange_weak(pos, pos + k, std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < k; ++i) {
          Slot& slot = slots_[(pos + i) & mask_];
          out[i] = slot.value;
          // Release: our read of the value happens before the producer of the next lap
          // overwrites it.
          slot.seq.store(pos + i + mask_ + 1, std::memory_order_release);
        }
        return k;
      }
      // CAS failure reloaded `pos`; retry from there.
    }
  }

  std::size_t capacity() const { return mask_ + 1; }
  OverflowPolicy policy() const { return policy_; }

  // Number of values in the ring, possibly stale by the time it returns; always in
  // [0, capacity()].
  std::size_t SizeApprox() const {
    // Relaxed loads of two cursors may see a head older than the tail (possible on
    // weakly ordered CPUs): that is an empty ring, not a wrapped-around huge one.
    const std::uint64_t tail = dequeue_pos_.load(std::memory_order_relaxed);
    const std::uint64_t head = enqueue_pos_.load(std::memory_order_relaxed);
    if (head <= tail) return 0;
    const std::uint64_t size = head - tail;
    return size > capacity() ? capacity() : static_cast<std::size_t>(size);
  }

  RingCounters counters() const {
    RingCounters c;
    const std::uint64_t evicted = evicted_.load(std::memory_order_relaxed);
    const std::uint64_t skipped = skipped_.load(std::memory_order_relaxed);
    c.dropped = evicted + skipped;
    c.rejected = rejected_.load(std::memory_order_relaxed);
    c.pushed = enqueue_pos_.load(std::memory_order_relaxed) + skipped;
    // Evicting claims dequeue positions too; those values were not handed out.
    const std::uint64_t dequeued = dequeue_pos_.load(std::memory_order_relaxed);
    c.popped = dequeued >= evicted ? dequeued - evicted : 0;
    return c;
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };

  static std::size_t CheckedCapacity(std::size_t capacity) {
    if (capacity < 2 || !std::has_single_bit(capacity)) {
      throw std::invalid_argument("MpmcRing capacity must be a power of two >= 2");
    }
    return capacity;
  }

  // Number of consecutive slots from position `pos`, up to `max`, that are ready for a
  // consumer (want_full) or a producer (!want_full) of those positions.
  std::size_t CountReady(std::uint64_t pos, std::size_t max, bool want_full) const {
    const std::uint64_t lag = want_full ? 1 : 0;
    std::size_t k = 0;
    const std::size_t limit = max < capacity() ? max : capacity();
    while (k < limit) {
      // Acquire: pairs with the release store that made the slot ready, so the value
      // (or the consumer's finished read of it) is visible before we use the slot.
      const std::uint64_t seq = slots_[(pos + k) & mask_].seq.load(std::memory_order_acquire);
      if (seq != pos + k + lag) break;
      ++k;
    }
    return k;
  }

  // Claims up to n free positions with one CAS and writes items into them. Returns
  // how many were written: 0 when the ring is full, or, with all_or_nothing, when
  // fewer than n positions are free.
  std::size_t ClaimAndWrite(const T* items, std::size_t n, bool all_or_nothing) {
    std::uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      std::size_t k = CountReady(pos, n, /*want_full=*/false);
      if (all_or_nothing && k < n) k = 0;
      if (k == 0) {
        const std::uint64_t now = enqueue_pos_.load(std::memory_order_relaxed);
        if (now == pos) return 0;
        pos = now;
        continue;
      }
      if (enqueue_pos_.compare_exchange_weak(pos, pos + k, std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < k; ++i) {
          Slot& slot = slots_[(pos + i) & mask_];
          slot.value = items[i];
          // Release: publishes the value to the consumer that acquires seq == pos+i+1.
          slot.seq.store(pos + i + 1, std::memory_order_release);
        }
        return k;
      }
    }
  }

  // kDropOldest: a producer needs `n` free positions and found fewer. Evicts the
  // oldest values that stand in the way, in one claim, but only while the ring really
  // is that full: the CAS on dequeue_pos_ is from exactly the tail the occupancy was
  // computed with, so if a consumer popped meanwhile it fails and nothing is dropped.
  // If the positions are merely in transit (claimed by a consumer still copying, or by
  // a producer still writing), it yields instead of dropping.
  void DropOldestToFit(std::size_t n) {
    std::uint64_t tail = dequeue_pos_.load(std::memory_order_relaxed);
    const std::uint64_t head = enqueue_pos_.load(std::memory_order_relaxed);
    const std::uint64_t occupied = head > tail ? head - tail : 0;
    if (occupied + n <= capacity()) {
      std::this_thread::yield();
      return;
    }
    const std::size_t excess = static_cast<std::size_t>(occupied + n - capacity());
    if (CountReady(tail, excess, /*want_full=*/true) < excess ||
        !dequeue_pos_.compare_exchange_strong(tail, tail + excess, std::memory_order_relaxed)) {
      std::this_thread::yield();
      return;
    }
    for (std::size_t i = 0; i < excess; ++i) {
      // Release: as in TryPopN, the slot is free for the next lap's producer.
      slots_[(tail + i) & mask_].seq.store(tail + i + mask_ + 1, std::memory_order_release);
    }
    evicted_.fetch_add(excess, std::memory_order_relaxed);
  }

  // Constant after construction.
  const std::size_t mask_;
  const OverflowPolicy policy_;
  const std::unique_ptr<Slot[]> slots_;

  // Producers' cursor, consumers' cursor and the rare-event counters each on their
  // own cache-line pair so producers and consumers do not false-share.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> enqueue_pos_{0};
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> dequeue_pos_{0};
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> evicted_{0};  // kDropOldest: values dropped from the ring
  std::atomic<std::uint64_t> skipped_{0};  // kDropOldest: items of over-long calls never written
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_MPMC_RING_H_
