// Single-threaded semantics of MpmcRing: order, full/empty, wrap-around, batch
// edges, overflow policies and counters. Concurrency lives in
// mpmc_ring_concurrency_test.cc.
#include "store/mpmc_ring.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace tidewatch::store {
namespace {

using Ring = MpmcRing<std::uint64_t>;

// Values first..first+n-1, for batch pushes.
std::vector<std::uint64_t> Range(std::uint64_t first, std::size_t n) {
  std::vector<std::uint64_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// Pushes first..first+n-1 one at a time; returns how many were accepted.
std::size_t PushEach(Ring& ring, std::uint64_t first, std::size_t n) {
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (ring.TryPush(first + i)) ++accepted;
  }
  return accepted;
}

std::string Join(const std::vector<std::uint64_t>& values) {
  std::string s;
  for (const std::uint64_t v : values) {
    if (!s.empty()) s += ' ';
    s += std::to_string(v);
  }
  return s;
}

// Pops everything, one value at a time, and renders it as "1 2 3".
std::string Drain(Ring& ring) {
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  while (ring.TryPop(v)) out.push_back(v);
  return Join(out);
}

std::string Counters(const Ring& ring) {
  const RingCounters c = ring.counters();
  return "pushed=" + std::to_string(c.pushed) + " popped=" + std::to_string(c.popped) +
         " rejected=" + std::to_string(c.rejected) + " dropped=" + std::to_string(c.dropped);
}

TEST(MpmcRingTest, ConstructorRejectsBadCapacities) {
  const std::size_t kBad[] = {0, 1, 3, 5, 6, 7, 12, 100, 1000};
  for (const std::size_t bad : kBad) {
    EXPECT_THROW(Ring ring(bad), std::invalid_argument) << "capacity " << bad;
    EXPECT_THROW(Ring ring(bad, OverflowPolicy::kDropOldest), std::invalid_argument)
        << "capacity " << bad;
  }
}

TEST(MpmcRingTest, ConstructorAcceptsPowersOfTwo) {
  const std::size_t kGood[] = {2, 4, 8, 64, 1024};
  for (const std::size_t good : kGood) {
    Ring ring(good);
    EXPECT_EQ(ring.capacity(), good);
    EXPECT_EQ(ring.policy(), OverflowPolicy::kReject);
  }
  EXPECT_EQ(Ring(2, OverflowPolicy::kDropOldest).policy(), OverflowPolicy::kDropOldest);
}

TEST(MpmcRingTest, NewRingIsEmpty) {
  Ring ring(4);
  std::uint64_t v = 42;
  EXPECT_FALSE(ring.TryPop(v));
  EXPECT_EQ(v, 42u);  // untouched
  EXPECT_EQ(ring.SizeApprox(), 0u);
  EXPECT_EQ(Counters(ring), "pushed=0 popped=0 rejected=0 dropped=0");
}

TEST(MpmcRingTest, PopsInFifoOrder) {
  Ring ring(8);
  const std::uint64_t kValues[] = {5, 3, 9, 1, 7};
  for (const std::uint64_t v : kValues) ASSERT_TRUE(ring.TryPush(v));
  EXPECT_EQ(Drain(ring), "5 3 9 1 7");
}

TEST(MpmcRingTest, InterleavedPushAndPopKeepFifoOrder) {
  Ring ring(4);
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  ring.TryPush(1);
  ring.TryPush(2);
  if (ring.TryPop(v)) out.push_back(v);
  ring.TryPush(3);
  if (ring.TryPop(v)) out.push_back(v);
  if (ring.TryPop(v)) out.push_back(v);
  if (ring.TryPop(v)) out.push_back(v);  // empty: nothing
  ring.TryPush(4);
  if (ring.TryPop(v)) out.push_back(v);
  EXPECT_EQ(Join(out), "1 2 3 4");
}

TEST(MpmcRingTest, FullRingRejectsPushAndKeepsContents) {
  Ring ring(4);
  EXPECT_EQ(PushEach(ring, 1, 4), 4u);
  EXPECT_FALSE(ring.TryPush(5));
  EXPECT_FALSE(ring.TryPush(6));
  EXPECT_EQ(ring.SizeApprox(), 4u);
  EXPECT_EQ(Counters(ring), "pushed=4 popped=0 rejected=2 dropped=0");
  EXPECT_EQ(Drain(ring), "1 2 3 4");
  EXPECT_EQ(Counters(ring), "pushed=4 popped=4 rejected=2 dropped=0");
}

TEST(MpmcRingTest, FullRingAcceptsAgainAfterOnePop) {
  Ring ring(2);
  std::uint64_t v = 0;
  ring.TryPush(1);
  ring.TryPush(2);
  ASSERT_TRUE(ring.TryPop(v));
  EXPECT_TRUE(ring.TryPush(3));
  EXPECT_FALSE(ring.TryPush(4));
  EXPECT_EQ(Drain(ring), "2 3");
}

TEST(MpmcRingTest, EmptyAfterDrainRejectsPop) {
  Ring ring(4);
  PushEach(ring, 1, 3);
  EXPECT_EQ(Drain(ring), "1 2 3");
  std::uint64_t v = 0;
  EXPECT_FALSE(ring.TryPop(v));
  EXPECT_EQ(ring.SizeApprox(), 0u);
}

// A slot is reused once per lap; 10,000 laps of a 4-slot ring, at every occupancy.
TEST(MpmcRingTest, WrapsAroundManyTimes) {
  Ring ring(4);
  std::uint64_t next_push = 0, next_pop = 0, v = 0;
  std::string error;
  for (int lap = 0; lap < 10000 && error.empty(); ++lap) {
    const std::size_t fill = static_cast<std::size_t>(lap % 4) + 1;  // 1..4 in flight
    for (std::size_t i = 0; i < fill; ++i) {
      if (!ring.TryPush(next_push++)) error = "push refused at " + std::to_string(next_push - 1);
    }
    for (std::size_t i = 0; i < fill; ++i) {
      if (!ring.TryPop(v) || v != next_pop) {
        error = "pop " + std::to_string(next_pop) + " got " + std::to_string(v);
      }
      ++next_pop;
    }
  }
  EXPECT_EQ(error, "");
  EXPECT_EQ(next_push, 25000u);
  EXPECT_EQ(Counters(ring), "pushed=25000 popped=25000 rejected=0 dropped=0");
}

TEST(MpmcRingTest, BatchOfZeroDoesNothing) {
  Ring ring(4);
  PushEach(ring, 1, 2);
  std::uint64_t dummy = 99;
  EXPECT_EQ(ring.TryPushN(&dummy, 0), 0u);
  EXPECT_EQ(ring.TryPopN(&dummy, 0), 0u);
  EXPECT_EQ(dummy, 99u);
  EXPECT_EQ(Counters(ring), "pushed=2 popped=0 rejected=0 dropped=0");
  EXPECT_EQ(Drain(ring), "1 2");
}

TEST(MpmcRingTest, BatchOfZeroOnFullRingIsNotRejected) {
  Ring ring(2);
  PushEach(ring, 1, 2);
  EXPECT_EQ(ring.TryPushN(nullptr, 0), 0u);
  EXPECT_EQ(Counters(ring), "pushed=2 popped=0 rejected=0 dropped=0");
}

TEST(MpmcRingTest, BatchOfOne) {
  Ring ring(4);
  const std::uint64_t in = 7;
  std::uint64_t out = 0;
  EXPECT_EQ(ring.TryPushN(&in, 1), 1u);
  EXPECT_EQ(ring.TryPopN(&out, 1), 1u);
  EXPECT_EQ(out, 7u);
  EXPECT_EQ(ring.TryPopN(&out, 1), 0u);
}

TEST(MpmcRingTest, BatchOfCapacityFillsEmptyRing) {
  Ring ring(8);
  const std::vector<std::uint64_t> in = Range(10, 8);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 8u);
  EXPECT_EQ(ring.SizeApprox(), 8u);
  EXPECT_FALSE(ring.TryPush(99));
  std::vector<std::uint64_t> out(8);
  EXPECT_EQ(ring.TryPopN(out.data(), out.size()), 8u);
  EXPECT_EQ(Join(out), "10 11 12 13 14 15 16 17");
  EXPECT_EQ(Counters(ring), "pushed=8 popped=8 rejected=1 dropped=0");
}

