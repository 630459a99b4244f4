// Notifications to a local webhook receiver (issue 7): delivered notifications/s with
// the outbox in a real SQLite catalog, and the latency from a transition to its receipt.
//
// Each case wires what the daemon wires for one webhook channel: a rules::Catalog on a
// real file in a temp dir ($TMPDIR or /tmp; Durability::kFull or kNormal), a
// rules::RuleEngine whose on_outbox_commit calls DeliveryWorker::Notify(), a
// daemon::CatalogOutboxQueue over the catalog, a sinks::DeliveryWorker with one channel
// "bench" (max_concurrency 1 or 4) and a sinks::WebhookEmitter posting to a minimal
// Beast receiver on 127.0.0.1:0 in this process (tests/bench/webhook_receiver.h).
//
// Transitions: one raw rule `SELECT value FROM pressure` (trip 1000, reset 0, channel
// "bench") over 1000 series (site1..site10 x pt-001..pt-100). The producer thread calls
// RuleEngine::OnPoints with one point at a time, round robin over the series, each
// series alternating 2000 and -1, so every point is a transition (firing, resolved) and
// its own catalog commit (state + audit + outbox row). A point's timestamp is the wall
// clock when it is handed to the engine, so the payload's event_time is that instant.
//
// Per case, after a 1 s warm-up:
//  1. saturation (--seconds, default 5): the producer keeps at most --backlog (64)
//     notifications committed but not yet received; delivered_per_s = notifications
//     received in the window / its length.
//  2. paced (--paced-seconds, default 4) at half the saturated rate, after the outbox
//     drained: the receiver records, per notification, receipt - event_time (the point
//     entering the engine) and receipt - transition_at (the engine's processing time,
//     just before the commit); the producer records OnPoints' duration (evaluation +
//     commit).
// The peer, in the same run: a bare loop of sinks::HttpClient POSTs of a real payload
// to the same receiver from 1 and 4 threads (the channel's concurrencies).
//
// Usage: delivery_bench [--seconds S] [--paced-seconds S] [--backlog N]. Run it alone on
// the machine; it takes about a minute.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/catalog_outbox_queue.h"
#include "rules/catalog.h"
#include "rules/database_registry.h"
#include "rules/query_executor.h"
#include "rules/rule_definition.h"
#include "rules/rule_engine.h"
#include "sinks/delivery_worker.h"
#include "sinks/http_client.h"
#include "sinks/webhook_emitter.h"
#include "store/store.h"
#include "tests/bench/bench_catalog.h"
#include "tests/bench/webhook_receiver.h"

namespace tidewatch::bench {
namespace {

constexpr int kSites = 10;
constexpr int kSensorsPerSite = 100;
constexpr auto kWarmup = std::chrono::seconds(1);
constexpr auto kDrainLimit = std::chrono::seconds(120);

struct Options {
  double seconds = 5;
  double paced_seconds = 4;
  std::uint64_t backlog = 64;
};

struct CaseResult {
  std::string name;
  double delivered_per_s = 0;
  double paced_per_s = 0;
  std::size_t samples = 0;
  double event_p50 = 0, event_p99 = 0, event_max = 0;
  double transition_p50 = 0, transition_p99 = 0;
  double commit_p50 = 0, commit_p99 = 0;
  std::uint64_t retries = 0, dead = 0;
};

// One channel over one catalog; constructed running, destroyed stopped.
class DeliveryCase {
 public:
  DeliveryCase(Receiver& receiver, rules::Durability durability, std::int64_t concurrency)
      : receiver_(receiver), registry_(store_), executor_(store_, registry_, {}) {
    catalog_ = OpenBenchCatalog(dir_.path() + "/catalog.db", durability);
    registry_.Create("plant");
    InternSeries();

    queue_ = std::make_unique<daemon::CatalogOutboxQueue>(*catalog_);
    worker_ = std::make_unique<sinks::DeliveryWorker>(*queue_);
    sinks::WebhookOptions webhook;
    webhook.url = receiver_.Url();
    StatusOr<std::unique_ptr<sinks::WebhookEmitter>> emitter =
        sinks::WebhookEmitter::Create(webhook);
    Check(emitter.status(), "emitter");
    sinks::ChannelPolicy policy;
    policy.max_concurrency = concurrency;
    Check(worker_->AddChannel("bench", std::move(*emitter), policy), "add channel");

    rules::RuleEngineOptions engine_options;
    engine_options.on_outbox_commit = [this] { worker_->Notify(); };
    engine_ = std::make_unique<rules::RuleEngine>(store_, executor_, *catalog_, engine_options);
    Check(engine_->Load(), "engine load");
    StatusOr<rules::RuleDefinition> rule = rules::ParseRuleJson(
        R"({"name": "bench", "db": "plant", "query": "SELECT value FROM pressure",
            "condition": ">", "severity": "critical", "trip": 1000, "reset": 0,
            "channels": ["bench"]})");
    Check(rule.status(), "rule");
    Check(engine_->CreateRule(*rule, "bench").status(), "create rule");
    Check(worker_->Start(), "worker start");
    engine_->Start();
    received_at_start_ = receiver_.received();
  }

