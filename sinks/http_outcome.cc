#include "sinks/http_outcome.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace tidewatch::sinks {
namespace {

constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24);
constexpr std::size_t kMaxBodyInError = 256;

bool IsRetryable(int status) { return status == 408 || status == 429 || status >= 500; }

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (end != value.data() + value.size()) return std::nullopt;
    constexpr auto kMaxSeconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(kMaxRetryAfter).count());
    if (ec == std::errc::result_out_of_range || seconds > kMaxSeconds) return kMaxRetryAfter;
    return std::chrono::seconds(seconds);
  }
  // IMF-fixdate, always in English and GMT.
  const std::string text(value);
  struct tm parts {};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t when = timegm(&parts);
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::from_time_t(when) - now);
  return std::clamp(delay, std::chrono::milliseconds(0), kMaxRetryAfter);
}

DeliveryResult ClassifyHttpResult(const StatusOr<HttpResponse>& result,
                                  std::chrono::system_clock::time_point now) {
  DeliveryResult delivery;
  if (!result.ok()) {
    delivery.outcome = result.status().code() == StatusCode::kInvalidArgument
                           ? DeliveryOutcome::kPermanent
                           : DeliveryOutcome::kRetry;
    delivery.error = result.status().message();
    return delivery;
  }
  const HttpResponse& response = *result;
  delivery.http_status = response.status;
  if (response.status >= 200 && response.status < 300) return delivery;
  delivery.outcome =
      IsRetryable(response.status) ? DeliveryOutcome::kRetry : DeliveryOutcome::kPermanent;
  delivery.error = "HTTP " + std::to_string(response.status);
  if (!response.body.empty()) {
    std::string excerpt = response.body.substr(0, kMaxBodyInError);
    for (char& c : excerpt) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';  // one log line
    }
    delivery.error += ": " + excerpt;
  }
  if (delivery.outcome == DeliveryOutcome::kRetry) {
    if (const std::string* retry_after = response.Header("Retry-After")) {
      delivery.retry_after = ParseRetryAfter(*retry_after, now);
    }
  }
  return delivery;
}

}  // namespace tidewatch::sinks
