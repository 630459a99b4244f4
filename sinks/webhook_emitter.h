// WebhookEmitter: the generic JSON webhook. Each Send() is one POST of the notification
// to `url` with
//   Content-Type: application/json
//   Idempotency-Key: <notification.idempotency_key>
//   the configured extra headers (e.g. Authorization), in order;
// and as body the payload as it is (docs/NOTIFICATIONS.md), or the body template.
//
// Body template: JSON text with placeholders that stand for JSON values.
//   {{ .Payload }}           the whole payload object
//   {{ .Field.<path> }}      a member of the payload, JSON-encoded ("firing" with its
//                            quotes, 9.7, null, {...}); <path> is member names joined by
//                            dots to reach into objects: .Field.status,
//                            .Field.labels.site. A missing member gives null.
// Spaces inside the braces are optional. Place a placeholder where a JSON value goes, not
// inside a string literal. Any other "{{" is an error. Example (a chat hook):
//   {"text": {{ .Field.annotations.summary }}, "alert": {{ .Payload }}}
// Create() rejects a template with an unknown placeholder or one that does not render
// valid JSON for the example payload of docs/NOTIFICATIONS.md.
//
// Outcome: sinks/http_outcome.h (2xx delivered; 408, 429, 5xx, connection errors and
// timeouts retry, honouring Retry-After; other statuses permanent). A payload that is
// not a JSON object fails permanently when a template needs it parsed.
//
// Thread safety: Send() from any number of threads (state is constant after Create()).
#ifndef TIDEWATCH_SINKS_WEBHOOK_EMITTER_H_
#define TIDEWATCH_SINKS_WEBHOOK_EMITTER_H_

#include <memory>
#include <string>
#include <vector>

#include "sinks/emitter.h"
#include "sinks/http_client.h"
#include "store/status.h"

namespace tidewatch::sinks {

struct WebhookOptions {
  std::string url;            // http:// or https://
  HttpHeaders headers;        // extra request headers; default none
  std::string body_template;  // empty (default): the payload as it is
  HttpClientOptions http;     // timeouts, TLS
};

class WebhookEmitter : public Emitter {
 public:
  // kInvalidArgument for a bad URL, header, template or CA file.
  [[nodiscard]] static StatusOr<std::unique_ptr<WebhookEmitter>> Create(WebhookOptions options);
  ~WebhookEmitter() override;

  DeliveryResult Send(const Notification& notification) override;

  // The body Send() posts for `payload`; kInvalidArgument when the template needs the
  // payload parsed and it is not a JSON object.
  [[nodiscard]] StatusOr<std::string> RenderBody(const std::string& payload) const;

  struct Segment;  // a piece of the compiled template (webhook_emitter.cc)

 private:
  WebhookEmitter(WebhookOptions options, std::unique_ptr<HttpClient> client,
                 std::vector<Segment> segments);

  // Constant after construction.
  const WebhookOptions options_;
  const std::unique_ptr<HttpClient> client_;
  const std::vector<Segment> segments_;  // the compiled template; empty: payload as is
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_WEBHOOK_EMITTER_H_
