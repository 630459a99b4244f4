#include "daemon/channel_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "daemon/internal/toml_reader.h"
#include "daemon/units.h"
#include "sinks/http_client.h"

namespace tidewatch::daemon {
namespace {

using internal::TableReader;
using rules::ChannelKind;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using Json = nlohmann::ordered_json;

constexpr nanoseconds kMinDuration = milliseconds(1);
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxTopicLength = 249;  // Kafka's limit
constexpr std::uint64_t kMaxCount = 1'000'000;
constexpr double kMaxRate = 1e9;
constexpr std::size_t kMaxJsonBytes = 64 << 10;
constexpr int kMaxJsonDepth = 4;
constexpr std::string_view kRedacted = "<redacted>";

// Which kinds a kind-specific key belongs to.
enum KindMask : unsigned {
  kWebhookOnly = 1u << 0,
  kAlertmanagerOnly = 1u << 1,
  kKafkaOnly = 1u << 2,
  kHttpKinds = kWebhookOnly | kAlertmanagerOnly,
};

struct KindKey {
  std::string_view key;
  unsigned kinds;
};

constexpr std::array<KindKey, 15> kKindKeys = {{
    {"url", kHttpKinds},
    {"headers", kHttpKinds},
    {"connect_timeout", kHttpKinds},
    {"request_timeout", kHttpKinds},
    {"ca_file", kHttpKinds},
    {"insecure_skip_verify", kHttpKinds},
    {"body_template", kWebhookOnly},
    {"resend_interval", kAlertmanagerOnly},
    {"resolve_timeout", kAlertmanagerOnly},
    {"resolved_resend_for", kAlertmanagerOnly},
    {"brokers", kKafkaOnly},
    {"topic", kKafkaOnly},
    {"send_timeout", kKafkaOnly},
    {"properties", kKafkaOnly},
    {"continuous_queries", kKafkaOnly},
}};

unsigned MaskOf(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kWebhook:
      return kWebhookOnly;
    case ChannelKind::kAlertmanager:
      return kAlertmanagerOnly;
    case ChannelKind::kKafka:
      return kKafkaOnly;
  }
  return 0;
}

bool Belongs(std::string_view key, ChannelKind kind) {
  for (const KindKey& k : kKindKeys) {
    if (k.key == key) return (k.kinds & MaskOf(kind)) != 0;
  }
  return true;  // the name, the kind and the delivery policy
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool ContainsIgnoreCase(std::string_view text, std::string_view part) {
  if (part.size() > text.size()) return false;
  for (std::size_t i = 0; i + part.size() <= text.size(); ++i) {
    if (EqualsIgnoreCase(text.substr(i, part.size()), part)) return true;
  }
  return false;
}

// Channel names and Kafka topic names share this alphabet.
bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}

sinks::HttpHeaders ToHeaders(const std::map<std::string, std::string>& headers) {
  return sinks::HttpHeaders(headers.begin(), headers.end());
}

// Emitter option durations are whole milliseconds; rounding up keeps a positive one so.
milliseconds Millis(nanoseconds d) { return std::chrono::ceil<milliseconds>(d); }

// A key read only for some kinds: required when it belongs to the channel's kind (and,
// so that the docs say so, when describing).
void KindString(TableReader& t, std::string_view key, std::string& out, bool required) {
  if (required || t.describing()) {
    t.RequiredString(key, out);
  } else {
    t.String(key, out);
  }
}

void CheckName(TableReader& t, const std::string& name) {
  if (name.empty()) return;  // RequiredString reported it
  if (name.size() > kMaxNameLength) {
    return t.Fail("name", "longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    t.Fail("name",
           "may contain only letters, digits, '_', '.' and '-', got " + QuoteForError(name));
  }
}

// A channel read back from the API's redacted JSON would store the placeholder as the
// secret: refuse it where redaction puts it.
void RejectRedacted(TableReader& t, const ChannelConfig& c) {
  constexpr std::string_view kHint = "holds \"<redacted>\": send the real value";
  if (c.url.find(kRedacted) != std::string::npos) t.Fail("url", kHint);
  for (const auto* map : {&c.headers, &c.properties}) {
    for (const auto& [name, value] : *map) {
      if (value == kRedacted) {
        t.Fail(map == &c.headers ? "headers" : "properties",
               QuoteForError(name) + " " + std::string(kHint));
      }
    }
  }
}

void CheckHttp(TableReader& t, const ChannelConfig& c) {
  if (!c.url.empty()) {
    if (StatusOr<sinks::ParsedUrl> url = sinks::ParseUrl(c.url); !url.ok()) {
      t.Fail("url", url.status().message());
    }
  }
  for (const auto& [name, value] : c.headers) {
    if (Status s = sinks::ValidateNotificationHeaders({{name, value}}); !s.ok()) {
      t.Fail("headers", s.message());
    }
  }
  if (c.kind != ChannelKind::kWebhook) return;
  if (c.body_template.empty()) return;
  // The emitter compiles the template and renders it for an example payload; with TLS
  // verification off it loads no CA store, so building one is cheap.
  sinks::WebhookOptions probe;
  probe.url = "http://127.0.0.1/";
  probe.body_template = c.body_template;
  probe.http.insecure_skip_verify = true;
  if (auto made = sinks::WebhookEmitter::Create(std::move(probe)); !made.ok()) {
    t.Fail("body_template", made.status().message());
  }
}

void CheckKafka(TableReader& t, const ChannelConfig& c) {
  if (!c.topic.empty() && (c.topic.size() > kMaxTopicLength || c.topic == "." || c.topic == ".." ||
                           !std::all_of(c.topic.begin(), c.topic.end(), IsNameChar))) {
    t.Fail("topic", "not a Kafka topic name (1..249 of letters, digits, '.', '_', '-'), got " +
                        QuoteForError(c.topic));
  }
  // The emitter refuses to be anything but idempotent with acks=all.
  struct Fixed {
    std::string_view key, value, alias;
  };
  for (const Fixed& fixed :
       {Fixed{"enable.idempotence", "true", "true"}, Fixed{"acks", "all", "-1"},
        Fixed{"request.required.acks", "all", "-1"}}) {
    const auto it = c.properties.find(std::string(fixed.key));
    if (it != c.properties.end() && it->second != fixed.value && it->second != fixed.alias) {
      t.Fail("properties", "\"" + std::string(fixed.key) + "\" must be \"" +
                               std::string(fixed.value) +
                               "\" (the sink is idempotent with acks=all)");
    }
  }
  for (const std::string& cq : c.continuous_queries) {
    const std::size_t dot = cq.find('.');
    if (cq != "*" && (dot == std::string::npos || dot == 0 || dot + 1 == cq.size())) {
      t.Fail("continuous_queries",
             "expected \"<db>.<cq name>\" or \"*\", got " + QuoteForError(cq));
    }
  }
}

// ---- JSON -> TOML ----

// Parses `text`, refusing more than kMaxJsonDepth levels and duplicate members. Once a
// problem is found the rest is discarded unread (nlohmann then reports no ends).
StatusOr<nlohmann::json> ParseBoundedJson(std::string_view text) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string, std::less<>>> members;  // per open object or array
  std::optional<std::string> problem;
  const nlohmann::json::parser_callback_t callback = [&](int depth, Event event,
                                                         nlohmann::json& parsed) {
    if (problem) return false;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= kMaxJsonDepth) {
          problem = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
          return false;
        }
        members.emplace_back();
        break;
      case Event::object_end:
      case Event::array_end:
        members.pop_back();
        break;
      case Event::key:
        if (!members.back().insert(parsed.get<std::string>()).second) {
          problem = "duplicate member " + QuoteForError(parsed.get<std::string>());
        }
        break;
      case Event::value:
        break;
    }
    return true;
  };
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::exception& e) {
    std::string_view what = e.what();
    if (const std::size_t end = what.find("] "); what.starts_with("[json.") && end != what.npos) {
      what.remove_prefix(end + 2);
    }
    return Status(StatusCode::kInvalidArgument, "invalid JSON: " + std::string(what));
  }
  if (problem) return Status(StatusCode::kInvalidArgument, *problem);
  if (!parsed.is_object()) return Status(StatusCode::kInvalidArgument, "expected a JSON object");
  return parsed;
}

