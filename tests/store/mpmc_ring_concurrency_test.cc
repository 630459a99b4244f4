// Stress tests for MpmcRing: P producers x C consumers, P, C in {1, 2, 4}, through the
// single-item and the batch API, under both overflow policies.
//
// Each item carries (producer, seq, check, call_index). What is asserted, and why it
// holds:
//   - Every pushed item is received at most once, and under kReject exactly once.
//   - The check field matches: a torn or stale slot read would break it.
//   - Per consumer, each producer's items arrive in increasing seq order, even with
//     several consumers. A producer claims positions with successive CASes on one
//     cursor, so its items occupy increasing positions; a consumer's successive claims
//     on the other cursor also return increasing positions. (Across consumers there is
//     no order to assert.) With one consumer under kReject, this plus "exactly once"
//     means the consumer saw 0, 1, 2, ... from each producer.
//   - Under kReject, the values of one TryPushN call are contiguous (one claim): inside
//     one TryPopN result, which covers consecutive positions, item call_index i > 0
//     follows i - 1 of the same producer; with one consumer, across its pops too.
//   - The counters at quiescence equal what the threads counted themselves:
//     pushed == popped + dropped + left, `left` drained at the end, `dropped` equal
//     to the items nobody received, `rejected` to the refusals producers saw.
//
// Threads never sleep to synchronise; a loop that makes no progress yields (the
// machine has 2 cores and up to 8 threads) and gives up at a deadline, so a lost
// item fails the test instead of hanging it; all threads stop early once a consumer
// has seen a violation.
#include "store/mpmc_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace tidewatch::store {
namespace {

// Items per test, split among the producers.
#ifdef TIDEWATCH_SANITIZED
constexpr std::uint64_t kItemsPerTest = std::uint64_t{1} << 19;
#else
constexpr std::uint64_t kItemsPerTest = std::uint64_t{1} << 22;
#endif

constexpr auto kTimeLimit = std::chrono::seconds(120);

struct Item {
  std::uint32_t producer;
  std::uint16_t check;       // CheckOf(producer, seq)
  std::uint16_t call_index;  // index in the push call that wrote it
  std::uint64_t seq;         // per producer: 0, 1, 2, ...
};
static_assert(sizeof(Item) == 16);

std::uint16_t CheckOf(std::uint32_t producer, std::uint64_t seq) {
  const std::uint64_t h = (seq + 1) * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{producer} << 40);
  return static_cast<std::uint16_t>(h >> 48);
}

using Ring = MpmcRing<Item>;

// Tells every thread to stop once the time limit has passed or a consumer has seen a
// violation (no point in running a broken ring to the deadline).
class Watchdog {
 public:
  bool ShouldStop() {
    if (stop_.load(std::memory_order_relaxed)) return true;
    if (std::chrono::steady_clock::now() < end_) return false;
    timed_out_.store(true, std::memory_order_relaxed);
    stop_.store(true, std::memory_order_relaxed);
    return true;
  }
  void Trip() { stop_.store(true, std::memory_order_relaxed); }
  bool timed_out() const { return timed_out_.load(std::memory_order_relaxed); }

 private:
  const std::chrono::steady_clock::time_point end_ = std::chrono::steady_clock::now() + kTimeLimit;
  std::atomic<bool> stop_{false};
  std::atomic<bool> timed_out_{false};
};

// Holds every thread until all have started, so that producers and consumers overlap
// instead of the first threads finishing before the last ones are scheduled.
class StartGate {
 public:
  explicit StartGate(std::uint32_t threads) : waiting_(threads) {}
  void ArriveAndWait(Watchdog& dog) {
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    while (waiting_.load(std::memory_order_relaxed) != 0 && !dog.ShouldStop()) {
      std::this_thread::yield();
    }
  }

 private:
  std::atomic<std::uint32_t> waiting_;
};

// kSingle: TryPush/TryPop only. kMixed: each call picks TryPush/TryPop or
// TryPushN/TryPopN with a random size, sometimes larger than the capacity.
// kWholeRings: TryPushN/TryPopN of exactly capacity() values.
enum class Api { kSingle, kMixed, kWholeRings };

struct Shape {
  std::uint32_t producers;
  std::uint32_t consumers;
  std::uint64_t per_producer() const { return kItemsPerTest / producers; }
  std::uint64_t total() const { return per_producer() * producers; }
};

// Which received items are known to sit at adjacent ring positions, so that a push
// call's items must appear unbroken between them.
enum class Adjacency {
  kNone,         // no check
  kWithinClaim,  // the items of one pop: one claim of consecutive positions
  kAlways,       // everything a sole consumer pops, when nothing is dropped
};