TEST(MpmcRingTest, BatchPushPartialFitRejectsTheRest) {
  Ring ring(8);
  PushEach(ring, 1, 5);
  const std::vector<std::uint64_t> in = Range(100, 6);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 3u);  // 3 free slots
  EXPECT_EQ(Counters(ring), "pushed=8 popped=0 rejected=3 dropped=0");
  EXPECT_EQ(Drain(ring), "1 2 3 4 5 100 101 102");
}

TEST(MpmcRingTest, BatchPushMoreThanCapacityOnEmptyRing) {
  Ring ring(4);
  const std::vector<std::uint64_t> in = Range(1, 10);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 4u);
  EXPECT_EQ(Counters(ring), "pushed=4 popped=0 rejected=6 dropped=0");
  EXPECT_EQ(Drain(ring), "1 2 3 4");
}

TEST(MpmcRingTest, BatchPushOnFullRingRejectsAll) {
  Ring ring(4);
  PushEach(ring, 1, 4);
  const std::vector<std::uint64_t> in = Range(100, 3);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 0u);
  EXPECT_EQ(Counters(ring), "pushed=4 popped=0 rejected=3 dropped=0");
}

TEST(MpmcRingTest, BatchPopReturnsWhatIsThere) {
  Ring ring(8);
  PushEach(ring, 1, 3);
  std::vector<std::uint64_t> out(8, 0);
  EXPECT_EQ(ring.TryPopN(out.data(), out.size()), 3u);
  EXPECT_EQ(Join(out), "1 2 3 0 0 0 0 0");  // the tail is untouched
  EXPECT_EQ(ring.TryPopN(out.data(), out.size()), 0u);
}

