// Benchmarks tidewatch::store::MpmcRing<Item> side by side with
// moodycamel::ConcurrentQueue and boost::lockfree::queue, in one run.
//
// Benchmark names are "BM_<case>/<peer>" (Google Benchmark then appends
// "/real_time" or "/manual_time"); tests/bench/ring_ratios.py relies on that shape.
//   cases: Uncontended_Single, Uncontended_Batch   one thread, push then pop
//          1P1C_Single, 1P1C_Batch                 1 producer, 1 consumer thread
//          2P2C_Single, 2P2C_Batch                 2 producers, 2 consumer threads
//   peers: tidewatch, moodycamel, boost
// "Batch" means each peer's bulk API, kBatchSize items per call: TryPushN/TryPopN for
// the ring, enqueue_bulk/try_dequeue_bulk with tokens for moodycamel. boost has no bulk
// API, so its batch rows run its single-item calls in a loop (same harness).
//
// Capacity. The ring and boost are bounded at kCapacity items: a full queue makes the
// producer wait. moodycamel preallocates kCapacity items' worth of blocks but is driven
// through its allocating enqueue calls, so it is unbounded: a producer that runs more
// than kCapacity items ahead gets fresh blocks instead of waiting. Its bounded mode
// (the try_enqueue calls) cannot be used for a fair fight: blocks that an explicit
// producer has taken never go back to the shared pool, so with 2 producers the first
// one to run ahead keeps the whole pool and the other can never enqueue again (it
// livelocked 2P2C here; see MoodycamelPeer).
//
// Threaded cases: each benchmark iteration builds a fresh queue, starts the threads,
// releases them together and measures the wall time until the last one has finished
// moving kItemsPerRun items (UseManualTime, so setup and teardown are not measured).
// Consumers check that they received every item exactly once, undamaged and in
// per-producer order; a failed check fails the benchmark (SkipWithError).
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/lockfree/queue.hpp>
#include <concurrentqueue/concurrentqueue.h>

#include "store/mpmc_ring.h"

namespace tidewatch::bench {
namespace {

// The record the ingest hop moves: 16 bytes, trivially copyable.
struct Item {
  std::int64_t ts;
  double value;
};
static_assert(sizeof(Item) == 16);

constexpr std::size_t kCapacity = 65536;
constexpr std::size_t kBatchSize = 64;
// Items moved per measured iteration of a threaded case, over all producers.
constexpr std::int64_t kItemsPerRun = std::int64_t{1} << 20;
constexpr int kMaxProducers = 2;
// A lost item would make consumers wait forever; give up on the run after this long.
constexpr std::chrono::seconds kRunDeadline{30};

Item MakeItem(std::int64_t ts) { return Item{ts, static_cast<double>(ts)}; }

// ---------------------------------------------------------------------------------
// Peers. Each adapter owns one queue and hands out per-thread handles with the same
// surface, so one harness drives all three:
//   bool Producer::Push(const Item&)                 false when full
//   size_t Producer::PushN(const Item*, size_t n)    how many were accepted
//   bool Consumer::Pop(Item&)                        false when empty
//   size_t Consumer::PopN(Item*, size_t max)         how many were taken
// A handle is used by one thread only and must not outlive its adapter.

class TidewatchPeer {
 public:
  static constexpr const char* kName = "tidewatch";

  // The ring keeps no per-thread state: a handle is just a reference to it.
  class Handle {
   public:
    explicit Handle(store::MpmcRing<Item>& ring) : ring_(&ring) {}
    bool Push(const Item& item) { return ring_->TryPush(item); }
    std::size_t PushN(const Item* items, std::size_t n) { return ring_->TryPushN(items, n); }
    bool Pop(Item& out) { return ring_->TryPop(out); }
    std::size_t PopN(Item* out, std::size_t max) { return ring_->TryPopN(out, max); }

   private:
    store::MpmcRing<Item>* ring_;
  };
  using Producer = Handle;
  using Consumer = Handle;

  TidewatchPeer() : ring_(kCapacity) {}
  Producer MakeProducer() { return Handle(ring_); }
  Consumer MakeConsumer() { return Handle(ring_); }

 private:
  store::MpmcRing<Item> ring_;
};

class MoodycamelPeer {
  using Queue = moodycamel::ConcurrentQueue<Item>;