// What one consumer (or the final drain) received. Owned by one thread at a time.
class Receipts {
 public:
  Receipts(const Shape& shape, Adjacency adjacency)
      : shape_(shape),
        adjacency_(adjacency),
        times_seen_(shape.total(), 0),
        next_min_(shape.producers, 0),
        first_(shape.producers, kNone) {}

  // items[0, k) came from one pop.
  void RecordPop(const Item* items, std::size_t k) {
    for (std::size_t i = 0; i < k; ++i) {
      const bool adjacent = adjacency_ == Adjacency::kAlways
                                ? received_ > 0
                                : adjacency_ == Adjacency::kWithinClaim && i > 0;
      Record(items[i], adjacent);
    }
  }

  // `later` (the drain) popped after this consumer stopped: for each producer, its
  // first item must follow the last one this consumer saw.
  void CheckPrecedes(const Receipts& later) {
    for (std::uint32_t p = 0; p < shape_.producers; ++p) {
      if (later.first_[p] != kNone && later.first_[p] < next_min_[p]) {
        Fail("producer " + std::to_string(p) + ": drained seq " + std::to_string(later.first_[p]) +
             " before consumed seq " + std::to_string(next_min_[p] - 1));
      }
    }
  }

  std::uint64_t received() const { return received_; }
  const std::vector<std::uint8_t>& times_seen() const { return times_seen_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};

  void Record(const Item& item, bool follows_last) {
    ++received_;
    if (item.producer >= shape_.producers || item.seq >= shape_.per_producer() ||
        item.check != CheckOf(item.producer, item.seq)) {
      Fail("corrupt item producer=" + std::to_string(item.producer) +
           " seq=" + std::to_string(item.seq) + " check=" + std::to_string(item.check));
      return;
    }
    if (item.seq < next_min_[item.producer]) {
      Fail("producer " + std::to_string(item.producer) + ": seq " + std::to_string(item.seq) +
           " after " + std::to_string(next_min_[item.producer] - 1));
    }
    if (follows_last && item.call_index > 0 &&
        (last_.producer != item.producer || last_.seq + 1 != item.seq)) {
      Fail("push call split: producer " + std::to_string(item.producer) + " seq " +
           std::to_string(item.seq) + " follows producer " + std::to_string(last_.producer) +
           " seq " + std::to_string(last_.seq));
    }
    last_ = item;
    if (first_[item.producer] == kNone) first_[item.producer] = item.seq;
    next_min_[item.producer] = item.seq + 1;
    std::uint8_t& seen = times_seen_[item.producer * shape_.per_producer() + item.seq];
    if (seen < 255) ++seen;
  }

  void Fail(const std::string& what) {
    if (errors_.size() < 3) errors_.push_back(what);
  }

  const Shape shape_;
  const Adjacency adjacency_;
  std::uint64_t received_ = 0;
  Item last_{};
  std::vector<std::uint8_t> times_seen_;  // by producer * per_producer + seq
  std::vector<std::uint64_t> next_min_;   // by producer: lowest seq allowed next
  std::vector<std::uint64_t> first_;      // by producer: first seq seen
  std::vector<std::string> errors_;
};

struct ProducerTally {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::string error;
};

// Pushes seq 0..per_producer-1; under kReject retries what the ring refused.
void Produce(Ring& ring, std::uint32_t id, const Shape& shape, Api api, StartGate& gate,
             Watchdog& dog, ProducerTally& tally) {
  gate.ArriveAndWait(dog);
  std::minstd_rand rng(id + 1);
  const std::size_t max_batch = ring.capacity() + ring.capacity() / 2;
  std::vector<Item> batch(max_batch);
  std::uint64_t next = 0;
  while (next < shape.per_producer()) {
    const bool single = api == Api::kSingle || (api == Api::kMixed && rng() % 2 == 0);
    const std::size_t size = api == Api::kWholeRings ? ring.capacity() : 1 + rng() % max_batch;
    const std::size_t want = single ? 1 : std::min<std::size_t>(size, shape.per_producer() - next);
    for (std::size_t i = 0; i < want; ++i) {
      batch[i] = Item{id, CheckOf(id, next + i), static_cast<std::uint16_t>(i), next + i};
    }
    const std::size_t got =
        single ? (ring.TryPush(batch[0]) ? 1 : 0) : ring.TryPushN(batch.data(), want);
    if (ring.policy() == OverflowPolicy::kDropOldest && got != want) {
      tally.error = "kDropOldest push accepted " + std::to_string(got) + " of " +
                    std::to_string(want);
      return;
    }
    tally.accepted += got;
    tally.refused += want - got;
    next += got;
    if (got == 0) {
      if (dog.ShouldStop()) return;
      std::this_thread::yield();
    } else if (ring.policy() == OverflowPolicy::kDropOldest && rng() % 4 == 0) {
      // Pacing, not synchronisation: a producer that never pauses keeps the ring full
      // and wins nearly every race for the consumer cursor with its drops, so the
      // consumers would receive almost nothing (~60 items of 4M, measured) and the
      // test would check little. Yielding now and then gives a mix of both.
      std::this_thread::yield();
    }
  }
}

