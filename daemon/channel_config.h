// A notification channel's settings: one [[channels]] table of the config file, one
// body of /api/v1/channels, one row of the catalog's channels table (as canonical JSON).
// docs/CONFIG.md ("[[channels]]") lists every key with its default.
//
// One reader for all three: ReadChannel() reads a TOML table through the config's
// TableReader; ParseChannelJson() converts a JSON object into a TOML table first and
// runs the same reader, so the file, the API and the catalog accept exactly the same
// keys, types and bounds. ChannelConfigToJson() writes the canonical JSON (every key,
// durations as "1m30s"-style strings) that ParseChannelJson() reads back equal.
//
// Keys (defaults in parentheses):
//   name                  required; [A-Za-z0-9_.-], 1..64 characters
//   kind                  required; "webhook" | "alertmanager" | "kafka"
//   webhook, alertmanager:
//     url                 required; http:// or https:// (sinks::ParseUrl)
//     headers             ({}) extra request headers (sinks::CheckHeaders)
//     connect_timeout     ("5s")   request_timeout ("10s")
//     ca_file             ("")     insecure_skip_verify (false)
//   webhook:   body_template ("")  (sinks/webhook_emitter.h)
//   alertmanager: resend_interval ("1m"), resolve_timeout ("0s" = 4 x resend_interval),
//                 resolved_resend_for ("15m")
//   kafka:
//     brokers, topic      required
//     send_timeout        ("10s", at least 1s)
//     properties          ({}) raw librdkafka producer settings
//     continuous_queries  ([]) CQs whose output is also produced to `topic`, each
//                         "<db>.<cq name>" or "*" for every CQ; a kafka channel with
//                         continuous_queries and no rule naming it carries CQ output only
//   delivery policy (sinks::ChannelPolicy), every kind:
//     max_concurrency (4, 1..256), rate (0 = unlimited, per second), burst (1),
//     max_attempts (10), max_age ("24h"), backoff_base ("1s"), backoff_cap ("5m"),
//     lease ("60s"), breaker_failures (5, 0 = no breaker), breaker_open_for ("30s"),
//     fallback ("" = none; another channel's name), fallback_after_failures (3)
// A key that does not belong to the channel's kind is an error ("url: not a key of a
// kafka channel"), as are unknown keys, wrong types and out-of-range values.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_DAEMON_CHANNEL_CONFIG_H_
#define TIDEWATCH_DAEMON_CHANNEL_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/catalog.h"
#include "sinks/alertmanager_emitter.h"
#include "sinks/delivery_worker.h"
#include "sinks/kafka_emitter.h"
#include "sinks/webhook_emitter.h"
#include "store/status.h"

namespace tidewatch::daemon {

namespace internal {
class TableReader;
}  // namespace internal

struct ChannelConfig {
  std::string name;
  rules::ChannelKind kind = rules::ChannelKind::kWebhook;

  // webhook and alertmanager
  std::string url;
  std::map<std::string, std::string> headers;
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(10);
  std::string ca_file;
  bool insecure_skip_verify = false;
  // webhook
  std::string body_template;
  // alertmanager
  std::chrono::nanoseconds resend_interval = std::chrono::minutes(1);
  std::chrono::nanoseconds resolve_timeout{0};
  std::chrono::nanoseconds resolved_resend_for = std::chrono::minutes(15);
  // kafka
  std::string brokers;
  std::string topic;
  std::chrono::nanoseconds send_timeout = std::chrono::seconds(10);
  std::map<std::string, std::string> properties;
  std::vector<std::string> continuous_queries;

  // delivery policy
  std::uint64_t max_concurrency = 4;
  double rate = 0;
  double burst = 1;
  std::uint64_t max_attempts = 10;
  std::chrono::nanoseconds max_age = std::chrono::hours(24);
  std::chrono::nanoseconds backoff_base = std::chrono::seconds(1);
  std::chrono::nanoseconds backoff_cap = std::chrono::minutes(5);
  std::chrono::nanoseconds lease = std::chrono::seconds(60);
  std::uint64_t breaker_failures = 5;
  std::chrono::nanoseconds breaker_open_for = std::chrono::seconds(30);
  std::string fallback;
  std::uint64_t fallback_after_failures = 3;

  friend bool operator==(const ChannelConfig&, const ChannelConfig&) = default;
};

// Reads one channel table (the config's [[channels]] entries; in describe mode it
// lists every key for KnownConfigKeys()). Errors go to the reader, at the offending key.
// Checks within one channel only (kind-specific keys, backoff_cap >= backoff_base,
// fallback != name); CheckChannels() checks a set.
void ReadChannel(internal::TableReader& table, ChannelConfig& channel);

// Checks a whole set: names unique, every fallback names another channel of the set.
// kInvalidArgument naming the channel ("channels[2] (pager): fallback: no channel named
// \"sms\"").
[[nodiscard]] Status CheckChannels(const std::vector<ChannelConfig>& channels);

// One channel from a JSON object (an API body, a catalog row). Errors: kInvalidArgument,
// every problem on its own line as "<key>: <what>" (no file positions), also for text
// that is not a JSON object, is nested deeper than 4, or is larger than 64 KiB.
[[nodiscard]] StatusOr<ChannelConfig> ParseChannelJson(std::string_view json);

// The canonical JSON of `channel`: every key of its kind and the policy's; what the
// catalog stores and GET /api/v1/channels shows. Header values whose name contains
// (any case) "auth", "cookie", "token", "secret", "key", "password", "credential",
// "signature" or "session" are stored as they are; RedactChannelJson() hides them.
std::string ChannelConfigToJson(const ChannelConfig& channel);
// ChannelConfigToJson with those header values, kafka properties whose name contains
// "password", "secret", "ssl.key", "sasl.oauthbearer" or "sasl.jaas", and the URL's path
// and query (where webhook tokens often are) replaced by "<redacted>". The readers refuse
// "<redacted>" as a value there, so redacted JSON sent back is an error, not a secret.
std::string RedactChannelJson(const ChannelConfig& channel);

// The delivery worker's policy for the channel.
sinks::ChannelPolicy ToChannelPolicy(const ChannelConfig& channel);

// The emitters' options. REQUIRES: the channel is of the matching kind.
sinks::WebhookOptions ToWebhookOptions(const ChannelConfig& channel);
sinks::AlertmanagerOptions ToAlertmanagerOptions(const ChannelConfig& channel);
sinks::KafkaEmitterOptions ToKafkaEmitterOptions(const ChannelConfig& channel);

// Whether the kafka channel carries the output of CQ `cq` of database `db`
// (continuous_queries holds "<db>.<cq>" or "*").
bool CarriesContinuousQuery(const ChannelConfig& channel, std::string_view db,
                            std::string_view cq);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_CHANNEL_CONFIG_H_
