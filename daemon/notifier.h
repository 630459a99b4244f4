// Notifier: tidewatchd's delivery side. It owns the set of notification channels (the
// config file's [[channels]] plus those created through /api/v1/channels, all stored in
// the catalog), one emitter per channel, and the sinks::DeliveryWorker that drains the
// catalog's outbox through them (ARCHITECTURE.md, guarantee 4).
//
//   Start()   stores the config's channels in the catalog (replacing rows of the same
//             name, an API channel's too; channels that left the config are deleted, and
//             their pending rows dead-lettered by the next sweep), loads the API channels,
//             makes every pending row due now (leases of a process that died, backoffs:
//             the caller must be the only process using the catalog's outbox), builds
//             the emitters and starts the worker. Every alertmanager channel is seeded with the
//             newest notification of each alert instance whose last word on that channel was
//             "firing" (Remember()), so Alertmanager keeps seeing alerts that fired before a
//             restart. A background thread then every `housekeeping_interval`:
//               - calls Resend() on every alertmanager channel (its own resend_interval
//                 decides what is due);
//               - dead-letters pending rows of channels that do not exist (a deleted
//                 channel, or a rule naming an unknown one), with a warning and the reason
//                 "no channel named <x>", counted in unrouted_dead();
//               - every `prune_interval`, deletes done rows older than
//                 `outbox_retention` (Catalog::PruneDone keeps each alert instance's
//                 newest row per channel), in steps of 1000 rows, at most 50 ms a
//                 round, counted in outbox_pruned.
//   ReloadConfigChannels()  on SIGHUP, the same for the config file's channels as read
//             again, then a rebuild as for Put/Delete.
//   Notify()  after every catalog commit that enqueued rows (the rule engine's
//             on_commit hook): idle senders claim at once.
//   Put/Delete  change an API channel: stored in the catalog first, then the worker is
//             stopped (sends in flight finish), rebuilt with the new set, and started.
//             Rows pending for a channel survive the rebuild (they are in the catalog).
//   ProduceContinuousQueryOutput()  the CQ output of (db, cq) to every kafka channel
//             whose continuous_queries names it, waited for (delivery reports);
//             kUnavailable when one is not delivered, so the CQ writer retries the range.
//
// A channel whose emitter cannot be built at Start() (a CA file that went missing) is
// left out with an error log line; its rows wait, and it counts in build_errors().
//
// Thread safety: Start and Stop from the controlling thread; everything else from any
// thread at any time (Put/Delete serialise among themselves).
#ifndef TIDEWATCH_DAEMON_NOTIFIER_H_
#define TIDEWATCH_DAEMON_NOTIFIER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/channel_config.h"
#include "rules/catalog.h"
#include "sinks/alertmanager_emitter.h"
#include "sinks/delivery_worker.h"
#include "store/status.h"

namespace tidewatch::daemon {

enum class ChannelSource : std::uint8_t { kConfig, kApi };
std::string_view ChannelSourceName(ChannelSource source);  // "config", "api"

struct ChannelInfo {
  ChannelConfig config;
  ChannelSource source = ChannelSource::kApi;
  std::int64_t created_at = 0;  // ns since the epoch, from the catalog
  std::int64_t updated_at = 0;
};

// The names of the rules that send to `channel`. Called from Delete(), on HTTP threads.
using RulesNamingChannel = std::function<std::vector<std::string>(std::string_view channel)>;

struct NotifierOptions {
  std::vector<ChannelConfig> config_channels;  // the config file's [[channels]]
  // Delete() refuses a channel that rules still send to. Unset: no rule names any.
  RulesNamingChannel rules_naming;
  sinks::DeliveryWorkerOptions worker;
  std::chrono::nanoseconds housekeeping_interval = std::chrono::seconds(1);
  // How long delivered rows stay in the outbox (for inspection); 0 keeps them all.
  std::chrono::nanoseconds outbox_retention = std::chrono::hours(120);
  std::chrono::nanoseconds prune_interval = std::chrono::minutes(1);
};

struct NotifierStats {
  std::vector<sinks::ChannelStats> channels;  // by name
  std::int64_t unrouted_dead = 0;             // rows dead-lettered for want of a channel
  std::int64_t build_errors = 0;              // channels left out at the last (re)build
  std::int64_t cq_records_produced = 0;       // CQ output records delivered to Kafka
  std::int64_t cq_produce_errors = 0;
  std::int64_t outbox_pruned = 0;  // delivered rows deleted after outbox_retention
};

class Notifier {
 public:
  // REQUIRES: catalog outlives the notifier. Nothing runs until Start().
  Notifier(rules::Catalog& catalog, NotifierOptions options);
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Errors: the catalog fails, or the config's channels fail CheckChannels together
  // with the stored API channels (an API channel named like a config channel is
  // replaced by it, with a warning).
  Status Start();
  // SIGHUP: makes the config channels exactly `config_channels` (created, changed,
  // deleted as at Start(); an unchanged one keeps its updated_at) and rebuilds the
  // worker if any channel changed. The set with the API channels is checked first: on
  // kInvalidArgument nothing changed. A catalog error partway leaves the catalog's
  // config channels partly written (the next reload or start converges) and the
  // running set as it was. REQUIRES: started.
  Status ReloadConfigChannels(const std::vector<ChannelConfig>& config_channels);
  void Stop();  // idempotent
  void Notify();