// Pops until the producers are done; what is left in the ring is drained afterwards.
void Consume(Ring& ring, std::uint32_t id, Api api, const std::atomic<bool>& producers_done,
             StartGate& gate, Watchdog& dog, Receipts& receipts) {
  gate.ArriveAndWait(dog);
  std::minstd_rand rng(1000 + id);
  const std::size_t max_batch = ring.capacity() + ring.capacity() / 2;
  std::vector<Item> out(max_batch);
  while (!producers_done.load(std::memory_order_relaxed)) {
    const bool single = api == Api::kSingle || (api == Api::kMixed && rng() % 2 == 0);
    const std::size_t size = api == Api::kWholeRings ? ring.capacity() : 1 + rng() % max_batch;
    const std::size_t got = single ? (ring.TryPop(out[0]) ? 1 : 0) : ring.TryPopN(out.data(), size);
    receipts.RecordPop(out.data(), got);
    if (!receipts.errors().empty()) {
      dog.Trip();
      return;
    }
    if (got == 0) {
      if (dog.ShouldStop()) return;
      std::this_thread::yield();
    }
  }
}

std::string Render(const RingCounters& c, std::size_t size) {
  return "pushed=" + std::to_string(c.pushed) + " popped=" + std::to_string(c.popped) +
         " rejected=" + std::to_string(c.rejected) + " dropped=" + std::to_string(c.dropped) +
         " size=" + std::to_string(size);
}

// What a run observed, from the threads' own tallies and from the ring.
struct Outcome {
  std::string errors;          // every violation, "" when none
  std::uint64_t accepted = 0;  // pushes the producers saw succeed
  std::uint64_t refused = 0;   // pushes the producers saw refused
  std::uint64_t received = 0;  // items the consumer threads got
  std::uint64_t left = 0;      // items drained after all threads stopped
  std::uint64_t missing = 0;   // items nobody got: dropped
  std::string before_drain;    // Render(counters, SizeApprox) at quiescence
  std::string after_drain;
};

// `adjacency` is what the consumers may check: kAlways is only sound for one consumer
// and no drops.
Outcome RunStress(const Shape& shape, OverflowPolicy policy, Api api, std::size_t capacity,
                  Adjacency adjacency) {
  Ring ring(capacity, policy);
  Watchdog dog;
  StartGate gate(shape.producers + shape.consumers);
  std::atomic<bool> producers_done{false};
  std::vector<ProducerTally> tallies(shape.producers);
  std::vector<Receipts> receipts(shape.consumers, Receipts(shape, adjacency));
  std::vector<std::thread> consumers, producers;
  for (std::uint32_t c = 0; c < shape.consumers; ++c) {
    consumers.emplace_back(Consume, std::ref(ring), c, api, std::cref(producers_done),
                           std::ref(gate), std::ref(dog), std::ref(receipts[c]));
  }
  for (std::uint32_t p = 0; p < shape.producers; ++p) {
    producers.emplace_back(Produce, std::ref(ring), p, std::cref(shape), api, std::ref(gate),
                           std::ref(dog), std::ref(tallies[p]));
  }
  for (std::thread& t : producers) t.join();
  producers_done.store(true, std::memory_order_relaxed);
  for (std::thread& t : consumers) t.join();

  Outcome o;
  o.before_drain = Render(ring.counters(), ring.SizeApprox());
  // The drain may start in the middle of a push call, so it checks adjacency only
  // between its own pops.
  Receipts drained(shape, std::min(adjacency, Adjacency::kWithinClaim));
  std::vector<Item> rest(capacity);
  for (std::size_t k; (k = ring.TryPopN(rest.data(), rest.size())) > 0;) {
    drained.RecordPop(rest.data(), k);
  }
  o.after_drain = Render(ring.counters(), ring.SizeApprox());
  o.left = drained.received();

  if (dog.timed_out()) o.errors += "gave up after the time limit; ";
  for (const ProducerTally& t : tallies) {
    o.accepted += t.accepted;
    o.refused += t.refused;
    if (!t.error.empty()) o.errors += t.error + "; ";
  }
  for (Receipts& r : receipts) {
    r.CheckPrecedes(drained);
    o.received += r.received();
    for (const std::string& e : r.errors()) o.errors += "consumer: " + e + "; ";
  }
  for (const std::string& e : drained.errors()) o.errors += "drain: " + e + "; ";
  std::uint64_t duplicates = 0;
  for (std::uint64_t i = 0; i < shape.total(); ++i) {
    std::uint32_t seen = drained.times_seen()[i];
    for (const Receipts& r : receipts) seen += std::uint32_t{r.times_seen()[i]};
    if (seen == 0) ++o.missing;
    if (seen > 1) ++duplicates;
  }
  if (duplicates > 0) o.errors += std::to_string(duplicates) + " items received twice; ";
  return o;
}