  ~DeliveryCase() {
    engine_->Stop();
    worker_->Stop();
  }
  DeliveryCase(const DeliveryCase&) = delete;
  DeliveryCase& operator=(const DeliveryCase&) = delete;

  CaseResult Run(const Options& options) {
    CaseResult result;
    Saturate(Clock::now() + kWarmup, options.backlog);
    std::uint64_t before = Delivered();
    const Clock::time_point start = Clock::now();
    Saturate(start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.seconds)),
             options.backlog);
    result.delivered_per_s =
        static_cast<double>(Delivered() - before) / Seconds(Clock::now() - start);
    if (!AwaitDrained()) throw std::runtime_error("outbox did not drain");

    result.paced_per_s = result.delivered_per_s / 2;
    commit_ns_.clear();
    receiver_.StartRecording();
    before = produced_;
    Paced(result.paced_per_s, options);
    if (!AwaitDrained()) throw std::runtime_error("outbox did not drain (paced)");
    auto [from_event, from_transition] = receiver_.StopRecording();
    if (from_event.size() != produced_ - before) {
      throw std::runtime_error("received " + std::to_string(from_event.size()) +
                               " notifications for " + std::to_string(produced_ - before) +
                               " transitions");
    }
    result.samples = from_event.size();
    result.event_p50 = QuantileMs(from_event, 0.5);
    result.event_p99 = QuantileMs(from_event, 0.99);
    result.event_max = QuantileMs(from_event, 1);
    result.transition_p50 = QuantileMs(from_transition, 0.5);
    result.transition_p99 = QuantileMs(from_transition, 0.99);
    result.commit_p50 = QuantileMs(commit_ns_, 0.5);
    result.commit_p99 = QuantileMs(commit_ns_, 0.99);
    for (const sinks::ChannelStats& stats : worker_->Stats()) {
      result.retries += stats.retries;
      result.dead += stats.dead;
    }
    const rules::EngineStats engine_stats = engine_->stats();
    if (engine_stats.commit_errors != 0 || engine_stats.notifications != produced_) {
      throw std::runtime_error("engine: " + std::to_string(engine_stats.notifications) +
                               " notifications for " + std::to_string(produced_) +
                               " points, commit errors: " + engine_stats.last_commit_error);
    }
    return result;
  }

 private:
  void InternSeries() {
    series_ = InternPlantSeries(store_, kSites, kSensorsPerSite);
    over_.assign(series_.size(), false);
  }

  std::uint64_t Delivered() const { return receiver_.received() - received_at_start_; }

  // One point, one transition, one commit.
  void ProduceOne() {
    const std::size_t s = produced_ % series_.size();
    over_[s] = !over_[s];
    const store::Point point{series_[s], WallNs(), over_[s] ? 2000.0 : -1.0};
    engine_->OnPoints({&point, 1});
    commit_ns_.push_back(WallNs() - point.ts);
    ++produced_;
  }

  void Saturate(Clock::time_point until, std::uint64_t backlog) {
    while (Clock::now() < until) {
      while (produced_ - Delivered() >= backlog) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      ProduceOne();
    }
  }

  void Paced(double per_s, const Options& options) {
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / per_s));
    const Clock::time_point until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.paced_seconds));
    for (Clock::time_point next = Clock::now(); next < until; next += period) {
      std::this_thread::sleep_until(next);
      ProduceOne();
    }
  }

  bool AwaitDrained() const {
    const Clock::time_point deadline = Clock::now() + kDrainLimit;
    while (Delivered() < produced_) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  Receiver& receiver_;
  TempDir dir_{"delivery_bench"};
  store::Store store_;
  rules::DatabaseRegistry registry_;
  rules::QueryExecutor executor_;
  std::unique_ptr<rules::Catalog> catalog_;
  std::unique_ptr<daemon::CatalogOutboxQueue> queue_;
  std::unique_ptr<sinks::DeliveryWorker> worker_;
  std::unique_ptr<rules::RuleEngine> engine_;
  std::vector<store::SeriesId> series_;
  std::vector<bool> over_;
  std::uint64_t produced_ = 0;
  std::uint64_t received_at_start_ = 0;
  std::vector<std::int64_t> commit_ns_;
};

