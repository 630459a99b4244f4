#include "sinks/alertmanager_emitter.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "sinks/http_outcome.h"
#include "store/rfc3339.h"

namespace tidewatch::sinks {
namespace {

using nlohmann::json;

Status NotAnAlert(std::string why) {
  return Status(StatusCode::kInvalidArgument, "not an alert notification: " + std::move(why));
}

// Alertmanager's label (and annotation) names: [a-zA-Z_][a-zA-Z0-9_]*.
std::string ValidName(const std::string& name) {
  std::string valid = name;
  for (char& c : valid) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  if (!valid.empty() && valid.front() >= '0' && valid.front() <= '9') valid.insert(0, "_");
  return valid;
}

// Names made valid, empty values left out, non-strings JSON-encoded.
StatusOr<std::map<std::string, std::string>> NameValues(const json& object, const char* member) {
  std::map<std::string, std::string> out;
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_object()) return NotAnAlert(std::string(member) + " is not an object");
  for (const auto& [name, value] : it->items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (name.empty() || text.empty()) continue;
    out[ValidName(name)] = std::move(text);
  }
  return out;
}

// Delivered stays delivered only while every POST is; the last failure wins.
void Merge(DeliveryResult& total, DeliveryResult next) {
  if (next.outcome != DeliveryOutcome::kDelivered || total.outcome == DeliveryOutcome::kDelivered) {
    total = std::move(next);
  }
}

}  // namespace

StatusOr<std::unique_ptr<AlertmanagerEmitter>> AlertmanagerEmitter::Create(
    AlertmanagerOptions options) {
  if (StatusOr<ParsedUrl> url = ParseUrl(options.url); !url.ok()) return url.status();
  if (Status status = ValidateNotificationHeaders(options.headers); !status.ok()) return status;
  if (options.resend_interval <= std::chrono::milliseconds(0) ||
      options.resolve_timeout < std::chrono::milliseconds(0) ||
      options.resolved_resend_for < std::chrono::milliseconds(0) || options.max_batch == 0) {
    return Status(StatusCode::kInvalidArgument,
                  "alertmanager: resend_interval and max_batch must be positive, "
                  "resolve_timeout and resolved_resend_for not negative");
  }
  if (options.resolve_timeout == std::chrono::milliseconds(0)) {
    options.resolve_timeout = 4 * options.resend_interval;
  }
  StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options.http);
  if (!client.ok()) return client.status();
  return std::unique_ptr<AlertmanagerEmitter>(
      new AlertmanagerEmitter(std::move(options), std::move(*client)));
}

AlertmanagerEmitter::AlertmanagerEmitter(AlertmanagerOptions options,
                                         std::unique_ptr<HttpClient> client)
    : options_(std::move(options)),
      alerts_url_([this] {
        std::string base = options_.url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        return base + "/api/v2/alerts";
      }()),
      client_(std::move(client)) {}

AlertmanagerEmitter::~AlertmanagerEmitter() = default;

std::int64_t AlertmanagerEmitter::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<AlertmanagerEmitter::Alert> AlertmanagerEmitter::ParseAlert(const std::string& payload,
                                                                     std::int64_t now_ns) {
  const json parsed = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return NotAnAlert("the payload is not a JSON object");
  Alert alert;
  StatusOr<std::map<std::string, std::string>> labels = NameValues(parsed, "labels");
  if (!labels.ok()) return labels.status();
  if (labels->empty()) return NotAnAlert("no labels");
  alert.labels = std::move(*labels);
  StatusOr<std::map<std::string, std::string>> annotations = NameValues(parsed, "annotations");
  if (!annotations.ok()) return annotations.status();
  alert.annotations = std::move(*annotations);

  const auto status = parsed.find("status");
  if (status == parsed.end() || !status->is_string() ||
      (*status != "firing" && *status != "resolved")) {
    return NotAnAlert("status must be \"firing\" or \"resolved\"");
  }
  alert.resolved = *status == "resolved";
  const auto starts_at = parsed.find("starts_at");
  std::optional<std::int64_t> starts;
  if (starts_at != parsed.end() && starts_at->is_string()) {
    starts = store::ParseRfc3339(starts_at->get<std::string>());
  }
  if (!starts) return NotAnAlert("starts_at is not an RFC 3339 time");
  alert.starts_at = *starts;
  if (const auto url = parsed.find("generator_url"); url != parsed.end() && url->is_string()) {
    alert.generator_url = url->get<std::string>();
  }
  if (alert.resolved) {
    std::optional<std::int64_t> ends;
    if (const auto ends_at = parsed.find("ends_at");
        ends_at != parsed.end() && ends_at->is_string()) {
      ends = store::ParseRfc3339(ends_at->get<std::string>());
    }
    // Alertmanager takes an alert as resolved only when endsAt is not in its future.
    alert.ends_at = std::max(std::min(ends.value_or(now_ns), now_ns), alert.starts_at);
  }
  return alert;
}

std::string AlertmanagerEmitter::Fingerprint(const Alert& alert) {
  return json(alert.labels).dump();
}

