#include "sinks/delivery_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <random>
#include <utility>

#include "sinks/rate_limiter.h"

namespace tidewatch::sinks {

struct DeliveryWorker::Channel {
  Channel(std::string n, std::shared_ptr<Emitter> e, ChannelPolicy p)
      : name(std::move(n)), emitter(std::move(e)), policy(std::move(p)), breaker(policy.breaker) {}

  // Constant after Start().
  const std::string name;
  const std::shared_ptr<Emitter> emitter;
  const ChannelPolicy policy;
  CircuitBreaker breaker;
  std::unique_ptr<RateLimiter> limiter;  // null: unlimited
  Channel* fallback = nullptr;

  mutable std::mutex mu;
  ChannelStats stats;  // guarded by mu; `breaker` is filled in by Stats()
};

namespace {

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Invalid(const std::string& channel, const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "channel '" + channel + "': " + what);
}

Status ValidatePolicy(const std::string& name, const ChannelPolicy& p) {
  if (p.max_concurrency < 1) return Invalid(name, "max_concurrency must be at least 1");
  if (p.rate_per_s < 0) return Invalid(name, "rate_per_s must not be negative");
  if (p.retry.base.count() <= 0) return Invalid(name, "backoff base must be positive");
  if (p.retry.cap < p.retry.base) return Invalid(name, "backoff cap must be at least its base");
  if (p.retry.max_attempts < 1) return Invalid(name, "max_attempts must be at least 1");
  if (p.retry.max_age.count() <= 0) return Invalid(name, "max_age must be positive");
  if (p.lease.count() <= 0) return Invalid(name, "lease must be positive");
  if (p.fallback == name) return Invalid(name, "a channel cannot be its own fallback");
  if (p.fallback_after_failures < 1) {
    return Invalid(name, "fallback_after_failures must be at least 1");
  }
  return Status::Ok();
}

void ObserveLatency(ChannelStats& stats, std::int64_t ns) {
  ns = std::max<std::int64_t>(ns, 0);
  for (std::size_t i = 0; i < kDeliveryLatencyBoundsNs.size(); ++i) {
    if (ns <= kDeliveryLatencyBoundsNs[i]) ++stats.latency_cumulative[i];
  }
  ++stats.latency_count;
  stats.latency_sum_seconds += static_cast<double>(ns) / 1e9;
}

}  // namespace

DeliveryWorker::DeliveryWorker(OutboxQueue& queue, DeliveryWorkerOptions options)
    : queue_(queue),
      poll_interval_(options.poll_interval),
      clock_(options.clock ? std::move(options.clock) : SystemNow),
      seed_(options.seed.has_value() ? *options.seed : std::random_device{}()) {}

DeliveryWorker::~DeliveryWorker() { Stop(); }

Status DeliveryWorker::AddChannel(std::string name, std::shared_ptr<Emitter> emitter,
                                  ChannelPolicy policy) {
  assert(threads_.empty() && "AddChannel() after Start()");
  if (name.empty()) return Status(StatusCode::kInvalidArgument, "a channel needs a name");
  if (emitter == nullptr) return Invalid(name, "no emitter");
  for (const auto& channel : channels_) {
    if (channel->name == name) return Invalid(name, "registered twice");
  }
  if (Status s = ValidatePolicy(name, policy); !s.ok()) return s;
  channels_.push_back(std::make_unique<Channel>(std::move(name), std::move(emitter), policy));
  channels_.back()->stats.channel = channels_.back()->name;
  return Status::Ok();
}

Status DeliveryWorker::Start() {
  for (auto& channel : channels_) {
    const std::string& fallback = channel->policy.fallback;
    if (fallback.empty()) continue;
    auto it = std::find_if(channels_.begin(), channels_.end(),
                           [&](const auto& c) { return c->name == fallback; });
    if (it == channels_.end()) return Invalid(channel->name, "unknown fallback '" + fallback + "'");
    channel->fallback = it->get();
  }
  const std::int64_t now = Now();
  std::uint64_t seed = seed_;
  for (auto& channel : channels_) {
    if (channel->policy.rate_per_s > 0) {
      channel->limiter =
          std::make_unique<RateLimiter>(channel->policy.rate_per_s, channel->policy.burst, now);
    }
    for (std::int64_t i = 0; i < channel->policy.max_concurrency; ++i) {
      // Seeds apart by a large odd step so no two senders share a jitter sequence.
      seed += 0x9E3779B97F4A7C15ULL;
      threads_.emplace_back([this, ch = channel.get(), seed] { RunSender(*ch, seed); });
    }
  }
  return Status::Ok();
}

void DeliveryWorker::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  wake_.notify_all();
}

void DeliveryWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::vector<ChannelStats> DeliveryWorker::Stats() const {
  std::vector<ChannelStats> out;
  out.reserve(channels_.size());
  for (const auto& channel : channels_) {
    std::lock_guard lock(channel->mu);
    out.push_back(channel->stats);
    out.back().breaker = channel->breaker.state();
  }
  return out;
}

void DeliveryWorker::Wait(std::uint64_t seen, std::int64_t ns) {
  const auto timeout = std::min(std::chrono::nanoseconds(ns), poll_interval_);
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, timeout, [&] { return stopping_ || generation_ != seen; });
}

void DeliveryWorker::RunSender(Channel& channel, std::uint64_t seed) {
  RetryPolicy retry(channel.policy.retry, seed);
  while (true) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = generation_;  // read before claiming: a Notify() during the claim is not lost
    }
    if (const std::int64_t wait = SendOne(channel, retry); wait > 0) Wait(seen, wait);
  }
}

