#include "daemon/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "daemon/catalog_outbox_queue.h"
#include "sinks/alertmanager_emitter.h"
#include "sinks/kafka_emitter.h"
#include "sinks/webhook_emitter.h"

namespace tidewatch::daemon {
namespace {

std::int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A line's series key (measurement and tags): everything before the first unescaped
// space. CQ output lines are ours, so no quoting beyond backslash escapes occurs there.
std::string_view SeriesKeyOf(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == ' ') {
      return line.substr(0, i);
    }
  }
  return line;
}

bool IsFiring(const std::string& payload) {
  const nlohmann::json json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;
  const auto status = json.find("status");
  return status != json.end() && status->is_string() && status->get<std::string>() == "firing";
}

ChannelInfo ToInfo(const rules::ChannelRecord& record, ChannelConfig config, ChannelSource source) {
  return ChannelInfo{std::move(config), source, record.created_at, record.updated_at};
}

template <class T>
StatusOr<std::shared_ptr<sinks::Emitter>> Shared(StatusOr<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::shared_ptr<sinks::Emitter>(std::move(*made));
}

// The emitter of a channel's kind, or why it cannot be built (a CA file that cannot be
// read, a librdkafka property it refuses, ...).
StatusOr<std::shared_ptr<sinks::Emitter>> MakeEmitter(const ChannelConfig& c) {
  switch (c.kind) {
    case rules::ChannelKind::kWebhook:
      return Shared(sinks::WebhookEmitter::Create(ToWebhookOptions(c)));
    case rules::ChannelKind::kAlertmanager:
      return Shared(sinks::AlertmanagerEmitter::Create(ToAlertmanagerOptions(c)));
    case rules::ChannelKind::kKafka:
      return Shared(sinks::KafkaEmitter::Create(ToKafkaEmitterOptions(c)));
  }
  return Status(StatusCode::kInternal, "unknown channel kind");
}

}  // namespace

std::string_view ChannelSourceName(ChannelSource source) {
  return source == ChannelSource::kConfig ? "config" : "api";
}

// One build of the channel set: the worker and the emitters it drains through.
struct Notifier::Running {
  std::unique_ptr<CatalogOutboxQueue> queue;
  std::unique_ptr<sinks::DeliveryWorker> worker;
  std::vector<std::shared_ptr<sinks::AlertmanagerEmitter>> alertmanagers;
  // Kafka channels that carry CQ output, with their settings; nullptr for one that
  // could not be built.
  std::vector<std::pair<ChannelConfig, std::shared_ptr<sinks::KafkaEmitter>>> cq_producers;
  std::int64_t build_errors = 0;
};

Notifier::Notifier(rules::Catalog& catalog, NotifierOptions options)
    : catalog_(catalog), options_(std::move(options)) {}

Notifier::~Notifier() { Stop(); }

Status Notifier::Start() {
  std::lock_guard change(change_mu_);
  StatusOr<std::vector<ChannelInfo>> channels = SyncConfigChannels(options_.config_channels);
  if (!channels.ok()) return channels.status();
  {
    std::lock_guard lock(mu_);
    channels_ = std::move(*channels);
    stopping_ = false;
  }
  // Rows leased by senders of a process that died are due now, not when their lease
  // would have run out (tidewatchd holds its data_dir's lock: no one else sends).
  StatusOr<std::int64_t> released = catalog_.ReleaseLeases(WallNow());
  if (!released.ok()) return released.status();
  if (*released > 0) spdlog::info("{} pending notifications are due again", *released);
  if (Status s = Rebuild(); !s.ok()) return s;
  housekeeping_ = std::thread([this] { RunHousekeeping(); });
  return Status::Ok();
}

Status Notifier::ReloadConfigChannels(const std::vector<ChannelConfig>& config_channels) {
  std::lock_guard change(change_mu_);
  StatusOr<std::vector<ChannelInfo>> channels = SyncConfigChannels(config_channels);
  if (!channels.ok()) return channels.status();
  bool unchanged = false;
  {
    std::lock_guard lock(mu_);
    unchanged = std::equal(channels_.begin(), channels_.end(), channels->begin(), channels->end(),
                           [](const ChannelInfo& a, const ChannelInfo& b) {
                             return a.config == b.config && a.source == b.source;
                           });
    channels_ = std::move(*channels);
  }
  // A reload that changes no channel (say, of the log level only) leaves the senders
  // and their sends in flight alone.
  return unchanged ? Status::Ok() : Rebuild();
}

