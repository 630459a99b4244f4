#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "daemon/alerts_api.h"
#include "daemon/auth.h"
#include "daemon/channels_api.h"
#include "daemon/cq_metrics.h"
#include "daemon/data_dir_lock.h"
#include "daemon/health_endpoints.h"
#include "daemon/http_metrics.h"
#include "daemon/http_server.h"
#include "daemon/latency_histogram.h"
#include "daemon/metrics.h"
#include "daemon/notifier.h"
#include "daemon/notifier_metrics.h"
#include "daemon/query_endpoint.h"
#include "daemon/rules_api.h"
#include "daemon/rules_file.h"
#include "daemon/rules_metrics.h"
#include "daemon/write_endpoint.h"
#include "ingest/checkpointer.h"
#include "ingest/evaluation_workers.h"
#include "ingest/http_write.h"
#include "ingest/kafka_source.h"
#include "ingest/sim_source.h"
#include "rules/catalog.h"
#include "rules/continuous_queries.h"
#include "rules/database_registry.h"
#include "rules/query_executor.h"
#include "rules/rule_engine.h"
#include "store/field_rings.h"
#include "store/store.h"

namespace tidewatch::daemon {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr const char* kSnapshotFile = "snapshot.twsnap";
constexpr const char* kCatalogFile = "catalog.db";
// How often the maintenance thread looks for readiness until it is ready.
constexpr milliseconds kReadyPoll{200};

ingest::SimOptions ToSimOptions(const SimulatorConfig& c) {
  ingest::SimOptions o;
  o.database = c.database;
  o.sites = static_cast<int>(c.sites);
  o.sensors_per_site = static_cast<int>(c.sensors_per_site);
  o.kinds = c.kinds;
  o.interval = c.interval;
  o.excursion_probability = c.excursion_probability;
  o.seed = c.seed;
  o.backfill = c.backfill;
  return o;
}

HttpServerOptions ToHttpOptions(const HttpConfig& c) {
  HttpServerOptions o;
  o.host = c.listen_host;
  o.port = c.listen_port;
  o.threads = static_cast<int>(c.threads);
  o.max_body = c.max_body;
  o.max_header = c.max_header;
  o.read_timeout = duration_cast<milliseconds>(c.read_timeout);
  o.write_timeout = duration_cast<milliseconds>(c.write_timeout);
  o.idle_timeout = duration_cast<milliseconds>(c.idle_timeout);
  return o;
}

AuthOptions ToAuthOptions(const AuthConfig& c) {
  AuthOptions o;
  o.enabled = c.enabled;
  for (const TokenConfig& t : c.tokens) o.tokens.push_back(AuthToken{t.name, t.token, t.role});
  return o;
}

rules::QueryLimits ToQueryLimits(const QueryConfig& c) {
  return rules::QueryLimits{c.max_buckets, c.max_series, c.max_rows, c.timeout, c.threads};
}

rules::RuleEngineOptions ToEngineOptions(const DaemonConfig& c) {
  rules::RuleEngineOptions o;
  o.tick_interval_ns = c.rules.tick_interval.count();
  o.lateness_ns = c.rules.window_lateness.count();
  o.idle_timeout_ns = c.rules.window_idle_timeout.count();
  o.max_instances_per_rule = c.rules.max_instances_per_rule;
  o.external_url = c.rules.external_url.empty() ? "http://" + c.http.listen : c.rules.external_url;
  return o;
}

rules::ContinuousQueryOptions ToContinuousQueryOptions(const RulesConfig& c) {
  rules::ContinuousQueryOptions o;
  o.default_lateness_ns = c.window_lateness.count();
  o.default_idle_timeout_ns = c.window_idle_timeout.count();
  return o;
}

// The rules that send to `channel`, by name.
std::vector<std::string> RulesNaming(const rules::RuleEngine& engine, std::string_view channel) {
  std::vector<std::string> names;
  for (const rules::RuleStatus& rule : engine.ListRules()) {
    if (std::ranges::find(rule.definition.channels, channel) != rule.definition.channels.end()) {
      names.push_back(rule.definition.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The API refuses a rule naming a channel that does not exist, but a rule of the rules
// file may (it is read before channels can be made through the API), and so may any
// rule once its channel has left the config file. Its rows to that channel are
// dead-lettered ("no channel named ..."); this says so at every load.
void WarnOfUnknownChannels(const rules::RuleEngine& engine, const Notifier& notifier) {
  for (const rules::RuleStatus& rule : engine.ListRules()) {
    for (const std::string& channel : rule.definition.channels) {
      if (notifier.Get(channel).ok()) continue;
      spdlog::warn(
          "rule \"{}\" sends to channel \"{}\", which does not exist: its notifications "
          "there will be dead-lettered",
          rule.definition.name, channel);
    }
  }
}

}  // namespace

// Declared in destruction order's reverse: sources and HTTP (which push into the rings
// and take tickets) go before the workers, the workers before the rings and the store.
struct Daemon::Parts {
  std::optional<DataDirLock> data_dir_lock;  // released last
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::FieldRings> rings;
  std::unique_ptr<rules::DatabaseRegistry> databases;
  std::unique_ptr<rules::QueryExecutor> executor;
  std::unique_ptr<rules::Catalog> catalog;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<rules::RuleEngine> engine;
  std::unique_ptr<rules::ContinuousQueries> cqs;
  std::unique_ptr<Auth> auth;
  LatencyHistogram query_latency;
  std::vector<std::unique_ptr<ingest::KafkaSource>> kafka;
  std::unique_ptr<ingest::HttpWrite> http_write;
  std::unique_ptr<ingest::EvaluationWorkers> workers;
  std::unique_ptr<ingest::SimSource> simulator;
  std::unique_ptr<ingest::Checkpointer> checkpointer;
  std::unique_ptr<QueryEndpoint> query;
  std::unique_ptr<HttpServer> http;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
};

StatusOr<std::unique_ptr<Daemon>> Daemon::Create(DaemonConfig config) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(config)));
  if (Status s = daemon->Build(); !s.ok()) return s;
  return daemon;
}

Daemon::Daemon(DaemonConfig config) : config_(std::move(config)), parts_(new Parts) {}

Daemon::~Daemon() { Stop(); }

Status Daemon::Build() {
  Parts& p = *parts_;
  std::error_code ec;
  std::filesystem::create_directories(config_.storage.data_dir, ec);
  if (ec) {
    return Status(StatusCode::kInvalidArgument,
                  "storage.data_dir " + config_.storage.data_dir + ": " + ec.message());
  }
  StatusOr<DataDirLock> lock = DataDirLock::Acquire(config_.storage.data_dir);
  if (!lock.ok()) return lock.status();
  p.data_dir_lock.emplace(std::move(*lock));
  p.store = std::make_unique<store::Store>(ToStoreOptions(config_));
  p.rings = std::make_unique<store::FieldRings>(ToFieldRingsOptions(config_));
  p.databases = std::make_unique<rules::DatabaseRegistry>(*p.store);
  p.executor =
      std::make_unique<rules::QueryExecutor>(*p.store, *p.databases, ToQueryLimits(config_.query));
  p.auth = std::make_unique<Auth>(ToAuthOptions(config_.auth));

  rules::CatalogOptions catalog_options;
  catalog_options.durability = config_.rules.catalog_sync == CatalogSync::kFull
                                   ? rules::Durability::kFull
                                   : rules::Durability::kNormal;
  const std::filesystem::path catalog_path =
      std::filesystem::path(config_.storage.data_dir) / kCatalogFile;
  StatusOr<std::unique_ptr<rules::Catalog>> catalog =
      rules::Catalog::Open(catalog_path.string(), catalog_options);
  if (!catalog.ok()) return catalog.status();
  p.catalog = std::move(*catalog);
  NotifierOptions notifier_options;
  notifier_options.config_channels = config_.channels;
  notifier_options.outbox_retention = config_.rules.outbox_retention;
  notifier_options.rules_naming = [this](std::string_view channel) {
    return RulesNaming(*parts_->engine, channel);
  };
  p.notifier = std::make_unique<Notifier>(*p.catalog, std::move(notifier_options));
  rules::RuleEngineOptions engine_options = ToEngineOptions(config_);
  engine_options.on_outbox_commit = [notifier = p.notifier.get()] { notifier->Notify(); };
  p.engine = std::make_unique<rules::RuleEngine>(*p.store, *p.executor, *p.catalog,
                                                 std::move(engine_options));
  // CQ output goes to the Kafka channels that carry it, then takes the /write path:
  // through the rings, stored, seen by the rules.
  p.cqs = std::make_unique<rules::ContinuousQueries>(
      *p.catalog, *p.store, *p.executor,
      [this](const rules::ContinuousQueryBatch& batch) { return WriteCqOutput(batch); },
      ToContinuousQueryOptions(config_.rules));
  p.executor->set_continuous_queries(p.cqs.get());

  // Ticket tables: 1..N for the Kafka sources, N+1 for HTTP /write (0 is "untracked",
  // what the simulator uses).
  std::vector<ingest::TicketTable*> tables(config_.kafka.size() + 2, nullptr);
  for (std::size_t i = 0; i < config_.kafka.size(); ++i) {
    const auto index = static_cast<std::uint32_t>(i + 1);
    StatusOr<std::unique_ptr<ingest::KafkaSource>> source =
        ingest::KafkaSource::Create(config_.kafka[i], *p.store, *p.rings, index);
    if (!source.ok()) {
      return Status(source.status().code(),
                    "kafka source " + std::to_string(i + 1) + ": " + source.status().message());
    }
    tables[index] = &(*source)->tickets();
    p.kafka.push_back(std::move(*source));
  }
  ingest::HttpWriteOptions write_options;
  write_options.auto_create_databases = config_.http.auto_create_databases;
  write_options.write_wait = duration_cast<milliseconds>(config_.http.write_wait);
  write_options.db_exists = [this](std::string_view db) { return parts_->databases->Exists(db); };
  write_options.create_db = [this](std::string_view db) { parts_->databases->Create(db); };
  const auto write_index = static_cast<std::uint32_t>(config_.kafka.size() + 1);
  p.http_write =
      std::make_unique<ingest::HttpWrite>(*p.store, *p.rings, write_index, write_options);
  tables[write_index] = &p.http_write->tickets();
  // Every stored batch goes through the alert rules and the CQ windows before its
  // tickets complete (and so before its offsets can be committed).
  p.workers = std::make_unique<ingest::EvaluationWorkers>(
      *p.rings, *p.store, std::move(tables), static_cast<int>(config_.ingest.workers),
      [&p](std::span<const store::Point> points) {
        p.engine->OnPoints(points);
        p.cqs->OnPoints(points, WallClockNs());
      });

  if (config_.simulator.enabled) {
    const ingest::SimOptions sim = ToSimOptions(config_.simulator);
    if (Status s = ingest::SimSource::Validate(sim); !s.ok()) {
      return Status(s.code(), "simulator: " + s.message());
    }
    p.simulator = std::make_unique<ingest::SimSource>(sim, *p.store, *p.rings);
  }

  const std::filesystem::path snapshot =
      std::filesystem::path(config_.storage.data_dir) / kSnapshotFile;
  p.checkpointer = std::make_unique<ingest::Checkpointer>(*p.store, snapshot.string());
  for (auto& source : p.kafka) p.checkpointer->AddSource(*source);

  p.query =
      std::make_unique<QueryEndpoint>(*p.executor, p.auth.get(), &p.query_latency, WallClockNs);
  if (config_.http.enabled) {
    p.http = std::make_unique<HttpServer>(ToHttpOptions(config_.http), p.auth.get());
    AddRoutes();
  }
  return Status::Ok();
}

void Daemon::AddRoutes() {
  Parts& p = *parts_;
  HttpServer& http = *p.http;
  AddHealthEndpoints(http, ready_);
  WriteEndpointOptions write;
  write.max_body = config_.http.max_body;
  AddWriteEndpoint(http, *p.http_write, write);
  AddRulesApi(http, *p.engine,
              [notifier = p.notifier.get()](const std::vector<std::string>& channels,
                                            const std::function<void()>& change) {
                return notifier->WithChannels(channels, change);
              });
  AddAlertsApi(http, *p.engine);
  AddChannelsApi(http, *p.notifier);
  http.Handle("/query", {"GET", "POST"}, Role::kRead,
              [this](const Request& request) { return parts_->query->Handle(request); });
  http.Handle("/metrics", {"GET"}, Role::kRead, [this](const Request&) {
    const Parts& parts = *parts_;
    MetricsSources sources;
    sources.store = parts.store.get();
    sources.rings = parts.rings.get();
    for (std::size_t i = 0; i < parts.kafka.size(); ++i) {
      sources.kafka.push_back(NamedKafkaSource{
          config_.kafka[i].group_id + "/" + std::to_string(i + 1), parts.kafka[i].get()});
    }
    sources.workers = parts.workers.get();
    sources.query_latency = &parts.query_latency;
    sources.checkpoint_age_seconds = [&parts] {
      const ingest::CheckpointStats stats = parts.checkpointer->stats();
      if (stats.last_success_unix_ns == 0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - parts.started_at)
            .count();
      }
      return static_cast<double>(WallClockNs() - stats.last_success_unix_ns) / 1e9;
    };
    sources.version = std::string(kVersion);
    sources.extra.push_back([&parts](PrometheusTextWriter& w) {
      WriteHttpMetrics(w, parts.http->stats(), parts.http_write->stats());
    });
    sources.extra.push_back([&parts](PrometheusTextWriter& w) {
      WriteRuleMetrics(w, parts.engine->stats());
      WriteContinuousQueryMetrics(w, parts.cqs->stats());
      WriteNotifierMetrics(w, parts.notifier->Stats());
    });
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = RenderMetrics(sources);
    return response;
  });
}

