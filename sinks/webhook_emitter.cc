#include "sinks/webhook_emitter.h"

#include <strings.h>

#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "sinks/http_outcome.h"

namespace tidewatch::sinks {

// One piece of the compiled template.
struct WebhookEmitter::Segment {
  enum class Kind { kText, kPayload, kField } kind = Kind::kText;
  std::string text;                    // kText
  nlohmann::json::json_pointer field;  // kField
};

namespace {

using Segment = WebhookEmitter::Segment;

// The example payload of docs/NOTIFICATIONS.md: templates must render valid JSON for it.
constexpr std::string_view kExamplePayload = R"json({"version":1,
 "idempotency_key":"tw-3-8c1b6f0e2a9d4c71-2","status":"firing","kind":"alarm",
 "rule":"high-pressure","rule_id":3,"db":"plant","instance":"sensor=pt-001,site=site1",
 "labels":{"alertname":"high-pressure","sensor":"pt-001","severity":"critical","site":"site1"},
 "annotations":{"summary":"pt-001 at 9.7 bar (> 9.5)"},
 "severity":"critical","severity_level":2,"isa_state":"unacked","cause":"value",
 "value":9.7,"threshold":9.5,"starts_at":"2026-11-21T13:00:05Z","ends_at":null,
 "event_time":"2026-11-21T13:00:05Z","transition_at":"2026-11-21T13:00:05.0123Z",
 "generator_url":"http://127.0.0.1:8086/api/v1/alerts?rule=high-pressure"})json";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Status TemplateError(std::string why) {
  return Status(StatusCode::kInvalidArgument, "webhook body template: " + std::move(why));
}

// ".Field.labels.site" -> /labels/site
StatusOr<nlohmann::json::json_pointer> FieldPointer(std::string_view path) {
  nlohmann::json::json_pointer pointer;
  while (true) {
    const std::size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    if (name.empty()) return TemplateError("empty member name in .Field path");
    pointer /= std::string(name);
    if (dot == std::string_view::npos) return pointer;
    path.remove_prefix(dot + 1);
  }
}

StatusOr<std::vector<Segment>> Compile(std::string_view text) {
  std::vector<Segment> segments;
  while (!text.empty()) {
    const std::size_t open = text.find("{{");
    if (open != 0) {
      segments.push_back({Segment::Kind::kText, std::string(text.substr(0, open)),
                          nlohmann::json::json_pointer()});
      if (open == std::string_view::npos) break;
      text.remove_prefix(open);
    }
    const std::size_t close = text.find("}}");
    if (close == std::string_view::npos) return TemplateError("unterminated {{");
    const std::string_view inner = Trim(text.substr(2, close - 2));
    if (inner == ".Payload") {
      segments.push_back({Segment::Kind::kPayload, {}, nlohmann::json::json_pointer()});
    } else if (inner.starts_with(".Field.")) {
      StatusOr<nlohmann::json::json_pointer> pointer = FieldPointer(inner.substr(7));
      if (!pointer.ok()) return pointer.status();
      segments.push_back({Segment::Kind::kField, {}, std::move(*pointer)});
    } else {
      return TemplateError("unknown placeholder {{" + std::string(inner) +
                           "}} (use {{ .Payload }} or {{ .Field.<member> }})");
    }
    text.remove_prefix(close + 2);
  }
  return segments;
}

StatusOr<std::string> Render(const std::vector<Segment>& segments, const std::string& payload) {
  if (segments.empty()) return payload;
  nlohmann::json parsed;
  bool needs_parse = false;
  for (const Segment& segment : segments) needs_parse |= segment.kind == Segment::Kind::kField;
  if (needs_parse) {
    parsed = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      return Status(StatusCode::kInvalidArgument, "the payload is not a JSON object");
    }
  }
  std::string body;
  for (const Segment& segment : segments) {
    switch (segment.kind) {
      case Segment::Kind::kText:
        body += segment.text;
        break;
      case Segment::Kind::kPayload:
        body += payload;
        break;
      case Segment::Kind::kField:
        body += parsed.contains(segment.field) ? parsed.at(segment.field).dump() : "null";
        break;
    }
  }
  return body;
}

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& header : headers) {
    if (header.first.size() == name.size() &&
        strncasecmp(header.first.data(), name.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

StatusOr<std::unique_ptr<WebhookEmitter>> WebhookEmitter::Create(WebhookOptions options) {
  if (StatusOr<ParsedUrl> url = ParseUrl(options.url); !url.ok()) return url.status();
  if (Status status = ValidateNotificationHeaders(options.headers); !status.ok()) return status;
  StatusOr<std::vector<Segment>> segments = Compile(options.body_template);
  if (!segments.ok()) return segments.status();
  StatusOr<std::string> example = Render(*segments, std::string(kExamplePayload));
  if (!example.ok()) return example.status();
  if (!nlohmann::json::accept(*example)) {
    return TemplateError(
        "does not render valid JSON (placeholders stand for JSON values; "
        "do not put them inside quotes)");
  }
  StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options.http);
  if (!client.ok()) return client.status();
  return std::unique_ptr<WebhookEmitter>(
      new WebhookEmitter(std::move(options), std::move(*client), std::move(*segments)));
}

WebhookEmitter::WebhookEmitter(WebhookOptions options, std::unique_ptr<HttpClient> client,
                               std::vector<Segment> segments)
    : options_(std::move(options)), client_(std::move(client)), segments_(std::move(segments)) {}

WebhookEmitter::~WebhookEmitter() = default;

StatusOr<std::string> WebhookEmitter::RenderBody(const std::string& payload) const {
  return Render(segments_, payload);
}

DeliveryResult WebhookEmitter::Send(const Notification& notification) {
  HttpRequest request;
  request.url = options_.url;
  StatusOr<std::string> body = RenderBody(notification.payload);
  if (!body.ok()) {
    return DeliveryResult{
        DeliveryOutcome::kPermanent,
        "notification " + std::to_string(notification.id) + ": " + body.status().message(),
        std::nullopt, 0};
  }
  request.body = std::move(*body);
  if (!HasHeader(options_.headers, "Content-Type")) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  request.headers.emplace_back("Idempotency-Key", notification.idempotency_key);
  request.headers.insert(request.headers.end(), options_.headers.begin(), options_.headers.end());
  return ClassifyHttpResult(client_->Send(request), std::chrono::system_clock::now());
}

}  // namespace tidewatch::sinks