StatusOr<std::vector<ChannelInfo>> Notifier::SyncConfigChannels(
    const std::vector<ChannelConfig>& config_channels) {
  std::set<std::string, std::less<>> config_names;
  for (const ChannelConfig& c : config_channels) config_names.insert(c.name);
  StatusOr<std::vector<rules::ChannelRecord>> stored = catalog_.ListChannels();
  if (!stored.ok()) return stored.status();
  std::vector<ChannelInfo> channels;  // the API's, then the config's
  std::vector<std::string> left;      // config channels no longer in the config
  std::map<std::string, rules::ChannelRecord, std::less<>> stored_config;  // by name
  for (const rules::ChannelRecord& record : *stored) {
    if (config_names.contains(record.name)) {
      if (record.source != "config") {
        spdlog::warn("channel {} of the API is replaced by the config file's", record.name);
      } else {
        stored_config.emplace(record.name, record);
      }
      continue;
    }
    if (record.source == "config") {
      left.push_back(record.name);
      continue;
    }
    StatusOr<ChannelConfig> config = ParseChannelJson(record.config);
    if (!config.ok()) {
      spdlog::error("channel {} in the catalog is unusable, left out: {}", record.name,
                    config.status().message());
      continue;
    }
    channels.push_back(ToInfo(record, std::move(*config), ChannelSource::kApi));
  }
  // The whole set is checked before anything is written: a config that fails (a
  // fallback naming no channel) changes nothing.
  std::vector<ChannelConfig> configs;
  for (const ChannelInfo& c : channels) configs.push_back(c.config);
  configs.insert(configs.end(), config_channels.begin(), config_channels.end());
  if (Status s = CheckChannels(configs); !s.ok()) return s;

  for (const std::string& name : left) {
    spdlog::info("channel {} left the config file; deleted", name);
    if (Status s = catalog_.DeleteChannel(name); !s.ok()) return s;
  }
  for (const ChannelConfig& config : config_channels) {
    const rules::ChannelSpec spec{config.name, config.kind, ChannelConfigToJson(config), "config"};
    const auto same = stored_config.find(config.name);
    StatusOr<rules::ChannelRecord> record =
        same != stored_config.end() && same->second.kind == spec.kind &&
                same->second.config == spec.config
            ? StatusOr<rules::ChannelRecord>(same->second)  // unchanged: keeps updated_at
            : catalog_.UpdateChannel(spec);
    if (!record.ok() && record.status().code() == StatusCode::kNotFound) {
      record = catalog_.CreateChannel(spec);
    }
    if (!record.ok()) return record.status();
    channels.push_back(ToInfo(*record, config, ChannelSource::kConfig));
  }
  std::sort(channels.begin(), channels.end(), [](const ChannelInfo& a, const ChannelInfo& b) {
    return a.config.name < b.config.name;
  });
  return channels;
}

void Notifier::Stop() {
  std::lock_guard change(change_mu_);
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    running = std::move(running_);
  }
  wake_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (running) running->worker->Stop();
}

void Notifier::Notify() {
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mu_);
    running = running_;
  }
  if (running) running->worker->Notify();
}