Status Daemon::Start() {
  Parts& p = *parts_;
  if (started_) return Status(StatusCode::kInternal, "daemon already started");
  started_ = true;
  StatusOr<store::SnapshotOffsets> offsets = p.checkpointer->Restore();
  if (!offsets.ok()) return offsets.status();
  for (auto& source : p.kafka) source->SetStartOffsets(*offsets);
  if (Status s = p.notifier->Start(); !s.ok()) {
    Stop();
    return Status(s.code(), "channels: " + s.message());
  }
  StartRules();
  for (std::size_t i = 0; i < p.kafka.size(); ++i) {
    if (Status s = p.kafka[i]->Start(); !s.ok()) {
      Stop();
      return Status(s.code(), "kafka source " + std::to_string(i + 1) + ": " + s.message());
    }
  }
  if (p.simulator) p.simulator->Start();
  if (p.http) {
    if (Status s = p.http->Start(); !s.ok()) {
      Stop();
      return Status(s.code(), "http.listen " + config_.http.listen + ": " + s.message());
    }
    spdlog::info("listening on {}:{}", config_.http.listen_host, p.http->port());
  }
  if (Status s =
          p.checkpointer->Start(duration_cast<milliseconds>(config_.storage.checkpoint_interval));
      !s.ok()) {
    Stop();
    return s;
  }
  maintenance_ = std::thread([this] { RunMaintenance(); });
  continuous_queries_ = std::thread([this] { RunContinuousQueries(); });
  return Status::Ok();
}