// `value` as a TOML node; a problem (null, an integer beyond int64) goes to `errors`
// under `path`.
std::optional<toml::table> ToTomlTable(const nlohmann::json& object, const std::string& path,
                                       std::vector<std::string>& errors);

std::optional<toml::array> ToTomlArray(const nlohmann::json& array, const std::string& path,
                                       std::vector<std::string>& errors);

template <class Insert>
void ToTomlValue(const nlohmann::json& value, const std::string& path,
                 std::vector<std::string>& errors, Insert&& insert) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::object:
      if (auto table = ToTomlTable(value, path, errors)) insert(std::move(*table));
      return;
    case Type::array:
      if (auto array = ToTomlArray(value, path, errors)) insert(std::move(*array));
      return;
    case Type::string:
      insert(value.get<std::string>());
      return;
    case Type::boolean:
      insert(value.get<bool>());
      return;
    case Type::number_integer:
      insert(value.get<std::int64_t>());
      return;
    case Type::number_unsigned:
      if (value.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        errors.push_back(path + ": integer out of range");
        return;
      }
      insert(static_cast<std::int64_t>(value.get<std::uint64_t>()));
      return;
    case Type::number_float:
      insert(value.get<double>());
      return;
    case Type::null:
      errors.push_back(path + ": null is not a value (leave the key out instead)");
      return;
    case Type::binary:
    case Type::discarded:
      break;
  }
  errors.push_back(path + ": unsupported value");
}