Status Notifier::Rebuild() {
  std::vector<ChannelConfig> configs;
  {
    std::lock_guard lock(mu_);
    for (const ChannelInfo& c : channels_) configs.push_back(c.config);
  }
  auto next = std::make_shared<Running>();
  next->queue = std::make_unique<CatalogOutboxQueue>(catalog_);
  next->worker = std::make_unique<sinks::DeliveryWorker>(*next->queue, options_.worker);
  std::set<std::string, std::less<>> failed;
  std::vector<std::pair<ChannelConfig, std::shared_ptr<sinks::Emitter>>> built;
  for (const ChannelConfig& c : configs) {
    StatusOr<std::shared_ptr<sinks::Emitter>> emitter = MakeEmitter(c);
    if (!emitter.ok()) {
      spdlog::error("channel {}: cannot be built, its notifications wait: {}", c.name,
                    emitter.status().message());
      failed.insert(c.name);
      ++next->build_errors;
      // CQ output for it fails (and is retried) rather than skip the channel.
      if (!c.continuous_queries.empty()) next->cq_producers.push_back({c, nullptr});
      continue;
    }
    if (auto am = std::dynamic_pointer_cast<sinks::AlertmanagerEmitter>(*emitter)) {
      next->alertmanagers.push_back(am);
      Seed(*am, c.name);
    }
    if (auto kafka = std::dynamic_pointer_cast<sinks::KafkaEmitter>(*emitter)) {
      if (!c.continuous_queries.empty()) next->cq_producers.push_back({c, kafka});
    }
    built.emplace_back(c, std::move(*emitter));
  }
  for (auto& [c, emitter] : built) {
    sinks::ChannelPolicy policy = ToChannelPolicy(c);
    if (failed.contains(policy.fallback)) {
      spdlog::warn("channel {}: fallback {} could not be built; running without it", c.name,
                   policy.fallback);
      policy.fallback.clear();
    }
    if (Status s = next->worker->AddChannel(c.name, std::move(emitter), policy); !s.ok()) {
      return Status(s.code(), "channel " + c.name + ": " + s.message());
    }
  }
  std::shared_ptr<Running> previous;
  {
    std::lock_guard lock(mu_);
    previous = running_;
  }
  // The old senders finish their sends before the new ones claim: no row is in two
  // builds' hands at once (apart from lease expiry, as always).
  if (previous) previous->worker->Stop();
  if (Status s = next->worker->Start(); !s.ok()) return s;
  std::lock_guard lock(mu_);
  running_ = std::move(next);
  return Status::Ok();
}

void Notifier::Seed(sinks::AlertmanagerEmitter& emitter, const std::string& channel) {
  StatusOr<std::vector<rules::OutboxEntry>> latest = catalog_.LatestPerInstance(channel);
  if (!latest.ok()) {
    spdlog::error("channel {}: cannot read the alerts to re-send after a restart: {}", channel,
                  latest.status().message());
    return;
  }
  std::size_t seeded = 0;
  for (const rules::OutboxEntry& row : *latest) {
    if (IsFiring(row.payload) && emitter.Remember(row.payload)) ++seeded;
  }
  if (seeded > 0) spdlog::info("channel {}: re-sending {} firing alerts", channel, seeded);
}

std::vector<ChannelInfo> Notifier::List() const {
  std::lock_guard lock(mu_);
  return channels_;
}

StatusOr<ChannelInfo> Notifier::Get(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const ChannelInfo& c : channels_) {
    if (c.config.name == name) return c;
  }
  return Status(StatusCode::kNotFound, "no channel named \"" + std::string(name) + "\"");
}

bool Notifier::ManagedByConfig(std::string_view name) const {
  StatusOr<ChannelInfo> info = Get(name);
  return info.ok() && info->source == ChannelSource::kConfig;
}

Status Notifier::WithChannels(const std::vector<std::string>& names,
                              const std::function<void()>& change) {
  std::lock_guard change_lock(change_mu_);
  for (const std::string& name : names) {
    if (StatusOr<ChannelInfo> info = Get(name); !info.ok()) return info.status();
  }
  change();
  return Status::Ok();
}