std::string AlertmanagerEmitter::AlertJson(const Alert& alert, std::int64_t now_ns) const {
  const std::int64_t resolve_timeout_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.resolve_timeout).count();
  const std::int64_t ends_at =
      alert.resolved ? alert.ends_at : std::max(now_ns + resolve_timeout_ns, alert.starts_at);
  json object = {{"labels", alert.labels},
                 {"annotations", alert.annotations},
                 {"startsAt", store::FormatRfc3339(alert.starts_at)},
                 {"endsAt", store::FormatRfc3339(ends_at)}};
  if (!alert.generator_url.empty()) object["generatorURL"] = alert.generator_url;
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

DeliveryResult AlertmanagerEmitter::Post(const std::string& body,
                                         const std::string& idempotency_key) const {
  HttpRequest request;
  request.url = alerts_url_;
  request.headers.emplace_back("Content-Type", "application/json");
  if (!idempotency_key.empty()) request.headers.emplace_back("Idempotency-Key", idempotency_key);
  request.headers.insert(request.headers.end(), options_.headers.begin(), options_.headers.end());
  request.body = body;
  return ClassifyHttpResult(client_->Send(request), std::chrono::system_clock::now());
}

bool AlertmanagerEmitter::Store(const Alert& alert, std::int64_t now_ns, bool sent) {
  std::lock_guard lock(mu_);
  const std::string key = Fingerprint(alert);
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    if (alerts_.size() >= options_.max_alerts) {
      ++dropped_;
      return false;
    }
    it = alerts_.emplace(key, Entry{}).first;
  }
  Entry& entry = it->second;
  // A resolve keeps its first resolved_at, so repeated resolves do not extend the window.
  const bool newly_resolved = alert.resolved && !(entry.version != 0 && entry.alert.resolved);
  entry.alert = alert;
  entry.last_sent = now_ns;
  entry.resend_now = !sent;
  if (newly_resolved) entry.resolved_at = now_ns;
  entry.version = next_version_++;
  return true;
}

StatusOr<std::string> AlertmanagerEmitter::RenderAlert(const std::string& payload,
                                                       std::int64_t now_ns) const {
  StatusOr<Alert> alert = ParseAlert(payload, now_ns);
  if (!alert.ok()) return alert.status();
  return AlertJson(*alert, now_ns);
}

DeliveryResult AlertmanagerEmitter::Send(const Notification& notification) {
  const std::int64_t now = Now();
  StatusOr<Alert> alert = ParseAlert(notification.payload, now);
  if (!alert.ok()) {
    return DeliveryResult{
        DeliveryOutcome::kPermanent,
        "notification " + std::to_string(notification.id) + ": " + alert.status().message(),
        std::nullopt, 0};
  }
  DeliveryResult result = Post("[" + AlertJson(*alert, now) + "]", notification.idempotency_key);
  if (result.outcome != DeliveryOutcome::kPermanent) {
    Store(*alert, now, /*sent=*/true);  // full: sent but not re-sent; counted in dropped()
  }
  return result;
}

bool AlertmanagerEmitter::Remember(const std::string& payload) {
  const std::int64_t now = Now();
  StatusOr<Alert> alert = ParseAlert(payload, now);
  return alert.ok() && Store(*alert, now, /*sent=*/false);
}

DeliveryResult AlertmanagerEmitter::Resend(std::int64_t now_ns) {
  const std::int64_t interval_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.resend_interval).count();
  const std::int64_t resolved_for_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.resolved_resend_for).count();
  struct Due {
    std::string key;
    std::uint64_t version;
    std::string json;
  };
  std::vector<Due> due;
  {
    std::lock_guard lock(mu_);
    for (auto it = alerts_.begin(); it != alerts_.end();) {
      const Entry& entry = it->second;
      if (entry.alert.resolved && now_ns - entry.resolved_at >= resolved_for_ns) {
        it = alerts_.erase(it);
        continue;
      }
      if (entry.resend_now || now_ns - entry.last_sent >= interval_ns) {
        due.push_back({it->first, entry.version, AlertJson(entry.alert, now_ns)});
      }
      ++it;
    }
  }
  DeliveryResult total;
  for (std::size_t begin = 0; begin < due.size(); begin += options_.max_batch) {
    const std::size_t end = std::min(due.size(), begin + options_.max_batch);
    std::string body = "[";
    for (std::size_t i = begin; i < end; ++i) {
      if (i != begin) body += ',';
      body += due[i].json;
    }
    body += ']';
    DeliveryResult result = Post(body, "");
    const bool delivered = result.outcome == DeliveryOutcome::kDelivered;
    std::lock_guard lock(mu_);
    for (std::size_t i = begin; i < end; ++i) {
      const auto it = alerts_.find(due[i].key);
      if (it == alerts_.end()) continue;
      if (it->second.version != due[i].version) {
        it->second.resend_now = true;  // a Send() overtook this POST: send its state again
      } else if (delivered) {
        it->second.last_sent = now_ns;
        it->second.resend_now = false;
      }
    }
    Merge(total, std::move(result));
  }
  return total;
}

std::size_t AlertmanagerEmitter::remembered() const {
  std::lock_guard lock(mu_);
  return alerts_.size();
}

std::int64_t AlertmanagerEmitter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace tidewatch::sinks