std::optional<toml::table> ToTomlTable(const nlohmann::json& object, const std::string& path,
                                       std::vector<std::string>& errors) {
  toml::table table;
  const std::size_t before = errors.size();
  for (const auto& item : object.items()) {
    // A plain reference, not a structured binding: clang 14 cannot capture those.
    const std::string& key = item.key();
    const std::string sub = path.empty() ? key : path + "." + key;
    ToTomlValue(item.value(), sub, errors, [&](auto&& node) {
      table.insert_or_assign(key, std::forward<decltype(node)>(node));
    });
  }
  if (errors.size() != before) return std::nullopt;
  return table;
}

std::optional<toml::array> ToTomlArray(const nlohmann::json& array, const std::string& path,
                                       std::vector<std::string>& errors) {
  toml::array out;
  const std::size_t before = errors.size();
  for (const nlohmann::json& element : array) {
    ToTomlValue(element, path, errors,
                [&](auto&& node) { out.push_back(std::forward<decltype(node)>(node)); });
  }
  if (errors.size() != before) return std::nullopt;
  return out;
}

// ---- canonical JSON ----

Json StringMapJson(const std::map<std::string, std::string>& map,
                   bool (*redact)(std::string_view name)) {
  Json object = Json::object();
  for (const auto& [name, value] : map) {
    object[name] = redact != nullptr && redact(name) ? std::string(kRedacted) : value;
  }
  return object;
}

bool IsSecretHeader(std::string_view name) {
  for (std::string_view part : {"auth", "cookie", "token", "secret", "key", "password",
                                "credential", "signature", "session"}) {
    if (ContainsIgnoreCase(name, part)) return true;
  }
  return false;
}

bool IsSecretProperty(std::string_view name) {
  return ContainsIgnoreCase(name, "password") || ContainsIgnoreCase(name, "secret") ||
         ContainsIgnoreCase(name, "ssl.key") || ContainsIgnoreCase(name, "sasl.oauthbearer") ||
         ContainsIgnoreCase(name, "sasl.jaas");
}

// Webhook URLs often carry their secret in the path or the query (a chat service's
// incoming-webhook token): the redacted form keeps only scheme, host and port.
std::string RedactUrl(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return std::string(kRedacted);
  const std::size_t authority_end = url.find_first_of("/?#", scheme + 3);
  if (authority_end == std::string::npos || url.substr(authority_end) == "/") return url;
  return url.substr(0, authority_end) + "/" + std::string(kRedacted);
}

std::string ToJson(const ChannelConfig& c, bool redact) {
  Json j = Json::object();
  j["name"] = c.name;
  j["kind"] = std::string(rules::ChannelKindName(c.kind));
  if (c.kind == ChannelKind::kWebhook || c.kind == ChannelKind::kAlertmanager) {
    j["url"] = redact ? RedactUrl(c.url) : c.url;
    j["headers"] = StringMapJson(c.headers, redact ? &IsSecretHeader : nullptr);
    j["connect_timeout"] = FormatDuration(c.connect_timeout);
    j["request_timeout"] = FormatDuration(c.request_timeout);
    j["ca_file"] = c.ca_file;
    j["insecure_skip_verify"] = c.insecure_skip_verify;
  }
  if (c.kind == ChannelKind::kWebhook) j["body_template"] = c.body_template;
  if (c.kind == ChannelKind::kAlertmanager) {
    j["resend_interval"] = FormatDuration(c.resend_interval);
    j["resolve_timeout"] = FormatDuration(c.resolve_timeout);
    j["resolved_resend_for"] = FormatDuration(c.resolved_resend_for);
  }
  if (c.kind == ChannelKind::kKafka) {
    j["brokers"] = c.brokers;
    j["topic"] = c.topic;
    j["send_timeout"] = FormatDuration(c.send_timeout);
    j["properties"] = StringMapJson(c.properties, redact ? &IsSecretProperty : nullptr);
    j["continuous_queries"] = c.continuous_queries;
  }
  j["max_concurrency"] = c.max_concurrency;
  j["rate"] = c.rate;
  j["burst"] = c.burst;
  j["max_attempts"] = c.max_attempts;
  j["max_age"] = FormatDuration(c.max_age);
  j["backoff_base"] = FormatDuration(c.backoff_base);
  j["backoff_cap"] = FormatDuration(c.backoff_cap);
  j["lease"] = FormatDuration(c.lease);
  j["breaker_failures"] = c.breaker_failures;
  j["breaker_open_for"] = FormatDuration(c.breaker_open_for);
  j["fallback"] = c.fallback;
  j["fallback_after_failures"] = c.fallback_after_failures;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

sinks::HttpClientOptions ToHttpOptions(const ChannelConfig& c) {
  sinks::HttpClientOptions http;
  http.connect_timeout = Millis(c.connect_timeout);
  http.request_timeout = Millis(c.request_timeout);
  http.ca_file = c.ca_file;
  http.insecure_skip_verify = c.insecure_skip_verify;
  return http;
}

}  // namespace

