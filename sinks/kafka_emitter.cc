#include "sinks/kafka_emitter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace tidewatch::sinks {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kIdempotencyHeader = "Idempotency-Key";  // NUL-terminated for librdkafka
constexpr std::chrono::milliseconds kMinSendTimeout{1000};
constexpr std::chrono::milliseconds kMaxRequestTimeout{30'000};
constexpr std::chrono::milliseconds kCloseTimeout{1000};
constexpr int kPollMs = 100;
// Settings a user's properties may not weaken: the key, our value, another spelling of it.
struct Fixed {
  const char* key;
  const char* value;
  const char* alias;
};
constexpr std::array<Fixed, 3> kFixed = {{
    {"enable.idempotence", "true", "true"},
    {"acks", "all", "-1"},
    {"request.required.acks", "all", "-1"},  // librdkafka's other name for acks
}};                                          // how late the report thread notices a stop request

// The owners of librdkafka's C handles. (ingest/internal/rdkafka_handles.h has the same
// few lines; sinks/ may not depend on ingest/, so they are not shared.)
struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, RdKafkaDeleter>;

Status SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  std::array<char, 512> errstr{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr.data(), errstr.size()) !=
      RD_KAFKA_CONF_OK) {
    return Status(StatusCode::kInvalidArgument, "property '" + key + "': " + errstr.data());
  }
  return Status::Ok();
}

void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // librdkafka's syslog levels: 0..3 errors, 4 warnings, 5..6 info, 7 debug.
  const spdlog::level::level_enum spd_level = level <= 3   ? spdlog::level::err
                                              : level == 4 ? spdlog::level::warn
                                              : level <= 6 ? spdlog::level::info
                                                           : spdlog::level::debug;
  if (!spdlog::should_log(spd_level)) return;
  spdlog::log(spd_level, "rdkafka {} {}: {}", rd_kafka_name(rk), facility, message);
}

std::string ErrorText(const std::string& topic, rd_kafka_resp_err_t code, std::string_view what) {
  return "kafka " + topic + ": " + rd_kafka_err2name(code) + ": " + std::string(what);
}

}  // namespace

DeliveryOutcome KafkaErrorOutcome(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return DeliveryOutcome::kDelivered;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:  // in a report: not in the metadata after
                                                   // topic.metadata.propagation.max.ms
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return DeliveryOutcome::kPermanent;
    default:
      // Timeouts, transport errors, leader changes, not enough replicas, purges at close,
      // fatal producer errors (a new producer may succeed), ...
      return DeliveryOutcome::kRetry;
  }
}

// The records of one Send() or Produce() call: their delivery reports count down
// `outstanding` and keep the first error. Shared by the caller and each record's opaque
// (a heap std::shared_ptr<Waiter> the report callback deletes), so a caller that gives
// up waiting leaves nothing dangling.
struct Waiter {
  explicit Waiter(std::size_t records) : outstanding(records) {}

  void Report(rd_kafka_resp_err_t code, const char* what) {
    {
      std::lock_guard lock(mu);
      if (code != RD_KAFKA_RESP_ERR_NO_ERROR && error == RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = code;
        error_what = what;
      }
      if (code == RD_KAFKA_RESP_ERR_NO_ERROR) ++delivered;
      --outstanding;
      if (outstanding > 0) return;
    }
    cv.notify_all();
  }

  // Records that will never be reported (refused by produce, or never produced).
  void Forget(std::size_t records) {
    std::lock_guard lock(mu);
    outstanding -= records;
  }

  // True once every record is reported; false at `deadline`.
  bool WaitUntil(Clock::time_point deadline) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [&] { return outstanding == 0; });
  }

  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding;                                 // guarded by mu
  std::size_t delivered = 0;                               // guarded by mu
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;  // guarded by mu; the first
  std::string error_what;                                  // guarded by mu
};

// One librdkafka producer and the thread that serves its delivery reports.
class KafkaEmitter::Producer {
 public:
  static StatusOr<std::shared_ptr<Producer>> Create(const KafkaEmitterOptions& options);

