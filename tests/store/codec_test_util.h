// Round-trip helpers shared by the chunk codec tests (gorilla_test, decimal_codec_test).
#ifndef TIDEWATCH_TESTS_STORE_CODEC_TEST_UTIL_H_
#define TIDEWATCH_TESTS_STORE_CODEC_TEST_UTIL_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"

namespace tidewatch::store::internal {

struct Series {
  std::vector<std::int64_t> ts;
  std::vector<double> values;
};

// A codec's decode function: GorillaDecode, DecimalDecode.
using DecodeFn = StatusOr<std::size_t> (*)(std::string_view block, std::int64_t* ts,
                                           double* values, std::size_t capacity);

inline StatusOr<Series> DecodeWith(DecodeFn decode, std::string_view block, std::size_t capacity) {
  Series out{std::vector<std::int64_t>(capacity), std::vector<double>(capacity)};
  const StatusOr<std::size_t> k = decode(block, out.ts.data(), out.values.data(), capacity);
  if (!k.ok()) return k.status();
  out.ts.resize(*k);
  out.values.resize(*k);
  return out;
}

// "" when `block` decodes to `s` bit for bit, else the first difference.
inline std::string RoundTripMismatchWith(DecodeFn decode, std::string_view block, const Series& s) {
  const StatusOr<Series> got = DecodeWith(decode, block, s.ts.size());
  if (!got.ok()) return got.status().ToString();
  if (got->ts.size() != s.ts.size()) return "decoded " + std::to_string(got->ts.size()) + " points";
  for (std::size_t i = 0; i < s.ts.size(); ++i) {
    const auto want = std::bit_cast<std::uint64_t>(s.values[i]);
    const auto have = std::bit_cast<std::uint64_t>(got->values[i]);
    if (got->ts[i] != s.ts[i] || have != want) {
      return "point " + std::to_string(i) + ": ts " + std::to_string(got->ts[i]) + " want " +
             std::to_string(s.ts[i]) + ", bits " + std::to_string(have) + " want " +
             std::to_string(want);
    }
  }
  return "";
}

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_TESTS_STORE_CODEC_TEST_UTIL_H_