 public:
  static constexpr const char* kName = "moodycamel";

  class Producer {
   public:
    explicit Producer(Queue& queue) : queue_(&queue), token_(queue) {}
    bool Push(const Item& item) { return queue_->enqueue(token_, item); }
    // All or nothing (it only fails if allocation fails).
    // GCC 12 at -O3 reports -Wstringop-overflow inside moodycamel's enqueue_bulk (an
    // atomic *load* "writing 8 bytes into a region of size 0"): a false positive of
    // GCC's object-size tracking, of the family reported upstream as
    // cameron314/concurrentqueue#456. Silenced here only, not for our own code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    std::size_t PushN(const Item* items, std::size_t n) {
      return queue_->enqueue_bulk(token_, items, n) ? n : 0;
    }
#pragma GCC diagnostic pop

   private:
    Queue* queue_;
    moodycamel::ProducerToken token_;
  };

  class Consumer {
   public:
    explicit Consumer(Queue& queue) : queue_(&queue), token_(queue) {}
    bool Pop(Item& out) { return queue_->try_dequeue(token_, out); }
    std::size_t PopN(Item* out, std::size_t max) {
      return queue_->try_dequeue_bulk(token_, out, max);
    }

   private:
    Queue* queue_;
    moodycamel::ConsumerToken token_;
  };

  // Preallocates ceil(kCapacity / BLOCK_SIZE) blocks; more are allocated on demand.
  // Why not bounded: each explicit producer may hold up to the whole preallocated
  // pool in its own block list, and try_enqueue never takes a block back from another
  // producer. With two producers, one that runs kCapacity items ahead (easy when 4
  // threads share 2 cores) leaves the other with no block, and its try_enqueue fails
  // forever even when the queue is empty.
  MoodycamelPeer() : queue_(kCapacity) {}
  Producer MakeProducer() { return Producer(queue_); }
  Consumer MakeConsumer() { return Consumer(queue_); }

 private:
  Queue queue_;
};

class BoostPeer {
  // Node based; the constructor preallocates the nodes and bounded_push never
  // allocates more, so this is a bounded queue of kCapacity items. (The compile-time
  // capacity<> option is limited to 65,535 items by its 16-bit node indices.)
  using Queue = boost::lockfree::queue<Item>;

 public:
  static constexpr const char* kName = "boost";

  // boost has no bulk calls: PushN/PopN loop over the single-item ones.
  class Handle {
   public:
    explicit Handle(Queue& queue) : queue_(&queue) {}
    bool Push(const Item& item) { return queue_->bounded_push(item); }
    std::size_t PushN(const Item* items, std::size_t n) {
      std::size_t done = 0;
      while (done < n && Push(items[done])) ++done;
      return done;
    }
    bool Pop(Item& out) { return queue_->pop(out); }
    std::size_t PopN(Item* out, std::size_t max) {
      std::size_t done = 0;
      while (done < max && Pop(out[done])) ++done;
      return done;
    }

   private:
    Queue* queue_;
  };
  using Producer = Handle;
  using Consumer = Handle;

  BoostPeer() : queue_(kCapacity) {}
  Producer MakeProducer() { return Handle(queue_); }
  Consumer MakeConsumer() { return Handle(queue_); }

 private:
  Queue queue_;
};

// ---------------------------------------------------------------------------------
// Harness pieces shared by every case.

enum class Api { kSingle, kBatch };

constexpr std::size_t ChunkSize(Api api) { return api == Api::kSingle ? 1 : kBatchSize; }

// One push attempt of items[0, n) through the chosen API; returns how many went in.
// REQUIRES: n == 1 for Api::kSingle.
template <class Producer>
std::size_t Offer(Producer& producer, const Item* items, std::size_t n, Api api) {
  if (api == Api::kSingle) return producer.Push(items[0]) ? 1 : 0;
  return producer.PushN(items, n);
}

// One pop attempt of up to ChunkSize(api) items into out; returns how many came out.
template <class Consumer>
std::size_t Take(Consumer& consumer, Item* out, Api api) {
  if (api == Api::kSingle) return consumer.Pop(out[0]) ? 1 : 0;
  return consumer.PopN(out, kBatchSize);
}

// Waiting on the other side of the queue: spin, and yield every kSpinsPerYield
// attempts. The machine this runs on has 2 cores and 2P2C runs 4 threads, so a waiter
// that never yields can burn the time slice of the very thread it waits for.
class Waiter {
 public:
  explicit Waiter(std::chrono::steady_clock::time_point deadline) : deadline_(deadline) {}

