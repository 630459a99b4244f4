#include "rules/notification.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "store/rfc3339.h"

namespace tidewatch::rules {
namespace {

using OrderedJson = nlohmann::ordered_json;

OrderedJson FiniteOrNull(double value) {
  return std::isfinite(value) ? OrderedJson(value) : OrderedJson(nullptr);
}

// Query-string escaping of everything but RFC 3986's unreserved characters.
std::string EscapeQueryValue(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

std::string GeneratorUrl(std::string_view external_url, std::string_view rule) {
  while (!external_url.empty() && external_url.back() == '/') external_url.remove_suffix(1);
  return std::string(external_url) + "/api/v1/alerts?rule=" + EscapeQueryValue(rule);
}

}  // namespace

std::string_view NotificationKindName(NotificationKind kind) {
  return kind == NotificationKind::kNoData ? "no_data" : "alarm";
}

NotificationKind KindOf(const Transition& transition) {
  return transition.cause == TransitionCause::kNoData ||
                 transition.cause == TransitionCause::kDataResumed
             ? NotificationKind::kNoData
             : NotificationKind::kAlarm;
}

bool Firing(const Transition& transition) {
  if (KindOf(transition) == NotificationKind::kNoData) {
    return transition.cause == TransitionCause::kNoData;
  }
  return InAlarm(transition.to_state) && transition.severity > 0;
}

std::string_view NotificationCauseName(TransitionCause cause) {
  // The state machine's short name "ack" reads as the documented "acknowledge" here.
  return cause == TransitionCause::kAcknowledge ? "acknowledge" : TransitionCauseName(cause);
}

std::uint64_t Fnv1a64(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string IdempotencyKey(std::int64_t rule_id, std::string_view instance_key,
                           std::uint64_t sequence) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(Fnv1a64(instance_key)));
  return "tw-" + std::to_string(rule_id) + "-" + hash + "-" + std::to_string(sequence);
}

void AddAlertLabels(std::string_view rule, std::string_view severity_name, NotificationKind kind,
                    std::map<std::string, std::string>& labels) {
  labels.insert_or_assign("alertname", std::string(rule));
  if (severity_name.empty()) {
    labels.erase("severity");
  } else {
    labels.insert_or_assign("severity", std::string(severity_name));
  }
  if (kind == NotificationKind::kNoData) labels.insert_or_assign("kind", "no_data");
}

std::string NotificationJson(const NotificationContext& context, const Transition& transition) {
  const bool firing = Firing(transition);
  OrderedJson labels = OrderedJson::object();
  for (const auto& [name, value] : *context.labels) labels[name] = value;
  OrderedJson annotations = OrderedJson::object();
  for (const auto& [name, value] : *context.annotations) annotations[name] = value;

  OrderedJson body;
  body["version"] = 1;
  body["idempotency_key"] = IdempotencyKey(context.rule_id, context.instance_key, context.sequence);
  body["status"] = firing ? "firing" : "resolved";
  body["kind"] = NotificationKindName(KindOf(transition));
  body["rule"] = context.rule;
  body["rule_id"] = context.rule_id;
  body["db"] = context.db;
  body["instance"] = context.instance_key;
  body["labels"] = std::move(labels);
  body["annotations"] = std::move(annotations);
  body["severity"] = context.severity_name;
  body["severity_level"] = firing ? context.severity : 0;
  body["isa_state"] = AlarmStateName(transition.to_state);
  body["cause"] = NotificationCauseName(transition.cause);
  body["value"] = FiniteOrNull(transition.value);
  body["threshold"] = FiniteOrNull(transition.threshold);
  body["starts_at"] = store::FormatRfc3339(context.starts_at);
  body["ends_at"] =
      firing ? OrderedJson(nullptr) : OrderedJson(store::FormatRfc3339(transition.at));
  body["event_time"] = store::FormatRfc3339(context.event_time);
  body["transition_at"] = store::FormatRfc3339(transition.at);
  body["generator_url"] = GeneratorUrl(context.external_url, context.rule);
  // Tag values and rule names may hold any bytes: replace invalid UTF-8 instead of
  // throwing, so a hostile tag cannot abort evaluation.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tidewatch::rules
