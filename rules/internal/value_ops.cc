#include "rules/internal/value_ops.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace tidewatch::rules::internal {

std::optional<double> AsNumber(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

Value Arithmetic(BinaryOp op, const Value& a, const Value& b) {
  const auto* ia = std::get_if<std::int64_t>(&a);
  const auto* ib = std::get_if<std::int64_t>(&b);
  if (ia && ib && op != BinaryOp::kDiv) {
    // Wrap like Go's int64 arithmetic instead of overflowing (undefined in C++).
    const auto ua = static_cast<std::uint64_t>(*ia);
    const auto ub = static_cast<std::uint64_t>(*ib);
    switch (op) {
      case BinaryOp::kAdd:
        return static_cast<std::int64_t>(ua + ub);
      case BinaryOp::kSub:
        return static_cast<std::int64_t>(ua - ub);
      case BinaryOp::kMul:
        return static_cast<std::int64_t>(ua * ub);
      case BinaryOp::kMod:
        if (*ib == 0 || *ib == -1) return std::int64_t{0};
        return *ia % *ib;
      default:
        return std::monostate{};
    }
  }
  if (std::holds_alternative<bool>(a) || std::holds_alternative<bool>(b)) return std::monostate{};
  const std::optional<double> x = AsNumber(a);
  const std::optional<double> y = AsNumber(b);
  if (!x || !y) return std::monostate{};
  switch (op) {
    case BinaryOp::kAdd:
      return *x + *y;
    case BinaryOp::kSub:
      return *x - *y;
    case BinaryOp::kMul:
      return *x * *y;
    case BinaryOp::kDiv:
      return *y == 0 ? 0.0 : *x / *y;
    case BinaryOp::kMod:
      return *y == 0 ? 0.0 : std::fmod(*x, *y);
    default:
      return std::monostate{};
  }
}

namespace {

template <class T>
std::optional<bool> Ordered(BinaryOp op, const T& x, const T& y) {
  switch (op) {
    case BinaryOp::kEq:
      return x == y;
    case BinaryOp::kNeq:
      return x != y;
    case BinaryOp::kLt:
      return x < y;
    case BinaryOp::kLte:
      return x <= y;
    case BinaryOp::kGt:
      return x > y;
    case BinaryOp::kGte:
      return x >= y;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<bool> Compare(BinaryOp op, const Value& a, const Value& b) {
  if (const auto* sa = std::get_if<std::string>(&a)) {
    const auto* sb = std::get_if<std::string>(&b);
    if (!sb) return std::nullopt;
    return Ordered(op, *sa, *sb);
  }
  if (const auto* ba = std::get_if<bool>(&a)) {
    const auto* bb = std::get_if<bool>(&b);
    if (!bb || (op != BinaryOp::kEq && op != BinaryOp::kNeq)) return std::nullopt;
    return Ordered(op, *ba, *bb);
  }
  const auto* ia = std::get_if<std::int64_t>(&a);
  const auto* ib = std::get_if<std::int64_t>(&b);
  if (ia && ib) return Ordered(op, *ia, *ib);
  if (std::holds_alternative<bool>(b)) return std::nullopt;
  const std::optional<double> x = AsNumber(a);
  const std::optional<double> y = AsNumber(b);
  if (!x || !y) return std::nullopt;
  return Ordered(op, *x, *y);
}

}  // namespace tidewatch::rules::internal