  // Returns false once the run's deadline has passed (the clock is read only when
  // yielding, which is already a system call).
  bool Pause() {
    if (++spins_ % kSpinsPerYield != 0) return true;
    std::this_thread::yield();
    return std::chrono::steady_clock::now() < deadline_;
  }

 private:
  static constexpr unsigned kSpinsPerYield = 32;
  const std::chrono::steady_clock::time_point deadline_;
  unsigned spins_ = 0;
};

// Thread placement. Left to itself, Linux sometimes starts a producer and its
// consumer on the same CPU (wake affinity, or another process busy on the other CPU)
// and leaves them there for the whole 5-50 ms run. The case then measures two threads
// taking turns on one core (the producer fills the ring, yields, the consumer drains
// it), not a hand-off between cores: unpinned 1P1C_Batch runs of the ring showed
// ~190 M items/s with both threads on one CPU against 20-140 M/s on two. So each
// worker is pinned: producer p to CPU p, consumer c to CPU c + 1 (modulo the CPUs this
// process may use). 1P1C puts the two on different CPUs; 2P2C gives each CPU one
// producer and one consumer, so the producers still race each other across CPUs.
// TIDEWATCH_BENCH_PIN=0 turns pinning off.

// The CPUs workers are pinned to, in order; empty when pinning is off.
const std::vector<std::size_t>& PinCpus() {
  static const std::vector<std::size_t> cpus = [] {
    std::vector<std::size_t> allowed;
    const char* pin = std::getenv("TIDEWATCH_BENCH_PIN");
    if (pin != nullptr && std::string(pin) == "0") return allowed;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return allowed;
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
    }
    return allowed;
  }();
  return cpus;
}

// Pins `thread` to PinCpus()[slot % size]. Returns false if the kernel refused; true
// (doing nothing) when pinning is off.
bool Pin(std::thread& thread, int slot) {
  const std::vector<std::size_t>& cpus = PinCpus();
  if (cpus.empty()) return true;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpus[static_cast<std::size_t>(slot) % cpus.size()], &one);
  return pthread_setaffinity_np(thread.native_handle(), sizeof(one), &one) == 0;
}

// What one consumer received, checked after the run against what was sent. Producer
// p sends ts = p * per_producer + 1, ..., (p + 1) * per_producer, in that order, with
// value == ts.
class Tally {
 public:
  explicit Tally(std::int64_t per_producer) : per_producer_(per_producer) {}

  void Add(const Item& item) {
    ++count_;
    ts_sum_ += item.ts;
    const std::int64_t producer = (item.ts - 1) / per_producer_;
    if (item.ts < 1 || producer >= kMaxProducers || item.value != static_cast<double>(item.ts)) {
      ++damaged_;
      return;
    }
    // Every peer is FIFO per producer, so one consumer sees each producer's values
    // in increasing order even when other consumers take some in between.
    std::int64_t& last = last_ts_[static_cast<std::size_t>(producer)];
    if (item.ts <= last) ++out_of_order_;
    last = item.ts;
  }

  // Returns "" when the tallies together account for exactly `total` items sent as
  // described above, else what went wrong.
  static std::string Check(const std::vector<Tally>& tallies, std::int64_t total) {
    std::int64_t count = 0, ts_sum = 0, damaged = 0, out_of_order = 0;
    for (const Tally& t : tallies) {
      count += t.count_;
      ts_sum += t.ts_sum_;
      damaged += t.damaged_;
      out_of_order += t.out_of_order_;
    }
    if (count != total) {
      return "received " + std::to_string(count) + " items, sent " + std::to_string(total);
    }
    if (ts_sum != total * (total + 1) / 2) return "items lost and duplicated (ts sum differs)";
    if (damaged != 0) return std::to_string(damaged) + " damaged items";
    if (out_of_order != 0) return std::to_string(out_of_order) + " items out of order";
    return "";
  }

 private:
  std::int64_t per_producer_;
  std::int64_t count_ = 0;
  std::int64_t ts_sum_ = 0;
  std::int64_t damaged_ = 0;
  std::int64_t out_of_order_ = 0;
  std::array<std::int64_t, kMaxProducers> last_ts_{};
};