  // Waits up to kCloseTimeout for records in flight, purges the rest (their callers get
  // __PURGE_*: kRetry), and destroys the client.
  ~Producer() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
    if (rd_kafka_flush(rk_.get(), static_cast<int>(kCloseTimeout.count())) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      // Purged records get their reports asynchronously; serve them (bounded), so that
      // every opaque is freed.
      for (int round = 0; round < 100 && rd_kafka_outq_len(rk_.get()) > 0; ++round) {
        rd_kafka_poll(rk_.get(), 10);
      }
    }
  }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one record whose report goes to `waiter`; librdkafka's refusal, or null.
  KafkaError Enqueue(const std::string& topic, std::string_view key, std::string_view value,
                     std::optional<std::string_view> idempotency_key,
                     const std::shared_ptr<Waiter>& waiter) {
    auto* opaque = new std::shared_ptr<Waiter>(waiter);
    std::array<rd_kafka_vu_t, 6> vus{};
    std::size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = topic.c_str();
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[n++].u.ptr = opaque;
    // librdkafka copies the bytes and never writes through the pointers. An empty key is
    // no key; an empty value needs a non-null pointer, or it becomes a NULL value.
    if (!key.empty()) {
      vus[n].vtype = RD_KAFKA_VTYPE_KEY;
      vus[n++].u.mem = {const_cast<char*>(key.data()), key.size()};
    }
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n++].u.mem = {const_cast<char*>(value.empty() ? "" : value.data()), value.size()};
    // Our own header list (VTYPE_HEADERS) rather than VTYPE_HEADER: librdkafka 2.0.2's
    // produceva() frees the latter twice when the partitioner refuses the record (an
    // unknown topic, a topic in error; librdkafka issue 4627). Ours stay ours on failure.
    rd_kafka_headers_t* headers = nullptr;
    if (idempotency_key) {
      headers = rd_kafka_headers_new(1);
      rd_kafka_header_add(headers, kIdempotencyHeader, -1, idempotency_key->data(),
                          static_cast<ssize_t>(idempotency_key->size()));
      vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
      vus[n++].u.headers = headers;
    }
    KafkaError error(rd_kafka_produceva(rk_.get(), vus.data(), n));
    if (error) {  // nothing queued, no report will come
      delete opaque;
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
    }
    return error;
  }

  // The fatal error that stopped this producer, if any (idempotence: e.g. a sequence
  // gap the broker cannot explain).
  std::optional<std::string> FatalError() const {
    std::array<char, 512> errstr{};
    const rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk_.get(), errstr.data(), errstr.size());
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
    return std::string(rd_kafka_err2name(code)) + ": " + errstr.data();
  }

  rd_kafka_t* get() const { return rk_.get(); }

 private:
  explicit Producer(KafkaHandle rk) : rk_(std::move(rk)) {
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_acquire)) rd_kafka_poll(rk_.get(), kPollMs);
    });
  }

  static void OnDeliveryReport(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                               void* /*opaque*/) {
    std::unique_ptr<std::shared_ptr<Waiter>> waiter(
        static_cast<std::shared_ptr<Waiter>*>(message->_private));
    (*waiter)->Report(message->err, rd_kafka_err2str(message->err));
  }

  // Constant after construction.
  const KafkaHandle rk_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // serves delivery reports until stop_
};

StatusOr<std::shared_ptr<KafkaEmitter::Producer>> KafkaEmitter::Producer::Create(
    const KafkaEmitterOptions& options) {
  const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()); };
  // Ours first, then the user's; idempotence and acks=all are not negotiable.
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "tidewatch-sink"},
      {"linger.ms", "5"},
      // librdkafka's default grows to 10 s while a broker is down; a sink should notice
      // a broker that is back within a second, and timed-out records are only reported
      // when the broker thread wakes up.
      {"reconnect.backoff.max.ms", "1000"},
      {"message.timeout.ms", ms(options.send_timeout)},
      {"request.timeout.ms", ms(std::min(options.send_timeout, kMaxRequestTimeout))},
      {"topic.metadata.propagation.max.ms", ms(options.send_timeout / 2)},
  };
  for (const auto& [key, value] : options.properties) properties[key] = value;
  for (const Fixed& fixed : kFixed) {
    if (const auto it = properties.find(fixed.key);
        it != properties.end() && it->second != fixed.value && it->second != fixed.alias) {
      return Status(
          StatusCode::kInvalidArgument,
          "kafka sink: property '" + std::string(fixed.key) + "' must be '" + fixed.value + "'");
    }
  }
  properties["enable.idempotence"] = "true";
  properties["acks"] = "all";

  // Creates spdlog's registry on this thread before librdkafka's threads can log (see
  // ingest/internal/rdkafka_handles.cc: TSan and the lazy initialisation).
  spdlog::default_logger_raw();
  KafkaConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToSpdlog);
  for (const auto& [key, value] : properties) {
    if (Status s = SetProperty(conf.get(), key, value); !s.ok()) {
      return Status(s.code(), "kafka sink: " + s.message());
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::OnDeliveryReport);
  std::array<char, 512> errstr{};
  KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr.data(), errstr.size()));
  if (!rk) {
    return Status(StatusCode::kInvalidArgument,
                  std::string("kafka sink: creating the producer: ") + errstr.data());
  }
  conf.release();  // owned by rk now
  return std::shared_ptr<Producer>(new Producer(std::move(rk)));
}

KafkaEmitter::KafkaEmitter(KafkaEmitterOptions options, std::shared_ptr<Producer> producer)
    : options_(std::move(options)), producer_(std::move(producer)) {}

KafkaEmitter::~KafkaEmitter() = default;