void Daemon::StartRules() {
  Parts& p = *parts_;
  // Errors here leave the daemon running with what did load: one bad stored rule or CQ
  // must not keep the plant's other alarms down.
  if (Status s = p.cqs->Load(); !s.ok()) spdlog::error("continuous queries: {}", s.message());
  p.cqs->Prime();
  if (Status s = p.engine->Load(); !s.ok()) spdlog::error("alert rules: {}", s.message());
  ReloadRules(config_.rules.file);
  p.engine->Start();
}

void Daemon::ReloadRules(const std::string& path) {
  std::vector<rules::RuleDefinition> definitions;
  if (!path.empty()) {
    StatusOr<std::vector<rules::RuleDefinition>> loaded = LoadRulesFile(path);
    if (!loaded.ok()) {
      spdlog::error("rules file: keeping the rules loaded before:\n{}", loaded.status().message());
      return;
    }
    definitions = std::move(*loaded);
  }
  if (Status s = parts_->engine->ReplaceFileRules(definitions); !s.ok()) {
    spdlog::error("rules file {}: keeping the rules loaded before:\n{}", path, s.message());
    return;
  }
  if (!path.empty()) spdlog::info("rules file {}: {} rules", path, definitions.size());
  WarnOfUnknownChannels(*parts_->engine, *parts_->notifier);
}