struct RunOutcome {
  double seconds = 0;
  std::string error;  // empty on success
};

// One measured transfer of kItemsPerRun items from `producers` producer threads to
// `consumers` consumer threads through a fresh Peer. Use once.
template <class Peer>
class Transfer {
 public:
  // REQUIRES: 1 <= producers <= kMaxProducers, consumers >= 1, and kItemsPerRun
  // divisible by producers.
  Transfer(int producers, int consumers, Api api)
      : producers_(producers),
        consumers_(consumers),
        api_(api),
        per_producer_(kItemsPerRun / producers),
        deadline_(std::chrono::steady_clock::now() + kRunDeadline) {}

  RunOutcome Run() {
    std::vector<Tally> tallies(static_cast<std::size_t>(consumers_), Tally(per_producer_));
    std::vector<std::thread> threads;
    bool pinned = true;
    for (int p = 0; p < producers_; ++p) {
      threads.emplace_back([this, p] { Produce(p); });
      pinned = Pin(threads.back(), p) && pinned;
    }
    for (int c = 0; c < consumers_; ++c) {
      Tally& tally = tallies[static_cast<std::size_t>(c)];
      threads.emplace_back([this, &tally] { Consume(tally); });
      pinned = Pin(threads.back(), c + 1) && pinned;
    }

    // Start the clock only once every thread has its handle (moodycamel tokens are
    // registered with the queue) and is spinning on go_.
    Waiter waiter(deadline_);
    while (ready_.load() < producers_ + consumers_ && waiter.Pause()) {
    }
    const auto start = std::chrono::steady_clock::now();
    go_.store(true);
    for (std::thread& t : threads) t.join();
    const auto stop = std::chrono::steady_clock::now();

    RunOutcome outcome;
    outcome.seconds = std::chrono::duration<double>(stop - start).count();
    if (!pinned) {
      outcome.error = "could not pin a thread (set TIDEWATCH_BENCH_PIN=0 to run unpinned)";
    } else if (expired_.load()) {
      outcome.error = "run exceeded its deadline (items lost?)";
    } else {
      outcome.error = Tally::Check(tallies, kItemsPerRun);
    }
    return outcome;
  }

 private:
  // Blocks until Run() releases all threads together. False if the deadline passed.
  bool AwaitStart(Waiter& waiter) {
    ready_.fetch_add(1);
    while (!go_.load()) {
      if (!waiter.Pause()) return GiveUp();
    }
    return true;
  }

  bool GiveUp() {
    expired_.store(true);
    return false;
  }

  void Produce(int index) {
    typename Peer::Producer producer = peer_.MakeProducer();
    Waiter waiter(deadline_);
    if (!AwaitStart(waiter)) return;
    const std::size_t chunk = ChunkSize(api_);
    std::array<Item, kBatchSize> items;
    std::int64_t next = index * per_producer_ + 1;
    const std::int64_t end = next + per_producer_;
    while (next < end) {
      const auto n = static_cast<std::size_t>(std::min<std::int64_t>(
          static_cast<std::int64_t>(chunk), end - next));
      for (std::size_t i = 0; i < n; ++i) items[i] = MakeItem(next + static_cast<std::int64_t>(i));
      // A batch may go in in pieces (the ring accepts a prefix when nearly full).
      for (std::size_t sent = 0; sent < n;) {
        const std::size_t k = Offer(producer, items.data() + sent, n - sent, api_);
        sent += k;
        if (k == 0 && !waiter.Pause()) {
          GiveUp();
          return;
        }
      }
      next += static_cast<std::int64_t>(n);
    }
  }

  void Consume(Tally& tally) {
    typename Peer::Consumer consumer = peer_.MakeConsumer();
    Waiter waiter(deadline_);
    if (!AwaitStart(waiter)) return;
    std::array<Item, kBatchSize> items;
    std::int64_t unpublished = 0;
    for (;;) {
      const std::size_t k = Take(consumer, items.data(), api_);
      for (std::size_t i = 0; i < k; ++i) tally.Add(items[i]);
      if (k != 0) {
        unpublished += static_cast<std::int64_t>(k);
        continue;
      }
      // Empty. Only now publish our count, so that a busy consumer pays no shared
      // atomic per item: the run is over when the published counts reach the total,
      // and every consumer finds the queue empty at the end and publishes then.
      if (unpublished != 0) consumed_.fetch_add(unpublished);
      unpublished = 0;
      if (consumed_.load() >= kItemsPerRun) return;
      if (!waiter.Pause()) {
        GiveUp();
        return;
      }
    }
  }