StatusOr<std::unique_ptr<KafkaEmitter>> KafkaEmitter::Create(KafkaEmitterOptions options) {
  if (options.brokers.empty()) {
    return Status(StatusCode::kInvalidArgument, "kafka sink: no brokers");
  }
  if (options.topic.empty()) {
    return Status(StatusCode::kInvalidArgument, "kafka sink: empty topic name");
  }
  if (options.send_timeout < kMinSendTimeout) {
    return Status(StatusCode::kInvalidArgument, "kafka sink: send timeout under 1s");
  }
  StatusOr<std::shared_ptr<Producer>> producer = Producer::Create(options);
  if (!producer.ok()) return producer.status();
  return std::unique_ptr<KafkaEmitter>(new KafkaEmitter(std::move(options), std::move(*producer)));
}

std::shared_ptr<KafkaEmitter::Producer> KafkaEmitter::current() const {
  std::lock_guard lock(mu_);
  return producer_;
}

void KafkaEmitter::Reset(const std::shared_ptr<Producer>& failed) {
  StatusOr<std::shared_ptr<Producer>> fresh = Producer::Create(options_);
  if (!fresh.ok()) {
    // Create() took these options before; keep the failed producer (its calls fail with
    // kRetry) and try again on the next fatal report.
    spdlog::error("kafka sink {}: recreating the producer: {}", options_.topic,
                  fresh.status().message());
    return;
  }
  std::shared_ptr<Producer> unused = std::move(*fresh);  // destroyed after the lock
  {
    std::lock_guard lock(mu_);
    if (producer_ != failed) return;  // another caller replaced it already
    std::swap(producer_, unused);
  }
  resets_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("kafka sink {}: producer recreated after a fatal error", options_.topic);
}

DeliveryResult KafkaEmitter::Send(const Notification& notification) {
  const std::shared_ptr<Producer> producer = current();
  const Clock::time_point deadline = Clock::now() + options_.send_timeout + kReportGrace;
  auto waiter = std::make_shared<Waiter>(1);
  rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string what;
  if (const KafkaError refused =
          producer->Enqueue(options_.topic, notification.ordering_key, notification.payload,
                            notification.idempotency_key, waiter)) {
    code = rd_kafka_error_code(refused.get());
    what = rd_kafka_error_string(refused.get());
  } else if (!waiter->WaitUntil(deadline)) {
    unanswered_.fetch_add(1, std::memory_order_relaxed);
    return {DeliveryOutcome::kRetry,
            "kafka " + options_.topic + ": no delivery report within " +
                std::to_string((options_.send_timeout + kReportGrace).count()) + " ms",
            std::nullopt, 0};
  } else {
    std::lock_guard lock(waiter->mu);
    code = waiter->error;
    what = waiter->error_what;
  }
  if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  if (std::optional<std::string> fatal = producer->FatalError()) {
    Reset(producer);
    return {DeliveryOutcome::kRetry,
            "kafka " + options_.topic + ": fatal producer error, producer recreated: " + *fatal,
            std::nullopt, 0};
  }
  return {KafkaErrorOutcome(code), ErrorText(options_.topic, code, what), std::nullopt, 0};
}

Status KafkaEmitter::Produce(std::span<const KafkaRecord> records) {
  if (records.empty()) return Status::Ok();
  const std::shared_ptr<Producer> producer = current();
  const Clock::time_point deadline = Clock::now() + options_.send_timeout + kReportGrace;
  auto waiter = std::make_shared<Waiter>(records.size());
  rd_kafka_resp_err_t refused_code = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string refused_what;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (const KafkaError refused = producer->Enqueue(options_.topic, records[i].key,
                                                     records[i].value, std::nullopt, waiter)) {
      refused_code = rd_kafka_error_code(refused.get());
      refused_what = rd_kafka_error_string(refused.get());
      waiter->Forget(records.size() - i);
      break;
    }
  }
  if (!waiter->WaitUntil(deadline)) {
    unanswered_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kUnavailable,
                  "kafka " + options_.topic + ": no delivery report within " +
                      std::to_string((options_.send_timeout + kReportGrace).count()) + " ms");
  }
  rd_kafka_resp_err_t code = refused_code;
  std::string what = refused_what;
  {
    std::lock_guard lock(waiter->mu);
    delivered_.fetch_add(waiter->delivered, std::memory_order_relaxed);
    failed_.fetch_add(records.size() - waiter->delivered, std::memory_order_relaxed);
    if (waiter->error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      code = waiter->error;  // reported before the refusal: the earlier record
      what = waiter->error_what;
    }
  }
  if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  if (std::optional<std::string> fatal = producer->FatalError()) {
    Reset(producer);
    return Status(
        StatusCode::kUnavailable,
        "kafka " + options_.topic + ": fatal producer error, producer recreated: " + *fatal);
  }
  return Status(KafkaErrorOutcome(code) == DeliveryOutcome::kPermanent
                    ? StatusCode::kInvalidArgument
                    : StatusCode::kUnavailable,
                ErrorText(options_.topic, code, what));
}

KafkaEmitterStats KafkaEmitter::stats() const {
  return {delivered_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed),
          unanswered_.load(std::memory_order_relaxed), resets_.load(std::memory_order_relaxed)};
}

}  // namespace tidewatch::sinks