bool Daemon::ReloadChannels(const std::vector<ChannelConfig>& channels) {
  if (Status s = parts_->notifier->ReloadConfigChannels(channels); !s.ok()) {
    spdlog::error("channels: keeping the channels loaded before: {}", s.message());
    return false;
  }
  spdlog::info("channels: {} from the config file", channels.size());
  return true;
}

Status Daemon::WriteCqOutput(const rules::ContinuousQueryBatch& batch) {
  // Kafka first: if it refuses, nothing is stored yet and the whole range is retried.
  if (Status s = parts_->notifier->ProduceContinuousQueryOutput(batch.cq_db, batch.cq_name,
                                                                batch.line_protocol);
      !s.ok()) {
    return s;
  }
  const ingest::HttpWriteResult result = parts_->http_write->Write(
      {.db = batch.into_db, .precision = "ns", .body = batch.line_protocol, .now_ns = WallClockNs()});
  switch (result.kind) {
    case ingest::HttpWriteKind::kOk:
      return Status::Ok();
    case ingest::HttpWriteKind::kUnavailable:
      return Status(StatusCode::kUnavailable, result.error);
    default:
      return Status(StatusCode::kInvalidArgument, result.error);
  }
}

void Daemon::RunContinuousQueries() {
  const auto interval = duration_cast<milliseconds>(config_.rules.tick_interval);
  std::unique_lock lock(mu_);
  while (!stop_maintenance_) {
    wake_.wait_for(lock, interval, [this] { return stop_maintenance_; });
    if (stop_maintenance_) break;
    lock.unlock();
    parts_->cqs->RunDue(WallClockNs());
    lock.lock();
  }
}