  Peer peer_;
  const int producers_;
  const int consumers_;
  const Api api_;
  const std::int64_t per_producer_;
  const std::chrono::steady_clock::time_point deadline_;

  // Shared by the threads of the run. Not hot: touched at start, at the end and when
  // a consumer finds the queue empty.
  std::atomic<int> ready_{0};
  std::atomic<bool> go_{false};
  std::atomic<std::int64_t> consumed_{0};
  std::atomic<bool> expired_{false};
};

// ---------------------------------------------------------------------------------
// Benchmarks.

// Cost of one push plus one pop (or one batch of each) on a queue no other thread
// touches: the floor each design pays for its atomics and memory layout, with no line
// ever owned by another core. (The ring and moodycamel walk through their whole
// capacity; boost recycles the same two nodes through its free list.)
template <class Peer>
void BM_Uncontended(benchmark::State& state, Api api) {
  auto peer = std::make_unique<Peer>();
  typename Peer::Producer producer = peer->MakeProducer();
  typename Peer::Consumer consumer = peer->MakeConsumer();
  const std::size_t chunk = ChunkSize(api);
  std::array<Item, kBatchSize> in;
  std::array<Item, kBatchSize> out;
  for (std::size_t i = 0; i < kBatchSize; ++i) in[i] = MakeItem(static_cast<std::int64_t>(i) + 1);

  for (auto _ : state) {
    const bool pushed = Offer(producer, in.data(), chunk, api) == chunk;
    if (!pushed || Take(consumer, out.data(), api) != chunk) {
      state.SkipWithError("an uncontended push or pop came up short");
      break;
    }
    benchmark::DoNotOptimize(out[chunk - 1]);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chunk));
}

template <class Peer>
void BM_Threaded(benchmark::State& state, int producers, int consumers, Api api) {
  for (auto _ : state) {
    // On the heap: the queues are large, and built outside the measured time.
    auto transfer = std::make_unique<Transfer<Peer>>(producers, consumers, api);
    const RunOutcome outcome = transfer->Run();
    if (!outcome.error.empty()) {
      state.SkipWithError(outcome.error.c_str());
      break;
    }
    state.SetIterationTime(outcome.seconds);
  }
  state.SetItemsProcessed(state.iterations() * kItemsPerRun);
}

struct Case {
  const char* name;
  int producers;  // 0: the uncontended single-thread case
  int consumers;
  Api api;
};

constexpr Case kCases[] = {
    {"Uncontended_Single", 0, 0, Api::kSingle}, {"Uncontended_Batch", 0, 0, Api::kBatch},
    {"1P1C_Single", 1, 1, Api::kSingle},        {"1P1C_Batch", 1, 1, Api::kBatch},
    {"2P2C_Single", 2, 2, Api::kSingle},        {"2P2C_Batch", 2, 2, Api::kBatch},
};

template <class Peer>
void Register(const Case& c) {
  const std::string name = std::string("BM_") + c.name + "/" + Peer::kName;
  if (c.producers == 0) {
    benchmark::RegisterBenchmark(name.c_str(), BM_Uncontended<Peer>, c.api)->UseRealTime();
    return;
  }
  benchmark::RegisterBenchmark(name.c_str(), BM_Threaded<Peer>, c.producers, c.consumers, c.api)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// Registers case by case so that the console output puts the peers of a case together.
template <class... Peers>
void RegisterAll() {
  for (const Case& c : kCases) (Register<Peers>(c), ...);
}

}  // namespace
}  // namespace tidewatch::bench

int main(int argc, char** argv) {
  using namespace tidewatch::bench;
  RegisterAll<TidewatchPeer, MoodycamelPeer, BoostPeer>();
  std::string pinning = "off";
  if (!PinCpus().empty()) {
    pinning = "producer p -> cpu[p], consumer c -> cpu[c+1], cpu =";
    for (std::size_t cpu : PinCpus()) pinning += " " + std::to_string(cpu);
  }
  benchmark::AddCustomContext("thread_pinning", pinning);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
