// AlertmanagerEmitter: notifications to Alertmanager's API v2, the way Prometheus sends
// them: `POST <url>/api/v2/alerts` with a JSON array of alerts
//   [{"labels":{...},"annotations":{...},"startsAt":"...","endsAt":"...",
//     "generatorURL":"..."}]
// built from the payload (docs/NOTIFICATIONS.md):
//   labels        the payload's labels (alertname included). Names are made valid for
//                 Alertmanager ([a-zA-Z_][a-zA-Z0-9_]*: other characters become '_', a
//                 leading digit gets a '_' in front); empty values are left out (an
//                 empty label is an absent one), non-string values are JSON-encoded.
//   annotations   the payload's annotations, names made valid the same way.
//   startsAt      the payload's starts_at.
//   endsAt        firing: now + resolve_timeout (Alertmanager resolves the alert by itself
//                 if we stop re-sending); resolved: the payload's ends_at, or now when that
//                 is later than now or missing. Never before startsAt.
//   generatorURL  the payload's generator_url (left out when absent).
//
// Re-sending. Alertmanager forgets an alert whose endsAt has passed, so the emitter
// remembers every alert it sent (keyed by its labels) and Resend() sends again, in one
// batched POST (batches of at most max_batch alerts), every alert due:
//   firing    every resend_interval, with a fresh endsAt, until a resolved notification
//             for the same labels arrives;
//   resolved  every resend_interval for resolved_resend_for after it was resolved, then
//             forgotten.
// An alert's memory is updated by every Send() whose outcome is not permanent (a
// retried resolve is resolved for the re-sender too). If a Send() changes an alert while
// a Resend() POST with its older state is in flight, the alert is due again at the next
// Resend() so the newest state ends up last. At most max_alerts alerts are remembered;
// beyond that new ones are sent but not remembered, and counted in dropped().
//
// Headers: Content-Type, the configured ones, and on Send()'s POST the notification's
// Idempotency-Key (Resend()'s batches repeat several alerts' state and carry none).
//
// Outcome: sinks/http_outcome.h. A payload that is not a notification object (no labels,
// bad status, bad starts_at) fails permanently.
//
// Thread safety: every member function may be called from any thread; no lock is held
// during HTTP calls.
#ifndef TIDEWATCH_SINKS_ALERTMANAGER_EMITTER_H_
#define TIDEWATCH_SINKS_ALERTMANAGER_EMITTER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sinks/emitter.h"
#include "sinks/http_client.h"
#include "store/status.h"

namespace tidewatch::sinks {

struct AlertmanagerOptions {
  // Alertmanager's base URL, e.g. "http://127.0.0.1:9093" (a path prefix such as
  // "http://host/alertmanager" is kept); "/api/v2/alerts" is appended.
  std::string url;
  HttpHeaders headers;     // extra request headers (e.g. Authorization); default none
  HttpClientOptions http;  // timeouts, TLS
  // How often firing (and recently resolved) alerts are re-sent. Default 1 min, as
  // Prometheus' resend delay.
  std::chrono::milliseconds resend_interval = std::chrono::minutes(1);
  // endsAt of a firing alert = now + this; zero (default) means 4 x resend_interval, as
  // Prometheus does. Shorter: Alertmanager resolves sooner when tidewatch goes away, but
  // a late re-send lets the alert flap.
  std::chrono::milliseconds resolve_timeout{0};
  // How long resolved alerts keep being re-sent. Default 15 min, as Prometheus.
  std::chrono::milliseconds resolved_resend_for = std::chrono::minutes(15);
  // Remembered alerts at most; default 100000.
  std::size_t max_alerts = 100000;
  // Alerts per POST in Resend(); default 1000.
  std::size_t max_batch = 1000;
  // Processing time in ns since the epoch for Send(); empty: the system clock. Tests
  // inject a fake.
  std::function<std::int64_t()> clock;
};

class AlertmanagerEmitter : public Emitter {
 public:
  // kInvalidArgument for a bad URL, header, option or CA file.
  [[nodiscard]] static StatusOr<std::unique_ptr<AlertmanagerEmitter>> Create(
      AlertmanagerOptions options);
  ~AlertmanagerEmitter() override;

  // POSTs the notification's alert, then remembers it (see above).
  DeliveryResult Send(const Notification& notification) override;

  // Re-sends every alert due at `now_ns` and forgets resolved alerts past
  // resolved_resend_for. Delivered (http_status 0) when nothing was due; otherwise the
  // outcome of the last failed POST, or of the last POST when all succeeded. Alerts of a
  // failed POST stay due.
  DeliveryResult Resend(std::int64_t now_ns);

  // Remembers an alert without sending it, due at the next Resend(): the daemon seeds
  // the alerts still firing after a restart. False (nothing remembered) when `payload`
  // is not a notification or max_alerts is reached.
  bool Remember(const std::string& payload);

  // Alerts remembered now; alerts not remembered because of max_alerts.
  std::size_t remembered() const;
  std::int64_t dropped() const;

  // The Alertmanager alert object (one array element) for a payload at `now_ns`; for
  // tests and logs. kInvalidArgument when the payload is not a notification.
  [[nodiscard]] StatusOr<std::string> RenderAlert(const std::string& payload,
                                                  std::int64_t now_ns) const;

 private:
  // One alert as Alertmanager sees it (names already made valid).
  struct Alert {
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::int64_t starts_at = 0;  // ns since the epoch
    std::string generator_url;
    bool resolved = false;
    std::int64_t ends_at = 0;  // resolved only, already clamped
  };
  struct Entry {
    Alert alert;
    std::int64_t last_sent = 0;    // ns; due again resend_interval later
    bool resend_now = false;       // due at the next Resend() whatever last_sent says
    std::int64_t resolved_at = 0;  // when the emitter learned it was resolved
    std::uint64_t version = 0;     // changes with every Store()
  };

  static StatusOr<Alert> ParseAlert(const std::string& payload, std::int64_t now_ns);
  static std::string Fingerprint(const Alert& alert);
  AlertmanagerEmitter(AlertmanagerOptions options, std::unique_ptr<HttpClient> client);

  std::int64_t Now() const;
  std::string AlertJson(const Alert& alert, std::int64_t now_ns) const;
  // With an Idempotency-Key header unless `idempotency_key` is empty.
  DeliveryResult Post(const std::string& body, const std::string& idempotency_key) const;
  // Stores `alert`, learned at `now_ns` and `sent` then (else due at once); false when
  // full.
  bool Store(const Alert& alert, std::int64_t now_ns, bool sent);

  // Constant after construction.
  const AlertmanagerOptions options_;
  const std::string alerts_url_;
  const std::unique_ptr<HttpClient> client_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> alerts_;  // by label fingerprint; guarded by mu_
  std::uint64_t next_version_ = 1;       // guarded by mu_
  std::int64_t dropped_ = 0;             // guarded by mu_
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_ALERTMANAGER_EMITTER_H_