  std::vector<ChannelInfo> List() const;  // by name
  StatusOr<ChannelInfo> Get(std::string_view name) const;
  // Creates or replaces the API channel `channel.name`. kInvalidArgument when the set
  // would fail CheckChannels, when its emitter cannot be built (message "cannot be
  // built: ...": a CA file that cannot be loaded, a librdkafka property refused), or
  // when the channel is a config channel (message "... is managed by the config file";
  // the API answers 409 when ManagedByConfig()). Nothing is stored then.
  // The bool is true when it was created. kCreateOnly leaves an existing channel of
  // that name (of either source) as it is and returns it with false.
  enum class PutMode { kCreateOrReplace, kCreateOnly };
  StatusOr<std::pair<ChannelInfo, bool>> Put(const ChannelConfig& channel,
                                             PutMode mode = PutMode::kCreateOrReplace);
  // kNotFound; kInvalidArgument for a config channel, one another channel's fallback
  // names, or one that rules send to (options.rules_naming; the message names them).
  Status Delete(std::string_view name);
  bool ManagedByConfig(std::string_view name) const;
  // Runs `change` if every channel in `names` exists, with the set held still until it
  // returns (no Put, Delete or reload meanwhile); else kNotFound "no channel named
  // \"x\"" and `change` does not run. For storing a rule that names channels: a
  // Delete() then sees the rule (options.rules_naming), or the rule sees the delete.
  Status WithChannels(const std::vector<std::string>& names, const std::function<void()>& change);

  Status ProduceContinuousQueryOutput(std::string_view db, std::string_view cq,
                                      std::string_view line_protocol);

  NotifierStats Stats() const;

 private:
  struct Running;  // the worker and emitters of one build

  // Stores `config_channels` in the catalog as the config's channels (see Start()) and
  // returns the whole set, by name. REQUIRES: change_mu_ held.
  StatusOr<std::vector<ChannelInfo>> SyncConfigChannels(
      const std::vector<ChannelConfig>& config_channels);
  // Builds the emitters and a worker for channels_ and swaps them in for the running
  // ones. REQUIRES: change_mu_ held.
  Status Rebuild();
  // Remembers, for re-sending, the alerts whose last notification on `channel` fired.
  void Seed(sinks::AlertmanagerEmitter& emitter, const std::string& channel);
  void RunHousekeeping();
  // Dead-letters pending rows of channels not in the set; returns how many.
  std::int64_t SweepUnrouted(std::int64_t now);
  // Works on a pass of deleting done rows older than the retention, from id `after`
  // on, for one slice of time; returns how many it deleted and sets `after` to where it
  // stopped, or -1 when the pass is over.
  std::int64_t PruneOutbox(std::int64_t now, std::int64_t& after);

  rules::Catalog& catalog_;
  const NotifierOptions options_;

  std::mutex change_mu_;  // serialises Start/Reload/Put/Delete/Stop rebuilds
  mutable std::mutex mu_;
  std::condition_variable wake_;
  // Guarded by mu_.
  std::vector<ChannelInfo> channels_;
  std::shared_ptr<Running> running_;
  bool stopping_ = false;
  std::int64_t unrouted_dead_ = 0;
  std::int64_t cq_records_produced_ = 0;
  std::int64_t cq_produce_errors_ = 0;
  std::int64_t outbox_pruned_ = 0;
  std::thread housekeeping_;
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_NOTIFIER_H_