// Parameter: (producers, consumers).
class MpmcRingConcurrencyTest
    : public ::testing::TestWithParam<std::tuple<std::uint32_t, std::uint32_t>> {
 protected:
  // Under kReject, a sole consumer sees every position in order.
  Adjacency LosslessAdjacency() const {
    return shape_.consumers == 1 ? Adjacency::kAlways : Adjacency::kWithinClaim;
  }

  const Shape shape_{std::get<0>(GetParam()), std::get<1>(GetParam())};
};

// Everything must come out exactly once; the counters must agree with the threads.
void ExpectLossless(const Shape& shape, const Outcome& o) {
  EXPECT_EQ(o.errors, "");
  EXPECT_EQ(o.accepted, shape.total());
  EXPECT_EQ(o.missing, 0u);
  EXPECT_EQ(o.received + o.left, shape.total());
  EXPECT_EQ(o.before_drain,
            Render(RingCounters{shape.total(), o.received, o.refused, 0}, o.left));
  EXPECT_EQ(o.after_drain, Render(RingCounters{shape.total(), shape.total(), o.refused, 0}, 0));
}

TEST_P(MpmcRingConcurrencyTest, SingleItemApiDeliversEveryItemOnceInOrder) {
  const Outcome o =
      RunStress(shape_, OverflowPolicy::kReject, Api::kSingle, 32, LosslessAdjacency());
  ExpectLossless(shape_, o);
}

TEST_P(MpmcRingConcurrencyTest, BatchApiDeliversEveryItemOnceInOrder) {
  const Outcome o =
      RunStress(shape_, OverflowPolicy::kReject, Api::kMixed, 32, LosslessAdjacency());
  ExpectLossless(shape_, o);
}

// A tiny ring so that producers drop constantly while consumers pop. Contiguity of a
// push call is checked separately (MpmcRingContentionTest below).
TEST_P(MpmcRingConcurrencyTest, DropOldestAccountsForEveryItem) {
  const Outcome o =
      RunStress(shape_, OverflowPolicy::kDropOldest, Api::kMixed, 8, Adjacency::kNone);
  EXPECT_EQ(o.errors, "");
  EXPECT_EQ(o.accepted, shape_.total());
  EXPECT_EQ(o.refused, 0u);
  EXPECT_EQ(o.received + o.left + o.missing, shape_.total());
  // pushed == popped + dropped + left, each side from an independent tally.
  EXPECT_EQ(o.before_drain,
            Render(RingCounters{shape_.total(), o.received, 0, o.missing}, o.left));
  EXPECT_EQ(o.after_drain,
            Render(RingCounters{shape_.total(), o.received + o.left, 0, o.missing}, 0));
}

INSTANTIATE_TEST_SUITE_P(
    ProducersByConsumers, MpmcRingConcurrencyTest,
    ::testing::Combine(::testing::Values(1u, 2u, 4u), ::testing::Values(1u, 2u, 4u)),
    [](const ::testing::TestParamInfo<MpmcRingConcurrencyTest::ParamType>& shape_info) {
      // Appends rather than "P" + std::to_string(...): g++ 12 -O3 warns falsely
      // (-Wrestrict, GCC bug 105329) on a literal plus a temporary string.
      std::string name = "P";
      name += std::to_string(std::get<0>(shape_info.param));
      name += "xC";
      name += std::to_string(std::get<1>(shape_info.param));
      return name;
    });

// mpmc_ring.h promises for TryPushN, under both policies: "Values of one call stay
// contiguous and in order". Two producers push whole-ring batches into a full
// kDropOldest ring; one consumer checks, inside each pop, that a call's values are
// not interleaved with another producer's. An interleaving is only seen when both
// producers run at once, which a loaded machine makes rarer, hence several runs.
TEST(MpmcRingContentionTest, DropOldestBatchPushStaysContiguous) {
  Outcome o;
  for (int run = 0; run < 8 && o.errors.empty(); ++run) {
    o = RunStress(Shape{2, 1}, OverflowPolicy::kDropOldest, Api::kWholeRings, 8,
                  Adjacency::kWithinClaim);
  }
  EXPECT_EQ(o.errors, "");
}

// The same under kReject, where a call is one claim.
TEST(MpmcRingContentionTest, RejectBatchPushStaysContiguous) {
  const Outcome o = RunStress(Shape{2, 1}, OverflowPolicy::kReject, Api::kWholeRings, 8,
                              Adjacency::kAlways);
  ExpectLossless(Shape{2, 1}, o);
}

}  // namespace
}  // namespace tidewatch::store