struct BareResult {
  double posts_per_s = 0;
  double p50 = 0, p99 = 0, max = 0;
};

// `threads` loops of HttpClient::Send of `body` to the receiver for `seconds`.
BareResult BarePosts(const Receiver& receiver, const std::string& body, int threads,
                     double seconds) {
  StatusOr<std::unique_ptr<sinks::HttpClient>> client = sinks::HttpClient::Create({});
  Check(client.status(), "http client");
  sinks::HttpRequest request;
  request.url = receiver.Url();
  request.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "bare"}};
  request.body = body;
  std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(threads));
  std::atomic<bool> failed{false};
  const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(seconds));
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> pool;
  for (auto& mine : latencies) {
    pool.emplace_back([&client, &request, &mine, &failed, until] {
      while (Clock::now() < until) {
        const Clock::time_point t = Clock::now();
        StatusOr<sinks::HttpResponse> response = (*client)->Send(request);
        if (!response.ok() || response->status != 200) failed = true;
        mine.push_back((Clock::now() - t).count());
      }
    });
  }
  for (std::thread& t : pool) t.join();
  const double elapsed = Seconds(Clock::now() - start);
  if (failed) throw std::runtime_error("a bare POST failed");
  std::vector<std::int64_t> all;
  for (const auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  BareResult result;
  result.posts_per_s = static_cast<double>(all.size()) / elapsed;
  result.p50 = QuantileMs(all, 0.5);
  result.p99 = QuantileMs(all, 0.99);
  result.max = QuantileMs(all, 1);
  return result;
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + std::string(arg));
    const char* value = argv[++i];
    if (arg == "--seconds") {
      options.seconds = std::stod(value);
    } else if (arg == "--paced-seconds") {
      options.paced_seconds = std::stod(value);
    } else if (arg == "--backlog") {
      options.backlog = std::stoull(value);
    } else {
      throw std::runtime_error("unknown option " + std::string(arg));
    }
  }
  return options;
}

int Main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);
  std::printf("load average before: %s\n", LoadAverage().c_str());
  Receiver receiver;
  std::vector<CaseResult> results;
  struct Spec {
    const char* name;
    rules::Durability durability;
    std::int64_t concurrency;
  };
  const Spec specs[] = {{"kFull, concurrency 1", rules::Durability::kFull, 1},
                        {"kFull, concurrency 4", rules::Durability::kFull, 4},
                        {"kNormal, concurrency 1", rules::Durability::kNormal, 1},
                        {"kNormal, concurrency 4", rules::Durability::kNormal, 4}};
  for (const Spec& spec : specs) {
    DeliveryCase c(receiver, spec.durability, spec.concurrency);
    results.push_back(c.Run(options));
    results.back().name = spec.name;
    std::fflush(stdout);
  }
  const std::string body = receiver.last_body();
  const BareResult bare1 = BarePosts(receiver, body, 1, options.seconds);
  const BareResult bare4 = BarePosts(receiver, body, 4, options.seconds);

  std::printf("payload bytes: %zu\n", body.size());
  std::printf(
      "| case | delivered/s | / bare POSTs/s | paced at /s | samples | event time -> receipt "
      "p50 / p99 / max ms | transition_at -> receipt p50 / p99 ms | OnPoints (evaluate + "
      "commit) p50 / p99 ms | retries | dead |\n|---|---:|---:|---:|---:|---|---|---|---:|---:|"
      "\n");
  for (const CaseResult& r : results) {
    const BareResult& bare = r.name.find("concurrency 4") != std::string::npos ? bare4 : bare1;
    std::printf(
        "| %s | %.0f | %.3f | %.0f | %zu | %.2f / %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | "
        "%llu | %llu |\n",
        r.name.c_str(), r.delivered_per_s, r.delivered_per_s / bare.posts_per_s, r.paced_per_s,
        r.samples, r.event_p50, r.event_p99, r.event_max, r.transition_p50, r.transition_p99,
        r.commit_p50, r.commit_p99, static_cast<unsigned long long>(r.retries),
        static_cast<unsigned long long>(r.dead));
  }
  for (const auto& [threads, bare] : {std::pair{1, bare1}, std::pair{4, bare4}}) {
    std::printf(
        "| bare HttpClient POSTs, %d thread(s) | %.0f | | | | POST p50 / p99 / max %.2f / %.2f / "
        "%.2f | | | | |\n",
        threads, bare.posts_per_s, bare.p50, bare.p99, bare.max);
  }
  std::printf("load average after: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace tidewatch::bench

int main(int argc, char** argv) {
  try {
    return tidewatch::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "delivery_bench: %s\n", e.what());
    return 1;
  }
}