TEST(MpmcRingTest, BatchPopTakesAtMostMax) {
  Ring ring(8);
  PushEach(ring, 1, 6);
  std::vector<std::uint64_t> out(4, 0);
  EXPECT_EQ(ring.TryPopN(out.data(), 2), 2u);
  EXPECT_EQ(Join(out), "1 2 0 0");
  EXPECT_EQ(Drain(ring), "3 4 5 6");
}

TEST(MpmcRingTest, BatchPopMoreThanCapacityFromFullRing) {
  Ring ring(4);
  PushEach(ring, 1, 4);
  std::vector<std::uint64_t> out(10, 0);
  EXPECT_EQ(ring.TryPopN(out.data(), out.size()), 4u);
  EXPECT_EQ(Join(out), "1 2 3 4 0 0 0 0 0 0");
}

// Start the cursors at 3 so batches straddle the end of the slot array.
TEST(MpmcRingTest, BatchesStraddleTheWrapPoint) {
  Ring ring(4);
  std::vector<std::uint64_t> out(4, 0);
  PushEach(ring, 0, 3);
  ASSERT_EQ(ring.TryPopN(out.data(), 3), 3u);
  const std::vector<std::uint64_t> in = Range(10, 4);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 4u);
  EXPECT_EQ(ring.TryPopN(out.data(), out.size()), 4u);
  EXPECT_EQ(Join(out), "10 11 12 13");
}

TEST(MpmcRingTest, DropOldestFullRingPushDropsOldest) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  EXPECT_EQ(PushEach(ring, 1, 4), 4u);
  EXPECT_TRUE(ring.TryPush(5));
  EXPECT_EQ(ring.SizeApprox(), 4u);
  EXPECT_EQ(Counters(ring), "pushed=5 popped=0 rejected=0 dropped=1");
  EXPECT_EQ(Drain(ring), "2 3 4 5");
  EXPECT_EQ(Counters(ring), "pushed=5 popped=4 rejected=0 dropped=1");
}