std::int64_t DeliveryWorker::SendOne(Channel& channel, RetryPolicy& retry) {
  const std::int64_t now = Now();
  const std::int64_t poll = poll_interval_.count();
  if (channel.limiter != nullptr) {
    if (const std::int64_t wait = channel.limiter->TryAcquire(now); wait > 0) return wait;
  }
  const Admission admission = channel.breaker.Allow(now);
  const bool short_circuit = admission == Admission::kRefused;
  // Refused and no fallback to hand rows to: leave them (and their attempts) alone.
  if (short_circuit && channel.fallback == nullptr) {
    if (channel.limiter != nullptr) channel.limiter->Refund();
    // Open: until the probe is due. Half-open with another sender's probe out: poll.
    const std::int64_t reopens_at = channel.breaker.reopens_at();
    return reopens_at > now ? reopens_at - now : poll;
  }
  StatusOr<std::vector<Notification>> claimed =
      queue_.Claim(channel.name, now, 1, now + channel.policy.lease.count());
  if (!claimed.ok() || claimed->empty()) {
    if (channel.limiter != nullptr) channel.limiter->Refund();
    if (admission == Admission::kProbe) channel.breaker.CancelProbe();
    if (!claimed.ok()) OutboxError(channel, claimed.status());
    return poll;
  }
  {
    std::lock_guard lock(channel.mu);
    ++channel.stats.in_flight;
  }
  Deliver(channel, retry, claimed->front(), short_circuit);
  {
    std::lock_guard lock(channel.mu);
    --channel.stats.in_flight;
  }
  return 0;
}

void DeliveryWorker::Deliver(Channel& channel, RetryPolicy& retry, const Notification& row,
                             bool short_circuit) {
  DeliveryResult result;
  if (short_circuit) {
    result = {DeliveryOutcome::kRetry, "circuit breaker open", std::nullopt, 0};
  } else {
    result = channel.emitter->Send(row);
    if (result.outcome == DeliveryOutcome::kRetry) {
      channel.breaker.RecordFailure(Now());
    } else {
      channel.breaker.RecordSuccess();
    }
  }
  bool via_fallback = false;
  if (result.outcome != DeliveryOutcome::kDelivered && channel.fallback != nullptr &&
      row.attempts >= channel.policy.fallback_after_failures) {
    via_fallback = TryFallback(channel, row, result.error);
  }
  const std::int64_t now = Now();
  if (result.outcome == DeliveryOutcome::kDelivered || via_fallback) {
    if (Status s = queue_.MarkDone(row.id); !s.ok()) return OutboxError(channel, s);
    std::lock_guard lock(channel.mu);
    ++channel.stats.delivered;
    if (via_fallback) ++channel.stats.delivered_via_fallback;
    ObserveLatency(channel.stats, now - row.created_at);
    return;
  }
  {
    std::lock_guard lock(channel.mu);
    channel.stats.last_error = result.error;
  }
  if (result.outcome == DeliveryOutcome::kPermanent) {
    return Dead(channel, row, result.error, /*permanent=*/true);
  }
  if (retry.GiveUp(row.attempts, row.created_at, now)) {
    return Dead(channel, row, result.error, /*permanent=*/false);
  }
  const std::int64_t next = now + retry.Backoff(row.attempts, result.retry_after).count();
  spdlog::debug("notification {} on channel '{}' failed attempt {}: {}", row.id, channel.name,
                row.attempts, result.error);
  if (Status s = queue_.MarkFailed(row.id, result.error, next); !s.ok()) {
    return OutboxError(channel, s);
  }
  std::lock_guard lock(channel.mu);
  ++channel.stats.retries;
}

bool DeliveryWorker::TryFallback(Channel& channel, const Notification& row, std::string& error) {
  Channel& fallback = *channel.fallback;
  const Admission admission = fallback.breaker.Allow(Now());
  if (admission == Admission::kRefused) {
    error += "; fallback '" + fallback.name + "': circuit breaker open";
    return false;
  }
  Notification copy = row;
  copy.channel = fallback.name;
  const DeliveryResult result = fallback.emitter->Send(copy);
  if (result.outcome == DeliveryOutcome::kRetry) {
    fallback.breaker.RecordFailure(Now());
  } else {
    fallback.breaker.RecordSuccess();
  }
  if (result.outcome == DeliveryOutcome::kDelivered) return true;
  error += "; fallback '" + fallback.name + "': " + result.error;
  return false;
}

void DeliveryWorker::Dead(Channel& channel, const Notification& row, const std::string& reason,
                          bool permanent) {
  const std::int64_t now = Now();
  if (Status s = queue_.MoveToDead(row.id, reason, now); !s.ok()) return OutboxError(channel, s);
  spdlog::warn(
      "notification {} (key '{}') on channel '{}' dead-lettered after {} attempt(s), {:.1f}s "
      "old, {}: {}",
      row.id, row.idempotency_key, channel.name, row.attempts,
      static_cast<double>(now - row.created_at) / 1e9,
      permanent ? "permanent failure" : "retries exhausted", reason);
  std::lock_guard lock(channel.mu);
  ++channel.stats.dead;
  if (permanent) ++channel.stats.permanent_failures;
}

void DeliveryWorker::OutboxError(Channel& channel, const Status& status) {
  std::uint64_t count = 0;
  {
    std::lock_guard lock(channel.mu);
    count = ++channel.stats.outbox_errors;
    channel.stats.last_error = status.ToString();
  }
  // The first error and every 100th after it: a database that stays busy must not
  // flood the log.
  if (count % 100 == 1) {
    spdlog::warn("outbox error on channel '{}' ({} so far): {}", channel.name, count,
                 status.ToString());
  }
}

}  // namespace tidewatch::sinks