StatusOr<std::pair<ChannelInfo, bool>> Notifier::Put(const ChannelConfig& channel, PutMode mode) {
  std::lock_guard change(change_mu_);
  std::vector<ChannelConfig> configs;
  bool exists = false;
  {
    std::lock_guard lock(mu_);
    for (const ChannelInfo& c : channels_) {
      if (c.config.name == channel.name) {
        if (mode == PutMode::kCreateOnly) return std::make_pair(c, false);
        if (c.source == ChannelSource::kConfig) {
          return Status(StatusCode::kInvalidArgument,
                        "\"" + channel.name + "\" is managed by the config file");
        }
        exists = true;
        configs.push_back(channel);
      } else {
        configs.push_back(c.config);
      }
    }
  }
  if (!exists) configs.push_back(channel);
  if (Status s = CheckChannels(configs); !s.ok()) return s;
  if (StatusOr<std::shared_ptr<sinks::Emitter>> made = MakeEmitter(channel); !made.ok()) {
    return Status(StatusCode::kInvalidArgument, "cannot be built: " + made.status().message());
  }
  const rules::ChannelSpec spec{channel.name, channel.kind, ChannelConfigToJson(channel), "api"};
  StatusOr<rules::ChannelRecord> record =
      exists ? catalog_.UpdateChannel(spec) : catalog_.CreateChannel(spec);
  if (!record.ok()) return record.status();
  ChannelInfo info = ToInfo(*record, channel, ChannelSource::kApi);
  {
    std::lock_guard lock(mu_);
    std::erase_if(channels_, [&](const ChannelInfo& c) { return c.config.name == channel.name; });
    channels_.push_back(info);
    std::sort(channels_.begin(), channels_.end(), [](const ChannelInfo& a, const ChannelInfo& b) {
      return a.config.name < b.config.name;
    });
  }
  if (Status s = Rebuild(); !s.ok()) return s;
  return std::make_pair(std::move(info), !exists);
}

Status Notifier::Delete(std::string_view name) {
  std::lock_guard change(change_mu_);
  {
    std::lock_guard lock(mu_);
    const auto it = std::find_if(channels_.begin(), channels_.end(),
                                 [&](const ChannelInfo& c) { return c.config.name == name; });
    if (it == channels_.end()) {
      return Status(StatusCode::kNotFound, "no channel named \"" + std::string(name) + "\"");
    }
    if (it->source == ChannelSource::kConfig) {
      return Status(StatusCode::kInvalidArgument,
                    "\"" + std::string(name) + "\" is managed by the config file");
    }
    for (const ChannelInfo& c : channels_) {
      if (c.config.fallback == name) {
        return Status(
            StatusCode::kInvalidArgument,
            "\"" + std::string(name) + "\" is the fallback of channel \"" + c.config.name + "\"");
      }
    }
  }
  if (options_.rules_naming) {
    if (const std::vector<std::string> rules = options_.rules_naming(name); !rules.empty()) {
      std::string names;
      for (const std::string& rule : rules) names += (names.empty() ? "\"" : ", \"") + rule + "\"";
      return Status(StatusCode::kInvalidArgument,
                    "\"" + std::string(name) + "\" is used by rules: " + names);
    }
  }
  if (Status s = catalog_.DeleteChannel(name); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    std::erase_if(channels_, [&](const ChannelInfo& c) { return c.config.name == name; });
  }
  return Rebuild();
}

Status Notifier::ProduceContinuousQueryOutput(std::string_view db, std::string_view cq,
                                              std::string_view line_protocol) {
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mu_);
    running = running_;
  }
  if (!running) return Status::Ok();
  std::vector<sinks::KafkaRecord> records;
  for (const auto& [config, producer] : running->cq_producers) {
    if (!CarriesContinuousQuery(config, db, cq)) continue;
    if (!producer) {
      std::lock_guard lock(mu_);
      ++cq_produce_errors_;
      return Status(StatusCode::kUnavailable, "channel " + config.name + " could not be built");
    }
    if (records.empty()) {
      std::size_t start = 0;
      while (start < line_protocol.size()) {
        std::size_t end = line_protocol.find('\n', start);
        if (end == std::string_view::npos) end = line_protocol.size();
        const std::string_view line = line_protocol.substr(start, end - start);
        if (!line.empty()) records.push_back({SeriesKeyOf(line), line});
        start = end + 1;
      }
    }
    const Status produced = producer->Produce(records);
    std::lock_guard lock(mu_);
    if (!produced.ok()) {
      ++cq_produce_errors_;
      return Status(StatusCode::kUnavailable, "channel " + config.name + ": " + produced.message());
    }
    cq_records_produced_ += static_cast<std::int64_t>(records.size());
  }
  return Status::Ok();
}