void ReadChannel(TableReader& t, ChannelConfig& c) {
  t.RequiredString("name", c.name);
  CheckName(t, c.name);
  std::string kind_name;
  t.RequiredString("kind", kind_name);
  std::optional<ChannelKind> kind;
  if (!kind_name.empty()) {
    kind = rules::ParseChannelKind(kind_name);
    if (kind) {
      c.kind = *kind;
    } else {
      t.Fail("kind",
             "expected one of webhook, alertmanager, kafka, got " + QuoteForError(kind_name));
    }
  }
  const unsigned mask = kind ? MaskOf(*kind) : 0;

  KindString(t, "url", c.url, (mask & kHttpKinds) != 0);
  t.StringMap("headers", c.headers);
  t.Duration("connect_timeout", c.connect_timeout, kMinDuration);
  t.Duration("request_timeout", c.request_timeout, kMinDuration);
  t.String("ca_file", c.ca_file);
  t.Bool("insecure_skip_verify", c.insecure_skip_verify);
  t.String("body_template", c.body_template);
  t.Duration("resend_interval", c.resend_interval, kMinDuration);
  t.Duration("resolve_timeout", c.resolve_timeout, nanoseconds(0));
  t.Duration("resolved_resend_for", c.resolved_resend_for, nanoseconds(0));
  KindString(t, "brokers", c.brokers, (mask & kKafkaOnly) != 0);
  KindString(t, "topic", c.topic, (mask & kKafkaOnly) != 0);
  t.Duration("send_timeout", c.send_timeout, std::chrono::seconds(1));
  t.StringMap("properties", c.properties);
  t.StringList("continuous_queries", c.continuous_queries);

  t.Unsigned("max_concurrency", c.max_concurrency, 1, 256);
  t.Double("rate", c.rate, 0, kMaxRate);
  t.Double("burst", c.burst, 1, kMaxRate);
  t.Unsigned("max_attempts", c.max_attempts, 1, kMaxCount);
  t.Duration("max_age", c.max_age, kMinDuration);
  t.Duration("backoff_base", c.backoff_base, kMinDuration);
  t.Duration("backoff_cap", c.backoff_cap, kMinDuration);
  t.Duration("lease", c.lease, std::chrono::seconds(1));
  t.Unsigned("breaker_failures", c.breaker_failures, 0, kMaxCount);
  t.Duration("breaker_open_for", c.breaker_open_for, kMinDuration);
  t.String("fallback", c.fallback);
  t.Unsigned("fallback_after_failures", c.fallback_after_failures, 1, kMaxCount);
  if (t.describing()) return;

  if (c.backoff_cap < c.backoff_base) {
    t.Fail("backoff_cap", "must be at least backoff_base (" + FormatDuration(c.backoff_base) + ")");
  }
  if (!c.fallback.empty() && c.fallback == c.name) {
    t.Fail("fallback", "must name another channel, not this one");
  }
  if (!kind) return;
  bool foreign = false;
  for (const KindKey& k : kKindKeys) {
    if (t.Has(k.key) && !Belongs(k.key, *kind)) {
      t.Fail(k.key, std::string("not a key of ") +
                        (*kind == ChannelKind::kAlertmanager ? "an " : "a ") + kind_name +
                        " channel");
      foreign = true;
    }
  }
  if (foreign) return;
  RejectRedacted(t, c);
  if ((mask & kHttpKinds) != 0) CheckHttp(t, c);
  if (*kind == ChannelKind::kKafka) CheckKafka(t, c);
}

