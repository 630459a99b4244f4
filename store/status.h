// Status and StatusOr<T>: expected failures as values (in the manner of leveldb's
// Status and absl::StatusOr). Used by every module; it lives in store/ because store/
// is the one library every other module may depend on.
//
// Thread safety: values; distinct objects may be used from different threads freely,
// one object needs external synchronisation like any value type.
#ifndef TIDEWATCH_STORE_STATUS_H_
#define TIDEWATCH_STORE_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tidewatch {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the input is malformed; retrying it will not help
  kNotFound,           // the named thing does not exist
  kResourceExhausted,  // a configured limit was reached (fields, series, memory)
  kUnavailable,        // temporarily refused (a full ring); retry after backing off
  kDataLoss,           // stored data is corrupt or truncated
  kInternal,           // a bug or an unexpected system failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

  // Marks a status as deliberately ignored; greppable (rocksdb's PermitUncheckedError).
  void IgnoreError() const {}

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status.
template <class T>
class [[nodiscard]] StatusOr {
 public:
  // REQUIRES: !status.ok().
  StatusOr(Status status) : rep_(std::move(status)) { assert(!std::get<Status>(rep_).ok()); }
  StatusOr(T value) : rep_(std::move(value)) {}

  bool ok() const { return std::holds_alternative<T>(rep_); }

  // OK when holding a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(rep_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(rep_); }
  T& value() & { return std::get<T>(rep_); }
  T&& value() && { return std::get<T>(std::move(rep_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> rep_;
};

}  // namespace tidewatch

#endif  // TIDEWATCH_STORE_STATUS_H_