NotifierStats Notifier::Stats() const {
  NotifierStats stats;
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(mu_);
    running = running_;
    stats.unrouted_dead = unrouted_dead_;
    stats.outbox_pruned = outbox_pruned_;
    stats.cq_records_produced = cq_records_produced_;
    stats.cq_produce_errors = cq_produce_errors_;
  }
  if (!running) return stats;
  stats.channels = running->worker->Stats();
  std::sort(stats.channels.begin(), stats.channels.end(),
            [](const sinks::ChannelStats& a, const sinks::ChannelStats& b) {
              return a.channel < b.channel;
            });
  stats.build_errors = running->build_errors;
  return stats;
}

void Notifier::RunHousekeeping() {
  // A prune pass may take several rounds (PruneOutbox works a slice per round, so the
  // re-sends above are not held up); the next pass starts prune_interval after the last
  // one finished. -1: no pass under way.
  std::int64_t prune_after = -1;
  auto next_pass = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.housekeeping_interval, [this] { return stopping_; });
    if (stopping_) break;
    const std::shared_ptr<Running> running = running_;
    lock.unlock();
    const std::int64_t now = WallNow();
    for (const auto& am : running->alertmanagers) {
      const sinks::DeliveryResult result = am->Resend(now);
      if (result.outcome != sinks::DeliveryOutcome::kDelivered) {
        spdlog::debug("alertmanager re-send failed: {}", result.error);
      }
    }
    const std::int64_t unrouted = SweepUnrouted(now);
    std::int64_t pruned = 0;
    if (options_.outbox_retention.count() > 0) {
      if (prune_after < 0 && std::chrono::steady_clock::now() >= next_pass) prune_after = 0;
      if (prune_after >= 0) {
        pruned = PruneOutbox(now, prune_after);
        // The pass just ended: the next one is due an interval from now.
        if (prune_after < 0) next_pass = std::chrono::steady_clock::now() + options_.prune_interval;
      }
    }
    lock.lock();
    unrouted_dead_ += unrouted;
    outbox_pruned_ += pruned;
  }
}

std::int64_t Notifier::PruneOutbox(std::int64_t now, std::int64_t& after) {
  // Steps of 1000 rows, each its own catalog call: the engine's commits wait for one
  // step at most. A round works for 50 ms at most, then leaves the rest of the pass.
  constexpr std::int64_t kStep = 1000;
  constexpr auto kSlice = std::chrono::milliseconds(50);
  const auto deadline = std::chrono::steady_clock::now() + kSlice;
  const std::int64_t before = now - options_.outbox_retention.count();
  std::int64_t pruned = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    StatusOr<rules::PruneStep> step = catalog_.PruneDone(before, now, after, kStep);
    if (!step.ok()) {
      spdlog::warn("outbox prune: {}", step.status().message());
      after = -1;  // the next pass starts over
      break;
    }
    pruned += step->deleted;
    after = step->next;
    if (step->finished) {
      after = -1;
      break;
    }
    std::lock_guard lock(mu_);
    if (stopping_) break;
  }
  return pruned;
}

std::int64_t Notifier::SweepUnrouted(std::int64_t now) {
  // Skipped while the channel set changes: a channel being added must not lose its
  // rows to a sweep that saw the set before it.
  std::unique_lock change(change_mu_, std::try_to_lock);
  if (!change.owns_lock()) return 0;
  std::set<std::string, std::less<>> names;
  {
    std::lock_guard lock(mu_);
    for (const ChannelInfo& c : channels_) names.insert(c.config.name);
  }
  StatusOr<std::vector<std::string>> pending = catalog_.PendingChannels();
  if (!pending.ok()) return 0;
  std::int64_t unrouted = 0;
  for (const std::string& channel : *pending) {
    if (names.contains(channel)) continue;
    const std::string reason = "no channel named \"" + channel + "\"";
    StatusOr<std::int64_t> moved = catalog_.MoveChannelToDead(channel, reason, now);
    if (moved.ok() && *moved > 0) {
      spdlog::warn("{} notifications dead-lettered: {}", *moved, reason);
      unrouted += *moved;
    }
  }
  return unrouted;
}

}  // namespace tidewatch::daemon