Status CheckChannels(const std::vector<ChannelConfig>& channels) {
  std::string message;
  const auto add = [&](std::size_t i, const std::string& what) {
    if (!message.empty()) message += '\n';
    message += "channels[" + std::to_string(i) + "] (" + channels[i].name + "): " + what;
  };
  std::map<std::string_view, std::size_t> first;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const auto [it, inserted] = first.emplace(channels[i].name, i);
    if (!inserted) {
      add(i, "name: duplicate channel name (also channels[" + std::to_string(it->second) + "])");
    }
  }
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const std::string& fallback = channels[i].fallback;
    if (fallback.empty()) continue;
    if (fallback == channels[i].name) {
      add(i, "fallback: must name another channel, not this one");
    } else if (!first.contains(fallback)) {
      add(i, "fallback: no channel named " + QuoteForError(fallback));
    }
  }
  if (message.empty()) return Status::Ok();
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

StatusOr<ChannelConfig> ParseChannelJson(std::string_view json) {
  if (json.size() > kMaxJsonBytes) {
    return Status(StatusCode::kInvalidArgument,
                  "larger than " + FormatSize(kMaxJsonBytes) + "; not a channel?");
  }
  StatusOr<nlohmann::json> parsed = ParseBoundedJson(json);
  if (!parsed.ok()) return parsed.status();
  std::vector<std::string> conversion_errors;
  std::optional<toml::table> table = ToTomlTable(*parsed, "", conversion_errors);
  if (!table) {
    std::string message;
    for (const std::string& e : conversion_errors) message += (message.empty() ? "" : "\n") + e;
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  internal::ConfigErrors errors{""};
  ChannelConfig channel;
  TableReader reader(&*table, "", &errors);
  ReadChannel(reader, channel);
  reader.RejectUnknownKeys();
  if (!errors.empty()) return errors.ToStatus();
  return channel;
}

std::string ChannelConfigToJson(const ChannelConfig& channel) { return ToJson(channel, false); }

std::string RedactChannelJson(const ChannelConfig& channel) { return ToJson(channel, true); }

sinks::ChannelPolicy ToChannelPolicy(const ChannelConfig& c) {
  sinks::ChannelPolicy p;
  p.max_concurrency = static_cast<std::int64_t>(c.max_concurrency);
  p.rate_per_s = c.rate;
  p.burst = c.burst;
  p.retry.base = c.backoff_base;
  p.retry.cap = c.backoff_cap;
  p.retry.max_attempts = static_cast<std::int64_t>(c.max_attempts);
  p.retry.max_age = c.max_age;
  p.lease = c.lease;
  p.breaker.failure_threshold = static_cast<std::int64_t>(c.breaker_failures);
  p.breaker.open_for = c.breaker_open_for;
  p.fallback = c.fallback;
  p.fallback_after_failures = static_cast<std::int64_t>(c.fallback_after_failures);
  return p;
}

sinks::WebhookOptions ToWebhookOptions(const ChannelConfig& c) {
  sinks::WebhookOptions o;
  o.url = c.url;
  o.headers = ToHeaders(c.headers);
  o.body_template = c.body_template;
  o.http = ToHttpOptions(c);
  return o;
}

sinks::AlertmanagerOptions ToAlertmanagerOptions(const ChannelConfig& c) {
  sinks::AlertmanagerOptions o;
  o.url = c.url;
  o.headers = ToHeaders(c.headers);
  o.http = ToHttpOptions(c);
  o.resend_interval = Millis(c.resend_interval);
  o.resolve_timeout = Millis(c.resolve_timeout);
  o.resolved_resend_for = Millis(c.resolved_resend_for);
  return o;
}

sinks::KafkaEmitterOptions ToKafkaEmitterOptions(const ChannelConfig& c) {
  sinks::KafkaEmitterOptions o;
  o.brokers = c.brokers;
  o.topic = c.topic;
  o.send_timeout = Millis(c.send_timeout);
  o.properties = c.properties;
  return o;
}

bool CarriesContinuousQuery(const ChannelConfig& channel, std::string_view db,
                            std::string_view cq) {
  if (channel.kind != ChannelKind::kKafka) return false;
  for (const std::string& entry : channel.continuous_queries) {
    if (entry == "*") return true;
    if (entry.size() == db.size() + 1 + cq.size() && entry.starts_with(db) &&
        entry[db.size()] == '.' && entry.ends_with(cq)) {
      return true;
    }
  }
  return false;
}

}  // namespace tidewatch::daemon