TEST(MpmcRingTest, DropOldestKeepsDroppingOnePerPush) {
  Ring ring(2, OverflowPolicy::kDropOldest);
  EXPECT_EQ(PushEach(ring, 1, 100), 100u);
  EXPECT_EQ(Counters(ring), "pushed=100 popped=0 rejected=0 dropped=98");
  EXPECT_EQ(Drain(ring), "99 100");
}

TEST(MpmcRingTest, DropOldestDoesNotDropWhenThereIsRoom) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  PushEach(ring, 1, 3);
  const std::vector<std::uint64_t> in = Range(10, 1);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 1u);
  EXPECT_EQ(Counters(ring), "pushed=4 popped=0 rejected=0 dropped=0");
  EXPECT_EQ(Drain(ring), "1 2 3 10");
}

TEST(MpmcRingTest, DropOldestBatchPartialFitDropsJustEnough) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  PushEach(ring, 1, 3);
  const std::vector<std::uint64_t> in = Range(10, 3);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 3u);
  EXPECT_EQ(Counters(ring), "pushed=6 popped=0 rejected=0 dropped=2");
  EXPECT_EQ(Drain(ring), "3 10 11 12");
}

TEST(MpmcRingTest, DropOldestBatchLargerThanCapacityKeepsNewest) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  PushEach(ring, 1, 2);
  const std::vector<std::uint64_t> in = Range(100, 10);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 10u);
  // The 2 old values and the first 6 of the batch are dropped.
  EXPECT_EQ(Counters(ring), "pushed=12 popped=0 rejected=0 dropped=8");
  EXPECT_EQ(Drain(ring), "106 107 108 109");
}

TEST(MpmcRingTest, DropOldestBatchLargerThanCapacityOnEmptyRing) {
  Ring ring(2, OverflowPolicy::kDropOldest);
  const std::vector<std::uint64_t> in = Range(1, 7);
  EXPECT_EQ(ring.TryPushN(in.data(), in.size()), 7u);
  EXPECT_EQ(Counters(ring), "pushed=7 popped=0 rejected=0 dropped=5");
  EXPECT_EQ(Drain(ring), "6 7");
}

TEST(MpmcRingTest, DropOldestEmptyRingPopFails) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  std::uint64_t v = 0;
  EXPECT_FALSE(ring.TryPop(v));
  EXPECT_EQ(ring.TryPopN(&v, 4), 0u);
  EXPECT_EQ(Counters(ring), "pushed=0 popped=0 rejected=0 dropped=0");
}

TEST(MpmcRingTest, CountersFollowAScript) {
  Ring ring(4);
  std::vector<std::uint64_t> out(8);
  std::string trace;
  PushEach(ring, 1, 6);  // 4 in, 2 rejected
  trace += Counters(ring) + "\n";
  ring.TryPopN(out.data(), 3);
  trace += Counters(ring) + "\n";
  const std::vector<std::uint64_t> in = Range(10, 5);
  ring.TryPushN(in.data(), in.size());  // 3 fit, 2 rejected
  trace += Counters(ring) + "\n";
  ring.TryPopN(out.data(), out.size());
  trace += Counters(ring);
  EXPECT_EQ(trace,
            "pushed=4 popped=0 rejected=2 dropped=0\n"
            "pushed=4 popped=3 rejected=2 dropped=0\n"
            "pushed=7 popped=3 rejected=4 dropped=0\n"
            "pushed=7 popped=7 rejected=4 dropped=0");
}

TEST(MpmcRingTest, SizeApproxTracksOccupancy) {
  Ring ring(4);
  std::uint64_t v = 0;
  std::string sizes = std::to_string(ring.SizeApprox());
  for (int i = 0; i < 5; ++i) {
    ring.TryPush(1);
    sizes += " " + std::to_string(ring.SizeApprox());
  }
  for (int i = 0; i < 5; ++i) {
    ring.TryPop(v);
    sizes += " " + std::to_string(ring.SizeApprox());
  }
  EXPECT_EQ(sizes, "0 1 2 3 4 4 3 2 1 0 0");
}