void Daemon::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  Parts& p = *parts_;
  {
    std::lock_guard lock(mu_);
    stop_maintenance_ = true;
  }
  wake_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (continuous_queries_.joinable()) continuous_queries_.join();
  ready_.store(false, std::memory_order_release);
  if (p.http) p.http->Stop();
  if (p.simulator) p.simulator->Stop();
  // Drained sources push nothing more but stay in their groups, so the final
  // checkpoint's CommitOffsets() still reaches Kafka: Stop() commits it on close.
  for (auto& source : p.kafka) source->Drain();
  p.workers->Stop();
  p.engine->Stop();
  p.notifier->Stop();
  p.checkpointer->Stop();
  if (Status s = p.checkpointer->Checkpoint(); !s.ok()) {
    spdlog::error("final checkpoint failed: {}", s.message());
  } else {
    spdlog::info("final checkpoint written to {}", p.checkpointer->path());
  }
  for (auto& source : p.kafka) source->Stop();
}

std::uint16_t Daemon::http_port() const { return parts_->http ? parts_->http->port() : 0; }

bool Daemon::Ready() const {
  for (const auto& source : parts_->kafka) {
    if (source->stats().rebalances == 0) return false;
  }
  return true;
}

void Daemon::RunMaintenance() {
  using Clock = std::chrono::steady_clock;
  const auto interval = duration_cast<milliseconds>(config_.storage.maintenance_interval);
  Clock::time_point next_maintenance = Clock::now() + interval;
  std::unique_lock lock(mu_);
  while (!stop_maintenance_) {
    const bool ready = ready_.load(std::memory_order_acquire);
    const Clock::time_point wake_at =
        ready ? next_maintenance : std::min(next_maintenance, Clock::now() + kReadyPoll);
    wake_.wait_until(lock, wake_at, [this] { return stop_maintenance_; });
    if (stop_maintenance_) break;
    lock.unlock();
    if (!ready && Ready()) {
      ready_.store(true, std::memory_order_release);
      spdlog::info("ready");
    }
    if (Clock::now() >= next_maintenance) {
      const store::MaintenanceStats stats = parts_->store->RunMaintenance();
      if (stats.series_evicted > 0) {
        for (auto& source : parts_->kafka) source->InvalidateSeriesCache();
        if (parts_->simulator) parts_->simulator->InvalidateSeriesCache();
      }
      next_maintenance = Clock::now() + interval;
    }
    lock.lock();
  }
}

}  // namespace tidewatch::daemon