TEST(MpmcRingTest, SizeApproxStaysAtCapacityWhenDropping) {
  Ring ring(4, OverflowPolicy::kDropOldest);
  PushEach(ring, 1, 11);
  EXPECT_EQ(ring.SizeApprox(), 4u);
}

// Random single-threaded traffic against a std::deque model, both policies: every
// return value, every popped value and the counters must match the model.
std::string RunAgainstModel(OverflowPolicy policy, std::uint64_t seed) {
  constexpr std::size_t kCapacity = 8;
  Ring ring(kCapacity, policy);
  std::deque<std::uint64_t> model;
  RingCounters expected;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> batch(0, 2 * kCapacity + 1);
  std::uint64_t next = 0;
  std::vector<std::uint64_t> out(2 * kCapacity + 2);
  for (int step = 0; step < 20000; ++step) {
    const std::size_t n = batch(rng);
    if (rng() % 2 == 0) {
      const std::vector<std::uint64_t> in = Range(next, n);
      next += n;
      std::size_t want = 0;
      for (const std::uint64_t v : in) {
        if (model.size() == kCapacity) {
          if (policy == OverflowPolicy::kReject) break;
          model.pop_front();
          ++expected.dropped;
        }
        model.push_back(v);
        ++want;
      }
      expected.pushed += want;
      expected.rejected += n - want;
      const std::size_t got = ring.TryPushN(in.data(), n);
      if (got != want) return "step " + std::to_string(step) + ": push gave " + std::to_string(got);
    } else {
      const std::size_t got = ring.TryPopN(out.data(), n);
      const std::size_t want = n < model.size() ? n : model.size();
      if (got != want) return "step " + std::to_string(step) + ": pop gave " + std::to_string(got);
      for (std::size_t i = 0; i < got; ++i, model.pop_front()) {
        if (out[i] != model.front()) return "step " + std::to_string(step) + ": wrong value";
      }
      expected.popped += got;
    }
    const RingCounters c = ring.counters();
    if (c.pushed != expected.pushed || c.popped != expected.popped ||
        c.rejected != expected.rejected || c.dropped != expected.dropped ||
        ring.SizeApprox() != model.size()) {
      return "step " + std::to_string(step) + ": " + Counters(ring);
    }
  }
  return "ok";
}

TEST(MpmcRingTest, RejectMatchesModelUnderRandomBatches) {
  EXPECT_EQ(RunAgainstModel(OverflowPolicy::kReject, 1), "ok");
  EXPECT_EQ(RunAgainstModel(OverflowPolicy::kReject, 2), "ok");
}

TEST(MpmcRingTest, DropOldestMatchesModelUnderRandomBatches) {
  EXPECT_EQ(RunAgainstModel(OverflowPolicy::kDropOldest, 1), "ok");
  EXPECT_EQ(RunAgainstModel(OverflowPolicy::kDropOldest, 2), "ok");
}

// Any trivially copyable T: a 16-byte point survives the copy in and out.
TEST(MpmcRingTest, HoldsStructValues) {
  struct Point {
    std::int64_t ts;
    double value;
  };
  MpmcRing<Point> ring(2);
  ASSERT_TRUE(ring.TryPush(Point{-5, 0.25}));
  ASSERT_TRUE(ring.TryPush(Point{std::numeric_limits<std::int64_t>::max(), -1e300}));
  Point p{};
  ASSERT_TRUE(ring.TryPop(p));
  EXPECT_EQ(p.ts, -5);
  EXPECT_EQ(p.value, 0.25);
  ASSERT_TRUE(ring.TryPop(p));
  EXPECT_EQ(p.ts, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(p.value, -1e300);
}

}  // namespace
}  // namespace tidewatch::store
